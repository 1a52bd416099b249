/**
 * ICMP for IPv6 (RFC 4443) and Neighbor Discovery (RFC 4861).
 *
 * ```
 *  0        8        16                31
 *  +--------+--------+-----------------+
 *  |  Type  |  Code  |    Checksum     |   checksum over an IPv6 pseudo-header (RFC 8200 8.1)
 *  +--------+--------+-----------------+
 *  | message body ...                      errors: MTU/pointer/unused, then the invoking packet
 *                                          NDP: fixed fields, then options (type, length in 8s)
 * ```
 *
 * NDP fixed parts and where their options start:
 * RS 8 (reserved), RA 16 (cur hop limit, M/O flags, router lifetime, reachable time, retrans
 * timer), NS 24 (reserved, target), NA 24 (R/S/O flags, target), redirect 40 (target, destination).
 * Receivers must also check that the IPv6 hop limit is 255 (RFC 4861 6.1, 7.1); the IPv6 layer
 * holds that field.
 */
import type { IpAddress, MacAddress } from './address.js';
import { copyBytes, EMPTY_BYTES, getU16, getU32, setU16, setU32, spans } from './bytes.js';
import { internetChecksum, ipv6PseudoHeaderSum, onesComplementSum } from './checksum.js';
import { IPPROTO_ICMPV6 } from './ip.js';
import { WireReason } from './reason.js';

/** Length of the ICMPv6 header (type, code, checksum and the 4-byte message body start). */
export const ICMPV6_HEADER_LENGTH = 8;

/** ICMPv6 type: destination unreachable (ICMP6_TYPE ICMP6_DST_UNREACH). */
export const ICMP6_DST_UNREACH = 1;
/** ICMPv6 type: packet too big (ICMP6_PACKET_TOO_BIG). */
export const ICMP6_PACKET_TOO_BIG = 2;
/** ICMPv6 type: time exceeded (ICMP6_TIME_EXCEEDED). */
export const ICMP6_TIME_EXCEEDED = 3;
/** ICMPv6 type: parameter problem (ICMP6_PARAM_PROB). */
export const ICMP6_PARAM_PROB = 4;
/** ICMPv6 type: echo request (ICMP6_ECHO_REQUEST). */
export const ICMP6_ECHO_REQUEST = 128;
/** ICMPv6 type: echo reply (ICMP6_ECHO_REPLY). */
export const ICMP6_ECHO_REPLY = 129;
/** ICMPv6 type: router solicitation (ND_ROUTER_SOLICIT). */
export const ND_ROUTER_SOLICIT = 133;
/** ICMPv6 type: router advertisement (ND_ROUTER_ADVERT). */
export const ND_ROUTER_ADVERT = 134;
/** ICMPv6 type: neighbor solicitation (ND_NEIGHBOR_SOLICIT). */
export const ND_NEIGHBOR_SOLICIT = 135;
/** ICMPv6 type: neighbor advertisement (ND_NEIGHBOR_ADVERT). */
export const ND_NEIGHBOR_ADVERT = 136;
/** ICMPv6 type: redirect (ND_REDIRECT). */
export const ND_REDIRECT = 137;

/** Destination unreachable code: no route to destination (ICMP6_DST_UNREACH_NOROUTE). */
export const ICMP6_DST_UNREACH_NOROUTE = 0;
/** Destination unreachable code: administratively prohibited (ICMP6_DST_UNREACH_ADMIN). */
export const ICMP6_DST_UNREACH_ADMIN = 1;
/** Destination unreachable code: beyond scope of source address (ICMP6_DST_UNREACH_BEYONDSCOPE). */
export const ICMP6_DST_UNREACH_BEYONDSCOPE = 2;
/** Destination unreachable code: address unreachable (ICMP6_DST_UNREACH_ADDR). */
export const ICMP6_DST_UNREACH_ADDR = 3;
/** Destination unreachable code: port unreachable (ICMP6_DST_UNREACH_NOPORT). */
export const ICMP6_DST_UNREACH_NOPORT = 4;
/** Time exceeded code: hop limit exceeded in transit (ICMP6_TIME_EXCEED_TRANSIT). */
export const ICMP6_TIME_EXCEED_TRANSIT = 0;
/** Time exceeded code: fragment reassembly time exceeded (ICMP6_TIME_EXCEED_REASSEMBLY). */
export const ICMP6_TIME_EXCEED_REASSEMBLY = 1;
/** Parameter problem code: erroneous header field (ICMP6_PARAMPROB_HEADER). */
export const ICMP6_PARAMPROB_HEADER = 0;
/** Parameter problem code: unrecognized next header (ICMP6_PARAMPROB_NEXTHEADER). */
export const ICMP6_PARAMPROB_NEXTHEADER = 1;
/** Parameter problem code: unrecognized IPv6 option (ICMP6_PARAMPROB_OPTION). */
export const ICMP6_PARAMPROB_OPTION = 2;

/** NDP option: source link-layer address (ND_OPTION_TYPE ND_OPT_SOURCE_LINKADDR). */
export const ND_OPT_SOURCE_LINKADDR = 1;
/** NDP option: target link-layer address (ND_OPT_TARGET_LINKADDR). */
export const ND_OPT_TARGET_LINKADDR = 2;
/** NDP option: prefix information (ND_OPT_PREFIX_INFORMATION). */
export const ND_OPT_PREFIX_INFORMATION = 3;
/** NDP option: redirected header (ND_OPT_REDIRECTED_HEADER). */
export const ND_OPT_REDIRECTED_HEADER = 4;
/** NDP option: MTU (ND_OPT_MTU). */
export const ND_OPT_MTU = 5;
/** NDP option: route information (ND_OPT_ROUTE_INFO, RFC 4191). */
export const ND_OPT_ROUTE_INFO = 24;
/** NDP option: recursive DNS server (ND_OPT_RDNSS, RFC 8106). */
export const ND_OPT_RDNSS = 25;
/** NDP option: DNS search list (ND_OPT_DNSSL, RFC 8106). */
export const ND_OPT_DNSSL = 31;

/** Router advertisement flag byte: managed address configuration (ND_RA_FLAG_MANAGED). */
export const ND_RA_FLAG_MANAGED = 0x80;
/** Router advertisement flag byte: other configuration (ND_RA_FLAG_OTHER). */
export const ND_RA_FLAG_OTHER = 0x40;
/** Router advertisement flag byte: home agent (ND_RA_FLAG_HOME_AGENT, RFC 6275 7.1). */
export const ND_RA_FLAG_HOME_AGENT = 0x20;
/** Router advertisement flag byte: default router preference field (ND_RA_FLAG_RTPREF_MASK, RFC 4191 2.2). */
export const ND_RA_FLAG_RTPREF_MASK = 0x18;
/** Router advertisement flag byte: proxied (ND_RA_FLAG_PROXY, RFC 4389 4.1.3.3). */
export const ND_RA_FLAG_PROXY = 0x04;
/** Neighbor advertisement flag byte: router (ND_NA_FLAG_ROUTER, top bit of the first body byte). */
export const ND_NA_FLAG_ROUTER = 0x80;
/** Neighbor advertisement flag byte: solicited (ND_NA_FLAG_SOLICITED). */
export const ND_NA_FLAG_SOLICITED = 0x40;
/** Neighbor advertisement flag byte: override (ND_NA_FLAG_OVERRIDE). */
export const ND_NA_FLAG_OVERRIDE = 0x20;
/** Prefix information flag: on-link (ND_OPT_PI_FLAG_ONLINK). */
export const ND_OPT_PI_FLAG_ONLINK = 0x80;
/** Prefix information flag: autonomous address configuration (ND_OPT_PI_FLAG_AUTO). */
export const ND_OPT_PI_FLAG_AUTO = 0x40;

/** Offset of the options after the fixed part of an NDP message of type `type`, or -1 for non-NDP types. */
export function ndpOptionsStart(type: number): number {
  switch (type) {
    case ND_ROUTER_SOLICIT:
      return 8;
    case ND_ROUTER_ADVERT:
      return 16;
    case ND_NEIGHBOR_SOLICIT:
    case ND_NEIGHBOR_ADVERT:
      return 24;
    case ND_REDIRECT:
      return 40;
    default:
      return -1;
  }
}

/**
 * A reusable view of an ICMPv6 message, NDP messages included. `length` is the whole message (the
 * upper-layer length the pseudo-header carries). After `wrap` returns 0 the 8-byte header is
 * readable; for NDP fields call {@link checkNdp} first, which proves the fixed part and options.
 */
export class Icmpv6Packet {
  /** The array holding the message. */
  bytes: Uint8Array;
  /** Offset of the type byte in `bytes`. */
  offset: number;
  /** Length of the whole message. */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /** Points the view at a received message; returns 0 or `WireReason.Truncated` (below 8 bytes). */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    return spans(bytes, offset, length, ICMPV6_HEADER_LENGTH) ? WireReason.Ok : WireReason.Truncated;
  }

  /** Points the view at space for a message of `length` bytes; returns 0 or `WireReason.NoSpace`. */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    return this.wrap(bytes, offset, length) === WireReason.Ok ? WireReason.Ok : WireReason.NoSpace;
  }

  /**
   * For NDP messages (types 133-137): checks that the fixed part is present (`Truncated`), the
   * code is 0 (`NdpBadCode`) and every option has a non-zero length inside the message
   * (`BadOptionLength`, RFC 4861 4.6). Returns 0, or `UnsupportedType` for other types.
   */
  checkNdp(): number {
    const start = ndpOptionsStart(this.type);
    if (start < 0) return WireReason.UnsupportedType;
    if (this.length < start) return WireReason.Truncated;
    if (this.code !== 0) return WireReason.NdpBadCode;
    const end = this.offset + this.length;
    let p = this.offset + start;
    while (p < end) {
      if (p + 2 > end) return WireReason.BadOptionLength;
      const units = this.bytes[p + 1]!;
      if (units === 0 || p + (units << 3) > end) return WireReason.BadOptionLength;
      p += units << 3;
    }
    return WireReason.Ok;
  }

  /** Message type (ICMP6_*, ND_*). */
  get type(): number {
    return this.bytes[this.offset]!;
  }

  set type(value: number) {
    this.bytes[this.offset] = value;
  }

  /** Message code. */
  get code(): number {
    return this.bytes[this.offset + 1]!;
  }

  set code(value: number) {
    this.bytes[this.offset + 1] = value;
  }

  /** Checksum field. */
  get checksum(): number {
    return getU16(this.bytes, this.offset + 2);
  }

  set checksum(value: number) {
    setU16(this.bytes, this.offset + 2, value);
  }

  /** Echo: the identifier. */
  get identifier(): number {
    return getU16(this.bytes, this.offset + 4);
  }

  set identifier(value: number) {
    setU16(this.bytes, this.offset + 4, value);
  }

  /** Echo: the sequence number. */
  get sequenceNumber(): number {
    return getU16(this.bytes, this.offset + 6);
  }

  set sequenceNumber(value: number) {
    setU16(this.bytes, this.offset + 6, value);
  }

  /** Packet too big: the MTU of the next-hop link (RFC 4443 3.2). */
  get mtu(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  set mtu(value: number) {
    setU32(this.bytes, this.offset + 4, value);
  }

  /** Parameter problem: offset of the octet in error within the invoking packet (RFC 4443 3.4). */
  get pointer(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  set pointer(value: number) {
    setU32(this.bytes, this.offset + 4, value);
  }

  /** The 4 bytes after the checksum as one number. */
  get restOfHeader(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  set restOfHeader(value: number) {
    setU32(this.bytes, this.offset + 4, value);
  }

  /** True for error messages (types below 128, RFC 4443 2.1). */
  get isError(): boolean {
    return this.type < 128;
  }

  /** Offset in `bytes` of the data after the 8-byte header (echo data or the invoking packet). */
  get payloadOffset(): number {
    return this.offset + ICMPV6_HEADER_LENGTH;
  }

  /** Length of the data after the 8-byte header. */
  get payloadLength(): number {
    return this.length - ICMPV6_HEADER_LENGTH;
  }

  /** RA: current hop limit. */
  get curHopLimit(): number {
    return this.bytes[this.offset + 4]!;
  }

  set curHopLimit(value: number) {
    this.bytes[this.offset + 4] = value;
  }

  /** RA: the flag byte (ND_RA_FLAG_*); NA: the first body byte (ND_NA_FLAG_*). */
  get ndpFlags(): number {
    return this.type === ND_NEIGHBOR_ADVERT ? this.bytes[this.offset + 4]! : this.bytes[this.offset + 5]!;
  }

  set ndpFlags(value: number) {
    if (this.type === ND_NEIGHBOR_ADVERT) this.bytes[this.offset + 4] = value;
    else this.bytes[this.offset + 5] = value;
  }

  /** RA: router lifetime in seconds (0: not a default router). */
  get routerLifetime(): number {
    return getU16(this.bytes, this.offset + 6);
  }

  set routerLifetime(value: number) {
    setU16(this.bytes, this.offset + 6, value);
  }

  /** RA: reachable time in milliseconds. */
  get reachableTime(): number {
    return getU32(this.bytes, this.offset + 8);
  }

  set reachableTime(value: number) {
    setU32(this.bytes, this.offset + 8, value);
  }

  /** RA: retransmission timer in milliseconds. */
  get retransTimer(): number {
    return getU32(this.bytes, this.offset + 12);
  }

  set retransTimer(value: number) {
    setU32(this.bytes, this.offset + 12, value);
  }

  /** NS, NA, redirect: offset in `bytes` of the 16-byte target address. */
  get targetOffset(): number {
    return this.offset + 8;
  }

  /** Redirect: offset in `bytes` of the 16-byte destination address. */
  get redirectDestinationOffset(): number {
    return this.offset + 24;
  }

  /** Offset in `bytes` where NDP options start, or -1 for non-NDP types. */
  get ndpOptionsOffset(): number {
    const start = ndpOptionsStart(this.type);
    return start < 0 ? -1 : this.offset + start;
  }

  /**
   * True when the checksum verifies; `pseudoHeaderSum` comes from {@link ipv6PseudoHeaderSum} with
   * next header 58 and this message's length.
   */
  verifyChecksum(pseudoHeaderSum: number): boolean {
    return onesComplementSum(this.bytes, this.offset, this.length, pseudoHeaderSum) === 0xffff;
  }

  /** Computes the checksum over the message and `pseudoHeaderSum`, and writes it. */
  fillChecksum(pseudoHeaderSum: number): void {
    setU16(this.bytes, this.offset + 2, 0);
    setU16(this.bytes, this.offset + 2, internetChecksum(this.bytes, this.offset, this.length, pseudoHeaderSum));
  }
}

/**
 * An allocation-free walker over NDP options (RFC 4861 4.6). Usage:
 * `cursor.reset(packet); while (cursor.next()) { switch (cursor.type) ... }`, then `cursor.reason`
 * is 0 or `WireReason.BadOptionLength` (zero length or past the end). Typed readers below give
 * the fields of the options this module knows; call them only for options of that type and
 * length (`length` 8 for link-layer addresses and MTU, 32 for prefix information).
 */
export class NdpOptionCursor {
  /** The array being walked. */
  bytes: Uint8Array;
  /** Where the next option starts. */
  position: number;
  /** End of the options area. */
  end: number;
  /** Type of the current option (ND_OPT_*). */
  type: number;
  /** Offset in `bytes` of the current option's type byte. */
  offset: number;
  /** Length of the current option in bytes (the length field times 8). */
  length: number;
  /** 0, or why the walk stopped early. */
  reason: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.position = 0;
    this.end = 0;
    this.type = 0;
    this.offset = 0;
    this.length = 0;
    this.reason = 0;
  }

  /** Starts a walk over the options of a wrapped NDP message (none for other types). */
  reset(packet: Icmpv6Packet): void {
    const start = packet.ndpOptionsOffset;
    const end = packet.offset + packet.length;
    this.resetRange(packet.bytes, start < 0 ? end : start, end);
  }

  /** Starts a walk over options in `bytes[start..end)`. */
  resetRange(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.position = start;
    this.end = end > bytes.length ? bytes.length : end;
    this.type = 0;
    this.offset = start;
    this.length = 0;
    this.reason = 0;
  }

  /** Moves to the next option; false at the end or on a malformed option. */
  next(): boolean {
    const p = this.position;
    if (p >= this.end) return false;
    if (p + 2 > this.end) return this.fail();
    const size = this.bytes[p + 1]! << 3;
    if (size === 0 || p + size > this.end) return this.fail();
    this.type = this.bytes[p]!;
    this.offset = p;
    this.length = size;
    this.position = p + size;
    return true;
  }

  /** Source/target link-layer address option: offset of the address (6 bytes for Ethernet). */
  get linkLayerAddressOffset(): number {
    return this.offset + 2;
  }

  /** MTU option: the MTU. */
  get mtu(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  /** Prefix information option: prefix length in bits. */
  get prefixLength(): number {
    return this.bytes[this.offset + 2]!;
  }

  /** Prefix information option: flag byte (ND_OPT_PI_FLAG_*). */
  get prefixFlags(): number {
    return this.bytes[this.offset + 3]!;
  }

  /** Prefix information option: valid lifetime in seconds (0xffffffff: infinity). */
  get validLifetime(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  /** Prefix information option: preferred lifetime in seconds. */
  get preferredLifetime(): number {
    return getU32(this.bytes, this.offset + 8);
  }

  /** Prefix information option: offset of the 16-byte prefix. */
  get prefixOffset(): number {
    return this.offset + 16;
  }

  private fail(): boolean {
    this.reason = WireReason.BadOptionLength;
    this.position = this.end;
    return false;
  }
}

/** Echo request or reply as a plain record. */
export interface Icmpv6EchoRepr {
  type: typeof ICMP6_ECHO_REQUEST | typeof ICMP6_ECHO_REPLY;
  identifier: number;
  sequenceNumber: number;
  /** Echo data (a view into the parsed buffer). */
  data: Uint8Array;
}

/** Destination unreachable or time exceeded as a plain record. */
export interface Icmpv6ErrorRepr {
  type: typeof ICMP6_DST_UNREACH | typeof ICMP6_TIME_EXCEEDED;
  code: number;
  /** As much of the invoking packet as fits (a view into the parsed buffer). */
  data: Uint8Array;
}

/** Packet too big as a plain record. */
export interface Icmpv6PacketTooBigRepr {
  type: typeof ICMP6_PACKET_TOO_BIG;
  mtu: number;
  data: Uint8Array;
}

/** Parameter problem as a plain record. */
export interface Icmpv6ParamProblemRepr {
  type: typeof ICMP6_PARAM_PROB;
  code: number;
  pointer: number;
  data: Uint8Array;
}

/** Router solicitation (RFC 4861 4.1). */
export interface NdpRouterSolicitRepr {
  type: typeof ND_ROUTER_SOLICIT;
  sourceLinkLayerAddress: MacAddress | null;
}

/** One prefix information option (RFC 4861 4.6.2). */
export interface NdpPrefixInformation {
  prefixLength: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetime: number;
  preferredLifetime: number;
  prefix: IpAddress;
}

/** Router advertisement (RFC 4861 4.2) with its source link-layer, MTU and prefix options. */
export interface NdpRouterAdvertRepr {
  type: typeof ND_ROUTER_ADVERT;
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  /** H: the router is also a Mobile IPv6 home agent. */
  homeAgent: boolean;
  /** Default router preference, the 2-bit field: 1 high, 0 medium, 3 low, 2 reserved (RFC 4191 2.2). */
  routerPreference: number;
  /** P: proxied advertisement (RFC 4389). */
  proxy: boolean;
  routerLifetime: number;
  reachableTime: number;
  retransTimer: number;
  sourceLinkLayerAddress: MacAddress | null;
  mtu: number | null;
  prefixes: NdpPrefixInformation[];
}

/** Neighbor solicitation (RFC 4861 4.3). */
export interface NdpNeighborSolicitRepr {
  type: typeof ND_NEIGHBOR_SOLICIT;
  target: IpAddress;
  sourceLinkLayerAddress: MacAddress | null;
}

/** Neighbor advertisement (RFC 4861 4.4). */
export interface NdpNeighborAdvertRepr {
  type: typeof ND_NEIGHBOR_ADVERT;
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: IpAddress;
  targetLinkLayerAddress: MacAddress | null;
}

/** The ICMPv6 messages modelled as records. */
export type Icmpv6Repr =
  | Icmpv6EchoRepr
  | Icmpv6ErrorRepr
  | Icmpv6PacketTooBigRepr
  | Icmpv6ParamProblemRepr
  | NdpRouterSolicitRepr
  | NdpRouterAdvertRepr
  | NdpNeighborSolicitRepr
  | NdpNeighborAdvertRepr;

/**
 * Parses a wrapped message into a new {@link Icmpv6Repr}, verifying the checksum with the
 * pseudo-header of `source` and `destination` (16-byte IPv6 addresses; for NDP the source may be
 * the unspecified address). NDP messages are checked with {@link Icmpv6Packet.checkNdp}; unknown
 * NDP options are skipped, link-layer options must be 8 bytes (Ethernet), prefix information 32.
 * Allocates. Returns the record or a {@link WireReason}.
 */
export function parseIcmpv6Repr(packet: Icmpv6Packet, source: IpAddress, destination: IpAddress): Icmpv6Repr | number {
  const sum = ipv6PseudoHeaderSum(source, 0, destination, 0, IPPROTO_ICMPV6, packet.length);
  if (!packet.verifyChecksum(sum)) return WireReason.BadChecksum;
  const b = packet.bytes;
  const data = b.subarray(packet.payloadOffset, packet.offset + packet.length);
  const type = packet.type;
  switch (type) {
    case ICMP6_ECHO_REQUEST:
    case ICMP6_ECHO_REPLY:
      if (packet.code !== 0) return WireReason.UnsupportedType;
      return { type, identifier: packet.identifier, sequenceNumber: packet.sequenceNumber, data };
    case ICMP6_DST_UNREACH:
    case ICMP6_TIME_EXCEEDED:
      return { type, code: packet.code, data };
    case ICMP6_PACKET_TOO_BIG:
      return { type, mtu: packet.mtu, data };
    case ICMP6_PARAM_PROB:
      return { type, code: packet.code, pointer: packet.pointer, data };
    case ND_ROUTER_SOLICIT:
    case ND_ROUTER_ADVERT:
    case ND_NEIGHBOR_SOLICIT:
    case ND_NEIGHBOR_ADVERT:
      return parseNdp(packet, type);
    default:
      return WireReason.UnsupportedType;
  }
}

function parseNdp(packet: Icmpv6Packet, type: number): Icmpv6Repr | number {
  const check = packet.checkNdp();
  if (check !== WireReason.Ok) return check;
  const b = packet.bytes;
  let sll: MacAddress | null = null;
  let tll: MacAddress | null = null;
  let mtu: number | null = null;
  const prefixes: NdpPrefixInformation[] = [];
  const cursor = new NdpOptionCursor();
  cursor.reset(packet);
  while (cursor.next()) {
    const o = cursor.offset;
    switch (cursor.type) {
      case ND_OPT_SOURCE_LINKADDR:
      case ND_OPT_TARGET_LINKADDR: {
        if (cursor.length !== 8) return WireReason.BadOptionLength;
        const mac = b.slice(o + 2, o + 8);
        if (cursor.type === ND_OPT_SOURCE_LINKADDR) sll = mac;
        else tll = mac;
        break;
      }
      case ND_OPT_MTU:
        if (cursor.length !== 8) return WireReason.BadOptionLength;
        mtu = cursor.mtu;
        break;
      case ND_OPT_PREFIX_INFORMATION:
        if (cursor.length !== 32) return WireReason.BadOptionLength;
        prefixes.push({
          prefixLength: cursor.prefixLength,
          onLink: (cursor.prefixFlags & ND_OPT_PI_FLAG_ONLINK) !== 0,
          autonomous: (cursor.prefixFlags & ND_OPT_PI_FLAG_AUTO) !== 0,
          validLifetime: cursor.validLifetime,
          preferredLifetime: cursor.preferredLifetime,
          prefix: b.slice(o + 16, o + 32),
        });
        break;
      default:
        break;
    }
  }
  if (cursor.reason !== WireReason.Ok) return cursor.reason;
  const target = (): IpAddress => b.slice(packet.targetOffset, packet.targetOffset + 16);
  switch (type) {
    case ND_ROUTER_SOLICIT:
      return { type, sourceLinkLayerAddress: sll };
    case ND_ROUTER_ADVERT: {
      const flags = b[packet.offset + 5]!;
      return {
        type,
        curHopLimit: packet.curHopLimit,
        managed: (flags & ND_RA_FLAG_MANAGED) !== 0,
        other: (flags & ND_RA_FLAG_OTHER) !== 0,
        homeAgent: (flags & ND_RA_FLAG_HOME_AGENT) !== 0,
        routerPreference: (flags & ND_RA_FLAG_RTPREF_MASK) >>> 3,
        proxy: (flags & ND_RA_FLAG_PROXY) !== 0,
        routerLifetime: packet.routerLifetime,
        reachableTime: packet.reachableTime,
        retransTimer: packet.retransTimer,
        sourceLinkLayerAddress: sll,
        mtu,
        prefixes,
      };
    }
    case ND_NEIGHBOR_SOLICIT:
      return { type, target: target(), sourceLinkLayerAddress: sll };
    default: {
      const flags = b[packet.offset + 4]!;
      return {
        type: ND_NEIGHBOR_ADVERT,
        router: (flags & ND_NA_FLAG_ROUTER) !== 0,
        solicited: (flags & ND_NA_FLAG_SOLICITED) !== 0,
        override: (flags & ND_NA_FLAG_OVERRIDE) !== 0,
        target: target(),
        targetLinkLayerAddress: tll,
      };
    }
  }
}

/** Bytes {@link emitIcmpv6Repr} writes for `repr`. */
export function icmpv6ReprLength(repr: Icmpv6Repr): number {
  switch (repr.type) {
    case ND_ROUTER_SOLICIT:
      return 8 + (repr.sourceLinkLayerAddress !== null ? 8 : 0);
    case ND_ROUTER_ADVERT:
      return 16 + (repr.sourceLinkLayerAddress !== null ? 8 : 0) + (repr.mtu !== null ? 8 : 0) + 32 * repr.prefixes.length;
    case ND_NEIGHBOR_SOLICIT:
      return 24 + (repr.sourceLinkLayerAddress !== null ? 8 : 0);
    case ND_NEIGHBOR_ADVERT:
      return 24 + (repr.targetLinkLayerAddress !== null ? 8 : 0);
    default:
      return ICMPV6_HEADER_LENGTH + repr.data.length;
  }
}

function emitLinkLayerOption(bytes: Uint8Array, p: number, type: number, mac: MacAddress): number {
  bytes[p] = type;
  bytes[p + 1] = 1;
  copyBytes(bytes, p + 2, mac, 0, 6);
  return p + 8;
}

/**
 * Writes `repr` at `bytes[offset..]` with its checksum over the pseudo-header of `source` and
 * `destination` (16-byte IPv6 addresses). Returns 0 or `WireReason.NoSpace`.
 */
export function emitIcmpv6Repr(
  repr: Icmpv6Repr, bytes: Uint8Array, offset: number, source: IpAddress, destination: IpAddress,
): number {
  const len = icmpv6ReprLength(repr);
  const view = new Icmpv6Packet();
  if (view.wrapForEmit(bytes, offset, len) !== WireReason.Ok) return WireReason.NoSpace;
  // NDP messages are zeroed whole (reserved fields, option padding); others only in the header,
  // so that data already in place (an echo reply built over its request) survives.
  bytes.fill(0, offset, offset + (ndpOptionsStart(repr.type) >= 0 ? len : ICMPV6_HEADER_LENGTH));
  view.type = repr.type;
  let p = offset + ICMPV6_HEADER_LENGTH;
  switch (repr.type) {
    case ICMP6_ECHO_REQUEST:
    case ICMP6_ECHO_REPLY:
      view.identifier = repr.identifier;
      view.sequenceNumber = repr.sequenceNumber;
      bytes.set(repr.data, p);
      break;
    case ICMP6_DST_UNREACH:
    case ICMP6_TIME_EXCEEDED:
      view.code = repr.code;
      bytes.set(repr.data, p);
      break;
    case ICMP6_PACKET_TOO_BIG:
      view.mtu = repr.mtu;
      bytes.set(repr.data, p);
      break;
    case ICMP6_PARAM_PROB:
      view.code = repr.code;
      view.pointer = repr.pointer;
      bytes.set(repr.data, p);
      break;
    case ND_ROUTER_SOLICIT:
      if (repr.sourceLinkLayerAddress !== null) emitLinkLayerOption(bytes, p, ND_OPT_SOURCE_LINKADDR, repr.sourceLinkLayerAddress);
      break;
    case ND_ROUTER_ADVERT:
      view.curHopLimit = repr.curHopLimit;
      bytes[offset + 5] = (repr.managed ? ND_RA_FLAG_MANAGED : 0) | (repr.other ? ND_RA_FLAG_OTHER : 0) |
        (repr.homeAgent ? ND_RA_FLAG_HOME_AGENT : 0) | ((repr.routerPreference & 3) << 3) | (repr.proxy ? ND_RA_FLAG_PROXY : 0);
      view.routerLifetime = repr.routerLifetime;
      view.reachableTime = repr.reachableTime;
      view.retransTimer = repr.retransTimer;
      p = offset + 16;
      if (repr.sourceLinkLayerAddress !== null) p = emitLinkLayerOption(bytes, p, ND_OPT_SOURCE_LINKADDR, repr.sourceLinkLayerAddress);
      if (repr.mtu !== null) {
        bytes[p] = ND_OPT_MTU;
        bytes[p + 1] = 1;
        setU32(bytes, p + 4, repr.mtu);
        p += 8;
      }
      for (const pi of repr.prefixes) {
        bytes[p] = ND_OPT_PREFIX_INFORMATION;
        bytes[p + 1] = 4;
        bytes[p + 2] = pi.prefixLength;
        bytes[p + 3] = (pi.onLink ? ND_OPT_PI_FLAG_ONLINK : 0) | (pi.autonomous ? ND_OPT_PI_FLAG_AUTO : 0);
        setU32(bytes, p + 4, pi.validLifetime);
        setU32(bytes, p + 8, pi.preferredLifetime);
        copyBytes(bytes, p + 16, pi.prefix, 0, 16);
        p += 32;
      }
      break;
    case ND_NEIGHBOR_SOLICIT:
      copyBytes(bytes, offset + 8, repr.target, 0, 16);
      if (repr.sourceLinkLayerAddress !== null) emitLinkLayerOption(bytes, offset + 24, ND_OPT_SOURCE_LINKADDR, repr.sourceLinkLayerAddress);
      break;
    case ND_NEIGHBOR_ADVERT:
      bytes[offset + 4] = (repr.router ? ND_NA_FLAG_ROUTER : 0) | (repr.solicited ? ND_NA_FLAG_SOLICITED : 0) | (repr.override ? ND_NA_FLAG_OVERRIDE : 0);
      copyBytes(bytes, offset + 8, repr.target, 0, 16);
      if (repr.targetLinkLayerAddress !== null) emitLinkLayerOption(bytes, offset + 24, ND_OPT_TARGET_LINKADDR, repr.targetLinkLayerAddress);
      break;
  }
  view.fillChecksum(ipv6PseudoHeaderSum(source, 0, destination, 0, IPPROTO_ICMPV6, len));
  return WireReason.Ok;
}
