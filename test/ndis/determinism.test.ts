import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ndis, relativeDueTime, type MiniportBlock } from '../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../src/drivers/miniport/virtual/index.js';
import { rawProtocol, nblFor, type RawBinding } from './drivers.js';
import { frame, BROADCAST } from './helpers.js';

/** Three adapters exchanging frames at once; returns the scheduler trace and the order frames arrived. */
async function scenario(seed: number): Promise<{ trace: string[]; arrivals: string[] }> {
  const ndis = new Ndis({ seed, trace: true, processors: 4 });
  const virt = new VirtualMiniportDriver(ndis);
  const bindings = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', [], bindings));
  const names = ['a', 'b', 'c'];
  const adapters: MiniportBlock[] = [];
  for (const n of names) adapters.push(await virt.addAdapter(n, { Processor: names.indexOf(n) }));
  ndis.scheduler.trace!.length = 0;
  const arrivals: string[] = [];
  for (const n of names) {
    const rb = bindings.get(n)!;
    rb.onReceive = (_nbl, _flags, frames) => {
      for (const f of frames) arrivals.push(`${rb.adapterName}<-${new TextDecoder().decode(f.subarray(14, 18))}`);
    };
  }
  // Each adapter's binding sends from its own periodic timer: five frames, one per millisecond.
  const timers = names.map((n, k) => {
    const b = bindings.get(n)!;
    let i = 0;
    const t = ndis.allocateTimerObject(b.handle, () => {
      if (i < 5) ndis.sendNetBufferLists(b.handle, nblFor(b, frame(BROADCAST, adapters[k]!.currentMacAddress, `${n}${i++}..`)), 0, 0);
    }, null, `send-${n}`);
    ndis.setTimerObject(t, relativeDueTime(1), 1);
    return t;
  });
  await ndis.until(new Promise<void>((r) => { const c = (): void => { if (arrivals.length >= 30) r(); else setImmediate(c); }; c(); }));
  for (const t of timers) {
    ndis.cancelTimerObject(t);
    ndis.freeTimerObject(t);
  }
  const trace = [...ndis.scheduler.trace!];
  await ndis.shutdown();
  return { trace, arrivals };
}

test('the same seed gives the same interleaving and trace; other seeds give other interleavings', async () => {
  const first = await scenario(42);
  const again = await scenario(42);
  assert.ok(first.trace.length > 10);
  assert.deepEqual(again.trace, first.trace, 'same seed, same trace');
  assert.deepEqual(again.arrivals, first.arrivals, 'same seed, same order of arrivals');
  const others = await Promise.all([1, 2, 3, 4, 5, 6].map((s) => scenario(s)));
  const distinct = new Set([first, ...others].map((r) => r.trace.join('\n')));
  assert.ok(distinct.size >= 3, `seeds explore different interleavings (${distinct.size} distinct traces of 7)`);
  assert.ok(new Set([first, ...others].map((r) => r.arrivals.join(','))).size >= 2, 'and different orders of delivery');
  for (const r of others) assert.equal(r.arrivals.length, 30, 'every seed delivers everything');
});
