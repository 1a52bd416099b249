/**
 * Fragment reassembly for IPv4 (RFC 791 3.2, RFC 815) and IPv6 (RFC 8200 4.5), with the limits a
 * stack needs against resource exhaustion: a bounded number of datagrams in reassembly (each
 * holds a 64 KiB buffer, allocated once and reused), a time limit (60 s by default, as RFC 8200
 * and tcpip.sys use; RFC 791's 15 s minimum is configurable), and a strict overlap rule: a
 * fragment that overlaps data already received, except as an exact duplicate, discards the whole
 * datagram (RFC 5722 for IPv6; applied to IPv4 too, as RFC 1858 recommends against overlapping
 * fragment attacks). Received data is tracked as a bitmap of 8-byte blocks.
 *
 * The buffer keeps the reassembled datagram contiguous: data at `DATA_AT`, and the header of the
 * first fragment (IPv4 header, or IPv6 unfragmentable part) copied just before it on completion,
 * with the length fields rewritten, so that the result is an ordinary IP packet.
 */
import { StackTimer, type StackTimerTarget } from './timers.js';
import type { IpInterface } from './interface.js';
import { sameAddress } from './addresses.js';

/** Offset of reassembled data in an entry's buffer; headers go in front of it. */
export const DATA_AT = 1024;
/** Longest header (IPv4 header with options, or IPv6 unfragmentable part) kept for a datagram. */
export const MAX_UNFRAGMENTABLE = DATA_AT;
/** Bytes of the first fragment kept to quote in an ICMP time-exceeded message (IPv6 minimum MTU less headers). */
export const QUOTE_MAX = 1232;

/** Outcome of offering a fragment (besides a completed entry). */
export const FragmentResult = {
  /** Held until the rest arrives. */
  Held: 0,
  /** An exact duplicate of data already held: ignored. */
  Duplicate: 1,
  /** Overlapped other data: the datagram was discarded. */
  Overlap: 2,
  /** No room: too many datagrams in reassembly. */
  Limit: 3,
  /** Bad offset or length (not a multiple of 8, beyond 65535, inconsistent end). */
  Malformed: 4,
  /** Completed: the entry holds the datagram. */
  Complete: 5,
} as const;

/** One datagram in reassembly. */
export class ReassemblyEntry implements StackTimerTarget {
  readonly reassembler: Reassembler;
  /** Reassembled bytes: header at DATA_AT - headerLength, data at DATA_AT. */
  buffer: Uint8Array;
  /** One bit per 8-byte block of data received. */
  readonly blocks: Uint8Array;
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  v6: boolean;
  id: number;
  /** IPv4 protocol (part of the key); IPv6: the fragment header's next header. */
  protocol: number;
  /** Length of the header of the first fragment (0 until it arrives). */
  headerLength: number;
  /** IPv6: offset, within the unfragmentable part, of the Next Header byte that named the fragment header. */
  nextHeaderField: number;
  /** Total data length, known when the last fragment arrives (-1 before). */
  dataLength: number;
  /** Data bytes received. */
  received: number;
  hasFirst: boolean;
  /** The first fragment as received (for an ICMP time-exceeded quote). */
  readonly quote: Uint8Array;
  quoteLength: number;
  iface: IpInterface | null;
  inUse: boolean;
  readonly timer: StackTimer;

  constructor(reassembler: Reassembler) {
    this.reassembler = reassembler;
    this.buffer = new Uint8Array(0);
    this.blocks = new Uint8Array(8192);
    this.source = new Uint8Array(16);
    this.destination = new Uint8Array(16);
    this.v6 = false;
    this.id = 0;
    this.protocol = 0;
    this.headerLength = 0;
    this.nextHeaderField = 0;
    this.dataLength = -1;
    this.received = 0;
    this.hasFirst = false;
    this.quote = new Uint8Array(QUOTE_MAX);
    this.quoteLength = 0;
    this.iface = null;
    this.inUse = false;
    this.timer = new StackTimer(this, 0);
  }

  /** Offset of the reassembled packet (its header) in `buffer`. */
  get packetOffset(): number {
    return DATA_AT - this.headerLength;
  }

  /** Length of the reassembled packet. */
  get packetLength(): number {
    return this.headerLength + this.dataLength;
  }

  onStackTimer(): void {
    this.reassembler.expired(this);
  }
}

/** What the reassembler needs from the stack. */
export interface ReassemblyHost {
  now(): number;
  setTimer(t: StackTimer, at: number): void;
  cancelTimer(t: StackTimer): void;
  /** A datagram timed out; `entry` still holds what arrived (quote included). */
  reassemblyTimedOut(entry: ReassemblyEntry): void;
}

/** The datagrams in reassembly, for both IP versions. */
export class Reassembler {
  private readonly entries: ReassemblyEntry[] = [];
  /** Datagrams in reassembly now. */
  active = 0;
  readonly maxDatagrams: number;
  readonly timeoutMs: number;
  private readonly host: ReassemblyHost;
  /** Outcome of the last `offer` when it returned null. */
  lastResult: number = FragmentResult.Held;

  constructor(host: ReassemblyHost, maxDatagrams: number, timeoutMs: number) {
    this.host = host;
    this.maxDatagrams = maxDatagrams;
    this.timeoutMs = timeoutMs;
  }

  private find(v6: boolean, src: Uint8Array, dst: Uint8Array, id: number, protocol: number): ReassemblyEntry | null {
    const es = this.entries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      if (e.inUse && e.id === id && e.v6 === v6 && (v6 || e.protocol === protocol) && sameAddress(e.source, src) && sameAddress(e.destination, dst)) return e;
    }
    return null;
  }

  private take(): ReassemblyEntry | null {
    if (this.active >= this.maxDatagrams) return null;
    let e: ReassemblyEntry | null = null;
    for (const x of this.entries) {
      if (!x.inUse) {
        e = x;
        break;
      }
    }
    if (e === null) {
      e = new ReassemblyEntry(this);
      this.entries.push(e);
    }
    if (e.buffer.length === 0) e.buffer = new Uint8Array(DATA_AT + 65536 + 8);
    e.inUse = true;
    e.blocks.fill(0);
    e.headerLength = 0;
    e.nextHeaderField = 0;
    e.dataLength = -1;
    e.received = 0;
    e.hasFirst = false;
    e.quoteLength = 0;
    this.active++;
    return e;
  }

  /** Frees an entry (completed, timed out or discarded). */
  release(e: ReassemblyEntry): void {
    if (!e.inUse) return;
    e.inUse = false;
    e.iface = null;
    this.host.cancelTimer(e.timer);
    this.active--;
  }

  /** Drops every datagram received on `iface` (unbind). */
  releaseInterface(iface: IpInterface): void {
    for (const e of this.entries) if (e.inUse && e.iface === iface) this.release(e);
  }

  /**
   * Offers one fragment: `data[dataOffset..+dataLength)` at fragment offset `fragOffset` (bytes),
   * `more` the MF / M flag. `header[headerOffset..+headerLength)` is the fragment's header (IPv4
   * header, or IPv6 unfragmentable part) and `packet[packetOffset..+packetLength)` the whole
   * fragment (for the quote). For IPv6, `nextHeaderField` is the offset within the header of the
   * byte naming the fragment header and `protocol` the fragment header's next header. Returns the
   * entry when the datagram is complete (release it after use), else null with `lastResult` set.
   * @cost O(fragment length) copy; no allocation once the entries exist.
   */
  offer(
    iface: IpInterface,
    v6: boolean,
    src: Uint8Array,
    dst: Uint8Array,
    id: number,
    protocol: number,
    fragOffset: number,
    more: boolean,
    bytes: Uint8Array,
    packetOffset: number,
    headerLength: number,
    dataOffset: number,
    dataLength: number,
    nextHeaderField: number,
  ): ReassemblyEntry | null {
    const end = fragOffset + dataLength;
    if ((more && (dataLength & 7) !== 0) || dataLength === 0 || end > 65535 - (v6 ? headerLength - 40 : headerLength) || headerLength > MAX_UNFRAGMENTABLE) {
      this.lastResult = FragmentResult.Malformed;
      return null;
    }
    let e = this.find(v6, src, dst, id, protocol);
    if (e === null) {
      e = this.take();
      if (e === null) {
        this.lastResult = FragmentResult.Limit;
        return null;
      }
      e.v6 = v6;
      e.id = id;
      e.protocol = protocol;
      e.source.set(src);
      e.destination.set(dst);
      e.iface = iface;
      this.host.setTimer(e.timer, this.host.now() + this.timeoutMs);
    } else if (v6 && e.protocol !== protocol && fragOffset === 0) {
      e.protocol = protocol;
    }
    // End of the datagram: fixed by the last fragment; every fragment must respect it.
    if (!more) {
      if ((e.dataLength >= 0 && e.dataLength !== end) || this.hasDataBeyond(e, end)) return this.discard(e, FragmentResult.Malformed);
      e.dataLength = end;
    } else if (e.dataLength >= 0 && end > e.dataLength) {
      return this.discard(e, FragmentResult.Malformed);
    }
    // Overlap check on 8-byte blocks.
    const first = fragOffset >>> 3;
    const last = (end + 7) >>> 3;
    let seen = 0;
    const blocks = e.blocks;
    for (let k = first; k < last; k++) if ((blocks[k >>> 3]! & (1 << (k & 7))) !== 0) seen++;
    const buf = e.buffer;
    if (seen > 0) {
      if (seen === last - first) {
        let same = true;
        for (let i = 0; i < dataLength; i++) {
          if (buf[DATA_AT + fragOffset + i] !== bytes[dataOffset + i]) {
            same = false;
            break;
          }
        }
        if (same) {
          this.lastResult = FragmentResult.Duplicate;
          return null;
        }
      }
      return this.discard(e, FragmentResult.Overlap);
    }
    buf.set(bytes.subarray(dataOffset, dataOffset + dataLength), DATA_AT + fragOffset);
    for (let k = first; k < last; k++) blocks[k >>> 3] = blocks[k >>> 3]! | (1 << (k & 7));
    e.received += dataLength;
    if (fragOffset === 0) {
      e.hasFirst = true;
      e.headerLength = headerLength;
      e.nextHeaderField = nextHeaderField;
      // Keep the header aside in the quote area until completion writes it in front of the data.
      const q = Math.min(headerLength + dataLength + (dataOffset - packetOffset - headerLength), QUOTE_MAX);
      e.quote.set(bytes.subarray(packetOffset, packetOffset + q));
      e.quoteLength = q;
    }
    if (e.dataLength >= 0 && e.received === e.dataLength && e.hasFirst) {
      // The first fragment's header, in front of the data.
      buf.set(e.quote.subarray(0, e.headerLength), DATA_AT - e.headerLength);
      this.lastResult = FragmentResult.Complete;
      return e;
    }
    this.lastResult = FragmentResult.Held;
    return null;
  }

  private hasDataBeyond(e: ReassemblyEntry, end: number): boolean {
    const blocks = e.blocks;
    const startBlock = (end + 7) >>> 3;
    for (let k = startBlock; k < 8192; k++) if ((blocks[k >>> 3]! & (1 << (k & 7))) !== 0) return true;
    return false;
  }

  private discard(e: ReassemblyEntry, result: number): null {
    this.release(e);
    this.lastResult = result;
    return null;
  }

  /** The reassembly time of an entry ran out. */
  expired(e: ReassemblyEntry): void {
    if (!e.inUse) return;
    this.host.reassemblyTimedOut(e);
    this.release(e);
  }
}
