/**
 * The Internet checksum (RFC 1071): the 16-bit one's-complement of the one's-complement sum of
 * the data taken as big-endian 16-bit words, an odd final byte padded with a zero low byte.
 *
 * Terms used below:
 * - a **sum** is a one's-complement sum folded to 16 bits (0..0xffff), not yet complemented. Sums
 *   add: `checksumFold(a + b)` is the sum of the two blocks when `b`'s block starts at an even
 *   position. A block that starts at an odd position contributes its sum byte-swapped (RFC 1071
 *   2(B), byte-order independence); {@link checksumCombine} and {@link ChecksumAccumulator} do that,
 *   so a sum can run across the several MDLs of one NET_BUFFER whatever their lengths.
 * - a **checksum** is the complemented sum, the value carried in a header.
 *
 * Speed: on little-endian hosts (every Node platform in practice) blocks of 32 bytes or more are
 * summed 32 bits at a time through a `Uint32Array` over the block's `ArrayBuffer` (RFC 1071 2(A),
 * deferred carries: a float64 accumulator holds 2^20 words without loss), then byte-swapped once.
 * The `Uint32Array` is cached for the last `ArrayBuffer` seen, so summing packets that live in one
 * slab allocates nothing; moving to another `ArrayBuffer` creates one view. Shorter blocks and
 * big-endian hosts use a byte-pair loop. Nothing here throws: a range that runs past the array is
 * clamped to the array.
 */
import type { IpAddress } from './address.js';
import { isIpv4Mapped } from './address.js';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this length the byte-pair loop beats the setup of the word loop. */
const WORD_PATH_MIN = 32;
/** Words summed into one float64 accumulator before folding (2^20 * 2^32 < 2^53). */
const WORDS_PER_CHUNK = 1 << 20;

// The arrays last summed by the word loop (two: a stack sums its receive and its send buffers in
// turn), each with its byteOffset and a Uint32Array over its ArrayBuffer. Reading `byteOffset` and
// `buffer` of a typed array costs several nanoseconds per access in Node 20, and building a view
// allocates, so both are kept per array (one slab serves many packets). Slot 0 is the most recent.
let cachedBytes: Uint8Array | null = null;
let cachedBase = 0;
let cachedBuffer: ArrayBufferLike | null = null;
let cachedWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
let otherBytes: Uint8Array | null = null;
let otherBase = 0;
let otherBuffer: ArrayBufferLike | null = null;
let otherWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function refreshWords(b: Uint8Array, endWord: number): void {
  if (b !== cachedBytes) {
    // Swap the two slots; the array is now in slot 0 if it was in slot 1.
    const bytes = otherBytes;
    const base = otherBase;
    const buffer = otherBuffer;
    const words = otherWords;
    otherBytes = cachedBytes;
    otherBase = cachedBase;
    otherBuffer = cachedBuffer;
    otherWords = cachedWords;
    cachedBytes = bytes;
    cachedBase = base;
    cachedBuffer = buffer;
    cachedWords = words;
    if (b !== cachedBytes) {
      cachedBytes = b;
      cachedBase = b.byteOffset;
      const buf = b.buffer;
      if (buf !== cachedBuffer) {
        cachedBuffer = buf;
        cachedWords = buf === otherBuffer ? otherWords : new Uint32Array(buf, 0, buf.byteLength >>> 2);
      }
    }
  }
  const buffer = cachedBuffer!;
  if (endWord > cachedWords.length) cachedWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
}

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

/**
 * Folds a non-negative integer (below 2^53) to a 16-bit one's-complement sum by adding the carries
 * back in (end-around carry). The result is 0 only when the input is 0.
 */
export function checksumFold(sum: number): number {
  if (sum > 0xffffffff) {
    const low = sum >>> 0;
    sum = (low & 0xffff) + (low >>> 16) + ((sum / 4294967296) >>> 0);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/** Sum of big-endian 16-bit words, odd last byte as a high byte; unfolded (below 2^53 for any Uint8Array). */
function sumBytePairs(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  let i = off;
  const end = off + len;
  const end8 = off + (len & ~7);
  while (i < end8) {
    s += ((b[i]! << 8) | b[i + 1]!) + ((b[i + 2]! << 8) | b[i + 3]!) + ((b[i + 4]! << 8) | b[i + 5]!) + ((b[i + 6]! << 8) | b[i + 7]!);
    i += 8;
  }
  while (i + 1 < end) {
    s += (b[i]! << 8) | b[i + 1]!;
    i += 2;
  }
  if (i < end) s += b[i]! << 8;
  return s;
}

/** Adds `n` 32-bit words from `words[w..]` into a float64 (exact for n up to 2^20). */
function addWords(words: Uint32Array<ArrayBufferLike>, w: number, n: number): number {
  const stop = w + n;
  const stop8 = w + (n & ~7);
  let a = 0;
  while (w < stop8) {
    a += words[w]! + words[w + 1]! + words[w + 2]! + words[w + 3]! + words[w + 4]! + words[w + 5]! + words[w + 6]! + words[w + 7]!;
    w += 8;
  }
  while (w < stop) {
    a += words[w]!;
    w++;
  }
  return a;
}

/**
 * Word loop for little-endian hosts. Every byte is weighted by its absolute position in the
 * ArrayBuffer (even address: low byte, odd address: high byte), which is what summing aligned
 * little-endian 32-bit words gives; the folded result is then converted to network order
 * relative to the block start: swapped when the block starts at an even address.
 */
function sumWords(b: Uint8Array, off: number, len: number): number {
  if (b !== cachedBytes) refreshWords(b, 0);
  const base = cachedBase;
  const abs = base + off;
  const end = off + len;
  let s = 0;
  let i = off;
  const leadEnd = off + ((4 - (abs & 3)) & 3);
  for (; i < leadEnd; i++) s += b[i]! << (((base + i) & 1) << 3);
  let w = (base + i) >>> 2;
  let n = (end - i) >>> 2;
  i += n << 2;
  if (w + n > cachedWords.length) refreshWords(b, w + n);
  const words = cachedWords;
  for (; i < end; i++) s += b[i]! << (((base + i) & 1) << 3);
  while (n > WORDS_PER_CHUNK) {
    s = checksumFold(s + addWords(words, w, WORDS_PER_CHUNK));
    w += WORDS_PER_CHUNK;
    n -= WORDS_PER_CHUNK;
  }
  // x is an integer below 2^53. 2^32 is 1 modulo 0xffff, so the low 32 bits plus the bits above
  // them keep the one's-complement value; `>>> 0` takes both halves without a float floor.
  let x = s + addWords(words, w, n);
  const low = x >>> 0;
  x = (low & 0xffff) + (low >>> 16) + ((x / 4294967296) >>> 0);
  x = (x & 0xffff) + (x >>> 16);
  x = (x & 0xffff) + (x >>> 16);
  return (abs & 1) === 1 ? x : swap16(x);
}

/**
 * The one's-complement sum (RFC 1071) of `bytes[offset..offset+length)` plus `initial` (a sum from
 * earlier data, or a pseudo-header sum), as if the block started at an even position. Returns
 * 0..0xffff, not complemented. Allocation-free; a range past the end of `bytes` is clamped.
 */
export function onesComplementSum(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  let len = length;
  const avail = bytes.length - offset;
  if (len > avail) len = avail;
  if (len <= 0 || offset < 0) return checksumFold(initial);
  const s = len < WORD_PATH_MIN || !LITTLE_ENDIAN_HOST ? checksumFold(sumBytePairs(bytes, offset, len)) : sumWords(bytes, offset, len);
  return checksumFold(s + initial);
}

/**
 * The Internet checksum of `bytes[offset..offset+length)` with `initial` (e.g. a pseudo-header sum)
 * included: the value to store in a header whose checksum field is zero inside the range.
 */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  return ~onesComplementSum(bytes, offset, length, initial) & 0xffff;
}

/** Complements a sum into the checksum value carried in headers. */
export function checksumFinish(sum: number): number {
  return ~checksumFold(sum) & 0xffff;
}

/**
 * True when a range that includes its own checksum field verifies: the sum of the range and
 * `initial` (a pseudo-header sum for TCP, UDP and ICMPv6) is all ones (RFC 1071 1, step 3).
 */
export function verifyChecksum(bytes: Uint8Array, offset: number, length: number, initial = 0): boolean {
  return onesComplementSum(bytes, offset, length, initial) === 0xffff;
}

/**
 * Adds to `sum` the sum `blockSum` of a block (computed as if the block started at an even
 * position) that begins `blockOffset` bytes into the data: an odd offset swaps the block's bytes.
 * This is how partial sums of a NET_BUFFER's MDLs are joined.
 */
export function checksumCombine(sum: number, blockSum: number, blockOffset: number): number {
  return checksumFold(sum + ((blockOffset & 1) === 1 ? swap16(checksumFold(blockSum)) : blockSum));
}

/**
 * A running one's-complement sum over data that arrives in pieces of any length (the MDL chain
 * of a NET_BUFFER), keeping the odd-byte position between pieces. Fixed shape and reusable: call
 * {@link ChecksumAccumulator.reset} per packet; nothing is allocated after construction.
 */
export class ChecksumAccumulator {
  /** The folded sum so far (0..0xffff). */
  sum: number;
  /** Bytes added so far; its parity says where the next piece starts. */
  byteCount: number;

  constructor(initial = 0) {
    this.sum = checksumFold(initial);
    this.byteCount = 0;
  }

  /** Starts over with `initial` (e.g. a pseudo-header sum) and no data. */
  reset(initial = 0): void {
    this.sum = checksumFold(initial);
    this.byteCount = 0;
  }

  /** Adds the next piece of data, `bytes[offset..offset+length)` (clamped to the array). */
  add(bytes: Uint8Array, offset: number, length: number): void {
    let len = length;
    const avail = bytes.length - offset;
    if (len > avail) len = avail;
    if (len <= 0 || offset < 0) return;
    const s = onesComplementSum(bytes, offset, len);
    this.sum = checksumFold(this.sum + ((this.byteCount & 1) === 1 ? swap16(s) : s));
    this.byteCount += len;
  }

  /** Adds a precomputed sum of `length` bytes, as if those bytes had been added with {@link add}. */
  addSum(blockSum: number, length: number): void {
    this.sum = checksumCombine(this.sum, blockSum, this.byteCount);
    this.byteCount += length;
  }

  /** The checksum of everything added: the complemented sum. */
  finish(): number {
    return ~this.sum & 0xffff;
  }
}

/**
 * Sum of the IPv4 pseudo-header (RFC 768, RFC 9293 3.1): source and destination addresses (4 bytes
 * each, read from `src[srcOffset..]` and `dst[dstOffset..]`), zero, protocol, and the upper-layer
 * length. Pass the packet bytes with the address offsets, or 16-byte IPv4-mapped addresses with
 * offset 12.
 */
export function ipv4PseudoHeaderSum(
  src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, protocol: number, length: number,
): number {
  const s =
    ((src[srcOffset]! << 8) | src[srcOffset + 1]!) + ((src[srcOffset + 2]! << 8) | src[srcOffset + 3]!) +
    ((dst[dstOffset]! << 8) | dst[dstOffset + 1]!) + ((dst[dstOffset + 2]! << 8) | dst[dstOffset + 3]!) +
    (protocol & 0xff) + (length & 0xffff);
  return checksumFold(s);
}

/**
 * Sum of the IPv6 pseudo-header (RFC 8200 8.1): source and destination addresses (16 bytes each),
 * the 32-bit upper-layer packet length, three zero bytes and the next-header value of the upper
 * layer. The destination is the final one (the last routing header address, if any).
 */
export function ipv6PseudoHeaderSum(
  src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, nextHeader: number, length: number,
): number {
  let s = (nextHeader & 0xff) + (length >>> 16) + (length & 0xffff);
  for (let i = 0; i < 16; i += 2) {
    s += ((src[srcOffset + i]! << 8) | src[srcOffset + i + 1]!) + ((dst[dstOffset + i]! << 8) | dst[dstOffset + i + 1]!);
  }
  return checksumFold(s);
}

/**
 * Pseudo-header sum for two stack addresses (src/wire/address.ts): IPv4 when the source is
 * IPv4-mapped, IPv6 otherwise.
 */
export function pseudoHeaderSum(src: IpAddress, dst: IpAddress, protocol: number, length: number): number {
  return isIpv4Mapped(src)
    ? ipv4PseudoHeaderSum(src, 12, dst, 12, protocol, length)
    : ipv6PseudoHeaderSum(src, 0, dst, 0, protocol, length);
}

/**
 * Incremental update of a checksum when one 16-bit word of the covered data changes from
 * `oldWord` to `newWord` (RFC 1624 3, eqn. 3: HC' = ~(~HC + ~m + m')). Gives the same value as
 * recomputing, except that data summing to zero yields 0x0000 where recomputation gives 0xffff.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  return ~checksumFold((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** {@link checksumUpdate16} for a 32-bit field (e.g. an IPv4 address rewritten by NAT), word-aligned. */
export function checksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const s =
    (~checksum & 0xffff) + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
  return ~checksumFold(s) & 0xffff;
}

/**
 * {@link checksumUpdate16} for a whole changed block: `oldSum` and `newSum` are the sums of the
 * block before and after (e.g. a 16-byte IPv6 address), computed at the block's position parity.
 */
export function checksumUpdateSum(checksum: number, oldSum: number, newSum: number): number {
  return ~checksumFold((~checksum & 0xffff) + (~checksumFold(oldSum) & 0xffff) + checksumFold(newSum)) & 0xffff;
}
