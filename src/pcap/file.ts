/**
 * Capture files on disk: a synchronous file sink for the pcapng writer, and whole-file reading.
 * The only part of src/pcap that touches the file system.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { CaptureSink, PcapngWriterOptions } from './pcapng-writer.js';
import { PcapngWriter } from './pcapng-writer.js';
import type { CaptureContents } from './open.js';
import { openCapture, readCapture } from './open.js';
import type { PcapReader } from './pcap-reader.js';
import type { PcapngReader } from './pcapng-reader.js';

/** Options of a file sink. */
export interface FileSinkOptions {
  /** Append to an existing file instead of replacing it (default false). */
  append?: boolean;
  /** fsync the file before closing it (default false). */
  sync?: boolean;
}

/**
 * A sink that writes each chunk to a file at once with a synchronous write: what the writer
 * hands over is in the file (the kernel's page cache) when `write` returns, so a capture can be
 * followed while it grows. `close` closes the file (after an fsync when asked).
 */
export class FileSink implements CaptureSink {
  /** The file's path. */
  readonly path: string;
  private fd: number;
  private readonly sync: boolean;

  constructor(path: string, options: FileSinkOptions = {}) {
    this.path = path;
    this.fd = openSync(path, options.append === true ? 'a' : 'w');
    this.sync = options.sync === true;
  }

  write(chunk: Uint8Array): void {
    if (this.fd < 0) throw new Error(`capture file ${this.path} is closed`);
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      if (this.sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Creates (or replaces) a pcapng file and returns a writer for it; `close()` the writer to finish it. */
export function createPcapngFile(path: string, options: PcapngWriterOptions & FileSinkOptions = {}): PcapngWriter {
  const sink = new FileSink(path, options);
  try {
    return new PcapngWriter(sink, options);
  } catch (err) {
    sink.close();
    throw err;
  }
}

/** Reads a capture file (pcap or pcapng) into memory and returns its reader. */
export function openCaptureFile(path: string): PcapReader | PcapngReader {
  const data = readFileSync(path);
  return openCapture(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Reads a whole capture file: frames and error records. */
export function readCaptureFile(path: string): CaptureContents {
  const data = readFileSync(path);
  return readCapture(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
