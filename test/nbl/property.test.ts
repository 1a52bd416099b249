import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DataPointer,
  NetBufferListPool,
  advanceNetBufferDataStart,
  allocateCloneNetBufferList,
  allocateFragmentNetBufferList,
  allocateReassembledNetBufferList,
  defaultDataMdlAllocator,
  freeCloneNetBufferList,
  freeFragmentNetBufferList,
  freeReassembledNetBufferList,
  getDataBuffer,
  netBufferData,
  retreatNetBufferDataStart,
} from '../../src/nbl/index.js';
import { NDIS_STATUS } from '../../src/base/index.js';
import { nblOver } from './helpers.js';

const pool = new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'TPrp' });

const frameAndCuts = fc
  .uint8Array({ minLength: 1, maxLength: 300 })
  .chain((frame) =>
    fc.tuple(
      fc.constant(frame),
      fc.array(fc.integer({ min: 0, max: frame.length }), { maxLength: 6 }).map((cuts) => {
        const sorted = [...new Set(cuts)].sort((a, b) => a - b);
        const sizes: number[] = [];
        let prev = 0;
        for (const c of sorted) {
          sizes.push(c - prev);
          prev = c;
        }
        return sizes;
      }),
      fc.integer({ min: 0, max: 64 }),
    ),
  );

test('retreat then advance by the same amounts restores data and frees all retreat memory', () => {
  fc.assert(
    fc.property(frameAndCuts, fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 8 }), ([frame, cuts, backfill], deltas) => {
      const before = defaultDataMdlAllocator.outstanding;
      const nbl = nblOver(pool, frame, cuts, backfill);
      const nb = nbl.firstNetBuffer!;
      for (const d of deltas) assert.equal(retreatNetBufferDataStart(nb, d, 8), NDIS_STATUS.SUCCESS);
      const total = deltas.reduce((a, b) => a + b, 0);
      assert.equal(nb.dataLength, frame.length + total);
      for (const d of [...deltas].reverse()) advanceNetBufferDataStart(nb, d, true);
      assert.deepEqual(netBufferData(nb), frame);
      assert.equal(nb.dataOffset, backfill);
      assert.equal(defaultDataMdlAllocator.outstanding, before);
      pool.freeNetBufferList(nbl);
    }),
    { numRuns: 300 },
  );
});

test('NdisGetDataBuffer at any offset and length equals the same slice of the frame', () => {
  fc.assert(
    fc.property(frameAndCuts, fc.nat(), fc.nat(), ([frame, cuts, backfill], a, b) => {
      const nbl = nblOver(pool, frame, cuts, backfill);
      const nb = nbl.firstNetBuffer!;
      const skip = a % frame.length;
      advanceNetBufferDataStart(nb, skip);
      const want = 1 + (b % (frame.length - skip));
      const storage = new Uint8Array(want);
      const p = getDataBuffer(nb, want, storage, 1, 0, new DataPointer())!;
      assert.deepEqual(p.bytes.subarray(p.offset, p.offset + want), frame.subarray(skip, skip + want));
      pool.freeNetBufferList(nbl);
    }),
    { numRuns: 300 },
  );
});

test('clone, fragment and reassemble keep the data', () => {
  fc.assert(
    fc.property(frameAndCuts, fc.integer({ min: 1, max: 80 }), ([frame, cuts, backfill], max) => {
      const nbl = nblOver(pool, frame, cuts, backfill);
      const clone = allocateCloneNetBufferList(nbl, null, null, 0)!;
      assert.deepEqual(netBufferData(clone.firstNetBuffer!), frame);
      const frag = allocateFragmentNetBufferList(clone, null, null, 0, max, 0, 0)!;
      const whole = allocateReassembledNetBufferList(frag, null, 0, 0, 0)!;
      assert.deepEqual(netBufferData(whole.firstNetBuffer!), frame);
      freeReassembledNetBufferList(whole, 0);
      freeFragmentNetBufferList(frag, 0);
      freeCloneNetBufferList(clone, 0);
      assert.equal(nbl.childRefCount, 0);
      pool.freeNetBufferList(nbl);
    }),
    { numRuns: 200 },
  );
});
