/**
 * ICMP (RFC 792, RFC 1122 3.2.2) and ICMPv6 (RFC 4443): echo request and reply, the error
 * messages the stack sends (destination / port / protocol unreachable, time exceeded, packet too
 * big, fragmentation needed, parameter problem) with the RFC's suppression rules and a rate
 * limit, and the errors it receives: path MTU updates (RFC 1191, RFC 8201), reports to TCP and
 * UDP, and the outcome of pings. Neighbor Discovery messages are handed to the ND layer.
 */
import { NdisError } from '../../../base/errors.js';
import { formatIp, isIpv4Mapped, parseIp, setIpv4Mapped } from '../../../wire/address.js';
import { getU16, setU16 } from '../../../wire/bytes.js';
import { internetChecksum, pseudoHeaderSum } from '../../../wire/checksum.js';
import {
  ICMP4_DST_UNREACH,
  ICMP4_ECHO_REPLY,
  ICMP4_ECHO_REQUEST,
  ICMP4_PARAM_PROB,
  ICMP4_REDIRECT,
  ICMP4_SOURCE_QUENCH,
  ICMP4_TIME_EXCEEDED,
  ICMP4_UNREACH_ADMIN,
  ICMP4_UNREACH_FRAG_NEEDED,
  ICMP4_UNREACH_HOST_ADMIN,
  ICMP4_UNREACH_NET,
  ICMP4_UNREACH_NET_ADMIN,
  ICMP4_UNREACH_NET_UNKNOWN,
  ICMP4_UNREACH_PORT,
  ICMP4_UNREACH_PROTOCOL,
  Icmpv4Packet,
} from '../../../wire/icmpv4.js';
import {
  ICMP6_DST_UNREACH,
  ICMP6_DST_UNREACH_ADMIN,
  ICMP6_DST_UNREACH_NOPORT,
  ICMP6_DST_UNREACH_NOROUTE,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAMPROB_OPTION,
  ICMP6_PARAM_PROB,
  ICMP6_TIME_EXCEEDED,
  Icmpv6Packet,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_REDIRECT,
  ND_ROUTER_ADVERT,
  ND_ROUTER_SOLICIT,
} from '../../../wire/icmpv6.js';
import { IPPROTO_AH, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_ROUTING, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/ip.js';
import { IPV6_MIN_MTU } from '../../../wire/ipv6.js';
import { WireReason } from '../../../wire/reason.js';
import { TcpIcmpError } from './tcp/host.js';
import { isLinkLocalV6, isMulticastAddress } from './addresses.js';
import { PingError, type PingErrorCode } from './errors.js';
import { TxChecksum, type IpLayer } from './ip.js';
import type { IpInterface } from './interface.js';
import { NeighborState } from './neighbor.js';
import type { Path } from './route.js';
import { IpDropReason, type IcmpCounters } from './statistics.js';
import { StackTimer, type StackTimerTarget } from './timers.js';
import type { TcpIp } from './stack.js';

/** Options of `TcpIp.ping`. */
export interface PingOptions {
  /** How long to wait for the reply, ms of the stack clock (default 4000, as ping.exe). */
  timeoutMs?: number;
  /** Bytes of echo data (default 32, as ping.exe). */
  size?: number;
  /** TTL / hop limit of the request (default the stack's). */
  ttl?: number;
}

/** Echo data: the alphabet run that ping.exe sends. */
const ECHO_PATTERN = new TextEncoder().encode('abcdefghijklmnopqrstuvw');

/** A ping waiting for its reply. */
class PingWaiter implements StackTimerTarget {
  readonly timer: StackTimer;
  constructor(
    readonly layer: IcmpLayer,
    readonly key: number,
    readonly address: string,
    readonly path: Path,
    readonly sentAt: number,
    readonly resolve: (rtt: number) => void,
    readonly reject: (err: PingError) => void,
  ) {
    this.timer = new StackTimer(this, 0);
  }
  onStackTimer(): void {
    this.layer.pingTimedOut(this);
  }
}

/** A token bucket for outgoing ICMP errors (RFC 4443 2.4(f), RFC 1812 4.3.2.8). */
class RateLimit {
  tokens: number;
  last: number;
  constructor(
    readonly perSecond: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = 0;
  }
  take(now: number): boolean {
    const t = this.tokens + ((now - this.last) * this.perSecond) / 1000;
    this.tokens = t > this.burst ? this.burst : t;
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** ICMP and ICMPv6 of one stack. */
export class IcmpLayer {
  readonly stack: TcpIp;
  private readonly v4: Icmpv4Packet;
  private readonly v6: Icmpv6Packet;
  private readonly innerSrc: Uint8Array;
  private readonly innerDst: Uint8Array;
  private readonly pings: Map<number, PingWaiter>;
  private readonly pingId: number;
  private pingSeq: number;
  private readonly limit4: RateLimit;
  private readonly limit6: RateLimit;

  constructor(stack: TcpIp, errorsPerSecond: number, errorBurst: number) {
    this.stack = stack;
    this.v4 = new Icmpv4Packet();
    this.v6 = new Icmpv6Packet();
    this.innerSrc = new Uint8Array(16);
    this.innerDst = new Uint8Array(16);
    this.pings = new Map();
    this.pingId = stack.random32() & 0xffff;
    this.pingSeq = 0;
    this.limit4 = new RateLimit(errorsPerSecond, errorBurst);
    this.limit6 = new RateLimit(errorsPerSecond, errorBurst);
  }

  private counters(v6: boolean): IcmpCounters {
    return v6 ? this.stack.counters.icmpv6 : this.stack.counters.icmpv4;
  }

  // =============================================================================================
  // Receive
  // =============================================================================================

  /** An ICMP message for this host (the IP layer's rx fields describe it). */
  input4(ip: IpLayer): void {
    const iface = ip.rxIface!;
    const c = this.stack.counters.icmpv4;
    c.inMsgs++;
    const v = this.v4;
    const r = v.wrap(ip.rxBytes, ip.rxPayloadOffset, ip.rxPayloadLength);
    if (r !== WireReason.Ok) {
      c.wire[r]!++;
      c.inErrors++;
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    if (!v.verifyChecksum()) {
      c.wire[WireReason.BadChecksum]!++;
      c.inErrors++;
      iface.drops[IpDropReason.TransportChecksum]!++;
      return;
    }
    const type = v.type;
    c.inTypes[type]!++;
    switch (type) {
      case ICMP4_ECHO_REQUEST:
        // Echo requests to broadcast or multicast addresses go unanswered (as on Windows; RFC 1122 3.2.2.6 allows it).
        if (v.code === 0 && !ip.rxGroup) this.echoReply(ip, false);
        return;
      case ICMP4_ECHO_REPLY:
        if (v.identifier === this.pingId) this.pingAnswered(v.sequenceNumber);
        return;
      case ICMP4_DST_UNREACH:
      case ICMP4_TIME_EXCEEDED:
      case ICMP4_PARAM_PROB:
        c.inErrors++;
        this.errorInput4(ip, type, v.code, v.nextHopMtu);
        return;
      default:
        return;
    }
  }

  /** An ICMPv6 message for this host. */
  input6(ip: IpLayer): void {
    const iface = ip.rxIface!;
    const c = this.stack.counters.icmpv6;
    c.inMsgs++;
    const v = this.v6;
    const len = ip.rxPayloadLength;
    const r = v.wrap(ip.rxBytes, ip.rxPayloadOffset, len);
    if (r !== WireReason.Ok) {
      c.wire[r]!++;
      c.inErrors++;
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    if (!v.verifyChecksum(pseudoHeaderSum(ip.src, ip.dst, IPPROTO_ICMPV6, len))) {
      c.wire[WireReason.BadChecksum]!++;
      c.inErrors++;
      iface.drops[IpDropReason.TransportChecksum]!++;
      return;
    }
    const type = v.type;
    c.inTypes[type]!++;
    switch (type) {
      case ICMP6_ECHO_REQUEST:
        if (v.code === 0) this.echoReply(ip, true);
        return;
      case ICMP6_ECHO_REPLY:
        if (v.identifier === this.pingId) this.pingAnswered(v.sequenceNumber);
        return;
      case ICMP6_DST_UNREACH:
      case ICMP6_PACKET_TOO_BIG:
      case ICMP6_TIME_EXCEEDED:
      case ICMP6_PARAM_PROB:
        c.inErrors++;
        this.errorInput6(ip, type, v.code, v.restOfHeader);
        return;
      case ND_ROUTER_SOLICIT:
      case ND_ROUTER_ADVERT:
      case ND_NEIGHBOR_SOLICIT:
      case ND_NEIGHBOR_ADVERT:
      case ND_REDIRECT:
        this.stack.ndp.input(ip, v);
        return;
      default:
        return;
    }
  }

  /** The path back to the sender of the packet being received: routed, or on-link through the receiving interface. */
  private replyPath(ip: IpLayer): Path {
    const iface = ip.rxIface!;
    const src = ip.src;
    if (!isIpv4Mapped(src) && isLinkLocalV6(src)) return ip.onLinkPath(iface, src);
    const p = this.stack.paths.get(src);
    return p.iface === null ? ip.onLinkPath(iface, src) : p;
  }

  private echoReply(ip: IpLayer, v6: boolean): void {
    const iface = ip.rxIface!;
    const len = ip.rxPayloadLength;
    const path = this.replyPath(ip);
    const out = path.iface!;
    // Reply from the address the request was sent to; a multicast request gets an address of ours.
    let from: Uint8Array | null = ip.dst;
    if (v6 && isMulticastAddress(ip.dst)) from = iface.selectSource(ip.src, false);
    if (from === null) return;
    const nbl = out.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d.set(ip.rxBytes.subarray(ip.rxPayloadOffset, ip.rxPayloadOffset + len), at);
    d[at] = v6 ? ICMP6_ECHO_REPLY : ICMP4_ECHO_REPLY;
    d[at + 1] = 0;
    setU16(d, at + 2, 0);
    setU16(d, at + 2, internetChecksum(d, at, len, v6 ? pseudoHeaderSum(from, ip.src, IPPROTO_ICMPV6, len) : 0));
    const c = this.counters(v6);
    c.outMsgs++;
    c.outTypes[v6 ? ICMP6_ECHO_REPLY : ICMP4_ECHO_REPLY]!++;
    // The reply's source is copied before the send: ip.dst is scratch of the receive path.
    this.stack.ip.sendDatagram(path, nbl, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, from, ip.src, this.stack.defaultTtl, TxChecksum.None);
  }

  /** An ICMPv4 error about a packet we sent: `restOfHeader` carries the next-hop MTU for fragmentation needed. */
  private errorInput4(ip: IpLayer, type: number, code: number, nextHopMtu: number): void {
    const b = ip.rxBytes;
    const q = ip.rxPayloadOffset + 8;
    const qlen = ip.rxPayloadLength - 8;
    if (qlen < 28 || b[q]! >>> 4 !== 4) return;
    const ihl = (b[q]! & 0x0f) << 2;
    if (ihl < 20 || qlen < ihl + 8) return;
    const inner = this.innerSrc;
    const remote = this.innerDst;
    setIpv4Mapped(inner, b, q + 12);
    setIpv4Mapped(remote, b, q + 16);
    if (!this.stack.isLocalAddress(inner)) return;
    const proto = b[q + 9]!;
    let kind: number = TcpIcmpError.Unreachable;
    let mtu = 0;
    if (type === ICMP4_DST_UNREACH) {
      if (code === ICMP4_UNREACH_FRAG_NEEDED) {
        kind = TcpIcmpError.PacketTooBig;
        // RFC 1191 5: a router that predates it reports 0; fall back to the next plateau below the packet.
        mtu = nextHopMtu >= 68 ? nextHopMtu : plateauBelow(getU16(b, q + 2));
        this.learnMtu(remote, mtu);
      } else if (code === ICMP4_UNREACH_PROTOCOL || code === ICMP4_UNREACH_PORT) kind = TcpIcmpError.PortUnreachable;
      else if (code === ICMP4_UNREACH_NET_ADMIN || code === ICMP4_UNREACH_HOST_ADMIN || code === ICMP4_UNREACH_ADMIN) kind = TcpIcmpError.Prohibited;
    }
    if (proto === IPPROTO_TCP) this.stack.tcp.engine.icmpError(inner, remote, kind, mtu, b, q + ihl, qlen - ihl);
    else if (proto === IPPROTO_UDP) this.stack.counters.udp.inErrors++;
    else if (proto === IPPROTO_ICMP && b[q + ihl] === ICMP4_ECHO_REQUEST && getU16(b, q + ihl + 4) === this.pingId) {
      this.pingFailed(getU16(b, q + ihl + 6), ping4Error(type, code), type, code, ip.src, mtu);
    }
  }

  /** An ICMPv6 error about a packet we sent (RFC 4443 3). */
  private errorInput6(ip: IpLayer, type: number, code: number, rest: number): void {
    const b = ip.rxBytes;
    const q = ip.rxPayloadOffset + 8;
    const qlen = ip.rxPayloadLength - 8;
    if (qlen < 48 || b[q]! >>> 4 !== 6) return;
    const inner = this.innerSrc;
    const remote = this.innerDst;
    for (let i = 0; i < 16; i++) {
      inner[i] = b[q + 8 + i]!;
      remote[i] = b[q + 24 + i]!;
    }
    if (!this.stack.isLocalAddress(inner)) return;
    // Walk the quoted header chain as far as the quote goes.
    let nh = b[q + 6]!;
    let p = 40;
    for (;;) {
      if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_DSTOPTS) {
        if (p + 8 > qlen) return;
        const size = (b[q + p + 1]! + 1) << 3;
        nh = b[q + p]!;
        p += size;
      } else if (nh === IPPROTO_FRAGMENT) {
        if (p + 8 > qlen) return;
        if ((getU16(b, q + p + 2) & 0xfff8) !== 0) return;
        nh = b[q + p]!;
        p += 8;
      } else if (nh === IPPROTO_AH) {
        if (p + 8 > qlen) return;
        const size = (b[q + p + 1]! + 2) << 2;
        nh = b[q + p]!;
        p += size;
      } else break;
    }
    if (p + 8 > qlen) return;
    let kind: number = TcpIcmpError.Unreachable;
    let mtu = 0;
    if (type === ICMP6_PACKET_TOO_BIG) {
      kind = TcpIcmpError.PacketTooBig;
      // RFC 8201 4: never below the IPv6 minimum link MTU.
      mtu = rest < IPV6_MIN_MTU ? IPV6_MIN_MTU : rest;
      this.learnMtu(remote, mtu);
    } else if (type === ICMP6_DST_UNREACH) {
      if (code === ICMP6_DST_UNREACH_NOPORT) kind = TcpIcmpError.PortUnreachable;
      else if (code === ICMP6_DST_UNREACH_ADMIN) kind = TcpIcmpError.Prohibited;
    } else if (type === ICMP6_PARAM_PROB && code === 1) {
      kind = TcpIcmpError.PortUnreachable; // unrecognized next header: the protocol is not there
    }
    if (nh === IPPROTO_TCP) this.stack.tcp.engine.icmpError(inner, remote, kind, mtu, b, q + p, qlen - p);
    else if (nh === IPPROTO_UDP) this.stack.counters.udp.inErrors++;
    else if (nh === IPPROTO_ICMPV6 && b[q + p] === ICMP6_ECHO_REQUEST && getU16(b, q + p + 4) === this.pingId) {
      this.pingFailed(getU16(b, q + p + 6), ping6Error(type, code), type, code, ip.src, mtu);
    }
  }

  /** Records a smaller path MTU to `remote` (RFC 1191 6.3, RFC 8201 4). */
  private learnMtu(remote: Uint8Array, mtu: number): void {
    const p = this.stack.paths.get(remote);
    const now = this.stack.now();
    if (mtu < p.mtu(now)) {
      p.learnedMtu = mtu;
      p.learnedAt = now;
      this.stack.counters.pmtuUpdates++;
    }
  }

  // =============================================================================================
  // Errors we send
  // =============================================================================================

  /**
   * Sends an ICMPv4 error about the packet being received (RFC 792, RFC 1812 4.3.2.3: as much of
   * it as fits in 576 bytes), unless RFC 1122 3.2.2 forbids one: the packet is itself an ICMP
   * error, went to a broadcast or multicast address, is a fragment other than the first, or came
   * from an address that is not a host. `param` is the next-hop MTU or the pointer.
   */
  sendError4(ip: IpLayer, type: number, code: number, param: number): void {
    const c = this.stack.counters.icmpv4;
    if (ip.rxGroup || !ip.rxFirstFragment || ip.rxV6) return;
    if (ip.rxProtocol === IPPROTO_ICMP) {
      const t = ip.rxBytes[ip.rxPayloadOffset];
      if (t === ICMP4_DST_UNREACH || t === ICMP4_SOURCE_QUENCH || t === ICMP4_REDIRECT || t === ICMP4_TIME_EXCEEDED || t === ICMP4_PARAM_PROB) return;
    }
    if (!this.limit4.take(this.stack.now())) {
      c.outRateLimited++;
      return;
    }
    const iface = ip.rxIface!;
    const path = this.replyPath(ip);
    const from = iface.hasLocalAddress(ip.dst) ? ip.dst : (path.iface ?? iface).selectSource(ip.src, true);
    if (from === null || path.iface === null) return;
    const quote = Math.min(ip.rxIpLength, 576 - 20 - 8);
    const len = 8 + quote;
    const nbl = path.iface.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d[at] = type;
    d[at + 1] = code;
    setU16(d, at + 2, 0);
    setU16(d, at + 4, type === ICMP4_PARAM_PROB ? (param & 0xff) << 8 : 0);
    setU16(d, at + 6, type === ICMP4_DST_UNREACH && code === ICMP4_UNREACH_FRAG_NEEDED ? param & 0xffff : 0);
    d.set(ip.rxBytes.subarray(ip.rxIpOffset, ip.rxIpOffset + quote), at + 8);
    setU16(d, at + 2, internetChecksum(d, at, len));
    c.outMsgs++;
    c.outErrors++;
    c.outTypes[type]!++;
    this.stack.ip.sendDatagram(path, nbl, IPPROTO_ICMP, from, ip.src, this.stack.defaultTtl, TxChecksum.None);
  }

  /**
   * Sends an ICMPv6 error about the packet being received (RFC 4443 2.4: as much of it as fits
   * in the minimum MTU), except in the cases 2.4(e) forbids: the packet is an ICMPv6 error or a
   * redirect, went to a multicast address or as link-layer multicast (packet too big and
   * parameter problem code 2 excepted), or came from an address that does not identify one node.
   * `param` is the MTU or the pointer.
   */
  sendError6(ip: IpLayer, type: number, code: number, param: number): void {
    const c = this.stack.counters.icmpv6;
    if (!ip.rxV6) return;
    const src = ip.src;
    if (isMulticastAddress(src) || isUnspecified6(src)) return;
    if (ip.rxGroup && type !== ICMP6_PACKET_TOO_BIG && !(type === ICMP6_PARAM_PROB && code === ICMP6_PARAMPROB_OPTION)) return;
    if (ip.rxProtocol === IPPROTO_ICMPV6) {
      const t = ip.rxBytes[ip.rxPayloadOffset];
      if (t !== undefined && (t < 128 || t === ND_REDIRECT)) return;
    }
    if (!this.limit6.take(this.stack.now())) {
      c.outRateLimited++;
      return;
    }
    const iface = ip.rxIface!;
    const path = this.replyPath(ip);
    const out = path.iface ?? iface;
    const from = !isMulticastAddress(ip.dst) && iface.hasLocalAddress(ip.dst) ? ip.dst : out.selectSource(src, false);
    if (from === null || path.iface === null) return;
    const quote = Math.min(ip.rxIpLength, IPV6_MIN_MTU - 40 - 8);
    const len = 8 + quote;
    const nbl = out.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d[at] = type;
    d[at + 1] = code;
    setU16(d, at + 2, 0);
    const v = param >>> 0;
    d[at + 4] = v >>> 24;
    d[at + 5] = (v >>> 16) & 0xff;
    d[at + 6] = (v >>> 8) & 0xff;
    d[at + 7] = v & 0xff;
    d.set(ip.rxBytes.subarray(ip.rxIpOffset, ip.rxIpOffset + quote), at + 8);
    setU16(d, at + 2, internetChecksum(d, at, len, pseudoHeaderSum(from, src, IPPROTO_ICMPV6, len)));
    c.outMsgs++;
    c.outErrors++;
    c.outTypes[type]!++;
    this.stack.ip.sendDatagram(path, nbl, IPPROTO_ICMPV6, from, src, this.stack.defaultTtl, TxChecksum.None);
  }

  /** A reassembly timed out with its first fragment received: time exceeded, code 1, quoting it. */
  reassemblyTimeExceeded(iface: IpInterface, v6: boolean, src: Uint8Array, dst: Uint8Array, quote: Uint8Array, quoteLength: number): void {
    const c = this.counters(v6);
    if (!this.stack.isLocalAddress(dst) || isMulticastAddress(src)) return;
    if (!(v6 ? this.limit6 : this.limit4).take(this.stack.now())) {
      c.outRateLimited++;
      return;
    }
    const ip = this.stack.ip;
    const path = !v6 || !isLinkLocalV6(src) ? this.stack.paths.get(src) : ip.onLinkPath(iface, src);
    const out = path.iface;
    if (out === null) return;
    const q = Math.min(quoteLength, v6 ? IPV6_MIN_MTU - 48 : 548);
    const len = 8 + q;
    const nbl = out.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    const type = v6 ? ICMP6_TIME_EXCEEDED : ICMP4_TIME_EXCEEDED;
    d[at] = type;
    d[at + 1] = 1;
    d.fill(0, at + 2, at + 8);
    d.set(quote.subarray(0, q), at + 8);
    setU16(d, at + 2, internetChecksum(d, at, len, v6 ? pseudoHeaderSum(dst, src, IPPROTO_ICMPV6, len) : 0));
    c.outMsgs++;
    c.outErrors++;
    c.outTypes[type]!++;
    ip.sendDatagram(path, nbl, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, dst, src, this.stack.defaultTtl, TxChecksum.None);
  }

  // =============================================================================================
  // Ping
  // =============================================================================================

  /**
   * Sends an echo request to `address` and resolves with the round-trip time in ms of the stack
   * clock, or rejects with a `PingError` (what ping.exe reports for each outcome). Bad arguments
   * throw an NdisError.
   */
  ping(address: string, options: PingOptions = {}): Promise<number> {
    const stack = this.stack;
    const dst = parseIp(address);
    if (dst === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `ping: '${address}' is not an IPv4 or IPv6 address`);
    const timeoutMs = options.timeoutMs ?? 4000;
    const size = options.size ?? 32;
    const ttl = options.ttl ?? stack.defaultTtl;
    if (!Number.isInteger(size) || size < 0 || size > 65500) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `ping: size must be an integer from 0 to 65500; got ${size}`);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `ping: ttl must be an integer from 1 to 255; got ${ttl}`);
    if (!(timeoutMs > 0)) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `ping: timeoutMs must be positive; got ${timeoutMs}`);
    const path = stack.paths.get(dst);
    const iface = path.iface;
    if (iface === null) return Promise.reject(new PingError('ENETUNREACH', address, 'no route to the destination (transmit failed: general failure)'));
    if (!path.hasSource) return Promise.reject(new PingError('EADDRNOTAVAIL', address, `interface '${iface.name}' has no usable source address for it yet`));
    const v6 = !path.v4;
    const len = 8 + size;
    const nbl = iface.allocatePacket(len);
    if (nbl === null) return Promise.reject(new PingError('ENOBUFS', address, 'no buffer for the echo request'));
    this.pingSeq = (this.pingSeq + 1) & 0xffff;
    const seq = this.pingSeq;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d[at] = v6 ? ICMP6_ECHO_REQUEST : ICMP4_ECHO_REQUEST;
    d[at + 1] = 0;
    setU16(d, at + 2, 0);
    setU16(d, at + 4, this.pingId);
    setU16(d, at + 6, seq);
    for (let i = 0; i < size; i++) d[at + 8 + i] = ECHO_PATTERN[i % ECHO_PATTERN.length]!;
    const src = path.source.slice();
    setU16(d, at + 2, internetChecksum(d, at, len, v6 ? pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, len) : 0));
    const old = this.pings.get(seq);
    if (old !== undefined) this.finish(old);
    let waiter!: PingWaiter;
    const promise = new Promise<number>((resolve, reject) => {
      waiter = new PingWaiter(this, seq, address, path, stack.now(), resolve, reject);
    });
    this.pings.set(seq, waiter);
    stack.setTimer(waiter.timer, stack.now() + timeoutMs);
    const c = this.counters(v6);
    c.outMsgs++;
    c.outTypes[v6 ? ICMP6_ECHO_REQUEST : ICMP4_ECHO_REQUEST]!++;
    stack.beginBatch();
    try {
      stack.ip.sendDatagram(path, nbl, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, src, dst, ttl, TxChecksum.None);
    } finally {
      stack.endBatch();
    }
    return stack.ndis.until(promise, timeoutMs + 1000).finally(() => this.finish(waiter));
  }

  private finish(w: PingWaiter): void {
    this.stack.timers.remove(w.timer);
    if (this.pings.get(w.key) === w) this.pings.delete(w.key);
  }

  private pingAnswered(seq: number): void {
    const w = this.pings.get(seq);
    if (w === undefined) return;
    this.finish(w);
    w.resolve(this.stack.now() - w.sentAt);
  }

  private pingFailed(seq: number, code: PingErrorCode, type: number, icmpCode: number, from: Uint8Array, mtu: number): void {
    const w = this.pings.get(seq);
    if (w === undefined) return;
    this.finish(w);
    const by = formatIp(from);
    const text = code === 'EMSGSIZE' ? `packet too big for the path (MTU ${mtu}), reported by ${by}` : `${describePingError(code)} (ICMP type ${type} code ${icmpCode} from ${by})`;
    w.reject(new PingError(code, w.address, text, type, icmpCode, by));
  }

  /** A ping's time ran out: "Request timed out", or "Destination host unreachable" when resolution failed. */
  pingTimedOut(w: PingWaiter): void {
    this.finish(w);
    const e = w.path.neighbor;
    if (e !== null && (e.state === NeighborState.Unreachable || (e.state === NeighborState.Incomplete && e.lastFailureAt > w.sentAt))) {
      w.reject(new PingError('EHOSTUNREACH', w.address, `destination host unreachable (no answer to address resolution for ${formatIp(e.address)})`));
      return;
    }
    w.reject(new PingError('ETIMEDOUT', w.address, 'request timed out'));
  }

  /** Pings waiting for replies. */
  get pendingPings(): number {
    return this.pings.size;
  }
}

function isUnspecified6(a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

/** RFC 1191 7: the MTU plateaus, for routers that report no next-hop MTU. */
const PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

function plateauBelow(size: number): number {
  for (const p of PLATEAUS) if (p < size) return p;
  return 68;
}

function ping4Error(type: number, code: number): PingErrorCode {
  if (type === ICMP4_TIME_EXCEEDED) return 'ETTLEXPIRED';
  if (type === ICMP4_PARAM_PROB) return 'EPROTO';
  if (code === ICMP4_UNREACH_FRAG_NEEDED) return 'EMSGSIZE';
  if (code === ICMP4_UNREACH_NET || code === ICMP4_UNREACH_NET_UNKNOWN) return 'ENETUNREACH';
  if (code === ICMP4_UNREACH_PROTOCOL || code === ICMP4_UNREACH_PORT || code === ICMP4_UNREACH_ADMIN) return 'ECONNREFUSED';
  return 'EHOSTUNREACH';
}

function ping6Error(type: number, code: number): PingErrorCode {
  if (type === ICMP6_TIME_EXCEEDED) return 'ETTLEXPIRED';
  if (type === ICMP6_PARAM_PROB) return 'EPROTO';
  if (type === ICMP6_PACKET_TOO_BIG) return 'EMSGSIZE';
  if (code === ICMP6_DST_UNREACH_NOROUTE) return 'ENETUNREACH';
  if (code === ICMP6_DST_UNREACH_NOPORT || code === ICMP6_DST_UNREACH_ADMIN) return 'ECONNREFUSED';
  return 'EHOSTUNREACH';
}

function describePingError(code: PingErrorCode): string {
  switch (code) {
    case 'ETTLEXPIRED':
      return 'TTL expired in transit';
    case 'ENETUNREACH':
      return 'destination net unreachable';
    case 'ECONNREFUSED':
      return 'destination unreachable (protocol, port or administratively prohibited)';
    case 'EPROTO':
      return 'parameter problem';
    default:
      return 'destination host unreachable';
  }
}

