/**
 * NET_BUFFER_LIST and NET_BUFFER pools: NdisAllocateNetBufferListPool / NdisAllocateNetBufferPool
 * and the allocations they serve.
 *
 * A pool grows in chunks (each chunk one slab for OOB slots, one for context space, one for data)
 * and never shrinks; freed objects go back on a free list, so steady-state allocate/free allocates
 * nothing. Allocation failure returns null, as NDIS does, and is counted; a pool can be told to
 * fail allocations deterministically (low-resource simulation). Freeing into the wrong pool,
 * freeing twice, and freeing a pool with objects outstanding are typed errors.
 */
import { NdisError } from '../base/errors.js';
import { MAX_NET_BUFFER_LIST_INFO } from './info.js';
import { Mdl, MDL_ALLOCATED_BY_NDIS } from './mdl.js';
import { NetBuffer } from './net-buffer.js';
import { NBL_KIND, NetBufferList, NetBufferListContext } from './net-buffer-list.js';
import { MEMORY_ALLOCATION_ALIGNMENT, allocateNetBufferListContext, releaseContexts } from './context.js';
import { NDIS_STATUS } from '../base/status.js';

/** NET_BUFFER_LIST_POOL_PARAMETERS.ProtocolId values: NDIS_PROTOCOL_ID_*. */
export const NDIS_PROTOCOL_ID = {
  DEFAULT: 0x00,
  TCP_IP: 0x02,
  IPX: 0x06,
  NBF: 0x07,
} as const;

/** NET_BUFFER_LIST_POOL_FLAG_VERIFY: freed NBLs are not reused at once (use-after-free shows up). */
export const NET_BUFFER_LIST_POOL_FLAG_VERIFY = 0x00000001;

/** Models NET_BUFFER_LIST_POOL_PARAMETERS (plus optional limits of this model). */
export interface NetBufferListPoolParameters {
  /** ProtocolId: NDIS_PROTOCOL_ID_* (miniports, filters and IM drivers use DEFAULT). */
  protocolId?: number;
  /** fAllocateNetBuffer: each NBL comes with one preallocated NET_BUFFER. */
  fAllocateNetBuffer: boolean;
  /** ContextSize: preallocated NET_BUFFER_LIST_CONTEXT data per NBL (multiple of MEMORY_ALLOCATION_ALIGNMENT). */
  contextSize?: number;
  /** PoolTag: up to four characters naming the owner in reports. */
  poolTag?: string;
  /** DataSize: when non-zero (requires fAllocateNetBuffer), each NET_BUFFER comes with an MDL and this many bytes of data. */
  dataSize?: number;
  /** Flags: NET_BUFFER_LIST_POOL_FLAG_VERIFY. */
  flags?: number;
  /** Model limit: the most NBLs the pool will ever hold; allocations past it fail (running out of nonpaged pool). */
  maxCount?: number;
  /** Model tuning: NBLs built when the pool is created (default 64). */
  initialCount?: number;
}

/** Models NET_BUFFER_POOL_PARAMETERS (plus optional limits of this model). */
export interface NetBufferPoolParameters {
  /** PoolTag. */
  poolTag?: string;
  /** DataSize: when non-zero, NdisAllocateNetBufferMdlAndData gives NET_BUFFERs with an MDL and this much data. */
  dataSize?: number;
  /** Model limit on the number of NET_BUFFERs. */
  maxCount?: number;
  /** Model tuning: NET_BUFFERs built when the pool is created (default 64). */
  initialCount?: number;
}

/** A snapshot of a pool's counters. */
export interface PoolStatistics {
  poolTag: string;
  /** Objects the pool has built (free + outstanding). */
  capacity: number;
  /** Objects allocated and not yet freed. */
  outstanding: number;
  /** Highest `outstanding` seen. */
  peak: number;
  /** Successful allocations. */
  allocations: number;
  /** Allocations that returned null. */
  failedAllocations: number;
}

/** Decides whether allocation attempt number `attempt` (1-based) fails. */
export type AllocationFailurePolicy = (attempt: number) => boolean;

let nextSerial = 1;

function tagOf(tag: string | undefined): string {
  return tag === undefined || tag === '' ? 'none' : tag.slice(0, 4);
}

function checkAligned(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value % MEMORY_ALLOCATION_ALIGNMENT !== 0) {
    throw new NdisError(
      'ERR_NDIS_INVALID_PARAMETER',
      `${name} must be a non-negative multiple of MEMORY_ALLOCATION_ALIGNMENT (${MEMORY_ALLOCATION_ALIGNMENT}). Received ${value}.`,
    );
  }
}

/** Builds the free NET_BUFFER + MDL + data of a chunk. */
function buildNetBuffers(count: number, dataSize: number, pool: NetBufferPool | NetBufferListPool): NetBuffer[] {
  const out: NetBuffer[] = [];
  const slab = dataSize > 0 ? new Uint8Array(count * dataSize) : null;
  for (let i = 0; i < count; i++) {
    const nb = new NetBuffer();
    nb.ndisPoolHandle = pool;
    if (slab !== null) {
      const mdl = new Mdl();
      mdl.buffer = slab;
      mdl.byteOffset = i * dataSize;
      mdl.byteCount = dataSize;
      mdl.mdlFlags = MDL_ALLOCATED_BY_NDIS;
      nb.ownData = mdl;
    }
    out.push(nb);
  }
  return out;
}

/** Resets a NET_BUFFER taken from a pool: no chain, or its own MDL with all data as used space. */
function resetNetBuffer(nb: NetBuffer): void {
  nb.next = null;
  nb.dataPhysicalAddress = 0;
  nb.checksumBias = 0;
  const own = nb.ownData;
  if (own === null) {
    nb.mdlChain = null;
    nb.currentMdl = null;
    nb.dataLength = 0;
  } else {
    own.next = null;
    nb.mdlChain = own;
    nb.currentMdl = own;
    nb.dataLength = own.byteCount;
  }
  nb.dataOffset = 0;
  nb.currentMdlOffset = 0;
}

/** Points a NET_BUFFER at a caller's MDL chain with the given used data space. */
export function initNetBufferData(nb: NetBuffer, mdlChain: Mdl | null, dataOffset: number, dataLength: number): void {
  if (mdlChain === null && (dataOffset !== 0 || dataLength !== 0)) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', 'DataOffset and DataLength must be 0 when MdlChain is NULL');
  }
  let total = 0;
  for (let m = mdlChain; m !== null; m = m.next) total += m.byteCount;
  if (dataOffset < 0 || dataLength < 0 || dataOffset + dataLength > total) {
    throw new NdisError(
      'ERR_NDIS_DATA_RANGE',
      `DataOffset ${dataOffset} + DataLength ${dataLength} exceeds the ${total} bytes of the MDL chain`,
    );
  }
  nb.mdlChain = mdlChain;
  nb.dataOffset = dataOffset;
  nb.dataLength = dataLength;
  let off = dataOffset;
  let m = mdlChain;
  while (m !== null && off >= m.byteCount && m.next !== null) {
    off -= m.byteCount;
    m = m.next;
  }
  nb.currentMdl = m;
  nb.currentMdlOffset = m === null ? 0 : off;
}

/**
 * A pool of NET_BUFFER structures: models NdisAllocateNetBufferPool and the NET_BUFFER functions
 * that take its handle.
 */
export class NetBufferPool {
  readonly poolTag: string;
  readonly dataSize: number;
  private readonly maxCount: number;
  private readonly all: NetBuffer[] = [];
  private readonly freeList: NetBuffer[] = [];
  private freeCount = 0;
  private attempts = 0;
  private freed = false;
  outstanding = 0;
  peak = 0;
  allocations = 0;
  failedAllocations = 0;
  /** Low-resource simulation: when set, decides whether an allocation attempt fails. */
  failAllocation: AllocationFailurePolicy | null = null;

  /** Models NdisAllocateNetBufferPool(NdisHandle, Parameters). */
  constructor(params: NetBufferPoolParameters = {}) {
    this.poolTag = tagOf(params.poolTag);
    this.dataSize = params.dataSize ?? 0;
    if (!Number.isInteger(this.dataSize) || this.dataSize < 0) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NET_BUFFER_POOL_PARAMETERS.DataSize must be a non-negative integer. Received ${this.dataSize}.`);
    }
    this.maxCount = params.maxCount ?? Number.MAX_SAFE_INTEGER;
    this.grow(Math.min(params.initialCount ?? 64, this.maxCount));
  }

  /** Objects the pool has built. */
  get capacity(): number {
    return this.all.length;
  }

  private grow(n: number): void {
    if (n <= 0) return;
    for (const nb of buildNetBuffers(n, this.dataSize, this)) {
      nb.poolIndex = this.all.length;
      this.all.push(nb);
      this.freeList[this.freeCount++] = nb;
    }
  }

  private take(): NetBuffer | null {
    this.attempts++;
    if (this.freed) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NET_BUFFER pool '${this.poolTag}' has been freed`);
    if (this.failAllocation !== null && this.failAllocation(this.attempts)) {
      this.failedAllocations++;
      return null;
    }
    if (this.freeCount === 0) {
      const room = this.maxCount - this.all.length;
      if (room <= 0) {
        this.failedAllocations++;
        return null;
      }
      this.grow(Math.min(room, Math.max(64, this.all.length)));
    }
    const nb = this.freeList[--this.freeCount]!;
    nb.allocated = 1;
    this.allocations++;
    if (++this.outstanding > this.peak) this.peak = this.outstanding;
    return nb;
  }

  /**
   * Models NdisAllocateNetBuffer: a NET_BUFFER over the caller's MDL chain (may be null).
   * Not for pools with DataSize (use allocateNetBufferMdlAndData).
   */
  allocateNetBuffer(mdlChain: Mdl | null, dataOffset: number, dataLength: number): NetBuffer | null {
    if (this.dataSize !== 0) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisAllocateNetBuffer: pool '${this.poolTag}' has DataSize ${this.dataSize}; use NdisAllocateNetBufferMdlAndData`);
    }
    const nb = this.take();
    if (nb === null) return null;
    resetNetBuffer(nb);
    initNetBufferData(nb, mdlChain, dataOffset, dataLength);
    return nb;
  }

  /** Models NdisAllocateNetBufferMdlAndData: a NET_BUFFER with an MDL and DataSize bytes of data, all used space. */
  allocateNetBufferMdlAndData(): NetBuffer | null {
    if (this.dataSize === 0) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisAllocateNetBufferMdlAndData: pool '${this.poolTag}' was created with DataSize 0`);
    }
    const nb = this.take();
    if (nb === null) return null;
    resetNetBuffer(nb);
    return nb;
  }

  /** Models NdisFreeNetBuffer (into this pool). */
  freeNetBuffer(nb: NetBuffer): void {
    if (nb.ndisPoolHandle !== this) {
      throw new NdisError('ERR_NDIS_WRONG_POOL', `NdisFreeNetBuffer: the NET_BUFFER belongs to pool '${nb.ndisPoolHandle?.poolTag ?? 'none'}', not '${this.poolTag}'`);
    }
    if (nb.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', `NdisFreeNetBuffer: NET_BUFFER #${nb.poolIndex} of pool '${this.poolTag}' is already free`);
    nb.allocated = 0;
    nb.next = null;
    nb.mdlChain = null;
    nb.currentMdl = null;
    this.outstanding--;
    this.freeList[this.freeCount++] = nb;
  }

  /** NET_BUFFERs allocated and not freed (leak reports). */
  outstandingNetBuffers(): NetBuffer[] {
    return this.all.filter((nb) => nb.allocated === 1);
  }

  /** Counters of the pool. */
  statistics(): PoolStatistics {
    return {
      poolTag: this.poolTag,
      capacity: this.all.length,
      outstanding: this.outstanding,
      peak: this.peak,
      allocations: this.allocations,
      failedAllocations: this.failedAllocations,
    };
  }

  /** Models NdisFreeNetBufferPool: a pool with NET_BUFFERs outstanding cannot be freed (leak). */
  free(abandonOutstanding = false): void {
    if (this.outstanding > 0 && !abandonOutstanding) {
      throw new NdisError(
        'ERR_NDIS_POOL_NOT_EMPTY',
        `NdisFreeNetBufferPool: pool '${this.poolTag}' still has ${this.outstanding} NET_BUFFER(s) outstanding (leaked): ${this.outstandingNetBuffers()
          .slice(0, 8)
          .map((nb) => `#${nb.poolIndex}`)
          .join(', ')}`,
      );
    }
    this.freed = true;
  }

  /** True once {@link free} has succeeded. */
  get isFreed(): boolean {
    return this.freed;
  }
}

/** Models NdisFreeNetBuffer: returns a NET_BUFFER to the pool it came from. */
export function freeNetBuffer(nb: NetBuffer): void {
  const pool = nb.ndisPoolHandle;
  if (!(pool instanceof NetBufferPool)) {
    throw new NdisError('ERR_NDIS_WRONG_POOL', 'NdisFreeNetBuffer: the NET_BUFFER did not come from a NET_BUFFER pool (a preallocated NET_BUFFER is freed with its NET_BUFFER_LIST)');
  }
  pool.freeNetBuffer(nb);
}

/**
 * A pool of NET_BUFFER_LIST structures: models NdisAllocateNetBufferListPool and the NBL
 * functions that take its handle.
 */
export class NetBufferListPool {
  readonly poolTag: string;
  readonly protocolId: number;
  readonly fAllocateNetBuffer: boolean;
  readonly contextSize: number;
  readonly dataSize: number;
  readonly poolFlags: number;
  private readonly maxCount: number;
  private readonly all: NetBufferList[] = [];
  private readonly freeList: NetBufferList[] = [];
  private freeHead = 0;
  private freeCount = 0;
  private attempts = 0;
  private freed = false;
  outstanding = 0;
  peak = 0;
  allocations = 0;
  failedAllocations = 0;
  /** Low-resource simulation: when set, decides whether an allocation attempt fails. */
  failAllocation: AllocationFailurePolicy | null = null;
  /** Id of the driver module that created the pool; new NBLs start owned by it (runtime accounting). */
  ownerId = 0;

  /** Models NdisAllocateNetBufferListPool(NdisHandle, Parameters). */
  constructor(params: NetBufferListPoolParameters) {
    this.poolTag = tagOf(params.poolTag);
    this.protocolId = params.protocolId ?? NDIS_PROTOCOL_ID.DEFAULT;
    this.fAllocateNetBuffer = params.fAllocateNetBuffer;
    this.contextSize = params.contextSize ?? 0;
    this.dataSize = params.dataSize ?? 0;
    this.poolFlags = params.flags ?? 0;
    checkAligned('NET_BUFFER_LIST_POOL_PARAMETERS.ContextSize', this.contextSize);
    if (!Number.isInteger(this.dataSize) || this.dataSize < 0) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NET_BUFFER_LIST_POOL_PARAMETERS.DataSize must be a non-negative integer. Received ${this.dataSize}.`);
    }
    if (this.dataSize > 0 && !this.fAllocateNetBuffer) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', 'NET_BUFFER_LIST_POOL_PARAMETERS: DataSize is non-zero, so fAllocateNetBuffer must be TRUE');
    }
    this.maxCount = params.maxCount ?? Number.MAX_SAFE_INTEGER;
    this.grow(Math.min(params.initialCount ?? 64, this.maxCount));
  }

  /** Objects the pool has built. */
  get capacity(): number {
    return this.all.length;
  }

  private grow(n: number): void {
    if (n <= 0) return;
    const infos = new Float64Array(n * MAX_NET_BUFFER_LIST_INFO);
    const ctx = this.contextSize > 0 ? new Uint8Array(n * this.contextSize) : null;
    const nbs = this.fAllocateNetBuffer ? buildNetBuffers(n, this.dataSize, this) : null;
    // Growth happens only with the free list empty, so the FIFO ring of VERIFY pools restarts at 0.
    this.freeHead = 0;
    for (let i = 0; i < n; i++) {
      const nbl = new NetBufferList(infos.subarray(i * MAX_NET_BUFFER_LIST_INFO, (i + 1) * MAX_NET_BUFFER_LIST_INFO));
      nbl.ndisPoolHandle = this;
      nbl.poolIndex = this.all.length;
      if (nbs !== null) nbl.preallocatedNetBuffer = nbs[i]!;
      if (ctx !== null) nbl.preallocatedContext = new NetBufferListContext(ctx.subarray(i * this.contextSize, (i + 1) * this.contextSize), true);
      this.all.push(nbl);
      this.freeList[this.freeCount++] = nbl;
    }
  }

  private take(): NetBufferList | null {
    this.attempts++;
    if (this.freed) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NET_BUFFER_LIST pool '${this.poolTag}' has been freed`);
    if (this.failAllocation !== null && this.failAllocation(this.attempts)) {
      this.failedAllocations++;
      return null;
    }
    if (this.freeCount === 0) {
      const room = this.maxCount - this.all.length;
      if (room <= 0) {
        this.failedAllocations++;
        return null;
      }
      this.grow(Math.min(room, Math.max(64, this.all.length)));
    }
    let nbl: NetBufferList;
    if ((this.poolFlags & NET_BUFFER_LIST_POOL_FLAG_VERIFY) !== 0) {
      // FIFO ring over all NBLs: the NBL freed longest ago is reused first.
      nbl = this.freeList[this.freeHead]!;
      this.freeHead = (this.freeHead + 1) % this.all.length;
      this.freeCount--;
    } else {
      nbl = this.freeList[--this.freeCount]!;
    }
    nbl.allocated = 1;
    nbl.next = null;
    nbl.parentNetBufferList = null;
    nbl.sourceHandle = null;
    nbl.scratch = null;
    nbl.nblFlags = 0;
    nbl.flags = 0;
    nbl.status = 0;
    nbl.childRefCount = 0;
    nbl.kind = NBL_KIND.Pool;
    nbl.derivedFlags = 0;
    nbl.owner = this.ownerId;
    nbl.serial = nextSerial++;
    nbl.handoffAt = 0;
    nbl.handoffPath = 0;
    nbl.netBufferListInfo.fill(0);
    const c = nbl.preallocatedContext;
    if (c !== null) c.offset = c.size;
    nbl.context = c;
    this.allocations++;
    if (++this.outstanding > this.peak) this.peak = this.outstanding;
    return nbl;
  }

  private claimContext(nbl: NetBufferList, contextSize: number, contextBackFill: number): boolean {
    if (contextSize === 0 && contextBackFill === 0) return true;
    checkAligned('ContextSize', contextSize);
    checkAligned('ContextBackFill', contextBackFill);
    if (allocateNetBufferListContext(nbl, contextSize, contextBackFill) === NDIS_STATUS.SUCCESS) return true;
    this.release(nbl);
    this.failedAllocations++;
    this.allocations--;
    return false;
  }

  /**
   * Models NdisAllocateNetBufferList(PoolHandle, ContextSize, ContextBackFill). From a pool created
   * with fAllocateNetBuffer, the NBL comes with its NET_BUFFER (and, with DataSize, an MDL and data,
   * all of it used data space).
   * @cost O(1); no allocation in steady state.
   */
  allocateNetBufferList(contextSize = 0, contextBackFill = 0): NetBufferList | null {
    const nbl = this.take();
    if (nbl === null) return null;
    const nb = nbl.preallocatedNetBuffer;
    if (nb !== null) {
      resetNetBuffer(nb);
      nb.allocated = 1;
    }
    nbl.firstNetBuffer = nb;
    if (!this.claimContext(nbl, contextSize, contextBackFill)) return null;
    return nbl;
  }

  /**
   * Models NdisAllocateNetBufferAndNetBufferList(PoolHandle, ContextSize, ContextBackFill,
   * MdlChain, DataOffset, DataLength): an NBL whose preallocated NET_BUFFER describes the caller's
   * MDL chain. The pool must have fAllocateNetBuffer TRUE and DataSize 0.
   * @cost O(1) plus the MDL walk to the data start; no allocation in steady state.
   */
  allocateNetBufferAndNetBufferList(
    contextSize: number,
    contextBackFill: number,
    mdlChain: Mdl | null,
    dataOffset: number,
    dataLength: number,
  ): NetBufferList | null {
    if (!this.fAllocateNetBuffer || this.dataSize !== 0) {
      throw new NdisError(
        'ERR_NDIS_INVALID_PARAMETER',
        `NdisAllocateNetBufferAndNetBufferList needs a pool with fAllocateNetBuffer TRUE and DataSize 0; pool '${this.poolTag}' has fAllocateNetBuffer ${this.fAllocateNetBuffer ? 'TRUE' : 'FALSE'}, DataSize ${this.dataSize}`,
      );
    }
    const nbl = this.take();
    if (nbl === null) return null;
    const nb = nbl.preallocatedNetBuffer!;
    resetNetBuffer(nb);
    try {
      initNetBufferData(nb, mdlChain, dataOffset, dataLength);
    } catch (e) {
      this.release(nbl);
      this.allocations--;
      throw e;
    }
    nb.allocated = 1;
    nbl.firstNetBuffer = nb;
    if (!this.claimContext(nbl, contextSize, contextBackFill)) return null;
    return nbl;
  }

  private release(nbl: NetBufferList): void {
    releaseContexts(nbl);
    const nb = nbl.preallocatedNetBuffer;
    if (nb !== null) {
      nb.allocated = 0;
      nb.next = null;
      nb.mdlChain = null;
      nb.currentMdl = null;
    }
    nbl.allocated = 0;
    nbl.serial = 0;
    nbl.next = null;
    nbl.firstNetBuffer = null;
    nbl.parentNetBufferList = null;
    this.outstanding--;
    if ((this.poolFlags & NET_BUFFER_LIST_POOL_FLAG_VERIFY) !== 0) this.freeList[(this.freeHead + this.freeCount++) % this.all.length] = nbl;
    else this.freeList[this.freeCount++] = nbl;
  }

  /**
   * Models NdisFreeNetBufferList into this pool. The NBL must come from this pool, be allocated, be
   * a plain pool NBL (derived NBLs have their own free functions), and have no outstanding children.
   * @cost O(1); no allocation.
   */
  freeNetBufferList(nbl: NetBufferList): void {
    if (nbl.ndisPoolHandle !== this) {
      throw new NdisError(
        'ERR_NDIS_WRONG_POOL',
        `NdisFreeNetBufferList: NBL #${nbl.serial} belongs to pool '${nbl.ndisPoolHandle?.poolTag ?? 'none'}', not '${this.poolTag}'`,
      );
    }
    if (nbl.allocated === 0) {
      throw new NdisError('ERR_NDIS_DOUBLE_FREE', `NdisFreeNetBufferList: NBL (pool '${this.poolTag}', slot ${nbl.poolIndex}) is already free`);
    }
    if (nbl.kind !== NBL_KIND.Pool) {
      const fn = ['', 'NdisFreeCloneNetBufferList', 'NdisFreeFragmentNetBufferList', 'NdisFreeReassembledNetBufferList'][nbl.kind];
      throw new NdisError('ERR_NDIS_DERIVED_MISMATCH', `NdisFreeNetBufferList: NBL #${nbl.serial} is a derived NBL; free it with ${fn}`);
    }
    if (nbl.childRefCount !== 0) {
      throw new NdisError(
        'ERR_NDIS_ILLEGAL_STATE',
        `NdisFreeNetBufferList: NBL #${nbl.serial} still has ${nbl.childRefCount} derived NBL(s) (ChildRefCount) outstanding`,
      );
    }
    this.release(nbl);
  }

  /** Releases a derived NBL's structure into the pool (used by the clone/fragment/reassembly frees). */
  releaseDerived(nbl: NetBufferList): void {
    if (nbl.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', `derived NBL (pool '${this.poolTag}', slot ${nbl.poolIndex}) is already free`);
    this.release(nbl);
  }

  /** NBLs allocated and not freed (leak reports). */
  outstandingNetBufferLists(): NetBufferList[] {
    return this.all.filter((nbl) => nbl.allocated === 1);
  }

  /** Counters of the pool. */
  statistics(): PoolStatistics {
    return {
      poolTag: this.poolTag,
      capacity: this.all.length,
      outstanding: this.outstanding,
      peak: this.peak,
      allocations: this.allocations,
      failedAllocations: this.failedAllocations,
    };
  }

  /** Models NdisFreeNetBufferListPool: a pool with NBLs outstanding cannot be freed (they leaked). */
  free(abandonOutstanding = false): void {
    if (this.outstanding > 0 && !abandonOutstanding) {
      throw new NdisError(
        'ERR_NDIS_POOL_NOT_EMPTY',
        `NdisFreeNetBufferListPool: pool '${this.poolTag}' still has ${this.outstanding} NET_BUFFER_LIST(s) outstanding (leaked): ${this.outstandingNetBufferLists()
          .slice(0, 8)
          .map((n) => `#${n.serial}`)
          .join(', ')}${this.outstanding > 8 ? ', ...' : ''}`,
      );
    }
    this.freed = true;
  }

  /** True once {@link free} has succeeded. */
  get isFreed(): boolean {
    return this.freed;
  }
}

/** Models NdisFreeNetBufferList: returns an NBL to the pool it came from. */
export function freeNetBufferList(nbl: NetBufferList): void {
  const pool = nbl.ndisPoolHandle;
  if (!(pool instanceof NetBufferListPool)) {
    throw new NdisError('ERR_NDIS_WRONG_POOL', 'NdisFreeNetBufferList: the NBL has no pool');
  }
  pool.freeNetBufferList(nbl);
}
