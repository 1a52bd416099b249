/**
 * Node.js-style sockets over the TCP engine: `TcpSocket` is a `stream.Duplex` shaped like
 * `net.Socket` (connect, write with backpressure from the send buffer, reads driven by the receive
 * buffer, `end()` as a half close, `destroy()` as an abort, `setNoDelay`, `setKeepAlive`,
 * `setTimeout`, addresses, byte counters, Node's error codes), and `TcpServer` is shaped like
 * `net.Server` (`listen`, 'connection', `close`). Node's own `http` module runs over them:
 * `server.emit('connection', socket)` for a server and `createConnection: () => socket` for a
 * client.
 *
 * This is the edge where the engine meets user code, so allocation here is fine: received data is
 * copied out of the receive ring into a fresh Buffer per read. Everything below stays in the engine.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import type { TcpEngine } from './engine.js';
import type { TcpConnection, TcpConnectionUser, TcpListener, TcpListenerUser } from './connection.js';
import type { TcpConnectionOptions } from './config.js';
import { TcpUsageError } from './config.js';
import { TcpState, TcpError, tcpErrorName } from './state.js';
import { formatIp, isIpv4Mapped, parseIp } from '../../../../wire/address.js';

/** Largest chunk pushed to the readable side at once. */
const READ_CHUNK = 65536;

/** Options of `new TcpSocket(engine, options)`. */
export interface TcpSocketOptions {
  /** Keep the writable side open after the readable side ends (net.Socket default: false). */
  allowHalfOpen?: boolean;
  /** Readable high water mark in bytes. */
  readableHighWaterMark?: number;
  /** Writable high water mark in bytes. */
  writableHighWaterMark?: number;
}

/** Options of `TcpSocket.connect`, as for `net.Socket.connect` (addresses are IP literals). */
export interface TcpSocketConnectOptions {
  /** Remote port. */
  port: number;
  /** Remote IP address (IPv4 or IPv6 literal; names are not resolved). Default `127.0.0.1`. */
  host?: string;
  /** Local IP address to connect from. */
  localAddress?: string;
  /** Local port to connect from (0 or absent: ephemeral). */
  localPort?: number;
  /** Disable Nagle's algorithm. */
  noDelay?: boolean;
  /** Enable keep-alive. */
  keepAlive?: boolean;
  /** Keep-alive idle time before the first probe, ms. */
  keepAliveInitialDelay?: number;
  /** Idle timeout, ms (as `setTimeout`). */
  timeout?: number;
  /** Congestion control for this connection. */
  congestionControl?: 'newreno' | 'cubic';
}

/** An error shaped like Node's system errors (`code`, `errno`, `syscall`, `address`, `port`). */
export interface TcpSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

function systemError(code: string, syscall: string, address?: string, port?: number): TcpSystemError {
  const errnos = osConstants.errno as Record<string, number | undefined>;
  const where = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : '';
  const err = new Error(`${syscall} ${code}${where}`) as TcpSystemError;
  err.code = code;
  err.errno = -(errnos[code] ?? 0);
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

/** Forwards connection events to its socket (keeps the socket's own API free of engine callbacks). */
class SocketLink implements TcpConnectionUser {
  constructor(readonly socket: TcpSocket) {}
  onConnected(): void {
    this.socket[kOnConnected]();
  }
  onReadable(): void {
    this.socket[kPull]();
  }
  onWritable(): void {
    this.socket[kOnWritable]();
  }
  onFinAcked(): void {
    this.socket[kOnFinAcked]();
  }
  onIdleTimeout(): void {
    this.socket.emit('timeout');
  }
  onClosed(_c: TcpConnection, error: number): void {
    this.socket[kOnClosed](error);
  }
}

const kOnConnected = Symbol('onConnected');
const kPull = Symbol('pull');
const kOnWritable = Symbol('onWritable');
const kOnFinAcked = Symbol('onFinAcked');
const kOnClosed = Symbol('onClosed');
const kAttach = Symbol('attach');

/**
 * A TCP connection as a duplex stream, modelled on `net.Socket`. Create it with an engine and call
 * `connect`, or receive it from a `TcpServer`'s 'connection' event.
 */
export class TcpSocket extends Duplex {
  /** Engine that carries the connection. */
  readonly engine: TcpEngine;
  /** True between `connect()` and the 'connect' event. */
  connecting: boolean;
  /** Bytes delivered to the readable side. */
  bytesRead: number;
  /** Idle timeout in ms set with `setTimeout` (0 = none). */
  timeout: number;
  private conn: TcpConnection | null;
  private readonly link: SocketLink;
  private reading: boolean;
  private eofPushed: boolean;
  private written: number;
  private pendingChunk: Uint8Array | null;
  private pendingOffset: number;
  private pendingCallback: ((err?: Error | null) => void) | null;
  private finalCallback: ((err?: Error | null) => void) | null;
  private noDelaySetting: boolean;
  private keepAliveSetting: boolean;
  private keepAliveDelay: number;
  private remotePortValue: number | undefined;
  private remoteAddressValue: string | undefined;
  private connected: boolean;

  constructor(engine: TcpEngine, options: TcpSocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
    });
    this.engine = engine;
    this.connecting = false;
    this.bytesRead = 0;
    this.timeout = 0;
    this.conn = null;
    this.link = new SocketLink(this);
    this.reading = false;
    this.eofPushed = false;
    this.written = 0;
    this.pendingChunk = null;
    this.pendingOffset = 0;
    this.pendingCallback = null;
    this.finalCallback = null;
    this.noDelaySetting = false;
    this.keepAliveSetting = false;
    this.keepAliveDelay = 0;
    this.remotePortValue = undefined;
    this.remoteAddressValue = undefined;
    this.connected = false;
  }

  /**
   * Opens the connection (an active OPEN on the engine). Accepts `(options[, listener])` or
   * `(port[, host][, listener])` like `net.Socket.connect`; `listener` is added for 'connect'.
   * Failures are reported through 'error' (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, EADDRINUSE ...).
   */
  connect(options: TcpSocketConnectOptions, listener?: () => void): this;
  connect(port: number, host?: string, listener?: () => void): this;
  connect(port: number, listener?: () => void): this;
  connect(a: TcpSocketConnectOptions | number, b?: string | (() => void), c?: () => void): this {
    let o: TcpSocketConnectOptions;
    let listener: (() => void) | undefined;
    if (typeof a === 'number') {
      o = { port: a };
      if (typeof b === 'string') {
        o.host = b;
        listener = c;
      } else listener = b;
    } else {
      o = a;
      listener = typeof b === 'function' ? b : c;
    }
    if (this.conn !== null) throw new TcpUsageError('ERR_SOCKET_CONNECTED', 'connect() on a socket that is already connected or connecting.');
    if (listener !== undefined) this.once('connect', listener);
    const host = o.host ?? '127.0.0.1';
    const remote = parseIp(host);
    this.remoteAddressValue = host;
    this.remotePortValue = o.port;
    if (remote === null) {
      process.nextTick(() => this.destroy(systemError('ENOTFOUND', 'getaddrinfo', host)));
      return this;
    }
    let local: Uint8Array | null = null;
    if (o.localAddress !== undefined) {
      local = parseIp(o.localAddress);
      if (local === null) {
        throw new TcpUsageError('ERR_INVALID_IP_ADDRESS', `localAddress must be an IP address. Received ${JSON.stringify(o.localAddress)}.`);
      }
    }
    if (o.noDelay === true) this.noDelaySetting = true;
    if (o.keepAlive === true) {
      this.keepAliveSetting = true;
      this.keepAliveDelay = o.keepAliveInitialDelay ?? 0;
    }
    const copts: TcpConnectionOptions = { noDelay: this.noDelaySetting, keepAlive: this.keepAliveSetting };
    if (this.keepAliveDelay > 0) copts.keepAliveIdleMs = this.keepAliveDelay;
    if (o.congestionControl !== undefined) copts.congestionControl = o.congestionControl;
    this.connecting = true;
    try {
      this.conn = this.engine.connect(remote, o.port, local, o.localPort ?? 0, this.link, copts);
    } catch (err) {
      this.connecting = false;
      const code = err instanceof TcpUsageError ? err.code : '';
      const mapped =
        code === 'ERR_TCP_ADDRESS_IN_USE' ? 'EADDRINUSE' : code === 'ERR_TCP_UNREACHABLE' ? 'EHOSTUNREACH' : code === 'ERR_TCP_NO_PORT' ? 'EADDRNOTAVAIL' : '';
      if (mapped === '') throw err;
      process.nextTick(() => this.destroy(systemError(mapped, 'connect', host, o.port)));
      return this;
    }
    if (o.timeout !== undefined) this.setTimeout(o.timeout);
    return this;
  }

  /** Adopts a connection accepted by a listener. */
  [kAttach](conn: TcpConnection): void {
    this.conn = conn;
    this.connected = true;
    conn.user = this.link;
    this.remoteAddressValue = formatIp(conn.flow.remoteAddress);
    this.remotePortValue = conn.flow.remotePort;
    if (conn.readableLength() > 0 || conn.endOfStream()) process.nextTick(() => this[kPull]());
  }

  [kOnConnected](): void {
    this.connecting = false;
    this.connected = true;
    if (this.conn !== null) {
      if (this.noDelaySetting) this.conn.setNoDelay(true);
      if (this.timeout > 0) this.conn.setIdleTimeout(this.timeout);
    }
    this.emit('connect');
    this.emit('ready');
    this[kPull]();
  }

  /** Moves received data from the receive ring to the readable side while it wants more. */
  [kPull](): void {
    const c = this.conn;
    if (c === null || !this.reading || this.eofPushed) return;
    for (;;) {
      const avail = c.readableLength();
      if (avail === 0) {
        if (c.endOfStream()) {
          this.eofPushed = true;
          this.push(null);
        }
        return;
      }
      const buf = Buffer.allocUnsafe(avail < READ_CHUNK ? avail : READ_CHUNK);
      const n = c.receive(buf, 0, buf.length);
      this.bytesRead += n;
      if (!this.push(buf)) {
        this.reading = false;
        return;
      }
    }
  }

  [kOnWritable](): void {
    const chunk = this.pendingChunk;
    const c = this.conn;
    if (chunk === null || c === null || c.state === TcpState.CLOSED) return;
    const n = c.send(chunk, this.pendingOffset, chunk.length - this.pendingOffset);
    this.pendingOffset += n;
    this.written += n;
    if (this.pendingOffset === chunk.length) {
      const cb = this.pendingCallback!;
      this.pendingChunk = null;
      this.pendingCallback = null;
      cb();
    }
  }

  [kOnFinAcked](): void {
    const cb = this.finalCallback;
    if (cb !== null) {
      this.finalCallback = null;
      cb();
    }
  }

  [kOnClosed](error: number): void {
    this.connecting = false;
    if (error !== TcpError.None) {
      const code = tcpErrorName(error);
      const syscall = this.connected ? 'read' : 'connect';
      this.destroy(systemError(code, syscall, this.remoteAddressValue, this.remotePortValue));
      return;
    }
    // Orderly close: let the readable side drain what is buffered; complete a pending end().
    this[kOnFinAcked]();
    this[kPull]();
  }

  override _read(): void {
    this.reading = true;
    this[kPull]();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const c = this.conn;
    if (c === null) {
      callback(new TcpUsageError('ERR_SOCKET_CLOSED', 'write before connect(): call connect() first.'));
      return;
    }
    if (c.writableLength() === 0 && (c.state === TcpState.CLOSED || c.finQueued)) {
      callback(systemError('EPIPE', 'write'));
      return;
    }
    const n = c.send(chunk, 0, chunk.length);
    this.written += n;
    if (n === chunk.length) {
      callback();
      return;
    }
    this.pendingChunk = chunk;
    this.pendingOffset = n;
    this.pendingCallback = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    const c = this.conn;
    if (c === null || c.state === TcpState.CLOSED) {
      callback();
      return;
    }
    this.finalCallback = callback;
    c.shutdown();
    if (c.finAcked) this[kOnFinAcked]();
  }

  /**
   * Destroys the socket. A connection open in both directions is aborted with RST (RFC 9293
   * ABORT): unsent and unread data are discarded and the peer sees ECONNRESET. A connection already
   * closing in one direction (the peer's FIN received, or our `end()` sent) is closed the way
   * closing a platform socket does (`TcpConnection.close`): it finishes its handshake on its own,
   * unless unread data makes that an abort too.
   */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const c = this.conn;
    if (c !== null) {
      c.user = null;
      const s = c.state;
      if (s !== TcpState.CLOSED && s !== TcpState.TIME_WAIT) {
        if (c.rcvFin || c.finQueued) c.close();
        else c.abort();
      }
    }
    const cb = this.pendingCallback;
    if (cb !== null) {
      this.pendingCallback = null;
      this.pendingChunk = null;
      cb(err ?? systemError('EPIPE', 'write'));
    }
    callback(err);
  }

  /** Closes with RST at once, whatever the state (net.Socket.resetAndDestroy). */
  resetAndDestroy(): this {
    const c = this.conn;
    if (c !== null && c.state !== TcpState.CLOSED) {
      c.user = null;
      c.abort();
    }
    this.destroy();
    return this;
  }

  /** Half-closes after writing, then destroys when done (net.Socket.destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Turns Nagle's algorithm off (`true`, the default argument) or on. */
  setNoDelay(noDelay = true): this {
    this.noDelaySetting = noDelay;
    if (this.conn !== null) this.conn.setNoDelay(noDelay);
    return this;
  }

  /** Turns keep-alive on or off; `initialDelay` > 0 sets the idle time before the first probe (ms). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAliveSetting = enable;
    this.keepAliveDelay = initialDelay;
    if (this.conn !== null) this.conn.setKeepAlive(enable, initialDelay);
    return this;
  }

  /** Emits 'timeout' after `ms` of inactivity (0 disables); the engine's clock measures it. */
  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = ms;
    if (callback !== undefined) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    if (this.conn !== null) this.conn.setIdleTimeout(ms);
    return this;
  }

  /** No-op kept for net.Socket compatibility (the engine's timers do not hold a Node event loop). */
  ref(): this {
    return this;
  }

  /** No-op kept for net.Socket compatibility. */
  unref(): this {
    return this;
  }

  /** Local address as `{ address, family, port }`, or `{}` before connecting. */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const c = this.conn;
    if (c === null) return {};
    return { address: formatIp(c.flow.localAddress), family: isIpv4Mapped(c.flow.localAddress) ? 'IPv4' : 'IPv6', port: c.flow.localPort };
  }

  /** Remote address text, as `net.Socket.remoteAddress`. */
  get remoteAddress(): string | undefined {
    return this.conn !== null ? formatIp(this.conn.flow.remoteAddress) : undefined;
  }
  /** Remote port. */
  get remotePort(): number | undefined {
    return this.conn !== null ? this.conn.flow.remotePort : undefined;
  }
  /** 'IPv4' or 'IPv6'. */
  get remoteFamily(): string | undefined {
    return this.conn !== null ? (isIpv4Mapped(this.conn.flow.remoteAddress) ? 'IPv4' : 'IPv6') : undefined;
  }
  /** Local address text. */
  get localAddress(): string | undefined {
    return this.conn !== null ? formatIp(this.conn.flow.localAddress) : undefined;
  }
  /** Local port. */
  get localPort(): number | undefined {
    return this.conn !== null ? this.conn.flow.localPort : undefined;
  }
  /** 'IPv4' or 'IPv6'. */
  get localFamily(): string | undefined {
    return this.conn !== null ? (isIpv4Mapped(this.conn.flow.localAddress) ? 'IPv4' : 'IPv6') : undefined;
  }
  /** Bytes accepted into the send buffer. */
  get bytesWritten(): number {
    return this.written;
  }
  /** True until the connection is established. */
  get pending(): boolean {
    return this.conn === null || this.connecting;
  }
  /** 'opening', 'open', 'readOnly', 'writeOnly' or 'closed' (as net.Socket). */
  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }
  /** The engine connection (TCB) behind the socket, for inspection. */
  get connection(): TcpConnection | null {
    return this.conn;
  }
}

/** Options of `new TcpServer(engine, options)`. */
export interface TcpServerOptions {
  /** Sockets keep their writable side open after the readable side ends. */
  allowHalfOpen?: boolean;
  /** Disable Nagle's algorithm on accepted connections. */
  noDelay?: boolean;
  /** Enable keep-alive on accepted connections. */
  keepAlive?: boolean;
  /** Keep-alive idle time, ms. */
  keepAliveInitialDelay?: number;
  /** Congestion control for accepted connections. */
  congestionControl?: 'newreno' | 'cubic';
}

/** A passive open as an event emitter, modelled on `net.Server`. */
export class TcpServer extends EventEmitter implements TcpListenerUser {
  /** Engine that carries the connections. */
  readonly engine: TcpEngine;
  private listener: TcpListener | null;
  private readonly options: TcpServerOptions;
  private readonly sockets: Set<TcpSocket>;
  private closing: boolean;

  constructor(engine: TcpEngine, options: TcpServerOptions = {}, connectionListener?: (socket: TcpSocket) => void) {
    super();
    this.engine = engine;
    this.listener = null;
    this.options = options;
    this.sockets = new Set();
    this.closing = false;
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  /**
   * Listens on `port` (0 picks one) of `address` (default: every address, dual stack). Emits
   * 'listening' (and calls `callback`) on the next tick; throws `TcpUsageError` when the port is in
   * use.
   */
  listen(port: number, address?: string | (() => void), backlog?: number | (() => void), callback?: () => void): this {
    let addr: string | undefined;
    let bl = 0;
    let cb = callback;
    if (typeof address === 'function') cb = address;
    else addr = address;
    if (typeof backlog === 'function') cb = backlog;
    else if (typeof backlog === 'number') bl = backlog;
    let ip: Uint8Array | null = null;
    if (addr !== undefined) {
      ip = parseIp(addr);
      if (ip === null) throw new TcpUsageError('ERR_INVALID_IP_ADDRESS', `address must be an IP address. Received ${JSON.stringify(addr)}.`);
    }
    const o = this.options;
    const copts: TcpConnectionOptions = {};
    if (o.noDelay !== undefined) copts.noDelay = o.noDelay;
    if (o.congestionControl !== undefined) copts.congestionControl = o.congestionControl;
    this.listener = this.engine.listen(port, ip, bl, this, copts);
    if (cb !== undefined) this.once('listening', cb);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** TcpListenerUser: a connection reached ESTABLISHED. */
  onConnection(_l: TcpListener, conn: TcpConnection): void {
    const o = this.options;
    const s = new TcpSocket(this.engine, { allowHalfOpen: o.allowHalfOpen ?? false });
    s[kAttach](conn);
    if (o.keepAlive === true) s.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
    this.sockets.add(s);
    s.once('close', () => {
      this.sockets.delete(s);
      this.maybeClosed();
    });
    this.emit('connection', s);
  }

  /** `{ address, family, port }` of the listener, or null when not listening. */
  address(): { address: string; family: string; port: number } | null {
    const l = this.listener;
    if (l === null) return null;
    if (l.wildcard === 2) return { address: '::', family: 'IPv6', port: l.port };
    if (l.wildcard === 1) return { address: '0.0.0.0', family: 'IPv4', port: l.port };
    return { address: formatIp(l.address), family: isIpv4Mapped(l.address) ? 'IPv4' : 'IPv6', port: l.port };
  }

  /** True while listening. */
  get listening(): boolean {
    return this.listener !== null;
  }

  /** Stops accepting; 'close' follows once every accepted socket has closed. */
  close(callback?: (err?: Error) => void): this {
    if (callback !== undefined) this.once('close', callback);
    if (this.listener !== null) {
      this.listener.close();
      this.listener = null;
    }
    this.closing = true;
    process.nextTick(() => this.maybeClosed());
    return this;
  }

  /** Number of open accepted sockets. */
  getConnections(callback: (err: Error | null, count: number) => void): this {
    const n = this.sockets.size;
    process.nextTick(() => callback(null, n));
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.sockets.size === 0) {
      this.closing = false;
      this.emit('close');
    }
  }
}

/** Creates a socket and connects it (net.createConnection). */
export function createConnection(engine: TcpEngine, options: TcpSocketConnectOptions & TcpSocketOptions, listener?: () => void): TcpSocket {
  const s = new TcpSocket(engine, options);
  return s.connect(options, listener);
}

/** Creates a server (net.createServer). */
export function createServer(engine: TcpEngine, options: TcpServerOptions = {}, connectionListener?: (socket: TcpSocket) => void): TcpServer {
  return new TcpServer(engine, options, connectionListener);
}
