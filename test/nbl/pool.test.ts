import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NET_BUFFER_LIST_POOL_FLAG_VERIFY,
  NDIS_NET_BUFFER_LIST_INFO,
  NetBufferListPool,
  NetBufferPool,
  freeNetBufferList,
  freeNetBuffer,
  ndisAllocateMdl,
} from '../../src/nbl/index.js';
import { NdisError } from '../../src/base/index.js';
import { TCP_SYN_IPV4 } from '../fixtures/frames.js';
import { mdlChainOver } from './helpers.js';

test('NdisAllocateNetBufferList from a pool without NET_BUFFERs gives a bare NBL', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false, poolTag: 'TsNb' });
  const nbl = pool.allocateNetBufferList();
  assert.ok(nbl);
  assert.equal(nbl.firstNetBuffer, null);
  assert.equal(nbl.ndisPoolHandle, pool);
  assert.equal(pool.outstanding, 1);
  pool.freeNetBufferList(nbl);
  assert.equal(pool.outstanding, 0);
  pool.free();
});

test('fAllocateNetBuffer with DataSize gives NBL + NET_BUFFER + MDL + data, all used data space', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, dataSize: 2048, poolTag: 'TsDa' });
  const nbl = pool.allocateNetBufferList()!;
  const nb = nbl.firstNetBuffer!;
  assert.ok(nb.mdlChain);
  assert.equal(nb.mdlChain, nb.currentMdl);
  assert.equal(nb.mdlChain.byteCount, 2048);
  assert.equal(nb.dataOffset, 0);
  assert.equal(nb.dataLength, 2048);
  assert.equal(nb.ndisPoolHandle, pool);
  // Two NBLs never share data memory.
  const other = pool.allocateNetBufferList()!;
  const a = nb.mdlChain;
  const b = other.firstNetBuffer!.mdlChain!;
  assert.ok(a.buffer !== b.buffer || a.byteOffset + a.byteCount <= b.byteOffset || b.byteOffset + b.byteCount <= a.byteOffset);
  freeNetBufferList(nbl);
  freeNetBufferList(other);
  pool.free();
});

test('NdisAllocateNetBufferAndNetBufferList positions CurrentMdl from DataOffset', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true });
  const data = new Uint8Array(100);
  const chain = mdlChainOver(data, [10, 30]); // MDLs of 10, 30, 60 bytes
  const nbl = pool.allocateNetBufferAndNetBufferList(0, 0, chain, 25, 70)!;
  const nb = nbl.firstNetBuffer!;
  assert.equal(nb.mdlChain, chain);
  assert.equal(nb.currentMdl, chain.next); // the 30-byte MDL holds offset 25
  assert.equal(nb.currentMdlOffset, 15);
  assert.equal(nb.dataOffset, 25);
  assert.equal(nb.dataLength, 70);
  assert.throws(() => pool.allocateNetBufferAndNetBufferList(0, 0, chain, 50, 51), { code: 'ERR_NDIS_DATA_RANGE' });
  assert.equal(pool.outstanding, 1, 'the failed call left nothing allocated');
  freeNetBufferList(nbl);
  pool.free();
});

test('NdisAllocateNetBufferAndNetBufferList is refused on a pool with DataSize', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, dataSize: 64 });
  assert.throws(() => pool.allocateNetBufferAndNetBufferList(0, 0, null, 0, 0), (e: unknown) => e instanceof NdisError && e.code === 'ERR_NDIS_INVALID_PARAMETER' && /DataSize 64/.test(e.message));
});

test('pool statistics: capacity grows on demand, outstanding and peak are tracked', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, initialCount: 4 });
  assert.equal(pool.capacity, 4);
  const held = [];
  for (let i = 0; i < 10; i++) held.push(pool.allocateNetBufferList()!);
  assert.ok(pool.capacity >= 10);
  assert.equal(pool.outstanding, 10);
  for (const nbl of held.splice(0, 6)) pool.freeNetBufferList(nbl);
  const s = pool.statistics();
  assert.equal(s.outstanding, 4);
  assert.equal(s.peak, 10);
  assert.equal(s.allocations, 10);
  assert.equal(s.failedAllocations, 0);
  for (const nbl of held) pool.freeNetBufferList(nbl);
});

test('exhaustion returns null and is counted, as NDIS does', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false, maxCount: 3, initialCount: 1 });
  const got = [pool.allocateNetBufferList(), pool.allocateNetBufferList(), pool.allocateNetBufferList()];
  assert.ok(got.every((n) => n !== null));
  assert.equal(pool.allocateNetBufferList(), null);
  assert.equal(pool.allocateNetBufferList(), null);
  assert.equal(pool.failedAllocations, 2);
  pool.freeNetBufferList(got[0]!);
  assert.ok(pool.allocateNetBufferList(), 'a freed NBL is available again');
});

test('a pool can be told to fail allocations deterministically (low-resource simulation)', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true });
  pool.failAllocation = (attempt) => attempt % 3 === 0;
  const results = [];
  for (let i = 0; i < 9; i++) {
    const nbl = pool.allocateNetBufferList();
    results.push(nbl !== null);
    if (nbl) pool.freeNetBufferList(nbl);
  }
  assert.deepEqual(results, [true, true, false, true, true, false, true, true, false]);
  assert.equal(pool.failedAllocations, 3);
});

test('double free, wrong pool, and freeing a pool with NBLs outstanding are typed errors', () => {
  const a = new NetBufferListPool({ fAllocateNetBuffer: false, poolTag: 'AAAA' });
  const b = new NetBufferListPool({ fAllocateNetBuffer: false, poolTag: 'BBBB' });
  const nbl = a.allocateNetBufferList()!;
  assert.throws(() => b.freeNetBufferList(nbl), (e: unknown) => e instanceof NdisError && e.code === 'ERR_NDIS_WRONG_POOL' && /'AAAA'/.test(e.message) && /'BBBB'/.test(e.message));
  const leaked = a.allocateNetBufferList()!;
  assert.throws(() => a.free(), (e: unknown) => e instanceof NdisError && e.code === 'ERR_NDIS_POOL_NOT_EMPTY' && e.message.includes(`#${leaked.serial}`) && /2 NET_BUFFER_LIST/.test(e.message));
  a.freeNetBufferList(nbl);
  assert.throws(() => a.freeNetBufferList(nbl), { code: 'ERR_NDIS_DOUBLE_FREE' });
  a.freeNetBufferList(leaked);
  a.free();
  assert.throws(() => a.allocateNetBufferList(), { code: 'ERR_NDIS_ILLEGAL_STATE' });
});

test('pool parameters are validated with messages that say how to fix them', () => {
  assert.throws(
    () => new NetBufferListPool({ fAllocateNetBuffer: false, contextSize: 12 }),
    (e: unknown) => e instanceof NdisError && /multiple of MEMORY_ALLOCATION_ALIGNMENT \(16\)\. Received 12/.test(e.message),
  );
  assert.throws(() => new NetBufferListPool({ fAllocateNetBuffer: false, dataSize: 100 }), /fAllocateNetBuffer must be TRUE/);
});

test('a reused NBL comes back with zeroed OOB, status, flags and no parent', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, initialCount: 1, maxCount: 1 });
  const nbl = pool.allocateNetBufferList()!;
  nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue] = 0xdeadbeef;
  nbl.status = -1;
  nbl.nblFlags = 0x200;
  nbl.next = nbl;
  pool.freeNetBufferList(nbl);
  const again = pool.allocateNetBufferList()!;
  assert.equal(again, nbl, 'single-slot pool reuses the object');
  assert.equal(again.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue], 0);
  assert.equal(again.status, 0);
  assert.equal(again.nblFlags, 0);
  assert.equal(again.next, null);
  assert.notEqual(again.serial, 0);
});

test('NET_BUFFER_LIST_POOL_FLAG_VERIFY delays reuse of freed NBLs', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false, flags: NET_BUFFER_LIST_POOL_FLAG_VERIFY, initialCount: 4 });
  const first = pool.allocateNetBufferList()!;
  pool.freeNetBufferList(first);
  const seen = new Set();
  for (let i = 0; i < 3; i++) {
    const n = pool.allocateNetBufferList()!;
    seen.add(n);
    assert.notEqual(n, first, 'the NBL freed last is not handed out while older free ones exist');
  }
  assert.equal(seen.size, 3);
  const plain = new NetBufferListPool({ fAllocateNetBuffer: false, initialCount: 4 });
  const p = plain.allocateNetBufferList()!;
  plain.freeNetBufferList(p);
  assert.equal(plain.allocateNetBufferList(), p, 'without the flag the pool reuses LIFO');
});

test('NET_BUFFER pool: NdisAllocateNetBuffer, NdisAllocateNetBufferMdlAndData, frees and leaks', () => {
  const plain = new NetBufferPool({ poolTag: 'TNb1' });
  const data = TCP_SYN_IPV4.slice();
  const nb = plain.allocateNetBuffer(ndisAllocateMdl(data), 14, data.length - 14)!;
  assert.equal(nb.dataOffset, 14);
  assert.equal(nb.currentMdlOffset, 14);
  assert.throws(() => plain.allocateNetBufferMdlAndData(), /DataSize 0/);
  const withData = new NetBufferPool({ poolTag: 'TNb2', dataSize: 256 });
  assert.throws(() => withData.allocateNetBuffer(null, 0, 0), /use NdisAllocateNetBufferMdlAndData/);
  const nb2 = withData.allocateNetBufferMdlAndData()!;
  assert.equal(nb2.dataLength, 256);
  assert.equal(nb2.mdlChain!.byteCount, 256);
  assert.throws(() => withData.free(), { code: 'ERR_NDIS_POOL_NOT_EMPTY' });
  assert.throws(() => plain.freeNetBuffer(nb2), { code: 'ERR_NDIS_WRONG_POOL' });
  freeNetBuffer(nb2);
  assert.throws(() => freeNetBuffer(nb2), { code: 'ERR_NDIS_DOUBLE_FREE' });
  freeNetBuffer(nb);
  withData.free();
  plain.free();
});

test('NdisFreeNetBufferList refuses a parent whose children are outstanding', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true });
  const nbl = pool.allocateNetBufferList()!;
  nbl.childRefCount = 1;
  assert.throws(() => pool.freeNetBufferList(nbl), /ChildRefCount/);
  nbl.childRefCount = 0;
  pool.freeNetBufferList(nbl);
});
