/**
 * NBL pool benchmarks: allocate+free per packet, walk of a 64-NBL chain, and heap growth per packet,
 * each against a bare-JS baseline doing the same work over plain objects in the same run.
 *
 *   node dist/bench/nbl.js [--json]
 */
import { NetBufferListPool, type NetBufferList } from '../src/nbl/index.js';
import { compare, header, report, sink } from './lib/report.js';

/** The baseline: a free-list of plain objects with the fields an allocation touches. */
class PlainPacket {
  next: PlainPacket | null = null;
  status = 0;
  flags = 0;
  length = 0;
  allocated = 0;
}
class PlainPool {
  private readonly free: PlainPacket[] = [];
  private top = 0;
  constructor(n: number) {
    for (let i = 0; i < n; i++) this.free[this.top++] = new PlainPacket();
  }
  allocate(): PlainPacket | null {
    if (this.top === 0) return null;
    const p = this.free[--this.top]!;
    p.allocated = 1;
    p.next = null;
    p.status = 0;
    p.flags = 0;
    return p;
  }
  release(p: PlainPacket): void {
    p.allocated = 0;
    this.free[this.top++] = p;
  }
}

export function run(): void {
  header('NET_BUFFER_LIST pool');
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, dataSize: 2048, poolTag: 'Bnch', initialCount: 256 });
  const plain = new PlainPool(256);

  // 1. allocate + free, one packet at a time (the per-packet cost of a pooled NBL).
  const allocFree = compare(
    (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const nbl = pool.allocateNetBufferList()!;
        acc += nbl.firstNetBuffer!.dataLength;
        pool.freeNetBufferList(nbl);
      }
      sink.value += acc;
    },
    (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const p = plain.allocate()!;
        p.length = 2048;
        acc += p.length;
        plain.release(p);
      }
      sink.value += acc;
    },
    1_000_000,
  );
  report({ name: 'nbl.pool.alloc-free', unit: 'ops/s', value: allocFree.a, baseline: 'bare-js free list', baselineValue: allocFree.b, target: 20e6, targetOn: 'value' });

  // 2. walk a 64-NBL chain reading each NET_BUFFER's length.
  const chain: NetBufferList[] = [];
  for (let i = 0; i < 64; i++) chain.push(pool.allocateNetBufferList()!);
  for (let i = 0; i < 63; i++) chain[i]!.next = chain[i + 1]!;
  const plainChain: PlainPacket[] = [];
  for (let i = 0; i < 64; i++) {
    const p = plain.allocate()!;
    p.length = 2048;
    plainChain.push(p);
  }
  for (let i = 0; i < 63; i++) plainChain[i]!.next = plainChain[i + 1]!;
  const head = chain[0]!;
  const plainHead = plainChain[0]!;
  const walk = compare(
    (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        for (let nbl: NetBufferList | null = head; nbl !== null; nbl = nbl.next) acc += nbl.firstNetBuffer!.dataLength;
      }
      sink.value += acc;
    },
    (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        for (let p: PlainPacket | null = plainHead; p !== null; p = p.next) acc += p.length;
      }
      sink.value += acc;
    },
    50_000,
  );
  report({ name: 'nbl.chain.walk-64', unit: 'NBL/s', value: walk.a * 64, baseline: 'bare-js linked list', baselineValue: walk.b * 64 });
  for (const nbl of chain) pool.freeNetBufferList(nbl);
  for (const p of plainChain) plain.release(p);

  // 3. heap growth per packet over 10 million allocate+free after warm-up.
  const packets = 10_000_000;
  // Whole bytes per packet: one object allocated per packet would show 16 bytes or more; the few
  // hundred bytes a heap may grow by once (compiled code, type feedback) are not per packet, and
  // are shown in the note.
  const totals: number[] = [];
  const growth = (body: (n: number) => void): number => {
    body(1_000_000); // warm-up: optimized code and feedback settle
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    body(packets);
    globalThis.gc?.();
    const after = process.memoryUsage().heapUsed;
    const total = Math.max(0, after - before);
    totals.push(total);
    return Math.floor(total / packets);
  };
  const nblGrowth = growth((n) => {
    for (let i = 0; i < n; i++) pool.freeNetBufferList(pool.allocateNetBufferList()!);
  });
  const plainGrowth = growth((n) => {
    for (let i = 0; i < n; i++) plain.release(plain.allocate()!);
  });
  report({
    name: 'nbl.pool.heap-growth',
    unit: 'B/pkt',
    value: nblGrowth,
    baseline: 'bare-js free list',
    baselineValue: plainGrowth,
    target: 0,
    targetOn: 'value',
    lowerIsBetter: true,
    note: globalThis.gc === undefined ? 'run with --expose-gc for exact figures' : `heap grew ${totals[0]} B in all over ${packets / 1e6}M packets (bare loop: ${totals[1]} B)`,
  });
  pool.free();
}

if (import.meta.url === `file://${process.argv[1]}`) run();
