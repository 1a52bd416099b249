/**
 * `ndis demo [story|frames|failover]`: the main job on the built-in default.
 *
 * - `story` (the default): three hosts with tcpip on a virtual hub, one of them teamed over two
 *   adapters, a capture filter on every adapter and the verifier on: ARP/ND, pings, an HTTP
 *   request, a TCP transfer through filter insertion and removal and a failover, RSS spreading
 *   the flows (src/cli/demo/story.ts).
 * - `frames`: two hosts exchanging raw frames through ndisprot while a filter is inserted and
 *   removed, every frame and NBL accounted for (src/cli/demo/network.ts).
 * - `failover`: raw frames both ways over a team while a member's cable is pulled and put back
 *   (src/cli/demo/failover.ts).
 *
 * Exit code 1 when anything is lost or a verifier rule is broken.
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { runNetworkDemo } from '../demo/network.js';
import { runStoryDemo } from '../demo/story.js';
import { runFailoverDemo } from '../demo/failover.js';
import { parseVerifyLevel, type VerifyLevelName } from '../../verifier/index.js';

const HELP = [
  'usage: ndis demo [story|frames|failover] [--json] [--seed N] [--verify=off|cheap|full]',
  '                 [--mb N] [--connections N] [--capture FILE] [--frames N]',
  '',
  'story (default): three hosts running the TCP/IP driver on a virtual hub, host C teamed over two',
  '  adapters, a capture filter on every adapter and the verifier on. Pings over IPv4 and IPv6, an',
  "  HTTP request to a host's status page, a TCP transfer during which a filter is inserted and",
  '  removed and a team member fails over and back, RSS spreading the flows over queues; then a',
  '  summary per host and the path of the pcapng written.',
  'frames: two hosts exchange raw frames (ndisprot) while a filter goes in and out.',
  "failover: raw frames both ways over a team while a member's cable is pulled and put back.",
  '',
  '  --json           print the summary as one JSON object',
  '  --seed N         scheduler seed (default 1)',
  '  --verify L       verifier level: off, cheap (default) or full; a violation fails the demo',
  '  --mb N           story: megabytes sent over TCP (default 16)',
  '  --connections N  story: TCP connections (default 4)',
  '  --capture FILE   story: the pcapng to write (default: in the temporary directory)',
  '  --frames N       frames/failover: frames each host sends (default 200)',
  '',
  'Exit code 1 when a frame, a byte or an NBL is lost, or a verifier rule is broken.',
  '',
].join('\n');

function positiveInt(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} takes a positive integer (got '${v}')`);
  return n;
}

class UsageError extends Error {}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the built-in demonstration (story, frames or failover)',
  async run(args) {
    let values: Record<string, string | boolean | undefined>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          help: { type: 'boolean', short: 'h' },
          json: { type: 'boolean' },
          seed: { type: 'string' },
          frames: { type: 'string' },
          verify: { type: 'string' },
          mb: { type: 'string' },
          connections: { type: 'string' },
          capture: { type: 'string' },
        },
        strict: true,
      }));
    } catch (e) {
      process.stderr.write(`ndis demo: ${(e as Error).message}\n`);
      return 2;
    }
    if (values['help'] === true) {
      process.stdout.write(HELP);
      return 0;
    }
    const scenario = positionals[0] ?? 'story';
    if (positionals.length > 1 || !['story', 'frames', 'failover'].includes(scenario)) {
      process.stderr.write(`ndis demo: unknown scenario '${positionals.join(' ')}' (story, frames or failover)\n`);
      return 2;
    }
    let seed: number;
    let verify: VerifyLevelName;
    try {
      seed = positiveInt(values['seed'] as string | undefined, 1, 'seed');
      verify = parseVerifyLevel((values['verify'] as string | undefined) ?? 'cheap');
    } catch (e) {
      process.stderr.write(`ndis demo: ${(e as Error).message}\n`);
      return 2;
    }
    const json = values['json'] === true;
    let ok: boolean;
    let out: { text: string };
    try {
      if (scenario === 'story') {
        const mb = positiveInt(values['mb'] as string | undefined, 16, 'mb');
        const connections = positiveInt(values['connections'] as string | undefined, 4, 'connections');
        const capture = values['capture'] as string | undefined;
        const s = await runStoryDemo({ seed, bytes: mb * 1_000_000, connections, verify, quiet: json, ...(capture !== undefined ? { capture } : {}) });
        ok = s.ok;
        out = s;
      } else {
        const frames = positiveInt(values['frames'] as string | undefined, 200, 'frames');
        const s = scenario === 'frames' ? await runNetworkDemo({ seed, frames, quiet: json, verify }) : await runFailoverDemo({ seed, frames, verify });
        ok = s.ok;
        out = s;
      }
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`ndis demo: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    if (json) {
      const { text: _text, ...rest } = out as { text: string } & Record<string, unknown>;
      process.stdout.write(`${JSON.stringify(rest)}\n`);
    } else {
      process.stdout.write(out.text);
    }
    return ok ? 0 : 1;
  },
};
