/**
 * What the capture file readers return: frames (one per Enhanced, Simple or obsolete Packet Block
 * of a pcapng file, or per record of a classic pcap file), error records for damaged parts of a
 * file, and the interfaces frames were captured on.
 */
import { PCAPNG_EPB_FLAGS_DIRECTION_MASK } from './constants.js';
import type { TimestampResolution } from './time.js';
import { timestampToBigInt } from './time.js';

/** The record kind of a classic pcap packet (not a pcapng block type). */
export const PCAP_RECORD = 0;

/** One captured frame. Its data is a view into the file's bytes, never a copy. */
export class CaptureFrame {
  /** Discriminates frames from `CaptureError` records. */
  readonly kind: 'frame';
  /**
   * Where the frame came from: PCAPNG_ENHANCED_PACKET_BLOCK, PCAPNG_SIMPLE_PACKET_BLOCK,
   * PCAPNG_PACKET_BLOCK, or PCAP_RECORD for a classic pcap record.
   */
  blockType: number;
  /** Byte offset of the block or record in the file. */
  offset: number;
  /** Index of the section (pcapng Section Header Block) the frame belongs to; 0 for classic pcap. */
  section: number;
  /** Interface ID within the section (always 0 for classic pcap and Simple Packet Blocks). */
  interfaceId: number;
  /** The interface's link type (LINKTYPE_*). */
  linkType: number;
  /** The interface's if_name, or null. */
  interfaceName: string | null;
  /** Whole seconds since 1970-01-01 UTC (0 for a Simple Packet Block, which has no timestamp). */
  timestampSeconds: number;
  /** Nanoseconds within the second, 0 to 999,999,999. */
  timestampNanoseconds: number;
  /** Bytes captured (the length of `data`). */
  capturedLength: number;
  /** Length of the packet on the wire (at least `capturedLength` in a well-formed file). */
  originalLength: number;
  /** The file bytes the frame's data lives in. */
  buffer: Uint8Array;
  /** Offset of the frame's first byte in `buffer`. */
  dataOffset: number;
  /** The epb_flags (or pack_flags) word; 0 when absent. */
  flags: number;
  /** The opt_comment text (several comments joined by a newline), or null. */
  comment: string | null;

  constructor() {
    this.kind = 'frame';
    this.blockType = 0;
    this.offset = 0;
    this.section = 0;
    this.interfaceId = 0;
    this.linkType = 0;
    this.interfaceName = null;
    this.timestampSeconds = 0;
    this.timestampNanoseconds = 0;
    this.capturedLength = 0;
    this.originalLength = 0;
    this.buffer = EMPTY;
    this.dataOffset = 0;
    this.flags = 0;
    this.comment = null;
  }

  /** The captured bytes: a view into the file buffer (creating the view allocates a small object). */
  get data(): Uint8Array {
    return this.buffer.subarray(this.dataOffset, this.dataOffset + this.capturedLength);
  }

  /** The direction bits of the flags: PCAPNG_EPB_FLAGS_INBOUND, _OUTBOUND, or 0 when unknown. */
  get direction(): number {
    return this.flags & PCAPNG_EPB_FLAGS_DIRECTION_MASK;
  }

  /** The timestamp as one nanosecond count since the epoch (allocates a bigint). */
  timestampNs(): bigint {
    return timestampToBigInt(this.timestampSeconds, this.timestampNanoseconds);
  }

  /** Copies every field of `other` into this frame (the data stays a view of the same buffer). */
  copyFrom(other: CaptureFrame): this {
    this.blockType = other.blockType;
    this.offset = other.offset;
    this.section = other.section;
    this.interfaceId = other.interfaceId;
    this.linkType = other.linkType;
    this.interfaceName = other.interfaceName;
    this.timestampSeconds = other.timestampSeconds;
    this.timestampNanoseconds = other.timestampNanoseconds;
    this.capturedLength = other.capturedLength;
    this.originalLength = other.originalLength;
    this.buffer = other.buffer;
    this.dataOffset = other.dataOffset;
    this.flags = other.flags;
    this.comment = other.comment;
    return this;
  }
}

const EMPTY = new Uint8Array(0);

/** Stable codes of capture file errors. */
export type CaptureErrorCode =
  /** The file starts with neither a pcap magic number nor a pcapng Section Header Block. */
  | 'ERR_CAPTURE_UNKNOWN_FORMAT'
  /** The file ends inside a header, block or record. */
  | 'ERR_CAPTURE_TRUNCATED'
  /** A classic pcap file header is unusable (version). */
  | 'ERR_PCAP_BAD_HEADER'
  /** A classic pcap record header is implausible (length, timestamp fraction). */
  | 'ERR_PCAP_BAD_RECORD'
  /** A pcapng block's total length is invalid, or its trailing copy differs. */
  | 'ERR_PCAPNG_BAD_BLOCK_LENGTH'
  /** A Section Header Block has an unknown byte-order magic or an unsupported major version. */
  | 'ERR_PCAPNG_BAD_SECTION'
  /** A block's body is too short for its fixed fields or its contents overrun it. */
  | 'ERR_PCAPNG_BAD_BLOCK'
  /** An option list runs past the end of its block. */
  | 'ERR_PCAPNG_BAD_OPTION'
  /** A packet names an interface the section has not described. */
  | 'ERR_PCAPNG_UNKNOWN_INTERFACE';

/**
 * A damaged part of a capture file: what is wrong, where, and where reading went on. Readers
 * return these in line with frames instead of throwing.
 */
export class CaptureError {
  /** Discriminates error records from frames. */
  readonly kind: 'error';
  /** What kind of damage. */
  readonly code: CaptureErrorCode;
  /** Byte offset of the damaged block, record or header. */
  readonly offset: number;
  /** A sentence saying what is wrong, at which offset, and what the reader did about it. */
  readonly message: string;
  /** Offset where reading resumed, or null when it stopped. */
  readonly resumeOffset: number | null;

  constructor(code: CaptureErrorCode, offset: number, message: string, resumeOffset: number | null) {
    this.kind = 'error';
    this.code = code;
    this.offset = offset;
    this.message = message;
    this.resumeOffset = resumeOffset;
  }
}

/** A capture interface: a pcapng Interface Description Block, or the header of a classic pcap file. */
export interface CaptureInterface {
  /** Interface ID within its section. */
  readonly id: number;
  /** Index of its section. */
  readonly section: number;
  /** Link type (LINKTYPE_*). */
  readonly linkType: number;
  /** Maximum bytes captured per packet; 0 means no limit. */
  readonly snapLength: number;
  /** if_name, or null. */
  readonly name: string | null;
  /** if_description, or null. */
  readonly description: string | null;
  /** Timestamp resolution (if_tsresol; 6 when absent). */
  readonly resolution: TimestampResolution;
  /** if_tsoffset in seconds (0 when absent). */
  readonly offsetSeconds: number;
}

/** A reader of one capture file held in memory. */
export interface CaptureReader extends Iterable<CaptureFrame | CaptureError> {
  /** The file format. */
  readonly format: 'pcap' | 'pcapng';
  /** Interfaces seen so far (for pcapng, those of every section read so far). */
  readonly interfaces: readonly CaptureInterface[];
  /**
   * Reads the next record: fills `frame` (or the reader's own frame when omitted) and returns it,
   * returns a `CaptureError` for a damaged part, or null at the end. Never throws on file contents.
   * The returned frame is overwritten by the next call; `copyFrom` keeps one.
   */
  next(frame?: CaptureFrame): CaptureFrame | CaptureError | null;
}
