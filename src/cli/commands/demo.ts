/**
 * `ndis demo`: the main job on the built-in default. Two hosts on a virtual hub, each a virtual
 * miniport with the passthrough filter and ndisprot on top; they exchange frames, a second filter
 * is inserted and removed while traffic flows, and a summary shows frames, state transitions and
 * the NBLs left outstanding (none, or the exit code is 1).
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { runNetworkDemo } from '../demo/network.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the built-in demonstration network',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        seed: { type: 'string' },
        frames: { type: 'string' },
        verify: { type: 'string' },
      },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(
        [
          'usage: ndis demo [--json] [--seed N] [--frames N] [--verify=off|cheap|full]',
          '',
          'Builds two hosts on a virtual hub (virtual miniport, passthrough filter, ndisprot), exchanges',
          'frames, inserts and removes a filter while traffic flows, and prints a summary. Exit code 1 when',
          'a frame or an NBL is lost.',
          '',
          '  --json       print the summary as one JSON object',
          '  --seed N     scheduler seed (default 1)',
          '  --frames N   frames each host sends (default 200)',
          '  --verify L   verifier level: off, cheap (default: constant-time checks) or full (every NBL,',
          '               buffer layouts, watchdogs); a violation fails the demo',
          '',
        ].join('\n'),
      );
      return 0;
    }
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    const frames = values.frames === undefined ? 200 : Number(values.frames);
    if (!Number.isInteger(seed) || !Number.isInteger(frames) || frames < 1) {
      process.stderr.write('ndis demo: --seed and --frames take positive integers\n');
      return 2;
    }
    const verify = values.verify ?? 'cheap';
    if (verify !== 'off' && verify !== 'cheap' && verify !== 'full') {
      process.stderr.write(`ndis demo: --verify takes off, cheap or full (got '${verify}')\n`);
      return 2;
    }
    const summary = await runNetworkDemo({ seed, frames, quiet: values.json === true, verify });
    if (values.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(summary.text);
    return summary.ok ? 0 : 1;
  },
};
