import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipv4PseudoHeaderSum } from '../../src/wire/checksum.js';
import { EtherType, EthernetFrame } from '../../src/wire/ethernet.js';
import { IPPROTO_UDP } from '../../src/wire/ip.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import { Ipv6HeaderWalk, Ipv6Packet } from '../../src/wire/ipv6.js';
import { WireReason } from '../../src/wire/reason.js';
import { UdpPacket } from '../../src/wire/udp.js';
import { emitVxlanHeader, VXLAN_PORT, VxlanPacket } from '../../src/wire/vxlan.js';
import { fixture } from './fixtures.js';

void test('VXLAN over IPv4: UDP to 4789, VNI, and the inner frame decoded down to its UDP checksum', () => {
  const f = fixture('vxlan');
  const outer = new Ipv4Packet();
  assert.equal(outer.wrap(f.bytes, 14, f.bytes.length - 14), WireReason.Ok);
  const udp = new UdpPacket();
  assert.equal(udp.wrap(f.bytes, outer.payloadOffset, outer.payloadLength), WireReason.Ok);
  assert.equal(udp.destinationPort, VXLAN_PORT);
  assert.ok(udp.verifyChecksum(ipv4PseudoHeaderSum(f.bytes, outer.sourceOffset, f.bytes, outer.destinationOffset, IPPROTO_UDP, udp.udpLength)));
  const vx = new VxlanPacket();
  assert.equal(vx.wrap(f.bytes, udp.payloadOffset, udp.payloadLength), WireReason.Ok);
  assert.equal(vx.offset, f.num('vxlanOffset'));
  assert.equal(vx.vni, f.num('vni'));
  assert.equal(vx.flags, 0x08);
  assert.equal(vx.payloadOffset, f.num('innerOffset'));
  const eth = new EthernetFrame();
  assert.equal(eth.wrap(f.bytes, vx.payloadOffset, vx.payloadLength), WireReason.Ok);
  assert.equal(eth.etherType, EtherType.Ipv4);
  const ip = new Ipv4Packet();
  assert.equal(ip.wrap(f.bytes, eth.payloadOffset, eth.payloadLength), WireReason.Ok);
  const inner = new UdpPacket();
  assert.equal(inner.wrap(f.bytes, ip.payloadOffset, ip.payloadLength), WireReason.Ok);
  assert.equal(inner.offset, f.sub('innerUdp').num('udpOffset'));
  assert.ok(inner.verifyChecksum(ipv4PseudoHeaderSum(f.bytes, ip.sourceOffset, f.bytes, ip.destinationOffset, IPPROTO_UDP, inner.udpLength)));
  const out = new Uint8Array(8);
  assert.equal(emitVxlanHeader(out, 0, f.num('vni')), WireReason.Ok);
  assert.deepEqual(out, f.bytes.subarray(vx.offset, vx.offset + 8));
});

void test('VXLAN over IPv6', () => {
  const f = fixture('vxlan-ipv6');
  const v6 = new Ipv6Packet();
  assert.equal(v6.wrap(f.bytes, 14, f.bytes.length - 14), WireReason.Ok);
  const w = new Ipv6HeaderWalk();
  assert.equal(v6.walk(w), WireReason.Ok);
  assert.equal(w.upperProtocol, IPPROTO_UDP);
  const vx = new VxlanPacket();
  assert.equal(vx.wrap(f.bytes, w.upperOffset + 8, w.upperLength - 8), WireReason.Ok);
  assert.equal(vx.offset, f.num('vxlanOffset'));
  assert.equal(vx.vni, f.num('vni'));
});

void test('malformed VXLAN: truncated, I flag clear; reserved bits ignored', () => {
  const f = fixture('vxlan');
  const o = f.num('vxlanOffset');
  const vx = new VxlanPacket();
  for (let n = 0; n < 8; n++) assert.equal(vx.wrap(f.bytes, o, n), WireReason.Truncated);
  const b = f.copy();
  b[o] = 0x00;
  assert.equal(vx.wrap(b, o, b.length - o), WireReason.VxlanNoVni);
  b[o] = 0xff;
  b[o + 7] = 0xff;
  assert.equal(vx.wrap(b, o, b.length - o), WireReason.Ok);
  assert.equal(vx.vni, f.num('vni'));
  vx.vni = 0x000001;
  assert.equal(vx.vni, 1);
  assert.equal(b[o + 7], 0xff);
  assert.equal(emitVxlanHeader(new Uint8Array(8), 1, 5), WireReason.NoSpace);
});

void test('property: emit then wrap gives back the VNI; any bytes give a value or a reason', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.nat(4), (vni, at) => {
      const b = new Uint8Array(at + 8 + 14);
      assert.equal(emitVxlanHeader(b, at, vni), WireReason.Ok);
      const vx = new VxlanPacket();
      assert.equal(vx.wrap(b, at, b.length - at), WireReason.Ok);
      assert.equal(vx.vni, vni);
      assert.equal(vx.payloadLength, 14);
    }),
  );
  const vx = new VxlanPacket();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), fc.integer({ min: -1, max: 12 }), (b, len) => {
      const r = vx.wrap(b, 0, len);
      assert.ok(r === WireReason.Ok || r === WireReason.Truncated || r === WireReason.VxlanNoVni);
      if (r === WireReason.Ok) assert.ok(vx.vni >= 0 && vx.vni <= 0xffffff);
    }),
    { numRuns: 1000 },
  );
});
