/**
 * The network layer of the tcpip protocol driver: the receive path from an NDIS indication to the
 * upper-layer protocols, the send path from the upper layers to the interface's send queue, and
 * forwarding, fragmentation and reassembly for IPv4 (RFC 791, RFC 1122, RFC 1812) and IPv6
 * (RFC 8200).
 *
 * Receive (per NET_BUFFER, Ethernet receive rules of NDIS 6.1+): headers are read with
 * NdisGetDataBuffer semantics, so a frame split across MDLs (header-data split at the upper-layer
 * header or payload, or any split past the lookahead) is read the same as a contiguous one: when
 * the bytes asked for are contiguous in an MDL the view points into it (no copy), otherwise they
 * are copied into per-stack scratch storage. The NET_BUFFER is advanced past the Ethernet header
 * while the packet is processed and retreated before it goes back, as protocols do. Checksums
 * the miniport reports in NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO are trusted (succeeded) or
 * make the packet a counted drop (failed); otherwise they are verified in software.
 *
 * Send: the upper layer builds its message in an NBL from the interface pools (the data start
 * TX_HEADROOM bytes into the buffer); this layer computes or offloads the transport checksum,
 * prepends the IP header and the Ethernet header into the backfill (NdisRetreatNetBufferDataStart),
 * fragments what exceeds the path MTU, asks for checksum and large-send offload through the
 * NBL's OOB information when the binding's current offload configuration has them, and hands the
 * packet to the neighbor cache for its next hop.
 *
 * Nothing on these paths throws for bad input and nothing allocates per packet in steady state.
 */
import {
  DataPointer,
  NDIS_CSUM_RX,
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_RETURN_FLAGS,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6,
  advanceNetBufferDataStart,
  csumTxValue,
  getDataBuffer,
  lsoV2TransmitValue,
  retreatNetBufferDataStart,
  type NetBuffer,
  type NetBufferList,
} from '../../../nbl/index.js';
import { getU16, getU32, setU16, setU32 } from '../../../wire/bytes.js';
import { checksumUpdate16, internetChecksum, onesComplementSum, pseudoHeaderSum } from '../../../wire/checksum.js';
import { EtherType } from '../../../wire/ethernet.js';
import { IPPROTO_AH, IPPROTO_FRAGMENT, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/ip.js';
import { IP_OPT_EOL, IP_OPT_NOP, Ipv4Packet } from '../../../wire/ipv4.js';
import { IPV6_HEADER_LENGTH, Ipv6HeaderWalk, walkIpv6Headers } from '../../../wire/ipv6.js';
import { WireReason } from '../../../wire/reason.js';
import { isIpv4Mapped } from '../../../wire/address.js';
import {
  ICMP4_DST_UNREACH,
  ICMP4_TIME_EXCEEDED,
  ICMP4_TIME_EXCEED_TRANSIT,
  ICMP4_UNREACH_FRAG_NEEDED,
  ICMP4_UNREACH_NET,
  ICMP4_UNREACH_PROTOCOL,
} from '../../../wire/icmpv4.js';
import {
  ICMP6_DST_UNREACH,
  ICMP6_DST_UNREACH_BEYONDSCOPE,
  ICMP6_DST_UNREACH_NOROUTE,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAMPROB_HEADER,
  ICMP6_PARAMPROB_NEXTHEADER,
  ICMP6_PARAM_PROB,
  ICMP6_TIME_EXCEEDED,
  ICMP6_TIME_EXCEED_TRANSIT,
} from '../../../wire/icmpv6.js';
import {
  isLimitedBroadcast,
  isLinkLocalV6,
  isLoopbackAddress,
  isMulticastAddress,
  isUnspecifiedAddress,
} from './addresses.js';
import { DATA_AT, FragmentResult, type ReassemblyEntry } from './reassembly.js';
import { IpDropReason, type IpCounters } from './statistics.js';
import { InterfaceState, type IpInterface } from './interface.js';
import { Path } from './route.js';
import type { TcpIp } from './stack.js';

/** How the transport checksum of an outgoing packet is produced. */
export const TxChecksum = {
  /** The upper layer filled it (ICMP, or a forwarded packet). */
  None: 0,
  /** TCP: offloaded or computed here. */
  Tcp: 1,
  /** UDP: offloaded or computed here (a computed 0 is sent as 0xffff, RFC 768). */
  Udp: 2,
} as const;

const MF = 0x2000;
const DF = 0x4000;
const ETH = 14;

/** The network layer (IPv4 and IPv6) of one stack. */
export class IpLayer {
  readonly stack: TcpIp;
  // ---- receive scratch (one packet at a time) ----
  private readonly dp: DataPointer;
  private readonly headerScratch: Uint8Array;
  private readonly packetScratch: Uint8Array;
  private readonly v4: Ipv4Packet;
  readonly walk: Ipv6HeaderWalk;
  /** Source and destination of the packet being received (16 bytes; IPv4-mapped for IPv4). */
  src: Uint8Array;
  dst: Uint8Array;
  // The arrays `src` and `dst` point at: IPv4 ones keep the ::ffff: prefix, so only 4 bytes change per packet.
  private readonly src4: Uint8Array;
  private readonly dst4: Uint8Array;
  private readonly src6: Uint8Array;
  private readonly dst6: Uint8Array;
  /** Source MAC of the frame being received. */
  readonly srcMac: Uint8Array;
  // ---- the packet being delivered (read by ICMP, UDP, ND, ARP) ----
  rxIface: IpInterface | null;
  rxV6: boolean;
  rxBytes: Uint8Array;
  /** Offset of the IP header in `rxBytes`, and length of the IP packet. */
  rxIpOffset: number;
  rxIpLength: number;
  /** Offset and length of the upper-layer message. */
  rxPayloadOffset: number;
  rxPayloadLength: number;
  rxProtocol: number;
  /** NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO of the frame (0 after reassembly). */
  rxChecksumInfo: number;
  /** Arrived as link-layer broadcast/multicast or to an IP broadcast/multicast address. */
  rxGroup: boolean;
  /** TTL / hop limit of the packet. */
  rxHopLimit: number;
  /** IPv6: offset in `rxBytes` of the Next Header byte that named the upper layer. */
  rxNextHeaderField: number;
  /** The IPv4 packet was a fragment offset 0 or not a fragment (ICMP errors may quote it). */
  rxFirstFragment: boolean;
  // ---- send ----
  private ipId: number;
  private fragId: number;
  /** A path for sends that bypass routing (on-link replies). */
  readonly linkPath: Path;

  constructor(stack: TcpIp) {
    this.stack = stack;
    this.dp = new DataPointer();
    this.headerScratch = new Uint8Array(64);
    this.packetScratch = new Uint8Array(IPV6_HEADER_LENGTH + 65535 + 64);
    this.v4 = new Ipv4Packet();
    this.walk = new Ipv6HeaderWalk();
    this.src4 = new Uint8Array(16);
    this.dst4 = new Uint8Array(16);
    this.src4[10] = this.src4[11] = this.dst4[10] = this.dst4[11] = 0xff;
    this.src6 = new Uint8Array(16);
    this.dst6 = new Uint8Array(16);
    this.src = this.src6;
    this.dst = this.dst6;
    this.srcMac = new Uint8Array(6);
    this.rxIface = null;
    this.rxV6 = false;
    this.rxBytes = this.packetScratch;
    this.rxIpOffset = 0;
    this.rxIpLength = 0;
    this.rxPayloadOffset = 0;
    this.rxPayloadLength = 0;
    this.rxProtocol = 0;
    this.rxChecksumInfo = 0;
    this.rxGroup = false;
    this.rxHopLimit = 0;
    this.rxNextHeaderField = -1;
    this.rxFirstFragment = true;
    this.ipId = stack.random32() & 0xffff;
    this.fragId = stack.random32() >>> 0;
    this.linkPath = new Path(new Uint8Array(16));
  }

  // =============================================================================================
  // Receive
  // =============================================================================================

  /**
   * ProtocolReceiveNetBufferLists for one binding: every NET_BUFFER of every NBL is processed,
   * then the whole chain goes back with one NdisReturnNetBufferLists (not when indicated with
   * NDIS_RECEIVE_FLAGS_RESOURCES: then the miniport owns it again when this returns, and nothing
   * of it is kept: what the stack keeps it has copied). Replies go out when the batch ends.
   */
  receive(iface: IpInterface, chain: NetBufferList, receiveFlags: number): void {
    const stack = this.stack;
    stack.beginBatch();
    const resources = (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0;
    if (resources) iface.counters.lowResourceIndications++;
    try {
      const running = iface.state === InterfaceState.Running || iface.state === InterfaceState.Pausing;
      for (let nbl: NetBufferList | null = chain; nbl !== null; nbl = nbl.next) {
        const csum = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
        for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
          if (running) this.frame(iface, nb, csum);
          else iface.drops[IpDropReason.NotRunning]!++;
        }
      }
    } catch (err) {
      stack.internalError(err);
    } finally {
      if (!resources && iface.handle !== null) {
        stack.ndis.returnNetBufferLists(iface.handle, chain, (receiveFlags & NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
      }
      stack.endBatch();
    }
  }

  /** One Ethernet frame. */
  private frame(iface: IpInterface, nb: NetBuffer, csum: number): void {
    const len = nb.dataLength;
    const ctr = iface.counters;
    ctr.inFrames++;
    ctr.inOctets += len;
    if (len < ETH) {
      iface.drops[IpDropReason.Runt]!++;
      return;
    }
    const e = getDataBuffer(nb, ETH, this.headerScratch, 1, 0, this.dp)!;
    const b = e.bytes;
    const o = e.offset;
    const type = (b[o + 12]! << 8) | b[o + 13]!;
    const group = (b[o]! & 1) !== 0;
    if (!group) {
      const m = iface.mac;
      if (b[o] !== m[0] || b[o + 1] !== m[1] || b[o + 2] !== m[2] || b[o + 3] !== m[3] || b[o + 4] !== m[4] || b[o + 5] !== m[5]) {
        iface.drops[IpDropReason.NotOurMac]!++;
        return;
      }
    }
    const sm = this.srcMac;
    for (let i = 0; i < 6; i++) sm[i] = b[o + 6 + i]!;
    advanceNetBufferDataStart(nb, ETH);
    switch (type) {
      case EtherType.Ipv4:
        this.ipv4Input(iface, nb, csum, group);
        break;
      case EtherType.Ipv6:
        this.ipv6Input(iface, nb, csum, group);
        break;
      case EtherType.Arp:
        this.stack.arp.input(iface, nb, this.dp);
        break;
      case EtherType.Ieee8021Q:
      case EtherType.Ieee8021ad:
        iface.drops[IpDropReason.VlanTagged]!++;
        break;
      default:
        iface.drops[IpDropReason.UnknownEtherType]!++;
    }
    retreatNetBufferDataStart(nb, ETH);
  }

  private malformed(iface: IpInterface, c: IpCounters, reason: number): void {
    c.wire[reason]!++;
    c.inHdrErrors++;
    iface.drops[IpDropReason.Malformed]!++;
  }

  // ---- IPv4 ----

  private ipv4Input(iface: IpInterface, nb: NetBuffer, csum: number, linkGroup: boolean): void {
    const c = this.stack.counters.ipv4;
    c.inReceives++;
    const avail = nb.dataLength;
    if (avail < 20) return this.malformed(iface, c, WireReason.Truncated);
    const h = getDataBuffer(nb, 20, this.headerScratch, 1, 0, this.dp)!;
    const total = getU16(h.bytes, h.offset + 2);
    if (total < 20 || total > avail) return this.malformed(iface, c, h.bytes[h.offset]! >>> 4 !== 4 ? WireReason.BadVersion : WireReason.BadTotalLength);
    const p = getDataBuffer(nb, total, this.packetScratch, 1, 0, this.dp)!;
    if (p.bytes === this.packetScratch) iface.counters.splitFrames++;
    const v = this.v4;
    const r = v.wrap(p.bytes, p.offset, total);
    if (r !== WireReason.Ok) return this.malformed(iface, c, r);
    if ((csum & NDIS_CSUM_RX.IpChecksumFailed) !== 0) {
      c.inHdrErrors++;
      iface.drops[IpDropReason.IpChecksumOffloadFailed]!++;
      return;
    }
    if ((csum & NDIS_CSUM_RX.IpChecksumSucceeded) === 0) {
      if (!v.verifyChecksum()) {
        c.inHdrErrors++;
        c.wire[WireReason.BadChecksum]!++;
        iface.drops[IpDropReason.IpChecksum]!++;
        return;
      }
    } else {
      iface.counters.checksumOffloadedIn++;
    }
    const b = p.bytes;
    const o = p.offset;
    const src = this.src4;
    const dst = this.dst4;
    for (let i = 12; i < 16; i++) {
      src[i] = b[o + i]!;
      dst[i] = b[o + i + 4]!;
    }
    this.src = src;
    this.dst = dst;
    const s32 = getU32(b, o + 12);
    const d32 = getU32(b, o + 16);
    // A source no packet may carry: multicast, broadcast, loopback, unspecified, or one of ours (RFC 1122 3.2.1.3, RFC 1812 5.3.7).
    if (s32 >>> 28 === 0xe || s32 === 0xffffffff || s32 >>> 24 === 127 || s32 === 0 || iface.isBroadcastV4(s32) || iface.isLocalV4(s32)) {
      c.inAddrErrors++;
      iface.drops[IpDropReason.BadSourceAddress]!++;
      return;
    }
    // Destination: one of ours (strong host model, weak when forwarding), a broadcast, or the all-systems group.
    let local: boolean;
    let groupDst = false;
    if (d32 === 0xffffffff || iface.isBroadcastV4(d32)) {
      local = true;
      groupDst = true;
      c.inBcastPkts++;
    } else if (d32 >>> 28 === 0xe) {
      local = d32 === 0xe0000001;
      groupDst = true;
      c.inMcastPkts++;
    } else {
      local = !linkGroup && (iface.isLocalV4(d32) || (this.stack.forwarding && this.stack.isLocalAddress(dst)));
    }
    this.rxIface = iface;
    this.rxV6 = false;
    this.rxBytes = p.bytes;
    this.rxIpOffset = p.offset;
    this.rxIpLength = total;
    this.rxPayloadOffset = v.payloadOffset;
    this.rxPayloadLength = v.payloadLength;
    this.rxProtocol = v.protocol;
    this.rxChecksumInfo = csum;
    this.rxGroup = linkGroup || groupDst;
    this.rxHopLimit = v.ttl;
    this.rxNextHeaderField = -1;
    this.rxFirstFragment = v.fragmentOffset === 0;
    if (!local) {
      if (groupDst || linkGroup || !this.stack.forwarding) {
        c.inAddrErrors++;
        iface.drops[IpDropReason.NotLocal]!++;
        return;
      }
      this.forward4();
      return;
    }
    if (v.isFragment) {
      c.reasmReqds++;
      const e = this.stack.reassembler.offer(iface, false, src, dst, v.identification, v.protocol, v.fragmentOffset, v.moreFragments, p.bytes, p.offset, v.headerLength, v.payloadOffset, v.payloadLength, -1);
      if (e === null) {
        this.fragmentRefused(iface, c);
        return;
      }
      this.completeReassembly4(e);
      return;
    }
    this.deliver();
  }

  private fragmentRefused(iface: IpInterface, c: IpCounters): void {
    const res = this.stack.reassembler.lastResult;
    if (res === FragmentResult.Held || res === FragmentResult.Duplicate) return;
    c.reasmFails++;
    iface.drops[res === FragmentResult.Overlap ? IpDropReason.ReassemblyOverlap : res === FragmentResult.Limit ? IpDropReason.ReassemblyLimit : IpDropReason.ReassemblyMalformed]!++;
  }

  /** A datagram is whole: rewrite its header (length, no fragment fields, checksum) and deliver it. */
  private completeReassembly4(e: ReassemblyEntry): void {
    const b = e.buffer;
    const ho = e.packetOffset;
    const hl = e.headerLength;
    setU16(b, ho + 2, hl + e.dataLength);
    setU16(b, ho + 6, getU16(b, ho + 6) & DF);
    setU16(b, ho + 10, 0);
    setU16(b, ho + 10, internetChecksum(b, ho, hl));
    this.stack.counters.ipv4.reasmOks++;
    this.rxBytes = b;
    this.rxIpOffset = ho;
    this.rxIpLength = hl + e.dataLength;
    this.rxPayloadOffset = DATA_AT;
    this.rxPayloadLength = e.dataLength;
    this.rxProtocol = e.protocol;
    this.rxChecksumInfo = 0;
    this.rxFirstFragment = true;
    try {
      this.deliver();
    } finally {
      this.stack.reassembler.release(e);
    }
  }

  // ---- IPv6 ----

  private ipv6Input(iface: IpInterface, nb: NetBuffer, csum: number, linkGroup: boolean): void {
    const c = this.stack.counters.ipv6;
    c.inReceives++;
    const avail = nb.dataLength;
    if (avail < IPV6_HEADER_LENGTH) return this.malformed(iface, c, WireReason.Truncated);
    const h = getDataBuffer(nb, IPV6_HEADER_LENGTH, this.headerScratch, 1, 0, this.dp)!;
    if (h.bytes[h.offset]! >>> 4 !== 6) return this.malformed(iface, c, WireReason.BadVersion);
    const total = IPV6_HEADER_LENGTH + getU16(h.bytes, h.offset + 4);
    if (total > avail) return this.malformed(iface, c, WireReason.BadTotalLength);
    const p = getDataBuffer(nb, total, this.packetScratch, 1, 0, this.dp)!;
    if (p.bytes === this.packetScratch) iface.counters.splitFrames++;
    const b = p.bytes;
    const o = p.offset;
    const w = this.walk;
    const r = walkIpv6Headers(b, o, total, w);
    if (r !== WireReason.Ok) {
      if (r === WireReason.Ipv6EspNotWalkable) {
        c.wire[r]!++;
        c.inUnknownProtos++;
        iface.drops[IpDropReason.UnsupportedHeader]!++;
        return;
      }
      return this.malformed(iface, c, r);
    }
    const src = this.src6;
    const dst = this.dst6;
    for (let i = 0; i < 16; i++) {
      src[i] = b[o + 8 + i]!;
      dst[i] = b[o + 24 + i]!;
    }
    this.src = src;
    this.dst = dst;
    if (isMulticastAddress(src) || isLoopbackAddress(src) || iface.hasLocalAddress(src)) {
      c.inAddrErrors++;
      iface.drops[IpDropReason.BadSourceAddress]!++;
      return;
    }
    let local: boolean;
    const groupDst = isMulticastAddress(dst);
    if (groupDst) {
      local = iface.isJoinedGroupV6(dst);
      c.inMcastPkts++;
    } else {
      const a = iface.findAddress(dst);
      if (a !== null && !a.usable) {
        iface.drops[IpDropReason.TentativeAddress]!++;
        return;
      }
      local = !linkGroup && (a !== null || (this.stack.forwarding && !isLinkLocalV6(dst) && this.stack.isLocalAddress(dst)));
    }
    this.rxIface = iface;
    this.rxV6 = true;
    this.rxBytes = b;
    this.rxIpOffset = o;
    this.rxIpLength = total;
    this.rxPayloadOffset = w.upperOffset;
    this.rxPayloadLength = w.end - w.upperOffset;
    this.rxProtocol = w.upperProtocol;
    this.rxChecksumInfo = csum;
    this.rxGroup = linkGroup || groupDst;
    this.rxHopLimit = b[o + 7]!;
    this.rxNextHeaderField = w.nextHeaderFieldOffset;
    this.rxFirstFragment = w.fragmentOffset === 0;
    if (!local) {
      if (groupDst || linkGroup || !this.stack.forwarding || isUnspecifiedAddress(src)) {
        c.inAddrErrors++;
        iface.drops[IpDropReason.NotLocal]!++;
        return;
      }
      this.forward6();
      return;
    }
    this.localInput6(iface, c);
  }

  /** Local delivery of the IPv6 packet described by the rx fields and `walk`. */
  private localInput6(iface: IpInterface, c: IpCounters): void {
    const w = this.walk;
    const b = this.rxBytes;
    // A routing header with segments left is a request to be forwarded by source route: not supported (RFC 8200 4.4).
    if (w.routingOffset >= 0 && b[w.routingOffset + 3] !== 0) {
      c.inHdrErrors++;
      iface.drops[IpDropReason.UnsupportedHeader]!++;
      this.stack.icmp.sendError6(this, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, w.routingOffset + 2 - this.rxIpOffset);
      return;
    }
    if (w.isFragment) {
      if (w.fragmentOffset === 0 && !w.moreFragments) {
        // An atomic fragment: processed as a whole packet (RFC 6946).
        this.deliver();
        return;
      }
      c.reasmReqds++;
      const fragHdr = w.fragmentHeaderOffset;
      const unfragLength = fragHdr - this.rxIpOffset;
      const dataOffset = fragHdr + 8;
      const dataLength = w.end - dataOffset;
      const e = this.stack.reassembler.offer(iface, true, this.src, this.dst, w.fragmentId, b[fragHdr]!, w.fragmentOffset, w.moreFragments, b, this.rxIpOffset, unfragLength, dataOffset, dataLength, this.fragmentFieldOf(fragHdr) - this.rxIpOffset);
      if (e === null) {
        const res = this.stack.reassembler.lastResult;
        if (res === FragmentResult.Malformed && !this.rxGroup) {
          // RFC 8200 4.5: a bad length points at Payload Length; a datagram past 65535 at the offset field.
          const ptr = w.moreFragments && (dataLength & 7) !== 0 ? 4 : fragHdr + 2 - this.rxIpOffset;
          this.stack.icmp.sendError6(this, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, ptr);
        }
        this.fragmentRefused(iface, c);
        return;
      }
      this.completeReassembly6(e, iface, c);
      return;
    }
    this.deliver();
  }

  /** Offset of the Next Header byte that names the extension header at `headerOffset`. */
  private fragmentFieldOf(headerOffset: number): number {
    const b = this.rxBytes;
    let field = this.rxIpOffset + 6;
    let p = this.rxIpOffset + IPV6_HEADER_LENGTH;
    while (p < headerOffset) {
      const size = b[field] === IPPROTO_AH ? (b[p + 1]! + 2) << 2 : (b[p + 1]! + 1) << 3;
      field = p;
      p += size;
    }
    return field;
  }

  private completeReassembly6(e: ReassemblyEntry, iface: IpInterface, c: IpCounters): void {
    const b = e.buffer;
    const ho = e.packetOffset;
    // The byte that named the fragment header now names what the fragments carried.
    b[ho + e.nextHeaderField] = e.protocol;
    setU16(b, ho + 4, e.headerLength - IPV6_HEADER_LENGTH + e.dataLength);
    c.reasmOks++;
    try {
      const w = this.walk;
      const total = e.headerLength + e.dataLength;
      if (walkIpv6Headers(b, ho, total, w) !== WireReason.Ok || w.isFragment) {
        this.malformed(iface, c, w.reason === 0 ? WireReason.HeaderOverrun : w.reason);
        return;
      }
      this.rxBytes = b;
      this.rxIpOffset = ho;
      this.rxIpLength = total;
      this.rxPayloadOffset = w.upperOffset;
      this.rxPayloadLength = w.end - w.upperOffset;
      this.rxProtocol = w.upperProtocol;
      this.rxChecksumInfo = 0;
      this.rxNextHeaderField = w.nextHeaderFieldOffset;
      this.rxFirstFragment = true;
      this.deliver();
    } finally {
      this.stack.reassembler.release(e);
    }
  }

  // ---- upper layers ----

  /** Hands the packet in the rx fields to its upper-layer protocol. */
  private deliver(): void {
    const iface = this.rxIface!;
    const v6 = this.rxV6;
    const c = v6 ? this.stack.counters.ipv6 : this.stack.counters.ipv4;
    if (v6 && this.rxProtocol !== IPPROTO_ICMPV6 && isUnspecifiedAddress(this.src)) {
      c.inAddrErrors++;
      iface.drops[IpDropReason.BadSourceAddress]!++;
      return;
    }
    switch (this.rxProtocol) {
      case IPPROTO_TCP:
        this.tcpInput(iface, c);
        return;
      case IPPROTO_UDP:
        c.inDelivers++;
        this.stack.udp.input(this);
        return;
      case IPPROTO_ICMP:
        if (v6) break;
        c.inDelivers++;
        this.stack.icmp.input4(this);
        return;
      case IPPROTO_ICMPV6:
        if (!v6) break;
        c.inDelivers++;
        this.stack.icmp.input6(this);
        return;
      case IPPROTO_NONE:
        if (v6) {
          c.inDelivers++;
          return;
        }
        break;
      default:
        break;
    }
    c.inUnknownProtos++;
    iface.drops[IpDropReason.UnknownProtocol]!++;
    if (v6) this.stack.icmp.sendError6(this, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER, this.rxNextHeaderField - this.rxIpOffset);
    else this.stack.icmp.sendError4(this, ICMP4_DST_UNREACH, ICMP4_UNREACH_PROTOCOL, 0);
  }

  private tcpInput(iface: IpInterface, c: IpCounters): void {
    if (this.rxGroup) {
      c.inAddrErrors++;
      iface.drops[IpDropReason.NotLocal]!++;
      return;
    }
    const csum = this.rxChecksumInfo;
    const b = this.rxBytes;
    const off = this.rxPayloadOffset;
    const len = this.rxPayloadLength;
    if ((csum & NDIS_CSUM_RX.TcpChecksumFailed) !== 0) {
      iface.drops[IpDropReason.TransportChecksumOffloadFailed]!++;
      return;
    }
    if ((csum & NDIS_CSUM_RX.TcpChecksumSucceeded) === 0) {
      if (onesComplementSum(b, off, len, pseudoHeaderSum(this.src, this.dst, IPPROTO_TCP, len)) !== 0xffff) {
        c.wire[WireReason.BadChecksum]!++;
        iface.drops[IpDropReason.TransportChecksum]!++;
        return;
      }
    } else {
      iface.counters.checksumOffloadedIn++;
    }
    c.inDelivers++;
    this.stack.tcp.engine.input(this.dst, this.src, b, off, len);
  }

  // ---- forwarding ----

  /** Forwards the IPv4 packet in the rx fields (RFC 1812 5.2, 5.3). */
  private forward4(): void {
    const stack = this.stack;
    const c = stack.counters.ipv4;
    const iface = this.rxIface!;
    if (this.rxHopLimit <= 1) {
      iface.drops[IpDropReason.TtlExpired]!++;
      stack.icmp.sendError4(this, ICMP4_TIME_EXCEEDED, ICMP4_TIME_EXCEED_TRANSIT, 0);
      return;
    }
    const path = stack.paths.get(this.dst);
    const out = path.iface;
    if (out === null) {
      c.outNoRoutes++;
      iface.drops[IpDropReason.NoRoute]!++;
      stack.icmp.sendError4(this, ICMP4_DST_UNREACH, ICMP4_UNREACH_NET, 0);
      return;
    }
    const total = this.rxIpLength;
    const mtu = path.mtu(stack.now());
    const b = this.rxBytes;
    const o = this.rxIpOffset;
    if (total > mtu && (getU16(b, o + 6) & DF) !== 0) {
      iface.drops[IpDropReason.TooBig]!++;
      stack.icmp.sendError4(this, ICMP4_DST_UNREACH, ICMP4_UNREACH_FRAG_NEEDED, mtu);
      return;
    }
    const nbl = out.allocatePacket(total);
    if (nbl === null) {
      c.outDiscards++;
      return;
    }
    const nb = nbl.firstNetBuffer!;
    const mdl = nb.currentMdl!;
    const d = mdl.buffer;
    const at = mdl.byteOffset + nb.currentMdlOffset;
    d.set(b.subarray(o, o + total), at);
    // TTL - 1, and the header checksum updated for the changed word (RFC 1624).
    const oldWord = getU16(d, at + 8);
    d[at + 8] = d[at + 8]! - 1;
    setU16(d, at + 10, checksumUpdate16(getU16(d, at + 10), oldWord, getU16(d, at + 8)));
    c.forwDatagrams++;
    if (total > mtu) {
      this.fragment4(path, nbl, mtu);
      return;
    }
    out.prependEthernet(nbl, EtherType.Ipv4);
    path.neighbor = out.sendToNextHop(nbl, path.nextHop, path.group, path.neighbor);
    c.outTransmits++;
  }

  /** Forwards the IPv6 packet in the rx fields (RFC 8200 3, RFC 4443 3). */
  private forward6(): void {
    const stack = this.stack;
    const c = stack.counters.ipv6;
    const iface = this.rxIface!;
    if (isLinkLocalV6(this.dst)) {
      iface.drops[IpDropReason.NotLocal]!++;
      return;
    }
    if (this.rxHopLimit <= 1) {
      iface.drops[IpDropReason.TtlExpired]!++;
      stack.icmp.sendError6(this, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_TRANSIT, 0);
      return;
    }
    const path = stack.paths.get(this.dst);
    const out = path.iface;
    if (out === null) {
      c.outNoRoutes++;
      iface.drops[IpDropReason.NoRoute]!++;
      stack.icmp.sendError6(this, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, 0);
      return;
    }
    if (isLinkLocalV6(this.src) && out !== iface) {
      iface.drops[IpDropReason.NotLocal]!++;
      stack.icmp.sendError6(this, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_BEYONDSCOPE, 0);
      return;
    }
    const total = this.rxIpLength;
    const mtu = path.mtu(stack.now());
    if (total > mtu) {
      iface.drops[IpDropReason.TooBig]!++;
      stack.icmp.sendError6(this, ICMP6_PACKET_TOO_BIG, 0, mtu);
      return;
    }
    const nbl = out.allocatePacket(total);
    if (nbl === null) {
      c.outDiscards++;
      return;
    }
    const nb = nbl.firstNetBuffer!;
    const mdl = nb.currentMdl!;
    const d = mdl.buffer;
    const at = mdl.byteOffset + nb.currentMdlOffset;
    d.set(this.rxBytes.subarray(this.rxIpOffset, this.rxIpOffset + total), at);
    d[at + 7] = d[at + 7]! - 1;
    c.forwDatagrams++;
    out.prependEthernet(nbl, EtherType.Ipv6);
    path.neighbor = out.sendToNextHop(nbl, path.nextHop, path.group, path.neighbor);
    c.outTransmits++;
  }

  // =============================================================================================
  // Send
  // =============================================================================================

  /**
   * Sends a TCP segment the engine built in `nbl` (data start at the TCP header, DataLength the
   * segment) from `src` to `dst` along `path`. With `lsoMss` non-zero the payload is larger than
   * one MSS: it goes to the miniport with LSOv2 OOB information when the binding offers it, or is
   * cut into segments here.
   */
  sendTcp(path: Path, nbl: NetBufferList, src: Uint8Array, dst: Uint8Array, lsoMss: number): void {
    if (path.v4) this.output4(path, nbl, IPPROTO_TCP, src, dst, this.stack.defaultTtl, TxChecksum.Tcp, lsoMss, true);
    else this.output6(path, nbl, IPPROTO_TCP, src, dst, this.stack.defaultTtl, TxChecksum.Tcp, lsoMss);
  }

  /** Sends a datagram (UDP or ICMP) built in `nbl` along `path`. */
  sendDatagram(path: Path, nbl: NetBufferList, protocol: number, src: Uint8Array, dst: Uint8Array, ttl: number, checksum: number): void {
    if (path.v4) this.output4(path, nbl, protocol, src, dst, ttl, checksum, 0, false);
    else this.output6(path, nbl, protocol, src, dst, ttl, checksum, 0);
  }

  /** A path through `iface` straight to `dst` (on-link; used for replies to link-local and group addresses). */
  onLinkPath(iface: IpInterface, dst: Uint8Array): Path {
    const p = this.linkPath;
    p.iface = iface;
    p.remote.set(dst);
    p.nextHop.set(dst);
    p.group = isMulticastAddress(dst) || isLimitedBroadcast(dst);
    p.v4 = isIpv4Mapped(dst);
    p.neighbor = null;
    p.learnedMtu = 0;
    return p;
  }

  /** The upper-layer data of a packet being built: (bytes, offset) of the NB's data start. */
  private static dataStart(nb: NetBuffer): number {
    return nb.currentMdl!.byteOffset + nb.currentMdlOffset;
  }

  private output4(path: Path, nbl: NetBufferList, protocol: number, src: Uint8Array, dst: Uint8Array, ttl: number, checksum: number, lsoMss: number, df: boolean): void {
    const stack = this.stack;
    const iface = path.iface!;
    const c = stack.counters.ipv4;
    c.outRequests++;
    const nb = nbl.firstNetBuffer!;
    const payLen = nb.dataLength;
    const total = payLen + 20;
    const mtu = path.mtu(stack.now());
    const b = nb.currentMdl!.buffer;
    const po = IpLayer.dataStart(nb);
    let info = 0;
    let lso = false;
    if (lsoMss > 0) {
      const dataLen = payLen - ((b[po + 12]! >>> 4) << 2);
      if (iface.lsoMaxV4 >= payLen && dataLen > lsoMss * (iface.lsoMinSegments - 1)) lso = true;
      else {
        this.segmentInSoftware(path, nbl, src, dst, lsoMss);
        return;
      }
    }
    const fits = total <= mtu || lso;
    if (checksum === TxChecksum.Tcp) {
      if (lso) {
        // LSOv2: the pseudo-header sum without the TCP length; the miniport completes it per segment.
        setU16(b, po + 16, pseudoHeaderSum(src, dst, IPPROTO_TCP, 0));
      } else if (fits && iface.txChecksumTcpV4) {
        setU16(b, po + 16, pseudoHeaderSum(src, dst, IPPROTO_TCP, payLen));
        info |= NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum;
      } else {
        setU16(b, po + 16, 0);
        setU16(b, po + 16, internetChecksum(b, po, payLen, pseudoHeaderSum(src, dst, IPPROTO_TCP, payLen)));
      }
    } else if (checksum === TxChecksum.Udp) {
      if (fits && iface.txChecksumUdpV4) {
        setU16(b, po + 6, pseudoHeaderSum(src, dst, IPPROTO_UDP, payLen));
        info |= NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.UdpChecksum;
      } else {
        setU16(b, po + 6, 0);
        const s = internetChecksum(b, po, payLen, pseudoHeaderSum(src, dst, IPPROTO_UDP, payLen));
        setU16(b, po + 6, s === 0 ? 0xffff : s);
      }
    }
    retreatNetBufferDataStart(nb, 20);
    const ho = po - 20;
    b[ho] = 0x45;
    b[ho + 1] = 0;
    setU16(b, ho + 2, lso ? 0 : total);
    this.ipId = (this.ipId + 1) & 0xffff;
    setU16(b, ho + 4, this.ipId);
    setU16(b, ho + 6, df ? DF : 0);
    b[ho + 8] = ttl;
    b[ho + 9] = protocol;
    setU16(b, ho + 10, 0);
    for (let i = 0; i < 4; i++) {
      b[ho + 12 + i] = src[12 + i]!;
      b[ho + 16 + i] = dst[12 + i]!;
    }
    if (!fits) {
      if (df && protocol !== IPPROTO_TCP) {
        c.outFragFails++;
        iface.dropTx(nbl, IpDropReason.TooBig);
        return;
      }
      // A local TCP segment larger than a just-reduced path MTU: fragmented rather than lost.
      setU16(b, ho + 6, 0);
      setU16(b, ho + 10, internetChecksum(b, ho, 20));
      this.fragment4(path, nbl, mtu);
      return;
    }
    if (lso) {
      nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo] = lsoV2TransmitValue(lsoMss, ETH + 20, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4);
      iface.counters.lsoOut++;
    } else {
      if (iface.txChecksumIpv4) info |= NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IpHeaderChecksum;
      else setU16(b, ho + 10, internetChecksum(b, ho, 20));
      if (info !== 0) {
        nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = csumTxValue(info, protocol === IPPROTO_TCP ? ETH + 20 : 0);
        iface.counters.checksumOffloadedOut++;
      }
    }
    iface.prependEthernet(nbl, EtherType.Ipv4);
    path.neighbor = iface.sendToNextHop(nbl, path.nextHop, path.group, path.neighbor);
    c.outTransmits++;
  }

  private output6(path: Path, nbl: NetBufferList, protocol: number, src: Uint8Array, dst: Uint8Array, hopLimit: number, checksum: number, lsoMss: number): void {
    const stack = this.stack;
    const iface = path.iface!;
    const c = stack.counters.ipv6;
    c.outRequests++;
    const nb = nbl.firstNetBuffer!;
    const payLen = nb.dataLength;
    const total = payLen + IPV6_HEADER_LENGTH;
    const mtu = path.mtu(stack.now());
    const b = nb.currentMdl!.buffer;
    const po = IpLayer.dataStart(nb);
    let info = 0;
    let lso = false;
    if (lsoMss > 0) {
      const dataLen = payLen - ((b[po + 12]! >>> 4) << 2);
      if (iface.lsoMaxV6 >= payLen && dataLen > lsoMss * (iface.lsoMinSegments - 1)) lso = true;
      else {
        this.segmentInSoftware(path, nbl, src, dst, lsoMss);
        return;
      }
    }
    const fits = total <= mtu || lso;
    if (checksum === TxChecksum.Tcp) {
      if (lso) {
        setU16(b, po + 16, pseudoHeaderSum(src, dst, IPPROTO_TCP, 0));
      } else if (fits && iface.txChecksumTcpV6) {
        setU16(b, po + 16, pseudoHeaderSum(src, dst, IPPROTO_TCP, payLen));
        info |= NDIS_CSUM_TX.IsIPv6 | NDIS_CSUM_TX.TcpChecksum;
      } else {
        setU16(b, po + 16, 0);
        setU16(b, po + 16, internetChecksum(b, po, payLen, pseudoHeaderSum(src, dst, IPPROTO_TCP, payLen)));
      }
    } else if (checksum === TxChecksum.Udp) {
      if (fits && iface.txChecksumUdpV6) {
        setU16(b, po + 6, pseudoHeaderSum(src, dst, IPPROTO_UDP, payLen));
        info |= NDIS_CSUM_TX.IsIPv6 | NDIS_CSUM_TX.UdpChecksum;
      } else {
        setU16(b, po + 6, 0);
        const s = internetChecksum(b, po, payLen, pseudoHeaderSum(src, dst, IPPROTO_UDP, payLen));
        setU16(b, po + 6, s === 0 ? 0xffff : s);
      }
    }
    retreatNetBufferDataStart(nb, IPV6_HEADER_LENGTH);
    const ho = po - IPV6_HEADER_LENGTH;
    setU32(b, ho, 0x60000000);
    setU16(b, ho + 4, lso ? 0 : payLen);
    b[ho + 6] = protocol;
    b[ho + 7] = hopLimit;
    for (let i = 0; i < 16; i++) {
      b[ho + 8 + i] = src[i]!;
      b[ho + 24 + i] = dst[i]!;
    }
    if (!fits) {
      this.fragment6(path, nbl, mtu);
      return;
    }
    if (lso) {
      nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo] = lsoV2TransmitValue(lsoMss, ETH + IPV6_HEADER_LENGTH, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6);
      iface.counters.lsoOut++;
    } else if (info !== 0) {
      nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = csumTxValue(info, protocol === IPPROTO_TCP ? ETH + IPV6_HEADER_LENGTH : 0);
      iface.counters.checksumOffloadedOut++;
    }
    iface.prependEthernet(nbl, EtherType.Ipv6);
    path.neighbor = iface.sendToNextHop(nbl, path.nextHop, path.group, path.neighbor);
    c.outTransmits++;
  }

  /**
   * Cuts a large TCP segment (one NBL, data start at the TCP header) into segments of `mss`
   * payload bytes with the header replicated (sequence numbers advanced, FIN and PSH on the last
   * only, CWR on the first only), as a miniport does for LSO, and sends each.
   */
  private segmentInSoftware(path: Path, nbl: NetBufferList, src: Uint8Array, dst: Uint8Array, mss: number): void {
    const iface = path.iface!;
    const nb = nbl.firstNetBuffer!;
    const b = nb.currentMdl!.buffer;
    const po = IpLayer.dataStart(nb);
    const hl = (b[po + 12]! >>> 4) << 2;
    const dataLen = nb.dataLength - hl;
    const seq = getU32(b, po + 4);
    const flags = b[po + 13]!;
    iface.counters.softwareSegmented++;
    for (let off = 0; off < dataLen; off += mss) {
      const n = Math.min(mss, dataLen - off);
      const seg = iface.allocatePacket(hl + n);
      if (seg === null) continue;
      const snb = seg.firstNetBuffer!;
      const d = snb.currentMdl!.buffer;
      const so = IpLayer.dataStart(snb);
      d.set(b.subarray(po, po + hl), so);
      d.set(b.subarray(po + hl + off, po + hl + off + n), so + hl);
      setU32(d, so + 4, (seq + off) >>> 0);
      const last = off + n >= dataLen;
      let f = flags;
      if (!last) f &= ~(0x01 | 0x08); // FIN, PSH on the last segment only
      if (off > 0) f &= ~0x80; // CWR on the first only
      d[so + 13] = f;
      if (path.v4) this.output4(path, seg, IPPROTO_TCP, src, dst, this.stack.defaultTtl, TxChecksum.Tcp, 0, true);
      else this.output6(path, seg, IPPROTO_TCP, src, dst, this.stack.defaultTtl, TxChecksum.Tcp, 0);
    }
    iface.freePacket(nbl);
  }

  /**
   * Fragments the IPv4 packet in `nbl` (data start at the IP header) for `mtu` (RFC 791 3.2):
   * fragment data in multiples of 8, options copied into later fragments only when their copy
   * flag is set. The original NBL is freed.
   */
  private fragment4(path: Path, nbl: NetBufferList, mtu: number): void {
    const iface = path.iface!;
    const c = this.stack.counters.ipv4;
    const nb = nbl.firstNetBuffer!;
    const b = nb.currentMdl!.buffer;
    const ho = IpLayer.dataStart(nb);
    const hl = (b[ho]! & 0x0f) << 2;
    const total = getU16(b, ho + 2);
    const dataLen = total - hl;
    const baseOffset = (getU16(b, ho + 6) & 0x1fff) << 3;
    const baseMore = (getU16(b, ho + 6) & MF) !== 0;
    // The header of later fragments: the fixed part and the options that are copied.
    const later = this.headerScratch;
    later.set(b.subarray(ho, ho + 20));
    let lhl = 20;
    for (let p = ho + 20; p < ho + hl; ) {
      const t = b[p]!;
      if (t === IP_OPT_EOL) break;
      if (t === IP_OPT_NOP) {
        p++;
        continue;
      }
      const olen = b[p + 1]!;
      if ((t & 0x80) !== 0) {
        later.set(b.subarray(p, p + olen), lhl);
        lhl += olen;
      }
      p += olen;
    }
    while ((lhl & 3) !== 0) later[lhl++] = IP_OPT_EOL;
    let created = 0;
    for (let off = 0; off < dataLen; ) {
      const fhl = off === 0 ? hl : lhl;
      const room = (mtu - fhl) & ~7;
      if (room <= 0) break;
      const n = Math.min(room, dataLen - off);
      const frag = iface.allocatePacket(fhl + n);
      if (frag === null) {
        c.outFragFails++;
        iface.freePacket(nbl);
        return;
      }
      const fnb = frag.firstNetBuffer!;
      const d = fnb.currentMdl!.buffer;
      const fo = IpLayer.dataStart(fnb);
      if (off === 0) d.set(b.subarray(ho, ho + hl), fo);
      else d.set(later.subarray(0, lhl), fo);
      d[fo] = 0x40 | (fhl >>> 2);
      d.set(b.subarray(ho + hl + off, ho + hl + off + n), fo + fhl);
      setU16(d, fo + 2, fhl + n);
      const more = off + n < dataLen || baseMore;
      setU16(d, fo + 6, (more ? MF : 0) | (((baseOffset + off) >>> 3) & 0x1fff));
      setU16(d, fo + 10, 0);
      setU16(d, fo + 10, internetChecksum(d, fo, fhl));
      iface.prependEthernet(frag, EtherType.Ipv4);
      path.neighbor = iface.sendToNextHop(frag, path.nextHop, path.group, path.neighbor);
      c.outTransmits++;
      created++;
      off += n;
    }
    c.outFragOks++;
    c.outFragCreates += created;
    iface.freePacket(nbl);
  }

  /**
   * Fragments the IPv6 packet in `nbl` (data start at the IPv6 header, no extension headers) for
   * `mtu` with Fragment headers (RFC 8200 4.5). The original NBL is freed.
   */
  private fragment6(path: Path, nbl: NetBufferList, mtu: number): void {
    const iface = path.iface!;
    const c = this.stack.counters.ipv6;
    const nb = nbl.firstNetBuffer!;
    const b = nb.currentMdl!.buffer;
    const ho = IpLayer.dataStart(nb);
    const nextHeader = b[ho + 6]!;
    const dataLen = getU16(b, ho + 4);
    const room = (mtu - IPV6_HEADER_LENGTH - 8) & ~7;
    this.fragId = (this.fragId + 1) >>> 0;
    const id = this.fragId;
    let created = 0;
    for (let off = 0; off < dataLen; off += room) {
      const n = Math.min(room, dataLen - off);
      const frag = iface.allocatePacket(IPV6_HEADER_LENGTH + 8 + n);
      if (frag === null) {
        c.outFragFails++;
        iface.freePacket(nbl);
        return;
      }
      const fnb = frag.firstNetBuffer!;
      const d = fnb.currentMdl!.buffer;
      const fo = IpLayer.dataStart(fnb);
      d.set(b.subarray(ho, ho + IPV6_HEADER_LENGTH), fo);
      d[fo + 6] = IPPROTO_FRAGMENT;
      setU16(d, fo + 4, 8 + n);
      const fh = fo + IPV6_HEADER_LENGTH;
      d[fh] = nextHeader;
      d[fh + 1] = 0;
      setU16(d, fh + 2, (off & 0xfff8) | (off + n < dataLen ? 1 : 0));
      setU32(d, fh + 4, id);
      d.set(b.subarray(ho + IPV6_HEADER_LENGTH + off, ho + IPV6_HEADER_LENGTH + off + n), fh + 8);
      iface.prependEthernet(frag, EtherType.Ipv6);
      path.neighbor = iface.sendToNextHop(frag, path.nextHop, path.group, path.neighbor);
      c.outTransmits++;
      created++;
    }
    c.outFragOks++;
    c.outFragCreates += created;
    iface.freePacket(nbl);
  }
}
