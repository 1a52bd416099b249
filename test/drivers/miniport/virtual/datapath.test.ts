// The virtual miniport's send and receive offloads on the wire: checksums computed on the way out
// and validated on the way in (scapy frames), large sends cut into exactly scapy's segments with the
// completion information written, send-rule violations reported, and offload renegotiation while
// traffic flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_STATUS, NdisOidRequest, OID } from '../../../../src/ndis/index.js';
import {
  NDIS_CSUM_RX,
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO as I,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6,
  csumTxValue,
  lsoV1CompleteTcpPayload,
  lsoV1TransmitValue,
  lsoV2CompleteValue,
  lsoV2TransmitValue,
  sendOffloadsSupplementalValue,
} from '../../../../src/nbl/index.js';
import { NDIS_OFFLOAD_PARAMETERS, encodeOffloadParameters, noChangeOffloadParameters } from '../../../../src/ndis/structs-offload.js';
import { LsoResult, lsoRuleId } from '../../../../src/offload/lso/index.js';
import { byName, fixtures, hex, toHex, type LsoFixture } from '../../../offload/fixtures.js';
import { RecordingVerifier, activateOffloads, offloadLab, settle } from './helpers.js';

const R = NDIS_CSUM_RX;

function txInfo(f: { ipv4: boolean; name: string; tcpHeaderOffset: number }): number {
  const l4 = f.name.includes('udp') ? NDIS_CSUM_TX.UdpChecksum : f.name.includes('tcp') && !f.name.includes('fragment') ? NDIS_CSUM_TX.TcpChecksum : 0;
  return csumTxValue((f.ipv4 ? NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IpHeaderChecksum : NDIS_CSUM_TX.IsIPv6) | l4, l4 === NDIS_CSUM_TX.TcpChecksum ? f.tcpHeaderOffset : 0);
}

const CSUM_FRAMES = ['ipv4-tcp', 'ipv4-udp', 'ipv4-options-tcp-options', 'ipv6-tcp', 'ipv6-udp', 'ipv6-ext-udp', 'ipv6-rh2-tcp', 'ipv4-udp-odd-length'];

void test('transmit checksums are computed on the wire only after OID_OFFLOAD_ENCAPSULATION; receive validation likewise', async () => {
  const lab = await offloadLab();
  const rx = lab.probe.binding('b').received;
  const f = byName(fixtures.checksum, 'ipv4-tcp');
  lab.probe.send('a', hex(f.zeroed), { [I.TcpIpChecksumNetBufferListInfo]: txInfo(f) });
  await settle(lab);
  assert.equal(toHex(rx[0]!.bytes), f.zeroed, 'not yet activated: sent as it was');
  assert.equal(rx[0]!.checksum, 0, 'not yet activated: nothing validated');
  await activateOffloads(lab, 'a');
  await activateOffloads(lab, 'b');
  for (const name of CSUM_FRAMES) {
    const c = byName(fixtures.checksum, name);
    // Spread the headers over several MDLs: the adapter gathers them.
    lab.probe.send('a', hex(c.zeroed), { [I.TcpIpChecksumNetBufferListInfo]: txInfo(c) }, [6, 20, 13]);
  }
  await settle(lab);
  const got = rx.slice(1);
  assert.equal(got.length, CSUM_FRAMES.length);
  CSUM_FRAMES.forEach((name, i) => {
    const c = byName(fixtures.checksum, name);
    const r = got[i]!;
    // Ethernet pads short frames to 60 bytes.
    assert.equal(toHex(r.bytes).slice(0, c.good.length), c.good, name);
    const ok = c.ipv4 ? R.IpChecksumSucceeded : 0;
    const l4 = name.includes('udp') ? R.UdpChecksumSucceeded : R.TcpChecksumSucceeded;
    assert.equal(r.checksum, ok | l4, name);
  });
  assert.equal(lab.adapterA.stats.txChecksumOffloaded, CSUM_FRAMES.length);
  for (const status of lab.probe.binding('a').completed) assert.equal(status.status, NDIS_STATUS.SUCCESS);
  await lab.ndis.shutdown();
});

void test('damaged checksums arrive with their Failed bits set', async () => {
  const lab = await offloadLab();
  await activateOffloads(lab, 'b');
  const sent: [string, string][] = [];
  for (const c of fixtures.checksum) {
    for (const [kind, h] of Object.entries(c.bad)) {
      if (c.name.startsWith('vlan')) continue;
      lab.probe.send('a', hex(h));
      sent.push([c.name, kind]);
    }
  }
  await settle(lab);
  const rx = lab.probe.binding('b').received;
  assert.equal(rx.length, sent.length);
  sent.forEach(([name, kind], i) => {
    const bits = rx[i]!.checksum;
    const failed = kind === 'ip' ? R.IpChecksumFailed : kind === 'tcp' ? R.TcpChecksumFailed : R.UdpChecksumFailed;
    assert.equal(bits & failed, failed, `${name} ${kind}`);
  });
  assert.equal(lab.adapterB.stats.rxChecksumFailed, sent.length);
  await lab.ndis.shutdown();
});

function lsoInfo(f: LsoFixture): Record<number, number> {
  const v = f.version === 1 ? lsoV1TransmitValue(f.mss, f.tcpHeaderOffset) : lsoV2TransmitValue(f.mss, f.tcpHeaderOffset, f.ipVersion === 4 ? NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 : NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6);
  const info: Record<number, number> = { [I.TcpLargeSendNetBufferListInfo]: v };
  if (f.nvgre !== undefined) {
    info[I.TcpSendOffloadsSupplementalNetBufferListInfo] = sendOffloadsSupplementalValue(f.nvgre.innerFrameOffset, f.nvgre.transportIpHeaderRelativeOffset, f.nvgre.tcpHeaderRelativeOffset);
    info[I.TcpIpChecksumNetBufferListInfo] = csumTxValue(NDIS_CSUM_TX.IsIPv4, 0);
  }
  return info;
}

void test('large sends go on the wire as exactly scapy\'s segments, with the completion information written', async () => {
  const lab = await offloadLab();
  await activateOffloads(lab, 'a');
  const rx = lab.probe.binding('b').received;
  const sent = fixtures.lso.filter((f) => f.segments.length >= 2); // MinSegmentCount is 2
  for (const f of sent) {
    const before = rx.length;
    // Headers in the first MDL, the payload over a few more.
    const header = f.segments[0]!.length / 2 - Math.min(f.mss, f.payloadLength);
    const total = f.template.length / 2;
    const cuts = [header, 1000, 3000].filter((_, i, all) => all.slice(0, i + 1).reduce((x, y) => x + y, 0) < total);
    lab.probe.send('a', hex(f.template), lsoInfo(f), cuts);
    await settle(lab);
    const got = rx.slice(before);
    assert.equal(got.length, f.segments.length, f.name);
    got.forEach((r, i) => assert.equal(toHex(r.bytes).slice(0, f.segments[i]!.length), f.segments[i], `${f.name} segment ${i}`));
    const done = lab.probe.binding('a').completed.at(-1)!;
    assert.equal(done.status, NDIS_STATUS.SUCCESS, f.name);
    if (f.version === 1) assert.equal(lsoV1CompleteTcpPayload(done.lso), f.payloadLength, f.name);
    else assert.equal(done.lso, lsoV2CompleteValue(), f.name);
  }
  assert.equal(lab.adapterA.stats.lsoSends, sent.length);
  await lab.ndis.shutdown();
});

void test('a large send that breaks a rule is refused and reported; after LSO is turned off sends are dropped quietly', async () => {
  const verifier = new RecordingVerifier();
  const lab = await offloadLab();
  lab.ndis.attachVerifier(verifier);
  await activateOffloads(lab, 'a');
  const one = byName(fixtures.lso, 'v2-ipv4-one-segment');
  lab.probe.send('a', hex(one.template), lsoInfo(one));
  const f = byName(fixtures.lso, 'v2-ipv4-exact-multiple');
  const syn = hex(f.template);
  syn[f.tcpHeaderOffset + 13] = syn[f.tcpHeaderOffset + 13]! | 0x02;
  lab.probe.send('a', syn, lsoInfo(f));
  await settle(lab);
  assert.deepEqual(lab.probe.binding('a').completed.map((c) => c.status), [NDIS_STATUS.INVALID_PARAMETER, NDIS_STATUS.INVALID_PARAMETER]);
  assert.deepEqual(verifier.violations.map((v) => v.ruleId), [lsoRuleId(LsoResult.TooFewSegments), lsoRuleId(LsoResult.ForbiddenTcpFlags)]);
  const off = { ...noChangeOffloadParameters(), lsoV2Ipv4: NDIS_OFFLOAD_PARAMETERS.LSOV2_DISABLED };
  assert.equal(await lab.probe.oid('a', NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, encodeOffloadParameters(off))), NDIS_STATUS.SUCCESS);
  lab.probe.send('a', hex(f.template), lsoInfo(f));
  await settle(lab);
  assert.equal(lab.probe.binding('a').completed.at(-1)!.status, NDIS_STATUS.FAILURE);
  assert.equal(verifier.violations.length, 2, 'a straggler after LSO was disabled is not a violation');
  assert.equal(lab.probe.binding('b').received.length, 0);
  await lab.ndis.shutdown();
});

void test('offload renegotiation while traffic flows: each frame follows the configuration of its moment', async () => {
  const lab = await offloadLab();
  await activateOffloads(lab, 'a');
  const c = byName(fixtures.checksum, 'ipv4-udp');
  const lso = byName(fixtures.lso, 'v2-ipv4-exact-multiple');
  const rx = lab.probe.binding('b').received;
  const expected: string[] = [];
  let udpOn = true;
  let lsoOn = true;
  for (let round = 0; round < 12; round++) {
    for (let k = 0; k < 5; k++) {
      lab.probe.send('a', hex(c.zeroed), { [I.TcpIpChecksumNetBufferListInfo]: txInfo(c) });
      // The IPv4 header checksum stays on; UDP follows the configuration.
      const want = hex(c.good);
      if (!udpOn) {
        want[34 + 6] = 0;
        want[34 + 7] = 0;
      }
      expected.push(toHex(want));
    }
    lab.probe.send('a', hex(lso.template), lsoInfo(lso));
    if (lsoOn) expected.push(...lso.segments);
    // Flip something while frames are still in flight (completions are pending in the DPC).
    udpOn = round % 2 === 0 ? !udpOn : udpOn;
    lsoOn = round % 3 === 0 ? !lsoOn : lsoOn;
    const p = {
      ...noChangeOffloadParameters(),
      udpIpv4Checksum: udpOn ? NDIS_OFFLOAD_PARAMETERS.TX_RX_ENABLED : NDIS_OFFLOAD_PARAMETERS.RX_ENABLED_TX_DISABLED,
      lsoV2Ipv4: lsoOn ? NDIS_OFFLOAD_PARAMETERS.LSOV2_ENABLED : NDIS_OFFLOAD_PARAMETERS.LSOV2_DISABLED,
    };
    const pending = lab.probe.oid('a', NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, encodeOffloadParameters(p)));
    if (round % 4 === 1) await settle(lab);
    assert.equal(await pending, NDIS_STATUS.SUCCESS);
  }
  await settle(lab);
  assert.equal(rx.length, expected.length);
  rx.forEach((r, i) => assert.equal(toHex(r.bytes).slice(0, expected[i]!.length), expected[i], `frame ${i}`));
  const done = lab.probe.binding('a').completed;
  assert.equal(done.length, 12 * 6);
  assert.equal(lab.adapterA.outstandingRx + lab.adapterB.outstandingRx, 0);
  await lab.ndis.shutdown();
});
