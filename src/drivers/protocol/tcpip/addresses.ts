/**
 * Address arithmetic of the IP layer: prefixes, scopes, the multicast groups a host joins and the
 * Ethernet addresses they map to, and the link-local interface identifier. Addresses are the
 * stack's 16-byte form (src/wire/address.ts): IPv4 held IPv4-mapped, so one prefix comparison
 * serves both families (an IPv4 /24 is a /120 of the mapped space). Parsing allocates and is for
 * configuration; the predicates and writers allocate nothing.
 */
import { NdisError } from '../../../base/errors.js';
import { isIpv4Mapped, parseIp, type IpAddress } from '../../../wire/address.js';

/** Bits of the IPv4-mapped prefix ::ffff:0:0/96 (RFC 4291 2.5.5.2). */
export const V4_MAPPED_BITS = 96;

/** An address with a prefix length in the 128-bit space of the stack. */
export interface IpPrefix {
  /** 16 bytes, the host bits as given. */
  address: IpAddress;
  /** Prefix length over the 16 bytes (an IPv4 /24 is 120). */
  prefixLength: number;
  /** True for an IPv4 prefix. */
  v4: boolean;
}

/**
 * Parses `10.0.0.1/24` or `fd00::1/64` (what `netsh interface ip add address` takes). The prefix
 * length is required for interface addresses; `defaultLength` (in the family's own bits) applies
 * when it is absent and a default is wanted (a host route, a default route). Throws an NdisError
 * that says what is wrong.
 */
export function parsePrefix(text: string, defaultLength: number | null = null): IpPrefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIp(addrText.trim());
  if (address === null) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `'${text}' is not an IP address: write it as 10.0.0.1/24 or fd00::1/64`);
  }
  const v4 = isIpv4Mapped(address) && !addrText.includes(':');
  const max = v4 ? 32 : 128;
  let len: number;
  if (slash < 0) {
    if (defaultLength === null) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `'${text}' has no prefix length: write it as ${addrText}/${v4 ? 24 : 64} (address/prefix-length)`);
    }
    len = defaultLength;
  } else {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `'${text}': the prefix length must be 0 to ${max}`);
    }
    len = Number(p);
  }
  return { address, prefixLength: v4 ? V4_MAPPED_BITS + len : len, v4 };
}

/** Parses an address (IPv4 or IPv6 text) or throws an NdisError naming the option. */
export function parseAddressOption(text: string, what: string): IpAddress {
  const a = parseIp(text.trim());
  if (a === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `${what}: '${text}' is not an IPv4 or IPv6 address`);
  return a;
}

/** True when the first `bits` bits of `a` and `b` (16 bytes each) are equal. */
export function prefixMatches(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const full = bits >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >>> rest) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}

/** Number of leading bits `a` and `b` share (RFC 6724 CommonPrefixLen over 16 bytes). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** Writes `a` with the bits past `bits` cleared into `out` (the network of a prefix). */
export function maskPrefix(out: Uint8Array, a: Uint8Array, bits: number): void {
  for (let i = 0; i < 16; i++) {
    const keep = bits - i * 8;
    out[i] = keep >= 8 ? a[i]! : keep <= 0 ? 0 : a[i]! & ((0xff00 >>> keep) & 0xff);
  }
}

/** True for the unspecified address (:: or the IPv4-mapped 0.0.0.0). */
export function isUnspecifiedAddress(a: Uint8Array): boolean {
  if (isIpv4Mapped(a)) return a[12] === 0 && a[13] === 0 && a[14] === 0 && a[15] === 0;
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

/** True for a multicast address: IPv4 224.0.0.0/4 (RFC 5771) or IPv6 ff00::/8 (RFC 4291 2.7). */
export function isMulticastAddress(a: Uint8Array): boolean {
  if (isIpv4Mapped(a)) return (a[12]! & 0xf0) === 0xe0;
  return a[0] === 0xff;
}

/** True for the IPv4 limited broadcast 255.255.255.255 (RFC 919). */
export function isLimitedBroadcast(a: Uint8Array): boolean {
  return isIpv4Mapped(a) && a[12] === 255 && a[13] === 255 && a[14] === 255 && a[15] === 255;
}

/** True for an IPv6 link-local unicast address, fe80::/10 (RFC 4291 2.5.6). */
export function isLinkLocalV6(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

/** True for the IPv6 loopback ::1 or an IPv4 127.0.0.0/8 address (never valid on a wire). */
export function isLoopbackAddress(a: Uint8Array): boolean {
  if (isIpv4Mapped(a)) return a[12] === 127;
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/**
 * True when `a` is the subnet-directed broadcast of the IPv4 prefix `net`/`bits` (all host bits
 * one, RFC 922); false for /31 and /32, which have none (RFC 3021).
 */
export function isDirectedBroadcast(a: Uint8Array, net: Uint8Array, bits: number): boolean {
  if (bits >= 127 || !prefixMatches(a, net, bits)) return false;
  for (let bit = bits; bit < 128; bit++) {
    if ((a[bit >>> 3]! & (0x80 >>> (bit & 7))) === 0) return false;
  }
  return true;
}

/** The IPv6 all-nodes multicast address ff02::1 (RFC 4291 2.7.1). */
export const ALL_NODES = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** The IPv6 all-routers multicast address ff02::2 (RFC 4291 2.7.1). */
export const ALL_ROUTERS = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
/** The IPv6 unspecified address. */
export const UNSPECIFIED_V6 = new Uint8Array(16);

/** Writes the solicited-node multicast address of `a`, ff02::1:ffXX:XXXX (RFC 4291 2.7.1), into `out`. */
export function solicitedNodeAddress(out: Uint8Array, a: Uint8Array): void {
  out.fill(0);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = a[13]!;
  out[14] = a[14]!;
  out[15] = a[15]!;
}

/** True when `group` is the solicited-node multicast address of `a`. */
export function isSolicitedNodeOf(group: Uint8Array, a: Uint8Array): boolean {
  return (
    group[0] === 0xff && group[1] === 0x02 && group[2] === 0 && group[3] === 0 && group[4] === 0 && group[5] === 0 &&
    group[6] === 0 && group[7] === 0 && group[8] === 0 && group[9] === 0 && group[10] === 0 && group[11] === 1 &&
    group[12] === 0xff && group[13] === a[13] && group[14] === a[14] && group[15] === a[15]
  );
}

/**
 * Writes the Ethernet address of multicast group `a` into `out[at..at+6]`: 33:33 and the low 32
 * bits for IPv6 (RFC 2464 7), 01:00:5e and the low 23 bits for IPv4 (RFC 1112 6.4).
 */
export function multicastMac(out: Uint8Array, at: number, a: Uint8Array): void {
  if (isIpv4Mapped(a)) {
    out[at] = 0x01;
    out[at + 1] = 0x00;
    out[at + 2] = 0x5e;
    out[at + 3] = a[13]! & 0x7f;
    out[at + 4] = a[14]!;
    out[at + 5] = a[15]!;
  } else {
    out[at] = 0x33;
    out[at + 1] = 0x33;
    out[at + 2] = a[12]!;
    out[at + 3] = a[13]!;
    out[at + 4] = a[14]!;
    out[at + 5] = a[15]!;
  }
}

/**
 * Writes into `out[8..16]` the modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291
 * appendix A, RFC 2464 4): the MAC split by ff:fe with the universal/local bit inverted.
 */
export function writeEui64InterfaceId(out: Uint8Array, mac: Uint8Array): void {
  out[8] = mac[0]! ^ 0x02;
  out[9] = mac[1]!;
  out[10] = mac[2]!;
  out[11] = 0xff;
  out[12] = 0xfe;
  out[13] = mac[3]!;
  out[14] = mac[4]!;
  out[15] = mac[5]!;
}

/** The link-local address fe80::/64 with the EUI-64 identifier of `mac` (RFC 4862 5.3). */
export function linkLocalFromMac(mac: Uint8Array): IpAddress {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  writeEui64InterfaceId(a, mac);
  return a;
}

/** Byte-wise equality of two 16-byte addresses. */
export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a[15] === b[15] && a[14] === b[14] && a[13] === b[13] && a[12] === b[12] && a[11] === b[11] && a[10] === b[10] &&
    a[9] === b[9] && a[8] === b[8] && a[7] === b[7] && a[6] === b[6] && a[5] === b[5] && a[4] === b[4] &&
    a[3] === b[3] && a[2] === b[2] && a[1] === b[1] && a[0] === b[0]
  );
}

/** A 32-bit hash of a 16-byte address for the stack's tables (no allocation). */
export function hashAddress(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i += 4) {
    h = Math.imul(h ^ ((a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!), 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Formats a prefix length in the family's own bits (an IPv4 /120 prints as /24). */
export function familyPrefixLength(prefixLength: number, v4: boolean): number {
  return v4 ? prefixLength - V4_MAPPED_BITS : prefixLength;
}
