/**
 * VXLAN over the loopback interface: packets per second through the VXLAN miniport, receive and
 * send, against a bare Node dgram loop doing the same observable work over the same loopback in
 * the same run.
 *
 *   vxlan.rx   A C load generator (sendmmsg, compiled at bench time) floods VXLAN datagrams with
 *              64-byte inner frames at the receiver. ndis-ts: a VXLAN adapter checks each datagram,
 *              copies the inner frame into a receive buffer and indicates NBL chains to a protocol
 *              that counts them. Baseline: a dgram socket that checks the header and VNI and copies
 *              the inner frame into a buffer. Figure: frames delivered per second.
 *   vxlan.tx   ndis-ts: a protocol keeps chains of 64-byte frames in flight through a VXLAN adapter
 *              (encapsulation, flow-hashed send socket, transmit ring). Baseline: one dgram socket
 *              that writes the VXLAN header and copies the frame into a slot, keeping the same
 *              number of datagrams in flight. A C sink (recvmmsg) drains the receiving port.
 *              Figure: datagrams sent per second.
 *
 * Rounds alternate ndis-ts and baseline; the best of each is reported.
 *
 *   node dist/bench/vxlan.js [--json]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisMedium,
  NdisOidRequest,
  NetEvent,
  Ndis,
  OID,
  ulongBuffer,
  type BindContext,
  type OpenBlock,
  type ProtocolDriverCharacteristics,
} from '../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS, type NetBufferList, type NetBufferListPool } from '../src/nbl/index.js';
import { VxlanMiniportDriver } from '../src/drivers/miniport/vxlan/index.js';
import { haveGcc } from './lib/cbaseline.js';
import { header, report, sink } from './lib/report.js';

const VNI = 4789;
const FRAME = 64;
const WARM_MS = 300;
const MEASURE_MS = 1000;
const ROUNDS = 3;
const IN_FLIGHT = 256;
const CHAIN = 32;

/** A load generator and a sink: `flood <ip> <port> <ms> <frame bytes> <vni>` or `sink <ip> <port> <ms>`. */
const LOADGEN_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int flood = strcmp(argv[1], "flood") == 0;
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[3])); inet_pton(AF_INET, argv[2], &a.sin_addr);
  double until = now() + atoi(argv[4]) / 1000.0;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 8 << 20; setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big); setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  enum { N = 64 };
  static unsigned char buf[N][2048];
  struct mmsghdr m[N]; struct iovec v[N]; memset(m, 0, sizeof m);
  long total = 0;
  if (flood) {
    int len = 8 + atoi(argv[5]); unsigned vni = (unsigned)atoi(argv[6]);
    for (int i = 0; i < N; i++) {
      memset(buf[i], 0, sizeof buf[i]);
      buf[i][0] = 0x08; buf[i][4] = vni >> 16; buf[i][5] = vni >> 8; buf[i][6] = vni;
      memset(buf[i] + 8, 0xff, 6); buf[i][14] = 2; buf[i][19] = 1; buf[i][20] = 0x88; buf[i][21] = 0xb5;
      v[i].iov_base = buf[i]; v[i].iov_len = len;
      m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1; m[i].msg_hdr.msg_name = &a; m[i].msg_hdr.msg_namelen = sizeof a;
    }
    while (now() < until) { int n = sendmmsg(s, m, N, 0); if (n > 0) total += n; }
  } else {
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
    struct timeval tv = { 0, 100000 }; setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 0; i < N; i++) { v[i].iov_base = buf[i]; v[i].iov_len = sizeof buf[i]; m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1; }
    printf("ready\n"); fflush(stdout);
    while (now() < until) { int n = recvmmsg(s, m, N, 0, NULL); if (n > 0) total += n; }
  }
  printf("%ld\n", total);
  return 0;
}
`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function progress(text: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r\x1b[K${text}`);
}

function compileLoadgen(): string | null {
  if (!haveGcc()) return null;
  const dir = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist', 'bench-c');
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'vxlan-loadgen.c');
  const bin = join(dir, 'vxlan-loadgen');
  writeFileSync(src, LOADGEN_C);
  execFileSync('gcc', ['-O2', '-o', bin, src], { stdio: 'inherit' });
  return bin;
}

function startLoadgen(bin: string, args: string[]): Promise<{ proc: ChildProcess; result: Promise<number> }> {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const result = new Promise<number>((resolve) => proc.on('exit', () => resolve(Number(out.trim().split(/\s+/).pop()))));
  return new Promise((resolve) => {
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (args[0] === 'sink' && out.includes('ready')) resolve({ proc, result });
    });
    if (args[0] !== 'sink') resolve({ proc, result });
  });
}

function freePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

// ---------------------------------------------------------------------------------------------
// A benchmark protocol: counts receives; keeps a window of sends in flight.
// ---------------------------------------------------------------------------------------------

class BenchBinding {
  handle: OpenBlock | null = null;
  pool: NetBufferListPool | null = null;
  running = false;
  received = 0;
  completed = 0;
  sending = false;
  free: NetBufferList | null = null;
}

function benchProtocol(ndis: Ndis, bindings: Map<string, BenchBinding>, frameTemplate: Uint8Array): ProtocolDriverCharacteristics {
  const chars: ProtocolDriverCharacteristics<BenchBinding> = {
    name: 'vxbench',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    bindAdapterEx(_c, bindContext, params) {
      const b = new BenchBinding();
      const proto = [...ndis.protocolDrivers].find((p) => p.name === 'vxbench')!;
      const r = ndis.openAdapterEx(proto, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
      if (r.bindingHandle === null) return r.status;
      b.handle = r.bindingHandle;
      b.pool = ndis.allocateNetBufferListPool(b.handle, { fAllocateNetBuffer: true, dataSize: FRAME, poolTag: 'VxBn', initialCount: IN_FLIGHT });
      for (let i = 0; i < IN_FLIGHT; i++) {
        const nbl = b.pool.allocateNetBufferList()!;
        const mdl = nbl.firstNetBuffer!.mdlChain!;
        mdl.buffer.set(frameTemplate, mdl.byteOffset);
        nbl.next = b.free;
        b.free = nbl;
      }
      bindings.set(params.adapterName, b);
      return NDIS_STATUS.SUCCESS;
    },
    unbindAdapterEx(_u, b) {
      b.sending = false;
      for (let x = b.free; x !== null; ) {
        const next: NetBufferList | null = x.next;
        x.next = null;
        b.pool!.freeNetBufferList(x);
        x = next;
      }
      b.free = null;
      ndis.freeNetBufferListPool(b.pool!);
      return ndis.closeAdapterEx(b.handle!);
    },
    openAdapterCompleteEx: () => undefined,
    closeAdapterCompleteEx: () => undefined,
    netPnPEvent(b, n) {
      if (b === null) return NDIS_STATUS.SUCCESS;
      if (n.netEvent === NetEvent.Pause) {
        b.running = false;
        b.sending = false;
      }
      if (n.netEvent === NetEvent.Restart) {
        b.running = true;
        void ndis.oidRequest(b.handle!, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.PROMISCUOUS)));
      }
      return NDIS_STATUS.SUCCESS;
    },
    oidRequestComplete: () => undefined,
    statusEx: () => undefined,
    receiveNetBufferLists(b, chain, _p, count, flags) {
      b.received += count;
      sink.value += chain.firstNetBuffer!.dataLength;
      if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) ndis.returnNetBufferLists(b.handle!, chain, 0);
    },
    sendNetBufferListsComplete(b, chain) {
      let n = 0;
      let last = chain;
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        n++;
        last = x;
      }
      b.completed += n;
      last.next = b.free;
      b.free = chain;
      if (b.sending) pump(ndis, b);
    },
  };
  return chars as ProtocolDriverCharacteristics;
}

/** Sends chains of CHAIN frames while free NBLs remain. */
function pump(ndis: Ndis, b: BenchBinding): void {
  while (b.free !== null && b.sending) {
    const head = b.free;
    let tail = head;
    let n = 1;
    while (n < CHAIN && tail.next !== null) {
      tail = tail.next;
      n++;
    }
    b.free = tail.next;
    tail.next = null;
    ndis.sendNetBufferLists(b.handle!, head, 0, 0);
  }
}

function innerFrame(): Uint8Array {
  const f = new Uint8Array(FRAME);
  f.fill(0xff, 0, 6);
  f.set([2, 0, 0, 0, 0, 0x0a], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Receive
// ---------------------------------------------------------------------------------------------

async function measureWhileFlooded(loadgen: string, port: number, count: () => number): Promise<number> {
  const flood = await startLoadgen(loadgen, ['flood', '127.0.0.3', String(port), String(WARM_MS + MEASURE_MS + 200), String(FRAME), String(VNI)]);
  await sleep(WARM_MS);
  const c0 = count();
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const n = count() - c0;
  const dt = (performance.now() - t0) / 1000;
  await flood.result;
  return n / dt;
}

async function rxNdis(loadgen: string): Promise<number> {
  const port = freePort();
  const ndis = new Ndis({ mode: 'realtime' });
  const bindings = new Map<string, BenchBinding>();
  try {
    await ndis.registerProtocolDriver(benchProtocol(ndis, bindings, innerFrame()));
    const drv = new VxlanMiniportDriver(ndis);
    await drv.addAdapter('rx', { vni: VNI, port, local: `127.0.0.3:${port}`, learning: false, sourcePorts: 0, receiveBuffers: 4096 });
    const b = bindings.get('rx')!;
    return await measureWhileFlooded(loadgen, port, () => b.received);
  } finally {
    await ndis.shutdown();
  }
}

async function rxBaseline(loadgen: string): Promise<number> {
  const port = freePort();
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(port, '127.0.0.3', () => r()));
  socket.setRecvBufferSize(4 << 20);
  const slab = new Uint8Array(FRAME + 18);
  let received = 0;
  socket.on('message', (d: Buffer) => {
    // What a VTEP must do at least: check the I flag and the VNI, copy the inner frame.
    if (d.length < 8 + 14 || (d[0]! & 0x08) === 0 || ((d[4]! << 16) | (d[5]! << 8) | d[6]!) !== VNI) return;
    d.copy(slab, 0, 8, d.length);
    sink.value += slab[13]!;
    received++;
  });
  try {
    return await measureWhileFlooded(loadgen, port, () => received);
  } finally {
    socket.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Send
// ---------------------------------------------------------------------------------------------

async function withSink<T>(loadgen: string, port: number, body: () => Promise<T>): Promise<T> {
  const s = await startLoadgen(loadgen, ['sink', '127.0.0.3', String(port), String(WARM_MS + MEASURE_MS + 500)]);
  try {
    return await body();
  } finally {
    await s.result;
  }
}

async function txNdis(loadgen: string): Promise<number> {
  const port = freePort();
  return withSink(loadgen, port, async () => {
    const ndis = new Ndis({ mode: 'realtime' });
    const bindings = new Map<string, BenchBinding>();
    try {
      await ndis.registerProtocolDriver(benchProtocol(ndis, bindings, innerFrame()));
      const drv = new VxlanMiniportDriver(ndis);
      await drv.addAdapter('tx', { vni: VNI, port, local: '127.0.0.2:0', remotes: [`127.0.0.3:${port}`], learning: false, sourcePorts: 1, transmitSlots: IN_FLIGHT });
      const b = bindings.get('tx')!;
      b.sending = true;
      pump(ndis, b);
      await sleep(WARM_MS);
      const c0 = b.completed;
      const t0 = performance.now();
      await sleep(MEASURE_MS);
      const n = b.completed - c0;
      const dt = (performance.now() - t0) / 1000;
      b.sending = false;
      await sleep(20);
      return n / dt;
    } finally {
      await ndis.shutdown();
    }
  });
}

async function txBaseline(loadgen: string): Promise<number> {
  const port = freePort();
  return withSink(loadgen, port, async () => {
    const socket: Socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.2', () => r()));
    socket.setSendBufferSize(4 << 20);
    const frame = innerFrame();
    const slot = 8 + FRAME;
    const slab = Buffer.alloc(slot * IN_FLIGHT);
    let next = 0;
    let sent = 0;
    let running = true;
    let inFlight = 0;
    let refillQueued = false;
    const send = (): void => {
      const off = next * slot;
      next = next + 1 === IN_FLIGHT ? 0 : next + 1;
      slab[off] = 0x08;
      slab[off + 4] = VNI >> 16;
      slab[off + 5] = (VNI >> 8) & 0xff;
      slab[off + 6] = VNI & 0xff;
      slab.set(frame, off + 8);
      inFlight++;
      socket.send(slab, off, slot, port, '127.0.0.3', done);
    };
    // Refill the window from the event loop, not from the completion callback: dgram reports a
    // datagram sent at once through process.nextTick, and resending from there would starve the
    // event loop (the VXLAN adapter resumes from its send DPC, which runs from the event loop too).
    const refill = (): void => {
      refillQueued = false;
      while (running && inFlight < IN_FLIGHT) send();
    };
    const done = (): void => {
      inFlight--;
      sent++;
      if (running && !refillQueued) {
        refillQueued = true;
        setImmediate(refill);
      }
    };
    refill();
    await sleep(WARM_MS);
    const c0 = sent;
    const t0 = performance.now();
    await sleep(MEASURE_MS);
    const n = sent - c0;
    const dt = (performance.now() - t0) / 1000;
    running = false;
    while (inFlight > 0) await sleep(5);
    socket.close();
    return n / dt;
  });
}

/** Runs the VXLAN benchmarks. */
export async function run(): Promise<void> {
  header(`VXLAN over loopback, ${FRAME}-byte inner frames: ndis-ts miniport vs a bare Node dgram loop`);
  const loadgen = compileLoadgen();
  if (loadgen === null) {
    report({ name: 'vxlan.rx', unit: 'pkt/s', value: 0, baseline: 'node dgram loop', baselineValue: null, note: 'gcc missing: no load generator' });
    return;
  }
  let rx = 0;
  let rxBase = 0;
  let tx = 0;
  let txBase = 0;
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}: receive, ndis-ts`);
    rx = Math.max(rx, await rxNdis(loadgen));
    progress(`round ${r + 1}/${ROUNDS}: receive, node dgram`);
    rxBase = Math.max(rxBase, await rxBaseline(loadgen));
    progress(`round ${r + 1}/${ROUNDS}: send, ndis-ts`);
    tx = Math.max(tx, await txNdis(loadgen));
    progress(`round ${r + 1}/${ROUNDS}: send, node dgram`);
    txBase = Math.max(txBase, await txBaseline(loadgen));
  }
  progress('');
  report({ name: 'vxlan.rx', unit: 'pkt/s', value: rx, baseline: 'node dgram loop', baselineValue: rxBase, target: 0.8 });
  report({ name: 'vxlan.tx', unit: 'pkt/s', value: tx, baseline: 'node dgram loop', baselineValue: txBase, target: 0.8 });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
