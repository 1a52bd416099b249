/**
 * Opening a capture file held in memory: the format is recognised from its first four bytes (a
 * pcapng Section Header Block, or a classic pcap magic number in either byte order).
 */
import { PCAPNG_SECTION_HEADER_BLOCK } from './constants.js';
import type { CaptureError, CaptureFrame, CaptureReader } from './frame.js';
import { PcapReader } from './pcap-reader.js';
import { PcapngReader } from './pcapng-reader.js';

/**
 * A reader for `bytes`, pcapng or classic pcap by its magic number. Anything else gives a
 * PcapReader whose first record is an ERR_CAPTURE_UNKNOWN_FORMAT error: opening never throws.
 */
export function openCapture(bytes: Uint8Array): PcapReader | PcapngReader {
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === PCAPNG_SECTION_HEADER_BLOCK) {
    return new PcapngReader(bytes);
  }
  return new PcapReader(bytes);
}

/** Everything in a capture: its frames (each its own object) and its error records, in file order. */
export interface CaptureContents {
  readonly format: 'pcap' | 'pcapng';
  readonly frames: CaptureFrame[];
  readonly errors: CaptureError[];
  /** Frames and errors interleaved as they occur. */
  readonly records: (CaptureFrame | CaptureError)[];
  readonly reader: CaptureReader;
}

/** Reads a whole capture held in memory (allocates a frame per packet; for tools and tests). */
export function readCapture(bytes: Uint8Array): CaptureContents {
  const reader = openCapture(bytes);
  const frames: CaptureFrame[] = [];
  const errors: CaptureError[] = [];
  const records: (CaptureFrame | CaptureError)[] = [];
  for (const r of reader) {
    records.push(r);
    if (r.kind === 'frame') frames.push(r);
    else errors.push(r);
  }
  return { format: reader.format, frames, errors, records, reader };
}
