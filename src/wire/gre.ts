/**
 * GRE (RFC 2784) with the key and sequence number extensions (RFC 2890), and NVGRE (RFC 7637).
 *
 * ```
 *  0 1 2 3 4       12  15                  31
 *  +-+-+-+-+---------+---+-------------------+
 *  |C| |K|S| Reserved|Ver|   Protocol Type   |
 *  +-+-+-+-+---------+---+-------------------+
 *  |  Checksum (if C)    |  Reserved1 (if C) |
 *  |              Key (if K)                 |   NVGRE: VSID (24 bits) | FlowID (8 bits)
 *  |        Sequence Number (if S)           |
 *  +-----------------------------------------+
 * ```
 *
 * NVGRE is GRE with K set, C and S clear, and protocol 0x6558 (an Ethernet frame follows); NDIS
 * carries the VSID out of band in NDIS_NET_BUFFER_LIST_VIRTUAL_SUBNET_INFO and the offloads find
 * the inner frame through NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO.
 */
import { EMPTY_BYTES, getU16, getU32, setU16, setU32, spans } from './bytes.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { EtherType } from './ethernet.js';
import { WireReason } from './reason.js';

/** Length of the GRE base header (flags, version, protocol type). */
export const GRE_HEADER_LENGTH = 4;
/** Length of an NVGRE header: base header plus the key. */
export const NVGRE_HEADER_LENGTH = 8;
/** Flags word: checksum present (C). */
export const GRE_FLAG_CHECKSUM = 0x8000;
/** Flags word: key present (K, RFC 2890). */
export const GRE_FLAG_KEY = 0x2000;
/** Flags word: sequence number present (S, RFC 2890). */
export const GRE_FLAG_SEQUENCE = 0x1000;
/** Flags word: bits 1, 4 and 5, which a receiver of RFC 2784/2890 GRE must find clear (RFC 2784 2.3). */
export const GRE_RESERVED_MUST_BE_ZERO = 0x4c00;
/** Flags word: the version field. */
export const GRE_VERSION_MASK = 0x0007;

/** Header length for a flags word: 4 plus 4 for each of C, K and S. */
export function greHeaderLength(flags: number): number {
  return GRE_HEADER_LENGTH + ((flags & GRE_FLAG_CHECKSUM) !== 0 ? 4 : 0) + ((flags & GRE_FLAG_KEY) !== 0 ? 4 : 0) +
    ((flags & GRE_FLAG_SEQUENCE) !== 0 ? 4 : 0);
}

/**
 * A reusable view of a GRE header and its payload. `length` runs to the end of the GRE packet
 * (the IP payload), which the optional checksum covers.
 */
export class GrePacket {
  /** The array holding the packet. */
  bytes: Uint8Array;
  /** Offset of the flags word in `bytes`. */
  offset: number;
  /** Length of the GRE packet: header and payload. */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /**
   * Points the view at a received packet: base header present (`Truncated`), version 0
   * (`GreBadVersion`), reserved bits 1, 4, 5 clear (`GreReservedBits`), optional fields inside
   * the buffer (`HeaderOverrun`). The checksum is checked by {@link verifyChecksum}.
   */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, GRE_HEADER_LENGTH)) return WireReason.Truncated;
    const flags = getU16(bytes, offset);
    if ((flags & GRE_VERSION_MASK) !== 0) return WireReason.GreBadVersion;
    if ((flags & GRE_RESERVED_MUST_BE_ZERO) !== 0) return WireReason.GreReservedBits;
    if (greHeaderLength(flags) > length) return WireReason.HeaderOverrun;
    return WireReason.Ok;
  }

  /**
   * After a successful {@link wrap}: checks the NVGRE profile (RFC 7637 3.2: K set, C and S clear,
   * protocol 0x6558). Returns 0 or `WireReason.NotNvgre`.
   */
  checkNvgre(): number {
    const flags = getU16(this.bytes, this.offset);
    return (flags & (GRE_FLAG_CHECKSUM | GRE_FLAG_KEY | GRE_FLAG_SEQUENCE)) === GRE_FLAG_KEY &&
      this.protocolType === EtherType.TransparentEthernetBridging
      ? WireReason.Ok
      : WireReason.NotNvgre;
  }

  /** The flags-and-version word. */
  get flags(): number {
    return getU16(this.bytes, this.offset);
  }

  /** Version (0 in a wrapped packet). */
  get version(): number {
    return this.bytes[this.offset + 1]! & GRE_VERSION_MASK;
  }

  /** C: a checksum field is present. */
  get checksumPresent(): boolean {
    return (this.bytes[this.offset]! & 0x80) !== 0;
  }

  /** K: a key field is present. */
  get keyPresent(): boolean {
    return (this.bytes[this.offset]! & 0x20) !== 0;
  }

  /** S: a sequence number field is present. */
  get sequencePresent(): boolean {
    return (this.bytes[this.offset]! & 0x10) !== 0;
  }

  /** Protocol type of the payload (an EtherType; 0x6558 for an Ethernet frame). */
  get protocolType(): number {
    return getU16(this.bytes, this.offset + 2);
  }

  set protocolType(value: number) {
    setU16(this.bytes, this.offset + 2, value);
  }

  /** Header length: 4 plus the optional fields. */
  get headerLength(): number {
    return greHeaderLength(getU16(this.bytes, this.offset));
  }

  /** The checksum field, or -1 when C is clear. */
  get checksum(): number {
    return this.checksumPresent ? getU16(this.bytes, this.offset + 4) : -1;
  }

  /** Offset of the key field, or -1 when K is clear. */
  get keyOffset(): number {
    return this.keyPresent ? this.offset + (this.checksumPresent ? 8 : 4) : -1;
  }

  /** The key, or -1 when K is clear. */
  get key(): number {
    const o = this.keyOffset;
    return o < 0 ? -1 : getU32(this.bytes, o);
  }

  /** Writes the key (K must be set). */
  set key(value: number) {
    const o = this.keyOffset;
    if (o >= 0) setU32(this.bytes, o, value);
  }

  /** The sequence number, or -1 when S is clear. */
  get sequenceNumber(): number {
    if (!this.sequencePresent) return -1;
    return getU32(this.bytes, this.offset + 4 + (this.checksumPresent ? 4 : 0) + (this.keyPresent ? 4 : 0));
  }

  /** NVGRE: the Virtual Subnet ID, the upper 24 bits of the key (-1 without a key). */
  get virtualSubnetId(): number {
    const k = this.key;
    return k < 0 ? -1 : k >>> 8;
  }

  /** NVGRE: writes the VSID, keeping the FlowID (K must be set). */
  set virtualSubnetId(value: number) {
    const o = this.keyOffset;
    if (o >= 0) setU32(this.bytes, o, (((value & 0xffffff) << 8) | this.bytes[o + 3]!) >>> 0);
  }

  /** NVGRE: the FlowID, the low 8 bits of the key (-1 without a key). */
  get flowId(): number {
    const o = this.keyOffset;
    return o < 0 ? -1 : this.bytes[o + 3]!;
  }

  /** NVGRE: writes the FlowID (K must be set). */
  set flowId(value: number) {
    const o = this.keyOffset;
    if (o >= 0) this.bytes[o + 3] = value;
  }

  /** Offset in `bytes` of the payload. */
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  /** Length of the payload. */
  get payloadLength(): number {
    return this.length - this.headerLength;
  }

  /** True when C is clear, or when the checksum over the whole GRE packet verifies (RFC 2784 2.5). */
  verifyChecksum(): boolean {
    if (!this.checksumPresent) return true;
    return onesComplementSum(this.bytes, this.offset, this.length) === 0xffff;
  }

  /** Computes the checksum over the whole GRE packet and writes it (C must be set). */
  fillChecksum(): void {
    if (!this.checksumPresent) return;
    setU32(this.bytes, this.offset + 4, 0);
    setU16(this.bytes, this.offset + 4, internetChecksum(this.bytes, this.offset, this.length));
  }
}

/**
 * Writes a GRE header at `bytes[offset..]` for `flags` (any of GRE_FLAG_CHECKSUM, GRE_FLAG_KEY,
 * GRE_FLAG_SEQUENCE), version 0, with `key` and `sequenceNumber` where flagged and a zero checksum
 * (fill it with {@link GrePacket.fillChecksum} once the payload is in place). Returns 0 or
 * `WireReason.NoSpace`. Allocation-free.
 */
export function emitGreHeader(
  bytes: Uint8Array, offset: number, protocolType: number, flags: number, key: number, sequenceNumber: number,
): number {
  const f = flags & (GRE_FLAG_CHECKSUM | GRE_FLAG_KEY | GRE_FLAG_SEQUENCE);
  const n = greHeaderLength(f);
  if (!spans(bytes, offset, n, n)) return WireReason.NoSpace;
  setU16(bytes, offset, f);
  setU16(bytes, offset + 2, protocolType);
  let p = offset + 4;
  if ((f & GRE_FLAG_CHECKSUM) !== 0) {
    setU32(bytes, p, 0);
    p += 4;
  }
  if ((f & GRE_FLAG_KEY) !== 0) {
    setU32(bytes, p, key);
    p += 4;
  }
  if ((f & GRE_FLAG_SEQUENCE) !== 0) setU32(bytes, p, sequenceNumber);
  return WireReason.Ok;
}

/**
 * Writes an 8-byte NVGRE header (RFC 7637 3.2) at `bytes[offset..]`: K set, protocol 0x6558, key =
 * `virtualSubnetId` (24 bits) and `flowId` (8 bits). Returns 0 or `WireReason.NoSpace`.
 */
export function emitNvgreHeader(bytes: Uint8Array, offset: number, virtualSubnetId: number, flowId: number): number {
  if (!spans(bytes, offset, NVGRE_HEADER_LENGTH, NVGRE_HEADER_LENGTH)) return WireReason.NoSpace;
  setU16(bytes, offset, GRE_FLAG_KEY);
  setU16(bytes, offset + 2, EtherType.TransparentEthernetBridging);
  setU32(bytes, offset + 4, (((virtualSubnetId & 0xffffff) << 8) | (flowId & 0xff)) >>> 0);
  return WireReason.Ok;
}

/** A GRE header as a plain record. */
export interface GreRepr {
  protocolType: number;
  checksumPresent: boolean;
  /** The key, or null when K is clear. */
  key: number | null;
  /** The sequence number, or null when S is clear. */
  sequenceNumber: number | null;
}

/**
 * Parses a wrapped GRE packet into a new {@link GreRepr}, verifying the checksum when present.
 * Allocates. Returns the record or `WireReason.BadChecksum`.
 */
export function parseGreRepr(packet: GrePacket): GreRepr | number {
  if (!packet.verifyChecksum()) return WireReason.BadChecksum;
  return {
    protocolType: packet.protocolType,
    checksumPresent: packet.checksumPresent,
    key: packet.keyPresent ? packet.key : null,
    sequenceNumber: packet.sequencePresent ? packet.sequenceNumber : null,
  };
}

/** Header length {@link emitGreRepr} writes. */
export function greReprHeaderLength(repr: GreRepr): number {
  return greHeaderLength(reprFlags(repr));
}

function reprFlags(repr: GreRepr): number {
  return (repr.checksumPresent ? GRE_FLAG_CHECKSUM : 0) | (repr.key !== null ? GRE_FLAG_KEY : 0) |
    (repr.sequenceNumber !== null ? GRE_FLAG_SEQUENCE : 0);
}

/**
 * Writes the header of `repr` at `bytes[offset..]`; when the checksum is present it is computed
 * over the header and the `payloadLength` bytes that must already follow it. Returns 0 or
 * `WireReason.NoSpace`.
 */
export function emitGreRepr(repr: GreRepr, bytes: Uint8Array, offset: number, payloadLength: number): number {
  const flags = reprFlags(repr);
  const n = greHeaderLength(flags);
  if (!spans(bytes, offset, n + payloadLength, n)) return WireReason.NoSpace;
  emitGreHeader(bytes, offset, repr.protocolType, flags, repr.key ?? 0, repr.sequenceNumber ?? 0);
  if (repr.checksumPresent) {
    const view = new GrePacket();
    view.wrap(bytes, offset, n + payloadLength);
    view.fillChecksum();
  }
  return WireReason.Ok;
}
