/**
 * A classic pcap reader (libpcap's savefile format, draft-ietf-opsawg-pcap) over a file held in
 * memory: both byte orders, microsecond (TCPDUMP_MAGIC) and nanosecond (NSEC_TCPDUMP_MAGIC)
 * timestamps. A pcap file has no framing beyond each record's length, so damage that makes a
 * length untrustworthy stops reading with an error record; a record whose length is sound but
 * whose timestamp is not is reported and skipped.
 */
import { NSEC_TCPDUMP_MAGIC, PCAP_VERSION_MAJOR, TCPDUMP_MAGIC } from './constants.js';
import type { CaptureInterface, CaptureReader } from './frame.js';
import { CaptureError, CaptureFrame, PCAP_RECORD } from './frame.js';
import { MICROSECOND_RESOLUTION, NANOSECOND_RESOLUTION } from './time.js';

const swap32 = (x: number): number =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/** The largest record libpcap accepts regardless of the snap length (its MAXIMUM_SNAPLEN). */
const MAXIMUM_SNAPLEN = 262144;

/** The file header of a classic pcap file. */
export interface PcapHeader {
  /** Byte order of the file. */
  readonly littleEndian: boolean;
  /** True for NSEC_TCPDUMP_MAGIC (nanosecond timestamps). */
  readonly nanoseconds: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** SnapLen. */
  readonly snapLength: number;
  /** The LinkType field's link type (its low 16 bits). */
  readonly linkType: number;
  /** The whole LinkType field, with its FCS bits. */
  readonly linkTypeField: number;
}

/** Reads the records of a classic pcap file held in `bytes` (frames' data are views into `bytes`). */
export class PcapReader implements CaptureReader, Iterable<CaptureFrame | CaptureError> {
  readonly format = 'pcap' as const;
  /** The file. */
  readonly bytes: Uint8Array;
  /** The file header, or null when the file has none (then the first record is an error). */
  readonly header: PcapHeader | null;
  readonly interfaces: readonly CaptureInterface[];
  private readonly view: DataView;
  private readonly le: boolean;
  private readonly nsec: boolean;
  private readonly maxRecord: number;
  private readonly linkType: number;
  private offset: number;
  private headerError: CaptureError | null;
  private readonly own: CaptureFrame;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 24;
    this.own = new CaptureFrame();
    this.headerError = null;
    this.header = null;
    this.interfaces = [];
    this.le = true;
    this.nsec = false;
    this.maxRecord = MAXIMUM_SNAPLEN;
    this.linkType = 0;
    if (bytes.length < 4) {
      this.headerError = new CaptureError(
        'ERR_CAPTURE_UNKNOWN_FORMAT',
        0,
        `not a capture file: ${bytes.length} bytes are too few for a magic number`,
        null,
      );
      return;
    }
    const magic = this.view.getUint32(0, true);
    if (magic === TCPDUMP_MAGIC || magic === NSEC_TCPDUMP_MAGIC) this.le = true;
    else if (swap32(magic) === TCPDUMP_MAGIC || swap32(magic) === NSEC_TCPDUMP_MAGIC) this.le = false;
    else {
      this.headerError = new CaptureError(
        'ERR_CAPTURE_UNKNOWN_FORMAT',
        0,
        `not a pcap or pcapng file: magic number 0x${magic.toString(16).padStart(8, '0')} (read little-endian) ` +
          'is none of 0xa1b2c3d4, 0xa1b23c4d, their byte swaps, or a pcapng Section Header Block',
        null,
      );
      return;
    }
    this.nsec = (this.le ? magic : swap32(magic)) === NSEC_TCPDUMP_MAGIC;
    if (bytes.length < 24) {
      this.headerError = new CaptureError(
        'ERR_CAPTURE_TRUNCATED',
        0,
        `pcap: the file ends inside its 24-byte header (${bytes.length} bytes)`,
        null,
      );
      return;
    }
    const v = this.view;
    const le = this.le;
    const versionMajor = v.getUint16(4, le);
    const versionMinor = v.getUint16(6, le);
    const snapLength = v.getUint32(16, le);
    const linkTypeField = v.getUint32(20, le);
    this.linkType = linkTypeField & 0xffff;
    this.maxRecord = Math.max(snapLength, MAXIMUM_SNAPLEN);
    this.header = {
      littleEndian: le,
      nanoseconds: this.nsec,
      versionMajor,
      versionMinor,
      snapLength,
      linkType: this.linkType,
      linkTypeField,
    };
    this.interfaces = [
      {
        id: 0,
        section: 0,
        linkType: this.linkType,
        snapLength,
        name: null,
        description: null,
        resolution: this.nsec ? NANOSECOND_RESOLUTION : MICROSECOND_RESOLUTION,
        offsetSeconds: 0,
      },
    ];
    if (versionMajor !== PCAP_VERSION_MAJOR) {
      this.headerError = new CaptureError(
        'ERR_PCAP_BAD_HEADER',
        0,
        `pcap: version ${versionMajor}.${versionMinor} is not readable (major version 2 expected)`,
        null,
      );
    }
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
    if (this.headerError !== null) {
      const e = this.headerError;
      this.headerError = null;
      this.offset = len;
      return e;
    }
    const v = this.view;
    const le = this.le;
    const at = this.offset;
    if (at >= len) return null;
    if (len - at < 16) {
      this.offset = len;
      return new CaptureError(
        'ERR_CAPTURE_TRUNCATED',
        at,
        `pcap: the file ends inside the record header at offset ${at} (${len - at} of 16 bytes); stopped`,
        null,
      );
    }
    const seconds = v.getUint32(at, le);
    const fraction = v.getUint32(at + 4, le);
    const captured = v.getUint32(at + 8, le);
    const original = v.getUint32(at + 12, le);
    if (captured > this.maxRecord) {
      this.offset = len;
      return new CaptureError(
        'ERR_PCAP_BAD_RECORD',
        at,
        `pcap: record at offset ${at} claims ${captured} captured bytes, more than the snap length allows ` +
          `(${this.maxRecord}); the file is damaged here, stopped`,
        null,
      );
    }
    if (captured > len - at - 16) {
      this.offset = len;
      return new CaptureError(
        'ERR_CAPTURE_TRUNCATED',
        at,
        `pcap: record at offset ${at} claims ${captured} captured bytes but the file ends after ${len - at - 16}; stopped`,
        null,
      );
    }
    this.offset = at + 16 + captured;
    if (fraction >= (this.nsec ? 1_000_000_000 : 1_000_000)) {
      return new CaptureError(
        'ERR_PCAP_BAD_RECORD',
        at,
        `pcap: record at offset ${at} has a sub-second timestamp of ${fraction} ${this.nsec ? 'ns' : 'µs'}, ` +
          'out of range; skipped, reading goes on',
        this.offset,
      );
    }
    frame.blockType = PCAP_RECORD;
    frame.offset = at;
    frame.section = 0;
    frame.interfaceId = 0;
    frame.linkType = this.linkType;
    frame.interfaceName = null;
    frame.timestampSeconds = seconds;
    frame.timestampNanoseconds = this.nsec ? fraction : fraction * 1000;
    frame.capturedLength = captured;
    frame.originalLength = original;
    frame.buffer = this.bytes;
    frame.dataOffset = at + 16;
    frame.flags = 0;
    frame.comment = null;
    return frame;
  }
}
