/**
 * NET_BUFFER_LIST_CONTEXT space: NdisAllocateNetBufferListContext / NdisFreeNetBufferListContext.
 *
 * Each driver that handles an NBL may claim context space on top of what the drivers before it
 * claimed, and must free it before handing the NBL back. Space is taken from the current block when
 * it has room; otherwise a new block (ContextSize + ContextBackFill) is pushed. Blocks are recycled
 * through size-class free lists, so steady-state use allocates nothing.
 */
import { NDIS_STATUS, type NdisStatus } from '../base/status.js';
import { NdisError } from '../base/errors.js';
import { NetBufferListContext, type NetBufferList } from './net-buffer-list.js';

/** MEMORY_ALLOCATION_ALIGNMENT on x64: context sizes and backfills are multiples of it. */
export const MEMORY_ALLOCATION_ALIGNMENT = 16;

const CLASSES = [32, 64, 128, 256, 512, 1024, 4096] as const;

/** Recycles context blocks that NDIS allocates when an NBL's preallocated context is too small. */
class ContextBlockAllocator {
  private readonly lists: NetBufferListContext[][] = CLASSES.map(() => []);
  outstanding = 0;
  failAllocation: ((attempt: number) => boolean) | null = null;
  private attempts = 0;
  failures = 0;

  allocate(size: number): NetBufferListContext | null {
    this.attempts++;
    if (this.failAllocation !== null && this.failAllocation(this.attempts)) {
      this.failures++;
      return null;
    }
    let cls = 0;
    while (cls < CLASSES.length && CLASSES[cls]! < size) cls++;
    let block: NetBufferListContext;
    if (cls === CLASSES.length) block = new NetBufferListContext(new Uint8Array(size), false);
    else block = this.lists[cls]!.pop() ?? new NetBufferListContext(new Uint8Array(CLASSES[cls]!), false);
    block.next = null;
    block.offset = block.size;
    this.outstanding++;
    return block;
  }

  release(block: NetBufferListContext): void {
    this.outstanding--;
    block.next = null;
    const cls = CLASSES.indexOf(block.size as (typeof CLASSES)[number]);
    if (cls >= 0) this.lists[cls]!.push(block);
  }
}

/** The allocator of extra context blocks (exposed for accounting and low-resource simulation). */
export const contextBlockAllocator = new ContextBlockAllocator();

/**
 * Models NdisAllocateNetBufferListContext: claims `contextSize` bytes of context space.
 * Returns NDIS_STATUS_SUCCESS or NDIS_STATUS_RESOURCES.
 */
export function allocateNetBufferListContext(
  nbl: NetBufferList,
  contextSize: number,
  contextBackFill: number,
  _poolTag?: string,
): NdisStatus {
  if (contextSize < 0 || contextBackFill < 0 || contextSize % 8 !== 0 || contextBackFill % 8 !== 0) {
    throw new NdisError(
      'ERR_NDIS_INVALID_PARAMETER',
      `NdisAllocateNetBufferListContext: ContextSize (${contextSize}) and ContextBackFill (${contextBackFill}) must be non-negative multiples of sizeof(void*) (8)`,
    );
  }
  const ctx = nbl.context;
  if (ctx !== null && ctx.offset >= contextSize) {
    ctx.offset -= contextSize;
    return NDIS_STATUS.SUCCESS;
  }
  const block = contextBlockAllocator.allocate(contextSize + contextBackFill);
  if (block === null) return NDIS_STATUS.RESOURCES;
  block.offset = block.size - contextSize;
  block.next = ctx;
  nbl.context = block;
  return NDIS_STATUS.SUCCESS;
}

/**
 * Models NdisFreeNetBufferListContext: releases `contextSize` bytes claimed by the matching
 * allocate call; a block NDIS allocated is freed when it becomes empty.
 */
export function freeNetBufferListContext(nbl: NetBufferList, contextSize: number): void {
  const ctx = nbl.context;
  if (ctx === null || ctx.offset + contextSize > ctx.size) {
    throw new NdisError(
      'ERR_NDIS_CONTEXT_UNDERFLOW',
      `NdisFreeNetBufferListContext: freeing ${contextSize} bytes, but only ${ctx === null ? 0 : ctx.size - ctx.offset} bytes of context are allocated in the current block`,
    );
  }
  ctx.offset += contextSize;
  if (ctx.offset === ctx.size && !ctx.preallocated) {
    nbl.context = ctx.next;
    contextBlockAllocator.release(ctx);
  }
}

/** NET_BUFFER_LIST_CONTEXT_DATA_START: the current context block; its data is `data[offset ..]`. */
export function NET_BUFFER_LIST_CONTEXT_DATA_START(nbl: NetBufferList): NetBufferListContext | null {
  return nbl.context;
}

/** NET_BUFFER_LIST_CONTEXT_DATA_SIZE: bytes of used context data in the current block. */
export function NET_BUFFER_LIST_CONTEXT_DATA_SIZE(nbl: NetBufferList): number {
  const c = nbl.context;
  return c === null ? 0 : c.size - c.offset;
}

/** Releases every context block NDIS allocated on top of the preallocated one (at NBL free). */
export function releaseContexts(nbl: NetBufferList): void {
  let c = nbl.context;
  while (c !== null && !c.preallocated) {
    const next = c.next;
    contextBlockAllocator.release(c);
    c = next;
  }
  nbl.context = c;
  if (c !== null) c.offset = c.size;
}
