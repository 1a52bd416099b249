// TCP over the tcpip driver keeps going whatever the interface under it does: a window update lost
// because the receiver's link went down, or because its binding was paused for a filter's
// insertion, must not leave the sender waiting forever on a window too small to use (sender SWS
// avoidance) with nothing in flight; bindings paused and restarted and the sender's own link going
// down in the middle of a transfer cost retransmissions, never the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { MiniportBlock } from '../../../../src/ndis/index.js';
import { PassthroughFilter } from '../../../../src/drivers/filter/passthrough/index.js';
import type { TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import type { TcpConnection } from '../../../../src/drivers/protocol/tcpip/tcp/connection.js';
import { ip, twoHosts, type TwoHosts } from './lab.js';

const TOTAL = 1024 * 1024;
/** TCP payload of a full-sized segment here: MSS 1460 less the 12 bytes of the timestamp option. */
const FULL_SEGMENT = 1448;

function miniport(h: TwoHosts, name: string): MiniportBlock {
  for (const m of h.ndis.adapters) if (m.name === name) return m;
  throw new Error(`no adapter ${name}`);
}

interface Transfer {
  /** Resolves with B's digest and byte count at B's end of stream. */
  done: Promise<{ received: string; bytes: number }>;
  /** A's digest of what it wrote (complete once A has written everything). */
  sent: () => string;
  /** A's socket. */
  client: TcpSocket;
  /** B's socket, once accepted. */
  server: () => TcpSocket | null;
}

/**
 * A sends TOTAL pseudo-random bytes to B on one connection; `onData` runs for every chunk B reads.
 * With `lateReader` B's socket starts paused (its user is not reading), so B's 256 KiB receive
 * buffer fills until the socket is resumed. With `paceMs` A writes one 16 KiB chunk every `paceMs`
 * ms of virtual time instead of as fast as the send buffer takes them.
 */
function startTransfer(h: TwoHosts, lateReader: boolean, onData: (n: number) => void = () => undefined, paceMs = 0): Transfer {
  let accepted: TcpSocket | null = null;
  const done = new Promise<{ received: string; bytes: number }>((resolve, reject) => {
    const srv = h.B.tcp.createServer((s: TcpSocket) => {
      accepted = s;
      if (lateReader) s.pause();
      const hash = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        hash.update(d);
        n += d.length;
        onData(n);
      });
      s.on('end', () => {
        s.end();
        srv.close();
        resolve({ received: hash.digest('hex'), bytes: n });
      });
      s.on('error', reject);
    });
    srv.listen(5001);
  });
  const digest = createHash('sha256');
  const c = h.A.tcp.connect(5001, '10.0.0.2');
  c.on('error', (e) => assert.fail(e));
  c.on('connect', () => {
    const chunk = Buffer.alloc(paceMs > 0 ? 16384 : 65536);
    let seed = 0x2468ace;
    let written = 0;
    const scheduler = h.ndis.scheduler;
    const timer = paceMs > 0 ? scheduler.allocateTimerObject(() => pump(), null, null, 'pace') : null;
    const pump = (): void => {
      while (written < TOTAL) {
        const n = Math.min(chunk.length, TOTAL - written);
        for (let i = 0; i < n; i += 4) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          chunk.writeUInt32LE(seed, i);
        }
        const piece = Buffer.from(chunk.subarray(0, n));
        digest.update(piece);
        written += n;
        const more = c.write(piece);
        if (timer !== null && written < TOTAL) {
          scheduler.setTimerObject(timer, -paceMs * 10_000);
          return;
        }
        if (!more) {
          c.once('drain', pump);
          return;
        }
      }
      if (timer !== null) scheduler.freeTimerObject(timer);
      c.end();
    };
    pump();
  });
  return { done, sent: () => digest.digest('hex'), client: c, server: () => accepted };
}

/**
 * Waits until B's buffer is full and A holds data for a window smaller than a full segment, with
 * nothing in flight: what a receiver that reads late leaves behind (256 KiB is not a multiple of
 * 1448). The window update B sends when it reads is then all that moves the transfer on.
 */
async function untilSmallWindow(h: TwoHosts, t: Transfer): Promise<TcpConnection> {
  for (let ms = 0; ms < 1000; ms++) {
    await h.ndis.sleep(1);
    const c = h.A.tcp.engine.findConnection(ip('10.0.0.1'), t.client.localPort ?? 0, ip('10.0.0.2'), 5001);
    if (c === null || c.sndUna !== c.sndMax || c.unacknowledgedLength() === 0) continue;
    if (c.sndWnd > 0 && c.sndWnd < FULL_SEGMENT) {
      assert.ok(c.unacknowledgedLength() > c.sndWnd, 'data waiting for the window');
      assert.ok(!c.finSent);
      return c;
    }
  }
  return assert.fail('the sender never came to hold data for a small window');
}

void test('a window update lost while the receiver is unplugged does not stall a sender held by SWS avoidance', { timeout: 60_000 }, async () => {
  const h = await twoHosts({ stack: { tcp: { minRtoMs: 200 } } });
  try {
    const t = startTransfer(h, true);
    await untilSmallWindow(h, t);
    const b = h.virt.adapter(miniport(h, 'b'));
    b.setLink(false);
    await h.ndis.sleep(5);
    // B reads everything now; the window update it sends cannot leave the unplugged interface.
    t.server()!.resume();
    await h.ndis.sleep(5);
    assert.ok(h.B.tcp.engine.stats.allocationFailures > 0, 'the update was lost at the interface');
    b.setLink(true);
    const r = await h.ndis.until(t.done, 60_000);
    assert.equal(r.bytes, TOTAL);
    assert.equal(r.received, t.sent());
    assert.equal(h.A.internalErrors + h.B.internalErrors, 0);
  } finally {
    await h.ndis.shutdown();
  }
});

void test('a window update dropped by the pause of a filter insertion does not stall a sender held by SWS avoidance', { timeout: 60_000 }, async () => {
  const h = await twoHosts({ stack: { tcp: { minRtoMs: 200 } } });
  const filter = new PassthroughFilter(h.ndis, { name: 'passthrough', filterClass: 'custom' });
  let inserted: Promise<unknown> | null = null;
  try {
    // The first read queues B's window update; the filter goes in at once (as an application
    // reacting to the data could do), and the pause of B's binding drops the queued update.
    const t = startTransfer(h, true, () => {
      inserted ??= filter.register();
    });
    await untilSmallWindow(h, t);
    const dropsBefore = h.B.statistics().interfaces[0]!.drops['binding not running'] ?? 0;
    t.server()!.resume();
    const r = await h.ndis.until(t.done, 60_000);
    await h.ndis.until(inserted!);
    assert.equal(filter.modules.size, 2, 'the filter is in both stacks');
    assert.ok((h.B.statistics().interfaces[0]!.drops['binding not running'] ?? 0) > dropsBefore, 'the update was dropped by the pause');
    assert.equal(r.bytes, TOTAL);
    assert.equal(r.received, t.sent());
    assert.equal(h.A.internalErrors + h.B.internalErrors, 0);
  } finally {
    await h.ndis.shutdown();
  }
});

void test('a transfer through a filter insertion and removal (every binding paused and restarted) and the sender unplugged for 300 ms arrives intact', { timeout: 60_000 }, async () => {
  const h = await twoHosts({ stack: { tcp: { minRtoMs: 200 } } });
  const filter = new PassthroughFilter(h.ndis, { name: 'passthrough', filterClass: 'custom' });
  const a = h.virt.adapter(miniport(h, 'a'));
  try {
    // 1 MB written 16 KiB every 10 ms: the transfer spans the steps below.
    const t = startTransfer(h, false, undefined, 10);
    await h.ndis.sleep(50);
    await h.ndis.until(filter.register());
    assert.equal(filter.modules.size, 2, 'the filter is in both stacks');
    a.setLink(false);
    await h.ndis.sleep(300);
    a.setLink(true);
    await h.ndis.until(h.ndis.deregisterFilterDriver(filter.handle!));
    const r = await h.ndis.until(t.done, 120_000);
    assert.equal(r.bytes, TOTAL);
    assert.equal(r.received, t.sent());
    const st = h.A.tcp.engine.stats;
    assert.ok(st.allocationFailures > 0, 'A sent into its unplugged interface');
    assert.ok(st.timeouts > 0 && st.retransSegs > 0, 'what was lost was retransmitted');
    assert.equal(h.A.internalErrors + h.B.internalErrors, 0);
  } finally {
    await h.ndis.shutdown();
  }
});
