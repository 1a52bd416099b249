// Unit tests for the engine's parts: sequence arithmetic, rings, the out-of-order range list, the
// SACK scoreboard, the RTO estimator, congestion control (CUBIC against the RFC 9438 formulas) and
// the keyed hash behind ISNs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin } from '../../../../../src/drivers/protocol/tcpip/tcp/seq.js';
import { ByteRing } from '../../../../../src/drivers/protocol/tcpip/tcp/ring.js';
import { TcpReassembly } from '../../../../../src/drivers/protocol/tcpip/tcp/reassembly.js';
import { TcpSackScoreboard } from '../../../../../src/drivers/protocol/tcpip/tcp/scoreboard.js';
import { TcpRttEstimator } from '../../../../../src/drivers/protocol/tcpip/tcp/rtt.js';
import {
  TcpCongestionControl,
  TcpCongestionAlgorithm,
  CUBIC_ALPHA,
  CUBIC_BETA,
  CUBIC_C,
  cubicK,
  cubicWindow,
} from '../../../../../src/drivers/protocol/tcpip/tcp/congestion.js';
import { halfSipHash, TcpSecrets } from '../../../../../src/drivers/protocol/tcpip/tcp/isn.js';
import { TcpOptions } from '../../../../../src/wire/tcp.js';

void test('sequence arithmetic wraps modulo 2^32', () => {
  assert.equal(seqAdd(0xffffffff, 1), 0);
  assert.equal(seqAdd(5, -6), 0xffffffff);
  assert.equal(seqDiff(2, 0xfffffffe), 4);
  assert.ok(seqLt(0xfffffff0, 5));
  assert.ok(seqGt(5, 0xfffffff0));
  assert.ok(seqLe(7, 7) && seqGe(7, 7));
  assert.equal(seqMax(0xfffffff0, 5), 5);
  assert.equal(seqMin(0xfffffff0, 5), 0xfffffff0);
  assert.ok(seqInWindow(2, 0xfffffffe, 10));
  assert.ok(!seqInWindow(10, 0xfffffffe, 10));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, n) => {
      const b = seqAdd(a, n);
      assert.ok(seqLt(a, b) && seqGt(b, a) && !seqLt(b, a));
      assert.equal(seqDiff(b, a), n);
    }),
  );
});

void test('ByteRing: appends, wraps, copies out and consumes', () => {
  const r = new ByteRing(20);
  assert.equal(r.capacity, 32);
  const src = new Uint8Array(40).map((_, i) => i);
  assert.equal(r.append(src, 0, 30), 30);
  assert.equal(r.append(src, 30, 10), 2, 'only the free space is taken');
  const out = new Uint8Array(32);
  r.consume(25);
  assert.equal(r.append(src, 0, 20), 20, 'wraps around');
  r.copyOut(0, out, 0, 27);
  assert.deepEqual(Array.from(out.subarray(0, 27)), [25, 26, 27, 28, 29, 30, 31, ...Array.from(src.subarray(0, 20))]);
  assert.equal(r.read(out, 0, 100), 27);
  assert.equal(r.length, 0);
  // writeAt beyond length (out-of-order receive data), then commit.
  r.writeAt(5, src, 10, 5);
  r.writeAt(0, src, 5, 5);
  r.length = 10;
  r.read(out, 0, 10);
  assert.deepEqual(Array.from(out.subarray(0, 10)), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
});

void test('TcpReassembly: inserts, merges, advances RCV.NXT, honours its capacity', () => {
  const a = new TcpReassembly(3);
  const nxt = 0xfffffff0; // ranges across the 2^32 wrap
  assert.ok(a.insert(seqAdd(nxt, 100), seqAdd(nxt, 200), nxt));
  assert.ok(a.insert(seqAdd(nxt, 300), seqAdd(nxt, 400), nxt));
  assert.ok(a.insert(seqAdd(nxt, 500), seqAdd(nxt, 600), nxt));
  assert.ok(!a.insert(seqAdd(nxt, 700), seqAdd(nxt, 800), nxt), 'full: a fourth separate range is refused');
  assert.ok(a.insert(seqAdd(nxt, 150), seqAdd(nxt, 350), nxt), 'merging needs no new slot');
  assert.equal(a.count, 2);
  assert.equal(a.bytesHeld(), 300 + 100);
  assert.equal(a.advance(seqAdd(nxt, 50)), seqAdd(nxt, 50), 'nothing contiguous yet');
  assert.equal(a.advance(seqAdd(nxt, 100)), seqAdd(nxt, 400), 'in-order data reached the first range');
  assert.equal(a.count, 1);
  const o = new TcpOptions();
  a.insert(seqAdd(nxt, 450), seqAdd(nxt, 460), seqAdd(nxt, 400));
  a.fillSackBlocks(o, 4);
  assert.deepEqual(Array.from(o.sackBlocks.subarray(0, 4)), [seqAdd(nxt, 450), seqAdd(nxt, 460), seqAdd(nxt, 500), seqAdd(nxt, 600)]);
});

void test('property: reassembly reconstructs any arrival order of a stream', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 990 }), fc.integer({ min: 1, max: 60 })), { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 0xffffffff }), (pieces, base) => {
      const a = new TcpReassembly(64);
      const have = new Uint8Array(1100);
      let nxt = base;
      for (const [off, len] of pieces) {
        const start = seqAdd(base, off);
        const end = seqAdd(base, off + len);
        if (seqLe(end, nxt)) continue;
        const s = seqLt(start, nxt) ? nxt : start;
        if (s === nxt) nxt = a.advance(end);
        else assert.ok(a.insert(s, end, nxt));
        for (let i = off; i < off + len; i++) have[i] = 1;
      }
      let expect = 0;
      while (have[expect] === 1) expect++;
      assert.equal(seqDiff(nxt, base), expect);
      for (let i = 0; i < a.count; i++) assert.ok(seqGt(a.starts[i]!, nxt), 'ranges stay above RCV.NXT');
    }),
    { numRuns: 500 },
  );
});

void test('SACK scoreboard: update, ack, IsLost boundary, pipe and holes (RFC 6675)', () => {
  const sb = new TcpSackScoreboard(8);
  const una = 1000;
  const max = 1000 + 10 * 100; // ten 100-byte segments outstanding
  const o = new TcpOptions();
  o.addSackBlock(1200, 1400);
  o.addSackBlock(1500, 1600);
  o.addSackBlock(500, 900); // below SND.UNA: ignored
  assert.equal(sb.update(o, una, max), 300);
  o.clear();
  o.addSackBlock(1350, 1550); // bridges both ranges
  assert.equal(sb.update(o, una, max), 100);
  assert.equal(sb.count, 1);
  assert.equal(sb.sackedBytes, 400);
  assert.ok(sb.isSacked(1200) && !sb.isSacked(1100) && !sb.isSacked(1600));
  // DupThresh 3, SMSS 100: more than 200 SACKed bytes above -> lost below 1200.
  assert.equal(sb.lostEdge(una, 100, 3), 1200);
  // Holes: [1000,1200) lost (not in pipe), [1600,2000) not lost (in pipe) = 400.
  assert.equal(sb.pipe(una, max, una, 1200), 400);
  // After retransmitting [1000,1100): it counts once more.
  assert.equal(sb.pipe(una, max, 1100, 1200), 500);
  assert.ok(sb.findHole(1000, 1200));
  assert.deepEqual([sb.holeStart, sb.holeEnd], [1000, 1200]);
  assert.ok(sb.findHole(1250, 2000));
  assert.deepEqual([sb.holeStart, sb.holeEnd], [1600, 2000]);
  sb.ackTo(1300);
  assert.equal(sb.sackedBytes, 300);
  assert.equal(sb.highestSacked(1300), 1600);
  sb.ackTo(1700);
  assert.equal(sb.count, 0);
  assert.equal(sb.sackedBytes, 0);
});

void test('RTO estimator follows RFC 6298 2.2, 2.3, 5.5 with bounds', () => {
  const r = new TcpRttEstimator(1000, 200, 60_000);
  assert.equal(r.rto, 1000, 'initial RTO');
  r.sample(100);
  assert.deepEqual([r.srtt, r.rttvar, r.rto], [100, 50, 300]);
  r.sample(200);
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
  assert.deepEqual([r.srtt, r.rttvar, r.rto], [112.5, 62.5, 362.5]);
  r.sample(10);
  assert.ok(r.rto >= 200, 'minimum RTO');
  r.backoff();
  r.backoff();
  assert.equal(r.backoffs, 2);
  for (let i = 0; i < 20; i++) r.backoff();
  assert.equal(r.rto, 60_000, 'maximum RTO');
  const strict = new TcpRttEstimator(1000, 1000, 60_000);
  strict.sample(5);
  assert.equal(strict.rto, 1000, 'RFC 6298 (2.4): at least 1 s by default');
});

void test('slow start doubles per round trip; NewReno congestion avoidance adds one MSS per round trip', () => {
  const mss = 1000;
  const cc = new TcpCongestionControl(TcpCongestionAlgorithm.NewReno, mss, 10 * mss);
  for (let rtt = 0; rtt < 3; rtt++) {
    const segs = cc.cwnd / mss;
    for (let i = 0; i < segs; i++) cc.onAck(mss, rtt * 100, 100);
  }
  assert.equal(cc.cwnd, 80 * mss);
  cc.ssthresh = cc.cwnd;
  for (let rtt = 0; rtt < 5; rtt++) {
    const segs = cc.cwnd / mss;
    for (let i = 0; i < segs; i++) cc.onAck(mss, 0, 100);
  }
  assert.equal(cc.cwnd, 85 * mss);
  cc.onCongestionEvent(0, 60 * mss);
  assert.equal(cc.ssthresh, 30 * mss, 'ssthresh = FlightSize / 2');
  cc.onRetransmitTimeout(0, 2 * mss);
  assert.equal(cc.ssthresh, 2 * mss, 'at least 2 SMSS');
  assert.equal(cc.cwnd, mss, 'loss window');
});

/** Drives CUBIC in congestion avoidance with one ACK per segment and a fixed RTT. */
function cubicRun(rttMs: number, seconds: number, wMax: number): { t: number; w: number; west: number }[] {
  const mss = 1000;
  const cc = new TcpCongestionControl(TcpCongestionAlgorithm.Cubic, mss, wMax * mss);
  cc.ssthresh = 1; // already in congestion avoidance
  cc.onCongestionEvent(0, wMax * mss); // loss at W_max: cwnd * beta
  cc.cwnd = cc.ssthresh;
  const out: { t: number; w: number; west: number }[] = [];
  let now = 0;
  while (now <= seconds * 1000) {
    const segs = Math.max(1, Math.floor(cc.cwnd / mss));
    for (let i = 0; i < segs; i++) cc.onAck(mss, now + (i * rttMs) / segs, rttMs);
    now += rttMs;
    out.push({ t: (now - 0) / 1000, w: cc.cwnd / mss, west: cc.wEst });
  }
  return out;
}

void test('CUBIC: constants, K and W_cubic(t) as RFC 9438 defines them', () => {
  assert.equal(CUBIC_C, 0.4);
  assert.equal(CUBIC_BETA, 0.7);
  assert.ok(Math.abs(CUBIC_ALPHA - (3 * 0.3) / 1.7) < 1e-12);
  const k = cubicK(100, 70);
  assert.ok(Math.abs(k - Math.cbrt(30 / 0.4)) < 1e-12);
  assert.ok(Math.abs(cubicWindow(0, k, 100) - 70) < 1e-9, 'W_cubic(0) = cwnd_epoch');
  assert.ok(Math.abs(cubicWindow(k, k, 100) - 100) < 1e-9, 'W_cubic(K) = W_max');
  assert.equal(cubicK(50, 70), 0);
});

void test('CUBIC window growth follows W_cubic(t): concave up to W_max at K, convex after', () => {
  const wMax = 100;
  const run = cubicRun(100, 9, wMax);
  const k = cubicK(wMax, wMax * CUBIC_BETA);
  // The window tracks the cubic curve one RTT ahead (RFC 9438 4.4: target W_cubic(t + RTT)).
  for (const { t, w } of run) {
    if (t < 0.3) continue;
    const want = cubicWindow(t, k, wMax);
    assert.ok(Math.abs(w - want) / want < 0.05, `t=${t.toFixed(1)} s: cwnd ${w.toFixed(2)} vs W_cubic ${want.toFixed(2)}`);
  }
  const at = (t: number) => run.find((r) => r.t >= t)!.w;
  const g1 = at(1.0) - at(0.5);
  const g2 = at(3.0) - at(2.5);
  const g3 = at(k + 0.5) - at(k);
  const g4 = at(k + 3) - at(k + 2.5);
  assert.ok(g1 > g2 && g2 > g3, `concave before K: ${g1.toFixed(2)} > ${g2.toFixed(2)} > ${g3.toFixed(2)}`);
  assert.ok(g4 > g3, `convex after K: ${g4.toFixed(2)} > ${g3.toFixed(2)}`);
  assert.ok(Math.abs(at(k) - wMax) < 3, `plateau near W_max at K: ${at(k).toFixed(2)}`);
});

void test('CUBIC Reno-friendly region: with a 1 ms RTT cwnd follows W_est (RFC 9438 4.3)', () => {
  const run = cubicRun(1, 0.5, 100);
  const last = run.at(-1)!;
  assert.ok(last.w > cubicWindow(last.t, cubicK(100, 70), 100), 'above the cubic curve');
  assert.ok(Math.abs(last.w - last.west) < 1e-6, 'cwnd = W_est');
  // W_est grows by alpha_cubic per RTT while below W_max: after ~30/0.53 RTTs it passes W_max.
  const cross = run.find((r) => r.west >= 100)!;
  assert.ok(cross.t * 1000 >= 30 / CUBIC_ALPHA - 5 && cross.t * 1000 <= 30 / CUBIC_ALPHA + 5, `crossed W_max at ${cross.t * 1000} RTTs`);
});

void test('CUBIC multiplicative decrease and fast convergence (RFC 9438 4.6, 4.7)', () => {
  const mss = 1000;
  const cc = new TcpCongestionControl(TcpCongestionAlgorithm.Cubic, mss, 100 * mss);
  cc.onCongestionEvent(0, 100 * mss);
  assert.equal(cc.wMax, 100);
  assert.equal(cc.ssthresh, 70 * mss);
  cc.cwnd = 80 * mss; // a second loss before regaining W_max
  cc.onCongestionEvent(0, 80 * mss);
  assert.equal(cc.wMax, (80 * (1 + CUBIC_BETA)) / 2, 'fast convergence lowers W_max');
  assert.equal(cc.ssthresh, 56 * mss);
});

void test('HalfSipHash-2-4 (32-bit output) matches the reference test vectors', () => {
  // Reference vectors: key 00..07, message 00..(n-1); output bytes little-endian.
  const vectors: [number, string][] = [
    [0, 'a9359f5b'],
    [1, '27475ab8'],
    [3, '8afee704'],
    [4, '2a6e4689'],
    [7, '8bcf63c5'],
    [8, 'd0b8848f'],
    [12, '57f0872f'],
    [13, '77e663ff'],
    [35, 'fe28b729'],
    [63, '59ea4a74'],
  ];
  const key = Uint8Array.from({ length: 8 }, (_, i) => i);
  const k0 = key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24);
  const k1 = key[4]! | (key[5]! << 8) | (key[6]! << 16) | (key[7]! << 24);
  const msg = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (const [n, hex] of vectors) {
    const h = halfSipHash(k0, k1, msg, 0, n);
    const le = Buffer.alloc(4);
    le.writeUInt32LE(h);
    assert.equal(le.toString('hex'), hex, `length ${n}`);
  }
});

void test('ISN generator: keyed per 4-tuple, advancing with the clock', () => {
  const secret = Uint8Array.from({ length: 28 }, (_, i) => i * 7);
  const s = new TcpSecrets(secret);
  const a = new Uint8Array(16).fill(1);
  const b = new Uint8Array(16).fill(2);
  const i1 = s.isn(a, 1000, b, 80, 0);
  assert.equal(s.isn(a, 1000, b, 80, 0), i1, 'deterministic');
  assert.notEqual(s.isn(a, 1001, b, 80, 0), i1, 'depends on the local port');
  assert.notEqual(s.isn(b, 1000, a, 80, 0), i1, 'depends on the addresses');
  assert.equal((s.isn(a, 1000, b, 80, 4) - i1) >>> 0, 1000, '250 ticks per ms');
  const other = new TcpSecrets(secret.map((x) => x ^ 0xff));
  assert.notEqual(other.isn(a, 1000, b, 80, 0), i1, 'depends on the secret');
});
