/**
 * Capture timestamps. Files store a timestamp as a 64-bit count of units since 1970-01-01 UTC
 * (pcapng: units of the interface's if_tsresol; classic pcap: seconds plus micro- or nanoseconds).
 * ndis-ts carries a timestamp as two numbers, whole seconds and nanoseconds (0 to 999,999,999), as
 * a POSIX timespec does: exact for every nanosecond timestamp a file can hold (seconds stay far
 * below 2^53) and free of allocation, which a bigint per packet would not be. `timestampToBigInt`
 * gives the single nanosecond count when one is wanted.
 *
 * The conversions below are exact: 64-bit quantities are split into 16-bit digits so that every
 * intermediate value stays an integer below 2^53.
 */

const TWO16 = 65536;
const TWO32 = 4294967296;

/** Largest seconds value whose nanosecond count fits 64 bits (2^64 - 1 ns is 18446744073.7 s). */
export const MAX_TIMESTAMP_SECONDS = 18446744072;

/** A reusable pair of 32-bit halves of a 64-bit unsigned value. */
export class Uint64Halves {
  /** Upper 32 bits, unsigned. */
  high: number;
  /** Lower 32 bits, unsigned. */
  low: number;

  constructor() {
    this.high = 0;
    this.low = 0;
  }
}

/**
 * Writes into `out` the 64-bit nanosecond count `seconds * 10^9 + nanoseconds`, split into the two
 * 32-bit halves an Enhanced Packet Block stores (Timestamp Upper, Timestamp Lower, with
 * if_tsresol 9). The caller has checked `0 <= seconds <= MAX_TIMESTAMP_SECONDS` and
 * `0 <= nanoseconds < 10^9`, both integers.
 */
export function nanosecondsToHalves(seconds: number, nanoseconds: number, out: Uint64Halves): void {
  // seconds * 10^9 = (sHigh * 2^16 + sLow) * 10^9 = p * 2^16 + sLow * 10^9, with p < 2^49.
  const sHigh = Math.floor(seconds / TWO16);
  const sLow = seconds - sHigh * TWO16;
  const p = sHigh * 1e9;
  const q = sLow * 1e9 + nanoseconds; // < 2^47
  const pHigh = Math.floor(p / TWO16);
  const pLow = (p - pHigh * TWO16) * TWO16; // < 2^32
  const qHigh = Math.floor(q / TWO32);
  let low = pLow + (q - qHigh * TWO32);
  let high = pHigh + qHigh;
  if (low >= TWO32) {
    low -= TWO32;
    high += 1;
  }
  out.high = high;
  out.low = low;
}

/** Scratch results of `divideUint64`. */
class Quotient {
  quotient: number;
  remainder: number;
  constructor() {
    this.quotient = 0;
    this.remainder = 0;
  }
}
const division = new Quotient();

/**
 * Divides the 64-bit value `high * 2^32 + low` by an integer `divisor` in [2^11, 2^37] by long
 * division over 16-bit digits: every partial value stays below 2^53, and the quotient too.
 */
function divideUint64(high: number, low: number, divisor: number): void {
  let r = 0;
  let q = 0;
  for (let i = 0; i < 4; i++) {
    const digit = i === 0 ? high >>> 16 : i === 1 ? high & 0xffff : i === 2 ? low >>> 16 : low & 0xffff;
    const cur = r * TWO16 + digit;
    let d = Math.floor(cur / divisor);
    r = cur - d * divisor;
    // The floating division can round up to the next integer; correct by one step.
    if (r < 0) {
      d -= 1;
      r += divisor;
    } else if (r >= divisor) {
      d += 1;
      r -= divisor;
    }
    q = q * TWO16 + d;
  }
  division.quotient = q;
  division.remainder = r;
}

/**
 * A timestamp resolution: the if_tsresol byte of an Interface Description Block (MSB clear:
 * 10^-n seconds; MSB set: 2^-(n & 0x7f) seconds), with what converting from it needs.
 */
export class TimestampResolution {
  /** The if_tsresol byte. */
  readonly tsresol: number;
  /** Units per second, as a bigint (exact for every resolution). */
  readonly unitsPerSecond: bigint;
  /** Units per second as a number when the fast path applies (10^6 or 10^9), else 0. */
  readonly fastDivisor: number;

  constructor(tsresol: number) {
    this.tsresol = tsresol & 0xff;
    const n = this.tsresol & 0x7f;
    this.unitsPerSecond = (this.tsresol & 0x80) === 0 ? 10n ** BigInt(n) : 1n << BigInt(n);
    this.fastDivisor = this.tsresol === 6 ? 1e6 : this.tsresol === 9 ? 1e9 : 0;
  }
}

/** Resolution 10^-6 s: pcapng's default and classic pcap's TCPDUMP_MAGIC. */
export const MICROSECOND_RESOLUTION = new TimestampResolution(6);
/** Resolution 10^-9 s: NSEC_TCPDUMP_MAGIC, and what the pcapng writer records. */
export const NANOSECOND_RESOLUTION = new TimestampResolution(9);

/** Receives a converted timestamp. */
export interface TimestampTarget {
  timestampSeconds: number;
  timestampNanoseconds: number;
}

/**
 * Converts the 64-bit unit count `high * 2^32 + low` in resolution `res` to seconds and
 * nanoseconds (sub-nanosecond units are truncated), plus `offsetSeconds` (if_tsoffset), into `out`.
 * Microsecond and nanosecond resolutions take an exact number-only path; other resolutions
 * (rare) go through bigint.
 */
export function unitsToTimestamp(
  high: number,
  low: number,
  res: TimestampResolution,
  offsetSeconds: number,
  out: TimestampTarget,
): void {
  const d = res.fastDivisor;
  if (d !== 0) {
    divideUint64(high, low, d);
    out.timestampSeconds = division.quotient + offsetSeconds;
    out.timestampNanoseconds = d === 1e9 ? division.remainder : division.remainder * 1000;
    return;
  }
  const units = (BigInt(high) << 32n) | BigInt(low);
  const per = res.unitsPerSecond;
  out.timestampSeconds = Number(units / per) + offsetSeconds;
  out.timestampNanoseconds = Number(((units % per) * 1_000_000_000n) / per);
}

/** The nanosecond count `seconds * 10^9 + nanoseconds` as a bigint (allocates; for display and tests). */
export function timestampToBigInt(seconds: number, nanoseconds: number): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
}

/** Splits a nanosecond count since the epoch into seconds and nanoseconds (allocates; for setup code). */
export function timestampFromBigInt(ns: bigint): { seconds: number; nanoseconds: number } {
  const seconds = ns / 1_000_000_000n;
  return { seconds: Number(seconds), nanoseconds: Number(ns - seconds * 1_000_000_000n) };
}
