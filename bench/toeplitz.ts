/**
 * Toeplitz RSS hash throughput (hashes/s) for the IPv4 and IPv6 2-tuples and 4-tuples, against a
 * C build of the same per-byte table technique (bench/c/toeplitz.c, gcc -O2) hashing the same
 * packets. Both sides hash 4096 packets laid out every 64 bytes, filled by the same xorshift32
 * generator; the XOR of one pass is compared first so both are known to do the same work. Each
 * figure is the best of seven alternating rounds of each side.
 *
 *   node dist/bench/toeplitz.js [--json]
 */
import { execFileSync } from 'node:child_process';
import { ToeplitzHasher, RSS_VERIFICATION_KEY } from '../src/offload/rss/toeplitz.js';
import { compileBaseline, runBaseline } from './lib/cbaseline.js';
import { header, opsPerSecond, report, sink } from './lib/report.js';

const PACKETS = 4096;
const STRIDE = 64;

const packets = new Uint8Array(PACKETS * STRIDE);
let x = 0x9e3779b9;
for (let i = 0; i < packets.length; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  packets[i] = x & 0xff;
}

const hasher = new ToeplitzHasher(RSS_VERIFICATION_KEY);

// One function per tuple kind, so that each call site into the hasher stays monomorphic.
function passIpv4(rounds: number): number {
  let acc = 0;
  for (let r = 0; r < rounds; r++) {
    for (let o = 0; o < PACKETS * STRIDE; o += STRIDE) acc ^= hasher.hashIpv4(packets, o + 12, o + 16);
  }
  return acc >>> 0;
}
function passIpv4Ports(rounds: number): number {
  let acc = 0;
  for (let r = 0; r < rounds; r++) {
    for (let o = 0; o < PACKETS * STRIDE; o += STRIDE) acc ^= hasher.hashIpv4Ports(packets, o + 12, o + 16, o + 20);
  }
  return acc >>> 0;
}
function passIpv6(rounds: number): number {
  let acc = 0;
  for (let r = 0; r < rounds; r++) {
    for (let o = 0; o < PACKETS * STRIDE; o += STRIDE) acc ^= hasher.hashIpv6(packets, o + 8, o + 24);
  }
  return acc >>> 0;
}
function passIpv6Ports(rounds: number): number {
  let acc = 0;
  for (let r = 0; r < rounds; r++) {
    for (let o = 0; o < PACKETS * STRIDE; o += STRIDE) acc ^= hasher.hashIpv6Ports(packets, o + 8, o + 24, o + 40);
  }
  return acc >>> 0;
}

interface Row {
  name: string;
  kind: string;
  pass: (rounds: number) => number;
  target?: number;
}

const rows: Row[] = [
  { name: 'rss.toeplitz.ipv4', kind: 'ipv4', pass: passIpv4 },
  { name: 'rss.toeplitz.ipv4-ports', kind: 'ipv4-ports', pass: passIpv4Ports, target: 1.0 },
  { name: 'rss.toeplitz.ipv6', kind: 'ipv6', pass: passIpv6, target: 1.0 },
  { name: 'rss.toeplitz.ipv6-ports', kind: 'ipv6-ports', pass: passIpv6Ports, target: 1.0 },
];

header('Toeplitz RSS hash (NdisHashFunctionToeplitz), 40-byte key, per-byte tables');
let bin: string | null = null;
let why = 'gcc not found';
try {
  bin = compileBaseline('toeplitz');
} catch (err) {
  why = `gcc failed: ${(err as Error).message}`;
}

for (const row of rows) {
  const pass = row.pass;
  const body = (iterations: number): void => {
    sink.value ^= pass(iterations);
  };
  let note: string | undefined;
  let baselineValue: number | null = null;
  if (bin !== null) {
    const theirs = Number(execFileSync(bin, [row.kind, 'check'], { encoding: 'utf8' }).trim());
    const ours = row.pass(1);
    if (theirs !== ours) {
      throw new Error(`${row.name}: the C baseline hashed to ${theirs} but ndis-ts to ${ours}; not the same work`);
    }
  }
  // Seven alternating rounds (ours for 200 ms, then the C program for 200 ms), best of each, so
  // that noise on the machine hits both sides alike.
  let best = 0;
  for (let r = 0; r < 7; r++) {
    best = Math.max(best, opsPerSecond(body, 50, 200) * PACKETS);
    if (bin !== null) baselineValue = Math.max(baselineValue ?? 0, runBaseline(bin, [row.kind, '1']));
  }
  if (bin === null) note = why;
  const figure = {
    name: row.name,
    unit: 'hash/s',
    value: best,
    baseline: 'C tables, gcc -O2',
    baselineValue,
    ...(row.target !== undefined ? { target: row.target } : {}),
    ...(note !== undefined ? { note } : {}),
  };
  report(figure);
}
