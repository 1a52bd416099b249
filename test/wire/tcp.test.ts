// Tests for src/wire/tcp.ts: real segments made by scapy (test/fixtures/tcp/make-fixtures.py) read
// field by field, built field by field, parsed to a representation and emitted back; malformed
// headers and options; property tests for emit/parse round trips and for random bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  TcpView,
  TcpOptionWalker,
  TcpOptions,
  TcpHeaderRepr,
  TcpReason,
  describeTcpReason,
  emitTcpHeader,
  emitTcpOptions,
  emittedSackBlocks,
  formatTcpFlags,
  parseTcpOptions,
  readTcpHeader,
  tcpOptionsLength,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_OPT_HAS_MSS,
  TCP_OPT_HAS_SACK,
  TCP_OPT_HAS_SACK_PERMITTED,
  TCP_OPT_HAS_TIMESTAMP,
  TCP_OPT_HAS_WINDOW_SCALE,
  TCP_OPTION_MSS,
  TCP_OPTION_SACK,
  TCP_OPTION_TIMESTAMP,
  TCP_OPTION_WINDOW_SCALE,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from '../../src/wire/tcp.js';
import { parseIp } from '../../src/wire/address.js';
import { tcpChecksum } from '../drivers/protocol/tcpip/tcp/sim/checksum.js';

interface FixtureCase {
  name: string;
  family: 4 | 6;
  src: string;
  dst: string;
  hex: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  dataofs: number;
  reserved: number;
  flags: number;
  window: number;
  chksum: number;
  urgptr: number;
  options: [string | number, unknown][];
  payload: string;
}

const fixturePath = new URL('../../../test/fixtures/tcp/segments.json', import.meta.url);
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8')) as { cases: FixtureCase[] };
const cases = new Map(fixture.cases.map((c) => [c.name, c]));

function bytesOf(c: FixtureCase): Uint8Array {
  return new Uint8Array(Buffer.from(c.hex, 'hex'));
}

function fixtureCase(name: string): FixtureCase {
  const c = cases.get(name);
  assert.ok(c, `fixture ${name} missing from segments.json`);
  return c;
}

/** The option record scapy's option list describes (known kinds only). */
function expectedOptions(c: FixtureCase): TcpOptions {
  const o = new TcpOptions();
  for (const [kind, value] of c.options) {
    if (kind === 'MSS') o.setMss(value as number);
    else if (kind === 'WScale') o.setWindowScale(value as number);
    else if (kind === 'SAckOK') o.setSackPermitted();
    else if (kind === 'Timestamp') {
      const [v, e] = value as [number, number];
      o.setTimestamp(v, e);
    } else if (kind === 'SAck') {
      const edges = value as number[];
      for (let i = 0; i + 1 < edges.length; i += 2) o.addSackBlock(edges[i]!, edges[i + 1]!);
    } else if (typeof kind === 'number') o.unknownCount++;
  }
  return o;
}

function optionsSnapshot(o: TcpOptions): object {
  return {
    present: o.present,
    mss: (o.present & TCP_OPT_HAS_MSS) !== 0 ? o.mss : null,
    ws: (o.present & TCP_OPT_HAS_WINDOW_SCALE) !== 0 ? o.windowScale : null,
    ts: (o.present & TCP_OPT_HAS_TIMESTAMP) !== 0 ? [o.tsVal, o.tsEcr] : null,
    sack: Array.from(o.sackBlocks.subarray(0, o.sackCount * 2)),
    unknown: o.unknownCount,
  };
}

void test('deconstruct: every fixture field reads as scapy dissected it', () => {
  const v = new TcpView();
  for (const c of fixture.cases) {
    const b = bytesOf(c);
    assert.equal(v.wrap(b, 0, b.length), 0, `${c.name}: wrap`);
    assert.equal(v.srcPort(), c.sport, `${c.name}: srcPort`);
    assert.equal(v.dstPort(), c.dport, `${c.name}: dstPort`);
    assert.equal(v.seqNumber(), c.seq, `${c.name}: seq`);
    assert.equal(v.ackNumber(), c.ack, `${c.name}: ack`);
    assert.equal(v.dataOffset(), c.dataofs, `${c.name}: data offset`);
    assert.equal(v.headerLength(), c.dataofs * 4, `${c.name}: header length`);
    assert.equal(v.reserved(), c.reserved, `${c.name}: reserved`);
    assert.equal(v.flags(), c.flags, `${c.name}: flags`);
    assert.equal(v.windowSize(), c.window, `${c.name}: window`);
    assert.equal(v.checksum(), c.chksum, `${c.name}: checksum`);
    assert.equal(v.urgentPointer(), c.urgptr, `${c.name}: urgent`);
    assert.equal(v.payloadLength(), c.payload.length / 2, `${c.name}: payload length`);
    assert.equal(Buffer.from(b.subarray(v.payloadOffset(), v.payloadOffset() + v.payloadLength())).toString('hex'), c.payload);
  }
});

void test('deconstruct: flag helpers', () => {
  const v = new TcpView();
  const b = bytesOf(fixtureCase('ecn-syn'));
  v.wrap(b, 0, b.length);
  assert.deepEqual([v.syn(), v.ece(), v.cwr(), v.ack(), v.fin(), v.rst(), v.psh(), v.urg()], [true, true, true, false, false, false, false, false]);
  assert.equal(formatTcpFlags(v.flags()), 'SEC');
  const u = bytesOf(fixtureCase('urgent'));
  v.wrap(u, 0, u.length);
  assert.ok(v.urg() && v.ack());
  assert.equal(formatTcpFlags(TCP_FIN | TCP_ACK), 'FA');
  assert.equal(formatTcpFlags(0), '.');
});

void test('checksums scapy computed verify with an RFC 1071 pseudo-header sum', () => {
  for (const c of fixture.cases) {
    const b = bytesOf(c);
    const src = parseIp(c.src)!;
    const dst = parseIp(c.dst)!;
    assert.equal(tcpChecksum(src, dst, b, 0, b.length), 0, `${c.name}: sum over segment with checksum`);
  }
});

void test('parse: options walk to the values scapy reports', () => {
  const v = new TcpView();
  const w = new TcpOptionWalker();
  const o = new TcpOptions();
  for (const c of fixture.cases) {
    const b = bytesOf(c);
    v.wrap(b, 0, b.length);
    assert.equal(parseTcpOptions(v, o, w), 0, `${c.name}: parse`);
    assert.deepEqual(optionsSnapshot(o), optionsSnapshot(expectedOptions(c)), c.name);
  }
});

void test('parse: walker yields kinds in order, skips NOP, stops at EOL', () => {
  const v = new TcpView();
  const w = new TcpOptionWalker();
  const kinds = (name: string): number[] => {
    const b = bytesOf(fixtureCase(name));
    v.wrap(b, 0, b.length);
    w.reset(v);
    const out: number[] = [];
    for (let k = w.next(); k > 0; k = w.next()) out.push(k);
    return out;
  };
  assert.deepEqual(kinds('syn-linux-style'), [TCP_OPTION_MSS, 4, TCP_OPTION_TIMESTAMP, TCP_OPTION_WINDOW_SCALE]);
  assert.deepEqual(kinds('unknown-option-skipped'), [30, TCP_OPTION_TIMESTAMP]);
  assert.deepEqual(kinds('eol-then-garbage'), [TCP_OPTION_MSS]);
  assert.deepEqual(kinds('ack-sack-3-blocks'), [TCP_OPTION_TIMESTAMP, TCP_OPTION_SACK]);
  assert.deepEqual(kinds('data-psh'), []);
});

void test('construct: setting every field on zeroed space reproduces the fixture bytes', () => {
  const v = new TcpView();
  for (const c of fixture.cases) {
    const want = bytesOf(c);
    const got = new Uint8Array(want.length);
    v.wrapForEmit(got, 0, got.length);
    v.setSrcPort(c.sport);
    v.setDstPort(c.dport);
    v.setSeqNumber(c.seq);
    v.setAckNumber(c.ack);
    v.setDataOffset(c.dataofs);
    v.setReserved(c.reserved);
    v.setFlags(c.flags);
    v.setWindowSize(c.window);
    v.setChecksum(c.chksum);
    v.setUrgentPointer(c.urgptr);
    got.set(want.subarray(TCP_HEADER_LEN), TCP_HEADER_LEN); // options and payload as bytes
    assert.deepEqual(got, want, c.name);
  }
});

void test('emit: representation read from a fixture emits the same bytes (conventional layouts)', () => {
  const v = new TcpView();
  const w = new TcpOptionWalker();
  const r = new TcpHeaderRepr();
  // Fixtures whose option layout is the one emitTcpOptions writes.
  for (const name of ['syn-linux-style', 'syn-ack', 'ack-timestamps', 'data-psh', 'ack-sack-3-blocks', 'sack-4-blocks', 'fin-ack', 'rst', 'ecn-syn', 'urgent']) {
    const c = fixtureCase(name);
    const want = bytesOf(c);
    v.wrap(want, 0, want.length);
    assert.equal(readTcpHeader(v, r, w), 0);
    assert.equal(r.headerLength(), c.dataofs * 4, `${name}: header length`);
    const got = new Uint8Array(want.length);
    const hl = emitTcpHeader(got, 0, r);
    got.set(want.subarray(hl), hl);
    assert.deepEqual(Buffer.from(got).toString('hex'), c.hex, name);
  }
});

void test('emit: other layouts round-trip through parse', () => {
  const v = new TcpView();
  const w = new TcpOptionWalker();
  const r = new TcpHeaderRepr();
  const r2 = new TcpHeaderRepr();
  const c = fixtureCase('ipv6-syn');
  const b = bytesOf(c);
  v.wrap(b, 0, b.length);
  readTcpHeader(v, r, w);
  const out = new Uint8Array(60);
  const hl = emitTcpHeader(out, 0, r);
  assert.equal(v.wrap(out, 0, hl), 0);
  assert.equal(readTcpHeader(v, r2, w), 0);
  assert.deepEqual(optionsSnapshot(r2.options), optionsSnapshot(r.options));
  assert.equal(r2.seq, 42);
});

void test('emit: SACK blocks are limited to what fits beside other options', () => {
  const o = new TcpOptions();
  for (let i = 0; i < 4; i++) o.addSackBlock(i * 100, i * 100 + 50);
  o.addSackBlock(1, 2); // fifth block ignored
  assert.equal(o.sackCount, 4);
  assert.equal(emittedSackBlocks(o), 4);
  assert.equal(tcpOptionsLength(o), 36);
  o.setTimestamp(1, 2);
  assert.equal(emittedSackBlocks(o), 3);
  assert.equal(tcpOptionsLength(o), 40);
  o.setMss(1460);
  o.setWindowScale(7);
  assert.equal(emittedSackBlocks(o), 2);
  assert.equal(tcpOptionsLength(o), 40);
  assert.ok(tcpOptionsLength(o) <= 40);
  const buf = new Uint8Array(40);
  assert.equal(emitTcpOptions(buf, 0, o), tcpOptionsLength(o));
});

void test('wrap rejects short segments and bad data offsets with their reasons', () => {
  const v = new TcpView();
  const syn = bytesOf(fixtureCase('syn-linux-style'));
  assert.equal(v.wrap(syn, 0, 19), TcpReason.Truncated);
  assert.equal(v.wrap(syn, 0, 0), TcpReason.Truncated);
  assert.equal(v.wrap(syn, 30, 20), TcpReason.Truncated, 'window past the buffer end');
  assert.equal(v.wrap(syn, 0, 39), TcpReason.HeaderTruncated, 'options cut off');
  const bad = syn.slice();
  bad[12] = 0x40; // data offset 4
  assert.equal(v.wrap(bad, 0, bad.length), TcpReason.BadDataOffset);
  assert.equal(describeTcpReason(TcpReason.BadDataOffset), 'TCP data offset below 5 words');
  assert.match(describeTcpReason(99), /unknown/);
});

void test('walker reports malformed option lengths', () => {
  const v = new TcpView();
  const w = new TcpOptionWalker();
  const o = new TcpOptions();
  const make = (opts: number[]): number => {
    const len = TCP_HEADER_LEN + ((opts.length + 3) & ~3);
    const b = new Uint8Array(len);
    b[12] = (len / 4) << 4;
    b.set(opts, TCP_HEADER_LEN);
    // pad with NOPs after the bytes under test, unless they end in a deliberate truncation
    for (let i = TCP_HEADER_LEN + opts.length; i < len; i++) b[i] = 1;
    assert.equal(v.wrap(b, 0, len), 0);
    return parseTcpOptions(v, o, w);
  };
  assert.equal(make([2, 4, 5, 0xb4]), 0);
  assert.equal(make([2, 3, 5, 1]), TcpReason.MssBadLength);
  assert.equal(make([2, 0, 1, 1]), TcpReason.OptionBadLength, 'length 0 must not loop');
  assert.equal(make([30, 1, 1, 1]), TcpReason.OptionBadLength, 'length 1');
  assert.equal(make([30, 9, 0, 0]), TcpReason.OptionBadLength, 'beyond the area');
  assert.equal(make([3, 4, 7, 1]), TcpReason.WindowScaleBadLength);
  assert.equal(make([4, 3, 0, 1]), TcpReason.SackPermittedBadLength);
  assert.equal(make([5, 6, 0, 0, 0, 1, 1, 1]), TcpReason.SackBadLength);
  assert.equal(make([8, 8, 0, 0, 0, 1, 0, 0]), TcpReason.TimestampBadLength);
  assert.equal(make([1, 1, 1, 30]), TcpReason.OptionTruncated, 'kind in the last byte');
  // Options before the bad one are kept.
  assert.equal(make([2, 4, 1, 0, 3, 2, 1, 1]), TcpReason.WindowScaleBadLength);
  assert.equal(o.present & TCP_OPT_HAS_MSS, TCP_OPT_HAS_MSS);
  assert.equal(o.mss, 256);
});

// ---- properties ----

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

const optionsArb = fc.record({
  mss: fc.option(u16, { nil: undefined }),
  ws: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
  sackOk: fc.boolean(),
  ts: fc.option(fc.tuple(u32, u32), { nil: undefined }),
  sack: fc.array(fc.tuple(u32, u32), { maxLength: 4 }),
});

void test('property: parse(emit(repr)) = repr (SACK blocks beyond the room are dropped)', () => {
  const view = new TcpView();
  const walker = new TcpOptionWalker();
  const back = new TcpHeaderRepr();
  const buf = new Uint8Array(80);
  fc.assert(
    fc.property(u16, u16, u32, u32, fc.integer({ min: 0, max: 255 }), u16, u16, u16, optionsArb, fc.integer({ min: 0, max: 20 }), (sp, dp, seq, ack, flags, win, csum, urg, o, off) => {
      const r = new TcpHeaderRepr();
      Object.assign(r, { srcPort: sp, dstPort: dp, seq, ack, flags, window: win, checksum: csum, urgent: urg });
      if (o.mss !== undefined) r.options.setMss(o.mss);
      if (o.ws !== undefined) r.options.setWindowScale(o.ws);
      if (o.sackOk) r.options.setSackPermitted();
      if (o.ts !== undefined) r.options.setTimestamp(o.ts[0], o.ts[1]);
      for (const [l, rr] of o.sack) r.options.addSackBlock(l, rr);
      buf.fill(0xee);
      const hl = emitTcpHeader(buf, off, r);
      assert.equal(hl, r.headerLength());
      assert.ok(hl <= 60 && hl % 4 === 0);
      assert.equal(view.wrap(buf, off, hl), 0);
      assert.equal(readTcpHeader(view, back, walker), 0);
      assert.deepEqual(
        [back.srcPort, back.dstPort, back.seq, back.ack, back.flags, back.window, back.checksum, back.urgent],
        [sp, dp, seq, ack, flags, win, csum, urg],
      );
      const kept = emittedSackBlocks(r.options);
      const want = optionsSnapshot(r.options) as { sack: number[]; present: number };
      want.sack = want.sack.slice(0, kept * 2);
      if (kept === 0) want.present &= ~TCP_OPT_HAS_SACK;
      assert.deepEqual(optionsSnapshot(back.options), want);
      if (o.sackOk) assert.ok((back.options.present & TCP_OPT_HAS_SACK_PERMITTED) !== 0);
    }),
    { numRuns: 2000 },
  );
});

void test('property: random bytes never throw; they wrap or give a reason, and options walk to an end', () => {
  const view = new TcpView();
  const walker = new TcpOptionWalker();
  const repr = new TcpHeaderRepr();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: -5, max: 110 }), fc.integer({ min: -5, max: 110 }), (bytes, off, len) => {
      const r = view.wrap(bytes, off, len);
      assert.ok(r >= 0 && r < TcpReason.Count);
      if (r !== 0) return;
      assert.ok(view.headerLength() <= len);
      const pr = readTcpHeader(view, repr, walker);
      assert.ok(pr >= 0 && pr < TcpReason.Count);
      assert.ok(repr.options.sackCount <= 4);
      assert.ok(view.payloadOffset() + view.payloadLength() <= bytes.length);
    }),
    { numRuns: 5000 },
  );
});

void test('property: walker terminates on arbitrary option bytes', () => {
  const walker = new TcpOptionWalker();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      walker.resetRange(bytes, 0, bytes.length);
      let steps = 0;
      for (let k = walker.next(); k > 0; k = walker.next()) {
        steps++;
        assert.ok(walker.optionLength >= 2);
        assert.ok(walker.optionOffset + walker.optionLength <= bytes.length);
        assert.ok(steps <= 20);
      }
    }),
    { numRuns: 5000 },
  );
});

void test('flag constants keep their RFC 9293 / RFC 3168 bit values', () => {
  assert.deepEqual([TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR], [1, 2, 4, 8, 16, 32, 64, 128]);
});
