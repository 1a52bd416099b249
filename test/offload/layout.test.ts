// The frame parser every engine shares: offsets against scapy's, and any bytes parse without throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameLayout, L3, L4, LayoutReason, TcpOptionsKind, parseFrame } from '../../src/offload/layout.js';
import { byName, fixtures, hex } from './fixtures.js';

const layout = new FrameLayout();

void test('upper-layer header offsets match scapy for every header-data split fixture', () => {
  for (const f of fixtures.hds) {
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    if (f.ulp !== null) {
      assert.equal(layout.l4Offset, f.ulp, `${f.name}: l4Offset`);
      assert.equal(layout.l4Offset + layout.l4HeaderLength, f.payload, `${f.name}: header end`);
    }
  }
});

void test('IPv4: options, fragments and identification', () => {
  const opt = hex(byName(fixtures.hds, 'ipv4-options-tcp').hex);
  parseFrame(opt, 0, opt.length, layout);
  assert.equal(layout.l3, L3.Ipv4);
  assert.equal(layout.ipHeaderLength, 24);
  assert.equal(layout.ipv4Options, true);
  assert.equal(layout.l4, L4.Tcp);
  const first = hex(byName(fixtures.hds, 'ipv4-udp-first-fragment').hex);
  parseFrame(first, 0, first.length, layout);
  assert.deepEqual([layout.fragment, layout.laterFragment, layout.l4, layout.reason], [true, false, L4.Udp, 0]);
  const later = hex(byName(fixtures.hds, 'ipv4-udp-later-fragment').hex);
  parseFrame(later, 0, later.length, layout);
  assert.deepEqual([layout.fragment, layout.laterFragment, layout.l4, layout.l4Offset, layout.l4Protocol], [true, true, L4.None, -1, 17]);
  assert.equal(layout.ipId, 77);
});

void test('IPv6: extension headers, Home Address option, type 2 routing header, fragments, ESP', () => {
  const ext = hex(byName(fixtures.rss, 'ipv6-ext-tcp').hex);
  parseFrame(ext, 0, ext.length, layout);
  assert.equal(layout.ipv6ExtensionHeaders, true);
  assert.equal(layout.ipHeaderLength, 40 + 8 + 8);
  assert.equal(layout.l4, L4.Tcp);
  const mip = hex(byName(fixtures.rss, 'ipv6-hao-rh2-tcp').hex);
  parseFrame(mip, 0, mip.length, layout);
  assert.ok(layout.homeAddressOffset > 0 && layout.routingType2AddressOffset > 0);
  const later = hex(byName(fixtures.rss, 'ipv6-later-fragment').hex);
  parseFrame(later, 0, later.length, layout);
  assert.deepEqual([layout.fragment, layout.laterFragment, layout.l4Offset], [true, true, -1]);
  const esp = hex(byName(fixtures.rss, 'ipv6-esp').hex);
  parseFrame(esp, 0, esp.length, layout);
  assert.equal(layout.ipsec, true);
  assert.deepEqual([layout.reason, layout.l4, layout.l4Protocol], [LayoutReason.Ok, L4.Other, 50]);
});

void test('TCP options are classified as none, timestamp only, or other', () => {
  const kinds: [string, number][] = [
    ['ipv4-tcp', TcpOptionsKind.None],
    ['ipv4-tcp-timestamp', TcpOptionsKind.TimestampOnly],
    ['ipv4-tcp-other-options', TcpOptionsKind.Other],
  ];
  for (const [name, kind] of kinds) {
    const b = hex(byName(fixtures.hds, name).hex);
    parseFrame(b, 0, b.length, layout);
    assert.equal(layout.tcpOptions, kind, name);
  }
});

void test('NVGRE: VSID, FlowID and the inner frame offset come from the GRE key', () => {
  for (const f of fixtures.nvgre) {
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    assert.equal(layout.l4, L4.Gre, f.name);
    assert.equal(layout.nvgre, true, f.name);
    assert.equal(layout.virtualSubnetId, f.vsid, f.name);
    assert.equal(layout.flowId, f.flowId, f.name);
    assert.equal(layout.innerFrameOffset, f.innerFrameOffset, f.name);
  }
});

void test('VLAN tags are stepped over and their TCIs kept', () => {
  const b = hex(byName(fixtures.hds, 'vlan-ipv4-tcp').hex);
  parseFrame(b, 0, b.length, layout);
  assert.equal(layout.vlanCount, 1);
  assert.equal(layout.vlanTci0 & 0xfff, 5);
  assert.equal(layout.l3Offset, 18);
});

void test('truncated frames report where the parse stopped', () => {
  const b = hex(byName(fixtures.hds, 'ipv4-tcp').hex);
  parseFrame(b, 0, 10, layout);
  assert.equal(layout.reason, LayoutReason.EthernetTruncated);
  parseFrame(b, 0, 30, layout);
  assert.equal(layout.reason, LayoutReason.Ipv4Malformed);
});

void test('any bytes parse to offsets inside the frame, never an exception', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(20), (bytes, pad) => {
      const buf = new Uint8Array(bytes.length + pad);
      buf.set(bytes, pad);
      const r = parseFrame(buf, pad, bytes.length, layout);
      assert.equal(r, layout.reason);
      for (const off of [layout.l3Offset, layout.l4Offset, layout.srcOffset, layout.dstOffset, layout.innerFrameOffset]) {
        assert.ok(off === -1 || (off >= pad && off <= pad + bytes.length), `offset ${off}`);
      }
      if (layout.l4Offset >= 0 && r === 0) assert.ok(layout.l4Offset + layout.l4HeaderLength <= pad + bytes.length);
    }),
    { numRuns: 3000 },
  );
});

void test('IP-shaped random frames parse without throwing', () => {
  fc.assert(
    fc.property(fc.constantFrom(0x0800, 0x86dd, 0x8100), fc.uint8Array({ minLength: 0, maxLength: 120 }), (type, rest) => {
      const b = new Uint8Array(14 + rest.length);
      b[12] = type >> 8;
      b[13] = type & 0xff;
      b.set(rest, 14);
      if (rest.length > 0) b[14] = type === 0x86dd ? 0x60 | (rest[0]! & 15) : 0x45;
      parseFrame(b, 0, b.length, layout);
      assert.ok(layout.ipEnd <= b.length);
    }),
    { numRuns: 3000 },
  );
});
