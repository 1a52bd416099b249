/**
 * The Toeplitz hash, NdisHashFunctionToeplitz, as the RSS pages of the NDIS documentation define
 * it ("RSS Hashing Functions"): for each set bit of the input, taken from the most significant bit
 * of the first byte onward, the 32 key bits that start at that bit position are XORed into the
 * result.
 *
 * The contribution of an input byte depends only on its position and its value, so a hasher
 * precomputes, once per secret key, one 256-entry table of 32-bit contributions per input byte
 * position. Hashing is then one table lookup and one XOR per input byte, with no allocation.
 */
import { NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1 } from './hash-types.js';

/**
 * The secret key of Microsoft's "Verifying the RSS Hash Calculation" page: the 40-byte key with
 * which its IPv4 and IPv6 verification hashes were computed. Also a common default RSS key.
 */
export const RSS_VERIFICATION_KEY: readonly number[] = Object.freeze([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
  0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
  0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

/** Bytes of hash input for an IPv4 2-tuple (source address, destination address). */
export const TOEPLITZ_IPV4_INPUT_LENGTH = 8;
/** Bytes of hash input for an IPv4 4-tuple (addresses, source port, destination port). */
export const TOEPLITZ_IPV4_PORTS_INPUT_LENGTH = 12;
/** Bytes of hash input for an IPv6 2-tuple. */
export const TOEPLITZ_IPV6_INPUT_LENGTH = 32;
/** Bytes of hash input for an IPv6 4-tuple. */
export const TOEPLITZ_IPV6_PORTS_INPUT_LENGTH = 36;

/**
 * The smallest key that can hash `inputLength` bytes: the last input bit selects the 32 key bits
 * that start at bit `8 * inputLength - 1`, so the key needs `inputLength + 4` bytes.
 */
export function toeplitzKeyLengthFor(inputLength: number): number {
  return inputLength + 4;
}

/** Largest input a hasher supports: the NDIS maximum key (40 bytes) hashes 36 bytes (IPv6 4-tuple). */
const MAX_INPUT = NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1 - 4;

function checkKey(key: ArrayLike<number>): void {
  if (key === null || typeof key !== 'object' || typeof key.length !== 'number') {
    throw new TypeError('Toeplitz secret key must be a Uint8Array or an array of byte values');
  }
  if (key.length < 5 || key.length > NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1) {
    throw new RangeError(
      `Toeplitz secret key is ${key.length} bytes; it must be 5 to ${NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1} ` +
        `bytes (HashSecretKeySize), and at least input length + 4 for the inputs it hashes ` +
        `(${TOEPLITZ_IPV4_PORTS_INPUT_LENGTH + 4} for an IPv4 4-tuple, ${TOEPLITZ_IPV6_PORTS_INPUT_LENGTH + 4} for an IPv6 4-tuple)`,
    );
  }
  for (let i = 0; i < key.length; i++) {
    const b = key[i];
    if (typeof b !== 'number' || b >>> 0 !== b || b > 255) {
      throw new RangeError(`Toeplitz secret key byte ${i} is ${String(b)}; key bytes are integers 0 to 255`);
    }
  }
}

function inputTooLong(what: string, needed: number, keyLength: number): RangeError {
  return new RangeError(
    `${what} needs ${needed} bytes of hash input, but the ${keyLength}-byte secret key hashes at most ` +
      `${keyLength - 4}; set a key of at least ${needed + 4} bytes`,
  );
}

function outOfBounds(method: string, field: string, buf: Uint8Array, offset: number, length: number): RangeError {
  return new RangeError(
    `ToeplitzHasher.${method}: the ${field} (${length} bytes at offset ${offset}) is outside the ` +
      `${buf.length}-byte buffer; offsets must be non-negative integers inside the packet`,
  );
}

/** True when `length` bytes at `offset` lie inside `buf` and `offset` is a non-negative integer. */
function inside(buf: Uint8Array, offset: number, length: number): boolean {
  return offset >>> 0 === offset && offset + length <= buf.length;
}

/**
 * The error for a fast-path call whose combined argument check failed: the first field outside
 * the buffer, else the key too short. Kept out of the hash methods so that they stay small.
 */
function badTuple(
  method: string,
  buf: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  portsOffset: number,
  addressLength: number,
  what: string,
  needed: number,
  keyLength: number,
): RangeError {
  if (!inside(buf, srcOffset, addressLength)) {
    return outOfBounds(method, 'source address', buf, srcOffset, addressLength);
  }
  if (!inside(buf, dstOffset, addressLength)) {
    return outOfBounds(method, 'destination address', buf, dstOffset, addressLength);
  }
  if (!inside(buf, portsOffset, 4)) return outOfBounds(method, 'port pair', buf, portsOffset, 4);
  return inputTooLong(what, needed, keyLength);
}

/**
 * A Toeplitz hasher for one secret key (the key of NDIS_RECEIVE_SCALE_PARAMETERS, at
 * HashSecretKeyOffset, HashSecretKeySize bytes). Every hash method returns the 32 bits of the hash
 * value (the ULONG a miniport stores with NET_BUFFER_LIST_SET_HASH_VALUE) as a signed 32-bit
 * integer, the form JavaScript's bitwise operators produce: it never needs a heap number, so a
 * hash costs no allocation even where the call is not inlined. `hash >>> 0` is the unsigned
 * value the NDIS documentation prints; `hash & (entries - 1)` indexes an indirection table.
 *
 * The fast paths read the tuple fields straight from a packet buffer, in the order the NDIS
 * pages concatenate them: source address, destination address, source port, destination port.
 */
export class ToeplitzHasher {
  /**
   * Contribution tables: entry `(i << 8) | v` is the XOR contribution of byte value `v` at input
   * position `i`. Sized for the largest key so that `setKey` never reallocates. The fields are
   * initialised where they are declared, not in the constructor: a field that first holds
   * `undefined` loses its type in the optimising compiler, and every hash then re-checks it
   * (about 1.6 times slower for the IPv4 tuples).
   */
  private readonly table = new Int32Array(MAX_INPUT * 256);
  private readonly keyBytes = new Uint8Array(NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1);
  private maxInput = 0;

  /** Builds the contribution tables for `key` (5 to 40 bytes; 40 for every RSS tuple). */
  constructor(key: ArrayLike<number>) {
    checkKey(key);
    this.build(key);
  }

  /**
   * Replaces the secret key and rebuilds the tables in place, as a miniport does when
   * OID_GEN_RECEIVE_SCALE_PARAMETERS sets a new key (NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED clear).
   */
  setKey(key: ArrayLike<number>): void {
    checkKey(key);
    this.build(key);
  }

  /** A copy of the current secret key. */
  get key(): Uint8Array {
    return this.keyBytes.slice(0, this.maxInput + 4);
  }

  /** The longest input, in bytes, the current key can hash (key length - 4). */
  get maxInputLength(): number {
    return this.maxInput;
  }

  private build(key: ArrayLike<number>): void {
    const n = key.length - 4;
    const t = this.table;
    const window = new Int32Array(8);
    this.keyBytes.fill(0);
    this.keyBytes.set(key);
    for (let i = 0; i < n; i++) {
      // The 32 key bits starting at bit 8i, and the byte after them, from which the windows
      // for bits 8i+1 .. 8i+7 shift in their low bits.
      const k = (key[i]! << 24) | (key[i + 1]! << 16) | (key[i + 2]! << 8) | key[i + 3]!;
      const next = key[i + 4]!;
      for (let j = 0; j < 8; j++) window[j] = j === 0 ? k : (k << j) | (next >>> (8 - j));
      const base = i << 8;
      t[base] = 0;
      for (let v = 1; v < 256; v++) {
        const low = v & -v; // lowest set bit of v; input bit 7 - log2(low) of this byte
        const j = 7 - (31 - Math.clz32(low));
        t[base | v] = t[base | (v ^ low)]! ^ window[j]!;
      }
    }
    t.fill(0, n << 8);
    this.maxInput = n;
  }

  /**
   * ComputeHash(input, n) of "RSS Hashing Functions": the hash of `length` bytes of `bytes` from
   * `offset`. Throws a RangeError when the range is outside the buffer or longer than the key allows.
   */
  hash(bytes: Uint8Array, offset: number, length: number): number {
    if (length >>> 0 !== length || !inside(bytes, offset, length)) {
      throw outOfBounds('hash', 'input', bytes, offset, length);
    }
    if (length > this.maxInput) throw inputTooLong('this input', length, this.maxInput + 4);
    const t = this.table;
    let h = 0;
    for (let i = 0; i < length; i++) h ^= t[(i << 8) | bytes[offset + i]!]!;
    return h;
  }

  /**
   * The IPv4 2-tuple hash (NDIS_HASH_IPV4): source address (4 bytes at `srcOffset`, IPv4 header
   * bytes 12-15) then destination address (4 bytes at `dstOffset`, header bytes 16-19).
   */
  hashIpv4(buf: Uint8Array, srcOffset: number, dstOffset: number): number {
    const n = buf.length - 4;
    if (
      !(srcOffset >>> 0 === srcOffset && dstOffset >>> 0 === dstOffset && srcOffset <= n && dstOffset <= n) ||
      this.maxInput < TOEPLITZ_IPV4_INPUT_LENGTH
    ) {
      throw badTuple(
        'hashIpv4',
        buf,
        srcOffset,
        dstOffset,
        0,
        4,
        'an IPv4 2-tuple',
        TOEPLITZ_IPV4_INPUT_LENGTH,
        this.maxInput + 4,
      );
    }
    const t = this.table;
    return (
      (t[buf[srcOffset]!]! ^
        t[0x100 | buf[(srcOffset + 1) | 0]!]! ^
        t[0x200 | buf[(srcOffset + 2) | 0]!]! ^
        t[0x300 | buf[(srcOffset + 3) | 0]!]! ^
        t[0x400 | buf[dstOffset]!]! ^
        t[0x500 | buf[(dstOffset + 1) | 0]!]! ^
        t[0x600 | buf[(dstOffset + 2) | 0]!]! ^
        t[0x700 | buf[(dstOffset + 3) | 0]!]!)
    );
  }

  /**
   * The IPv4 4-tuple hash (NDIS_HASH_TCP_IPV4, NDIS_HASH_UDP_IPV4): source and destination
   * addresses as in `hashIpv4`, then the source and destination ports, read as the 4 bytes at
   * `portsOffset` (the first 4 bytes of a TCP or UDP header).
   */
  hashIpv4Ports(buf: Uint8Array, srcOffset: number, dstOffset: number, portsOffset: number): number {
    const n = buf.length - 4;
    if (
      !(
        srcOffset >>> 0 === srcOffset &&
        dstOffset >>> 0 === dstOffset &&
        portsOffset >>> 0 === portsOffset &&
        srcOffset <= n &&
        dstOffset <= n &&
        portsOffset <= n
      ) ||
      this.maxInput < TOEPLITZ_IPV4_PORTS_INPUT_LENGTH
    ) {
      throw badTuple(
        'hashIpv4Ports',
        buf,
        srcOffset,
        dstOffset,
        portsOffset,
        4,
        'an IPv4 4-tuple',
        TOEPLITZ_IPV4_PORTS_INPUT_LENGTH,
        this.maxInput + 4,
      );
    }
    const t = this.table;
    return (
      (t[buf[srcOffset]!]! ^
        t[0x100 | buf[(srcOffset + 1) | 0]!]! ^
        t[0x200 | buf[(srcOffset + 2) | 0]!]! ^
        t[0x300 | buf[(srcOffset + 3) | 0]!]! ^
        t[0x400 | buf[dstOffset]!]! ^
        t[0x500 | buf[(dstOffset + 1) | 0]!]! ^
        t[0x600 | buf[(dstOffset + 2) | 0]!]! ^
        t[0x700 | buf[(dstOffset + 3) | 0]!]! ^
        t[0x800 | buf[portsOffset]!]! ^
        t[0x900 | buf[(portsOffset + 1) | 0]!]! ^
        t[0xa00 | buf[(portsOffset + 2) | 0]!]! ^
        t[0xb00 | buf[(portsOffset + 3) | 0]!]!)
    );
  }

  /**
   * The IPv6 2-tuple hash (NDIS_HASH_IPV6): source address (16 bytes at `srcOffset`, IPv6 header
   * bytes 8-23) then destination address (16 bytes at `dstOffset`, header bytes 24-39).
   */
  hashIpv6(buf: Uint8Array, srcOffset: number, dstOffset: number): number {
    const n = buf.length - 16;
    if (
      !(srcOffset >>> 0 === srcOffset && dstOffset >>> 0 === dstOffset && srcOffset <= n && dstOffset <= n) ||
      this.maxInput < TOEPLITZ_IPV6_INPUT_LENGTH
    ) {
      throw badTuple(
        'hashIpv6',
        buf,
        srcOffset,
        dstOffset,
        0,
        16,
        'an IPv6 2-tuple',
        TOEPLITZ_IPV6_INPUT_LENGTH,
        this.maxInput + 4,
      );
    }
    const t = this.table;
    return ipv6Addresses(t, buf, srcOffset, dstOffset);
  }

  /**
   * The IPv6 4-tuple hash (NDIS_HASH_TCP_IPV6, NDIS_HASH_UDP_IPV6): addresses as in `hashIpv6`,
   * then the ports, read as the 4 bytes at `portsOffset` (the start of the TCP or UDP header).
   */
  hashIpv6Ports(buf: Uint8Array, srcOffset: number, dstOffset: number, portsOffset: number): number {
    const n = buf.length - 16;
    const m = buf.length - 4;
    if (
      !(
        srcOffset >>> 0 === srcOffset &&
        dstOffset >>> 0 === dstOffset &&
        portsOffset >>> 0 === portsOffset &&
        srcOffset <= n &&
        dstOffset <= n &&
        portsOffset <= m
      ) ||
      this.maxInput < TOEPLITZ_IPV6_PORTS_INPUT_LENGTH
    ) {
      throw badTuple(
        'hashIpv6Ports',
        buf,
        srcOffset,
        dstOffset,
        portsOffset,
        16,
        'an IPv6 4-tuple',
        TOEPLITZ_IPV6_PORTS_INPUT_LENGTH,
        this.maxInput + 4,
      );
    }
    const t = this.table;
    return (
      ipv6Addresses(t, buf, srcOffset, dstOffset) ^
      t[0x2000 | buf[portsOffset]!]! ^
      t[0x2100 | buf[(portsOffset + 1) | 0]!]! ^
      t[0x2200 | buf[(portsOffset + 2) | 0]!]! ^
      t[0x2300 | buf[(portsOffset + 3) | 0]!]!
    );
  }
}

/**
 * Contributions of the IPv6 source and destination addresses: input bytes 0-31, four bytes of each
 * address per iteration. A short loop rather than 32 unrolled lookups: it stays small enough for
 * the optimising compiler to inline into the caller's loop. The index sums are truncated with
 * `| 0`: the callers have checked that they lie inside the buffer, and the truncation spares the
 * compiled code an overflow check per byte.
 */
function ipv6Addresses(t: Int32Array, buf: Uint8Array, src: number, dst: number): number {
  let h = 0;
  for (let i = 0; i < 16; i += 4) {
    const k = i << 8;
    const a = (src + i) | 0;
    const b = (dst + i) | 0;
    h ^=
      t[k | buf[a]!]! ^
      t[0x100 | k | buf[(a + 1) | 0]!]! ^
      t[0x200 | k | buf[(a + 2) | 0]!]! ^
      t[0x300 | k | buf[(a + 3) | 0]!]! ^
      t[0x1000 | k | buf[b]!]! ^
      t[0x1100 | k | buf[(b + 1) | 0]!]! ^
      t[0x1200 | k | buf[(b + 2) | 0]!]! ^
      t[0x1300 | k | buf[(b + 3) | 0]!]!;
  }
  return h;
}
