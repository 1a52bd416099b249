/**
 * The demonstration network of `ndis demo`.
 */
import { Ndis, NDIS_STATUS, type MiniportBlock } from '../../ndis/index.js';
import { VirtualMiniportDriver } from '../../drivers/miniport/virtual/index.js';
import { PassthroughFilter } from '../../drivers/filter/passthrough/index.js';
import { NdisProt, NDISPROT_ETHERTYPE, type NdisProtBinding } from '../../drivers/protocol/ndisprot/index.js';
import { Progress } from '../progress.js';
import { Verifier, type VerifyLevelName } from '../../verifier/index.js';

/** What the demo reports. */
export interface NetworkDemoSummary {
  ok: boolean;
  seed: number;
  hosts: {
    name: string;
    mac: string;
    framesWritten: number;
    framesRead: number;
    refusedWhilePaused: number;
    writeErrors: number;
    states: string[];
    filters: string[];
  }[];
  framesLost: number;
  framesDropped: number;
  filterInsertions: number;
  nblsOutstanding: number;
  nblsLeaked: number;
  virtualTimeMs: number;
  violations: number;
  text: string;
}

function mac(m: Uint8Array): string {
  return [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function frameFrom(src: MiniportBlock, dst: MiniportBlock, seq: number): Uint8Array {
  const f = new Uint8Array(64);
  f.set(dst.currentMacAddress, 0);
  f.set(src.currentMacAddress, 6);
  f[12] = NDISPROT_ETHERTYPE >> 8;
  f[13] = NDISPROT_ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, seq);
  return f;
}

/** Runs the demo network and returns its summary. */
export async function runNetworkDemo(options: { seed: number; frames: number; quiet: boolean; verify?: VerifyLevelName }): Promise<NetworkDemoSummary> {
  const progress = new Progress(options.quiet);
  // The verifier counts what it finds (and logs it unless quiet); violations fail the demo.
  const verifier = new Verifier({ level: options.verify ?? 'cheap', action: options.quiet ? 'count' : 'log' });
  const ndis = new Ndis({ seed: options.seed, verifier });
  progress.step('registering drivers: virtual miniport, passthrough filter, ndisprot');
  const virt = new VirtualMiniportDriver(ndis);
  const filter = new PassthroughFilter(ndis, { name: 'passthrough', filterClass: 'custom' });
  await filter.register();
  const prot = new NdisProt(ndis, { maxQueue: 4096 });
  await prot.register();
  progress.step('adding host a and host b on hub0');
  const a = await virt.addAdapter('host-a', { NetworkAddress: '02-00-5e-00-00-0a' });
  const b = await virt.addAdapter('host-b', { NetworkAddress: '02-00-5e-00-00-0b' });
  const pa = prot.open('host-a');
  const pb = prot.open('host-b');

  const refused = [0, 0];
  const bouncedByRemoved = new Map<MiniportBlock, number>();
  let insertions = 0;
  const received = [new Set<number>(), new Set<number>()];
  const writtenOk = [new Set<number>(), new Set<number>()];

  const sender = async (from: NdisProtBinding, src: MiniportBlock, dst: MiniportBlock, idx: number): Promise<void> => {
    for (let i = 0; i < options.frames; i++) {
      try {
        const st = await from.write(frameFrom(src, dst, i));
        if (st === NDIS_STATUS.SUCCESS) writtenOk[idx]!.add(i);
      } catch {
        // The binding is paused while a filter goes in or out: ndisprot refuses the write.
        refused[idx]!++;
        i--;
        await ndis.sleep(1);
      }
      if (i % 20 === 0) await ndis.sleep(1);
    }
  };
  // Frames that a receiving stack refused while it was being paused are counted drops at some layer
  // (the NIC, NDIS, a filter, the protocol), not losses.
  const nicDrops = (h: MiniportBlock): number => {
    const s = virt.adapter(h).stats;
    let n = s.rcvNotReady + s.rcvNoBuffer + s.rcvFlushedOnPause;
    for (const d of h.drops) n += d;
    for (const mod of filter.modules.values()) if (mod.handle.miniport === h) n += mod.counters.receivesBouncedWhilePaused;
    n += bouncedByRemoved.get(h) ?? 0;
    n += prot.bindings.get(h.name)?.counters.framesDroppedPaused ?? 0;
    return n;
  };
  const reader = async (at: NdisProtBinding, idx: number, rx: MiniportBlock, expect: () => number): Promise<void> => {
    while (received[idx]!.size + nicDrops(rx) < expect()) {
      const f = await at.read();
      received[idx]!.add(new DataView(f.buffer, f.byteOffset).getUint32(14));
    }
  };

  progress.step(`exchanging ${options.frames} frames each way; a second filter goes in and out meanwhile`);
  const churn = (async () => {
    for (let r = 0; r < 2; r++) {
      await ndis.sleep(3);
      const extra = new PassthroughFilter(ndis, { name: `inserted-${r}`, filterClass: 'diagnostic' });
      await extra.register();
      insertions++;
      progress.step(`filter inserted into both stacks (${insertions})`);
      await ndis.sleep(3);
      for (const mod of extra.modules.values()) bouncedByRemoved.set(mod.handle.miniport, (bouncedByRemoved.get(mod.handle.miniport) ?? 0) + mod.counters.receivesBouncedWhilePaused);
      await ndis.deregisterFilterDriver(extra.handle!);
      progress.step('filter removed again');
    }
  })();
  await Promise.all([sender(pa, a, b, 0), sender(pb, b, a, 1), churn]);
  await Promise.all([reader(pb, 0, b, () => writtenOk[0]!.size), reader(pa, 1, a, () => writtenOk[1]!.size)]);
  progress.step('traffic done; checking that every NBL came home');

  const nblsOutstanding = [...a.opens, ...b.opens].reduce((n, o) => n + o.outstandingSends, 0) + virt.adapter(a).outstandingRx + virt.adapter(b).outstandingRx;
  const dropped = nicDrops(b) + nicDrops(a);
  const lost = [0, 1].reduce((n, i) => n + [...writtenOk[i]!].filter((s) => !received[i]!.has(s)).length, 0) - dropped;
  const hosts = [
    { h: a, p: pa, idx: 0 },
    { h: b, p: pb, idx: 1 },
  ].map(({ h, p, idx }) => ({
    name: h.name,
    mac: mac(h.currentMacAddress),
    framesWritten: p.counters.framesWritten,
    framesRead: p.counters.framesRead,
    refusedWhilePaused: refused[idx]!,
    writeErrors: p.counters.writeErrors,
    states: [...h.sm.history],
    filters: h.filters.map((f) => f.driver.name),
  }));
  const virtualTimeMs = ndis.scheduler.nowMs();
  progress.step('shutting down: pause, unbind, detach, halt');
  await ndis.shutdown();
  const nblsLeaked = ndis.outstandingNbls();
  progress.done();
  const violations = verifier.count();
  const ok = lost === 0 && nblsOutstanding === 0 && nblsLeaked === 0 && violations === 0 && hosts.every((h) => h.framesWritten === options.frames);
  const lines = [
    'ndis demo: two hosts on a virtual hub (virtual miniport + passthrough filter + ndisprot)',
    '',
    ...hosts.map(
      (h) =>
        `  ${h.name} (${h.mac}): wrote ${h.framesWritten} frames, read ${h.framesRead}; ${h.refusedWhilePaused} writes refused while the binding was paused; stack: ${h.filters.join(', ')}`,
    ),
    '',
    `  filter inserted and removed ${insertions} times while traffic flowed`,
    `  adapter states: ${hosts[0]!.states.join(' -> ')}`,
    `  frames refused by a receiving stack while it paused (counted drops): ${dropped}; frames lost: ${lost}`,
    `  NBLs outstanding after the traffic: ${nblsOutstanding}; NBLs leaked after shutdown: ${nblsLeaked}`,
    `  verifier (${options.verify ?? 'cheap'}): ${violations} violation(s)`,
    `  virtual time: ${virtualTimeMs.toFixed(1)} ms (seed ${options.seed})`,
    '',
    ok ? 'ok: every frame arrived and every NBL came home' : violations > 0 ? 'FAILED: the verifier found rule violations' : 'FAILED: something was lost',
    '',
  ];
  return { ok, seed: options.seed, hosts, framesLost: lost, framesDropped: dropped, filterInsertions: insertions, nblsOutstanding, nblsLeaked, virtualTimeMs, violations, text: lines.join('\n') };
}
