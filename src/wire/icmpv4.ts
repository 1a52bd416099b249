/**
 * ICMP for IPv4 (RFC 792): echo request and reply, destination unreachable (with the next-hop MTU
 * of "fragmentation needed", RFC 1191 4), time exceeded, and the header fields of the others.
 *
 * ```
 *  0        8        16                31
 *  +--------+--------+-----------------+
 *  |  Type  |  Code  |    Checksum     |
 *  +--------+--------+-----------------+
 *  | rest of header (id/seq, MTU, ...) |
 *  +-----------------------------------+
 *  | data (echo data, or the invoking IP header + 8 bytes)
 * ```
 */
import { EMPTY_BYTES, getU16, getU32, setU16, setU32, spans } from './bytes.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { WireReason } from './reason.js';

/** Length of the ICMP header (type, code, checksum and the 4-byte rest of header). */
export const ICMPV4_HEADER_LENGTH = 8;

/** ICMP type: echo reply (ICMP4_TYPE ICMP4_ECHO_REPLY). */
export const ICMP4_ECHO_REPLY = 0;
/** ICMP type: destination unreachable (ICMP4_DST_UNREACH). */
export const ICMP4_DST_UNREACH = 3;
/** ICMP type: source quench, deprecated by RFC 6633 (ICMP4_SOURCE_QUENCH). */
export const ICMP4_SOURCE_QUENCH = 4;
/** ICMP type: redirect (ICMP4_REDIRECT). */
export const ICMP4_REDIRECT = 5;
/** ICMP type: echo request (ICMP4_ECHO_REQUEST). */
export const ICMP4_ECHO_REQUEST = 8;
/** ICMP type: router advertisement (ICMP4_ROUTER_ADVERT, RFC 1256). */
export const ICMP4_ROUTER_ADVERT = 9;
/** ICMP type: router solicitation (ICMP4_ROUTER_SOLICIT, RFC 1256). */
export const ICMP4_ROUTER_SOLICIT = 10;
/** ICMP type: time exceeded (ICMP4_TIME_EXCEEDED). */
export const ICMP4_TIME_EXCEEDED = 11;
/** ICMP type: parameter problem (ICMP4_PARAM_PROB). */
export const ICMP4_PARAM_PROB = 12;
/** ICMP type: timestamp request (ICMP4_TIMESTAMP_REQUEST). */
export const ICMP4_TIMESTAMP_REQUEST = 13;
/** ICMP type: timestamp reply (ICMP4_TIMESTAMP_REPLY). */
export const ICMP4_TIMESTAMP_REPLY = 14;

/** Destination unreachable code: network unreachable (ICMP4_UNREACH_CODE ICMP4_UNREACH_NET). */
export const ICMP4_UNREACH_NET = 0;
/** Destination unreachable code: host unreachable. */
export const ICMP4_UNREACH_HOST = 1;
/** Destination unreachable code: protocol unreachable. */
export const ICMP4_UNREACH_PROTOCOL = 2;
/** Destination unreachable code: port unreachable. */
export const ICMP4_UNREACH_PORT = 3;
/** Destination unreachable code: fragmentation needed and DF set; carries the next-hop MTU. */
export const ICMP4_UNREACH_FRAG_NEEDED = 4;
/** Destination unreachable code: source route failed. */
export const ICMP4_UNREACH_SOURCEROUTE_FAILED = 5;
/** Destination unreachable code: destination network unknown (RFC 1122). */
export const ICMP4_UNREACH_NET_UNKNOWN = 6;
/** Destination unreachable code: destination host unknown (RFC 1122). */
export const ICMP4_UNREACH_HOST_UNKNOWN = 7;
/** Destination unreachable code: source host isolated (RFC 1122). */
export const ICMP4_UNREACH_ISOLATED = 8;
/** Destination unreachable code: network administratively prohibited (RFC 1122). */
export const ICMP4_UNREACH_NET_ADMIN = 9;
/** Destination unreachable code: host administratively prohibited (RFC 1122). */
export const ICMP4_UNREACH_HOST_ADMIN = 10;
/** Destination unreachable code: network unreachable for type of service (RFC 1122). */
export const ICMP4_UNREACH_NET_TOS = 11;
/** Destination unreachable code: host unreachable for type of service (RFC 1122). */
export const ICMP4_UNREACH_HOST_TOS = 12;
/** Destination unreachable code: communication administratively prohibited (RFC 1812). */
export const ICMP4_UNREACH_ADMIN = 13;
/** Time exceeded code: TTL exceeded in transit (ICMP4_TIME_EXCEED_CODE ICMP4_TIME_EXCEED_TRANSIT). */
export const ICMP4_TIME_EXCEED_TRANSIT = 0;
/** Time exceeded code: fragment reassembly time exceeded. */
export const ICMP4_TIME_EXCEED_REASSEMBLY = 1;

/**
 * A reusable view of an ICMPv4 message. `length` is the whole message (the IPv4 payload), which
 * the checksum covers. After `wrap` returns 0 the 8-byte header is readable.
 */
export class Icmpv4Packet {
  /** The array holding the message. */
  bytes: Uint8Array;
  /** Offset of the type byte in `bytes`. */
  offset: number;
  /** Length of the whole message (header and data). */
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
    return spans(bytes, offset, length, ICMPV4_HEADER_LENGTH) ? WireReason.Ok : WireReason.Truncated;
  }

  /** Points the view at space for a message of `length` bytes; returns 0 or `WireReason.NoSpace`. */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    return this.wrap(bytes, offset, length) === WireReason.Ok ? WireReason.Ok : WireReason.NoSpace;
  }

  /** Message type (ICMP4_*). */
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

  /** Echo and timestamp messages: the identifier. */
  get identifier(): number {
    return getU16(this.bytes, this.offset + 4);
  }

  set identifier(value: number) {
    setU16(this.bytes, this.offset + 4, value);
  }

  /** Echo and timestamp messages: the sequence number. */
  get sequenceNumber(): number {
    return getU16(this.bytes, this.offset + 6);
  }

  set sequenceNumber(value: number) {
    setU16(this.bytes, this.offset + 6, value);
  }

  /** Fragmentation needed: the next-hop MTU (RFC 1191 4); 0 from routers that predate it. */
  get nextHopMtu(): number {
    return getU16(this.bytes, this.offset + 6);
  }

  set nextHopMtu(value: number) {
    setU16(this.bytes, this.offset + 6, value);
  }

  /** Parameter problem: the pointer to the octet in error. */
  get pointer(): number {
    return this.bytes[this.offset + 4]!;
  }

  set pointer(value: number) {
    this.bytes[this.offset + 4] = value;
  }

  /** Redirect: the gateway address as an unsigned 32-bit number. */
  get gatewayAddress(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  set gatewayAddress(value: number) {
    setU32(this.bytes, this.offset + 4, value);
  }

  /** The 4 bytes after the checksum as one number ("unused" in several messages). */
  get restOfHeader(): number {
    return getU32(this.bytes, this.offset + 4);
  }

  set restOfHeader(value: number) {
    setU32(this.bytes, this.offset + 4, value);
  }

  /** True for the error messages that quote an invoking packet (unreachable, quench, redirect, time exceeded, parameter problem). */
  get isError(): boolean {
    const t = this.type;
    return t === ICMP4_DST_UNREACH || t === ICMP4_SOURCE_QUENCH || t === ICMP4_REDIRECT ||
      t === ICMP4_TIME_EXCEEDED || t === ICMP4_PARAM_PROB;
  }

  /** Offset in `bytes` of the data after the 8-byte header (echo data or the quoted IP header). */
  get payloadOffset(): number {
    return this.offset + ICMPV4_HEADER_LENGTH;
  }

  /** Length of the data after the header. */
  get payloadLength(): number {
    return this.length - ICMPV4_HEADER_LENGTH;
  }

  /** True when the checksum over the whole message verifies. */
  verifyChecksum(): boolean {
    return onesComplementSum(this.bytes, this.offset, this.length) === 0xffff;
  }

  /** Computes the checksum over the whole message and writes it. */
  fillChecksum(): void {
    setU16(this.bytes, this.offset + 2, 0);
    setU16(this.bytes, this.offset + 2, internetChecksum(this.bytes, this.offset, this.length));
  }
}

/** Echo request or reply as a plain record. */
export interface Icmpv4EchoRepr {
  type: typeof ICMP4_ECHO_REQUEST | typeof ICMP4_ECHO_REPLY;
  identifier: number;
  sequenceNumber: number;
  /** Echo data (a view into the parsed buffer, not a copy). */
  data: Uint8Array;
}

/** Destination unreachable as a plain record. */
export interface Icmpv4DstUnreachRepr {
  type: typeof ICMP4_DST_UNREACH;
  /** ICMP4_UNREACH_*. */
  code: number;
  /** Next-hop MTU for ICMP4_UNREACH_FRAG_NEEDED, else 0. */
  nextHopMtu: number;
  /** The invoking IP header and at least 8 bytes of its data (a view, not a copy). */
  data: Uint8Array;
}

/** Time exceeded as a plain record. */
export interface Icmpv4TimeExceededRepr {
  type: typeof ICMP4_TIME_EXCEEDED;
  /** ICMP4_TIME_EXCEED_TRANSIT or ICMP4_TIME_EXCEED_REASSEMBLY. */
  code: number;
  /** The invoking IP header and data (a view, not a copy). */
  data: Uint8Array;
}

/** The ICMPv4 messages modelled as records. */
export type Icmpv4Repr = Icmpv4EchoRepr | Icmpv4DstUnreachRepr | Icmpv4TimeExceededRepr;

/**
 * Parses a wrapped message into a new {@link Icmpv4Repr}, verifying the checksum. Allocates the
 * record; `data` is a subarray sharing the packet's memory. Returns the record,
 * `WireReason.BadChecksum`, or `WireReason.UnsupportedType`.
 */
export function parseIcmpv4Repr(packet: Icmpv4Packet): Icmpv4Repr | number {
  if (!packet.verifyChecksum()) return WireReason.BadChecksum;
  const data = packet.bytes.subarray(packet.payloadOffset, packet.offset + packet.length);
  const type = packet.type;
  switch (type) {
    case ICMP4_ECHO_REQUEST:
    case ICMP4_ECHO_REPLY:
      if (packet.code !== 0) return WireReason.UnsupportedType;
      return { type, identifier: packet.identifier, sequenceNumber: packet.sequenceNumber, data };
    case ICMP4_DST_UNREACH:
      return {
        type, code: packet.code, nextHopMtu: packet.code === ICMP4_UNREACH_FRAG_NEEDED ? packet.nextHopMtu : 0, data,
      };
    case ICMP4_TIME_EXCEEDED:
      return { type, code: packet.code, data };
    default:
      return WireReason.UnsupportedType;
  }
}

/** Bytes {@link emitIcmpv4Repr} writes: 8 plus the data. */
export function icmpv4ReprLength(repr: Icmpv4Repr): number {
  return ICMPV4_HEADER_LENGTH + repr.data.length;
}

/**
 * Writes `repr` (header, data, checksum) at `bytes[offset..]`. Returns 0 or `WireReason.NoSpace`.
 */
export function emitIcmpv4Repr(repr: Icmpv4Repr, bytes: Uint8Array, offset: number): number {
  const len = icmpv4ReprLength(repr);
  const view = new Icmpv4Packet();
  if (view.wrapForEmit(bytes, offset, len) !== WireReason.Ok) return WireReason.NoSpace;
  view.type = repr.type;
  switch (repr.type) {
    case ICMP4_ECHO_REQUEST:
    case ICMP4_ECHO_REPLY:
      view.code = 0;
      view.identifier = repr.identifier;
      view.sequenceNumber = repr.sequenceNumber;
      break;
    case ICMP4_DST_UNREACH:
      view.code = repr.code;
      view.restOfHeader = repr.code === ICMP4_UNREACH_FRAG_NEEDED ? repr.nextHopMtu & 0xffff : 0;
      break;
    case ICMP4_TIME_EXCEEDED:
      view.code = repr.code;
      view.restOfHeader = 0;
      break;
  }
  bytes.set(repr.data, offset + ICMPV4_HEADER_LENGTH);
  view.fillChecksum();
  return WireReason.Ok;
}
