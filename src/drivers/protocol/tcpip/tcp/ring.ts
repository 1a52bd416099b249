/**
 * A preallocated byte ring for a connection's send or receive buffer. The capacity is a power of
 * two so positions wrap with a mask; the ring never grows. Offsets passed to the methods are
 * relative to the head (the oldest byte kept).
 *
 *   send ring:    head = SND.UNA            length = bytes written by the user and not yet acked
 *   receive ring: head = next byte for the user   length = in-order bytes (up to RCV.NXT);
 *                 out-of-order bytes sit beyond `length` at their sequence offsets
 */
/** The capacity a ring of `size` bytes gets: the next power of two, at least 16. */
export function ringCapacity(size: number): number {
  let cap = 16;
  while (cap < size) cap *= 2;
  return cap;
}

/** A ring without storage, shared by every connection that has no buffers (yet or any more). */
export class ByteRing {
  /** Storage. */
  readonly buffer: Uint8Array;
  /** Capacity in bytes (a power of two). */
  readonly capacity: number;
  /** `capacity - 1`. */
  readonly mask: number;
  /** Position of the head byte in `buffer`. */
  head: number;
  /** Bytes held from the head. */
  length: number;

  /** Creates a ring of at least `size` bytes (rounded up to a power of two, at least 16; 0 makes an empty ring). */
  constructor(size: number) {
    const cap = size <= 0 ? 0 : ringCapacity(size);
    this.buffer = new Uint8Array(cap);
    this.capacity = cap;
    this.mask = cap - 1;
    this.head = 0;
    this.length = 0;
  }

  /** Free bytes after the held ones. */
  free(): number {
    return this.capacity - this.length;
  }

  /** Appends up to `len` bytes of `src` at `off`; returns the number appended. */
  append(src: Uint8Array, off: number, len: number): number {
    const n = len < this.capacity - this.length ? len : this.capacity - this.length;
    this.writeAt(this.length, src, off, n);
    this.length += n;
    return n;
  }

  /** Copies `len` bytes of `src` at `off` to ring offset `at` (relative to the head). */
  writeAt(at: number, src: Uint8Array, off: number, len: number): void {
    if (len <= 0) return;
    const pos = (this.head + at) & this.mask;
    const first = this.capacity - pos;
    if (len <= first) {
      this.buffer.set(src.subarray(off, off + len), pos);
    } else {
      this.buffer.set(src.subarray(off, off + first), pos);
      this.buffer.set(src.subarray(off + first, off + len), 0);
    }
  }

  /** Copies `len` bytes from ring offset `at` (relative to the head) to `dst` at `dstOff`. */
  copyOut(at: number, dst: Uint8Array, dstOff: number, len: number): void {
    if (len <= 0) return;
    const pos = (this.head + at) & this.mask;
    const first = this.capacity - pos;
    if (len <= first) {
      dst.set(this.buffer.subarray(pos, pos + len), dstOff);
    } else {
      dst.set(this.buffer.subarray(pos, this.capacity), dstOff);
      dst.set(this.buffer.subarray(0, len - first), dstOff + first);
    }
  }

  /** Drops `n` bytes from the head. */
  consume(n: number): void {
    this.head = (this.head + n) & this.mask;
    this.length -= n;
  }

  /** Copies up to `len` bytes from the head to `dst` and drops them; returns the count. */
  read(dst: Uint8Array, dstOff: number, len: number): number {
    const n = len < this.length ? len : this.length;
    this.copyOut(0, dst, dstOff, n);
    this.consume(n);
    return n;
  }

  /** Whether this ring has no storage (a placeholder until buffers are needed, or after release). */
  isEmptyPlaceholder(): boolean {
    return this.capacity === 0;
  }

  /** Empties the ring. */
  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}

/** The shared storage-less ring. */
export const EMPTY_BYTE_RING = new ByteRing(0);
