/**
 * The worker side of an RSS receive queue (workers.ts): takes frame slots from its descriptor
 * ring, parses each frame in shared memory, validates its checksums and computes its Toeplitz hash
 * under the configured hash types, and writes the hash value, hash type, checksum Receive bits and
 * NBL classification flags into the frame's result slot. Reloads the configuration block when its
 * generation changes (checked once per batch). Sleeps on the ring when it is empty; exits when the
 * ring is closed and drained. Allocates nothing per frame.
 */
import { workerData } from 'node:worker_threads';
import { FrameLayout, parseFrame } from '../layout.js';
import { validateChecksums } from '../checksum/index.js';
import { classificationFlags } from '../hds/index.js';
import { RssClassification, rssHashLayout } from './engine.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from './toeplitz.js';
import { CONFIG, DescriptorRing, RESULT, RESULT_STRIDE, RING, type RssWorkerData } from './workers.js';

const data = workerData as RssWorkerData;
const frames = new Uint8Array(data.frames);
const table = new Int32Array(data.table);
const results = new Int32Array(data.results);
const config = new Int32Array(data.config);
const ring = new DescriptorRing(data.ring);
const hasher = new ToeplitzHasher(RSS_VERIFICATION_KEY);
const layout = new FrameLayout();
const inner = new FrameLayout();
const out = new RssClassification();
const key = new Uint8Array(40);
let generation = -1;
let types = 0;
let mask = 0;
let encapsulated = false;
/** Frames processed between two releases of ring slots. */
const RELEASE = 256;

/** Loads the configuration block when the main thread has changed it. */
function loadConfig(): void {
  const g = Atomics.load(config, CONFIG.GENERATION);
  if (g === generation) return;
  generation = g;
  types = config[CONFIG.HASH_TYPES]!;
  mask = config[CONFIG.CHECKSUM_MASK]!;
  encapsulated = config[CONFIG.ENCAPSULATED] === 1;
  const n = config[CONFIG.KEY_LENGTH]!;
  for (let i = 0; i < n; i++) key[i] = config[CONFIG.KEY + i]!;
  hasher.setKey(key.subarray(0, n));
}

function processFrame(slot: number): void {
  const off = table[2 * slot]!;
  const len = table[2 * slot + 1]!;
  parseFrame(frames, off, len, layout);
  const bits = mask === 0 ? 0 : validateChecksums(frames, layout, mask);
  const t = types === 0 ? 0 : rssHashLayout(hasher, frames, layout, inner, types, encapsulated, out);
  const r = slot * RESULT_STRIDE;
  results[r + RESULT.HASH] = t === 0 ? 0 : out.hash | 0;
  results[r + RESULT.HASH_TYPE] = t;
  results[r + RESULT.CHECKSUM] = bits;
  results[r + RESULT.NBL_FLAGS] = classificationFlags(layout);
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
      // Raise the flag, look again (the producer may have published in between), then sleep.
      Atomics.store(c, RING.CONSUMER_SLEEPING, 1);
      if (Atomics.load(c, RING.TAIL) === head) Atomics.wait(c, RING.TAIL, head, 100);
      Atomics.store(c, RING.CONSUMER_SLEEPING, 0);
      continue;
    }
    loadConfig();
    // Release the slots every RELEASE frames, so that a producer waiting for room (or for
    // results) does not wait for the whole batch.
    while (head !== tail) {
      let n = (tail - head) | 0;
      if (n > RELEASE) n = RELEASE;
      for (let i = 0; i < n; i++) {
        processFrame(slots[head & m]!);
        head = (head + 1) | 0;
      }
      Atomics.store(c, RING.HEAD, head);
      Atomics.store(c, RING.PROCESSED, head);
      if (Atomics.load(c, RING.PRODUCER_WAITING) !== 0 && ((head - Atomics.load(c, RING.WAIT_TARGET)) | 0) >= 0) {
        Atomics.notify(c, RING.HEAD);
        Atomics.notify(c, RING.PROCESSED);
      }
    }
  }
}

run();
