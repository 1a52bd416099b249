// The impairment filter, measured with raw frames (ndisprot) between two virtual adapters: loss,
// duplication, reordering and corruption on the send and receive paths at about the configured
// rates, the same run again for the same seed and another for another seed, and the NBL ownership
// rules under the full verifier: copies consumed by the filter, held frames released at pause,
// RESOURCES indications never held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ndis, NetDeviceState, ThrowingVerifier, VERIFY_FULL } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { NdisProt, NDISPROT_ETHERTYPE } from '../../../../src/drivers/protocol/ndisprot/index.js';
import { ImpairFilter, type ImpairPolicy } from '../../../../src/drivers/filter/impair/index.js';

const A_MAC = [2, 0, 0, 0, 0, 0x0a];
const B_MAC = [2, 0, 0, 0, 0, 0x0b];

interface Lab {
  ndis: Ndis;
  filter: ImpairFilter;
  prot: NdisProt;
  virt: VirtualMiniportDriver;
}

async function lab(seed: number, policies: Record<string, ImpairPolicy>, config: Record<string, number> = {}): Promise<Lab> {
  const ndis = new Ndis({ seed, verifier: new ThrowingVerifier(VERIFY_FULL) });
  const virt = new VirtualMiniportDriver(ndis);
  const filter = new ImpairFilter(ndis, { adapters: policies });
  await filter.register();
  const prot = new NdisProt(ndis, { maxQueue: 100_000 });
  await prot.register();
  await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a', ...config });
  await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b', ...config });
  return { ndis, filter, prot, virt };
}

/** Frame number `i`: a to b, the number in the first payload bytes, then a pattern. */
function frame(i: number): Uint8Array {
  const f = new Uint8Array(14 + 100);
  f.set(B_MAC, 0);
  f.set(A_MAC, 6);
  f[12] = NDISPROT_ETHERTYPE >> 8;
  f[13] = NDISPROT_ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, i);
  for (let k = 18; k < f.length; k++) f[k] = (k * 7 + i) & 0xff;
  return f;
}

interface Observed {
  order: number[];
  corrupted: number;
  duplicates: number;
  missing: number;
  outOfOrder: number;
  digest: string;
}

/** Sends `n` frames from a, in bursts the receiver's buffers can take, and reads what reaches b. */
async function exchange(l: Lab, n: number, burst = 50): Promise<Observed> {
  const a = l.prot.open('a');
  const b = l.prot.open('b');
  for (let i = 0; i < n; i += burst) {
    const writes: Promise<number>[] = [];
    for (let k = i; k < Math.min(n, i + burst); k++) writes.push(a.write(frame(k)));
    await l.ndis.until(Promise.all(writes));
    await l.ndis.sleep(1);
  }
  await l.ndis.sleep(50);
  assert.equal(l.virt.adapter(l.ndis.adapter('b')).stats.rcvNoBuffer, 0, 'the receiver never ran out of buffers');
  const order: number[] = [];
  let corrupted = 0;
  const h = createHash('sha256');
  while (b.queued > 0) {
    const f = await b.read();
    h.update(f);
    const seq = new DataView(f.buffer, f.byteOffset).getUint32(14);
    const ok = seq < n && Buffer.compare(Buffer.from(f.subarray(0, 114)), Buffer.from(frame(seq))) === 0;
    if (!ok) corrupted++;
    else order.push(seq);
  }
  const seen = new Map<number, number>();
  for (const s of order) seen.set(s, (seen.get(s) ?? 0) + 1);
  let duplicates = 0;
  for (const c of seen.values()) duplicates += c - 1;
  // Frames that arrive after a frame sent later than them.
  let outOfOrder = 0;
  let highest = -1;
  for (const s of order) {
    if (s < highest) outOfOrder++;
    else highest = s;
  }
  return { order, corrupted, duplicates, missing: n - seen.size, outOfOrder, digest: h.digest('hex') };
}

for (const direction of ['send', 'receive'] as const) {
  void test(`${direction} path: loss, duplication, reordering and corruption at about the configured rates`, async () => {
    const policy: ImpairPolicy = { loss: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, direction };
    const l = await lab(1, direction === 'send' ? { a: policy } : { b: policy });
    try {
      const n = 2000;
      const o = await exchange(l, n);
      const c = l.filter.module(direction === 'send' ? 'a' : 'b').counters;
      assert.equal(c.seen, n);
      for (const k of ['lost', 'duplicated', 'reordered', 'corrupted'] as const) {
        assert.ok(c[k] > n * 0.07 && c[k] < n * 0.13, `${k}: ${c[k]} of ${n}`);
      }
      assert.equal(o.duplicates, c.duplicated, 'every duplicate arrived twice');
      assert.ok(o.outOfOrder >= c.reordered * 0.9, `reordered frames arrive late (${o.outOfOrder})`);
      // A corrupted copy arrives damaged, or not at all when the damage hit the destination address.
      assert.ok(o.corrupted <= c.corrupted && o.corrupted >= c.corrupted * 0.8);
      assert.ok(o.missing >= c.lost && o.missing <= c.lost + c.corrupted, `missing ${o.missing}`);
      assert.equal(c.copyFailures, 0);
    } finally {
      await l.ndis.shutdown();
    }
  });
}

void test("the runtime's seed decides: the same seed gives the same run, another seed another", async () => {
  const policy: ImpairPolicy = { loss: 0.05, duplicate: 0.05, reorder: 0.05, corrupt: 0.05, direction: 'both' };
  const digests: string[] = [];
  for (const seed of [7, 7, 8]) {
    const l = await lab(seed, { a: policy, b: policy });
    try {
      digests.push((await exchange(l, 500)).digest);
    } finally {
      await l.ndis.shutdown();
    }
  }
  assert.equal(digests[0], digests[1]);
  assert.notEqual(digests[0], digests[2]);
});

void test('held frames are released when the stack pauses, and the pause completes once the copies are back (full verifier)', async () => {
  const l = await lab(3, { a: { reorder: 0.5, duplicate: 0.2, reorderDelayMs: 60_000, reorderWindow: 1000, direction: 'send' }, b: { reorder: 0.5, reorderDelayMs: 60_000, reorderWindow: 1000, direction: 'receive' } });
  try {
    const a = l.prot.open('a');
    const writes: Promise<number>[] = [];
    for (let i = 0; i < 50; i++) writes.push(a.write(frame(i)));
    await l.ndis.sleep(10);
    const held = l.filter.module('a').counters.reordered;
    assert.ok(held > 10);
    // A power transition pauses both stacks: the filter lets go of what it holds.
    await l.ndis.until(l.ndis.setPower(l.ndis.adapter('a'), NetDeviceState.D3));
    await l.ndis.until(Promise.all(writes));
    await l.ndis.until(l.ndis.setPower(l.ndis.adapter('a'), NetDeviceState.D0));
    await l.ndis.until(l.ndis.setPower(l.ndis.adapter('b'), NetDeviceState.D3));
    await l.ndis.until(l.ndis.setPower(l.ndis.adapter('b'), NetDeviceState.D0));
    assert.equal(l.filter.module('a').outstandingOwn, 0);
    assert.equal(l.filter.module('b').outstandingOwn, 0);
    assert.ok(l.prot.open('b').queued > 0);
  } finally {
    await l.ndis.shutdown(); // throws on any NBL not back in its pool
  }
});

void test('receive indications under NDIS_RECEIVE_FLAGS_RESOURCES are never held: copies are, and delivered', async () => {
  const l = await lab(4, { b: { reorder: 0.2, duplicate: 0.2, corrupt: 0.1, loss: 0.1, direction: 'receive' } }, { ReceiveBuffers: 64, LowResourceThreshold: 1000 });
  try {
    const n = 400;
    const o = await exchange(l, n, 10);
    const c = l.filter.module('b').counters;
    assert.ok(c.reordered > 0 && c.duplicated > 0);
    assert.equal(o.duplicates, c.duplicated);
    assert.ok(o.order.length + o.corrupted >= n - c.lost - c.corrupted);
    assert.ok(l.virt.adapter(l.ndis.adapter('b')).stats.lowResourceIndications > 0);
  } finally {
    await l.ndis.shutdown();
  }
});
