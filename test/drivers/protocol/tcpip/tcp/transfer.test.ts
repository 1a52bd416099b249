// Bulk transfers between two engines on the in-memory network: a 50 MB stream on a clean link and
// through seeded loss, reordering, duplication and corruption must arrive intact (SHA-256 of both
// ends); runs are reproducible from their seed; large send offload, IPv6, allocation failures and
// both directions at once are covered too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimNetwork } from './sim/network.js';
import type { Impairments, SimHostOptions } from './sim/network.js';
import { transfer, BulkSender, BulkReceiver } from './sim/transfer.js';

const MB = 1024 * 1024;
const LAN = { minRtoMs: 50, initialRtoMs: 200 };

function pair(seed: number, impair: Impairments, a: SimHostOptions = {}, b: SimHostOptions = {}, v6 = false) {
  const net = new SimNetwork(seed, impair);
  const ha = net.addHost(v6 ? '2001:db8::1' : '10.0.0.1', { ...a, engine: { ...LAN, ...a.engine } });
  const hb = net.addHost(v6 ? '2001:db8::2' : '10.0.0.2', { ...b, engine: { ...LAN, ...b.engine } });
  return { net, ha, hb };
}

void test('50 MB over a clean link arrives intact, with no retransmissions', () => {
  const { net, ha, hb } = pair(1, { delayMs: 1 });
  const r = transfer(net, ha, hb, 50 * MB, 11);
  assert.ok(r.ok, 'transfer finished');
  assert.equal(r.bytes, 50 * MB);
  assert.equal(r.received, r.sent, 'SHA-256 of both ends');
  assert.equal(ha.engine.stats.retransSegs, 0);
  assert.equal(r.sender.error, 0);
  assert.equal(r.receiver.error, 0);
  assert.equal(ha.engine.connectionCount + hb.engine.connectionCount, 1, 'one side in TIME-WAIT');
});

void test('50 MB through seeded loss, reordering, duplication and corruption arrives intact', () => {
  const { net, ha, hb } = pair(2, { delayMs: 2, loss: 0.01, reorder: 0.01, duplicate: 0.005, corrupt: 0.005 });
  const r = transfer(net, ha, hb, 50 * MB, 12);
  assert.ok(r.ok, 'transfer finished');
  assert.equal(r.bytes, 50 * MB);
  assert.equal(r.received, r.sent, 'SHA-256 of both ends');
  const s = net.stats;
  assert.ok(s.lost > 100 && s.reordered > 100 && s.duplicated > 50 && s.corrupted > 50, JSON.stringify(s));
  assert.equal(s.checksumDrops, s.corrupted, 'every corrupted segment was caught by the checksum');
  assert.ok(ha.engine.stats.fastRetransmits > 10, 'losses recovered by fast retransmit');
  assert.ok(ha.engine.stats.retransSegs >= s.lost / 2);
});

void test('50 MB with a 64 KiB send offload (segments delivered whole, as with receive coalescing)', () => {
  const { net, ha, hb } = pair(3, { delayMs: 1 }, { offloadSize: 65536 });
  const r = transfer(net, ha, hb, 50 * MB, 13);
  assert.ok(r.ok);
  assert.equal(r.received, r.sent);
  assert.ok(net.stats.sent < 50 * MB / 1448 / 4, `few large segments: ${net.stats.sent}`);
});

void test('10 MB with a 64 KiB send offload cut into MSS segments by the host, through loss', () => {
  const { net, ha, hb } = pair(4, { delayMs: 1, loss: 0.005, reorder: 0.005 }, { offloadSize: 65536, segmentOffload: true });
  const r = transfer(net, ha, hb, 10 * MB, 14);
  assert.ok(r.ok);
  assert.equal(r.received, r.sent);
  assert.ok(net.stats.lsoSplits > 10);
});

void test('IPv6 transfer with NewReno and no SACK through loss', () => {
  const opts: SimHostOptions = { engine: { congestionControl: 'newreno', sack: false } };
  const { net, ha, hb } = pair(5, { delayMs: 3, loss: 0.01 }, opts, opts, true);
  const r = transfer(net, ha, hb, 5 * MB, 15);
  assert.ok(r.ok);
  assert.equal(r.received, r.sent);
  assert.ok(ha.engine.stats.fastRetransmits > 0);
});

void test('a rate-limited bottleneck with a small queue: congestion losses are recovered', () => {
  const { net, ha, hb } = pair(6, { delayMs: 5, bytesPerMs: 12_500, queueBytes: 60_000 });
  const r = transfer(net, ha, hb, 20 * MB, 16);
  assert.ok(r.ok);
  assert.equal(r.received, r.sent);
  assert.ok(net.stats.queueDrops > 0, 'the queue overflowed');
  const seconds = r.virtualMs / 1000;
  const rate = (20 * MB) / seconds / 1e3; // bytes per ms
  assert.ok(rate > 0.6 * 12_500, `link mostly used: ${rate.toFixed(0)} B/ms of 12500`);
});

void test('allocation failures in the host are survived', () => {
  const { net, ha, hb } = pair(7, { delayMs: 1 }, { failEveryNthAllocation: 97 }, { failEveryNthAllocation: 89 });
  const r = transfer(net, ha, hb, 5 * MB, 17);
  assert.ok(r.ok);
  assert.equal(r.received, r.sent);
  assert.ok(ha.engine.stats.allocationFailures > 0 && hb.engine.stats.allocationFailures > 0);
});

void test('both directions at once through loss (SACK blocks ride on data segments)', () => {
  const { net, ha, hb } = pair(8, { delayMs: 2, loss: 0.01, reorder: 0.01 });
  // Each side sends 8 MB and receives 8 MB on one connection.
  class Both extends BulkSender {
    readonly rx = new BulkReceiver();
    override onReadable(c: Parameters<BulkReceiver['onReadable']>[0]): void {
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = c.receive(buf, 0, buf.length);
        if (n === 0) break;
        this.rx.hash.update(buf.subarray(0, n));
        this.rx.received += n;
      }
      if (c.endOfStream()) this.rx.eof = true;
    }
  }
  const client = new Both(8 * MB, 21);
  const server = new Both(8 * MB, 22);
  hb.engine.listen(7000, null, 4, {
    onConnection: (_l, c) => {
      c.user = server;
      server.onConnected(c);
    },
  });
  ha.engine.connect(hb.address, 7000, null, 0, client);
  assert.ok(net.runUntil(() => client.closed && server.closed));
  assert.equal(client.written, 8 * MB);
  assert.equal(server.rx.received, 8 * MB);
  assert.equal(client.rx.received, 8 * MB);
  assert.equal(server.rx.hash.digest('hex'), client.hash.digest('hex'));
  assert.equal(client.rx.hash.digest('hex'), server.hash.digest('hex'));
  assert.ok(ha.engine.stats.retransSegs > 0 && hb.engine.stats.retransSegs > 0);
});

void test('the same seed gives the same segment trace; another seed another', () => {
  const run = (seed: number) => {
    const { net, ha, hb } = pair(seed, { delayMs: 2, loss: 0.02, reorder: 0.02, duplicate: 0.01, corrupt: 0.01 });
    const r = transfer(net, ha, hb, 2 * MB, 99);
    assert.ok(r.ok);
    assert.equal(r.received, r.sent);
    return { digest: net.traceDigest(), segments: net.stats.sent };
  };
  const a = run(100);
  const b = run(100);
  const c = run(101);
  assert.equal(a.digest, b.digest);
  assert.equal(a.segments, b.segments);
  assert.notEqual(a.digest, c.digest);
});

void test('property: random loss, reordering, duplication and corruption still deliver the stream', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      fc.double({ min: 0, max: 0.05, noNaN: true }),
      fc.double({ min: 0, max: 0.05, noNaN: true }),
      fc.integer({ min: 1, max: 300_000 }),
      fc.constantFrom<'newreno' | 'cubic'>('newreno', 'cubic'),
      fc.boolean(),
      (seed, loss, reorder, duplicate, corrupt, size, cc, sack) => {
        const engine = { congestionControl: cc, sack };
        const { net, ha, hb } = pair(seed, { delayMs: 1 + (seed % 7), loss, reorder, duplicate, corrupt }, { engine }, { engine });
        const r = transfer(net, ha, hb, size, seed ^ 0x5a5a);
        assert.ok(r.ok, `seed ${seed}: finished`);
        assert.equal(r.bytes, size);
        assert.equal(r.received, r.sent);
      },
    ),
    { numRuns: 40 },
  );
});
