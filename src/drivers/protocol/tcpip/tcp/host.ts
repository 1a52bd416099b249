/**
 * The contract between the TCP engine and the layer below it (the IP layer of the tcpip protocol
 * driver, or an in-memory test host). Everything the engine needs from the outside world goes
 * through `TcpHost`: the clock and timers, memory for outgoing segments and their transmission,
 * segment sizes (MTU, path MTU, large send offload), and random bytes for its secrets. The engine
 * never reads a wall clock, never starts a platform timer and never draws its own random numbers,
 * so a host with a virtual clock and a seeded source makes every run reproducible.
 *
 * In the other direction the host calls the engine (`TcpEngine`):
 *
 *   host                                   engine
 *   ----                                   ------
 *   receive path, checksum verified  --->  input(local, remote, bytes, offset, length)
 *   ICMP error for a TCP segment     --->  icmpError(local, remote, kind, mtu, bytes, offset, length)
 *   timer due                        --->  timer.fire()
 *                                    <---  now(), setTimer(), cancelTimer()
 *                                    <---  allocateSegment() then transmitSegment()
 *                                    <---  maxSegmentSize(), sendOffloadSize(), selectSourceAddress()
 *                                    <---  fillRandom()  (once, for secrets)
 *
 * Ownership: bytes passed to `input` belong to the host and are valid only during the call (the
 * engine copies what it keeps). Space filled by `allocateSegment` belongs to the engine until it
 * passes it to `transmitSegment`, which hands it back to the host.
 */
import type { IpAddress } from '../../../../wire/address.js';

/**
 * The addressing of one connection (or of a stateless reply such as a RST): the 4-tuple with
 * 16-byte addresses (IPv4 held IPv4-mapped) and a slot the host may use to cache per-flow state
 * (a route, a neighbor entry, a NET_BUFFER_LIST template). The engine never touches `hostContext`.
 */
export class TcpFlow {
  /** Local address. */
  readonly localAddress: IpAddress;
  /** Remote address. */
  readonly remoteAddress: IpAddress;
  /** Local port. */
  localPort: number;
  /** Remote port. */
  remotePort: number;
  /** Host-owned per-flow state; null until the host sets it. */
  hostContext: unknown;

  constructor() {
    this.localAddress = new Uint8Array(16);
    this.remoteAddress = new Uint8Array(16);
    this.localPort = 0;
    this.remotePort = 0;
    this.hostContext = null;
  }

  /** Copies addresses and ports (the host context is reset). */
  set(local: IpAddress, localPort: number, remote: IpAddress, remotePort: number): void {
    this.localAddress.set(local);
    this.remoteAddress.set(remote);
    this.localPort = localPort;
    this.remotePort = remotePort;
    this.hostContext = null;
  }
}

/** What a `TcpTimer` calls when it fires: implemented by the engine's connections. */
export interface TcpTimerTarget {
  /** The timer's due time has come (the engine re-arms as needed). */
  onTimer(): void;
}

/**
 * A timer object owned by the engine (one per connection, reused for its whole life). The host
 * keeps it in its timer structure and calls `fire()` when it is due; `hostHandle` and
 * `hostIndex` are the host's to use (a heap index, a handle of a platform timer).
 */
export class TcpTimer {
  /** Who is told when the timer fires. */
  readonly target: TcpTimerTarget;
  /** Time (ms, host clock) the timer is armed for; `Infinity` when not armed. Set by the engine. */
  at: number;
  /** Host-owned number (for example a heap position); -1 when the host holds none. */
  hostIndex: number;
  /** Host-owned reference (for example a platform timer handle); null when none. */
  hostHandle: unknown;

  constructor(target: TcpTimerTarget) {
    this.target = target;
    this.at = Infinity;
    this.hostIndex = -1;
    this.hostHandle = null;
  }

  /** Called by the host when the timer is due. */
  fire(): void {
    this.at = Infinity;
    this.target.onTimer();
  }
}

/**
 * Where the engine builds one outgoing segment: `bytes[offset, offset + length)` of host memory
 * (in the tcpip driver, pooled NET_BUFFER data with backfill room for the IP and link headers
 * in front of `offset`). Filled by `TcpHost.allocateSegment`; `token` lets the host find its
 * buffer again in `transmitSegment`.
 */
export class TcpSegmentSpace {
  /** Memory holding the segment. */
  bytes: Uint8Array;
  /** Offset of the TCP header in `bytes`. */
  offset: number;
  /** Host-owned reference to the buffer (for example the NET_BUFFER_LIST). */
  token: unknown;

  constructor() {
    this.bytes = new Uint8Array(0);
    this.offset = 0;
    this.token = null;
  }
}

/** Kinds of ICMP / ICMPv6 errors the host reports to the engine (RFC 1122 4.2.3.9, RFC 5461). */
export const TcpIcmpError = {
  /** Network or host unreachable, or time exceeded: a soft error (RFC 1122: MUST NOT abort). */
  Unreachable: 1,
  /** Protocol or port unreachable: a hard error while connecting, soft once synchronized (RFC 5461). */
  PortUnreachable: 2,
  /** Administratively prohibited: as PortUnreachable. */
  Prohibited: 3,
  /** IPv4 fragmentation needed and DF set, or ICMPv6 packet too big: a path MTU update. */
  PacketTooBig: 4,
} as const;
/** One of `TcpIcmpError`. */
export type TcpIcmpError = (typeof TcpIcmpError)[keyof typeof TcpIcmpError];

/**
 * What the TCP engine needs from the layer below. The tcpip driver's IP layer implements it over
 * NDIS; tests implement it in memory with a virtual clock.
 */
export interface TcpHost {
  /** Current time in milliseconds on the host's clock (virtual or real; monotonic). */
  now(): number;

  /**
   * Arms `timer` to fire at time `at` (ms, same clock as `now`). Arming an armed timer moves it.
   * When due, the host calls `timer.fire()` (not from inside an engine call).
   */
  setTimer(timer: TcpTimer, at: number): void;

  /** Disarms `timer` if armed. */
  cancelTimer(timer: TcpTimer): void;

  /** Fills `out` with random bytes (called once per engine, for its secrets). */
  fillRandom(out: Uint8Array): void;

  /**
   * The maximum segment size for `flow`: payload bytes of one segment without TCP options, from
   * the interface MTU or the path MTU (MTU - IP header - 20). The engine uses it both as the MSS it
   * advertises and as the upper bound of what it sends. Asked at connection setup and after a
   * PacketTooBig report.
   */
  maxSegmentSize(flow: TcpFlow): number;

  /**
   * Largest segment (TCP payload bytes) the host can send for `flow` in one piece with large send
   * offload, or 0 when it cannot. When non-zero the engine may pass segments up to this size to
   * `transmitSegment` with the MSS the host (or the miniport) must segment at.
   */
  sendOffloadSize(flow: TcpFlow): number;

  /**
   * Chooses the local address for a connection to `remote` (route lookup, RFC 6724 source
   * address selection). Writes it into `out` and returns true, or returns false when `remote`
   * cannot be reached.
   */
  selectSourceAddress(remote: IpAddress, out: IpAddress): boolean;

  /**
   * Provides room for one segment of `length` bytes (TCP header with options + payload) for
   * `flow`: sets `space.bytes`, `space.offset` (and `space.token` if useful) and returns true, or
   * returns false when no memory is available (the engine treats the segment as lost).
   */
  allocateSegment(flow: TcpFlow, length: number, space: TcpSegmentSpace): boolean;

  /**
   * Sends the segment the engine built in `space` (`length` bytes at `space.offset`, checksum
   * field 0: the host computes or offloads the checksum over its pseudo-header). When
   * `segmentMss` is non-zero the payload is larger than one MSS and the host must cut it into
   * segments of `segmentMss` payload bytes (large send offload), replicating the header. Ownership
   * of `space`'s memory returns to the host.
   */
  transmitSegment(flow: TcpFlow, space: TcpSegmentSpace, length: number, segmentMss: number): void;
}
