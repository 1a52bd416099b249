import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp, formatMac } from '../../src/wire/address.js';
import { ARP_REQUEST, ARP_RESPONSE, ArpPacket, emitArpRepr, parseArpRepr } from '../../src/wire/arp.js';
import type { ArpRepr } from '../../src/wire/arp.js';
import { WireReason } from '../../src/wire/reason.js';
import { fixture, ip } from './fixtures.js';

void test('request and reply read as scapy decoded them', () => {
  for (const name of ['arp-request', 'arp-reply']) {
    const f = fixture(name);
    const arp = new ArpPacket();
    const o = f.num('arpOffset');
    assert.equal(arp.wrap(f.bytes, o, f.bytes.length - o), WireReason.Ok, name);
    assert.equal(arp.operation, f.num('op'));
    assert.equal(formatMac(f.bytes, arp.senderHardwareAddressOffset), f.str('hwsrc'));
    assert.equal(formatMac(f.bytes, arp.targetHardwareAddressOffset), f.str('hwdst'));
    assert.equal(arp.senderProtocolAddress, ipv4Number(f.str('psrc')));
    assert.equal(arp.targetProtocolAddress, ipv4Number(f.str('pdst')));
    assert.equal(arp.isGratuitous, false);
    const r = parseArpRepr(arp) as ArpRepr;
    assert.equal(r.operation, f.num('op'));
    assert.equal(formatIp(r.senderProtocolAddress), f.str('psrc'));
    assert.equal(formatIp(r.targetProtocolAddress), f.str('pdst'));
    assert.equal(formatMac(r.senderHardwareAddress), f.str('hwsrc'));
    // Emitting the record rebuilds the 28 bytes exactly.
    const out = new Uint8Array(28);
    assert.equal(emitArpRepr(r, out, 0), WireReason.Ok);
    assert.deepEqual(out, f.bytes.subarray(o, o + 28));
  }
});

function ipv4Number(text: string): number {
  const a = ip(text);
  return ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
}

void test('malformed ARP: truncated, not Ethernet/IPv4, bad operation', () => {
  const f = fixture('arp-request');
  const arp = new ArpPacket();
  for (let n = 0; n < 28; n++) assert.equal(arp.wrap(f.bytes, 14, n), WireReason.Truncated);
  for (const [at, value] of [[14 + 1, 6], [14 + 2, 0x86], [14 + 4, 8], [14 + 5, 16]] as const) {
    const b = f.copy();
    b[at] = value;
    assert.equal(arp.wrap(b, 14, 28), WireReason.ArpNotEthernetIpv4, `byte ${at}`);
  }
  const b = f.copy();
  b[14 + 7] = 3;
  assert.equal(arp.wrap(b, 14, 28), WireReason.Ok);
  assert.equal(parseArpRepr(arp), WireReason.ArpBadOperation);
});

void test('built with wrapForEmit and setters: a reply to the fixture request', () => {
  const req = fixture('arp-request');
  const reply = fixture('arp-reply');
  const out = new Uint8Array(28);
  const arp = new ArpPacket();
  assert.equal(arp.wrapForEmit(out, 0, 28), WireReason.Ok);
  const view = new ArpPacket();
  view.wrap(req.bytes, 14, 28);
  arp.operation = ARP_RESPONSE;
  arp.setSenderHardwareAddress(req.bytes, view.senderHardwareAddressOffset);
  arp.senderProtocolAddress = view.senderProtocolAddress;
  arp.setTargetHardwareAddress(reply.bytes, 14 + 18);
  arp.targetProtocolAddress = view.targetProtocolAddress;
  assert.deepEqual(out, reply.bytes.subarray(14, 42));
  assert.equal(arp.wrapForEmit(out, 1, 27), WireReason.NoSpace);
});

const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 });
const v4Arb = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a.set(b, 12);
  return a;
});

void test('property: emit then parse gives back the same fields', () => {
  fc.assert(
    fc.property(fc.constantFrom(ARP_REQUEST, ARP_RESPONSE), macArb, v4Arb, macArb, v4Arb, (operation, sha, spa, tha, tpa) => {
      const repr: ArpRepr = {
        operation, senderHardwareAddress: sha, senderProtocolAddress: spa, targetHardwareAddress: tha, targetProtocolAddress: tpa,
      };
      const b = new Uint8Array(28);
      assert.equal(emitArpRepr(repr, b, 0), WireReason.Ok);
      const arp = new ArpPacket();
      assert.equal(arp.wrap(b, 0, 28), WireReason.Ok);
      assert.deepEqual(parseArpRepr(arp), repr);
    }),
  );
});

void test('property: any bytes give a value or a reason, never an exception', () => {
  const arp = new ArpPacket();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -1, max: 40 }), (b, len) => {
      const r = arp.wrap(b, 0, len);
      if (r === WireReason.Ok) {
        const p = parseArpRepr(arp);
        assert.ok(typeof p === 'number' ? p === WireReason.ArpBadOperation : p.senderHardwareAddress.length === 6);
      } else {
        assert.ok(r === WireReason.Truncated || r === WireReason.ArpNotEthernetIpv4);
      }
    }),
    { numRuns: 2000 },
  );
});
