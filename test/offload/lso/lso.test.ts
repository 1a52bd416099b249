// Large Send Offload: segments compared byte for byte with scapy's (test/fixtures/offload), the
// send rules, completion information, and NET_BUFFER_LIST segmentation from a pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LSO_NO_LIMITS,
  LsoResult,
  LsoSegmenter,
  checkLsoNetBufferList,
  completeLso,
  describeLsoResult,
  lsoRuleId,
  segmentLso,
  type LsoLimits,
} from '../../../src/offload/lso/index.js';
import {
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6,
  NetBufferListPool,
  lsoV1CompleteTcpPayload,
  lsoV1TransmitValue,
  lsoV2CompleteValue,
  lsoV2TransmitValue,
  netBufferData,
  sendOffloadsSupplementalValue,
  type NetBufferList,
} from '../../../src/nbl/index.js';
import { fixtures, hex, nblFor, testPool, toHex, byName, type LsoFixture } from '../fixtures.js';

const I = NDIS_NET_BUFFER_LIST_INFO;

function lsoInfo(f: LsoFixture): number {
  if (f.version === 1) return lsoV1TransmitValue(f.mss, f.tcpHeaderOffset);
  return lsoV2TransmitValue(f.mss, f.tcpHeaderOffset, f.ipVersion === 4 ? NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 : NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6);
}

function encapInfo(f: LsoFixture): number {
  const n = f.nvgre;
  return n === undefined ? 0 : sendOffloadsSupplementalValue(n.innerFrameOffset, n.transportIpHeaderRelativeOffset, n.tcpHeaderRelativeOffset);
}

function prepare(pool: NetBufferListPool, f: LsoFixture, cuts: readonly number[] = []): NetBufferList {
  const nbl = nblFor(pool, hex(f.template), cuts);
  nbl.netBufferListInfo[I.TcpLargeSendNetBufferListInfo] = lsoInfo(f);
  nbl.netBufferListInfo[I.TcpSendOffloadsSupplementalNetBufferListInfo] = encapInfo(f);
  return nbl;
}

const segmenter = new LsoSegmenter();

void test('every segment equals the one scapy built for the same send', () => {
  const pool = testPool('Lso');
  for (const f of fixtures.lso) {
    const nbl = prepare(pool, f);
    assert.equal(checkLsoNetBufferList(nbl, LSO_NO_LIMITS, segmenter), LsoResult.Ok, `${f.name}: ${describeLsoResult(checkLsoNetBufferList(nbl, LSO_NO_LIMITS, segmenter))}`);
    assert.equal(segmenter.segmentCount, f.segments.length, f.name);
    assert.equal(segmenter.payloadLength, f.payloadLength, f.name);
    const out = new Uint8Array(2048 + 128);
    for (let i = 0; i < f.segments.length; i++) {
      const n = segmenter.next(out, 64);
      assert.equal(toHex(out.subarray(64, 64 + n)), f.segments[i], `${f.name}: segment ${i}`);
    }
    assert.equal(segmenter.next(out, 0), 0, `${f.name}: no more segments`);
    pool.freeNetBufferList(nbl);
  }
});

void test('payload spread over many MDLs (headers in the first) segments the same', () => {
  const pool = testPool('LsoM');
  const f = byName(fixtures.lso, 'v2-ipv4-options-timestamp');
  const header = f.segments[0]!.length / 2 - f.mss;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 5 }), (sizes) => {
      const cuts = [header, ...sizes];
      const total = cuts.reduce((a, b) => a + b, 0);
      const nbl = prepare(pool, f, total < f.template.length / 2 ? cuts : [header]);
      const chain = segmentLso(nbl, segPool, segmenter);
      assert.ok(chain !== null);
      let i = 0;
      for (let s: NetBufferList | null = chain; s !== null; s = s.next) assert.equal(toHex(netBufferData(s.firstNetBuffer!)), f.segments[i++]);
      assert.equal(i, f.segments.length);
      freeChain(chain);
      pool.freeNetBufferList(nbl);
    }),
    { numRuns: 25 },
  );
});

const segPool = new NetBufferListPool({ fAllocateNetBuffer: true, dataSize: 2048, poolTag: 'LsoS' });

function freeChain(chain: NetBufferList | null): void {
  let x = chain;
  while (x !== null) {
    const next: NetBufferList | null = x.next;
    segPool.freeNetBufferList(x);
    x = next;
  }
}

void test('segmentLso builds a chain of one-NET_BUFFER NBLs carrying the 802.1Q OOB', () => {
  const pool = testPool('LsoC');
  const f = byName(fixtures.lso, 'v2-ipv6-ext-headers');
  const nbl = prepare(pool, f);
  nbl.netBufferListInfo[I.Ieee8021QNetBufferListInfo] = 0x123;
  const chain = segmentLso(nbl, segPool, segmenter);
  let n = 0;
  for (let s = chain; s !== null; s = s.next) {
    assert.equal(s.firstNetBuffer!.next, null);
    assert.equal(s.netBufferListInfo[I.Ieee8021QNetBufferListInfo], 0x123);
    n++;
  }
  assert.equal(n, f.segments.length);
  freeChain(chain);
  pool.freeNetBufferList(nbl);
  assert.equal(segPool.outstanding, 0);
});

void test('completion information: LSOv1 TcpPayload, LSOv2 Reserved 0 and Type V2', () => {
  const pool = testPool('LsoX');
  const v1 = prepare(pool, byName(fixtures.lso, 'v1-ipv4'));
  completeLso(v1, 8000);
  assert.equal(lsoV1CompleteTcpPayload(v1.netBufferListInfo[I.TcpLargeSendNetBufferListInfo]!), 8000);
  assert.equal(v1.netBufferListInfo[I.TcpLargeSendNetBufferListInfo]! >>> 30, 0);
  const v2 = prepare(pool, byName(fixtures.lso, 'v2-ipv6-plain'));
  completeLso(v2, 5000);
  assert.equal(v2.netBufferListInfo[I.TcpLargeSendNetBufferListInfo], lsoV2CompleteValue());
});

function broken(f: LsoFixture, mutate: (b: Uint8Array) => void, info = lsoInfo(f), limits: LsoLimits = LSO_NO_LIMITS, cuts: number[] = []): number {
  const pool = testPool('LsoR');
  const b = hex(f.template);
  mutate(b);
  const nbl = nblFor(pool, b, cuts);
  nbl.netBufferListInfo[I.TcpLargeSendNetBufferListInfo] = info;
  nbl.netBufferListInfo[I.TcpSendOffloadsSupplementalNetBufferListInfo] = encapInfo(f);
  return checkLsoNetBufferList(nbl, limits, segmenter);
}

void test('send rules: each broken rule is named', () => {
  const v2 = byName(fixtures.lso, 'v2-ipv4-one-segment');
  const v1 = byName(fixtures.lso, 'v1-ipv4');
  const t = v2.tcpHeaderOffset;
  const none = (): void => undefined;
  assert.equal(broken(v2, none), LsoResult.Ok);
  assert.equal(broken(v2, none, 0), LsoResult.NotLso);
  assert.equal(broken(v2, none, lsoV2TransmitValue(0, t, 0)), LsoResult.ZeroMss);
  assert.equal(broken(v2, (b) => (b[17] = 40)), LsoResult.V2TotalLengthNotZero);
  assert.equal(broken(v1, (b) => (b[16] = 0xff)), LsoResult.V1TotalLengthWrong);
  assert.equal(broken(v2, (b) => (b[20] = b[20]! | 0x20)), LsoResult.Fragment);
  assert.equal(broken(v2, (b) => (b[t + 13] = b[t + 13]! | 0x02)), LsoResult.ForbiddenTcpFlags);
  assert.equal(broken(v2, (b) => (b[t + 19] = 1)), LsoResult.ForbiddenTcpFlags);
  assert.equal(broken(v2, none, lsoV2TransmitValue(1460, t + 4, 0)), LsoResult.TcpHeaderOffsetWrong);
  assert.equal(broken(v2, none, lsoV2TransmitValue(1460, t, 1)), LsoResult.WrongIpVersion);
  assert.equal(broken(v2, (b) => (b[23] = 17)), LsoResult.NotTcp);
  assert.equal(broken(v2, none, lsoInfo(v2), { ...LSO_NO_LIMITS, maxOffLoadSize: 50 }), LsoResult.TooLarge);
  assert.equal(broken(v2, none, lsoV2TransmitValue(10, t, 0), { ...LSO_NO_LIMITS, minSegmentCount: 11 }), LsoResult.TooFewSegments);
  assert.equal(broken(v2, none, lsoInfo(v2), { ...LSO_NO_LIMITS, v2Ipv4: false }), LsoResult.NotEnabled);
  assert.equal(broken(v2, none, lsoInfo(v2), { ...LSO_NO_LIMITS, mtu: 100 }), LsoResult.SegmentTooLarge);
  assert.equal(broken(v2, none, lsoInfo(v2), LSO_NO_LIMITS, [20]), LsoResult.HeadersNotInFirstMdl);
  const v6 = byName(fixtures.lso, 'v2-ipv6-plain');
  assert.equal(broken(v6, none, lsoV1TransmitValue(1440, v6.tcpHeaderOffset)), LsoResult.WrongIpVersion);
  assert.equal(lsoRuleId(LsoResult.Fragment), 'TX-004');
});

void test('an LSO NBL with two NET_BUFFERs breaks the one-NET_BUFFER rule', () => {
  const pool = testPool('Lso2');
  const f = byName(fixtures.lso, 'v2-ipv4-one-segment');
  const a = prepare(pool, f);
  const b = prepare(pool, f);
  a.firstNetBuffer!.next = b.firstNetBuffer;
  assert.equal(checkLsoNetBufferList(a, LSO_NO_LIMITS, segmenter), LsoResult.MultipleNetBuffers);
  a.firstNetBuffer!.next = null;
});

void test('a segment pool too small for MSS is refused, an exhausted one gives everything back', () => {
  const pool = testPool('Lso3');
  const f = byName(fixtures.lso, 'v2-ipv4-exact-multiple');
  const small = new NetBufferListPool({ fAllocateNetBuffer: true, dataSize: 512, poolTag: 'Tiny' });
  const out = { result: 0 };
  assert.equal(segmentLso(prepare(pool, f), small, segmenter, LSO_NO_LIMITS, out), null);
  assert.equal(out.result, LsoResult.SegmentTooLarge);
  const few = new NetBufferListPool({ fAllocateNetBuffer: true, dataSize: 2048, poolTag: 'Few', maxCount: 3, initialCount: 3 });
  assert.equal(segmentLso(prepare(pool, f), few, segmenter, LSO_NO_LIMITS, out), null);
  assert.equal(out.result, LsoResult.NoResources);
  assert.equal(few.outstanding, 0);
});

void test('random damage to a template gives a rule result or segments, never an exception', () => {
  const pool = testPool('LsoF');
  const f = byName(fixtures.lso, 'nvgre-v2-outer4-inner4');
  const base = hex(f.template).subarray(0, 200);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(199), fc.nat(255)), { maxLength: 6 }), (edits) => {
      const b = hex(f.template);
      for (const [at, v] of edits) b[at] = v;
      const nbl = nblFor(pool, b);
      nbl.netBufferListInfo[I.TcpLargeSendNetBufferListInfo] = lsoInfo(f);
      nbl.netBufferListInfo[I.TcpSendOffloadsSupplementalNetBufferListInfo] = encapInfo(f);
      const r = checkLsoNetBufferList(nbl, LSO_NO_LIMITS, segmenter);
      if (r === LsoResult.Ok) {
        const out = new Uint8Array(4096);
        let n = 0;
        while (segmenter.next(out, 0) > 0) n++;
        assert.equal(n, segmenter.segmentCount);
      }
      pool.freeNetBufferList(nbl);
      return base.length === 200;
    }),
    { numRuns: 300 },
  );
});

void test('an LSOv2 send past 64 KiB (the length comes from the NET_BUFFER): every segment whole and valid', async () => {
  const { validateChecksums, CSUM_ALL } = await import('../../../src/offload/checksum/index.js');
  const { FrameLayout, parseFrame } = await import('../../../src/offload/layout.js');
  const pool = testPool('LsoB');
  const f = byName(fixtures.lso, 'v2-ipv4-exact-multiple');
  const tpl = hex(f.template);
  const headerLen = f.segments[0]!.length / 2 - f.mss;
  const payload = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7 + 3) & 0xff);
  const big = new Uint8Array(headerLen + payload.length);
  big.set(tpl.subarray(0, headerLen), 0);
  big.set(payload, headerLen);
  const nbl = nblFor(pool, big, [headerLen]);
  nbl.netBufferListInfo[I.TcpLargeSendNetBufferListInfo] = lsoInfo(f);
  assert.equal(checkLsoNetBufferList(nbl, LSO_NO_LIMITS, segmenter), LsoResult.Ok);
  assert.equal(segmenter.payloadLength, 100_000);
  assert.equal(segmenter.segmentCount, Math.ceil(100_000 / f.mss));
  const out = new Uint8Array(4096);
  const l = new FrameLayout();
  const seen = new Uint8Array(payload.length);
  let at = 0;
  let i = 0;
  let n: number;
  while ((n = segmenter.next(out, 0)) > 0) {
    parseFrame(out, 0, n, l);
    assert.equal(l.reason, 0);
    assert.equal(validateChecksums(out, l, CSUM_ALL), 0x20 | 0x08, `segment ${i}: IP and TCP checksums succeed`);
    assert.equal(l.ipId, (0x0100 + i) & 0x7fff);
    const seq = ((out[l.l4Offset + 4]! << 24) | (out[l.l4Offset + 5]! << 16) | (out[l.l4Offset + 6]! << 8) | out[l.l4Offset + 7]!) >>> 0;
    const seq0 = ((tpl[l.l4Offset + 4]! << 24) | (tpl[l.l4Offset + 5]! << 16) | (tpl[l.l4Offset + 6]! << 8) | tpl[l.l4Offset + 7]!) >>> 0;
    assert.equal(seq, (seq0 + at) >>> 0);
    seen.set(out.subarray(headerLen, n), at);
    at += n - headerLen;
    i++;
  }
  assert.equal(at, payload.length);
  assert.deepEqual(seen, payload);
});
