/**
 * Large Send Offload in software ("Offloading the Segmentation of Large TCP Packets"): a large TCP
 * send described by NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO (LSOv1 or LSOv2) is cut into
 * segments of MSS payload bytes (the last may be shorter), each with the MAC, IP and TCP headers of
 * the template copied unaltered (options and extension headers included) and then fixed up:
 *
 * - IP length fields per segment; IPv4 identification incremented from the template's value (LSOv2
 *   keeps it inside 0x0000-0x7FFF: 0x7FFE, 0x7FFF, 0x0000, ...); IPv4 header checksum;
 * - TCP sequence number advanced by the payload before the segment; FIN and PSH only on the last
 *   segment, CWR only on the first; the TCP checksum over the segment's own pseudo-header;
 * - for an NVGRE packet (IsEncapsulatedPacket): the tunnel IP header's length, identification and
 *   checksum too, and the transport IP header and TCP header inside ("Supporting NVGRE in Large Send
 *   Offload").
 *
 * {@link LsoSegmenter.begin} also checks the send rules an LSO NET_BUFFER_LIST must follow and
 * returns an {@link LsoResult} naming the first one broken.
 */
import {
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE,
  encapsulatedOffsetsValid,
  innerFrameOffset,
  isEncapsulatedPacket,
  lsoIpVersion,
  lsoMss,
  lsoTcpHeaderOffset,
  lsoType,
  lsoV1CompleteValue,
  lsoV2CompleteValue,
  tcpHeaderRelativeOffset,
  transportIpHeaderRelativeOffset,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6,
} from '../../nbl/info.js';
import { copyOutOfNetBuffer } from '../../nbl/data.js';
import { copyBytes } from '../../nbl/bytes.js';
import type { NetBuffer } from '../../nbl/net-buffer.js';
import type { NetBufferList } from '../../nbl/net-buffer-list.js';
import type { NetBufferListPool } from '../../nbl/pool.js';
import { getU16, getU32, setU16, setU32 } from '../../wire/bytes.js';
import { onesComplementSum } from '../../wire/checksum.js';
import { IPPROTO_TCP } from '../../wire/ip.js';
import { FrameLayout, L3, L4, parseFrame } from '../layout.js';
import { fillIpv4HeaderChecksum, pseudoHeaderSumOf } from '../checksum/index.js';

/** Outcomes of {@link LsoSegmenter.begin}: Ok, or the send rule the NET_BUFFER_LIST breaks. */
export const LsoResult = {
  Ok: 0,
  /** The NBL carries no LSO information. */
  NotLso: 1,
  /** An LSO NBL must hold exactly one NET_BUFFER. */
  MultipleNetBuffers: 2,
  /** The Ethernet, IP and TCP headers must all be in the first MDL. */
  HeadersNotInFirstMdl: 3,
  /** MSS is 0. */
  ZeroMss: 4,
  /** The frame is not IPv4/IPv6 + TCP, or cannot be parsed. */
  NotTcp: 5,
  /** LSOv2: the IPv4 Total Length must be 0 (the length comes from the NET_BUFFER). */
  V2TotalLengthNotZero: 6,
  /** LSOv1: the IPv4 Total Length must cover the whole large packet. */
  V1TotalLengthWrong: 7,
  /** MF set or a fragment offset: the large packet must not be a fragment. */
  Fragment: 8,
  /** SYN, RST or URG set, or a non-zero urgent pointer. */
  ForbiddenTcpFlags: 9,
  /** TcpHeaderOffset (or the NVGRE offsets) do not point at the TCP header. */
  TcpHeaderOffsetWrong: 10,
  /** The TCP payload is larger than MaxOffLoadSize. */
  TooLarge: 11,
  /** Fewer segments than MinSegmentCount. */
  TooFewSegments: 12,
  /** LSOv1 carries IPv4 only; LSOv2's IPVersion must match the packet. */
  WrongIpVersion: 13,
  /** The offload is not enabled in the current configuration. */
  NotEnabled: 14,
  /** A segment would not fit the MTU (or the buffers it is written to). */
  SegmentTooLarge: 15,
  /** The pool ran out of NET_BUFFER_LISTs while segmenting. */
  NoResources: 16,
} as const;

const RESULT_TEXT: readonly string[] = [
  'ok',
  'no LSO information in the NET_BUFFER_LIST',
  'an LSO NET_BUFFER_LIST must hold exactly one NET_BUFFER',
  'the Ethernet, IP and TCP headers must all be in the first MDL',
  'MSS is 0',
  'the large packet is not TCP over IPv4/IPv6, or its headers cannot be parsed',
  'LSOv2: the IPv4 Total Length must be 0',
  'LSOv1: the IPv4 Total Length must be the length of the whole large packet',
  'the large packet must not be an IP fragment (MF set or fragment offset non-zero)',
  'SYN, RST and URG must be clear and the urgent pointer 0 in a large send',
  'TcpHeaderOffset does not point at the TCP header',
  'the TCP payload is larger than MaxOffLoadSize',
  'the large send yields fewer segments than MinSegmentCount',
  'the IP version does not match the LSO type (LSOv1 is IPv4 only) or the LSOv2 IPVersion',
  'large send offload of this kind is not enabled',
  'MSS plus the headers exceeds the MTU or the segment buffers',
  'out of NET_BUFFER_LISTs while segmenting',
];

/** Human text for an {@link LsoResult}. */
export function describeLsoResult(code: number): string {
  return RESULT_TEXT[code] ?? `unknown LSO result ${code}`;
}

// The verifier's send rules (src/verifier/rules/send.ts) that each LsoResult breaks.
const RULE_OF_RESULT: readonly string[] = [
  '', // Ok
  'TX-006', // NotLso: no information, nothing to check
  'TX-001', // one NET_BUFFER
  'TX-003', // headers in the first MDL
  'TX-006', // MSS 0
  'TX-004', // not TCP
  'TX-002', // LSOv2 Total Length
  'TX-002', // LSOv1 Total Length
  'TX-004', // fragment
  'TX-004', // SYN/RST/URG
  'TX-003', // TcpHeaderOffset
  'TX-006', // MaxOffLoadSize
  'TX-006', // MinSegmentCount
  'TX-002', // IP version vs LSO type
  'TX-006', // not enabled
  'TX-006', // MTU
  'TX-006', // out of resources
];

/** The verifier rule id (TX-00n) an {@link LsoResult} breaks, for reports. */
export function lsoRuleId(code: number): string {
  return RULE_OF_RESULT[code] ?? 'TX-006';
}

/** Limits of the current configuration that a send must respect (NDIS_TCP_LARGE_SEND_OFFLOAD_V1/V2). */
export interface LsoLimits {
  /** LSOv1 IPv4 enabled, LSOv2 IPv4 enabled, LSOv2 IPv6 enabled. */
  v1Ipv4: boolean;
  v2Ipv4: boolean;
  v2Ipv6: boolean;
  /** MaxOffLoadSize (bytes of TCP payload) and MinSegmentCount. */
  maxOffLoadSize: number;
  minSegmentCount: number;
  /** The MTU: IP header + TCP header + MSS must fit (0: no check). */
  mtu: number;
  /** Encapsulated (NVGRE) LSOv2 enabled. */
  encapsulated: boolean;
}

/** Limits that allow every well-formed large send (for tests and tools). */
export const LSO_NO_LIMITS: LsoLimits = Object.freeze({
  v1Ipv4: true,
  v2Ipv4: true,
  v2Ipv6: true,
  maxOffLoadSize: 0x3fffffff,
  minSegmentCount: 1,
  mtu: 0,
  encapsulated: true,
});

/** The largest header block (Ethernet + tags + outer IP + GRE + inner Ethernet + IP + TCP) handled. */
export const LSO_MAX_HEADER_LENGTH = 512;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_URG = 0x20;
const TCP_CWR = 0x80;

/** Next IPv4 identification: incremented, kept in 0x0000-0x7FFF for LSOv2 when it started there. */
function ipIdAt(id0: number, i: number, v2: boolean): number {
  return v2 && id0 <= 0x7fff ? (id0 + i) & 0x7fff : (id0 + i) & 0xffff;
}

/**
 * Cuts one large TCP send into segments, one at a time, into caller memory. Reusable and
 * allocation-free after construction: `begin` per large send, then `next` until it returns 0.
 */
export class LsoSegmenter {
  /** The headers of the large send, with their length fields made whole, and the frame parse. */
  private declare readonly template: Uint8Array;
  readonly layout = new FrameLayout();
  readonly inner = new FrameLayout();
  private source: NetBuffer | null = null;
  private headerLength = 0;
  private payloadStart = 0;
  private payloadEnd = 0;
  private mssValue = 0;
  private v2 = false;
  private encapsulated = false;
  private seq0 = 0;
  private tcpFlags0 = 0;
  private ipId0 = 0;
  private outerIpId0 = 0;
  private index = 0;
  private count = 0;
  private v1FrameLength = 0;

  constructor() {
    // Large enough for parseFrame to accept the whole frame's lengths; only the headers are in it.
    this.template = new Uint8Array(LSO_MAX_HEADER_LENGTH + 0x40000);
  }

  /** Segments of the current send. */
  get segmentCount(): number {
    return this.count;
  }

  /** TCP payload bytes of the current send (LsoV1TransmitComplete.TcpPayload when all are sent). */
  get payloadLength(): number {
    return this.payloadEnd - this.payloadStart;
  }

  /** Bytes of headers each segment carries. */
  get segmentHeaderLength(): number {
    return this.headerLength;
  }

  /** MSS of the current send. */
  get mss(): number {
    return this.mssValue;
  }

  /**
   * Prepares to segment the one NET_BUFFER `nb` of a large send whose LSO information is `info`
   * (TcpLargeSendNetBufferListInfo) and supplemental information `encapsulation`
   * (TcpSendOffloadsSupplementalNetBufferListInfo, 0 when none), within `limits`. Returns
   * {@link LsoResult.Ok} or the first send rule broken (nothing is then segmented).
   */
  begin(nb: NetBuffer, info: number, encapsulation: number, limits: LsoLimits): number {
    this.source = null;
    this.count = 0;
    this.index = 0;
    if (info === 0) return LsoResult.NotLso;
    const mss = lsoMss(info);
    if (mss === 0) return LsoResult.ZeroMss;
    const v2 = lsoType(info) === NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE;
    const encap = isEncapsulatedPacket(encapsulation);
    const len = nb.dataLength;
    // The headers must be in the first MDL (the one holding the data start).
    const mdl = nb.currentMdl;
    if (mdl === null) return LsoResult.HeadersNotInFirstMdl;
    const firstLen = Math.min(mdl.byteCount - nb.currentMdlOffset, len);
    const t = this.template;
    const copyLen = Math.min(firstLen, LSO_MAX_HEADER_LENGTH);
    copyOutOfNetBuffer(nb, 0, t, 0, copyLen);
    // Nothing of an earlier send may show through past what this one's first MDL holds.
    t.fill(0, copyLen, LSO_MAX_HEADER_LENGTH);
    const short = firstLen < Math.min(len, LSO_MAX_HEADER_LENGTH);
    // Make the lengths whole so the template parses: LSOv2 leaves them 0.
    const l = this.layout;
    let frameLen = len;
    const r0 = this.fixLengths(t, copyLen, len, v2);
    if (r0 === LsoResult.NotTcp && short) return LsoResult.HeadersNotInFirstMdl;
    if (r0 !== LsoResult.Ok) return r0;
    if (!v2) frameLen = this.v1FrameLength;
    parseFrame(t, 0, frameLen, l);
    if (!l.isIp || (l.l4 !== L4.Tcp && !l.nvgre)) return short ? LsoResult.HeadersNotInFirstMdl : LsoResult.NotTcp;
    let tcp = l;
    if (encap) {
      if (!v2) return LsoResult.WrongIpVersion;
      if (!limits.encapsulated) return LsoResult.NotEnabled;
      if (!l.nvgre) return LsoResult.NotTcp;
      const inner = this.inner;
      parseFrame(t, l.innerFrameOffset, l.ipEnd - l.innerFrameOffset, inner);
      if (!inner.isIp || inner.l4 !== L4.Tcp || inner.reason !== 0) return short ? LsoResult.HeadersNotInFirstMdl : LsoResult.NotTcp;
      if (encapsulatedOffsetsValid(encapsulation)) {
        if (innerFrameOffset(encapsulation) !== inner.frameOffset || inner.frameOffset + transportIpHeaderRelativeOffset(encapsulation) !== inner.l3Offset) {
          return LsoResult.TcpHeaderOffsetWrong;
        }
        if (inner.l3Offset + tcpHeaderRelativeOffset(encapsulation) !== inner.l4Offset) return LsoResult.TcpHeaderOffsetWrong;
      }
      if (inner.fragment || l.fragment) return LsoResult.Fragment;
      tcp = inner;
    } else {
      if (l.l4 !== L4.Tcp || l.reason !== 0) return short ? LsoResult.HeadersNotInFirstMdl : LsoResult.NotTcp;
      if (l.fragment) return LsoResult.Fragment;
      const declared = lsoTcpHeaderOffset(info);
      if (declared !== l.l4Offset) return LsoResult.TcpHeaderOffsetWrong;
      if (v2) {
        const want = lsoIpVersion(info) === NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 ? L3.Ipv4 : L3.Ipv6;
        if (want !== l.l3) return LsoResult.WrongIpVersion;
        if (l.l3 === L3.Ipv4 ? !limits.v2Ipv4 : !limits.v2Ipv6) return LsoResult.NotEnabled;
      } else {
        if (l.l3 !== L3.Ipv4) return LsoResult.WrongIpVersion;
        if (!limits.v1Ipv4) return LsoResult.NotEnabled;
      }
    }
    const headerLength = tcp.l4Offset + tcp.l4HeaderLength;
    if (headerLength > firstLen) return LsoResult.HeadersNotInFirstMdl;
    if (headerLength > LSO_MAX_HEADER_LENGTH) return LsoResult.NotTcp;
    const flags = t[tcp.l4Offset + 13]!;
    if ((flags & (TCP_SYN | TCP_RST | TCP_URG)) !== 0 || getU16(t, tcp.l4Offset + 18) !== 0) return LsoResult.ForbiddenTcpFlags;
    // LSOv2 takes the length of the NET_BUFFER; LSOv1 that of the IPv4 Total Length.
    const payloadEnd = v2 ? len : tcp.ipEnd;
    const payload = payloadEnd - headerLength;
    if (payload > limits.maxOffLoadSize) return LsoResult.TooLarge;
    const count = payload === 0 ? 1 : Math.ceil(payload / mss);
    if (count < limits.minSegmentCount) return LsoResult.TooFewSegments;
    if (limits.mtu > 0 && headerLength - l.l3Offset + Math.min(mss, payload) > limits.mtu) return LsoResult.SegmentTooLarge;
    this.source = nb;
    this.headerLength = headerLength;
    this.payloadStart = headerLength;
    this.payloadEnd = payloadEnd;
    this.mssValue = mss;
    this.v2 = v2;
    this.encapsulated = encap;
    this.seq0 = getU32(t, tcp.l4Offset + 4);
    this.tcpFlags0 = flags;
    this.ipId0 = tcp.l3 === L3.Ipv4 ? getU16(t, tcp.l3Offset + 4) : 0;
    this.outerIpId0 = encap && l.l3 === L3.Ipv4 ? getU16(t, l.l3Offset + 4) : 0;
    this.count = count;
    return LsoResult.Ok;
  }

  /**
   * Fills in the template's IP length fields: LSOv2 sends carry 0 there (the length is the
   * NET_BUFFER's); LSOv1 IPv4 carries the whole length, which is checked. For NVGRE the tunnel and
   * transport headers are both fixed.
   */
  private fixLengths(t: Uint8Array, copyLen: number, len: number, v2: boolean): number {
    // Find the first IP header without trusting lengths: Ethernet + tags.
    let p = 12;
    while (p + 4 <= copyLen && (getU16(t, p) === 0x8100 || getU16(t, p) === 0x88a8)) p += 4;
    if (p + 2 > copyLen) return LsoResult.NotTcp;
    const type = getU16(t, p);
    const ip = p + 2;
    this.v1FrameLength = len;
    if (type === 0x0800) {
      if (ip + 20 > copyLen) return LsoResult.NotTcp;
      const total = getU16(t, ip + 2);
      if (v2) {
        if (total !== 0) return LsoResult.V2TotalLengthNotZero;
        // A large send may pass 64 KiB: the template only needs a length its headers fit in.
        setU16(t, ip + 2, Math.min(len - ip, 0xffff));
      } else {
        if (total < 20 || ip + total > len) return LsoResult.V1TotalLengthWrong;
        this.v1FrameLength = ip + total;
      }
      if (t[ip + 9] === 47) return this.fixInnerLengths(t, copyLen, ip + ((t[ip]! & 0x0f) << 2), len, v2);
      return LsoResult.Ok;
    }
    if (type === 0x86dd) {
      if (ip + 40 > copyLen) return LsoResult.NotTcp;
      if (!v2) return LsoResult.WrongIpVersion;
      setU16(t, ip + 4, Math.min(len - ip - 40, 0xffff));
      if (t[ip + 6] === 47) return this.fixInnerLengths(t, copyLen, ip + 40, len, v2);
      return LsoResult.Ok;
    }
    return LsoResult.NotTcp;
  }

  /** For GRE directly after the tunnel header: fixes the transport IP header's length too. */
  private fixInnerLengths(t: Uint8Array, copyLen: number, gre: number, len: number, v2: boolean): number {
    if (gre + 4 > copyLen) return LsoResult.Ok;
    const flags = getU16(t, gre);
    let p = gre + 4 + ((flags & 0x8000) !== 0 ? 4 : 0) + ((flags & 0x2000) !== 0 ? 4 : 0) + ((flags & 0x1000) !== 0 ? 4 : 0);
    p += 12;
    while (p + 4 <= copyLen && (getU16(t, p) === 0x8100 || getU16(t, p) === 0x88a8)) p += 4;
    if (p + 2 > copyLen) return LsoResult.Ok;
    const type = getU16(t, p);
    const ip = p + 2;
    if (type === 0x0800 && ip + 20 <= copyLen) {
      if (v2 && getU16(t, ip + 2) === 0) setU16(t, ip + 2, Math.min(len - ip, 0xffff));
    } else if (type === 0x86dd && ip + 40 <= copyLen) {
      if (v2 && getU16(t, ip + 4) === 0) setU16(t, ip + 4, Math.min(len - ip - 40, 0xffff));
    }
    return LsoResult.Ok;
  }

  /**
   * Writes the next segment at `dst[dstOffset..]` (room for the headers plus MSS bytes needed) and
   * returns its length, or 0 when every segment has been produced.
   */
  next(dst: Uint8Array, dstOffset: number): number {
    const nb = this.source;
    if (nb === null || this.index >= this.count) return 0;
    const i = this.index++;
    const last = i === this.count - 1;
    const hl = this.headerLength;
    const start = this.payloadStart + i * this.mssValue;
    const n = last ? this.payloadEnd - start : this.mssValue;
    const t = this.template;
    // Headers from the template (lengths fixed below), payload from the NET_BUFFER.
    copyBytes(dst, dstOffset, t, 0, hl);
    copyOutOfNetBuffer(nb, start, dst, dstOffset + hl, n);
    const segLen = hl + n;
    const outer = this.layout;
    const tcp = this.encapsulated ? this.inner : outer;
    if (this.encapsulated) {
      this.fixIp(dst, dstOffset, outer, segLen, ipIdAt(this.outerIpId0, i, true));
    }
    this.fixIp(dst, dstOffset, tcp, segLen, ipIdAt(this.ipId0, i, this.v2));
    const th = dstOffset + tcp.l4Offset;
    setU32(dst, th + 4, (this.seq0 + i * this.mssValue) >>> 0);
    let flags = this.tcpFlags0;
    if (!last) flags &= ~(TCP_FIN | TCP_PSH);
    if (i !== 0) flags &= ~TCP_CWR;
    dst[th + 13] = flags;
    const tcpLen = segLen - tcp.l4Offset;
    setU16(dst, th + 16, 0);
    // The pseudo-header sum reads the addresses from the segment itself (same offsets).
    const ps = pseudoAt(dst, dstOffset, tcp, tcpLen);
    setU16(dst, th + 16, ~onesComplementSum(dst, th, tcpLen, ps) & 0xffff);
    return segLen;
  }

  /** Sets an IP header's length field (and IPv4 identification and checksum) for a segment. */
  private fixIp(dst: Uint8Array, base: number, l: FrameLayout, segLen: number, id: number): void {
    const ip = base + l.l3Offset;
    if (l.l3 === L3.Ipv4) {
      setU16(dst, ip + 2, segLen - l.l3Offset);
      setU16(dst, ip + 4, id);
      fillIpv4HeaderChecksum(dst, ip, l.ipHeaderLength);
    } else {
      setU16(dst, ip + 4, segLen - l.l3Offset - 40);
    }
  }
}

const shifted = new FrameLayout();

/** The TCP pseudo-header sum for a segment at `base` whose layout offsets are relative to 0. */
function pseudoAt(b: Uint8Array, base: number, l: FrameLayout, tcpLen: number): number {
  if (base === 0) return pseudoHeaderSumOf(b, l, IPPROTO_TCP, tcpLen);
  shifted.l3 = l.l3;
  shifted.srcOffset = base + l.srcOffset;
  shifted.dstOffset = base + l.dstOffset;
  shifted.routingType2AddressOffset = l.routingType2AddressOffset < 0 ? -1 : base + l.routingType2AddressOffset;
  return pseudoHeaderSumOf(b, shifted, IPPROTO_TCP, tcpLen);
}

/**
 * Writes the LSO completion information NDIS requires before NdisMSendNetBufferListsComplete:
 * LSOv1 — LsoV1TransmitComplete.TcpPayload, the TCP payload bytes sent; LSOv2 —
 * LsoV2TransmitComplete with Reserved 0 and Type NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE.
 */
export function completeLso(nbl: NetBufferList, tcpPayloadSent: number): void {
  const slot = NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo;
  const info = nbl.netBufferListInfo[slot]!;
  nbl.netBufferListInfo[slot] = lsoType(info) === NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE ? lsoV2CompleteValue() : lsoV1CompleteValue(tcpPayloadSent);
}

/**
 * Checks the send rules of an LSO NET_BUFFER_LIST that do not need the segmenter (one NET_BUFFER)
 * and runs {@link LsoSegmenter.begin} for the rest. Returns an {@link LsoResult}.
 */
export function checkLsoNetBufferList(nbl: NetBufferList, limits: LsoLimits, segmenter: LsoSegmenter): number {
  const info = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!;
  if (info === 0) return LsoResult.NotLso;
  const nb = nbl.firstNetBuffer;
  if (nb === null || nb.next !== null) return LsoResult.MultipleNetBuffers;
  return segmenter.begin(nb, info, nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpSendOffloadsSupplementalNetBufferListInfo]!, limits);
}

/**
 * Segments a large-send NET_BUFFER_LIST into a chain of new NBLs from `pool` (which must have
 * fAllocateNetBuffer and a DataSize of at least headers + MSS), one segment per NBL, in order.
 * Returns the chain, or null (having freed what it took) when the NBL breaks a send rule — see
 * `out.result` — or the pool runs dry. `segmenter` is reused scratch.
 */
export function segmentLso(
  nbl: NetBufferList,
  pool: NetBufferListPool,
  segmenter: LsoSegmenter,
  limits: LsoLimits = LSO_NO_LIMITS,
  out: { result: number } = { result: 0 },
): NetBufferList | null {
  const r = checkLsoNetBufferList(nbl, limits, segmenter);
  out.result = r;
  if (r !== LsoResult.Ok) return null;
  if (pool.dataSize < segmenter.segmentHeaderLength + Math.min(segmenter.mss, segmenter.payloadLength)) {
    out.result = LsoResult.SegmentTooLarge;
    return null;
  }
  let head: NetBufferList | null = null;
  let tail: NetBufferList | null = null;
  for (;;) {
    const seg = pool.allocateNetBufferList();
    if (seg === null) break;
    const nb = seg.firstNetBuffer!;
    const mdl = nb.mdlChain!;
    const n = segmenter.next(mdl.buffer, mdl.byteOffset);
    if (n === 0) {
      pool.freeNetBufferList(seg);
      return head;
    }
    nb.dataLength = n;
    seg.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
    if (tail === null) head = seg;
    else tail.next = seg;
    tail = seg;
  }
  // Out of NBLs: give back what was built.
  out.result = LsoResult.NoResources;
  let x = head;
  while (x !== null) {
    const next: NetBufferList | null = x.next;
    pool.freeNetBufferList(x);
    x = next;
  }
  return null;
}

export { NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6 };
