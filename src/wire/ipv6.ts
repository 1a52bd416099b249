/**
 * IPv6 headers (RFC 8200) and their extension headers.
 *
 * ```
 *  0       4               12                              31
 *  +-------+---------------+-------------------------------+
 *  |Version| Traffic Class |           Flow Label          |
 *  +-------+---------------+-------+-----------+-----------+
 *  |         Payload Length        |Next Header| Hop Limit |
 *  +-------------------------------+-----------+-----------+
 *  |              Source Address (16 bytes)                |
 *  |            Destination Address (16 bytes)             |
 *  +-------------------------------------------------------+
 *  then a chain of extension headers, each naming the next:
 *  hop-by-hop (0) . destination options (60) . routing (43) . fragment (44) . AH (51) . ESP (50)
 * ```
 *
 * {@link walkIpv6Headers} follows the chain without allocating and reports what receive-side
 * processing needs: the upper-layer protocol and its offset, the fragment header fields, and for
 * the NDIS_HASH_*_IPV6_EX hash types the offsets of the type 2 routing header address and of the
 * Home Address destination option (RFC 6275). AH is stepped over using its own length (RFC 4302
 * 2.2); ESP cannot be stepped over (the rest is encrypted), so the walk stops there with a reason.
 */
import type { IpAddress } from './address.js';
import { copyBytes, EMPTY_BYTES, getU16, getU32, setU16, setU32, spans } from './bytes.js';
import {
  IPPROTO_AH, IPPROTO_DSTOPTS, IPPROTO_ESP, IPPROTO_FRAGMENT, IPPROTO_HIP, IPPROTO_HOPOPTS, IPPROTO_MH,
  IPPROTO_ROUTING, IPPROTO_SHIM6,
} from './ip.js';
import { WireReason } from './reason.js';

/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LENGTH = 40;
/** Length of the IPv6 fragment header (RFC 8200 4.5). */
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;
/** The smallest MTU every IPv6 link must support (RFC 8200 5). */
export const IPV6_MIN_MTU = 1280;

/** IPv6 TLV option: one byte of padding (IPV6_OPTION_TYPE IP6OPT_PAD1). */
export const IP6OPT_PAD1 = 0x00;
/** IPv6 TLV option: N bytes of padding (IP6OPT_PADN). */
export const IP6OPT_PADN = 0x01;
/** IPv6 TLV option: tunnel encapsulation limit (IP6OPT_TUNNEL_LIMIT, RFC 2473). */
export const IP6OPT_TUNNEL_LIMIT = 0x04;
/** IPv6 TLV option: router alert (IP6OPT_ROUTER_ALERT, RFC 2711). */
export const IP6OPT_ROUTER_ALERT = 0x05;
/** IPv6 TLV option: jumbo payload (IP6OPT_JUMBO, RFC 2675). */
export const IP6OPT_JUMBO = 0xc2;
/** IPv6 TLV option: home address, in a destination options header (IP6OPT_HOME_ADDRESS, RFC 6275 6.3). */
export const IP6OPT_HOME_ADDRESS = 0xc9;
/** Routing type of the Mobile IPv6 type 2 routing header (RFC 6275 6.4). */
export const IPV6_ROUTING_TYPE_2 = 2;

/**
 * A reusable view of the fixed IPv6 header (RFC 8200 3). After `wrap` returns 0, the 40 bytes and
 * the payload named by Payload Length lie inside the buffer.
 */
export class Ipv6Packet {
  /** The array holding the packet. */
  bytes: Uint8Array;
  /** Offset of the version byte in `bytes`. */
  offset: number;
  /** Bytes available from `offset`; at least 40 + Payload Length after a successful wrap. */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /**
   * Points the view at a received packet: 40 bytes present (`Truncated`), version 6 (`BadVersion`),
   * 40 + Payload Length within the buffer (`BadTotalLength`). Jumbograms (RFC 2675, Payload
   * Length 0 with a Jumbo option) are not supported: their payload reads as empty.
   */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, IPV6_HEADER_LENGTH)) return WireReason.Truncated;
    if (bytes[offset]! >>> 4 !== 6) return WireReason.BadVersion;
    if (IPV6_HEADER_LENGTH + getU16(bytes, offset + 4) > length) return WireReason.BadTotalLength;
    return WireReason.Ok;
  }

  /**
   * Points the view at space for a header to be built and writes version 6 with traffic class and
   * flow label 0. Returns 0 or `WireReason.NoSpace`.
   */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (!spans(bytes, offset, length, IPV6_HEADER_LENGTH)) return WireReason.NoSpace;
    setU32(bytes, offset, 0x60000000);
    return WireReason.Ok;
  }

  /** The version field (6 in a wrapped packet). */
  get version(): number {
    return this.bytes[this.offset]! >>> 4;
  }

  /** Traffic class (DSCP << 2 | ECN). */
  get trafficClass(): number {
    return (getU16(this.bytes, this.offset) >>> 4) & 0xff;
  }

  set trafficClass(value: number) {
    const o = this.offset;
    const w = getU16(this.bytes, o);
    setU16(this.bytes, o, (w & 0xf00f) | ((value & 0xff) << 4));
  }

  /** Flow label (RFC 6437), 20 bits. */
  get flowLabel(): number {
    return getU32(this.bytes, this.offset) & 0xfffff;
  }

  set flowLabel(value: number) {
    const o = this.offset;
    setU32(this.bytes, o, ((getU32(this.bytes, o) & 0xfff00000) | (value & 0xfffff)) >>> 0);
  }

  /** Payload length: bytes after the fixed header, extension headers included. */
  get payloadLength(): number {
    return getU16(this.bytes, this.offset + 4);
  }

  set payloadLength(value: number) {
    setU16(this.bytes, this.offset + 4, value);
  }

  /** Next header: the first extension header or the upper-layer protocol (IPPROTO_*). */
  get nextHeader(): number {
    return this.bytes[this.offset + 6]!;
  }

  set nextHeader(value: number) {
    this.bytes[this.offset + 6] = value;
  }

  /** Hop limit. */
  get hopLimit(): number {
    return this.bytes[this.offset + 7]!;
  }

  set hopLimit(value: number) {
    this.bytes[this.offset + 7] = value;
  }

  /** Offset of the source address (16 bytes) in `bytes`. */
  get sourceOffset(): number {
    return this.offset + 8;
  }

  /** Offset of the destination address (16 bytes) in `bytes`. */
  get destinationOffset(): number {
    return this.offset + 24;
  }

  /** Copies the source address into `out` (a 16-byte IpAddress). */
  copySourceAddress(out: IpAddress): void {
    copyBytes(out, 0, this.bytes, this.offset + 8, 16);
  }

  /** Copies the destination address into `out`. */
  copyDestinationAddress(out: IpAddress): void {
    copyBytes(out, 0, this.bytes, this.offset + 24, 16);
  }

  /** Sets the source address from 16 bytes at `src[srcOffset..]`. */
  setSourceAddress(src: Uint8Array, srcOffset = 0): void {
    copyBytes(this.bytes, this.offset + 8, src, srcOffset, 16);
  }

  /** Sets the destination address from 16 bytes at `src[srcOffset..]`. */
  setDestinationAddress(src: Uint8Array, srcOffset = 0): void {
    copyBytes(this.bytes, this.offset + 24, src, srcOffset, 16);
  }

  /** Length of the fixed header, 40. */
  get headerLength(): number {
    return IPV6_HEADER_LENGTH;
  }

  /** Offset in `bytes` of the payload: the first extension header or the upper-layer header. */
  get payloadOffset(): number {
    return this.offset + IPV6_HEADER_LENGTH;
  }

  /** Walks the extension headers into `out`; see {@link walkIpv6Headers}. */
  walk(out: Ipv6HeaderWalk): number {
    return walkIpv6Headers(this.bytes, this.offset, this.length, out);
  }
}

/**
 * What {@link walkIpv6Headers} found in a packet's header chain. Reusable and of fixed shape; every
 * field is reset at the start of a walk. Offsets are positions in the array, -1 when absent.
 */
export class Ipv6HeaderWalk {
  /** 0, or the reason the walk stopped (also the walk's return value). */
  reason: number;
  /** The upper-layer protocol (IPPROTO_*), IPPROTO_NONE, IPPROTO_ESP at an ESP header, or -1. */
  upperProtocol: number;
  /**
   * Offset of the upper-layer header, or of the bytes after the fragment header in a fragment
   * with a non-zero offset (which holds data, not a header), or -1.
   */
  upperOffset: number;
  /** Offset of the Next Header byte that names `upperProtocol` (rewritten by reassembly), or -1. */
  nextHeaderFieldOffset: number;
  /** End of the packet: the IPv6 header offset + 40 + Payload Length. */
  end: number;
  /** Offset of the hop-by-hop options header, or -1. */
  hopByHopOffset: number;
  /** Offset of the first destination options header, or -1. */
  destinationOptionsOffset: number;
  /** Offset of the routing header, or -1. */
  routingOffset: number;
  /** Routing type of that header, or -1. */
  routingType: number;
  /** Offset of the fragment header, or -1. */
  fragmentHeaderOffset: number;
  /** Fragment offset in bytes (0 when there is no fragment header). */
  fragmentOffset: number;
  /** The M (more fragments) flag. */
  moreFragments: boolean;
  /** The fragment header's Identification. */
  fragmentId: number;
  /** Offset of the AH header, or -1. */
  ahOffset: number;
  /** Offset of the ESP header (where the walk stopped), or -1. */
  espOffset: number;
  /** Offset of the home address carried by a type 2 routing header (16 bytes), or -1. */
  routingType2AddressOffset: number;
  /** Offset of the address in a Home Address destination option (16 bytes), or -1. */
  homeAddressOffset: number;

  constructor() {
    this.reason = 0;
    this.upperProtocol = -1;
    this.upperOffset = -1;
    this.nextHeaderFieldOffset = -1;
    this.end = 0;
    this.hopByHopOffset = -1;
    this.destinationOptionsOffset = -1;
    this.routingOffset = -1;
    this.routingType = -1;
    this.fragmentHeaderOffset = -1;
    this.fragmentOffset = 0;
    this.moreFragments = false;
    this.fragmentId = 0;
    this.ahOffset = -1;
    this.espOffset = -1;
    this.routingType2AddressOffset = -1;
    this.homeAddressOffset = -1;
  }

  /** True when the packet has a fragment header (an atomic fragment has offset 0 and M clear). */
  get isFragment(): boolean {
    return this.fragmentHeaderOffset >= 0;
  }

  /** True when this is a fragment other than the first: the upper-layer header is not in it. */
  get isLaterFragment(): boolean {
    return this.fragmentOffset !== 0;
  }

  /** Length of the upper-layer data: from {@link upperOffset} to the end of the packet. */
  get upperLength(): number {
    return this.upperOffset < 0 ? 0 : this.end - this.upperOffset;
  }
}

function stop(out: Ipv6HeaderWalk, reason: number): number {
  out.reason = reason;
  return reason;
}

/**
 * Checks the TLV options of a hop-by-hop or destination options header in `bytes[start..end)`
 * (RFC 8200 4.2) and, in destination options, records the first Home Address option.
 */
function scanTlvOptions(bytes: Uint8Array, start: number, end: number, destination: boolean, out: Ipv6HeaderWalk): number {
  let q = start;
  while (q < end) {
    const t = bytes[q]!;
    if (t === IP6OPT_PAD1) {
      q++;
      continue;
    }
    if (q + 2 > end) return WireReason.BadOptionLength;
    const len = bytes[q + 1]!;
    if (q + 2 + len > end) return WireReason.BadOptionLength;
    if (t === IP6OPT_HOME_ADDRESS && destination) {
      if (len !== 16) return WireReason.Ipv6BadHomeAddressOption;
      if (out.homeAddressOffset < 0) out.homeAddressOffset = q + 2;
    }
    q += 2 + len;
  }
  return WireReason.Ok;
}

/**
 * Follows the header chain of the IPv6 packet at `bytes[offset..offset+length)` into `out`,
 * without allocating. Returns 0 when it reached an upper-layer protocol (any value that is not an
 * extension header, IPPROTO_NONE included) or a fragment with a non-zero offset, else a reason:
 * `Truncated`, `BadVersion`, `BadTotalLength` (fixed header), `HeaderOverrun` (an extension header
 * runs past the packet), `BadOptionLength`, `Ipv6HopByHopNotFirst`, `Ipv6BadRoutingType2`,
 * `Ipv6BadHomeAddressOption`, or `Ipv6EspNotWalkable` (then `upperProtocol` is IPPROTO_ESP and
 * `upperOffset` the ESP header). Fields found before a failure stay filled in.
 */
export function walkIpv6Headers(bytes: Uint8Array, offset: number, length: number, out: Ipv6HeaderWalk): number {
  out.reason = 0;
  out.upperProtocol = -1;
  out.upperOffset = -1;
  out.nextHeaderFieldOffset = -1;
  out.end = 0;
  out.hopByHopOffset = -1;
  out.destinationOptionsOffset = -1;
  out.routingOffset = -1;
  out.routingType = -1;
  out.fragmentHeaderOffset = -1;
  out.fragmentOffset = 0;
  out.moreFragments = false;
  out.fragmentId = 0;
  out.ahOffset = -1;
  out.espOffset = -1;
  out.routingType2AddressOffset = -1;
  out.homeAddressOffset = -1;
  if (!spans(bytes, offset, length, IPV6_HEADER_LENGTH)) return stop(out, WireReason.Truncated);
  if (bytes[offset]! >>> 4 !== 6) return stop(out, WireReason.BadVersion);
  const end = offset + IPV6_HEADER_LENGTH + getU16(bytes, offset + 4);
  if (end > offset + length) return stop(out, WireReason.BadTotalLength);
  out.end = end;
  let field = offset + 6;
  let nh = bytes[field]!;
  let p = offset + IPV6_HEADER_LENGTH;
  for (;;) {
    switch (nh) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_DSTOPTS: {
        if (nh === IPPROTO_HOPOPTS) {
          if (p !== offset + IPV6_HEADER_LENGTH) return stop(out, WireReason.Ipv6HopByHopNotFirst);
          out.hopByHopOffset = p;
        } else if (out.destinationOptionsOffset < 0) {
          out.destinationOptionsOffset = p;
        }
        if (p + 8 > end) return stop(out, WireReason.HeaderOverrun);
        const size = (bytes[p + 1]! + 1) << 3;
        if (p + size > end) return stop(out, WireReason.HeaderOverrun);
        const r = scanTlvOptions(bytes, p + 2, p + size, nh === IPPROTO_DSTOPTS, out);
        if (r !== WireReason.Ok) return stop(out, r);
        field = p;
        nh = bytes[p]!;
        p += size;
        break;
      }
      case IPPROTO_ROUTING: {
        if (p + 8 > end) return stop(out, WireReason.HeaderOverrun);
        const extLen = bytes[p + 1]!;
        const size = (extLen + 1) << 3;
        if (p + size > end) return stop(out, WireReason.HeaderOverrun);
        const type = bytes[p + 2]!;
        if (out.routingOffset < 0) {
          out.routingOffset = p;
          out.routingType = type;
        }
        if (type === IPV6_ROUTING_TYPE_2) {
          if (extLen !== 2 || bytes[p + 3] !== 1) return stop(out, WireReason.Ipv6BadRoutingType2);
          if (out.routingType2AddressOffset < 0) out.routingType2AddressOffset = p + 8;
        }
        field = p;
        nh = bytes[p]!;
        p += size;
        break;
      }
      case IPPROTO_FRAGMENT: {
        if (p + IPV6_FRAGMENT_HEADER_LENGTH > end) return stop(out, WireReason.HeaderOverrun);
        const w = getU16(bytes, p + 2);
        if (out.fragmentHeaderOffset < 0) {
          out.fragmentHeaderOffset = p;
          out.fragmentOffset = w & 0xfff8;
          out.moreFragments = (w & 1) !== 0;
          out.fragmentId = getU32(bytes, p + 4);
        }
        field = p;
        nh = bytes[p]!;
        p += IPV6_FRAGMENT_HEADER_LENGTH;
        if ((w & 0xfff8) !== 0) {
          // A later fragment: what follows is data, not headers.
          out.upperProtocol = nh;
          out.upperOffset = p;
          out.nextHeaderFieldOffset = field;
          return WireReason.Ok;
        }
        break;
      }
      case IPPROTO_AH: {
        if (p + 8 > end) return stop(out, WireReason.HeaderOverrun);
        const size = (bytes[p + 1]! + 2) << 2;
        if (p + size > end) return stop(out, WireReason.HeaderOverrun);
        if (out.ahOffset < 0) out.ahOffset = p;
        field = p;
        nh = bytes[p]!;
        p += size;
        break;
      }
      case IPPROTO_ESP:
        out.espOffset = p;
        out.upperProtocol = IPPROTO_ESP;
        out.upperOffset = p;
        out.nextHeaderFieldOffset = field;
        return stop(out, WireReason.Ipv6EspNotWalkable);
      case IPPROTO_MH:
      case IPPROTO_HIP:
      case IPPROTO_SHIM6: {
        if (p + 8 > end) return stop(out, WireReason.HeaderOverrun);
        const size = (bytes[p + 1]! + 1) << 3;
        if (p + size > end) return stop(out, WireReason.HeaderOverrun);
        field = p;
        nh = bytes[p]!;
        p += size;
        break;
      }
      default:
        out.upperProtocol = nh;
        out.upperOffset = p;
        out.nextHeaderFieldOffset = field;
        return WireReason.Ok;
    }
  }
}

/**
 * An allocation-free walker over the TLV options of a hop-by-hop or destination options header
 * (RFC 8200 4.2). Usage: `cursor.reset(bytes, headerOffset, end); while (cursor.next()) {...}`,
 * then `cursor.reason` is 0 or `WireReason.BadOptionLength`/`HeaderOverrun`. Pad1 is reported
 * with length 1; `offset` is the option's type byte and `dataOffset` its first data byte.
 */
export class Ipv6OptionCursor {
  /** The array being walked. */
  bytes: Uint8Array;
  /** Where the next option starts. */
  position: number;
  /** End of the options area. */
  end: number;
  /** Option type of the current option. */
  type: number;
  /** Offset of the current option's type byte. */
  offset: number;
  /** Offset of the current option's data. */
  dataOffset: number;
  /** Length of the current option's data (0 for Pad1). */
  dataLength: number;
  /** 0, or why the walk stopped early. */
  reason: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.position = 0;
    this.end = 0;
    this.type = 0;
    this.offset = 0;
    this.dataOffset = 0;
    this.dataLength = 0;
    this.reason = 0;
  }

  /**
   * Starts a walk over the options header at `bytes[headerOffset..]`, whose size comes from its
   * Hdr Ext Len; `end` bounds it (the packet end). Sets `reason` to `HeaderOverrun` when the
   * header does not fit.
   */
  reset(bytes: Uint8Array, headerOffset: number, end: number): void {
    this.bytes = bytes;
    this.type = 0;
    this.offset = headerOffset;
    this.dataOffset = headerOffset;
    this.dataLength = 0;
    this.reason = 0;
    const limit = end > bytes.length ? bytes.length : end;
    if (headerOffset < 0 || headerOffset + 8 > limit) {
      this.position = this.end = 0;
      this.reason = WireReason.HeaderOverrun;
      return;
    }
    const stopAt = headerOffset + ((bytes[headerOffset + 1]! + 1) << 3);
    if (stopAt > limit) {
      this.position = this.end = 0;
      this.reason = WireReason.HeaderOverrun;
      return;
    }
    this.position = headerOffset + 2;
    this.end = stopAt;
  }

  /** Moves to the next option; false at the end or on a malformed option. */
  next(): boolean {
    const q = this.position;
    if (q >= this.end) return false;
    const t = this.bytes[q]!;
    this.type = t;
    this.offset = q;
    if (t === IP6OPT_PAD1) {
      this.dataOffset = q + 1;
      this.dataLength = 0;
      this.position = q + 1;
      return true;
    }
    if (q + 2 > this.end || q + 2 + this.bytes[q + 1]! > this.end) {
      this.reason = WireReason.BadOptionLength;
      this.position = this.end;
      return false;
    }
    this.dataOffset = q + 2;
    this.dataLength = this.bytes[q + 1]!;
    this.position = q + 2 + this.dataLength;
    return true;
  }
}

/**
 * Writes an 8-byte fragment header (RFC 8200 4.5) at `bytes[offset..]`: next header,
 * `fragmentOffset` in bytes (a multiple of 8), the M flag and the identification. Returns 0 or
 * `WireReason.NoSpace`. Allocation-free.
 */
export function emitIpv6FragmentHeader(
  bytes: Uint8Array, offset: number, nextHeader: number, fragmentOffset: number, moreFragments: boolean, identification: number,
): number {
  if (!spans(bytes, offset, IPV6_FRAGMENT_HEADER_LENGTH, IPV6_FRAGMENT_HEADER_LENGTH)) return WireReason.NoSpace;
  bytes[offset] = nextHeader;
  bytes[offset + 1] = 0;
  setU16(bytes, offset + 2, (fragmentOffset & 0xfff8) | (moreFragments ? 1 : 0));
  setU32(bytes, offset + 4, identification);
  return WireReason.Ok;
}

/**
 * Writes a 24-byte type 2 routing header (RFC 6275 6.4: Hdr Ext Len 2, Segments Left 1) carrying
 * the home address from `address[addressOffset..+16]`. Returns 0 or `WireReason.NoSpace`.
 */
export function emitIpv6RoutingType2Header(
  bytes: Uint8Array, offset: number, nextHeader: number, address: Uint8Array, addressOffset = 0,
): number {
  if (!spans(bytes, offset, 24, 24)) return WireReason.NoSpace;
  bytes[offset] = nextHeader;
  bytes[offset + 1] = 2;
  bytes[offset + 2] = IPV6_ROUTING_TYPE_2;
  bytes[offset + 3] = 1;
  setU32(bytes, offset + 4, 0);
  copyBytes(bytes, offset + 8, address, addressOffset, 16);
  return WireReason.Ok;
}

/**
 * Writes a 24-byte destination options header holding a Home Address option (RFC 6275 6.3) at its
 * required alignment 8n+6, preceded by a 4-byte PadN. Returns 0 or `WireReason.NoSpace`.
 */
export function emitIpv6HomeAddressOption(
  bytes: Uint8Array, offset: number, nextHeader: number, address: Uint8Array, addressOffset = 0,
): number {
  if (!spans(bytes, offset, 24, 24)) return WireReason.NoSpace;
  bytes[offset] = nextHeader;
  bytes[offset + 1] = 2;
  bytes[offset + 2] = IP6OPT_PADN;
  bytes[offset + 3] = 2;
  bytes[offset + 4] = 0;
  bytes[offset + 5] = 0;
  bytes[offset + 6] = IP6OPT_HOME_ADDRESS;
  bytes[offset + 7] = 16;
  copyBytes(bytes, offset + 8, address, addressOffset, 16);
  return WireReason.Ok;
}

/**
 * Writes a hop-by-hop or destination options header of `size` bytes (a multiple of 8, 8 to 2048)
 * that holds only padding (a PadN, or Pad1 when a single byte remains). Returns 0,
 * `WireReason.NoSpace`, or `WireReason.BadHeaderLength` for a bad size.
 */
export function emitIpv6PaddingOptionsHeader(bytes: Uint8Array, offset: number, nextHeader: number, size: number): number {
  if (size < 8 || size > 2048 || (size & 7) !== 0) return WireReason.BadHeaderLength;
  if (!spans(bytes, offset, size, size)) return WireReason.NoSpace;
  bytes[offset] = nextHeader;
  bytes[offset + 1] = (size >>> 3) - 1;
  let q = offset + 2;
  let left = size - 2;
  while (left > 0) {
    const chunk = left > 257 ? 257 : left;
    bytes[q] = IP6OPT_PADN;
    bytes[q + 1] = chunk - 2;
    bytes.fill(0, q + 2, q + chunk);
    q += chunk;
    left -= chunk;
    if (left === 1) {
      bytes[q] = IP6OPT_PAD1;
      q++;
      left = 0;
    }
  }
  return WireReason.Ok;
}

/** The fixed IPv6 header as a plain record. */
export interface Ipv6Repr {
  source: IpAddress;
  destination: IpAddress;
  /** Next header of the fixed header (IPPROTO_*). */
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  /** Payload length: everything after the 40 bytes. */
  payloadLength: number;
}

/** Parses a wrapped packet's fixed header into a new {@link Ipv6Repr} (allocates). */
export function parseIpv6Repr(packet: Ipv6Packet): Ipv6Repr {
  const source = new Uint8Array(16);
  const destination = new Uint8Array(16);
  packet.copySourceAddress(source);
  packet.copyDestinationAddress(destination);
  return {
    source,
    destination,
    nextHeader: packet.nextHeader,
    hopLimit: packet.hopLimit,
    trafficClass: packet.trafficClass,
    flowLabel: packet.flowLabel,
    payloadLength: packet.payloadLength,
  };
}

/** Writes the 40-byte fixed header of `repr` at `bytes[offset..]`. Returns 0 or `WireReason.NoSpace`. */
export function emitIpv6Repr(repr: Ipv6Repr, bytes: Uint8Array, offset: number): number {
  const view = new Ipv6Packet();
  if (view.wrapForEmit(bytes, offset, bytes.length - offset) !== WireReason.Ok) return WireReason.NoSpace;
  view.trafficClass = repr.trafficClass;
  view.flowLabel = repr.flowLabel;
  view.payloadLength = repr.payloadLength;
  view.nextHeader = repr.nextHeader;
  view.hopLimit = repr.hopLimit;
  view.setSourceAddress(repr.source);
  view.setDestinationAddress(repr.destination);
  return WireReason.Ok;
}
