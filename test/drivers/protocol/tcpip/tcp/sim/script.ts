/**
 * A scripted peer for engine tests in the smoltcp style: the engine under test talks to a
 * `ScriptHost`, which records every segment it transmits (parsed into `Seg` records) and lets the
 * test inject segments built from templates. Time is virtual; `advance(ms)` fires due timers in
 * order.
 */
import assert from 'node:assert/strict';
import { TcpEngine } from '../../../../../../src/drivers/protocol/tcpip/tcp/engine.js';
import type { TcpEngineOptions } from '../../../../../../src/drivers/protocol/tcpip/tcp/config.js';
import type { TcpFlow, TcpHost, TcpSegmentSpace, TcpTimer } from '../../../../../../src/drivers/protocol/tcpip/tcp/host.js';
import type { TcpConnection, TcpConnectionUser, TcpListener, TcpListenerUser } from '../../../../../../src/drivers/protocol/tcpip/tcp/connection.js';
import { isIpv4Mapped, parseIp } from '../../../../../../src/wire/address.js';
import type { IpAddress } from '../../../../../../src/wire/address.js';
import {
  TcpHeaderRepr,
  TcpOptionWalker,
  TcpView,
  emitTcpHeader,
  formatTcpFlags,
  readTcpHeader,
  TCP_OPT_HAS_MSS,
  TCP_OPT_HAS_SACK_PERMITTED,
  TCP_OPT_HAS_TIMESTAMP,
  TCP_OPT_HAS_WINDOW_SCALE,
} from '../../../../../../src/wire/tcp.js';
import { tcpChecksum } from './checksum.js';
import { Rng } from './rng.js';

/** A segment as tests see it. Optional fields absent from a sent segment are `undefined`. */
export interface Seg {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent?: number | undefined;
  mss?: number | undefined;
  ws?: number | undefined;
  sackOk?: boolean | undefined;
  ts?: [number, number] | undefined;
  sack?: [number, number][] | undefined;
  payload?: Uint8Array | undefined;
  /** LSO segment size the engine asked for (sent segments only). */
  segmentMss?: number | undefined;
}

/** Human form of a segment for failure messages. */
export function show(s: Seg): string {
  const parts = [`${formatTcpFlags(s.flags)} seq=${s.seq} ack=${s.ack} win=${s.window} len=${s.payload?.length ?? 0}`];
  if (s.mss !== undefined) parts.push(`mss=${s.mss}`);
  if (s.ws !== undefined) parts.push(`ws=${s.ws}`);
  if (s.sackOk === true) parts.push('sackOk');
  if (s.ts !== undefined) parts.push(`ts=${s.ts[0]}/${s.ts[1]}`);
  if (s.sack !== undefined) parts.push(`sack=${JSON.stringify(s.sack)}`);
  return parts.join(' ');
}

/** The local (engine) and remote (script) addresses used by default. */
export const LOCAL = '192.168.1.1';
export const REMOTE = '192.168.1.2';

export class ScriptHost implements TcpHost {
  time = 0;
  readonly engine: TcpEngine;
  readonly local: IpAddress;
  readonly remote: IpAddress;
  readonly sent: Seg[] = [];
  mtu = 1500;
  offloadSize = 0;
  failAllocations = false;
  /** Verify our own checksum of every transmitted segment (the engine leaves it 0). */
  readonly checksumsSeen: number[] = [];
  private readonly timers = new Map<TcpTimer, number>();
  private readonly rng: Rng;
  private readonly view = new TcpView();
  private readonly walker = new TcpOptionWalker();
  private readonly repr = new TcpHeaderRepr();

  constructor(options: TcpEngineOptions = {}, seed = 1, local = LOCAL, remote = REMOTE) {
    this.rng = new Rng(seed);
    this.local = parseIp(local)!;
    this.remote = parseIp(remote)!;
    this.engine = new TcpEngine(this, options);
  }

  // ---- TcpHost ----
  now(): number {
    return this.time;
  }
  setTimer(timer: TcpTimer, at: number): void {
    this.timers.set(timer, at);
  }
  cancelTimer(timer: TcpTimer): void {
    this.timers.delete(timer);
  }
  fillRandom(out: Uint8Array): void {
    this.rng.fill(out);
  }
  maxSegmentSize(flow: TcpFlow): number {
    return this.mtu - (isIpv4Mapped(flow.remoteAddress) ? 40 : 60);
  }
  sendOffloadSize(): number {
    return this.offloadSize;
  }
  selectSourceAddress(_remote: IpAddress, out: IpAddress): boolean {
    out.set(this.local);
    return true;
  }
  allocateSegment(_flow: TcpFlow, length: number, space: TcpSegmentSpace): boolean {
    if (this.failAllocations) return false;
    space.bytes = new Uint8Array(length + 40);
    space.offset = 40;
    return true;
  }
  transmitSegment(flow: TcpFlow, space: TcpSegmentSpace, length: number, segmentMss: number): void {
    const bytes = space.bytes.slice(space.offset, space.offset + length);
    const v = this.view;
    assert.equal(v.wrap(bytes, 0, length), 0, 'engine sent a malformed header');
    assert.equal(v.checksum(), 0, 'engine must leave the checksum to the host');
    this.checksumsSeen.push(tcpChecksum(flow.localAddress, flow.remoteAddress, bytes, 0, length));
    assert.equal(readTcpHeader(v, this.repr, this.walker), 0, 'engine sent malformed options');
    const seg = toSeg(this.repr, bytes.slice(v.headerLength()));
    if (segmentMss > 0) seg.segmentMss = segmentMss;
    this.sent.push(seg);
  }

  // ---- script helpers ----

  /** Advances the clock by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let next: TcpTimer | null = null;
      let at = Infinity;
      for (const [t, a] of this.timers) {
        if (a < at) {
          at = a;
          next = t;
        }
      }
      if (next === null || at > until) break;
      this.timers.delete(next);
      if (at > this.time) this.time = at;
      next.fire();
    }
    this.time = until;
  }

  /** When the earliest armed timer is due, or Infinity. */
  nextTimer(): number {
    let at = Infinity;
    for (const a of this.timers.values()) if (a < at) at = a;
    return at;
  }

  /** Returns and clears the segments sent so far. */
  take(): Seg[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** Asserts exactly one segment was sent and returns it. */
  one(what = 'segment'): Seg {
    const s = this.take();
    assert.equal(s.length, 1, `expected one ${what}, got ${s.length}: ${s.map(show).join(' | ')}`);
    return s[0]!;
  }

  /** Asserts nothing was sent. */
  none(what = 'nothing'): void {
    const s = this.take();
    assert.equal(s.length, 0, `expected ${what}, got ${s.map(show).join(' | ')}`);
  }

  /** Builds `seg` and hands it to the engine as if it came from the remote address. */
  inject(seg: Seg): void {
    const r = new TcpHeaderRepr();
    r.srcPort = seg.srcPort;
    r.dstPort = seg.dstPort;
    r.seq = seg.seq >>> 0;
    r.ack = seg.ack >>> 0;
    r.flags = seg.flags;
    r.window = seg.window;
    r.urgent = seg.urgent ?? 0;
    const o = r.options;
    if (seg.mss !== undefined) o.setMss(seg.mss);
    if (seg.ws !== undefined) o.setWindowScale(seg.ws);
    if (seg.sackOk === true) o.setSackPermitted();
    if (seg.ts !== undefined) o.setTimestamp(seg.ts[0], seg.ts[1]);
    if (seg.sack !== undefined) for (const [a, b] of seg.sack) o.addSackBlock(a, b);
    const payload = seg.payload ?? new Uint8Array(0);
    const hl = r.headerLength();
    const bytes = new Uint8Array(hl + payload.length);
    emitTcpHeader(bytes, 0, r);
    bytes.set(payload, hl);
    this.engine.input(this.local, this.remote, bytes, 0, bytes.length);
  }

  /** Injects raw bytes. */
  injectBytes(bytes: Uint8Array): void {
    this.engine.input(this.local, this.remote, bytes, 0, bytes.length);
  }
}

function toSeg(r: TcpHeaderRepr, payload: Uint8Array): Seg {
  const o = r.options;
  const s: Seg = { srcPort: r.srcPort, dstPort: r.dstPort, seq: r.seq, ack: r.ack, flags: r.flags, window: r.window };
  if (r.urgent !== 0) s.urgent = r.urgent;
  if ((o.present & TCP_OPT_HAS_MSS) !== 0) s.mss = o.mss;
  if ((o.present & TCP_OPT_HAS_WINDOW_SCALE) !== 0) s.ws = o.windowScale;
  if ((o.present & TCP_OPT_HAS_SACK_PERMITTED) !== 0) s.sackOk = true;
  if ((o.present & TCP_OPT_HAS_TIMESTAMP) !== 0) s.ts = [o.tsVal, o.tsEcr];
  if (o.sackCount > 0) {
    s.sack = [];
    for (let i = 0; i < o.sackCount; i++) s.sack.push([o.sackBlocks[2 * i]!, o.sackBlocks[2 * i + 1]!]);
  }
  if (payload.length > 0) s.payload = payload;
  return s;
}

/** Records what a connection reports, for assertions. */
export class Recorder implements TcpConnectionUser, TcpListenerUser {
  readonly events: string[] = [];
  readonly data: number[] = [];
  accepted: TcpConnection[] = [];
  closedWith = -1;
  /** Read incoming data as it arrives (otherwise it stays in the receive buffer). */
  autoRead = true;

  onConnection(_l: TcpListener, c: TcpConnection): void {
    this.events.push('accept');
    this.accepted.push(c);
    c.user = this;
    if (this.autoRead) this.drain(c);
  }
  onConnected(): void {
    this.events.push('connected');
  }
  onReadable(c: TcpConnection): void {
    this.events.push('readable');
    if (this.autoRead) this.drain(c);
  }
  drain(c: TcpConnection): void {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = c.receive(buf, 0, buf.length);
      if (n === 0) break;
      for (let i = 0; i < n; i++) this.data.push(buf[i]!);
    }
  }
  onWritable(): void {
    this.events.push('writable');
  }
  onFinAcked(): void {
    this.events.push('fin-acked');
  }
  onIdleTimeout(): void {
    this.events.push('idle');
  }
  onClosed(_c: TcpConnection, error: number): void {
    this.events.push(`closed:${error}`);
    this.closedWith = error;
  }
}

/** `n` bytes 0, 1, 2, ... (mod 256), offset by `start`. */
export function bytes(n: number, start = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}
