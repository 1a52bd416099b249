// Fragmentation and reassembly with real bytes: scapy's fragments of a 3000-byte UDP datagram
// (IPv4 and IPv6) reassembled in any order and with duplicates; overlapping fragments discarding
// the datagram (RFC 5722); the reassembly timeout and its ICMP time-exceeded message; the limit on
// datagrams in reassembly; malformed fragments; and the host fragmenting what it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ICMP6_PARAM_PROB } from '../../../../src/wire/icmpv6.js';
import { labHost, sentOfType } from './lab.js';
import { PEER_MAC, fx, hexOf } from './fixtures.js';
import { fromPeer, ipv4, ipv6, pattern } from './build.js';

const PAYLOAD = fx('udp-payload');
const frags4 = [0, 1, 2].map((i) => fx(`udp-frag4-${i}`));
const frags6 = [0, 1, 2].map((i) => fx(`udp-frag6-${i}`));

void test('IPv4: scapy fragments reassemble in order, reversed, interleaved with duplicates, and split across MDLs', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const sock = stack.udp.bind(5353);
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 1, 0, 0, 2],
    ];
    for (const order of orders) {
      for (const i of order) adapter.inject(frags4[i]!, { cuts: [14, 34, 100] });
      const d = await sock.receive();
      assert.equal(hexOf(d.data), hexOf(PAYLOAD), `order ${order.join(',')}`);
      assert.equal(d.port, 4000);
    }
    assert.equal(stack.counters.ipv4.reasmOks, 3);
    assert.equal(stack.reassembler.active, 0);
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('IPv6: scapy fragments reassemble (fragment header, any order)', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const sock = stack.udp.bind(5353);
    for (const order of [
      [0, 1, 2],
      [2, 0, 1],
    ]) {
      for (const i of order) adapter.inject(frags6[i]!);
      const d = await sock.receive();
      assert.equal(hexOf(d.data), hexOf(PAYLOAD));
      assert.equal(d.family, 'IPv6');
    }
    assert.equal(stack.counters.ipv6.reasmOks, 2);
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('overlapping fragments with different data discard the whole datagram (RFC 5722), counted', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const sock = stack.udp.bind(5353);
    adapter.inject(frags4[0]!);
    // The second fragment moved back by 8 bytes: it overlaps the first.
    const bad = frags4[1]!.slice();
    const off = ((bad[20]! & 0x1f) << 8) | bad[21]!;
    const w = 0x2000 | (off - 1);
    bad[20] = w >> 8;
    bad[21] = w & 0xff;
    bad[24] = 0;
    bad[25] = 0;
    const { internetChecksum } = await import('../../../../src/wire/checksum.js');
    const c = internetChecksum(bad, 14, 20);
    bad[24] = c >> 8;
    bad[25] = c & 0xff;
    adapter.inject(bad);
    adapter.inject(frags4[2]!);
    adapter.inject(frags4[1]!);
    await ndis.sleep(10);
    assert.equal(sock.queued, 0, 'nothing delivered');
    assert.equal(stack.statistics().interfaces[0]!.drops['overlapping fragments'], 1);
    assert.ok(stack.counters.ipv4.reasmFails >= 1);
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('reassembly timeout: after 60 s the datagram is dropped and ICMP time exceeded (code 1) quotes the first fragment', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    adapter.inject(frags4[0]!);
    adapter.inject(frags4[1]!);
    adapter.inject(frags6[0]!);
    await ndis.sleep(59_000);
    assert.equal(stack.reassembler.active, 2);
    assert.equal(adapter.sent.length, 0);
    await ndis.sleep(2000);
    assert.equal(stack.reassembler.active, 0);
    const te4 = sentOfType(adapter, 0x0800, 1);
    assert.equal(te4.length, 1);
    assert.deepEqual([te4[0]![34], te4[0]![35]], [11, 1]);
    assert.equal(hexOf(te4[0]!.subarray(42, 42 + 28)), hexOf(frags4[0]!.subarray(14, 42)), 'quotes the first fragment');
    const te6 = sentOfType(adapter, 0x86dd, 58);
    assert.deepEqual([te6[0]![54], te6[0]![55]], [3, 1]);
    assert.equal(stack.counters.ipv4.reasmTimeouts + stack.counters.ipv6.reasmTimeouts, 2);
    assert.equal(stack.statistics().interfaces[0]!.drops['reassembly timeout'], 2);
  } finally {
    await ndis.shutdown();
  }
});

void test('at most maxReassemblies datagrams are held; fragments of another are refused and counted', async () => {
  const { ndis, adapter, stack } = await labHost({ stack: { maxReassemblies: 2 } });
  try {
    for (const id of [1, 2, 3]) adapter.inject(fromPeer(0x0800, ipv4('10.0.0.99', '10.0.0.1', 17, pattern(64), { id, mf: true })));
    assert.equal(stack.reassembler.active, 2);
    assert.equal(stack.statistics().interfaces[0]!.drops['reassembly limit'], 1);
  } finally {
    await ndis.shutdown();
  }
});

void test('malformed fragments: a non-final fragment whose length is not a multiple of 8 (IPv6: parameter problem at Payload Length)', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    const frag = new Uint8Array(8 + 13);
    frag[0] = 17;
    frag[3] = 1; // offset 0, M set
    frag.set(pattern(13), 8);
    adapter.inject(fromPeer(0x86dd, ipv6('fd00::99', 'fd00::1', 44, frag)));
    const pp = sentOfType(adapter, 0x86dd, 58);
    assert.equal(pp.length, 1);
    assert.equal(pp[0]![54], ICMP6_PARAM_PROB);
    assert.equal(new DataView(pp[0]!.buffer).getUint32(58), 4, 'points at Payload Length');
    adapter.inject(fromPeer(0x0800, ipv4('10.0.0.99', '10.0.0.1', 17, pattern(13), { id: 9, mf: true })));
    assert.equal(stack.statistics().interfaces[0]!.drops['malformed fragment'], 2);
  } finally {
    await ndis.shutdown();
  }
});

void test('sending: a 3000-byte UDP datagram leaves as fragments of at most the MTU that put it back together', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    const sock = stack.udp.bind(4000);
    const data = pattern(3000, 7);
    sock.send(data, '10.0.0.99', 5353);
    const f4 = sentOfType(adapter, 0x0800, 17);
    assert.equal(f4.length, 3);
    const parts: { off: number; bytes: Uint8Array; more: boolean; id: number }[] = f4.map((f) => ({
      off: (((f[20]! & 0x1f) << 8) | f[21]!) * 8,
      more: (f[20]! & 0x20) !== 0,
      id: (f[18]! << 8) | f[19]!,
      bytes: f.subarray(34),
    }));
    assert.ok(f4.every((f) => f.length <= 1514 && (f[20]! & 0x40) === 0), 'within the MTU, DF clear');
    assert.deepEqual(parts.map((p) => p.more), [true, true, false]);
    assert.ok(parts.every((p) => p.id === parts[0]!.id));
    const whole = new Uint8Array(8 + 3000);
    for (const p of parts) whole.set(p.bytes, p.off);
    assert.equal(hexOf(whole.subarray(8)), hexOf(data));
    assert.equal(stack.counters.ipv4.outFragCreates, 3);
    adapter.sent.length = 0;
    sock.send(data, 'fd00::99', 5353);
    const f6 = sentOfType(adapter, 0x86dd, 44);
    assert.equal(f6.length, 3);
    assert.ok(f6.every((f) => f.length <= 1514));
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});
