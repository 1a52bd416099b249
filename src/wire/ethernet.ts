/**
 * Ethernet II frames (IEEE 802.3 with an EtherType) and IEEE 802.1Q / 802.1ad VLAN tags.
 *
 * ```
 *  0      6      12          14 (or 18, 22 with tags)
 *  +------+------+--[TPID|TCI]*--+-----------+---------
 *  | dst  | src  |  VLAN tags    | EtherType | payload
 *  +------+------+---------------+-----------+---------
 *  TCI = PCP (3 bits) | DEI (1 bit) | VID (12 bits)
 * ```
 *
 * The FCS is not part of the frame here: NDIS indicates and sends frames without it. The VLAN
 * fields are the ones NDIS carries out of band in NDIS_NET_BUFFER_LIST_8021Q_INFO (UserPriority =
 * PCP, CanonicalFormatId = DEI, VlanId = VID) when a miniport strips or inserts the tag.
 */
import type { MacAddress } from './address.js';
import { isBroadcastMac, isGroupMac } from './address.js';
import { copyBytes, EMPTY_BYTES, getU16, setU16, spans } from './bytes.js';
import { WireReason } from './reason.js';

/** Length of the Ethernet II header without tags: two addresses and the EtherType. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Length of an IEEE 802 MAC address. */
export const ETHERNET_ADDRESS_LENGTH = 6;
/** Length of one 802.1Q or 802.1ad tag (TPID and TCI). */
export const VLAN_TAG_LENGTH = 4;
/** Minimum Ethernet frame length without the FCS (64 bytes on the wire less the 4-byte FCS). */
export const ETHERNET_MIN_FRAME_LENGTH = 60;

/** EtherType values (IEEE Registration Authority / IANA "IEEE 802 Numbers"). */
export const EtherType = {
  /** Internet Protocol version 4. */
  Ipv4: 0x0800,
  /** Address Resolution Protocol (RFC 826). */
  Arp: 0x0806,
  /** Reverse ARP (RFC 903). */
  Rarp: 0x8035,
  /** Customer VLAN tag, TPID of an IEEE 802.1Q tag (C-TAG). */
  Ieee8021Q: 0x8100,
  /** Internet Protocol version 6. */
  Ipv6: 0x86dd,
  /** Slow protocols (LACP, IEEE 802.3 annex 57A). */
  SlowProtocols: 0x8809,
  /** MPLS unicast (RFC 3032). */
  Mpls: 0x8847,
  /** EAP over LAN (IEEE 802.1X). */
  Eapol: 0x888e,
  /** Service VLAN tag, TPID of an IEEE 802.1ad tag (S-TAG, "QinQ"). */
  Ieee8021ad: 0x88a8,
  /** Link Layer Discovery Protocol (IEEE 802.1AB). */
  Lldp: 0x88cc,
  /** Precision Time Protocol (IEEE 1588). */
  Ptp: 0x88f7,
  /** Transparent Ethernet Bridging: an Ethernet frame as payload (GRE protocol type for NVGRE). */
  TransparentEthernetBridging: 0x6558,
} as const;

/** True for the two TPIDs that start a VLAN tag: 0x8100 (802.1Q) and 0x88a8 (802.1ad). */
export function isVlanTpid(etherType: number): boolean {
  return etherType === EtherType.Ieee8021Q || etherType === EtherType.Ieee8021ad;
}

/**
 * A reusable view of an Ethernet II header (IEEE 802.3 clause 3 with an EtherType/TPID at byte 12).
 * `wrap` checks the length once; then every accessor is safe and allocation-free.
 */
export class EthernetFrame {
  /** The array holding the frame. */
  bytes: Uint8Array;
  /** Offset of the first byte of the frame (the destination address) in `bytes`. */
  offset: number;
  /** Length of the frame from `offset` (header and payload, no FCS). */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /** Points the view at a received frame; returns 0 or `WireReason.Truncated` (below 14 bytes). */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    return spans(bytes, offset, length, ETHERNET_HEADER_LENGTH) ? WireReason.Ok : WireReason.Truncated;
  }

  /** Points the view at space for a frame to be built; same check as {@link wrap}. */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): number {
    return this.wrap(bytes, offset, length);
  }

  /** Offset of the destination address in `bytes`. */
  get destinationOffset(): number {
    return this.offset;
  }

  /** Offset of the source address in `bytes`. */
  get sourceOffset(): number {
    return this.offset + 6;
  }

  /** Copies the destination address into `out[outOffset..outOffset+6]`. */
  copyDestination(out: Uint8Array, outOffset = 0): void {
    copyBytes(out, outOffset, this.bytes, this.offset, 6);
  }

  /** Copies the source address into `out[outOffset..outOffset+6]`. */
  copySource(out: Uint8Array, outOffset = 0): void {
    copyBytes(out, outOffset, this.bytes, this.offset + 6, 6);
  }

  /** Writes the destination address from `mac[macOffset..macOffset+6]`. */
  setDestination(mac: Uint8Array, macOffset = 0): void {
    copyBytes(this.bytes, this.offset, mac, macOffset, 6);
  }

  /** Writes the source address from `mac[macOffset..macOffset+6]`. */
  setSource(mac: Uint8Array, macOffset = 0): void {
    copyBytes(this.bytes, this.offset + 6, mac, macOffset, 6);
  }

  /** True when the destination is ff:ff:ff:ff:ff:ff (NDIS_PACKET_TYPE_BROADCAST filtering). */
  get isBroadcast(): boolean {
    return isBroadcastMac(this.bytes, this.offset);
  }

  /** True when the destination is a group address (multicast or broadcast: the I/G bit). */
  get isMulticast(): boolean {
    return isGroupMac(this.bytes, this.offset);
  }

  /** The EtherType (or the TPID of a first VLAN tag) at byte 12. */
  get etherType(): number {
    return getU16(this.bytes, this.offset + 12);
  }

  set etherType(value: number) {
    setU16(this.bytes, this.offset + 12, value);
  }

  /** True when the frame carries at least one 802.1Q or 802.1ad tag. */
  get isTagged(): boolean {
    return isVlanTpid(this.etherType);
  }

  /** Length of the untagged header, 14. Use {@link findLayer3} to step over tags. */
  get headerLength(): number {
    return ETHERNET_HEADER_LENGTH;
  }

  /** Offset in `bytes` just past the untagged header. */
  get payloadOffset(): number {
    return this.offset + ETHERNET_HEADER_LENGTH;
  }

  /** Length of what follows the untagged header. */
  get payloadLength(): number {
    return this.length - ETHERNET_HEADER_LENGTH;
  }

  /** Walks the VLAN tags of this frame into `out`; see {@link findEthernetLayer3}. */
  findLayer3(out: EthernetLayer3): number {
    return findEthernetLayer3(this.bytes, this.offset, this.length, out);
  }
}

/**
 * Where the layer-3 packet of an Ethernet frame starts, past any stacked VLAN tags. Filled by
 * {@link findEthernetLayer3}; reusable, fixed shape.
 */
export class EthernetLayer3 {
  /** The EtherType that names the layer-3 protocol (after the last tag). */
  etherType: number;
  /** Offset in the array of the layer-3 header. */
  offset: number;
  /** Number of VLAN tags stepped over. */
  tagCount: number;
  /** Offset of the outermost tag's TPID, or -1 when untagged. */
  outerTagOffset: number;
  /** Offset of the second tag's TPID (the C-TAG of a QinQ frame), or -1. */
  innerTagOffset: number;

  constructor() {
    this.etherType = 0;
    this.offset = 0;
    this.tagCount = 0;
    this.outerTagOffset = -1;
    this.innerTagOffset = -1;
  }
}

/**
 * Steps over every 802.1Q (0x8100) and 802.1ad (0x88a8) tag at the start of the frame at
 * `bytes[offset..offset+length)` and reports the layer-3 EtherType and offset in `out`.
 * Returns 0, or `WireReason.Truncated` when the frame ends inside the header or a tag.
 */
export function findEthernetLayer3(bytes: Uint8Array, offset: number, length: number, out: EthernetLayer3): number {
  out.tagCount = 0;
  out.outerTagOffset = -1;
  out.innerTagOffset = -1;
  if (!spans(bytes, offset, length, ETHERNET_HEADER_LENGTH)) return WireReason.Truncated;
  const end = offset + length;
  let p = offset + 12;
  let type = getU16(bytes, p);
  while (type === EtherType.Ieee8021Q || type === EtherType.Ieee8021ad) {
    if (p + VLAN_TAG_LENGTH + 2 > end) return WireReason.Truncated;
    if (out.tagCount === 0) out.outerTagOffset = p;
    else if (out.tagCount === 1) out.innerTagOffset = p;
    out.tagCount++;
    p += VLAN_TAG_LENGTH;
    type = getU16(bytes, p);
  }
  out.etherType = type;
  out.offset = p + 2;
  return WireReason.Ok;
}

/**
 * A reusable view of one VLAN tag: TPID (0x8100 or 0x88a8) then the TCI (IEEE 802.1Q 9.6):
 * priority code point, drop eligible indicator and VLAN identifier.
 */
export class VlanTag {
  /** The array holding the tag. */
  bytes: Uint8Array;
  /** Offset of the TPID in `bytes`. */
  offset: number;
  /** Bytes available from `offset` (at least 4 after a successful wrap). */
  length: number;

  constructor() {
    this.bytes = EMPTY_BYTES;
    this.offset = 0;
    this.length = 0;
  }

  /** Points the view at a tag; returns 0 or `WireReason.Truncated` (below 4 bytes). */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    return spans(bytes, offset, length, VLAN_TAG_LENGTH) ? WireReason.Ok : WireReason.Truncated;
  }

  /** Tag protocol identifier: 0x8100 (802.1Q C-TAG) or 0x88a8 (802.1ad S-TAG). */
  get tpid(): number {
    return getU16(this.bytes, this.offset);
  }

  set tpid(value: number) {
    setU16(this.bytes, this.offset, value);
  }

  /** The whole 16-bit tag control information. */
  get tci(): number {
    return getU16(this.bytes, this.offset + 2);
  }

  set tci(value: number) {
    setU16(this.bytes, this.offset + 2, value);
  }

  /** Priority code point (PCP, 0-7): NDIS UserPriority. */
  get priority(): number {
    return this.bytes[this.offset + 2]! >>> 5;
  }

  set priority(value: number) {
    const o = this.offset + 2;
    this.bytes[o] = (this.bytes[o]! & 0x1f) | ((value & 7) << 5);
  }

  /** Drop eligible indicator (DEI, formerly CFI): NDIS CanonicalFormatId. */
  get dropEligible(): boolean {
    return (this.bytes[this.offset + 2]! & 0x10) !== 0;
  }

  set dropEligible(value: boolean) {
    const o = this.offset + 2;
    this.bytes[o] = value ? this.bytes[o]! | 0x10 : this.bytes[o]! & 0xef;
  }

  /** VLAN identifier (VID, 0-4095; 0 means priority-tagged only): NDIS VlanId. */
  get vlanId(): number {
    return getU16(this.bytes, this.offset + 2) & 0x0fff;
  }

  set vlanId(value: number) {
    const o = this.offset + 2;
    setU16(this.bytes, o, (getU16(this.bytes, o) & 0xf000) | (value & 0x0fff));
  }

  /** The EtherType (or next TPID) that follows the tag, when the buffer holds it; -1 otherwise. */
  get nextEtherType(): number {
    return this.length >= VLAN_TAG_LENGTH + 2 ? getU16(this.bytes, this.offset + 4) : -1;
  }
}

/** Builds a TCI from its three fields (IEEE 802.1Q 9.6). */
export function vlanTci(priority: number, dropEligible: boolean, vlanId: number): number {
  return ((priority & 7) << 13) | (dropEligible ? 0x1000 : 0) | (vlanId & 0x0fff);
}

/**
 * Inserts a VLAN tag into the frame that starts at `bytes[frameOffset]` by moving its two
 * addresses 4 bytes towards the front (the frame must have 4 bytes of headroom, as a miniport's
 * send path does when it inserts the tag from NDIS_NET_BUFFER_LIST_8021Q_INFO). Returns the new
 * frame offset (`frameOffset - 4`), or -1 when there is no headroom or the frame is shorter than
 * the 12 address bytes. Allocation-free.
 */
export function insertVlanTag(
  bytes: Uint8Array, frameOffset: number, frameLength: number, tpid: number, tci: number,
): number {
  if (frameOffset < VLAN_TAG_LENGTH || !spans(bytes, frameOffset, frameLength, 12)) return -1;
  const start = frameOffset - VLAN_TAG_LENGTH;
  bytes.copyWithin(start, frameOffset, frameOffset + 12);
  setU16(bytes, start + 12, tpid);
  setU16(bytes, start + 14, tci);
  return start;
}

/**
 * Removes the outermost VLAN tag of the frame at `bytes[frameOffset..frameOffset+frameLength)` by
 * moving the two addresses 4 bytes towards the payload (a miniport stripping the tag into
 * NDIS_NET_BUFFER_LIST_8021Q_INFO reads the TCI first). Returns the new frame offset
 * (`frameOffset + 4`), or -1 when the frame carries no tag or is too short. Allocation-free.
 */
export function removeVlanTag(bytes: Uint8Array, frameOffset: number, frameLength: number): number {
  if (!spans(bytes, frameOffset, frameLength, ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH)) return -1;
  if (!isVlanTpid(getU16(bytes, frameOffset + 12))) return -1;
  bytes.copyWithin(frameOffset + VLAN_TAG_LENGTH, frameOffset, frameOffset + 12);
  return frameOffset + VLAN_TAG_LENGTH;
}

/** One VLAN tag as a plain record. */
export interface VlanTagRepr {
  /** 0x8100 or 0x88a8. */
  tpid: number;
  /** PCP, 0-7. */
  priority: number;
  /** DEI. */
  dropEligible: boolean;
  /** VID, 0-4095. */
  vlanId: number;
}

/** An Ethernet II header with its VLAN tags, outermost first, as a plain record. */
export interface EthernetRepr {
  destination: MacAddress;
  source: MacAddress;
  tags: VlanTagRepr[];
  /** EtherType of the payload, after the tags. */
  etherType: number;
}

/**
 * Parses the header and tags of a wrapped frame into a new {@link EthernetRepr}. Allocates (not for
 * the per-packet path). Returns the record or a {@link WireReason}.
 */
export function parseEthernetRepr(frame: EthernetFrame): EthernetRepr | number {
  const l3 = new EthernetLayer3();
  const r = frame.findLayer3(l3);
  if (r !== WireReason.Ok) return r;
  const b = frame.bytes;
  const tags: VlanTagRepr[] = [];
  for (let p = frame.offset + 12; p < l3.offset - 2; p += VLAN_TAG_LENGTH) {
    const tci = getU16(b, p + 2);
    tags.push({ tpid: getU16(b, p), priority: tci >>> 13, dropEligible: (tci & 0x1000) !== 0, vlanId: tci & 0x0fff });
  }
  return {
    destination: b.slice(frame.offset, frame.offset + 6),
    source: b.slice(frame.offset + 6, frame.offset + 12),
    tags,
    etherType: l3.etherType,
  };
}

/** Bytes {@link emitEthernetRepr} writes: 14 plus 4 per tag. */
export function ethernetReprHeaderLength(repr: EthernetRepr): number {
  return ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH * repr.tags.length;
}

/**
 * Writes the header and tags of `repr` at `bytes[offset..]`. Returns 0, or `WireReason.NoSpace`
 * when the array is too short (nothing is written then).
 */
export function emitEthernetRepr(repr: EthernetRepr, bytes: Uint8Array, offset: number): number {
  const n = ethernetReprHeaderLength(repr);
  if (!spans(bytes, offset, n, n)) return WireReason.NoSpace;
  copyBytes(bytes, offset, repr.destination, 0, 6);
  copyBytes(bytes, offset + 6, repr.source, 0, 6);
  let p = offset + 12;
  for (const tag of repr.tags) {
    setU16(bytes, p, tag.tpid);
    setU16(bytes, p + 2, vlanTci(tag.priority, tag.dropEligible, tag.vlanId));
    p += VLAN_TAG_LENGTH;
  }
  setU16(bytes, p, repr.etherType);
  return WireReason.Ok;
}
