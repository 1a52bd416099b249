// The pcapng writer: block layout, round trips through the reader, buffering, the gather API,
// the file sink, and misuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileSink,
  LINKTYPE_RAW,
  MemorySink,
  PCAPNG_ENHANCED_PACKET_BLOCK,
  PCAPNG_EPB_FLAGS_BROADCAST,
  PCAPNG_EPB_FLAGS_INBOUND,
  PCAPNG_EPB_FLAGS_OUTBOUND,
  PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
  PCAPNG_SECTION_HEADER_BLOCK,
  PcapngReader,
  PcapngWriter,
  createPcapngFile,
  readCapture,
  readCaptureFile,
} from '../../src/pcap/index.js';
import type { CaptureFrame } from '../../src/pcap/index.js';

function frameBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 131 + i * 17) & 0xff;
  return b;
}

/** Walks the blocks of a little-endian pcapng file, checking the framing of each. */
function blocks(bytes: Uint8Array): { type: number; offset: number; length: number }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: number; offset: number; length: number }[] = [];
  let o = 0;
  while (o < bytes.length) {
    const type = v.getUint32(o, true);
    const length = v.getUint32(o + 4, true);
    assert.equal(length % 4, 0, `block at ${o}: length ${length} is a multiple of 4`);
    assert.ok(length >= 12 && o + length <= bytes.length, `block at ${o} fits the file`);
    assert.equal(v.getUint32(o + length - 4, true), length, `block at ${o}: trailing length`);
    out.push({ type, offset: o, length });
    o += length;
  }
  return out;
}

function frames(bytes: Uint8Array): CaptureFrame[] {
  const r = readCapture(bytes);
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  return r.frames;
}

void test('a file with several interfaces, directions, comments and odd lengths reads back exactly', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { hardware: 'x86_64', os: 'Linux', comment: 'section comment' });
  const eth0 = w.addInterface({ name: 'eth0', description: 'first adapter' });
  const tap1 = w.addInterface({ name: 'tap1' });
  const raw = w.addInterface({ name: 'raw', linkType: LINKTYPE_RAW, snapLength: 40 });
  const sizes = [0, 1, 2, 3, 4, 5, 59, 60, 61, 63, 1514, 1515, 9001];
  let n = 0;
  for (const size of sizes) {
    const ifc = n % 3 === 0 ? eth0 : n % 3 === 1 ? tap1 : raw;
    const flags = n % 4 === 0 ? 0 : n % 4 === 1 ? PCAPNG_EPB_FLAGS_INBOUND : n % 4 === 2 ? PCAPNG_EPB_FLAGS_OUTBOUND : PCAPNG_EPB_FLAGS_INBOUND | PCAPNG_EPB_FLAGS_BROADCAST;
    const comment = n % 5 === 0 ? null : n % 5 === 1 ? '' : n % 5 === 2 ? `frame ${n}` : n % 5 === 3 ? 'ünïcödé ✓ 𝄞' : 'x'.repeat(n);
    w.writeEnhancedPacket(ifc, 1_700_000_000 + n, (n * 111_111_111) % 1_000_000_000, frameBytes(size, n), 0, size, size + (n & 1), flags, comment);
    n++;
  }
  w.close();
  assert.equal(sink.closed, true);
  assert.equal(w.packetsWritten, sizes.length);
  const bytes = sink.bytes();
  assert.equal(w.bytesWritten, bytes.length);

  const layout = blocks(bytes);
  assert.deepEqual(
    layout.map((b) => b.type),
    [
      PCAPNG_SECTION_HEADER_BLOCK,
      PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
      PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
      PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
      ...sizes.map(() => PCAPNG_ENHANCED_PACKET_BLOCK),
    ],
  );

  const reader = new PcapngReader(bytes);
  const got = [...reader].filter((r): r is CaptureFrame => r.kind === 'frame');
  assert.equal(reader.sections[0]!.hardware, 'x86_64');
  assert.equal(reader.sections[0]!.os, 'Linux');
  assert.equal(reader.sections[0]!.comment, 'section comment');
  assert.equal(reader.sections[0]!.userApplication, 'ndis-ts');
  assert.deepEqual(
    reader.interfaces.map((i) => [i.name, i.description, i.linkType, i.snapLength, i.resolution.tsresol]),
    [
      ['eth0', 'first adapter', 1, 0, 9],
      ['tap1', null, 1, 0, 9],
      ['raw', null, LINKTYPE_RAW, 40, 9],
    ],
  );
  assert.equal(got.length, sizes.length);
  n = 0;
  for (const f of got) {
    const size = sizes[n]!;
    const ifc = n % 3;
    const captured = ifc === raw ? Math.min(size, 40) : size;
    assert.equal(f.interfaceId, ifc);
    assert.equal(f.timestampSeconds, 1_700_000_000 + n);
    assert.equal(f.timestampNanoseconds, (n * 111_111_111) % 1_000_000_000);
    assert.equal(f.capturedLength, captured, `frame ${n}`);
    assert.equal(f.originalLength, size + (n & 1));
    assert.deepEqual(f.data, frameBytes(size, n).subarray(0, captured));
    assert.equal(f.direction, n % 4 === 0 ? 0 : n % 4 === 2 ? 2 : 1);
    const comment = n % 5 === 0 ? null : n % 5 === 1 ? '' : n % 5 === 2 ? `frame ${n}` : n % 5 === 3 ? 'ünïcödé ✓ 𝄞' : 'x'.repeat(n);
    assert.equal(f.comment, comment);
    n++;
  }
});

void test('packet data is padded to 4 bytes with zeros and the EPB fields sit where the format puts them', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { bufferSize: 0 });
  w.addInterface({ name: 'p' });
  w.writeEnhancedPacket(0, 1, 2, Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd, 0xee), 0, 5, 5, PCAPNG_EPB_FLAGS_OUTBOUND, 'c');
  const bytes = sink.bytes();
  const epb = blocks(bytes)[2]!;
  const v = new DataView(bytes.buffer, bytes.byteOffset + epb.offset, epb.length);
  // 8 header + 20 fixed + 8 data (5 + 3 padding) + 8 epb_flags + 8 comment + 4 end + 4 trailer
  assert.equal(epb.length, 60);
  assert.equal(v.getUint32(8, true), 0, 'interface id');
  assert.equal(v.getUint32(12, true), 0, 'timestamp upper 32 bits');
  assert.equal(v.getUint32(16, true), 1_000_000_002, 'timestamp lower 32 bits: 1 s + 2 ns in nanoseconds');
  assert.equal(v.getUint32(20, true), 5);
  assert.equal(v.getUint32(24, true), 5);
  assert.deepEqual([...new Uint8Array(v.buffer, v.byteOffset + 28, 8)], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0, 0, 0]);
  assert.deepEqual([v.getUint16(36, true), v.getUint16(38, true), v.getUint32(40, true)], [2, 4, 2], 'epb_flags = outbound');
  assert.deepEqual([v.getUint16(44, true), v.getUint16(46, true), v.getUint8(48)], [1, 1, 0x63], 'opt_comment "c"');
  assert.deepEqual([v.getUint16(52, true), v.getUint16(54, true)], [0, 0], 'opt_endofopt');
});

void test('a packet without flags or comment has no options at all', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface();
  w.writeEnhancedPacket(0, 0, 0, new Uint8Array(8));
  w.close();
  assert.equal(blocks(sink.bytes())[2]!.length, 12 + 20 + 8);
});

void test('buffering changes how bytes reach the sink, never the bytes', () => {
  const chunks: number[] = [];
  const collect = (size: number): Uint8Array => {
    const mem = new MemorySink();
    const counting = {
      write(chunk: Uint8Array): void {
        chunks.push(chunk.length);
        mem.write(chunk);
      },
    };
    const w = new PcapngWriter(counting, { bufferSize: size });
    w.addInterface({ name: 'a' });
    for (let i = 0; i < 50; i++) w.writeEnhancedPacket(0, i, i, frameBytes(100 + i, i));
    w.close();
    return mem.bytes().slice();
  };
  chunks.length = 0;
  const perBlock = collect(0);
  assert.equal(chunks.length, 52, 'bufferSize 0: one chunk per block (SHB, IDB, 50 EPBs)');
  chunks.length = 0;
  const batched = collect(4096);
  assert.ok(chunks.length < 10 && chunks.length > 1, `bufferSize 4096: a few chunks (${chunks.length})`);
  assert.ok(chunks.every((c) => c <= 4096));
  assert.deepEqual(batched, perBlock);
  assert.equal(frames(batched).length, 50);
});

void test('flush hands over what is buffered; nothing reaches the sink before', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface();
  w.writeEnhancedPacket(0, 5, 6, frameBytes(70, 1));
  assert.equal(sink.bytes().length, 0);
  w.flush();
  assert.equal(frames(sink.bytes()).length, 1);
});

void test('the block buffer is reused, and grows only for a larger block', () => {
  const w = new PcapngWriter(new MemorySink(), { bufferSize: 0 });
  w.addInterface();
  const first = w.packetBuffer;
  for (let i = 0; i < 100; i++) w.writeEnhancedPacket(0, i, 0, frameBytes(1 + (i % 1500), i));
  assert.equal(w.packetBuffer, first, 'packets up to the buffer size reuse it');
  w.writeEnhancedPacket(0, 0, 0, new Uint8Array(first.length + 1));
  const grown = w.packetBuffer;
  assert.notEqual(grown, first);
  assert.ok(grown.length > first.length);
  w.writeEnhancedPacket(0, 0, 0, new Uint8Array(100));
  assert.equal(w.packetBuffer, grown);
});

void test('a window of a larger buffer is written as the packet', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface();
  const slab = frameBytes(4096, 9);
  w.writeEnhancedPacket(0, 1, 1, slab, 1000, 77);
  w.close();
  assert.deepEqual(frames(sink.bytes())[0]!.data, slab.subarray(1000, 1077));
});

void test('beginEnhancedPacket gathers a packet from several buffers', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface({ snapLength: 50 });
  const parts = [frameBytes(14, 1), frameBytes(20, 2), frameBytes(31, 3)];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const want = w.beginEnhancedPacket(0, 10, 20, total, total, PCAPNG_EPB_FLAGS_INBOUND, 'gathered');
  assert.equal(want, 50, 'the snap length limits the bytes to capture');
  let o = w.packetOffset;
  let left = want;
  for (const p of parts) {
    const n = Math.min(left, p.length);
    w.packetBuffer.set(p.subarray(0, n), o);
    o += n;
    left -= n;
  }
  w.commitEnhancedPacket();
  w.close();
  const f = frames(sink.bytes())[0]!;
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  assert.deepEqual(f.data, all.subarray(0, 50));
  assert.equal(f.originalLength, total);
  assert.equal(f.comment, 'gathered');
  assert.equal(f.direction, PCAPNG_EPB_FLAGS_INBOUND);
});

void test('property: random packets written and read back are the same packets', () => {
  const packet = fc.record({
    iface: fc.nat(3),
    seconds: fc.integer({ min: 0, max: 18_446_744_072 }),
    nanoseconds: fc.integer({ min: 0, max: 999_999_999 }),
    data: fc.uint8Array({ maxLength: 300 }),
    extra: fc.nat(100),
    flags: fc.integer({ min: 0, max: 0xffffffff }),
    comment: fc.option(fc.string({ maxLength: 40, unit: 'binary' }), { nil: null }),
  });
  fc.assert(
    fc.property(fc.array(packet, { maxLength: 20 }), fc.constantFrom(0, 256, 65536), (packets, bufferSize) => {
      const sink = new MemorySink(64);
      const w = new PcapngWriter(sink, { bufferSize });
      for (let i = 0; i < 4; i++) w.addInterface({ name: `if${i}` });
      for (const p of packets) {
        w.writeEnhancedPacket(p.iface, p.seconds, p.nanoseconds, p.data, 0, p.data.length, p.data.length + p.extra, p.flags, p.comment);
      }
      w.close();
      const got = frames(sink.bytes());
      assert.equal(got.length, packets.length);
      for (let i = 0; i < packets.length; i++) {
        const p = packets[i]!;
        const f = got[i]!;
        assert.equal(f.interfaceId, p.iface);
        assert.equal(f.interfaceName, `if${p.iface}`);
        assert.equal(f.timestampSeconds, p.seconds);
        assert.equal(f.timestampNanoseconds, p.nanoseconds);
        assert.equal(f.originalLength, p.data.length + p.extra);
        assert.deepEqual(f.data, p.data);
        assert.equal(f.flags, p.flags);
        // Lone surrogates are written as U+FFFD, as TextEncoder writes them.
        assert.equal(f.comment, p.comment === null ? null : new TextDecoder().decode(new TextEncoder().encode(p.comment)));
      }
    }),
    { numRuns: 200 },
  );
});

void test('misuse is a clear error', () => {
  const w = new PcapngWriter(new MemorySink());
  assert.throws(() => w.writeEnhancedPacket(0, 0, 0, new Uint8Array(1)), { name: 'RangeError', message: /addInterface/ });
  w.addInterface();
  assert.throws(() => w.writeEnhancedPacket(1, 0, 0, new Uint8Array(1)), { name: 'RangeError', message: /interface 1/ });
  assert.throws(() => w.writeEnhancedPacket(0, -1, 0, new Uint8Array(1)), { message: /seconds/ });
  assert.throws(() => w.writeEnhancedPacket(0, 1.5, 0, new Uint8Array(1)), { message: /seconds/ });
  assert.throws(() => w.writeEnhancedPacket(0, 18_446_744_073, 0, new Uint8Array(1)), { message: /seconds/ });
  assert.throws(() => w.writeEnhancedPacket(0, 0, 1e9, new Uint8Array(1)), { message: /nanoseconds/ });
  assert.throws(() => w.writeEnhancedPacket(0, 0, 0, new Uint8Array(4), 2, 3), { message: /outside/ });
  assert.throws(() => w.writeEnhancedPacket(0, 0, 0, new Uint8Array(4), 0, 4, 3), { message: /originalLength/ });
  assert.throws(() => w.writeEnhancedPacket(0, 0, 0, new Uint8Array(4), 0, 4, 4, 0, 'x'.repeat(65536)), {
    message: /65535/,
  });
  assert.throws(() => w.addInterface({ linkType: 70000 }), { message: /linkType/ });
  assert.throws(() => w.addInterface({ snapLength: -1 }), { message: /snapLength/ });
  assert.throws(() => new PcapngWriter({} as never), { name: 'TypeError' });
  assert.throws(() => new PcapngWriter(new MemorySink(), { bufferSize: -1 }), { name: 'RangeError' });
  w.beginEnhancedPacket(0, 0, 0, 4);
  assert.throws(() => w.writeEnhancedPacket(0, 0, 0, new Uint8Array(4)), { message: /not committed/ });
  w.commitEnhancedPacket();
  assert.throws(() => w.commitEnhancedPacket(), { message: /without beginEnhancedPacket/ });
  w.close();
  w.close();
  assert.throws(() => w.writeEnhancedPacket(0, 0, 0, new Uint8Array(1)), { message: /closed/ });
  assert.throws(() => w.addInterface(), { message: /closed/ });
});

void test('close drops a begun, uncommitted packet and leaves a readable file', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface();
  w.writeEnhancedPacket(0, 1, 0, frameBytes(10, 1));
  w.beginEnhancedPacket(0, 2, 0, 10);
  w.close();
  assert.equal(frames(sink.bytes()).length, 1);
});

void test('file sink: the file grows as the writer flushes, and close completes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-ts-pcap-'));
  try {
    const file = join(dir, 'a.pcapng');
    const w = createPcapngFile(file, { bufferSize: 0 });
    w.addInterface({ name: 'eth0' });
    w.writeEnhancedPacket(0, 100, 200, frameBytes(64, 1), 0, 64, 64, PCAPNG_EPB_FLAGS_INBOUND);
    // With bufferSize 0 each block is in the file as soon as it is written.
    assert.equal(readCaptureFile(file).frames.length, 1);
    w.writeEnhancedPacket(0, 101, 0, frameBytes(65, 2));
    w.close();
    const r = readCaptureFile(file);
    assert.equal(r.frames.length, 2);
    assert.equal(r.frames[1]!.capturedLength, 65);
    assert.equal(readFileSync(file).length % 4, 0);

    // Append mode adds a second section to the same file.
    const sink = new FileSink(file, { append: true, sync: true });
    const w2 = new PcapngWriter(sink);
    w2.addInterface({ name: 'second' });
    w2.writeEnhancedPacket(0, 102, 0, frameBytes(66, 3));
    w2.close();
    const both = readCaptureFile(file);
    assert.deepEqual(
      both.frames.map((f) => [f.section, f.interfaceName]),
      [
        [0, 'eth0'],
        [0, 'eth0'],
        [1, 'second'],
      ],
    );
    assert.throws(() => sink.write(new Uint8Array(1)), { message: /closed/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('comments are UTF-8; a lone surrogate becomes U+FFFD as TextEncoder makes it', () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface({ name: 'ïf \ud83d' });
  w.writeEnhancedPacket(0, 0, 0, new Uint8Array(1), 0, 1, 1, 0, 'a\ud800b\udc00c😀');
  w.close();
  const r = new PcapngReader(sink.bytes());
  const f = r.next();
  assert.ok(f !== null && f.kind === 'frame');
  assert.equal(f.comment, 'a\ufffdb\ufffdc😀');
  assert.equal(r.interfaces[0]!.name, 'ïf \ufffd');
});
