/**
 * The worker side of an RSS receive queue (workers.ts): takes frame slots from its descriptor
 * ring, parses each frame in shared memory, validates its checksums and computes its Toeplitz hash
 * under the configured hash types, and writes the hash value, hash type and checksum Receive bits
 * into the frame's result slot. Sleeps on the ring when it is empty; exits when the ring is closed
 * and drained. Allocates nothing per frame.
 */
import { workerData } from 'node:worker_threads';
import { FrameLayout, parseFrame } from '../layout.js';
import { validateChecksums } from '../checksum/index.js';
import { RssClassification, rssHashFrame } from './engine.js';
import { ToeplitzHasher } from './toeplitz.js';
import { DescriptorRing, RING, type RssWorkerData } from './workers.js';

const data = workerData as RssWorkerData;
const frames = new Uint8Array(data.frames);
const table = new Int32Array(data.table);
const results = new Int32Array(data.results);
const ring = new DescriptorRing(data.ring);
const hasher = new ToeplitzHasher(data.key);
const layout = new FrameLayout();
const out = new RssClassification();
const types = data.hashTypes;
const mask = data.checksumMask;

function processFrame(slot: number): void {
  const off = table[2 * slot]!;
  const len = table[2 * slot + 1]!;
  parseFrame(frames, off, len, layout);
  const bits = validateChecksums(frames, layout, mask);
  const t = rssHashFrame(hasher, frames, layout, types, out);
  const r = 3 * slot;
  results[r] = out.hash | 0;
  results[r + 1] = t;
  results[r + 2] = bits;
}

function run(): void {
  const c = ring.control;
  const slots = ring.slots;
  const m = ring.mask;
  let head = Atomics.load(c, RING.HEAD);
  for (;;) {
    const tail = Atomics.load(c, RING.TAIL);
    if (tail === head) {
      if (Atomics.load(c, RING.CLOSED) === 1 && Atomics.load(c, RING.TAIL) === head) return;
      Atomics.wait(c, RING.TAIL, tail, 100);
      continue;
    }
    while (head !== tail) {
      processFrame(slots[head & m]!);
      head = (head + 1) | 0;
    }
    Atomics.store(c, RING.HEAD, head);
    Atomics.store(c, RING.PROCESSED, head);
    Atomics.notify(c, RING.HEAD);
    Atomics.notify(c, RING.PROCESSED);
  }
}

run();
