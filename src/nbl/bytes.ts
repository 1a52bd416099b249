/**
 * Byte copies between slabs without allocating for small copies. Large copies use
 * TypedArray.set over a subarray (one short-lived view object, far cheaper than a byte loop).
 */

/** Copies `length` bytes from `src[srcOffset..]` to `dst[dstOffset..]`. Ranges must be in bounds. */
export function copyBytes(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number): void {
  if (length <= 0) return;
  if (dst === src) {
    dst.copyWithin(dstOffset, srcOffset, srcOffset + length);
    return;
  }
  if (length < 64) {
    for (let i = 0; i < length; i++) dst[dstOffset + i] = src[srcOffset + i]!;
    return;
  }
  dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset);
}
