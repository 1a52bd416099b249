/**
 * Derived NET_BUFFER_LISTs: clones, fragments and reassemblies. A derived NBL describes data that
 * belongs to another NBL (its parent); the parent's ChildRefCount counts derived NBLs outstanding,
 * and the parent may not be returned or completed until they are freed.
 *
 * Three depths of copy, never implicit: a clone shares the data (and optionally the MDLs); a
 * fragment or reassembly shares the data through new MDLs over it; a deep copy is
 * NdisCopyFromNetBufferToNetBuffer into memory of one's own.
 */
import { NdisError } from '../base/errors.js';
import { NDIS_STATUS } from '../base/status.js';
import { NDIS_CLONE_FLAGS } from './flags.js';
import { MDL_PARTIAL, MDL_RETREAT_ALLOCATED, defaultDataMdlAllocator, defaultMdlAllocator, type Mdl } from './mdl.js';
import type { NetBuffer } from './net-buffer.js';
import { NBL_KIND, type NetBufferList } from './net-buffer-list.js';
import { NetBufferListPool, NetBufferPool, initNetBufferData } from './pool.js';
import { retreatNetBufferDataStart } from './data.js';

let internalNblPool: NetBufferListPool | null = null;
let internalNbPool: NetBufferPool | null = null;
let internalNblNbPool: NetBufferListPool | null = null;

/** NDIS's internal pools, used when a caller passes no pool handle to the derive functions. */
export function internalPools(): { nbl: NetBufferListPool; nb: NetBufferPool; nblWithNb: NetBufferListPool } {
  internalNblPool ??= new NetBufferListPool({ fAllocateNetBuffer: false, poolTag: 'NDcl' });
  internalNbPool ??= new NetBufferPool({ poolTag: 'NDnb' });
  internalNblNbPool ??= new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'NDra' });
  return { nbl: internalNblPool, nb: internalNbPool, nblWithNb: internalNblNbPool };
}

/**
 * Appends to `tail` new partial MDLs that map `length` bytes of `nb`'s used data starting
 * `offset` bytes past its data start. Returns the last MDL appended (or `tail` if none), or null on
 * allocation failure (MDLs appended so far stay linked for the caller to free).
 */
function mapRange(nb: NetBuffer, offset: number, length: number, head: { first: Mdl | null; last: Mdl | null }): boolean {
  let mdl = nb.currentMdl;
  let off = nb.currentMdlOffset + offset;
  while (mdl !== null && off >= mdl.byteCount) {
    off -= mdl.byteCount;
    mdl = mdl.next;
  }
  let left = length;
  while (mdl !== null && left > 0) {
    const n = Math.min(mdl.byteCount - off, left);
    const part = defaultMdlAllocator.allocate(mdl.buffer, mdl.byteOffset + off, n);
    part.mdlFlags = MDL_PARTIAL;
    if (head.last === null) head.first = part;
    else head.last.next = part;
    head.last = part;
    left -= n;
    off = 0;
    mdl = mdl.next;
  }
  return left === 0;
}

/** Frees the MDLs this module created on a derived NET_BUFFER (partial maps and retreat space). */
function freeDerivedMdls(nb: NetBuffer): void {
  let m = nb.mdlChain;
  while (m !== null) {
    const next: Mdl | null = m.next;
    if ((m.mdlFlags & MDL_RETREAT_ALLOCATED) !== 0) {
      m.mdlFlags &= ~MDL_RETREAT_ALLOCATED;
      defaultDataMdlAllocator.release(m);
    } else if ((m.mdlFlags & MDL_PARTIAL) !== 0) {
      defaultMdlAllocator.free(m);
    } else {
      break; // the rest of the chain belongs to someone else (original MDLs)
    }
    m = next;
  }
  nb.mdlChain = null;
  nb.currentMdl = null;
}

function link(parent: NetBufferList, child: NetBufferList, kind: number, flags: number): void {
  child.parentNetBufferList = parent;
  child.kind = kind;
  child.derivedFlags = flags;
  parent.childRefCount++;
}

function unlink(child: NetBufferList, kind: number, fn: string): NetBufferList {
  if (child.kind !== kind) throw new NdisError('ERR_NDIS_DERIVED_MISMATCH', `${fn}: NBL #${child.serial} was not allocated by the matching allocate function`);
  const parent = child.parentNetBufferList;
  if (parent === null) throw new NdisError('ERR_NDIS_DERIVED_MISMATCH', `${fn}: NBL #${child.serial} has no parent`);
  parent.childRefCount--;
  return parent;
}

function freeNetBufferChain(nbl: NetBufferList, nbPool: NetBufferPool | null, ownMdls: boolean): void {
  let nb = nbl.firstNetBuffer;
  while (nb !== null) {
    const next: NetBuffer | null = nb.next;
    if (ownMdls) freeDerivedMdls(nb);
    if (nb !== nbl.preallocatedNetBuffer) {
      const pool = nb.ndisPoolHandle;
      if (pool instanceof NetBufferPool) pool.freeNetBuffer(nb);
      else if (nbPool !== null) nbPool.freeNetBuffer(nb);
    }
    nb = next;
  }
  nbl.firstNetBuffer = null;
}

function releaseNbl(nbl: NetBufferList): void {
  const pool = nbl.ndisPoolHandle;
  if (!(pool instanceof NetBufferListPool)) throw new NdisError('ERR_NDIS_WRONG_POOL', 'derived NBL has no pool');
  pool.releaseDerived(nbl);
}

/**
 * Models NdisAllocateCloneNetBufferList: a new NBL describing the same data as `original`. Each
 * clone NET_BUFFER starts at the original's used data start; with
 * NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS the clone NET_BUFFERs share the original MDL chains,
 * otherwise new MDLs map the original data. OOB information is not copied (use
 * NdisCopySendNetBufferListInfo / NdisCopyReceiveNetBufferListInfo). Returns null on allocation
 * failure, having freed what it allocated.
 */
export function allocateCloneNetBufferList(
  original: NetBufferList,
  nblPool: NetBufferListPool | null,
  nbPool: NetBufferPool | null,
  allocateCloneFlags: number,
): NetBufferList | null {
  const pools = internalPools();
  const lp = nblPool ?? pools.nbl;
  const bp = nbPool ?? pools.nb;
  const clone = lp.allocateNetBufferList(0, 0);
  if (clone === null) return null;
  const pre = clone.preallocatedNetBuffer;
  clone.firstNetBuffer = null;
  const useOriginal = (allocateCloneFlags & NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS) !== 0;
  let last: NetBuffer | null = null;
  let ok = true;
  for (let src = original.firstNetBuffer; src !== null; src = src.next) {
    let nb: NetBuffer | null;
    if (last === null && pre !== null) {
      nb = pre;
    } else {
      nb = bp.allocateNetBuffer(null, 0, 0);
      if (nb === null) { ok = false; break; }
    }
    if (last === null) clone.firstNetBuffer = nb;
    else last.next = nb;
    last = nb;
    nb.next = null;
    if (useOriginal) {
      nb.mdlChain = src.mdlChain;
      nb.currentMdl = src.currentMdl;
      nb.currentMdlOffset = src.currentMdlOffset;
      nb.dataOffset = src.dataOffset;
      nb.dataLength = src.dataLength;
    } else {
      const head = { first: null as Mdl | null, last: null as Mdl | null };
      const mapped = mapRange(src, 0, src.dataLength, head);
      nb.mdlChain = head.first;
      nb.currentMdl = head.first;
      nb.currentMdlOffset = 0;
      nb.dataOffset = 0;
      nb.dataLength = src.dataLength;
      if (!mapped) { ok = false; break; }
    }
  }
  link(original, clone, NBL_KIND.Clone, allocateCloneFlags);
  if (!ok) {
    freeCloneNetBufferList(clone, allocateCloneFlags);
    return null;
  }
  return clone;
}

/** Models NdisFreeCloneNetBufferList: frees a clone and what its allocation created; the parent's ChildRefCount drops. */
export function freeCloneNetBufferList(clone: NetBufferList, freeCloneFlags: number): void {
  if (clone.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', 'NdisFreeCloneNetBufferList: the clone is already free');
  if ((freeCloneFlags & NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS) !== (clone.derivedFlags & NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS)) {
    throw new NdisError(
      'ERR_NDIS_DERIVED_MISMATCH',
      'NdisFreeCloneNetBufferList: FreeCloneFlags must carry NDIS_CLONE_FLAGS_USE_ORIGINAL_MDLS exactly when the clone was allocated with it',
    );
  }
  if (clone.childRefCount !== 0) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisFreeCloneNetBufferList: clone #${clone.serial} has ${clone.childRefCount} derived NBL(s) outstanding`);
  unlink(clone, NBL_KIND.Clone, 'NdisFreeCloneNetBufferList');
  const own = (clone.derivedFlags & NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS) === 0;
  freeNetBufferChain(clone, null, own);
  if (!own) {
    // Shared chains: detach without freeing.
    const pre = clone.preallocatedNetBuffer;
    if (pre !== null) { pre.mdlChain = null; pre.currentMdl = null; }
  }
  releaseNbl(clone);
}

/**
 * Models NdisAllocateFragmentNetBufferList: a new NBL whose NET_BUFFERs describe the data of
 * `original`'s NET_BUFFERs, starting `startOffset` bytes past each data start, cut into pieces of
 * at most `maximumLength` bytes; each fragment then gets `dataOffsetDelta` bytes of used data space
 * in front of it (for headers), allocated with `dataBackFill` extra bytes when needed.
 */
export function allocateFragmentNetBufferList(
  original: NetBufferList,
  nblPool: NetBufferListPool | null,
  nbPool: NetBufferPool | null,
  startOffset: number,
  maximumLength: number,
  dataOffsetDelta: number,
  dataBackFill: number,
  _allocateFragmentFlags = 0,
): NetBufferList | null {
  if (maximumLength <= 0) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisAllocateFragmentNetBufferList: MaximumLength must be positive (${maximumLength})`);
  const pools = internalPools();
  const lp = nblPool ?? pools.nbl;
  const bp = nbPool ?? pools.nb;
  const frag = lp.allocateNetBufferList(0, 0);
  if (frag === null) return null;
  const pre = frag.preallocatedNetBuffer;
  frag.firstNetBuffer = null;
  link(original, frag, NBL_KIND.Fragment, 0);
  let last: NetBuffer | null = null;
  for (let src = original.firstNetBuffer; src !== null; src = src.next) {
    if (startOffset > src.dataLength) {
      freeFragmentNetBufferList(frag, dataOffsetDelta);
      throw new NdisError('ERR_NDIS_DATA_RANGE', `NdisAllocateFragmentNetBufferList: StartOffset ${startOffset} is past a NET_BUFFER of ${src.dataLength} bytes`);
    }
    for (let pos = startOffset; pos < src.dataLength; pos += maximumLength) {
      const len = Math.min(maximumLength, src.dataLength - pos);
      let nb: NetBuffer | null;
      if (last === null && pre !== null) nb = pre;
      else nb = bp.allocateNetBuffer(null, 0, 0);
      if (nb === null) {
        freeFragmentNetBufferList(frag, 0);
        return null;
      }
      nb.next = null;
      if (last === null) frag.firstNetBuffer = nb;
      else last.next = nb;
      last = nb;
      const head = { first: null as Mdl | null, last: null as Mdl | null };
      const mapped = mapRange(src, pos, len, head);
      initNetBufferData(nb, head.first, 0, mapped ? len : 0);
      if (!mapped || (dataOffsetDelta > 0 && retreatNetBufferDataStart(nb, dataOffsetDelta, dataBackFill) !== NDIS_STATUS.SUCCESS)) {
        freeFragmentNetBufferList(frag, 0);
        return null;
      }
    }
  }
  return frag;
}

/**
 * Models NdisFreeFragmentNetBufferList: frees a fragment NBL; `dataOffsetDelta` is the delta given
 * at allocation (the header space NDIS added is released with it).
 */
export function freeFragmentNetBufferList(fragment: NetBufferList, _dataOffsetDelta: number, _freeFragmentFlags = 0): void {
  if (fragment.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', 'NdisFreeFragmentNetBufferList: the fragment NBL is already free');
  unlink(fragment, NBL_KIND.Fragment, 'NdisFreeFragmentNetBufferList');
  freeNetBufferChain(fragment, null, true);
  releaseNbl(fragment);
}

/**
 * Models NdisAllocateReassembledNetBufferList: a new NBL with one NET_BUFFER whose MDL chain maps,
 * in order, the data of every NET_BUFFER of `fragmentNetBufferList` after skipping `startOffset`
 * bytes of each; then `dataOffsetDelta` bytes of used data space are added in front. The pool
 * (fAllocateNetBuffer TRUE, DataSize 0) may be null for NDIS's internal one.
 */
export function allocateReassembledNetBufferList(
  fragmentNetBufferList: NetBufferList,
  pool: NetBufferListPool | null,
  startOffset: number,
  dataOffsetDelta: number,
  dataBackFill: number,
  _allocateReassembleFlags = 0,
): NetBufferList | null {
  const lp = pool ?? internalPools().nblWithNb;
  const nbl = lp.allocateNetBufferAndNetBufferList(0, 0, null, 0, 0);
  if (nbl === null) return null;
  link(fragmentNetBufferList, nbl, NBL_KIND.Reassembled, 0);
  const head = { first: null as Mdl | null, last: null as Mdl | null };
  let total = 0;
  for (let src = fragmentNetBufferList.firstNetBuffer; src !== null; src = src.next) {
    if (startOffset > src.dataLength) {
      nbl.firstNetBuffer!.mdlChain = head.first;
      freeReassembledNetBufferList(nbl, 0);
      throw new NdisError('ERR_NDIS_DATA_RANGE', `NdisAllocateReassembledNetBufferList: StartOffset ${startOffset} is past a NET_BUFFER of ${src.dataLength} bytes`);
    }
    const len = src.dataLength - startOffset;
    if (!mapRange(src, startOffset, len, head)) {
      nbl.firstNetBuffer!.mdlChain = head.first;
      freeReassembledNetBufferList(nbl, 0);
      return null;
    }
    total += len;
  }
  const nb = nbl.firstNetBuffer!;
  initNetBufferData(nb, head.first, 0, total);
  if (dataOffsetDelta > 0 && retreatNetBufferDataStart(nb, dataOffsetDelta, dataBackFill) !== NDIS_STATUS.SUCCESS) {
    freeReassembledNetBufferList(nbl, 0);
    return null;
  }
  return nbl;
}

/** Models NdisFreeReassembledNetBufferList. */
export function freeReassembledNetBufferList(reassembled: NetBufferList, _dataOffsetDelta: number, _freeReassembleFlags = 0): void {
  if (reassembled.allocated === 0) throw new NdisError('ERR_NDIS_DOUBLE_FREE', 'NdisFreeReassembledNetBufferList: the NBL is already free');
  unlink(reassembled, NBL_KIND.Reassembled, 'NdisFreeReassembledNetBufferList');
  freeNetBufferChain(reassembled, null, true);
  releaseNbl(reassembled);
}
