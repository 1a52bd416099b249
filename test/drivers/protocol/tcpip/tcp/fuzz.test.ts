// Bad input never escapes the engine: random segments (random flags, numbers, options, payloads
// near and far from the connection's sequence space) and random bytes are fed to a listener and to
// an established connection, with time passing in between. Nothing may throw, every segment is
// either processed or counted, and the engine's invariants hold afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScriptHost, Recorder } from './sim/script.js';
import type { Seg } from './sim/script.js';
import { TcpState } from '../../../../../src/drivers/protocol/tcpip/tcp/state.js';
import type { TcpConnection } from '../../../../../src/drivers/protocol/tcpip/tcp/connection.js';
import { seqLe } from '../../../../../src/drivers/protocol/tcpip/tcp/seq.js';
import { TCP_ACK, TCP_SYN } from '../../../../../src/wire/tcp.js';

const R_ISS = 5000;
/** States in which the connection still has its sending side (data or a FIN may be outstanding). */
const SENDING_STATES = new Set<number>([TcpState.ESTABLISHED, TcpState.CLOSE_WAIT, TcpState.FIN_WAIT_1, TcpState.CLOSING, TcpState.LAST_ACK]);

function established() {
  const h = new ScriptHost({ mslMs: 100, minRtoMs: 50, initialRtoMs: 100 });
  const rec = new Recorder();
  h.engine.listen(80, null, 8, rec);
  h.inject({ srcPort: 1234, dstPort: 80, seq: R_ISS, ack: 0, flags: TCP_SYN, window: 1000, mss: 1000, ws: 1, sackOk: true, ts: [10, 0] });
  const sa = h.one();
  h.inject({ srcPort: 1234, dstPort: 80, seq: R_ISS + 1, ack: sa.seq + 1, flags: TCP_ACK, window: 1000, ts: [11, sa.ts![0]] });
  const c = rec.accepted[0]!;
  assert.equal(c.state, TcpState.ESTABLISHED);
  c.send(new Uint8Array(5000), 0, 5000);
  h.take();
  return { h, c, rec, iss: sa.seq };
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** A segment whose numbers are near the connection's (so it reaches deep into the state machine) or random. */
function segArb(iss: number) {
  const near = (base: number) => fc.integer({ min: -3000, max: 3000 }).map((d) => (base + d) >>> 0);
  return fc.record({
    srcPort: fc.oneof(fc.constant(1234), fc.integer({ min: 0, max: 65535 })),
    dstPort: fc.oneof(fc.constant(80), fc.integer({ min: 0, max: 65535 })),
    seq: fc.oneof(near(R_ISS + 1), u32),
    ack: fc.oneof(near(iss + 1), u32),
    flags: fc.integer({ min: 0, max: 255 }),
    window: fc.integer({ min: 0, max: 65535 }),
    urgent: fc.integer({ min: 0, max: 65535 }),
    mss: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    ws: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    sackOk: fc.option(fc.boolean(), { nil: undefined }),
    ts: fc.option(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 100 }), u32), u32), { nil: undefined }),
    sack: fc.option(fc.array(fc.tuple(fc.oneof(near(iss + 1), u32), fc.oneof(near(iss + 3000), u32)), { maxLength: 3 }), { nil: undefined }),
    payload: fc.option(fc.uint8Array({ maxLength: 1500 }), { nil: undefined }),
  });
}

void test('fuzz: random segments and time never break an established connection or a listener', () => {
  const probe = established();
  fc.assert(
    fc.property(fc.array(fc.tuple(segArb(probe.iss), fc.integer({ min: 0, max: 400 })), { maxLength: 40 }), (steps) => {
      const { h, c } = established();
      for (const [seg, wait] of steps) {
        h.inject(seg as Seg);
        h.advance(wait);
        // Invariants of the TCB while it lives.
        if (c.state !== TcpState.CLOSED) {
          assert.ok(seqLe(c.sndUna, c.sndNxt) || c.persisting, 'SND.UNA <= SND.NXT');
          assert.ok(seqLe(c.sndNxt, c.sndMax), 'SND.NXT <= SND.MAX');
          assert.ok(c.rcvRing.length <= c.rcvRing.capacity);
          assert.ok(c.reassembly.count <= c.reassembly.capacity);
          assert.ok(c.scoreboard.count <= c.scoreboard.capacity);
          assert.ok(c.scoreboard.sackedBytes >= 0);
          // Never stalled: data or a FIN to deliver always has a timer that will move it.
          if (hasWork(c)) assert.ok(c.deadlines.some((d) => d < Infinity), `a timer is armed in ${c.state} (una ${c.sndUna}, max ${c.sndMax}, wnd ${c.sndWnd})`);
        }
      }
      h.take();
      h.advance(600_000);
      const st = h.engine.stats;
      assert.ok(st.inSegs >= steps.length);
      assert.ok(h.engine.connectionCount >= 0 && h.engine.connectionCount < 100);
    }),
    { numRuns: 300 },
  );
});

/** Whether `c` has data or a FIN to deliver, and so needs a timer (or an ACK) to move it. */
function hasWork(c: TcpConnection): boolean {
  return SENDING_STATES.has(c.state) && (c.unacknowledgedLength() > 0 || (c.finQueued && !c.finAcked));
}

/** One move of a well-formed but stingy peer, or of the application, or of time. */
type PeerStep =
  | { kind: 'ack'; fraction: number; window: number }
  | { kind: 'write'; length: number }
  | { kind: 'wait'; ms: number };

const peerStep: fc.Arbitrary<PeerStep> = fc.oneof(
  fc.record({
    kind: fc.constant('ack' as const),
    // How far into the flight the ACK reaches (1: everything sent), and the window it offers:
    // often a small one (less than a segment), sometimes a zero one, sometimes anything.
    fraction: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
    window: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constant(0), fc.integer({ min: 0, max: 65535 })),
  }),
  fc.record({ kind: fc.constant('write' as const), length: fc.integer({ min: 1, max: 20_000 }) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }),
);

void test('property: whatever a peer acknowledges and advertises (its updates may be lost), data to send always has a timer, and goes once the peer behaves', () => {
  fc.assert(
    fc.property(fc.array(peerStep, { maxLength: 40 }), (steps) => {
      const { h, c } = established();
      let tsVal = 100;
      const ack = (ackNo: number, window: number): void => {
        h.inject({ srcPort: 1234, dstPort: 80, seq: c.rcvNxt, ack: ackNo, flags: TCP_ACK, window, ts: [tsVal++, 0] });
      };
      const stalled = (where: string): string =>
        `${where}: no timer with work to do in ${c.state} (una ${c.sndUna}, nxt ${c.sndNxt}, max ${c.sndMax}, wnd ${c.sndWnd}, unacked ${c.unacknowledgedLength()})`;
      for (const st of steps) {
        if (st.kind === 'ack') ack((c.sndUna + Math.round(st.fraction * ((c.sndMax - c.sndUna) >>> 0))) >>> 0, st.window);
        else if (st.kind === 'write') c.send(new Uint8Array(st.length), 0, Math.min(st.length, c.writableLength()));
        else h.advance(st.ms);
        h.take(); // whatever the engine sent is lost, or its ACK is among the peer's moves
        if (hasWork(c)) assert.ok(c.deadlines.some((d) => d < Infinity), stalled(st.kind));
      }
      // The peer now acknowledges everything with an open window each time the engine sends.
      for (let i = 0; i < 1000 && c.unacknowledgedLength() > 0; i++) {
        ack(c.sndMax, 30_000);
        if (h.take().length === 0) {
          const due = h.nextTimer();
          assert.ok(due < Infinity, stalled('behaving peer'));
          h.advance(due - h.time);
        }
      }
      assert.equal(c.unacknowledgedLength(), 0, 'everything written was delivered');
    }),
    { numRuns: 300 },
  );
});

void test('fuzz: random bytes as segments are counted, never thrown', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 30 }), (frames) => {
      const { h, c } = established();
      for (const f of frames) h.injectBytes(f);
      assert.ok(h.engine.stats.inSegs === frames.length + 2);
      assert.ok(c.state !== TcpState.LISTEN);
    }),
    { numRuns: 300 },
  );
});
