import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp, formatMac } from '../../src/wire/address.js';
import { ipv6PseudoHeaderSum } from '../../src/wire/checksum.js';
import {
  emitIcmpv6Repr, ICMP6_DST_UNREACH, ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, ICMP6_PACKET_TOO_BIG, ICMP6_PARAM_PROB,
  ICMP6_TIME_EXCEEDED, Icmpv6Packet, icmpv6ReprLength, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT, ND_OPT_MTU,
  ND_OPT_PREFIX_INFORMATION, ND_OPT_SOURCE_LINKADDR, ND_OPT_TARGET_LINKADDR, ND_ROUTER_ADVERT, ND_ROUTER_SOLICIT,
  NdpOptionCursor, ndpOptionsStart, parseIcmpv6Repr,
} from '../../src/wire/icmpv6.js';
import type { Icmpv6Repr, NdpNeighborAdvertRepr, NdpNeighborSolicitRepr, NdpRouterAdvertRepr } from '../../src/wire/icmpv6.js';
import { IPPROTO_ICMPV6 } from '../../src/wire/ip.js';
import { WireReason } from '../../src/wire/reason.js';
import { fixture, fixtures, ip, mac } from './fixtures.js';
import type { Fixture } from './fixtures.js';

const icmp6Fixtures = [...fixtures('icmpv6-'), ...fixtures('ndp-')];

function wrapped(f: Fixture, bytes = f.bytes): Icmpv6Packet {
  const m = new Icmpv6Packet();
  assert.equal(m.wrap(bytes, f.num('icmpOffset'), f.num('icmpLength')), WireReason.Ok, f.name);
  return m;
}

function pseudo(f: Fixture, length: number): number {
  return ipv6PseudoHeaderSum(f.bytes, 14 + 8, f.bytes, 14 + 24, IPPROTO_ICMPV6, length);
}

function parsed(f: Fixture, bytes = f.bytes): Icmpv6Repr | number {
  return parseIcmpv6Repr(wrapped(f, bytes), ip(f.str('src')), ip(f.str('dst')));
}

void test('every ICMPv6 and NDP fixture reads as scapy decoded it; checksums verify and recompute', () => {
  assert.equal(icmp6Fixtures.length, 10);
  for (const f of icmp6Fixtures) {
    const m = wrapped(f);
    assert.equal(m.type, f.num('type'), f.name);
    assert.equal(m.code, f.num('code'), f.name);
    assert.equal(m.checksum, f.num('icmpChksum'), f.name);
    assert.ok(m.verifyChecksum(pseudo(f, m.length)), f.name);
    const b = f.copy();
    const w = wrapped(f, b);
    w.checksum = 0xbeef;
    assert.equal(w.verifyChecksum(pseudo(f, w.length)), false);
    w.fillChecksum(pseudo(f, w.length));
    assert.equal(w.checksum, f.num('icmpChksum'), f.name);
    if (f.has('icmpId')) assert.deepEqual([m.identifier, m.sequenceNumber], [f.num('icmpId'), f.num('icmpSeq')]);
    if (f.has('mtu')) assert.equal(m.mtu, f.num('mtu'));
    if (f.has('pointer')) assert.equal(m.pointer, f.num('pointer'));
    if (f.has('quotedLength')) {
      assert.equal(m.isError, true);
      assert.equal(m.payloadLength, f.num('quotedLength'));
    }
  }
});

void test('NDP option cursor lists each message\'s options; typed readers give their fields', () => {
  for (const f of fixtures('ndp-')) {
    const m = wrapped(f);
    assert.equal(m.checkNdp(), WireReason.Ok, f.name);
    assert.equal(m.ndpOptionsOffset, m.offset + ndpOptionsStart(m.type));
    const c = new NdpOptionCursor();
    c.reset(m);
    const seen: number[][] = [];
    const prefixes: unknown[] = [];
    while (c.next()) {
      seen.push([c.type, c.length]);
      if (c.type === ND_OPT_SOURCE_LINKADDR) assert.equal(formatMac(f.bytes, c.linkLayerAddressOffset), f.str('slla'));
      if (c.type === ND_OPT_TARGET_LINKADDR) assert.equal(formatMac(f.bytes, c.linkLayerAddressOffset), f.str('tlla'));
      if (c.type === ND_OPT_MTU) assert.equal(c.mtu, f.num('optMtu'));
      if (c.type === ND_OPT_PREFIX_INFORMATION) {
        prefixes.push([c.prefixLength, c.prefixFlags >>> 7, (c.prefixFlags >>> 6) & 1, c.validLifetime, c.preferredLifetime,
          formatIp(f.bytes.subarray(c.prefixOffset, c.prefixOffset + 16))]);
      }
    }
    assert.equal(c.reason, WireReason.Ok);
    assert.deepEqual(seen, f.list('options'), f.name);
    if (f.has('prefixes')) assert.deepEqual(prefixes, f.list('prefixes'));
  }
});

void test('NDP records carry the fixed fields and options', () => {
  const ra = parsed(fixture('ndp-ra')) as NdpRouterAdvertRepr;
  const f = fixture('ndp-ra');
  assert.equal(ra.type, ND_ROUTER_ADVERT);
  assert.deepEqual(
    [ra.curHopLimit, ra.managed, ra.other, ra.routerLifetime, ra.reachableTime, ra.retransTimer, ra.mtu],
    [f.num('curHopLimit'), f.num('managed') === 1, f.num('other') === 1, f.num('routerLifetime'), f.num('reachableTime'), f.num('retransTimer'), f.num('optMtu')],
  );
  assert.deepEqual([ra.homeAgent, ra.routerPreference, ra.proxy], [false, f.num('prf'), false]);
  assert.deepEqual(ra.sourceLinkLayerAddress, mac(f.str('slla')));
  assert.deepEqual(
    ra.prefixes.map((p) => [p.prefixLength, p.onLink ? 1 : 0, p.autonomous ? 1 : 0, p.validLifetime, p.preferredLifetime, formatIp(p.prefix)]),
    f.list('prefixes'),
  );
  const ns = parsed(fixture('ndp-ns')) as NdpNeighborSolicitRepr;
  assert.equal(ns.type, ND_NEIGHBOR_SOLICIT);
  assert.equal(formatIp(ns.target), fixture('ndp-ns').str('target'));
  assert.deepEqual(ns.sourceLinkLayerAddress, mac(fixture('ndp-ns').str('slla')));
  const naf = fixture('ndp-na');
  const na = parsed(naf) as NdpNeighborAdvertRepr;
  assert.deepEqual([na.router, na.solicited, na.override], [true, true, true]);
  assert.equal(formatIp(na.target), naf.str('target'));
  assert.deepEqual(na.targetLinkLayerAddress, mac(naf.str('tlla')));
  const rs = parsed(fixture('ndp-rs'));
  assert.deepEqual(rs, { type: ND_ROUTER_SOLICIT, sourceLinkLayerAddress: mac(fixture('ndp-rs').str('slla')) });
});

void test('parse then emit rebuilds every fixture message byte for byte', () => {
  for (const f of icmp6Fixtures) {
    const r = parsed(f);
    assert.notEqual(typeof r, 'number', f.name);
    const repr = r as Icmpv6Repr;
    const out = new Uint8Array(icmpv6ReprLength(repr));
    assert.equal(emitIcmpv6Repr(repr, out, 0, ip(f.str('src')), ip(f.str('dst'))), WireReason.Ok);
    const o = f.num('icmpOffset');
    assert.deepEqual(out, f.bytes.subarray(o, o + f.num('icmpLength')), f.name);
  }
});

void test('malformed NDP and ICMPv6 give the right reason', () => {
  const f = fixture('ndp-ra');
  const o = f.num('icmpOffset');
  const len = f.num('icmpLength');
  const m = new Icmpv6Packet();
  const withChecksum = (edit: (b: Uint8Array) => void): Icmpv6Repr | number => {
    const b = f.copy();
    edit(b);
    const v = wrapped(f, b);
    v.fillChecksum(pseudo(f, len));
    return parseIcmpv6Repr(v, ip(f.str('src')), ip(f.str('dst')));
  };
  for (let n = 0; n < 8; n++) assert.equal(m.wrap(f.bytes, o, n), WireReason.Truncated);
  // RA shorter than its 16-byte fixed part.
  m.wrap(f.bytes, o, 12);
  assert.equal(m.checkNdp(), WireReason.Truncated);
  // Code must be 0.
  assert.equal(withChecksum((b) => { b[o + 1] = 1; }), WireReason.NdpBadCode);
  // An option of length zero (the first option's length byte is at o + 17).
  assert.equal(withChecksum((b) => { b[o + 17] = 0; }), WireReason.BadOptionLength);
  // An option running past the end.
  assert.equal(withChecksum((b) => { b[o + 17] = 30; }), WireReason.BadOptionLength);
  // A prefix option of the wrong length (3 units instead of 4; the rest then reads as options).
  assert.equal(withChecksum((b) => { b[o + 33] = 3; }), WireReason.BadOptionLength);
  // Wrong checksum.
  const bad = f.copy();
  bad[o + 4] = bad[o + 4]! ^ 1;
  assert.equal(parsed(f, bad), WireReason.BadChecksum);
  // Non-NDP types have no NDP check; unknown types are not modelled.
  const echo = wrapped(fixture('icmpv6-echo-request'));
  assert.equal(echo.checkNdp(), WireReason.UnsupportedType);
  assert.equal(echo.ndpOptionsOffset, -1);
  assert.equal(withChecksum((b) => { b[o] = 200; }), WireReason.UnsupportedType);
  // The cursor stops on a zero-length option and says why.
  const c = new NdpOptionCursor();
  const zero = f.copy();
  zero[o + 25] = 0; // the MTU option's length
  c.resetRange(zero, o + 16, o + len);
  let n = 0;
  while (c.next()) n++;
  assert.deepEqual([n, c.reason], [1, WireReason.BadOptionLength]);
});

const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
const macOrNull = fc.option(fc.uint8Array({ minLength: 6, maxLength: 6 }), { nil: null });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const reprArb: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
  fc.record({ type: fc.constantFrom(ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY), identifier: fc.integer({ min: 0, max: 0xffff }), sequenceNumber: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ type: fc.constantFrom(ICMP6_DST_UNREACH, ICMP6_TIME_EXCEEDED), code: fc.integer({ min: 0, max: 6 }), data: fc.uint8Array({ maxLength: 60 }) }),
  fc.record({ type: fc.constant(ICMP6_PACKET_TOO_BIG), mtu: u32, data: fc.uint8Array({ maxLength: 60 }) }),
  fc.record({ type: fc.constant(ICMP6_PARAM_PROB), code: fc.integer({ min: 0, max: 2 }), pointer: u32, data: fc.uint8Array({ maxLength: 60 }) }),
  fc.record({ type: fc.constant(ND_ROUTER_SOLICIT), sourceLinkLayerAddress: macOrNull }),
  fc.record({
    type: fc.constant(ND_ROUTER_ADVERT), curHopLimit: fc.integer({ min: 0, max: 255 }), managed: fc.boolean(), other: fc.boolean(),
    homeAgent: fc.boolean(), routerPreference: fc.integer({ min: 0, max: 3 }), proxy: fc.boolean(),
    routerLifetime: fc.integer({ min: 0, max: 0xffff }), reachableTime: u32, retransTimer: u32, sourceLinkLayerAddress: macOrNull,
    mtu: fc.option(u32, { nil: null }),
    prefixes: fc.array(fc.record({
      prefixLength: fc.integer({ min: 0, max: 128 }), onLink: fc.boolean(), autonomous: fc.boolean(), validLifetime: u32,
      preferredLifetime: u32, prefix: addr,
    }).map((p) => ({ ...p })), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant(ND_NEIGHBOR_SOLICIT), target: addr, sourceLinkLayerAddress: macOrNull }),
  fc.record({ type: fc.constant(ND_NEIGHBOR_ADVERT), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), target: addr, targetLinkLayerAddress: macOrNull }),
).map((r) => ({ ...r }) as Icmpv6Repr);

void test('property: emit then parse gives back the same fields', () => {
  fc.assert(
    fc.property(reprArb, addr, addr, (repr, src, dst) => {
      const b = new Uint8Array(icmpv6ReprLength(repr) + 3);
      assert.equal(emitIcmpv6Repr(repr, b, 3, src, dst), WireReason.Ok);
      const m = new Icmpv6Packet();
      assert.equal(m.wrap(b, 3, b.length - 3), WireReason.Ok);
      assert.deepEqual(parseIcmpv6Repr(m, src, dst), repr);
    }),
  );
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const m = new Icmpv6Packet();
  const c = new NdpOptionCursor();
  const src = ip('fe80::1');
  const dst = ip('ff02::1');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: -1, max: 110 }), (b, len) => {
      if (b.length > 0) b[0] = [1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137, 0][b[0]! % 12]!;
      const r = m.wrap(b, 0, len);
      assert.ok(r === WireReason.Ok || r === WireReason.Truncated);
      if (r !== WireReason.Ok) return;
      if ((b[1]! & 3) !== 3) {
        b[1] = 0;
        m.fillChecksum(ipv6PseudoHeaderSum(src, 0, dst, 0, IPPROTO_ICMPV6, len));
      }
      const p = parseIcmpv6Repr(m, src, dst);
      assert.ok(typeof p === 'number' ? p > 0 : p.type === b[0]);
      c.reset(m);
      while (c.next()) assert.ok(c.offset + c.length <= len);
      assert.ok(Number.isInteger(m.checkNdp()));
    }),
    { numRuns: 3000 },
  );
});
