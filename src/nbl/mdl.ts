/**
 * MDL: a memory descriptor list entry. In Windows an MDL describes a virtually contiguous buffer
 * (its pages); here it describes a byte range of a preallocated slab: `buffer[byteOffset ..
 * byteOffset + byteCount)`, with `next` linking MDLs into a chain. No MDL owns a private
 * ArrayBuffer: MDLs come from allocators that carve them out of large slabs.
 */
import { NdisError } from '../base/errors.js';

/** MDL flag: the MDL and its memory were allocated by NDIS (data space for a retreat, or pool data). */
export const MDL_ALLOCATED_BY_NDIS = 0x0001;
/** MDL flag: allocated by a retreat operation; an advance with FreeMdl releases it. */
export const MDL_RETREAT_ALLOCATED = 0x0002;
/** MDL flag: the MDL describes memory of another MDL (a clone/fragment/reassembly mapping). */
export const MDL_PARTIAL = 0x0004;

const EMPTY = new Uint8Array(0);

/** Models MDL: `Next`, the mapped bytes (`MmGetSystemAddressForMdlSafe`) and `ByteCount`. */
export class Mdl {
  /** MDL.Next: the next MDL of the chain, or null. */
  next: Mdl | null = null;
  /** The slab the MDL maps. This MDL's bytes are `buffer[byteOffset .. byteOffset + byteCount)`. */
  buffer: Uint8Array = EMPTY;
  /** Start of this MDL's bytes inside `buffer` (MmGetMdlByteOffset relative to the slab). */
  byteOffset = 0;
  /** MmGetMdlByteCount: number of bytes the MDL describes. */
  byteCount = 0;
  /** MDL_* flags of this model (who allocated it). */
  mdlFlags = 0;
  /** The allocator that frees it, or null for a caller-owned MDL. */
  allocator: MdlAllocator | null = null;
  /** Allocation state: 1 while allocated from `allocator`, 0 while on its free list. */
  allocated = 0;
  /** Size class in the {@link DataMdlAllocator} that owns the memory, or -1. */
  sizeClass = -1;
}

/** NdisQueryMdl: the mapped bytes and length, as (buffer, offset, length) of the MDL. */
export function ndisQueryMdl(mdl: Mdl): { buffer: Uint8Array; offset: number; length: number } {
  return { buffer: mdl.buffer, offset: mdl.byteOffset, length: mdl.byteCount };
}

/** NDIS_MDL_LINKAGE / NDIS_MDL_TO_NEXT_MDL... : the next MDL of a chain. */
export function NDIS_MDL_LINKAGE(mdl: Mdl): Mdl | null {
  return mdl.next;
}

/** MmGetMdlByteCount. */
export function MmGetMdlByteCount(mdl: Mdl): number {
  return mdl.byteCount;
}

/**
 * Allocates Mdl objects that describe caller memory (NdisAllocateMdl / NdisFreeMdl). Mdl objects
 * are recycled through a free list, so steady-state use allocates nothing.
 */
export class MdlAllocator {
  private readonly freeList: Mdl[] = [];
  /** MDLs currently allocated. */
  outstanding = 0;
  /** Total successful allocations. */
  allocations = 0;

  /**
   * Models NdisAllocateMdl: an MDL describing `length` bytes of `buffer` at `offset`.
   * Throws on a range outside `buffer` (a caller bug, not a resource condition).
   */
  allocate(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Mdl {
    if (offset < 0 || length < 0 || offset + length > buffer.length) {
      throw new NdisError(
        'ERR_NDIS_INVALID_PARAMETER',
        `NdisAllocateMdl: range [${offset}, ${offset + length}) is outside the ${buffer.length}-byte buffer`,
      );
    }
    const mdl = this.freeList.pop() ?? new Mdl();
    mdl.next = null;
    mdl.buffer = buffer;
    mdl.byteOffset = offset;
    mdl.byteCount = length;
    mdl.mdlFlags = 0;
    mdl.allocator = this;
    mdl.allocated = 1;
    this.outstanding++;
    this.allocations++;
    return mdl;
  }

  /** Models NdisFreeMdl. Freeing twice, or an MDL of another allocator, is a typed error. */
  free(mdl: Mdl): void {
    if (mdl.allocator !== this) {
      throw new NdisError('ERR_NDIS_WRONG_POOL', 'NdisFreeMdl: the MDL was not allocated by this allocator');
    }
    if (mdl.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', 'NdisFreeMdl: the MDL is already free');
    mdl.allocated = 0;
    mdl.next = null;
    mdl.buffer = EMPTY;
    this.outstanding--;
    this.freeList.push(mdl);
  }
}

/** The allocator behind {@link ndisAllocateMdl} / {@link ndisFreeMdl}. */
export const defaultMdlAllocator = new MdlAllocator();

/** Models NdisAllocateMdl(NdisHandle, VirtualAddress, Length). */
export function ndisAllocateMdl(buffer: Uint8Array, offset = 0, length = buffer.length - offset): Mdl {
  return defaultMdlAllocator.allocate(buffer, offset, length);
}

/** Models NdisFreeMdl. */
export function ndisFreeMdl(mdl: Mdl): void {
  const a = mdl.allocator;
  if (a === null) throw new NdisError('ERR_NDIS_WRONG_POOL', 'NdisFreeMdl: the MDL has no allocator (caller-owned)');
  a.free(mdl);
}

/**
 * Describes a copy of `bytes` with an MDL chain cut at the offsets `splitAt` (each MDL one piece,
 * from NdisAllocateMdl), after `backfill` unused bytes in the first MDL: how a NIC's DMA or a
 * header-data split lays a frame out. Returns the chain and the data offset to give the NET_BUFFER.
 * Not a per-packet path: it allocates the memory.
 */
export function mdlChainFromBytes(bytes: Uint8Array, splitAt: readonly number[] = [], backfill = 0): { chain: Mdl; offset: number } {
  const mem = new Uint8Array(backfill + bytes.length);
  mem.set(bytes, backfill);
  const cuts = [...splitAt].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  let head: Mdl | null = null;
  let tail: Mdl | null = null;
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    const from = start === 0 ? 0 : backfill + start;
    const m = ndisAllocateMdl(mem, from, backfill + end - from);
    if (tail === null) head = m;
    else tail.next = m;
    tail = m;
    start = end;
  }
  return { chain: head!, offset: backfill };
}

/** Frees every MDL of a chain that came from an allocator (NdisFreeMdl on each); caller-owned MDLs are left. */
export function freeMdlChain(m: Mdl | null): void {
  while (m !== null) {
    const next: Mdl | null = m.next;
    m.next = null;
    if (m.allocator !== null) ndisFreeMdl(m);
    m = next;
  }
}

/**
 * NetAllocateMdl (NET_BUFFER_ALLOCATE_MDL): a driver-supplied function that allocates an MDL with
 * memory of at least `bufferSize` bytes. Returns the MDL (its `byteCount` is the size obtained) or
 * null on failure.
 */
export type NetAllocateMdl = (bufferSize: number) => Mdl | null;
/** NetFreeMdl (NET_BUFFER_FREE_MDL): frees an MDL that the matching NetAllocateMdl allocated. */
export type NetFreeMdl = (mdl: Mdl) => void;

const SIZE_CLASSES = [64, 128, 256, 512, 1024, 2048, 4096, 9216, 16384, 65536, 262144] as const;

/**
 * NDIS's own allocator of MDLs with memory, used when NdisRetreatNetBufferDataStart needs new data
 * space and the caller gave no NetAllocateMdl, and for pool data buffers. Memory comes in size
 * classes carved from slabs; freed MDLs return to their class's free list with their memory.
 */
export class DataMdlAllocator {
  private readonly free: Mdl[][] = SIZE_CLASSES.map(() => []);
  private readonly slabBytes: number;
  /** MDLs with memory currently allocated. */
  outstanding = 0;
  /** Bytes of slab memory obtained so far. */
  reservedBytes = 0;
  /** When set, called with the allocation attempt number; returning true makes it fail (low-resource simulation). */
  failAllocation: ((attempt: number) => boolean) | null = null;
  private attempts = 0;
  /** Failed allocations. */
  failures = 0;

  constructor(slabBytes = 1 << 20) {
    this.slabBytes = slabBytes;
  }

  /** Allocates an MDL with at least `bufferSize` bytes of memory, or null (counted) on failure. */
  allocate(bufferSize: number): Mdl | null {
    this.attempts++;
    if (this.failAllocation !== null && this.failAllocation(this.attempts)) {
      this.failures++;
      return null;
    }
    let cls = 0;
    while (cls < SIZE_CLASSES.length && SIZE_CLASSES[cls]! < bufferSize) cls++;
    if (cls === SIZE_CLASSES.length) {
      // Larger than every class: one dedicated buffer (rare; jumbo reassembly).
      const mdl = new Mdl();
      mdl.buffer = new Uint8Array(bufferSize);
      mdl.byteCount = bufferSize;
      mdl.mdlFlags = MDL_ALLOCATED_BY_NDIS;
      mdl.allocator = null;
      mdl.allocated = 1;
      this.reservedBytes += bufferSize;
      this.outstanding++;
      return mdl;
    }
    const list = this.free[cls]!;
    if (list.length === 0) this.grow(cls);
    const mdl = list.pop()!;
    mdl.next = null;
    mdl.byteCount = SIZE_CLASSES[cls]!;
    mdl.mdlFlags = MDL_ALLOCATED_BY_NDIS;
    mdl.allocated = 1;
    this.outstanding++;
    return mdl;
  }

  /** Returns an MDL obtained from {@link allocate}. */
  release(mdl: Mdl): void {
    if (mdl.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', 'NetFreeMdl: the MDL is already free');
    mdl.allocated = 0;
    mdl.next = null;
    this.outstanding--;
    if (mdl.sizeClass >= 0) {
      mdl.byteCount = SIZE_CLASSES[mdl.sizeClass]!;
      this.free[mdl.sizeClass]!.push(mdl);
    }
  }

  private grow(cls: number): void {
    const size = SIZE_CLASSES[cls]!;
    const count = Math.max(1, Math.floor(this.slabBytes / size));
    const slab = new Uint8Array(count * size);
    this.reservedBytes += slab.length;
    const list = this.free[cls]!;
    for (let i = 0; i < count; i++) {
      const mdl = new Mdl();
      mdl.buffer = slab;
      mdl.byteOffset = i * size;
      mdl.byteCount = size;
      mdl.mdlFlags = MDL_ALLOCATED_BY_NDIS;
      mdl.sizeClass = cls;
      list.push(mdl);
    }
  }
}

/** The data allocator NDIS uses when a caller passes no NetAllocateMdl. */
export const defaultDataMdlAllocator = new DataMdlAllocator();

/** Total bytes described by an MDL chain. */
export function mdlChainLength(mdl: Mdl | null): number {
  let n = 0;
  for (let m = mdl; m !== null; m = m.next) n += m.byteCount;
  return n;
}
