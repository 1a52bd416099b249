/**
 * Big-endian (network order) field access on byte arrays, shared by the wire views.
 *
 * These are tiny functions that V8 inlines at their call sites. They do no bounds checking: a view
 * calls them only for offsets its `wrap` has already proven to lie inside the buffer.
 */

/** The empty byte array every view points at before its first `wrap`. */
export const EMPTY_BYTES = new Uint8Array(0);

/** Reads the unsigned 16-bit big-endian value at `b[o..o+2]`. */
export function getU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Writes `v` (low 16 bits) big-endian at `b[o..o+2]`. */
export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** Reads the unsigned 32-bit big-endian value at `b[o..o+4]`. */
export function getU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Writes `v` (low 32 bits) big-endian at `b[o..o+4]`. */
export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Copies `n` bytes from `src[so..]` to `dst[d..]` without allocating (for short fields such as addresses). */
export function copyBytes(dst: Uint8Array, d: number, src: Uint8Array, so: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d + i] = src[so + i]!;
}

/**
 * True when `[offset, offset+length)` lies inside `bytes` and `length >= min`: the one bounds check
 * a view's `wrap` makes before trusting any field. NaN or negative values fail it.
 */
export function spans(bytes: Uint8Array, offset: number, length: number, min: number): boolean {
  return offset >= 0 && length >= min && offset + length <= bytes.length;
}
