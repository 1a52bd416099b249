/**
 * Where the headers of an Ethernet frame are: what a NIC's parser finds before it runs any offload.
 * One parse serves every engine (checksum, LSO, RSS, header-data split, VMQ, NVGRE): it walks the
 * VLAN tags, the IPv4 header and options or the IPv6 header and its extension headers, and the
 * TCP, UDP, ICMP or GRE header, and records offsets and facts in a reusable, fixed-shape
 * {@link FrameLayout}. Parsing allocates nothing and never throws: a frame the parser cannot follow
 * is described by a {@link LayoutReason} and the offsets found before it.
 */
import { findEthernetLayer3, EthernetLayer3, EtherType } from '../wire/ethernet.js';
import { getU16, getU32 } from '../wire/bytes.js';
import { Ipv4Packet } from '../wire/ipv4.js';
import { Ipv6HeaderWalk, walkIpv6Headers } from '../wire/ipv6.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ip.js';
import { GRE_FLAG_CHECKSUM, GRE_FLAG_KEY, GRE_FLAG_SEQUENCE, greHeaderLength } from '../wire/gre.js';
import { WireReason } from '../wire/reason.js';

/** Network-layer kinds of a frame. */
export const L3 = { None: 0, Ipv4: 1, Ipv6: 2, Arp: 3, Other: 4 } as const;
/** Transport-layer kinds of an IP packet. */
export const L4 = { None: 0, Tcp: 1, Udp: 2, Icmp: 3, Icmpv6: 4, Gre: 5, Other: 6 } as const;
/** What the TCP options area holds (the header-data split rules distinguish these). */
export const TcpOptionsKind = { None: 0, TimestampOnly: 1, Other: 2 } as const;

/** Why a parse stopped short. `Ok` means every header the frame announces was followed. */
export const LayoutReason = {
  Ok: 0,
  /** Fewer than 14 bytes, or a VLAN tag cut short. */
  EthernetTruncated: 1,
  /** The IPv4 header is malformed (see `wireReason`). */
  Ipv4Malformed: 2,
  /** The IPv6 header chain is malformed or reaches ESP (see `wireReason`). */
  Ipv6Malformed: 3,
  /** The TCP header is shorter than 20 bytes or its data offset is wrong. */
  TcpMalformed: 4,
  /** The UDP header is shorter than 8 bytes or its Length is wrong. */
  UdpMalformed: 5,
  /** The ICMP header is shorter than 4 bytes. */
  IcmpTruncated: 6,
  /** The GRE header is malformed. */
  GreMalformed: 7,
  /** An ARP packet shorter than 28 bytes. */
  ArpTruncated: 8,
} as const;

const REASON_TEXT: readonly string[] = [
  'ok',
  'Ethernet header or VLAN tag truncated',
  'malformed IPv4 header',
  'malformed IPv6 header chain',
  'malformed TCP header',
  'malformed UDP header',
  'ICMP header truncated',
  'malformed GRE header',
  'ARP packet truncated',
];

/** Human text for a {@link LayoutReason}. */
export function describeLayoutReason(reason: number): string {
  return REASON_TEXT[reason] ?? `unknown layout reason ${reason}`;
}

const ipv4View = new Ipv4Packet();
const ipv6Walk = new Ipv6HeaderWalk();
const l2 = new EthernetLayer3();

/**
 * The headers of one frame. Offsets are positions in the parsed array; -1 marks a header that is
 * absent. Reused from frame to frame: {@link parseFrame} resets every field.
 */
export class FrameLayout {
  /** LayoutReason: 0 when every header was followed. */
  reason: number = 0;
  /** The WireReason behind an IPv4/IPv6/GRE failure (0 otherwise). */
  wireReason: number = 0;
  /** Offset and end of the frame. */
  frameOffset: number = 0;
  frameEnd: number = 0;
  /** VLAN tags stepped over, and the TCI of the first two (-1 when absent). */
  vlanCount: number = 0;
  vlanTci0: number = -1;
  vlanTci1: number = -1;
  /** The EtherType after the tags, and where the network header starts. */
  etherType: number = 0;
  l3Offset: number = -1;
  /** L3 kind. */
  l3: number = L3.None;
  /** IP header length: IPv4 IHL * 4; IPv6 40 plus the extension headers before the upper header. */
  ipHeaderLength: number = 0;
  /** End of the IP datagram (Total Length / Payload Length), at most the frame end. */
  ipEnd: number = 0;
  /** IPv4 options present. */
  ipv4Options: boolean = false;
  /** IPv6 extension headers present (any, before the upper header). */
  ipv6ExtensionHeaders: boolean = false;
  /** AH or ESP present (IPsec is not an upper-layer protocol). */
  ipsec: boolean = false;
  /** A fragment (IPv4 MF or offset; IPv6 with a non-atomic fragment header). */
  fragment: boolean = false;
  /** A fragment other than the first: the upper-layer header is not in it. */
  laterFragment: boolean = false;
  /** IPv4 identification (0 for IPv6). */
  ipId: number = 0;
  /** Offsets of the source and destination addresses and their length (4 or 16). */
  srcOffset: number = -1;
  dstOffset: number = -1;
  addressLength: number = 0;
  /** IPv6: the Home Address option's address and the type 2 routing header's address, or -1. */
  homeAddressOffset: number = -1;
  routingType2AddressOffset: number = -1;
  /** The upper-layer protocol number, or -1. */
  l4Protocol: number = -1;
  /** L4 kind. */
  l4: number = L4.None;
  /** Offset of the upper-layer header (-1 when absent, e.g. in a later fragment). */
  l4Offset: number = -1;
  /** Length of the upper-layer header: TCP data offset * 4, UDP 8, ICMP 8, GRE with its options. */
  l4HeaderLength: number = 0;
  /** TcpOptionsKind of a TCP header. */
  tcpOptions: number = TcpOptionsKind.None;
  /** GRE carrying NVGRE (K set, C and S clear, protocol 0x6558): the VSID and FlowID, or -1. */
  nvgre: boolean = false;
  virtualSubnetId: number = -1;
  flowId: number = -1;
  /** Offset of the inner Ethernet frame of an NVGRE packet, or -1. */
  innerFrameOffset: number = -1;

  /** True when an IPv4 or IPv6 header was found and is well formed. */
  get isIp(): boolean {
    return (this.l3 === L3.Ipv4 || this.l3 === L3.Ipv6) && this.reason !== LayoutReason.Ipv4Malformed && this.reason !== LayoutReason.Ipv6Malformed;
  }

  /** Length of the upper-layer data (header included): ipEnd - l4Offset, or 0. */
  get l4Length(): number {
    return this.l4Offset < 0 ? 0 : this.ipEnd - this.l4Offset;
  }

  /** End of all the headers up to and including the upper-layer header (-1 without one). */
  get headersEnd(): number {
    return this.l4Offset < 0 ? -1 : this.l4Offset + this.l4HeaderLength;
  }

  /** True when the frame parsed completely. */
  get ok(): boolean {
    return this.reason === LayoutReason.Ok;
  }
}

function reset(out: FrameLayout, offset: number, length: number): void {
  out.reason = 0;
  out.wireReason = 0;
  out.frameOffset = offset;
  out.frameEnd = offset + length;
  out.vlanCount = 0;
  out.vlanTci0 = -1;
  out.vlanTci1 = -1;
  out.etherType = 0;
  out.l3Offset = -1;
  out.l3 = L3.None;
  out.ipHeaderLength = 0;
  out.ipEnd = 0;
  out.ipv4Options = false;
  out.ipv6ExtensionHeaders = false;
  out.ipsec = false;
  out.fragment = false;
  out.laterFragment = false;
  out.ipId = 0;
  out.srcOffset = -1;
  out.dstOffset = -1;
  out.addressLength = 0;
  out.homeAddressOffset = -1;
  out.routingType2AddressOffset = -1;
  out.l4Protocol = -1;
  out.l4 = L4.None;
  out.l4Offset = -1;
  out.l4HeaderLength = 0;
  out.tcpOptions = TcpOptionsKind.None;
  out.nvgre = false;
  out.virtualSubnetId = -1;
  out.flowId = -1;
  out.innerFrameOffset = -1;
}

/** Classifies the options of the TCP header at `off` (header length `hl`) without allocating. */
function tcpOptionsKind(b: Uint8Array, off: number, hl: number): number {
  if (hl <= 20) return TcpOptionsKind.None;
  let p = off + 20;
  const end = off + hl;
  let timestamp = false;
  let other = false;
  while (p < end) {
    const kind = b[p]!;
    if (kind === 0) break; // EOL: the rest is padding
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 1 >= end) return TcpOptionsKind.Other;
    const len = b[p + 1]!;
    if (len < 2 || p + len > end) return TcpOptionsKind.Other;
    if (kind === 8 && len === 10) timestamp = true;
    else other = true;
    p += len;
  }
  if (other) return TcpOptionsKind.Other;
  return timestamp ? TcpOptionsKind.TimestampOnly : TcpOptionsKind.None;
}

/** Parses the upper-layer header at out.l4Offset (inside [.., out.ipEnd)). */
function parseUpper(b: Uint8Array, out: FrameLayout): void {
  const off = out.l4Offset;
  const avail = out.ipEnd - off;
  const proto = out.l4Protocol;
  if (proto === IPPROTO_TCP) {
    out.l4 = L4.Tcp;
    if (avail < 20) {
      out.reason = LayoutReason.TcpMalformed;
      return;
    }
    const hl = (b[off + 12]! >>> 4) << 2;
    if (hl < 20 || hl > avail) {
      out.reason = LayoutReason.TcpMalformed;
      return;
    }
    out.l4HeaderLength = hl;
    out.tcpOptions = tcpOptionsKind(b, off, hl);
  } else if (proto === IPPROTO_UDP) {
    out.l4 = L4.Udp;
    if (avail < 8) {
      out.reason = LayoutReason.UdpMalformed;
      return;
    }
    const ulen = getU16(b, off + 4);
    // In a first fragment the UDP Length covers the whole datagram, not this fragment.
    if (ulen < 8 || (!out.fragment && ulen > avail)) {
      out.reason = LayoutReason.UdpMalformed;
      return;
    }
    out.l4HeaderLength = 8;
  } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    out.l4 = proto === IPPROTO_ICMP ? L4.Icmp : L4.Icmpv6;
    if (avail < 4) {
      out.reason = LayoutReason.IcmpTruncated;
      return;
    }
    out.l4HeaderLength = avail < 8 ? avail : 8;
  } else if (proto === IPPROTO_GRE) {
    out.l4 = L4.Gre;
    if (avail < 4) {
      out.reason = LayoutReason.GreMalformed;
      out.wireReason = WireReason.Truncated;
      return;
    }
    const flags = getU16(b, off);
    if ((flags & 0x0007) !== 0) {
      out.reason = LayoutReason.GreMalformed;
      out.wireReason = WireReason.GreBadVersion;
      return;
    }
    if ((flags & 0x4c00) !== 0) {
      out.reason = LayoutReason.GreMalformed;
      out.wireReason = WireReason.GreReservedBits;
      return;
    }
    const hl = greHeaderLength(flags);
    if (hl > avail) {
      out.reason = LayoutReason.GreMalformed;
      out.wireReason = WireReason.HeaderOverrun;
      return;
    }
    out.l4HeaderLength = hl;
    if ((flags & (GRE_FLAG_CHECKSUM | GRE_FLAG_KEY | GRE_FLAG_SEQUENCE)) === GRE_FLAG_KEY && getU16(b, off + 2) === EtherType.TransparentEthernetBridging) {
      const key = getU32(b, off + 4);
      out.nvgre = true;
      out.virtualSubnetId = key >>> 8;
      out.flowId = key & 0xff;
      out.innerFrameOffset = off + hl;
    }
  } else {
    out.l4 = L4.Other;
  }
}

/**
 * Parses the Ethernet frame at `bytes[offset..offset+length)` into `out`. Returns `out.reason`
 * (0 when every announced header was followed). Allocation-free; never throws.
 */
export function parseFrame(bytes: Uint8Array, offset: number, length: number, out: FrameLayout): number {
  if (offset < 0 || length < 0 || offset + length > bytes.length) length = Math.max(0, Math.min(length, bytes.length - Math.max(0, offset)));
  reset(out, offset, length);
  if (findEthernetLayer3(bytes, offset, length, l2) !== WireReason.Ok) {
    out.reason = LayoutReason.EthernetTruncated;
    return out.reason;
  }
  out.vlanCount = l2.tagCount;
  if (l2.outerTagOffset >= 0) out.vlanTci0 = getU16(bytes, l2.outerTagOffset + 2);
  if (l2.innerTagOffset >= 0) out.vlanTci1 = getU16(bytes, l2.innerTagOffset + 2);
  out.etherType = l2.etherType;
  out.l3Offset = l2.offset;
  const end = offset + length;
  const l3Len = end - l2.offset;
  if (l2.etherType === EtherType.Ipv4) {
    out.l3 = L3.Ipv4;
    const r = ipv4View.wrap(bytes, l2.offset, l3Len);
    if (r !== WireReason.Ok) {
      out.reason = LayoutReason.Ipv4Malformed;
      out.wireReason = r;
      return out.reason;
    }
    const hl = ipv4View.headerLength;
    out.ipHeaderLength = hl;
    out.ipEnd = l2.offset + ipv4View.totalLength;
    out.ipv4Options = hl > 20;
    out.ipId = ipv4View.identification;
    out.srcOffset = l2.offset + 12;
    out.dstOffset = l2.offset + 16;
    out.addressLength = 4;
    out.fragment = ipv4View.isFragment;
    out.laterFragment = ipv4View.fragmentOffset !== 0;
    out.l4Protocol = ipv4View.protocol;
    if (out.laterFragment) {
      out.l4 = L4.None;
      return out.reason;
    }
    out.l4Offset = l2.offset + hl;
    parseUpper(bytes, out);
    return out.reason;
  }
  if (l2.etherType === EtherType.Ipv6) {
    out.l3 = L3.Ipv6;
    const r = walkIpv6Headers(bytes, l2.offset, l3Len, ipv6Walk);
    const w = ipv6Walk;
    out.srcOffset = l2.offset + 8;
    out.dstOffset = l2.offset + 24;
    out.addressLength = 16;
    if (w.end > 0) out.ipEnd = w.end;
    out.homeAddressOffset = w.homeAddressOffset;
    out.routingType2AddressOffset = w.routingType2AddressOffset;
    out.ipsec = w.ahOffset >= 0 || w.espOffset >= 0;
    // An atomic fragment (offset 0, M clear) is a whole datagram (RFC 6946).
    out.fragment = w.fragmentHeaderOffset >= 0 && (w.fragmentOffset !== 0 || w.moreFragments);
    out.laterFragment = w.fragmentOffset !== 0;
    if (w.upperOffset >= 0) {
      out.ipHeaderLength = w.upperOffset - l2.offset;
      out.ipv6ExtensionHeaders = w.upperOffset > l2.offset + 40;
    }
    if (r === WireReason.Ipv6EspNotWalkable) {
      // ESP ends the chain legitimately: what follows is encrypted, not a header to follow.
      out.l4Protocol = w.upperProtocol;
      out.l4Offset = w.upperOffset;
      out.l4 = L4.Other;
      return out.reason;
    }
    if (r !== WireReason.Ok) {
      out.reason = LayoutReason.Ipv6Malformed;
      out.wireReason = r;
      if (w.end === 0) out.ipEnd = end;
      return out.reason;
    }
    out.l4Protocol = w.upperProtocol;
    if (out.laterFragment) {
      out.l4 = L4.None;
      return out.reason;
    }
    out.l4Offset = w.upperOffset;
    if (w.upperProtocol === 59) {
      // IPPROTO_NONE: nothing follows.
      out.l4 = L4.None;
      out.l4Offset = -1;
      return out.reason;
    }
    parseUpper(bytes, out);
    return out.reason;
  }
  if (l2.etherType === EtherType.Arp) {
    out.l3 = L3.Arp;
    if (l3Len < 28) out.reason = LayoutReason.ArpTruncated;
    return out.reason;
  }
  out.l3 = L3.Other;
  return out.reason;
}
