/**
 * UDP (RFC 768).
 *
 * ```
 *  0                16               31
 *  +----------------+----------------+
 *  |  Source Port   | Destination Port
 *  +----------------+----------------+
 *  |     Length     |    Checksum    |   checksum over a pseudo-header, the header and the data
 *  +----------------+----------------+
 * ```
 *
 * Over IPv4 a zero checksum means "not computed" and a computed zero is sent as 0xffff (RFC 768);
 * over IPv6 the checksum is mandatory (RFC 8200 8.1) except for tunnels that RFC 6935 allows.
 */
import type { IpAddress } from './address.js';
import { isIpv4Mapped } from './address.js';
import { EMPTY_BYTES, getU16, setU16, spans } from './bytes.js';
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_UDP } from './ip.js';
import { WireReason } from './reason.js';

/** Length of the UDP header. */
export const UDP_HEADER_LENGTH = 8;

/**
 * A reusable view of a UDP datagram. After `wrap` returns 0, the header is present and the
 * Length field covers at least the header and no more than the buffer.
 */
export class UdpPacket {
  /** The array holding the datagram. */
  bytes: Uint8Array;
  /** Offset of the source port in `bytes`. */
  offset: number;
  /** Bytes available from `offset` (the IP payload; at least the UDP Length after a wrap). */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /**
   * Points the view at a received datagram: 8 bytes present (`Truncated`), Length at least 8 and
   * within the buffer (`BadTotalLength`). The checksum is checked by {@link verifyChecksum}.
   */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, UDP_HEADER_LENGTH)) return WireReason.Truncated;
    const udpLength = getU16(bytes, offset + 4);
    if (udpLength < UDP_HEADER_LENGTH || udpLength > length) return WireReason.BadTotalLength;
    return WireReason.Ok;
  }

  /** Points the view at space for a datagram; returns 0 or `WireReason.NoSpace` (below 8 bytes). */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    return spans(bytes, offset, length, UDP_HEADER_LENGTH) ? WireReason.Ok : WireReason.NoSpace;
  }

  /** Source port. */
  get sourcePort(): number {
    return getU16(this.bytes, this.offset);
  }

  set sourcePort(value: number) {
    setU16(this.bytes, this.offset, value);
  }

  /** Destination port. */
  get destinationPort(): number {
    return getU16(this.bytes, this.offset + 2);
  }

  set destinationPort(value: number) {
    setU16(this.bytes, this.offset + 2, value);
  }

  /** The Length field: header and data in bytes. */
  get udpLength(): number {
    return getU16(this.bytes, this.offset + 4);
  }

  set udpLength(value: number) {
    setU16(this.bytes, this.offset + 4, value);
  }

  /** Checksum field (0 over IPv4: none computed). */
  get checksum(): number {
    return getU16(this.bytes, this.offset + 6);
  }

  set checksum(value: number) {
    setU16(this.bytes, this.offset + 6, value);
  }

  /** Length of the header, 8. */
  get headerLength(): number {
    return UDP_HEADER_LENGTH;
  }

  /** Offset in `bytes` of the data. */
  get payloadOffset(): number {
    return this.offset + UDP_HEADER_LENGTH;
  }

  /** Length of the data: the Length field less 8. */
  get payloadLength(): number {
    return this.udpLength - UDP_HEADER_LENGTH;
  }

  /**
   * True when the checksum over the datagram (Length bytes) and `pseudoHeaderSum` verifies. A zero
   * checksum field is reported as not verifying; over IPv4 test {@link checksum} for 0 first.
   */
  verifyChecksum(pseudoHeaderSum: number): boolean {
    if (this.checksum === 0) return false;
    return onesComplementSum(this.bytes, this.offset, this.udpLength, pseudoHeaderSum) === 0xffff;
  }

  /** Computes the checksum over the datagram and `pseudoHeaderSum` and writes it (0 becomes 0xffff). */
  fillChecksum(pseudoHeaderSum: number): void {
    setU16(this.bytes, this.offset + 6, 0);
    const c = internetChecksum(this.bytes, this.offset, this.udpLength, pseudoHeaderSum);
    setU16(this.bytes, this.offset + 6, c === 0 ? 0xffff : c);
  }
}

/**
 * Writes a UDP header at `bytes[offset..]` with Length = 8 + `payloadLength` and a zero checksum
 * (fill it later with {@link UdpPacket.fillChecksum}, or leave it to checksum offload). Returns 0 or
 * `WireReason.NoSpace`. Allocation-free.
 */
export function emitUdpHeader(
  bytes: Uint8Array, offset: number, sourcePort: number, destinationPort: number, payloadLength: number,
): number {
  if (!spans(bytes, offset, UDP_HEADER_LENGTH, UDP_HEADER_LENGTH)) return WireReason.NoSpace;
  setU16(bytes, offset, sourcePort);
  setU16(bytes, offset + 2, destinationPort);
  setU16(bytes, offset + 4, UDP_HEADER_LENGTH + payloadLength);
  setU16(bytes, offset + 6, 0);
  return WireReason.Ok;
}

/** A UDP datagram as a plain record. */
export interface UdpRepr {
  sourcePort: number;
  destinationPort: number;
  /** The data (a view into the parsed buffer when parsed). */
  payload: Uint8Array;
}

/**
 * Parses a wrapped datagram into a new {@link UdpRepr}, verifying the checksum against the
 * pseudo-header of `source` and `destination` (stack IpAddresses: IPv4-mapped selects IPv4, where
 * a zero checksum is accepted; over IPv6 a zero checksum is `BadChecksum`). Allocates the record.
 */
export function parseUdpRepr(packet: UdpPacket, source: IpAddress, destination: IpAddress): UdpRepr | number {
  const v4 = isIpv4Mapped(source);
  if (packet.checksum !== 0 || !v4) {
    if (!packet.verifyChecksum(pseudoHeaderSum(source, destination, IPPROTO_UDP, packet.udpLength))) return WireReason.BadChecksum;
  }
  return {
    sourcePort: packet.sourcePort,
    destinationPort: packet.destinationPort,
    payload: packet.bytes.subarray(packet.payloadOffset, packet.offset + packet.udpLength),
  };
}

/** Bytes {@link emitUdpRepr} writes: 8 plus the payload. */
export function udpReprLength(repr: UdpRepr): number {
  return UDP_HEADER_LENGTH + repr.payload.length;
}

/**
 * Writes `repr` (header, payload and checksum over the pseudo-header of `source` and
 * `destination`) at `bytes[offset..]`. Returns 0, `WireReason.NoSpace`, or `BadTotalLength` when
 * the payload does not fit the 16-bit Length field.
 */
export function emitUdpRepr(repr: UdpRepr, bytes: Uint8Array, offset: number, source: IpAddress, destination: IpAddress): number {
  const len = udpReprLength(repr);
  if (len > 0xffff) return WireReason.BadTotalLength;
  const view = new UdpPacket();
  if (view.wrapForEmit(bytes, offset, len) !== WireReason.Ok) return WireReason.NoSpace;
  emitUdpHeader(bytes, offset, repr.sourcePort, repr.destinationPort, repr.payload.length);
  bytes.set(repr.payload, offset + UDP_HEADER_LENGTH);
  view.fillChecksum(pseudoHeaderSum(source, destination, IPPROTO_UDP, len));
  return WireReason.Ok;
}
