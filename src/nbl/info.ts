/**
 * Out-of-band information of a NET_BUFFER_LIST: the NDIS_NET_BUFFER_LIST_INFO slot ids (x64
 * values of ndis/nblinfo.h) and codecs for the structures NDIS stores *by value* in a slot
 * (NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO, NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO,
 * NDIS_NET_BUFFER_LIST_8021Q_INFO, hash value/info, NDIS_NET_BUFFER_LIST_FILTERING_INFO,
 * NDIS_NET_BUFFER_LIST_VIRTUAL_SUBNET_INFO, NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO).
 *
 * A slot is pointer-sized in NDIS. Here each NBL has a numeric slot array (`netBufferListInfo`,
 * values up to 2^53) and a parallel object slot array (`netBufferListInfoObject`) for the slots
 * that hold pointers (MediaSpecificInformation, WfpNetBufferListInfo, SwitchForwardingDetail, ...).
 * The bit layouts below are the documented bitfields in declaration order, low bit first.
 */

/** NDIS_NET_BUFFER_LIST_INFO (x64 numbering). Aliases share a slot, as in NDIS. */
export const NDIS_NET_BUFFER_LIST_INFO = {
  TcpIpChecksumNetBufferListInfo: 0,
  TcpOffloadBytesTransferred: 0,
  IPsecOffloadV1NetBufferListInfo: 1,
  IPsecOffloadV2NetBufferListInfo: 1,
  TcpLargeSendNetBufferListInfo: 2,
  TcpReceiveNoPush: 2,
  ClassificationHandleNetBufferListInfo: 3,
  Ieee8021QNetBufferListInfo: 4,
  NetBufferListCancelId: 5,
  MediaSpecificInformation: 6,
  NetBufferListFrameType: 7,
  NetBufferListProtocolId: 7,
  NetBufferListHashValue: 8,
  NetBufferListHashInfo: 9,
  WfpNetBufferListInfo: 10,
  IPsecOffloadV2TunnelNetBufferListInfo: 11,
  IPsecOffloadV2HeaderNetBufferListInfo: 12,
  NetBufferListCorrelationId: 13,
  NetBufferListFilteringInfo: 14,
  MediaSpecificInformationEx: 15,
  NblOriginalInterfaceIfIndex: 16,
  NblReAuthWfpFlowContext: 16,
  TcpReceiveBytesTransferred: 17,
  NrtNameResolutionId: 17,
  UdpRecvSegCoalesceOffloadInfo: 17,
  SwitchForwardingReserved: 18,
  SwitchForwardingDetail: 19,
  VirtualSubnetInfo: 20,
  IMReserved: 21,
  TcpRecvSegCoalesceInfo: 22,
  UdpSegmentationOffloadInfo: 22,
  RscTcpTimestampDelta: 23,
  TcpSendOffloadsSupplementalNetBufferListInfo: 23,
  GftOffloadInformation: 24,
  GftFlowEntryId: 25,
  NetBufferListInfoReserved3: 26,
  MaxNetBufferListInfo: 27,
} as const;

/** Number of OOB slots per NBL (MaxNetBufferListInfo on x64). */
export const MAX_NET_BUFFER_LIST_INFO = NDIS_NET_BUFFER_LIST_INFO.MaxNetBufferListInfo;

/**
 * NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO, Transmit view: bits set by the sender to ask the
 * miniport for checksums. `TcpHeaderOffset` occupies bits 16-25.
 */
export const NDIS_CSUM_TX = {
  IsIPv4: 1 << 0,
  IsIPv6: 1 << 1,
  TcpChecksum: 1 << 2,
  UdpChecksum: 1 << 3,
  IpHeaderChecksum: 1 << 4,
} as const;

/** NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO, Receive view: results the miniport reports. */
export const NDIS_CSUM_RX = {
  TcpChecksumFailed: 1 << 0,
  UdpChecksumFailed: 1 << 1,
  IpChecksumFailed: 1 << 2,
  TcpChecksumSucceeded: 1 << 3,
  UdpChecksumSucceeded: 1 << 4,
  IpChecksumSucceeded: 1 << 5,
  Loopback: 1 << 6,
  TcpChecksumValueInvalid: 1 << 7,
  IpChecksumValueInvalid: 1 << 8,
} as const;

/** Transmit.TcpHeaderOffset of a checksum info value. */
export function csumTxTcpHeaderOffset(value: number): number {
  return (value >>> 16) & 0x3ff;
}

/** Builds a Transmit checksum info value from its flag bits and TcpHeaderOffset. */
export function csumTxValue(flags: number, tcpHeaderOffset: number): number {
  return ((flags & 0xffff) | ((tcpHeaderOffset & 0x3ff) << 16)) >>> 0;
}

/** NDIS_TCP_LARGE_SEND_OFFLOAD_V1_TYPE / _V2_TYPE (the `Type` bit, bit 30). */
export const NDIS_TCP_LARGE_SEND_OFFLOAD_V1_TYPE = 0;
export const NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE = 1;
/** LsoV2Transmit.IPVersion (bit 31). */
export const NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 = 0;
export const NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6 = 1;

/** NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO, LsoV1Transmit: MSS (bits 0-19), TcpHeaderOffset (20-29), Type 0. */
export function lsoV1TransmitValue(mss: number, tcpHeaderOffset: number): number {
  return ((mss & 0xfffff) + (tcpHeaderOffset & 0x3ff) * 0x100000) >>> 0;
}

/** LsoV2Transmit: MSS (0-19), TcpHeaderOffset (20-29), Type 1 (bit 30), IPVersion (bit 31). */
export function lsoV2TransmitValue(mss: number, tcpHeaderOffset: number, ipVersion: number): number {
  return (((mss & 0xfffff) | ((tcpHeaderOffset & 0x3ff) << 20) | (1 << 30) | ((ipVersion & 1) << 31)) >>> 0);
}

/** Type bit of an LSO info value (0 = V1, 1 = V2). */
export function lsoType(value: number): number {
  return (value >>> 30) & 1;
}
/** MSS of an LSO transmit info value. */
export function lsoMss(value: number): number {
  return value & 0xfffff;
}
/** TcpHeaderOffset of an LSO transmit info value. */
export function lsoTcpHeaderOffset(value: number): number {
  return (value >>> 20) & 0x3ff;
}
/** IPVersion bit of an LsoV2Transmit value. */
export function lsoIpVersion(value: number): number {
  return (value >>> 31) & 1;
}
/** LsoV1TransmitComplete: TcpPayload (bits 0-29) with Type 0, written by the miniport before completion. */
export function lsoV1CompleteValue(tcpPayload: number): number {
  return (tcpPayload & 0x3fffffff) >>> 0;
}
/** TcpPayload of an LsoV1TransmitComplete value. */
export function lsoV1CompleteTcpPayload(value: number): number {
  return value & 0x3fffffff;
}
/** LsoV2TransmitComplete: Reserved 0, Type = V2. */
export function lsoV2CompleteValue(): number {
  return (1 << 30) >>> 0;
}

/** NDIS_NET_BUFFER_LIST_8021Q_INFO.TagHeader: UserPriority (bits 0-2), CanonicalFormatId (3), VlanId (4-15). */
export function ieee8021QValue(userPriority: number, vlanId: number, canonicalFormatId = 0): number {
  return ((userPriority & 7) | ((canonicalFormatId & 1) << 3) | ((vlanId & 0xfff) << 4)) >>> 0;
}
/** TagHeader.VlanId. */
export function ieee8021QVlanId(value: number): number {
  return (value >>> 4) & 0xfff;
}
/** TagHeader.UserPriority. */
export function ieee8021QUserPriority(value: number): number {
  return value & 7;
}

/**
 * NDIS_NET_BUFFER_LIST_FILTERING_INFO.FilteringInfo: FilterId (low 16 bits) and QueueId / VPortId
 * (high 16 bits). NET_BUFFER_LIST_RECEIVE_QUEUE_ID and NET_BUFFER_LIST_RECEIVE_FILTER_ID read them.
 */
export function filteringInfoValue(filterId: number, queueId: number): number {
  return ((filterId & 0xffff) | ((queueId & 0xffff) << 16)) >>> 0;
}
/** FilteringInfo.FilterId. */
export function filteringInfoFilterId(value: number): number {
  return value & 0xffff;
}
/** FilteringInfo.QueueId. */
export function filteringInfoQueueId(value: number): number {
  return (value >>> 16) & 0xffff;
}

/** NDIS_NET_BUFFER_LIST_VIRTUAL_SUBNET_INFO: VirtualSubnetId (bits 0-23). */
export function virtualSubnetIdOf(value: number): number {
  return value & 0xffffff;
}

/**
 * NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO.EncapsulatedPacketOffsets:
 * IsEncapsulatedPacket (bit 0), EncapsulatedPacketOffsetsValid (1), InnerFrameOffset (2-9),
 * TransportIpHeaderRelativeOffset (10-15), TcpHeaderRelativeOffset (16-25).
 */
export function sendOffloadsSupplementalValue(
  innerFrameOffset: number,
  transportIpHeaderRelativeOffset: number,
  tcpHeaderRelativeOffset: number,
  offsetsValid = true,
): number {
  return (
    (1 |
      ((offsetsValid ? 1 : 0) << 1) |
      ((innerFrameOffset & 0xff) << 2) |
      ((transportIpHeaderRelativeOffset & 0x3f) << 10) |
      ((tcpHeaderRelativeOffset & 0x3ff) << 16)) >>>
    0
  );
}
/** EncapsulatedPacketOffsets.IsEncapsulatedPacket. */
export function isEncapsulatedPacket(value: number): boolean {
  return (value & 1) !== 0;
}
/** EncapsulatedPacketOffsets.EncapsulatedPacketOffsetsValid. */
export function encapsulatedOffsetsValid(value: number): boolean {
  return (value & 2) !== 0;
}
/** EncapsulatedPacketOffsets.InnerFrameOffset. */
export function innerFrameOffset(value: number): number {
  return (value >>> 2) & 0xff;
}
/** EncapsulatedPacketOffsets.TransportIpHeaderRelativeOffset. */
export function transportIpHeaderRelativeOffset(value: number): number {
  return (value >>> 10) & 0x3f;
}
/** EncapsulatedPacketOffsets.TcpHeaderRelativeOffset. */
export function tcpHeaderRelativeOffset(value: number): number {
  return (value >>> 16) & 0x3ff;
}
