/**
 * Flag words of the NET_BUFFER_LIST data path, with ndis.h names and values. Flag words stay plain
 * numbers tested with bit operations, as in NDIS.
 */

/** NET_BUFFER_LIST.NblFlags: NDIS_NBL_FLAGS_* (ndis/nbl.h). */
export const NDIS_NBL_FLAGS = {
  SEND_READ_ONLY: 0x00000001,
  RECV_READ_ONLY: 0x00000002,
  HD_SPLIT: 0x00000100,
  IS_IPV4: 0x00000200,
  IS_IPV6: 0x00000400,
  IS_TCP: 0x00000800,
  IS_UDP: 0x00001000,
  SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER: 0x00002000,
  SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD: 0x00004000,
  IS_LOOPBACK_PACKET: 0x00008000,
  CAPTURE_TIMESTAMP_ON_TRANSMIT: 0x00010000,
} as const;

/** NET_BUFFER_LIST.Flags: which bits belong to whom (NBL_FLAGS_*). */
export const NBL_FLAGS = {
  PROTOCOL_RESERVED: 0xfff00000 | 0,
  SCRATCH: 0x000f0000,
  MINIPORT_RESERVED: 0x0000f000,
  NDIS_RESERVED: 0x00000fff,
} as const;

/** Receive indication flags: NDIS_RECEIVE_FLAGS_* (NdisMIndicateReceiveNetBufferLists and friends). */
export const NDIS_RECEIVE_FLAGS = {
  DISPATCH_LEVEL: 0x00000001,
  RESOURCES: 0x00000002,
  SINGLE_ETHER_TYPE: 0x00000100,
  SINGLE_VLAN: 0x00000200,
  PERFECT_FILTERED: 0x00000400,
  SINGLE_QUEUE: 0x00000800,
  SHARED_MEMORY_INFO_VALID: 0x00001000,
  MORE_NBLS: 0x00002000,
  SWITCH_DESTINATION_GROUP: 0x00004000,
  SWITCH_SINGLE_SOURCE: 0x00008000,
} as const;

/** Return flags: NDIS_RETURN_FLAGS_* (NdisReturnNetBufferLists, MiniportReturnNetBufferLists). */
export const NDIS_RETURN_FLAGS = {
  DISPATCH_LEVEL: 0x00000001,
  SINGLE_QUEUE: 0x00000002,
  SWITCH_SINGLE_SOURCE: 0x00000004,
} as const;

/** Send flags: NDIS_SEND_FLAGS_* (NdisSendNetBufferLists, MiniportSendNetBufferLists). */
export const NDIS_SEND_FLAGS = {
  DISPATCH_LEVEL: 0x00000001,
  CHECK_FOR_LOOPBACK: 0x00000002,
  SINGLE_QUEUE: 0x00000004,
  SWITCH_DESTINATION_GROUP: 0x00000010,
  SWITCH_SINGLE_SOURCE: 0x00000020,
} as const;

/** Send-complete flags: NDIS_SEND_COMPLETE_FLAGS_* (NdisMSendNetBufferListsComplete). */
export const NDIS_SEND_COMPLETE_FLAGS = {
  DISPATCH_LEVEL: 0x00000001,
  SINGLE_QUEUE: 0x00000002,
  SWITCH_SINGLE_SOURCE: 0x00000004,
} as const;

/** NdisAllocateCloneNetBufferList flags: NDIS_CLONE_FLAGS_*. */
export const NDIS_CLONE_FLAGS = {
  RESERVED: 0x00000001,
  USE_ORIGINAL_MDLS: 0x00000002,
} as const;

/** NDIS_TEST_RECEIVE_CANNOT_PEND: the indicating driver keeps ownership when the call returns. */
export function NDIS_TEST_RECEIVE_CANNOT_PEND(receiveFlags: number): boolean {
  return (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0;
}

/** NDIS_TEST_RECEIVE_CAN_PEND: ownership passes with the indication. */
export function NDIS_TEST_RECEIVE_CAN_PEND(receiveFlags: number): boolean {
  return (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0;
}

/** NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL. */
export function NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(receiveFlags: number): boolean {
  return (receiveFlags & NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL) !== 0;
}

/** NDIS_TEST_SEND_AT_DISPATCH_LEVEL. */
export function NDIS_TEST_SEND_AT_DISPATCH_LEVEL(sendFlags: number): boolean {
  return (sendFlags & NDIS_SEND_FLAGS.DISPATCH_LEVEL) !== 0;
}
