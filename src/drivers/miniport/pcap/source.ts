/**
 * The frames a pcap adapter replays: a capture file (classic pcap or pcapng, read with src/pcap)
 * reduced to a table of Ethernet frames — where each lies in the file's bytes, its length and its
 * time relative to the first — so that replay walks arrays and allocates nothing.
 */
import { CaptureFrame, LINKTYPE_ETHERNET, openCapture, openCaptureFile } from '../../../pcap/index.js';

/** What loading a capture found besides the frames it kept. */
export class ReplaySourceCounters {
  /** Records read from the file. */
  records = 0;
  /** Frames of a link type other than Ethernet (skipped). */
  otherLinkType = 0;
  /** Frames captured shorter than on the wire (truncated by a snap length; replayed as captured). */
  truncated = 0;
  /** Damaged parts of the file the reader reported (and stepped over where it could). */
  fileErrors = 0;
  /** Frames of interfaces not selected. */
  otherInterface = 0;
}

/** The Ethernet frames of a capture, in file order. */
export class ReplaySource {
  /** The file's bytes (frames are views into it). */
  readonly bytes: Uint8Array;
  /** Number of frames. */
  readonly count: number;
  /** Offset of frame i in {@link bytes}. */
  readonly offsets: Float64Array;
  /** Captured length of frame i. */
  readonly lengths: Uint32Array;
  /** Nanoseconds from the first frame's timestamp to frame i's (never negative: out-of-order times clamp). */
  readonly times: Float64Array;
  readonly counters: ReplaySourceCounters;
  /** The first damaged part's message, if any. */
  readonly firstError: string | null;

  private constructor(bytes: Uint8Array, offsets: number[], lengths: number[], times: number[], counters: ReplaySourceCounters, firstError: string | null) {
    this.bytes = bytes;
    this.count = offsets.length;
    this.offsets = Float64Array.from(offsets);
    this.lengths = Uint32Array.from(lengths);
    this.times = Float64Array.from(times);
    this.counters = counters;
    this.firstError = firstError;
  }

  /**
   * Reads a capture held in memory. `interfaceFilter` selects pcapng interfaces by ID or name
   * (default: every Ethernet interface).
   */
  static fromBytes(bytes: Uint8Array, interfaceFilter: number | string | null = null): ReplaySource {
    return ReplaySource.load(openCapture(bytes), bytes, interfaceFilter);
  }

  /** Reads a capture file. */
  static fromFile(path: string, interfaceFilter: number | string | null = null): ReplaySource {
    const reader = openCaptureFile(path);
    return ReplaySource.load(reader, reader.bytes, interfaceFilter);
  }

  private static load(reader: ReturnType<typeof openCapture>, bytes: Uint8Array, interfaceFilter: number | string | null): ReplaySource {
    const counters = new ReplaySourceCounters();
    const offsets: number[] = [];
    const lengths: number[] = [];
    const times: number[] = [];
    let firstError: string | null = null;
    let t0Seconds = -1;
    let t0Nanoseconds = 0;
    let last = 0;
    const frame = new CaptureFrame();
    for (;;) {
      const r = reader.next(frame);
      if (r === null) break;
      if (r.kind === 'error') {
        counters.fileErrors++;
        if (firstError === null) firstError = r.message;
        continue;
      }
      counters.records++;
      if (r.linkType !== LINKTYPE_ETHERNET) {
        counters.otherLinkType++;
        continue;
      }
      if (interfaceFilter !== null && (typeof interfaceFilter === 'number' ? r.interfaceId !== interfaceFilter : r.interfaceName !== interfaceFilter)) {
        counters.otherInterface++;
        continue;
      }
      if (r.capturedLength < r.originalLength) counters.truncated++;
      if (t0Seconds < 0) {
        t0Seconds = r.timestampSeconds;
        t0Nanoseconds = r.timestampNanoseconds;
      }
      const t = Math.max(last, (r.timestampSeconds - t0Seconds) * 1e9 + (r.timestampNanoseconds - t0Nanoseconds));
      last = t;
      offsets.push(r.dataOffset);
      lengths.push(r.capturedLength);
      times.push(t);
    }
    return new ReplaySource(bytes, offsets, lengths, times, counters, firstError);
  }
}
