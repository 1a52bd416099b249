// The pcap and pcapng readers on damaged input: clear error records with offsets, resynchronisation
// where the format allows it, and never an exception or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CaptureFrame,
  MemorySink,
  NSEC_TCPDUMP_MAGIC,
  PCAPNG_EPB_FLAGS_INBOUND,
  PcapReader,
  PcapngReader,
  PcapngWriter,
  TCPDUMP_MAGIC,
  openCapture,
  readCapture,
} from '../../src/pcap/index.js';
import type { CaptureError, CaptureReader } from '../../src/pcap/index.js';

/** A valid pcapng file: 2 interfaces, `count` packets of varying length, comments and flags. */
function sampleFile(count = 6): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface({ name: 'a' });
  w.addInterface({ name: 'b' });
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(20 + i * 7).fill(i + 1);
    w.writeEnhancedPacket(i & 1, 1000 + i, i, data, 0, data.length, data.length, i % 3 === 0 ? PCAPNG_EPB_FLAGS_INBOUND : 0, i % 2 === 0 ? `c${i}` : null);
  }
  w.close();
  return sink.bytes().slice();
}

/** Offsets of the blocks of a little-endian pcapng file. */
function blockOffsets(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let o = 0; o < bytes.length; o += v.getUint32(o + 4, true)) out.push(o);
  return out;
}

/** Reads every record, asserting that each call makes progress and nothing throws. */
function drain(reader: CaptureReader, limit: number): (CaptureFrame | CaptureError)[] {
  const out: (CaptureFrame | CaptureError)[] = [];
  const frame = new CaptureFrame();
  for (let i = 0; i <= limit; i++) {
    const r = reader.next(frame);
    if (r === null) return out;
    out.push(r.kind === 'frame' ? new CaptureFrame().copyFrom(r) : r);
  }
  assert.fail(`reader produced more than ${limit} records: it is not making progress`);
}

/** A classic pcap file of the given byte order and resolution. */
function pcapFile(le: boolean, nsec: boolean, records: { s: number; f: number; data: Uint8Array; orig: number }[]): Uint8Array {
  const size = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, nsec ? NSEC_TCPDUMP_MAGIC : TCPDUMP_MAGIC, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 65535, le);
  v.setUint32(20, 1, le);
  let o = 24;
  for (const r of records) {
    v.setUint32(o, r.s, le);
    v.setUint32(o + 4, r.f, le);
    v.setUint32(o + 8, r.data.length, le);
    v.setUint32(o + 12, r.orig, le);
    out.set(r.data, o + 16);
    o += 16 + r.data.length;
  }
  return out;
}

void test('a broken block length is reported at its offset and reading resumes at the next block', () => {
  const bytes = sampleFile();
  const offsets = blockOffsets(bytes); // SHB, IDB, IDB, EPB x6
  const bad = offsets[5]!; // the third packet
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint32(bad + 4, v.getUint32(bad + 4, true) + 4, true); // trailing copy no longer matches
  const r = readCapture(bytes);
  assert.equal(r.errors.length, 1);
  const e = r.errors[0]!;
  assert.equal(e.code, 'ERR_PCAPNG_BAD_BLOCK_LENGTH');
  assert.equal(e.offset, bad);
  assert.equal(e.resumeOffset, offsets[6]);
  assert.match(e.message, new RegExp(`offset ${bad}.*trailing copy.*resumed at .*offset ${offsets[6]}`));
  assert.deepEqual(
    r.frames.map((f) => f.timestampSeconds),
    [1000, 1001, 1003, 1004, 1005],
  );
  assert.equal(r.records[2], e, 'the error comes in file order');
});

void test('a length that is not a multiple of 4, or below 12, is a framing error', () => {
  for (const length of [13, 8, 0]) {
    const bytes = sampleFile(3);
    const at = blockOffsets(bytes)[4]!;
    new DataView(bytes.buffer).setUint32(at + 4, length, true);
    const r = readCapture(bytes);
    assert.equal(r.errors[0]?.code, 'ERR_PCAPNG_BAD_BLOCK_LENGTH', `length ${length}`);
    assert.match(r.errors[0]!.message, length < 12 ? /less than the 12-byte minimum/ : /not a multiple of 4/);
    assert.equal(r.frames.length, 2, 'the damaged packet alone is lost');
  }
});

void test('a truncated file ends with a truncation error after every complete packet', () => {
  const bytes = sampleFile();
  const last = blockOffsets(bytes).at(-1)!;
  const r = readCapture(bytes.subarray(0, last + 30));
  assert.equal(r.frames.length, 5);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.code, 'ERR_CAPTURE_TRUNCATED');
  assert.equal(r.errors[0]!.offset, last);
  assert.equal(r.errors[0]!.resumeOffset, null);
  const r2 = readCapture(bytes.subarray(0, last + 5));
  assert.match(r2.errors[0]!.message, /ends inside a block header/);
});

void test('damage inside a well-framed block skips that block only', () => {
  const bytes = sampleFile();
  const offsets = blockOffsets(bytes);
  const v = new DataView(bytes.buffer);
  v.setUint32(offsets[3]! + 8, 7, true); // interface 7 does not exist
  v.setUint32(offsets[4]! + 20, 5000, true); // captured length larger than the block
  const r = readCapture(bytes);
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.offset, e.resumeOffset]),
    [
      ['ERR_PCAPNG_UNKNOWN_INTERFACE', offsets[3], offsets[4]],
      ['ERR_PCAPNG_BAD_BLOCK', offsets[4], offsets[5]],
    ],
  );
  assert.match(r.errors[0]!.message, /interface 7, but its section describes 2/);
  assert.match(r.errors[1]!.message, /claims 5000 captured bytes/);
  assert.equal(r.frames.length, 4);
});

void test('an option running past its block is reported and the packet skipped', () => {
  const bytes = sampleFile(1);
  const at = blockOffsets(bytes)[3]!;
  const v = new DataView(bytes.buffer);
  // Packet 0: 20 data bytes at body+20, then epb_flags (8 bytes), then the comment option.
  const comment = at + 8 + 20 + 20 + 8;
  assert.equal(v.getUint16(comment, true), 1, 'found the comment option');
  v.setUint16(comment + 2, 200, true);
  const r = readCapture(bytes);
  assert.equal(r.errors[0]!.code, 'ERR_PCAPNG_BAD_OPTION');
  assert.match(r.errors[0]!.message, /option 1 at offset \d+ \(200 bytes\) runs past the block/);
  assert.equal(r.frames.length, 0);
});

void test('garbage between blocks is stepped over', () => {
  const good = sampleFile(4);
  const offsets = blockOffsets(good);
  const cut = offsets[4]!;
  const junk = new Uint8Array(40).fill(0xee);
  const bytes = new Uint8Array(good.length + junk.length);
  bytes.set(good.subarray(0, cut));
  bytes.set(junk, cut);
  bytes.set(good.subarray(cut), cut + junk.length);
  const r = readCapture(bytes);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.offset, cut);
  assert.equal(r.errors[0]!.resumeOffset, cut + junk.length);
  assert.equal(r.frames.length, 4, 'no packet lost');
});

void test('section damage: bad byte-order magic, unreadable version, file not starting with a section', () => {
  const one = sampleFile(2);
  const two = new Uint8Array(one.length * 2);
  two.set(one);
  two.set(one, one.length);
  const bad = two.slice();
  new DataView(bad.buffer).setUint32(8, 0x11223344, true);
  const r = readCapture(bad);
  assert.equal(r.errors[0]!.code, 'ERR_PCAPNG_BAD_SECTION');
  assert.match(r.errors[0]!.message, /byte-order magic 0x11223344/);
  assert.equal(r.errors[0]!.resumeOffset, one.length, 'skips to the next section header');
  assert.equal(r.frames.length, 2);
  assert.equal(r.frames[0]!.section, 0, 'the bad section is not counted');

  const v2 = two.slice();
  new DataView(v2.buffer).setUint16(12, 2, true); // major version 2
  const r2 = readCapture(v2);
  assert.equal(r2.errors[0]!.code, 'ERR_PCAPNG_BAD_SECTION');
  assert.match(r2.errors[0]!.message, /version 2\.0; only major version 1 is readable, skipped to the next section at offset/);
  assert.equal(r2.frames.length, 2);

  const headless = new PcapngReader(one.subarray(blockOffsets(one)[1]!));
  const recs = drain(headless, 10);
  assert.equal(recs[0]!.kind, 'error');
  assert.match((recs[0] as CaptureError).message, /does not start with a Section Header Block/);
  assert.equal(recs.filter((x) => x.kind === 'frame').length, 0, 'without a section there is no byte order to read by');
});

void test('classic pcap: both byte orders and resolutions round-trip', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.boolean(),
      fc.array(fc.record({ s: fc.nat(0xffffffff), frac: fc.nat(999_999_999), data: fc.uint8Array({ maxLength: 200 }), extra: fc.nat(50) }), {
        maxLength: 15,
      }),
      (le, nsec, recs) => {
        const records = recs.map((r) => ({ s: r.s, f: nsec ? r.frac : r.frac % 1_000_000, data: r.data, orig: r.data.length + r.extra }));
        const bytes = pcapFile(le, nsec, records);
        const reader = openCapture(bytes);
        assert.ok(reader instanceof PcapReader);
        assert.equal(reader.header?.littleEndian, le);
        const got = drain(reader, 100);
        assert.equal(got.length, records.length);
        got.forEach((f, i) => {
          assert.ok(f.kind === 'frame');
          const r = records[i]!;
          assert.equal(f.timestampSeconds, r.s);
          assert.equal(f.timestampNanoseconds, nsec ? r.f : r.f * 1000);
          assert.deepEqual(f.data, r.data);
          assert.equal(f.originalLength, r.orig);
          assert.equal(f.linkType, 1);
        });
      },
    ),
    { numRuns: 200 },
  );
});

void test('classic pcap damage: magic, version, truncation, implausible length, timestamp fraction', () => {
  const recs = [1, 2, 3].map((i) => ({ s: i, f: i, data: new Uint8Array(10 * i).fill(i), orig: 10 * i }));
  const good = pcapFile(true, false, recs);
  const codes = (b: Uint8Array): string[] => readCapture(b).errors.map((e) => e.code);

  assert.deepEqual(codes(new Uint8Array(0)), ['ERR_CAPTURE_UNKNOWN_FORMAT']);
  assert.deepEqual(codes(Uint8Array.of(1, 2, 3, 4, 5)), ['ERR_CAPTURE_UNKNOWN_FORMAT']);
  assert.match(readCapture(Uint8Array.of(1, 2, 3, 4)).errors[0]!.message, /magic number 0x04030201/);
  assert.deepEqual(codes(good.subarray(0, 20)), ['ERR_CAPTURE_TRUNCATED']);

  const v1 = good.slice();
  new DataView(v1.buffer).setUint16(4, 1, true);
  assert.deepEqual(codes(v1), ['ERR_PCAP_BAD_HEADER']);

  const cutHeader = readCapture(good.subarray(0, 24 + 26 + 8));
  assert.equal(cutHeader.frames.length, 1);
  assert.equal(cutHeader.errors[0]!.code, 'ERR_CAPTURE_TRUNCATED');
  assert.equal(cutHeader.errors[0]!.offset, 50);
  assert.match(cutHeader.errors[0]!.message, /inside the record header at offset 50/);

  const cutData = readCapture(good.subarray(0, good.length - 1));
  assert.equal(cutData.frames.length, 2);
  assert.match(cutData.errors[0]!.message, /claims 30 captured bytes but the file ends after 29/);

  const huge = good.slice();
  new DataView(huge.buffer).setUint32(24 + 8, 0x7fffffff, true);
  const h = readCapture(huge);
  assert.equal(h.errors[0]!.code, 'ERR_PCAP_BAD_RECORD');
  assert.equal(h.frames.length, 0, 'a record length that cannot be trusted stops reading');

  const frac = good.slice();
  new DataView(frac.buffer).setUint32(24 + 26 + 4, 1_000_000, true);
  const fr = readCapture(frac);
  assert.equal(fr.errors[0]!.code, 'ERR_PCAP_BAD_RECORD');
  assert.equal(fr.errors[0]!.resumeOffset, 24 + 26 + 36);
  assert.deepEqual(
    fr.frames.map((f) => f.timestampSeconds),
    [1, 3],
    'the record with the bad fraction alone is skipped',
  );
});

void test('fuzz: random bytes never throw and always end', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, asPcapng) => {
      if (asPcapng && bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, 0x0a0d0d0a, true);
      drain(openCapture(bytes), bytes.length + 2);
    }),
    { numRuns: 2000 },
  );
});

void test('fuzz: every truncation of a valid file reads a prefix of its frames and never throws', () => {
  const pcapng = sampleFile(5);
  const pcap = pcapFile(false, true, [1, 2, 3].map((i) => ({ s: i, f: i, data: new Uint8Array(i * 3 + 1).fill(i), orig: i * 3 + 1 })));
  // Offsets where a truncated file is still a whole, shorter file: block ends, record ends.
  const pcapngEnds = new Set(blockOffsets(pcapng).slice(1).concat(pcapng.length));
  const pcapEnds = new Set([24, 24 + 16 + 4, 24 + 16 + 4 + 16 + 7, pcap.length]);
  for (const [bytes, ends] of [
    [pcapng, pcapngEnds],
    [pcap, pcapEnds],
  ] as const) {
    const full = readCapture(bytes).frames;
    for (let n = 0; n <= bytes.length; n++) {
      const recs = drain(openCapture(bytes.subarray(0, n)), n + 2);
      const got = recs.filter((r): r is CaptureFrame => r.kind === 'frame');
      assert.ok(got.length <= full.length);
      got.forEach((f, i) => assert.deepEqual(f.data, full[i]!.data, `truncated at ${n}: frame ${i}`));
      const errors = recs.filter((r) => r.kind === 'error');
      assert.equal(errors.length, ends.has(n) ? 0 : 1, `truncated at ${n}: one error unless at a block or record end`);
    }
  }
});

void test('fuzz: byte flips in a valid file never throw, and intact blocks after the damage still read', () => {
  const base = sampleFile(8);
  fc.assert(
    fc.property(fc.array(fc.record({ at: fc.nat(base.length - 1), value: fc.nat(255) }), { minLength: 1, maxLength: 8 }), (flips) => {
      const bytes = base.slice();
      for (const f of flips) bytes[f.at] = f.value;
      const recs = drain(openCapture(bytes), bytes.length);
      for (const r of recs) {
        if (r.kind === 'frame') {
          assert.ok(r.dataOffset + r.capturedLength <= bytes.length, 'frame data inside the file');
        } else {
          assert.ok(r.message.length > 0);
          assert.ok(r.offset >= 0 && r.offset <= bytes.length);
        }
      }
    }),
    { numRuns: 1000 },
  );
});
