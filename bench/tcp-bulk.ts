/**
 * Bulk TCP between two in-process hosts through the whole NDIS path: a TcpIp stack on each of two
 * virtual miniport adapters on one in-memory hub (TCP engine, IP layer with software checksums,
 * NET_BUFFER_LISTs from the stacks' pools, NdisSendNetBufferLists, the miniport's copy onto the
 * hub and into its receive buffers, receive indications, NdisReturnNetBufferLists). One
 * connection moves a fixed amount of data; the sender writes 64 KiB chunks, the receiver reads
 * them out. The baseline moves the same amount through Node's `net` over the kernel's loopback
 * (127.0.0.1), server and client in this process, in the same run, rounds alternating.
 *
 * Figures: the stacks' own connection API (TcpConnection send/receive, as bench/tcp-engine.ts
 * uses) with a 65000-byte MTU on the virtual adapters (their `MTU` keyword), the same with the
 * Ethernet MTU of 1500, and the same 65000-byte path through the Node-style TcpSocket streams.
 *
 *   node dist/bench/tcp-bulk.js [--json] [--mb N] [--rounds N]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { header, report, sink } from './lib/report.js';
import { Ndis } from '../src/ndis/index.js';
import { VirtualMiniportDriver } from '../src/drivers/miniport/virtual/index.js';
import { TcpIp, type TcpSocket } from '../src/drivers/protocol/tcpip/index.js';
import type { TcpConnection, TcpConnectionUser, TcpListener, TcpListenerUser } from '../src/drivers/protocol/tcpip/tcp/index.js';
import { parseIp } from '../src/wire/address.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, mb: { type: 'string' }, rounds: { type: 'string' } },
  strict: false,
});
const MB = Number(values.mb ?? 256);
const ROUNDS = Number(values.rounds ?? 3);
const TOTAL = MB * 1024 * 1024;
const CHUNK = 65536;

/** Two hosts on one hub with adapters of MTU `mtu`. */
class Topology {
  readonly ndis = new Ndis({ seed: 1 });
  readonly A: TcpIp;
  readonly B: TcpIp;
  private port = 20000;

  private constructor(readonly mtu: number) {
    const tcp = { sendBufferSize: 1 << 20, receiveBufferSize: 1 << 20, minRtoMs: 200, initialRtoMs: 200 };
    this.A = new TcpIp(this.ndis, { name: 'benchA', adapters: ['a'], tcp, dadTransmits: 0 });
    this.B = new TcpIp(this.ndis, { name: 'benchB', adapters: ['b'], tcp, dadTransmits: 0 });
  }

  static async create(mtu: number): Promise<Topology> {
    const t = new Topology(mtu);
    const virt = new VirtualMiniportDriver(t.ndis);
    await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a', MTU: mtu, ReceiveBuffers: 128 });
    await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b', MTU: mtu, ReceiveBuffers: 128 });
    await t.A.register();
    await t.B.register();
    t.A.configure('a', { ipv4: ['10.0.0.1/24'], linkLocal: false });
    t.B.configure('b', { ipv4: ['10.0.0.2/24'], linkLocal: false });
    await t.A.ready('a');
    await t.B.ready('b');
    return t;
  }

  nextPort(): number {
    return ++this.port;
  }
}

class Sender implements TcpConnectionUser {
  written = 0;
  constructor(readonly chunk: Uint8Array) {}
  pump(c: TcpConnection): void {
    while (this.written < TOTAL) {
      const n = c.send(this.chunk, 0, Math.min(CHUNK, TOTAL - this.written));
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
  readonly buf = new Uint8Array(CHUNK);
  constructor(readonly done: () => void) {}
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
    if (c.endOfStream()) {
      c.close();
      this.done();
    }
  }
  onWritable(): void {}
  onFinAcked(): void {}
  onIdleTimeout(): void {}
  onClosed(): void {}
}

/** TOTAL bytes from A to B over the connection API; bytes per second of wall time. */
async function connectionRun(t: Topology): Promise<number> {
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const rx = new Receiver(() => finish());
  const port = t.nextPort();
  const l = t.B.tcp.engine.listen(port, null, 8, rx);
  const chunk = new Uint8Array(CHUNK).map((_, i) => i & 0xff);
  const start = process.hrtime.bigint();
  t.A.tcp.engine.connect(parseIp('10.0.0.2')!, port, null, 0, new Sender(chunk));
  await t.ndis.until(finished, 24 * 3600_000);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  l.close();
  sink.value += rx.checksum;
  if (rx.received !== TOTAL) throw new Error(`tcp-bulk moved ${rx.received} of ${TOTAL} bytes`);
  return TOTAL / secs;
}

/** TOTAL bytes from A to B through TcpSocket streams; bytes per second. */
async function socketRun(t: Topology): Promise<number> {
  let received = 0;
  let checksum = 0;
  const port = t.nextPort();
  const finished = new Promise<void>((resolve) => {
    const server = t.B.tcp.createServer((s: TcpSocket) => {
      s.on('data', (d: Buffer) => {
        received += d.length;
        checksum = (checksum + d[d.length - 1]!) | 0;
      });
      s.on('end', () => {
        s.end();
        server.close();
        resolve();
      });
    });
    server.listen(port);
  });
  const chunk = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = i & 0xff;
  const client = t.A.tcp.connect(port, '10.0.0.2');
  await t.ndis.until(new Promise<void>((r) => client.once('connect', () => r())));
  const start = process.hrtime.bigint();
  let sent = 0;
  const write = (): void => {
    while (sent < TOTAL) {
      const n = Math.min(CHUNK, TOTAL - sent);
      sent += n;
      if (!client.write(n === CHUNK ? chunk : chunk.subarray(0, n))) {
        client.once('drain', write);
        return;
      }
    }
    client.end();
  };
  write();
  await t.ndis.until(finished, 24 * 3600_000);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  sink.value += checksum;
  if (received !== TOTAL) throw new Error(`tcp-bulk (sockets) moved ${received} of ${TOTAL} bytes`);
  return TOTAL / secs;
}

/** TOTAL bytes through Node's net over 127.0.0.1; bytes per second. */
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
    const write = (): void => {
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

/** Runs the benchmark and reports its figures. */
export async function run(): Promise<void> {
  header(`TCP bulk through NDIS between two in-process stacks (virtual miniport, hub), ${MB} MiB per run, best of ${ROUNDS} alternating rounds`);
  const jumbo = await Topology.create(65000);
  const ethernet = await Topology.create(1500);
  let best65k = 0;
  let best1500 = 0;
  let bestSocket = 0;
  let bestNet = 0;
  progress('warm-up');
  await connectionRun(jumbo);
  await connectionRun(ethernet);
  await socketRun(jumbo);
  await netRun();
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}: stacks, MTU 65000`);
    best65k = Math.max(best65k, await connectionRun(jumbo));
    progress(`round ${r + 1}/${ROUNDS}: node net over loopback`);
    bestNet = Math.max(bestNet, await netRun());
    progress(`round ${r + 1}/${ROUNDS}: stacks, MTU 1500`);
    best1500 = Math.max(best1500, await connectionRun(ethernet));
    progress(`round ${r + 1}/${ROUNDS}: stacks through TcpSocket streams, MTU 65000`);
    bestSocket = Math.max(bestSocket, await socketRun(jumbo));
  }
  progress('');
  await jumbo.ndis.shutdown();
  await ethernet.ndis.shutdown();
  report({ name: 'tcp.bulk.ndis.mtu65000', unit: 'B/s', value: best65k, baseline: 'node net over loopback', baselineValue: bestNet, target: 1.0 });
  report({ name: 'tcp.bulk.ndis.mtu1500', unit: 'B/s', value: best1500, baseline: 'node net over loopback', baselineValue: bestNet, note: 'Ethernet MTU: 45 times the packets' });
  report({ name: 'tcp.bulk.ndis.sockets.mtu65000', unit: 'B/s', value: bestSocket, baseline: 'node net over loopback', baselineValue: bestNet, note: 'TcpSocket streams on both ends' });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
