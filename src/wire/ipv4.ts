/**
 * IPv4 headers (RFC 791) with options, fragmentation fields and the header checksum.
 *
 * ```
 *  0       4       8              16    19              31
 *  +-------+-------+--------------+-----+----------------+
 *  |Version|  IHL  | DSCP  | ECN  |     Total Length      |
 *  +-------+-------+--------------+-----+----------------+
 *  |        Identification        |Flags| Fragment Offset|
 *  +---------------+--------------+-----+----------------+
 *  |      TTL      |   Protocol   |    Header Checksum    |
 *  +---------------+--------------+----------------------+
 *  |                    Source Address                    |
 *  |                  Destination Address                 |
 *  |               Options (IHL > 5)   ...                |
 * ```
 */
import type { IpAddress } from './address.js';
import { setIpv4Mapped } from './address.js';
import { copyBytes, EMPTY_BYTES, getU16, getU32, setU16, setU32, spans } from './bytes.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { WireReason } from './reason.js';

/** Length of an IPv4 header without options (IHL 5). */
export const IPV4_MIN_HEADER_LENGTH = 20;
/** Length of an IPv4 header with the most options (IHL 15). */
export const IPV4_MAX_HEADER_LENGTH = 60;

/** IPv4 option: end of option list (IP_OPTION_TYPE IP_OPT_EOL). */
export const IP_OPT_EOL = 0x00;
/** IPv4 option: no operation, padding (IP_OPT_NOP). */
export const IP_OPT_NOP = 0x01;
/** IPv4 option: record route (IP_OPT_RR, RFC 791). */
export const IP_OPT_RR = 0x07;
/** IPv4 option: timestamp (IP_OPT_TS, RFC 791). */
export const IP_OPT_TS = 0x44;
/** IPv4 option: security (IP_OPT_SECURITY, RFC 1108). */
export const IP_OPT_SECURITY = 0x82;
/** IPv4 option: loose source and record route (IP_OPT_LSRR). */
export const IP_OPT_LSRR = 0x83;
/** IPv4 option: stream identifier (IP_OPT_SID). */
export const IP_OPT_SID = 0x88;
/** IPv4 option: strict source and record route (IP_OPT_SSRR). */
export const IP_OPT_SSRR = 0x89;
/** IPv4 option: router alert (IP_OPT_ROUTER_ALERT, RFC 2113). */
export const IP_OPT_ROUTER_ALERT = 0x94;

const DF = 0x4000;
const MF = 0x2000;
const OFFSET_MASK = 0x1fff;

/**
 * Checks the options area `bytes[start..end)`: every option other than EOL and NOP needs a length
 * byte of at least 2 that keeps it inside the area; EOL ends the list. Returns 0 or
 * `WireReason.BadOptionLength`.
 */
export function validateIpv4Options(bytes: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end) {
    const type = bytes[p]!;
    if (type === IP_OPT_EOL) return WireReason.Ok;
    if (type === IP_OPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return WireReason.BadOptionLength;
    const len = bytes[p + 1]!;
    if (len < 2 || p + len > end) return WireReason.BadOptionLength;
    p += len;
  }
  return WireReason.Ok;
}

/**
 * A reusable view of an IPv4 header (RFC 791 3.1). After `wrap` returns 0 the header, its options
 * and the Total Length are consistent with the buffer, and every accessor is allocation-free.
 */
export class Ipv4Packet {
  /** The array holding the packet. */
  bytes: Uint8Array;
  /** Offset of the version/IHL byte in `bytes`. */
  offset: number;
  /** Bytes available from `offset`; at least Total Length after a successful wrap (frames pad). */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /**
   * Points the view at a received packet and checks it: 20 bytes present (`Truncated`), version 4
   * (`BadVersion`), IHL of at least 5 (`BadHeaderLength`) within the buffer (`HeaderOverrun`),
   * Total Length between the header length and the buffer length (`BadTotalLength`), and well-formed
   * options (`BadOptionLength`). The checksum is not verified here: see {@link verifyChecksum}.
   */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, IPV4_MIN_HEADER_LENGTH)) return WireReason.Truncated;
    const vihl = bytes[offset]!;
    if (vihl >>> 4 !== 4) return WireReason.BadVersion;
    const hl = (vihl & 0x0f) << 2;
    if (hl < IPV4_MIN_HEADER_LENGTH) return WireReason.BadHeaderLength;
    if (hl > length) return WireReason.HeaderOverrun;
    const total = getU16(bytes, offset + 2);
    if (total < hl || total > length) return WireReason.BadTotalLength;
    if (hl > IPV4_MIN_HEADER_LENGTH) return validateIpv4Options(bytes, offset + IPV4_MIN_HEADER_LENGTH, offset + hl);
    return WireReason.Ok;
  }

  /**
   * Points the view at space for a header to be built and writes version 4 with IHL 5; set
   * {@link headerLength} afterwards for options. Returns 0 or `WireReason.NoSpace`. (A large-send
   * (LSOv2) packet whose Total Length is 0 is built this way; `wrap` would refuse it.)
   */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, IPV4_MIN_HEADER_LENGTH)) return WireReason.NoSpace;
    bytes[offset] = 0x45;
    return WireReason.Ok;
  }

  /** The version field (4 in a wrapped packet). */
  get version(): number {
    return this.bytes[this.offset]! >>> 4;
  }

  /** Header length in bytes (IHL * 4), 20 to 60. */
  get headerLength(): number {
    return (this.bytes[this.offset]! & 0x0f) << 2;
  }

  /** Sets version 4 and IHL = `value` / 4 (`value` a multiple of 4 from 20 to 60). */
  set headerLength(value: number) {
    this.bytes[this.offset] = 0x40 | ((value >>> 2) & 0x0f);
  }

  /** The whole second byte (former Type of Service): DSCP << 2 | ECN. */
  get typeOfService(): number {
    return this.bytes[this.offset + 1]!;
  }

  set typeOfService(value: number) {
    this.bytes[this.offset + 1] = value;
  }

  /** Differentiated Services Code Point (RFC 2474), 0-63. */
  get dscp(): number {
    return this.bytes[this.offset + 1]! >>> 2;
  }

  set dscp(value: number) {
    const o = this.offset + 1;
    this.bytes[o] = ((value & 0x3f) << 2) | (this.bytes[o]! & 3);
  }

  /** Explicit Congestion Notification (RFC 3168), 0-3. */
  get ecn(): number {
    return this.bytes[this.offset + 1]! & 3;
  }

  set ecn(value: number) {
    const o = this.offset + 1;
    this.bytes[o] = (this.bytes[o]! & 0xfc) | (value & 3);
  }

  /** Total Length: header and data in bytes. */
  get totalLength(): number {
    return getU16(this.bytes, this.offset + 2);
  }

  set totalLength(value: number) {
    setU16(this.bytes, this.offset + 2, value);
  }

  /** Identification, shared by the fragments of one datagram. */
  get identification(): number {
    return getU16(this.bytes, this.offset + 4);
  }

  set identification(value: number) {
    setU16(this.bytes, this.offset + 4, value);
  }

  /** The DF (don't fragment) flag. */
  get dontFragment(): boolean {
    return (this.bytes[this.offset + 6]! & 0x40) !== 0;
  }

  set dontFragment(value: boolean) {
    const o = this.offset + 6;
    this.bytes[o] = value ? this.bytes[o]! | 0x40 : this.bytes[o]! & 0xbf;
  }

  /** The MF (more fragments) flag. */
  get moreFragments(): boolean {
    return (this.bytes[this.offset + 6]! & 0x20) !== 0;
  }

  set moreFragments(value: boolean) {
    const o = this.offset + 6;
    this.bytes[o] = value ? this.bytes[o]! | 0x20 : this.bytes[o]! & 0xdf;
  }

  /** Fragment offset in bytes (the 13-bit field times 8). */
  get fragmentOffset(): number {
    return (getU16(this.bytes, this.offset + 6) & OFFSET_MASK) << 3;
  }

  /** Sets the fragment offset from a byte count (a multiple of 8), keeping the flags. */
  set fragmentOffset(value: number) {
    const o = this.offset + 6;
    setU16(this.bytes, o, (getU16(this.bytes, o) & (DF | MF | 0x8000)) | ((value >>> 3) & OFFSET_MASK));
  }

  /** True for any fragment: MF set or a non-zero offset. */
  get isFragment(): boolean {
    return (getU16(this.bytes, this.offset + 6) & (MF | OFFSET_MASK)) !== 0;
  }

  /** True for the first fragment of a fragmented datagram (offset 0, MF set): it holds the upper header. */
  get isFirstFragment(): boolean {
    return (getU16(this.bytes, this.offset + 6) & (MF | OFFSET_MASK)) === MF;
  }

  /** True for the last fragment of a fragmented datagram (offset non-zero, MF clear). */
  get isLastFragment(): boolean {
    const w = getU16(this.bytes, this.offset + 6);
    return (w & MF) === 0 && (w & OFFSET_MASK) !== 0;
  }

  /** Time to live. */
  get ttl(): number {
    return this.bytes[this.offset + 8]!;
  }

  set ttl(value: number) {
    this.bytes[this.offset + 8] = value;
  }

  /** Protocol of the payload (IPPROTO_*). */
  get protocol(): number {
    return this.bytes[this.offset + 9]!;
  }

  set protocol(value: number) {
    this.bytes[this.offset + 9] = value;
  }

  /** Header checksum field. */
  get checksum(): number {
    return getU16(this.bytes, this.offset + 10);
  }

  set checksum(value: number) {
    setU16(this.bytes, this.offset + 10, value);
  }

  /** Offset of the source address (4 bytes) in `bytes`. */
  get sourceOffset(): number {
    return this.offset + 12;
  }

  /** Offset of the destination address (4 bytes) in `bytes`. */
  get destinationOffset(): number {
    return this.offset + 16;
  }

  /** Source address as an unsigned 32-bit number. */
  get source(): number {
    return getU32(this.bytes, this.offset + 12);
  }

  set source(value: number) {
    setU32(this.bytes, this.offset + 12, value);
  }

  /** Destination address as an unsigned 32-bit number. */
  get destination(): number {
    return getU32(this.bytes, this.offset + 16);
  }

  set destination(value: number) {
    setU32(this.bytes, this.offset + 16, value);
  }

  /** Writes the source address into `out` as an IPv4-mapped address (src/wire/address.ts). */
  copySourceAddress(out: IpAddress): void {
    setIpv4Mapped(out, this.bytes, this.offset + 12);
  }

  /** Writes the destination address into `out` as an IPv4-mapped address. */
  copyDestinationAddress(out: IpAddress): void {
    setIpv4Mapped(out, this.bytes, this.offset + 16);
  }

  /** Sets the source address from 4 bytes at `src[srcOffset..]` (12 for an IPv4-mapped IpAddress). */
  setSourceAddress(src: Uint8Array, srcOffset: number): void {
    copyBytes(this.bytes, this.offset + 12, src, srcOffset, 4);
  }

  /** Sets the destination address from 4 bytes at `src[srcOffset..]`. */
  setDestinationAddress(src: Uint8Array, srcOffset: number): void {
    copyBytes(this.bytes, this.offset + 16, src, srcOffset, 4);
  }

  /** Offset of the first option byte in `bytes`. */
  get optionsOffset(): number {
    return this.offset + IPV4_MIN_HEADER_LENGTH;
  }

  /** Length of the options area (header length less 20). */
  get optionsLength(): number {
    return this.headerLength - IPV4_MIN_HEADER_LENGTH;
  }

  /** Offset in `bytes` of the payload (just past the header and options). */
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  /** Payload length: Total Length less the header length. */
  get payloadLength(): number {
    return this.totalLength - this.headerLength;
  }

  /** True when the header checksum verifies (RFC 791 3.1, RFC 1071). */
  verifyChecksum(): boolean {
    return onesComplementSum(this.bytes, this.offset, this.headerLength) === 0xffff;
  }

  /** Computes the header checksum and writes it into the header. */
  fillChecksum(): void {
    setU16(this.bytes, this.offset + 10, 0);
    setU16(this.bytes, this.offset + 10, internetChecksum(this.bytes, this.offset, this.headerLength));
  }

  /** Offset in `bytes` of the first option of type `type`, or -1 (options must have been validated). */
  findOption(type: number): number {
    const end = this.offset + this.headerLength;
    let p = this.offset + IPV4_MIN_HEADER_LENGTH;
    while (p < end) {
      const t = this.bytes[p]!;
      if (t === type) return p;
      if (t === IP_OPT_EOL) return -1;
      p += t === IP_OPT_NOP ? 1 : Math.max(2, this.bytes[p + 1] ?? 2);
    }
    return -1;
  }
}

/**
 * An allocation-free walker over IPv4 options. Usage:
 * `cursor.reset(packet); while (cursor.next()) { ...cursor.type, cursor.offset, cursor.length }`,
 * then `cursor.reason` is 0 for a clean end or `WireReason.BadOptionLength`.
 * EOL is reported as an option of length 1 and ends the walk.
 */
export class Ipv4OptionCursor {
  /** The array being walked. */
  bytes: Uint8Array;
  /** Where the next option starts. */
  position: number;
  /** End of the options area. */
  end: number;
  /** Type of the current option. */
  type: number;
  /** Offset in `bytes` of the current option's type byte. */
  offset: number;
  /** Length of the current option in bytes (1 for EOL and NOP). */
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

  /** Starts a walk over the options of a wrapped packet. */
  reset(packet: Ipv4Packet): void {
    this.resetRange(packet.bytes, packet.optionsOffset, packet.offset + packet.headerLength);
  }

  /** Starts a walk over the options area `bytes[start..end)`. */
  resetRange(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.position = start;
    this.end = end > bytes.length ? bytes.length : end;
    this.type = 0;
    this.offset = start;
    this.length = 0;
    this.reason = 0;
  }

  /** Moves to the next option; false at the end of the list or on a malformed option. */
  next(): boolean {
    const p = this.position;
    if (p >= this.end) return false;
    const t = this.bytes[p]!;
    let len = 1;
    if (t !== IP_OPT_EOL && t !== IP_OPT_NOP) {
      if (p + 1 >= this.end) return this.fail();
      len = this.bytes[p + 1]!;
      if (len < 2 || p + len > this.end) return this.fail();
    }
    this.type = t;
    this.offset = p;
    this.length = len;
    this.position = t === IP_OPT_EOL ? this.end : p + len;
    return true;
  }

  private fail(): boolean {
    this.reason = WireReason.BadOptionLength;
    this.position = this.end;
    return false;
  }
}

/** An IPv4 header as a plain record; addresses are IPv4-mapped IpAddresses. */
export interface Ipv4Repr {
  source: IpAddress;
  destination: IpAddress;
  /** IPPROTO_* of the payload. */
  protocol: number;
  ttl: number;
  dscp: number;
  ecn: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset: number;
  /** Bytes after the header (Total Length less the header length). */
  payloadLength: number;
  /** Raw options, a multiple of 4 bytes long (empty for IHL 5). */
  options: Uint8Array;
}

/**
 * Parses a wrapped packet into a new {@link Ipv4Repr}, verifying the header checksum. Allocates
 * (not for the per-packet path). Returns the record or `WireReason.BadChecksum`.
 */
export function parseIpv4Repr(packet: Ipv4Packet): Ipv4Repr | number {
  if (!packet.verifyChecksum()) return WireReason.BadChecksum;
  const source = new Uint8Array(16);
  const destination = new Uint8Array(16);
  packet.copySourceAddress(source);
  packet.copyDestinationAddress(destination);
  return {
    source,
    destination,
    protocol: packet.protocol,
    ttl: packet.ttl,
    dscp: packet.dscp,
    ecn: packet.ecn,
    identification: packet.identification,
    dontFragment: packet.dontFragment,
    moreFragments: packet.moreFragments,
    fragmentOffset: packet.fragmentOffset,
    payloadLength: packet.payloadLength,
    options: packet.bytes.slice(packet.optionsOffset, packet.optionsOffset + packet.optionsLength),
  };
}

/** Header length {@link emitIpv4Repr} writes: 20 plus the options rounded up to 4 bytes. */
export function ipv4ReprHeaderLength(repr: Ipv4Repr): number {
  return IPV4_MIN_HEADER_LENGTH + ((repr.options.length + 3) & ~3);
}

/**
 * Writes the header of `repr` (options padded with EOL to 4 bytes, checksum filled) at
 * `bytes[offset..]`; the payload is not written. Returns 0, `WireReason.NoSpace`, or
 * `WireReason.BadHeaderLength` when the options exceed 40 bytes.
 */
export function emitIpv4Repr(repr: Ipv4Repr, bytes: Uint8Array, offset: number): number {
  const hl = ipv4ReprHeaderLength(repr);
  if (hl > IPV4_MAX_HEADER_LENGTH) return WireReason.BadHeaderLength;
  const view = new Ipv4Packet();
  if (view.wrapForEmit(bytes, offset, bytes.length - offset) !== WireReason.Ok || hl > bytes.length - offset) {
    return WireReason.NoSpace;
  }
  view.headerLength = hl;
  view.typeOfService = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 3);
  view.totalLength = hl + repr.payloadLength;
  view.identification = repr.identification;
  setU16(bytes, offset + 6, (repr.dontFragment ? DF : 0) | (repr.moreFragments ? MF : 0) | ((repr.fragmentOffset >>> 3) & OFFSET_MASK));
  view.ttl = repr.ttl;
  view.protocol = repr.protocol;
  view.setSourceAddress(repr.source, 12);
  view.setDestinationAddress(repr.destination, 12);
  const opts = offset + IPV4_MIN_HEADER_LENGTH;
  copyBytes(bytes, opts, repr.options, 0, repr.options.length);
  bytes.fill(IP_OPT_EOL, opts + repr.options.length, offset + hl);
  view.fillChecksum();
  return WireReason.Ok;
}
