import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDIS_CLONE_FLAGS,
  NetBufferListPool,
  NetBufferPool,
  allocateCloneNetBufferList,
  allocateFragmentNetBufferList,
  allocateReassembledNetBufferList,
  countNetBuffers,
  defaultDataMdlAllocator,
  defaultMdlAllocator,
  freeCloneNetBufferList,
  freeFragmentNetBufferList,
  freeReassembledNetBufferList,
  netBufferData,
  type NetBufferList,
} from '../../src/nbl/index.js';
import { TCP_SYN_IPV4 } from '../fixtures/frames.js';
import { mdlChainOver, nblOver } from './helpers.js';

const pool = new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'TDer' });
const clonePool = new NetBufferListPool({ fAllocateNetBuffer: false, poolTag: 'TCln' });
const nbPool = new NetBufferPool({ poolTag: 'TCnb' });

function nbsOf(nbl: NetBufferList): number[][] {
  const out: number[][] = [];
  for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) out.push([...netBufferData(nb)]);
  return out;
}

test('a clone shares the data and counts as a child of the original', () => {
  const mdlsBefore = defaultMdlAllocator.outstanding;
  const orig = nblOver(pool, TCP_SYN_IPV4, [14, 20], 8);
  const mdlsOrig = defaultMdlAllocator.outstanding;
  const clone = allocateCloneNetBufferList(orig, clonePool, nbPool, 0)!;
  assert.equal(clone.parentNetBufferList, orig);
  assert.equal(orig.childRefCount, 1);
  const cnb = clone.firstNetBuffer!;
  assert.equal(cnb.dataOffset, 0, 'cloned from the start of the used data space');
  assert.notEqual(cnb.mdlChain, orig.firstNetBuffer!.mdlChain, 'new MDLs...');
  assert.equal(cnb.mdlChain!.buffer, orig.firstNetBuffer!.mdlChain!.buffer, '...over the same memory');
  assert.deepEqual(nbsOf(clone), [[...TCP_SYN_IPV4]]);
  // A write through the original is visible in the clone: no copy was made.
  orig.firstNetBuffer!.currentMdl!.buffer[orig.firstNetBuffer!.currentMdl!.byteOffset + orig.firstNetBuffer!.currentMdlOffset] = 0xaa;
  assert.equal(netBufferData(cnb)[0], 0xaa);
  assert.throws(() => pool.freeNetBufferList(orig), /ChildRefCount/, 'the parent cannot go while the clone lives');
  assert.throws(() => clonePool.freeNetBufferList(clone), { code: 'ERR_NDIS_DERIVED_MISMATCH' });
  freeCloneNetBufferList(clone, 0);
  assert.equal(orig.childRefCount, 0);
  assert.equal(defaultMdlAllocator.outstanding, mdlsOrig, 'the clone MDLs were freed');
  pool.freeNetBufferList(orig);
  assert.ok(defaultMdlAllocator.outstanding >= mdlsBefore);
});

test('NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS shares the MDL chain; free flags must match', () => {
  const orig = nblOver(pool, TCP_SYN_IPV4, [30]);
  const clone = allocateCloneNetBufferList(orig, null, null, NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS)!;
  assert.equal(clone.firstNetBuffer!.mdlChain, orig.firstNetBuffer!.mdlChain);
  assert.throws(() => freeCloneNetBufferList(clone, 0), { code: 'ERR_NDIS_DERIVED_MISMATCH' });
  freeCloneNetBufferList(clone, NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS);
  assert.deepEqual(nbsOf(orig), [[...TCP_SYN_IPV4]], 'the original chain is intact');
  assert.throws(() => freeCloneNetBufferList(clone, NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS), { code: 'ERR_NDIS_DOUBLE_FREE' });
  pool.freeNetBufferList(orig);
});

test('a clone of a multi-NET_BUFFER send NBL clones every NET_BUFFER', () => {
  const orig = pool.allocateNetBufferList()!;
  const extra = nbPool.allocateNetBuffer(mdlChainOver(TCP_SYN_IPV4.slice(), [5]), 14, 48)!;
  const own = new NetBufferPool();
  orig.firstNetBuffer = own.allocateNetBuffer(mdlChainOver(TCP_SYN_IPV4.slice(), []), 0, 62)!;
  orig.firstNetBuffer.next = extra;
  const clone = allocateCloneNetBufferList(orig, null, null, 0)!;
  assert.equal(countNetBuffers(clone), 2);
  assert.deepEqual(nbsOf(clone), [[...TCP_SYN_IPV4], [...TCP_SYN_IPV4.subarray(14)]]);
  freeCloneNetBufferList(clone, 0);
  own.freeNetBuffer(orig.firstNetBuffer);
  nbPool.freeNetBuffer(extra);
  orig.firstNetBuffer = null;
  pool.freeNetBufferList(orig);
});

test('fragments at a maximum size, with header space in front of each', () => {
  const dataBefore = defaultDataMdlAllocator.outstanding;
  const orig = nblOver(pool, TCP_SYN_IPV4, [17, 9]); // 62 bytes in MDLs of 17, 9, 36
  const mdlBefore = defaultMdlAllocator.outstanding;
  // Skip the Ethernet + IPv4 headers (34 bytes), cut the remaining 28 bytes into 12-byte fragments,
  // and ask for 34 bytes of used data space in front of each for new headers.
  const frag = allocateFragmentNetBufferList(orig, null, null, 34, 12, 34, 16)!;
  assert.equal(frag.parentNetBufferList, orig);
  assert.equal(orig.childRefCount, 1);
  const parts = nbsOf(frag);
  assert.deepEqual(parts.map((p) => p.length), [46, 46, 38]);
  const payload = TCP_SYN_IPV4.subarray(34);
  assert.deepEqual(parts.map((p) => p.slice(34)), [[...payload.subarray(0, 12)], [...payload.subarray(12, 24)], [...payload.subarray(24)]]);
  assert.ok(defaultDataMdlAllocator.outstanding > dataBefore, 'header space was allocated');
  freeFragmentNetBufferList(frag, 34);
  assert.equal(orig.childRefCount, 0);
  assert.equal(defaultDataMdlAllocator.outstanding, dataBefore, 'header space returned');
  assert.equal(defaultMdlAllocator.outstanding, mdlBefore, 'the mapping MDLs were all freed');
  pool.freeNetBufferList(orig);
});

test('reassembles several source NET_BUFFERs into one, skipping StartOffset of each', () => {
  // A "fragment NBL" of three NET_BUFFERs, each a 4-byte header followed by a piece of the frame.
  const pieces = [TCP_SYN_IPV4.subarray(0, 20), TCP_SYN_IPV4.subarray(20, 45), TCP_SYN_IPV4.subarray(45)];
  const src = pool.allocateNetBufferList()!;
  const own = new NetBufferPool();
  src.firstNetBuffer = null;
  let tail = null;
  for (const [i, piece] of pieces.entries()) {
    const mem = new Uint8Array(4 + piece.length);
    mem.set([0xf0, 0xf1, 0xf2, i], 0);
    mem.set(piece, 4);
    const nb = own.allocateNetBuffer(mdlChainOver(mem, i === 1 ? [9] : []), 0, mem.length)!;
    if (tail === null) src.firstNetBuffer = nb;
    else tail.next = nb;
    tail = nb;
  }
  const whole = allocateReassembledNetBufferList(src, null, 4, 14, 0)!;
  assert.equal(countNetBuffers(whole), 1);
  assert.equal(src.childRefCount, 1);
  const data = netBufferData(whole.firstNetBuffer!);
  assert.equal(data.length, 14 + TCP_SYN_IPV4.length);
  assert.deepEqual([...data.subarray(14)], [...TCP_SYN_IPV4]);
  freeReassembledNetBufferList(whole, 14);
  assert.equal(src.childRefCount, 0);
  for (let nb = src.firstNetBuffer, next; nb !== null; nb = next) {
    next = nb.next;
    own.freeNetBuffer(nb);
  }
  src.firstNetBuffer = null;
  pool.freeNetBufferList(src);
  own.free();
});

test('derived allocation failure returns NULL and leaks nothing', () => {
  const orig = nblOver(pool, TCP_SYN_IPV4, []);
  const failing = new NetBufferPool({ maxCount: 1, initialCount: 1 });
  // Fragments need 6 NET_BUFFERs; the pool gives one (the NBL has none preallocated).
  const frag = allocateFragmentNetBufferList(orig, clonePool, failing, 0, 10, 0, 0);
  assert.equal(frag, null);
  assert.equal(orig.childRefCount, 0);
  assert.equal(failing.outstanding, 0);
  assert.equal(clonePool.outstanding, 0);
  pool.freeNetBufferList(orig);
});
