/**
 * Binary codecs for the structures of the offload and hardware-assist OIDs and status indications,
 * in NDIS's little-endian x64 layout (offsets as the ntddndis.h declarations lay them out; bit
 * fields allocated from the low bit of their ULONG), each starting with an NDIS_OBJECT_HEADER:
 *
 * - NDIS_OFFLOAD (OID_TCP_OFFLOAD_CURRENT_CONFIG, OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
 *   NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG), NDIS_OFFLOAD_PARAMETERS (OID_TCP_OFFLOAD_PARAMETERS),
 *   NDIS_OFFLOAD_ENCAPSULATION (OID_OFFLOAD_ENCAPSULATION);
 * - NDIS_RECEIVE_SCALE_CAPABILITIES, NDIS_RECEIVE_SCALE_PARAMETERS with its indirection table and
 *   secret key at their offsets (OID_GEN_RECEIVE_SCALE_*), NDIS_RECEIVE_HASH_PARAMETERS;
 * - NDIS_HD_SPLIT_ATTRIBUTES, NDIS_HD_SPLIT_PARAMETERS, NDIS_HD_SPLIT_CURRENT_CONFIG;
 * - NDIS_RECEIVE_FILTER_CAPABILITIES, NDIS_RECEIVE_QUEUE_PARAMETERS,
 *   NDIS_RECEIVE_QUEUE_FREE_PARAMETERS, NDIS_RECEIVE_FILTER_PARAMETERS with its
 *   NDIS_RECEIVE_FILTER_FIELD_PARAMETERS array, NDIS_RECEIVE_FILTER_CLEAR_PARAMETERS,
 *   NDIS_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY / _PARAMETERS, NDIS_RECEIVE_QUEUE_STATE.
 *
 * Decoders never throw: they return the decoded record, or an NDIS_STATUS saying why not
 * (NDIS_STATUS_INVALID_LENGTH when the buffer is too short — `neededLength` tells how much — or
 * NDIS_STATUS_INVALID_PARAMETER for a wrong header or offsets outside the buffer).
 */
import { NDIS_STATUS } from '../base/status.js';
import { NDIS_OBJECT_TYPE } from './constants.js';
import { emptyOffload, type NdisOffload } from './offload-types.js';
import { readObjectHeader, writeObjectHeader } from './structs.js';

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The result of a decoder: the record, or an NDIS_STATUS. */
export type Decoded<T> = T | number;

/** True when a {@link Decoded} value is a failure status. */
export function isDecodeError<T>(d: Decoded<T>): d is number {
  return typeof d === 'number';
}

/** Header check shared by decoders. */
function checkHeader(b: Uint8Array, length: number, type: number, minSize: number): number {
  if (length < minSize || b.length < minSize) return NDIS_STATUS.INVALID_LENGTH;
  const h = readObjectHeader(b, 0);
  if (h.type !== type || h.revision < 1 || h.size < minSize) return NDIS_STATUS.INVALID_PARAMETER;
  return NDIS_STATUS.SUCCESS;
}

// =============================================================================================
// NDIS_OFFLOAD
// =============================================================================================

/** NDIS_OFFLOAD_REVISION_1 .. _4. */
export const NDIS_OFFLOAD_REVISION_1 = 1;
export const NDIS_OFFLOAD_REVISION_2 = 2;
export const NDIS_OFFLOAD_REVISION_3 = 3;
export const NDIS_OFFLOAD_REVISION_4 = 4;
/** NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1: through Flags. */
export const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1 = 112;
/** NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_2: through IPsecV2. */
export const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_2 = 144;
/** NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3: through EncapsulatedPacketTaskOffloadGre (NDIS 6.30). */
export const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3 = 156;
/** NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_4: through EncapsulationTypes. */
export const NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_4 = 177;

/** NDIS_ENCAPSULATION_TYPE_GRE_MAC / _VXLAN (EncapsulationTypes). */
export const NDIS_ENCAPSULATION_TYPE_GRE_MAC = 0x00000001;
export const NDIS_ENCAPSULATION_TYPE_VXLAN = 0x00000002;
/** NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD_* (the 4-bit capability fields). */
export const NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD = {
  NOT_SUPPORTED: 0x0,
  INNER_IPV4: 0x1,
  OUTER_IPV4: 0x2,
  INNER_IPV6: 0x4,
  OUTER_IPV6: 0x8,
} as const;

// Field offsets of NDIS_OFFLOAD (x64).
const OFF_CSUM = 4; // 4 x (Encapsulation, bits): IPv4Transmit, IPv4Receive, IPv6Transmit, IPv6Receive
const OFF_LSOV1 = 36; // Encapsulation, MaxOffLoadSize, MinSegmentCount, bits
const OFF_LSOV2 = 80; // IPv4 {Encapsulation, Max, Min} IPv6 {Encapsulation, Max, Min, bits}
const OFF_FLAGS = 108;
const OFF_GRE = 148; // bits, MaxHeaderSizeSupported
const OFF_ENCAP_TYPES = 176;

function bits2(v: number, shift: number): number {
  return (v >>> shift) & 3;
}

/** Encodes an NDIS_OFFLOAD at `revision` (1 to 4; default 3, the NDIS 6.30 structure). */
export function encodeOffload(o: NdisOffload, revision = NDIS_OFFLOAD_REVISION_3): Uint8Array {
  const size = [0, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_2, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_4][revision];
  if (size === undefined || size === 0) throw new RangeError(`NDIS_OFFLOAD revision ${revision} is not one of 1-4`);
  const b = new Uint8Array(size);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.OFFLOAD, revision, size });
  const c = o.checksum;
  const v4 = (x: typeof c.ipv4Transmit): number =>
    (x.ipOptionsSupported & 3) | ((x.tcpOptionsSupported & 3) << 2) | ((x.tcpChecksum & 3) << 4) | ((x.udpChecksum & 3) << 6) | ((x.ipChecksum & 3) << 8);
  const v6 = (x: typeof c.ipv6Transmit): number =>
    (x.ipExtensionHeadersSupported & 3) | ((x.tcpOptionsSupported & 3) << 2) | ((x.tcpChecksum & 3) << 4) | ((x.udpChecksum & 3) << 6);
  v.setUint32(OFF_CSUM, c.ipv4Transmit.encapsulation, true);
  v.setUint32(OFF_CSUM + 4, v4(c.ipv4Transmit), true);
  v.setUint32(OFF_CSUM + 8, c.ipv4Receive.encapsulation, true);
  v.setUint32(OFF_CSUM + 12, v4(c.ipv4Receive), true);
  v.setUint32(OFF_CSUM + 16, c.ipv6Transmit.encapsulation, true);
  v.setUint32(OFF_CSUM + 20, v6(c.ipv6Transmit), true);
  v.setUint32(OFF_CSUM + 24, c.ipv6Receive.encapsulation, true);
  v.setUint32(OFF_CSUM + 28, v6(c.ipv6Receive), true);
  const l1 = o.lsoV1.ipv4;
  v.setUint32(OFF_LSOV1, l1.encapsulation, true);
  v.setUint32(OFF_LSOV1 + 4, l1.maxOffLoadSize, true);
  v.setUint32(OFF_LSOV1 + 8, l1.minSegmentCount, true);
  v.setUint32(OFF_LSOV1 + 12, (l1.tcpOptions & 3) | ((l1.ipOptions & 3) << 2), true);
  const l2 = o.lsoV2;
  v.setUint32(OFF_LSOV2, l2.ipv4.encapsulation, true);
  v.setUint32(OFF_LSOV2 + 4, l2.ipv4.maxOffLoadSize, true);
  v.setUint32(OFF_LSOV2 + 8, l2.ipv4.minSegmentCount, true);
  v.setUint32(OFF_LSOV2 + 12, l2.ipv6.encapsulation, true);
  v.setUint32(OFF_LSOV2 + 16, l2.ipv6.maxOffLoadSize, true);
  v.setUint32(OFF_LSOV2 + 20, l2.ipv6.minSegmentCount, true);
  v.setUint32(OFF_LSOV2 + 24, (l2.ipv6.ipExtensionHeadersSupported & 3) | ((l2.ipv6.tcpOptionsSupported & 3) << 2), true);
  v.setUint32(OFF_FLAGS, o.flags >>> 0, true);
  if (revision >= NDIS_OFFLOAD_REVISION_3) {
    const g = o.encapsulatedPacketTaskOffloadGre;
    v.setUint32(
      OFF_GRE,
      ((g.transmitChecksumOffloadSupported & 15) |
        ((g.receiveChecksumOffloadSupported & 15) << 4) |
        ((g.lsoV2Supported & 15) << 8) |
        ((g.rssSupported & 15) << 12) |
        ((g.vmqSupported & 15) << 16)) >>>
        0,
      true,
    );
    v.setUint32(OFF_GRE + 4, g.maxHeaderSizeSupported, true);
  }
  if (revision >= NDIS_OFFLOAD_REVISION_4) b[OFF_ENCAP_TYPES] = o.encapsulationTypes & 0xff;
  return b;
}

/** Decodes an NDIS_OFFLOAD (revision 1 or later; fields past the revision's size stay zero). */
export function decodeOffload(b: Uint8Array, length = b.length): Decoded<NdisOffload> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.OFFLOAD, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const size = Math.min(readObjectHeader(b).size, length, b.length);
  const v = dv(b);
  const o = emptyOffload();
  const c = o.checksum;
  const rd4 = (off: number, x: typeof c.ipv4Transmit): void => {
    x.encapsulation = v.getUint32(off, true);
    const w = v.getUint32(off + 4, true);
    x.ipOptionsSupported = bits2(w, 0);
    x.tcpOptionsSupported = bits2(w, 2);
    x.tcpChecksum = bits2(w, 4);
    x.udpChecksum = bits2(w, 6);
    x.ipChecksum = bits2(w, 8);
  };
  const rd6 = (off: number, x: typeof c.ipv6Transmit): void => {
    x.encapsulation = v.getUint32(off, true);
    const w = v.getUint32(off + 4, true);
    x.ipExtensionHeadersSupported = bits2(w, 0);
    x.tcpOptionsSupported = bits2(w, 2);
    x.tcpChecksum = bits2(w, 4);
    x.udpChecksum = bits2(w, 6);
  };
  rd4(OFF_CSUM, c.ipv4Transmit);
  rd4(OFF_CSUM + 8, c.ipv4Receive);
  rd6(OFF_CSUM + 16, c.ipv6Transmit);
  rd6(OFF_CSUM + 24, c.ipv6Receive);
  const l1 = o.lsoV1.ipv4;
  l1.encapsulation = v.getUint32(OFF_LSOV1, true);
  l1.maxOffLoadSize = v.getUint32(OFF_LSOV1 + 4, true);
  l1.minSegmentCount = v.getUint32(OFF_LSOV1 + 8, true);
  const l1b = v.getUint32(OFF_LSOV1 + 12, true);
  l1.tcpOptions = bits2(l1b, 0);
  l1.ipOptions = bits2(l1b, 2);
  const l2 = o.lsoV2;
  l2.ipv4.encapsulation = v.getUint32(OFF_LSOV2, true);
  l2.ipv4.maxOffLoadSize = v.getUint32(OFF_LSOV2 + 4, true);
  l2.ipv4.minSegmentCount = v.getUint32(OFF_LSOV2 + 8, true);
  l2.ipv6.encapsulation = v.getUint32(OFF_LSOV2 + 12, true);
  l2.ipv6.maxOffLoadSize = v.getUint32(OFF_LSOV2 + 16, true);
  l2.ipv6.minSegmentCount = v.getUint32(OFF_LSOV2 + 20, true);
  const l2b = v.getUint32(OFF_LSOV2 + 24, true);
  l2.ipv6.ipExtensionHeadersSupported = bits2(l2b, 0);
  l2.ipv6.tcpOptionsSupported = bits2(l2b, 2);
  o.flags = v.getUint32(OFF_FLAGS, true);
  if (size >= NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3) {
    const w = v.getUint32(OFF_GRE, true);
    const g = o.encapsulatedPacketTaskOffloadGre;
    g.transmitChecksumOffloadSupported = w & 15;
    g.receiveChecksumOffloadSupported = (w >>> 4) & 15;
    g.lsoV2Supported = (w >>> 8) & 15;
    g.rssSupported = (w >>> 12) & 15;
    g.vmqSupported = (w >>> 16) & 15;
    g.maxHeaderSizeSupported = v.getUint32(OFF_GRE + 4, true);
  }
  if (size >= NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_4) o.encapsulationTypes = b[OFF_ENCAP_TYPES]!;
  return o;
}

// =============================================================================================
// NDIS_OFFLOAD_PARAMETERS
// =============================================================================================

/** NDIS_OFFLOAD_PARAMETERS_REVISION_1 .. _3 and their sizes (through Flags, IPsecV2IPv4, EncapsulationTypes). */
export const NDIS_OFFLOAD_PARAMETERS_REVISION_1 = 1;
export const NDIS_OFFLOAD_PARAMETERS_REVISION_2 = 2;
export const NDIS_OFFLOAD_PARAMETERS_REVISION_3 = 3;
export const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1 = 20;
export const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_2 = 22;
export const NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3 = 26;

/** Values of the checksum members of NDIS_OFFLOAD_PARAMETERS. */
export const NDIS_OFFLOAD_PARAMETERS = {
  NO_CHANGE: 0,
  TX_RX_DISABLED: 1,
  TX_ENABLED_RX_DISABLED: 2,
  RX_ENABLED_TX_DISABLED: 3,
  TX_RX_ENABLED: 4,
  /** LsoV1 / LsoV2IPv4 / LsoV2IPv6 / Rsc values. */
  LSOV1_DISABLED: 1,
  LSOV1_ENABLED: 2,
  LSOV2_DISABLED: 1,
  LSOV2_ENABLED: 2,
} as const;
/** NDIS_OFFLOAD_SET_NO_CHANGE / _ON / _OFF (EncapsulatedPacketTaskOffload, OID_OFFLOAD_ENCAPSULATION.Enabled). */
export const NDIS_OFFLOAD_SET_NO_CHANGE = 0;
export const NDIS_OFFLOAD_SET_ON = 1;
export const NDIS_OFFLOAD_SET_OFF = 2;

/** NDIS_OFFLOAD_PARAMETERS, decoded. */
export interface NdisOffloadParameters {
  revision: number;
  ipv4Checksum: number;
  tcpIpv4Checksum: number;
  udpIpv4Checksum: number;
  tcpIpv6Checksum: number;
  udpIpv6Checksum: number;
  lsoV1: number;
  ipsecV1: number;
  lsoV2Ipv4: number;
  lsoV2Ipv6: number;
  tcpConnectionIpv4: number;
  tcpConnectionIpv6: number;
  flags: number;
  ipsecV2: number;
  ipsecV2Ipv4: number;
  rscIpv4: number;
  rscIpv6: number;
  encapsulatedPacketTaskOffload: number;
  encapsulationTypes: number;
}

/** An NDIS_OFFLOAD_PARAMETERS that changes nothing. */
export function noChangeOffloadParameters(): NdisOffloadParameters {
  return {
    revision: NDIS_OFFLOAD_PARAMETERS_REVISION_3,
    ipv4Checksum: 0,
    tcpIpv4Checksum: 0,
    udpIpv4Checksum: 0,
    tcpIpv6Checksum: 0,
    udpIpv6Checksum: 0,
    lsoV1: 0,
    ipsecV1: 0,
    lsoV2Ipv4: 0,
    lsoV2Ipv6: 0,
    tcpConnectionIpv4: 0,
    tcpConnectionIpv6: 0,
    flags: 0,
    ipsecV2: 0,
    ipsecV2Ipv4: 0,
    rscIpv4: 0,
    rscIpv6: 0,
    encapsulatedPacketTaskOffload: 0,
    encapsulationTypes: 0,
  };
}

/** Encodes NDIS_OFFLOAD_PARAMETERS at its revision (1 to 3). */
export function encodeOffloadParameters(p: NdisOffloadParameters): Uint8Array {
  const size = [0, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_2, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3][p.revision];
  if (size === undefined || size === 0) throw new RangeError(`NDIS_OFFLOAD_PARAMETERS revision ${p.revision} is not one of 1-3`);
  const b = new Uint8Array(size);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: p.revision, size });
  const bytes = [p.ipv4Checksum, p.tcpIpv4Checksum, p.udpIpv4Checksum, p.tcpIpv6Checksum, p.udpIpv6Checksum, p.lsoV1, p.ipsecV1, p.lsoV2Ipv4, p.lsoV2Ipv6, p.tcpConnectionIpv4, p.tcpConnectionIpv6];
  bytes.forEach((x, i) => (b[4 + i] = x));
  dv(b).setUint32(16, p.flags >>> 0, true);
  if (p.revision >= 2) {
    b[20] = p.ipsecV2;
    b[21] = p.ipsecV2Ipv4;
  }
  if (p.revision >= 3) {
    b[22] = p.rscIpv4;
    b[23] = p.rscIpv6;
    b[24] = p.encapsulatedPacketTaskOffload;
    b[25] = p.encapsulationTypes;
  }
  return b;
}

/** Decodes NDIS_OFFLOAD_PARAMETERS (revision 1 or later; members past its size read as NO_CHANGE). */
export function decodeOffloadParameters(b: Uint8Array, length = b.length): Decoded<NdisOffloadParameters> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const h = readObjectHeader(b);
  const size = Math.min(h.size, length, b.length);
  const p = noChangeOffloadParameters();
  p.revision = h.revision;
  p.ipv4Checksum = b[4]!;
  p.tcpIpv4Checksum = b[5]!;
  p.udpIpv4Checksum = b[6]!;
  p.tcpIpv6Checksum = b[7]!;
  p.udpIpv6Checksum = b[8]!;
  p.lsoV1 = b[9]!;
  p.ipsecV1 = b[10]!;
  p.lsoV2Ipv4 = b[11]!;
  p.lsoV2Ipv6 = b[12]!;
  p.tcpConnectionIpv4 = b[13]!;
  p.tcpConnectionIpv6 = b[14]!;
  p.flags = dv(b).getUint32(16, true);
  if (h.revision >= 2 && size >= NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_2) {
    p.ipsecV2 = b[20]!;
    p.ipsecV2Ipv4 = b[21]!;
  }
  if (h.revision >= 3 && size >= NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3) {
    p.rscIpv4 = b[22]!;
    p.rscIpv6 = b[23]!;
    p.encapsulatedPacketTaskOffload = b[24]!;
    p.encapsulationTypes = b[25]!;
  }
  return p;
}

// =============================================================================================
// NDIS_OFFLOAD_ENCAPSULATION
// =============================================================================================

/** NDIS_OFFLOAD_ENCAPSULATION_REVISION_1 and its size. */
export const NDIS_OFFLOAD_ENCAPSULATION_REVISION_1 = 1;
export const NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1 = 28;

/** NDIS_OFFLOAD_ENCAPSULATION: the MAC encapsulation the protocol uses, per IP version. */
export interface NdisOffloadEncapsulation {
  ipv4: { enabled: number; encapsulationType: number; headerSize: number };
  ipv6: { enabled: number; encapsulationType: number; headerSize: number };
}

/** Encodes NDIS_OFFLOAD_ENCAPSULATION. */
export function encodeOffloadEncapsulation(e: NdisOffloadEncapsulation): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.OFFLOAD_ENCAPSULATION, revision: NDIS_OFFLOAD_ENCAPSULATION_REVISION_1, size: b.length });
  v.setUint32(4, e.ipv4.enabled, true);
  v.setUint32(8, e.ipv4.encapsulationType, true);
  v.setUint32(12, e.ipv4.headerSize, true);
  v.setUint32(16, e.ipv6.enabled, true);
  v.setUint32(20, e.ipv6.encapsulationType, true);
  v.setUint32(24, e.ipv6.headerSize, true);
  return b;
}

/** Decodes NDIS_OFFLOAD_ENCAPSULATION. */
export function decodeOffloadEncapsulation(b: Uint8Array, length = b.length): Decoded<NdisOffloadEncapsulation> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.OFFLOAD_ENCAPSULATION, NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  return {
    ipv4: { enabled: v.getUint32(4, true), encapsulationType: v.getUint32(8, true), headerSize: v.getUint32(12, true) },
    ipv6: { enabled: v.getUint32(16, true), encapsulationType: v.getUint32(20, true), headerSize: v.getUint32(24, true) },
  };
}

// =============================================================================================
// RSS
// =============================================================================================

/** NDIS_RSS_CAPS_* (NDIS_RECEIVE_SCALE_CAPABILITIES.CapabilitiesFlags). */
export const NDIS_RSS_CAPS = {
  MESSAGE_SIGNALED_INTERRUPTS: 0x01000000,
  CLASSIFICATION_AT_ISR: 0x02000000,
  CLASSIFICATION_AT_DPC: 0x04000000,
  USING_MSI_X: 0x08000000,
  RSS_AVAILABLE_ON_PORTS: 0x10000000,
  SUPPORTS_MSI_X: 0x20000000,
  HASH_TYPE_TCP_IPV4: 0x00000100,
  HASH_TYPE_TCP_IPV6: 0x00000200,
  HASH_TYPE_TCP_IPV6_EX: 0x00000400,
  HASH_TYPE_UDP_IPV4: 0x00000800,
  HASH_TYPE_UDP_IPV6: 0x00001000,
  HASH_TYPE_UDP_IPV6_EX: 0x00002000,
} as const;

/** NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_1/_2 and sizes. */
export const NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_1 = 1;
export const NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2 = 2;
export const NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_1 = 16;
export const NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2 = 18;

/** Models NDIS_RECEIVE_SCALE_CAPABILITIES (also carried in the general attributes and bind parameters). */
export interface NdisReceiveScaleCapabilities {
  capabilitiesFlags: number;
  numberOfInterruptMessages: number;
  numberOfReceiveQueues: number;
  /** NumberOfIndirectionTableEntries (revision 2, NDIS 6.30). */
  numberOfIndirectionTableEntries: number;
}

/** Encodes NDIS_RECEIVE_SCALE_CAPABILITIES (revision 2). */
export function encodeReceiveScaleCapabilities(c: NdisReceiveScaleCapabilities): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.RSS_CAPABILITIES, revision: NDIS_RECEIVE_SCALE_CAPABILITIES_REVISION_2, size: b.length });
  v.setUint32(4, c.capabilitiesFlags >>> 0, true);
  v.setUint32(8, c.numberOfInterruptMessages, true);
  v.setUint32(12, c.numberOfReceiveQueues, true);
  v.setUint16(16, c.numberOfIndirectionTableEntries, true);
  return b;
}

/** Decodes NDIS_RECEIVE_SCALE_CAPABILITIES (revision 1 or 2). */
export function decodeReceiveScaleCapabilities(b: Uint8Array, length = b.length): Decoded<NdisReceiveScaleCapabilities> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.RSS_CAPABILITIES, NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  const h = readObjectHeader(b);
  return {
    capabilitiesFlags: v.getUint32(4, true),
    numberOfInterruptMessages: v.getUint32(8, true),
    numberOfReceiveQueues: v.getUint32(12, true),
    numberOfIndirectionTableEntries: h.revision >= 2 && Math.min(length, b.length) >= 18 ? v.getUint16(16, true) : 0,
  };
}

/** NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_1 .. _3 and sizes. */
export const NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_1 = 1;
export const NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2 = 2;
export const NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_3 = 3;
export const NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1 = 28;
export const NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_2 = 40;
export const NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_3 = 44;
/** sizeof(PROCESSOR_NUMBER): Group (USHORT), Number (UCHAR), Reserved (UCHAR). */
export const SIZEOF_PROCESSOR_NUMBER = 4;

/**
 * Models NDIS_RECEIVE_SCALE_PARAMETERS with what its offsets point at: the indirection table (CCHAR
 * processor numbers in revision 1, PROCESSOR_NUMBER in revisions 2 and 3) and the secret key.
 */
export interface NdisReceiveScaleParameters {
  revision: number;
  /** NDIS_RSS_PARAM_FLAG_*. */
  flags: number;
  baseCpuNumber: number;
  hashInformation: number;
  /** Processor number of each indirection table entry (group 0). */
  indirectionTable: number[];
  secretKey: Uint8Array;
  /** DefaultProcessorNumber.Number (revision 3), -1 when absent. */
  defaultProcessor: number;
}

/**
 * Encodes NDIS_RECEIVE_SCALE_PARAMETERS followed by the indirection table and then the key, with
 * IndirectionTableOffset / HashSecretKeyOffset pointing at them.
 */
export function encodeReceiveScaleParameters(p: NdisReceiveScaleParameters): Uint8Array {
  const rev = p.revision;
  const fixed = rev >= 3 ? NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_3 : rev === 2 ? NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_2 : NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1;
  const entry = rev >= 2 ? SIZEOF_PROCESSOR_NUMBER : 1;
  const tableOffset = (fixed + 3) & ~3;
  const tableSize = p.indirectionTable.length * entry;
  const keyOffset = (tableOffset + tableSize + 3) & ~3;
  const b = new Uint8Array(keyOffset + p.secretKey.length);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.RSS_PARAMETERS, revision: rev, size: fixed });
  v.setUint16(4, p.flags, true);
  v.setUint16(6, p.baseCpuNumber, true);
  v.setUint32(8, p.hashInformation >>> 0, true);
  v.setUint16(12, tableSize, true);
  v.setUint32(16, tableOffset, true);
  v.setUint16(20, p.secretKey.length, true);
  v.setUint32(24, keyOffset, true);
  if (rev >= 3) {
    v.setUint16(40, 0, true);
    b[42] = Math.max(0, p.defaultProcessor);
  }
  p.indirectionTable.forEach((cpu, i) => {
    if (entry === 1) b[tableOffset + i] = cpu;
    else {
      v.setUint16(tableOffset + i * 4, 0, true);
      b[tableOffset + i * 4 + 2] = cpu;
    }
  });
  b.set(p.secretKey, keyOffset);
  return b;
}

/**
 * Decodes NDIS_RECEIVE_SCALE_PARAMETERS and the table and key its offsets name. INVALID_PARAMETER
 * when the header is wrong, an offset points outside the buffer, or the table size is not a whole
 * number of entries; INVALID_LENGTH when the buffer is shorter than the structure.
 */
export function decodeReceiveScaleParameters(b: Uint8Array, length = b.length): Decoded<NdisReceiveScaleParameters> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.RSS_PARAMETERS, NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const len = Math.min(length, b.length);
  const v = dv(b);
  const rev = readObjectHeader(b).revision;
  const entry = rev >= 2 ? SIZEOF_PROCESSOR_NUMBER : 1;
  const flags = v.getUint16(4, true);
  const tableSize = v.getUint16(12, true);
  const tableOffset = v.getUint32(16, true);
  const keySize = v.getUint16(20, true);
  const keyOffset = v.getUint32(24, true);
  const table: number[] = [];
  // A DISABLE_RSS set needs no table or key; the *_UNCHANGED flags make them optional too.
  const needTable = (flags & 0x0014) === 0 && tableSize > 0;
  const needKey = (flags & 0x0018) === 0 && keySize > 0;
  if (needTable) {
    if (tableSize % entry !== 0 || tableOffset < NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1 || tableOffset + tableSize > len) return NDIS_STATUS.INVALID_PARAMETER;
    for (let i = 0; i < tableSize / entry; i++) table.push(entry === 1 ? b[tableOffset + i]! : b[tableOffset + i * 4 + 2]!);
  }
  let key = new Uint8Array(0);
  if (needKey) {
    if (keyOffset < NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1 || keyOffset + keySize > len) return NDIS_STATUS.INVALID_PARAMETER;
    key = b.slice(keyOffset, keyOffset + keySize);
  }
  return {
    revision: rev,
    flags,
    baseCpuNumber: v.getUint16(6, true),
    hashInformation: v.getUint32(8, true),
    indirectionTable: table,
    secretKey: key,
    defaultProcessor: rev >= 3 && len >= NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_3 ? b[42]! : -1,
  };
}

/** NDIS_RECEIVE_HASH_PARAMETERS_REVISION_1, size, and NDIS_RECEIVE_HASH_FLAG_*. */
export const NDIS_RECEIVE_HASH_PARAMETERS_REVISION_1 = 1;
export const NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1 = 20;
export const NDIS_RECEIVE_HASH_FLAG = { ENABLE_HASH: 0x1, HASH_INFO_UNCHANGED: 0x2, HASH_KEY_UNCHANGED: 0x4 } as const;

/** Models NDIS_RECEIVE_HASH_PARAMETERS (OID_GEN_RECEIVE_HASH) with its key. */
export interface NdisReceiveHashParameters {
  flags: number;
  hashInformation: number;
  secretKey: Uint8Array;
}

/** Encodes NDIS_RECEIVE_HASH_PARAMETERS followed by the key. */
export function encodeReceiveHashParameters(p: NdisReceiveHashParameters): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1 + p.secretKey.length);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_RECEIVE_HASH_PARAMETERS_REVISION_1, size: NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1 });
  v.setUint32(4, p.flags, true);
  v.setUint32(8, p.hashInformation >>> 0, true);
  v.setUint16(12, p.secretKey.length, true);
  v.setUint32(16, NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1, true);
  b.set(p.secretKey, NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1);
  return b;
}

/** Decodes NDIS_RECEIVE_HASH_PARAMETERS and its key. */
export function decodeReceiveHashParameters(b: Uint8Array, length = b.length): Decoded<NdisReceiveHashParameters> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  const len = Math.min(length, b.length);
  const flags = v.getUint32(4, true);
  const keySize = v.getUint16(12, true);
  const keyOffset = v.getUint32(16, true);
  let key = new Uint8Array(0);
  if ((flags & NDIS_RECEIVE_HASH_FLAG.HASH_KEY_UNCHANGED) === 0 && keySize > 0) {
    if (keyOffset < NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1 || keyOffset + keySize > len) return NDIS_STATUS.INVALID_PARAMETER;
    key = b.slice(keyOffset, keyOffset + keySize);
  }
  return { flags, hashInformation: v.getUint32(8, true), secretKey: key };
}

// =============================================================================================
// Header-data split
// =============================================================================================

/** NDIS_HD_SPLIT_ATTRIBUTES_REVISION_1 and size. */
export const NDIS_HD_SPLIT_ATTRIBUTES_REVISION_1 = 1;
export const NDIS_SIZEOF_HD_SPLIT_ATTRIBUTES_REVISION_1 = 24;
/** NDIS_HD_SPLIT_PARAMETERS_REVISION_1 and size. */
export const NDIS_HD_SPLIT_PARAMETERS_REVISION_1 = 1;
export const NDIS_SIZEOF_HD_SPLIT_PARAMETERS_REVISION_1 = 8;
/** NDIS_HD_SPLIT_CURRENT_CONFIG_REVISION_1 and size. */
export const NDIS_HD_SPLIT_CURRENT_CONFIG_REVISION_1 = 1;
export const NDIS_SIZEOF_HD_SPLIT_CURRENT_CONFIG_REVISION_1 = 28;

/**
 * Models NDIS_HD_SPLIT_ATTRIBUTES (the HDSplitAttributes of the hardware-assist attributes): the
 * miniport fills the capabilities and zeroes the rest; NDIS sets HDSplitFlags, BackfillSize and
 * MaxHeaderSize, which the miniport then honours.
 */
export interface NdisHdSplitAttributes {
  hardwareCapabilities: number;
  currentCapabilities: number;
  hdSplitFlags: number;
  backfillSize: number;
  maxHeaderSize: number;
}

/** Encodes NDIS_HD_SPLIT_ATTRIBUTES. */
export function encodeHdSplitAttributes(a: NdisHdSplitAttributes): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_HD_SPLIT_ATTRIBUTES_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.HD_SPLIT_ATTRIBUTES, revision: NDIS_HD_SPLIT_ATTRIBUTES_REVISION_1, size: b.length });
  v.setUint32(4, a.hardwareCapabilities, true);
  v.setUint32(8, a.currentCapabilities, true);
  v.setUint32(12, a.hdSplitFlags, true);
  v.setUint32(16, a.backfillSize, true);
  v.setUint32(20, a.maxHeaderSize, true);
  return b;
}

/** Decodes NDIS_HD_SPLIT_ATTRIBUTES. */
export function decodeHdSplitAttributes(b: Uint8Array, length = b.length): Decoded<NdisHdSplitAttributes> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.HD_SPLIT_ATTRIBUTES, NDIS_SIZEOF_HD_SPLIT_ATTRIBUTES_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  return {
    hardwareCapabilities: v.getUint32(4, true),
    currentCapabilities: v.getUint32(8, true),
    hdSplitFlags: v.getUint32(12, true),
    backfillSize: v.getUint32(16, true),
    maxHeaderSize: v.getUint32(20, true),
  };
}

/** Models NDIS_HD_SPLIT_PARAMETERS (OID_GEN_HD_SPLIT_PARAMETERS). */
export interface NdisHdSplitParameters {
  /** HDSplitCombineFlags: NDIS_HD_SPLIT_COMBINE_ALL_HEADERS or 0. */
  hdSplitCombineFlags: number;
}

/** Encodes NDIS_HD_SPLIT_PARAMETERS. */
export function encodeHdSplitParameters(p: NdisHdSplitParameters): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_HD_SPLIT_PARAMETERS_REVISION_1);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_HD_SPLIT_PARAMETERS_REVISION_1, size: b.length });
  dv(b).setUint32(4, p.hdSplitCombineFlags, true);
  return b;
}

/** Decodes NDIS_HD_SPLIT_PARAMETERS. */
export function decodeHdSplitParameters(b: Uint8Array, length = b.length): Decoded<NdisHdSplitParameters> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_HD_SPLIT_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  return { hdSplitCombineFlags: dv(b).getUint32(4, true) };
}

/** Models NDIS_HD_SPLIT_CURRENT_CONFIG (OID_GEN_HD_SPLIT_CURRENT_CONFIG, NDIS_STATUS_HD_SPLIT_CURRENT_CONFIG). */
export interface NdisHdSplitCurrentConfig extends NdisHdSplitAttributes {
  hdSplitCombineFlags: number;
}

/** Encodes NDIS_HD_SPLIT_CURRENT_CONFIG. */
export function encodeHdSplitCurrentConfig(c: NdisHdSplitCurrentConfig): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_HD_SPLIT_CURRENT_CONFIG_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_HD_SPLIT_CURRENT_CONFIG_REVISION_1, size: b.length });
  v.setUint32(4, c.hardwareCapabilities, true);
  v.setUint32(8, c.currentCapabilities, true);
  v.setUint32(12, c.hdSplitFlags, true);
  v.setUint32(16, c.hdSplitCombineFlags, true);
  v.setUint32(20, c.backfillSize, true);
  v.setUint32(24, c.maxHeaderSize, true);
  return b;
}

/** Decodes NDIS_HD_SPLIT_CURRENT_CONFIG. */
export function decodeHdSplitCurrentConfig(b: Uint8Array, length = b.length): Decoded<NdisHdSplitCurrentConfig> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_HD_SPLIT_CURRENT_CONFIG_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  return {
    hardwareCapabilities: v.getUint32(4, true),
    currentCapabilities: v.getUint32(8, true),
    hdSplitFlags: v.getUint32(12, true),
    hdSplitCombineFlags: v.getUint32(16, true),
    backfillSize: v.getUint32(20, true),
    maxHeaderSize: v.getUint32(24, true),
  };
}

// =============================================================================================
// Receive filters and queues (VMQ)
// =============================================================================================

/** NDIS_RECEIVE_FILTER_* capability and enable flags. */
export const NDIS_RECEIVE_FILTER = {
  VMQ_FILTERS_ENABLED: 0x00000001,
  PACKET_COALESCING_FILTERS_ENABLED: 0x00000002,
  VM_QUEUES_ENABLED: 0x00000001,
  MSI_X_SUPPORTED: 0x00000001,
  VM_QUEUE_SUPPORTED: 0x00000002,
  LOOKAHEAD_SPLIT_SUPPORTED: 0x00000004,
  DYNAMIC_PROCESSOR_AFFINITY_CHANGE_SUPPORTED: 0x00000008,
  INTERRUPT_VECTOR_COALESCING_SUPPORTED: 0x00000010,
  TEST_HEADER_FIELD_EQUAL_SUPPORTED: 0x00000001,
  TEST_HEADER_FIELD_MASK_EQUAL_SUPPORTED: 0x00000002,
  TEST_HEADER_FIELD_NOT_EQUAL_SUPPORTED: 0x00000004,
  MAC_HEADER_SUPPORTED: 0x00000001,
  MAC_HEADER_DEST_ADDR_SUPPORTED: 0x00000001,
  MAC_HEADER_SOURCE_ADDR_SUPPORTED: 0x00000002,
  MAC_HEADER_PROTOCOL_SUPPORTED: 0x00000004,
  MAC_HEADER_VLAN_ID_SUPPORTED: 0x00000008,
  MAC_HEADER_PRIORITY_SUPPORTED: 0x00000010,
  MAC_HEADER_PACKET_TYPE_SUPPORTED: 0x00000020,
} as const;

/** NDIS_RECEIVE_FILTER_CAPABILITIES_REVISION_1/_2 and sizes. */
export const NDIS_RECEIVE_FILTER_CAPABILITIES_REVISION_1 = 1;
export const NDIS_RECEIVE_FILTER_CAPABILITIES_REVISION_2 = 2;
export const NDIS_SIZEOF_RECEIVE_FILTER_CAPABILITIES_REVISION_1 = 56;
export const NDIS_SIZEOF_RECEIVE_FILTER_CAPABILITIES_REVISION_2 = 84;

/** Models NDIS_RECEIVE_FILTER_CAPABILITIES (hardware and current). */
export interface NdisReceiveFilterCapabilities {
  flags: number;
  enabledFilterTypes: number;
  enabledQueueTypes: number;
  numQueues: number;
  supportedQueueProperties: number;
  supportedFilterTests: number;
  supportedHeaders: number;
  supportedMacHeaderFields: number;
  maxMacHeaderFilters: number;
  maxQueueGroups: number;
  maxQueuesPerQueueGroup: number;
  minLookaheadSplitSize: number;
  maxLookaheadSplitSize: number;
}

const FILTER_CAPS_FIELDS: readonly (keyof NdisReceiveFilterCapabilities)[] = [
  'flags',
  'enabledFilterTypes',
  'enabledQueueTypes',
  'numQueues',
  'supportedQueueProperties',
  'supportedFilterTests',
  'supportedHeaders',
  'supportedMacHeaderFields',
  'maxMacHeaderFilters',
  'maxQueueGroups',
  'maxQueuesPerQueueGroup',
  'minLookaheadSplitSize',
  'maxLookaheadSplitSize',
];

/** Encodes NDIS_RECEIVE_FILTER_CAPABILITIES (revision 2; the NDIS 6.30 members zero). */
export function encodeReceiveFilterCapabilities(c: NdisReceiveFilterCapabilities): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_RECEIVE_FILTER_CAPABILITIES_REVISION_2);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_RECEIVE_FILTER_CAPABILITIES_REVISION_2, size: b.length });
  FILTER_CAPS_FIELDS.forEach((f, i) => v.setUint32(4 + 4 * i, c[f] >>> 0, true));
  return b;
}

/** Decodes NDIS_RECEIVE_FILTER_CAPABILITIES (revision 1 or later). */
export function decodeReceiveFilterCapabilities(b: Uint8Array, length = b.length): Decoded<NdisReceiveFilterCapabilities> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_FILTER_CAPABILITIES_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  const c = {} as NdisReceiveFilterCapabilities;
  FILTER_CAPS_FIELDS.forEach((f, i) => (c[f] = v.getUint32(4 + 4 * i, true)));
  return c;
}

/** NDIS_RECEIVE_QUEUE_PARAMETERS revisions and sizes (through QueueName, InterruptCoalescingDomainId, QosSqId). */
export const NDIS_RECEIVE_QUEUE_PARAMETERS_REVISION_1 = 1;
export const NDIS_RECEIVE_QUEUE_PARAMETERS_REVISION_2 = 2;
export const NDIS_RECEIVE_QUEUE_PARAMETERS_REVISION_3 = 3;
export const NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_1 = 0x43c;
export const NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_2 = 0x444;
export const NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_3 = 0x448;
/** NDIS_RECEIVE_QUEUE_PARAMETERS_* flags. */
export const NDIS_RECEIVE_QUEUE_PARAMETERS_FLAGS = {
  PER_QUEUE_RECEIVE_INDICATION: 0x00000001,
  LOOKAHEAD_SPLIT_REQUIRED: 0x00000002,
  FLAGS_CHANGED: 0x00010000,
  PROCESSOR_AFFINITY_CHANGED: 0x00020000,
  SUGGESTED_RECV_BUFFER_NUMBERS_CHANGED: 0x00040000,
  NAME_CHANGED: 0x00080000,
} as const;
/** IF_MAX_STRING_SIZE: characters of an IF_COUNTED_STRING (NDIS_VM_NAME, NDIS_QUEUE_NAME). */
export const IF_MAX_STRING_SIZE = 256;
const COUNTED_STRING_SIZE = 2 + 2 * (IF_MAX_STRING_SIZE + 1);

/** Models NDIS_RECEIVE_QUEUE_PARAMETERS (GROUP_AFFINITY flattened to its mask and group). */
export interface NdisReceiveQueueParameters {
  revision: number;
  flags: number;
  queueType: number;
  queueId: number;
  queueGroupId: number;
  /** ProcessorAffinity.Mask (below 2^53) and .Group. */
  processorAffinity: number;
  processorGroup: number;
  numSuggestedReceiveBuffers: number;
  msixTableEntry: number;
  lookaheadSize: number;
  vmName: string;
  queueName: string;
  portId: number;
  interruptCoalescingDomainId: number;
}

function writeCountedString(b: Uint8Array, off: number, s: string): void {
  const n = Math.min(s.length, IF_MAX_STRING_SIZE);
  const v = dv(b);
  v.setUint16(off, n * 2, true);
  for (let i = 0; i < n; i++) v.setUint16(off + 2 + 2 * i, s.charCodeAt(i), true);
}

function readCountedString(b: Uint8Array, off: number): string {
  const v = dv(b);
  const bytes = Math.min(v.getUint16(off, true), IF_MAX_STRING_SIZE * 2);
  let s = '';
  for (let i = 0; i + 1 < bytes; i += 2) s += String.fromCharCode(v.getUint16(off + 2 + i, true));
  return s;
}

/** Encodes NDIS_RECEIVE_QUEUE_PARAMETERS at its revision (1 or 2). */
export function encodeReceiveQueueParameters(p: NdisReceiveQueueParameters): Uint8Array {
  const size = p.revision >= 2 ? NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_2 : NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_1;
  const b = new Uint8Array(size);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: p.revision >= 2 ? 2 : 1, size });
  v.setUint32(4, p.flags >>> 0, true);
  v.setUint32(8, p.queueType, true);
  v.setUint32(12, p.queueId, true);
  v.setUint32(16, p.queueGroupId, true);
  v.setBigUint64(0x18, BigInt(Math.floor(p.processorAffinity)), true);
  v.setUint16(0x20, p.processorGroup, true);
  v.setUint32(0x28, p.numSuggestedReceiveBuffers, true);
  v.setUint32(0x2c, p.msixTableEntry, true);
  v.setUint32(0x30, p.lookaheadSize, true);
  writeCountedString(b, 0x34, p.vmName);
  writeCountedString(b, 0x34 + COUNTED_STRING_SIZE, p.queueName);
  if (p.revision >= 2) {
    v.setUint32(0x43c, p.portId, true);
    v.setUint32(0x440, p.interruptCoalescingDomainId, true);
  }
  return b;
}

/** Decodes NDIS_RECEIVE_QUEUE_PARAMETERS (revision 1 or later). */
export function decodeReceiveQueueParameters(b: Uint8Array, length = b.length): Decoded<NdisReceiveQueueParameters> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  const h = readObjectHeader(b);
  const len = Math.min(length, b.length);
  const rev2 = h.revision >= 2 && len >= NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_2;
  return {
    revision: h.revision,
    flags: v.getUint32(4, true),
    queueType: v.getUint32(8, true),
    queueId: v.getUint32(12, true),
    queueGroupId: v.getUint32(16, true),
    processorAffinity: Number(v.getBigUint64(0x18, true) & 0x1fffffffffffffn),
    processorGroup: v.getUint16(0x20, true),
    numSuggestedReceiveBuffers: v.getUint32(0x28, true),
    msixTableEntry: v.getUint32(0x2c, true),
    lookaheadSize: v.getUint32(0x30, true),
    vmName: readCountedString(b, 0x34),
    queueName: readCountedString(b, 0x34 + COUNTED_STRING_SIZE),
    portId: rev2 ? v.getUint32(0x43c, true) : 0,
    interruptCoalescingDomainId: rev2 ? v.getUint32(0x440, true) : 0,
  };
}

/** NDIS_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1 and size. */
export const NDIS_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1 = 1;
export const NDIS_SIZEOF_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1 = 12;

/** Encodes NDIS_RECEIVE_QUEUE_FREE_PARAMETERS. */
export function encodeReceiveQueueFreeParameters(queueId: number, flags = 0): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: 1, size: b.length });
  dv(b).setUint32(4, flags, true);
  dv(b).setUint32(8, queueId, true);
  return b;
}

/** Decodes NDIS_RECEIVE_QUEUE_FREE_PARAMETERS: the QueueId. */
export function decodeReceiveQueueFreeParameters(b: Uint8Array, length = b.length): Decoded<{ flags: number; queueId: number }> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  return { flags: dv(b).getUint32(4, true), queueId: dv(b).getUint32(8, true) };
}

/** NDIS_RECEIVE_FILTER_PARAMETERS revisions and sizes. */
export const NDIS_RECEIVE_FILTER_PARAMETERS_REVISION_1 = 1;
export const NDIS_RECEIVE_FILTER_PARAMETERS_REVISION_2 = 2;
export const NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1 = 36;
export const NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_2 = 44;
/** NDIS_RECEIVE_FILTER_FIELD_PARAMETERS revisions and size. */
export const NDIS_RECEIVE_FILTER_FIELD_PARAMETERS_REVISION_1 = 1;
export const NDIS_RECEIVE_FILTER_FIELD_PARAMETERS_REVISION_2 = 2;
export const NDIS_SIZEOF_RECEIVE_FILTER_FIELD_PARAMETERS_REVISION_1 = 56;

/** Models NDIS_RECEIVE_FILTER_FIELD_PARAMETERS. */
export interface NdisReceiveFilterFieldParameters {
  flags: number;
  frameHeader: number;
  receiveFilterTest: number;
  headerField: number;
  /** FieldValue (16 bytes; a MAC in the first 6, a USHORT VLAN id in the first 2). */
  fieldValue: Uint8Array;
  /** ResultValue (the mask of a MaskEqual test). */
  resultValue: Uint8Array;
}

/** Models NDIS_RECEIVE_FILTER_PARAMETERS with its field tests. */
export interface NdisReceiveFilterParameters {
  revision: number;
  flags: number;
  filterType: number;
  queueId: number;
  filterId: number;
  requestedFilterIdBitCount: number;
  maxCoalescingDelay: number;
  vPortId: number;
  fields: NdisReceiveFilterFieldParameters[];
}

/** Encodes NDIS_RECEIVE_FILTER_PARAMETERS followed by its NDIS_RECEIVE_FILTER_FIELD_PARAMETERS array. */
export function encodeReceiveFilterParameters(p: NdisReceiveFilterParameters): Uint8Array {
  const fixed = p.revision >= 2 ? NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_2 : NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1;
  const arrayOffset = (fixed + 7) & ~7;
  const el = NDIS_SIZEOF_RECEIVE_FILTER_FIELD_PARAMETERS_REVISION_1;
  const b = new Uint8Array(arrayOffset + el * p.fields.length);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: p.revision >= 2 ? 2 : 1, size: fixed });
  v.setUint32(4, p.flags, true);
  v.setUint32(8, p.filterType, true);
  v.setUint32(12, p.queueId, true);
  v.setUint32(16, p.filterId, true);
  v.setUint32(20, arrayOffset, true);
  v.setUint32(24, p.fields.length, true);
  v.setUint32(28, el, true);
  v.setUint32(32, p.requestedFilterIdBitCount, true);
  if (p.revision >= 2) {
    v.setUint32(36, p.maxCoalescingDelay, true);
    v.setUint32(40, p.vPortId, true);
  }
  p.fields.forEach((f, i) => {
    const o = arrayOffset + i * el;
    writeObjectHeader(b, o, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_RECEIVE_FILTER_FIELD_PARAMETERS_REVISION_1, size: el });
    v.setUint32(o + 4, f.flags, true);
    v.setUint32(o + 8, f.frameHeader, true);
    v.setUint32(o + 12, f.receiveFilterTest, true);
    v.setUint32(o + 16, f.headerField, true);
    b.set(f.fieldValue.subarray(0, 16), o + 24);
    b.set(f.resultValue.subarray(0, 16), o + 40);
  });
  return b;
}

/** Decodes NDIS_RECEIVE_FILTER_PARAMETERS and its field array (bounds checked). */
export function decodeReceiveFilterParameters(b: Uint8Array, length = b.length): Decoded<NdisReceiveFilterParameters> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  const len = Math.min(length, b.length);
  const h = readObjectHeader(b);
  const arrayOffset = v.getUint32(20, true);
  const count = v.getUint32(24, true);
  const el = v.getUint32(28, true);
  const fields: NdisReceiveFilterFieldParameters[] = [];
  if (count > 0) {
    if (el < NDIS_SIZEOF_RECEIVE_FILTER_FIELD_PARAMETERS_REVISION_1 || count > 64 || arrayOffset < NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1 || arrayOffset + count * el > len) {
      return NDIS_STATUS.INVALID_PARAMETER;
    }
    for (let i = 0; i < count; i++) {
      const o = arrayOffset + i * el;
      fields.push({
        flags: v.getUint32(o + 4, true),
        frameHeader: v.getUint32(o + 8, true),
        receiveFilterTest: v.getUint32(o + 12, true),
        headerField: v.getUint32(o + 16, true),
        fieldValue: b.slice(o + 24, o + 40),
        resultValue: b.slice(o + 40, o + 56),
      });
    }
  }
  const rev2 = h.revision >= 2 && len >= NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_2;
  return {
    revision: h.revision,
    flags: v.getUint32(4, true),
    filterType: v.getUint32(8, true),
    queueId: v.getUint32(12, true),
    filterId: v.getUint32(16, true),
    requestedFilterIdBitCount: v.getUint32(32, true),
    maxCoalescingDelay: rev2 ? v.getUint32(36, true) : 0,
    vPortId: rev2 ? v.getUint32(40, true) : 0,
    fields,
  };
}

/** NDIS_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1 and size. */
export const NDIS_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1 = 1;
export const NDIS_SIZEOF_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1 = 16;

/** Encodes NDIS_RECEIVE_FILTER_CLEAR_PARAMETERS. */
export function encodeReceiveFilterClearParameters(queueId: number, filterId: number, flags = 0): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: 1, size: b.length });
  v.setUint32(4, flags, true);
  v.setUint32(8, queueId, true);
  v.setUint32(12, filterId, true);
  return b;
}

/** Decodes NDIS_RECEIVE_FILTER_CLEAR_PARAMETERS. */
export function decodeReceiveFilterClearParameters(b: Uint8Array, length = b.length): Decoded<{ flags: number; queueId: number; filterId: number }> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  return { flags: v.getUint32(4, true), queueId: v.getUint32(8, true), filterId: v.getUint32(12, true) };
}

/** NDIS_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY / _PARAMETERS revision 1 and sizes. */
export const NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY_REVISION_1 = 20;
export const NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_PARAMETERS_REVISION_1 = 16;

/** One NDIS_RECEIVE_QUEUE_ALLOCATION_COMPLETE_PARAMETERS: a queue and the status of its allocation. */
export interface NdisReceiveQueueAllocationComplete {
  flags: number;
  queueId: number;
  completionStatus: number;
}

/** Encodes NDIS_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY followed by its elements. */
export function encodeReceiveQueueAllocationCompleteArray(items: readonly NdisReceiveQueueAllocationComplete[]): Uint8Array {
  const first = NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY_REVISION_1 + 4;
  const el = NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_PARAMETERS_REVISION_1;
  const b = new Uint8Array(first + el * items.length);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: 1, size: NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY_REVISION_1 });
  v.setUint32(4, 0, true);
  v.setUint32(8, first, true);
  v.setUint32(12, items.length, true);
  v.setUint32(16, el, true);
  items.forEach((it, i) => writeAllocationComplete(b, first + i * el, it));
  return b;
}

/** Writes one NDIS_RECEIVE_QUEUE_ALLOCATION_COMPLETE_PARAMETERS at `off` (a miniport updates CompletionStatus in place). */
export function writeAllocationComplete(b: Uint8Array, off: number, it: NdisReceiveQueueAllocationComplete): void {
  const v = dv(b);
  writeObjectHeader(b, off, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: 1, size: NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_PARAMETERS_REVISION_1 });
  v.setUint32(off + 4, it.flags, true);
  v.setUint32(off + 8, it.queueId, true);
  v.setInt32(off + 12, it.completionStatus | 0, true);
}

/** Decodes the array and its elements; each element's offset in `b` is returned with it. */
export function decodeReceiveQueueAllocationCompleteArray(b: Uint8Array, length = b.length): Decoded<(NdisReceiveQueueAllocationComplete & { offset: number })[]> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_ARRAY_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  const len = Math.min(length, b.length);
  const first = v.getUint32(8, true);
  const n = v.getUint32(12, true);
  const el = v.getUint32(16, true);
  if (n > 0 && (el < NDIS_SIZEOF_RECEIVE_QUEUE_ALLOCATION_COMPLETE_PARAMETERS_REVISION_1 || n > 4096 || first < 20 || first + n * el > len)) return NDIS_STATUS.INVALID_PARAMETER;
  const out: (NdisReceiveQueueAllocationComplete & { offset: number })[] = [];
  for (let i = 0; i < n; i++) {
    const o = first + i * el;
    out.push({ offset: o, flags: v.getUint32(o + 4, true), queueId: v.getUint32(o + 8, true), completionStatus: v.getInt32(o + 12, true) });
  }
  return out;
}

/** NDIS_RECEIVE_QUEUE_STATE_REVISION_1 and size (NDIS_STATUS_RECEIVE_QUEUE_STATE). */
export const NDIS_RECEIVE_QUEUE_STATE_REVISION_1 = 1;
export const NDIS_SIZEOF_NDIS_RECEIVE_QUEUE_STATE_REVISION_1 = 16;

/** Models NDIS_RECEIVE_QUEUE_STATE. */
export interface NdisReceiveQueueState {
  flags: number;
  queueId: number;
  /** NDIS_RECEIVE_QUEUE_OPERATIONAL_STATE. */
  queueState: number;
}

/** Encodes NDIS_RECEIVE_QUEUE_STATE. */
export function encodeReceiveQueueState(s: NdisReceiveQueueState): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_NDIS_RECEIVE_QUEUE_STATE_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_RECEIVE_QUEUE_STATE_REVISION_1, size: b.length });
  v.setUint32(4, s.flags, true);
  v.setUint32(8, s.queueId, true);
  v.setUint32(12, s.queueState, true);
  return b;
}

/** Decodes NDIS_RECEIVE_QUEUE_STATE. */
export function decodeReceiveQueueState(b: Uint8Array, length = b.length): Decoded<NdisReceiveQueueState> {
  const r = checkHeader(b, length, NDIS_OBJECT_TYPE.DEFAULT, NDIS_SIZEOF_NDIS_RECEIVE_QUEUE_STATE_REVISION_1);
  if (r !== NDIS_STATUS.SUCCESS) return r;
  const v = dv(b);
  return { flags: v.getUint32(4, true), queueId: v.getUint32(8, true), queueState: v.getUint32(12, true) };
}
