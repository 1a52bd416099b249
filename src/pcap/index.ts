/**
 * Capture files: a streaming pcapng writer, pcapng and classic pcap readers, and reading and
 * writing them on disk. The format code is pure (bytes in, bytes out); only file.ts touches the
 * file system.
 */
export * from './constants.js';
export {
  MAX_TIMESTAMP_SECONDS,
  MICROSECOND_RESOLUTION,
  NANOSECOND_RESOLUTION,
  TimestampResolution,
  Uint64Halves,
  nanosecondsToHalves,
  timestampFromBigInt,
  timestampToBigInt,
  unitsToTimestamp,
} from './time.js';
export type { TimestampTarget } from './time.js';
export { CaptureError, CaptureFrame, PCAP_RECORD } from './frame.js';
export type { CaptureErrorCode, CaptureInterface, CaptureReader } from './frame.js';
export { MemorySink, PcapngWriter } from './pcapng-writer.js';
export type { CaptureSink, PcapngInterfaceOptions, PcapngWriterOptions } from './pcapng-writer.js';
export { PcapngReader } from './pcapng-reader.js';
export type { PcapngSection } from './pcapng-reader.js';
export { PcapReader } from './pcap-reader.js';
export type { PcapHeader } from './pcap-reader.js';
export { openCapture, readCapture } from './open.js';
export type { CaptureContents } from './open.js';
export { FileSink, createPcapngFile, openCaptureFile, readCaptureFile } from './file.js';
export type { FileSinkOptions } from './file.js';
