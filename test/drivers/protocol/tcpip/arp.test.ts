// ARP (RFC 826) on one host, driven by scapy-made frames on the lab adapter: replies, learning,
// resolution with retries and timeout, the queue of packets waiting for resolution, the
// reachability machine of the neighbor cache (RFC 4861 7.3.2 applied to ARP), announcements and
// address conflicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PingError } from '../../../../src/drivers/protocol/tcpip/index.js';
import { internetChecksum } from '../../../../src/wire/checksum.js';
import { labHost, sentOfType } from './lab.js';
import { PEER_MAC, fx, fxExpect, hexOf } from './fixtures.js';

/** Outcome of a promise, observed without leaving a rejection unhandled. */
function settle<T>(p: Promise<T>): { done: () => boolean; value: () => T; error: () => unknown } {
  let state = 0;
  let v: T;
  let e: unknown;
  p.then(
    (x) => {
      state = 1;
      v = x;
    },
    (x: unknown) => {
      state = 2;
      e = x;
    },
  );
  return { done: () => state !== 0, value: () => v, error: () => e };
}

/** The echo reply to an echo request frame the host sent (addresses and MACs swapped, type 0). */
function echoReplyTo(req: Uint8Array): Uint8Array {
  const f = req.slice();
  f.set(req.subarray(6, 12), 0);
  f.set(req.subarray(0, 6), 6);
  f.set(req.subarray(30, 34), 26);
  f.set(req.subarray(26, 30), 30);
  f[22] = 64;
  f[24] = 0;
  f[25] = 0;
  const ihl = (f[14]! & 15) * 4;
  f.set([(internetChecksum(f, 14, ihl) >> 8) & 0xff, internetChecksum(f, 14, ihl) & 0xff], 24);
  const icmp = 14 + ihl;
  f[icmp] = 0;
  f[icmp + 2] = 0;
  f[icmp + 3] = 0;
  const c = internetChecksum(f, icmp, f.length - icmp);
  f[icmp + 2] = c >> 8;
  f[icmp + 3] = c & 0xff;
  return f;
}

void test('answers an ARP request for its address with the reply scapy built, and learns the sender', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    adapter.inject(fx('arp-request-for-us'));
    const replies = sentOfType(adapter, 0x0806);
    assert.equal(replies.length, 1);
    assert.equal(hexOf(replies[0]!), hexOf(fxExpect('arp-request-for-us')));
    const e = stack.neighbors.list().find((n) => n.address === '10.0.0.99');
    assert.equal(e?.mac, PEER_MAC);
    assert.equal(e?.state, 'stale');
    assert.equal(stack.counters.neighbor.arpRequestsIn, 1);
    assert.equal(stack.counters.neighbor.arpRepliesOut, 1);
  } finally {
    await ndis.shutdown();
  }
});

void test('a request for another address is ignored: no answer, nothing learnt, counted', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    adapter.inject(fx('arp-request-for-other'));
    assert.equal(sentOfType(adapter, 0x0806).length, 0);
    assert.equal(stack.neighbors.list().length, 0);
    assert.equal(stack.statistics().interfaces[0]!.drops['ARP not for this host'], 1);
  } finally {
    await ndis.shutdown();
  }
});

void test('resolution: requests 1 s apart, three of them, then the waiting packet is dropped and the ping reports host unreachable', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const t0 = ndis.scheduler.nowMs();
    const ping = settle(stack.ping('10.0.0.99', { timeoutMs: 6000 }));
    await ndis.sleep(10);
    assert.equal(hexOf(sentOfType(adapter, 0x0806)[0]!), hexOf(fx('arp-request-expected')));
    await ndis.sleep(3500);
    const requests = adapter.sent.filter((f) => f.bytes[12] === 0x08 && f.bytes[13] === 0x06);
    assert.equal(requests.length, 3);
    assert.deepEqual(requests.map((r) => Math.round(r.at - t0)), [0, 1000, 2000]);
    assert.equal(stack.neighbors.list().find((n) => n.address === '10.0.0.99')?.state, 'unreachable');
    assert.equal(stack.statistics().interfaces[0]!.drops['neighbor unreachable'], 1);
    assert.equal(sentOfType(adapter, 0x0800).length, 0, 'the echo request never left');
    await ndis.sleep(3000);
    assert.ok(ping.done());
    assert.ok(ping.error() instanceof PingError && (ping.error() as PingError).code === 'EHOSTUNREACH');
  } finally {
    await ndis.shutdown();
  }
});

void test('resolution completes with the reply: the queued echo request leaves with the MAC learnt, and the ping completes', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const ping = settle(stack.ping('10.0.0.99'));
    await ndis.sleep(10);
    assert.equal(sentOfType(adapter, 0x0800).length, 0);
    adapter.inject(fx('arp-reply-from-peer'));
    const echo = sentOfType(adapter, 0x0800, 1);
    assert.equal(echo.length, 1);
    assert.equal(hexOf(echo[0]!.subarray(0, 6)), PEER_MAC.replace(/:/g, ''));
    assert.equal(stack.neighbors.list()[0]?.state, 'reachable');
    adapter.inject(echoReplyTo(echo[0]!));
    await ndis.sleep(1);
    assert.ok(ping.done());
    assert.equal(typeof ping.value(), 'number');
  } finally {
    await ndis.shutdown();
  }
});

void test('reachability: REACHABLE turns STALE, a send moves it to DELAY, then PROBE with unicast requests; the answer makes it REACHABLE', async () => {
  const { ndis, adapter, stack } = await labHost({ stack: { neighbor: { reachableTimeMs: 1000, delayFirstProbeMs: 2000 } } });
  try {
    const u = stack.udp.bind(0);
    u.send('a', '10.0.0.99', 9);
    await ndis.sleep(1);
    adapter.inject(fx('arp-reply-from-peer'));
    assert.equal(stack.neighbors.list()[0]?.state, 'reachable');
    await ndis.sleep(1600); // randomized reachable time is at most 1.5 x 1000 ms
    assert.equal(stack.neighbors.list()[0]?.state, 'stale');
    adapter.sent.length = 0;
    u.send('b', '10.0.0.99', 9);
    assert.equal(stack.neighbors.list()[0]?.state, 'delay');
    assert.equal(sentOfType(adapter, 0x0800, 17).length, 1, 'a stale entry is used at once');
    await ndis.sleep(2100);
    assert.equal(stack.neighbors.list()[0]?.state, 'probe');
    const probes = sentOfType(adapter, 0x0806);
    assert.equal(probes.length, 1);
    assert.equal(hexOf(probes[0]!.subarray(0, 6)), PEER_MAC.replace(/:/g, ''), 'probes are unicast');
    adapter.inject(fx('arp-reply-from-peer'));
    assert.equal(stack.neighbors.list()[0]?.state, 'reachable');
    u.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('configuring an IPv4 address announces it (gratuitous ARP); a peer claiming it is a counted conflict', async () => {
  const { ndis, adapter, stack } = await labHost({ configure: false });
  try {
    stack.configure('lab', { ipv4: ['10.0.0.1/24'], linkLocal: false });
    const gratuitous = sentOfType(adapter, 0x0806);
    assert.equal(gratuitous.length, 1);
    const g = gratuitous[0]!;
    assert.equal(hexOf(g.subarray(0, 6)), 'ffffffffffff');
    assert.equal(hexOf(g.subarray(28, 32)), '0a000001', 'sender 10.0.0.1');
    assert.equal(hexOf(g.subarray(38, 42)), '0a000001', 'target 10.0.0.1');
    const claim = fx('arp-reply-from-peer');
    claim.set([10, 0, 0, 1], 28); // the peer says it has 10.0.0.1
    adapter.inject(claim);
    assert.equal(stack.counters.neighbor.arpConflicts, 1);
    assert.equal(stack.neighbors.list().length, 0);
  } finally {
    await ndis.shutdown();
  }
});

void test('an ARP request split across three MDLs is answered the same', async () => {
  const { ndis, adapter } = await labHost();
  try {
    adapter.inject(fx('arp-request-for-us'), { cuts: [6, 20] });
    assert.equal(hexOf(sentOfType(adapter, 0x0806)[0]!), hexOf(fxExpect('arp-request-for-us')));
  } finally {
    await ndis.shutdown();
  }
});
