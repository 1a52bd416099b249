/**
 * RSS receive queues on worker threads: real parallelism for the per-frame receive work that RSS
 * spreads over processors (checksum validation, the Toeplitz hash, the header parse), with frames in
 * shared memory and single-producer single-consumer descriptor rings — no message per packet.
 *
 * ```
 *  main thread (the NIC's DMA + classifier)          worker n (receive queue n's DPC)
 *  FrameSlab (SharedArrayBuffer): frame bytes         reads the frame in place
 *  DescriptorRing n: slot numbers  ── push ──►        parse, validate checksums, hash
 *  FrameResults (SharedArrayBuffer) ◄── results ──    hash value, hash type, checksum bits per slot
 * ```
 *
 * A frame is steered to ring `queue` by the indirection table (RssEngine); the worker for that ring
 * computes what a NIC stores in the NET_BUFFER_LIST (NET_BUFFER_LIST_SET_HASH_VALUE/TYPE, the
 * checksum Receive bits) into the frame's result slot. The producer publishes descriptors in
 * batches and wakes a sleeping worker with Atomics.notify; a worker sleeps with Atomics.wait when
 * its ring is empty.
 */
import { Worker } from 'node:worker_threads';

/** The ring's control words (Int32 indices). */
export const RING = { HEAD: 0, TAIL: 1, CAPACITY: 2, CLOSED: 3, PROCESSED: 4 } as const;
const CONTROL_WORDS = 8;

/**
 * A single-producer single-consumer ring of frame slot numbers in a SharedArrayBuffer. Both sides
 * construct it over the same buffer; the producer calls push/publish, the consumer take/release.
 */
export class DescriptorRing {
  declare readonly buffer: SharedArrayBuffer;
  declare readonly control: Int32Array;
  declare readonly slots: Int32Array;
  declare readonly mask: number;
  /** Producer's next index (published to TAIL by `publish`). */
  private declare tail: number;
  /** The consumer's HEAD as the producer last read it (re-read only when the ring looks full). */
  private declare headSeen: number;

  constructor(bufferOrCapacity: SharedArrayBuffer | number) {
    if (typeof bufferOrCapacity === 'number') {
      const capacity = bufferOrCapacity;
      if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity ${capacity} must be a power of two of at least 2`);
      this.buffer = new SharedArrayBuffer(4 * (CONTROL_WORDS + capacity));
      this.control = new Int32Array(this.buffer, 0, CONTROL_WORDS);
      this.control[RING.CAPACITY] = capacity;
    } else {
      this.buffer = bufferOrCapacity;
      this.control = new Int32Array(this.buffer, 0, CONTROL_WORDS);
    }
    const cap = this.control[RING.CAPACITY]!;
    this.slots = new Int32Array(this.buffer, 4 * CONTROL_WORDS, cap);
    this.mask = cap - 1;
    this.tail = Atomics.load(this.control, RING.TAIL);
    this.headSeen = Atomics.load(this.control, RING.HEAD);
  }

  /** Descriptors pushed and not yet consumed (producer's view). */
  get pending(): number {
    return this.tail - Atomics.load(this.control, RING.HEAD);
  }

  /**
   * Producer: appends a slot number (not visible to the consumer until `publish`). When the ring
   * is full, publishes and waits for the consumer to make room.
   */
  push(slot: number): void {
    if (this.tail - this.headSeen > this.mask) this.waitForRoom();
    this.slots[this.tail & this.mask] = slot;
    this.tail = (this.tail + 1) | 0;
  }

  /**
   * Producer: appends `count` slot numbers from `src[from..]` at once (descriptors written in
   * bulk, as a NIC writes a batch) and publishes them, waiting for room as needed.
   */
  pushBatch(src: Int32Array, from: number, count: number): void {
    const cap = this.mask + 1;
    let done = 0;
    while (done < count) {
      let room = cap - (this.tail - this.headSeen);
      if (room === 0) {
        this.waitForRoom();
        room = cap - (this.tail - this.headSeen);
      }
      const at = this.tail & this.mask;
      const n = Math.min(count - done, room, cap - at);
      this.slots.set(src.subarray(from + done, from + done + n), at);
      this.tail = (this.tail + n) | 0;
      done += n;
      this.publish();
    }
  }

  private waitForRoom(): void {
    const c = this.control;
    this.headSeen = Atomics.load(c, RING.HEAD);
    while (this.tail - this.headSeen > this.mask) {
      this.publish();
      Atomics.wait(c, RING.HEAD, this.headSeen, 50);
      this.headSeen = Atomics.load(c, RING.HEAD);
    }
  }

  /** Producer: makes pushed descriptors visible and wakes the consumer. */
  publish(): void {
    Atomics.store(this.control, RING.TAIL, this.tail);
    Atomics.notify(this.control, RING.TAIL);
  }

  /** Producer: no more descriptors will come; the consumer exits once the ring is empty. */
  close(): void {
    this.publish();
    Atomics.store(this.control, RING.CLOSED, 1);
    Atomics.notify(this.control, RING.TAIL);
  }

  /** Producer: descriptors the consumer has finished. */
  get processed(): number {
    return Atomics.load(this.control, RING.PROCESSED);
  }

  /** Producer: blocks until the consumer has finished `count` descriptors in total. */
  waitProcessed(count: number): void {
    const c = this.control;
    for (;;) {
      const p = Atomics.load(c, RING.PROCESSED);
      if (p - count >= 0) return;
      Atomics.wait(c, RING.PROCESSED, p, 50);
    }
  }
}

/** Frames in shared memory: a byte slab and an (offset, length) table by slot number. */
export class FrameSlab {
  declare readonly bytes: Uint8Array;
  declare readonly table: Int32Array;
  declare readonly slotCount: number;
  private used = 0;
  private next = 0;

  constructor(byteCapacity: number, slotCount: number) {
    this.bytes = new Uint8Array(new SharedArrayBuffer(byteCapacity));
    this.table = new Int32Array(new SharedArrayBuffer(8 * slotCount));
    this.slotCount = slotCount;
  }

  /** Copies a frame into the slab (the DMA) and returns its slot, or -1 when full. */
  add(frame: Uint8Array): number {
    if (this.next >= this.slotCount || this.used + frame.length > this.bytes.length) return -1;
    const slot = this.next++;
    this.bytes.set(frame, this.used);
    this.table[2 * slot] = this.used;
    this.table[2 * slot + 1] = frame.length;
    this.used += (frame.length + 7) & ~7;
    return slot;
  }

  /** Slots filled. */
  get count(): number {
    return this.next;
  }
}

/** Per-slot results the workers write: hash value, hash type, checksum Receive bits. */
export class FrameResults {
  declare readonly values: Int32Array;

  constructor(slotCount: number) {
    this.values = new Int32Array(new SharedArrayBuffer(12 * slotCount));
  }

  hash(slot: number): number {
    return Atomics.load(this.values, 3 * slot) >>> 0;
  }

  hashType(slot: number): number {
    return Atomics.load(this.values, 3 * slot + 1);
  }

  checksum(slot: number): number {
    return Atomics.load(this.values, 3 * slot + 2);
  }
}

/** What each worker is given. */
export interface RssWorkerData {
  frames: SharedArrayBuffer;
  table: SharedArrayBuffer;
  results: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  key: number[];
  hashTypes: number;
  checksumMask: number;
}

/** Options of an {@link RssWorkerPool}. */
export interface RssWorkerPoolOptions {
  /** Worker threads (one receive queue each). */
  workers: number;
  /** Ring capacity per worker (power of two). */
  ringCapacity?: number;
  /** RSS secret key and hash types the workers hash with. */
  key: ArrayLike<number>;
  hashTypes: number;
  /** CSUM mask of the checksums the workers validate. */
  checksumMask: number;
}

/**
 * Receive queues on worker threads over one shared frame slab. `dispatch(queue, slot)` hands a
 * frame to a queue's worker; `flush` publishes; `wait` blocks until every dispatched frame has its
 * results; `close` ends the workers.
 */
export class RssWorkerPool {
  readonly rings: DescriptorRing[] = [];
  readonly workers: Worker[] = [];
  declare readonly results: FrameResults;
  private declare readonly dispatched: number[];
  private readonly exited: Promise<void>[] = [];

  constructor(slab: FrameSlab, options: RssWorkerPoolOptions) {
    this.results = new FrameResults(slab.slotCount);
    this.dispatched = new Array<number>(options.workers).fill(0);
    const url = new URL('./rss-worker.js', import.meta.url);
    for (let i = 0; i < options.workers; i++) {
      const ring = new DescriptorRing(options.ringCapacity ?? 4096);
      this.rings.push(ring);
      const data: RssWorkerData = {
        frames: slab.bytes.buffer as SharedArrayBuffer,
        table: slab.table.buffer as SharedArrayBuffer,
        results: this.results.values.buffer as SharedArrayBuffer,
        ring: ring.buffer,
        key: Array.from(options.key),
        hashTypes: options.hashTypes,
        checksumMask: options.checksumMask,
      };
      const w = new Worker(url, { workerData: data });
      this.exited.push(new Promise((resolve, reject) => {
        w.once('exit', () => resolve());
        w.once('error', reject);
      }));
      this.workers.push(w);
    }
  }

  /** Hands frame `slot` to the worker of `queue` (visible after `flush`, or when a batch fills). */
  dispatch(queue: number, slot: number): void {
    const ring = this.rings[queue]!;
    ring.push(slot);
    this.dispatched[queue]!++;
    if ((this.dispatched[queue]! & 63) === 0) ring.publish();
  }

  /** Hands the frames `slots[from..from+count)` to the worker of `queue` in one batch (published at once). */
  dispatchBatch(queue: number, slots: Int32Array, from: number, count: number): void {
    this.rings[queue]!.pushBatch(slots, from, count);
    this.dispatched[queue]! += count;
  }

  /** Publishes every ring. */
  flush(): void {
    for (const r of this.rings) r.publish();
  }

  /** Blocks until every dispatched frame has been processed. */
  wait(): void {
    this.flush();
    for (let i = 0; i < this.rings.length; i++) this.rings[i]!.waitProcessed(this.dispatched[i]!);
  }

  /** Frames dispatched in total. */
  get total(): number {
    return this.dispatched.reduce((a, b) => a + b, 0);
  }

  /** Ends the workers once their rings are empty; resolves when they have exited. */
  async close(): Promise<void> {
    for (const r of this.rings) r.close();
    await Promise.all(this.exited);
  }
}
