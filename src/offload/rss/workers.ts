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
 * checksum Receive bits, the NBL classification flags) into the frame's result slot. The producer
 * publishes descriptors in batches and wakes a worker with Atomics.notify only when it sleeps; a
 * worker sleeps with Atomics.wait when its ring is empty and releases slots every 256 frames. The
 * virtual miniport uses a pool over its receive buffers (the RssWorkers keyword); bench/rss-workers
 * measures both.
 */
import { Worker } from 'node:worker_threads';
import { ToeplitzHasher } from './toeplitz.js';

/**
 * The ring's control words (Int32 indices). The consumer's words (HEAD, PROCESSED,
 * CONSUMER_SLEEPING) and the producer's (TAIL, CLOSED, PRODUCER_WAITING) sit 64 bytes apart, so
 * that the two threads do not write one cache line. A side that is about to sleep raises its flag
 * first, and the other side calls Atomics.notify only when the flag is up: a notify costs a lock
 * and often a system call, too much to pay for every batch. A waiting producer also says which
 * HEAD value it waits for (WAIT_TARGET), so that the consumer wakes it once, not at every release.
 */
export const RING = { HEAD: 0, PROCESSED: 1, CONSUMER_SLEEPING: 2, TAIL: 16, CLOSED: 17, PRODUCER_WAITING: 18, WAIT_TARGET: 19, CAPACITY: 32 } as const;
const CONTROL_WORDS = 48;

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
   * is full, publishes and waits until the consumer has freed a quarter of it.
   */
  push(slot: number): void {
    if (this.tail - this.headSeen > this.mask) this.waitForRoom(((this.mask + 1) >> 2) || 1);
    this.slots[this.tail & this.mask] = slot;
    this.tail = (this.tail + 1) | 0;
  }

  /**
   * Producer: appends `count` slot numbers from `src[from..]` at once (descriptors written in
   * bulk, as a NIC writes a batch) and publishes them. With too little room it waits until the
   * consumer has freed half the ring (or what is left to push): refilling a nearly full ring a
   * few descriptors at a time would wake both sides for every few frames.
   */
  pushBatch(src: Int32Array, from: number, count: number): void {
    const cap = this.mask + 1;
    let done = 0;
    while (done < count) {
      const want = Math.min(count - done, cap >> 1);
      let room = cap - (this.tail - this.headSeen);
      if (room < want) {
        this.headSeen = Atomics.load(this.control, RING.HEAD);
        room = cap - (this.tail - this.headSeen);
        if (room < want) {
          this.waitForRoom(want);
          room = cap - (this.tail - this.headSeen);
        }
      }
      const at = this.tail & this.mask;
      const n = Math.min(count - done, room, cap - at);
      const slots = this.slots;
      const base = from + done;
      for (let i = 0; i < n; i++) slots[at + i] = src[base + i]!;
      this.tail = (this.tail + n) | 0;
      done += n;
      this.publish();
    }
  }

  /** Producer: publishes, then sleeps until at least `minRoom` slots are free. */
  private waitForRoom(minRoom: number): void {
    const c = this.control;
    const cap = this.mask + 1;
    this.headSeen = Atomics.load(c, RING.HEAD);
    while (cap - (this.tail - this.headSeen) < minRoom) {
      this.publish();
      const seen = this.headSeen;
      Atomics.store(c, RING.WAIT_TARGET, (this.tail - cap + minRoom) | 0);
      Atomics.store(c, RING.PRODUCER_WAITING, 1);
      if (Atomics.load(c, RING.HEAD) === seen) Atomics.wait(c, RING.HEAD, seen, 50);
      Atomics.store(c, RING.PRODUCER_WAITING, 0);
      this.headSeen = Atomics.load(c, RING.HEAD);
    }
  }

  /** Producer: makes pushed descriptors visible and wakes the consumer if it sleeps. */
  publish(): void {
    const c = this.control;
    Atomics.store(c, RING.TAIL, this.tail);
    if (Atomics.load(c, RING.CONSUMER_SLEEPING) !== 0) Atomics.notify(c, RING.TAIL);
  }

  /** Producer: no more descriptors will come; the consumer exits once the ring is empty. */
  close(): void {
    const c = this.control;
    Atomics.store(c, RING.CLOSED, 1);
    Atomics.store(c, RING.TAIL, this.tail);
    Atomics.notify(c, RING.TAIL);
  }

  /** Producer: descriptors the consumer has finished. */
  get processed(): number {
    return Atomics.load(this.control, RING.PROCESSED);
  }

  /**
   * Producer: blocks until the consumer has finished `count` descriptors in total (true), or the
   * clock passes `deadline` (Date.now() milliseconds; false).
   */
  waitProcessed(count: number, deadline = Infinity): boolean {
    const c = this.control;
    for (;;) {
      const p = Atomics.load(c, RING.PROCESSED);
      if (((p - count) | 0) >= 0) return true;
      if (deadline !== Infinity && Date.now() >= deadline) return false;
      Atomics.store(c, RING.WAIT_TARGET, count);
      Atomics.store(c, RING.PRODUCER_WAITING, 1);
      if (Atomics.load(c, RING.PROCESSED) === p) Atomics.wait(c, RING.PROCESSED, p, 50);
      Atomics.store(c, RING.PRODUCER_WAITING, 0);
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
    if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError(`frame slab slot count ${slotCount} must be a positive integer`);
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

  /**
   * Records that slot `slot` holds the frame at `bytes[offset..offset+length)`, for a producer that
   * writes its frames in place (a receive buffer per slot) rather than with `add`.
   */
  set(slot: number, offset: number, length: number): void {
    this.table[2 * slot] = offset;
    this.table[2 * slot + 1] = length;
  }

  /** Slots filled by `add`. */
  get count(): number {
    return this.next;
  }
}

/** Int32 words per result slot: 16 (64 bytes), so that two workers never write one cache line. */
export const RESULT_STRIDE = 16;
/** Word offsets inside a result slot. */
export const RESULT = { HASH: 0, HASH_TYPE: 1, CHECKSUM: 2, NBL_FLAGS: 3 } as const;

/**
 * Per-slot results the workers write: hash value, hash type, checksum Receive bits (the
 * NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO value) and the NBL classification flags
 * (NDIS_NBL_FLAGS_IS_IPV4 ... IS_UDP). Each slot has a cache line of its own.
 */
export class FrameResults {
  declare readonly values: Int32Array;

  constructor(slotCount: number) {
    this.values = new Int32Array(new SharedArrayBuffer(4 * RESULT_STRIDE * slotCount));
  }

  hash(slot: number): number {
    return this.values[slot * RESULT_STRIDE + RESULT.HASH]! >>> 0;
  }

  hashType(slot: number): number {
    return this.values[slot * RESULT_STRIDE + RESULT.HASH_TYPE]!;
  }

  checksum(slot: number): number {
    return this.values[slot * RESULT_STRIDE + RESULT.CHECKSUM]!;
  }

  nblFlags(slot: number): number {
    return this.values[slot * RESULT_STRIDE + RESULT.NBL_FLAGS]!;
  }
}

/**
 * The configuration block the workers read: what they hash with and what they validate. Written
 * by the main thread only while no frame is in flight (RssWorkerPool.configure drains first); a
 * worker reloads it when GENERATION changes.
 */
export const CONFIG = { GENERATION: 0, HASH_TYPES: 1, CHECKSUM_MASK: 2, KEY_LENGTH: 3, ENCAPSULATED: 4, KEY: 5 } as const;
const CONFIG_WORDS = CONFIG.KEY + 40;

/** What each worker is given. */
export interface RssWorkerData {
  frames: SharedArrayBuffer;
  table: SharedArrayBuffer;
  results: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** The configuration block (CONFIG words; the key one byte per word). */
  config: SharedArrayBuffer;
}

/** Options of an {@link RssWorkerPool}. */
export interface RssWorkerPoolOptions {
  /** Worker threads (one receive queue each). */
  workers: number;
  /** Ring capacity per worker (power of two). */
  ringCapacity?: number;
  /** RSS secret key and hash types the workers hash with (hash types 0: no hash). */
  key: ArrayLike<number>;
  hashTypes: number;
  /** CSUM mask of the checksums the workers validate (0: none). */
  checksumMask: number;
  /** Hash NVGRE frames on their inner headers (as RssEngine.encapsulated). Default false. */
  encapsulated?: boolean;
}

/**
 * Receive queues on worker threads over one shared frame slab. `dispatch(queue, slot)` hands a
 * frame to a queue's worker; `flush` publishes; `wait` blocks until every dispatched frame has its
 * results; `configure` changes the key, hash types and checksum mask between frames; `close` ends
 * the workers (`terminate` without waiting, for a miniport's halt).
 */
export class RssWorkerPool {
  readonly rings: DescriptorRing[] = [];
  readonly workers: Worker[] = [];
  declare readonly results: FrameResults;
  private declare readonly dispatched: Int32Array;
  private declare readonly config: Int32Array;
  private readonly exited: Promise<void>[] = [];

  constructor(slab: FrameSlab, options: RssWorkerPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError(`worker count ${options.workers} must be a positive integer`);
    this.results = new FrameResults(slab.slotCount);
    this.dispatched = new Int32Array(options.workers);
    this.config = new Int32Array(new SharedArrayBuffer(4 * CONFIG_WORDS));
    this.writeConfig(options.key, options.hashTypes, options.checksumMask, options.encapsulated ?? false);
    const url = new URL('./rss-worker.js', import.meta.url);
    for (let i = 0; i < options.workers; i++) {
      const ring = new DescriptorRing(options.ringCapacity ?? 4096);
      this.rings.push(ring);
      const data: RssWorkerData = {
        frames: slab.bytes.buffer as SharedArrayBuffer,
        table: slab.table.buffer as SharedArrayBuffer,
        results: this.results.values.buffer as SharedArrayBuffer,
        ring: ring.buffer,
        config: this.config.buffer as SharedArrayBuffer,
      };
      const w = new Worker(url, { workerData: data });
      this.exited.push(new Promise((resolve, reject) => {
        w.once('exit', () => resolve());
        w.once('error', reject);
      }));
      this.workers.push(w);
    }
  }

  private writeConfig(key: ArrayLike<number>, hashTypes: number, checksumMask: number, encapsulated: boolean): void {
    // The hasher checks the key; checking it here too reports a bad key on the caller's thread.
    new ToeplitzHasher(key);
    const c = this.config;
    c[CONFIG.HASH_TYPES] = hashTypes;
    c[CONFIG.CHECKSUM_MASK] = checksumMask;
    c[CONFIG.ENCAPSULATED] = encapsulated ? 1 : 0;
    c[CONFIG.KEY_LENGTH] = key.length;
    for (let i = 0; i < key.length; i++) c[CONFIG.KEY + i] = key[i]!;
    Atomics.add(c, CONFIG.GENERATION, 1);
  }

  /**
   * Changes what the workers compute (the RSS secret key and hash types, the checksum mask), for
   * frames dispatched from now on: waits for the frames in flight first.
   */
  configure(key: ArrayLike<number>, hashTypes: number, checksumMask: number, encapsulated = false): void {
    this.wait();
    this.writeConfig(key, hashTypes, checksumMask, encapsulated);
  }

  /** Hands frame `slot` to the worker of `queue` (visible after `flush`, or every 256 frames). */
  dispatch(queue: number, slot: number): void {
    const ring = this.rings[queue]!;
    ring.push(slot);
    const n = (this.dispatched[queue]! + 1) | 0;
    this.dispatched[queue] = n;
    if ((n & 255) === 0) ring.publish();
  }

  /** Hands the frames `slots[from..from+count)` to the worker of `queue` in one batch (published at once). */
  dispatchBatch(queue: number, slots: Int32Array, from: number, count: number): void {
    this.rings[queue]!.pushBatch(slots, from, count);
    this.dispatched[queue] = (this.dispatched[queue]! + count) | 0;
  }

  /** Publishes every ring. */
  flush(): void {
    for (let i = 0; i < this.rings.length; i++) this.rings[i]!.publish();
  }

  /**
   * Blocks until every dispatched frame has been processed, or `timeoutMs` has passed (then
   * returns false: a worker is stuck or gone).
   */
  wait(timeoutMs = Infinity): boolean {
    this.flush();
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (let i = 0; i < this.rings.length; i++) {
      if (!this.rings[i]!.waitProcessed(this.dispatched[i]!, deadline)) return false;
    }
    return true;
  }

  /** Frames dispatched in total. */
  get total(): number {
    let t = 0;
    for (let i = 0; i < this.dispatched.length; i++) t += this.dispatched[i]!;
    return t;
  }

  /** Ends the workers once their rings are empty; resolves when they have exited. */
  async close(): Promise<void> {
    for (const r of this.rings) r.close();
    await Promise.all(this.exited);
  }

  /**
   * Ends the workers without waiting for them (MiniportHaltEx cannot wait for a thread to exit):
   * the rings are closed and the threads stopped; nothing dispatched afterwards is processed.
   */
  terminate(): void {
    for (const r of this.rings) r.close();
    for (const w of this.workers) {
      w.unref();
      void w.terminate();
    }
  }

  /** Lets the process exit while the workers are idle (they still run while it is alive). */
  unref(): void {
    for (const w of this.workers) w.unref();
  }
}
