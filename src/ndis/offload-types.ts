/**
 * The task-offload and hardware-assist structures a miniport reports and NDIS hands to bindings:
 * NDIS_OFFLOAD (checksum, LSO v1/v2, encapsulated-packet task offload), NDIS_HD_SPLIT_ATTRIBUTES,
 * NDIS_RECEIVE_SCALE_CAPABILITIES and the receive-filter (VMQ) capabilities. They are in-memory
 * structures passed by pointer in NDIS, so here they are plain objects with NDIS's field names.
 */

/** NDIS_OFFLOAD_SUPPORTED / NDIS_OFFLOAD_NOT_SUPPORTED and the NDIS_OFFLOAD_SET_* values. */
export const NDIS_OFFLOAD_NOT_SUPPORTED = 0;
export const NDIS_OFFLOAD_SUPPORTED = 1;

/** NDIS_ENCAPSULATION_* (Encapsulation fields). */
export const NDIS_ENCAPSULATION = {
  NOT_SUPPORTED: 0x00000000,
  NULL: 0x00000001,
  IEEE_802_3: 0x00000002,
  IEEE_802_3_P_AND_Q: 0x00000004,
  IEEE_802_3_P_AND_Q_IN_OOB: 0x00000008,
  IEEE_LLC_SNAP_ROUTED: 0x00000010,
} as const;

/** One direction of NDIS_TCP_IP_CHECKSUM_OFFLOAD for IPv4. */
export interface ChecksumOffloadIPv4 {
  encapsulation: number;
  ipOptionsSupported: number;
  tcpOptionsSupported: number;
  tcpChecksum: number;
  udpChecksum: number;
  ipChecksum: number;
}

/** One direction of NDIS_TCP_IP_CHECKSUM_OFFLOAD for IPv6. */
export interface ChecksumOffloadIPv6 {
  encapsulation: number;
  ipExtensionHeadersSupported: number;
  tcpOptionsSupported: number;
  tcpChecksum: number;
  udpChecksum: number;
}

/** NDIS_TCP_IP_CHECKSUM_OFFLOAD. */
export interface NdisTcpIpChecksumOffload {
  ipv4Transmit: ChecksumOffloadIPv4;
  ipv4Receive: ChecksumOffloadIPv4;
  ipv6Transmit: ChecksumOffloadIPv6;
  ipv6Receive: ChecksumOffloadIPv6;
}

/** NDIS_TCP_LARGE_SEND_OFFLOAD_V1. */
export interface NdisTcpLargeSendOffloadV1 {
  ipv4: { encapsulation: number; maxOffLoadSize: number; minSegmentCount: number; tcpOptions: number; ipOptions: number };
}

/** NDIS_TCP_LARGE_SEND_OFFLOAD_V2. */
export interface NdisTcpLargeSendOffloadV2 {
  ipv4: { encapsulation: number; maxOffLoadSize: number; minSegmentCount: number };
  ipv6: { encapsulation: number; maxOffLoadSize: number; minSegmentCount: number; ipExtensionHeadersSupported: number; tcpOptionsSupported: number };
}

/** NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD (NVGRE, NDIS 6.30). */
export interface NdisEncapsulatedPacketTaskOffload {
  transmitChecksumOffloadSupported: number;
  receiveChecksumOffloadSupported: number;
  lsoV2Supported: number;
  rssSupported: number;
  vmqSupported: number;
  maxHeaderSizeSupported: number;
}

/** NDIS_OFFLOAD: the task offloads of an adapter (capabilities or current configuration). */
export interface NdisOffload {
  checksum: NdisTcpIpChecksumOffload;
  lsoV1: NdisTcpLargeSendOffloadV1;
  lsoV2: NdisTcpLargeSendOffloadV2;
  flags: number;
  encapsulatedPacketTaskOffloadGre: NdisEncapsulatedPacketTaskOffload;
  /** NDIS_ENCAPSULATION_TYPE_GRE_MAC (0x1) and friends. */
  encapsulationTypes: number;
}

/** An NDIS_OFFLOAD with nothing supported. */
export function emptyOffload(): NdisOffload {
  const v4 = (): ChecksumOffloadIPv4 => ({ encapsulation: 0, ipOptionsSupported: 0, tcpOptionsSupported: 0, tcpChecksum: 0, udpChecksum: 0, ipChecksum: 0 });
  const v6 = (): ChecksumOffloadIPv6 => ({ encapsulation: 0, ipExtensionHeadersSupported: 0, tcpOptionsSupported: 0, tcpChecksum: 0, udpChecksum: 0 });
  return {
    checksum: { ipv4Transmit: v4(), ipv4Receive: v4(), ipv6Transmit: v6(), ipv6Receive: v6() },
    lsoV1: { ipv4: { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0, tcpOptions: 0, ipOptions: 0 } },
    lsoV2: {
      ipv4: { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0 },
      ipv6: { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0, ipExtensionHeadersSupported: 0, tcpOptionsSupported: 0 },
    },
    flags: 0,
    encapsulatedPacketTaskOffloadGre: {
      transmitChecksumOffloadSupported: 0,
      receiveChecksumOffloadSupported: 0,
      lsoV2Supported: 0,
      rssSupported: 0,
      vmqSupported: 0,
      maxHeaderSizeSupported: 0,
    },
    encapsulationTypes: 0,
  };
}

/** A deep copy of an NDIS_OFFLOAD. */
export function cloneOffload(o: NdisOffload): NdisOffload {
  return structuredClone(o);
}
