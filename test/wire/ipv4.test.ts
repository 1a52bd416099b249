import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp } from '../../src/wire/address.js';
import {
  emitIpv4Repr, IP_OPT_EOL, IP_OPT_NOP, IP_OPT_ROUTER_ALERT, IP_OPT_RR, Ipv4OptionCursor, Ipv4Packet, ipv4ReprHeaderLength,
  parseIpv4Repr, validateIpv4Options,
} from '../../src/wire/ipv4.js';
import type { Ipv4Repr } from '../../src/wire/ipv4.js';
import { WireReason } from '../../src/wire/reason.js';
import { fixtures, fixture } from './fixtures.js';
import type { Fixture } from './fixtures.js';

const ipv4Fixtures = fixtures().filter((f) => f.has('ihl'));

function wrapped(f: Fixture, bytes = f.bytes): Ipv4Packet {
  const ip = new Ipv4Packet();
  const o = f.num('ipOffset');
  assert.equal(ip.wrap(bytes, o, bytes.length - o), WireReason.Ok, f.name);
  return ip;
}

void test('every IPv4 fixture reads as scapy decoded it', () => {
  assert.ok(ipv4Fixtures.length >= 10);
  for (const f of ipv4Fixtures) {
    const ip = wrapped(f);
    const flags = f.num('flags'); // scapy: bit 0 MF, bit 1 DF
    assert.equal(ip.version, 4);
    assert.equal(ip.headerLength, f.num('ihl') * 4, f.name);
    assert.equal(ip.typeOfService, f.num('tos'), f.name);
    assert.equal(ip.dscp, f.num('tos') >>> 2);
    assert.equal(ip.ecn, f.num('tos') & 3);
    assert.equal(ip.totalLength, f.num('totalLength'), f.name);
    assert.equal(ip.identification, f.num('id'), f.name);
    assert.equal(ip.moreFragments, (flags & 1) !== 0, f.name);
    assert.equal(ip.dontFragment, (flags & 2) !== 0, f.name);
    assert.equal(ip.fragmentOffset, f.num('fragOffset') * 8, f.name);
    assert.equal(ip.ttl, f.num('ttl'), f.name);
    assert.equal(ip.protocol, f.num('proto'), f.name);
    assert.equal(ip.checksum, f.num('chksum'), f.name);
    assert.ok(ip.verifyChecksum(), f.name);
    const a = new Uint8Array(16);
    ip.copySourceAddress(a);
    assert.equal(formatIp(a), f.str('src'));
    ip.copyDestinationAddress(a);
    assert.equal(formatIp(a), f.str('dst'));
    assert.equal(ip.payloadOffset, ip.offset + ip.headerLength);
    assert.equal(ip.payloadLength, ip.totalLength - ip.headerLength);
  }
});

void test('fillChecksum reproduces scapy\'s header checksum', () => {
  for (const f of ipv4Fixtures) {
    const b = f.copy();
    const ip = wrapped(f, b);
    ip.checksum = 0x1234;
    assert.equal(ip.verifyChecksum(), false);
    ip.fillChecksum();
    assert.equal(ip.checksum, f.num('chksum'), f.name);
  }
});

void test('fragment predicates over the three fragments of one datagram', () => {
  const [first, middle, last] = ['ipv4-fragment-0', 'ipv4-fragment-1', 'ipv4-fragment-2'].map((n) => wrapped(fixture(n)));
  assert.deepEqual([first!.isFragment, first!.isFirstFragment, first!.isLastFragment], [true, true, false]);
  assert.deepEqual([middle!.isFragment, middle!.isFirstFragment, middle!.isLastFragment], [true, false, false]);
  assert.deepEqual([last!.isFragment, last!.isFirstFragment, last!.isLastFragment], [true, false, true]);
  assert.equal(middle!.fragmentOffset, first!.payloadLength);
  assert.equal(last!.fragmentOffset, first!.payloadLength + middle!.payloadLength);
  const whole = wrapped(fixture('eth-ipv4-udp'));
  assert.deepEqual([whole.isFragment, whole.isFirstFragment, whole.isLastFragment], [false, false, false]);
});

void test('options are walked: router alert, NOP, record route, EOL', () => {
  const f = fixture('ipv4-options-udp');
  const ip = wrapped(f);
  const cursor = new Ipv4OptionCursor();
  cursor.reset(ip);
  const seen: number[][] = [];
  while (cursor.next()) seen.push([cursor.type, cursor.length]);
  assert.equal(cursor.reason, WireReason.Ok);
  assert.deepEqual(seen, f.list('options'));
  assert.equal(ip.findOption(IP_OPT_ROUTER_ALERT), ip.optionsOffset);
  assert.equal(ip.findOption(IP_OPT_RR), ip.optionsOffset + 5);
  assert.equal(ip.findOption(0x44), -1);
  assert.equal(ip.optionsLength, 20);
});

void test('malformed headers give the right reason', () => {
  const f = fixture('ipv4-options-udp');
  const o = f.num('ipOffset');
  const ip = new Ipv4Packet();
  const len = f.bytes.length - o;
  const mutate = (at: number, value: number): Uint8Array => {
    const b = f.copy();
    b[o + at] = value;
    return b;
  };
  for (let n = 0; n < 20; n++) assert.equal(ip.wrap(f.bytes, o, n), WireReason.Truncated);
  assert.equal(ip.wrap(mutate(0, 0x65), o, len), WireReason.BadVersion);
  for (let ihl = 0; ihl < 5; ihl++) assert.equal(ip.wrap(mutate(0, 0x40 | ihl), o, len), WireReason.BadHeaderLength, `IHL ${ihl}`);
  // IHL 15 needs 60 bytes; give the view only 50.
  assert.equal(ip.wrap(mutate(0, 0x4f), o, 50), WireReason.HeaderOverrun);
  // Total length beyond the buffer, and below the header length.
  assert.equal(ip.wrap(mutate(3, 0xff), o, len), WireReason.BadTotalLength);
  const short = f.copy();
  short[o + 2] = 0;
  short[o + 3] = 39;
  assert.equal(ip.wrap(short, o, len), WireReason.BadTotalLength);
  // Option lengths: 0, 1, and one that runs past the options area (router alert claims 30 bytes).
  assert.equal(ip.wrap(mutate(21, 0), o, len), WireReason.BadOptionLength);
  assert.equal(ip.wrap(mutate(21, 1), o, len), WireReason.BadOptionLength);
  assert.equal(ip.wrap(mutate(21, 30), o, len), WireReason.BadOptionLength);
  // An option type as the very last byte of the area has no room for its length.
  const b = f.copy();
  b.fill(IP_OPT_NOP, o + 20, o + 39);
  b[o + 39] = IP_OPT_RR;
  assert.equal(ip.wrap(b, o, len), WireReason.BadOptionLength);
  const cursor = new Ipv4OptionCursor();
  cursor.resetRange(b, o + 20, o + 40);
  let n = 0;
  while (cursor.next()) n++;
  assert.equal(n, 19);
  assert.equal(cursor.reason, WireReason.BadOptionLength);
  // Anything after EOL is not examined.
  const eol = f.copy();
  eol[o + 20] = IP_OPT_EOL;
  eol[o + 21] = 0;
  assert.equal(ip.wrap(eol, o, len), WireReason.Ok);
  assert.equal(validateIpv4Options(eol, o + 20, o + 40), WireReason.Ok);
});

void test('parse verifies the checksum; emit rebuilds each fixture header byte for byte', () => {
  for (const f of ipv4Fixtures) {
    const ip = wrapped(f);
    const r = parseIpv4Repr(ip) as Ipv4Repr;
    const out = new Uint8Array(ipv4ReprHeaderLength(r));
    assert.equal(emitIpv4Repr(r, out, 0), WireReason.Ok);
    assert.deepEqual(out, f.bytes.subarray(ip.offset, ip.offset + ip.headerLength), f.name);
    const bad = f.copy();
    bad[ip.offset + 8] = bad[ip.offset + 8]! ^ 1;
    assert.equal(parseIpv4Repr(wrapped(f, bad)), WireReason.BadChecksum);
  }
});

const reprArb = fc.record({
  source: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  destination: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  protocol: fc.integer({ min: 0, max: 255 }),
  ttl: fc.integer({ min: 0, max: 255 }),
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  identification: fc.integer({ min: 0, max: 0xffff }),
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((u) => u * 8),
  payloadLength: fc.integer({ min: 0, max: 200 }),
  optionWords: fc.array(fc.constantFrom(
    [IP_OPT_NOP, IP_OPT_NOP, IP_OPT_NOP, IP_OPT_NOP], [IP_OPT_ROUTER_ALERT, 4, 0, 0], [IP_OPT_RR, 7, 4, 0, 0, 0, 0, IP_OPT_EOL],
  ), { maxLength: 4 }),
}).map((r): Ipv4Repr => {
  const map = (b: Uint8Array): Uint8Array => {
    const a = new Uint8Array(16);
    a[10] = 0xff;
    a[11] = 0xff;
    a.set(b, 12);
    return a;
  };
  let options = Uint8Array.from(r.optionWords.flat());
  if (options.length > 40) options = options.subarray(0, 0);
  return {
    source: map(r.source), destination: map(r.destination), protocol: r.protocol, ttl: r.ttl, dscp: r.dscp, ecn: r.ecn,
    identification: r.identification, dontFragment: r.dontFragment, moreFragments: r.moreFragments,
    fragmentOffset: r.fragmentOffset, payloadLength: r.payloadLength, options,
  };
});

void test('property: emit then parse gives back the same fields', () => {
  fc.assert(
    fc.property(reprArb, (repr) => {
      const hl = ipv4ReprHeaderLength(repr);
      const b = new Uint8Array(hl + repr.payloadLength);
      assert.equal(emitIpv4Repr(repr, b, 0), WireReason.Ok);
      const ip = new Ipv4Packet();
      assert.equal(ip.wrap(b, 0, b.length), WireReason.Ok);
      assert.deepEqual(parseIpv4Repr(ip), repr);
    }),
  );
});

void test('setters round-trip through the getters without disturbing neighbours', () => {
  const b = new Uint8Array(20);
  const ip = new Ipv4Packet();
  assert.equal(ip.wrapForEmit(b, 0, 20), WireReason.Ok);
  ip.dscp = 46;
  ip.ecn = 3;
  ip.dontFragment = true;
  ip.fragmentOffset = 8 * 0x1fff;
  ip.moreFragments = true;
  assert.deepEqual([ip.dscp, ip.ecn, ip.dontFragment, ip.moreFragments, ip.fragmentOffset], [46, 3, true, true, 8 * 0x1fff]);
  ip.dontFragment = false;
  ip.ecn = 0;
  assert.deepEqual([ip.dscp, ip.ecn, ip.dontFragment, ip.moreFragments, ip.fragmentOffset], [46, 0, false, true, 8 * 0x1fff]);
  ip.source = 0xc0000201;
  ip.destination = 0xffffffff;
  assert.deepEqual([ip.source, ip.destination], [0xc0000201, 0xffffffff]);
  assert.equal(ip.version, 4);
  assert.equal(ip.wrapForEmit(b, 5, 19), WireReason.NoSpace);
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const ip = new Ipv4Packet();
  const cursor = new Ipv4OptionCursor();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -1, max: 90 }), (b, len) => {
      if (b.length > 0) b[0] = 0x40 | (b[0]! & 0x0f); // mostly version 4, so deeper checks run
      const r = ip.wrap(b, 0, len);
      assert.ok(Number.isInteger(r) && r >= 0 && r <= WireReason.BadOptionLength);
      if (r === WireReason.Ok) {
        cursor.reset(ip);
        let guard = 0;
        while (cursor.next()) guard++;
        assert.equal(cursor.reason, WireReason.Ok);
        assert.ok(guard <= 40);
        const p = parseIpv4Repr(ip);
        assert.ok(typeof p === 'number' || p.payloadLength === ip.payloadLength);
      }
    }),
    { numRuns: 3000 },
  );
});
