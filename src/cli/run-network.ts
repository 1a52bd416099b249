/**
 * Running a network until it is told to stop (Ctrl-C, SIGTERM, or `quit` on standard input), for
 * `ndis host` and `ndis up`: events go to stdout as lines for people, or as JSON lines with
 * `--json`; errors go to stderr. Exit code 0, 1 when the verifier reported violations, 2 when the
 * network could not be built (with what to do).
 */
import { createInterface } from 'node:readline';
import { formatMac } from '../wire/index.js';
import { NetworkConsole } from './console.js';
import { createIpStack } from './ipstack.js';
import { Network, TopologyError, describeEvent, needsIp, type NetworkEvent, type TopologySpec } from './topology.js';

/** Options of {@link runNetwork}. */
export interface RunNetworkOptions {
  /** Events as JSON lines. */
  json: boolean;
  /** The command's name, for messages. */
  command: string;
}

/** Builds `spec`, reports where each host is reachable, runs until stopped. Resolves to the exit code. */
export async function runNetwork(spec: TopologySpec, options: RunNetworkOptions): Promise<number> {
  const out = (e: NetworkEvent): void => {
    process.stdout.write(options.json ? `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n` : `${describeEvent(e)}\n`);
  };
  // Signals are taken from the start, so that one arriving while the network is built (or just
  // after it reports that it runs) stops it cleanly instead of killing the process.
  let stopRequested: ((why: string) => void) | null = null;
  let pendingStop: string | null = null;
  const requestStop = (why: string): void => {
    if (stopRequested !== null) stopRequested(why);
    else pendingStop ??= why;
  };
  const onSigint = (): void => requestStop('SIGINT');
  const onSigterm = (): void => requestStop('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  let net: Network;
  try {
    net = await Network.build(spec, out, needsIp(spec) ? createIpStack : null);
  } catch (e) {
    const known = e instanceof TopologyError || (e instanceof Error && ['NdisError', 'TapUnavailableError', 'TapError'].includes(e.name));
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.stderr.write(`${options.command}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (known) return 2;
    throw e;
  }
  for (const h of net.hosts) {
    for (const a of h.adapters) {
      out({
        event: 'reachable',
        host: h.spec.name,
        adapter: a.handle.name,
        mac: formatMac(a.handle.currentMacAddress),
        addresses: [...(a.spec.ip ?? []), ...(a.spec.ip6 ?? [])],
        where: a.where,
        services: h.services.map((s) => `${s.name}:${s.port}`),
      });
    }
    for (const t of h.teamInterfaces) {
      out({
        event: 'reachable',
        host: h.spec.name,
        adapter: t.spec.name,
        mac: formatMac(t.handle.currentMacAddress),
        addresses: [...(t.spec.ip ?? []), ...(t.spec.ip6 ?? [])],
        where: `team ${t.team} over ${t.members.join(', ')}`,
        services: h.services.map((s) => `${s.name}:${s.port}`),
      });
    }
  }
  out({ event: 'running', hosts: net.hosts.length, hint: 'Ctrl-C or "quit" stops' });

  const console = new NetworkConsole(net, out);
  const done = new Promise<string>((resolve) => {
    stopRequested = resolve;
    if (pendingStop !== null) resolve(pendingStop);
    const lines = createInterface({ input: process.stdin, terminal: false });
    let chain = Promise.resolve();
    lines.on('line', (line) => {
      // Lines run one after another; `sink` returns once it listens, so later lines can use it.
      chain = chain.then(async () => {
        if (!(await console.run(line))) resolve('quit');
      });
    });
  });
  const why = await done;
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  const violations = net.verifier.count();
  await net.stop();
  out({ event: 'stopped', reason: why, violations, captures: net.captures.map((c) => ({ packets: c.packets, error: c.error?.message ?? null })) });
  process.stdin.destroy();
  return violations > 0 ? 1 : 0;
}
