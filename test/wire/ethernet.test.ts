import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatMac } from '../../src/wire/address.js';
import {
  emitEthernetRepr, EtherType, EthernetFrame, EthernetLayer3, ethernetReprHeaderLength, findEthernetLayer3,
  insertVlanTag, parseEthernetRepr, removeVlanTag, VlanTag, vlanTci,
} from '../../src/wire/ethernet.js';
import type { EthernetRepr } from '../../src/wire/ethernet.js';
import { WireReason } from '../../src/wire/reason.js';
import { fixture, mac } from './fixtures.js';

void test('untagged frame: addresses, EtherType and layer 3 offset as scapy decoded them', () => {
  const f = fixture('eth-ipv4-udp');
  const frame = new EthernetFrame();
  assert.equal(frame.wrap(f.bytes, 0, f.bytes.length), WireReason.Ok);
  assert.equal(formatMac(f.bytes, frame.destinationOffset), f.str('ethDst'));
  assert.equal(formatMac(f.bytes, frame.sourceOffset), f.str('ethSrc'));
  assert.equal(frame.etherType, f.num('type'));
  assert.equal(frame.isTagged, false);
  assert.equal(frame.isBroadcast, false);
  assert.equal(frame.isMulticast, false);
  assert.equal(frame.payloadOffset, 14);
  assert.equal(frame.payloadLength, f.bytes.length - 14);
  const l3 = new EthernetLayer3();
  assert.equal(frame.findLayer3(l3), WireReason.Ok);
  assert.deepEqual([l3.etherType, l3.offset, l3.tagCount, l3.outerTagOffset, l3.innerTagOffset], [EtherType.Ipv4, f.num('l3Offset'), 0, -1, -1]);
  const out = new Uint8Array(6);
  frame.copySource(out);
  assert.deepEqual(out, mac(f.str('ethSrc')));
});

void test('802.1Q frame: the tag fields and the layer 3 offset past it', () => {
  const f = fixture('eth-dot1q-ipv4-udp');
  const frame = new EthernetFrame();
  assert.equal(frame.wrap(f.bytes, 0, f.bytes.length), WireReason.Ok);
  assert.equal(frame.isTagged, true);
  const l3 = new EthernetLayer3();
  assert.equal(frame.findLayer3(l3), WireReason.Ok);
  assert.equal(l3.tagCount, 1);
  assert.equal(l3.etherType, f.num('l3Type'));
  assert.equal(l3.offset, f.num('l3Offset'));
  const [tpid, prio, dei, vid] = f.list('tags')[0] as number[];
  const tag = new VlanTag();
  assert.equal(tag.wrap(f.bytes, l3.outerTagOffset, f.bytes.length - l3.outerTagOffset), WireReason.Ok);
  assert.deepEqual([tag.tpid, tag.priority, tag.dropEligible ? 1 : 0, tag.vlanId], [tpid, prio, dei, vid]);
  assert.equal(tag.nextEtherType, EtherType.Ipv4);
  assert.equal(tag.tci, vlanTci(prio!, dei === 1, vid!));
});

void test('802.1ad QinQ frame: both tags walked, outer S-TAG then inner C-TAG', () => {
  const f = fixture('eth-qinq-ipv6-udp');
  const l3 = new EthernetLayer3();
  assert.equal(findEthernetLayer3(f.bytes, 0, f.bytes.length, l3), WireReason.Ok);
  assert.equal(l3.tagCount, 2);
  assert.equal(l3.etherType, EtherType.Ipv6);
  assert.equal(l3.offset, f.num('l3Offset'));
  const tags = f.list('tags') as number[][];
  const tag = new VlanTag();
  for (const [i, at] of [l3.outerTagOffset, l3.innerTagOffset].entries()) {
    tag.wrap(f.bytes, at, f.bytes.length - at);
    assert.deepEqual([tag.tpid, tag.priority, tag.dropEligible ? 1 : 0, tag.vlanId], tags[i]);
  }
  const repr = parseEthernetRepr(frameOf(f.bytes));
  assert.notEqual(typeof repr, 'number');
  const r = repr as EthernetRepr;
  assert.deepEqual(r.tags.map((t) => [t.tpid, t.priority, t.dropEligible ? 1 : 0, t.vlanId]), tags);
  assert.equal(r.etherType, EtherType.Ipv6);
});

function frameOf(bytes: Uint8Array): EthernetFrame {
  const frame = new EthernetFrame();
  assert.equal(frame.wrap(bytes, 0, bytes.length), WireReason.Ok);
  return frame;
}

void test('emitting the parsed header of each fixture reproduces its bytes', () => {
  for (const name of ['eth-ipv4-udp', 'eth-dot1q-ipv4-udp', 'eth-qinq-ipv6-udp', 'arp-request']) {
    const f = fixture(name);
    const r = parseEthernetRepr(frameOf(f.bytes)) as EthernetRepr;
    const n = ethernetReprHeaderLength(r);
    const out = new Uint8Array(n);
    assert.equal(emitEthernetRepr(r, out, 0), WireReason.Ok);
    assert.deepEqual(out, f.bytes.subarray(0, n), name);
  }
});

void test('broadcast destination is reported', () => {
  const f = fixture('arp-request');
  const frame = frameOf(f.bytes);
  assert.equal(frame.isBroadcast, true);
  assert.equal(frame.isMulticast, true);
});

void test('short frames and frames ending inside a tag are Truncated', () => {
  const f = fixture('eth-qinq-ipv6-udp');
  const frame = new EthernetFrame();
  const l3 = new EthernetLayer3();
  for (let n = 0; n < 14; n++) assert.equal(frame.wrap(f.bytes, 0, n), WireReason.Truncated);
  for (let n = 14; n < 22; n++) assert.equal(findEthernetLayer3(f.bytes, 0, n, l3), WireReason.Truncated, `length ${n}`);
  assert.equal(findEthernetLayer3(f.bytes, 0, 22, l3), WireReason.Ok);
  // A range that runs past the array is refused, not read.
  assert.equal(frame.wrap(f.bytes, 10, f.bytes.length), WireReason.Truncated);
  assert.equal(frame.wrap(f.bytes, -1, 20), WireReason.Truncated);
  const tag = new VlanTag();
  assert.equal(tag.wrap(f.bytes, f.bytes.length - 3, 3), WireReason.Truncated);
});

void test('insertVlanTag then removeVlanTag: the tag reads back and the frame is restored', () => {
  const f = fixture('eth-ipv4-udp');
  const buf = new Uint8Array(f.bytes.length + 4);
  buf.set(f.bytes, 4);
  const start = insertVlanTag(buf, 4, f.bytes.length, EtherType.Ieee8021Q, vlanTci(6, true, 4094));
  assert.equal(start, 0);
  const l3 = new EthernetLayer3();
  assert.equal(findEthernetLayer3(buf, start, f.bytes.length + 4, l3), WireReason.Ok);
  assert.equal(l3.tagCount, 1);
  assert.equal(l3.offset, 18);
  const tag = new VlanTag();
  tag.wrap(buf, l3.outerTagOffset, 4);
  assert.deepEqual([tag.priority, tag.dropEligible, tag.vlanId], [6, true, 4094]);
  assert.deepEqual(buf.subarray(18), f.bytes.subarray(14));
  const back = removeVlanTag(buf, start, f.bytes.length + 4);
  assert.equal(back, 4);
  assert.deepEqual(buf.subarray(4), f.bytes);
  // No headroom, no tag, or too short: refused.
  assert.equal(insertVlanTag(buf, 2, 60, EtherType.Ieee8021Q, 1), -1);
  assert.equal(removeVlanTag(buf, 4, f.bytes.length), -1);
  assert.equal(removeVlanTag(buf, 0, 10), -1);
});

void test('VlanTag setters write only their field', () => {
  const b = new Uint8Array(6);
  const tag = new VlanTag();
  tag.wrap(b, 0, 6);
  tag.tpid = EtherType.Ieee8021ad;
  tag.vlanId = 0xabc;
  tag.priority = 5;
  tag.dropEligible = true;
  assert.deepEqual([tag.tpid, tag.priority, tag.dropEligible, tag.vlanId], [0x88a8, 5, true, 0xabc]);
  tag.dropEligible = false;
  tag.priority = 2;
  assert.deepEqual([tag.priority, tag.dropEligible, tag.vlanId], [2, false, 0xabc]);
  assert.equal(tag.tci, vlanTci(2, false, 0xabc));
});

const tagArb = fc.record({
  tpid: fc.constantFrom(EtherType.Ieee8021Q, EtherType.Ieee8021ad),
  priority: fc.integer({ min: 0, max: 7 }),
  dropEligible: fc.boolean(),
  vlanId: fc.integer({ min: 0, max: 4095 }),
}).map((t) => ({ ...t })); // plain objects (fast-check records have a null prototype)
const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 });

void test('property: emit then parse gives back the same header and tags', () => {
  fc.assert(
    fc.property(
      macArb, macArb, fc.array(tagArb, { maxLength: 4 }),
      fc.integer({ min: 0x600, max: 0xffff }).filter((t) => t !== 0x8100 && t !== 0x88a8),
      fc.nat(20),
      (destination, source, tags, etherType, pad) => {
        const repr: EthernetRepr = { destination, source, tags, etherType };
        const bytes = new Uint8Array(ethernetReprHeaderLength(repr) + pad);
        assert.equal(emitEthernetRepr(repr, bytes, 0), WireReason.Ok);
        const parsed = parseEthernetRepr(frameOf(bytes));
        assert.deepEqual(parsed, repr);
      },
    ),
  );
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const frame = new EthernetFrame();
  const l3 = new EthernetLayer3();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -2, max: 70 }), fc.integer({ min: -2, max: 70 }), (b, off, len) => {
      const r = frame.wrap(b, off, len);
      assert.ok(r === WireReason.Ok || r === WireReason.Truncated);
      const w = findEthernetLayer3(b, off, len, l3);
      assert.ok(w === WireReason.Ok || w === WireReason.Truncated);
      if (r === WireReason.Ok) {
        const p = parseEthernetRepr(frame);
        assert.ok(typeof p === 'number' || p.tags.length === l3.tagCount);
        if (w === WireReason.Ok) assert.ok(l3.offset <= off + len);
      }
    }),
    { numRuns: 2000 },
  );
});

void test('emit refuses space that is too small', () => {
  const repr: EthernetRepr = { destination: new Uint8Array(6), source: new Uint8Array(6), tags: [], etherType: 0x0800 };
  assert.equal(emitEthernetRepr(repr, new Uint8Array(13), 0), WireReason.NoSpace);
  assert.equal(emitEthernetRepr(repr, new Uint8Array(20), 7), WireReason.NoSpace);
});
