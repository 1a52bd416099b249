/**
 * Large send offload throughput: a 64 KiB TCP/IPv4 LSOv2 send cut into 1448-byte segments by the
 * software segmenter (src/offload/lso), every segment built in one reused output buffer with its
 * IPv4 header checksum and TCP checksum, against the same segmentation written plainly in C
 * (bench/c/lso.c, gcc -O2) in the same run. The sum of the segments' TCP checksums is compared first
 * so both sides are known to produce the same segments. Figures are TCP payload bytes per second.
 *
 *   node dist/bench/lso.js [--json]
 */
import { compileBaseline, runBaseline } from './lib/cbaseline.js';
import { header, opsPerSecond, report, sink } from './lib/report.js';
import { execFileSync } from 'node:child_process';
import { LSO_NO_LIMITS, LsoResult, LsoSegmenter } from '../src/offload/lso/index.js';
import { NetBufferListPool, lsoV2TransmitValue, ndisAllocateMdl } from '../src/nbl/index.js';

const PAYLOAD = 65_536;
const MSS = 1448;
const HDR = 54;

/** The template bench/c/lso.c builds: Ethernet, IPv4 (Total Length 0), TCP, then the payload. */
function template(): Uint8Array {
  const f = new Uint8Array(HDR + PAYLOAD);
  f[5] = 0x02;
  f[6] = 0x02;
  f[11] = 0x01;
  f[12] = 0x08;
  f[14] = 0x45;
  f[18] = 0x12;
  f[19] = 0x34;
  f[20] = 0x40;
  f[22] = 64;
  f[23] = 6;
  f.set([192, 0, 2, 1, 198, 51, 100, 7], 26);
  f.set([0xc0, 0x00, 0x01, 0xbb, 0x00, 0x01, 0x00, 0x00], 34);
  f[46] = 0x50;
  f[47] = 0x18;
  f[48] = 0xff;
  f[49] = 0xff;
  for (let i = 0; i < PAYLOAD; i++) f[HDR + i] = (i * 131 + 7) & 0xff;
  return f;
}

export function run(): void {
  header('Large send offload (LSOv2, IPv4), 64 KiB send, MSS 1448, TCP payload bytes/s');
  const frame = template();
  // Headers in the first MDL, the payload in a second, as a transport builds a large send.
  const head = ndisAllocateMdl(frame, 0, HDR);
  head.next = ndisAllocateMdl(frame, HDR, PAYLOAD);
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'Blso' });
  const nbl = pool.allocateNetBufferAndNetBufferList(0, 0, head, 0, HDR + PAYLOAD)!;
  const nb = nbl.firstNetBuffer!;
  const info = lsoV2TransmitValue(MSS, 34, 0);
  const seg = new LsoSegmenter();
  const out = new Uint8Array(HDR + MSS + 64);
  const once = (): number => {
    if (seg.begin(nb, info, 0, LSO_NO_LIMITS) !== LsoResult.Ok) throw new Error('the benchmark send breaks an LSO rule');
    let check = 0;
    while (seg.next(out, 0) > 0) check += (out[50]! << 8) | out[51]!;
    return check;
  };
  let bin: string | null = null;
  let note: string | undefined;
  try {
    bin = compileBaseline('lso');
  } catch (err) {
    note = `gcc failed: ${(err as Error).message}`;
  }
  if (bin === null && note === undefined) note = 'gcc not found';
  if (bin !== null) {
    const theirs = Number(execFileSync(bin, [String(PAYLOAD), String(MSS), 'check'], { encoding: 'utf8' }).trim());
    const ours = once();
    if (theirs !== ours) throw new Error(`lso: the C baseline's segments sum to ${theirs}, ndis-ts's to ${ours}; not the same work`);
  }
  const body = (n: number): void => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      frame[HDR] = i; // the data changes every send
      acc += once();
    }
    sink.value += acc;
  };
  let best = 0;
  let baseline: number | null = null;
  for (let r = 0; r < 3; r++) {
    best = Math.max(best, opsPerSecond(body, 20, 300) * PAYLOAD);
    if (bin !== null) baseline = Math.max(baseline ?? 0, runBaseline(bin, [String(PAYLOAD), String(MSS), 'rate']));
  }
  report({
    name: 'offload.lso.64KiB',
    unit: 'B/s',
    value: best,
    baseline: 'C segmenter, gcc -O2',
    baselineValue: baseline,
    ...(note !== undefined ? { note } : {}),
  });
  pool.freeNetBufferList(nbl);
}

if (import.meta.url === `file://${process.argv[1]}`) run();
