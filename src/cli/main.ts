#!/usr/bin/env node
/**
 * The `ndis` command: `ndis <noun> [verb] [args]`. Machine output goes to stdout, human messages to
 * stderr; exit 0 = ok, 1 = the work found a problem, 2 = usage or environment error.
 */
import { commands, type Command } from './commands/index.js';

function usage(): string {
  const lines = ['usage: ndis <command> [options]', '', 'commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(18)} ${c.summary}`);
  lines.push('', 'Run `ndis <command> --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  // Commands may be one word (`demo`) or two (`verifier rules`): take the longest match.
  let cmd: Command | undefined;
  let rest = argv;
  for (const c of commands) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (cmd === undefined || words.length > cmd.name.split(' ').length)) {
      cmd = c;
      rest = argv.slice(words.length);
    }
  }
  if (cmd === undefined) {
    process.stderr.write(`ndis: unknown command '${argv.join(' ')}'\n\n${usage()}\n`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ndis: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
