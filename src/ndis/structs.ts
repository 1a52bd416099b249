/**
 * Binary codecs for structures that travel in OID InformationBuffers and status indication buffers,
 * in NDIS's little-endian x64 layout, each starting with an NDIS_OBJECT_HEADER.
 */
import { NDIS_OBJECT_TYPE } from './constants.js';

/** NDIS_OBJECT_HEADER: Type (UCHAR), Revision (UCHAR), Size (USHORT). */
export interface NdisObjectHeader {
  type: number;
  revision: number;
  size: number;
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Writes an NDIS_OBJECT_HEADER at `offset`. */
export function writeObjectHeader(b: Uint8Array, offset: number, h: NdisObjectHeader): void {
  b[offset] = h.type;
  b[offset + 1] = h.revision;
  dv(b).setUint16(offset + 2, h.size, true);
}

/** Reads an NDIS_OBJECT_HEADER at `offset`. */
export function readObjectHeader(b: Uint8Array, offset = 0): NdisObjectHeader {
  return { type: b[offset]!, revision: b[offset + 1]!, size: dv(b).getUint16(offset + 2, true) };
}

/** NDIS_LINK_STATE (revision 1, 40 bytes). */
export interface NdisLinkState {
  mediaConnectState: number;
  mediaDuplexState: number;
  /** bits per second */
  xmitLinkSpeed: number;
  /** bits per second */
  rcvLinkSpeed: number;
  pauseFunctions: number;
  autoNegotiationFlags: number;
}

export const NDIS_LINK_STATE_REVISION_1 = 1;
export const NDIS_SIZEOF_LINK_STATE_REVISION_1 = 40;

/** Encodes NDIS_LINK_STATE. */
export function encodeLinkState(s: NdisLinkState): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_LINK_STATE_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_LINK_STATE_REVISION_1, size: NDIS_SIZEOF_LINK_STATE_REVISION_1 });
  v.setUint32(4, s.mediaConnectState, true);
  v.setUint32(8, s.mediaDuplexState, true);
  v.setBigUint64(16, BigInt(Math.floor(s.xmitLinkSpeed)), true);
  v.setBigUint64(24, BigInt(Math.floor(s.rcvLinkSpeed)), true);
  v.setUint32(32, s.pauseFunctions, true);
  v.setUint32(36, s.autoNegotiationFlags, true);
  return b;
}

/** Decodes NDIS_LINK_STATE, or null when the buffer is too short or the header is wrong. */
export function decodeLinkState(b: Uint8Array): NdisLinkState | null {
  if (b.length < NDIS_SIZEOF_LINK_STATE_REVISION_1) return null;
  const h = readObjectHeader(b);
  if (h.type !== NDIS_OBJECT_TYPE.DEFAULT || h.revision < NDIS_LINK_STATE_REVISION_1) return null;
  const v = dv(b);
  return {
    mediaConnectState: v.getUint32(4, true),
    mediaDuplexState: v.getUint32(8, true),
    xmitLinkSpeed: Number(v.getBigUint64(16, true)),
    rcvLinkSpeed: Number(v.getBigUint64(24, true)),
    pauseFunctions: v.getUint32(32, true),
    autoNegotiationFlags: v.getUint32(36, true),
  };
}

/** NDIS_STATISTICS_INFO (revision 1, 152 bytes): the counters of OID_GEN_STATISTICS. */
export interface NdisStatisticsInfo {
  supportedStatistics: number;
  ifInDiscards: number;
  ifInErrors: number;
  ifHCInOctets: number;
  ifHCInUcastPkts: number;
  ifHCInMulticastPkts: number;
  ifHCInBroadcastPkts: number;
  ifHCOutOctets: number;
  ifHCOutUcastPkts: number;
  ifHCOutMulticastPkts: number;
  ifHCOutBroadcastPkts: number;
  ifOutErrors: number;
  ifOutDiscards: number;
  ifHCInUcastOctets: number;
  ifHCInMulticastOctets: number;
  ifHCInBroadcastOctets: number;
  ifHCOutUcastOctets: number;
  ifHCOutMulticastOctets: number;
  ifHCOutBroadcastOctets: number;
}

export const NDIS_STATISTICS_INFO_REVISION_1 = 1;
export const NDIS_SIZEOF_STATISTICS_INFO_REVISION_1 = 152;

const STAT_FIELDS: readonly (keyof NdisStatisticsInfo)[] = [
  'ifInDiscards',
  'ifInErrors',
  'ifHCInOctets',
  'ifHCInUcastPkts',
  'ifHCInMulticastPkts',
  'ifHCInBroadcastPkts',
  'ifHCOutOctets',
  'ifHCOutUcastPkts',
  'ifHCOutMulticastPkts',
  'ifHCOutBroadcastPkts',
  'ifOutErrors',
  'ifOutDiscards',
  'ifHCInUcastOctets',
  'ifHCInMulticastOctets',
  'ifHCInBroadcastOctets',
  'ifHCOutUcastOctets',
  'ifHCOutMulticastOctets',
  'ifHCOutBroadcastOctets',
];

/** A zeroed NdisStatisticsInfo. */
export function emptyStatistics(supported = 0): NdisStatisticsInfo {
  const s = { supportedStatistics: supported } as NdisStatisticsInfo;
  for (const f of STAT_FIELDS) s[f] = 0;
  return s;
}

/** Encodes NDIS_STATISTICS_INFO. */
export function encodeStatistics(s: NdisStatisticsInfo): Uint8Array {
  const b = new Uint8Array(NDIS_SIZEOF_STATISTICS_INFO_REVISION_1);
  const v = dv(b);
  writeObjectHeader(b, 0, { type: NDIS_OBJECT_TYPE.DEFAULT, revision: NDIS_STATISTICS_INFO_REVISION_1, size: NDIS_SIZEOF_STATISTICS_INFO_REVISION_1 });
  v.setUint32(4, s.supportedStatistics >>> 0, true);
  STAT_FIELDS.forEach((f, i) => v.setBigUint64(8 + 8 * i, BigInt(Math.floor(s[f])), true));
  return b;
}

/** Decodes NDIS_STATISTICS_INFO, or null when too short. */
export function decodeStatistics(b: Uint8Array): NdisStatisticsInfo | null {
  if (b.length < NDIS_SIZEOF_STATISTICS_INFO_REVISION_1) return null;
  const v = dv(b);
  const s = emptyStatistics(v.getUint32(4, true));
  STAT_FIELDS.forEach((f, i) => {
    s[f] = Number(v.getBigUint64(8 + 8 * i, true));
  });
  return s;
}

/** Encodes a list of 6-byte MAC addresses (OID_802_3_MULTICAST_LIST). */
export function encodeMacList(list: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(list.length * 6);
  list.forEach((m, i) => b.set(m.subarray(0, 6), i * 6));
  return b;
}

/** Decodes a list of 6-byte MAC addresses; null when the length is not a multiple of 6. */
export function decodeMacList(b: Uint8Array, length = b.length): Uint8Array[] | null {
  if (length % 6 !== 0) return null;
  const out: Uint8Array[] = [];
  for (let i = 0; i < length; i += 6) out.push(b.slice(i, i + 6));
  return out;
}
