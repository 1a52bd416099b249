/** Runs a CLI command module in a child process: its stdout, stderr and exit status. */
import { spawnSync } from 'node:child_process';

export interface CommandRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` (the export `name` of the compiled module `module`, a path under dist/src/cli/commands) with `args`. */
export function runCommand(module: string, name: string, args: string[]): CommandRun {
  const url = new URL(`../../src/cli/commands/${module}.js`, import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(url)}); process.exitCode = await m[${JSON.stringify(name)}].run(process.argv.slice(1));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, '--', ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
