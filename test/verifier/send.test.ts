/**
 * The send-path rules (TX-001..005): large-send offload and checksum requests as the miniport
 * receives them, each broken by a sender and the nearest correct send not flagged.
 */
import { test } from 'node:test';
import {
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4,
  csumTxValue,
  lsoV1TransmitValue,
  lsoV2TransmitValue,
} from '../../src/nbl/index.js';
import assert from 'node:assert/strict';
import { NDIS_STATUS } from '../../src/ndis/index.js';
import { TX, Verifier } from '../../src/verifier/index.js';
import { activateOffloads, offloadLab, settle } from '../drivers/miniport/virtual/helpers.js';
import { byName, fixtures, hex, type LsoFixture } from '../offload/fixtures.js';
import { assertClean, assertOnly, done, frame, lab, sendFrame } from './lab.js';

const LSO = NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo;
const CSUM = NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo;

test('TX-001: an LSO send NBL with two NET_BUFFERs is caught', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-v1').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 34)]], extra: frame('tcp4').bytes });
  assertOnly(l, TX.LSO_ONE_NET_BUFFER);
  await done(l);
});

test('TX-001 (legitimate): an LSO send with one NET_BUFFER; a plain send NBL with two NET_BUFFERs', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-v1').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  sendFrame(l, frame('tcp4').bytes, { extra: frame('tcp4').bytes });
  assertClean(l);
  await done(l);
});

test('TX-002: LSOv2 over IPv4 with a non-zero IP Total Length, and LSOv1 with a wrong one, are caught', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-v1').bytes, { info: [[LSO, lsoV2TransmitValue(1460, 34, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4)]] });
  assertOnly(l, TX.LSO_V2_TOTAL_LENGTH, '(v2)');
  await done(l);
  const l2 = await lab();
  sendFrame(l2, frame('lso4-v2').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  assertOnly(l2, TX.LSO_V2_TOTAL_LENGTH, '(v1)');
  await done(l2);
});

test('TX-002 (legitimate): LSOv2 with Total Length 0; LSOv1 with the whole length', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-v2').bytes, { info: [[LSO, lsoV2TransmitValue(1460, 34, NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4)]] });
  sendFrame(l, frame('lso4-v1').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  assertClean(l);
  await done(l);
});

test('TX-003: an LSO send whose first MDL ends inside the TCP header, or with a wrong TcpHeaderOffset, is caught', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-v1').bytes, { splitAt: [40], info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  assertOnly(l, TX.LSO_HEADERS_FIRST_MDL, '(split)');
  await done(l);
  const l2 = await lab();
  sendFrame(l2, frame('lso4-v1').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 38)]] });
  assertOnly(l2, TX.LSO_HEADERS_FIRST_MDL, '(offset)');
  await done(l2);
});

test('TX-003 (legitimate): an LSO send split right after the TCP header', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-v1').bytes, { splitAt: [54, 1000], info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  assertClean(l);
  await done(l);
});

test('TX-004: an LSO send with SYN set, or of a UDP datagram, is caught', async () => {
  const l = await lab();
  sendFrame(l, frame('lso4-syn').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  assertOnly(l, TX.LSO_FLAGS, '(SYN)');
  await done(l);
  const l2 = await lab();
  sendFrame(l2, frame('udp4').bytes, { info: [[LSO, lsoV1TransmitValue(1460, 34)]] });
  assertOnly(l2, TX.LSO_FLAGS, '(UDP)');
  await done(l2);
});

test('TX-004 (legitimate): an LSO send with ACK and PSH', async () => {
  const l = await lab();
  sendFrame(l, frame('tcp4').bytes, { info: [[LSO, lsoV1TransmitValue(536, 34)]] });
  assertClean(l);
  await done(l);
});

test('TX-005: checksum requests that name the wrong IP version, both versions, or a wrong TCP offset are caught', async () => {
  const cases: [string, number][] = [
    ['tcp6', csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum, 54)],
    ['tcp4', csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IsIPv6 | NDIS_CSUM_TX.TcpChecksum, 34)],
    ['tcp4', csumTxValue(NDIS_CSUM_TX.TcpChecksum, 34)],
    ['tcp4', csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum, 30)],
    ['udp4', csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum, 34)],
    ['tcp6', csumTxValue(NDIS_CSUM_TX.IsIPv6 | NDIS_CSUM_TX.IpHeaderChecksum, 0)],
  ];
  for (const [name, value] of cases) {
    const l = await lab();
    sendFrame(l, frame(name).bytes, { info: [[CSUM, value]] });
    assertOnly(l, TX.CSUM_REQUEST, `(${name} 0x${value.toString(16)})`);
    await done(l);
  }
});

test('TX-005 (legitimate): TCP/IPv4 with the IP header checksum, TCP/IPv6, UDP/IPv4', async () => {
  const l = await lab();
  sendFrame(l, frame('tcp4').bytes, { info: [[CSUM, csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum | NDIS_CSUM_TX.IpHeaderChecksum, 34)]] });
  sendFrame(l, frame('tcp6').bytes, { info: [[CSUM, csumTxValue(NDIS_CSUM_TX.IsIPv6 | NDIS_CSUM_TX.TcpChecksum, 54)]] });
  sendFrame(l, frame('udp4').bytes, { info: [[CSUM, csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.UdpChecksum, 0)]] });
  assertClean(l);
  await done(l);
});

// ---- TX-006: the limits of the LSO the miniport enabled (checked by the NIC that segments: the virtual miniport) ----

async function lsoLab() {
  const verifier = new Verifier({ level: 'full', action: 'count' });
  const l = await offloadLab({}, { verifier });
  await activateOffloads(l, 'a');
  return { l, verifier };
}

function lsoV2(f: LsoFixture): Record<number, number> {
  return { [LSO]: lsoV2TransmitValue(f.mss, f.tcpHeaderOffset, f.ipVersion === 4 ? NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 : 1) };
}

test('TX-006: a large send that yields fewer segments than MinSegmentCount is refused by the miniport and reported', async () => {
  const { l, verifier } = await lsoLab();
  const one = byName(fixtures.lso, 'v2-ipv4-one-segment');
  l.probe.send('a', hex(one.template), lsoV2(one));
  await settle(l);
  assert.deepEqual(verifier.reports.map((r) => r.ruleId), [TX.LSO_LIMITS]);
  assert.equal(verifier.reports[0]!.object, 'a');
  assert.equal(l.probe.binding('a').completed.at(-1)!.status, NDIS_STATUS.INVALID_PARAMETER);
  await l.ndis.shutdown();
});

test('TX-006 (legitimate): a large send of several segments within the enabled limits goes out segmented', async () => {
  const { l, verifier } = await lsoLab();
  const f = byName(fixtures.lso, 'v2-ipv4-exact-multiple');
  l.probe.send('a', hex(f.template), lsoV2(f));
  await settle(l);
  assert.deepEqual(verifier.reports.map((r) => r.ruleId), []);
  assert.equal(l.probe.binding('b').received.length, f.segments.length);
  await l.ndis.shutdown();
});
