import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitIcmpv4Repr, ICMP4_DST_UNREACH, ICMP4_ECHO_REPLY, ICMP4_ECHO_REQUEST, ICMP4_TIME_EXCEEDED, ICMP4_UNREACH_FRAG_NEEDED,
  Icmpv4Packet, icmpv4ReprLength, parseIcmpv4Repr,
} from '../../src/wire/icmpv4.js';
import type { Icmpv4Repr } from '../../src/wire/icmpv4.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { UdpPacket } from '../../src/wire/udp.js';
import { WireReason } from '../../src/wire/reason.js';
import { fixture, fixtures } from './fixtures.js';
import type { Fixture } from './fixtures.js';

const icmpFixtures = fixtures('icmpv4-');

function wrapped(f: Fixture, bytes = f.bytes): Icmpv4Packet {
  const m = new Icmpv4Packet();
  assert.equal(m.wrap(bytes, f.num('icmpOffset'), f.num('icmpLength')), WireReason.Ok, f.name);
  return m;
}

void test('every ICMPv4 fixture reads as scapy decoded it, and its checksum verifies', () => {
  assert.equal(icmpFixtures.length, 5);
  for (const f of icmpFixtures) {
    const m = wrapped(f);
    assert.equal(m.type, f.num('type'), f.name);
    assert.equal(m.code, f.num('code'), f.name);
    assert.equal(m.checksum, f.num('icmpChksum'), f.name);
    assert.ok(m.verifyChecksum(), f.name);
    if (f.has('icmpId')) {
      assert.equal(m.identifier, f.num('icmpId'));
      assert.equal(m.sequenceNumber, f.num('icmpSeq'));
      assert.equal(m.isError, false);
    }
    if (f.has('mtu')) assert.equal(m.nextHopMtu, f.num('mtu'));
    if (f.has('quotedLength')) {
      assert.equal(m.isError, true);
      assert.equal(m.payloadLength, f.num('quotedLength'));
      // The quoted packet is an IPv4 header and the first 8 bytes of its UDP datagram.
      const inner = new Ipv4Packet();
      const r = inner.wrap(f.bytes, m.payloadOffset, m.payloadLength);
      assert.equal(r, WireReason.BadTotalLength); // only 8 bytes of its payload are quoted
      const udp = new UdpPacket();
      udp.wrapForEmit(f.bytes, m.payloadOffset + 20, 8);
      assert.equal(udp.destinationPort, 33434);
    }
  }
});

void test('fillChecksum reproduces scapy\'s ICMP checksum', () => {
  for (const f of icmpFixtures) {
    const b = f.copy();
    const m = wrapped(f, b);
    m.checksum = 0;
    m.fillChecksum();
    assert.equal(m.checksum, f.num('icmpChksum'), f.name);
  }
});

void test('parse then emit rebuilds every fixture message byte for byte', () => {
  for (const f of icmpFixtures) {
    const r = parseIcmpv4Repr(wrapped(f)) as Icmpv4Repr;
    assert.notEqual(typeof r, 'number', f.name);
    if (r.type === ICMP4_DST_UNREACH) assert.equal(r.nextHopMtu, r.code === ICMP4_UNREACH_FRAG_NEEDED ? 1400 : 0);
    const out = new Uint8Array(icmpv4ReprLength(r));
    assert.equal(emitIcmpv4Repr(r, out, 0), WireReason.Ok);
    const o = f.num('icmpOffset');
    assert.deepEqual(out, f.bytes.subarray(o, o + f.num('icmpLength')), f.name);
  }
});

void test('malformed ICMPv4: truncated, bad checksum, unmodelled type', () => {
  const f = fixture('icmpv4-echo-request');
  const m = new Icmpv4Packet();
  for (let n = 0; n < 8; n++) assert.equal(m.wrap(f.bytes, 34, n), WireReason.Truncated);
  const bad = f.copy();
  bad[40] = bad[40]! ^ 0x80;
  assert.equal(parseIcmpv4Repr(wrapped(f, bad)), WireReason.BadChecksum);
  // A timestamp request (type 13) with a correct checksum is not modelled.
  const ts = f.copy();
  const v = wrapped(f, ts);
  v.type = 13;
  v.fillChecksum();
  assert.equal(parseIcmpv4Repr(v), WireReason.UnsupportedType);
  // An echo with a non-zero code neither.
  v.type = ICMP4_ECHO_REQUEST;
  v.code = 1;
  v.fillChecksum();
  assert.equal(parseIcmpv4Repr(v), WireReason.UnsupportedType);
  assert.equal(emitIcmpv4Repr({ type: ICMP4_ECHO_REPLY, identifier: 1, sequenceNumber: 2, data: new Uint8Array(10) }, new Uint8Array(17), 0), WireReason.NoSpace);
});

const reprArb: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({
    type: fc.constantFrom(ICMP4_ECHO_REQUEST, ICMP4_ECHO_REPLY),
    identifier: fc.integer({ min: 0, max: 0xffff }),
    sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
    data: fc.uint8Array({ maxLength: 64 }),
  }).map((r): Icmpv4Repr => ({ ...r })),
  fc.record({
    code: fc.integer({ min: 0, max: 15 }),
    mtu: fc.integer({ min: 68, max: 0xffff }),
    data: fc.uint8Array({ minLength: 28, maxLength: 64 }),
  }).map((r): Icmpv4Repr => ({ type: ICMP4_DST_UNREACH, code: r.code, nextHopMtu: r.code === ICMP4_UNREACH_FRAG_NEEDED ? r.mtu : 0, data: r.data })),
  fc.record({ code: fc.integer({ min: 0, max: 1 }), data: fc.uint8Array({ minLength: 28, maxLength: 64 }) })
    .map((r): Icmpv4Repr => ({ type: ICMP4_TIME_EXCEEDED, code: r.code, data: r.data })),
);

void test('property: emit then parse gives back the same fields', () => {
  fc.assert(
    fc.property(reprArb, fc.nat(5), (repr, at) => {
      const b = new Uint8Array(at + icmpv4ReprLength(repr));
      assert.equal(emitIcmpv4Repr(repr, b, at), WireReason.Ok);
      const m = new Icmpv4Packet();
      assert.equal(m.wrap(b, at, b.length - at), WireReason.Ok);
      assert.deepEqual(parseIcmpv4Repr(m), repr);
    }),
  );
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const m = new Icmpv4Packet();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 60 }), fc.integer({ min: -1, max: 64 }), (b, len) => {
      const r = m.wrap(b, 0, len);
      assert.ok(r === WireReason.Ok || r === WireReason.Truncated);
      if (r === WireReason.Ok) {
        // Force the checksum to verify half the time, so the type dispatch is exercised.
        if ((b[1]! & 1) === 0) m.fillChecksum();
        const p = parseIcmpv4Repr(m);
        assert.ok(typeof p === 'number' ? p === WireReason.BadChecksum || p === WireReason.UnsupportedType : p.data.length === len - 8);
      }
    }),
    { numRuns: 2000 },
  );
});
