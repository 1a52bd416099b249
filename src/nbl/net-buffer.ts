/**
 * NET_BUFFER: one network frame (or one segment of a send) described by an MDL chain.
 *
 * ```
 *   mdlChain ─► [ MDL 0 ]──►[ MDL 1 (currentMdl) ]──►[ MDL 2 ]
 *               |<-------- dataOffset -------->|<------- dataLength ------->|
 *                 unused data space (backfill)   used data space (the frame)
 *                                  currentMdlOffset ┘ (offset of the data start inside currentMdl)
 * ```
 * Invariant: the bytes of the MDLs before `currentMdl` plus `currentMdlOffset` equal `dataOffset`,
 * and the chain holds at least `dataOffset + dataLength` bytes.
 */
import type { Mdl } from './mdl.js';

/** Pools that NET_BUFFER.NdisPoolHandle may name (declared structurally to keep modules acyclic). */
export interface NetBufferOwnerPool {
  readonly poolTag: string;
}

/** Models NET_BUFFER (NET_BUFFER_HEADER + NET_BUFFER_DATA). Every field is set in the constructor. */
export class NetBuffer {
  /** NET_BUFFER_NEXT_NB. */
  next: NetBuffer | null = null;
  /** NET_BUFFER_CURRENT_MDL: the MDL that holds the start of the used data space. */
  currentMdl: Mdl | null = null;
  /** NET_BUFFER_CURRENT_MDL_OFFSET: offset of the data start inside `currentMdl`. */
  currentMdlOffset = 0;
  /** NET_BUFFER_DATA_LENGTH: bytes of used data space. */
  dataLength = 0;
  /** NET_BUFFER_FIRST_MDL: the first MDL of the chain. */
  mdlChain: Mdl | null = null;
  /** NET_BUFFER_DATA_OFFSET: bytes from the start of the MDL chain to the start of the used data space. */
  dataOffset = 0;
  /** NET_BUFFER_PROTOCOL_RESERVED: six pointer-sized slots for the protocol driver that owns the NB. */
  readonly protocolReserved: unknown[] = [null, null, null, null, null, null];
  /** NET_BUFFER_MINIPORT_RESERVED: four pointer-sized slots for the miniport that owns the NB. */
  readonly miniportReserved: unknown[] = [null, null, null, null];
  /** NdisPoolHandle: the pool this NB came from (NdisGetPoolFromNetBuffer). */
  ndisPoolHandle: NetBufferOwnerPool | null = null;
  /** NET_BUFFER.DataPhysicalAddress: for header-data split, the "physical" address of the data portion. */
  dataPhysicalAddress = 0;
  /** NET_BUFFER_CHECKSUM_BIAS. */
  checksumBias = 0;
  // -- state of this model (not NDIS fields) --
  /** 1 while allocated, 0 while in its pool. */
  allocated = 0;
  /** The MDL + data NDIS preallocated with this NB (NdisAllocateNetBufferMdlAndData / pool DataSize), or null. */
  ownData: Mdl | null = null;
  /** Index in its pool's object table (leak reports). */
  poolIndex = -1;
}

/** NdisGetPoolFromNetBuffer. */
export function ndisGetPoolFromNetBuffer(nb: NetBuffer): NetBufferOwnerPool | null {
  return nb.ndisPoolHandle;
}
