// Offload negotiation through NDIS: what the virtual miniport advertises (bind parameters, OIDs),
// OID_OFFLOAD_ENCAPSULATION, OID_TCP_OFFLOAD_PARAMETERS and NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_STATUS, NdisOidRequest, OID, NDIS_OFFLOAD_SUPPORTED, type NdisOffload } from '../../../../src/ndis/index.js';
import {
  NDIS_RSS_CAPS,
  NDIS_OFFLOAD_PARAMETERS,
  decodeOffload,
  decodeReceiveScaleCapabilities,
  encodeOffloadEncapsulation,
  encodeOffloadParameters,
  isDecodeError,
  noChangeOffloadParameters,
  type NdisReceiveScaleCapabilities,
  type NdisHdSplitAttributes,
} from '../../../../src/ndis/structs-offload.js';
import { activateOffloads, offloadLab } from './helpers.js';

void test('bind parameters carry the offload configuration the keywords chose, and the RSS capabilities', async () => {
  const lab = await offloadLab({ '*TCPChecksumOffloadIPv4': 1, '*UDPChecksumOffloadIPv6': 2, '*LsoV1IPv4': 0, '*NumRSSQueues': 2 });
  const p = lab.probe.binding('a').params;
  const o = p.defaultOffloadConfiguration!;
  assert.equal(o.checksum.ipv4Transmit.tcpChecksum, NDIS_OFFLOAD_SUPPORTED);
  assert.equal(o.checksum.ipv4Receive.tcpChecksum, 0);
  assert.equal(o.checksum.ipv6Transmit.udpChecksum, 0);
  assert.equal(o.checksum.ipv6Receive.udpChecksum, NDIS_OFFLOAD_SUPPORTED);
  assert.equal(o.checksum.ipv4Transmit.ipChecksum, NDIS_OFFLOAD_SUPPORTED);
  assert.equal(o.lsoV1.ipv4.encapsulation, 0);
  assert.ok(o.lsoV2.ipv4.maxOffLoadSize >= 65536);
  const caps = p.rcvScaleCapabilities as NdisReceiveScaleCapabilities;
  assert.equal(caps.numberOfReceiveQueues, 2);
  assert.ok((caps.capabilitiesFlags & NDIS_RSS_CAPS.HASH_TYPE_TCP_IPV4) !== 0);
  assert.equal(p.hdSplitCurrentConfig, null);
  assert.equal(p.receiveFilterCapabilities, null);
  assert.ok(p.supportedOidList.includes(OID.TCP_OFFLOAD_PARAMETERS));
  assert.ok(p.supportedOidList.includes(OID.GEN_RECEIVE_SCALE_PARAMETERS));
  await lab.ndis.shutdown();
});

void test('*HeaderDataSplit and *RssOrVmqPreference change what is advertised', async () => {
  const lab = await offloadLab({ '*HeaderDataSplit': 1, '*RssOrVmqPreference': 1, '*VMQ': 1 });
  const p = lab.probe.binding('b').params;
  const h = p.hdSplitCurrentConfig as NdisHdSplitAttributes;
  assert.equal(h.hdSplitFlags, 1);
  assert.equal(h.maxHeaderSize, 256);
  assert.equal(h.backfillSize, 256);
  assert.notEqual(p.receiveFilterCapabilities, null);
  assert.equal(p.rcvScaleCapabilities, null, 'VMQ preferred: RSS is not advertised');
  assert.ok(p.supportedOidList.includes(OID.RECEIVE_FILTER_ALLOCATE_QUEUE));
  assert.equal(await lab.probe.oid('b', NdisOidRequest.query(OID.GEN_RECEIVE_SCALE_PARAMETERS, 256)), NDIS_STATUS.NOT_SUPPORTED);
  await lab.ndis.shutdown();
});

void test('queries: hardware capabilities, current configuration and RSS capabilities in the binary layout', async () => {
  const lab = await offloadLab();
  const hw = NdisOidRequest.query(OID.TCP_OFFLOAD_HARDWARE_CAPABILITIES, 256);
  assert.equal(await lab.probe.oid('a', hw), NDIS_STATUS.SUCCESS);
  const o = decodeOffload(hw.written());
  assert.ok(!isDecodeError(o));
  assert.equal(o.encapsulatedPacketTaskOffloadGre.lsoV2Supported, 0xf);
  const short = NdisOidRequest.query(OID.TCP_OFFLOAD_CURRENT_CONFIG, 16);
  assert.equal(await lab.probe.oid('a', short), NDIS_STATUS.BUFFER_TOO_SHORT);
  assert.ok(short.bytesNeeded >= 156);
  const rc = NdisOidRequest.query(OID.GEN_RECEIVE_SCALE_CAPABILITIES, 64);
  assert.equal(await lab.probe.oid('a', rc), NDIS_STATUS.SUCCESS);
  const caps = decodeReceiveScaleCapabilities(rc.written());
  assert.ok(!isDecodeError(caps));
  assert.equal(caps.numberOfIndirectionTableEntries, 128);
  await lab.ndis.shutdown();
});

void test('OID_OFFLOAD_ENCAPSULATION: accepted for IEEE 802.3, refused for LLC/SNAP, followed by the current configuration', async () => {
  const lab = await offloadLab();
  assert.equal(lab.adapterA.offload.txMask, 0, 'no offload before OID_OFFLOAD_ENCAPSULATION');
  assert.equal(await activateOffloads(lab, 'a'), NDIS_STATUS.SUCCESS);
  assert.notEqual(lab.adapterA.offload.txMask, 0);
  const ind = lab.probe.binding('a').statuses.filter((s) => s.statusCode === NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG);
  assert.equal(ind.length, 1);
  assert.ok(ind[0]!.statusObject !== undefined && ind[0]!.statusBuffer !== null);
  const snap = { enabled: 1, encapsulationType: 0x10, headerSize: 8 };
  assert.equal(await lab.probe.oid('a', NdisOidRequest.set(OID.OFFLOAD_ENCAPSULATION, encodeOffloadEncapsulation({ ipv4: snap, ipv6: snap }))), NDIS_STATUS.INVALID_PARAMETER);
  const q = NdisOidRequest.query(OID.OFFLOAD_ENCAPSULATION, 64);
  assert.equal(await lab.probe.oid('a', q), NDIS_STATUS.SUCCESS);
  assert.equal(q.bytesWritten, 28);
  await lab.ndis.shutdown();
});

void test('OID_TCP_OFFLOAD_PARAMETERS changes the configuration, indicates it, and NDIS tracks it', async () => {
  const lab = await offloadLab();
  await activateOffloads(lab, 'a');
  const p = { ...noChangeOffloadParameters(), tcpIpv4Checksum: NDIS_OFFLOAD_PARAMETERS.RX_ENABLED_TX_DISABLED, lsoV2Ipv4: NDIS_OFFLOAD_PARAMETERS.LSOV2_DISABLED, encapsulatedPacketTaskOffload: 2 };
  assert.equal(await lab.probe.oid('a', NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, encodeOffloadParameters(p))), NDIS_STATUS.SUCCESS);
  const ind = lab.probe.binding('a').statuses.filter((s) => s.statusCode === NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG).at(-1)!;
  const fromBuffer = decodeOffload(ind.statusBuffer!);
  assert.ok(!isDecodeError(fromBuffer));
  const o = ind.statusObject as NdisOffload;
  for (const x of [o, fromBuffer]) {
    assert.equal(x.checksum.ipv4Transmit.tcpChecksum, 0);
    assert.equal(x.checksum.ipv4Receive.tcpChecksum, NDIS_OFFLOAD_SUPPORTED);
    assert.equal(x.lsoV2.ipv4.encapsulation, 0);
    assert.equal(x.encapsulationTypes, 0);
  }
  assert.equal(lab.a.currentOffload?.lsoV2.ipv4.encapsulation, 0, 'NDIS keeps the current configuration for new bindings');
  assert.equal(lab.adapterA.offload.lso.v2Ipv4, false);
  // Out-of-range values are refused and change nothing.
  const bad = { ...noChangeOffloadParameters(), udpIpv4Checksum: 9 };
  assert.equal(await lab.probe.oid('a', NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, encodeOffloadParameters(bad))), NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(await lab.probe.oid('a', NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, new Uint8Array(10))), NDIS_STATUS.INVALID_LENGTH);
  const current = NdisOidRequest.query(OID.TCP_OFFLOAD_CURRENT_CONFIG, 256);
  await lab.probe.oid('a', current);
  const c = decodeOffload(current.written());
  assert.ok(!isDecodeError(c));
  assert.equal(c.checksum.ipv4Receive.udpChecksum, NDIS_OFFLOAD_SUPPORTED);
  await lab.ndis.shutdown();
});
