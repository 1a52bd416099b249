/**
 * The TCP engine: RFC 9293's event processing (OPEN, SEND, RECEIVE, CLOSE, ABORT, SEGMENT
 * ARRIVES, timeouts) over a connection table, with the extensions the stack implements:
 *
 *   RFC 7323  window scale, timestamps, PAWS, RTTM       RFC 2018 / 6675  SACK and SACK recovery
 *   RFC 6298  RTO, backoff, Karn                          RFC 5681 / 6582  fast retransmit, NewReno
 *   RFC 9438  CUBIC                                        RFC 3042        limited transmit
 *   RFC 5961  challenge ACKs, RST/SYN/ACK checks           RFC 6528        ISNs; RFC 6056 ports
 *   RFC 1122  delayed ACK, Nagle, keep-alive, persist      RFC 1191/8201   PMTU updates from ICMP
 *
 * The engine is independent of NDIS and IP: it talks to the layer below through `TcpHost`
 * (host.ts), and it is deterministic: time comes from `host.now()`, timers are the host's, and
 * randomness only seeds its secrets. Per-segment work allocates nothing: the receive view, option
 * records, header representation, segment space and reply flow are engine-owned scratch objects;
 * buffers are per-connection rings made at connection setup.
 *
 * User-visible effects (connected, readable, writable, closed ...) are collected as event bits
 * while a segment or timer is processed and delivered when processing is complete, so a user
 * callback that writes, reads, shuts down or aborts never re-enters the engine mid-segment.
 */
import {
  TcpView,
  TcpOptionWalker,
  TcpOptions,
  TcpHeaderRepr,
  parseTcpOptions,
  emitTcpHeader,
  emitTcpBareHeader,
  emitTcpTimestampHeader,
  tcpOptionsLength,
  TCP_ACK,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_MAX_WINDOW_SCALE,
  TCP_OPT_HAS_MSS,
  TCP_OPT_HAS_SACK,
  TCP_OPT_HAS_SACK_PERMITTED,
  TCP_OPT_HAS_TIMESTAMP,
  TCP_OPT_HAS_WINDOW_SCALE,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from '../../../../wire/tcp.js';
import { isIpv4Mapped } from '../../../../wire/address.js';
import type { IpAddress } from '../../../../wire/address.js';
import { TcpFlow, TcpSegmentSpace, TcpIcmpError } from './host.js';
import type { TcpHost } from './host.js';
import { TcpConfig, TcpStatistics, TcpDropReason, TcpUsageError, algorithmOf } from './config.js';
import type { TcpEngineOptions, TcpConnectionOptions } from './config.js';
import {
  TcpConnection,
  TcpListener,
  TcpTimerKind,
  TCP_NEG_SACK,
  TCP_NEG_TIMESTAMPS,
  TCP_NEG_WINDOW_SCALE,
  TCP_EV_ACCEPT,
  TCP_EV_CLOSED,
  TCP_EV_CONNECTED,
  TCP_EV_FIN_ACKED,
  TCP_EV_IDLE,
  TCP_EV_READABLE,
  TCP_EV_WRITABLE,
} from './connection.js';
import type { TcpConnectionUser, TcpListenerUser } from './connection.js';
import { TcpState, TcpError, tcpStateName } from './state.js';
import { TcpSecrets } from './isn.js';
import { ByteRing, EMPTY_BYTE_RING } from './ring.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from './seq.js';

/** Default MSS when the peer sends no MSS option: IPv4 (RFC 9293 3.7.1). */
const DEFAULT_MSS_V4 = 536;
/** Default MSS when the peer sends no MSS option: IPv6 (RFC 8200 section 8.3: 1280 - 60). */
const DEFAULT_MSS_V6 = 1220;
/** Bytes the timestamps option takes with its NOP padding. */
const TS_OPTION_SPACE = 12;
/** TS.Recent older than this is invalid for PAWS (RFC 7323 section 5.5: 24 days). */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
/** Duplicate ACK threshold (RFC 5681 / RFC 6675 DupThresh). */
const DUP_THRESH = 3;
/** Upper bound of the persist interval, ms. */
const PERSIST_MAX_MS = 60_000;
/** Lower bound of the persist interval, ms (BSD uses 5 s; here the configured minimum RTO). */
const EMPTY_RING = EMPTY_BYTE_RING;

/** Port reuse kinds for `listen`. */
const WILDCARD_NONE = 0;
const WILDCARD_V4 = 1;
const WILDCARD_ANY = 2;

/** A TCP engine: connection table, listeners, and the protocol machine. */
export class TcpEngine {
  /** The layer below. */
  readonly host: TcpHost;
  /** Resolved settings. */
  readonly config: TcpConfig;
  /** Counters. */
  readonly stats: TcpStatistics;
  private readonly secrets: TcpSecrets;

  private buckets: (TcpConnection | null)[];
  private bucketMask: number;
  private lastLookup: TcpConnection | null;
  /** Connections in the table (every state but CLOSED). */
  connectionCount: number;
  private readonly listeners: Map<number, TcpListener>;

  // ---- per-segment scratch ----
  private readonly view: TcpView;
  private readonly walker: TcpOptionWalker;
  private readonly rxOpts: TcpOptions;
  private readonly tx: TcpHeaderRepr;
  private readonly space: TcpSegmentSpace;
  private readonly replyFlow: TcpFlow;
  private now: number;
  private segBytes: Uint8Array;
  private segSeq: number;
  private segAck: number;
  private segFlags: number;
  private segWnd: number;
  private segUrp: number;
  private segDataOff: number;
  private segDataLen: number;

  // ---- events ----
  private readonly eventList: (TcpConnection | null)[];
  private eventCount: number;
  private flushing: boolean;

  // ---- RFC 5961 challenge ACK limit ----
  private challengeWindowStart: number;
  private challengeCount: number;

  private nextEphemeral: number;

  constructor(host: TcpHost, options: TcpEngineOptions = {}) {
    this.host = host;
    this.config = new TcpConfig(options);
    this.stats = new TcpStatistics();
    const secret = new Uint8Array(28);
    host.fillRandom(secret);
    this.secrets = new TcpSecrets(secret);
    this.buckets = new Array<TcpConnection | null>(256).fill(null);
    this.bucketMask = 255;
    this.lastLookup = null;
    this.connectionCount = 0;
    this.listeners = new Map();
    this.view = new TcpView();
    this.walker = new TcpOptionWalker();
    this.rxOpts = new TcpOptions();
    this.tx = new TcpHeaderRepr();
    this.space = new TcpSegmentSpace();
    this.replyFlow = new TcpFlow();
    this.now = 0;
    this.segBytes = EMPTY_RING.buffer;
    this.segSeq = 0;
    this.segAck = 0;
    this.segFlags = 0;
    this.segWnd = 0;
    this.segUrp = 0;
    this.segDataOff = 0;
    this.segDataLen = 0;
    this.eventList = [];
    this.eventCount = 0;
    this.flushing = false;
    this.challengeWindowStart = -Infinity;
    this.challengeCount = 0;
    this.nextEphemeral = 0;
  }

  // =====================================================================================
  // User calls: OPEN (active and passive), SEND, RECEIVE, CLOSE, ABORT
  // =====================================================================================

  /**
   * Passive OPEN (RFC 9293 3.10.1): listens on `port` of `address` (null or the unspecified
   * address `::` for every address, dual stack; `0.0.0.0` for every IPv4 address). Port 0 picks an
   * ephemeral port. Throws `TcpUsageError` (`ERR_TCP_ADDRESS_IN_USE`) when the port is taken.
   */
  listen(
    port: number,
    address: IpAddress | null,
    backlog: number,
    user: TcpListenerUser | null,
    options: TcpConnectionOptions = {},
  ): TcpListener {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TcpUsageError('ERR_TCP_PORT', `port must be an integer 0..65535. Received ${String(port)}.`);
    }
    const addr = new Uint8Array(16);
    let wildcard = WILDCARD_ANY;
    if (address !== null) {
      addr.set(address);
      if (isUnspecified(addr)) wildcard = isIpv4Mapped(addr) ? WILDCARD_V4 : WILDCARD_ANY;
      else wildcard = WILDCARD_NONE;
    }
    if (port === 0) port = this.pickListenPort();
    for (let l = this.listeners.get(port) ?? null; l !== null; l = l.next) {
      if (l.wildcard === WILDCARD_ANY || wildcard === WILDCARD_ANY || (l.wildcard === wildcard && (wildcard !== WILDCARD_NONE || sameAddress(l.address, addr)))) {
        throw new TcpUsageError('ERR_TCP_ADDRESS_IN_USE', `port ${port} is already listened on; close that listener or choose another port.`);
      }
    }
    const cfg = this.config;
    const l = new TcpListener(
      this,
      port,
      addr,
      wildcard,
      backlog > 0 ? backlog : cfg.defaultBacklog,
      options.noDelay ?? cfg.noDelay,
      algorithmOf(options.congestionControl, cfg.congestionControl),
      options.sendBufferSize ?? cfg.sendBufferSize,
      options.receiveBufferSize ?? cfg.receiveBufferSize,
    );
    l.user = user;
    l.next = this.listeners.get(port) ?? null;
    this.listeners.set(port, l);
    return l;
  }

  /** Stops a listener; established connections not yet handed to its user are reset. */
  closeListener(l: TcpListener): void {
    if (!l.open) return;
    l.open = false;
    const head = this.listeners.get(l.port) ?? null;
    if (head === l) {
      if (l.next === null) this.listeners.delete(l.port);
      else this.listeners.set(l.port, l.next);
    } else {
      for (let p = head; p !== null; p = p.next) {
        if (p.next === l) {
          p.next = l.next;
          break;
        }
      }
    }
    this.now = this.host.now();
    while (l.acceptQueue.length > 0) {
      const c = l.acceptQueue.pop()!;
      c.listener = null;
      this.abortConnection(c);
    }
    this.flushEvents();
  }

  /**
   * Active OPEN (RFC 9293 3.10.1): creates a connection to `remote`:`remotePort` and sends SYN.
   * `local` null lets the host choose the source address; `localPort` 0 picks an ephemeral port
   * (RFC 6056 algorithm 3). Throws `TcpUsageError` for bad arguments, an unreachable remote or a
   * 4-tuple in use.
   */
  connect(
    remote: IpAddress,
    remotePort: number,
    local: IpAddress | null,
    localPort: number,
    user: TcpConnectionUser | null,
    options: TcpConnectionOptions = {},
  ): TcpConnection {
    if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) {
      throw new TcpUsageError('ERR_TCP_PORT', `remote port must be an integer 1..65535. Received ${String(remotePort)}.`);
    }
    if (!Number.isInteger(localPort) || localPort < 0 || localPort > 65535) {
      throw new TcpUsageError('ERR_TCP_PORT', `local port must be an integer 0..65535. Received ${String(localPort)}.`);
    }
    this.now = this.host.now();
    const cfg = this.config;
    const c = this.newConnection(
      options.sendBufferSize ?? cfg.sendBufferSize,
      options.receiveBufferSize ?? cfg.receiveBufferSize,
      algorithmOf(options.congestionControl, cfg.congestionControl),
    );
    const src = c.flow.localAddress;
    if (local !== null && !isUnspecified(local)) src.set(local);
    else if (!this.host.selectSourceAddress(remote, src)) {
      throw new TcpUsageError('ERR_TCP_UNREACHABLE', 'no route to the remote address (the host found no source address).');
    }
    c.flow.remoteAddress.set(remote);
    c.flow.remotePort = remotePort;
    if (localPort === 0) localPort = this.pickEphemeralPort(src, remote, remotePort);
    else {
      const old = this.lookup(src, localPort, remote, remotePort);
      if (old !== null) {
        if (old.state === TcpState.TIME_WAIT) this.closeConnection(old, TcpError.None);
        else throw new TcpUsageError('ERR_TCP_ADDRESS_IN_USE', `a connection from port ${localPort} to that address and port exists.`);
      }
    }
    c.flow.localPort = localPort;
    this.allocateBuffers(c); // the user may write before the connection is established
    c.user = user;
    c.noDelay = options.noDelay ?? cfg.noDelay;
    if (options.keepAlive === true) {
      c.keepAlive = true;
      c.keepAliveIdleMs = options.keepAliveIdleMs ?? cfg.keepAliveIdleMs;
    }
    this.initSendSide(c);
    c.state = TcpState.SYN_SENT;
    this.insert(c);
    this.stats.activeOpens++;
    this.output(c);
    this.armTimer(c);
    this.flushEvents();
    return c;
  }

  /** SEND: see `TcpConnection.send`. */
  send(c: TcpConnection, bytes: Uint8Array, offset: number, length: number): number {
    if (c.finQueued) throw new TcpUsageError('ERR_TCP_SHUTDOWN', 'send after shutdown(): the sending direction is closed.');
    const s = c.state;
    if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT || s === TcpState.LAST_ACK || s === TcpState.CLOSING) {
      throw new TcpUsageError('ERR_TCP_CLOSED', `send on a connection in state ${tcpStateName(s)}: its sending side is closed.`);
    }
    if (length <= 0) return 0;
    const n = c.sndRing.append(bytes, offset, length);
    if (n === 0) return 0;
    c.bytesWritten += n;
    this.now = this.host.now();
    if (c.idleTimeoutMs > 0) c.deadlines[TcpTimerKind.Idle] = this.now + c.idleTimeoutMs;
    if (s !== TcpState.SYN_SENT && s !== TcpState.SYN_RECEIVED) this.output(c);
    this.armTimer(c);
    this.flushEvents();
    return n;
  }

  /** RECEIVE: see `TcpConnection.receive`. */
  receive(c: TcpConnection, bytes: Uint8Array, offset: number, length: number): number {
    const n = c.rcvRing.read(bytes, offset, length);
    if (n > 0 && c.state !== TcpState.CLOSED) {
      this.now = this.host.now();
      if (c.idleTimeoutMs > 0) c.deadlines[TcpTimerKind.Idle] = this.now + c.idleTimeoutMs;
      // A window update goes out if reading opened the window enough (RFC 9293 3.8.6.2.2).
      if (this.windowUpdateDue(c)) {
        c.ackNow = true;
        this.output(c);
        this.armTimer(c);
        this.flushEvents();
      }
    }
    return n;
  }

  /** CLOSE of the sending direction: see `TcpConnection.shutdown`. */
  shutdown(c: TcpConnection): void {
    if (c.finQueued) return;
    const s = c.state;
    if (s === TcpState.CLOSED || s === TcpState.LISTEN) return;
    this.now = this.host.now();
    c.finQueued = true;
    c.finSeq = seqAdd(c.sndBase, c.sndRing.length);
    if (s === TcpState.ESTABLISHED) c.state = TcpState.FIN_WAIT_1;
    else if (s === TcpState.CLOSE_WAIT) c.state = TcpState.LAST_ACK;
    // SYN-SENT / SYN-RECEIVED: the FIN waits for ESTABLISHED (see enterEstablished).
    if (c.state === TcpState.FIN_WAIT_1 || c.state === TcpState.LAST_ACK) {
      this.stats.currentEstablished--; // leaves ESTABLISHED or CLOSE-WAIT
      this.output(c);
    }
    this.armTimer(c);
    this.flushEvents();
  }

  /** CLOSE: see `TcpConnection.close`. The user gets no further callbacks. */
  close(c: TcpConnection): void {
    if (c.state === TcpState.CLOSED) return;
    this.now = this.host.now();
    c.user = null;
    c.userClosed = true;
    if (c.rcvRing.length > 0 || c.state === TcpState.SYN_SENT) {
      this.abortConnection(c);
    } else {
      if (!c.finQueued) this.shutdown(c);
      if (c.state === TcpState.FIN_WAIT_2) c.deadlines[TcpTimerKind.TimeWait] = this.now + this.config.finWait2TimeoutMs;
      this.armTimer(c);
    }
    this.flushEvents();
  }

  /** ABORT: see `TcpConnection.abort`. The user gets no further callbacks. */
  abort(c: TcpConnection): void {
    if (c.state === TcpState.CLOSED) return;
    this.now = this.host.now();
    c.user = null;
    this.abortConnection(c);
    this.flushEvents();
  }

  /** Sends what Nagle or the windows held back, if anything may go now. */
  flushOutput(c: TcpConnection): void {
    if (c.state === TcpState.CLOSED) return;
    this.now = this.host.now();
    this.output(c);
    this.armTimer(c);
    this.flushEvents();
  }

  /** Keep-alive switch: see `TcpConnection.setKeepAlive`. */
  setKeepAlive(c: TcpConnection, enable: boolean, idleMs: number): void {
    this.now = this.host.now();
    c.keepAlive = enable;
    if (idleMs > 0) c.keepAliveIdleMs = idleMs;
    else if (c.keepAliveIdleMs === 0) c.keepAliveIdleMs = this.config.keepAliveIdleMs;
    c.keepAliveSent = 0;
    this.updateKeepAlive(c);
    this.armTimer(c);
  }

  /** User idle timeout: see `TcpConnection.setIdleTimeout`. */
  setIdleTimeout(c: TcpConnection, ms: number): void {
    this.now = this.host.now();
    c.idleTimeoutMs = ms > 0 ? ms : 0;
    c.deadlines[TcpTimerKind.Idle] = ms > 0 && c.state !== TcpState.CLOSED ? this.now + ms : Infinity;
    this.armTimer(c);
  }

  /** Finds the connection for a 4-tuple (for hosts and tests); null when none. */
  findConnection(local: IpAddress, localPort: number, remote: IpAddress, remotePort: number): TcpConnection | null {
    return this.lookup(local, localPort, remote, remotePort);
  }

  // =====================================================================================
  // Host calls: segment input, ICMP errors, timers
  // =====================================================================================

  /**
   * SEGMENT ARRIVES (RFC 9293 3.10.7): processes one received segment, `length` bytes of TCP
   * header and payload at `offset`, already checksum-verified by the host, sent from `remote` to
   * `local`. The bytes are only read during the call. Bad input is counted in `stats`, never
   * thrown.
   */
  input(local: IpAddress, remote: IpAddress, bytes: Uint8Array, offset: number, length: number): void {
    this.now = this.host.now();
    const st = this.stats;
    st.inSegs++;
    const v = this.view;
    const r = v.wrap(bytes, offset, length);
    if (r !== 0) {
      st.inErrs++;
      st.drop(TcpDropReason.Malformed);
      return;
    }
    if (!this.alignedTimestampOnly(v) && parseTcpOptions(v, this.rxOpts, this.walker) !== 0) {
      st.inErrs++;
      st.drop(TcpDropReason.BadOption);
      return;
    }
    const sport = v.srcPort();
    const dport = v.dstPort();
    if (sport === 0 || dport === 0) {
      st.inErrs++;
      st.drop(TcpDropReason.BadPort);
      return;
    }
    this.segBytes = bytes;
    this.segSeq = v.seqNumber();
    this.segAck = v.ackNumber();
    this.segFlags = v.flags();
    this.segWnd = v.windowSize();
    this.segUrp = v.urgentPointer();
    this.segDataOff = v.payloadOffset();
    this.segDataLen = v.payloadLength();

    let c = this.lookup(local, dport, remote, sport);
    if (c !== null && c.state === TcpState.TIME_WAIT && (this.segFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
      // RFC 9293 3.6.1 / RFC 6191: a new SYN may reuse a TIME-WAIT 4-tuple when it is clearly newer.
      if (this.timeWaitAcceptsSyn(c)) {
        this.closeConnection(c, TcpError.None);
        c = null;
      }
    }
    if (c === null) {
      const l = this.findListener(local, dport);
      if (l !== null) this.listenInput(l, local, remote, sport);
      else {
        st.drop(TcpDropReason.NoSocket);
        this.replyToClosed(local, dport, remote, sport);
      }
    } else if (c.state === TcpState.SYN_SENT) {
      this.synSentInput(c);
      this.afterInput(c);
    } else {
      this.segmentArrives(c);
      this.afterInput(c);
    }
    this.segBytes = EMPTY_RING.buffer;
    this.flushEvents();
  }

  /**
   * Fast path for the most common option layout, NOP NOP TIMESTAMP (RFC 7323 appendix A): reads
   * it straight into `rxOpts` and returns true; any other layout goes through the option walker.
   */
  private alignedTimestampOnly(v: TcpView): boolean {
    if (v.optionsLength() !== 12) return false;
    const b = v.bytes;
    const i = v.offset + TCP_HEADER_LEN;
    if (b[i] !== 1 || b[i + 1] !== 1 || b[i + 2] !== 8 || b[i + 3] !== 10) return false;
    const o = this.rxOpts;
    o.clear();
    o.present = TCP_OPT_HAS_TIMESTAMP;
    o.tsVal = ((b[i + 4]! << 24) | (b[i + 5]! << 16) | (b[i + 6]! << 8) | b[i + 7]!) >>> 0;
    o.tsEcr = ((b[i + 8]! << 24) | (b[i + 9]! << 16) | (b[i + 10]! << 8) | b[i + 11]!) >>> 0;
    return true;
  }

  /**
   * An ICMP or ICMPv6 error about a segment we sent (RFC 1122 4.2.3.9, RFC 5461, RFC 5927):
   * `bytes[offset, offset + length)` is the quoted TCP header (at least its first 8 bytes), sent
   * from `local` to `remote`. `mtu` is the next-hop MTU for `PacketTooBig` (0 if unknown). The
   * sequence number in the quote must lie in SND.UNA..SND.MAX.
   */
  icmpError(local: IpAddress, remote: IpAddress, kind: number, mtu: number, bytes: Uint8Array, offset: number, length: number): void {
    if (length < 8 || offset < 0 || offset + 8 > bytes.length) return;
    this.now = this.host.now();
    const sport = (bytes[offset]! << 8) | bytes[offset + 1]!;
    const dport = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const seq = ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0;
    const c = this.lookup(local, sport, remote, dport);
    if (c === null || c.state === TcpState.TIME_WAIT) return;
    if (seqLt(seq, c.sndUna) || seqGe(seq, c.sndMax)) return; // RFC 5927 section 4.1
    this.stats.icmpErrors++;
    if (kind === TcpIcmpError.PacketTooBig) {
      let mss = this.host.maxSegmentSize(c.flow);
      if (mtu > 0) {
        const fromMtu = mtu - (isIpv4Mapped(c.flow.remoteAddress) ? 40 : 60);
        if (fromMtu < mss) mss = fromMtu;
      }
      if (mss < 88) mss = 88; // RFC 8201 / RFC 1191 floor (IPv4 68-byte minimum MTU; kept sane)
      if (mss < c.sndMss) {
        this.stats.pmtuUpdates++;
        c.sndMss = mss;
        c.cc.setMss(this.segmentPayload(c));
        this.updateOffload(c);
        // Resend what is outstanding in the smaller size (not a congestion signal).
        c.sndNxt = c.sndUna;
        c.rtActive = false;
        this.output(c);
        this.armTimer(c);
      }
    } else if (kind === TcpIcmpError.PortUnreachable || kind === TcpIcmpError.Prohibited) {
      if (c.state === TcpState.SYN_SENT || (c.state === TcpState.SYN_RECEIVED && !c.passive)) {
        this.stats.attemptFails++;
        this.closeConnection(c, TcpError.ECONNREFUSED);
      } else c.softError = TcpError.ECONNREFUSED;
    } else {
      c.softError = TcpError.EHOSTUNREACH;
    }
    this.flushEvents();
  }

  /** The host timer of `c` fired (called through `TcpTimer.fire`). */
  connectionTimer(c: TcpConnection): void {
    if (c.state === TcpState.CLOSED) return;
    this.now = this.host.now();
    const d = c.deadlines;
    const now = this.now;
    if (d[TcpTimerKind.TimeWait]! <= now) {
      d[TcpTimerKind.TimeWait] = Infinity;
      this.closeConnection(c, TcpError.None);
      this.flushEvents();
      return;
    }
    if (d[TcpTimerKind.Retransmit]! <= now) {
      d[TcpTimerKind.Retransmit] = Infinity;
      this.retransmitTimeout(c);
    }
    if (c.state !== TcpState.CLOSED && d[TcpTimerKind.Persist]! <= now) {
      d[TcpTimerKind.Persist] = Infinity;
      this.persistTimeout(c);
    }
    if (c.state !== TcpState.CLOSED && d[TcpTimerKind.DelayedAck]! <= now) {
      d[TcpTimerKind.DelayedAck] = Infinity;
      c.ackNow = true;
      this.output(c);
    }
    if (c.state !== TcpState.CLOSED && d[TcpTimerKind.KeepAlive]! <= now) {
      d[TcpTimerKind.KeepAlive] = Infinity;
      this.keepAliveTimeout(c);
    }
    if (c.state !== TcpState.CLOSED && d[TcpTimerKind.Idle]! <= now) {
      d[TcpTimerKind.Idle] = Infinity;
      this.queueEvent(c, TCP_EV_IDLE);
    }
    if (c.state !== TcpState.CLOSED) this.armTimer(c);
    this.flushEvents();
  }

  // =====================================================================================
  // Connection setup helpers
  // =====================================================================================

  private newConnection(sendBufferSize: number, receiveBufferSize: number, cc: number): TcpConnection {
    const cfg = this.config;
    return new TcpConnection(
      this,
      sendBufferSize,
      receiveBufferSize,
      cfg.maxReassemblyRanges,
      cfg.maxSackRanges,
      cc,
      cfg.initialRtoMs,
      cfg.minRtoMs,
      cfg.maxRtoMs,
    );
  }

  /** ISS, MSS, window scale and timestamp offset for a connection whose flow is set. */
  private initSendSide(c: TcpConnection): void {
    const f = c.flow;
    c.iss = this.secrets.isn(f.localAddress, f.localPort, f.remoteAddress, f.remotePort, this.now);
    c.sndUna = c.iss;
    c.sndNxt = c.iss;
    c.sndMax = c.iss;
    c.sndBase = seqAdd(c.iss, 1);
    c.recoverSeq = c.iss;
    c.highRxtEnd = c.iss;
    c.tsOffset = this.config.timestamps ? this.secrets.timestampOffset(f.localAddress, f.localPort, f.remoteAddress, f.remotePort) : 0;
    const hostMss = this.host.maxSegmentSize(f);
    c.rcvMss = hostMss > 0 && hostMss < 65536 ? hostMss : DEFAULT_MSS_V4;
    c.sndMss = c.rcvMss;
    // Our window scale: the smallest shift that lets the field describe the whole buffer.
    let ws = 0;
    while (ws < TCP_MAX_WINDOW_SCALE && c.receiveBufferSize >>> ws > 65535) ws++;
    c.rcvWscale = this.config.windowScaling ? ws : 0;
    c.lastReceived = this.now;
  }

  /** Applies the options of the peer's SYN (or SYN-ACK) in `rxOpts`. */
  private negotiate(c: TcpConnection): void {
    const o = this.rxOpts;
    const cfg = this.config;
    const v4 = isIpv4Mapped(c.flow.remoteAddress);
    c.peerMss = (o.present & TCP_OPT_HAS_MSS) !== 0 && o.mss > 0 ? o.mss : v4 ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
    if (c.peerMss < c.sndMss) c.sndMss = c.peerMss;
    if (c.sndMss < 64) c.sndMss = 64;
    let neg = 0;
    if (cfg.windowScaling && (o.present & TCP_OPT_HAS_WINDOW_SCALE) !== 0) {
      neg |= TCP_NEG_WINDOW_SCALE;
      c.sndWscale = o.windowScale > TCP_MAX_WINDOW_SCALE ? TCP_MAX_WINDOW_SCALE : o.windowScale;
    } else {
      c.sndWscale = 0;
      c.rcvWscale = 0;
    }
    if (cfg.sack && (o.present & TCP_OPT_HAS_SACK_PERMITTED) !== 0) neg |= TCP_NEG_SACK;
    if (cfg.timestamps && (o.present & TCP_OPT_HAS_TIMESTAMP) !== 0) {
      neg |= TCP_NEG_TIMESTAMPS;
      c.tsRecent = o.tsVal;
      c.tsRecentAge = this.now;
      c.tsRecentValid = true;
    }
    c.negotiated = neg;
    const payload = this.segmentPayload(c);
    c.cc.mss = payload;
    c.cc.abcLimit = 2 * payload;
    c.cc.cwnd = this.config.initialWindowSegments * payload;
    this.updateOffload(c);
  }

  /** Payload bytes of a full-sized segment: MSS less the timestamps option when in use. */
  private segmentPayload(c: TcpConnection): number {
    return c.sndMss - ((c.negotiated & TCP_NEG_TIMESTAMPS) !== 0 ? TS_OPTION_SPACE : 0);
  }

  /**
   * Payload bytes that fit in one segment next to the options the next data segment carries
   * (timestamps, and SACK blocks while out-of-order data is held).
   */
  private maxDataPayload(c: TcpConnection): number {
    let opt = (c.negotiated & TCP_NEG_TIMESTAMPS) !== 0 ? TS_OPTION_SPACE : 0;
    const n = c.reassembly.count;
    if (n > 0 && (c.negotiated & TCP_NEG_SACK) !== 0) {
      const room = (40 - opt - 4) >>> 3;
      opt += 4 + 8 * (n < room ? n : room);
    }
    return c.sndMss - opt;
  }

  private updateOffload(c: TcpConnection): void {
    const off = this.host.sendOffloadSize(c.flow);
    const payload = this.segmentPayload(c);
    c.offloadSize = off > payload ? off - (off % payload) : 0;
    if (c.offloadSize > 0 && c.cc.abcLimit < 2 * c.offloadSize) c.cc.abcLimit = 2 * c.offloadSize;
  }

  /** Gives a connection its send and receive rings (once). */
  private allocateBuffers(c: TcpConnection): void {
    if (c.sndRing.isEmptyPlaceholder()) c.sndRing = new ByteRing(c.sendBufferSize);
    if (c.rcvRing.isEmptyPlaceholder()) c.rcvRing = new ByteRing(c.receiveBufferSize);
  }

  private enterEstablished(c: TcpConnection): void {
    this.allocateBuffers(c); // a passive open gets its buffers here, not at SYN time
    c.state = TcpState.ESTABLISHED;
    this.stats.currentEstablished++;
    if (c.synRetransmitted && c.rtt.samples === 0) {
      // RFC 6298 (5.7): RTO back to 3 s when the SYN was retransmitted and nothing was measured.
      const r = this.config.synRetransmitRtoMs;
      c.rtt.rto = r > c.rtt.maxRto ? c.rtt.maxRto : r;
    }
    c.retries = 0;
    if (c.finQueued) {
      c.state = TcpState.FIN_WAIT_1;
      this.stats.currentEstablished--;
    }
    this.updateKeepAlive(c);
    if (c.passive) {
      const l = c.listener;
      if (l !== null) {
        l.pending--;
        l.acceptQueue.push(c);
        this.queueEvent(c, TCP_EV_ACCEPT);
      }
    } else this.queueEvent(c, TCP_EV_CONNECTED);
  }

  // =====================================================================================
  // Input by state
  // =====================================================================================

  /** Segment for a port with no connection and no listener (RFC 9293 3.10.7.1). */
  private replyToClosed(local: IpAddress, lport: number, remote: IpAddress, rport: number): void {
    const flags = this.segFlags;
    if ((flags & TCP_RST) !== 0) return;
    if ((flags & TCP_ACK) !== 0) {
      this.sendReset(local, lport, remote, rport, this.segAck, 0, TCP_RST);
    } else {
      const len = this.segDataLen + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
      this.sendReset(local, lport, remote, rport, 0, seqAdd(this.segSeq, len), TCP_RST | TCP_ACK);
    }
  }

  /** LISTEN (RFC 9293 3.10.7.2). */
  private listenInput(l: TcpListener, local: IpAddress, remote: IpAddress, rport: number): void {
    const flags = this.segFlags;
    if ((flags & TCP_RST) !== 0) return;
    if ((flags & TCP_ACK) !== 0) {
      this.sendReset(local, l.port, remote, rport, this.segAck, 0, TCP_RST);
      return;
    }
    if ((flags & TCP_SYN) === 0) {
      this.stats.drop(TcpDropReason.Unexpected);
      return;
    }
    if (l.pending + l.acceptQueue.length >= l.backlog) {
      this.stats.drop(TcpDropReason.ListenOverflow);
      return;
    }
    const c = this.newConnection(l.sendBufferSize, l.receiveBufferSize, l.congestionControl);
    c.flow.set(local, l.port, remote, rport);
    c.passive = true;
    c.listener = l;
    c.noDelay = l.noDelay;
    l.pending++;
    this.initSendSide(c);
    c.irs = this.segSeq;
    c.rcvNxt = seqAdd(this.segSeq, 1);
    c.rcvAdv = c.rcvNxt;
    c.lastAckSent = c.rcvNxt;
    c.rcvUp = c.rcvNxt;
    this.negotiate(c);
    c.sndWnd = this.segWnd; // never scaled in a SYN (RFC 7323 2.2)
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = this.segSeq;
    c.sndWl2 = c.iss;
    c.state = TcpState.SYN_RECEIVED;
    c.lastReceived = this.now;
    this.insert(c);
    this.stats.passiveOpens++;
    this.output(c);
    this.armTimer(c);
  }

  /** SYN-SENT (RFC 9293 3.10.7.3). */
  private synSentInput(c: TcpConnection): void {
    const flags = this.segFlags;
    const ack = this.segAck;
    let ackOk = false;
    if ((flags & TCP_ACK) !== 0) {
      if (seqLe(ack, c.iss) || seqGt(ack, c.sndMax)) {
        if ((flags & TCP_RST) === 0) {
          const f = c.flow;
          this.sendReset(f.localAddress, f.localPort, f.remoteAddress, f.remotePort, ack, 0, TCP_RST);
        }
        this.stats.drop(TcpDropReason.BadAck);
        return;
      }
      ackOk = true;
    }
    if ((flags & TCP_RST) !== 0) {
      if (ackOk) {
        // RFC 5961 section 3: in SYN-SENT a RST is valid when it acknowledges our SYN.
        this.stats.attemptFails++;
        this.closeConnection(c, TcpError.ECONNREFUSED);
      }
      return;
    }
    if ((flags & TCP_SYN) === 0) {
      this.stats.drop(TcpDropReason.Unexpected);
      return;
    }
    const o = this.rxOpts;
    c.irs = this.segSeq;
    c.rcvNxt = seqAdd(this.segSeq, 1);
    c.rcvAdv = c.rcvNxt;
    c.rcvUp = c.rcvNxt;
    c.lastAckSent = c.rcvNxt;
    c.lastReceived = this.now;
    this.negotiate(c);
    if (ackOk) {
      c.sndUna = ack;
      if (seqLt(c.sndNxt, c.sndUna)) c.sndNxt = c.sndUna;
      c.sndWnd = this.segWnd; // SYN-ACK window is not scaled
      c.maxSndWnd = c.sndWnd;
      c.sndWl1 = this.segSeq;
      c.sndWl2 = ack;
      // RTT of the handshake (RFC 7323 RTTM, or Karn-safe timing of an unretransmitted SYN).
      if ((c.negotiated & TCP_NEG_TIMESTAMPS) !== 0 && o.tsEcr !== 0) c.rtt.sample(this.tsDiff(c, o.tsEcr));
      else if (c.rtActive) c.rtt.sample(this.now - c.rtTime);
      c.rtActive = false;
      c.deadlines[TcpTimerKind.Retransmit] = Infinity;
      this.enterEstablished(c);
      c.ackNow = true;
      // Data carried by the SYN-ACK (rare) is taken as in ESTABLISHED.
      this.segSeq = seqAdd(this.segSeq, 1);
      this.segFlags &= ~TCP_SYN;
      if (this.segDataLen > 0 || (flags & TCP_FIN) !== 0) this.processText(c);
    } else {
      // Simultaneous open: answer with SYN,ACK from the same ISS (RFC 9293 3.10.7.3 fourth).
      c.state = TcpState.SYN_RECEIVED;
      c.sndWnd = this.segWnd;
      c.maxSndWnd = c.sndWnd;
      c.sndWl1 = this.segSeq;
      c.sndWl2 = c.iss;
      c.sndNxt = c.iss;
      c.rtActive = false;
    }
  }

  /** SYN-RECEIVED and every synchronized state (RFC 9293 3.10.7.4). */
  private segmentArrives(c: TcpConnection): void {
    const st = this.stats;
    const flags = this.segFlags;
    const o = this.rxOpts;
    const hasTs = (o.present & TCP_OPT_HAS_TIMESTAMP) !== 0;
    const tsOk = (c.negotiated & TCP_NEG_TIMESTAMPS) !== 0;
    c.lastReceived = this.now;
    c.keepAliveSent = 0;

    if (tsOk && (flags & TCP_RST) === 0) {
      if (!hasTs) {
        // RFC 7323 section 3.2: drop non-RST segments without timestamps once negotiated.
        st.drop(TcpDropReason.MissingTimestamp);
        return;
      }
      // R1 of RFC 7323 section 5.3: PAWS.
      if (c.tsRecentValid && ((o.tsVal - c.tsRecent) | 0) < 0) {
        if (this.now - c.tsRecentAge > PAWS_IDLE_MS) c.tsRecentValid = false;
        else {
          st.drop(TcpDropReason.Paws);
          c.ackNow = true;
          return;
        }
      }
    }

    // Sequence acceptability (RFC 9293 3.10.7.4 first).
    const seq = this.segSeq;
    const segLen = this.segDataLen + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
    let wnd = seqDiff(c.rcvAdv, c.rcvNxt);
    if (wnd < 0) wnd = 0;
    let ok: boolean;
    if (segLen === 0) {
      ok = wnd === 0 ? seq === c.rcvNxt : seqGe(seq, c.rcvNxt) && seqLt(seq, seqAdd(c.rcvNxt, wnd));
    } else if (wnd === 0) {
      // A bare FIN at RCV.NXT needs no buffer space: accept it even with a zero window.
      ok = this.segDataLen === 0 && (flags & TCP_FIN) !== 0 && seq === c.rcvNxt;
    } else {
      const end = seqAdd(seq, segLen - 1);
      const hi = seqAdd(c.rcvNxt, wnd);
      ok = (seqGe(seq, c.rcvNxt) && seqLt(seq, hi)) || (seqGe(end, c.rcvNxt) && seqLt(end, hi));
    }
    if (!ok) {
      if ((flags & TCP_RST) !== 0) return;
      st.drop(TcpDropReason.OutOfWindow);
      if (c.state === TcpState.TIME_WAIT && (flags & TCP_FIN) !== 0) {
        // A retransmitted FIN: acknowledge it and restart 2 MSL.
        c.deadlines[TcpTimerKind.TimeWait] = this.now + 2 * this.config.mslMs;
      }
      c.ackNow = true;
      return;
    }

    // R3 of RFC 7323 section 5.3: TS.Recent update.
    if (tsOk && hasTs && seqLe(seq, c.lastAckSent)) {
      c.tsRecent = o.tsVal;
      c.tsRecentAge = this.now;
      c.tsRecentValid = true;
    }

    // RST (RFC 5961 section 3.2).
    if ((flags & TCP_RST) !== 0) {
      if (seq === c.rcvNxt) this.resetReceived(c);
      else {
        st.drop(TcpDropReason.RstChallenged);
        this.challengeAck(c);
      }
      return;
    }

    // SYN in a synchronized state or SYN-RECEIVED (RFC 5961 section 4.2).
    if ((flags & TCP_SYN) !== 0) {
      st.drop(TcpDropReason.SynChallenged);
      this.challengeAck(c);
      return;
    }

    if ((flags & TCP_ACK) === 0) {
      st.drop(TcpDropReason.Unexpected);
      return;
    }

    const ack = this.segAck;
    if (c.state === TcpState.SYN_RECEIVED) {
      if (seqLe(ack, c.sndUna) || seqGt(ack, c.sndMax)) {
        const f = c.flow;
        this.sendReset(f.localAddress, f.localPort, f.remoteAddress, f.remotePort, ack, 0, TCP_RST);
        st.drop(TcpDropReason.BadAck);
        return;
      }
      c.sndWnd = this.segWnd << c.sndWscale;
      if (c.sndWnd > c.maxSndWnd) c.maxSndWnd = c.sndWnd;
      c.sndWl1 = seq;
      c.sndWl2 = ack;
      this.enterEstablished(c);
    }

    // RFC 5961 section 5.2: ACK range check.
    if (seqGt(ack, c.sndMax) || seqLt(ack, seqAdd(c.sndUna, -(c.maxSndWnd > 0 ? c.maxSndWnd : 1)))) {
      st.drop(TcpDropReason.BadAck);
      this.challengeAck(c);
      return;
    }

    if (!this.processAck(c)) return; // connection closed (LAST-ACK) or moved to TIME-WAIT handling

    // Urgent pointer (kept inline, RFC 6093): only tracked.
    if ((flags & TCP_URG) !== 0 && (c.state === TcpState.ESTABLISHED || c.state === TcpState.FIN_WAIT_1 || c.state === TcpState.FIN_WAIT_2)) {
      const up = seqAdd(seq, this.segUrp);
      if (seqGt(up, c.rcvUp)) c.rcvUp = up;
    }

    if (this.segDataLen > 0 || (flags & TCP_FIN) !== 0) this.processText(c);
  }

  /** RST accepted at RCV.NXT (RFC 9293 3.10.7.4 second, per state). */
  private resetReceived(c: TcpConnection): void {
    switch (c.state) {
      case TcpState.SYN_RECEIVED:
        if (c.passive) {
          this.closeConnection(c, TcpError.None); // back to LISTEN: the listener stays
        } else {
          this.stats.attemptFails++;
          this.closeConnection(c, TcpError.ECONNREFUSED);
        }
        return;
      case TcpState.ESTABLISHED:
      case TcpState.CLOSE_WAIT:
        this.stats.establishedResets++;
        this.closeConnection(c, TcpError.ECONNRESET);
        return;
      case TcpState.FIN_WAIT_1:
      case TcpState.FIN_WAIT_2:
        this.closeConnection(c, TcpError.ECONNRESET);
        return;
      default:
        this.closeConnection(c, c.rcvFin ? TcpError.None : TcpError.ECONNRESET);
        return;
    }
  }

  /** RFC 5961 challenge ACK, rate limited per engine (section 7). */
  private challengeAck(c: TcpConnection): void {
    if (this.now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = this.now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckLimit) return;
    this.challengeCount++;
    this.stats.challengeAcks++;
    c.ackNow = true;
  }

  /**
   * ACK processing (RFC 9293 3.10.7.4 fifth) with SACK, RTT, congestion control and loss recovery.
   * Returns false when the connection is gone or no further processing of the segment applies.
   */
  private processAck(c: TcpConnection): boolean {
    const ack = this.segAck;
    const o = this.rxOpts;
    const cc = c.cc;
    const mss = cc.mss;
    const oldUna = c.sndUna;

    // SACK scoreboard (RFC 6675 update) before SND.UNA moves.
    let newlySacked = 0;
    if ((c.negotiated & TCP_NEG_SACK) !== 0 && (o.present & TCP_OPT_HAS_SACK) !== 0) {
      newlySacked = c.scoreboard.update(o, oldUna, c.sndMax);
    }

    // Window update (RFC 9293 3.10.7.4 fifth, SND.WL1/SND.WL2 rule), noting whether it changed.
    const segWnd = this.segWnd << c.sndWscale;
    const windowChanged = segWnd !== c.sndWnd;
    if (seqLt(c.sndWl1, this.segSeq) || (c.sndWl1 === this.segSeq && seqLe(c.sndWl2, ack))) {
      c.sndWnd = segWnd;
      if (segWnd > c.maxSndWnd) c.maxSndWnd = segWnd;
      c.sndWl1 = this.segSeq;
      c.sndWl2 = ack;
      if (c.persisting && segWnd > 0) {
        // The window opened: leave persist and resend from SND.UNA in the normal way.
        c.persisting = false;
        c.persistShift = 0;
        c.deadlines[TcpTimerKind.Persist] = Infinity;
        c.sndNxt = c.sndUna;
      }
    }

    if (seqGt(ack, oldUna)) {
      // ---- new data acknowledged ----
      let acked = seqDiff(ack, oldUna);
      c.sndUna = ack;
      if (seqLt(c.sndNxt, ack)) c.sndNxt = ack;
      // Bytes of the send ring now acknowledged (the SYN and FIN take sequence space, not ring space).
      const ringAcked = seqDiff(ack, c.sndBase);
      if (ringAcked > 0) {
        const n = ringAcked < c.sndRing.length ? ringAcked : c.sndRing.length;
        c.sndRing.consume(n);
        c.sndBase = seqAdd(c.sndBase, n);
        this.queueEvent(c, TCP_EV_WRITABLE);
      }
      let finNowAcked = false;
      if (c.finSent && !c.finAcked && seqGt(ack, c.finSeq)) {
        c.finAcked = true;
        finNowAcked = true;
        acked--;
      }
      c.scoreboard.ackTo(ack);
      // RTT measurement: RFC 7323 RTTM with TSecr, else one timed segment at a time (Karn).
      if ((c.negotiated & TCP_NEG_TIMESTAMPS) !== 0) {
        if ((o.present & TCP_OPT_HAS_TIMESTAMP) !== 0 && o.tsEcr !== 0) c.rtt.sample(this.tsDiff(c, o.tsEcr));
      } else if (c.rtActive && seqGt(ack, c.rtSeq)) {
        c.rtt.sample(this.now - c.rtTime);
        c.rtActive = false;
      }
      c.retries = 0;
      if (oldUna === c.iss) acked--; // the SYN took one sequence number
      // Congestion control and loss recovery.
      if (c.inRecovery) {
        if (seqGe(ack, c.recoverSeq)) {
          // Full acknowledgment: recovery ends (RFC 6582 3.2 step 3; RFC 6675 section 5).
          c.inRecovery = false;
          c.sackRecovery = false;
          c.dupAcks = 0;
          cc.onRecoveryExit(seqDiff(c.sndMax, c.sndUna));
        } else if (!c.sackRecovery) {
          // NewReno partial acknowledgment (RFC 6582 3.2 step 4).
          this.retransmit(c, c.sndUna, this.segmentPayload(c));
          cc.cwnd = cc.cwnd > acked ? cc.cwnd - acked : 0;
          if (acked >= mss) cc.cwnd += mss;
          if (cc.cwnd < mss) cc.cwnd = mss;
          if (!c.partialAckSeen) {
            c.partialAckSeen = true;
            c.deadlines[TcpTimerKind.Retransmit] = this.now + c.rtt.rto;
          }
        }
      } else {
        c.dupAcks = 0;
        c.limitedTransmit = 0;
        if (acked > 0) cc.onAck(acked, this.now, c.rtt.samples > 0 ? c.rtt.srtt : 0);
      }
      // RFC 6298 (5.2)/(5.3): stop the timer when all is acknowledged, else restart it.
      if (c.sndUna === c.sndMax) c.deadlines[TcpTimerKind.Retransmit] = Infinity;
      else if (!c.persisting && !(c.inRecovery && !c.sackRecovery && c.partialAckSeen && acked > 0 && seqLt(ack, c.recoverSeq))) {
        c.deadlines[TcpTimerKind.Retransmit] = this.now + c.rtt.rto;
      }
      if (finNowAcked) {
        this.queueEvent(c, TCP_EV_FIN_ACKED);
        switch (c.state) {
          case TcpState.FIN_WAIT_1:
            c.state = TcpState.FIN_WAIT_2;
            if (c.userClosed) c.deadlines[TcpTimerKind.TimeWait] = this.now + this.config.finWait2TimeoutMs;
            break;
          case TcpState.CLOSING:
            this.enterTimeWait(c);
            return false;
          case TcpState.LAST_ACK:
            this.closeConnection(c, TcpError.None);
            return false;
          default:
            break;
        }
      }
    } else if (ack === oldUna) {
      // ---- possible duplicate ACK (RFC 5681 section 2; RFC 6675 section 2) ----
      // Not while probing a zero window: the probe byte is outstanding but not lost.
      const outstanding = c.sndMax !== c.sndUna && !c.persisting && c.sndWnd > 0;
      const plain =
        this.segDataLen === 0 && (this.segFlags & (TCP_SYN | TCP_FIN)) === 0 && !windowChanged;
      if (outstanding && (plain || newlySacked > 0)) {
        c.dupAcks++;
        this.duplicateAck(c);
      }
    }
    if (c.state === TcpState.TIME_WAIT) return false;
    return true;
  }

  /** A duplicate ACK arrived (RFC 5681 3.2, RFC 6582, RFC 6675 section 5, RFC 3042). */
  private duplicateAck(c: TcpConnection): void {
    const cc = c.cc;
    const mss = cc.mss;
    if (c.inRecovery) {
      if (!c.sackRecovery) cc.cwnd += mss; // RFC 5681 3.2 step 4: inflate
      return;
    }
    const sack = (c.negotiated & TCP_NEG_SACK) !== 0;
    const lossBySack = sack && seqGt(c.scoreboard.lostEdge(c.sndUna, mss, DUP_THRESH), c.sndUna);
    if (c.dupAcks >= DUP_THRESH || lossBySack) {
      // RFC 6582 3.2 step 2 / RFC 6675 section 5: no new recovery while the cumulative ACK is
      // below the point where the last recovery (or timeout) started. An ACK exactly at that point
      // has acknowledged everything sent before it, so duplicates of it concern later data.
      if (seqLt(c.sndUna, c.recoverSeq)) return;
      this.enterRecovery(c);
      return;
    }
    // Limited transmit: up to two new segments on the first two duplicate ACKs.
    if (c.dupAcks <= 2) c.limitedTransmit = c.dupAcks * mss;
  }

  private enterRecovery(c: TcpConnection): void {
    const cc = c.cc;
    const mss = cc.mss;
    this.stats.fastRetransmits++;
    cc.onCongestionEvent(this.now, seqDiff(c.sndMax, c.sndUna));
    c.inRecovery = true;
    c.recoverSeq = c.sndMax;
    c.limitedTransmit = 0;
    c.partialAckSeen = false;
    c.rtActive = false;
    if ((c.negotiated & TCP_NEG_SACK) !== 0) {
      // RFC 6675 section 5 steps 4.1-4.3.
      c.sackRecovery = true;
      cc.cwnd = cc.ssthresh;
      c.highRxtEnd = c.sndUna;
      c.rescueSent = false;
      const len = this.retransmit(c, c.sndUna, mss);
      c.highRxtEnd = seqAdd(c.sndUna, len);
    } else {
      // RFC 6582 section 3.2 step 2-3.
      c.sackRecovery = false;
      this.retransmit(c, c.sndUna, mss);
      cc.cwnd = cc.ssthresh + DUP_THRESH * mss;
    }
  }

  /** Segment text and FIN (RFC 9293 3.10.7.4 seventh and eighth), after trimming to the window. */
  private processText(c: TcpConnection): void {
    const st = c.state;
    let fin = (this.segFlags & TCP_FIN) !== 0;
    let seq = this.segSeq;
    let off = this.segDataOff;
    let len = this.segDataLen;
    // Trim what we already have.
    const head = seqDiff(c.rcvNxt, seq);
    if (head > 0) {
      if (head > len) {
        // Entirely old data; a FIN at `seq + len` is old too.
        fin = false;
        len = 0;
      } else {
        off += head;
        len -= head;
        seq = c.rcvNxt;
      }
    }
    // Trim what lies beyond the window or the buffer.
    const room = c.rcvRing.capacity - c.rcvRing.length; // bytes that fit from RCV.NXT on
    let limit = seqDiff(c.rcvAdv, seq);
    const bufLimit = room - seqDiff(seq, c.rcvNxt);
    if (bufLimit < limit) limit = bufLimit;
    if (limit < 0) limit = 0;
    if (len > limit) {
      this.stats.drop(TcpDropReason.NoBufferSpace);
      len = limit;
      fin = false;
    }
    const takesData = st === TcpState.ESTABLISHED || st === TcpState.FIN_WAIT_1 || st === TcpState.FIN_WAIT_2;
    if (len > 0 && takesData && c.userClosed) {
      // New data for a connection its user closed: it can never be read (RFC 1122 4.2.2.13).
      this.abortConnection(c);
      return;
    }
    if (len > 0 && takesData && !c.rcvFin) {
      if (seq === c.rcvNxt) {
        const ring = c.rcvRing;
        ring.writeAt(ring.length, this.segBytes, off, len);
        ring.length += len;
        let nxt = seqAdd(c.rcvNxt, len);
        if (c.reassembly.count > 0) {
          const merged = c.reassembly.advance(nxt);
          if (merged !== nxt) {
            ring.length += seqDiff(merged, nxt);
            nxt = merged;
          }
          c.ackNow = true; // a hole filled or still open: acknowledge at once (RFC 5681 section 4.2)
        }
        c.bytesReceived += seqDiff(nxt, c.rcvNxt);
        c.rcvNxt = nxt;
        this.queueEvent(c, TCP_EV_READABLE);
        c.segsSinceAck++;
        if (c.segsSinceAck >= this.config.delayedAckSegments || this.config.delayedAckMs === 0) c.ackNow = true;
        else if (c.deadlines[TcpTimerKind.DelayedAck] === Infinity) {
          c.deadlines[TcpTimerKind.DelayedAck] = this.now + this.config.delayedAckMs;
        }
        if (c.rcvFinPending && c.rcvFinSeq === c.rcvNxt) {
          c.rcvFinPending = false;
          fin = true;
          seq = c.rcvNxt;
          len = 0;
        }
      } else {
        // Out of order: keep the bytes at their offset and report them in SACK blocks.
        if (c.reassembly.insert(seq, seqAdd(seq, len), c.rcvNxt)) {
          const ring = c.rcvRing;
          ring.writeAt(ring.length + seqDiff(seq, c.rcvNxt), this.segBytes, off, len);
        } else {
          this.stats.drop(TcpDropReason.ReassemblyFull);
        }
        if (fin) {
          c.rcvFinPending = true;
          c.rcvFinSeq = seqAdd(seq, len);
          fin = false;
        }
        c.ackNow = true;
        return;
      }
    } else if (len > 0) {
      // Text after the peer's FIN or in a closing state: ignored (RFC 9293 3.10.7.4 seventh).
      c.ackNow = true;
    }
    if (fin && seqAdd(seq, len) === c.rcvNxt && !c.rcvFin) this.finReceived(c);
  }

  /** The peer's FIN in order (RFC 9293 3.10.7.4 eighth). */
  private finReceived(c: TcpConnection): void {
    c.rcvNxt = seqAdd(c.rcvNxt, 1);
    c.rcvFin = true;
    c.ackNow = true;
    this.queueEvent(c, TCP_EV_READABLE);
    switch (c.state) {
      case TcpState.SYN_RECEIVED:
      case TcpState.ESTABLISHED:
        c.state = TcpState.CLOSE_WAIT;
        break;
      case TcpState.FIN_WAIT_1:
        if (c.finAcked) this.enterTimeWait(c);
        else c.state = TcpState.CLOSING;
        break;
      case TcpState.FIN_WAIT_2:
        this.enterTimeWait(c);
        break;
      case TcpState.TIME_WAIT:
        c.deadlines[TcpTimerKind.TimeWait] = this.now + 2 * this.config.mslMs;
        break;
      default:
        break;
    }
  }

  /** Called after processing a segment for `c`: send what is due and re-arm its timer. */
  private afterInput(c: TcpConnection): void {
    if (c.state === TcpState.CLOSED) return;
    if (c.keepAlive) this.updateKeepAlive(c);
    if (c.idleTimeoutMs > 0) c.deadlines[TcpTimerKind.Idle] = this.now + c.idleTimeoutMs;
    this.output(c);
    this.armTimer(c);
  }

  private timeWaitAcceptsSyn(c: TcpConnection): boolean {
    const o = this.rxOpts;
    if ((c.negotiated & TCP_NEG_TIMESTAMPS) !== 0 && (o.present & TCP_OPT_HAS_TIMESTAMP) !== 0 && c.tsRecentValid) {
      return ((o.tsVal - c.tsRecent) | 0) > 0;
    }
    return seqGt(this.segSeq, c.rcvNxt);
  }

  // =====================================================================================
  // Output
  // =====================================================================================

  /** Payload bytes available to send from SND.NXT (the FIN is not counted). */
  private unsent(c: TcpConnection): number {
    const n = seqDiff(seqAdd(c.sndBase, c.sndRing.length), c.sndNxt);
    return n > 0 ? n : 0;
  }

  /** Whether a FIN still has to be sent at SND.NXT (+ `len`). */
  private finDue(c: TcpConnection, len: number): boolean {
    if (!c.finQueued) return false;
    const s = c.state;
    if (s !== TcpState.FIN_WAIT_1 && s !== TcpState.CLOSING && s !== TcpState.LAST_ACK) return false;
    return seqAdd(c.sndNxt, len) === c.finSeq;
  }

  /**
   * tcp_output: sends what the state, the windows, Nagle and the ACK policy allow. SYN states
   * send (or resend) their SYN; synchronized states send data, FIN, and ACKs.
   */
  private output(c: TcpConnection): void {
    const s = c.state;
    if (s === TcpState.CLOSED || s === TcpState.LISTEN) return;
    if (s === TcpState.TIME_WAIT) {
      if (c.ackNow) this.emit(c, c.sndNxt, 0, TCP_ACK);
      return;
    }
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) {
      if (c.sndNxt === c.iss || (s === TcpState.SYN_RECEIVED && c.ackNow)) {
        const flags = s === TcpState.SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
        const first = c.sndMax === c.iss;
        this.emit(c, c.iss, 0, flags);
        c.sndNxt = seqAdd(c.iss, 1);
        if (first) {
          c.sndMax = c.sndNxt;
          c.rtSeq = c.iss;
          c.rtTime = this.now;
          c.rtActive = true;
        }
        if (c.deadlines[TcpTimerKind.Retransmit] === Infinity) c.deadlines[TcpTimerKind.Retransmit] = this.now + c.rtt.rto;
      }
      return;
    }

    if (c.inRecovery && c.sackRecovery) this.sackRecoveryOutput(c);

    const cc = c.cc;
    const full = this.segmentPayload(c); // a full-sized segment for Nagle
    const payload = this.maxDataPayload(c); // what fits beside this segment's options
    for (;;) {
      const unsent = this.unsent(c);
      const inFlight = seqDiff(c.sndNxt, c.sndUna);
      let len = 0;
      if (unsent > 0) {
        let wnd = c.sndWnd;
        if (!(c.inRecovery && c.sackRecovery)) {
          const cwnd = Math.floor(cc.cwnd) + c.limitedTransmit;
          if (cwnd < wnd) wnd = cwnd;
        } else wnd = 0; // in SACK recovery new data goes through NextSeg only
        let usable = wnd - inFlight;
        if (c.forceOutput && usable <= 0) usable = 1; // a zero-window probe: one byte beyond the window
        if (usable > 0) {
          const burst = c.offloadSize > 0 ? c.offloadSize : payload;
          len = unsent;
          if (len > usable) len = usable;
          if (len > burst) len = burst;
          if (len > payload && len < unsent) len -= len % payload; // whole segments for the offload
        }
      }
      let go = false;
      if (len > 0) {
        if (len >= full) go = true;
        else if (c.forceOutput) go = true;
        else if (len === unsent && (c.noDelay || inFlight === 0 || c.finQueued)) go = true; // Nagle (RFC 9293 3.7.4)
        else if (seqLt(c.sndNxt, c.sndMax)) go = true; // retransmission after a timeout
        else if (c.maxSndWnd > 0 && len >= c.maxSndWnd >>> 1) go = true; // sender SWS avoidance
        if (!go) len = 0;
      } else if (unsent === 0 && this.finDue(c, 0)) {
        go = true; // a bare FIN needs no window (it takes no buffer space at the receiver)
      }
      if (!go) {
        if (c.ackNow) this.emit(c, c.sndNxt, 0, TCP_ACK);
        break;
      }
      const sendFin = this.finDue(c, len);
      let flags = TCP_ACK;
      if (len > 0 && len === unsent) flags |= TCP_PSH;
      if (sendFin) flags |= TCP_FIN;
      const isRetransmit = seqLt(c.sndNxt, c.sndMax);
      this.emit(c, c.sndNxt, len, flags); // on allocation failure the segment counts as lost
      if (isRetransmit) {
        this.stats.retransSegs++;
        c.retransmittedSegments++;
        c.retransmittedBytes += len;
      } else if (len > 0 && !c.rtActive && (c.negotiated & TCP_NEG_TIMESTAMPS) === 0) {
        c.rtSeq = c.sndNxt;
        c.rtTime = this.now;
        c.rtActive = true;
      }
      c.sndNxt = seqAdd(c.sndNxt, len + (sendFin ? 1 : 0));
      if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
      if (sendFin) c.finSent = true;
      if (!c.persisting && c.deadlines[TcpTimerKind.Retransmit] === Infinity) {
        c.deadlines[TcpTimerKind.Retransmit] = this.now + c.rtt.rto;
      }
      if (c.forceOutput) {
        c.forceOutput = false;
        break;
      }
      if (sendFin) break;
    }
    // Data (or a FIN) waiting with nothing in flight: a zero window, or a window too small to use
    // under sender SWS avoidance. Nothing the peer sends is due (window updates are pure ACKs,
    // never retransmitted, and may be lost), so the persist timer polls the receiver: a probe into
    // a zero window (RFC 9293 3.8.6.1), or the override timeout that sends what a small window
    // allows (RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4). Without it the connection would wait forever.
    if (c.sndMax === c.sndUna && !c.persisting && (this.unsent(c) > 0 || this.finDue(c, 0))) {
      c.persisting = true;
      c.persistShift = 0;
      c.deadlines[TcpTimerKind.Retransmit] = Infinity;
      c.deadlines[TcpTimerKind.Persist] = this.now + this.persistInterval(c);
    }
  }

  /** RFC 6675 section 5 step (C): send while cwnd - pipe >= 1 SMSS, choosing with NextSeg. */
  private sackRecoveryOutput(c: TcpConnection): void {
    const cc = c.cc;
    const mss = cc.mss;
    const sb = c.scoreboard;
    const lost = sb.lostEdge(c.sndUna, mss, DUP_THRESH);
    let pipe = sb.pipe(c.sndUna, c.sndMax, c.highRxtEnd, lost);
    let guard = 0;
    while (cc.cwnd - pipe >= mss && guard++ < 1024) {
      const from = seqMax(c.highRxtEnd, c.sndUna);
      // (1) the first lost, unSACKed byte above HighRxt.
      if (seqLt(from, lost) && sb.findHole(from, lost)) {
        const len = this.retransmit(c, sb.holeStart, Math.min(mss, seqDiff(sb.holeEnd, sb.holeStart)));
        if (len === 0) break;
        c.highRxtEnd = seqAdd(sb.holeStart, len);
        pipe += len;
        continue;
      }
      // (2) new data, if the receive window allows.
      const unsent = this.unsent(c);
      const usable = c.sndWnd - seqDiff(c.sndNxt, c.sndUna);
      if (unsent > 0 && usable > 0 && c.sndNxt === c.sndMax) {
        const most = this.maxDataPayload(c);
        let len = unsent < most ? unsent : most;
        if (len > usable) len = usable;
        const sendFin = this.finDue(c, len);
        let flags = TCP_ACK;
        if (len === unsent) flags |= TCP_PSH;
        if (sendFin) flags |= TCP_FIN;
        this.emit(c, c.sndNxt, len, flags);
        c.sndNxt = seqAdd(c.sndNxt, len + (sendFin ? 1 : 0));
        c.sndMax = c.sndNxt;
        if (sendFin) c.finSent = true;
        pipe += len;
        continue;
      }
      // (3) any unSACKed byte above HighRxt below the highest SACKed byte.
      const high = sb.highestSacked(c.sndUna);
      if (seqLt(from, high) && sb.findHole(from, high)) {
        const len = this.retransmit(c, sb.holeStart, Math.min(mss, seqDiff(sb.holeEnd, sb.holeStart)));
        if (len === 0) break;
        c.highRxtEnd = seqAdd(sb.holeStart, len);
        pipe += len;
        continue;
      }
      // (4) rescue retransmission of the tail, once per recovery (RFC 6675 section 4, NextSeg (4)).
      if (!c.rescueSent && seqGt(c.sndMax, high) && seqLt(c.sndUna, c.sndMax)) {
        const end = c.finSent && !c.finAcked ? c.finSeq : c.sndMax;
        let start = seqAdd(end, -mss);
        if (seqLt(start, c.sndUna)) start = c.sndUna;
        if (seqLt(start, high)) start = high;
        const len = seqDiff(end, start);
        c.rescueSent = true;
        if (len > 0) {
          this.retransmit(c, start, len);
          pipe += len;
          continue;
        }
      }
      break;
    }
  }

  /**
   * Retransmits up to `maxLen` bytes at `seq` (one segment; the FIN rides along when it follows).
   * Returns the payload length sent.
   */
  private retransmit(c: TcpConnection, seq: number, maxLen: number): number {
    const end = seqAdd(c.sndBase, c.sndRing.length);
    let len = seqDiff(end, seq);
    if (len < 0) len = 0;
    if (len > maxLen) len = maxLen;
    const payload = this.maxDataPayload(c);
    if (len > payload) len = payload;
    let flags = TCP_ACK;
    if (c.finSent && seqAdd(seq, len) === c.finSeq) flags |= TCP_FIN;
    if (len === 0 && (flags & TCP_FIN) === 0) return 0;
    this.emit(c, seq, len, flags);
    this.stats.retransSegs++;
    c.retransmittedSegments++;
    c.retransmittedBytes += len;
    if (c.rtActive && seqGe(c.rtSeq, seq) && seqLt(c.rtSeq, seqAdd(seq, len + 1))) c.rtActive = false; // Karn
    return len > 0 ? len : 1;
  }

  /** Whether reading opened the window enough to announce it (receiver SWS avoidance). */
  private windowUpdateDue(c: TcpConnection): boolean {
    const s = c.state;
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED || s === TcpState.CLOSED || s === TcpState.TIME_WAIT || c.rcvFin) return false;
    const cap = c.rcvRing.capacity;
    let free = cap - c.rcvRing.length;
    const most = 65535 << c.rcvWscale; // the largest window the field can carry
    if (free > most) free = most;
    const right = seqAdd(c.rcvNxt, free);
    const grow = seqDiff(right, c.rcvAdv);
    if (grow <= 0) return false;
    if (grow >= cap >>> 1) return true;
    const current = seqDiff(c.rcvAdv, c.rcvNxt);
    const mss = c.rcvMss;
    return current < 2 * mss && grow >= mss;
  }

  /** Window field value for a non-SYN segment; moves RCV.ADV right when it grows enough. */
  private windowToAdvertise(c: TcpConnection): number {
    const ring = c.rcvRing;
    const cap = ring.capacity;
    let free = cap - ring.length;
    // Receiver SWS avoidance (RFC 9293 3.8.6.2.2): no small openings.
    const current = seqDiff(c.rcvAdv, c.rcvNxt);
    const threshold = c.rcvMss < cap >>> 1 ? c.rcvMss : cap >>> 1;
    if (free - (current > 0 ? current : 0) < threshold && free < cap) {
      free = current > 0 ? current : 0;
    }
    let field = free >>> c.rcvWscale;
    if (field > 65535) field = 65535;
    const right = seqAdd(c.rcvNxt, field << c.rcvWscale);
    if (seqGt(right, c.rcvAdv)) c.rcvAdv = right;
    return field;
  }

  /**
   * Builds and hands one segment to the host: header with options at SEQ `seq` with `flags`, and
   * `len` payload bytes from the send ring. Returns false when the host had no memory.
   */
  private emit(c: TcpConnection, seq: number, len: number, flags: number): boolean {
    const syn = (flags & TCP_SYN) !== 0;
    const hasAck = (flags & TCP_ACK) !== 0;
    const sackBlocks = !syn && hasAck && (c.negotiated & TCP_NEG_SACK) !== 0 && c.reassembly.count > 0;
    const ack = hasAck ? c.rcvNxt : 0;
    let window: number;
    if (syn) {
      const free = c.receiveBufferSize - c.rcvRing.length;
      window = free > 65535 ? 65535 : free;
      if (seqGt(seqAdd(c.rcvNxt, window), c.rcvAdv)) c.rcvAdv = seqAdd(c.rcvNxt, window);
    } else {
      window = this.windowToAdvertise(c);
    }
    if (hasAck) {
      // An ACK goes out with this segment: the delayed-ACK state is satisfied.
      c.lastAckSent = c.rcvNxt;
      c.ackNow = false;
      c.segsSinceAck = 0;
      c.deadlines[TcpTimerKind.DelayedAck] = Infinity;
    }
    const sp = this.space;
    const f = c.flow;
    let hl: number;
    if (!syn && !sackBlocks) {
      // Fast path: no options, or timestamps alone (RFC 7323 appendix A layout).
      const ts = (c.negotiated & TCP_NEG_TIMESTAMPS) !== 0;
      hl = ts ? TCP_HEADER_LEN + TS_OPTION_SPACE : TCP_HEADER_LEN;
      if (!this.host.allocateSegment(f, hl + len, sp)) {
        this.stats.allocationFailures++;
        return false;
      }
      if (ts) emitTcpTimestampHeader(sp.bytes, sp.offset, f.localPort, f.remotePort, seq, ack, flags, window, this.tsNow(c), c.tsRecent);
      else emitTcpBareHeader(sp.bytes, sp.offset, f.localPort, f.remotePort, seq, ack, flags, window);
    } else {
      const r = this.tx;
      const o = r.options;
      o.clear();
      const cfg = this.config;
      if (syn) {
        o.setMss(c.rcvMss);
        const active = c.state === TcpState.SYN_SENT;
        if (active ? cfg.windowScaling : (c.negotiated & TCP_NEG_WINDOW_SCALE) !== 0) o.setWindowScale(c.rcvWscale);
        if (active ? cfg.sack : (c.negotiated & TCP_NEG_SACK) !== 0) o.setSackPermitted();
        if (active ? cfg.timestamps : (c.negotiated & TCP_NEG_TIMESTAMPS) !== 0) o.setTimestamp(this.tsNow(c), active ? 0 : c.tsRecent);
      } else {
        if ((c.negotiated & TCP_NEG_TIMESTAMPS) !== 0) o.setTimestamp(this.tsNow(c), c.tsRecent);
        c.reassembly.fillSackBlocks(o, 4);
      }
      r.srcPort = f.localPort;
      r.dstPort = f.remotePort;
      r.seq = seq;
      r.ack = ack;
      r.flags = flags;
      r.window = window;
      r.checksum = 0;
      r.urgent = 0;
      hl = TCP_HEADER_LEN + tcpOptionsLength(o);
      if (!this.host.allocateSegment(f, hl + len, sp)) {
        this.stats.allocationFailures++;
        return false;
      }
      emitTcpHeader(sp.bytes, sp.offset, r);
    }
    if (len > 0) c.sndRing.copyOut(seqDiff(seq, c.sndBase), sp.bytes, sp.offset + hl, len);
    this.stats.outSegs++;
    // With large send offload, the host cuts the payload into pieces of this size (payload per wire segment).
    const segMss = c.offloadSize > 0 && len > 0 ? c.sndMss - (hl - TCP_HEADER_LEN) : 0;
    this.host.transmitSegment(f, sp, hl + len, segMss > 0 && len > segMss ? segMss : 0);
    return true;
  }

  /** Sends a RST (or RST,ACK) for a 4-tuple without using a TCB. */
  private sendReset(local: IpAddress, lport: number, remote: IpAddress, rport: number, seq: number, ack: number, flags: number): void {
    const f = this.replyFlow;
    f.set(local, lport, remote, rport);
    const r = this.tx;
    r.options.clear();
    r.srcPort = lport;
    r.dstPort = rport;
    r.seq = seq;
    r.ack = ack;
    r.flags = flags;
    r.window = 0;
    r.checksum = 0;
    r.urgent = 0;
    const sp = this.space;
    if (!this.host.allocateSegment(f, TCP_HEADER_LEN, sp)) {
      this.stats.allocationFailures++;
      return;
    }
    emitTcpHeader(sp.bytes, sp.offset, r);
    this.stats.outSegs++;
    this.stats.outRsts++;
    this.host.transmitSegment(f, sp, TCP_HEADER_LEN, 0);
  }

  private tsNow(c: TcpConnection): number {
    return (Math.floor(this.now) + c.tsOffset) >>> 0;
  }

  /** Milliseconds since the timestamp `tsEcr` we sent (RFC 7323 section 4.1 RTTM). */
  private tsDiff(c: TcpConnection, tsEcr: number): number {
    const d = (this.tsNow(c) - tsEcr) | 0;
    return d >= 0 ? d : -1;
  }

  // =====================================================================================
  // Timers
  // =====================================================================================

  /** Arms the connection's host timer for its earliest deadline (lazily: only ever earlier). */
  private armTimer(c: TcpConnection): void {
    const d = c.deadlines;
    let min = d[0]!;
    for (let i = 1; i < TcpTimerKind.Count; i++) if (d[i]! < min) min = d[i]!;
    const t = c.timer;
    if (min === Infinity) return;
    if (min < t.at) {
      t.at = min;
      this.host.setTimer(t, min);
    }
  }

  /** RFC 6298 section 5 (5.4)-(5.7), RFC 5681 section 3.1, RFC 6582 section 4. */
  private retransmitTimeout(c: TcpConnection): void {
    const cfg = this.config;
    this.stats.timeouts++;
    if (c.state === TcpState.SYN_SENT || c.state === TcpState.SYN_RECEIVED) {
      if (c.retries >= cfg.synRetries) {
        if (c.state === TcpState.SYN_SENT || !c.passive) this.stats.attemptFails++;
        this.closeConnection(c, c.softError !== TcpError.None ? c.softError : TcpError.ETIMEDOUT);
        return;
      }
      c.retries++;
      c.synRetransmitted = true;
      c.rtActive = false;
      c.rtt.backoff();
      c.sndNxt = c.iss;
      this.stats.retransSegs++;
      c.retransmittedSegments++;
      this.output(c);
      c.deadlines[TcpTimerKind.Retransmit] = this.now + c.rtt.rto;
      return;
    }
    if (c.sndUna === c.sndMax) return; // nothing outstanding
    if (c.retries >= cfg.dataRetries) {
      this.closeConnection(c, c.softError !== TcpError.None ? c.softError : TcpError.ETIMEDOUT);
      return;
    }
    c.retries++;
    const cc = c.cc;
    const flight = seqDiff(c.sndMax, c.sndUna);
    if (c.retries === 1) cc.onRetransmitTimeout(this.now, flight);
    else cc.cwnd = cc.mss;
    c.inRecovery = false;
    c.sackRecovery = false;
    c.dupAcks = 0;
    c.limitedTransmit = 0;
    c.recoverSeq = c.sndMax;
    c.highRxtEnd = c.sndUna;
    c.scoreboard.clear();
    c.rtt.backoff();
    c.rtActive = false;
    c.sndNxt = c.sndUna; // go back: resend from the oldest unacknowledged byte
    this.output(c);
    c.deadlines[TcpTimerKind.Retransmit] = this.now + c.rtt.rto;
  }

  private persistInterval(c: TcpConnection): number {
    let t = c.rtt.rto * (1 << c.persistShift);
    const min = this.config.minRtoMs;
    if (t < min) t = min;
    if (t > PERSIST_MAX_MS) t = PERSIST_MAX_MS;
    return t;
  }

  /**
   * The persist timer: a zero-window probe (RFC 9293 3.8.6.1; RFC 1122 4.2.2.17), or, when the
   * window is open but too small for sender SWS avoidance, the override timeout (RFC 9293
   * 3.8.6.2.1; RFC 1122 4.2.3.4): one segment of what the window allows, under the retransmission
   * timer. Either way the peer's ACK brings its current window.
   */
  private persistTimeout(c: TcpConnection): void {
    if (!c.persisting) return;
    if (this.unsent(c) === 0 && !this.finDue(c, 0) && c.sndNxt === c.sndUna) {
      c.persisting = false;
      return;
    }
    if (c.sndWnd > 0) {
      c.persisting = false;
      c.persistShift = 0;
      c.forceOutput = true;
      this.output(c);
      c.forceOutput = false;
      return;
    }
    this.stats.windowProbes++;
    c.sndNxt = c.sndUna; // the probe carries the first unacknowledged byte
    c.forceOutput = true;
    this.output(c);
    c.forceOutput = false;
    if (c.persistShift < 16) c.persistShift++;
    c.deadlines[TcpTimerKind.Persist] = this.now + this.persistInterval(c);
  }

  private updateKeepAlive(c: TcpConnection): void {
    const s = c.state;
    if (c.keepAlive && (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT || s === TcpState.FIN_WAIT_2)) {
      const idle = c.keepAliveIdleMs > 0 ? c.keepAliveIdleMs : this.config.keepAliveIdleMs;
      c.deadlines[TcpTimerKind.KeepAlive] =
        c.keepAliveSent === 0 ? c.lastReceived + idle : c.lastReceived + idle + c.keepAliveSent * this.config.keepAliveIntervalMs;
    } else c.deadlines[TcpTimerKind.KeepAlive] = Infinity;
  }

  /** Keep-alive (RFC 9293 3.8.4): probe with SEG.SEQ = SND.UNA - 1 and no data. */
  private keepAliveTimeout(c: TcpConnection): void {
    if (!c.keepAlive) return;
    const cfg = this.config;
    const idle = c.keepAliveIdleMs > 0 ? c.keepAliveIdleMs : cfg.keepAliveIdleMs;
    const due = c.lastReceived + idle + c.keepAliveSent * cfg.keepAliveIntervalMs;
    if (this.now < due) {
      this.updateKeepAlive(c);
      return;
    }
    if (c.keepAliveSent >= cfg.keepAliveProbes) {
      this.closeConnection(c, TcpError.ETIMEDOUT);
      return;
    }
    c.keepAliveSent++;
    this.stats.keepAliveProbes++;
    this.emit(c, seqAdd(c.sndUna, -1), 0, TCP_ACK);
    this.updateKeepAlive(c);
  }

  // =====================================================================================
  // Closing
  // =====================================================================================

  private enterTimeWait(c: TcpConnection): void {
    c.state = TcpState.TIME_WAIT;
    const d = c.deadlines;
    d[TcpTimerKind.Retransmit] = Infinity;
    d[TcpTimerKind.Persist] = Infinity;
    d[TcpTimerKind.KeepAlive] = Infinity;
    d[TcpTimerKind.Idle] = Infinity;
    d[TcpTimerKind.DelayedAck] = Infinity;
    d[TcpTimerKind.TimeWait] = this.now + 2 * this.config.mslMs;
    c.ackNow = true;
    c.sndRing = EMPTY_RING; // everything was acknowledged
    if (c.rcvRing.length === 0) c.rcvRing = EMPTY_RING; // nothing more can arrive
    // The user is done with the connection; the 4-tuple stays reserved for 2 MSL.
    this.queueEvent(c, TCP_EV_CLOSED);
    if (this.config.mslMs === 0) {
      this.output(c);
      this.closeConnection(c, TcpError.None);
    }
  }

  /** Sends RST if appropriate and deletes the TCB (user ABORT, listener close). */
  private abortConnection(c: TcpConnection): void {
    const s = c.state;
    if (s === TcpState.SYN_RECEIVED || s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 || s === TcpState.FIN_WAIT_2 || s === TcpState.CLOSE_WAIT) {
      const f = c.flow;
      this.sendReset(f.localAddress, f.localPort, f.remoteAddress, f.remotePort, c.sndNxt, 0, TCP_RST);
      if (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT) this.stats.establishedResets++;
    }
    this.closeConnection(c, TcpError.ECONNABORTED);
  }

  /** Deletes the TCB: out of the table, timer cancelled, buffers released, user told. */
  private closeConnection(c: TcpConnection, error: number): void {
    const s = c.state;
    if (s === TcpState.CLOSED) return;
    if (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT) this.stats.currentEstablished--;
    const l = c.listener;
    if (l !== null) {
      if (s === TcpState.SYN_RECEIVED) l.pending--;
      else {
        const i = l.acceptQueue.indexOf(c);
        if (i >= 0) l.acceptQueue.splice(i, 1);
      }
      c.listener = null;
    }
    c.state = TcpState.CLOSED;
    if (c.error === TcpError.None) c.error = error;
    this.remove(c);
    c.deadlines.fill(Infinity);
    if (c.timer.at !== Infinity) {
      c.timer.at = Infinity;
      this.host.cancelTimer(c.timer);
    }
    c.sndRing = EMPTY_RING;
    c.rcvRing = c.rcvRing.length > 0 ? c.rcvRing : EMPTY_RING; // unread data stays readable
    c.reassembly.clear();
    c.scoreboard.clear();
    this.queueEvent(c, TCP_EV_CLOSED);
  }

  // =====================================================================================
  // Events
  // =====================================================================================

  private queueEvent(c: TcpConnection, bits: number): void {
    c.events |= bits;
    if (!c.eventQueued) {
      c.eventQueued = true;
      if (this.eventCount < this.eventList.length) this.eventList[this.eventCount] = c;
      else this.eventList.push(c);
      this.eventCount++;
    }
  }

  /** Delivers queued events to users; callbacks may call back into the engine. */
  private flushEvents(): void {
    if (this.flushing) return;
    this.flushing = true;
    for (let i = 0; i < this.eventCount; i++) {
      const c = this.eventList[i]!;
      this.eventList[i] = null;
      try {
        this.deliver(c);
      } catch (err) {
        // A user callback threw: the engine stays consistent and the error surfaces as an
        // uncaught exception, as it would from a platform socket's event.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    this.eventCount = 0;
    this.flushing = false;
  }

  private deliver(c: TcpConnection): void {
    const ev = c.events;
    c.events = 0;
    c.eventQueued = false;
    if ((ev & TCP_EV_ACCEPT) !== 0) {
      const l = c.listener;
      if (l !== null && l.user !== null && c.state !== TcpState.CLOSED) {
        const i = l.acceptQueue.indexOf(c);
        if (i >= 0) l.acceptQueue.splice(i, 1);
        c.listener = null;
        l.user.onConnection(l, c);
      }
    }
    const u = c.user;
    if (u === null) return;
    if ((ev & TCP_EV_CONNECTED) !== 0) u.onConnected(c);
    if (c.user !== u) return;
    if ((ev & TCP_EV_READABLE) !== 0) u.onReadable(c);
    if (c.user !== u) return;
    if ((ev & TCP_EV_WRITABLE) !== 0) u.onWritable(c);
    if (c.user !== u) return;
    if ((ev & TCP_EV_FIN_ACKED) !== 0) u.onFinAcked(c);
    if (c.user !== u) return;
    if ((ev & TCP_EV_IDLE) !== 0) u.onIdleTimeout(c);
    if (c.user !== u) return;
    if ((ev & TCP_EV_CLOSED) !== 0) {
      c.user = null;
      u.onClosed(c, c.error);
    }
  }

  /** Hands queued passive opens of `l` to its user (after `l.user` was set). */
  acceptPending(l: TcpListener): void {
    if (l.user === null) return;
    for (const c of l.acceptQueue) this.queueEvent(c, TCP_EV_ACCEPT);
    this.flushEvents();
  }

  // =====================================================================================
  // Connection table and ports
  // =====================================================================================

  private hash(local: Uint8Array, lport: number, remote: Uint8Array, rport: number): number {
    let h = this.secrets.tableKey ^ ((lport << 16) | rport);
    for (let i = 0; i < 16; i += 4) {
      h = Math.imul(h ^ ((local[i]! << 24) | (local[i + 1]! << 16) | (local[i + 2]! << 8) | local[i + 3]!), 0x9e3779b1);
      h = Math.imul(h ^ ((remote[i]! << 24) | (remote[i + 1]! << 16) | (remote[i + 2]! << 8) | remote[i + 3]!), 0x85ebca77);
      h ^= h >>> 15;
    }
    return h >>> 0;
  }

  private lookup(local: Uint8Array, lport: number, remote: Uint8Array, rport: number): TcpConnection | null {
    // One-entry cache: consecutive segments usually belong to the same connection.
    const last = this.lastLookup;
    if (last !== null) {
      const f = last.flow;
      if (f.localPort === lport && f.remotePort === rport && last.state !== TcpState.CLOSED && sameAddress(f.remoteAddress, remote) && sameAddress(f.localAddress, local)) {
        return last;
      }
    }
    const h = this.hash(local, lport, remote, rport);
    for (let c = this.buckets[h & this.bucketMask] ?? null; c !== null; c = c.hashNext) {
      const f = c.flow;
      if (c.hashKey === h && f.localPort === lport && f.remotePort === rport && sameAddress(f.localAddress, local) && sameAddress(f.remoteAddress, remote)) {
        this.lastLookup = c;
        return c;
      }
    }
    return null;
  }

  private insert(c: TcpConnection): void {
    const f = c.flow;
    c.hashKey = this.hash(f.localAddress, f.localPort, f.remoteAddress, f.remotePort);
    if (this.connectionCount >= this.buckets.length) this.grow();
    const i = c.hashKey & this.bucketMask;
    c.hashNext = this.buckets[i] ?? null;
    this.buckets[i] = c;
    this.connectionCount++;
  }

  private remove(c: TcpConnection): void {
    const i = c.hashKey & this.bucketMask;
    let p = this.buckets[i] ?? null;
    if (p === c) {
      this.buckets[i] = c.hashNext;
    } else {
      while (p !== null && p.hashNext !== c) p = p.hashNext;
      if (p === null) return;
      p.hashNext = c.hashNext;
    }
    c.hashNext = null;
    if (this.lastLookup === c) this.lastLookup = null;
    this.connectionCount--;
  }

  private grow(): void {
    const old = this.buckets;
    const size = old.length * 2;
    this.buckets = new Array<TcpConnection | null>(size).fill(null);
    this.bucketMask = size - 1;
    for (let i = 0; i < old.length; i++) {
      let c = old[i] ?? null;
      while (c !== null) {
        const next = c.hashNext;
        const j = c.hashKey & this.bucketMask;
        c.hashNext = this.buckets[j] ?? null;
        this.buckets[j] = c;
        c = next;
      }
    }
  }

  private findListener(local: Uint8Array, port: number): TcpListener | null {
    let best: TcpListener | null = null;
    for (let l = this.listeners.get(port) ?? null; l !== null; l = l.next) {
      if (l.wildcard === WILDCARD_NONE) {
        if (sameAddress(l.address, local)) return l;
      } else if (l.wildcard === WILDCARD_ANY || isIpv4Mapped(local)) best = l;
    }
    return best;
  }

  private pickEphemeralPort(local: Uint8Array, remote: Uint8Array, rport: number): number {
    const cfg = this.config;
    const n = cfg.ephemeralPortMax - cfg.ephemeralPortMin + 1;
    const offset = this.secrets.portOffset(local, remote, rport);
    for (let i = 0; i < n; i++) {
      const port = cfg.ephemeralPortMin + ((offset + this.nextEphemeral + i) % n);
      const old = this.lookup(local, port, remote, rport);
      if (old === null) {
        this.nextEphemeral += i + 1;
        return port;
      }
    }
    throw new TcpUsageError('ERR_TCP_NO_PORT', 'no ephemeral port is free towards that address and port; widen the ephemeral port range.');
  }

  private pickListenPort(): number {
    const cfg = this.config;
    const n = cfg.ephemeralPortMax - cfg.ephemeralPortMin + 1;
    for (let i = 0; i < n; i++) {
      const port = cfg.ephemeralPortMin + ((this.nextEphemeral + i) % n);
      if (!this.listeners.has(port)) {
        this.nextEphemeral += i + 1;
        return port;
      }
    }
    throw new TcpUsageError('ERR_TCP_NO_PORT', 'no free port to listen on; widen the ephemeral port range.');
  }
}

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 15; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

function isUnspecified(a: Uint8Array): boolean {
  // :: or ::ffff:0.0.0.0
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  const mapped = a[10] === 0xff && a[11] === 0xff;
  if (!mapped && (a[10] !== 0 || a[11] !== 0)) return false;
  return a[12] === 0 && a[13] === 0 && a[14] === 0 && a[15] === 0;
}
