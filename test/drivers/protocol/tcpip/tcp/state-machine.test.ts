// Scripted exchanges for every RFC 9293 state transition, in the smoltcp style: the engine under
// test talks to a ScriptHost; the test injects segments built from templates and checks the
// segments the engine sends and the state it reaches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptHost, Recorder, bytes, show } from './sim/script.js';
import type { Seg } from './sim/script.js';
import { TcpState, TcpError, tcpStateName } from '../../../../../src/drivers/protocol/tcpip/tcp/state.js';
import type { TcpConnection } from '../../../../../src/drivers/protocol/tcpip/tcp/connection.js';
import type { TcpEngineOptions } from '../../../../../src/drivers/protocol/tcpip/tcp/config.js';
import { TcpDropReason } from '../../../../../src/drivers/protocol/tcpip/tcp/config.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../../../src/wire/tcp.js';

const LPORT = 40000;
const RPORT = 80;
const R_ISS = 1_000_000;

/** The remote side's view of the conversation: next SEQ, next ACK, timestamps. */
class Peer {
  seq: number;
  ack = 0;
  tsVal = 5000;
  tsEcr = 0;
  useTs = true;
  window = 4096; // scaled by the shift the peer announced (ws 2 below)
  constructor(
    readonly h: ScriptHost,
    readonly lport = LPORT,
    readonly rport = RPORT,
    iss = R_ISS,
  ) {
    this.seq = iss;
  }
  seg(flags: number, over: Partial<Seg> = {}): Seg {
    const s: Seg = { srcPort: this.rport, dstPort: this.lport, seq: this.seq, ack: this.ack, flags, window: this.window };
    if (this.useTs) s.ts = [this.tsVal, this.tsEcr];
    return { ...s, ...over };
  }
  send(flags: number, over: Partial<Seg> = {}): void {
    const s = this.seg(flags, over);
    this.h.inject(s);
    const len = (s.payload?.length ?? 0) + ((s.flags & TCP_SYN) !== 0 ? 1 : 0) + ((s.flags & TCP_FIN) !== 0 ? 1 : 0);
    if (over.seq === undefined) this.seq = (this.seq + len) >>> 0;
  }
  /** Notes a segment the engine sent (TS echo). */
  saw(s: Seg): Seg {
    if (s.ts !== undefined) this.tsEcr = s.ts[0];
    return s;
  }
  one(what?: string): Seg {
    return this.saw(this.h.one(what));
  }
}

function assertSeg(s: Seg, want: Partial<Seg>, what: string): void {
  for (const [k, v] of Object.entries(want)) {
    assert.deepEqual((s as unknown as Record<string, unknown>)[k], v, `${what}: ${k} in ${show(s)}`);
  }
}

function state(c: TcpConnection): string {
  return tcpStateName(c.state);
}

const FAST: TcpEngineOptions = { mslMs: 1000 };

/** Active open up to ESTABLISHED with MSS 1460, window scale 2, SACK and timestamps on both sides. */
function activeEstablished(options: TcpEngineOptions = FAST, peerOpts: Partial<Seg> = { mss: 1460, ws: 2, sackOk: true }) {
  const h = new ScriptHost(options);
  const rec = new Recorder();
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, rec);
  const p = new Peer(h);
  const syn = p.one('SYN');
  p.ack = (syn.seq + 1) >>> 0;
  p.send(TCP_SYN | TCP_ACK, { ack: p.ack, ...peerOpts, ...(p.useTs && options.timestamps !== false ? {} : {}) });
  const ack = p.one('ACK of SYN-ACK');
  assertSeg(ack, { flags: TCP_ACK, seq: p.ack, ack: p.seq }, 'handshake ACK');
  return { h, c, rec, p, iss: syn.seq, syn };
}

/** Passive open up to ESTABLISHED. */
function passiveEstablished(options: TcpEngineOptions = FAST) {
  const h = new ScriptHost(options);
  const rec = new Recorder();
  const l = h.engine.listen(RPORT, null, 4, rec);
  const p = new Peer(h, RPORT, LPORT);
  p.send(TCP_SYN, { mss: 1400, ws: 3, sackOk: true, ack: 0 });
  const synAck = p.one('SYN-ACK');
  p.ack = (synAck.seq + 1) >>> 0;
  p.send(TCP_ACK);
  h.none('no segment after the final ACK');
  assert.equal(rec.accepted.length, 1);
  return { h, l, c: rec.accepted[0]!, rec, p, synAck };
}

// ---------------------------------------------------------------------------------------------
// Opening

void test('active open: SYN carries MSS, window scale, SACK-permitted, timestamps; SYN-ACK -> ESTABLISHED', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, rec);
  assert.equal(state(c), 'SYN-SENT');
  const syn = h.one('SYN');
  assertSeg(syn, { flags: TCP_SYN, srcPort: LPORT, dstPort: RPORT, ack: 0, mss: 1460, ws: 3, sackOk: true, window: 65535 }, 'SYN');
  assert.equal(syn.ts![1], 0, 'TSecr 0 in SYN');
  assert.equal(h.checksumsSeen.length, 1);
  h.time = 7;
  h.inject({ srcPort: RPORT, dstPort: LPORT, seq: R_ISS, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, window: 1000, mss: 1200, ws: 5, sackOk: true, ts: [777, syn.ts![0]] });
  assert.equal(state(c), 'ESTABLISHED');
  assert.deepEqual(rec.events, ['connected']);
  const ack = h.one('ACK');
  assertSeg(ack, { flags: TCP_ACK, seq: syn.seq + 1, ack: R_ISS + 1, ts: [ack.ts![0], 777] }, 'ACK');
  assert.equal(c.sndWnd, 1000, 'window in SYN-ACK is not scaled');
  assert.equal(c.sndWscale, 5);
  assert.equal(c.sndMss, 1200);
  assert.equal(c.rtt.samples, 1, 'handshake RTT measured');
  assert.equal(c.rtt.srtt, 7);
});

void test('passive open: LISTEN + SYN -> SYN-RECEIVED (SYN-ACK mirrors options) -> ESTABLISHED on ACK', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  h.engine.listen(RPORT, null, 4, rec);
  const p = new Peer(h, RPORT, LPORT);
  p.send(TCP_SYN, { mss: 1400, ws: 3, sackOk: true });
  const synAck = p.one('SYN-ACK');
  assertSeg(synAck, { flags: TCP_SYN | TCP_ACK, ack: R_ISS + 1, mss: 1460, ws: 3, sackOk: true }, 'SYN-ACK');
  assert.equal(synAck.ts![1], 5000, 'SYN-ACK echoes TSval');
  assert.deepEqual(rec.accepted, [], 'not accepted before the ACK');
  const c = h.engine.findConnection(h.local, RPORT, h.remote, LPORT)!;
  assert.equal(state(c), 'SYN-RECEIVED');
  assert.equal(h.engine.stats.passiveOpens, 1);
  p.ack = synAck.seq + 1;
  p.send(TCP_ACK, { payload: bytes(10) });
  assert.equal(state(c), 'ESTABLISHED');
  assert.deepEqual(rec.events, ['accept', 'readable']);
  assert.deepEqual(rec.data, Array.from(bytes(10)), 'data in the handshake-completing ACK delivered');
});

void test('passive open without options: no window scale, SACK or timestamps; default MSS 536', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  h.engine.listen(RPORT, null, 4, rec);
  const p = new Peer(h, RPORT, LPORT);
  p.useTs = false;
  p.send(TCP_SYN);
  const synAck = p.one();
  assertSeg(synAck, { ws: undefined, sackOk: undefined, ts: undefined, mss: 1460 }, 'SYN-ACK without offered options');
  p.ack = synAck.seq + 1;
  p.window = 2000;
  p.send(TCP_ACK);
  const c = rec.accepted[0]!;
  assert.equal(c.negotiated, 0);
  assert.equal(c.sndMss, 536);
  assert.equal(c.sndWnd, 2000, 'unscaled window');
  c.send(bytes(3000), 0, 3000);
  const segs = h.take();
  assert.ok(segs.length >= 3);
  for (const s of segs) assert.ok((s.payload?.length ?? 0) <= 536, `segment ${show(s)} within MSS 536`);
  assert.ok(segs.every((s) => s.ts === undefined));
  assert.ok(segs.every((s) => s.window <= 65535));
});

void test('simultaneous open: SYN-SENT + SYN -> SYN-RECEIVED (SYN,ACK from the same ISS) -> ESTABLISHED', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, rec);
  const p = new Peer(h);
  const syn = p.one('SYN');
  p.send(TCP_SYN, { mss: 1460, ws: 2, sackOk: true, ack: 0 });
  assert.equal(state(c), 'SYN-RECEIVED');
  const synAck = p.one('SYN,ACK');
  assertSeg(synAck, { flags: TCP_SYN | TCP_ACK, seq: syn.seq, ack: R_ISS + 1 }, 'SYN,ACK');
  p.ack = syn.seq + 1;
  p.send(TCP_SYN | TCP_ACK, { seq: R_ISS, ack: syn.seq + 1, mss: 1460, ws: 2, sackOk: true });
  // The peer's SYN,ACK repeats its SYN (already acknowledged): RFC 5961 challenge ACK.
  assert.equal(state(c), 'SYN-RECEIVED');
  p.one('ACK for the repeated SYN');
  p.send(TCP_ACK);
  assert.equal(state(c), 'ESTABLISHED');
  assert.deepEqual(rec.events, ['connected']);
});

void test('SYN-SENT: an ACK for something never sent gets RST <SEQ=SEG.ACK>', () => {
  const h = new ScriptHost(FAST);
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, new Recorder());
  const syn = h.one();
  h.inject({ srcPort: RPORT, dstPort: LPORT, seq: R_ISS, ack: syn.seq + 5, flags: TCP_SYN | TCP_ACK, window: 100 });
  assertSeg(h.one('RST'), { flags: TCP_RST, seq: syn.seq + 5 }, 'RST');
  assert.equal(state(c), 'SYN-SENT');
});

void test('SYN-SENT: RST acknowledging the SYN refuses the connection (ECONNREFUSED); other RSTs are ignored', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, rec);
  const syn = h.one();
  h.inject({ srcPort: RPORT, dstPort: LPORT, seq: 0, ack: syn.seq + 2, flags: TCP_RST | TCP_ACK, window: 0 });
  assert.equal(state(c), 'SYN-SENT', 'RST with a bad ACK ignored');
  h.inject({ srcPort: RPORT, dstPort: LPORT, seq: 0, ack: 0, flags: TCP_RST, window: 0 });
  assert.equal(state(c), 'SYN-SENT', 'RST without ACK ignored');
  h.inject({ srcPort: RPORT, dstPort: LPORT, seq: 0, ack: syn.seq + 1, flags: TCP_RST | TCP_ACK, window: 0 });
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.closedWith, TcpError.ECONNREFUSED);
  assert.equal(h.engine.stats.attemptFails, 1);
  assert.equal(h.engine.connectionCount, 0);
});

void test('CLOSED port: SYN gets RST,ACK <ACK=SEG.SEQ+1>; ACK gets RST <SEQ=SEG.ACK>; RST gets nothing', () => {
  const h = new ScriptHost(FAST);
  h.inject({ srcPort: 1234, dstPort: 9, seq: 500, ack: 0, flags: TCP_SYN, window: 100 });
  assertSeg(h.one(), { flags: TCP_RST | TCP_ACK, seq: 0, ack: 501, srcPort: 9, dstPort: 1234 }, 'reply to SYN');
  h.inject({ srcPort: 1234, dstPort: 9, seq: 500, ack: 777, flags: TCP_ACK, window: 100, payload: bytes(5) });
  assertSeg(h.one(), { flags: TCP_RST, seq: 777 }, 'reply to ACK');
  h.inject({ srcPort: 1234, dstPort: 9, seq: 500, ack: 0, flags: TCP_RST, window: 0 });
  h.none('no reply to RST');
  assert.equal(h.engine.stats.outRsts, 2);
  assert.equal(h.engine.stats.drops[TcpDropReason.NoSocket], 3);
});

void test('LISTEN: an ACK gets RST, a RST is ignored, a bare segment is dropped', () => {
  const h = new ScriptHost(FAST);
  h.engine.listen(RPORT, null, 4, new Recorder());
  h.inject({ srcPort: LPORT, dstPort: RPORT, seq: 1, ack: 99, flags: TCP_ACK, window: 10 });
  assertSeg(h.one(), { flags: TCP_RST, seq: 99 }, 'RST for ACK');
  h.inject({ srcPort: LPORT, dstPort: RPORT, seq: 1, ack: 0, flags: TCP_RST, window: 0 });
  h.inject({ srcPort: LPORT, dstPort: RPORT, seq: 1, ack: 0, flags: TCP_PSH, window: 0, payload: bytes(3) });
  h.none();
  assert.equal(h.engine.connectionCount, 0);
});

void test('listen backlog: SYNs beyond the backlog are dropped and counted', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  h.engine.listen(RPORT, null, 2, rec);
  for (let i = 0; i < 4; i++) h.inject({ srcPort: 2000 + i, dstPort: RPORT, seq: 100, ack: 0, flags: TCP_SYN, window: 1000 });
  assert.equal(h.take().length, 2, 'two SYN-ACKs');
  assert.equal(h.engine.stats.drops[TcpDropReason.ListenOverflow], 2);
  assert.equal(h.engine.connectionCount, 2);
  // Half-open connections hold no buffers; they get them once established.
  const c = h.engine.findConnection(h.local, RPORT, h.remote, 2000)!;
  assert.equal(state(c), 'SYN-RECEIVED');
  assert.equal(c.rcvRing.capacity + c.sndRing.capacity, 0);
});

void test('SYN retransmission backs off (1 s, 2 s, 4 s ...) and gives up with ETIMEDOUT', () => {
  const h = new ScriptHost({ synRetries: 3 });
  const rec = new Recorder();
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, rec);
  const syn = h.one();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    h.advance(h.nextTimer() - h.time);
    times.push(h.time);
    assertSeg(h.one('SYN retransmission'), { flags: TCP_SYN, seq: syn.seq }, 'retransmitted SYN');
  }
  assert.deepEqual(times, [1000, 3000, 7000]);
  h.advance(h.nextTimer() - h.time);
  assert.equal(h.time, 15000);
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.closedWith, TcpError.ETIMEDOUT);
});

void test('RFC 6298 (5.7): after a retransmitted SYN the RTO starts at 3 s once established', () => {
  const h = new ScriptHost(FAST);
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, new Recorder(), {});
  const syn = h.one();
  h.advance(1000);
  h.one('retransmitted SYN');
  h.inject({ srcPort: RPORT, dstPort: LPORT, seq: R_ISS, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, window: 1000, mss: 1460 });
  assert.equal(state(c), 'ESTABLISHED');
  assert.equal(c.rtt.samples, 0, 'Karn: no sample from a retransmitted SYN without timestamps');
  assert.equal(c.rtt.rto, 3000);
});

// ---------------------------------------------------------------------------------------------
// Closing

void test('active close: ESTABLISHED -> FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED after 2 MSL', () => {
  const { h, c, p, rec } = activeEstablished();
  c.shutdown();
  assert.equal(state(c), 'FIN-WAIT-1');
  const fin = p.one('FIN');
  assertSeg(fin, { flags: TCP_FIN | TCP_ACK, seq: p.ack, ack: p.seq }, 'FIN');
  p.ack = fin.seq + 1;
  p.send(TCP_ACK);
  assert.equal(state(c), 'FIN-WAIT-2');
  assert.ok(rec.events.includes('fin-acked'));
  p.send(TCP_FIN | TCP_ACK);
  assert.equal(state(c), 'TIME-WAIT');
  assertSeg(p.one('ACK of FIN'), { flags: TCP_ACK, ack: p.seq }, 'ACK of FIN');
  assert.ok(rec.events.includes('closed:0'));
  // A retransmitted FIN is acknowledged again and restarts 2 MSL.
  h.advance(1500);
  p.send(TCP_FIN | TCP_ACK, { seq: p.seq - 1 });
  assertSeg(p.one('re-ACK'), { flags: TCP_ACK, ack: p.seq }, 're-ACK');
  h.advance(1999);
  assert.equal(state(c), 'TIME-WAIT');
  h.advance(1);
  assert.equal(state(c), 'CLOSED');
  assert.equal(h.engine.connectionCount, 0);
});

void test('FIN-WAIT-1 + FIN,ACK acknowledging our FIN goes straight to TIME-WAIT', () => {
  const { c, p } = activeEstablished();
  c.shutdown();
  const fin = p.one();
  p.ack = fin.seq + 1;
  p.send(TCP_FIN | TCP_ACK);
  assert.equal(state(c), 'TIME-WAIT');
  p.one('ACK');
});

void test('passive close: ESTABLISHED -> CLOSE-WAIT -> LAST-ACK -> CLOSED, data still flows after the peer FIN', () => {
  const { h, c, p, rec } = activeEstablished();
  p.send(TCP_FIN | TCP_ACK, { payload: bytes(4) });
  assert.equal(state(c), 'CLOSE-WAIT');
  assert.ok(c.endOfStream());
  assert.deepEqual(rec.data, [0, 1, 2, 3]);
  assertSeg(p.one('ACK of FIN'), { ack: p.seq }, 'ACK of data+FIN');
  // Half close: we can still send.
  c.send(bytes(5), 0, 5);
  const d = p.one('data in CLOSE-WAIT');
  assert.equal(d.payload!.length, 5);
  p.ack += 5;
  c.shutdown();
  assert.equal(state(c), 'LAST-ACK');
  const fin = p.one('FIN');
  assertSeg(fin, { flags: TCP_FIN | TCP_ACK }, 'FIN');
  p.ack = fin.seq + 1;
  p.send(TCP_ACK);
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.closedWith, TcpError.None);
  assert.equal(h.engine.connectionCount, 0);
});

void test('simultaneous close: FIN-WAIT-1 + FIN -> CLOSING -> ACK -> TIME-WAIT', () => {
  const { c, p } = activeEstablished();
  c.shutdown();
  const fin = p.one('our FIN');
  p.send(TCP_FIN | TCP_ACK); // peer's FIN crosses ours: it does not acknowledge our FIN
  assert.equal(state(c), 'CLOSING');
  assertSeg(p.one('ACK of peer FIN'), { ack: p.seq }, 'ACK');
  p.ack = fin.seq + 1;
  p.send(TCP_ACK);
  assert.equal(state(c), 'TIME-WAIT');
});

void test('half close: after shutdown() the connection keeps receiving data in FIN-WAIT-2', () => {
  const { c, p, rec } = activeEstablished();
  c.shutdown();
  const fin = p.one();
  p.ack = fin.seq + 1;
  p.send(TCP_ACK);
  assert.equal(state(c), 'FIN-WAIT-2');
  p.send(TCP_ACK | TCP_PSH, { payload: bytes(100) });
  assert.equal(rec.data.length, 100);
  assert.throws(() => c.send(bytes(1), 0, 1), { code: 'ERR_TCP_SHUTDOWN' });
});

void test('TIME-WAIT: a new SYN with a higher sequence number reuses the 4-tuple; after 2 MSL it is free', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  h.engine.listen(RPORT, null, 4, rec);
  const p = new Peer(h, RPORT, LPORT);
  p.useTs = false;
  p.send(TCP_SYN);
  const synAck = p.one();
  p.ack = synAck.seq + 1;
  p.send(TCP_ACK);
  const c = rec.accepted[0]!;
  // Server closes first: server ends in TIME-WAIT.
  c.shutdown();
  const fin = p.one();
  p.ack = fin.seq + 1;
  p.send(TCP_FIN | TCP_ACK);
  assert.equal(state(c), 'TIME-WAIT');
  p.one('ACK');
  // An old SYN (lower ISN) is answered with an ACK, not a new connection.
  p.send(TCP_SYN, { seq: R_ISS - 10, ack: 0 });
  assertSeg(p.one(), { flags: TCP_ACK }, 'old SYN in TIME-WAIT');
  assert.equal(rec.accepted.length, 1);
  // A new incarnation with a higher ISN is accepted.
  h.time += 100;
  p.send(TCP_SYN, { seq: R_ISS + 100_000, ack: 0 });
  const synAck2 = p.one('SYN-ACK of the new incarnation');
  assertSeg(synAck2, { flags: TCP_SYN | TCP_ACK, ack: R_ISS + 100_001 }, 'SYN-ACK');
  const c2 = h.engine.findConnection(h.local, RPORT, h.remote, LPORT)!;
  assert.notEqual(c2, c);
  assert.equal(state(c2), 'SYN-RECEIVED');
  assert.ok(((synAck2.seq - synAck.seq) | 0) > 0, 'the new ISN is larger (clock component)');
});

void test('TIME-WAIT expiry frees the 4-tuple for a new active open from the same port', () => {
  const { h, c, p } = activeEstablished();
  c.shutdown();
  const fin = p.one();
  p.ack = fin.seq + 1;
  p.send(TCP_FIN | TCP_ACK);
  p.one();
  assert.equal(state(c), 'TIME-WAIT');
  h.advance(2000);
  assert.equal(state(c), 'CLOSED');
  const c2 = h.engine.connect(h.remote, RPORT, null, LPORT, new Recorder());
  assert.equal(state(c2), 'SYN-SENT');
  assertSeg(h.one(), { flags: TCP_SYN }, 'new SYN');
});

// ---------------------------------------------------------------------------------------------
// RST in each state, RFC 5961

void test('RST at RCV.NXT in ESTABLISHED resets (ECONNRESET)', () => {
  const { h, c, p, rec } = activeEstablished();
  p.send(TCP_RST, { ts: undefined });
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.closedWith, TcpError.ECONNRESET);
  assert.equal(h.engine.stats.establishedResets, 1);
  h.none('no reply to RST');
});

void test('RST in SYN-RECEIVED of a passive open returns quietly to LISTEN', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  const l = h.engine.listen(RPORT, null, 4, rec);
  const p = new Peer(h, RPORT, LPORT);
  p.send(TCP_SYN);
  p.one();
  assert.equal(l.pending, 1);
  p.send(TCP_RST, { ts: undefined });
  assert.equal(h.engine.connectionCount, 0);
  assert.equal(l.pending, 0);
  assert.deepEqual(rec.events, []);
  // The listener still answers.
  p.send(TCP_SYN, { seq: 5 });
  assertSeg(p.one(), { flags: TCP_SYN | TCP_ACK }, 'listener still works');
});

void test('RST in FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT closes', () => {
  const cases: [string, (x: ReturnType<typeof activeEstablished>) => void, number][] = [
    ['FIN-WAIT-1', ({ c, p }) => {
      c.shutdown();
      p.one();
    }, TcpError.ECONNRESET],
    ['FIN-WAIT-2', ({ c, p }) => {
      c.shutdown();
      const f = p.one();
      p.ack = f.seq + 1;
      p.send(TCP_ACK);
    }, TcpError.ECONNRESET],
    ['CLOSE-WAIT', ({ p }) => {
      p.send(TCP_FIN | TCP_ACK);
      p.one();
    }, TcpError.ECONNRESET],
    ['CLOSING', ({ c, p }) => {
      c.shutdown();
      p.one();
      p.send(TCP_FIN | TCP_ACK);
      p.one();
    }, TcpError.None],
    ['LAST-ACK', ({ c, p }) => {
      p.send(TCP_FIN | TCP_ACK);
      p.one();
      c.shutdown();
      p.one();
    }, TcpError.None],
    ['TIME-WAIT', ({ c, p }) => {
      c.shutdown();
      const f = p.one();
      p.ack = f.seq + 1;
      p.send(TCP_FIN | TCP_ACK);
      p.one();
    }, TcpError.None],
  ];
  for (const [name, reach, err] of cases) {
    const x = activeEstablished();
    reach(x);
    assert.equal(state(x.c), name);
    x.p.send(TCP_RST, { ts: undefined });
    assert.equal(state(x.c), 'CLOSED', `${name}: RST closes`);
    if (name !== 'TIME-WAIT' && name !== 'CLOSING' && name !== 'LAST-ACK') assert.equal(x.rec.closedWith, err, `${name}: error`);
    assert.equal(x.h.engine.connectionCount, 0, `${name}: TCB deleted`);
  }
});

void test('RFC 5961 3.2: an in-window RST off RCV.NXT draws a challenge ACK; out of window it is ignored', () => {
  const { h, c, p } = activeEstablished();
  p.send(TCP_RST, { seq: p.seq + 100, ts: undefined });
  assert.equal(state(c), 'ESTABLISHED');
  assertSeg(p.one('challenge ACK'), { flags: TCP_ACK, seq: p.ack, ack: p.seq }, 'challenge ACK');
  p.send(TCP_RST, { seq: p.seq + 10_000_000, ts: undefined });
  h.none('no reply to an out-of-window RST');
  assert.equal(state(c), 'ESTABLISHED');
  assert.equal(h.engine.stats.challengeAcks, 1);
  // The challenge ACK tells a legitimate peer RCV.NXT: its RST at RCV.NXT then works.
  p.send(TCP_RST, { ts: undefined });
  assert.equal(state(c), 'CLOSED');
});

void test('RFC 5961 4.2: SYN on an established connection draws a challenge ACK and changes nothing', () => {
  const { c, p } = activeEstablished();
  p.send(TCP_SYN, { seq: p.seq + 5 });
  assert.equal(state(c), 'ESTABLISHED');
  assertSeg(p.one('challenge ACK'), { flags: TCP_ACK, ack: p.seq }, 'challenge ACK');
});

void test('RFC 5961 5.2: an ACK for data never sent is answered with an ACK and dropped', () => {
  const { h, c, p, rec } = activeEstablished();
  p.send(TCP_ACK | TCP_PSH, { ack: p.ack + 5000, payload: bytes(10) });
  assert.equal(state(c), 'ESTABLISHED');
  assert.equal(rec.data.length, 0, 'its data is not taken');
  assertSeg(p.one(), { flags: TCP_ACK, ack: p.seq - 10 }, 'ACK');
  assert.equal(h.engine.stats.drops[TcpDropReason.BadAck], 1);
});

void test('RFC 5961 section 7: challenge ACKs are rate-limited per second', () => {
  const { h, p } = activeEstablished({ ...FAST, challengeAckLimit: 3 });
  for (let i = 0; i < 10; i++) p.send(TCP_RST, { seq: p.seq + 1 + i, ts: undefined });
  assert.equal(h.take().length, 3);
  h.advance(1000);
  p.send(TCP_RST, { seq: p.seq + 1, ts: undefined });
  assert.equal(h.take().length, 1);
});

// ---------------------------------------------------------------------------------------------
// Options: timestamps, PAWS, window scaling

void test('PAWS (RFC 7323 5.3): a segment with an older TSval is dropped and acknowledged', () => {
  const { h, p, rec } = activeEstablished();
  p.tsVal = 6000;
  p.send(TCP_ACK | TCP_PSH, { payload: bytes(10) });
  assert.equal(rec.data.length, 10);
  h.advance(200);
  p.one('delayed ACK');
  p.send(TCP_ACK | TCP_PSH, { payload: bytes(10, 10), ts: [5999, p.tsEcr] });
  assert.equal(rec.data.length, 10, 'old segment not delivered');
  assertSeg(p.one('ACK for the PAWS drop'), { flags: TCP_ACK, ack: p.seq - 10 }, 'ACK');
  assert.equal(h.engine.stats.drops[TcpDropReason.Paws], 1);
  // TSval wraps modulo 2^32: 6000 + 2^31 - 1 is newer.
  p.send(TCP_ACK | TCP_PSH, { seq: p.seq - 10, payload: bytes(10, 10), ts: [(6000 + 0x7fffffff) >>> 0, p.tsEcr] });
  assert.equal(rec.data.length, 20);
});

void test('timestamps negotiated: a non-RST segment without them is dropped (RFC 7323 3.2)', () => {
  const { h, p, rec } = activeEstablished();
  p.send(TCP_ACK | TCP_PSH, { payload: bytes(10), ts: undefined });
  assert.equal(rec.data.length, 0);
  assert.equal(h.engine.stats.drops[TcpDropReason.MissingTimestamp], 1);
});

void test('RTTM: the RTT is measured from TSecr on ACKs of new data', () => {
  const { h, c, p } = activeEstablished();
  const before = c.rtt.samples;
  c.send(bytes(100), 0, 100);
  const d = p.one();
  h.advance(40);
  p.ack += 100;
  p.send(TCP_ACK, { ts: [p.tsVal, d.ts![0]] });
  assert.equal(c.rtt.samples, before + 1);
  // First sample (handshake) was 0 ms; RFC 6298 (2.3): SRTT = 7/8 * 0 + 1/8 * 40.
  assert.equal(c.rtt.srtt, 5);
  assert.equal(c.rtt.rttvar, 0.25 * 40);
});

void test('window scaling: our window field is shifted by 3 for a 256 KiB buffer; the peer window by its shift', () => {
  const { c, p } = activeEstablished();
  assert.equal(c.rcvWscale, 3);
  assert.equal(c.sndWscale, 2);
  p.send(TCP_ACK, { window: 1000 });
  assert.equal(c.sndWnd, 4000);
  c.send(bytes(100), 0, 100);
  const d = p.one();
  assert.equal(d.window, (256 * 1024) >> 3);
});

// ---------------------------------------------------------------------------------------------
// Data: delayed ACK, Nagle, zero window, persist, keep-alive

void test('delayed ACK: one segment is acknowledged after 200 ms, every second segment at once', () => {
  const { h, p } = activeEstablished();
  p.send(TCP_ACK, { payload: bytes(100) });
  h.none('ACK delayed');
  h.advance(199);
  h.none('still delayed at 199 ms');
  h.advance(1);
  assertSeg(p.one('delayed ACK'), { ack: p.seq }, 'delayed ACK at 200 ms');
  p.send(TCP_ACK, { payload: bytes(100) });
  p.send(TCP_ACK, { payload: bytes(100) });
  assertSeg(p.one('ACK of the second segment'), { ack: p.seq }, 'immediate ACK');
  h.advance(500);
  h.none('no further ACK');
});

void test('delayed ACK time is configurable; 0 acknowledges every segment', () => {
  const a = activeEstablished({ ...FAST, delayedAckMs: 40 });
  a.p.send(TCP_ACK, { payload: bytes(10) });
  a.h.advance(40);
  a.p.one('ACK at 40 ms');
  const b = activeEstablished({ ...FAST, delayedAckMs: 0 });
  b.p.send(TCP_ACK, { payload: bytes(10) });
  b.p.one('ACK at once');
});

void test('Nagle: a small write waits while data is unacknowledged; noDelay sends at once', () => {
  const { c, p } = activeEstablished();
  c.send(bytes(10), 0, 10);
  p.one('first small segment goes (nothing in flight)');
  c.send(bytes(10), 0, 10);
  c.send(bytes(10), 0, 10);
  p.h.none('held by Nagle');
  p.ack += 10;
  p.send(TCP_ACK);
  const s = p.one('coalesced segment after the ACK');
  assert.equal(s.payload!.length, 20);
  c.setNoDelay(true);
  c.send(bytes(5), 0, 5);
  assert.equal(p.one('noDelay').payload!.length, 5);
  c.send(bytes(5), 0, 5);
  assert.equal(p.one('noDelay with data in flight').payload!.length, 5);
});

void test('Nagle: a full-sized segment is sent even with data in flight', () => {
  const { c, p } = activeEstablished();
  c.send(bytes(10), 0, 10);
  p.one();
  c.send(bytes(3000), 0, 3000);
  const segs = p.h.take();
  assert.equal(segs.length, 2, segs.map(show).join(' | '));
  assert.equal(segs[0]!.payload!.length, 1448);
  assert.equal(segs[1]!.payload!.length, 1448);
});

void test('zero window: the sender probes with one byte on the persist timer, backing off, and resumes', () => {
  const { h, c, p } = activeEstablished();
  p.send(TCP_ACK, { window: 0 });
  c.send(bytes(100), 0, 100);
  h.none('nothing sent into a zero window');
  assert.ok(c.persisting);
  const probes: number[] = [];
  for (let i = 0; i < 3; i++) {
    h.advance(h.nextTimer() - h.time);
    const probe = p.one('window probe');
    assert.equal(probe.payload!.length, 1);
    assert.equal(probe.seq, p.ack);
    probes.push(h.time);
    p.send(TCP_ACK, { window: 0 }); // still closed; the probe byte is not accepted
  }
  assert.deepEqual(probes, [1000, 3000, 7000], 'persist interval doubles: 1 s, 2 s, 4 s');
  assert.equal(h.engine.stats.windowProbes, 3);
  p.send(TCP_ACK, { window: 1000 });
  const d = p.one('data after the window opened');
  assert.equal(d.seq, p.ack);
  assert.equal(d.payload!.length, 100);
  assert.ok(!c.persisting);
});

void test('small window, nothing in flight: the persist timer sends what the window allows, so a lost window update cannot stall the sender', () => {
  const { h, c, p } = activeEstablished();
  c.send(bytes(40_000), 0, 40_000);
  let sent = 0;
  for (const s of h.take()) sent += s.payload!.length;
  assert.ok(sent > 0 && sent < 40_000, `first flight: ${sent} bytes`);
  // Everything acknowledged, but the receiver's buffer is nearly full: a 40-byte window (10 << 2).
  p.ack += sent;
  p.send(TCP_ACK, { window: 10 });
  h.none('40 bytes held by sender SWS avoidance (RFC 9293 3.8.6.2.1)');
  assert.equal(c.sndUna, c.sndMax, 'nothing in flight');
  // The receiver reads and sends a window update that is lost on the way: only a timer helps now.
  const due = h.nextTimer();
  assert.ok(due < Infinity, 'a timer is armed while data waits for a usable window');
  h.advance(due - h.time);
  const forced = p.one('segment at the persist timeout');
  assert.equal(forced.seq, p.ack, 'starts at SND.UNA');
  assert.equal(forced.payload!.length, 40, 'fills the small window');
  assert.ok(!c.persisting);
  assert.ok(h.nextTimer() < Infinity, 'the retransmission timer covers the forced segment');
  // Its ACK carries the window the lost update had announced: the transfer resumes.
  p.ack += 40;
  p.send(TCP_ACK, { window: 4096 });
  const more = h.take();
  assert.ok(more.length > 0, 'data flows again');
  assert.equal(more[0]!.seq, p.ack);
});

void test('small window: a window update that arrives stops the persist timer and the data goes at once', () => {
  const { h, c, p } = activeEstablished();
  c.send(bytes(40_000), 0, 40_000);
  let sent = 0;
  for (const s of h.take()) sent += s.payload!.length;
  p.ack += sent;
  p.send(TCP_ACK, { window: 10 });
  h.none();
  assert.ok(c.persisting);
  p.send(TCP_ACK, { window: 4096 }); // the update (same SEQ and ACK, larger window)
  assert.ok(!c.persisting);
  const segs = h.take();
  assert.ok(segs.length > 0, 'data after the update');
  assert.equal(segs[0]!.seq, p.ack);
  assert.equal(segs[0]!.payload!.length, 1448, 'full-sized segments again');
});

void test('receive side: a full buffer advertises a zero window; reading sends a window update', () => {
  const { h, c, p, rec } = activeEstablished({ ...FAST, receiveBufferSize: 4096 }, { mss: 1460, ws: 0, sackOk: true });
  rec.autoRead = false;
  for (let i = 0; i < 4; i++) p.send(TCP_ACK, { payload: bytes(1024) });
  const acks = h.take();
  assert.equal(acks.at(-1)!.window, 0, `window closes: ${acks.map(show).join(' | ')}`);
  // A segment into the zero window is not accepted; it is answered with an ACK.
  p.send(TCP_ACK, { payload: bytes(10) });
  assertSeg(p.one(), { window: 0, ack: p.seq - 10 }, 'ACK for the out-of-window segment');
  p.seq -= 10;
  const buf = new Uint8Array(4096);
  assert.equal(c.receive(buf, 0, 4096), 4096);
  const upd = p.one('window update');
  assert.equal(upd.window, 4096);
});

void test('keep-alive: probes after the idle time with SEQ = SND.UNA - 1; answered probes keep the connection', () => {
  const { h, c, p } = activeEstablished({ ...FAST, keepAliveIntervalMs: 1000, keepAliveProbes: 3 });
  c.setKeepAlive(true, 10_000);
  h.advance(9_999);
  h.none();
  h.advance(1);
  const probe = p.one('keep-alive probe');
  assertSeg(probe, { flags: TCP_ACK, seq: p.ack - 1 }, 'probe');
  p.send(TCP_ACK); // answer
  h.advance(9_999);
  h.none('idle timer restarted by the answer');
  h.advance(1);
  p.one('next probe');
  // No answers now: three more probes one second apart, then ETIMEDOUT.
  h.advance(1000);
  p.one();
  h.advance(1000);
  p.one();
  h.advance(1000);
  assert.equal(state(c), 'CLOSED');
  assert.equal(c.error, TcpError.ETIMEDOUT);
  assert.equal(h.engine.stats.keepAliveProbes, 4);
});

// ---------------------------------------------------------------------------------------------
// Loss: RTO, fast retransmit, NewReno, SACK

void test('RTO: retransmission of the oldest segment at 1 s, then 2 s, 4 s (backoff); Karn discards those samples', () => {
  const { h, c, p } = activeEstablished({ ...FAST, sack: false });
  c.rtt.rto = 1000;
  c.send(bytes(100), 0, 100);
  const first = p.one();
  const at: number[] = [];
  for (let i = 0; i < 3; i++) {
    h.advance(h.nextTimer() - h.time);
    const r = p.one('retransmission');
    assert.equal(r.seq, first.seq);
    assert.equal(r.payload!.length, 100);
    at.push(h.time);
  }
  assert.deepEqual(at.map((t, i) => t - (i === 0 ? 0 : at[i - 1]!)), [1000, 2000, 4000]);
  assert.equal(h.engine.stats.timeouts, 3);
  assert.equal(c.cc.cwnd, c.cc.mss, 'loss window after a timeout');
});

void test('data retransmissions give up with ETIMEDOUT after dataRetries', () => {
  const { h, c, rec } = activeEstablished({ ...FAST, dataRetries: 2, maxRtoMs: 4000 });
  c.send(bytes(10), 0, 10);
  h.take();
  h.advance(60_000);
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.closedWith, TcpError.ETIMEDOUT);
});

/** Sends `n` full segments from an established connection and returns them. */
function flight(x: ReturnType<typeof activeEstablished>, n: number): Seg[] {
  const { c, p } = x;
  c.cc.cwnd = 100 * 1448;
  p.window = 60000;
  p.send(TCP_ACK);
  x.h.take();
  c.send(bytes(1448 * n), 0, 1448 * n);
  const segs = x.h.take();
  assert.equal(segs.length, n, segs.map(show).join(' | '));
  for (const s of segs) p.saw(s);
  return segs;
}

void test('fast retransmit on the third duplicate ACK (NewReno, no SACK), then fast recovery', () => {
  const x = activeEstablished({ ...FAST, sack: false, congestionControl: 'newreno' }, { mss: 1460, ws: 2 });
  const { h, c, p } = x;
  const segs = flight(x, 6);
  // Segment 0 lost: three duplicate ACKs for it.
  p.send(TCP_ACK);
  p.send(TCP_ACK);
  h.none('no retransmission before the third duplicate ACK (limited transmit has nothing new)');
  p.send(TCP_ACK);
  const r = p.one('fast retransmission');
  assert.equal(r.seq, segs[0]!.seq);
  assert.ok(c.inRecovery);
  assert.equal(h.engine.stats.fastRetransmits, 1);
  const flightSize = 6 * 1448;
  assert.equal(c.cc.ssthresh, Math.max(flightSize / 2, 2 * 1448), 'RFC 5681 equation 4');
  assert.equal(c.cc.cwnd, c.cc.ssthresh + 3 * 1448, 'cwnd = ssthresh + 3 SMSS');
  p.send(TCP_ACK);
  assert.equal(c.cc.cwnd, c.cc.ssthresh + 4 * 1448, 'inflated by each further duplicate ACK');
  // Full ACK ends recovery.
  p.ack = (segs[5]!.seq + 1448) >>> 0;
  p.send(TCP_ACK);
  assert.ok(!c.inRecovery);
});

void test('NewReno partial ACK (RFC 6582): retransmits the next hole and stays in recovery', () => {
  const x = activeEstablished({ ...FAST, sack: false, congestionControl: 'newreno' }, { mss: 1460, ws: 2 });
  const { h, c, p } = x;
  const segs = flight(x, 6);
  // Segments 0 and 3 lost.
  for (let i = 0; i < 3; i++) p.send(TCP_ACK);
  assert.equal(p.one('retransmit 0').seq, segs[0]!.seq);
  // The retransmission fills hole 0: the ACK covers 0..2 (a partial ACK).
  p.ack = segs[3]!.seq;
  p.send(TCP_ACK);
  const r = h.take();
  assert.ok(r.length >= 1);
  assert.equal(r[0]!.seq, segs[3]!.seq, `partial ACK retransmits the next hole: ${r.map(show).join(' | ')}`);
  assert.ok(c.inRecovery, 'still in recovery after a partial ACK');
  p.ack = (segs[5]!.seq + 1448) >>> 0;
  p.send(TCP_ACK);
  assert.ok(!c.inRecovery, 'full ACK ends recovery');
  assert.ok(c.cc.cwnd <= c.cc.ssthresh, 'cwnd deflated to at most ssthresh');
});

void test('SACK: out-of-order segments are reported, newest block first (RFC 2018 section 4)', () => {
  const { p } = activeEstablished();
  const base = p.seq;
  p.send(TCP_ACK, { seq: base + 1000, payload: bytes(100) });
  assertSeg(p.one('dup ACK with SACK'), { ack: base, sack: [[base + 1000, base + 1100]] }, 'first block');
  p.send(TCP_ACK, { seq: base + 2000, payload: bytes(100) });
  assertSeg(p.one(), { ack: base, sack: [[base + 2000, base + 2100], [base + 1000, base + 1100]] }, 'newest first');
  p.send(TCP_ACK, { seq: base + 1100, payload: bytes(100) });
  assertSeg(p.one(), { ack: base, sack: [[base + 1000, base + 1200], [base + 2000, base + 2100]] }, 'merged range first');
  p.send(TCP_ACK, { seq: base, payload: bytes(1000) });
  assertSeg(p.one('hole filled'), { ack: base + 1200, sack: [[base + 2000, base + 2100]] }, 'after filling the first hole');
});

void test('SACK recovery (RFC 6675): only the holes the scoreboard shows are retransmitted', () => {
  const x = activeEstablished();
  const { h, c, p } = x;
  const segs = flight(x, 8);
  const s = (i: number) => segs[i]!.seq;
  const e = (i: number) => (segs[i]!.seq + 1448) >>> 0;
  // Segments 1 and 4 lost; the peer SACKs what arrived.
  p.ack = e(0);
  p.send(TCP_ACK);
  p.send(TCP_ACK, { sack: [[s(2), e(2)]] });
  p.send(TCP_ACK, { sack: [[s(2), e(3)]] });
  p.send(TCP_ACK, { sack: [[s(5), e(5)], [s(2), e(3)]] });
  const r1 = h.take();
  assert.ok(c.inRecovery && c.sackRecovery, 'SACK recovery entered');
  assert.equal(r1[0]!.seq, s(1), `first retransmission is hole 1: ${r1.map(show).join(' | ')}`);
  p.send(TCP_ACK, { sack: [[s(5), e(6)], [s(2), e(3)]] });
  p.send(TCP_ACK, { sack: [[s(5), e(7)], [s(2), e(3)]] });
  const r2 = h.take();
  const resent = [...r1, ...r2].map((x) => x.seq);
  assert.ok(resent.includes(s(4)), `hole 4 retransmitted: ${[...r1, ...r2].map(show).join(' | ')}`);
  for (const i of [0, 2, 3, 5, 6]) assert.ok(!resent.includes(s(i)), `SACKed segment ${i} not retransmitted`);
  // The tail may go once as the RFC 6675 rescue retransmission, never more.
  assert.ok(resent.filter((x) => x === s(7)).length <= 1);
  p.ack = e(7);
  p.send(TCP_ACK);
  assert.ok(!c.inRecovery);
});

void test('after an RTO the scoreboard is cleared and sending restarts from SND.UNA with cwnd = 1 MSS', () => {
  const x = activeEstablished();
  const { h, c, p } = x;
  const segs = flight(x, 4);
  p.send(TCP_ACK, { sack: [[segs[2]!.seq, segs[3]!.seq]] });
  assert.ok(c.scoreboard.count > 0);
  h.advance(h.nextTimer() - h.time);
  const r = p.one('RTO retransmission');
  assert.equal(r.seq, segs[0]!.seq);
  assert.equal(c.scoreboard.count, 0);
  assert.equal(c.cc.cwnd, c.cc.mss);
});

// ---------------------------------------------------------------------------------------------
// ICMP, MSS, allocation failure, abort, ports

void test('ICMP port unreachable while connecting refuses the connection; afterwards it is a soft error', () => {
  const h = new ScriptHost(FAST);
  const rec = new Recorder();
  const c = h.engine.connect(h.remote, RPORT, null, LPORT, rec);
  const syn = h.one();
  const quote = new Uint8Array(8);
  new DataView(quote.buffer).setUint16(0, LPORT);
  new DataView(quote.buffer).setUint16(2, RPORT);
  new DataView(quote.buffer).setUint32(4, (syn.seq + 1) >>> 0);
  h.engine.icmpError(h.local, h.remote, 2, 0, quote, 0, 8);
  assert.equal(state(c), 'SYN-SENT', 'a quote outside SND.UNA..SND.MAX is ignored (RFC 5927)');
  new DataView(quote.buffer).setUint32(4, syn.seq);
  h.engine.icmpError(h.local, h.remote, 2, 0, quote, 0, 8);
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.closedWith, TcpError.ECONNREFUSED);

  const x = activeEstablished();
  x.c.send(bytes(10), 0, 10);
  const d = x.h.one();
  new DataView(quote.buffer).setUint32(4, d.seq);
  x.h.engine.icmpError(x.h.local, x.h.remote, 1, 0, quote, 0, 8);
  assert.equal(state(x.c), 'ESTABLISHED');
  assert.equal(x.c.softError, TcpError.EHOSTUNREACH);
});

void test('ICMP packet too big: smaller segments from SND.UNA on, no congestion reduction', () => {
  const x = activeEstablished();
  const { h, c, p } = x;
  const segs = flight(x, 3);
  const cwnd = c.cc.cwnd;
  const quote = new Uint8Array(8);
  const dv = new DataView(quote.buffer);
  dv.setUint16(0, LPORT);
  dv.setUint16(2, RPORT);
  dv.setUint32(4, segs[0]!.seq);
  h.engine.icmpError(h.local, h.remote, 4, 1000, quote, 0, 8);
  const r = h.take();
  assert.ok(r.length >= 4, r.map(show).join(' | '));
  assert.equal(r[0]!.seq, segs[0]!.seq);
  for (const s of r) assert.ok((s.payload?.length ?? 0) <= 1000 - 40 - 12, `resegmented: ${show(s)}`);
  assert.equal(c.sndMss, 960);
  assert.equal(c.cc.cwnd, cwnd);
  assert.equal(h.engine.stats.pmtuUpdates, 1);
  void p;
});

void test('peer MSS option bounds our segments', () => {
  const x = activeEstablished(FAST, { mss: 536, ws: 2, sackOk: true });
  x.p.send(TCP_ACK, { window: 10000 });
  x.c.send(bytes(2000), 0, 2000);
  const segs = x.h.take();
  for (const s of segs) assert.ok((s.payload?.length ?? 0) <= 536 - 12, show(s));
});

void test('allocation failure is a lost segment: the retransmission timer recovers it', () => {
  const { h, c, p } = activeEstablished();
  h.failAllocations = true;
  c.send(bytes(50), 0, 50);
  h.none('nothing transmitted');
  assert.equal(h.engine.stats.allocationFailures, 1);
  h.failAllocations = false;
  h.advance(h.nextTimer() - h.time);
  const r = p.one('retransmission');
  assert.equal(r.payload!.length, 50);
});

void test('abort: RST <SEQ=SND.NXT>, TCB deleted, no callback to the user', () => {
  const { h, c, p, rec } = activeEstablished();
  const events = rec.events.length;
  c.abort();
  assertSeg(p.one('RST'), { flags: TCP_RST, seq: p.ack }, 'RST');
  assert.equal(state(c), 'CLOSED');
  assert.equal(rec.events.length, events);
  assert.equal(h.engine.connectionCount, 0);
});

void test('listener close resets queued connections; listen on a used port throws', () => {
  const h = new ScriptHost(FAST);
  const l = h.engine.listen(RPORT, null, 4, null);
  assert.throws(() => h.engine.listen(RPORT, null, 4, null), { code: 'ERR_TCP_ADDRESS_IN_USE' });
  const p = new Peer(h, RPORT, LPORT);
  p.send(TCP_SYN);
  const sa = p.one();
  p.ack = sa.seq + 1;
  p.send(TCP_ACK);
  assert.equal(l.acceptQueue.length, 1, 'queued: no user to hand it to');
  l.close();
  assertSeg(p.one('RST for the queued connection'), { flags: TCP_RST }, 'RST');
  p.send(TCP_SYN, { seq: 1 });
  assertSeg(p.one(), { flags: TCP_RST | TCP_ACK }, 'port closed');
});

void test('ephemeral ports come from 49152-65535 and differ per connection; ISNs differ per 4-tuple', () => {
  const h = new ScriptHost(FAST);
  const ports = new Set<number>();
  const isns = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const c = h.engine.connect(h.remote, RPORT, null, 0, null);
    assert.ok(c.flow.localPort >= 49152 && c.flow.localPort <= 65535);
    ports.add(c.flow.localPort);
    isns.add(c.iss);
  }
  assert.equal(ports.size, 20);
  assert.equal(isns.size, 20);
});

void test('ISNs are deterministic for a seed and follow the 4 microsecond clock (RFC 6528)', () => {
  const a = new ScriptHost(FAST, 42);
  const b = new ScriptHost(FAST, 42);
  const ca = a.engine.connect(a.remote, RPORT, null, LPORT, null);
  const cb = b.engine.connect(b.remote, RPORT, null, LPORT, null);
  assert.equal(ca.iss, cb.iss);
  const c = new ScriptHost(FAST, 43);
  assert.notEqual(c.engine.connect(c.remote, RPORT, null, LPORT, null).iss, ca.iss);
  // Same 4-tuple 1 s later: the ISN moved by 250000 (one tick per 4 us).
  ca.abort();
  a.time = 1000;
  const ca2 = a.engine.connect(a.remote, RPORT, null, LPORT, null);
  assert.equal((ca2.iss - ca.iss) >>> 0, 250_000);
});

void test('malformed segments are counted, never thrown', () => {
  const { h, c } = activeEstablished();
  h.injectBytes(new Uint8Array(10));
  const bad = new Uint8Array(24);
  bad[12] = 0x60; // data offset 6 words
  bad[20] = 2; // MSS kind with length 0
  bad[21] = 0;
  bad[0] = 0;
  bad[1] = RPORT;
  bad[3] = 1;
  h.injectBytes(bad);
  const zeroPort = new Uint8Array(20);
  zeroPort[12] = 0x50;
  h.injectBytes(zeroPort);
  assert.equal(h.engine.stats.drops[TcpDropReason.Malformed], 1);
  assert.equal(h.engine.stats.drops[TcpDropReason.BadOption], 1);
  assert.equal(h.engine.stats.drops[TcpDropReason.BadPort], 1);
  assert.equal(state(c), 'ESTABLISHED');
});

void test('user idle timeout fires once after inactivity and re-arms on activity', () => {
  const { h, c, p, rec } = activeEstablished();
  c.setIdleTimeout(5000);
  h.advance(4000);
  p.send(TCP_ACK, { payload: bytes(1) });
  h.advance(4999);
  assert.ok(!rec.events.includes('idle'));
  h.advance(1);
  assert.equal(rec.events.filter((e) => e === 'idle').length, 1);
  h.advance(20_000);
  assert.equal(rec.events.filter((e) => e === 'idle').length, 1, 'not repeated without activity');
});

void test('passive open state is counted: currentEstablished follows ESTABLISHED and CLOSE-WAIT', () => {
  const { h, c, p } = passiveEstablished();
  assert.equal(h.engine.stats.currentEstablished, 1);
  p.send(TCP_FIN | TCP_ACK);
  assert.equal(state(c), 'CLOSE-WAIT');
  assert.equal(h.engine.stats.currentEstablished, 1);
  c.shutdown();
  assert.equal(h.engine.stats.currentEstablished, 0);
  assert.equal(TcpState.LAST_ACK, c.state);
});
