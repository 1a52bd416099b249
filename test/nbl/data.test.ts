import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataPointer,
  Mdl,
  NetBufferListPool,
  NetBufferPool,
  advanceNetBufferDataStart,
  advanceNetBufferListDataStart,
  copyFromNetBufferToNetBuffer,
  defaultDataMdlAllocator,
  getDataBuffer,
  netBufferData,
  retreatNetBufferDataStart,
  retreatNetBufferListDataStart,
  type NetBuffer,
} from '../../src/nbl/index.js';
import { NDIS_STATUS } from '../../src/base/index.js';
import { TCP_SYN_IPV4 } from '../fixtures/frames.js';
import { mdlChainOver, nblOver } from './helpers.js';

const pool = new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'TDat' });

function bytesOf(nb: NetBuffer): number[] {
  return [...netBufferData(nb)];
}

test('retreat within the backfill moves DataOffset and keeps the MDL chain', () => {
  const nbl = nblOver(pool, TCP_SYN_IPV4.subarray(14), [], 14); // IP packet with 14 bytes of backfill in its own MDL
  const nb = nbl.firstNetBuffer!;
  const chain = nb.mdlChain;
  assert.equal(nb.dataOffset, 14);
  assert.equal(retreatNetBufferDataStart(nb, 14, 0, null), NDIS_STATUS.SUCCESS);
  assert.equal(nb.mdlChain, chain, 'no new MDL');
  assert.equal(nb.dataOffset, 0);
  assert.equal(nb.dataLength, TCP_SYN_IPV4.length);
  assert.equal(nb.currentMdl, chain, 'the data start moved back into the first MDL');
  assert.equal(nb.currentMdlOffset, 0);
  // Write the Ethernet header into the reclaimed space: the NB now holds the whole frame.
  const p = getDataBuffer(nb, 14, null, 1, 0, new DataPointer())!;
  p.bytes.set(TCP_SYN_IPV4.subarray(0, 14), p.offset);
  assert.deepEqual(bytesOf(nb), [...TCP_SYN_IPV4]);
  pool.freeNetBufferList(nbl);
});

test('retreat beyond the backfill chains a new MDL at the head; advance with FreeMdl frees it', () => {
  const before = defaultDataMdlAllocator.outstanding;
  const nbl = nblOver(pool, TCP_SYN_IPV4.subarray(14), [20], 4); // 4 bytes of backfill only
  const nb = nbl.firstNetBuffer!;
  const oldHead = nb.mdlChain!;
  assert.equal(retreatNetBufferDataStart(nb, 14, 32, null), NDIS_STATUS.SUCCESS);
  assert.notEqual(nb.mdlChain, oldHead);
  assert.equal(nb.mdlChain!.next, oldHead, 'the new MDL is chained to the beginning');
  assert.equal(nb.currentMdl, nb.mdlChain);
  assert.ok(nb.mdlChain!.byteCount >= 10 + 32, 'DataOffsetDelta minus the usable backfill, plus DataBackFill');
  assert.equal(nb.dataLength, TCP_SYN_IPV4.length);
  assert.equal(defaultDataMdlAllocator.outstanding, before + 1);
  // The 14 new bytes are contiguous with the old data: 10 from the new MDL, 4 from the old backfill.
  const storage = new Uint8Array(14);
  const p = getDataBuffer(nb, 14, storage, 1, 0, new DataPointer())!;
  assert.equal(p.bytes, storage, 'the 14 bytes span two MDLs, so they were copied');
  const header = TCP_SYN_IPV4.subarray(0, 14);
  // Write them through the MDLs: 10 bytes into the new MDL, 4 into the old backfill.
  const m0 = nb.currentMdl!;
  m0.buffer.set(header.subarray(0, 10), m0.byteOffset + nb.currentMdlOffset);
  oldHead.buffer.set(header.subarray(10), oldHead.byteOffset);
  assert.deepEqual(bytesOf(nb), [...TCP_SYN_IPV4]);

  advanceNetBufferDataStart(nb, 14, true, null);
  assert.equal(nb.mdlChain, oldHead, 'the retreat MDL was unlinked');
  assert.equal(nb.dataOffset, 4);
  assert.equal(defaultDataMdlAllocator.outstanding, before, 'and returned to NDIS');
  assert.deepEqual(bytesOf(nb), [...TCP_SYN_IPV4.subarray(14)]);
  pool.freeNetBufferList(nbl);
});

test('advance without FreeMdl keeps the retreat MDL for the next retreat', () => {
  const before = defaultDataMdlAllocator.outstanding;
  const nbl = nblOver(pool, TCP_SYN_IPV4.subarray(14), [], 0);
  const nb = nbl.firstNetBuffer!;
  retreatNetBufferDataStart(nb, 14, 0, null);
  const allocated = nb.mdlChain!;
  advanceNetBufferDataStart(nb, 14, false, null);
  assert.equal(nb.mdlChain, allocated, 'kept');
  retreatNetBufferDataStart(nb, 14, 0, null);
  assert.equal(nb.mdlChain, allocated, 'reused without allocating');
  assert.equal(defaultDataMdlAllocator.outstanding, before + 1);
  advanceNetBufferDataStart(nb, 14, true, null);
  assert.equal(defaultDataMdlAllocator.outstanding, before);
  pool.freeNetBufferList(nbl);
});

test('retreat and advance use the caller NetAllocateMdl / NetFreeMdl', () => {
  const nbl = nblOver(pool, TCP_SYN_IPV4, [], 0);
  const nb = nbl.firstNetBuffer!;
  const asked: number[] = [];
  const freed: Mdl[] = [];
  const alloc = (size: number) => {
    asked.push(size);
    const m = new Mdl();
    m.buffer = new Uint8Array(size);
    m.byteCount = size;
    return m;
  };
  assert.equal(retreatNetBufferDataStart(nb, 8, 24, alloc), NDIS_STATUS.SUCCESS);
  assert.deepEqual(asked, [32]);
  advanceNetBufferDataStart(nb, 8, true, (m) => freed.push(m));
  assert.equal(freed.length, 1);
  assert.equal(retreatNetBufferDataStart(nb, 8, 0, () => null), NDIS_STATUS.RESOURCES, 'a failing allocator gives NDIS_STATUS_RESOURCES');
  assert.equal(nb.dataLength, TCP_SYN_IPV4.length, 'and leaves the NET_BUFFER unchanged');
  pool.freeNetBufferList(nbl);
});

test('advance across MDL boundaries and retreat back', () => {
  const nbl = nblOver(pool, TCP_SYN_IPV4, [14, 20, 8]); // Ethernet | IPv4 | 8 bytes of TCP | rest
  const nb = nbl.firstNetBuffer!;
  const [m0, m1, m2, m3] = [nb.mdlChain!, nb.mdlChain!.next!, nb.mdlChain!.next!.next!, nb.mdlChain!.next!.next!.next!];
  advanceNetBufferDataStart(nb, 14);
  assert.equal(nb.currentMdl, m1);
  assert.equal(nb.currentMdlOffset, 0);
  advanceNetBufferDataStart(nb, 25);
  assert.equal(nb.currentMdl, m2);
  assert.equal(nb.currentMdlOffset, 5);
  advanceNetBufferDataStart(nb, 3);
  assert.equal(nb.currentMdl, m3);
  assert.equal(nb.currentMdlOffset, 0);
  assert.equal(nb.dataOffset, 42);
  assert.deepEqual(bytesOf(nb), [...TCP_SYN_IPV4.subarray(42)]);
  retreatNetBufferDataStart(nb, 42);
  assert.equal(nb.currentMdl, m0);
  assert.equal(nb.currentMdlOffset, 0);
  assert.deepEqual(bytesOf(nb), [...TCP_SYN_IPV4]);
  assert.throws(() => advanceNetBufferDataStart(nb, TCP_SYN_IPV4.length + 1), { code: 'ERR_NDIS_DATA_RANGE' });
  pool.freeNetBufferList(nbl);
});

test('NdisGetDataBuffer: contiguous in one MDL returns a pointer into it', () => {
  const nbl = nblOver(pool, TCP_SYN_IPV4, [14]);
  const nb = nbl.firstNetBuffer!;
  const ptr = new DataPointer();
  const p = getDataBuffer(nb, 14, null, 1, 0, ptr);
  assert.equal(p, ptr);
  assert.equal(p.bytes, nb.mdlChain!.buffer, 'no copy: the MDL memory itself');
  assert.equal(p.offset, nb.mdlChain!.byteOffset);
  advanceNetBufferDataStart(nb, 14);
  const ip = getDataBuffer(nb, 20, null, 1, 0, ptr)!;
  assert.equal(ip.bytes[ip.offset], 0x45, 'IPv4 version/IHL');
  pool.freeNetBufferList(nbl);
});

test('NdisGetDataBuffer spanning 2 and 3 MDLs copies into Storage, or returns NULL without it', () => {
  const nbl = nblOver(pool, TCP_SYN_IPV4, [10, 10, 10]);
  const nb = nbl.firstNetBuffer!;
  const ptr = new DataPointer();
  assert.equal(getDataBuffer(nb, 15, null, 1, 0, ptr), null);
  const s2 = new Uint8Array(15);
  const p2 = getDataBuffer(nb, 15, s2, 1, 0, ptr)!;
  assert.equal(p2.bytes, s2);
  assert.deepEqual([...s2], [...TCP_SYN_IPV4.subarray(0, 15)]);
  const s3 = new Uint8Array(34);
  getDataBuffer(nb, 34, s3, 1, 0, ptr);
  assert.deepEqual([...s3], [...TCP_SYN_IPV4.subarray(0, 34)], 'four MDLs');
  assert.equal(getDataBuffer(nb, TCP_SYN_IPV4.length + 1, s3, 1, 0, ptr), null, 'more than DataLength gives NULL');
  pool.freeNetBufferList(nbl);
});

test('NdisGetDataBuffer honours AlignMultiple / AlignOffset', () => {
  const data = new Uint8Array(64);
  data.set(TCP_SYN_IPV4.subarray(0, 60), 3);
  const nbPool = new NetBufferPool();
  const nb = nbPool.allocateNetBuffer(mdlChainOver(data, []), 3, 60)!;
  const ptr = new DataPointer();
  const storage = new Uint8Array(8);
  const unaligned = getDataBuffer(nb, 8, storage, 4, 0, ptr)!;
  assert.equal(unaligned.bytes, storage, 'address 3 is not 4-aligned: copied');
  const aligned = getDataBuffer(nb, 8, storage, 4, 3, ptr)!;
  assert.equal(aligned.bytes, data, 'address 3 is 4k+3: direct');
  nbPool.freeNetBuffer(nb);
});

test('NdisCopyFromNetBufferToNetBuffer copies across MDLs, bounded by source data and destination space', () => {
  const src = nblOver(pool, TCP_SYN_IPV4, [7, 13, 21]).firstNetBuffer!;
  const dstData = new Uint8Array(50);
  const nbPool = new NetBufferPool();
  const dst = nbPool.allocateNetBuffer(mdlChainOver(dstData, [5, 11]), 2, 10)!;
  const n = copyFromNetBufferToNetBuffer(dst, 3, 40, src, 14);
  assert.equal(n, 40);
  assert.deepEqual([...dstData.subarray(5, 45)], [...TCP_SYN_IPV4.subarray(14, 54)]);
  assert.equal(dst.dataLength, 10, 'DataLength is the caller’s to update');
  assert.equal(copyFromNetBufferToNetBuffer(dst, 0, 100, src, 50), TCP_SYN_IPV4.length - 50, 'source runs out');
  assert.equal(copyFromNetBufferToNetBuffer(dst, 40, 100, src, 0), 8, 'destination runs out of MDL space');
  nbPool.freeNetBuffer(dst);
});

test('...NetBufferListDataStart variants apply to every NET_BUFFER', () => {
  const nbPool = new NetBufferPool();
  const nbl = pool.allocateNetBufferList()!;
  const a = new Uint8Array(40);
  const b = new Uint8Array(40);
  nbl.firstNetBuffer!.mdlChain = null;
  nbl.firstNetBuffer = nbPool.allocateNetBuffer(mdlChainOver(a, []), 20, 20)!;
  nbl.firstNetBuffer.next = nbPool.allocateNetBuffer(mdlChainOver(b, []), 20, 20)!;
  assert.equal(retreatNetBufferListDataStart(nbl, 10), NDIS_STATUS.SUCCESS);
  assert.deepEqual([nbl.firstNetBuffer.dataOffset, nbl.firstNetBuffer.next.dataOffset], [10, 10]);
  advanceNetBufferListDataStart(nbl, 15);
  assert.deepEqual([nbl.firstNetBuffer.dataLength, nbl.firstNetBuffer.next.dataLength], [15, 15]);
  nbPool.freeNetBuffer(nbl.firstNetBuffer.next);
  nbPool.freeNetBuffer(nbl.firstNetBuffer);
  nbl.firstNetBuffer = null;
  pool.freeNetBufferList(nbl);
});
