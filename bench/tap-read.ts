/**
 * TAP receive: how fast, and at what CPU cost, the JavaScript side takes frames off a TAP device,
 * for the mechanism TapDevice uses and the alternatives it was chosen over, against a C program
 * doing poll() + read() on its own TAP device under the same load.
 *
 * Each reader gets a fresh TAP device in a network namespace created for the run; bench/c/tap-flood.c
 * transmits 60-byte frames on it through an AF_PACKET socket (PACKET_QDISC_BYPASS, sendmmsg).
 *   flood      as fast as it can, faster than any reader, so the kernel queue stays full: frames/s
 *              is the reader's ceiling
 *   paced      50,000 frames/s spaced evenly (a frame or two per wakeup, the common case): CPU time
 *              (user + system, all threads) per frame read
 * Every reader reads each frame's EtherType (the same observable work) and takes at most 64 frames
 * per readiness event. Rounds alternate between the readers; the best round of each is reported.
 *
 *   addon-batch64      TapDevice: uv_poll on the non-blocking fd, the addon drains up to 64 frames
 *                      per readiness event into the JS-owned slab, one JS call per batch (chosen)
 *   addon-batch1       the same with one frame per JS call
 *   poll+readSync      the addon only reports readiness; JavaScript calls fs.readSync until EAGAIN
 *   fs.read-pool       JavaScript alone: fs.read on the fd in the libuv thread pool, retried with
 *                      setImmediate on EAGAIN (a blocking fd would park a pool thread in read() and
 *                      keep the process from exiting, so it is not an option)
 *
 * Transmit: TapDevice.write of 60-byte frames in a loop (tap.tx.write), and TapDevice.writeBatch of
 * 64 frames per call (tap.tx.write-batch64), against bench/c/tap-write.c doing write() on its own
 * TAP device; the kernel takes each frame in the write() call.
 *
 *   node dist/bench/tap-read.js [--json]     (root; runs itself again inside the namespace)
 */
import { spawn, spawnSync } from 'node:child_process';
import { read, readFileSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TapDevice } from '../src/drivers/miniport/tap/device.js';
import type { TapFrameBatch } from '../src/drivers/miniport/tap/device.js';
import { loadTapAddon, STAT_COUNT, tapUnavailableReason } from '../src/drivers/miniport/tap/native.js';
import { compileBaseline, runBaseline } from './lib/cbaseline.js';
import { header, opsPerSecond, report, sink } from './lib/report.js';

const INSIDE = '--inside-netns';
const WARM_S = 0.3;
const MEASURE_S = 1.0;
const ROUNDS = 3;
const PACED_RATE = 50_000;
const PER_WAKEUP = 64;
const BASELINE = 'C poll+read, gcc -O2';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function skipReason(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespace, TUNSETIFF, AF_PACKET)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'needs the ip command (iproute2)';
  const unavailable = tapUnavailableReason();
  return unavailable === null ? null : unavailable.message;
}

/** Outside the namespace: create it, run this file again inside it, remove it. */
function outer(): void {
  header('TAP, 60-byte frames: receive frames/s under a flood, CPU us/frame at 50k frames/s; transmit frames/s');
  const why = skipReason();
  if (why !== null) {
    process.stdout.write(`tap-read: skipped: ${why}\n`);
    return;
  }
  const ns = `ndtap-bench-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
  try {
    spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, INSIDE, ...process.argv.slice(2)], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'inherit' });
  }
}

/** A reader under test: starts on a fresh TAP device, counts frames, stops. */
interface Reader {
  name: string;
  /** Opens the device and starts reading; returns its interface name. */
  start(): string;
  /** Frames read so far. */
  frames(): number;
  stop(): void;
}

let acc = 0;

function frameWork(buffer: Uint8Array, offset: number): void {
  acc += (buffer[offset + 12]! << 8) | buffer[offset + 13]!;
}

class TapDeviceReader implements Reader {
  readonly name: string;
  private dev: TapDevice | null = null;
  private readonly batchFrames: number;
  private readonly onFrames = (batch: TapFrameBatch): void => {
    const b = batch.buffer;
    for (let i = 0; i < batch.count; i++) frameWork(b, batch.offset(i));
  };

  constructor(batchFrames: number) {
    this.batchFrames = batchFrames;
    this.name = `tap.rx.addon-batch${batchFrames}`;
  }

  start(): string {
    this.dev = TapDevice.open('ndbj%d', { up: true, batchFrames: this.batchFrames });
    this.dev.onFrames(this.onFrames);
    return this.dev.name;
  }

  frames(): number {
    return this.dev === null ? 0 : this.dev.statistics().rxFrames;
  }

  stop(): void {
    this.dev?.close();
    this.dev = null;
  }
}

/** Opens a TAP device through the addon directly and hands JavaScript its fd. */
function openRaw(): { name: string; fd: number; close: () => void; onReadable: (fn: () => void) => void } {
  const addon = loadTapAddon();
  const slab = new Uint8Array(addon.MAX_FRAME + 8);
  const opened = addon.open('ndbj%d', slab, new Uint32Array(2), new Float64Array(STAT_COUNT), 0, 1);
  return {
    name: opened.name,
    fd: addon.fd(opened.handle),
    close: () => addon.close(opened.handle),
    onReadable: (fn) => addon.startReading(opened.handle, () => fn(), 0),
  };
}

class ReadSyncReader implements Reader {
  readonly name = 'tap.rx.poll+readSync';
  private raw: ReturnType<typeof openRaw> | null = null;
  private count = 0;
  private readonly buf = new Uint8Array(65600);

  start(): string {
    this.count = 0;
    this.raw = openRaw();
    const fd = this.raw.fd;
    const buf = this.buf;
    this.raw.onReadable(() => {
      for (let i = 0; i < PER_WAKEUP; i++) {
        try {
          readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return;
          throw e;
        }
        this.count++;
        frameWork(buf, 0);
      }
    });
    return this.raw.name;
  }

  frames(): number {
    return this.count;
  }

  stop(): void {
    this.raw?.close();
    this.raw = null;
  }
}

class ThreadPoolReader implements Reader {
  readonly name = 'tap.rx.fs.read-pool';
  private raw: ReturnType<typeof openRaw> | null = null;
  private count = 0;
  private running = false;
  private readonly buf = new Uint8Array(65600);
  private readonly again = (): void => this.issue();
  private readonly done = (error: NodeJS.ErrnoException | null): void => {
    if (!this.running) return;
    if (error === null) {
      this.count++;
      frameWork(this.buf, 0);
      this.issue();
    } else if (error.code === 'EAGAIN') {
      setImmediate(this.again);
    } else {
      throw error;
    }
  };

  start(): string {
    this.count = 0;
    this.raw = openRaw();
    this.running = true;
    this.issue();
    return this.raw.name;
  }

  private issue(): void {
    if (this.running && this.raw !== null) read(this.raw.fd, this.buf, 0, this.buf.length, null, this.done);
  }

  frames(): number {
    return this.count;
  }

  stop(): void {
    this.running = false;
    const raw = this.raw;
    this.raw = null;
    // let an fs.read already in the pool come back before the fd goes away
    setTimeout(() => raw?.close(), 50);
  }
}

function waitExit(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('exit', () => resolve(out));
  });
}

/** Frames per second read, CPU microseconds per frame read, and kernel queue drops, over the measuring window. */
interface Measured {
  rate: number;
  cpuPerFrame: number;
  /** Frames the kernel dropped because the queue was full; 0 means the reader kept up with the load. */
  drops: number;
}

function kernelDrops(name: string): number {
  return Number(readFileSync(`/sys/class/net/${name}/statistics/tx_dropped`, 'latin1'));
}

async function measureJs(reader: Reader, flood: string, floodRate: number): Promise<Measured> {
  const name = reader.start();
  try {
    const child = spawn(flood, [name, String(WARM_S + MEASURE_S + 0.3), '60', String(floodRate)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = waitExit(child);
    await sleep(WARM_S * 1000);
    const c0 = reader.frames();
    const d0 = kernelDrops(name);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await sleep(MEASURE_S * 1000);
    const c1 = reader.frames();
    const d1 = kernelDrops(name);
    const cpu = process.cpuUsage(cpu0);
    const t1 = process.hrtime.bigint();
    await exited;
    const frames = c1 - c0;
    return {
      rate: frames / (Number(t1 - t0) / 1e9),
      cpuPerFrame: frames === 0 ? 0 : (cpu.user + cpu.system) / frames,
      drops: d1 - d0,
    };
  } finally {
    reader.stop();
  }
}

async function measureC(readBin: string, flood: string, floodRate: number): Promise<Measured> {
  const reader = spawn(readBin, ['ndbc%d', String(WARM_S), String(MEASURE_S)], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  reader.stdout.setEncoding('utf8');
  const name = await new Promise<string>((resolve, reject) => {
    reader.stdout.on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    reader.on('exit', () => reject(new Error(`tap-read exited before naming its device: ${out}`)));
  });
  const done = new Promise<void>((resolve) => reader.on('exit', () => resolve()));
  const child = spawn(flood, [name, String(WARM_S + MEASURE_S + 0.5), '60', String(floodRate)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitExit(child);
  await done;
  const [rate, cpuPerFrame, drops] = (out.trim().split('\n')[1] ?? '').split(' ').map(Number);
  if (rate === undefined || cpuPerFrame === undefined || drops === undefined || ![rate, cpuPerFrame, drops].every(Number.isFinite)) {
    throw new Error(`tap-read printed no figures: ${out}`);
  }
  return { rate, cpuPerFrame, drops };
}

async function inner(): Promise<void> {
  const flood = compileBaseline('tap-flood');
  const readBin = compileBaseline('tap-read');
  if (flood === null || readBin === null) {
    process.stdout.write('tap-read: skipped: gcc is needed to build the flood generator (bench/c/tap-flood.c)\n');
    return;
  }
  const readers: Reader[] = [new TapDeviceReader(64), new TapDeviceReader(1), new ReadSyncReader(), new ThreadPoolReader()];
  // flood: best frames/s; a best round without kernel drops means the flood, not the reader, set the pace
  const bestRate = new Map<string, Measured>();
  let bestC: Measured = { rate: 0, cpuPerFrame: 0, drops: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    for (const reader of readers) {
      const m = await measureJs(reader, flood, 0);
      if (m.rate > (bestRate.get(reader.name)?.rate ?? -1)) bestRate.set(reader.name, m);
    }
    const c = await measureC(readBin, flood, 0);
    if (c.rate > bestC.rate) bestC = c;
  }
  for (const reader of readers) {
    const m = bestRate.get(reader.name) ?? { rate: 0, cpuPerFrame: 0, drops: 0 };
    const notes = [
      ...(m.drops === 0 ? ['kept up with the flood: the flood set this figure'] : []),
      ...(bestC.drops === 0 ? ['the C reader kept up with the flood'] : []),
    ];
    report({
      name: reader.name,
      unit: 'frames/s',
      value: m.rate,
      baseline: BASELINE,
      baselineValue: bestC.rate,
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    });
  }
  // paced: least CPU per frame; the round reported says whether the reader fell behind (kernel drops)
  // or the pacer itself could not reach the rate on a busy machine
  const bestCpu = new Map<string, Measured>();
  let bestCpuC: Measured = { rate: 0, cpuPerFrame: Infinity, drops: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    for (const reader of readers) {
      const m = await measureJs(reader, flood, PACED_RATE);
      if (m.cpuPerFrame < (bestCpu.get(reader.name)?.cpuPerFrame ?? Infinity)) bestCpu.set(reader.name, m);
    }
    const c = await measureC(readBin, flood, PACED_RATE);
    if (c.cpuPerFrame < bestCpuC.cpuPerFrame) bestCpuC = c;
  }
  for (const reader of readers) {
    const m = bestCpu.get(reader.name) ?? { rate: 0, cpuPerFrame: 0, drops: 0 };
    const note =
      m.drops > 0
        ? `fell behind: read ${Math.round(m.rate)} frames/s, the kernel dropped ${m.drops}`
        : m.rate < PACED_RATE * 0.98
          ? `the pacer reached only ${Math.round(m.rate)} frames/s`
          : undefined;
    report({
      name: `${reader.name}.cpu@50k`,
      unit: 'us/frame',
      value: m.cpuPerFrame,
      baseline: BASELINE,
      baselineValue: bestCpuC.cpuPerFrame,
      lowerIsBetter: true,
      ...(note !== undefined ? { note } : {}),
    });
  }
  sink.value ^= acc;
  measureWrite();
}

function measureWrite(): void {
  const writeBin = compileBaseline('tap-write');
  const dev = TapDevice.open('ndbw%d', { up: true });
  const frame = new Uint8Array(60);
  frame.fill(0xff, 0, 6);
  frame[6] = 0x02;
  frame[11] = 0x01;
  frame[12] = 0x88;
  frame[13] = 0xb5;
  const BATCH = 64;
  const packed = new Uint8Array(BATCH * 64);
  const descriptors = new Uint32Array(2 * BATCH);
  for (let i = 0; i < BATCH; i++) {
    packed.set(frame, i * 64);
    packed[i * 64 + 14] = i;
    descriptors[2 * i] = i * 64;
    descriptors[2 * i + 1] = 60;
  }
  let failed = 0;
  const single = (iterations: number): void => {
    for (let i = 0; i < iterations; i++) {
      frame[14] = i & 0xff;
      if (!dev.write(frame, 0, 60)) failed++;
    }
  };
  const batched = (iterations: number): void => {
    for (let i = 0; i < iterations; i += BATCH) failed += BATCH - dev.writeBatch(packed, descriptors, BATCH);
  };
  let bestSingle = 0;
  let bestBatched = 0;
  let baselineValue: number | null = null;
  try {
    for (let r = 0; r < 5; r++) {
      bestSingle = Math.max(bestSingle, opsPerSecond(single, 10_240, 200));
      bestBatched = Math.max(bestBatched, opsPerSecond(batched, 10_240, 200));
      if (r === 2 && writeBin !== null) baselineValue = runBaseline(writeBin, ['ndbc%d', '100000']);
    }
  } finally {
    dev.close();
  }
  sink.value += failed;
  const note = failed > 0 ? { note: `${failed} writes dropped` } : {};
  report({ name: 'tap.tx.write', unit: 'frames/s', value: bestSingle, baseline: 'C write(), gcc -O2', baselineValue, ...note });
  report({ name: 'tap.tx.write-batch64', unit: 'frames/s', value: bestBatched, baseline: 'C write(), gcc -O2', baselineValue, ...note });
}

if (process.argv.includes(INSIDE)) await inner();
else outer();
