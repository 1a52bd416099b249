/**
 * NET_BUFFER_LIST: a list of NET_BUFFERs that share out-of-band information, and the unit that
 * travels through NDIS. NBLs link into chains through `next`; whole chains are handed on in O(1).
 */
import type { NetBuffer } from './net-buffer.js';
import { MAX_NET_BUFFER_LIST_INFO } from './info.js';

/**
 * Models NET_BUFFER_LIST_CONTEXT: a block of context space that drivers claim from the top down
 * (NdisAllocateNetBufferListContext lowers `offset`, NdisFreeNetBufferListContext raises it).
 * The data of the current context is `data[offset .. size)`.
 */
export class NetBufferListContext {
  /** NET_BUFFER_LIST_CONTEXT.Next: the older (outer) context block. */
  next: NetBufferListContext | null = null;
  /** Size of the block's data area. */
  size: number;
  /** NET_BUFFER_LIST_CONTEXT.Offset: start of the used context data inside `data`. */
  offset: number;
  /** ContextData. */
  readonly data: Uint8Array;
  /** True for the block that came with the NBL from its pool (never freed separately). */
  readonly preallocated: boolean;

  constructor(data: Uint8Array, preallocated: boolean) {
    this.data = data;
    this.size = data.length;
    this.offset = data.length;
    this.preallocated = preallocated;
  }
}

/** Kinds of NBL in this model: how it was allocated and therefore how it must be freed. */
export const NBL_KIND = {
  /** From a pool (NdisAllocateNetBufferList / NdisAllocateNetBufferAndNetBufferList). */
  Pool: 0,
  /** NdisAllocateCloneNetBufferList. */
  Clone: 1,
  /** NdisAllocateFragmentNetBufferList. */
  Fragment: 2,
  /** NdisAllocateReassembledNetBufferList. */
  Reassembled: 3,
} as const;

/** Paths of a hand-off, recorded by full verification in NetBufferList.handoffPath. */
export const NBL_HANDOFF = {
  None: 0,
  /** Given down the send path (or to a miniport's send handler). */
  Send: 1,
  /** Given up the receive path. */
  Receive: 2,
  /** Completed back up the send path. */
  SendComplete: 3,
  /** Returned down the receive path. */
  Return: 4,
  /** Indicated with NDIS_RECEIVE_FLAGS_RESOURCES and taken back by its miniport when the indication returned. */
  ResourcesReclaimed: 5,
} as const;

/** Pools that NET_BUFFER_LIST.NdisPoolHandle may name (structural, keeps modules acyclic). */
export interface NetBufferListOwnerPool {
  readonly poolTag: string;
  readonly protocolId: number;
}

/**
 * Models NET_BUFFER_LIST (NET_BUFFER_LIST_HEADER + NET_BUFFER_LIST_DATA and the NBL fields).
 * Every field is set in the constructor in a fixed order so that all NBLs share one shape.
 */
export class NetBufferList {
  /** NET_BUFFER_LIST_NEXT_NBL. */
  next: NetBufferList | null = null;
  /** NET_BUFFER_LIST_FIRST_NB. */
  firstNetBuffer: NetBuffer | null = null;
  /** NET_BUFFER_LIST.Context: the current (innermost) context block. */
  context: NetBufferListContext | null = null;
  /** NET_BUFFER_LIST.ParentNetBufferList: set on a derived (clone, fragment, reassembled) NBL. */
  parentNetBufferList: NetBufferList | null = null;
  /** NET_BUFFER_LIST.NdisPoolHandle (NdisGetPoolFromNetBufferList). */
  ndisPoolHandle: NetBufferListOwnerPool | null = null;
  /** NET_BUFFER_LIST_PROTOCOL_RESERVED: four slots for the protocol driver (or filter) that owns the NBL. */
  readonly protocolReserved: unknown[] = [null, null, null, null];
  /** NET_BUFFER_LIST_MINIPORT_RESERVED: two slots for the miniport that owns the NBL. */
  readonly miniportReserved: unknown[] = [null, null];
  /** NET_BUFFER_LIST.Scratch: for the current owner. */
  scratch: unknown = null;
  /**
   * NET_BUFFER_LIST.SourceHandle: set by NDIS from the handle of the driver that originated a send
   * or receive, to route completion and return. Drivers must not read or change it.
   */
  sourceHandle: object | null = null;
  /** NET_BUFFER_LIST.NblFlags: NDIS_NBL_FLAGS_*. */
  nblFlags = 0;
  /** NET_BUFFER_LIST.ChildRefCount: derived NBLs outstanding. */
  childRefCount = 0;
  /** NET_BUFFER_LIST.Flags: NBL_FLAGS_* areas (NDIS, miniport, scratch, protocol). */
  flags = 0;
  /** NET_BUFFER_LIST_STATUS: completion status (NDIS_STATUS, int32). */
  status = 0;
  /** NET_BUFFER_LIST_INFO: the numeric OOB slots, indexed by NDIS_NET_BUFFER_LIST_INFO. */
  readonly netBufferListInfo: Float64Array;
  /** Pointer-valued OOB slots (MediaSpecificInformation, WfpNetBufferListInfo, ...), same indices. */
  readonly netBufferListInfoObject: unknown[];
  // -- state of this model (not NDIS fields) --
  /** Id of the driver module that owns the NBL now (maintained by the runtime; 0 = none / NDIS). */
  owner = 0;
  /** 1 while allocated, 0 while in its pool. */
  allocated = 0;
  /** NBL_KIND of this NBL. */
  kind: number = NBL_KIND.Pool;
  /** Flags given at allocation of a derived NBL (clone flags), needed to free it the same way. */
  derivedFlags = 0;
  /** The NET_BUFFER the pool preallocated with this NBL (fAllocateNetBuffer pools), or null. */
  preallocatedNetBuffer: NetBuffer | null = null;
  /** The context block the pool preallocated (ContextSize of the pool), or null. */
  preallocatedContext: NetBufferListContext | null = null;
  /** Index in its pool's object table (leak reports). */
  poolIndex = -1;
  /** Allocation serial number (0 while free); identifies the NBL in reports. */
  serial = 0;
  /** Full verification: scheduler time (ms) of the last hand-off between modules (watchdogs). */
  handoffAt = 0;
  /** Full verification: the path of the last hand-off (NBL_HANDOFF). */
  handoffPath = 0;

  constructor(info: Float64Array) {
    this.netBufferListInfo = info;
    this.netBufferListInfoObject = new Array<unknown>(MAX_NET_BUFFER_LIST_INFO).fill(null);
  }
}

/** NdisGetPoolFromNetBufferList. */
export function ndisGetPoolFromNetBufferList(nbl: NetBufferList): NetBufferListOwnerPool | null {
  return nbl.ndisPoolHandle;
}
