/**
 * Counters of the IP layer and the reasons it drops packets. The counters follow the IP-MIB
 * (RFC 4293: ipSystemStatsInReceives, InHdrErrors, InAddrErrors, InUnknownProtos, InDelivers,
 * OutRequests, OutNoRoutes, ReasmReqds/OKs/Fails, OutFragOKs/Fails/Creates, ForwDatagrams) and the
 * ICMP and UDP MIBs, which are what GetIpStatisticsEx / GetIcmpStatisticsEx / GetUdpStatisticsEx
 * report on Windows. A packet the stack refuses is never an exception: it is counted once under an
 * `IpDropReason`, and when a wire view refused it, also under the `WireReason` the view gave.
 */
import { WIRE_REASON_COUNT, describeWireReason } from '../../../wire/reason.js';

/** Why the IP layer dropped a frame or packet (index into the per-interface `drops`). */
export const IpDropReason = {
  /** Shorter than an Ethernet header. */
  Runt: 0,
  /** EtherType the stack does not handle. */
  UnknownEtherType: 1,
  /** An 802.1Q tag in the frame (the interface carries no VLAN). */
  VlanTagged: 2,
  /** Received or sent while the binding was not running. */
  NotRunning: 3,
  /** Sent while the medium was disconnected. */
  MediaDisconnected: 4,
  /** A header did not parse (the wire reason is counted per protocol). */
  Malformed: 5,
  /** IPv4 header checksum wrong (verified in software). */
  IpChecksum: 6,
  /** The miniport reported IpChecksumFailed. */
  IpChecksumOffloadFailed: 7,
  /** TCP, UDP or ICMP checksum wrong (verified in software). */
  TransportChecksum: 8,
  /** The miniport reported TcpChecksumFailed or UdpChecksumFailed. */
  TransportChecksumOffloadFailed: 9,
  /** Not addressed to this host and forwarding is off (ipInAddrErrors). */
  NotLocal: 10,
  /** Source address that no packet may carry (multicast, broadcast, loopback, our own). */
  BadSourceAddress: 11,
  /** TTL or hop limit reached zero while forwarding. */
  TtlExpired: 12,
  /** No route to the destination (ipOutNoRoutes). */
  NoRoute: 13,
  /** Link-layer address resolution failed. */
  NeighborUnreachable: 14,
  /** Too many packets waiting for address resolution. */
  NeighborQueueFull: 15,
  /** Too big for the link with DF set (IPv4) or when forwarding IPv6. */
  TooBig: 16,
  /** Fragments not completed within the reassembly time. */
  ReassemblyTimeout: 17,
  /** A fragment overlapped another with different data (RFC 5722). */
  ReassemblyOverlap: 18,
  /** Too many datagrams or bytes in reassembly. */
  ReassemblyLimit: 19,
  /** A fragment with a bad length or offset. */
  ReassemblyMalformed: 20,
  /** Upper-layer protocol the stack does not implement (ipInUnknownProtos). */
  UnknownProtocol: 21,
  /** UDP datagram for a port nobody listens on (udpNoPorts). */
  NoUdpSocket: 22,
  /** The receiving UDP socket's queue was full. */
  UdpQueueFull: 23,
  /** Neighbor Discovery message failing the RFC 4861 validity checks. */
  NdpInvalid: 24,
  /** ARP packet not about this host. */
  ArpIgnored: 25,
  /** Addressed to an address still in duplicate address detection. */
  TentativeAddress: 26,
  /** No NET_BUFFER_LIST or memory available to build a packet. */
  NoBuffer: 27,
  /** IPv6 header chain the stack cannot process (ESP, an unknown routing header in use). */
  UnsupportedHeader: 28,
  /** The miniport completed the send with a failure status. */
  SendFailed: 29,
  /** A frame for another station's MAC address (a promiscuous binding shares the adapter). */
  NotOurMac: 30,
  /** Number of reasons. */
  Count: 31,
} as const;

const DROP_TEXT: readonly string[] = [
  'runt frame',
  'unknown EtherType',
  'VLAN-tagged frame',
  'binding not running',
  'media disconnected',
  'malformed header',
  'IPv4 header checksum',
  'IP checksum failed (offload)',
  'transport checksum',
  'transport checksum failed (offload)',
  'not addressed to this host',
  'invalid source address',
  'TTL / hop limit expired',
  'no route',
  'neighbor unreachable',
  'address resolution queue full',
  'too big for the link',
  'reassembly timeout',
  'overlapping fragments',
  'reassembly limit',
  'malformed fragment',
  'unknown protocol',
  'no UDP socket on the port',
  'UDP socket queue full',
  'invalid Neighbor Discovery message',
  'ARP not for this host',
  'address is tentative',
  'no buffer',
  'unsupported IPv6 header',
  'send completed with failure',
  'frame for another MAC address',
];

/** Text of an `IpDropReason`. */
export function describeIpDrop(reason: number): string {
  return DROP_TEXT[reason] ?? `drop ${reason}`;
}

/** Per-interface counters (the NL interface statistics tcpip keeps for each IP interface). */
export class InterfaceCounters {
  /** Frames received from the binding (every NET_BUFFER). */
  inFrames = 0;
  /** Bytes of those frames. */
  inOctets = 0;
  /** Frames handed to NDIS. */
  outFrames = 0;
  /** Bytes of those frames. */
  outOctets = 0;
  /** NdisSendNetBufferLists calls. */
  sendCalls = 0;
  /** Send completions with a failure status. */
  sendErrors = 0;
  /** Receive indications that carried NDIS_RECEIVE_FLAGS_RESOURCES. */
  lowResourceIndications = 0;
  /** Frames whose headers were split across MDLs (copied to make them contiguous). */
  splitFrames = 0;
  /** Receive checksums accepted on the miniport's word (offload succeeded). */
  checksumOffloadedIn = 0;
  /** Sends handed to the miniport with a checksum request. */
  checksumOffloadedOut = 0;
  /** Sends handed to the miniport with a large-send (LSOv2) request. */
  lsoOut = 0;
  /** Large segments cut in software because the miniport could not take them. */
  softwareSegmented = 0;
}

/** Counters of one IP version (RFC 4293 ipSystemStatsTable, per family). */
export class IpCounters {
  inReceives = 0;
  inHdrErrors = 0;
  inAddrErrors = 0;
  inUnknownProtos = 0;
  inDiscards = 0;
  inDelivers = 0;
  outRequests = 0;
  outNoRoutes = 0;
  outDiscards = 0;
  outTransmits = 0;
  forwDatagrams = 0;
  reasmReqds = 0;
  reasmOks = 0;
  reasmFails = 0;
  reasmTimeouts = 0;
  outFragOks = 0;
  outFragFails = 0;
  outFragCreates = 0;
  inMcastPkts = 0;
  inBcastPkts = 0;
  /** Refusals by the wire views, indexed by WireReason. */
  readonly wire = new Uint32Array(WIRE_REASON_COUNT);
}

/** Counters of ICMP or ICMPv6 (RFC 4293 icmpStatsTable / icmpMsgStatsTable). */
export class IcmpCounters {
  inMsgs = 0;
  inErrors = 0;
  outMsgs = 0;
  outErrors = 0;
  /** Errors the stack would have sent but the rate limit suppressed (RFC 4443 2.4(f)). */
  outRateLimited = 0;
  /** Received messages by type. */
  readonly inTypes = new Uint32Array(256);
  /** Sent messages by type. */
  readonly outTypes = new Uint32Array(256);
  /** Refusals by the wire views, indexed by WireReason. */
  readonly wire = new Uint32Array(WIRE_REASON_COUNT);
}

/** UDP counters (RFC 4113 udpInDatagrams, udpNoPorts, udpInErrors, udpOutDatagrams). */
export class UdpCounters {
  inDatagrams = 0;
  noPorts = 0;
  inErrors = 0;
  outDatagrams = 0;
  /** Datagrams dropped because the socket's queue was full. */
  queueDrops = 0;
  readonly wire = new Uint32Array(WIRE_REASON_COUNT);
}

/** Address resolution counters (ARP and Neighbor Discovery). */
export class NeighborCounters {
  arpRequestsIn = 0;
  arpRequestsOut = 0;
  arpRepliesIn = 0;
  arpRepliesOut = 0;
  /** ARP packets whose sender claimed one of our IPv4 addresses. */
  arpConflicts = 0;
  nsIn = 0;
  nsOut = 0;
  naIn = 0;
  naOut = 0;
  rsOut = 0;
  raIn = 0;
  /** Resolutions that ran out of retries. */
  resolutionFailures = 0;
  /** Duplicate address detection found another user of one of our addresses. */
  dadConflicts = 0;
  /** Addresses that passed duplicate address detection. */
  dadSucceeded = 0;
  readonly arpWire = new Uint32Array(WIRE_REASON_COUNT);
}

/** A count table as a plain object of non-zero entries, keyed by text (for `statistics()`). */
export function nonZero(counts: ArrayLike<number>, describe: (i: number) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) out[describe(i)] = counts[i]!;
  return out;
}

/** Wire-reason counts as a plain object of non-zero entries. */
export function wireTable(counts: ArrayLike<number>): Record<string, number> {
  return nonZero(counts, describeWireReason);
}

/** A counters object as a plain record of its numeric fields (arrays left out). */
export function plainCounters(c: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (typeof v === 'number') out[k] = v;
  return out;
}
