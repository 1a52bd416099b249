/**
 * The transmission control block (RFC 9293 section 3.3.1) of one connection, and the listener
 * object of a passive open. Fields use the RFC's variable names in camelCase (SND.UNA is
 * `sndUna`, RCV.NXT is `rcvNxt`). Every field is set in the constructor and keeps one type for the
 * life of the object; the engine's modules read and write them directly. Users call the methods.
 */
import type { TcpEngine } from './engine.js';
import { TcpFlow, TcpTimer } from './host.js';
import type { TcpTimerTarget } from './host.js';
import { EMPTY_BYTE_RING, ringCapacity } from './ring.js';
import type { ByteRing } from './ring.js';
import { TcpReassembly } from './reassembly.js';
import { TcpSackScoreboard } from './scoreboard.js';
import { TcpCongestionControl } from './congestion.js';
import { TcpRttEstimator } from './rtt.js';
import { TcpState, TcpError } from './state.js';

/** What a connection tells its user (a socket) about. All calls come from the engine's event flush. */
export interface TcpConnectionUser {
  /** The connection reached ESTABLISHED. */
  onConnected(conn: TcpConnection): void;
  /** In-order data (or the peer's FIN) is ready to be read with `conn.receive`. */
  onReadable(conn: TcpConnection): void;
  /** Send buffer space was freed (bytes acknowledged). */
  onWritable(conn: TcpConnection): void;
  /** Our FIN was acknowledged: the sending direction is closed. */
  onFinAcked(conn: TcpConnection): void;
  /** The user idle timeout set with `setIdleTimeout` elapsed without traffic. */
  onIdleTimeout(conn: TcpConnection): void;
  /**
   * The connection is finished for its user: closed in order (`error` = `TcpError.None`), or
   * reset, refused or timed out. No callback follows.
   */
  onClosed(conn: TcpConnection, error: number): void;
}

/** What a listener tells its user (a server). */
export interface TcpListenerUser {
  /** A passive open reached ESTABLISHED; set `conn.user` before returning to receive its events. */
  onConnection(listener: TcpListener, conn: TcpConnection): void;
}

/** Negotiated-option bits in `TcpConnection.negotiated`. */
export const TCP_NEG_WINDOW_SCALE = 1;
/** Timestamps in use on the connection (RFC 7323). */
export const TCP_NEG_TIMESTAMPS = 2;
/** SACK in use on the connection (RFC 2018). */
export const TCP_NEG_SACK = 4;

/** Event bits collected while processing and delivered at the end of an engine call. */
export const TCP_EV_CONNECTED = 1;
/** In-order data or FIN available. */
export const TCP_EV_READABLE = 2;
/** Send space freed. */
export const TCP_EV_WRITABLE = 4;
/** Our FIN acknowledged. */
export const TCP_EV_FIN_ACKED = 8;
/** User idle timeout. */
export const TCP_EV_IDLE = 16;
/** Connection finished for its user. */
export const TCP_EV_CLOSED = 32;
/** Passive open established: hand to the listener. */
export const TCP_EV_ACCEPT = 64;

/** Timer slots of a connection, all served by one host timer (`TcpConnection.timer`). */
export const TcpTimerKind = {
  /** Retransmission (RFC 6298), including SYN retransmission. */
  Retransmit: 0,
  /** Delayed ACK (RFC 9293 3.8.6.3). */
  DelayedAck: 1,
  /** Zero-window probe (RFC 9293 3.8.6.1). */
  Persist: 2,
  /** Keep-alive (RFC 9293 3.8.4 / RFC 1122 4.2.3.6). */
  KeepAlive: 3,
  /** TIME-WAIT 2 * MSL. */
  TimeWait: 4,
  /** User idle timeout (`setIdleTimeout`). */
  Idle: 5,
  /** Number of slots. */
  Count: 6,
} as const;

/** A passive open on a local address and port (RFC 9293 LISTEN state). */
export class TcpListener {
  /** Engine that owns the listener. */
  readonly engine: TcpEngine;
  /** Local port. */
  readonly port: number;
  /** Local address (16 bytes); meaningful when `wildcard` is 0. */
  readonly address: Uint8Array;
  /** 0 = that address only; 1 = any IPv4 address; 2 = any address (dual stack). */
  readonly wildcard: number;
  /** Most connections in SYN-RECEIVED plus established ones not yet handed to the user. */
  backlog: number;
  /** Connections in SYN-RECEIVED. */
  pending: number;
  /** Established passive opens waiting for delivery to the user. */
  readonly acceptQueue: TcpConnection[];
  /** Receiver of new connections; null stops delivery (connections queue up to the backlog). */
  user: TcpListenerUser | null;
  /** Overrides for accepted connections. */
  readonly noDelay: boolean;
  /** Congestion control for accepted connections (`TcpCongestionAlgorithm`). */
  readonly congestionControl: number;
  /** Send buffer size of accepted connections. */
  readonly sendBufferSize: number;
  /** Receive buffer size of accepted connections. */
  readonly receiveBufferSize: number;
  /** Next listener on the same port. */
  next: TcpListener | null;
  /** False once closed. */
  open: boolean;

  constructor(
    engine: TcpEngine,
    port: number,
    address: Uint8Array,
    wildcard: number,
    backlog: number,
    noDelay: boolean,
    congestionControl: number,
    sendBufferSize: number,
    receiveBufferSize: number,
  ) {
    this.engine = engine;
    this.port = port;
    this.address = address;
    this.wildcard = wildcard;
    this.backlog = backlog;
    this.pending = 0;
    this.acceptQueue = [];
    this.user = null;
    this.noDelay = noDelay;
    this.congestionControl = congestionControl;
    this.sendBufferSize = sendBufferSize;
    this.receiveBufferSize = receiveBufferSize;
    this.next = null;
    this.open = true;
  }

  /** Stops listening; connections not yet handed to the user are reset. */
  close(): void {
    this.engine.closeListener(this);
  }
}

/** One TCP connection: the TCB. */
export class TcpConnection implements TcpTimerTarget {
  /** Engine that owns the connection. */
  readonly engine: TcpEngine;
  /** Addresses and ports; passed to the host for every segment. */
  readonly flow: TcpFlow;
  /** The one host timer serving every `TcpTimerKind` slot. */
  readonly timer: TcpTimer;
  /** Due times (ms) per `TcpTimerKind`; Infinity when off. */
  readonly deadlines: Float64Array;
  /** `TcpState`. */
  state: number;
  /** Receiver of events; null when detached. */
  user: TcpConnectionUser | null;
  /** Listener of a passive open until it is handed over. */
  listener: TcpListener | null;
  /** Whether the connection came from a passive open. */
  passive: boolean;
  /** Connection table chain. */
  hashNext: TcpConnection | null;
  /** Connection table hash. */
  hashKey: number;

  // ---- send sequence space (RFC 9293 3.3.1) ----
  /** Initial send sequence number. */
  iss: number;
  /** Oldest unacknowledged sequence number. */
  sndUna: number;
  /** Next sequence number to send. */
  sndNxt: number;
  /** Highest sequence number sent + 1 (SND.NXT before a go-back after a timeout). */
  sndMax: number;
  /** Send window (bytes, scaled). */
  sndWnd: number;
  /** Largest send window the peer offered. */
  maxSndWnd: number;
  /** Segment sequence number used for the last window update. */
  sndWl1: number;
  /** Segment acknowledgment number used for the last window update. */
  sndWl2: number;
  /** Sequence number of the first byte in the send ring. */
  sndBase: number;
  /** Shift applied to the peer's window field (its window scale). */
  sndWscale: number;

  // ---- receive sequence space ----
  /** Initial receive sequence number. */
  irs: number;
  /** Next sequence number expected. */
  rcvNxt: number;
  /** Right edge of the receive window advertised so far (RCV.NXT + RCV.WND at best). */
  rcvAdv: number;
  /** Shift applied to our window field (our window scale). */
  rcvWscale: number;
  /** Receive urgent pointer (urgent data is kept inline, RFC 6093). */
  rcvUp: number;
  /** RCV.NXT carried by the last ACK sent (Last.ACK.sent of RFC 7323). */
  lastAckSent: number;

  // ---- negotiated options ----
  /** `TCP_NEG_*` bits. */
  negotiated: number;
  /** MSS the peer announced (or the default when it did not). */
  peerMss: number;
  /** Largest payload of a segment without options that we send (min of peer MSS and path). */
  sndMss: number;
  /** MSS we announced. */
  rcvMss: number;
  /** Large send offload size from the host (0 = none). */
  offloadSize: number;
  /** TS.Recent (RFC 7323). */
  tsRecent: number;
  /** When TS.Recent was set (ms). */
  tsRecentAge: number;
  /** Whether TS.Recent holds a value. */
  tsRecentValid: boolean;
  /** Offset added to the timestamp clock for this connection. */
  tsOffset: number;

  // ---- buffers ----
  /** Capacity the send ring gets (a power of two). */
  readonly sendBufferSize: number;
  /** Capacity the receive ring gets (a power of two); windows are computed from it. */
  readonly receiveBufferSize: number;
  /**
   * Data written by the user and not yet acknowledged. Rings are allocated when the connection
   * needs them (active open, or ESTABLISHED for a passive one) and released when it no longer does.
   */
  sndRing: ByteRing;
  /** Received data not yet read by the user; out-of-order data beyond. */
  rcvRing: ByteRing;
  /** Out-of-order ranges. */
  readonly reassembly: TcpReassembly;
  /** Peer's SACK blocks. */
  readonly scoreboard: TcpSackScoreboard;
  /** The user asked to close the sending direction. */
  finQueued: boolean;
  /** Sequence number of our FIN (valid when `finQueued`). */
  finSeq: number;
  /** Our FIN has been sent at least once. */
  finSent: boolean;
  /** Our FIN has been acknowledged. */
  finAcked: boolean;
  /** The peer's FIN has been received in order. */
  rcvFin: boolean;
  /** A FIN arrived out of order at `rcvFinSeq`. */
  rcvFinPending: boolean;
  /** Sequence number of the out-of-order FIN. */
  rcvFinSeq: number;

  // ---- timing, congestion, recovery ----
  /** RTO estimator. */
  readonly rtt: TcpRttEstimator;
  /** Sequence number being timed (without timestamps, RFC 6298 / Karn). */
  rtSeq: number;
  /** When the timed segment was sent. */
  rtTime: number;
  /** A segment is being timed. */
  rtActive: boolean;
  /** Congestion window. */
  readonly cc: TcpCongestionControl;
  /** Duplicate ACKs in a row. */
  dupAcks: number;
  /** In fast recovery. */
  inRecovery: boolean;
  /** The recovery uses the SACK scoreboard (RFC 6675) rather than NewReno (RFC 6582). */
  sackRecovery: boolean;
  /** RecoveryPoint / recover: SND.MAX when recovery (or the last timeout) began. */
  recoverSeq: number;
  /** End (exclusive) of the highest byte retransmitted in this recovery (HighRxt + 1). */
  highRxtEnd: number;
  /** RFC 6675 rescue retransmission done in this recovery. */
  rescueSent: boolean;
  /** Extra bytes of limited transmit allowed (RFC 3042). */
  limitedTransmit: number;
  /** First partial ACK of this NewReno recovery already seen. */
  partialAckSeen: boolean;
  /** Retransmission timeouts in a row. */
  retries: number;
  /** The SYN was retransmitted (RFC 6298 (5.7)). */
  synRetransmitted: boolean;
  /**
   * The persist timer runs: data waits with nothing in flight, for a zero window (probing) or
   * for a window too small to send into under sender SWS avoidance (the override timeout).
   */
  persisting: boolean;
  /** Persist backoff exponent. */
  persistShift: number;
  /**
   * The next output sends one segment whatever Nagle and SWS avoidance say: what the window
   * allows, or one byte beyond a zero window (a probe). Set by the persist timer.
   */
  forceOutput: boolean;

  // ---- acknowledgment policy ----
  /** Send an ACK at the next output. */
  ackNow: boolean;
  /** Data segments received since the last ACK. */
  segsSinceAck: number;

  // ---- keep-alive and idle ----
  /** Keep-alive on. */
  keepAlive: boolean;
  /** Keep-alive idle time (ms). */
  keepAliveIdleMs: number;
  /** Keep-alive probes sent without an answer. */
  keepAliveSent: number;
  /** Last time a segment was received (ms). */
  lastReceived: number;
  /** User idle timeout (ms), 0 = off. */
  idleTimeoutMs: number;

  // ---- user options and outcome ----
  /** Nagle's algorithm off. */
  noDelay: boolean;
  /** The user closed the connection (CLOSE): it finishes on its own, without a user. */
  userClosed: boolean;
  /** `TCP_EV_*` bits waiting for delivery. */
  events: number;
  /** Queued on the engine's event list. */
  eventQueued: boolean;
  /** Why the connection ended (`TcpError`). */
  error: number;
  /** Last ICMP soft error (`TcpError`), reported if the connection then times out. */
  softError: number;

  // ---- counters ----
  /** Payload bytes the user wrote. */
  bytesWritten: number;
  /** Payload bytes received in order. */
  bytesReceived: number;
  /** Segments retransmitted. */
  retransmittedSegments: number;
  /** Payload bytes retransmitted. */
  retransmittedBytes: number;

  constructor(
    engine: TcpEngine,
    sendBufferSize: number,
    receiveBufferSize: number,
    reassemblyRanges: number,
    sackRanges: number,
    congestionControl: number,
    initialRto: number,
    minRto: number,
    maxRto: number,
  ) {
    this.engine = engine;
    this.flow = new TcpFlow();
    this.timer = new TcpTimer(this);
    this.deadlines = new Float64Array(TcpTimerKind.Count).fill(Infinity);
    this.state = TcpState.CLOSED;
    this.user = null;
    this.listener = null;
    this.passive = false;
    this.hashNext = null;
    this.hashKey = 0;
    this.iss = 0;
    this.sndUna = 0;
    this.sndNxt = 0;
    this.sndMax = 0;
    this.sndWnd = 0;
    this.maxSndWnd = 0;
    this.sndWl1 = 0;
    this.sndWl2 = 0;
    this.sndBase = 0;
    this.sndWscale = 0;
    this.irs = 0;
    this.rcvNxt = 0;
    this.rcvAdv = 0;
    this.rcvWscale = 0;
    this.rcvUp = 0;
    this.lastAckSent = 0;
    this.negotiated = 0;
    this.peerMss = 536;
    this.sndMss = 536;
    this.rcvMss = 536;
    this.offloadSize = 0;
    this.tsRecent = 0;
    this.tsRecentAge = 0;
    this.tsRecentValid = false;
    this.tsOffset = 0;
    this.sendBufferSize = ringCapacity(sendBufferSize);
    this.receiveBufferSize = ringCapacity(receiveBufferSize);
    this.sndRing = EMPTY_BYTE_RING;
    this.rcvRing = EMPTY_BYTE_RING;
    this.reassembly = new TcpReassembly(reassemblyRanges);
    this.scoreboard = new TcpSackScoreboard(sackRanges);
    this.finQueued = false;
    this.finSeq = 0;
    this.finSent = false;
    this.finAcked = false;
    this.rcvFin = false;
    this.rcvFinPending = false;
    this.rcvFinSeq = 0;
    this.rtt = new TcpRttEstimator(initialRto, minRto, maxRto);
    this.rtSeq = 0;
    this.rtTime = 0;
    this.rtActive = false;
    this.cc = new TcpCongestionControl(congestionControl, 536, 536 * 4);
    this.dupAcks = 0;
    this.inRecovery = false;
    this.sackRecovery = false;
    this.recoverSeq = 0;
    this.highRxtEnd = 0;
    this.rescueSent = false;
    this.limitedTransmit = 0;
    this.partialAckSeen = false;
    this.retries = 0;
    this.synRetransmitted = false;
    this.persisting = false;
    this.persistShift = 0;
    this.forceOutput = false;
    this.ackNow = false;
    this.segsSinceAck = 0;
    this.keepAlive = false;
    this.keepAliveIdleMs = 0;
    this.keepAliveSent = 0;
    this.lastReceived = 0;
    this.idleTimeoutMs = 0;
    this.noDelay = false;
    this.userClosed = false;
    this.events = 0;
    this.eventQueued = false;
    this.error = TcpError.None;
    this.softError = TcpError.None;
    this.bytesWritten = 0;
    this.bytesReceived = 0;
    this.retransmittedSegments = 0;
    this.retransmittedBytes = 0;
  }

  /** TcpTimerTarget: the host timer fired. */
  onTimer(): void {
    this.engine.connectionTimer(this);
  }

  /**
   * SEND (RFC 9293 3.10.2): copies up to `length` bytes into the send buffer and transmits what
   * the windows allow. Returns the number of bytes taken (0 when the buffer is full). Throws a
   * `TcpUsageError` after `shutdown()` or once the connection is closed.
   */
  send(bytes: Uint8Array, offset: number, length: number): number {
    return this.engine.send(this, bytes, offset, length);
  }

  /** RECEIVE (RFC 9293 3.10.3): copies up to `length` in-order bytes out; returns the count. */
  receive(bytes: Uint8Array, offset: number, length: number): number {
    return this.engine.receive(this, bytes, offset, length);
  }

  /** In-order bytes waiting to be read. */
  readableLength(): number {
    return this.rcvRing.length;
  }

  /** Free space in the send buffer. */
  writableLength(): number {
    return this.finQueued || this.state === TcpState.CLOSED ? 0 : this.sndRing.free();
  }

  /** Bytes written and not yet acknowledged. */
  unacknowledgedLength(): number {
    return this.sndRing.length;
  }

  /** True when the peer's FIN has been received and every byte before it read. */
  endOfStream(): boolean {
    return this.rcvFin && this.rcvRing.length === 0;
  }

  /** CLOSE of the sending direction (RFC 9293 3.10.4): a FIN follows the buffered data. */
  shutdown(): void {
    this.engine.shutdown(this);
  }

  /**
   * CLOSE of both directions (RFC 9293 3.10.4, as closing a platform socket): the user is
   * detached; buffered data is still sent and followed by a FIN, and the connection finishes its
   * closing handshake alone (FIN-WAIT-2 bounded by `finWait2TimeoutMs`). Unread received data, or
   * data arriving afterwards, turns it into an abort with RST (RFC 1122 4.2.2.13).
   */
  close(): void {
    this.engine.close(this);
  }

  /** ABORT (RFC 9293 3.10.5): sends RST when synchronized and deletes the TCB. */
  abort(): void {
    this.engine.abort(this);
  }

  /** Turns Nagle's algorithm off (`true`) or on. */
  setNoDelay(noDelay: boolean): void {
    this.noDelay = noDelay;
    if (noDelay) this.engine.flushOutput(this);
  }

  /** Turns keep-alive on or off; `idleMs` > 0 sets the idle time before the first probe. */
  setKeepAlive(enable: boolean, idleMs: number): void {
    this.engine.setKeepAlive(this, enable, idleMs);
  }

  /** Arms (ms > 0) or disarms (0) the user idle timeout reported through `onIdleTimeout`. */
  setIdleTimeout(ms: number): void {
    this.engine.setIdleTimeout(this, ms);
  }
}
