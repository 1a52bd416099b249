// RSS receive queues on worker threads: every frame's hash, hash type and checksum bits computed by
// the workers over shared memory equal the single-threaded engines' results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameSlab, RssWorkerPool, DescriptorRing } from '../../../src/offload/rss/workers.js';
import { RssClassification, RssEngine } from '../../../src/offload/rss/engine.js';
import { RSS_VERIFICATION_KEY } from '../../../src/offload/rss/toeplitz.js';
import { CSUM_ALL, validateChecksums } from '../../../src/offload/checksum/index.js';
import { FrameLayout, parseFrame } from '../../../src/offload/layout.js';
import { classificationFlags } from '../../../src/offload/hds/index.js';
import * as H from '../../../src/offload/rss/hash-types.js';
import { fixtures, hex } from '../fixtures.js';

const TYPES = H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_IPV6 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_UDP_IPV6;

void test('two worker queues give the same results as the engines on the main thread', async () => {
  const frames = [...fixtures.rss.map((f) => hex(f.hex)), ...fixtures.checksum.flatMap((f) => [hex(f.good), ...Object.values(f.bad).map(hex)]), ...fixtures.nvgre.map((f) => hex(f.hex))];
  const copies = 40;
  const slab = new FrameSlab(1 << 20, frames.length * copies);
  for (let c = 0; c < copies; c++) for (const f of frames) assert.ok(slab.add(f) >= 0);
  const engine = new RssEngine(TYPES, 2, 2);
  engine.setParameters({ flags: 0, baseCpuNumber: 0, hashInformation: TYPES | 1, indirectionTable: [0, 1, 1, 0, 0, 1, 0, 1], secretKey: Uint8Array.from(RSS_VERIFICATION_KEY), defaultProcessor: -1 });
  const pool = new RssWorkerPool(slab, { workers: 2, ringCapacity: 64, key: RSS_VERIFICATION_KEY, hashTypes: TYPES, checksumMask: CSUM_ALL });
  const cls = new RssClassification();
  const layout = new FrameLayout();
  const expected: [number, number, number][] = [];
  const used = new Set<number>();
  for (let slot = 0; slot < slab.count; slot++) {
    const f = frames[slot % frames.length]!;
    engine.classify(f, 0, f.length, cls);
    parseFrame(f, 0, f.length, layout);
    expected.push([cls.hash, cls.hashType, validateChecksums(f, layout, CSUM_ALL)]);
    const q = cls.queue < 0 ? 0 : cls.queue;
    used.add(q);
    pool.dispatch(q, slot);
  }
  pool.wait();
  assert.equal(used.size, 2);
  for (let slot = 0; slot < slab.count; slot++) {
    const [hash, type, bits] = expected[slot]!;
    assert.equal(pool.results.hash(slot), hash, `slot ${slot} hash`);
    assert.equal(pool.results.hashType(slot), type, `slot ${slot} type`);
    assert.equal(pool.results.checksum(slot), bits, `slot ${slot} checksum`);
  }
  assert.equal(pool.rings[0]!.processed + pool.rings[1]!.processed, slab.count);
  await pool.close();
});

void test('rings refuse capacities that are not powers of two; a full slab refuses frames', () => {
  assert.throws(() => new DescriptorRing(3), /power of two/);
  const slab = new FrameSlab(100, 2);
  assert.equal(slab.add(new Uint8Array(60)), 0);
  assert.equal(slab.add(new Uint8Array(60)), -1, 'no room for the bytes');
  assert.equal(slab.add(new Uint8Array(30)), 1);
  assert.equal(slab.add(new Uint8Array(1)), -1, 'no slot left');
});

void test('configure: the workers hash with the new key and types and validate with the new mask, for frames dispatched afterwards', async () => {
  const frames = fixtures.rss.map((f) => hex(f.hex));
  const slab = new FrameSlab(1 << 16, frames.length * 2);
  for (let c = 0; c < 2; c++) for (const f of frames) assert.ok(slab.add(f) >= 0);
  const pool = new RssWorkerPool(slab, { workers: 2, ringCapacity: 64, key: RSS_VERIFICATION_KEY, hashTypes: TYPES, checksumMask: CSUM_ALL });
  try {
    const n = frames.length;
    for (let s = 0; s < n; s++) pool.dispatch(s % 2, s);
    assert.equal(pool.wait(), true);
    const key = Uint8Array.from(RSS_VERIFICATION_KEY, (x, i) => x ^ (i * 3 + 1));
    pool.configure(key, H.NDIS_HASH_IPV4 | H.NDIS_HASH_IPV6, 0);
    for (let s = n; s < 2 * n; s++) pool.dispatch(s % 2, s);
    assert.equal(pool.wait(), true);
    const engine = new RssEngine(TYPES, 1, 1);
    engine.setParameters({ flags: 0, baseCpuNumber: 0, hashInformation: H.NDIS_HASH_IPV4 | H.NDIS_HASH_IPV6 | 1, indirectionTable: [0], secretKey: key, defaultProcessor: -1 });
    const cls = new RssClassification();
    const layout = new FrameLayout();
    for (let s = n; s < 2 * n; s++) {
      const f = frames[s - n]!;
      engine.classify(f, 0, f.length, cls);
      assert.equal(pool.results.hash(s), cls.hash, `slot ${s}: hashed with the new key`);
      assert.equal(pool.results.hashType(s), cls.hashType, `slot ${s}: 2-tuple types only`);
      assert.equal(pool.results.checksum(s), 0, `slot ${s}: nothing validated`);
      parseFrame(f, 0, f.length, layout);
      assert.equal(pool.results.nblFlags(s), classificationFlags(layout), `slot ${s}: NBL classification flags`);
    }
    assert.ok([...Array(n).keys()].some((s) => pool.results.hash(s) !== pool.results.hash(s + n)), 'the first frames kept the old key');
  } finally {
    await pool.close();
  }
});

void test('a ring whose consumer does not answer: waitProcessed gives up at its deadline', () => {
  const ring = new DescriptorRing(4);
  ring.push(1);
  ring.publish();
  const start = Date.now();
  assert.equal(ring.waitProcessed(1, Date.now() + 30), false);
  assert.ok(Date.now() - start >= 30);
  assert.equal(ring.pending, 1);
});
