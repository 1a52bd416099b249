// Bulk TCP between two hosts over the virtual hub: 50 MB from A to B with a SHA-256 computed at
// both ends, once on a clean link and once through the impairment filter (loss, reordering,
// duplication and one-byte corruption in both directions on both adapters), which must still
// deliver the exact byte stream; the corrupted frames are caught by the stack's checksums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ndis } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { ImpairFilter } from '../../../../src/drivers/filter/impair/index.js';
import { twoHosts, type TwoHosts } from './lab.js';

const TOTAL = 50 * 1024 * 1024;

/** Sends TOTAL bytes from A to B; returns both digests and the byte count B saw. */
async function transfer(h: TwoHosts, host: string): Promise<{ sent: string; received: string; bytes: number }> {
  const { ndis, A, B } = h;
  const chunk = Buffer.alloc(65536);
  let seed = 0x1234567;
  const done = new Promise<{ received: string; bytes: number }>((resolve, reject) => {
    const server = B.tcp.createServer((s: TcpSocket) => {
      const hash = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        hash.update(d);
        n += d.length;
      });
      s.on('end', () => {
        s.end();
        server.close();
        resolve({ received: hash.digest('hex'), bytes: n });
      });
      s.on('error', reject);
    });
    server.listen(5001);
  });
  const sender = createHash('sha256');
  const c = A.tcp.connect(5001, host);
  c.on('error', (e) => assert.fail(e));
  c.on('connect', () => {
    let sent = 0;
    const pump = (): void => {
      while (sent < TOTAL) {
        const n = Math.min(chunk.length, TOTAL - sent);
        // Pseudo-random content, so that misplaced bytes cannot go unnoticed.
        for (let i = 0; i < n; i += 4) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          chunk.writeUInt32LE(seed, i);
        }
        const piece = Buffer.from(chunk.subarray(0, n));
        sender.update(piece);
        sent += n;
        if (!c.write(piece)) {
          c.once('drain', pump);
          return;
        }
      }
      c.end();
    };
    pump();
  });
  const r = await ndis.until(done, 24 * 3600 * 1000);
  return { sent: sender.digest('hex'), ...r };
}

void test('50 MB over TCP between two hosts: the SHA-256 at both ends agrees', { timeout: 120_000 }, async () => {
  const h = await twoHosts();
  try {
    const r = await transfer(h, '10.0.0.2');
    assert.equal(r.bytes, TOTAL);
    assert.equal(r.received, r.sent);
    const a = h.A.statistics();
    assert.equal(a.tcp.counters.retransSegs, 0, 'a clean link needs no retransmission');
    assert.equal(h.A.internalErrors + h.B.internalErrors, 0);
    // Every send completed: the pools hold nothing outstanding.
    await h.ndis.sleep(10);
    for (const p of Object.values(a.interfaces[0]!.pools)) assert.ok(p.failedAllocations === 0);
  } finally {
    await h.ndis.shutdown();
  }
});

void test('the same 50 MB through the impairment filter (loss, reordering, duplication, corruption) arrives intact', { timeout: 300_000 }, async () => {
  const h0 = await twoHostsWithFilter();
  const { h, filter } = h0;
  try {
    filter.setPolicy({ loss: 0.01, reorder: 0.01, duplicate: 0.01, corrupt: 0.01, reorderWindow: 4, direction: 'both' });
    const r = await transfer(h, 'fd00::2');
    assert.equal(r.bytes, TOTAL);
    assert.equal(r.received, r.sent);
    const t = filter.totals();
    assert.ok(t.lost > 0 && t.reordered > 0 && t.duplicated > 0 && t.corrupted > 0, JSON.stringify(t));
    // Corrupted frames were refused by a checksum or a header check, never delivered.
    let checksumDrops = 0;
    for (const s of [h.A, h.B]) {
      const d = s.statistics().interfaces[0]!.drops;
      checksumDrops += (d['transport checksum'] ?? 0) + (d['IPv4 header checksum'] ?? 0);
      assert.equal(s.internalErrors, 0);
    }
    assert.ok(checksumDrops > 0, 'corruption reached the stack and was caught');
    assert.ok(h.A.tcp.engine.stats.retransSegs > 0, 'losses were repaired by retransmission');
    filter.setPolicy({});
  } finally {
    await h.ndis.shutdown();
  }
});

async function twoHostsWithFilter(): Promise<{ h: TwoHosts; filter: ImpairFilter }> {
  // The filter must be registered before the adapters arrive so that it attaches under the stacks.
  const ndis = new Ndis({ seed: 11 });
  const virt = new VirtualMiniportDriver(ndis);
  const filter = new ImpairFilter(ndis);
  await filter.register();
  await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a' });
  await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b' });
  const tcp = { minRtoMs: 200 };
  const A = new TcpIp(ndis, { name: 'hostA', adapters: ['a'], tcp });
  const B = new TcpIp(ndis, { name: 'hostB', adapters: ['b'], tcp });
  await A.register();
  await B.register();
  A.configure('a', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
  B.configure('b', { ipv4: ['10.0.0.2/24'], ipv6: ['fd00::2/64'] });
  await A.ready('a');
  await B.ready('b');
  return { h: { ndis, virt, A, B }, filter };
}
