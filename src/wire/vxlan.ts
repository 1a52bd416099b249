/**
 * VXLAN (RFC 7348): an 8-byte header in a UDP datagram to port 4789, then an Ethernet frame.
 *
 * ```
 *  0       8                               32                      56      64
 *  +-------+-------------------------------+-----------------------+-------+
 *  | Flags |          Reserved             |          VNI          |  Rsvd |
 *  +-------+-------------------------------+-----------------------+-------+
 *  Flags: R R R R I R R R   (I = 0x08: the VNI is valid)
 * ```
 */
import { EMPTY_BYTES, getU32, setU32, spans } from './bytes.js';
import { WireReason } from './reason.js';

/** Length of the VXLAN header. */
export const VXLAN_HEADER_LENGTH = 8;
/** The IANA-assigned UDP destination port for VXLAN. */
export const VXLAN_PORT = 4789;
/** Flags byte: the I flag, set when the VNI is valid. */
export const VXLAN_FLAG_VNI = 0x08;

/**
 * A reusable view of a VXLAN header and the frame after it. After `wrap` returns 0, the header is
 * present and the I flag is set; the reserved bits are ignored on receipt (RFC 7348 5).
 */
export class VxlanPacket {
  /** The array holding the header. */
  bytes: Uint8Array;
  /** Offset of the flags byte in `bytes`. */
  offset: number;
  /** Bytes from `offset` to the end of the UDP payload. */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /** Points the view at a received header; returns 0, `Truncated`, or `VxlanNoVni` (I flag clear). */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, VXLAN_HEADER_LENGTH)) return WireReason.Truncated;
    if ((bytes[offset]! & VXLAN_FLAG_VNI) === 0) return WireReason.VxlanNoVni;
    return WireReason.Ok;
  }

  /** The flags byte. */
  get flags(): number {
    return this.bytes[this.offset]!;
  }

  /** The 24-bit VXLAN network identifier. */
  get vni(): number {
    return getU32(this.bytes, this.offset + 4) >>> 8;
  }

  set vni(value: number) {
    const o = this.offset + 4;
    setU32(this.bytes, o, (((value & 0xffffff) << 8) | this.bytes[o + 3]!) >>> 0);
  }

  /** Length of the header, 8. */
  get headerLength(): number {
    return VXLAN_HEADER_LENGTH;
  }

  /** Offset in `bytes` of the inner Ethernet frame. */
  get payloadOffset(): number {
    return this.offset + VXLAN_HEADER_LENGTH;
  }

  /** Length of the inner Ethernet frame. */
  get payloadLength(): number {
    return this.length - VXLAN_HEADER_LENGTH;
  }
}

/**
 * Writes a VXLAN header (I flag set, reserved fields zero, `vni`) at `bytes[offset..]`. Returns 0
 * or `WireReason.NoSpace`. Allocation-free.
 */
export function emitVxlanHeader(bytes: Uint8Array, offset: number, vni: number): number {
  if (!spans(bytes, offset, VXLAN_HEADER_LENGTH, VXLAN_HEADER_LENGTH)) return WireReason.NoSpace;
  setU32(bytes, offset, VXLAN_FLAG_VNI << 24);
  setU32(bytes, offset + 4, ((vni & 0xffffff) << 8) >>> 0);
  return WireReason.Ok;
}
