/**
 * Address announcements a team sends on its new primary member after a failover or failback, so
 * that peers and switches relearn where its addresses are: the gratuitous ARP of RFC 5227 section
 * 3 (an ARP request whose sender and target protocol addresses are both the announced address,
 * RFC 5944 4.6 calls it a gratuitous ARP) and the unsolicited neighbor advertisement of RFC 4861
 * section 7.2.6 (to all-nodes, Override set, Solicited clear, with the target link-layer address).
 *
 * Also the team's knowledge of its interfaces' addresses: configured ones, those the transport
 * sets with OID_GEN_NETWORK_LAYER_ADDRESSES, and those it sees the interface announce itself in
 * ARP and neighbor discovery messages it sends.
 */
import { ARP_REQUEST, emitArpRepr } from '../../../wire/arp.js';
import { emitEthernetRepr, type EthernetRepr } from '../../../wire/ethernet.js';
import { ND_NEIGHBOR_ADVERT, emitIcmpv6Repr, type NdpNeighborAdvertRepr } from '../../../wire/icmpv6.js';
import { emitIpv6Repr } from '../../../wire/ipv6.js';
import { IPPROTO_ICMPV6 } from '../../../wire/ip.js';

const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** 33:33:00:00:00:01, the Ethernet group address of ff02::1 (RFC 2464 section 7). */
const ALL_NODES_MAC = new Uint8Array([0x33, 0x33, 0, 0, 0, 1]);
/** ff02::1, the link-local all-nodes address. */
const ALL_NODES = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const ZERO_MAC = new Uint8Array(6);

function ethernetHeader(dst: Uint8Array, src: Uint8Array, etherType: number, tci: number): EthernetRepr {
  return {
    destination: dst,
    source: src,
    tags: tci === 0 ? [] : [{ tpid: ETHERTYPE_VLAN, priority: tci >>> 13, dropEligible: (tci & 0x1000) !== 0, vlanId: tci & 0x0fff }],
    etherType,
  };
}

/**
 * A gratuitous ARP request announcing that IPv4 address `ipv4` (IPv4-mapped, 16 bytes) is at
 * `mac`: broadcast, sender and target protocol address both `ipv4`, target hardware address zero.
 * With `tci` non-zero an 802.1Q header carrying it follows the MAC addresses.
 */
export function buildGratuitousArp(mac: Uint8Array, ipv4: Uint8Array, tci = 0): Uint8Array {
  const eth = ethernetHeader(BROADCAST, mac, ETHERTYPE_ARP, tci);
  const hl = tci === 0 ? 14 : 18;
  const frame = new Uint8Array(hl + 28);
  emitEthernetRepr(eth, frame, 0);
  emitArpRepr(
    { operation: ARP_REQUEST, senderHardwareAddress: mac, senderProtocolAddress: ipv4, targetHardwareAddress: ZERO_MAC, targetProtocolAddress: ipv4 },
    frame,
    hl,
  );
  return frame;
}

/**
 * An unsolicited neighbor advertisement that IPv6 address `ipv6` is at `mac`: from `ipv6` to
 * ff02::1 (33:33:00:00:00:01), hop limit 255, Override set, Solicited and Router clear, with a
 * target link-layer address option. With `tci` non-zero an 802.1Q header carrying it follows the
 * MAC addresses.
 */
export function buildUnsolicitedNeighborAdvert(mac: Uint8Array, ipv6: Uint8Array, tci = 0): Uint8Array {
  const eth = ethernetHeader(ALL_NODES_MAC, mac, ETHERTYPE_IPV6, tci);
  const hl = tci === 0 ? 14 : 18;
  const na: NdpNeighborAdvertRepr = { type: ND_NEIGHBOR_ADVERT, router: false, solicited: false, override: true, target: ipv6, targetLinkLayerAddress: mac };
  const icmpLength = 24 + 8;
  const frame = new Uint8Array(hl + 40 + icmpLength);
  emitEthernetRepr(eth, frame, 0);
  emitIpv6Repr({ source: ipv6, destination: ALL_NODES, nextHeader: IPPROTO_ICMPV6, hopLimit: 255, trafficClass: 0, flowLabel: 0, payloadLength: icmpLength }, frame, hl);
  emitIcmpv6Repr(na, frame, hl + 40, ipv6, ALL_NODES);
  return frame;
}

/** Most addresses of one family an interface remembers. */
export const MAX_ANNOUNCED_ADDRESSES = 8;

function sameAddress(a: Uint8Array, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[bo + i]) return false;
  return true;
}

/**
 * The addresses of one team interface that the team announces: IPv4 (held IPv4-mapped) and IPv6,
 * at most MAX_ANNOUNCED_ADDRESSES of each.
 */
export class InterfaceAddresses {
  readonly ipv4: Uint8Array[] = [];
  readonly ipv6: Uint8Array[] = [];

  /** Adds the IPv4 address at `bytes[offset .. offset + 4)` unless known, zero or the list is full. */
  addIpv4(bytes: Uint8Array, offset: number): boolean {
    if ((bytes[offset]! | bytes[offset + 1]! | bytes[offset + 2]! | bytes[offset + 3]!) === 0) return false;
    for (const a of this.ipv4) if (a[12] === bytes[offset] && a[13] === bytes[offset + 1] && a[14] === bytes[offset + 2] && a[15] === bytes[offset + 3]) return false;
    if (this.ipv4.length >= MAX_ANNOUNCED_ADDRESSES) return false;
    const a = new Uint8Array(16);
    a[10] = 0xff;
    a[11] = 0xff;
    a.set(bytes.subarray(offset, offset + 4), 12);
    this.ipv4.push(a);
    return true;
  }

  /** Adds the IPv6 address at `bytes[offset .. offset + 16)` unless known, unspecified, multicast or the list is full. */
  addIpv6(bytes: Uint8Array, offset: number): boolean {
    if (bytes[offset] === 0xff) return false;
    let zero = true;
    for (let i = 0; i < 16; i++) if (bytes[offset + i] !== 0) zero = false;
    if (zero) return false;
    for (const a of this.ipv6) if (sameAddress(a, bytes, offset)) return false;
    if (this.ipv6.length >= MAX_ANNOUNCED_ADDRESSES) return false;
    this.ipv6.push(bytes.slice(offset, offset + 16));
    return true;
  }

  /** Adds a 16-byte address (IPv4-mapped or IPv6). */
  add(address: Uint8Array): boolean {
    const mapped = address[10] === 0xff && address[11] === 0xff && address.subarray(0, 10).every((b) => b === 0);
    return mapped ? this.addIpv4(address, 12) : this.addIpv6(address, 0);
  }

  /** Forgets the IPv4 addresses (a new OID_GEN_NETWORK_LAYER_ADDRESSES list replaces them). */
  clearIpv4(): void {
    this.ipv4.length = 0;
  }

  /** Number of addresses known. */
  get count(): number {
    return this.ipv4.length + this.ipv6.length;
  }

  /**
   * Learns from an Ethernet frame the interface sends (`bytes[offset .. offset + length)`): the
   * sender protocol address of an ARP message whose sender hardware address is `mac`, and the
   * source address of a neighbor solicitation or advertisement. Anything else is ignored.
   * @cost O(1) for frames that are neither; no allocation unless an address is new.
   */
  learnFromFrame(bytes: Uint8Array, offset: number, length: number, mac: Uint8Array): void {
    if (length < 14) return;
    let type = (bytes[offset + 12]! << 8) | bytes[offset + 13]!;
    let l3 = offset + 14;
    if (type === ETHERTYPE_VLAN && length >= 18) {
      type = (bytes[offset + 16]! << 8) | bytes[offset + 17]!;
      l3 += 4;
    }
    const end = offset + length;
    if (type === ETHERTYPE_ARP) {
      // Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, lengths 6 and 4.
      if (l3 + 28 > end || bytes[l3 + 1] !== 1 || bytes[l3 + 2] !== 0x08 || bytes[l3 + 3] !== 0 || bytes[l3 + 4] !== 6 || bytes[l3 + 5] !== 4) return;
      for (let i = 0; i < 6; i++) if (bytes[l3 + 8 + i] !== mac[i]) return;
      this.addIpv4(bytes, l3 + 14);
    } else if (type === ETHERTYPE_IPV6) {
      if (l3 + 41 > end || bytes[l3 + 6] !== IPPROTO_ICMPV6) return;
      const icmpType = bytes[l3 + 40];
      if (icmpType === 135 || icmpType === 136) this.addIpv6(bytes, l3 + 8);
    }
  }
}

/** NDIS_PROTOCOL_ID_TCP_IP / NDIS_PROTOCOL_TYPE_TCP_IP: the AddressType of IPv4 network addresses. */
export const NDIS_PROTOCOL_TYPE_TCP_IP = 2;

/**
 * Decodes the IPv4 addresses of a NETWORK_ADDRESS_LIST (OID_GEN_NETWORK_LAYER_ADDRESSES):
 * AddressCount (LONG), AddressType (USHORT), then AddressCount NETWORK_ADDRESS entries of
 * AddressLength (USHORT), AddressType (USHORT) and AddressLength bytes; an entry of type
 * NDIS_PROTOCOL_TYPE_TCP_IP holds a NETWORK_ADDRESS_IP (sin_port USHORT, in_addr ULONG in network
 * order, sin_zero[8]). Returns the IPv4 addresses as 4-byte arrays, or null when the buffer is
 * malformed.
 */
export function decodeNetworkAddressList(buffer: Uint8Array, length: number): Uint8Array[] | null {
  if (length < 6 || length > buffer.length) return null;
  const dv = new DataView(buffer.buffer, buffer.byteOffset, length);
  const count = dv.getInt32(0, true);
  if (count < 0) return null;
  const out: Uint8Array[] = [];
  let p = 6;
  for (let i = 0; i < count; i++) {
    if (p + 4 > length) return null;
    const addressLength = dv.getUint16(p, true);
    const addressType = dv.getUint16(p + 2, true);
    p += 4;
    if (p + addressLength > length) return null;
    if (addressType === NDIS_PROTOCOL_TYPE_TCP_IP && addressLength >= 6) out.push(buffer.slice(p + 2, p + 6));
    p += addressLength;
  }
  return out;
}

/** Encodes IPv4 addresses (4 bytes each) as a NETWORK_ADDRESS_LIST of NETWORK_ADDRESS_IP entries. */
export function encodeNetworkAddressList(addresses: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(6 + addresses.length * (4 + 16));
  const dv = new DataView(b.buffer);
  dv.setInt32(0, addresses.length, true);
  dv.setUint16(4, NDIS_PROTOCOL_TYPE_TCP_IP, true);
  let p = 6;
  for (const a of addresses) {
    dv.setUint16(p, 16, true);
    dv.setUint16(p + 2, NDIS_PROTOCOL_TYPE_TCP_IP, true);
    b.set(a.subarray(0, 4), p + 6);
    p += 20;
  }
  return b;
}
