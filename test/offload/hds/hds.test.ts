// Header-data split: split points for every kind of frame (scapy fixtures) under each capability,
// MaxHeaderSize, the split NET_BUFFER layout, and the receive checker (clean on every split the
// splitter makes; each rule caught when broken).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HdsCheck,
  HdsCheckScratch,
  HdsDecision,
  NDIS_HD_SPLIT_CAPS,
  buildSplitNetBuffer,
  checkHdsReceive,
  decideHdsSplit,
  describeHdsCheck,
  hdsRuleId,
  type HdsCheckConfig,
} from '../../../src/offload/hds/index.js';
import { FrameLayout, parseFrame } from '../../../src/offload/layout.js';
import { Mdl, NDIS_NBL_FLAGS, netBufferData, type NetBufferList } from '../../../src/nbl/index.js';
import { byName, fixtures, hex, nblFor, testPool, toHex } from '../fixtures.js';

const F = NDIS_NBL_FLAGS;
const C = NDIS_HD_SPLIT_CAPS;
const BASE = C.SUPPORTS_HEADER_DATA_SPLIT;
const ALL_CAPS = BASE | C.SUPPORTS_IPV4_OPTIONS | C.SUPPORTS_IPV6_EXTENSION_HEADERS | C.SUPPORTS_TCP_OPTIONS;
const PAY = F.HD_SPLIT | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD;
const HDR = F.HD_SPLIT | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER;

type Where = 'payload' | 'header' | 'none' | number;
// name → [where with mandatory capabilities only, where with every capability, IS_* flags]
const EXPECT: Record<string, [Where, Where, number]> = {
  'ipv4-tcp': ['payload', 'payload', F.IS_IPV4 | F.IS_TCP],
  'ipv4-tcp-timestamp': ['payload', 'payload', F.IS_IPV4 | F.IS_TCP],
  'ipv4-tcp-other-options': ['header', 'payload', F.IS_IPV4 | F.IS_TCP],
  'ipv4-udp': ['payload', 'payload', F.IS_IPV4 | F.IS_UDP],
  'ipv4-icmp': ['header', 'header', F.IS_IPV4],
  'ipv4-options-tcp': ['none', 'payload', F.IS_IPV4 | F.IS_TCP],
  'ipv6-tcp': ['payload', 'payload', F.IS_IPV6 | F.IS_TCP],
  'ipv6-ext-udp': ['none', 'payload', F.IS_IPV6 | F.IS_UDP],
  'ipv4-udp-first-fragment': ['header', 'header', F.IS_IPV4 | F.IS_UDP],
  'ipv4-udp-later-fragment': [34, 34, F.IS_IPV4 | F.IS_UDP],
  'ipv6-later-fragment': ['none', 'none', F.IS_IPV6],
  'ipv6-first-fragment-tcp': ['none', 'header', F.IS_IPV6 | F.IS_TCP],
  'vlan-ipv4-tcp': ['none', 'none', F.IS_IPV4 | F.IS_TCP],
  arp: ['none', 'none', 0],
  'ipv4-tcp-no-payload': ['header', 'header', F.IS_IPV4 | F.IS_TCP],
  'ipv6-esp': ['none', 'none', F.IS_IPV6],
};

const layout = new FrameLayout();
const d = new HdsDecision();

function decide(hexText: string, caps: number, max = 256): HdsDecision {
  const b = hex(hexText);
  parseFrame(b, 0, b.length, layout);
  return decideHdsSplit(layout, caps, max, d);
}

void test('split points and flags for every frame kind, with mandatory and with all capabilities', () => {
  for (const f of fixtures.hds) {
    const e = EXPECT[f.name];
    assert.notEqual(e, undefined, `no expectation for ${f.name}`);
    for (const [i, caps] of [BASE, ALL_CAPS].entries()) {
      const where = e![i]!;
      decide(f.hex, caps);
      const label = `${f.name} caps ${caps}`;
      if (where === 'none') {
        assert.equal(d.split, 0, label);
        assert.equal(d.flags, e![2], label);
      } else if (where === 'payload') {
        assert.equal(d.split, f.payload, label);
        assert.equal(d.flags, e![2] | PAY, label);
      } else if (where === 'header') {
        assert.equal(d.split, f.ulp, label);
        assert.equal(d.flags, e![2] | HDR, label);
      } else {
        assert.equal(d.split, where, label);
        assert.equal(d.flags, e![2] | PAY, label);
      }
    }
  }
});

void test('MaxHeaderSize: a header too large moves the split to the upper-layer header, or prevents it', () => {
  const f = byName(fixtures.hds, 'ipv4-tcp');
  decide(f.hex, BASE, 54);
  assert.equal(d.split, 54);
  decide(f.hex, BASE, 53);
  assert.equal(d.split, 34);
  assert.equal(d.flags & HDR, HDR);
  decide(f.hex, BASE, 33);
  assert.equal(d.split, 0);
  assert.equal(d.flags, F.IS_IPV4 | F.IS_TCP);
});

const BACKFILL = 256;
const slab = new Uint8Array(64 * 4096);

/** A split NBL the way a provider builds it: header MDL, data MDL after BACKFILL bytes in its page. */
function splitNbl(frame: Uint8Array, split: number, flags: number, page: number, backfill = BACKFILL): NetBufferList {
  const pool = testPool('Hds');
  const nbl = nblFor(pool, frame);
  const header = new Mdl();
  header.buffer = slab;
  header.byteOffset = page * 4096;
  const data = new Mdl();
  data.buffer = slab;
  data.byteOffset = (page + 1) * 4096 + backfill;
  buildSplitNetBuffer(nbl.firstNetBuffer!, frame, 0, frame.length, split, header, data);
  nbl.nblFlags = flags;
  return nbl;
}

const cfg: HdsCheckConfig = { lookahead: 128, maxHeaderSize: 256, backfillSize: BACKFILL, capabilities: BASE, combineAllHeaders: false };
const scratch = new HdsCheckScratch();

void test('every split the splitter makes is clean for the checker, and keeps the frame bytes', () => {
  let page = 0;
  for (const caps of [BASE, ALL_CAPS]) {
    for (const f of fixtures.hds) {
      const frame = hex(f.hex);
      decide(f.hex, caps);
      const c = { ...cfg, capabilities: caps };
      let nbl: NetBufferList;
      if (d.split === 0) {
        nbl = nblFor(testPool('Hds'), frame);
        nbl.nblFlags = d.flags;
      } else {
        nbl = splitNbl(frame, d.split, d.flags, (page += 2) % 60);
        const nb = nbl.firstNetBuffer!;
        assert.equal(nb.mdlChain!.byteCount, d.split);
        assert.equal(nb.mdlChain!.next!.byteCount, frame.length - d.split);
        assert.equal(nb.mdlChain!.next!.next, null);
      }
      assert.equal(toHex(netBufferData(nbl.firstNetBuffer!)), f.hex);
      const r = checkHdsReceive(nbl, c, scratch);
      assert.equal(r, HdsCheck.Ok, `${f.name} caps ${caps}: ${describeHdsCheck(r)}`);
    }
  }
});

void test('the checker names each broken rule', () => {
  const tcp = hex(byName(fixtures.hds, 'ipv4-tcp').hex);
  const icmp = hex(byName(fixtures.hds, 'ipv4-icmp').hex);
  const opts = hex(byName(fixtures.hds, 'ipv4-options-tcp').hex);
  const v6later = hex(byName(fixtures.hds, 'ipv6-later-fragment').hex);
  const check = (nbl: NetBufferList, c: HdsCheckConfig = cfg): number => checkHdsReceive(nbl, c, scratch);
  const unsplit = (frame: Uint8Array, flags: number, cuts: number[] = []): NetBufferList => {
    const n = nblFor(testPool('Hds'), frame, cuts);
    n.nblFlags = flags;
    return n;
  };
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.IS_IPV6)), HdsCheck.ExclusiveFlags);
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.IS_TCP | F.IS_UDP)), HdsCheck.ExclusiveFlags);
  assert.equal(check(unsplit(tcp, F.IS_TCP)), HdsCheck.TransportWithoutIp);
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.HD_SPLIT)), HdsCheck.SplitFlags);
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER)), HdsCheck.SplitFlags);
  assert.equal(check(splitNbl(icmp, 34, F.IS_IPV4 | PAY, 2)), HdsCheck.PayloadSplitWithoutTransport);
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.IS_UDP)), HdsCheck.InaccurateFlags);
  assert.equal(check(unsplit(icmp, F.IS_IPV6)), HdsCheck.InaccurateFlags);
  // Unsplit frames: the first MDL holds the lookahead (128) or the whole frame.
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.IS_TCP, [100])), HdsCheck.LookaheadNotContiguous);
  assert.equal(check(unsplit(tcp, F.IS_IPV4 | F.IS_TCP, [200])), HdsCheck.Ok);
  // Split in the middle of the TCP header, or at a point the flags do not name.
  assert.equal(check(splitNbl(tcp, 40, F.IS_IPV4 | F.IS_TCP | HDR, 4)), HdsCheck.SplitPoint);
  assert.equal(check(splitNbl(tcp, 34, F.IS_IPV4 | F.IS_TCP | PAY, 6)), HdsCheck.SplitPoint);
  // Options the provider did not declare, and an IPv6 fragment without the upper header.
  assert.equal(check(splitNbl(opts, 58, F.IS_IPV4 | F.IS_TCP | PAY, 8)), HdsCheck.SplitPoint);
  assert.equal(check(splitNbl(opts, 58, F.IS_IPV4 | F.IS_TCP | PAY, 8), { ...cfg, capabilities: ALL_CAPS }), HdsCheck.Ok);
  assert.equal(check(splitNbl(v6later, 62, F.IS_IPV6 | HDR, 10), { ...cfg, capabilities: ALL_CAPS }), HdsCheck.SplitPoint);
  assert.equal(check(splitNbl(tcp, 54, F.IS_IPV4 | F.IS_TCP | PAY, 12), { ...cfg, maxHeaderSize: 50 }), HdsCheck.HeaderTooLarge);
  assert.equal(check(splitNbl(tcp, 54, F.IS_IPV4 | F.IS_TCP | PAY, 14, 100)), HdsCheck.Backfill);
  assert.equal(check(splitNbl(tcp, 54, F.IS_IPV4 | F.IS_TCP | PAY, 16), { ...cfg, combineAllHeaders: true }), HdsCheck.SplitWhileCombined);
  const two = splitNbl(tcp, 54, F.IS_IPV4 | F.IS_TCP | PAY, 18);
  two.firstNetBuffer!.next = unsplit(tcp, 0).firstNetBuffer;
  assert.equal(check(two), HdsCheck.NotOneNetBuffer);
  assert.equal(hdsRuleId(HdsCheck.SplitPoint), 'RX-007');
});

void test('random frames: whatever the splitter decides passes the checker', () => {
  fc.assert(
    fc.property(fc.constantFrom(...fixtures.hds.map((f) => f.hex)), fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 4 }), fc.constantFrom(BASE, ALL_CAPS), fc.integer({ min: 20, max: 256 }), (h, edits, caps, max) => {
      const frame = hex(h);
      for (const [at, v] of edits) if (at < frame.length) frame[at] = v;
      parseFrame(frame, 0, frame.length, layout);
      decideHdsSplit(layout, caps, max, d);
      const nbl = d.split === 0 ? nblFor(testPool('Hds'), frame) : splitNbl(frame, d.split, d.flags, 30);
      if (d.split === 0) nbl.nblFlags = d.flags;
      assert.equal(checkHdsReceive(nbl, { ...cfg, capabilities: caps, maxHeaderSize: max }, scratch), HdsCheck.Ok);
    }),
    { numRuns: 1500 },
  );
});
