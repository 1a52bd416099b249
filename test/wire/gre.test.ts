import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatMac } from '../../src/wire/address.js';
import { ipv4PseudoHeaderSum } from '../../src/wire/checksum.js';
import { EtherType, EthernetFrame } from '../../src/wire/ethernet.js';
import {
  emitGreHeader, emitGreRepr, emitNvgreHeader, GRE_FLAG_CHECKSUM, GRE_FLAG_KEY, GRE_FLAG_SEQUENCE, greHeaderLength, GrePacket,
  greReprHeaderLength, parseGreRepr,
} from '../../src/wire/gre.js';
import type { GreRepr } from '../../src/wire/gre.js';
import { IPPROTO_GRE, IPPROTO_UDP } from '../../src/wire/ip.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { WireReason } from '../../src/wire/reason.js';
import { UdpPacket } from '../../src/wire/udp.js';
import { fixture } from './fixtures.js';

function greOf(name: string, bytes?: Uint8Array): GrePacket {
  const f = fixture(name);
  const b = bytes ?? f.bytes;
  const ip = new Ipv4Packet();
  assert.equal(ip.wrap(b, f.num('ipOffset'), b.length - f.num('ipOffset')), WireReason.Ok);
  assert.equal(ip.protocol, IPPROTO_GRE);
  const g = new GrePacket();
  assert.equal(g.wrap(b, ip.payloadOffset, ip.payloadLength), WireReason.Ok);
  return g;
}

void test('GRE with checksum, key and sequence number reads as scapy built it', () => {
  const f = fixture('gre-key-seq-csum-ipv4');
  const g = greOf(f.name);
  assert.equal(g.offset, f.num('greOffset'));
  assert.deepEqual([g.checksumPresent, g.keyPresent, g.sequencePresent, g.version], [true, true, true, 0]);
  assert.equal(g.headerLength, f.num('greHeaderLength'));
  assert.equal(g.protocolType, f.num('greProto'));
  assert.equal(g.key, f.num('key'));
  assert.equal(g.sequenceNumber, f.num('seq'));
  assert.equal(g.checksum, f.num('greChksum'));
  assert.equal(g.length, f.num('greLength'));
  assert.ok(g.verifyChecksum());
  assert.equal(g.checkNvgre(), WireReason.NotNvgre);
  const b = f.copy();
  const w = greOf(f.name, b);
  b[w.offset + 4] = 0;
  assert.equal(w.verifyChecksum(), false);
  w.fillChecksum();
  assert.equal(w.checksum, f.num('greChksum'));
  // The payload is the inner IPv4 packet.
  const inner = new Ipv4Packet();
  assert.equal(inner.wrap(f.bytes, g.payloadOffset, g.payloadLength), WireReason.Ok);
  assert.ok(inner.verifyChecksum());
  assert.deepEqual(parseGreRepr(g), { protocolType: 0x0800, checksumPresent: true, key: f.num('key'), sequenceNumber: f.num('seq') });
});

void test('NVGRE: VSID and FlowID from the key, inner Ethernet frame and its UDP checksum', () => {
  const f = fixture('nvgre');
  const g = greOf('nvgre');
  assert.equal(g.checkNvgre(), WireReason.Ok);
  assert.equal(g.protocolType, EtherType.TransparentEthernetBridging);
  assert.equal(g.virtualSubnetId, f.num('vsid'));
  assert.equal(g.flowId, f.num('flowId'));
  assert.equal(g.payloadOffset, f.num('innerOffset'));
  assert.equal(g.checksum, -1);
  assert.equal(g.sequenceNumber, -1);
  const eth = new EthernetFrame();
  assert.equal(eth.wrap(f.bytes, g.payloadOffset, g.payloadLength), WireReason.Ok);
  assert.equal(formatMac(f.bytes, eth.destinationOffset), '02:aa:00:00:00:02');
  const ip = new Ipv4Packet();
  assert.equal(ip.wrap(f.bytes, eth.payloadOffset, eth.payloadLength), WireReason.Ok);
  const udp = new UdpPacket();
  assert.equal(udp.wrap(f.bytes, ip.payloadOffset, ip.payloadLength), WireReason.Ok);
  assert.equal(udp.offset, f.sub('innerUdp').num('udpOffset'));
  assert.ok(udp.verifyChecksum(ipv4PseudoHeaderSum(f.bytes, ip.sourceOffset, f.bytes, ip.destinationOffset, IPPROTO_UDP, udp.udpLength)));
  // The emitter writes the same 8 bytes.
  const out = new Uint8Array(8);
  assert.equal(emitNvgreHeader(out, 0, f.num('vsid'), f.num('flowId')), WireReason.Ok);
  assert.deepEqual(out, f.bytes.subarray(g.offset, g.offset + 8));
  // Setters rewrite VSID and FlowID independently.
  const b = f.copy();
  const w = greOf('nvgre', b);
  w.virtualSubnetId = 0xabcdef;
  assert.deepEqual([w.virtualSubnetId, w.flowId], [0xabcdef, f.num('flowId')]);
  w.flowId = 7;
  assert.deepEqual([w.virtualSubnetId, w.flowId], [0xabcdef, 7]);
});

void test('malformed GRE: version, reserved bits, truncated optional fields; NVGRE profile', () => {
  const f = fixture('gre-key-seq-csum-ipv4');
  const o = f.num('greOffset');
  const g = new GrePacket();
  const len = f.bytes.length - o;
  for (let n = 0; n < 4; n++) assert.equal(g.wrap(f.bytes, o, n), WireReason.Truncated);
  for (let n = 4; n < 16; n++) assert.equal(g.wrap(f.bytes, o, n), WireReason.HeaderOverrun, `length ${n}`);
  const edit = (at: number, v: number): Uint8Array => {
    const b = f.copy();
    b[o + at] = v;
    return b;
  };
  assert.equal(g.wrap(edit(1, 1), o, len), WireReason.GreBadVersion);
  for (const bit of [0x40, 0x08, 0x04]) assert.equal(g.wrap(edit(0, 0xb0 | bit), o, len), WireReason.GreReservedBits, `bit ${bit}`);
  // Bits 6-12 are ignored on receipt.
  assert.equal(g.wrap(edit(1, 0xf8), o, len), WireReason.Ok);
  const n = fixture('nvgre');
  const no = n.num('greOffset');
  for (const [at, v] of [[0, 0x30], [0, 0xa0], [0, 0x00], [2, 0x08]] as const) {
    const b = n.copy();
    b[no + at] = v;
    if (at === 2) b[no + 3] = 0;
    assert.equal(g.wrap(b, no, b.length - no), WireReason.Ok);
    assert.equal(g.checkNvgre(), WireReason.NotNvgre, `byte ${at} = ${v}`);
  }
  assert.equal(emitNvgreHeader(new Uint8Array(7), 0, 1, 1), WireReason.NoSpace);
  assert.equal(emitGreHeader(new Uint8Array(8), 0, 0x0800, GRE_FLAG_KEY | GRE_FLAG_SEQUENCE, 1, 2), WireReason.NoSpace);
});

const reprArb = fc.record({
  protocolType: fc.integer({ min: 0, max: 0xffff }),
  checksumPresent: fc.boolean(),
  key: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: null }),
  sequenceNumber: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: null }),
}).map((r): GreRepr => ({ ...r }));

void test('property: emit then parse gives back the same fields, checksum included', () => {
  fc.assert(
    fc.property(reprArb, fc.uint8Array({ maxLength: 50 }), (repr, payload) => {
      const n = greReprHeaderLength(repr);
      assert.equal(n, greHeaderLength((repr.checksumPresent ? GRE_FLAG_CHECKSUM : 0) | (repr.key !== null ? GRE_FLAG_KEY : 0) |
        (repr.sequenceNumber !== null ? GRE_FLAG_SEQUENCE : 0)));
      const b = new Uint8Array(n + payload.length);
      b.set(payload, n);
      assert.equal(emitGreRepr(repr, b, 0, payload.length), WireReason.Ok);
      const g = new GrePacket();
      assert.equal(g.wrap(b, 0, b.length), WireReason.Ok);
      assert.deepEqual(parseGreRepr(g), repr);
      if (repr.checksumPresent && payload.length > 0) {
        b[n] = b[n]! ^ 0xff;
        assert.equal(parseGreRepr(g), WireReason.BadChecksum);
      }
    }),
  );
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const g = new GrePacket();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 30 }), fc.integer({ min: -1, max: 32 }), (b, len) => {
      if (b.length > 1) {
        b[0] = b[0]! & 0xb0;
        b[1] = b[1]! & 0xf8;
      }
      const r = g.wrap(b, 0, len);
      if (r === WireReason.Ok) {
        assert.ok(g.payloadOffset <= len);
        assert.ok(Number.isInteger(g.checkNvgre()));
        const p = parseGreRepr(g);
        assert.ok(typeof p === 'number' ? p === WireReason.BadChecksum : p.protocolType === g.protocolType);
      } else {
        assert.ok([WireReason.Truncated, WireReason.HeaderOverrun, WireReason.GreBadVersion, WireReason.GreReservedBits].includes(r as never));
      }
    }),
    { numRuns: 2000 },
  );
});
