/**
 * A streaming pcapng writer (draft-ietf-opsawg-pcapng): one Section Header Block, an Interface
 * Description Block per interface, and an Enhanced Packet Block per packet, little-endian, with
 * nanosecond timestamps (if_tsresol 9 on every interface).
 *
 * Blocks are assembled in one reusable buffer and handed to a sink in chunks, so that writing a
 * packet allocates nothing: the buffer grows only when a block larger than any before appears.
 */
import {
  LINKTYPE_ETHERNET,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_ENHANCED_PACKET_BLOCK,
  PCAPNG_EPB_FLAGS,
  PCAPNG_IF_DESCRIPTION,
  PCAPNG_IF_NAME,
  PCAPNG_IF_TSRESOL,
  PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
  PCAPNG_OPT_COMMENT,
  PCAPNG_OPT_ENDOFOPT,
  PCAPNG_SECTION_HEADER_BLOCK,
  PCAPNG_SHB_HARDWARE,
  PCAPNG_SHB_OS,
  PCAPNG_SHB_USERAPPL,
  PCAPNG_TSRESOL_NANOSECONDS,
  PCAPNG_VERSION_MAJOR,
  PCAPNG_VERSION_MINOR,
} from './constants.js';
import { MAX_TIMESTAMP_SECONDS, nanosecondsToHalves, Uint64Halves } from './time.js';

/**
 * Where a writer's bytes go. `write` receives a view of the writer's reusable buffer that is valid
 * only during the call: a sink that keeps the bytes must copy them.
 */
export interface CaptureSink {
  /** Takes the next bytes of the file. */
  write(chunk: Uint8Array): void;
  /** Called once by the writer's `close`, after the last `write`. */
  close?(): void;
}

/** A sink that collects the file in memory (copying each chunk). */
export class MemorySink implements CaptureSink {
  private buf: Uint8Array;
  private used: number;
  /** True once the writer has closed the sink. */
  closed: boolean;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.used = 0;
    this.closed = false;
  }

  write(chunk: Uint8Array): void {
    if (this.used + chunk.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.used + chunk.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.used));
      this.buf = next;
    }
    this.buf.set(chunk, this.used);
    this.used += chunk.length;
  }

  close(): void {
    this.closed = true;
  }

  /** The bytes written so far (a view; copy it to keep it across further writes). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }
}

/** Options of the Section Header Block and of the writer's buffering. */
export interface PcapngWriterOptions {
  /** shb_hardware. */
  hardware?: string;
  /** shb_os. */
  os?: string;
  /** shb_userappl (default "ndis-ts"). */
  userApplication?: string;
  /** opt_comment of the section. */
  comment?: string;
  /**
   * Bytes to gather before handing a chunk to the sink (default 65536). 0 hands over every block
   * as soon as it is complete, for a reader that follows the file live. `flush()` hands over the
   * rest at any time; `close()` always does.
   */
  bufferSize?: number;
}

/** Options of an Interface Description Block. */
export interface PcapngInterfaceOptions {
  /** if_name, e.g. the adapter's name. */
  name?: string;
  /** if_description. */
  description?: string;
  /** LINKTYPE_* (default LINKTYPE_ETHERNET). */
  linkType?: number;
  /** SnapLen: packets longer than this are truncated to it (default 0: no limit). */
  snapLength?: number;
}

/** Bytes of `s` encoded as UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Encodes `s` as UTF-8 at `buf[off]` (as TextEncoder would, without allocating); returns the end offset. */
function writeUtf8(s: string, buf: Uint8Array, off: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[off++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[off++] = 0xc0 | (c >> 6);
      buf[off++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[off++] = 0xf0 | (c >> 18);
        buf[off++] = 0x80 | ((c >> 12) & 0x3f);
        buf[off++] = 0x80 | ((c >> 6) & 0x3f);
        buf[off++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    buf[off++] = 0xe0 | (c >> 12);
    buf[off++] = 0x80 | ((c >> 6) & 0x3f);
    buf[off++] = 0x80 | (c & 0x3f);
  }
  return off;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Bytes an option with a `length`-byte value occupies (header + value padded to 4). */
function optionSize(length: number): number {
  return 4 + pad4(length);
}

function checkText(what: string, s: string | undefined): void {
  if (s === undefined) return;
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string`);
  if (utf8Length(s) > 0xffff) throw new RangeError(`${what} is longer than the 65535 bytes a pcapng option holds`);
}

/**
 * Writes a pcapng file to a sink: the Section Header Block at construction, then interfaces
 * (`addInterface`) and packets (`writeEnhancedPacket`) in any order, an interface always before
 * its packets.
 */
export class PcapngWriter {
  private readonly sink: CaptureSink;
  private readonly flushAt: number;
  private buf: Uint8Array;
  private view: DataView;
  private used: number;
  private readonly snapLengths: number[];
  private readonly halves: Uint64Halves;
  private closed: boolean;
  private pendingTotal: number;
  private pendingData: number;
  private pendingCaptured: number;
  private pendingFlags: number;
  private pendingComment: string | null;
  private pendingOptions: number;
  /** Enhanced Packet Blocks written. */
  packetsWritten: number;
  /** Bytes handed to the sink so far plus bytes still buffered. */
  bytesWritten: number;

  /** Starts a section (writes its Section Header Block into the buffer). */
  constructor(sink: CaptureSink, options: PcapngWriterOptions = {}) {
    if (sink === null || typeof sink !== 'object' || typeof sink.write !== 'function') {
      throw new TypeError('PcapngWriter needs a sink with a write(chunk: Uint8Array) method');
    }
    const bufferSize = options.bufferSize ?? 65536;
    if (!Number.isInteger(bufferSize) || bufferSize < 0) {
      throw new RangeError(`bufferSize must be a non-negative integer, not ${String(bufferSize)}`);
    }
    checkText('shb_hardware', options.hardware);
    checkText('shb_os', options.os);
    checkText('shb_userappl', options.userApplication);
    checkText('the section comment', options.comment);
    this.sink = sink;
    this.flushAt = bufferSize;
    this.buf = new Uint8Array(Math.max(bufferSize, 2048));
    this.view = new DataView(this.buf.buffer);
    this.used = 0;
    this.snapLengths = [];
    this.halves = new Uint64Halves();
    this.closed = false;
    this.pendingTotal = 0;
    this.pendingData = 0;
    this.pendingCaptured = 0;
    this.pendingFlags = 0;
    this.pendingComment = null;
    this.pendingOptions = 0;
    this.packetsWritten = 0;
    this.bytesWritten = 0;

    const texts: [number, string][] = [];
    if (options.comment !== undefined) texts.push([PCAPNG_OPT_COMMENT, options.comment]);
    if (options.hardware !== undefined) texts.push([PCAPNG_SHB_HARDWARE, options.hardware]);
    if (options.os !== undefined) texts.push([PCAPNG_SHB_OS, options.os]);
    texts.push([PCAPNG_SHB_USERAPPL, options.userApplication ?? 'ndis-ts']);
    let optionsLength = 4; // opt_endofopt
    for (const [, s] of texts) optionsLength += optionSize(utf8Length(s));
    const total = 12 + 16 + optionsLength;
    let o = this.begin(PCAPNG_SECTION_HEADER_BLOCK, total);
    const v = this.view;
    v.setUint32(o, PCAPNG_BYTE_ORDER_MAGIC, true);
    v.setUint16(o + 4, PCAPNG_VERSION_MAJOR, true);
    v.setUint16(o + 6, PCAPNG_VERSION_MINOR, true);
    v.setInt32(o + 8, -1, true); // Section Length: -1, not specified
    v.setInt32(o + 12, -1, true);
    o += 16;
    for (const [code, s] of texts) o = this.textOption(o, code, s);
    o = this.endOfOptions(o);
    this.end(o, total);
  }

  /**
   * Describes a capture interface (writes an Interface Description Block with if_name,
   * if_description and if_tsresol = 9) and returns its interface ID, counted from 0.
   */
  addInterface(options: PcapngInterfaceOptions = {}): number {
    this.checkOpen();
    const linkType = options.linkType ?? LINKTYPE_ETHERNET;
    const snapLength = options.snapLength ?? 0;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new RangeError(`linkType must be a 16-bit LINKTYPE_* value, not ${String(linkType)}`);
    }
    if (!Number.isInteger(snapLength) || snapLength < 0 || snapLength > 0xffffffff) {
      throw new RangeError(`snapLength must be a 32-bit unsigned integer (0: no limit), not ${String(snapLength)}`);
    }
    checkText('if_name', options.name);
    checkText('if_description', options.description);
    let optionsLength = optionSize(1) + 4; // if_tsresol, opt_endofopt
    if (options.name !== undefined) optionsLength += optionSize(utf8Length(options.name));
    if (options.description !== undefined) optionsLength += optionSize(utf8Length(options.description));
    const total = 12 + 8 + optionsLength;
    let o = this.begin(PCAPNG_INTERFACE_DESCRIPTION_BLOCK, total);
    const v = this.view;
    v.setUint16(o, linkType, true);
    v.setUint16(o + 2, 0, true);
    v.setUint32(o + 4, snapLength, true);
    o += 8;
    if (options.name !== undefined) o = this.textOption(o, PCAPNG_IF_NAME, options.name);
    if (options.description !== undefined) o = this.textOption(o, PCAPNG_IF_DESCRIPTION, options.description);
    v.setUint16(o, PCAPNG_IF_TSRESOL, true);
    v.setUint16(o + 2, 1, true);
    v.setUint32(o + 4, 0, true);
    this.buf[o + 4] = PCAPNG_TSRESOL_NANOSECONDS;
    o = this.endOfOptions(o + 8);
    this.end(o, total);
    this.snapLengths.push(snapLength);
    return this.snapLengths.length - 1;
  }

  /**
   * Writes one Enhanced Packet Block: `length` bytes of `data` from `offset`, captured on
   * interface `interfaceId` at `seconds` + `nanoseconds` since the epoch. `originalLength` is the
   * length on the wire (default `length`); a packet longer than the interface's snap length is
   * truncated to it. `flags` is the epb_flags word (PCAPNG_EPB_FLAGS_INBOUND / _OUTBOUND and
   * others), written when not 0; `comment` becomes an opt_comment.
   *
   * Allocates nothing when `data` is passed whole (the default offset and length) and the block
   * fits the buffer; copying a window of a larger array costs one short-lived view. To gather a
   * packet from several buffers without either, use `beginEnhancedPacket`.
   */
  writeEnhancedPacket(
    interfaceId: number,
    seconds: number,
    nanoseconds: number,
    data: Uint8Array,
    offset = 0,
    length: number = data.length - offset,
    originalLength: number = length,
    flags = 0,
    comment: string | null = null,
  ): void {
    if (offset >>> 0 !== offset || length >>> 0 !== length || offset + length > data.length) {
      throw new RangeError(`${length} bytes at offset ${offset} are outside the ${data.length}-byte packet buffer`);
    }
    const n = this.beginEnhancedPacket(interfaceId, seconds, nanoseconds, length, originalLength, flags, comment);
    if (offset === 0 && n === data.length) this.buf.set(data, this.pendingData);
    else this.buf.set(data.subarray(offset, offset + n), this.pendingData);
    this.commitEnhancedPacket();
  }

  /**
   * Starts an Enhanced Packet Block for a packet of `length` bytes (arguments as for
   * `writeEnhancedPacket`) and returns how many bytes to capture: `length`, or the snap length
   * when smaller. The caller writes exactly that many bytes into `packetBuffer` from
   * `packetOffset`, then calls `commitEnhancedPacket`; nothing else may be written in between.
   * This lets a capture gather a packet from several buffers (an MDL chain) with no copy of its own.
   */
  beginEnhancedPacket(
    interfaceId: number,
    seconds: number,
    nanoseconds: number,
    length: number,
    originalLength: number = length,
    flags = 0,
    comment: string | null = null,
  ): number {
    this.checkOpen();
    if (interfaceId >>> 0 !== interfaceId || interfaceId >= this.snapLengths.length) {
      throw new RangeError(
        `interface ${interfaceId} has not been added (the writer has ${this.snapLengths.length}); call addInterface first`,
      );
    }
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_TIMESTAMP_SECONDS) {
      throw new RangeError(`timestamp seconds must be an integer from 0 to ${MAX_TIMESTAMP_SECONDS}, not ${seconds}`);
    }
    if (nanoseconds >>> 0 !== nanoseconds || nanoseconds > 999_999_999) {
      throw new RangeError(`timestamp nanoseconds must be an integer from 0 to 999999999, not ${nanoseconds}`);
    }
    if (length >>> 0 !== length) throw new RangeError(`packet length ${length} must be an unsigned 32-bit integer`);
    if (originalLength >>> 0 !== originalLength || originalLength < length) {
      throw new RangeError(`originalLength ${originalLength} must be an unsigned 32-bit integer of at least ${length}`);
    }
    if (comment !== null && typeof comment !== 'string') throw new TypeError('a packet comment must be a string or null');
    const snap = this.snapLengths[interfaceId]!;
    const captured = snap !== 0 && length > snap ? snap : length;
    const commentLength = comment === null ? 0 : utf8Length(comment);
    if (commentLength > 0xffff) throw new RangeError('a comment is longer than the 65535 bytes a pcapng option holds');
    let optionsLength = 0;
    if (flags !== 0) optionsLength += 8;
    if (comment !== null) optionsLength += optionSize(commentLength);
    if (optionsLength !== 0) optionsLength += 4;
    const total = 12 + 20 + pad4(captured) + optionsLength;
    const o = this.begin(PCAPNG_ENHANCED_PACKET_BLOCK, total);
    const v = this.view;
    const h = this.halves;
    nanosecondsToHalves(seconds, nanoseconds, h);
    v.setUint32(o, interfaceId, true);
    v.setUint32(o + 4, h.high, true);
    v.setUint32(o + 8, h.low, true);
    v.setUint32(o + 12, captured, true);
    v.setUint32(o + 16, originalLength, true);
    this.pendingTotal = total;
    this.pendingData = o + 20;
    this.pendingCaptured = captured;
    this.pendingFlags = flags >>> 0;
    this.pendingComment = comment;
    this.pendingOptions = optionsLength;
    return captured;
  }

  /** The buffer to write a begun packet's bytes into (valid until `commitEnhancedPacket`). */
  get packetBuffer(): Uint8Array {
    return this.buf;
  }

  /** Where in `packetBuffer` a begun packet's bytes go. */
  get packetOffset(): number {
    return this.pendingData;
  }

  /** Completes the block started by `beginEnhancedPacket`: padding, options, trailing length. */
  commitEnhancedPacket(): void {
    const total = this.pendingTotal;
    if (total === 0) throw new Error('commitEnhancedPacket without beginEnhancedPacket');
    let o = this.pendingData + this.pendingCaptured;
    const padded = this.pendingData + pad4(this.pendingCaptured);
    this.buf.fill(0, o, padded);
    o = padded;
    const v = this.view;
    if (this.pendingFlags !== 0) {
      v.setUint16(o, PCAPNG_EPB_FLAGS, true);
      v.setUint16(o + 2, 4, true);
      v.setUint32(o + 4, this.pendingFlags, true);
      o += 8;
    }
    const comment = this.pendingComment;
    if (comment !== null) o = this.textOption(o, PCAPNG_OPT_COMMENT, comment);
    if (this.pendingOptions !== 0) o = this.endOfOptions(o);
    this.pendingTotal = 0;
    this.pendingComment = null;
    this.end(o, total);
    this.packetsWritten++;
  }

  /** Hands the buffered bytes to the sink (does nothing between begin and commit of a packet). */
  flush(): void {
    if (this.used === 0 || this.pendingTotal !== 0) return;
    const n = this.used;
    this.used = 0;
    this.sink.write(this.buf.subarray(0, n));
  }

  /**
   * Flushes and closes the sink; the writer accepts nothing afterwards. A begun, uncommitted
   * packet is dropped. Closing twice does nothing.
   */
  close(): void {
    if (this.closed) return;
    this.pendingTotal = 0;
    this.pendingComment = null;
    this.flush();
    this.closed = true;
    this.sink.close?.();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the pcapng writer is closed');
    if (this.pendingTotal !== 0) throw new Error('an Enhanced Packet Block was begun and not committed');
  }

  /** Reserves `total` bytes for a block, writes its type and leading length; returns the body offset. */
  private begin(type: number, total: number): number {
    if (this.used + total > this.buf.length) {
      this.flush();
      if (total > this.buf.length) {
        let cap = this.buf.length;
        while (cap < total) cap *= 2;
        this.buf = new Uint8Array(cap);
        this.view = new DataView(this.buf.buffer);
      }
    }
    const o = this.used;
    this.view.setUint32(o, type, true);
    this.view.setUint32(o + 4, total, true);
    return o + 8;
  }

  /** Writes the trailing length of the block ending at `o` and hands it on when due. */
  private end(o: number, total: number): void {
    this.view.setUint32(o, total, true);
    this.used = o + 4;
    this.bytesWritten += total;
    if (this.used >= this.flushAt) this.flush();
  }

  private textOption(o: number, code: number, s: string): number {
    const start = o + 4;
    const stop = writeUtf8(s, this.buf, start);
    const n = stop - start;
    this.view.setUint16(o, code, true);
    this.view.setUint16(o + 2, n, true);
    const padded = start + pad4(n);
    this.buf.fill(0, stop, padded);
    return padded;
  }

  private endOfOptions(o: number): number {
    this.view.setUint16(o, PCAPNG_OPT_ENDOFOPT, true);
    this.view.setUint16(o + 2, 0, true);
    return o + 4;
  }
}
