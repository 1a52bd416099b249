/**
 * Why a wire view refused a buffer.
 *
 * Every `wrap` in src/wire returns one of these numbers: 0 means the buffer holds a well-formed
 * header and every accessor of the view is safe to call; anything else names the first problem
 * found. The codes are shared by all formats so that a receive path can count drops in one
 * `Uint32Array(WIRE_REASON_COUNT)` indexed by the code, the way OID_GEN_STATISTICS keeps its
 * receive-error and discard counters. Codes never change meaning once published.
 */
export const WireReason = {
  /** The buffer holds a well-formed header. */
  Ok: 0,
  /** The buffer is shorter than the fixed part of the header. */
  Truncated: 1,
  /** The IP version field does not match the header being parsed. */
  BadVersion: 2,
  /** The header-length field is below the minimum (IPv4 IHL < 5). */
  BadHeaderLength: 3,
  /** A header's own length field (IHL, extension header length, GRE flags) reaches past the buffer. */
  HeaderOverrun: 4,
  /** A datagram length field (IPv4 total length, IPv6 payload length, UDP length) is inconsistent. */
  BadTotalLength: 5,
  /** An option (IPv4, IPv6 TLV, NDP) has a bad length or runs past its container. */
  BadOptionLength: 6,
  /** A checksum does not verify. */
  BadChecksum: 7,
  /** An ARP packet is not Ethernet/IPv4 (hardware type 1, protocol 0x0800, lengths 6 and 4). */
  ArpNotEthernetIpv4: 8,
  /** An ARP operation other than request (1) or reply (2). */
  ArpBadOperation: 9,
  /** A hop-by-hop options header somewhere other than right after the IPv6 header (RFC 8200 4.1). */
  Ipv6HopByHopNotFirst: 10,
  /** The IPv6 header chain reached an ESP header: what follows is encrypted and cannot be walked. */
  Ipv6EspNotWalkable: 11,
  /** A type 2 routing header without Hdr Ext Len 2 and Segments Left 1 (RFC 6275 6.4). */
  Ipv6BadRoutingType2: 12,
  /** A Home Address destination option whose length is not 16 (RFC 6275 6.3). */
  Ipv6BadHomeAddressOption: 13,
  /** A message type (or type and code) that the representation does not model. */
  UnsupportedType: 14,
  /** A Neighbor Discovery message with a non-zero code (RFC 4861: code must be 0). */
  NdpBadCode: 15,
  /** A GRE header with a version other than 0 (RFC 2784 2.3.1). */
  GreBadVersion: 16,
  /** A GRE header with reserved bits 1, 4 or 5 set (RFC 2784 2.3: the receiver discards it). */
  GreReservedBits: 17,
  /** A GRE header that is not NVGRE: protocol 0x6558 with K set and C, S clear (RFC 7637 3.2). */
  NotNvgre: 18,
  /** A VXLAN header without the I flag (RFC 7348 5: the VNI is then not valid). */
  VxlanNoVni: 19,
  /** The space given to an emitter is too small for what it must write. */
  NoSpace: 20,
} as const;

/** One of the {@link WireReason} codes. */
export type WireReason = (typeof WireReason)[keyof typeof WireReason];

/** Number of reason codes: the length of a per-reason counter array. */
export const WIRE_REASON_COUNT = 21;

const TEXT: readonly string[] = [
  'ok',
  'buffer shorter than the fixed header',
  'IP version field does not match',
  'header length field below the minimum',
  'header length runs past the buffer',
  'datagram length field inconsistent with the header or buffer',
  'option length bad or option runs past its container',
  'checksum does not verify',
  'ARP packet is not Ethernet/IPv4',
  'ARP operation is neither request nor reply',
  'hop-by-hop options header not first after the IPv6 header',
  'ESP header reached: the rest is encrypted',
  'type 2 routing header with bad length or segments left',
  'Home Address option length is not 16',
  'message type not modelled',
  'Neighbor Discovery message with non-zero code',
  'GRE version is not 0',
  'GRE reserved bits 1, 4 or 5 set',
  'GRE header is not NVGRE',
  'VXLAN header without the I flag',
  'not enough space to emit',
];

/** Human text for a {@link WireReason} code (for logs, the CLI and drop tables). */
export function describeWireReason(code: number): string {
  return TEXT[code] ?? `unknown wire reason ${code}`;
}
