import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOffloadParameters, noChangeOffloadParameters } from '../../../../src/ndis/structs-offload.js';
import {
  NDIS_STATUS,
  NdisOidRequest,
  OID,
  decodeStatistics,
  emptyOffload,
  readUlong,
  ulongBuffer,
  type NdisOffload,
  type MiniportBlock,
  type Ndis,
} from '../../../../src/ndis/index.js';
import { TEAM_MEMBER_UPPER_RANGE, encodeNetworkAddressList, intersectOffloads } from '../../../../src/drivers/im/index.js';
import { formatIp } from '../../../../src/wire/address.js';
import { logFilter } from '../../../ndis/drivers.js';
import { teamLab, mac, sendChain, until, outstanding, PEER_MAC, udpFrame, settle } from './helpers.js';

async function query(ndis: Ndis, m: MiniportBlock, oid: number, length: number): Promise<NdisOidRequest> {
  const r = NdisOidRequest.query(oid, length);
  const s = await ndis.requestOid(m, r);
  assert.equal(s, NDIS_STATUS.SUCCESS, `query ${oid.toString(16)}`);
  return r;
}

function offloadWith(tcp4: boolean, udp4: boolean, lso: number): NdisOffload {
  const o = emptyOffload();
  o.checksum.ipv4Transmit.tcpChecksum = tcp4 ? 1 : 0;
  o.checksum.ipv4Transmit.udpChecksum = udp4 ? 1 : 0;
  o.lsoV2.ipv4.maxOffLoadSize = lso;
  o.lsoV2.ipv4.minSegmentCount = 2;
  return o;
}

test('statistics of a team are the sum of its members\' (OID_GEN_STATISTICS and the counters derived from it)', async () => {
  const lab = await teamLab();
  const { ndis, raw, team, virt, members, iface } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  sendChain(ndis, t, Array.from({ length: 100 }, (_, i) => udpFrame(mac(PEER_MAC), team.mac!, 1, 2, 3000 + i, 4)));
  sendChain(ndis, p, Array.from({ length: 7 }, () => udpFrame(team.mac!, mac(PEER_MAC), 2, 1, 4, 3000)));
  await until(ndis, () => t.completed === 100 && t.received.length === 7);
  await settle(ndis);
  const stats = decodeStatistics((await query(ndis, iface, OID.GEN_STATISTICS, 152)).written())!;
  const a = virt.adapter(members[0]!).stats;
  const b = virt.adapter(members[1]!).stats;
  assert.equal(stats.ifHCOutUcastPkts, a.ifHCOutUcastPkts + b.ifHCOutUcastPkts);
  assert.equal(stats.ifHCOutUcastPkts, 100);
  assert.equal(stats.ifHCInUcastPkts, a.ifHCInUcastPkts + b.ifHCInUcastPkts);
  // m1 (the team's address) counted the 7 frames; m2, promiscuous, also heard all m1 sent.
  assert.equal(a.ifHCInUcastPkts, 7);
  assert.equal(b.ifHCInUcastPkts, 7 + a.ifHCOutUcastPkts);
  assert.equal(stats.ifHCOutOctets, a.ifHCOutUcastOctets + b.ifHCOutUcastOctets);
  const xmitOk = await query(ndis, iface, OID.GEN_XMIT_OK, 8);
  assert.equal(new DataView(xmitOk.informationBuffer!.buffer).getBigUint64(0, true), 100n);
  // A buffer too short gets NDIS_STATUS_BUFFER_TOO_SHORT with BytesNeeded, as from a NIC.
  const short = NdisOidRequest.query(OID.GEN_STATISTICS, 16);
  assert.equal(await ndis.requestOid(iface, short), NDIS_STATUS.BUFFER_TOO_SHORT);
  assert.equal(short.bytesNeeded, 152);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('receive settings, offload configuration and network-layer addresses: what must hold on every member is set on every member', async () => {
  const lab = await teamLab({ memberCount: 2 });
  const { ndis, lbfo, virt, members, iface, team, raw, log } = lab;
  // A filter on every Ethernet adapter logs the OIDs that pass it.
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'spy', log, handlers: { oid: true } }));
  // The members restarted under the new filter: the team takes them back once NDIS is done.
  await ndis.until(lbfo.settled());
  const t = raw.get('team0')!;
  log.length = 0;
  const params = encodeOffloadParameters(noChangeOffloadParameters());
  const s = ndis.oidRequest(t.handle, NdisOidRequest.set(OID.TCP_OFFLOAD_PARAMETERS, params));
  await settle(ndis);
  const reached = log.filter((l) => l === 'spy:oid fc01020c').length;
  assert.equal(reached, 3, 'the set passed the spy above the team interface and above each member');
  // Every member accepts it, so the team does.
  const done = log.find((l) => l.startsWith('raw:oid-complete fc01020c'));
  assert.ok(s === NDIS_STATUS.SUCCESS || done === `raw:oid-complete fc01020c ${NDIS_STATUS.SUCCESS}`, `status ${s}, ${done}`);
  // A member that joins later gets the same settings.
  log.length = 0;
  await lbfo.addTeamMember('team0', 'm3');
  const m3 = await virt.addAdapter('m3', {}, { upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await lbfo.settled();
  await settle(ndis);
  assert.ok(log.includes('spy:oid fc01020c'), 'replayed on m3');
  assert.equal(virt.adapter(m3).packetFilter, virt.adapter(members[1]!).packetFilter, 'm3 took the receive settings');
  assert.deepEqual(team.memberStates().map((m) => m.active), [true, true, true]);

  // Network-layer addresses set on the interface are the ones the team announces.
  const addrs = [Uint8Array.of(192, 0, 2, 44), Uint8Array.of(192, 0, 2, 45)];
  ndis.oidRequest(t.handle, NdisOidRequest.set(OID.GEN_NETWORK_LAYER_ADDRESSES, encodeNetworkAddressList(addrs)));
  await settle(ndis);
  assert.deepEqual(team.interfaces[0]!.addresses.ipv4.map(formatIp), ['192.0.2.44', '192.0.2.45']);

  // What a team interface answers itself.
  assert.equal(readUlong(await query(ndis, iface, OID.GEN_VLAN_ID, 4)), 0);
  assert.equal(readUlong(await query(ndis, iface, OID.GEN_CURRENT_PACKET_FILTER, 4)), t.packetFilter);
  assert.equal(await ndis.requestOid(iface, NdisOidRequest.set(OID.GEN_CURRENT_LOOKAHEAD, ulongBuffer(9000))), NDIS_STATUS.INVALID_DATA);
  assert.equal(await ndis.requestOid(iface, NdisOidRequest.set(OID.GEN_CURRENT_LOOKAHEAD, ulongBuffer(256))), NDIS_STATUS.SUCCESS);
  assert.equal(await ndis.requestOid(iface, NdisOidRequest.query(0x00ffffff, 4)), NDIS_STATUS.NOT_SUPPORTED);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('a team offers the offloads all its members offer, and tells its protocols when that changes', async () => {
  const lab = await teamLab();
  const { ndis, members, iface, log, lbfo, virt } = lab;
  const offA = offloadWith(true, true, 64000);
  const offB = offloadWith(true, false, 32000);
  const indicate = (m: MiniportBlock, o: NdisOffload): void =>
    ndis.mIndicateStatusEx(m, { sourceHandle: m, portNumber: 0, statusCode: NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG, flags: 0, destinationHandle: null, requestId: null, statusBuffer: null, statusObject: o });
  log.length = 0;
  indicate(members[0]!, offA);
  // The team offers what m1's new configuration and m2's current one have in common.
  assert.deepEqual(iface.currentOffload, intersectOffloads([offA, members[1]!.currentOffload ?? emptyOffload()]));
  indicate(members[1]!, offB);
  assert.deepEqual(iface.currentOffload, intersectOffloads([offA, offB]));
  assert.equal(iface.currentOffload!.checksum.ipv4Transmit.tcpChecksum, 1);
  assert.equal(iface.currentOffload!.checksum.ipv4Transmit.udpChecksum, 0);
  assert.equal(iface.currentOffload!.lsoV2.ipv4.maxOffLoadSize, 32000);
  assert.ok(log.includes('raw:status 40020006 team0'), 'the protocols above were told');
  // m2 leaves: the team can do what m1 does.
  await lbfo.removeTeamMember('team0', 'm2');
  assert.deepEqual(iface.currentOffload, offA);
  assert.deepEqual(lab.team.memberStates().map((m) => m.adapter), ['m1']);
  assert.equal(virt.adapter(members[1]!).packetFilter, 0, 'the former member no longer listens for the team');
  await ndis.shutdown();
});

test('removing a team stops its interfaces and gives the members their own settings back', async () => {
  const lab = await teamLab();
  const { ndis, lbfo, virt, members, raw } = lab;
  await lbfo.removeTeam('team0');
  assert.ok(![...ndis.adapters].some((a) => a.name === 'team0'));
  assert.ok(!raw.has('team0'));
  for (const m of members) assert.equal(virt.adapter(m).packetFilter, 0);
  assert.equal(lbfo.teams.size, 0);
  // The adapters can form another team.
  const again = await lbfo.createTeam({ name: 'team1', members: ['m2', 'm1'] });
  await settle(ndis);
  assert.ok(raw.has('team1'));
  assert.deepEqual([...again.mac!], [...members[1]!.currentMacAddress], 'the first member listed gives its address');
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});
