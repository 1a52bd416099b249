/**
 * The NET_BUFFER_* and NET_BUFFER_LIST_* accessor macros of ndis.h, as functions with the same
 * names, for code ported from C. (TypeScript code may use the fields directly; these read the same
 * fields.)
 */
import type { Mdl } from './mdl.js';
import type { NetBuffer } from './net-buffer.js';
import type { NetBufferList } from './net-buffer-list.js';
import {
  NDIS_NET_BUFFER_LIST_INFO as I,
  filteringInfoFilterId,
  filteringInfoQueueId,
} from './info.js';

/** NET_BUFFER_NEXT_NB. */
export const NET_BUFFER_NEXT_NB = (nb: NetBuffer): NetBuffer | null => nb.next;
/** NET_BUFFER_FIRST_MDL. */
export const NET_BUFFER_FIRST_MDL = (nb: NetBuffer): Mdl | null => nb.mdlChain;
/** NET_BUFFER_DATA_LENGTH. */
export const NET_BUFFER_DATA_LENGTH = (nb: NetBuffer): number => nb.dataLength;
/** NET_BUFFER_DATA_OFFSET. */
export const NET_BUFFER_DATA_OFFSET = (nb: NetBuffer): number => nb.dataOffset;
/** NET_BUFFER_CURRENT_MDL. */
export const NET_BUFFER_CURRENT_MDL = (nb: NetBuffer): Mdl | null => nb.currentMdl;
/** NET_BUFFER_CURRENT_MDL_OFFSET. */
export const NET_BUFFER_CURRENT_MDL_OFFSET = (nb: NetBuffer): number => nb.currentMdlOffset;
/** NET_BUFFER_PROTOCOL_RESERVED. */
export const NET_BUFFER_PROTOCOL_RESERVED = (nb: NetBuffer): unknown[] => nb.protocolReserved;
/** NET_BUFFER_MINIPORT_RESERVED. */
export const NET_BUFFER_MINIPORT_RESERVED = (nb: NetBuffer): unknown[] => nb.miniportReserved;

/** NET_BUFFER_LIST_NEXT_NBL. */
export const NET_BUFFER_LIST_NEXT_NBL = (nbl: NetBufferList): NetBufferList | null => nbl.next;
/** NET_BUFFER_LIST_FIRST_NB. */
export const NET_BUFFER_LIST_FIRST_NB = (nbl: NetBufferList): NetBuffer | null => nbl.firstNetBuffer;
/** NET_BUFFER_LIST_STATUS. */
export const NET_BUFFER_LIST_STATUS = (nbl: NetBufferList): number => nbl.status;
/** NET_BUFFER_LIST_FLAGS. */
export const NET_BUFFER_LIST_FLAGS = (nbl: NetBufferList): number => nbl.flags;
/** NET_BUFFER_LIST_NBL_FLAGS. */
export const NET_BUFFER_LIST_NBL_FLAGS = (nbl: NetBufferList): number => nbl.nblFlags;
/** NdisSetNblFlag. */
export function NdisSetNblFlag(nbl: NetBufferList, flag: number): void {
  nbl.nblFlags |= flag;
}
/** NdisClearNblFlag. */
export function NdisClearNblFlag(nbl: NetBufferList, flag: number): void {
  nbl.nblFlags &= ~flag;
}
/** NdisTestNblFlag. */
export function NdisTestNblFlag(nbl: NetBufferList, flag: number): boolean {
  return (nbl.nblFlags & flag) !== 0;
}
/** NET_BUFFER_LIST_PROTOCOL_RESERVED. */
export const NET_BUFFER_LIST_PROTOCOL_RESERVED = (nbl: NetBufferList): unknown[] => nbl.protocolReserved;
/** NET_BUFFER_LIST_MINIPORT_RESERVED. */
export const NET_BUFFER_LIST_MINIPORT_RESERVED = (nbl: NetBufferList): unknown[] => nbl.miniportReserved;
/** NET_BUFFER_LIST_INFO (numeric slot). */
export function NET_BUFFER_LIST_INFO(nbl: NetBufferList, id: number): number {
  return nbl.netBufferListInfo[id]!;
}
/** Writes a numeric NET_BUFFER_LIST_INFO slot. */
export function NET_BUFFER_LIST_INFO_SET(nbl: NetBufferList, id: number, value: number): void {
  nbl.netBufferListInfo[id] = value;
}
/** NET_BUFFER_LIST_INFO for slots that hold a pointer. */
export function NET_BUFFER_LIST_INFO_OBJECT(nbl: NetBufferList, id: number): unknown {
  return nbl.netBufferListInfoObject[id];
}
/** NET_BUFFER_LIST_GET_HASH_VALUE. */
export const NET_BUFFER_LIST_GET_HASH_VALUE = (nbl: NetBufferList): number => nbl.netBufferListInfo[I.NetBufferListHashValue]!;
/** NET_BUFFER_LIST_SET_HASH_VALUE. */
export function NET_BUFFER_LIST_SET_HASH_VALUE(nbl: NetBufferList, value: number): void {
  nbl.netBufferListInfo[I.NetBufferListHashValue] = value >>> 0;
}
/** NET_BUFFER_LIST_GET_HASH_TYPE (HashInfo & NDIS_HASH_TYPE_MASK). */
export const NET_BUFFER_LIST_GET_HASH_TYPE = (nbl: NetBufferList): number => nbl.netBufferListInfo[I.NetBufferListHashInfo]! & 0x00ffff00;
/** NET_BUFFER_LIST_GET_HASH_FUNCTION (HashInfo & NDIS_HASH_FUNCTION_MASK). */
export const NET_BUFFER_LIST_GET_HASH_FUNCTION = (nbl: NetBufferList): number => nbl.netBufferListInfo[I.NetBufferListHashInfo]! & 0xff;
/** NET_BUFFER_LIST_SET_HASH_TYPE. */
export function NET_BUFFER_LIST_SET_HASH_TYPE(nbl: NetBufferList, type: number): void {
  const v = nbl.netBufferListInfo[I.NetBufferListHashInfo]!;
  nbl.netBufferListInfo[I.NetBufferListHashInfo] = ((v & ~0x00ffff00) | (type & 0x00ffff00)) >>> 0;
}
/** NET_BUFFER_LIST_SET_HASH_FUNCTION. */
export function NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl: NetBufferList, fn: number): void {
  const v = nbl.netBufferListInfo[I.NetBufferListHashInfo]!;
  nbl.netBufferListInfo[I.NetBufferListHashInfo] = ((v & ~0xff) | (fn & 0xff)) >>> 0;
}
/** NET_BUFFER_LIST_RECEIVE_QUEUE_ID. */
export const NET_BUFFER_LIST_RECEIVE_QUEUE_ID = (nbl: NetBufferList): number =>
  filteringInfoQueueId(nbl.netBufferListInfo[I.NetBufferListFilteringInfo]!);
/** NET_BUFFER_LIST_RECEIVE_FILTER_ID. */
export const NET_BUFFER_LIST_RECEIVE_FILTER_ID = (nbl: NetBufferList): number =>
  filteringInfoFilterId(nbl.netBufferListInfo[I.NetBufferListFilteringInfo]!);
/** NDIS_GET_NET_BUFFER_LIST_CANCEL_ID. */
export const NDIS_GET_NET_BUFFER_LIST_CANCEL_ID = (nbl: NetBufferList): unknown => nbl.netBufferListInfoObject[I.NetBufferListCancelId];
/** NDIS_SET_NET_BUFFER_LIST_CANCEL_ID. */
export function NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(nbl: NetBufferList, id: unknown): void {
  nbl.netBufferListInfoObject[I.NetBufferListCancelId] = id;
}
