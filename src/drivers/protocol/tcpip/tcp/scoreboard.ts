/**
 * The sender's SACK scoreboard (RFC 6675 section 3; RFC 2018 section 5): which bytes above SND.UNA
 * the peer reported in SACK blocks, kept as a bounded sorted list of ranges, with the RFC 6675
 * helpers IsLost (as a loss boundary), pipe and the holes NextSeg picks from.
 */
import type { TcpOptions } from '../../../../wire/tcp.js';
import { seqAdd } from './seq.js';

/** SACKed ranges above SND.UNA of one connection. */
export class TcpSackScoreboard {
  /** Left edges, sorted. */
  readonly starts: Uint32Array;
  /** Right edges (exclusive). */
  readonly ends: Uint32Array;
  /** Ranges in use. */
  count: number;
  /** Most ranges kept (blocks that would need more are ignored). */
  readonly capacity: number;
  /** Total SACKed bytes. */
  sackedBytes: number;
  /** Start of the hole found by `findHole`. */
  holeStart: number;
  /** End (exclusive) of the hole found by `findHole`. */
  holeEnd: number;

  constructor(capacity: number) {
    this.capacity = capacity < 1 ? 1 : capacity;
    this.starts = new Uint32Array(this.capacity);
    this.ends = new Uint32Array(this.capacity);
    this.count = 0;
    this.sackedBytes = 0;
    this.holeStart = 0;
    this.holeEnd = 0;
  }

  /**
   * Adds the SACK blocks of `opts`. Blocks not within (SND.UNA, SND.MAX] are ignored (stale,
   * D-SACK or invalid, RFC 2018 section 8). Returns the number of bytes newly SACKed.
   */
  update(opts: TcpOptions, sndUna: number, sndMax: number): number {
    let added = 0;
    const span = (sndMax - sndUna) >>> 0;
    for (let b = 0; b < opts.sackCount; b++) {
      const l = opts.sackBlocks[b * 2]!;
      const r = opts.sackBlocks[b * 2 + 1]!;
      const lo = (l - sndUna) >>> 0;
      const hi = (r - sndUna) >>> 0;
      if (lo === 0 || hi <= lo || hi > span) continue;
      added += this.insert(lo, hi, sndUna);
    }
    return added;
  }

  /** Inserts `[lo, hi)` given as offsets from `base`; returns the bytes it adds. */
  private insert(lo: number, hi: number, base: number): number {
    const starts = this.starts;
    const ends = this.ends;
    let s = lo;
    let e = hi;
    let i = 0;
    while (i < this.count && ((ends[i]! - base) >>> 0) < s) i++;
    let j = i;
    let covered = 0;
    while (j < this.count && ((starts[j]! - base) >>> 0) <= e) {
      const rs = (starts[j]! - base) >>> 0;
      const re = (ends[j]! - base) >>> 0;
      covered += re - rs;
      if (rs < s) s = rs;
      if (re > e) e = re;
      j++;
    }
    if (j === i) {
      if (this.count === this.capacity) return 0;
      for (let k = this.count; k > i; k--) {
        starts[k] = starts[k - 1]!;
        ends[k] = ends[k - 1]!;
      }
      this.count++;
    } else {
      const removed = j - i - 1;
      if (removed > 0) {
        for (let k = i + 1; k + removed < this.count; k++) {
          starts[k] = starts[k + removed]!;
          ends[k] = ends[k + removed]!;
        }
        this.count -= removed;
      }
    }
    starts[i] = seqAdd(base, s);
    ends[i] = seqAdd(base, e);
    const added = e - s - covered;
    this.sackedBytes += added;
    return added;
  }

  /** Forgets everything at or below the new SND.UNA (cumulatively acknowledged). */
  ackTo(sndUna: number): void {
    let drop = 0;
    while (drop < this.count && ((this.ends[drop]! - sndUna) | 0) <= 0) {
      this.sackedBytes -= (this.ends[drop]! - this.starts[drop]!) >>> 0;
      drop++;
    }
    if (drop > 0) {
      for (let k = 0; k + drop < this.count; k++) {
        this.starts[k] = this.starts[k + drop]!;
        this.ends[k] = this.ends[k + drop]!;
      }
      this.count -= drop;
    }
    if (this.count > 0 && ((this.starts[0]! - sndUna) | 0) < 0) {
      this.sackedBytes -= (sndUna - this.starts[0]!) >>> 0;
      this.starts[0] = sndUna;
    }
  }

  /** End of the highest SACKed range, or `sndUna` when nothing is SACKed. */
  highestSacked(sndUna: number): number {
    return this.count === 0 ? sndUna : this.ends[this.count - 1]!;
  }

  /** Whether `seq` lies in a SACKed range. */
  isSacked(seq: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (((seq - this.starts[i]!) | 0) < 0) return false;
      if (((seq - this.ends[i]!) | 0) < 0) return true;
    }
    return false;
  }

  /**
   * RFC 6675 IsLost as a boundary: every unSACKed byte below the returned sequence number is
   * deemed lost (DupThresh discontiguous SACKed ranges, or more than (DupThresh - 1) * SMSS SACKed
   * bytes, lie above it). Returns `sndUna` when no byte is deemed lost.
   */
  lostEdge(sndUna: number, smss: number, dupThresh: number): number {
    let bytes = 0;
    let ranges = 0;
    const limit = (dupThresh - 1) * smss;
    for (let i = this.count - 1; i >= 0; i--) {
      bytes += (this.ends[i]! - this.starts[i]!) >>> 0;
      ranges++;
      if (bytes > limit || ranges >= dupThresh) return this.starts[i]!;
    }
    return sndUna;
  }

  /**
   * RFC 6675 SetPipe: octets in flight between SND.UNA and SND.MAX. An unSACKed octet counts once
   * when not deemed lost and once more when it was retransmitted (below `highRxtEnd`).
   */
  pipe(sndUna: number, sndMax: number, highRxtEnd: number, lostEdge: number): number {
    let pipe = 0;
    let a = sndUna;
    for (let i = 0; i <= this.count; i++) {
      const b = i < this.count ? this.starts[i]! : sndMax;
      if (((b - a) | 0) > 0) {
        // hole [a, b)
        const lostEnd = ((lostEdge - a) | 0) <= 0 ? a : ((lostEdge - b) | 0) >= 0 ? b : lostEdge;
        pipe += (b - lostEnd) >>> 0; // not lost
        const rxEnd = ((highRxtEnd - a) | 0) <= 0 ? a : ((highRxtEnd - b) | 0) >= 0 ? b : highRxtEnd;
        pipe += (rxEnd - a) >>> 0; // retransmitted
      }
      if (i < this.count) a = this.ends[i]!;
    }
    return pipe;
  }

  /**
   * Finds the first unSACKed byte at or after `from` and below `limit`; on success sets `holeStart`
   * and `holeEnd` (the end of that hole, capped at `limit`) and returns true.
   */
  findHole(from: number, limit: number): boolean {
    let a = from;
    for (let i = 0; i < this.count; i++) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      if (((e - a) | 0) <= 0) continue; // range entirely below a
      if (((s - a) | 0) > 0) {
        // hole [a, s)
        const end = ((s - limit) | 0) < 0 ? s : limit;
        if (((end - a) | 0) <= 0) return false;
        this.holeStart = a;
        this.holeEnd = end;
        return true;
      }
      a = e; // a inside the range: skip past it
    }
    if (((limit - a) | 0) <= 0) return false;
    this.holeStart = a;
    this.holeEnd = limit;
    return true;
  }

  /** Forgets every range (after a retransmission timeout, RFC 2018 section 8). */
  clear(): void {
    this.count = 0;
    this.sackedBytes = 0;
  }
}
