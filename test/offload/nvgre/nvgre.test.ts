// NVGRE task offload on real bytes (scapy): receive checksum validation of tunnel and transport
// headers, RSS on the inner headers (tunnel 2-tuple when the inner packet has no TCP/UDP),
// transmit checksums with the supplemental offsets, VMQ steering on the inner MAC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSUM, CSUM_ALL, ChecksumTxResult, fillTransmitChecksums, validateChecksums } from '../../../src/offload/checksum/index.js';
import { FrameLayout, parseFrame } from '../../../src/offload/layout.js';
import { RssClassification, RssEngine } from '../../../src/offload/rss/engine.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../../src/offload/rss/toeplitz.js';
import * as H from '../../../src/offload/rss/hash-types.js';
import { NDIS_CSUM_RX, NDIS_CSUM_TX, csumTxValue, sendOffloadsSupplementalValue } from '../../../src/nbl/index.js';
import { parseIp, parseMac } from '../../../src/wire/address.js';
import { VmqMatch, VmqQueueSet, NdisFrameHeader, NdisMacHeaderField, NdisReceiveFilterTest, NdisReceiveFilterType, NdisReceiveQueueType } from '../../../src/offload/vmq/index.js';
import { byName, fixtures, hex, toHex } from '../fixtures.js';

const R = NDIS_CSUM_RX;
const layout = new FrameLayout();
const inner = new FrameLayout();

function addr(text: string): Uint8Array {
  const a = parseIp(text)!;
  return text.includes(':') ? a : a.subarray(12);
}

void test('receive: tunnel and transport checksums validated, combined IP result', () => {
  const expect: Record<string, number> = {
    'outer4-inner4-tcp': R.IpChecksumSucceeded | R.TcpChecksumSucceeded,
    'outer6-inner4-udp': R.IpChecksumSucceeded | R.UdpChecksumSucceeded,
    'outer4-inner6-tcp': R.IpChecksumSucceeded | R.TcpChecksumSucceeded,
    'outer4-inner4-icmp': R.IpChecksumSucceeded,
  };
  for (const f of fixtures.nvgre) {
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    assert.equal(validateChecksums(b, layout, CSUM_ALL), expect[f.name], f.name);
    // Without the encapsulated offload only the tunnel IPv4 header is checked.
    assert.equal(validateChecksums(b, layout, CSUM_ALL & ~CSUM.Encapsulated), f.name.startsWith('outer4') ? R.IpChecksumSucceeded : 0, f.name);
  }
  // One bad IP header of the two: IpChecksumFailed.
  const f = byName(fixtures.nvgre, 'outer4-inner4-tcp');
  for (const which of ['outer', 'inner']) {
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    parseFrame(b, layout.innerFrameOffset, b.length - layout.innerFrameOffset, inner);
    b[(which === 'outer' ? layout.l3Offset : inner.l3Offset) + 10]! ^= 0xff;
    assert.equal(validateChecksums(b, layout, CSUM_ALL), R.IpChecksumFailed | R.TcpChecksumSucceeded, which);
  }
  const b = hex(f.hex);
  parseFrame(b, 0, b.length, layout);
  parseFrame(b, layout.innerFrameOffset, b.length - layout.innerFrameOffset, inner);
  b[inner.l4Offset + 16]! ^= 1;
  assert.equal(validateChecksums(b, layout, CSUM_ALL), R.IpChecksumSucceeded | R.TcpChecksumFailed);
});

void test('transmit: tunnel IPv4, transport IPv4 and TCP/UDP checksums from zeroed fields', () => {
  for (const name of ['outer4-inner4-tcp', 'outer6-inner4-udp', 'outer4-inner6-tcp']) {
    const f = byName(fixtures.nvgre, name);
    const good = hex(f.hex);
    const b = good.slice();
    parseFrame(b, 0, b.length, layout);
    parseFrame(b, layout.innerFrameOffset, b.length - layout.innerFrameOffset, inner);
    if (layout.l3 === 1) b.fill(0, layout.l3Offset + 10, layout.l3Offset + 12);
    if (inner.l3 === 1) b.fill(0, inner.l3Offset + 10, inner.l3Offset + 12);
    const csumAt = inner.l4Offset + (f.innerL4 === 'tcp' ? 16 : 6);
    b.fill(0, csumAt, csumAt + 2);
    const outerV4 = layout.l3 === 1;
    const info = csumTxValue(
      (outerV4 ? NDIS_CSUM_TX.IsIPv4 : NDIS_CSUM_TX.IsIPv6) | NDIS_CSUM_TX.IpHeaderChecksum | (f.innerL4 === 'tcp' ? NDIS_CSUM_TX.TcpChecksum : NDIS_CSUM_TX.UdpChecksum),
      0,
    );
    const encap = sendOffloadsSupplementalValue(f.innerFrameOffset, inner.l3Offset - inner.frameOffset, inner.l4Offset - inner.l3Offset);
    assert.equal(fillTransmitChecksums(b, layout, info, encap, CSUM_ALL), ChecksumTxResult.Ok, name);
    assert.equal(toHex(b), f.hex, name);
    // Wrong offsets are refused; without the encapsulated offload nothing is done.
    const wrong = sendOffloadsSupplementalValue(f.innerFrameOffset + 2, 14, 20);
    assert.equal(fillTransmitChecksums(b, layout, info, wrong, CSUM_ALL), ChecksumTxResult.InfoMismatch, name);
    assert.equal(fillTransmitChecksums(b, layout, info, encap, CSUM_ALL & ~CSUM.Encapsulated), ChecksumTxResult.NotEnabled, name);
  }
});

function referenceToeplitz(input: Uint8Array): number {
  return new ToeplitzHasher(RSS_VERIFICATION_KEY).hash(input, 0, input.length) >>> 0;
}

void test('RSS: 4-tuple on the inner headers, tunnel 2-tuple when there is no inner TCP/UDP', () => {
  const e = new RssEngine(H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_IPV6 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_UDP_IPV6, 4, 4);
  e.setParameters({
    flags: 0,
    baseCpuNumber: 0,
    hashInformation: H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_IPV6 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_UDP_IPV6 | 1,
    indirectionTable: [0, 1, 2, 3],
    secretKey: Uint8Array.from(RSS_VERIFICATION_KEY),
    defaultProcessor: -1,
  });
  e.encapsulated = true;
  const out = new RssClassification();
  for (const f of fixtures.nvgre) {
    const b = hex(f.hex);
    assert.equal(e.classify(b, 0, b.length, out), true, f.name);
    let input: Uint8Array;
    if (f.innerL4 !== undefined) {
      const s = addr(f.innerSrcIp!);
      const d = addr(f.innerDstIp!);
      input = new Uint8Array(s.length * 2 + 4);
      input.set(s, 0);
      input.set(d, s.length);
      input.set([f.innerSport! >> 8, f.innerSport! & 0xff, f.innerDport! >> 8, f.innerDport! & 0xff], 2 * s.length);
      const v4 = !f.innerSrcIp!.includes(':');
      assert.equal(out.hashType, f.innerL4 === 'tcp' ? (v4 ? H.NDIS_HASH_TCP_IPV4 : H.NDIS_HASH_TCP_IPV6) : v4 ? H.NDIS_HASH_UDP_IPV4 : H.NDIS_HASH_UDP_IPV6, f.name);
    } else {
      const s = addr(f.outerSrcIp);
      const d = addr(f.outerDstIp);
      input = new Uint8Array(s.length * 2);
      input.set(s, 0);
      input.set(d, s.length);
      assert.equal(out.hashType, f.outerSrcIp.includes(':') ? H.NDIS_HASH_IPV6 : H.NDIS_HASH_IPV4, f.name);
    }
    assert.equal(out.hash, referenceToeplitz(input), f.name);
  }
  // Without the encapsulated offload the tunnel 2-tuple is hashed (GRE is not TCP/UDP).
  e.encapsulated = false;
  const f = byName(fixtures.nvgre, 'outer4-inner4-tcp');
  const b = hex(f.hex);
  e.classify(b, 0, b.length, out);
  assert.equal(out.hashType, H.NDIS_HASH_IPV4);
});

void test('VMQ: an NVGRE frame is steered by its inner destination MAC', () => {
  const q = new VmqQueueSet(4, 8, true);
  const cfg = { flags: 0, queueType: NdisReceiveQueueType.VMQueue, queueId: 0, queueGroupId: 0, processorAffinity: 2, numSuggestedReceiveBuffers: 64, msixTableEntry: 0, lookaheadSize: 0, vmName: 'vm', queueName: 'q' };
  const id = q.allocateQueue(cfg).id;
  const f = byName(fixtures.nvgre, 'outer4-inner4-tcp');
  const mac = new Uint8Array(16);
  mac.set(parseMac(f.innerDst)!, 0);
  assert.equal(q.setFilter(id, 0, NdisReceiveFilterType.VMQueue, [{ flags: 0, frameHeader: NdisFrameHeader.Mac, receiveFilterTest: NdisReceiveFilterTest.Equal, headerField: NdisMacHeaderField.DestinationAddress, fieldValue: mac }]).status, 0);
  q.allocationComplete(id);
  const b = hex(f.hex);
  parseFrame(b, 0, b.length, layout);
  const m = new VmqMatch();
  assert.equal(q.match(b, layout.frameOffset, -1, m), null, 'the outer MAC does not match');
  assert.equal(q.match(b, layout.innerFrameOffset, -1, m)?.id, id, 'the inner MAC does');
});
