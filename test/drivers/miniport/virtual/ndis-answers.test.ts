// What NDIS does itself for an NDIS 6 miniport's offloads: it answers OID_TCP_OFFLOAD_CURRENT_CONFIG
// from the offload attributes and the latest NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG, and
// OID_GEN_RECEIVE_SCALE_CAPABILITIES from the general attributes, without the request ever reaching
// the miniport; and it fills the header-data split attributes passed with the hardware-assist
// attributes before NdisMSetMiniportAttributes returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_STATUS, NdisOidRequest, OID, type MiniportBlock, type NdisStatus } from '../../../../src/ndis/index.js';
import {
  NDIS_OFFLOAD_PARAMETERS,
  decodeOffload,
  decodeReceiveScaleCapabilities,
  encodeOffload,
  encodeOffloadParameters,
  encodeReceiveScaleCapabilities,
  isDecodeError,
  noChangeOffloadParameters,
  type NdisHdSplitAttributes,
  type NdisReceiveScaleCapabilities,
} from '../../../../src/ndis/structs-offload.js';
import { NDIS_OFFLOAD_SUPPORTED } from '../../../../src/ndis/offload-types.js';
import {
  NDIS_ANSWERED_OFFLOAD_OIDS,
  NDIS_HD_SPLIT_DEFAULT_BACKFILL_SIZE,
  NDIS_HD_SPLIT_DEFAULT_MAX_HEADER_SIZE,
  ndisSetHardwareAssistAttributes,
} from '../../../../src/ndis/offload-answers.js';
import { NDIS_HD_SPLIT_CAPS } from '../../../../src/offload/hds/index.js';
import { LabMiniport } from '../../protocol/tcpip/lab.js';
import { activateOffloads, offloadLab } from './helpers.js';

type OidHandler = (ctx: unknown, r: NdisOidRequest) => NdisStatus;

/** Records every OID that reaches the miniport of `m` (its MiniportOidRequest handler). */
function spyOnMiniportOids(m: MiniportBlock): number[] {
  const seen: number[] = [];
  const chars = m.driver.chars as unknown as { oidRequest: OidHandler };
  const original = chars.oidRequest;
  chars.oidRequest = (ctx, r) => {
    seen.push(r.oid);
    return original(ctx, r);
  };
  return seen;
}

void test('OID_TCP_OFFLOAD_CURRENT_CONFIG is answered by NDIS from the offload attributes, then from each NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG', async () => {
  const lab = await offloadLab();
  try {
    const seen = spyOnMiniportOids(lab.a);
    const q = NdisOidRequest.query(OID.TCP_OFFLOAD_CURRENT_CONFIG, 512);
    assert.equal(await lab.probe.oid('a', q), NDIS_STATUS.SUCCESS);
    assert.equal(q.bytesWritten, encodeOffload(lab.a.currentOffload!).length);
    assert.deepEqual(q.written(), encodeOffload(lab.adapterA.offload.current), 'what the miniport set as DefaultOffloadConfiguration');
    // The miniport changes its configuration (OID_TCP_OFFLOAD_PARAMETERS) and indicates it.
    await activateOffloads(lab, 'a');
    const p = { ...noChangeOffloadParameters(), udpIpv4Checksum: NDIS_OFFLOAD_PARAMETERS.TX_ENABLED_RX_DISABLED, lsoV2Ipv6: NDIS_OFFLOAD_PARAMETERS.LSOV2_DISABLED };
    assert.equal(await lab.probe.oid('a', NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, encodeOffloadParameters(p))), NDIS_STATUS.SUCCESS);
    const after = NdisOidRequest.query(OID.TCP_OFFLOAD_CURRENT_CONFIG, 512);
    assert.equal(await lab.probe.oid('a', after), NDIS_STATUS.SUCCESS);
    const o = decodeOffload(after.written());
    assert.ok(!isDecodeError(o));
    assert.equal(o.checksum.ipv4Receive.udpChecksum, 0, 'the indicated change');
    assert.equal(o.checksum.ipv4Transmit.udpChecksum, NDIS_OFFLOAD_SUPPORTED);
    assert.equal(o.lsoV2.ipv6.encapsulation, 0);
    assert.deepEqual(after.written(), encodeOffload(lab.adapterA.offload.current));
    // A buffer too short: BUFFER_TOO_SHORT with the size needed.
    const short = NdisOidRequest.query(OID.TCP_OFFLOAD_CURRENT_CONFIG, 16);
    assert.equal(await lab.probe.oid('a', short), NDIS_STATUS.BUFFER_TOO_SHORT);
    assert.equal(short.bytesNeeded, q.bytesWritten);
    assert.ok(!seen.includes(OID.TCP_OFFLOAD_CURRENT_CONFIG), 'the query never reached the miniport');
    assert.ok(seen.includes(OID.TCP_OFFLOAD_PARAMETERS), 'the spy sees what does reach it');
  } finally {
    await lab.ndis.shutdown();
  }
});

void test('OID_GEN_RECEIVE_SCALE_CAPABILITIES is answered by NDIS from the general attributes; NOT_SUPPORTED without RSS', async () => {
  const lab = await offloadLab({ '*RSS': 1, '*NumRSSQueues': 4 }, {}, { '*RSS': 0 });
  try {
    const seenA = spyOnMiniportOids(lab.a);
    const q = NdisOidRequest.query(OID.GEN_RECEIVE_SCALE_CAPABILITIES, 64);
    assert.equal(await lab.probe.oid('a', q), NDIS_STATUS.SUCCESS);
    const reported = lab.a.general!.recvScaleCapabilities as NdisReceiveScaleCapabilities;
    assert.deepEqual(q.written(), encodeReceiveScaleCapabilities(reported));
    const c = decodeReceiveScaleCapabilities(q.written());
    assert.ok(!isDecodeError(c));
    assert.equal(c.numberOfReceiveQueues, 4);
    assert.equal(c.numberOfIndirectionTableEntries, 128);
    const none = NdisOidRequest.query(OID.GEN_RECEIVE_SCALE_CAPABILITIES, 64);
    assert.equal(await lab.probe.oid('b', none), NDIS_STATUS.NOT_SUPPORTED, 'adapter b reported no RSS capabilities');
    assert.ok(!seenA.includes(OID.GEN_RECEIVE_SCALE_CAPABILITIES));
  } finally {
    await lab.ndis.shutdown();
  }
});

void test('a miniport that reported no offload attributes: both queries NOT_SUPPORTED from NDIS', async () => {
  const lab = await offloadLab();
  try {
    const plain = new LabMiniport(lab.ndis);
    await plain.add('plain', { hub: lab.virt.hub('hub0') });
    const m = [...lab.ndis.adapters].find((x) => x.name === 'plain')!;
    const seen = spyOnMiniportOids(m);
    for (const oid of NDIS_ANSWERED_OFFLOAD_OIDS) {
      assert.equal(await lab.probe.oid('plain', NdisOidRequest.query(oid, 512)), NDIS_STATUS.NOT_SUPPORTED);
    }
    assert.deepEqual(seen, []);
  } finally {
    await lab.ndis.shutdown();
  }
});

void test('hardware-assist attributes: NDIS fills HDSplitFlags, BackfillSize and MaxHeaderSize before the call returns; they are kept for bindings', async () => {
  const lab = await offloadLab({ '*HeaderDataSplit': 1 }, {}, {});
  try {
    const h = lab.adapterA.hds!;
    assert.equal(h.hdSplitFlags, 1, 'NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT');
    assert.equal(h.backfillSize, NDIS_HD_SPLIT_DEFAULT_BACKFILL_SIZE);
    assert.equal(h.maxHeaderSize, NDIS_HD_SPLIT_DEFAULT_MAX_HEADER_SIZE);
    assert.equal(lab.a.hardwareAssist?.hdSplitAttributes, h, 'NDIS keeps the attributes it completed');
    assert.equal((lab.probe.binding('a').params.hdSplitCurrentConfig as NdisHdSplitAttributes).hdSplitFlags, 1);
    assert.equal(lab.adapterB.hds, null);
  } finally {
    await lab.ndis.shutdown();
  }
  // Without NDIS_HD_SPLIT_CAPS_SUPPORTS_HEADER_DATA_SPLIT in CurrentCapabilities, NDIS leaves it off.
  const off = { hardwareCapabilities: NDIS_HD_SPLIT_CAPS.SUPPORTS_HEADER_DATA_SPLIT, currentCapabilities: NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV4_OPTIONS, hdSplitFlags: 7, backfillSize: 9, maxHeaderSize: 9 };
  ndisSetHardwareAssistAttributes({ kind: 'hardwareAssist', hdSplitAttributes: off, hardwareReceiveFilterCapabilities: null, currentReceiveFilterCapabilities: null });
  assert.deepEqual([off.hdSplitFlags, off.backfillSize, off.maxHeaderSize], [0, 0, 0]);
  // Attributes without header-data split (VMQ only) are left alone.
  const vmqOnly = { kind: 'hardwareAssist' as const, hdSplitAttributes: null, hardwareReceiveFilterCapabilities: null, currentReceiveFilterCapabilities: null };
  ndisSetHardwareAssistAttributes(vmqOnly);
  assert.equal(vmqOnly.hdSplitAttributes, null);
});
