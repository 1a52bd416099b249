import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp } from '../../src/wire/address.js';
import { ipv6PseudoHeaderSum, verifyChecksum } from '../../src/wire/checksum.js';
import {
  IPPROTO_AH, IPPROTO_DSTOPTS, IPPROTO_ESP, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_NONE, IPPROTO_ROUTING, IPPROTO_TCP,
  IPPROTO_UDP,
} from '../../src/wire/ip.js';
import {
  emitIpv6FragmentHeader, emitIpv6HomeAddressOption, emitIpv6PaddingOptionsHeader, emitIpv6Repr, emitIpv6RoutingType2Header,
  IP6OPT_HOME_ADDRESS, IP6OPT_PADN, IP6OPT_ROUTER_ALERT, Ipv6HeaderWalk, Ipv6OptionCursor, Ipv6Packet, parseIpv6Repr,
  walkIpv6Headers,
} from '../../src/wire/ipv6.js';
import type { Ipv6Repr } from '../../src/wire/ipv6.js';
import { WireReason } from '../../src/wire/reason.js';
import { fixture, fixtures, ip } from './fixtures.js';
import type { Fixture } from './fixtures.js';

const walkFixtures = fixtures('ipv6-');

function walkOf(f: Fixture, bytes = f.bytes): Ipv6HeaderWalk {
  const out = new Ipv6HeaderWalk();
  const o = f.num('ipOffset');
  walkIpv6Headers(bytes, o, bytes.length - o, out);
  return out;
}

void test('fixed header fields as scapy decoded them', () => {
  for (const f of walkFixtures) {
    const v6 = new Ipv6Packet();
    const o = f.num('ipOffset');
    assert.equal(v6.wrap(f.bytes, o, f.bytes.length - o), WireReason.Ok, f.name);
    assert.equal(v6.version, 6);
    assert.equal(v6.trafficClass, f.num('tc'), f.name);
    assert.equal(v6.flowLabel, f.num('fl'), f.name);
    assert.equal(v6.payloadLength, f.num('plen'), f.name);
    assert.equal(v6.nextHeader, f.num('nh'), f.name);
    assert.equal(v6.hopLimit, f.num('hlim'), f.name);
    const a = new Uint8Array(16);
    v6.copySourceAddress(a);
    assert.equal(formatIp(a), f.str('src'));
    v6.copyDestinationAddress(a);
    assert.equal(formatIp(a), f.str('dst'));
    const r = parseIpv6Repr(v6);
    const out = new Uint8Array(40);
    assert.equal(emitIpv6Repr(r, out, 0), WireReason.Ok);
    assert.deepEqual(out, f.bytes.subarray(o, o + 40), f.name);
  }
});

void test('the walker finds the upper layer, fragment, type 2 routing and home address as scapy placed them', () => {
  assert.ok(walkFixtures.length >= 12);
  for (const f of walkFixtures) {
    const w = walkOf(f);
    const esp = f.name === 'ipv6-esp';
    assert.equal(w.reason, esp ? WireReason.Ipv6EspNotWalkable : WireReason.Ok, f.name);
    assert.equal(w.upperProtocol, f.num('upperProtocol'), f.name);
    assert.equal(w.upperOffset, f.num('upperOffset'), f.name);
    assert.equal(w.end, f.num('ipOffset') + 40 + f.num('plen'), f.name);
    assert.equal(w.fragmentHeaderOffset, f.numOrNull('fragmentOffset') ?? -1, f.name);
    assert.equal(w.routingType2AddressOffset, f.numOrNull('routingType2AddressOffset') ?? -1, f.name);
    assert.equal(w.homeAddressOffset, f.numOrNull('homeAddressOffset') ?? -1, f.name);
    if (w.isFragment) {
      assert.equal(w.fragmentOffset, f.num('fragOffsetUnits') * 8, f.name);
      assert.equal(w.moreFragments, f.num('fragM') === 1, f.name);
      assert.equal(w.fragmentId, f.num('fragId'), f.name);
      assert.equal(w.isLaterFragment, f.num('fragOffsetUnits') !== 0);
    }
    if (w.routingType2AddressOffset >= 0) {
      assert.equal(formatIp(f.bytes.subarray(w.routingType2AddressOffset, w.routingType2AddressOffset + 16)), f.str('routingType2Address'));
    }
    if (w.homeAddressOffset >= 0) {
      assert.equal(formatIp(f.bytes.subarray(w.homeAddressOffset, w.homeAddressOffset + 16)), f.str('homeAddress'));
    }
    if (f.has('ahOffset')) assert.equal(w.ahOffset, f.num('ahOffset'));
    if (esp) assert.equal(w.espOffset, f.num('espOffset'));
    // The byte at nextHeaderFieldOffset names the upper protocol.
    assert.equal(f.bytes[w.nextHeaderFieldOffset], w.upperProtocol, f.name);
  }
});

void test('the walker records each extension header it passes', () => {
  const chain = walkOf(fixture('ipv6-mobile-chain-udp'));
  assert.equal(chain.hopByHopOffset, 54);
  assert.equal(chain.routingOffset, 62);
  assert.equal(chain.routingType, 2);
  assert.equal(chain.destinationOptionsOffset, 86);
  assert.equal(walkOf(fixture('ipv6-routing0-udp')).routingType, 0);
  assert.equal(walkOf(fixture('ipv6-nonext')).upperProtocol, IPPROTO_NONE);
  assert.equal(walkOf(fixture('ipv6-udp')).upperLength, fixture('ipv6-udp').num('plen'));
});

/**
 * The UDP checksum of a Mobile IPv6 or source-routed packet uses the home address as source and
 * the final destination (RFC 8200 8.1, RFC 6275 6.3/6.4): the walker gives every offset needed.
 */
void test('UDP checksums verify with pseudo-header addresses taken from the walk', () => {
  let checked = 0;
  for (const f of walkFixtures) {
    const w = walkOf(f);
    if (w.upperProtocol !== IPPROTO_UDP || w.isFragment || w.ahOffset >= 0) continue;
    const b = f.bytes;
    const o = f.num('ipOffset');
    const src = w.homeAddressOffset >= 0 ? w.homeAddressOffset : o + 8;
    let dst = o + 24;
    if (w.routingType2AddressOffset >= 0) dst = w.routingType2AddressOffset;
    else if (w.routingType === 0) dst = w.routingOffset + 8 + 16 * ((b[w.routingOffset + 1]! >>> 1) - 1);
    const sum = ipv6PseudoHeaderSum(b, src, b, dst, IPPROTO_UDP, w.upperLength);
    assert.ok(verifyChecksum(b, w.upperOffset, w.upperLength, sum), f.name);
    checked++;
  }
  assert.ok(checked >= 7);
});

void test('TLV option cursor walks a hop-by-hop header: router alert then padding', () => {
  const f = fixture('ipv6-hopbyhop-udp');
  const w = walkOf(f);
  const c = new Ipv6OptionCursor();
  c.reset(f.bytes, w.hopByHopOffset, w.end);
  const seen: number[][] = [];
  while (c.next()) seen.push([c.type, c.dataLength]);
  assert.equal(c.reason, WireReason.Ok);
  assert.deepEqual(seen, [[IP6OPT_ROUTER_ALERT, 2], [IP6OPT_PADN, 0]]);
  c.reset(f.bytes, w.end - 4, w.end);
  assert.equal(c.reason, WireReason.HeaderOverrun);
  assert.equal(c.next(), false);
});

void test('emitters build the same extension headers scapy built', () => {
  const frag = fixture('ipv6-fragment-0');
  const fw = walkOf(frag);
  const out = new Uint8Array(24);
  assert.equal(emitIpv6FragmentHeader(out, 0, IPPROTO_UDP, fw.fragmentOffset, fw.moreFragments, fw.fragmentId), WireReason.Ok);
  assert.deepEqual(out.subarray(0, 8), frag.bytes.subarray(fw.fragmentHeaderOffset, fw.fragmentHeaderOffset + 8));

  const rh = fixture('ipv6-routing2-udp');
  const rw = walkOf(rh);
  assert.equal(emitIpv6RoutingType2Header(out, 0, IPPROTO_UDP, rh.bytes, rw.routingType2AddressOffset), WireReason.Ok);
  assert.deepEqual(out, rh.bytes.subarray(rw.routingOffset, rw.routingOffset + 24));

  const hao = fixture('ipv6-homeaddress-udp');
  const hw = walkOf(hao);
  assert.equal(emitIpv6HomeAddressOption(out, 0, IPPROTO_UDP, hao.bytes, hw.homeAddressOffset), WireReason.Ok);
  assert.deepEqual(out, hao.bytes.subarray(hw.destinationOptionsOffset, hw.destinationOptionsOffset + 24));

  assert.equal(emitIpv6FragmentHeader(out, 20, 0, 0, false, 0), WireReason.NoSpace);
  assert.equal(emitIpv6RoutingType2Header(out, 1, 0, out), WireReason.NoSpace);
  assert.equal(emitIpv6HomeAddressOption(out, 1, 0, out), WireReason.NoSpace);
  assert.equal(emitIpv6PaddingOptionsHeader(out, 0, 0, 12), WireReason.BadHeaderLength);
  assert.equal(emitIpv6PaddingOptionsHeader(out, 0, 0, 32), WireReason.NoSpace);
});

/** Copies a fixture and lets a test rewrite bytes of it. */
function edited(f: Fixture, edits: [number, number][]): Uint8Array {
  const b = f.copy();
  for (const [at, v] of edits) b[at] = v;
  return b;
}

void test('malformed chains stop with the right reason', () => {
  const w = new Ipv6HeaderWalk();
  const hbh = fixture('ipv6-hopbyhop-udp');
  const o = 14;
  // Fixed header problems.
  for (let n = 0; n < 40; n++) assert.equal(walkIpv6Headers(hbh.bytes, o, n, w), WireReason.Truncated);
  assert.equal(walkIpv6Headers(edited(hbh, [[o, 0x40]]), o, hbh.bytes.length - o, w), WireReason.BadVersion);
  assert.equal(walkIpv6Headers(hbh.bytes, o, hbh.bytes.length - o - 1, w), WireReason.BadTotalLength);
  // Payload length cut to 4: the hop-by-hop header no longer fits.
  assert.equal(walkIpv6Headers(edited(hbh, [[o + 4, 0], [o + 5, 4]]), o, hbh.bytes.length - o, w), WireReason.HeaderOverrun);
  // Hdr Ext Len claims 5 * 8 + 8 bytes.
  assert.equal(walkIpv6Headers(edited(hbh, [[55, 5]]), o, hbh.bytes.length - o, w), WireReason.HeaderOverrun);
  // A TLV option longer than its header.
  assert.equal(walkIpv6Headers(edited(hbh, [[57, 7]]), o, hbh.bytes.length - o, w), WireReason.BadOptionLength);
  // Hop-by-hop after a destination options header.
  const dst = fixture('ipv6-destopts-udp');
  assert.equal(walkIpv6Headers(edited(dst, [[54, IPPROTO_HOPOPTS]]), o, dst.bytes.length - o, w), WireReason.Ipv6HopByHopNotFirst);
  assert.equal(w.destinationOptionsOffset, 54);
  // Type 2 routing header with Segments Left 0, or with Hdr Ext Len 4.
  const rh2 = fixture('ipv6-routing2-udp');
  assert.equal(walkIpv6Headers(edited(rh2, [[57, 0]]), o, rh2.bytes.length - o, w), WireReason.Ipv6BadRoutingType2);
  // Home Address option of length 15 (the rest of the header reads as a following option).
  const hao = fixture('ipv6-homeaddress-udp');
  assert.equal(walkIpv6Headers(edited(hao, [[61, 15]]), o, hao.bytes.length - o, w), WireReason.Ipv6BadHomeAddressOption);
  // Fragment header cut off: payload length 4.
  const frag = fixture('ipv6-fragment-1');
  assert.equal(walkIpv6Headers(edited(frag, [[o + 4, 0], [o + 5, 4]]), o, frag.bytes.length - o, w), WireReason.HeaderOverrun);
  // AH longer than the packet.
  const ah = fixture('ipv6-ah-udp');
  assert.equal(walkIpv6Headers(edited(ah, [[55, 200]]), o, ah.bytes.length - o, w), WireReason.HeaderOverrun);
  const v6 = new Ipv6Packet();
  assert.equal(v6.wrap(hbh.bytes, o, 39), WireReason.Truncated);
  assert.equal(v6.wrap(edited(hbh, [[o, 0x45]]), o, 60), WireReason.BadVersion);
  assert.equal(v6.wrap(hbh.bytes, o, 50), WireReason.BadTotalLength);
});

interface ExtSpec {
  kind: 'hbh' | 'dst' | 'pad-dst' | 'rh2' | 'frag' | 'ah';
  size: number;
}

const extArb: fc.Arbitrary<ExtSpec> = fc.oneof(
  fc.record({ kind: fc.constant<'dst'>('dst'), size: fc.constant(24) }),
  fc.record({ kind: fc.constant<'pad-dst'>('pad-dst'), size: fc.integer({ min: 1, max: 6 }).map((n) => 8 * n) }),
  fc.record({ kind: fc.constant<'rh2'>('rh2'), size: fc.constant(24) }),
  fc.record({ kind: fc.constant<'frag'>('frag'), size: fc.constant(8) }),
  fc.record({ kind: fc.constant<'ah'>('ah'), size: fc.integer({ min: 1, max: 5 }).map((n) => 8 * n + 8) }),
).map((e) => ({ ...e }));

function protoOf(kind: ExtSpec['kind']): number {
  switch (kind) {
    case 'hbh':
      return IPPROTO_HOPOPTS;
    case 'dst':
    case 'pad-dst':
      return IPPROTO_DSTOPTS;
    case 'rh2':
      return IPPROTO_ROUTING;
    case 'frag':
      return IPPROTO_FRAGMENT;
    case 'ah':
      return IPPROTO_AH;
  }
}

void test('property: chains built with the emitters are walked to the right offsets', () => {
  const w = new Ipv6HeaderWalk();
  fc.assert(
    fc.property(
      fc.boolean(), fc.integer({ min: 1, max: 6 }), fc.array(extArb, { maxLength: 6 }), fc.constantFrom(IPPROTO_UDP, IPPROTO_TCP, IPPROTO_NONE, 200),
      fc.nat(40), fc.nat(7),
      (withHbh, hbhUnits, rest, upper, payload, shift) => {
        const chain: ExtSpec[] = withHbh ? [{ kind: 'hbh', size: 8 * hbhUnits }, ...rest] : rest;
        const headers = chain.reduce((s, e) => s + e.size, 0);
        const total = 40 + headers + payload;
        const b = new Uint8Array(new ArrayBuffer(total + shift), shift);
        const v6 = new Ipv6Packet();
        v6.wrapForEmit(b, 0, total);
        v6.payloadLength = headers + payload;
        v6.nextHeader = chain.length > 0 ? protoOf(chain[0]!.kind) : upper;
        let p = 40;
        const expect = { frag: -1, rh2: -1, hao: -1, ah: -1 };
        for (let i = 0; i < chain.length; i++) {
          const e = chain[i]!;
          const next = i + 1 < chain.length ? protoOf(chain[i + 1]!.kind) : upper;
          switch (e.kind) {
            case 'hbh':
            case 'pad-dst':
              assert.equal(emitIpv6PaddingOptionsHeader(b, p, next, e.size), WireReason.Ok);
              break;
            case 'dst':
              assert.equal(emitIpv6HomeAddressOption(b, p, next, b, 8), WireReason.Ok);
              if (expect.hao < 0) expect.hao = p + 8;
              break;
            case 'rh2':
              assert.equal(emitIpv6RoutingType2Header(b, p, next, b, 24), WireReason.Ok);
              if (expect.rh2 < 0) expect.rh2 = p + 8;
              break;
            case 'frag':
              assert.equal(emitIpv6FragmentHeader(b, p, next, 0, true, 0xabcdef), WireReason.Ok);
              if (expect.frag < 0) expect.frag = p;
              break;
            case 'ah':
              b[p] = next;
              b[p + 1] = e.size / 4 - 2;
              if (expect.ah < 0) expect.ah = p;
              break;
          }
          p += e.size;
        }
        assert.equal(walkIpv6Headers(b, 0, total, w), WireReason.Ok);
        assert.deepEqual(
          [w.upperProtocol, w.upperOffset, w.fragmentHeaderOffset, w.routingType2AddressOffset, w.homeAddressOffset, w.ahOffset],
          [upper, p, expect.frag, expect.rh2, expect.hao, expect.ah],
        );
        if (expect.frag >= 0) assert.deepEqual([w.moreFragments, w.fragmentId, w.fragmentOffset], [true, 0xabcdef, 0]);
        // Cutting the packet anywhere inside the chain is an overrun, never a wrong answer.
        if (headers > 0) {
          const cut = 40 + (payload % headers);
          b[4] = (cut - 40) >>> 8;
          b[5] = (cut - 40) & 0xff;
          const r = walkIpv6Headers(b, 0, total, w);
          assert.ok(r === WireReason.HeaderOverrun || (r === WireReason.Ok && w.upperOffset <= cut), `cut at ${cut}: ${r}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

void test('a later fragment stops the walk after its fragment header', () => {
  const b = new Uint8Array(40 + 8 + 16);
  const v6 = new Ipv6Packet();
  v6.wrapForEmit(b, 0, b.length);
  v6.payloadLength = 24;
  v6.nextHeader = IPPROTO_FRAGMENT;
  // What follows the fragment header is data that happens to look like a routing header.
  emitIpv6FragmentHeader(b, 40, IPPROTO_ROUTING, 1448, false, 7);
  b[48] = IPPROTO_ESP;
  b[49] = 200;
  const w = new Ipv6HeaderWalk();
  assert.equal(walkIpv6Headers(b, 0, b.length, w), WireReason.Ok);
  assert.deepEqual([w.upperProtocol, w.upperOffset, w.fragmentOffset, w.isLaterFragment, w.routingOffset], [IPPROTO_ROUTING, 48, 1448, true, -1]);
});

void test('ESP: recognised, not walked', () => {
  const f = fixture('ipv6-esp');
  const w = walkOf(f);
  assert.equal(w.reason, WireReason.Ipv6EspNotWalkable);
  assert.equal(w.upperProtocol, IPPROTO_ESP);
  assert.equal(w.espOffset, 54);
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const w = new Ipv6HeaderWalk();
  const v6 = new Ipv6Packet();
  const c = new Ipv6OptionCursor();
  const seeds = walkFixtures.map((f) => f.bytes.subarray(14));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 120 }).map((b) => {
          if (b.length > 6) {
            b[0] = 0x60;
            b[4] = 0;
            b[5] = Math.max(0, b.length - 40);
            b[6] = [0, 43, 44, 51, 50, 60, 59, 135][b[6]! & 7]!;
          }
          return b;
        }),
        fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
          .map(([seed, edits]) => {
            const b = seed.slice();
            for (const [at, v] of edits) b[at % b.length] = v;
            return b;
          }),
      ),
      fc.integer({ min: -1, max: 130 }),
      (b, len) => {
        const r = walkIpv6Headers(b, 0, Math.min(len, b.length), w);
        assert.ok(Number.isInteger(r) && r >= 0);
        assert.equal(w.reason, r);
        if (r === WireReason.Ok) assert.ok(w.upperOffset >= 40 && w.upperOffset <= w.end);
        if (v6.wrap(b, 0, b.length) === WireReason.Ok) {
          const r2 = v6.walk(w);
          assert.ok(Number.isInteger(r2));
          if (w.hopByHopOffset >= 0) {
            c.reset(b, w.hopByHopOffset, w.end);
            while (c.next()) assert.ok(c.dataOffset + c.dataLength <= w.end);
          }
        }
      },
    ),
    { numRuns: 3000 },
  );
});

const addrArb = fc.uint8Array({ minLength: 16, maxLength: 16 });

void test('property: fixed header emit then parse gives back the same fields', () => {
  fc.assert(
    fc.property(
      addrArb, addrArb, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xfffff }), fc.nat(64),
      (source, destination, nextHeader, hopLimit, trafficClass, flowLabel, payloadLength) => {
        const repr: Ipv6Repr = { source, destination, nextHeader, hopLimit, trafficClass, flowLabel, payloadLength };
        const b = new Uint8Array(40 + payloadLength);
        assert.equal(emitIpv6Repr(repr, b, 0), WireReason.Ok);
        const v6 = new Ipv6Packet();
        assert.equal(v6.wrap(b, 0, b.length), WireReason.Ok);
        assert.deepEqual(parseIpv6Repr(v6), repr);
      },
    ),
  );
});

void test('home address option constant and address helper agree with RFC 6275', () => {
  assert.equal(IP6OPT_HOME_ADDRESS, 0xc9);
  const hao = fixture('ipv6-homeaddress-udp');
  const w = walkOf(hao);
  assert.deepEqual(hao.bytes.subarray(w.homeAddressOffset, w.homeAddressOffset + 16), ip(hao.str('homeAddress')));
});
