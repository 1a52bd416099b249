/**
 * An in-memory network for TCP engine tests: hosts that implement `TcpHost` over one virtual
 * clock, joined by links with a deterministic impairment model (seeded loss, reordering,
 * duplication, corruption, delay, optional bandwidth and queue limit). Every segment a host sends
 * gets an RFC 1071 checksum from the test's own implementation; receivers verify it, so a
 * corrupted segment is dropped and counted here, before the engine sees it. Each transmitted
 * segment is written to a trace whose SHA-256 identifies the run.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { TcpEngine } from '../../../../../../src/drivers/protocol/tcpip/tcp/engine.js';
import type { TcpEngineOptions } from '../../../../../../src/drivers/protocol/tcpip/tcp/config.js';
import type { TcpFlow, TcpHost, TcpSegmentSpace, TcpTimer } from '../../../../../../src/drivers/protocol/tcpip/tcp/host.js';
import { formatIp, isIpv4Mapped, parseIp } from '../../../../../../src/wire/address.js';
import type { IpAddress } from '../../../../../../src/wire/address.js';
import { TcpView, formatTcpFlags } from '../../../../../../src/wire/tcp.js';
import { tcpChecksum } from './checksum.js';
import { Rng } from './rng.js';

/** Impairments applied to every segment on a link. Probabilities are per segment. */
export interface Impairments {
  /** One-way delay, ms. Default 1. */
  delayMs?: number;
  /** Probability a segment is lost. */
  loss?: number;
  /** Probability a segment is held back by `reorderDelayMs` (arriving after later ones). */
  reorder?: number;
  /** Extra delay of a reordered segment, ms. Default 3 * delay. */
  reorderDelayMs?: number;
  /** Probability a segment is delivered twice. */
  duplicate?: number;
  /** Probability one byte of a segment is flipped (caught by the checksum). */
  corrupt?: number;
  /** Link rate in bytes per ms (0 = unlimited). */
  bytesPerMs?: number;
  /** Queue limit in bytes at the link input when rate-limited (drop tail). 0 = unlimited. */
  queueBytes?: number;
}

/** Per-host settings. */
export interface SimHostOptions {
  /** MTU of the host's interface. Default 1500. */
  mtu?: number;
  /** Large send offload size offered to the engine (0 = none). */
  offloadSize?: number;
  /** Cut offload segments into MSS-sized ones on the wire (software LSO); otherwise deliver them whole. */
  segmentOffload?: boolean;
  /** Engine settings. */
  engine?: TcpEngineOptions;
  /** Refuse every Nth allocation (0 = never), to exercise the allocation-failure path. */
  failEveryNthAllocation?: number;
}

interface Event {
  at: number;
  seq: number;
  timer: TcpTimer | null;
  gen: number;
  fn: (() => void) | null;
}

/** Counters of what the network did. */
export class NetStats {
  sent = 0;
  delivered = 0;
  lost = 0;
  duplicated = 0;
  reordered = 0;
  corrupted = 0;
  checksumDrops = 0;
  queueDrops = 0;
  lsoSplits = 0;
}

/** One traced segment. */
export interface TraceEntry {
  at: number;
  from: string;
  to: string;
  flags: number;
  seq: number;
  ack: number;
  window: number;
  len: number;
  fate: string;
}

export class SimNetwork {
  now = 0;
  readonly rng: Rng;
  readonly stats = new NetStats();
  impair: Impairments;
  /** Keep trace entries in memory (the hash is always kept). */
  keepTrace = false;
  readonly trace: TraceEntry[] = [];
  private readonly traceHash: Hash = createHash('sha256');
  private readonly hosts: SimHost[] = [];
  private readonly heap: Event[] = [];
  private seqCounter = 0;
  private genCounter = 0;
  private readonly linkBusy = new Map<string, number>();
  /** Optional hook to drop or mangle specific segments (returns true to drop). */
  filter: ((from: SimHost, to: SimHost, bytes: Uint8Array) => boolean) | null = null;
  /** Optional hook called for each delivered segment (after checksum verification). */
  tap: ((from: SimHost, to: SimHost, bytes: Uint8Array) => void) | null = null;

  constructor(seed: number, impair: Impairments = {}) {
    this.rng = new Rng(seed);
    this.impair = impair;
  }

  addHost(address: string, options: SimHostOptions = {}): SimHost {
    const ip = parseIp(address);
    if (ip === null) throw new Error(`bad address ${address}`);
    const h = new SimHost(this, ip, options);
    this.hosts.push(h);
    return h;
  }

  hostFor(address: IpAddress): SimHost | null {
    for (const h of this.hosts) {
      let same = true;
      for (let i = 0; i < 16; i++) if (h.address[i] !== address[i]) same = false;
      if (same) return h;
    }
    return null;
  }

  /** SHA-256 of the segment trace so far. */
  traceDigest(): string {
    return this.traceHash.copy().digest('hex');
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[i]!, h[p]!)) {
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      } else break;
    }
  }

  private pop(): Event | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  /** Runs `fn` at virtual time `at`. */
  at(at: number, fn: () => void): void {
    this.push({ at, seq: this.seqCounter++, timer: null, gen: 0, fn });
  }

  setTimer(timer: TcpTimer, at: number): void {
    const gen = ++this.genCounter;
    timer.hostIndex = gen;
    this.push({ at: at < this.now ? this.now : at, seq: this.seqCounter++, timer, gen, fn: null });
  }

  cancelTimer(timer: TcpTimer): void {
    timer.hostIndex = -1;
  }

  /** Time of the next live event, or Infinity. */
  nextEventTime(): number {
    while (this.heap.length > 0) {
      const e = this.heap[0]!;
      if (e.timer !== null && e.timer.hostIndex !== e.gen) {
        this.pop();
        continue;
      }
      return e.at;
    }
    return Infinity;
  }

  /** Processes the next event; false when none is left. */
  step(): boolean {
    for (;;) {
      const e = this.pop();
      if (e === undefined) return false;
      if (e.timer !== null) {
        if (e.timer.hostIndex !== e.gen) continue;
        if (e.at > this.now) this.now = e.at;
        e.timer.hostIndex = -1;
        e.timer.fire();
        return true;
      }
      if (e.at > this.now) this.now = e.at;
      e.fn!();
      return true;
    }
  }

  /** Runs events up to virtual time `until` (inclusive); the clock ends at `until`. */
  runFor(ms: number): void {
    const until = this.now + ms;
    while (this.nextEventTime() <= until) this.step();
    if (this.now < until) this.now = until;
  }

  /** Steps until `done()` holds; returns false if the virtual time limit passes first. */
  runUntil(done: () => boolean, maxMs = 600_000): boolean {
    const limit = this.now + maxMs;
    while (!done()) {
      const t = this.nextEventTime();
      if (t > limit) return false;
      this.step();
    }
    return true;
  }

  /**
   * Like `runUntil`, but yields to Node's event loop (setImmediate) every `batch` events and
   * whenever the network is idle, so that streams and `http` (which defer work to nextTick,
   * microtasks and immediates) make progress. Virtual time only moves when nothing else is pending.
   */
  async runUntilAsync(done: () => boolean, maxMs = 600_000, batch = 64): Promise<boolean> {
    const limit = this.now + maxMs;
    let n = 0;
    let idleYields = 0;
    while (!done()) {
      const t = this.nextEventTime();
      if (t === Infinity || t > this.now) {
        // Give Node a few turns before moving the virtual clock.
        if (idleYields < 3) {
          idleYields++;
          await new Promise((r) => setImmediate(r));
          continue;
        }
      }
      idleYields = 0;
      if (t > limit || t === Infinity) return false;
      this.step();
      if (++n % batch === 0) await new Promise((r) => setImmediate(r));
    }
    return true;
  }

  /** A host sent a segment: trace, impair, schedule delivery. */
  send(from: SimHost, dst: IpAddress, bytes: Uint8Array): void {
    this.stats.sent++;
    const to = this.hostFor(dst);
    const imp = this.impair;
    const rng = this.rng;
    let fate = 'ok';
    let copies = 1;
    let delay = imp.delayMs ?? 1;
    let corruptAt = -1;
    if (this.filter !== null && this.filter(from, to ?? from, bytes)) fate = 'filtered';
    else if (to === null) fate = 'no-route';
    else if ((imp.loss ?? 0) > 0 && rng.next() < imp.loss!) fate = 'lost';
    if (fate === 'ok') {
      if ((imp.duplicate ?? 0) > 0 && rng.next() < imp.duplicate!) {
        copies = 2;
        fate = 'dup';
        this.stats.duplicated++;
      }
      if ((imp.reorder ?? 0) > 0 && rng.next() < imp.reorder!) {
        delay += imp.reorderDelayMs ?? 3 * (imp.delayMs ?? 1);
        fate = fate === 'ok' ? 'late' : `${fate}+late`;
        this.stats.reordered++;
      }
      if ((imp.corrupt ?? 0) > 0 && rng.next() < imp.corrupt!) {
        corruptAt = rng.int(bytes.length);
        fate = fate === 'ok' ? 'corrupt' : `${fate}+corrupt`;
        this.stats.corrupted++;
      }
      if ((imp.bytesPerMs ?? 0) > 0) {
        const key = `${formatIp(from.address)}>${formatIp(dst)}`;
        const busy = Math.max(this.linkBusy.get(key) ?? 0, this.now);
        const queued = (busy - this.now) * imp.bytesPerMs!;
        if ((imp.queueBytes ?? 0) > 0 && queued + bytes.length > imp.queueBytes!) {
          fate = 'queue-drop';
          this.stats.queueDrops++;
        } else {
          const done = busy + bytes.length / imp.bytesPerMs!;
          this.linkBusy.set(key, done);
          delay += done - this.now;
        }
      }
    } else if (fate === 'lost') this.stats.lost++;
    this.record(from, dst, bytes, fate);
    if (fate === 'ok' || fate.startsWith('dup') || fate.startsWith('late') || fate.startsWith('corrupt')) {
      if (fate === 'queue-drop') return;
      const copy = bytes.slice();
      if (corruptAt >= 0) copy[corruptAt] = copy[corruptAt]! ^ (1 << rng.int(8));
      for (let i = 0; i < copies; i++) {
        const extra = i === 0 ? 0 : (imp.delayMs ?? 1) / 2;
        this.at(this.now + delay + extra, () => this.deliver(from, to!, copy));
      }
    }
  }

  private deliver(from: SimHost, to: SimHost, bytes: Uint8Array): void {
    if (tcpChecksum(from.address, to.address, bytes, 0, bytes.length) !== 0) {
      this.stats.checksumDrops++;
      return;
    }
    this.stats.delivered++;
    if (this.tap !== null) this.tap(from, to, bytes);
    to.engine.input(to.address, from.address, bytes, 0, bytes.length);
  }

  private readonly tv = new TcpView();

  private record(from: SimHost, dst: IpAddress, bytes: Uint8Array, fate: string): void {
    const v = this.tv;
    v.wrap(bytes, 0, bytes.length);
    const line = `${this.now.toFixed(3)} ${formatIp(from.address)}:${v.srcPort()}>${formatIp(dst)}:${v.dstPort()} ${formatTcpFlags(v.flags())} ${v.seqNumber()} ${v.ackNumber()} ${v.windowSize()} ${v.payloadLength()} ${fate}\n`;
    this.traceHash.update(line);
    if (this.keepTrace) {
      this.trace.push({
        at: this.now,
        from: formatIp(from.address),
        to: formatIp(dst),
        flags: v.flags(),
        seq: v.seqNumber(),
        ack: v.ackNumber(),
        window: v.windowSize(),
        len: v.payloadLength(),
        fate,
      });
    }
  }
}

function less(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A host on the simulated network: implements `TcpHost` for one engine. */
export class SimHost implements TcpHost {
  readonly net: SimNetwork;
  readonly address: IpAddress;
  readonly engine: TcpEngine;
  mtu: number;
  offloadSize: number;
  segmentOffload: boolean;
  failEveryNthAllocation: number;
  allocations = 0;
  private readonly view = new TcpView();

  constructor(net: SimNetwork, address: IpAddress, o: SimHostOptions) {
    this.net = net;
    this.address = address;
    this.mtu = o.mtu ?? 1500;
    this.offloadSize = o.offloadSize ?? 0;
    this.segmentOffload = o.segmentOffload ?? false;
    this.failEveryNthAllocation = o.failEveryNthAllocation ?? 0;
    this.engine = new TcpEngine(this, o.engine ?? {});
  }

  get name(): string {
    return formatIp(this.address);
  }

  now(): number {
    return this.net.now;
  }
  setTimer(timer: TcpTimer, at: number): void {
    this.net.setTimer(timer, at);
  }
  cancelTimer(timer: TcpTimer): void {
    this.net.cancelTimer(timer);
  }
  fillRandom(out: Uint8Array): void {
    this.net.rng.fill(out);
  }
  maxSegmentSize(flow: TcpFlow): number {
    return this.mtu - (isIpv4Mapped(flow.remoteAddress) ? 40 : 60);
  }
  sendOffloadSize(_flow: TcpFlow): number {
    return this.offloadSize;
  }
  selectSourceAddress(_remote: IpAddress, out: IpAddress): boolean {
    out.set(this.address);
    return true;
  }
  allocateSegment(_flow: TcpFlow, length: number, space: TcpSegmentSpace): boolean {
    this.allocations++;
    if (this.failEveryNthAllocation > 0 && this.allocations % this.failEveryNthAllocation === 0) return false;
    space.bytes = new Uint8Array(length + 8);
    space.offset = 8; // room in front, as an IP layer would keep for its headers
    return true;
  }
  transmitSegment(flow: TcpFlow, space: TcpSegmentSpace, length: number, segmentMss: number): void {
    const seg = space.bytes.subarray(space.offset, space.offset + length);
    const v = this.view;
    v.wrap(seg, 0, length);
    const hl = v.headerLength();
    const payload = length - hl;
    if (segmentMss > 0 && payload > segmentMss && this.segmentOffload) {
      // Software LSO: replicate the header, advance SEQ, keep PSH/FIN on the last piece only.
      this.net.stats.lsoSplits++;
      const flags = v.flags();
      const seq0 = v.seqNumber();
      for (let off = 0; off < payload; off += segmentMss) {
        const n = Math.min(segmentMss, payload - off);
        const piece = new Uint8Array(hl + n);
        piece.set(seg.subarray(0, hl), 0);
        piece.set(seg.subarray(hl + off, hl + off + n), hl);
        const pv = this.view;
        pv.wrap(piece, 0, piece.length);
        pv.setSeqNumber((seq0 + off) >>> 0);
        const last = off + n >= payload;
        pv.setFlags(last ? flags : flags & ~(0x01 | 0x08));
        pv.setChecksum(0);
        pv.setChecksum(tcpChecksum(flow.localAddress, flow.remoteAddress, piece, 0, piece.length));
        this.net.send(this, flow.remoteAddress, piece);
      }
      return;
    }
    v.setChecksum(0);
    v.setChecksum(tcpChecksum(flow.localAddress, flow.remoteAddress, seg, 0, length));
    this.net.send(this, flow.remoteAddress, seg);
  }
}
