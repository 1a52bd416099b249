/**
 * ARP (RFC 826) for Ethernet and IPv4: the 28-byte request and reply.
 *
 * ```
 *  0        2        4    5    6        8      14     18     24     28
 *  +--------+--------+----+----+--------+------+------+------+------+
 *  | htype  | ptype  |hlen|plen|  oper  | SHA  | SPA  | THA  | TPA  |
 *  +--------+--------+----+----+--------+------+------+------+------+
 * ```
 */
import type { IpAddress, MacAddress } from './address.js';
import { setIpv4Mapped } from './address.js';
import { copyBytes, EMPTY_BYTES, getU16, getU32, setU16, setU32, spans } from './bytes.js';
import { EtherType } from './ethernet.js';
import { WireReason } from './reason.js';

/** ARP hardware type for Ethernet (ARP_HARDWARE_TYPE ARP_HW_ENET). */
export const ARP_HW_ENET = 1;
/** ARP operation: request (ARP_OPCODE ARP_REQUEST). */
export const ARP_REQUEST = 1;
/** ARP operation: reply (ARP_OPCODE ARP_RESPONSE). */
export const ARP_RESPONSE = 2;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_PACKET_LENGTH = 28;

/**
 * A reusable view of an Ethernet/IPv4 ARP packet (RFC 826). `wrap` accepts only hardware type 1,
 * protocol 0x0800 and address lengths 6 and 4, so the address fields sit at fixed offsets.
 */
export class ArpPacket {
  /** The array holding the packet. */
  bytes: Uint8Array;
  /** Offset of the hardware-type field in `bytes`. */
  offset: number;
  /** Bytes available from `offset` (a frame may carry padding after the 28 bytes). */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /**
   * Points the view at a received packet. Returns 0, `WireReason.Truncated` (below 28 bytes), or
   * `WireReason.ArpNotEthernetIpv4`. The operation is not checked here (see {@link parseArpRepr}).
   */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, ARP_PACKET_LENGTH)) return WireReason.Truncated;
    if (getU16(bytes, offset) !== ARP_HW_ENET || getU16(bytes, offset + 2) !== EtherType.Ipv4 ||
        bytes[offset + 4] !== 6 || bytes[offset + 5] !== 4) {
      return WireReason.ArpNotEthernetIpv4;
    }
    return WireReason.Ok;
  }

  /**
   * Points the view at space for a packet to be built and writes the Ethernet/IPv4 constants
   * (hardware type, protocol type, address lengths). Returns 0 or `WireReason.NoSpace`.
   */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, ARP_PACKET_LENGTH)) return WireReason.NoSpace;
    setU16(bytes, offset, ARP_HW_ENET);
    setU16(bytes, offset + 2, EtherType.Ipv4);
    bytes[offset + 4] = 6;
    bytes[offset + 5] = 4;
    return WireReason.Ok;
  }

  /** The operation: ARP_REQUEST (1) or ARP_RESPONSE (2) in valid packets. */
  get operation(): number {
    return getU16(this.bytes, this.offset + 6);
  }

  set operation(value: number) {
    setU16(this.bytes, this.offset + 6, value);
  }

  /** Offset in `bytes` of the sender hardware address (6 bytes). */
  get senderHardwareAddressOffset(): number {
    return this.offset + 8;
  }

  /** Offset in `bytes` of the sender protocol address (4 bytes). */
  get senderProtocolAddressOffset(): number {
    return this.offset + 14;
  }

  /** Offset in `bytes` of the target hardware address (6 bytes). */
  get targetHardwareAddressOffset(): number {
    return this.offset + 18;
  }

  /** Offset in `bytes` of the target protocol address (4 bytes). */
  get targetProtocolAddressOffset(): number {
    return this.offset + 24;
  }

  /** The sender IPv4 address as an unsigned 32-bit number. */
  get senderProtocolAddress(): number {
    return getU32(this.bytes, this.offset + 14);
  }

  set senderProtocolAddress(value: number) {
    setU32(this.bytes, this.offset + 14, value);
  }

  /** The target IPv4 address as an unsigned 32-bit number. */
  get targetProtocolAddress(): number {
    return getU32(this.bytes, this.offset + 24);
  }

  set targetProtocolAddress(value: number) {
    setU32(this.bytes, this.offset + 24, value);
  }

  /** Writes the sender hardware address from `mac[macOffset..]`. */
  setSenderHardwareAddress(mac: Uint8Array, macOffset = 0): void {
    copyBytes(this.bytes, this.offset + 8, mac, macOffset, 6);
  }

  /** Writes the target hardware address from `mac[macOffset..]`. */
  setTargetHardwareAddress(mac: Uint8Array, macOffset = 0): void {
    copyBytes(this.bytes, this.offset + 18, mac, macOffset, 6);
  }

  /** True for a gratuitous ARP: sender and target protocol addresses are equal. */
  get isGratuitous(): boolean {
    return this.senderProtocolAddress === this.targetProtocolAddress;
  }
}

/** An Ethernet/IPv4 ARP packet as a plain record; protocol addresses are IPv4-mapped IpAddresses. */
export interface ArpRepr {
  /** ARP_REQUEST or ARP_RESPONSE. */
  operation: number;
  senderHardwareAddress: MacAddress;
  senderProtocolAddress: IpAddress;
  targetHardwareAddress: MacAddress;
  targetProtocolAddress: IpAddress;
}

/**
 * Parses a wrapped ARP packet into a new {@link ArpRepr} (allocates: not for the per-packet path).
 * Returns the record or `WireReason.ArpBadOperation`.
 */
export function parseArpRepr(packet: ArpPacket): ArpRepr | number {
  const op = packet.operation;
  if (op !== ARP_REQUEST && op !== ARP_RESPONSE) return WireReason.ArpBadOperation;
  const b = packet.bytes;
  const o = packet.offset;
  const spa = new Uint8Array(16);
  const tpa = new Uint8Array(16);
  setIpv4Mapped(spa, b, o + 14);
  setIpv4Mapped(tpa, b, o + 24);
  return {
    operation: op,
    senderHardwareAddress: b.slice(o + 8, o + 14),
    senderProtocolAddress: spa,
    targetHardwareAddress: b.slice(o + 18, o + 24),
    targetProtocolAddress: tpa,
  };
}

/**
 * Writes `repr` as a 28-byte ARP packet at `bytes[offset..]`. The protocol addresses must be
 * IPv4-mapped (their last 4 bytes are written). Returns 0 or `WireReason.NoSpace`.
 */
export function emitArpRepr(repr: ArpRepr, bytes: Uint8Array, offset: number): number {
  const view = new ArpPacket();
  if (view.wrapForEmit(bytes, offset, bytes.length - offset) !== WireReason.Ok) return WireReason.NoSpace;
  view.operation = repr.operation;
  view.setSenderHardwareAddress(repr.senderHardwareAddress);
  copyBytes(bytes, offset + 14, repr.senderProtocolAddress, 12, 4);
  view.setTargetHardwareAddress(repr.targetHardwareAddress);
  copyBytes(bytes, offset + 24, repr.targetProtocolAddress, 12, 4);
  return WireReason.Ok;
}
