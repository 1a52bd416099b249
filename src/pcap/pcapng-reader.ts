/**
 * A pcapng reader (draft-ietf-opsawg-pcapng) over a file held in memory: Section Header Blocks of
 * either byte order, Interface Description Blocks (if_name, if_description, if_tsresol,
 * if_tsoffset), Enhanced, Simple and obsolete Packet Blocks (epb_flags / pack_flags, opt_comment);
 * every other block is skipped.
 *
 * Damage never throws. A block whose framing is broken (a total length that is too small, not a
 * multiple of 4, past the end of the file, or different from its trailing copy) yields an error
 * record, and reading resumes at the next offset where a well-framed block begins, if any. A block
 * whose framing is sound but whose contents are not (short body, options past the end, unknown
 * interface) yields an error record and reading goes on with the next block.
 */
import {
  LINKTYPE_ETHERNET,
  PCAPNG_CUSTOM_BLOCK,
  PCAPNG_CUSTOM_BLOCK_NO_COPY,
  PCAPNG_DECRYPTION_SECRETS_BLOCK,
  PCAPNG_ENHANCED_PACKET_BLOCK,
  PCAPNG_EPB_FLAGS,
  PCAPNG_IF_DESCRIPTION,
  PCAPNG_IF_NAME,
  PCAPNG_IF_TSOFFSET,
  PCAPNG_IF_TSRESOL,
  PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
  PCAPNG_OPT_COMMENT,
  PCAPNG_OPT_ENDOFOPT,
  PCAPNG_PACKET_BLOCK,
  PCAPNG_SECTION_HEADER_BLOCK,
  PCAPNG_SHB_HARDWARE,
  PCAPNG_SHB_OS,
  PCAPNG_SHB_USERAPPL,
  PCAPNG_SIMPLE_PACKET_BLOCK,
  PCAPNG_SYSTEMD_JOURNAL_EXPORT_BLOCK,
  PCAPNG_VERSION_MAJOR,
} from './constants.js';
import type { CaptureErrorCode, CaptureInterface, CaptureReader } from './frame.js';
import { CaptureError, CaptureFrame } from './frame.js';
import { MICROSECOND_RESOLUTION, TimestampResolution, unitsToTimestamp } from './time.js';

/** The Section Header Block's byte-order magic as read little-endian from a big-endian section. */
const MAGIC_SWAPPED = 0x4d3c2b1a;
const MAGIC = 0x1a2b3c4d;

/** A Section Header Block as read. */
export interface PcapngSection {
  /** Index of the section in the file, from 0. */
  readonly index: number;
  /** Offset of its Section Header Block. */
  readonly offset: number;
  /** Byte order of the section. */
  readonly littleEndian: boolean;
  /** Major version (always 1 for a section that was read). */
  readonly major: number;
  /** Minor version. */
  readonly minor: number;
  /** shb_hardware, or null. */
  readonly hardware: string | null;
  /** shb_os, or null. */
  readonly os: string | null;
  /** shb_userappl, or null. */
  readonly userApplication: string | null;
  /** opt_comment (several joined by a newline), or null. */
  readonly comment: string | null;
}

interface MutableInterface {
  id: number;
  section: number;
  linkType: number;
  snapLength: number;
  name: string | null;
  description: string | null;
  resolution: TimestampResolution;
  offsetSeconds: number;
}

interface MutableSection {
  index: number;
  offset: number;
  littleEndian: boolean;
  major: number;
  minor: number;
  hardware: string | null;
  os: string | null;
  userApplication: string | null;
  comment: string | null;
}

const RESOLUTIONS = new Map<number, TimestampResolution>();
function resolutionOf(tsresol: number): TimestampResolution {
  let r = RESOLUTIONS.get(tsresol);
  if (r === undefined) {
    r = new TimestampResolution(tsresol);
    RESOLUTIONS.set(tsresol, r);
  }
  return r;
}

const decoder = new TextDecoder('utf-8');

function isKnownBlockType(type: number): boolean {
  return (
    (type >= PCAPNG_INTERFACE_DESCRIPTION_BLOCK && type <= PCAPNG_ENHANCED_PACKET_BLOCK) ||
    type === PCAPNG_DECRYPTION_SECRETS_BLOCK ||
    type === PCAPNG_CUSTOM_BLOCK ||
    type === PCAPNG_CUSTOM_BLOCK_NO_COPY ||
    type === PCAPNG_SYSTEMD_JOURNAL_EXPORT_BLOCK
  );
}

/** Reads the frames of a pcapng file held in `bytes` (frames' data are views into `bytes`). */
export class PcapngReader implements CaptureReader, Iterable<CaptureFrame | CaptureError> {
  readonly format = 'pcapng' as const;
  /** The file. */
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset: number;
  private le: boolean;
  /** True while inside a readable section; false before the first one or after a bad one. */
  private inSection: boolean;
  private sectionInterfaces: MutableInterface[];
  private readonly allInterfaces: MutableInterface[];
  private readonly allSections: MutableSection[];
  private readonly own: CaptureFrame;
  /** Scratch for option parsing: the flags word and comment of the packet block being read. */
  private optFlags: number;
  private optComment: string | null;
  private optError: string | null;
  /** Blocks skipped because this reader does not use them (NRB, ISB, DSB, custom, unknown). */
  skippedBlocks: number;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 0;
    this.le = true;
    this.inSection = false;
    this.sectionInterfaces = [];
    this.allInterfaces = [];
    this.allSections = [];
    this.own = new CaptureFrame();
    this.optFlags = 0;
    this.optComment = null;
    this.optError = null;
    this.skippedBlocks = 0;
  }

  /** Every interface described so far, in file order (ids restart at 0 in each section). */
  get interfaces(): readonly CaptureInterface[] {
    return this.allInterfaces;
  }

  /** Every section header read so far. */
  get sections(): readonly PcapngSection[] {
    return this.allSections;
  }

  *[Symbol.iterator](): Iterator<CaptureFrame | CaptureError> {
    for (;;) {
      const r = this.next(new CaptureFrame());
      if (r === null) return;
      yield r;
    }
  }

  next(frame: CaptureFrame = this.own): CaptureFrame | CaptureError | null {
    const len = this.bytes.length;
    const v = this.view;
    for (;;) {
      const at = this.offset;
      if (at >= len) return null;
      if (len - at < 12) {
        this.offset = len;
        return new CaptureError(
          'ERR_CAPTURE_TRUNCATED',
          at,
          `pcapng: the file ends inside a block header at offset ${at} (${len - at} bytes left); stopped`,
          null,
        );
      }
      const rawType = v.getUint32(at, true);
      if (rawType === PCAPNG_SECTION_HEADER_BLOCK) {
        const magic = v.getUint32(at + 8, true);
        if (magic !== MAGIC && magic !== MAGIC_SWAPPED) {
          this.inSection = false;
          return this.resync(
            'ERR_PCAPNG_BAD_SECTION',
            at,
            `Section Header Block at offset ${at} has byte-order magic 0x${magic.toString(16)}, neither 0x1a2b3c4d nor its byte swap`,
          );
        }
        this.le = magic === MAGIC;
      } else if (!this.inSection) {
        return this.resync(
          'ERR_PCAPNG_BAD_SECTION',
          at,
          at === 0
            ? 'pcapng: the file does not start with a Section Header Block'
            : `pcapng: block at offset ${at} is outside any readable section`,
        );
      }
      const le = this.le;
      const type = rawType === PCAPNG_SECTION_HEADER_BLOCK ? rawType : v.getUint32(at, le);
      const total = v.getUint32(at + 4, le);
      if (total < 12 || (total & 3) !== 0) {
        return this.resync(
          'ERR_PCAPNG_BAD_BLOCK_LENGTH',
          at,
          `block at offset ${at} (type 0x${type.toString(16)}) has total length ${total}, ` +
            (total < 12 ? 'less than the 12-byte minimum' : 'not a multiple of 4'),
        );
      }
      if (total > len - at) {
        return this.resync(
          'ERR_CAPTURE_TRUNCATED',
          at,
          `block at offset ${at} (type 0x${type.toString(16)}) has total length ${total} but only ${len - at} bytes remain`,
        );
      }
      const trailer = v.getUint32(at + total - 4, le);
      if (trailer !== total) {
        return this.resync(
          'ERR_PCAPNG_BAD_BLOCK_LENGTH',
          at,
          `block at offset ${at} (type 0x${type.toString(16)}) has total length ${total} but its trailing copy says ${trailer}`,
        );
      }
      this.offset = at + total;
      const body = at + 8;
      const bodyLength = total - 12;
      switch (type) {
        case PCAPNG_SECTION_HEADER_BLOCK: {
          const err = this.readSection(at, body, bodyLength);
          if (err !== null) return err;
          continue;
        }
        case PCAPNG_INTERFACE_DESCRIPTION_BLOCK: {
          const err = this.readInterface(at, body, bodyLength);
          if (err !== null) return err;
          continue;
        }
        case PCAPNG_ENHANCED_PACKET_BLOCK:
          return this.readEnhancedPacket(frame, at, body, bodyLength);
        case PCAPNG_SIMPLE_PACKET_BLOCK:
          return this.readSimplePacket(frame, at, body, bodyLength);
        case PCAPNG_PACKET_BLOCK:
          return this.readObsoletePacket(frame, at, body, bodyLength);
        default:
          this.skippedBlocks++;
          continue;
      }
    }
  }

  /**
   * Records a framing error at `at` and moves to the next offset after it where a well-framed
   * block begins (a Section Header Block in either byte order, or a known block type in the
   * current section's byte order), or to the end of the file.
   */
  private resync(code: CaptureErrorCode, at: number, what: string): CaptureError {
    const next = this.findBlock(at + 4);
    this.offset = next < 0 ? this.bytes.length : next;
    return new CaptureError(
      code,
      at,
      next < 0 ? `${what}; no well-formed block follows, stopped` : `${what}; resumed at the next well-formed block, offset ${next}`,
      next < 0 ? null : next,
    );
  }

  private findBlock(from: number): number {
    const v = this.view;
    const len = this.bytes.length;
    for (let o = from; o + 12 <= len; o += 4) {
      const raw = v.getUint32(o, true);
      let le = this.le;
      if (raw === PCAPNG_SECTION_HEADER_BLOCK) {
        if (o + 28 > len) continue;
        const magic = v.getUint32(o + 8, true);
        if (magic !== MAGIC && magic !== MAGIC_SWAPPED) continue;
        le = magic === MAGIC;
      } else if (!this.inSection || !isKnownBlockType(v.getUint32(o, le))) {
        continue;
      }
      const total = v.getUint32(o + 4, le);
      if (total < 12 || (total & 3) !== 0 || total > len - o) continue;
      if (v.getUint32(o + total - 4, le) !== total) continue;
      return o;
    }
    return -1;
  }

  private readSection(at: number, body: number, bodyLength: number): CaptureError | null {
    const v = this.view;
    const le = this.le;
    this.sectionInterfaces = [];
    if (bodyLength < 16) {
      this.inSection = false;
      return this.resync('ERR_PCAPNG_BAD_BLOCK', at, `Section Header Block at offset ${at} is too short (${bodyLength}-byte body)`);
    }
    const major = v.getUint16(body + 4, le);
    const minor = v.getUint16(body + 6, le);
    if (major !== PCAPNG_VERSION_MAJOR) {
      this.inSection = false;
      // The section cannot be read: skip to the next Section Header Block.
      const next = this.findSection(at + 4);
      this.offset = next < 0 ? this.bytes.length : next;
      return new CaptureError(
        'ERR_PCAPNG_BAD_SECTION',
        at,
        `Section Header Block at offset ${at} has version ${major}.${minor}; only major version 1 is readable, ` +
          (next < 0 ? 'no later section, stopped' : `skipped to the next section at offset ${next}`),
        next < 0 ? null : next,
      );
    }
    const section: MutableSection = {
      index: this.allSections.length,
      offset: at,
      littleEndian: le,
      major,
      minor,
      hardware: null,
      os: null,
      userApplication: null,
      comment: null,
    };
    const end = body + bodyLength;
    let o = body + 16;
    while (o + 4 <= end) {
      const code = v.getUint16(o, le);
      const n = v.getUint16(o + 2, le);
      if (code === PCAPNG_OPT_ENDOFOPT) break;
      if (o + 4 + n > end) {
        // Keep the section (its framing and version are sound) but report the bad option.
        this.allSections.push(section);
        this.inSection = true;
        return new CaptureError(
          'ERR_PCAPNG_BAD_OPTION',
          at,
          `Section Header Block at offset ${at}: option ${code} at offset ${o} (${n} bytes) runs past the block; ` +
            'later options ignored, reading goes on',
          this.offset,
        );
      }
      const text = (): string => decoder.decode(this.bytes.subarray(o + 4, o + 4 + n));
      if (code === PCAPNG_OPT_COMMENT) section.comment = section.comment === null ? text() : `${section.comment}\n${text()}`;
      else if (code === PCAPNG_SHB_HARDWARE) section.hardware = text();
      else if (code === PCAPNG_SHB_OS) section.os = text();
      else if (code === PCAPNG_SHB_USERAPPL) section.userApplication = text();
      o += 4 + ((n + 3) & ~3);
    }
    this.allSections.push(section);
    this.inSection = true;
    return null;
  }

  private findSection(from: number): number {
    const v = this.view;
    const len = this.bytes.length;
    for (let o = from; o + 28 <= len; o += 4) {
      if (v.getUint32(o, true) !== PCAPNG_SECTION_HEADER_BLOCK) continue;
      const magic = v.getUint32(o + 8, true);
      if (magic !== MAGIC && magic !== MAGIC_SWAPPED) continue;
      const le = magic === MAGIC;
      const total = v.getUint32(o + 4, le);
      if (total < 28 || (total & 3) !== 0 || total > len - o || v.getUint32(o + total - 4, le) !== total) continue;
      return o;
    }
    return -1;
  }

  private readInterface(at: number, body: number, bodyLength: number): CaptureError | null {
    const v = this.view;
    const le = this.le;
    const section = this.allSections.length - 1;
    const iface: MutableInterface = {
      id: this.sectionInterfaces.length,
      section,
      linkType: LINKTYPE_ETHERNET,
      snapLength: 0,
      name: null,
      description: null,
      resolution: MICROSECOND_RESOLUTION,
      offsetSeconds: 0,
    };
    if (bodyLength < 8) {
      // Keep the interface numbering right even though the block is unusable.
      this.sectionInterfaces.push(iface);
      this.allInterfaces.push(iface);
      return new CaptureError(
        'ERR_PCAPNG_BAD_BLOCK',
        at,
        `Interface Description Block at offset ${at} is too short (${bodyLength}-byte body); ` +
          `interface ${iface.id} assumed Ethernet, reading goes on`,
        this.offset,
      );
    }
    iface.linkType = v.getUint16(body, le);
    iface.snapLength = v.getUint32(body + 4, le);
    const end = body + bodyLength;
    let o = body + 8;
    let bad: string | null = null;
    while (o + 4 <= end) {
      const code = v.getUint16(o, le);
      const n = v.getUint16(o + 2, le);
      if (code === PCAPNG_OPT_ENDOFOPT) break;
      if (o + 4 + n > end) {
        bad = `option ${code} at offset ${o} (${n} bytes) runs past the block`;
        break;
      }
      const value = o + 4;
      if (code === PCAPNG_IF_NAME) iface.name = decoder.decode(this.bytes.subarray(value, value + n));
      else if (code === PCAPNG_IF_DESCRIPTION) iface.description = decoder.decode(this.bytes.subarray(value, value + n));
      else if (code === PCAPNG_IF_TSRESOL && n >= 1) iface.resolution = resolutionOf(this.bytes[value]!);
      else if (code === PCAPNG_IF_TSOFFSET && n >= 8) {
        const high = v.getInt32(le ? value + 4 : value, le);
        const low = v.getUint32(le ? value : value + 4, le);
        iface.offsetSeconds = high * 4294967296 + low;
      }
      o += 4 + ((n + 3) & ~3);
    }
    this.sectionInterfaces.push(iface);
    this.allInterfaces.push(iface);
    if (bad !== null) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_OPTION',
        at,
        `Interface Description Block at offset ${at}: ${bad}; later options ignored, reading goes on`,
        this.offset,
      );
    }
    return null;
  }

  /**
   * Parses a packet block's options from `o` to `end`: the flags word (option `flagsCode`) into
   * optFlags and the comments into optComment. Sets optError and returns false when an option
   * runs past the block.
   */
  private readPacketOptions(o: number, end: number): boolean {
    const v = this.view;
    const le = this.le;
    this.optFlags = 0;
    this.optComment = null;
    this.optError = null;
    while (o + 4 <= end) {
      const code = v.getUint16(o, le);
      const n = v.getUint16(o + 2, le);
      if (code === PCAPNG_OPT_ENDOFOPT) break;
      if (o + 4 + n > end) {
        this.optError = `option ${code} at offset ${o} (${n} bytes) runs past the block`;
        return false;
      }
      if (code === PCAPNG_EPB_FLAGS && n >= 4) this.optFlags = v.getUint32(o + 4, le);
      else if (code === PCAPNG_OPT_COMMENT) {
        const text = decoder.decode(this.bytes.subarray(o + 4, o + 4 + n));
        this.optComment = this.optComment === null ? text : `${this.optComment}\n${text}`;
      }
      o += 4 + ((n + 3) & ~3);
    }
    return true;
  }

  private unknownInterface(kind: string, at: number, id: number): CaptureError {
    return new CaptureError(
      'ERR_PCAPNG_UNKNOWN_INTERFACE',
      at,
      `${kind} at offset ${at} names interface ${id}, but its section describes ${this.sectionInterfaces.length}; ` +
        'packet skipped, reading goes on',
      this.offset,
    );
  }

  private fill(
    frame: CaptureFrame,
    blockType: number,
    at: number,
    iface: MutableInterface,
    dataOffset: number,
    captured: number,
    original: number,
  ): CaptureFrame {
    frame.blockType = blockType;
    frame.offset = at;
    frame.section = iface.section;
    frame.interfaceId = iface.id;
    frame.linkType = iface.linkType;
    frame.interfaceName = iface.name;
    frame.capturedLength = captured;
    frame.originalLength = original;
    frame.buffer = this.bytes;
    frame.dataOffset = dataOffset;
    frame.flags = this.optFlags;
    frame.comment = this.optComment;
    return frame;
  }

  private readEnhancedPacket(frame: CaptureFrame, at: number, body: number, bodyLength: number): CaptureFrame | CaptureError {
    const v = this.view;
    const le = this.le;
    if (bodyLength < 20) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_BLOCK',
        at,
        `Enhanced Packet Block at offset ${at} is too short (${bodyLength}-byte body, 20 needed); skipped, reading goes on`,
        this.offset,
      );
    }
    const id = v.getUint32(body, le);
    const captured = v.getUint32(body + 12, le);
    const original = v.getUint32(body + 16, le);
    if (captured > bodyLength - 20) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_BLOCK',
        at,
        `Enhanced Packet Block at offset ${at} claims ${captured} captured bytes but its body holds ${bodyLength - 20}; ` +
          'skipped, reading goes on',
        this.offset,
      );
    }
    const iface = this.sectionInterfaces[id];
    if (iface === undefined) return this.unknownInterface('Enhanced Packet Block', at, id);
    const data = body + 20;
    if (!this.readPacketOptions(data + ((captured + 3) & ~3), body + bodyLength)) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_OPTION',
        at,
        `Enhanced Packet Block at offset ${at}: ${this.optError ?? ''}; skipped, reading goes on`,
        this.offset,
      );
    }
    unitsToTimestamp(v.getUint32(body + 4, le), v.getUint32(body + 8, le), iface.resolution, iface.offsetSeconds, frame);
    return this.fill(frame, PCAPNG_ENHANCED_PACKET_BLOCK, at, iface, data, captured, original);
  }

  private readSimplePacket(frame: CaptureFrame, at: number, body: number, bodyLength: number): CaptureFrame | CaptureError {
    if (bodyLength < 4) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_BLOCK',
        at,
        `Simple Packet Block at offset ${at} is too short (${bodyLength}-byte body); skipped, reading goes on`,
        this.offset,
      );
    }
    const iface = this.sectionInterfaces[0];
    if (iface === undefined) return this.unknownInterface('Simple Packet Block', at, 0);
    const original = this.view.getUint32(body, this.le);
    let captured = Math.min(original, bodyLength - 4);
    if (iface.snapLength !== 0 && captured > iface.snapLength) captured = iface.snapLength;
    this.optFlags = 0;
    this.optComment = null;
    frame.timestampSeconds = 0;
    frame.timestampNanoseconds = 0;
    return this.fill(frame, PCAPNG_SIMPLE_PACKET_BLOCK, at, iface, body + 4, captured, original);
  }

  private readObsoletePacket(frame: CaptureFrame, at: number, body: number, bodyLength: number): CaptureFrame | CaptureError {
    const v = this.view;
    const le = this.le;
    if (bodyLength < 20) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_BLOCK',
        at,
        `Packet Block at offset ${at} is too short (${bodyLength}-byte body, 20 needed); skipped, reading goes on`,
        this.offset,
      );
    }
    const id = v.getUint16(body, le);
    const captured = v.getUint32(body + 12, le);
    const original = v.getUint32(body + 16, le);
    if (captured > bodyLength - 20) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_BLOCK',
        at,
        `Packet Block at offset ${at} claims ${captured} captured bytes but its body holds ${bodyLength - 20}; ` +
          'skipped, reading goes on',
        this.offset,
      );
    }
    const iface = this.sectionInterfaces[id];
    if (iface === undefined) return this.unknownInterface('Packet Block', at, id);
    const data = body + 20;
    if (!this.readPacketOptions(data + ((captured + 3) & ~3), body + bodyLength)) {
      return new CaptureError(
        'ERR_PCAPNG_BAD_OPTION',
        at,
        `Packet Block at offset ${at}: ${this.optError ?? ''}; skipped, reading goes on`,
        this.offset,
      );
    }
    unitsToTimestamp(v.getUint32(body + 4, le), v.getUint32(body + 8, le), iface.resolution, iface.offsetSeconds, frame);
    return this.fill(frame, PCAPNG_PACKET_BLOCK, at, iface, data, captured, original);
  }
}
