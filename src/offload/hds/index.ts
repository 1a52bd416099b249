/**
 * Header-data split (NDIS 6.1) in software: where a header-data split provider may split a received
 * Ethernet frame ("Splitting Ethernet Frames" and the pages under it), the NET_BUFFER_LIST flags it
 * must set ("Setting NET_BUFFER_LIST Information"), building the split NET_BUFFER (a header MDL and
 * a data MDL preceded by backfill), and a checker of split and unsplit receive indications against
 * those rules, for the verifier and for tests.
 *
 * Split points, in order of preference:
 * - TCP with no options or the timestamp option alone (or other options when the adapter supports
 *   them): at the TCP payload (SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD | IS_TCP);
 * - UDP: at the UDP payload first (… | IS_UDP);
 * - otherwise — TCP with unsupported options, a first fragment, ICMP and other upper layers — at
 *   the upper-layer header (SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER), if that fits MaxHeaderSize;
 * - an IPv4 fragment without the upper-layer header, TCP or UDP: at its payload;
 * - never: non-IP frames, frames with VLAN tags in the data, unsupported IPv4 options or IPv6
 *   extension headers, IPsec, IPv6 fragments without the upper-layer header, malformed headers,
 *   or a header portion larger than MaxHeaderSize.
 */
import { NDIS_NBL_FLAGS } from '../../nbl/flags.js';
import type { Mdl } from '../../nbl/mdl.js';
import type { NetBuffer } from '../../nbl/net-buffer.js';
import type { NetBufferList } from '../../nbl/net-buffer-list.js';
import { DataPointer, getDataBuffer } from '../../nbl/data.js';
import { copyBytes } from '../../nbl/bytes.js';
import { IPPROTO_AH, IPPROTO_ESP, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ip.js';
import { FrameLayout, L3, L4, TcpOptionsKind, parseFrame } from '../layout.js';

/** NDIS_HD_SPLIT_CAPS_* (HardwareCapabilities / CurrentCapabilities). */
export const NDIS_HD_SPLIT_CAPS = {
  SUPPORTS_HEADER_DATA_SPLIT: 0x00000001,
  SUPPORTS_IPV4_OPTIONS: 0x00000002,
  SUPPORTS_IPV6_EXTENSION_HEADERS: 0x00000004,
  SUPPORTS_TCP_OPTIONS: 0x00000008,
} as const;
/** NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT (HDSplitFlags, set by NDIS). */
export const NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT = 0x00000001;
/** NDIS_HD_SPLIT_COMBINE_ALL_HEADERS (NDIS_HD_SPLIT_PARAMETERS.HDSplitCombineFlags). */
export const NDIS_HD_SPLIT_COMBINE_ALL_HEADERS = 0x00000001;

// What NDIS fills in NDIS_HD_SPLIT_ATTRIBUTES lives with the runtime (NdisMSetMiniportAttributes
// calls it); re-exported here beside the provider's engine.
export { NDIS_HD_SPLIT_DEFAULT_BACKFILL_SIZE, NDIS_HD_SPLIT_DEFAULT_MAX_HEADER_SIZE, ndisNegotiateHdSplit } from '../../ndis/offload-answers.js';

/** The NBL flags header-data split concerns. */
const F = NDIS_NBL_FLAGS;
/** Every flag the split rules govern. */
export const HDS_NBL_FLAGS_MASK =
  F.HD_SPLIT | F.IS_IPV4 | F.IS_IPV6 | F.IS_TCP | F.IS_UDP | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD;

/** Where to split a frame: `split` bytes of header (0 = do not split) and the NBL flags to set. */
export class HdsDecision {
  /** Bytes from the frame start to the data portion; 0 when the frame is not split. */
  declare split: number;
  /** NblFlags: IS_* always (accurate), HD_SPLIT and SPLIT_AT_* when split. */
  declare flags: number;

  constructor() {
    this.split = 0;
    this.flags = 0;
  }
}

/** The IS_IPV4/IS_IPV6/IS_TCP/IS_UDP flags that describe `l` accurately. */
export function classificationFlags(l: FrameLayout): number {
  if (!l.isIp) return 0;
  let f = l.l3 === L3.Ipv4 ? F.IS_IPV4 : F.IS_IPV6;
  if (l.l4Offset >= 0 && l.reason === 0) {
    if (l.l4 === L4.Tcp) f |= F.IS_TCP;
    else if (l.l4 === L4.Udp) f |= F.IS_UDP;
  } else if (l.laterFragment && l.l3 === L3.Ipv4) {
    // An IPv4 fragment without the upper header still carries that protocol's data.
    if (l.l4Protocol === IPPROTO_TCP) f |= F.IS_TCP;
    else if (l.l4Protocol === IPPROTO_UDP) f |= F.IS_UDP;
  }
  return f;
}

/**
 * Decides where a header-data split provider with capabilities `caps` (NDIS_HD_SPLIT_CAPS_*) and
 * header buffers of `maxHeaderSize` bytes splits the frame described by `l` (parseFrame).
 */
export function decideHdsSplit(l: FrameLayout, caps: number, maxHeaderSize: number, out: HdsDecision): HdsDecision {
  out.split = 0;
  out.flags = classificationFlags(l);
  if (!l.isIp || l.reason !== 0) return out;
  // The header portion never holds VLAN tags: a provider strips them into the OOB first.
  if (l.vlanCount > 0) return out;
  if (l.ipsec || (l.l3 === L3.Ipv4 && (l.l4Protocol === IPPROTO_AH || l.l4Protocol === IPPROTO_ESP))) return out;
  if (l.ipv4Options && (caps & NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV4_OPTIONS) === 0) return out;
  if (l.ipv6ExtensionHeaders && (caps & NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV6_EXTENSION_HEADERS) === 0) return out;
  const base = l.frameOffset;
  if (l.laterFragment) {
    // IPv4 fragment without the upper-layer header: at its payload (TCP/UDP only) or not at all;
    // an IPv6 one is never split.
    if (l.l3 !== L3.Ipv4 || (l.l4Protocol !== IPPROTO_TCP && l.l4Protocol !== IPPROTO_UDP)) return out;
    const at = l.l3Offset + l.ipHeaderLength - base;
    if (at > maxHeaderSize || l.l3Offset + l.ipHeaderLength >= l.frameEnd) return out;
    out.split = at;
    out.flags |= F.HD_SPLIT | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD;
    return out;
  }
  if (l.l4Offset < 0) return out;
  const atHeader = l.l4Offset - base;
  const atPayload = l.l4Offset + l.l4HeaderLength - base;
  let payloadOk = false;
  if (!l.fragment && atPayload < l.frameEnd - base) {
    if (l.l4 === L4.Tcp) {
      payloadOk = l.tcpOptions !== TcpOptionsKind.Other || (caps & NDIS_HD_SPLIT_CAPS.SUPPORTS_TCP_OPTIONS) !== 0;
    } else if (l.l4 === L4.Udp) {
      payloadOk = true;
    }
  }
  if (payloadOk && atPayload <= maxHeaderSize) {
    out.split = atPayload;
    out.flags |= F.HD_SPLIT | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD;
    return out;
  }
  if (atHeader <= maxHeaderSize && atHeader > 0) {
    out.split = atHeader;
    out.flags |= F.HD_SPLIT | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER;
  }
  return out;
}

/**
 * Builds the NET_BUFFER of a split frame: the first `split` bytes of `frame[offset..offset+length)`
 * go to `headerMdl` (from its start), the rest to `dataMdl` (from its start: the MDL must describe
 * the data buffer after its backfill). Both MDLs' byteCount are set to the bytes they hold, the
 * chain is header → data, and DataPhysicalAddress names the data portion. Returns the NET_BUFFER.
 */
export function buildSplitNetBuffer(nb: NetBuffer, frame: Uint8Array, offset: number, length: number, split: number, headerMdl: Mdl, dataMdl: Mdl): NetBuffer {
  copyBytes(headerMdl.buffer, headerMdl.byteOffset, frame, offset, split);
  copyBytes(dataMdl.buffer, dataMdl.byteOffset, frame, offset + split, length - split);
  headerMdl.byteCount = split;
  dataMdl.byteCount = length - split;
  headerMdl.next = dataMdl;
  dataMdl.next = null;
  nb.mdlChain = headerMdl;
  nb.currentMdl = headerMdl;
  nb.currentMdlOffset = 0;
  nb.dataOffset = 0;
  nb.dataLength = length;
  nb.dataPhysicalAddress = dataMdl.buffer.byteOffset + dataMdl.byteOffset;
  return nb;
}

/** Outcomes of {@link checkHdsReceive}: 0, or the rule a receive indication breaks. */
export const HdsCheck = {
  Ok: 0,
  /** An Ethernet receive NBL must hold exactly one NET_BUFFER. */
  NotOneNetBuffer: 1,
  /** IS_IPV4 and IS_IPV6 both set, or IS_TCP and IS_UDP both set. */
  ExclusiveFlags: 2,
  /** IS_TCP or IS_UDP without an IP flag. */
  TransportWithoutIp: 3,
  /** SPLIT_AT_…_HEADER and SPLIT_AT_…_PAYLOAD both set, or either without HD_SPLIT, or HD_SPLIT with neither. */
  SplitFlags: 4,
  /** SPLIT_AT_…_PAYLOAD without IS_TCP or IS_UDP. */
  PayloadSplitWithoutTransport: 5,
  /** An IS_* flag does not describe the frame. */
  InaccurateFlags: 6,
  /** An unsplit frame whose first MDL holds less than the lookahead (or the whole frame). */
  LookaheadNotContiguous: 7,
  /** A split at the upper-layer header must have exactly two MDLs, the first holding the headers. */
  SplitMdlLayout: 8,
  /** The split is not where the flags say (upper-layer header / TCP or UDP payload) or not allowed there. */
  SplitPoint: 9,
  /** The header portion is larger than MaxHeaderSize. */
  HeaderTooLarge: 10,
  /** Less backfill before the data portion than BackfillSize, or backfill across a page boundary. */
  Backfill: 11,
  /** The frame was split although the combine-all-headers setting asks for whole frames. */
  SplitWhileCombined: 12,
} as const;

const CHECK_TEXT: readonly string[] = [
  'ok',
  'an Ethernet receive NET_BUFFER_LIST must hold exactly one NET_BUFFER',
  'NDIS_NBL_FLAGS_IS_IPV4/IS_IPV6 or IS_TCP/IS_UDP set together',
  'NDIS_NBL_FLAGS_IS_TCP or IS_UDP set without IS_IPV4 or IS_IPV6',
  'split flags inconsistent: HD_SPLIT needs exactly one of SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER / _PAYLOAD, and they need HD_SPLIT',
  'SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD without IS_TCP or IS_UDP',
  'an IS_* flag does not match the frame',
  'the first MDL of an unsplit frame must hold the lookahead size or the whole frame',
  'a split NET_BUFFER must start its first MDL at the MAC header and end it at the split point (two MDLs at the upper-layer header)',
  'the split is not at a point the header-data split rules allow for this frame',
  'the header portion is larger than MaxHeaderSize',
  'the data portion lacks BackfillSize bytes of backfill in the same page',
  'a frame was split while NDIS_HD_SPLIT_COMBINE_ALL_HEADERS is set',
];

/** Human text for an {@link HdsCheck}. */
export function describeHdsCheck(code: number): string {
  return CHECK_TEXT[code] ?? `unknown header-data split check ${code}`;
}

// The verifier's receive rules (src/verifier/rules/receive.ts) that each HdsCheck breaks.
const RULE_OF_CHECK: readonly string[] = ['', 'RX-002', 'RX-006', 'RX-006', 'RX-006', 'RX-006', 'RX-006', 'RX-005', 'RX-007', 'RX-007', 'RX-007', 'RX-007', 'RX-007'];

/** The verifier rule id (RX-00n) an {@link HdsCheck} breaks, for reports. */
export function hdsRuleId(code: number): string {
  return RULE_OF_CHECK[code] ?? 'RX-007';
}

/** What the checker needs to know about the adapter's configuration. */
export interface HdsCheckConfig {
  /** OID_GEN_CURRENT_LOOKAHEAD. */
  lookahead: number;
  /** MaxHeaderSize (0 when header-data split is not enabled). */
  maxHeaderSize: number;
  /** BackfillSize (0: not checked). */
  backfillSize: number;
  /** The provider's current capabilities (which options it may split past). */
  capabilities: number;
  /** NDIS_HD_SPLIT_COMBINE_ALL_HEADERS is set. */
  combineAllHeaders: boolean;
}

const PAGE = 4096;

/** Scratch of the checker (a frame copy and layouts). */
export class HdsCheckScratch {
  readonly layout = new FrameLayout();
  readonly pointer = new DataPointer();
  readonly storage = new Uint8Array(65_536 + 128);
}

/**
 * Checks one received NET_BUFFER_LIST against the Ethernet receive and header-data split rules
 * (flag algebra, lookahead contiguity of unsplit frames, legal split points, MaxHeaderSize,
 * backfill). Returns an {@link HdsCheck}.
 */
export function checkHdsReceive(nbl: NetBufferList, cfg: HdsCheckConfig, s: HdsCheckScratch): number {
  const nb = nbl.firstNetBuffer;
  if (nb === null || nb.next !== null) return HdsCheck.NotOneNetBuffer;
  const f = nbl.nblFlags & HDS_NBL_FLAGS_MASK;
  const v4 = (f & F.IS_IPV4) !== 0;
  const v6 = (f & F.IS_IPV6) !== 0;
  const tcp = (f & F.IS_TCP) !== 0;
  const udp = (f & F.IS_UDP) !== 0;
  const split = (f & F.HD_SPLIT) !== 0;
  const atHeader = (f & F.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER) !== 0;
  const atPayload = (f & F.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD) !== 0;
  if ((v4 && v6) || (tcp && udp)) return HdsCheck.ExclusiveFlags;
  if ((tcp || udp) && !v4 && !v6) return HdsCheck.TransportWithoutIp;
  if ((atHeader && atPayload) || (split && !atHeader && !atPayload) || (!split && (atHeader || atPayload))) return HdsCheck.SplitFlags;
  if (atPayload && !tcp && !udp) return HdsCheck.PayloadSplitWithoutTransport;
  const len = nb.dataLength;
  if (len > s.storage.length) return HdsCheck.Ok;
  const p = getDataBuffer(nb, len, s.storage, 1, 0, s.pointer);
  if (p === null) return HdsCheck.Ok;
  const l = s.layout;
  parseFrame(p.bytes, p.offset, len, l);
  // Accuracy: a set flag must be true of the frame.
  const truth = classificationFlags(l);
  if ((f & (F.IS_IPV4 | F.IS_IPV6 | F.IS_TCP | F.IS_UDP) & ~truth) !== 0) return HdsCheck.InaccurateFlags;
  const first = nb.currentMdl;
  if (first === null) return HdsCheck.SplitMdlLayout;
  const firstHolds = first.byteCount - nb.currentMdlOffset;
  if (!split) {
    if (firstHolds < Math.min(cfg.lookahead, len)) return HdsCheck.LookaheadNotContiguous;
    return HdsCheck.Ok;
  }
  if (cfg.combineAllHeaders) return HdsCheck.SplitWhileCombined;
  // The header MDL starts at the MAC header (the current MDL at offset 0) and ends at the split.
  if (first !== nb.mdlChain || nb.currentMdlOffset !== 0 || firstHolds <= 0 || firstHolds >= len) return HdsCheck.SplitMdlLayout;
  const dataMdl = first.next;
  if (dataMdl === null) return HdsCheck.SplitMdlLayout;
  if (atHeader && (dataMdl.next !== null || firstHolds + dataMdl.byteCount < len)) return HdsCheck.SplitMdlLayout;
  if (firstHolds > cfg.maxHeaderSize) return HdsCheck.HeaderTooLarge;
  if (!l.isIp || l.reason !== 0 || l.vlanCount > 0) return HdsCheck.SplitPoint;
  const atUlp = l.l4Offset < 0 ? -1 : l.l4Offset - l.frameOffset;
  if (atHeader) {
    if (firstHolds !== atUlp) return HdsCheck.SplitPoint;
  } else {
    // At the payload: after a whole TCP/UDP header of an unfragmented packet, or after the IPv4
    // header of a later IPv4 fragment.
    let at = -1;
    if (l.laterFragment) at = l.l3 === L3.Ipv4 ? l.l3Offset + l.ipHeaderLength - l.frameOffset : -1;
    else if (!l.fragment && (l.l4 === L4.Tcp || l.l4 === L4.Udp)) at = atUlp + l.l4HeaderLength;
    if (at < 0 || firstHolds !== at) return HdsCheck.SplitPoint;
    if (l.l4 === L4.Tcp && l.tcpOptions === TcpOptionsKind.Other && (cfg.capabilities & NDIS_HD_SPLIT_CAPS.SUPPORTS_TCP_OPTIONS) === 0) return HdsCheck.SplitPoint;
  }
  if (l.ipv4Options && (cfg.capabilities & NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV4_OPTIONS) === 0) return HdsCheck.SplitPoint;
  if (l.ipv6ExtensionHeaders && (cfg.capabilities & NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV6_EXTENSION_HEADERS) === 0) return HdsCheck.SplitPoint;
  if (l.ipsec || (l.laterFragment && l.l3 === L3.Ipv6)) return HdsCheck.SplitPoint;
  if (cfg.backfillSize > 0) {
    const addr = dataMdl.buffer.byteOffset + dataMdl.byteOffset;
    const inPage = addr % PAGE;
    if (inPage < cfg.backfillSize) return HdsCheck.Backfill;
  }
  return HdsCheck.Ok;
}
