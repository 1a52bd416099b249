/**
 * Operations on the data of a NET_BUFFER: retreat and advance of the data start (backfill),
 * contiguous access (NdisGetDataBuffer) and copies between NET_BUFFERs, with NDIS's semantics.
 */
import { NDIS_STATUS, type NdisStatus } from '../base/status.js';
import { NdisError } from '../base/errors.js';
import {
  MDL_RETREAT_ALLOCATED,
  defaultDataMdlAllocator,
  type Mdl,
  type NetAllocateMdl,
  type NetFreeMdl,
} from './mdl.js';
import type { NetBuffer } from './net-buffer.js';
import type { NetBufferList } from './net-buffer-list.js';
import { copyBytes } from './bytes.js';

/**
 * Points `currentMdl` / `currentMdlOffset` at `nb.dataOffset` by walking the chain from its start.
 * The data start lies in the first MDL with room past the offset; when the offset is exactly the end
 * of the chain, it stays at the end of the last MDL.
 */
export function resetCurrentMdl(nb: NetBuffer): void {
  let off = nb.dataOffset;
  let mdl = nb.mdlChain;
  while (mdl !== null && off >= mdl.byteCount && mdl.next !== null) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  nb.currentMdl = mdl;
  nb.currentMdlOffset = mdl === null ? 0 : off;
}

/**
 * Models NdisRetreatNetBufferDataStart: adds `dataOffsetDelta` bytes of used data space before the
 * current data start. Uses unused data space when there is enough; otherwise allocates a new MDL
 * with memory (through `allocateMdl`, or NDIS's own allocator) of at least
 * `dataOffsetDelta - dataOffset + dataBackFill` bytes, chains it to the beginning of the MDL chain
 * and places the data start inside it so that the unused space already in the chain is used too.
 * Returns NDIS_STATUS_SUCCESS or NDIS_STATUS_RESOURCES.
 * @cost O(1) when the backfill is in the current MDL; no allocation unless new data space is needed.
 */
export function retreatNetBufferDataStart(
  nb: NetBuffer,
  dataOffsetDelta: number,
  dataBackFill = 0,
  allocateMdl: NetAllocateMdl | null = null,
): NdisStatus {
  if (dataOffsetDelta < 0 || dataBackFill < 0) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisRetreatNetBufferDataStart: negative delta (${dataOffsetDelta}) or backfill (${dataBackFill})`);
  }
  if (dataOffsetDelta <= nb.dataOffset) {
    nb.dataOffset -= dataOffsetDelta;
    nb.dataLength += dataOffsetDelta;
    if (dataOffsetDelta <= nb.currentMdlOffset) nb.currentMdlOffset -= dataOffsetDelta;
    else resetCurrentMdl(nb);
    return NDIS_STATUS.SUCCESS;
  }
  const need = dataOffsetDelta - nb.dataOffset;
  const mdl = allocateMdl === null ? defaultDataMdlAllocator.allocate(need + dataBackFill) : allocateMdl(need + dataBackFill);
  if (mdl === null) return NDIS_STATUS.RESOURCES;
  if (mdl.byteCount < need) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NetAllocateMdl returned ${mdl.byteCount} bytes, ${need} were needed`);
  }
  mdl.mdlFlags |= MDL_RETREAT_ALLOCATED;
  mdl.next = nb.mdlChain;
  nb.mdlChain = mdl;
  nb.dataOffset = mdl.byteCount - need;
  nb.dataLength += dataOffsetDelta;
  nb.currentMdl = mdl;
  nb.currentMdlOffset = nb.dataOffset;
  return NDIS_STATUS.SUCCESS;
}

/**
 * Models NdisAdvanceNetBufferDataStart: releases `dataOffsetDelta` bytes of used data space from
 * the start. With `freeMdl`, MDLs that a retreat allocated and that now lie wholly in unused space
 * are unlinked and freed (through `freeMdlHandler` when given, else NDIS's allocator); otherwise
 * only the offsets move and the space stays for later retreats.
 * @cost O(1) within the current MDL; no allocation.
 */
export function advanceNetBufferDataStart(
  nb: NetBuffer,
  dataOffsetDelta: number,
  freeMdl = false,
  freeMdlHandler: NetFreeMdl | null = null,
): void {
  if (dataOffsetDelta < 0 || dataOffsetDelta > nb.dataLength) {
    throw new NdisError(
      'ERR_NDIS_DATA_RANGE',
      `NdisAdvanceNetBufferDataStart: delta ${dataOffsetDelta} is outside the ${nb.dataLength} bytes of used data space`,
    );
  }
  nb.dataOffset += dataOffsetDelta;
  nb.dataLength -= dataOffsetDelta;
  let mdl = nb.currentMdl;
  let off = nb.currentMdlOffset + dataOffsetDelta;
  while (mdl !== null && off >= mdl.byteCount && mdl.next !== null) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  nb.currentMdl = mdl;
  nb.currentMdlOffset = off;
  if (!freeMdl) return;
  let head = nb.mdlChain;
  while (head !== null && head !== mdl && (head.mdlFlags & MDL_RETREAT_ALLOCATED) !== 0) {
    const next: Mdl | null = head.next;
    nb.dataOffset -= head.byteCount;
    nb.mdlChain = next;
    head.mdlFlags &= ~MDL_RETREAT_ALLOCATED;
    head.next = null;
    if (freeMdlHandler !== null) freeMdlHandler(head);
    else defaultDataMdlAllocator.release(head);
    head = next;
  }
}

/** Models NdisRetreatNetBufferListDataStart: retreats every NET_BUFFER of the NBL; stops at the first failure. */
export function retreatNetBufferListDataStart(
  nbl: NetBufferList,
  dataOffsetDelta: number,
  dataBackFill = 0,
  allocateMdl: NetAllocateMdl | null = null,
): NdisStatus {
  for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
    const s = retreatNetBufferDataStart(nb, dataOffsetDelta, dataBackFill, allocateMdl);
    if (s !== NDIS_STATUS.SUCCESS) return s;
  }
  return NDIS_STATUS.SUCCESS;
}

/** Models NdisAdvanceNetBufferListDataStart: advances every NET_BUFFER of the NBL. */
export function advanceNetBufferListDataStart(
  nbl: NetBufferList,
  dataOffsetDelta: number,
  freeMdl = false,
  freeMdlHandler: NetFreeMdl | null = null,
): void {
  for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) advanceNetBufferDataStart(nb, dataOffsetDelta, freeMdl, freeMdlHandler);
}

/**
 * The pointer NdisGetDataBuffer returns, as (bytes, offset): the data is `bytes[offset ..
 * offset + bytesNeeded)`. Callers keep one and pass it in, so no call allocates.
 */
export class DataPointer {
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
}

/**
 * Models NdisGetDataBuffer: `bytesNeeded` contiguous bytes from the data start. Returns `out`
 * pointing into the MDL when the bytes are contiguous there (and at an address that is
 * `alignOffset` past a multiple of `alignMultiple`, addresses being byte positions in the
 * underlying ArrayBuffer); otherwise copies them into `storage` and points `out` at it; returns
 * null when the NET_BUFFER holds fewer than `bytesNeeded` bytes, or the bytes are not contiguous
 * and no `storage` was given.
 * @cost O(1) when contiguous; O(bytesNeeded) copy otherwise; no allocation.
 */
export function getDataBuffer(
  nb: NetBuffer,
  bytesNeeded: number,
  storage: Uint8Array | null,
  alignMultiple: number,
  alignOffset: number,
  out: DataPointer,
): DataPointer | null {
  if (nb.dataLength < bytesNeeded) return null;
  let mdl = nb.currentMdl;
  let off = nb.currentMdlOffset;
  if (mdl === null) return null;
  while (off >= mdl.byteCount && mdl.next !== null) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  const start = mdl.byteOffset + off;
  if (mdl.byteCount - off >= bytesNeeded) {
    const aligned = alignMultiple <= 1 || ((mdl.buffer.byteOffset + start) & (alignMultiple - 1)) === alignOffset;
    if (aligned) {
      out.bytes = mdl.buffer;
      out.offset = start;
      return out;
    }
  }
  if (storage === null) return null;
  if (storage.length < bytesNeeded) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisGetDataBuffer: Storage holds ${storage.length} bytes, ${bytesNeeded} needed`);
  }
  copyOutOfNetBuffer(nb, 0, storage, 0, bytesNeeded);
  out.bytes = storage;
  out.offset = 0;
  return out;
}

/**
 * Copies `length` bytes of the used data space, starting `nbOffset` bytes past the data start, into
 * `dst[dstOffset..]`. Returns the number of bytes copied (less when the data runs out).
 */
export function copyOutOfNetBuffer(nb: NetBuffer, nbOffset: number, dst: Uint8Array, dstOffset: number, length: number): number {
  const avail = nb.dataLength - nbOffset;
  if (avail <= 0) return 0;
  if (length > avail) length = avail;
  let mdl = nb.currentMdl;
  let off = nb.currentMdlOffset + nbOffset;
  while (mdl !== null && off >= mdl.byteCount) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  let copied = 0;
  while (mdl !== null && copied < length) {
    const n = Math.min(mdl.byteCount - off, length - copied);
    copyBytes(dst, dstOffset + copied, mdl.buffer, mdl.byteOffset + off, n);
    copied += n;
    off = 0;
    mdl = mdl.next;
  }
  return copied;
}

/**
 * Copies `src[srcOffset..srcOffset+length)` into the NET_BUFFER's MDLs starting `nbOffset` bytes
 * past the data start, bounded by the space of the MDL chain (not by DataLength). Returns the
 * number of bytes copied.
 */
export function copyIntoNetBuffer(nb: NetBuffer, nbOffset: number, src: Uint8Array, srcOffset: number, length: number): number {
  let mdl = nb.currentMdl;
  let off = nb.currentMdlOffset + nbOffset;
  while (mdl !== null && off >= mdl.byteCount) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  let copied = 0;
  while (mdl !== null && copied < length) {
    const n = Math.min(mdl.byteCount - off, length - copied);
    copyBytes(mdl.buffer, mdl.byteOffset + off, src, srcOffset + copied, n);
    copied += n;
    off = 0;
    mdl = mdl.next;
  }
  return copied;
}

/**
 * Models NdisCopyFromNetBufferToNetBuffer: copies up to `bytesToCopy` bytes from `source` (at
 * `sourceOffset` past its data start) to `destination` (at `destinationOffset` past its data start).
 * Stops when the source's used data runs out or the destination's MDL chain runs out of space, and
 * returns the number of bytes copied (NDIS's BytesCopied; its status is SUCCESS). The destination's
 * DataLength is not changed: the caller updates it, as in NDIS.
 */
export function copyFromNetBufferToNetBuffer(
  destination: NetBuffer,
  destinationOffset: number,
  bytesToCopy: number,
  source: NetBuffer,
  sourceOffset: number,
): number {
  const avail = source.dataLength - sourceOffset;
  if (avail <= 0) return 0;
  if (bytesToCopy > avail) bytesToCopy = avail;
  let s = source.currentMdl;
  let so = source.currentMdlOffset + sourceOffset;
  while (s !== null && so >= s.byteCount) {
    so -= s.byteCount;
    s = s.next;
  }
  let d = destination.currentMdl;
  let doff = destination.currentMdlOffset + destinationOffset;
  while (d !== null && doff >= d.byteCount) {
    doff -= d.byteCount;
    d = d.next;
  }
  let copied = 0;
  while (s !== null && d !== null && copied < bytesToCopy) {
    const n = Math.min(s.byteCount - so, d.byteCount - doff, bytesToCopy - copied);
    copyBytes(d.buffer, d.byteOffset + doff, s.buffer, s.byteOffset + so, n);
    copied += n;
    so += n;
    doff += n;
    if (so === s.byteCount) {
      s = s.next;
      so = 0;
    }
    if (doff === d.byteCount) {
      d = d.next;
      doff = 0;
    }
  }
  return copied;
}

/** Copies the used data space of a NET_BUFFER into a new Uint8Array (tests, debugging; allocates). */
export function netBufferData(nb: NetBuffer): Uint8Array {
  const out = new Uint8Array(nb.dataLength);
  copyOutOfNetBuffer(nb, 0, out, 0, nb.dataLength);
  return out;
}

/**
 * Models NdisAdjustNetBufferCurrentMdl: moves `currentMdl` forward past MDLs that hold no used data,
 * so that it points at the MDL that holds the data start.
 */
export function adjustNetBufferCurrentMdl(nb: NetBuffer): NdisStatus {
  let mdl = nb.currentMdl;
  let off = nb.currentMdlOffset;
  while (mdl !== null && off >= mdl.byteCount && mdl.next !== null) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  nb.currentMdl = mdl;
  nb.currentMdlOffset = off;
  return NDIS_STATUS.SUCCESS;
}
