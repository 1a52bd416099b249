// Reading capture files made by other tools (scapy, editcap, dumpcap, and a pcapng built field by
// field), compared with what tshark reads from the same files (recorded by
// test/fixtures/pcap/make-fixtures.py in <file>.tshark.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  PCAPNG_ENHANCED_PACKET_BLOCK,
  PCAPNG_PACKET_BLOCK,
  PCAPNG_SIMPLE_PACKET_BLOCK,
  PCAP_RECORD,
  PcapReader,
  PcapngReader,
  readCapture,
} from '../../src/pcap/index.js';

const dir = fileURLToPath(new URL('../../../test/fixtures/pcap/', import.meta.url));

interface TsharkFrame {
  number: number;
  section: number;
  interfaceId: number;
  interfaceName: string | null;
  capturedLength: number;
  originalLength: number;
  seconds: number | null;
  nanoseconds: number | null;
  flags: number;
  comment: string | null;
  md5: string;
}

const fixtures = readdirSync(dir).filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng'));

void test('every fixture has tshark’s reading next to it', () => {
  assert.ok(fixtures.length >= 7, `fixtures found: ${fixtures.join(', ')}`);
  for (const f of fixtures) assert.ok(readdirSync(dir).includes(`${f}.tshark.json`), f);
});

for (const name of fixtures) {
  void test(`${name}: frames, lengths, timestamps, interfaces, flags, comments and bytes match tshark`, () => {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    const expected = (JSON.parse(readFileSync(join(dir, `${name}.tshark.json`), 'utf8')) as { frames: TsharkFrame[] })
      .frames;
    const got = readCapture(bytes);
    assert.equal(got.format, name.endsWith('.pcapng') ? 'pcapng' : 'pcap');
    assert.deepEqual(
      got.errors.map((e) => e.message),
      [],
    );
    assert.equal(got.frames.length, expected.length, 'frame count');
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i]!;
      const f = got.frames[i]!;
      const where = `${name} frame ${e.number}`;
      assert.equal(f.section, e.section, `${where} section`);
      assert.equal(f.interfaceId, e.interfaceId, `${where} interface id`);
      // tshark 4.0 looks interface names of later sections up in the first section's list, so
      // names are compared in the first section only (later sections are checked below).
      if (e.section === 0) assert.equal(f.interfaceName, e.interfaceName, `${where} interface name`);
      assert.equal(f.capturedLength, e.capturedLength, `${where} captured length`);
      assert.equal(f.originalLength, e.originalLength, `${where} original length`);
      if (e.seconds === null) {
        assert.equal(f.blockType, PCAPNG_SIMPLE_PACKET_BLOCK, `${where}: only a Simple Packet Block lacks a timestamp`);
        assert.equal(f.timestampSeconds, 0);
        assert.equal(f.timestampNanoseconds, 0);
      } else {
        assert.equal(f.timestampSeconds, e.seconds, `${where} seconds`);
        assert.equal(f.timestampNanoseconds, e.nanoseconds, `${where} nanoseconds`);
      }
      assert.equal(f.flags, e.flags, `${where} flags`);
      assert.equal(f.comment, e.comment, `${where} comment`);
      assert.equal(createHash('md5').update(f.data).digest('hex'), e.md5, `${where} captured bytes`);
    }
  });
}

void test('classic pcap headers: byte order and timestamp resolution come from the magic number', () => {
  const cases: [string, boolean, boolean][] = [
    ['scapy-le-usec.pcap', true, false],
    ['scapy-be-nsec.pcap', false, true],
    ['editcap-nsec.pcap', true, true],
  ];
  for (const [name, le, ns] of cases) {
    const r = new PcapReader(new Uint8Array(readFileSync(join(dir, name))));
    assert.ok(r.header !== null, name);
    assert.equal(r.header.littleEndian, le, name);
    assert.equal(r.header.nanoseconds, ns, name);
    assert.equal(r.header.linkType, 1, name);
    assert.equal(r.header.versionMajor, 2);
    assert.equal(r.header.versionMinor, 4);
    for (const rec of r) assert.equal(rec.kind === 'frame' && rec.blockType, PCAP_RECORD);
  }
});

void test('handmade.pcapng: both byte orders, three resolutions, if_tsoffset, SPB, obsolete PB, skipped blocks', () => {
  const r = new PcapngReader(new Uint8Array(readFileSync(join(dir, 'handmade.pcapng'))));
  const frames = [...r].filter((x) => x.kind === 'frame');
  assert.equal(r.sections.length, 2);
  assert.equal(r.sections[0]!.littleEndian, false);
  assert.equal(r.sections[0]!.comment, 'big-endian section');
  assert.equal(r.sections[0]!.userApplication, 'make-fixtures.py');
  assert.equal(r.sections[1]!.littleEndian, true);
  assert.deepEqual(
    r.interfaces.map((i) => [i.section, i.id, i.name, i.resolution.tsresol, i.offsetSeconds, i.snapLength]),
    [
      [0, 0, 'be0', 6, 0, 0],
      [0, 1, 'be1', 3, 1000, 100],
      [0, 2, 'be2', 0x8a, 0, 0],
      [1, 0, 'le0', 9, 0, 0],
    ],
  );
  assert.equal(r.interfaces[0]!.description, 'default resolution (microseconds)');
  assert.deepEqual(
    frames.map((f) => f.blockType),
    [
      PCAPNG_ENHANCED_PACKET_BLOCK,
      PCAPNG_ENHANCED_PACKET_BLOCK,
      PCAPNG_ENHANCED_PACKET_BLOCK,
      PCAPNG_SIMPLE_PACKET_BLOCK,
      PCAPNG_PACKET_BLOCK,
      PCAPNG_ENHANCED_PACKET_BLOCK,
    ],
  );
  const last = frames[5]!;
  assert.equal(last.section, 1);
  assert.equal(last.interfaceName, 'le0', 'section 1 has its own interface list');
  assert.equal(frames[0]!.direction, 1);
  assert.equal(frames[1]!.direction, 2);
  assert.equal(frames[1]!.timestampNs(), 1_700_000_000_250_000_000n, 'milliseconds plus if_tsoffset of 1000 s');
  assert.equal(r.skippedBlocks, 3, 'Name Resolution, Custom and Interface Statistics Blocks');
});

void test('dumpcap-lo.pcapng: a live capture with its options and trailing statistics block', () => {
  const r = new PcapngReader(new Uint8Array(readFileSync(join(dir, 'dumpcap-lo.pcapng'))));
  const records = [...r];
  assert.equal(records.filter((x) => x.kind === 'error').length, 0);
  assert.equal(r.interfaces[0]!.name, 'lo');
  assert.equal(r.interfaces[0]!.resolution.tsresol, 9);
  assert.match(r.sections[0]!.userApplication ?? '', /Dumpcap/);
  assert.ok(r.skippedBlocks >= 1, 'dumpcap ends the file with an Interface Statistics Block');
});
