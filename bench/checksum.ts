/**
 * Internet checksum (RFC 1071) throughput: src/wire/checksum.ts against a plain C implementation
 * (bench/c/checksum.c, gcc -O2) measured in the same run, over 64 B, 1500 B and 64 KiB buffers,
 * plus a 1500 B buffer that starts at an odd address. Rounds alternate between the two sides and
 * the best of each is kept.
 *
 * Run: `node dist/bench/checksum.js [--json]`.
 */
import { compileBaseline, runBaseline } from './lib/cbaseline.js';
import { header, opsPerSecond, report, sink } from './lib/report.js';
import { internetChecksum } from '../src/wire/checksum.js';

const ROUNDS = 3;

interface Row {
  name: string;
  size: number;
  offset: number;
  target?: number;
}

const rows: Row[] = [
  { name: 'wire.checksum.64B', size: 64, offset: 0 },
  { name: 'wire.checksum.1500B', size: 1500, offset: 0, target: 0.8 },
  { name: 'wire.checksum.64KiB', size: 65536, offset: 0 },
  { name: 'wire.checksum.1500B.odd-address', size: 1500, offset: 1 },
];

function measureJs(size: number, offset: number): number {
  // One slab, as NBL data lives in pool slabs; the buffer is filled like the C side's.
  const slab = new Uint8Array(new ArrayBuffer(size + offset + 64));
  const data = slab.subarray(offset, offset + size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + 7) & 0xff;
  const iterations = Math.max(1, Math.floor((1 << 24) / (size + 32)));
  const ops = opsPerSecond((n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      data[0] = i; // the data changes every call, as packets do
      acc += internetChecksum(data, 0, size);
    }
    sink.value += acc;
  }, iterations, 300);
  return ops * size;
}

function main(): void {
  header('Internet checksum (RFC 1071), bytes/s');
  const bin = compileBaseline('checksum');
  for (const row of rows) {
    let best = 0;
    let bestC: number | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      if (bin !== null) bestC = Math.max(bestC ?? 0, runBaseline(bin, [String(row.size), String(row.offset)]));
      best = Math.max(best, measureJs(row.size, row.offset));
    }
    report({
      name: row.name,
      unit: 'B/s',
      value: best,
      baseline: 'C RFC 1071 loop, gcc -O2',
      baselineValue: bestC,
      ...(row.target !== undefined ? { target: row.target } : {}),
      ...(bin === null ? { note: 'gcc not found: no C baseline' } : {}),
    });
  }
}

main();
