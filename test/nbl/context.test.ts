import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NET_BUFFER_LIST_CONTEXT_DATA_SIZE,
  NET_BUFFER_LIST_CONTEXT_DATA_START,
  NetBufferListPool,
  allocateNetBufferListContext,
  contextBlockAllocator,
  freeNetBufferListContext,
} from '../../src/nbl/index.js';
import { NDIS_STATUS } from '../../src/base/index.js';

test('contexts nest: preallocated space first, then NDIS-allocated blocks, freed in reverse', () => {
  const before = contextBlockAllocator.outstanding;
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false, contextSize: 32 });
  const nbl = pool.allocateNetBufferList(16, 0)!;
  assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 16, 'the allocation claimed 16 bytes of the 32 preallocated');
  const base = NET_BUFFER_LIST_CONTEXT_DATA_START(nbl)!;
  assert.equal(base.preallocated, true);
  assert.equal(allocateNetBufferListContext(nbl, 16, 0), NDIS_STATUS.SUCCESS);
  assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), base, 'still fits in the preallocated block');
  assert.equal(base.offset, 0);
  // A filter writes its state, then another claims more than is left: a new block is pushed.
  base.data[base.offset] = 0x5a;
  assert.equal(allocateNetBufferListContext(nbl, 48, 16), NDIS_STATUS.SUCCESS);
  const top = NET_BUFFER_LIST_CONTEXT_DATA_START(nbl)!;
  assert.notEqual(top, base);
  assert.equal(top.next, base);
  assert.equal(top.size - top.offset, 48);
  assert.ok(top.offset >= 16, 'ContextBackFill left in front');
  assert.equal(contextBlockAllocator.outstanding, before + 1);
  freeNetBufferListContext(nbl, 48);
  assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), base, 'the NDIS block was freed when it emptied');
  assert.equal(contextBlockAllocator.outstanding, before);
  assert.equal(base.data[base.offset], 0x5a, 'the inner context is untouched');
  freeNetBufferListContext(nbl, 16);
  freeNetBufferListContext(nbl, 16);
  assert.throws(() => freeNetBufferListContext(nbl, 16), { code: 'ERR_NDIS_CONTEXT_UNDERFLOW' });
  pool.freeNetBufferList(nbl);
});

test('an NBL without preallocated context gets a block on demand; blocks are released at free', () => {
  const before = contextBlockAllocator.outstanding;
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true });
  const nbl = pool.allocateNetBufferList()!;
  assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_START(nbl), null);
  assert.equal(allocateNetBufferListContext(nbl, 24, 8), NDIS_STATUS.SUCCESS);
  assert.equal(NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl), 24);
  pool.freeNetBufferList(nbl); // the driver forgot to free its context: NDIS reclaims the block
  assert.equal(contextBlockAllocator.outstanding, before);
  assert.throws(() => allocateNetBufferListContext(nbl, 12, 0), /multiples of sizeof\(void\*\)/);
});

test('context allocation failure returns NDIS_STATUS_RESOURCES', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false });
  const nbl = pool.allocateNetBufferList()!;
  contextBlockAllocator.failAllocation = () => true;
  try {
    assert.equal(allocateNetBufferListContext(nbl, 16, 0), NDIS_STATUS.RESOURCES);
    assert.equal(pool.allocateNetBufferList(16, 0), null, 'an NBL whose context cannot be claimed is not handed out');
    assert.equal(pool.outstanding, 1);
  } finally {
    contextBlockAllocator.failAllocation = null;
  }
  pool.freeNetBufferList(nbl);
});
