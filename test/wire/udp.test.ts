import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { IPPROTO_UDP } from '../../src/wire/ip.js';
import { WireReason } from '../../src/wire/reason.js';
import { emitUdpHeader, emitUdpRepr, parseUdpRepr, UdpPacket, udpReprLength } from '../../src/wire/udp.js';
import type { UdpRepr } from '../../src/wire/udp.js';
import { fixture, fixtures, ip } from './fixtures.js';
import type { Fixture } from './fixtures.js';

/** Fixtures with a whole UDP datagram (not in a fragment) under plain addresses (no routing header or home address). */
const udpFixtures = fixtures().filter((f) => f.has('udpOffset') && !/routing|homeaddress|mobile|fragment/.test(f.name));

function pseudoFor(f: Fixture, length: number): number {
  const b = f.bytes;
  if (f.has('plen') || f.has('l3Type') && f.num('l3Type') === 0x86dd) {
    const o = f.has('ipOffset') ? f.num('ipOffset') : f.num('l3Offset');
    return ipv6PseudoHeaderSum(b, o + 8, b, o + 24, IPPROTO_UDP, length);
  }
  const o = f.num('ipOffset');
  return ipv4PseudoHeaderSum(b, o + 12, b, o + 16, IPPROTO_UDP, length);
}

void test('every UDP fixture reads as scapy decoded it and its checksum verifies', () => {
  assert.ok(udpFixtures.length >= 8);
  for (const f of udpFixtures) {
    const u = new UdpPacket();
    const o = f.num('udpOffset');
    assert.equal(u.wrap(f.bytes, o, f.bytes.length - o), WireReason.Ok, f.name);
    assert.deepEqual([u.sourcePort, u.destinationPort, u.udpLength, u.checksum], [f.num('sport'), f.num('dport'), f.num('udpLen'), f.num('udpChksum')], f.name);
    assert.equal(u.payloadLength, f.num('udpLen') - 8);
    assert.ok(u.verifyChecksum(pseudoFor(f, u.udpLength)), f.name);
    const b = f.copy();
    const w = new UdpPacket();
    w.wrap(b, o, b.length - o);
    w.checksum = 1;
    assert.equal(w.verifyChecksum(pseudoFor(f, w.udpLength)), false);
    w.fillChecksum(pseudoFor(f, w.udpLength));
    assert.equal(w.checksum, f.num('udpChksum'), f.name);
  }
});

void test('the UDP header in a first fragment announces more than the fragment holds', () => {
  const f = fixture('ipv6-fragment-0');
  const u = new UdpPacket();
  const o = f.num('udpOffset');
  assert.equal(u.wrap(f.bytes, o, f.bytes.length - o), WireReason.BadTotalLength);
  assert.equal(u.wrapForEmit(f.bytes, o, f.bytes.length - o), WireReason.Ok);
  assert.equal(u.udpLength, f.num('udpLen'));
});

void test('records parse with addresses and emit back to the fixture bytes', () => {
  for (const name of ['eth-ipv4-udp', 'ipv6-udp', 'vxlan']) {
    const f = fixture(name);
    const o = f.num('udpOffset');
    const u = new UdpPacket();
    u.wrap(f.bytes, o, f.bytes.length - o);
    const src = ip(f.str('src'));
    const dst = ip(f.str('dst'));
    const r = parseUdpRepr(u, src, dst) as UdpRepr;
    assert.equal(r.payload.length, f.num('udpLen') - 8);
    const out = new Uint8Array(udpReprLength(r));
    assert.equal(emitUdpRepr(r, out, 0, src, dst), WireReason.Ok);
    assert.deepEqual(out, f.bytes.subarray(o, o + f.num('udpLen')), name);
  }
});

void test('zero checksum: accepted over IPv4, refused over IPv6; a computed zero is sent as 0xffff', () => {
  const f = fixture('eth-ipv4-udp');
  const b = f.copy();
  const o = f.num('udpOffset');
  const u = new UdpPacket();
  u.wrap(b, o, b.length - o);
  u.checksum = 0;
  assert.equal(u.verifyChecksum(0), false);
  assert.notEqual(typeof parseUdpRepr(u, ip(f.str('src')), ip(f.str('dst'))), 'number');
  const f6 = fixture('ipv6-udp');
  const b6 = f6.copy();
  const u6 = new UdpPacket();
  u6.wrap(b6, f6.num('udpOffset'), b6.length - f6.num('udpOffset'));
  u6.checksum = 0;
  assert.equal(parseUdpRepr(u6, ip(f6.str('src')), ip(f6.str('dst'))), WireReason.BadChecksum);
  // Find a payload whose checksum computes to 0: then 0xffff goes on the wire, and verifies.
  const d = new Uint8Array(10);
  emitUdpHeader(d, 0, 1, 2, 2);
  const v = new UdpPacket();
  v.wrap(d, 0, 10);
  const sum = pseudoHeaderSum(ip('192.0.2.1'), ip('192.0.2.2'), IPPROTO_UDP, 10);
  v.fillChecksum(sum);
  const c = v.checksum;
  // Choose the 2 payload bytes so that the one's-complement sum becomes 0xffff.
  d[8] = c >>> 8;
  d[9] = c & 0xff;
  v.fillChecksum(sum);
  assert.equal(v.checksum, 0xffff);
  assert.ok(v.verifyChecksum(sum));
});

void test('malformed UDP: truncated, length field too small or too large', () => {
  const f = fixture('eth-ipv4-udp');
  const o = f.num('udpOffset');
  const u = new UdpPacket();
  for (let n = 0; n < 8; n++) assert.equal(u.wrap(f.bytes, o, n), WireReason.Truncated);
  for (const [hi, lo] of [[0, 7], [0, 0], [0xff, 0xff]] as const) {
    const b = f.copy();
    b[o + 4] = hi;
    b[o + 5] = lo;
    assert.equal(u.wrap(b, o, b.length - o), WireReason.BadTotalLength);
  }
  assert.equal(emitUdpHeader(new Uint8Array(7), 0, 1, 2, 0), WireReason.NoSpace);
  assert.equal(emitUdpRepr({ sourcePort: 1, destinationPort: 2, payload: new Uint8Array(0x10000) }, new Uint8Array(0x10008), 0, ip('::1'), ip('::2')), WireReason.BadTotalLength);
});

const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b[0] !== 0);

void test('property: emit then parse gives back the same fields (IPv4 and IPv6)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 300 }),
      fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6)), fc.nat(3),
      (sourcePort, destinationPort, payload, [src, dst], at) => {
        const repr: UdpRepr = { sourcePort, destinationPort, payload };
        const b = new Uint8Array(at + udpReprLength(repr));
        assert.equal(emitUdpRepr(repr, b, at, src, dst), WireReason.Ok);
        const u = new UdpPacket();
        assert.equal(u.wrap(b, at, b.length - at), WireReason.Ok);
        assert.notEqual(u.checksum, 0);
        assert.deepEqual(parseUdpRepr(u, src, dst), repr);
      },
    ),
  );
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const u = new UdpPacket();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -1, max: 40 }), (b, len) => {
      const r = u.wrap(b, 0, len);
      assert.ok(r === WireReason.Ok || r === WireReason.Truncated || r === WireReason.BadTotalLength);
      if (r === WireReason.Ok) {
        assert.ok(u.payloadOffset + u.payloadLength <= len);
        const p = parseUdpRepr(u, ip('192.0.2.1'), ip('192.0.2.2'));
        assert.ok(typeof p === 'number' ? p === WireReason.BadChecksum : p.payload.length === u.payloadLength);
      }
    }),
    { numRuns: 2000 },
  );
});
