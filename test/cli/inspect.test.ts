// `ndis inspect`: a scapy capture checked against tshark's decoding of it (checksum validation
// switched on), RSS hashes against Microsoft's vectors, --hash-types, and damaged files and
// frames — described, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Inspector, inspectCapture, parseHashTypes, type InspectRecord } from '../../src/cli/commands/inspect.js';
import * as H from '../../src/offload/rss/hash-types.js';
import { runCommand } from './run.js';

const PCAP = new URL('../../../test/fixtures/offload/inspect.pcap', import.meta.url).pathname;
const tshark = JSON.parse(readFileSync(`${PCAP}.tshark.json`, 'utf8')) as { frames: Record<string, string[] | undefined>[] };

function status(v: string[] | undefined): boolean | null {
  if (v === undefined) return null;
  return v[0] === '1' ? true : v[0] === '0' ? false : null;
}

void test('--json: one object per frame, agreeing with tshark on EtherType, VLANs, checksums and malformation', () => {
  const r = runCommand('inspect', 'inspectCommand', [PCAP, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const recs = JSON.parse(r.stdout) as InspectRecord[];
  assert.equal(recs.length, tshark.frames.length);
  recs.forEach((rec, i) => {
    const t = tshark.frames[i]!;
    assert.deepEqual(Object.keys(rec), ['index', 'length', 'ethertype', 'vlan', 'l3', 'l4', 'ipChecksum', 'l4Checksum', 'malformed', 'rss'], `frame ${i} keys`);
    assert.equal(rec.index, i);
    const vlans = (t['vlan.id'] ?? []).map(Number);
    assert.deepEqual(rec.vlan, vlans, `frame ${i} vlan`);
    if (vlans.length === 0) assert.equal(rec.ethertype, t['eth.type']![0], `frame ${i} ethertype`);
    else assert.equal(rec.ethertype, '0x0800');
    assert.equal(rec.malformed, t['_ws.malformed'] !== undefined, `frame ${i} malformed`);
    if (!rec.malformed) assert.equal(rec.ipChecksum, status(t['ip.checksum.status']), `frame ${i} ip checksum`);
    // tshark validates TCP/UDP after reassembling fragments and inside tunnels; a NIC does not.
    const l4 = status(t['tcp.checksum.status'] ?? t['udp.checksum.status']);
    if (rec.l4 === 'tcp' || rec.l4 === 'udp') {
      if (rec.l4Checksum !== null) assert.equal(rec.l4Checksum, l4, `frame ${i} l4 checksum`);
    }
  });
  // What the NIC sees, frame by frame.
  const proto = recs.map((x) => `${x.l3}/${x.l4}`);
  assert.deepEqual(proto, ['ipv4/tcp', 'ipv4/udp', 'ipv4/tcp', 'ipv4/udp', 'ipv6/tcp', 'ipv6/udp', 'ipv6/icmpv6', 'arp/none', 'ipv4/icmp', 'ipv4/udp', 'ipv4/udp', 'ipv4/gre', 'ipv4/none', 'other/none']);
  assert.equal(recs[6]!.l4Checksum, true, 'ICMPv6 checksum with its pseudo-header');
  assert.equal(recs[8]!.l4Checksum, true, 'ICMP checksum');
  assert.deepEqual([recs[9]!.l4Checksum, recs[10]!.l4Checksum], [null, null], 'fragments have no L4 checksum to check');
  assert.deepEqual(recs[0]!.rss, { type: 'TCP_IPV4', hash: '0x51ccc178' });
  assert.deepEqual(recs[4]!.rss, { type: 'TCP_IPV6', hash: '0x40207d3d' });
  assert.equal(recs[1]!.rss.type, 'IPV4', 'UDP without a UDP hash type: the 2-tuple');
  assert.deepEqual(recs[7]!.rss, { type: 'NONE', hash: '0x00000000' });
});

void test('--hash-types chooses the types; invalid combinations are usage errors', () => {
  const r = runCommand('inspect', 'inspectCommand', [PCAP, '--json', '--hash-types', 'IPV4,UDP_IPV4', '--hash-types', 'ipv6']);
  assert.equal(r.status, 0);
  const recs = JSON.parse(r.stdout) as InspectRecord[];
  assert.equal(recs[0]!.rss.type, 'IPV4');
  assert.deepEqual(recs[0]!.rss, { type: 'IPV4', hash: '0x323e8fc2' });
  assert.equal(recs[1]!.rss.type, 'UDP_IPV4');
  assert.equal(parseHashTypes(['NDIS_HASH_TCP_IPV4', 'IPV4']), H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4);
  assert.match(String(parseHashTypes(['TCP_IPV4,UDP_IPV4'])), /not a valid combination/);
  const bad = runCommand('inspect', 'inspectCommand', [PCAP, '--hash-types', 'SCTP']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown hash type 'SCTP'/);
  assert.equal(runCommand('inspect', 'inspectCommand', []).status, 2);
  const missing = runCommand('inspect', 'inspectCommand', ['/nonexistent/file.pcap']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read/);
});

void test('the human listing names each frame and flags bad checksums and malformed headers', () => {
  const r = runCommand('inspect', 'inspectCommand', [PCAP]);
  assert.equal(r.status, 0);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 14);
  assert.match(lines[2]!, /l4:BAD/);
  assert.match(lines[3]!, /ip:BAD/);
  assert.match(lines[12]!, /MALFORMED/);
  assert.match(r.stderr, /14 frame\(s\)/);
});

void test('a truncated file: the frames before the damage, a message, exit status 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-inspect-'));
  try {
    const bytes = readFileSync(PCAP);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
    const r = runCommand('inspect', 'inspectCommand', [cut, '--json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /offset \d+/);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 13);
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, Buffer.from('not a capture file at all'));
    const j = runCommand('inspect', 'inspectCommand', [junk, '--json']);
    assert.equal(j.status, 1);
    assert.deepEqual(JSON.parse(j.stdout), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const L3S = new Set(['ipv4', 'ipv6', 'arp', 'other']);
const L4S = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'other', 'none']);

function wellFormed(r: InspectRecord): void {
  assert.ok(L3S.has(r.l3) && L4S.has(r.l4));
  assert.ok(r.ipChecksum === null || typeof r.ipChecksum === 'boolean');
  assert.ok(r.l4Checksum === null || typeof r.l4Checksum === 'boolean');
  assert.match(r.rss.hash, /^0x[0-9a-f]{8}$/);
  assert.ok(r.ethertype === null || /^0x[0-9a-f]{4}$/.test(r.ethertype));
  JSON.stringify(r);
}

void test('fuzz: damaged files (cuts, flipped bytes) never throw; every record is well formed', () => {
  const base = readFileSync(PCAP);
  const inspector = new Inspector();
  fc.assert(
    fc.property(fc.nat(base.length), fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 12 }), (cut, flips) => {
      const b = Uint8Array.from(base.subarray(0, cut));
      for (const [at, v] of flips) if (at < b.length) b[at] = v;
      const { records } = inspectCapture(b, inspector);
      records.forEach(wellFormed);
    }),
    { numRuns: 2000 },
  );
});

void test('fuzz: random frames never throw', () => {
  const inspector = new Inspector(H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_IPV6_EX | H.NDIS_HASH_TCP_IPV6_EX | H.NDIS_HASH_UDP_IPV6_EX);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0x0800, 0x86dd, 0x8100, 0x0806), (rest, type) => {
      const b = new Uint8Array(14 + rest.length);
      b[12] = type >> 8;
      b[13] = type & 0xff;
      b.set(rest, 14);
      if (rest.length > 0 && type !== 0x8100) b[14] = type === 0x0800 ? 0x40 | (rest[0]! & 15) : 0x60;
      wellFormed(inspector.inspect(0, b, 0, b.length));
    }),
    { numRuns: 3000 },
  );
});
