/**
 * Out-of-order data bookkeeping for the receiver: a bounded, sorted list of sequence ranges held
 * beyond RCV.NXT (the bytes themselves sit in the receive ring at their offsets), and the SACK
 * blocks it reports (RFC 2018 section 4). A full list refuses a segment that would need a new
 * range; the caller counts the drop and the sender retransmits.
 */
import type { TcpOptions } from '../../../../wire/tcp.js';
import { seqAdd } from './seq.js';

/** How many recently received segments are remembered to order SACK blocks (RFC 2018 section 4). */
const RECENT = 4;

/** The out-of-order ranges of one connection's receive side. */
export class TcpReassembly {
  /** Left edges, sorted, as sequence numbers. */
  readonly starts: Uint32Array;
  /** Right edges (exclusive). */
  readonly ends: Uint32Array;
  /** Ranges in use. */
  count: number;
  /** Most ranges kept. */
  readonly capacity: number;
  /** Left edges of the most recently received out-of-order segments, newest first. */
  private readonly recent: Uint32Array;
  private recentCount: number;
  private readonly reported: Uint8Array;

  constructor(capacity: number) {
    this.capacity = capacity < 1 ? 1 : capacity;
    this.starts = new Uint32Array(this.capacity);
    this.ends = new Uint32Array(this.capacity);
    this.count = 0;
    this.recent = new Uint32Array(RECENT);
    this.recentCount = 0;
    this.reported = new Uint8Array(this.capacity);
  }

  /** Bytes held out of order. */
  bytesHeld(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += (this.ends[i]! - this.starts[i]!) >>> 0;
    return n;
  }

  /**
   * Records `[start, end)` (entirely above `rcvNxt`). Returns false when it would need a new
   * range and the list is full (the caller must then not keep the bytes).
   */
  insert(start: number, end: number, rcvNxt: number): boolean {
    let s = (start - rcvNxt) >>> 0;
    let e = (end - rcvNxt) >>> 0;
    const starts = this.starts;
    const ends = this.ends;
    let i = 0;
    while (i < this.count && ((ends[i]! - rcvNxt) >>> 0) < s) i++;
    let j = i;
    while (j < this.count && ((starts[j]! - rcvNxt) >>> 0) <= e) {
      const rs = (starts[j]! - rcvNxt) >>> 0;
      const re = (ends[j]! - rcvNxt) >>> 0;
      if (rs < s) s = rs;
      if (re > e) e = re;
      j++;
    }
    if (j === i) {
      if (this.count === this.capacity) return false;
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
    starts[i] = seqAdd(rcvNxt, s);
    ends[i] = seqAdd(rcvNxt, e);
    this.noteRecent(start);
    return true;
  }

  private noteRecent(start: number): void {
    const r = this.recent;
    let n = this.recentCount < RECENT ? this.recentCount : RECENT - 1;
    for (let k = 0; k < this.recentCount; k++) {
      if (r[k] === start) {
        n = k;
        break;
      }
    }
    for (let k = n; k > 0; k--) r[k] = r[k - 1]!;
    r[0] = start;
    if (this.recentCount < RECENT && n === this.recentCount) this.recentCount++;
  }

  /**
   * After RCV.NXT moved to `rcvNxt`, removes the ranges it reached and returns the new RCV.NXT
   * (extended over every range that is now contiguous).
   */
  advance(rcvNxt: number): number {
    let nxt = rcvNxt;
    let drop = 0;
    while (drop < this.count && ((this.starts[drop]! - nxt) | 0) <= 0) {
      if (((this.ends[drop]! - nxt) | 0) > 0) nxt = this.ends[drop]!;
      drop++;
    }
    if (drop > 0) {
      for (let k = 0; k + drop < this.count; k++) {
        this.starts[k] = this.starts[k + drop]!;
        this.ends[k] = this.ends[k + drop]!;
      }
      this.count -= drop;
    }
    return nxt;
  }

  /**
   * Writes up to `max` SACK blocks into `opts`: first the range holding the most recently received
   * segment, then ranges holding earlier recent segments, then the others from the highest down.
   */
  fillSackBlocks(opts: TcpOptions, max: number): void {
    let written = 0;
    const reported = this.reported;
    reported.fill(0, 0, this.count);
    for (let k = 0; k < this.recentCount && written < max; k++) {
      const seq = this.recent[k]!;
      for (let i = 0; i < this.count; i++) {
        if (((seq - this.starts[i]!) | 0) >= 0 && ((seq - this.ends[i]!) | 0) < 0) {
          if (reported[i] === 0) {
            opts.addSackBlock(this.starts[i]!, this.ends[i]!);
            reported[i] = 1;
            written++;
          }
          break;
        }
      }
    }
    for (let i = this.count - 1; i >= 0 && written < max; i--) {
      if (reported[i] !== 0) continue;
      opts.addSackBlock(this.starts[i]!, this.ends[i]!);
      written++;
    }
  }

  /** Forgets every range. */
  clear(): void {
    this.count = 0;
    this.recentCount = 0;
  }
}
