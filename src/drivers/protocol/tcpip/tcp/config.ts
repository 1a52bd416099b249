/**
 * Engine-wide settings (the knobs tcpip.sys keeps in its registry parameters and Linux in
 * net.ipv4.tcp_*), their defaults with the RFC each default comes from, the per-connection
 * overrides, and the statistics the engine keeps (modelled on MIB_TCPSTATS / RFC 4022 TCP-MIB).
 */
import { TcpCongestionAlgorithm } from './congestion.js';

/** Settings of a `TcpEngine`; every field is optional. */
export interface TcpEngineOptions {
  /** Send buffer per connection in bytes (rounded up to a power of two). Default 256 KiB. */
  sendBufferSize?: number;
  /** Receive buffer per connection in bytes (rounded up to a power of two). Default 256 KiB. */
  receiveBufferSize?: number;
  /** Initial RTO in ms (RFC 6298 (2.1): 1 s). */
  initialRtoMs?: number;
  /** Lower bound of the RTO in ms (RFC 6298 (2.4): 1 s; lower it for in-process links). */
  minRtoMs?: number;
  /** Upper bound of the RTO in ms (RFC 6298 (2.5): at least 60 s). Default 60 s. */
  maxRtoMs?: number;
  /**
   * RTO used once data flows when the SYN had to be retransmitted and no RTT sample exists
   * (RFC 6298 (5.7): 3 s). Default 3 s.
   */
  synRetransmitRtoMs?: number;
  /** Delayed ACK timeout in ms (RFC 9293 3.8.6.3: under 0.5 s; 200 ms as Windows). 0 acks every segment. */
  delayedAckMs?: number;
  /** Acknowledge at least every this many data segments (RFC 9293 3.8.6.3: every second full segment). */
  delayedAckSegments?: number;
  /** Maximum segment lifetime in ms; TIME-WAIT lasts 2 * MSL (RFC 9293 3.4.2). Default 30 s. */
  mslMs?: number;
  /** How long a connection closed by its user waits in FIN-WAIT-2 for the peer's FIN, ms. Default 60 s. */
  finWait2TimeoutMs?: number;
  /** Idle time before the first keep-alive probe, ms (RFC 1122 4.2.3.6: at least 2 hours). */
  keepAliveIdleMs?: number;
  /** Interval between unanswered keep-alive probes, ms. Default 75 s. */
  keepAliveIntervalMs?: number;
  /** Unanswered keep-alive probes before the connection is dropped. Default 9. */
  keepAliveProbes?: number;
  /** Congestion control for new connections. Default CUBIC (as Windows since 2017). */
  congestionControl?: 'newreno' | 'cubic';
  /** Offer and accept SACK (RFC 2018). Default true. */
  sack?: boolean;
  /** Offer and accept timestamps (RFC 7323). Default true. */
  timestamps?: boolean;
  /** Offer and accept window scaling (RFC 7323). Default true. */
  windowScaling?: boolean;
  /** Initial window in segments (RFC 6928: 10). */
  initialWindowSegments?: number;
  /** SYN (or SYN-ACK) retransmissions before giving up. Default 6. */
  synRetries?: number;
  /** Data retransmission timeouts in a row before giving up (RFC 1122 R2). Default 15. */
  dataRetries?: number;
  /** Out-of-order ranges kept per connection. Default 32. */
  maxReassemblyRanges?: number;
  /** SACK scoreboard ranges kept per connection. Default 64. */
  maxSackRanges?: number;
  /** Challenge ACKs sent per second per engine (RFC 5961 section 7). Default 1000. */
  challengeAckLimit?: number;
  /** Lowest ephemeral port (IANA dynamic range: 49152). */
  ephemeralPortMin?: number;
  /** Highest ephemeral port (65535). */
  ephemeralPortMax?: number;
  /** Default listen backlog. Default 128. */
  defaultBacklog?: number;
  /** Nagle's algorithm off for new connections (RFC 9293 3.7.4; on by default). */
  noDelay?: boolean;
}

/** Per-connection overrides of the engine settings (at connect or listen time). */
export interface TcpConnectionOptions {
  /** Disable Nagle's algorithm. */
  noDelay?: boolean;
  /** Enable keep-alive probes. */
  keepAlive?: boolean;
  /** Keep-alive idle time, ms. */
  keepAliveIdleMs?: number;
  /** Congestion control for this connection. */
  congestionControl?: 'newreno' | 'cubic';
  /** Send buffer size, bytes. */
  sendBufferSize?: number;
  /** Receive buffer size, bytes. */
  receiveBufferSize?: number;
}

/**
 * Resolved engine settings: each field is the `TcpEngineOptions` field of the same name with its
 * default applied (`congestionControl` holds a `TcpCongestionAlgorithm`). Invalid values throw a
 * `TcpUsageError` here, when the engine is built.
 */
export class TcpConfig {
  readonly sendBufferSize: number;
  readonly receiveBufferSize: number;
  readonly initialRtoMs: number;
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
  readonly synRetransmitRtoMs: number;
  readonly delayedAckMs: number;
  readonly delayedAckSegments: number;
  readonly mslMs: number;
  finWait2TimeoutMs: number;
  readonly keepAliveIdleMs: number;
  readonly keepAliveIntervalMs: number;
  readonly keepAliveProbes: number;
  readonly congestionControl: number;
  readonly sack: boolean;
  readonly timestamps: boolean;
  readonly windowScaling: boolean;
  readonly initialWindowSegments: number;
  readonly synRetries: number;
  readonly dataRetries: number;
  readonly maxReassemblyRanges: number;
  readonly maxSackRanges: number;
  readonly challengeAckLimit: number;
  readonly ephemeralPortMin: number;
  readonly ephemeralPortMax: number;
  readonly defaultBacklog: number;
  readonly noDelay: boolean;

  constructor(o: TcpEngineOptions = {}) {
    this.sendBufferSize = positive('sendBufferSize', o.sendBufferSize, 256 * 1024);
    this.receiveBufferSize = positive('receiveBufferSize', o.receiveBufferSize, 256 * 1024);
    this.initialRtoMs = positive('initialRtoMs', o.initialRtoMs, 1000);
    this.minRtoMs = positive('minRtoMs', o.minRtoMs, 1000);
    this.maxRtoMs = positive('maxRtoMs', o.maxRtoMs, 60_000);
    this.synRetransmitRtoMs = positive('synRetransmitRtoMs', o.synRetransmitRtoMs, 3000);
    this.delayedAckMs = nonNegative('delayedAckMs', o.delayedAckMs, 200);
    this.delayedAckSegments = positive('delayedAckSegments', o.delayedAckSegments, 2);
    this.mslMs = nonNegative('mslMs', o.mslMs, 30_000);
    this.finWait2TimeoutMs = positive('finWait2TimeoutMs', o.finWait2TimeoutMs, 60_000);
    this.keepAliveIdleMs = positive('keepAliveIdleMs', o.keepAliveIdleMs, 2 * 3600 * 1000);
    this.keepAliveIntervalMs = positive('keepAliveIntervalMs', o.keepAliveIntervalMs, 75_000);
    this.keepAliveProbes = positive('keepAliveProbes', o.keepAliveProbes, 9);
    this.congestionControl = algorithmOf(o.congestionControl, TcpCongestionAlgorithm.Cubic);
    this.sack = o.sack ?? true;
    this.timestamps = o.timestamps ?? true;
    this.windowScaling = o.windowScaling ?? true;
    this.initialWindowSegments = positive('initialWindowSegments', o.initialWindowSegments, 10);
    this.synRetries = nonNegative('synRetries', o.synRetries, 6);
    this.dataRetries = nonNegative('dataRetries', o.dataRetries, 15);
    this.maxReassemblyRanges = positive('maxReassemblyRanges', o.maxReassemblyRanges, 32);
    this.maxSackRanges = positive('maxSackRanges', o.maxSackRanges, 64);
    this.challengeAckLimit = positive('challengeAckLimit', o.challengeAckLimit, 1000);
    this.ephemeralPortMin = port('ephemeralPortMin', o.ephemeralPortMin, 49152);
    this.ephemeralPortMax = port('ephemeralPortMax', o.ephemeralPortMax, 65535);
    this.defaultBacklog = positive('defaultBacklog', o.defaultBacklog, 128);
    this.noDelay = o.noDelay ?? false;
    if (this.minRtoMs > this.maxRtoMs) {
      throw new TcpUsageError('ERR_TCP_OPTIONS', `minRtoMs (${this.minRtoMs}) must not exceed maxRtoMs (${this.maxRtoMs}).`);
    }
    if (this.ephemeralPortMin > this.ephemeralPortMax) {
      throw new TcpUsageError(
        'ERR_TCP_OPTIONS',
        `ephemeralPortMin (${this.ephemeralPortMin}) must not exceed ephemeralPortMax (${this.ephemeralPortMax}).`,
      );
    }
  }
}

/** Maps the option string to a `TcpCongestionAlgorithm`. */
export function algorithmOf(name: string | undefined, fallback: number): number {
  if (name === undefined) return fallback;
  if (name === 'cubic') return TcpCongestionAlgorithm.Cubic;
  if (name === 'newreno') return TcpCongestionAlgorithm.NewReno;
  throw new TcpUsageError('ERR_TCP_OPTIONS', `congestionControl must be 'newreno' or 'cubic'. Received ${JSON.stringify(name)}.`);
}

function positive(name: string, v: number | undefined, d: number): number {
  if (v === undefined) return d;
  if (!Number.isFinite(v) || v <= 0) {
    throw new TcpUsageError('ERR_TCP_OPTIONS', `${name} must be a positive number. Received ${String(v)}.`);
  }
  return v;
}

function nonNegative(name: string, v: number | undefined, d: number): number {
  if (v === undefined) return d;
  if (!Number.isFinite(v) || v < 0) {
    throw new TcpUsageError('ERR_TCP_OPTIONS', `${name} must be a number >= 0. Received ${String(v)}.`);
  }
  return v;
}

function port(name: string, v: number | undefined, d: number): number {
  if (v === undefined) return d;
  if (!Number.isInteger(v) || v < 1 || v > 65535) {
    throw new TcpUsageError('ERR_TCP_OPTIONS', `${name} must be an integer port 1..65535. Received ${String(v)}.`);
  }
  return v;
}

/**
 * Misuse of the TCP engine's API (bad options, a port in use, an operation in the wrong state).
 * `code` is stable (`ERR_TCP_*`); the message says how to fix the call.
 */
export class TcpUsageError extends Error {
  /** Stable error code. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'TcpUsageError';
    this.code = code;
  }
}

/** Reasons the engine drops a received segment (index into `TcpStatistics.drops`). */
export const TcpDropReason = {
  /** Header did not parse (see `TcpReason`); offset by the wire reason in `drops`. */
  Malformed: 0,
  /** An option was malformed. */
  BadOption: 1,
  /** Source or destination port 0. */
  BadPort: 2,
  /** No connection and no listener (answered with RST unless it was one). */
  NoSocket: 3,
  /** Listen queue full. */
  ListenOverflow: 4,
  /** Failed the sequence acceptability test (answered with an ACK). */
  OutOfWindow: 5,
  /** PAWS: timestamp older than TS.Recent (RFC 7323 section 5). */
  Paws: 6,
  /** Timestamps negotiated but the segment carries none (RFC 7323 section 3.2). */
  MissingTimestamp: 7,
  /** ACK for data never sent, or too old (RFC 5961 section 5). */
  BadAck: 8,
  /** RST not exactly at RCV.NXT (answered with a challenge ACK, RFC 5961 section 3). */
  RstChallenged: 9,
  /** SYN on a synchronized connection (answered with a challenge ACK, RFC 5961 section 4). */
  SynChallenged: 10,
  /** Out-of-order data with the range list full. */
  ReassemblyFull: 11,
  /** Segment the state does not accept (no ACK bit, unexpected flags). */
  Unexpected: 12,
  /** Data past the receive buffer. */
  NoBufferSpace: 13,
  /** Number of reasons. */
  Count: 14,
} as const;

const DROP_TEXT: readonly string[] = [
  'malformed header',
  'malformed option',
  'port 0',
  'no connection or listener',
  'listen queue full',
  'outside the receive window',
  'PAWS: old timestamp',
  'timestamp missing',
  'unacceptable acknowledgment',
  'RST not at RCV.NXT (challenged)',
  'SYN on a synchronized connection (challenged)',
  'out-of-order range list full',
  'unexpected in this state',
  'data beyond the receive buffer',
];

/** Text of a `TcpDropReason`. */
export function describeTcpDrop(reason: number): string {
  return DROP_TEXT[reason] ?? `drop ${reason}`;
}

/**
 * Counters of one engine, after MIB_TCPSTATS (dwActiveOpens, dwPassiveOpens, dwAttemptFails,
 * dwEstabResets, dwCurrEstab, dwInSegs, dwOutSegs, dwRetransSegs, dwInErrs, dwOutRsts), plus the
 * engine's own drop reasons and events.
 */
export class TcpStatistics {
  /** Transitions CLOSED -> SYN-SENT. */
  activeOpens = 0;
  /** Transitions LISTEN -> SYN-RECEIVED. */
  passiveOpens = 0;
  /** Connection attempts that failed. */
  attemptFails = 0;
  /** Resets of ESTABLISHED or CLOSE-WAIT connections. */
  establishedResets = 0;
  /** Connections in ESTABLISHED or CLOSE-WAIT now. */
  currentEstablished = 0;
  /** Segments received. */
  inSegs = 0;
  /** Segments sent (a large send offload segment counts once). */
  outSegs = 0;
  /** Segments retransmitted. */
  retransSegs = 0;
  /** Segments received with errors (malformed). */
  inErrs = 0;
  /** Segments sent with RST. */
  outRsts = 0;
  /** Drops by `TcpDropReason`. */
  readonly drops = new Uint32Array(TcpDropReason.Count);
  /** Challenge ACKs sent (RFC 5961). */
  challengeAcks = 0;
  /** Retransmission timeouts. */
  timeouts = 0;
  /** Fast retransmits (entries into loss recovery). */
  fastRetransmits = 0;
  /** Zero-window probes sent. */
  windowProbes = 0;
  /** Keep-alive probes sent. */
  keepAliveProbes = 0;
  /** Segment allocations the host refused. */
  allocationFailures = 0;
  /** ICMP errors accepted. */
  icmpErrors = 0;
  /** Path MTU decreases applied. */
  pmtuUpdates = 0;

  /** Counts one drop for `reason` (a `TcpDropReason`). */
  drop(reason: number): void {
    this.drops[reason] = this.drops[reason]! + 1;
  }
}
