/**
 * RSS over worker threads: receive queues served by 2 workers against 1, on the same frames and
 * the same per-frame work — each worker parses the frame in shared memory, validates its IPv4
 * header and TCP checksums and computes its Toeplitz hash (what a receive queue's DPC does before
 * the indication), writing the results to shared memory. The main thread plays the NIC: frames
 * were DMAed once into a shared slab and classified by the indirection table; for each frame it
 * pushes a descriptor onto its queue's ring (no message per packet). Figures are frames per second
 * from the first descriptor to the last result; the target is a speed-up of 1.7 on 2 cores.
 *
 * A second figure (no target) is the virtual miniport's receive path with RssWorkers=2 against
 * RssWorkers=0: frames handed to the adapter as the hub does, checksums validated and RSS hashes
 * computed (by the workers, or inline), indicated to a protocol that returns them at once.
 *
 *   node dist/bench/rss-workers.js [--json]
 */
import { availableParallelism, loadavg } from 'node:os';
import { header, report } from './lib/report.js';
import { FrameSlab, RssWorkerPool } from '../src/offload/rss/workers.js';
import { RssClassification, RssEngine } from '../src/offload/rss/engine.js';
import { RSS_VERIFICATION_KEY } from '../src/offload/rss/toeplitz.js';
import { CSUM_ALL } from '../src/offload/checksum/index.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from '../src/offload/checksum/index.js';
import { FrameLayout, parseFrame } from '../src/offload/layout.js';
import * as H from '../src/offload/rss/hash-types.js';
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  Ndis,
  NdisMedium,
  NdisOidRequest,
  NetEvent,
  OID,
  ulongBuffer,
  type BindContext,
  type OpenBlock,
  type ProtocolDriverCharacteristics,
} from '../src/ndis/index.js';
import { encodeOffloadEncapsulation, encodeReceiveScaleParameters, NDIS_OFFLOAD_SET_ON } from '../src/ndis/structs-offload.js';
import { NDIS_ENCAPSULATION } from '../src/ndis/offload-types.js';
import type { NetBufferList } from '../src/nbl/index.js';
import { VirtualMiniportDriver } from '../src/drivers/miniport/virtual/index.js';
import { WireFrame } from '../src/drivers/miniport/virtual/hub.js';

const FLOWS = 2048;
const FRAME = 1514;
const TYPES = H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV6 | H.NDIS_HASH_TCP_IPV6;

/** A full-size TCP/IPv4 frame of flow `i`, with right checksums. */
function frameOf(i: number, layout: FrameLayout): Uint8Array {
  const f = new Uint8Array(FRAME);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f[14] = 0x45;
  f[16] = (FRAME - 14) >> 8;
  f[17] = (FRAME - 14) & 0xff;
  f[22] = 64;
  f[23] = 6;
  f.set([10, 0, (i >> 8) & 0xff, i & 0xff, 10, 1, 0, 1], 26);
  f.set([0xc0 | (i & 0x3f), i & 0xff, 0x01, 0xbb], 34);
  f[46] = 0x50;
  f[47] = 0x10;
  for (let k = 54; k < FRAME; k++) f[k] = (k * 31 + i) & 0xff;
  parseFrame(f, 0, f.length, layout);
  fillIpv4HeaderChecksum(f, 14, 20);
  fillL4Checksum(f, layout);
  return f;
}

/**
 * Frames per second through `workers` queues: `cycles` passes over the slab, each pass handing
 * every queue its frames (in slab order) as descriptor batches.
 */
interface Measured {
  /** Frames per second. */
  rate: number;
  /** Processor time the process got per second of wall time (threads summed): the cores it had. */
  cores: number;
}

/** A pool of `workers` queues over the slab, with each queue's frames (in slab order). */
interface Queues {
  pool: RssWorkerPool;
  perQueue: Int32Array[];
}

function queues(workers: number, slab: FrameSlab, queueOf: Int32Array): Queues {
  const pool = new RssWorkerPool(slab, { workers, ringCapacity: 32768, key: RSS_VERIFICATION_KEY, hashTypes: TYPES, checksumMask: CSUM_ALL });
  const perQueue: Int32Array[] = [];
  for (let q = 0; q < workers; q++) {
    const list: number[] = [];
    for (let s = 0; s < FLOWS; s++) if (queueOf[s]! % workers === q) list.push(s);
    perQueue.push(Int32Array.from(list));
  }
  return { pool, perQueue };
}

/** One pass: every queue is handed its frames as one batch of descriptors. */
function pass(q: Queues): void {
  for (let i = 0; i < q.perQueue.length; i++) q.pool.dispatchBatch(i, q.perQueue[i]!, 0, q.perQueue[i]!.length);
}

/**
 * Warms a pool up: passes for `ms` milliseconds, so that every worker has compiled its loop
 * (a worker is an isolate of its own, and compiles on the same two cores) before it is measured.
 */
function warm(q: Queues, ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (let c = 0; c < 20; c++) pass(q);
    q.pool.wait();
  }
}

/** Frames per second of `cycles` passes through `q`, and the cores the process had meanwhile. */
function measure(q: Queues, cycles: number): Measured {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let c = 0; c < cycles; c++) pass(q);
  q.pool.wait();
  const total = cycles * FLOWS;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  // Check the work was done: every slot has its results.
  for (let s = 0; s < FLOWS; s++) if (q.pool.results.hashType(s) !== H.NDIS_HASH_TCP_IPV4 || q.pool.results.checksum(s) !== (0x20 | 0x08)) throw new Error(`slot ${s} was not processed`);
  return { rate: total / seconds, cores: (cpu.user + cpu.system) / 1e6 / seconds };
}

/** A protocol binding that counts what it is indicated and returns it at once. */
class SinkBinding {
  handle: OpenBlock | null = null;
  frames = 0;
}

/**
 * Frames per second through a virtual adapter's receive path (RssWorkers `workers`): `rounds`
 * bursts of the frames, each burst followed by the DPCs that indicate it.
 */
async function measureMiniport(workers: number, frames: Uint8Array[], rounds: number): Promise<number> {
  const ndis = new Ndis({ processors: 2 });
  const virt = new VirtualMiniportDriver(ndis);
  const sinkBinding = new SinkBinding();
  const chars: ProtocolDriverCharacteristics<SinkBinding> = {
    name: 'bench-sink',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    bindAdapterEx(_ctx, bindContext, params) {
      const protocol = [...ndis.protocolDrivers].find((p) => p.name === 'bench-sink')!;
      const r = ndis.openAdapterEx(protocol, sinkBinding, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
      sinkBinding.handle = r.bindingHandle;
      return r.status;
    },
    unbindAdapterEx: (_u, b) => ndis.closeAdapterEx(b.handle!),
    openAdapterCompleteEx: () => undefined,
    closeAdapterCompleteEx: () => undefined,
    netPnPEvent(b, n) {
      if (b !== null && n.netEvent === NetEvent.Restart) ndis.oidRequest(b.handle!, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
      return NDIS_STATUS.SUCCESS;
    },
    oidRequestComplete: () => undefined,
    statusEx: () => undefined,
    receiveNetBufferLists(b, chain: NetBufferList, _port, count) {
      b.frames += count;
      ndis.returnNetBufferLists(b.handle!, chain, 0);
    },
    sendNetBufferListsComplete: () => undefined,
  };
  await ndis.registerProtocolDriver(chars as ProtocolDriverCharacteristics);
  const handle = await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-02', RssWorkers: workers, ReceiveBuffers: frames.length });
  const adapter = virt.adapter(handle);
  const b = sinkBinding.handle!;
  const rss = encodeReceiveScaleParameters({ revision: 2, flags: 0, baseCpuNumber: 0, hashInformation: TYPES | H.NdisHashFunctionToeplitz, indirectionTable: [0, 1, 0, 1, 1, 0, 1, 0], secretKey: Uint8Array.from(RSS_VERIFICATION_KEY), defaultProcessor: -1 });
  ndis.oidRequest(b, NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rss));
  const on = { enabled: NDIS_OFFLOAD_SET_ON, encapsulationType: NDIS_ENCAPSULATION.IEEE_802_3, headerSize: 14 };
  ndis.oidRequest(b, NdisOidRequest.set(OID.OFFLOAD_ENCAPSULATION, encodeOffloadEncapsulation({ ipv4: on, ipv6: on })));
  const wire = new WireFrame();
  const burst = async (): Promise<void> => {
    for (const f of frames) {
      wire.reset();
      wire.add(f, 0, f.length);
      adapter.receiveFromWire(wire);
    }
    await ndis.sleep(0.001);
  };
  for (let i = 0; i < 20; i++) await burst();
  sinkBinding.frames = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await burst();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const total = sinkBinding.frames;
  const s = adapter.stats;
  if (total !== rounds * frames.length || s.rxChecksumChecked === 0 || s.rssHashed === 0) throw new Error(`miniport bench: ${total} frames indicated, ${s.rssHashed} hashed`);
  if (workers > 0 && s.rssWorkerFrames === 0) throw new Error('miniport bench: the workers did nothing');
  await ndis.shutdown();
  return total / seconds;
}

export async function run(): Promise<void> {
  header(`RSS receive queues on worker threads (${availableParallelism()} cores), 1514-byte TCP/IPv4 frames, frames/s`);
  const layout = new FrameLayout();
  const slab = new FrameSlab(FLOWS * (FRAME + 8), FLOWS);
  for (let i = 0; i < FLOWS; i++) slab.add(frameOf(i, layout));
  // The NIC's classification: the hash and indirection table pick each flow's queue.
  const engine = new RssEngine(TYPES, 2, 2);
  engine.setParameters({ flags: 0, baseCpuNumber: 0, hashInformation: TYPES | 1, indirectionTable: [0, 1, 0, 1, 1, 0, 1, 0], secretKey: Uint8Array.from(RSS_VERIFICATION_KEY), defaultProcessor: -1 });
  const queueOf = new Int32Array(FLOWS);
  const cls = new RssClassification();
  for (let i = 0; i < FLOWS; i++) {
    const off = slab.table[2 * i]!;
    engine.classify(slab.bytes, off, FRAME, cls);
    queueOf[i] = cls.queue < 0 ? 0 : cls.queue;
  }
  const cycles = 1000; // 2 M frames per measurement
  let one = 0;
  let two = 0;
  let twoCores = 0;
  const load0 = loadavg()[0]!;
  const q1 = queues(1, slab, queueOf);
  const q2 = queues(2, slab, queueOf);
  warm(q1, 300);
  warm(q2, 300);
  // Alternating rounds, best of each: other work on the machine hits both sides alike.
  for (let r = 0; r < 8; r++) {
    one = Math.max(one, measure(q1, cycles).rate);
    const m = measure(q2, cycles);
    if (m.rate > two) {
      two = m.rate;
      twoCores = m.cores;
    }
  }
  await q1.pool.close();
  await q2.pool.close();
  // What the machine was doing: the load average before and after, and how many cores the best
  // 2-worker round actually had (below 2, other processes held the rest).
  const load = Math.max(load0, loadavg()[0]!);
  report({
    name: 'offload.rss.workers.2-vs-1',
    unit: 'frame/s',
    value: two,
    baseline: 'the same on 1 worker',
    baselineValue: one,
    target: 1.7,
    note: `the 2-worker round had ${twoCores.toFixed(2)} cores; 1-minute load average up to ${load.toFixed(2)}`,
  });
  // The virtual miniport with and without RssWorkers, on 1024 of the same frames.
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 1024; i++) frames.push(frameOf(i, layout));
  let inline = 0;
  let pooled = 0;
  for (let r = 0; r < 3; r++) {
    inline = Math.max(inline, await measureMiniport(0, frames, 150));
    pooled = Math.max(pooled, await measureMiniport(2, frames, 150));
  }
  report({
    name: 'offload.rss.workers.miniport',
    unit: 'frame/s',
    value: pooled,
    baseline: 'RssWorkers=0 (inline)',
    baselineValue: inline,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
