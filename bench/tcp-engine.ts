/**
 * Bulk TCP throughput between two engines in memory (no NDIS, no IP layer): one connection moves
 * a fixed amount of data, once with a 1460-byte MSS and once with a 64 KiB send offload (segments
 * handed over whole, as large send offload on one side and receive coalescing on the other would).
 * The baseline moves the same amount through Node's `net` over the kernel's loopback (127.0.0.1),
 * server and client in this process, in the same run. Rounds alternate between the two.
 *
 *   node dist/bench/tcp-engine.js [--json] [--mb N] [--rounds N]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { header, report, sink } from './lib/report.js';
import { TcpEngine } from '../src/drivers/protocol/tcpip/tcp/engine.js';
import type { TcpFlow, TcpHost, TcpSegmentSpace, TcpTimer } from '../src/drivers/protocol/tcpip/tcp/host.js';
import type { TcpConnection, TcpConnectionUser, TcpListener, TcpListenerUser } from '../src/drivers/protocol/tcpip/tcp/connection.js';
import { parseIp } from '../src/wire/address.js';
import type { IpAddress } from '../src/wire/address.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, mb: { type: 'string' }, rounds: { type: 'string' } },
  strict: false,
});
const MB = Number(values.mb ?? 256);
const ROUNDS = Number(values.rounds ?? 3);
const TOTAL = MB * 1024 * 1024;
const CHUNK = 65536;

/** Frames in flight between the two hosts: a FIFO of pooled buffers. */
class Wire {
  readonly free: Uint8Array[] = [];
  // A FIFO as parallel rings (no object per frame).
  readonly size = 1 << 16;
  readonly to: (MemHost | null)[] = new Array<MemHost | null>(this.size).fill(null);
  readonly bufs: (Uint8Array | null)[] = new Array<Uint8Array | null>(this.size).fill(null);
  readonly lens = new Int32Array(this.size);
  head = 0;
  tail = 0;
  constructor(readonly frameSize: number) {}
  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.frameSize);
  }
  push(to: MemHost, buf: Uint8Array, len: number): void {
    const i = this.tail & (this.size - 1);
    if (this.tail - this.head >= this.size) throw new Error('wire queue overflow');
    this.to[i] = to;
    this.bufs[i] = buf;
    this.lens[i] = len;
    this.tail++;
  }
}

/** A `TcpHost` in memory: virtual clock, a timer list, pooled segment memory, no checksum work. */
class MemHost implements TcpHost {
  engine!: TcpEngine;
  peer!: MemHost;
  readonly timers: TcpTimer[] = [];
  constructor(
    readonly wire: Wire,
    readonly clock: { now: number },
    readonly address: IpAddress,
    readonly mss: number,
    readonly offload: number,
  ) {}
  now(): number {
    return this.clock.now;
  }
  setTimer(timer: TcpTimer, at: number): void {
    timer.hostHandle = at;
    if (timer.hostIndex < 0) {
      timer.hostIndex = this.timers.length;
      this.timers.push(timer);
    }
  }
  cancelTimer(timer: TcpTimer): void {
    const i = timer.hostIndex;
    if (i < 0) return;
    const last = this.timers.pop()!;
    if (last !== timer) {
      this.timers[i] = last;
      last.hostIndex = i;
    }
    timer.hostIndex = -1;
  }
  fillRandom(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) out[i] = (i * 131 + 7) & 0xff;
  }
  maxSegmentSize(): number {
    return this.mss;
  }
  sendOffloadSize(): number {
    return this.offload;
  }
  selectSourceAddress(_r: IpAddress, out: IpAddress): boolean {
    out.set(this.address);
    return true;
  }
  allocateSegment(_f: TcpFlow, length: number, space: TcpSegmentSpace): boolean {
    if (length > this.wire.frameSize) return false;
    space.bytes = this.wire.take();
    space.offset = 0;
    return true;
  }
  transmitSegment(_f: TcpFlow, space: TcpSegmentSpace, length: number): void {
    this.wire.push(this.peer, space.bytes, length);
  }
  /** Fires due timers; returns the next due time or Infinity. */
  fireDue(): number {
    let next = Infinity;
    for (let i = 0; i < this.timers.length; ) {
      const t = this.timers[i]!;
      const at = t.hostHandle as number;
      if (at <= this.clock.now) {
        this.cancelTimer(t);
        t.fire();
        continue;
      }
      if (at < next) next = at;
      i++;
    }
    return next;
  }
}

class Sender implements TcpConnectionUser {
  written = 0;
  constructor(
    readonly chunk: Uint8Array,
    readonly total: number,
  ) {}
  pump(c: TcpConnection): void {
    while (this.written < this.total) {
      const want = Math.min(CHUNK, this.total - this.written);
      const n = c.send(this.chunk, 0, want);
      if (n === 0) return;
      this.written += n;
    }
    c.shutdown();
  }
  onConnected(c: TcpConnection): void {
    this.pump(c);
  }
  onReadable(): void {}
  onWritable(c: TcpConnection): void {
    this.pump(c);
  }
  onFinAcked(): void {}
  onIdleTimeout(): void {}
  onClosed(): void {}
}

class Receiver implements TcpConnectionUser, TcpListenerUser {
  received = 0;
  checksum = 0;
  done = false;
  readonly buf = new Uint8Array(CHUNK);
  onConnection(_l: TcpListener, c: TcpConnection): void {
    c.user = this;
  }
  onConnected(): void {}
  onReadable(c: TcpConnection): void {
    for (;;) {
      const n = c.receive(this.buf, 0, CHUNK);
      if (n === 0) break;
      this.received += n;
      this.checksum = (this.checksum + this.buf[n - 1]!) | 0;
    }
    if (c.endOfStream()) this.done = true;
  }
  onWritable(): void {}
  onFinAcked(): void {}
  onIdleTimeout(): void {}
  onClosed(): void {}
}

/** Moves TOTAL bytes between two engines; returns bytes per second of wall time. */
function engineRun(mss: number, offload: number): number {
  const clock = { now: 0 };
  const wire = new Wire(offload > 0 ? offload + 128 : 2048);
  const opts = { minRtoMs: 200, initialRtoMs: 200, sendBufferSize: 1 << 20, receiveBufferSize: 1 << 20 };
  const a = new MemHost(wire, clock, parseIp('10.0.0.1')!, mss, offload);
  const b = new MemHost(wire, clock, parseIp('10.0.0.2')!, mss, 0);
  a.peer = b;
  b.peer = a;
  a.engine = new TcpEngine(a, opts);
  b.engine = new TcpEngine(b, opts);
  const rx = new Receiver();
  const l = b.engine.listen(5001, null, 8, rx);
  const chunk = new Uint8Array(CHUNK).map((_, i) => i & 0xff);
  const tx = new Sender(chunk, TOTAL);
  const start = process.hrtime.bigint();
  a.engine.connect(b.address, 5001, null, 0, tx);
  const mask = wire.size - 1;
  while (!rx.done) {
    if (wire.head < wire.tail) {
      const i = wire.head & mask;
      wire.head++;
      const to = wire.to[i]!;
      const buf = wire.bufs[i]!;
      to.engine.input(to.address, to.peer.address, buf, 0, wire.lens[i]!);
      wire.free.push(buf);
      continue;
    }
    // Nothing on the wire: let time pass to the next timer (delayed ACKs and the like).
    clock.now += 1;
    const n = Math.min(a.fireDue(), b.fireDue());
    if (n === Infinity && wire.head >= wire.tail && !rx.done) throw new Error('engine benchmark stalled');
    if (n > clock.now) clock.now = n;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  l.close();
  sink.value += rx.checksum;
  if (rx.received !== TOTAL) throw new Error(`engine benchmark moved ${rx.received} of ${TOTAL} bytes`);
  return TOTAL / secs;
}

/** Moves TOTAL bytes through Node's net over 127.0.0.1; returns bytes per second. */
async function netRun(): Promise<number> {
  let received = 0;
  let checksum = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      checksum = (checksum + d[d.length - 1]!) | 0;
    });
    s.on('end', () => {
      s.end();
      finish();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const chunk = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = i & 0xff;
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const start = process.hrtime.bigint();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const write = () => {
      while (sent < TOTAL) {
        const n = Math.min(CHUNK, TOTAL - sent);
        sent += n;
        if (!client.write(n === CHUNK ? chunk : chunk.subarray(0, n))) {
          client.once('drain', write);
          return;
        }
      }
      client.end();
      resolve();
    };
    write();
  });
  await finished;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  sink.value += checksum;
  if (received !== TOTAL) throw new Error(`net baseline moved ${received} of ${TOTAL} bytes`);
  return TOTAL / secs;
}

/** A progress line on a terminal (stderr), updated in place; nothing when stderr is not a TTY. */
function progress(text: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r\x1b[2K${text}`);
}

async function main(): Promise<void> {
  header(`TCP engine bulk throughput, ${MB} MiB per run, best of ${ROUNDS} alternating rounds`);
  let mssBest = 0;
  let lsoBest = 0;
  let netBest = 0;
  // Warm-up (JIT) for both sides.
  progress('warm-up');
  engineRun(1460, 0);
  await netRun();
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}: engine, MSS 1460`);
    mssBest = Math.max(mssBest, engineRun(1460, 0));
    progress(`round ${r + 1}/${ROUNDS}: node net over loopback`);
    netBest = Math.max(netBest, await netRun());
    progress(`round ${r + 1}/${ROUNDS}: engine, 64 KiB offload`);
    lsoBest = Math.max(lsoBest, engineRun(1460, 65536));
  }
  progress('');
  // The kernel's loopback moves 64 KiB segments: the engine is held to that figure with 64 KiB
  // (offloaded) segments; at Ethernet's MSS it handles 45 times the segments, shown for scale.
  report({ name: 'tcp.engine.bulk.mss1460', unit: 'B/s', value: mssBest, baseline: 'node net over loopback', baselineValue: netBest, note: 'Ethernet MSS against 64 KiB loopback segments' });
  report({ name: 'tcp.engine.bulk.lso64k', unit: 'B/s', value: lsoBest, baseline: 'node net over loopback', baselineValue: netBest, target: 1.0 });
}

await main();
