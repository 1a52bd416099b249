// ICMP and ICMPv6 on one host with real bytes on the lab adapter: echo replies against scapy's,
// the RST for a closed TCP port, the error messages the host sends (port and protocol
// unreachable, parameter problem) and when it must not, the rate limit, and path MTU learnt from
// fragmentation-needed and packet-too-big messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ICMP4_DST_UNREACH, ICMP4_UNREACH_FRAG_NEEDED } from '../../../../src/wire/icmpv4.js';
import { ICMP6_PACKET_TOO_BIG, ICMP6_PARAM_PROB } from '../../../../src/wire/icmpv6.js';
import { PMTU_AGING_MS } from '../../../../src/drivers/protocol/tcpip/index.js';
import { labHost, sentOfType, ip } from './lab.js';
import { PEER_MAC, fx, fxExpect, hexOf } from './fixtures.js';
import { fromPeer, icmp4, icmp6, ipv4, ipv6, pattern, udp } from './build.js';

/** `a` and `b` equal except at the listed byte offsets. */
function equalExcept(a: Uint8Array, b: Uint8Array, skip: number[]): void {
  assert.equal(a.length, b.length, 'length');
  const x = a.slice();
  const y = b.slice();
  for (const i of skip) {
    x[i] = 0;
    y[i] = 0;
  }
  assert.equal(hexOf(x), hexOf(y));
}

void test('echo request: the reply is the one scapy built (IPv4: but for identification and header checksum; IPv6: exactly)', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    adapter.inject(fx('echo-request-v4'));
    adapter.inject(fx('echo-request-v6'));
    const r4 = sentOfType(adapter, 0x0800, 1);
    const r6 = sentOfType(adapter, 0x86dd, 58);
    assert.equal(r4.length, 1);
    assert.equal(r6.length, 1);
    equalExcept(r4[0]!, fxExpect('echo-request-v4'), [18, 19, 24, 25]);
    assert.equal(hexOf(r6[0]!), hexOf(fxExpect('echo-request-v6')));
  } finally {
    await ndis.shutdown();
  }
});

void test('a SYN to a closed port gets the RST,ACK scapy built', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    adapter.inject(fx('syn-closed-port'));
    const rst = sentOfType(adapter, 0x0800, 6);
    assert.equal(rst.length, 1);
    equalExcept(rst[0]!, fxExpect('syn-closed-port'), [18, 19, 24, 25]);
  } finally {
    await ndis.shutdown();
  }
});

void test('UDP to a closed port: ICMP port unreachable quoting the datagram; protocol unreachable; unrecognized next header', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    const dgram = fx('udp-closed-port-v4');
    adapter.inject(dgram);
    let err = sentOfType(adapter, 0x0800, 1);
    assert.equal(err.length, 1);
    const e = err[0]!;
    assert.deepEqual([e[34], e[35]], [3, 3], 'destination unreachable, port');
    assert.equal(hexOf(e.subarray(42)), hexOf(dgram.subarray(14)), 'the whole datagram is quoted');
    adapter.sent.length = 0;
    adapter.inject(fromPeer(0x0800, ipv4('10.0.0.99', '10.0.0.1', 200, pattern(20))));
    err = sentOfType(adapter, 0x0800, 1);
    assert.deepEqual([err[0]![34], err[0]![35]], [3, 2], 'destination unreachable, protocol');
    adapter.sent.length = 0;
    adapter.inject(fromPeer(0x86dd, ipv6('fd00::99', 'fd00::1', 200, pattern(16))));
    const pp = sentOfType(adapter, 0x86dd, 58);
    assert.equal(pp.length, 1);
    assert.deepEqual([pp[0]![54], pp[0]![55]], [ICMP6_PARAM_PROB, 1]);
    assert.equal(new DataView(pp[0]!.buffer).getUint32(58), 6, 'pointer to the Next Header field');
    assert.equal(stack.counters.ipv4.inUnknownProtos + stack.counters.ipv6.inUnknownProtos, 2);
  } finally {
    await ndis.shutdown();
  }
});

void test('no ICMP error for a broadcast, and no echo reply to a broadcast ping', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const bcast = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const f = fromPeer(0x0800, ipv4('10.0.0.99', '10.0.0.255', 17, udp('10.0.0.99', '10.0.0.255', 4000, 4444, pattern(8))));
    f.set(bcast, 0);
    adapter.inject(f);
    const ping = fromPeer(0x0800, ipv4('10.0.0.99', '255.255.255.255', 1, icmp4(8, 0, 0x00010001, pattern(8))));
    ping.set(bcast, 0);
    adapter.inject(ping);
    assert.equal(adapter.sent.length, 0);
    assert.equal(stack.counters.udp.noPorts, 1);
    assert.equal(stack.counters.ipv4.inBcastPkts, 2);
  } finally {
    await ndis.shutdown();
  }
});

void test('ICMP errors are rate limited (token bucket)', async () => {
  const { ndis, adapter, stack } = await labHost({ stack: { icmpErrorsPerSecond: 10, icmpErrorBurst: 5 } });
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    for (let i = 0; i < 20; i++) adapter.inject(fx('udp-closed-port-v4'));
    assert.equal(sentOfType(adapter, 0x0800, 1).length, 5);
    assert.equal(stack.counters.icmpv4.outRateLimited, 15);
    await ndis.sleep(1000);
    for (let i = 0; i < 20; i++) adapter.inject(fx('udp-closed-port-v4'));
    assert.equal(sentOfType(adapter, 0x0800, 1).length, 10, 'the bucket refilled');
  } finally {
    await ndis.shutdown();
  }
});

void test('path MTU: fragmentation needed lowers the path MTU to 10.0.0.99; datagrams are cut to it; the MTU ages back after 10 minutes', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    const sock = stack.udp.bind(4000);
    sock.send(pattern(1400), '10.0.0.99', 5000);
    const sent = sentOfType(adapter, 0x0800, 17);
    assert.equal(sent.length, 1);
    // A router says the next hop takes 1000 bytes, quoting our header and 8 bytes.
    const quote = sent[0]!.subarray(14, 14 + 28);
    adapter.inject(fromPeer(0x0800, ipv4('10.0.0.99', '10.0.0.1', 1, icmp4(ICMP4_DST_UNREACH, ICMP4_UNREACH_FRAG_NEEDED, 1000, quote))));
    assert.equal(stack.paths.get(ip('10.0.0.99')).mtu(ndis.scheduler.nowMs()), 1000);
    assert.equal(stack.counters.pmtuUpdates, 1);
    adapter.sent.length = 0;
    sock.send(pattern(1400), '10.0.0.99', 5000);
    const frags = sentOfType(adapter, 0x0800, 17);
    assert.equal(frags.length, 2);
    for (const f of frags) assert.ok(f.length - 14 <= 1000);
    assert.equal(frags[0]![20]! & 0x20, 0x20, 'more fragments on the first');
    await ndis.sleep(PMTU_AGING_MS + 1000);
    assert.equal(stack.paths.get(ip('10.0.0.99')).mtu(ndis.scheduler.nowMs()), 1500);
    // An error quoting a packet that is not ours changes nothing.
    const foreign = ipv4('10.0.0.77', '10.0.0.99', 17, pattern(8));
    adapter.inject(fromPeer(0x0800, ipv4('10.0.0.99', '10.0.0.1', 1, icmp4(ICMP4_DST_UNREACH, ICMP4_UNREACH_FRAG_NEEDED, 600, foreign.subarray(0, 28)))));
    assert.equal(stack.counters.pmtuUpdates, 1);
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('packet too big lowers the IPv6 path MTU (never below 1280); larger datagrams go out with fragment headers', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    const sock = stack.udp.bind(4000);
    sock.send(pattern(1400), 'fd00::99', 5000);
    const first = sentOfType(adapter, 0x86dd, 17)[0]!;
    const quote = first.subarray(14);
    adapter.inject(fromPeer(0x86dd, ipv6('fd00::99', 'fd00::1', 58, icmp6('fd00::99', 'fd00::1', ICMP6_PACKET_TOO_BIG, 0, 1000, quote))));
    assert.equal(stack.paths.get(ip('fd00::99')).mtu(ndis.scheduler.nowMs()), 1280);
    adapter.sent.length = 0;
    sock.send(pattern(1400), 'fd00::99', 5000);
    const frags = sentOfType(adapter, 0x86dd, 44);
    assert.equal(frags.length, 2);
    for (const f of frags) assert.ok(f.length - 14 <= 1280);
    const id0 = hexOf(frags[0]!.subarray(58, 62));
    assert.equal(hexOf(frags[1]!.subarray(58, 62)), id0, 'one identification for both fragments');
    assert.equal(frags[0]![54], 17, 'the fragment header names UDP');
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('an echo request with a bad checksum is dropped and counted', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const f = fx('echo-request-v4');
    f[40] = f[40]! ^ 0xff;
    adapter.inject(f);
    assert.equal(adapter.sent.length, 0);
    assert.equal(stack.statistics().interfaces[0]!.drops['transport checksum'], 1);
    assert.equal(stack.statistics().icmpv4.drops['checksum does not verify'], 1);
  } finally {
    await ndis.shutdown();
  }
});
