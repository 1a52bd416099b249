/**
 * The story of `ndis demo`: the built-in default topology, run end to end in one runtime.
 *
 * ```
 *   host A (tcpip)          host B (tcpip, RSS on)          host C (tcpip)
 *      host-a                    host-b                        team0  (teaming IM driver)
 *        |                         |                          /     \
 *        |                         |                        m1       m2
 *   ================================ hub0 =================================
 *   every adapter: capture filter (pcapng), verifier on (cheap)
 * ```
 *
 * A resolves B and C (ARP, neighbor discovery) and pings them over IPv4 and IPv6; A fetches B's
 * status page over HTTP (Node's http client over an ndis-ts TCP connection); C sends B a TCP
 * transfer on several connections while a passthrough filter is inserted into every stack and
 * removed again, and while C's team member m1 loses its link (failover) and gets it back
 * (failback); B's receive-side scaling spreads the flows over its queues. Then every host's
 * counters, the NBLs left outstanding, the verifier's findings and the capture file are reported.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ndis, NdisOidRequest, OID, NDIS_STATUS, type MiniportBlock } from '../../ndis/index.js';
import { encodeReceiveScaleParameters } from '../../ndis/structs-offload.js';
import { VirtualMiniportDriver } from '../../drivers/miniport/virtual/index.js';
import { ReceiveQueueKind } from '../../drivers/miniport/virtual/adapter.js';
import { PassthroughFilter } from '../../drivers/filter/passthrough/index.js';
import { CaptureFilter } from '../../drivers/filter/capture/index.js';
import { TcpIp, type TcpSocket } from '../../drivers/protocol/tcpip/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE } from '../../drivers/im/index.js';
import { RSS_VERIFICATION_KEY } from '../../offload/rss/toeplitz.js';
import * as H from '../../offload/rss/hash-types.js';
import { Verifier, type VerifyLevelName } from '../../verifier/index.js';
import { Progress } from '../progress.js';

export interface StoryOptions {
  seed: number;
  /** Bytes C sends B in all (split over the connections). */
  bytes: number;
  /** TCP connections from C to B. */
  connections: number;
  /** The pcapng to write (default: in the temporary directory). */
  capture?: string;
  verify: VerifyLevelName;
  quiet: boolean;
}

/** One host's lines of the summary. */
export interface HostSummary {
  name: string;
  adapters: string[];
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  drops: Record<string, number>;
  offload: Record<string, number>;
}

/** What `ndis demo` reports (`--json` prints this object without `text`). */
export interface StorySummary {
  ok: boolean;
  seed: number;
  hosts: HostSummary[];
  pings: { from: string; to: string; rttMs: number }[];
  http: { status: number; bytes: number; title: string };
  tcpBytes: number;
  tcpDigestsMatch: boolean;
  filterInsertions: number;
  failovers: number;
  failbacks: number;
  announcements: number;
  rssQueues: number[];
  nblsOutstanding: number;
  violations: number;
  capture: string;
  capturePackets: number;
  virtualTimeMs: number;
  wallTimeMs: number;
  text: string;
}

const ADDR = {
  a4: '10.0.0.1',
  b4: '10.0.0.2',
  c4: '10.0.0.3',
  a6: 'fd00::1',
  b6: 'fd00::2',
  c6: 'fd00::3',
};

function sum(xs: Iterable<number>): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}

/** Runs the story and returns its summary. */
export async function runStoryDemo(o: StoryOptions): Promise<StorySummary> {
  const started = performance.now();
  const progress = new Progress(o.quiet);
  const verifier = new Verifier({ level: o.verify, action: o.quiet ? 'count' : 'log' });
  const ndis = new Ndis({ seed: o.seed, processors: 4, verifier });
  const capturePath = o.capture ?? join(tmpdir(), `ndis-demo-${process.pid}.pcapng`);

  progress.step('registering drivers: virtual miniport, capture filter, teaming, tcpip (three hosts)');
  const virt = new VirtualMiniportDriver(ndis);
  const capture = new CaptureFilter(ndis, { path: capturePath, snapLength: 256, comment: 'ndis demo' });
  await capture.register();
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'] });
  const tcp = { minRtoMs: 200 };
  const A = new TcpIp(ndis, { name: 'hostA', adapters: ['host-a'], tcp });
  const B = new TcpIp(ndis, { name: 'hostB', adapters: ['host-b'], tcp });
  const C = new TcpIp(ndis, { name: 'hostC', adapters: ['team0'], tcp });
  for (const h of [A, B, C]) await h.register();

  progress.step('adding adapters: host-a, host-b (RSS, 4 queues), m1 and m2 (teamed as team0) on hub0');
  const a = await virt.addAdapter('host-a', { NetworkAddress: '02-00-5e-00-00-0a' });
  const b = await virt.addAdapter('host-b', { NetworkAddress: '02-00-5e-00-00-0b', '*RSS': 1, '*NumRssQueues': 4 });
  const member = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  const m1 = await virt.addAdapter('m1', { NetworkAddress: '02-00-5e-00-00-c1' }, member);
  const m2 = await virt.addAdapter('m2', { NetworkAddress: '02-00-5e-00-00-c2' }, member);
  await ndis.until(lbfo.settled());
  // What an administrator does with Set-NetAdapterRss: RSS on over four processors.
  const rss = encodeReceiveScaleParameters({
    revision: 2,
    flags: 0,
    baseCpuNumber: 0,
    hashInformation: H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_IPV6 | H.NdisHashFunctionToeplitz,
    indirectionTable: Array.from({ length: 16 }, (_, i) => i % 4),
    secretKey: Uint8Array.from(RSS_VERIFICATION_KEY),
    defaultProcessor: -1,
  });
  const rssStatus = await ndis.until(ndis.requestOid(b, NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rss)));

  A.configure('host-a', { ipv4: [`${ADDR.a4}/24`], ipv6: [`${ADDR.a6}/64`] });
  B.configure('host-b', { ipv4: [`${ADDR.b4}/24`], ipv6: [`${ADDR.b6}/64`] });
  C.configure('team0', { ipv4: [`${ADDR.c4}/24`], ipv6: [`${ADDR.c6}/64`] });
  await ndis.until(Promise.all([A.ready('host-a'), B.ready('host-b'), C.ready('team0')]));
  const statusPage = B.serve('http');

  progress.step('ARP and neighbor discovery, ping over IPv4 and IPv6');
  const pings: StorySummary['pings'] = [];
  for (const [from, to, host] of [
    ['A', ADDR.b4, A],
    ['A', ADDR.c4, A],
    ['A', ADDR.b6, A],
    ['C', ADDR.a6, C],
  ] as const) {
    const rttMs = await ndis.until(host.ping(to));
    pings.push({ from, to, rttMs });
  }

  progress.step(`HTTP: host A fetches http://${ADDR.b4}/ from host B's status page`);
  const page = await ndis.until(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ method: 'GET', host: ADDR.b4, port: 80, path: '/', createConnection: () => A.tcp.connect(80, ADDR.b4) as never }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
  );
  const title = /<title>([^<]*)<\/title>/.exec(page.body)?.[1] ?? '';

  progress.step(`TCP: host C sends host B ${(o.bytes / 1e6).toFixed(0)} MB on ${o.connections} connections; a filter goes in and out; m1 fails over and back`);
  const passthrough = new PassthroughFilter(ndis, { name: 'passthrough', filterClass: 'custom' });
  let insertions = 0;
  const perConnection = Math.floor(o.bytes / o.connections);
  const total = perConnection * o.connections;
  let received = 0;
  const events: { at: number; run: () => Promise<void> | void; done: boolean; text: string }[] = [
    { at: 0.2, text: 'passthrough filter inserted into every stack', run: async () => void (await passthrough.register(), insertions++), done: false },
    { at: 0.4, text: "m1's cable pulled: team0 fails over to m2", run: () => virt.adapter(m1).setLink(false), done: false },
    { at: 0.6, text: "m1's cable back: team0 fails back", run: () => virt.adapter(m1).setLink(true), done: false },
    { at: 0.8, text: 'passthrough filter removed from every stack', run: async () => void (await ndis.deregisterFilterDriver(passthrough.handle!)), done: false },
  ];
  // The events run one after the other (a filter's removal waits for its insertion to finish).
  let eventChain: Promise<void> = Promise.resolve();
  const storyLines: string[] = [];
  const results: string[] = [];
  const sent: string[] = [];
  const transfer = new Promise<void>((resolve, reject) => {
    const server = B.tcp.createServer((s: TcpSocket) => {
      const hash = createHash('sha256');
      s.on('data', (d: Buffer) => {
        hash.update(d);
        received += d.length;
        for (const e of events) {
          if (!e.done && received >= e.at * total) {
            e.done = true;
            storyLines.push(`  at ${Math.round(e.at * 100)}% of the bytes: ${e.text}`);
            eventChain = eventChain.then(() => e.run());
          }
        }
      });
      s.on('end', () => {
        s.end();
        results.push(hash.digest('hex'));
        if (results.length === o.connections) {
          server.close();
          resolve();
        }
      });
      s.on('error', reject);
    });
    server.listen(5001);
    for (let k = 0; k < o.connections; k++) {
      const conn = C.tcp.connect(5001, k % 2 === 0 ? ADDR.b4 : ADDR.b6);
      conn.on('error', reject);
      conn.on('connect', () => {
        const digest = createHash('sha256');
        const chunk = Buffer.alloc(32768);
        let seed = 0x9e3779b9 ^ k;
        let n0 = 0;
        const pump = (): void => {
          while (n0 < perConnection) {
            const n = Math.min(chunk.length, perConnection - n0);
            for (let i = 0; i + 4 <= n; i += 4) {
              seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
              chunk.writeUInt32LE(seed, i);
            }
            const piece = Buffer.from(chunk.subarray(0, n));
            digest.update(piece);
            n0 += n;
            if (!conn.write(piece)) {
              conn.once('drain', pump);
              return;
            }
          }
          conn.end();
          sent.push(digest.digest('hex'));
        };
        pump();
      });
    }
  });
  await ndis.until(transfer, 600_000);
  await ndis.until(eventChain);
  const digestsMatch = results.length === sent.length && [...results].sort().join() === [...sent].sort().join();
  await ndis.sleep(50);

  progress.step('traffic done: counting frames, drops, offloads, NBLs and RSS queues');
  const rssQueues = virt
    .adapter(b)
    .receiveQueues.filter((q) => q.kind === ReceiveQueueKind.Rss)
    .map((q) => q.frames);
  const hostOf = (name: string, h: TcpIp, adapters: MiniportBlock[]): HostSummary => {
    const st = h.statistics();
    const vs = adapters.map((m) => virt.adapter(m).stats);
    const drops: Record<string, number> = {};
    for (const i of st.interfaces) for (const [k, v] of Object.entries(i.drops)) drops[k] = (drops[k] ?? 0) + v;
    for (const [k, v] of Object.entries(st.tcp.drops)) drops[`tcp: ${k}`] = v;
    return {
      name,
      adapters: adapters.map((m) => m.name),
      framesIn: sum(vs.map((s) => s.ifHCInUcastPkts + s.ifHCInMulticastPkts + s.ifHCInBroadcastPkts)),
      framesOut: sum(vs.map((s) => s.ifHCOutUcastPkts + s.ifHCOutMulticastPkts + s.ifHCOutBroadcastPkts)),
      bytesIn: sum(vs.map((s) => s.ifHCInUcastOctets + s.ifHCInMulticastOctets + s.ifHCInBroadcastOctets)),
      bytesOut: sum(vs.map((s) => s.ifHCOutUcastOctets + s.ifHCOutMulticastOctets + s.ifHCOutBroadcastOctets)),
      drops,
      offload: {
        rssHashed: sum(vs.map((s) => s.rssHashed)),
        lsoSends: sum(vs.map((s) => s.lsoSends)),
        checksumsOffloaded: sum(vs.map((s) => s.txChecksumOffloaded + s.rxChecksumChecked)),
      },
    };
  };
  const hosts = [hostOf('A', A, [a]), hostOf('B', B, [b]), hostOf('C', C, [m1, m2])];
  const inFlight =
    sum([...ndis.adapters].map((m) => m.outstandingSends + sum([...m.opens].map((x) => x.outstandingSends)))) + sum([a, b, m1, m2].map((m) => virt.adapter(m).outstandingRx));
  const teamCounters = { ...team.counters };
  const virtualTimeMs = ndis.scheduler.nowMs();
  await ndis.until(statusPage.close());

  progress.step('shutting down: pause, unbind, detach, halt; closing the capture');
  await ndis.until(ndis.shutdown(), 60_000);
  capture.close();
  const leaked = ndis.outstandingNbls();
  progress.done();
  const nblsOutstanding = inFlight + leaked;
  const violations = verifier.count();
  const ok =
    digestsMatch &&
    received === total &&
    page.status === 200 &&
    rssStatus === NDIS_STATUS.SUCCESS &&
    teamCounters.failovers >= 1 &&
    nblsOutstanding === 0 &&
    violations === 0 &&
    capture.error === null;

  const lines = [
    'ndis demo: three hosts on hub0 (virtual miniports; host C teamed over m1 and m2), tcpip on each,',
    `a capture filter on every adapter, the verifier on (${o.verify})`,
    '',
    ...pings.map((p) => `  ping from ${p.from} to ${p.to}: ${p.rttMs.toFixed(3)} ms`),
    `  HTTP GET http://${ADDR.b4}/ from A: ${page.status}, ${page.body.length} bytes ("${title}")`,
    `  TCP C -> B: ${total} bytes on ${o.connections} connections, ${digestsMatch ? 'SHA-256 matches at both ends' : 'DIGESTS DIFFER'}`,
    ...storyLines,
    `  team0: ${teamCounters.failovers} failover(s), ${teamCounters.failbacks} failback(s), ${teamCounters.announcements} announcements`,
    `  host-b RSS queues (frames): ${rssQueues.join(', ')}`,
    '',
    ...hosts.map(
      (h) =>
        `  host ${h.name} (${h.adapters.join(', ')}): in ${h.framesIn} frames / ${h.bytesIn} bytes, out ${h.framesOut} frames / ${h.bytesOut} bytes; drops ${Object.keys(h.drops).length === 0 ? 'none' : Object.entries(h.drops).map(([k, v]) => `${k} ${v}`).join(', ')}; offloads: RSS-hashed ${h.offload.rssHashed}, LSO sends ${h.offload.lsoSends}, checksums ${h.offload.checksumsOffloaded}`,
    ),
    `  NBLs outstanding: ${nblsOutstanding}; verifier violations: ${violations}`,
    `  capture: ${capturePath} (${capture.packets} packets)`,
    `  virtual time ${virtualTimeMs.toFixed(0)} ms, wall time ${(performance.now() - started).toFixed(0)} ms (seed ${o.seed})`,
    '',
    ok ? 'ok: everything arrived, every NBL came home, no rule was broken' : 'FAILED: see above',
    '',
  ];
  return {
    ok,
    seed: o.seed,
    hosts,
    pings,
    http: { status: page.status, bytes: page.body.length, title },
    tcpBytes: received,
    tcpDigestsMatch: digestsMatch,
    filterInsertions: insertions,
    failovers: teamCounters.failovers,
    failbacks: teamCounters.failbacks,
    announcements: teamCounters.announcements,
    rssQueues,
    nblsOutstanding,
    violations,
    capture: capturePath,
    capturePackets: capture.packets,
    virtualTimeMs,
    wallTimeMs: performance.now() - started,
    text: lines.join('\n'),
  };
}
