import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ndis, type MiniportBlock } from '../../../../src/ndis/index.js';
import { NDIS_NET_BUFFER_LIST_INFO, ieee8021QValue } from '../../../../src/nbl/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, TeamReceiveDrop, VlanTagging } from '../../../../src/drivers/im/index.js';
import { rawProtocol, nblFor, type RawBinding } from '../../../ndis/drivers.js';
import { ethernet, mac, sendChain, sniff, until, outstanding, settle, fullVerifier } from './helpers.js';
import type { Verifier } from '../../../../src/verifier/index.js';

const BROADCAST = mac('ff-ff-ff-ff-ff-ff');

interface VlanLab {
  ndis: Ndis;
  verifier: Verifier;
  virt: VirtualMiniportDriver;
  lbfo: TeamingDriver;
  raw: Map<string, RawBinding>;
  nicA: MiniportBlock;
  nicB: MiniportBlock;
}

/**
 * Two hosts on one wire: nicA carries VLANs 10 and 20 (interfaces a10, a20), nicB the same
 * (b10, b20); a third station `plain` is untagged. `offloadB`: nicB strips tags into the OOB
 * (*PriorityVLANTag); `tagging`: how host A's team tags.
 */
async function vlanLab(opts: { offloadB?: boolean; tagging?: number } = {}): Promise<VlanLab> {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier });
  const virt = new VirtualMiniportDriver(ndis);
  const raw = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', [], raw));
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  const nicA = await virt.addAdapter('nicA', { NetworkAddress: '02-00-00-00-0a-01' }, up);
  const nicB = await virt.addAdapter('nicB', { NetworkAddress: '02-00-00-00-0b-01', '*PriorityVLANTag': opts.offloadB === true ? 1 : 0 }, up);
  await virt.addAdapter('plain', { NetworkAddress: '02-00-00-00-0c-01' });
  await lbfo.createVlans('nicA', [{ name: 'a10', vlanId: 10 }, { name: 'a20', vlanId: 20 }], opts.tagging === undefined ? {} : { vlanTagging: opts.tagging });
  await lbfo.createVlans('nicB', [{ name: 'b10', vlanId: 10 }, { name: 'b20', vlanId: 20 }]);
  await settle(ndis);
  return { ndis, verifier, virt, lbfo, raw, nicA, nicB };
}

for (const variant of [
  { name: 'tags in the OOB, received in the frame', offloadB: false, tagging: VlanTagging.Auto },
  { name: 'tags written into the frame by the team, received into the OOB', offloadB: true, tagging: VlanTagging.InFrame },
]) {
  test(`two VLANs on one wire stay apart (${variant.name})`, async () => {
    const lab = await vlanLab(variant);
    const { ndis, raw, virt, nicB } = lab;
    const [a10, a20, b10, b20, plain] = ['a10', 'a20', 'b10', 'b20', 'plain'].map((n) => raw.get(n)!);
    const aMac = ndis.adapter('a10').currentMacAddress;
    assert.deepEqual([...aMac], [...lab.nicA.currentMacAddress], 'the VLAN interfaces share their adapter\'s address');
    const s = sniff(virt.hub('hub0'));
    const f10 = ethernet(BROADCAST, aMac, 0x88b5, new Uint8Array(50).fill(10));
    const f20 = ethernet(BROADCAST, aMac, 0x88b5, new Uint8Array(50).fill(20));
    const u10 = ethernet(nicB.currentMacAddress, aMac, 0x88b5, new Uint8Array(50).fill(11));
    sendChain(ndis, a10!, [f10, u10]);
    sendChain(ndis, a20!, [f20]);
    await until(ndis, () => a10!.completed === 2 && a20!.completed === 1);
    await settle(ndis);
    // Exactly the sender's frames, untagged, reach the interfaces of the same VLAN and no other.
    assert.deepEqual(b10!.received.map((f) => Buffer.from(f).toString('hex')), [f10, u10].map((f) => Buffer.from(f).toString('hex')));
    assert.deepEqual(b20!.received.map((f) => Buffer.from(f).toString('hex')), [Buffer.from(f20).toString('hex')]);
    // A station that knows no VLANs hears the broadcasts only as 802.1Q frames (EtherType 0x8100).
    assert.deepEqual(plain!.received.map((f) => [f[12], f[13]]), [[0x81, 0x00], [0x81, 0x00]]);
    // On the wire, 802.1Q headers with the VLAN ids.
    const tags = s.frames.map((f) => [(f.bytes[12]! << 8) | f.bytes[13]!, ((f.bytes[14]! << 8) | f.bytes[15]!) & 0xfff]);
    assert.deepEqual(tags, [[0x8100, 10], [0x8100, 10], [0x8100, 20]]);
    for (const f of s.frames) assert.equal(f.bytes.length, 14 + 4 + 50);
    // Untagged traffic has no interface on either host.
    sendChain(ndis, plain!, [ethernet(BROADCAST, mac('02-00-00-00-0c-01'), 0x88b5, new Uint8Array(50))]);
    await until(ndis, () => plain!.completed === 1);
    await settle(ndis);
    assert.equal(b10!.received.length + b20!.received.length + a10!.received.length + a20!.received.length, 3, 'no VLAN interface took it');
    assert.equal(lab.lbfo.team('nicB-vlans').counters.receiveDrops[TeamReceiveDrop.NoInterface], 1);
    assert.deepEqual(outstanding(lab), []);
    await ndis.shutdown();
  });
}

test('a VLAN interface keeps the sender\'s 802.1p priority and tells the receiver the tag it removed', async () => {
  const lab = await vlanLab();
  const { ndis, raw, virt, nicB } = lab;
  const a10 = raw.get('a10')!;
  const b10 = raw.get('b10')!;
  b10.hold = true;
  const s = sniff(virt.hub('hub0'));
  const nbl = nblFor(a10, ethernet(nicB.currentMacAddress, lab.nicA.currentMacAddress, 0x88b5, new Uint8Array(46).fill(1)));
  nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(5, 0);
  ndis.sendNetBufferLists(a10.handle, nbl, 0, 0);
  await until(ndis, () => a10.completed === 1);
  await settle(ndis);
  const tci = (s.frames[0]!.bytes[14]! << 8) | s.frames[0]!.bytes[15]!;
  assert.equal(tci >> 13, 5, 'priority 5');
  assert.equal(tci & 0xfff, 10, 'VLAN 10');
  assert.equal(b10.received.length, 1);
  assert.equal(b10.received[0]![12], 0x88, 'indicated without its tag');
  const held = b10.held.takeAll()!;
  assert.equal(held.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo], ieee8021QValue(5, 10), 'the tag is in the OOB');
  ndis.returnNetBufferLists(b10.handle, held, 0);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('VLANs over a team (m:n): a default interface and a VLAN interface share two members', async () => {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier });
  const virt = new VirtualMiniportDriver(ndis);
  const raw = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', [], raw));
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  await virt.addAdapter('m1', {}, up);
  await virt.addAdapter('m2', {}, up);
  const peer = await virt.addAdapter('peer');
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'], interfaces: [{ name: 'team0' }, { name: 'team0-v10', vlanId: 10 }, { name: 'team0-v30', vlanId: 30 }] });
  await settle(ndis);
  const p = raw.get('peer')!;
  const untagged = ethernet(team.mac!, peer.currentMacAddress, 0x88b5, new Uint8Array(46).fill(1));
  const tagged = (vid: number, fill: number): Uint8Array => {
    const f = new Uint8Array(14 + 4 + 46).fill(fill);
    f.set(team.mac!, 0);
    f.set(peer.currentMacAddress, 6);
    f.set([0x81, 0x00, vid >> 8, vid & 0xff, 0x88, 0xb5], 12);
    return f;
  };
  sendChain(ndis, p, [untagged, tagged(10, 2), tagged(30, 3), tagged(99, 4)]);
  await until(ndis, () => p.completed === 4);
  await settle(ndis);
  assert.deepEqual(raw.get('team0-v10')!.received.map((f) => [f.length, f[12], f[14]]), [[60, 0x88, 2]], 'VLAN 10 arrives untagged');
  assert.deepEqual(raw.get('team0-v30')!.received.map((f) => f[14]), [3]);
  // The default interface takes untagged frames and the VLANs nobody else claims, as they came.
  assert.deepEqual(raw.get('team0')!.received.map((f) => [f[12], f[13], f.length]), [[0x88, 0xb5, 60], [0x81, 0x00, 64]]);
  // Sends from the VLAN interfaces go out over both members, tagged.
  const s = sniff(virt.hub('hub0'));
  const v10 = raw.get('team0-v10')!;
  sendChain(ndis, v10, Array.from({ length: 64 }, (_, i) => {
    const f = new Uint8Array(60);
    f.set(peer.currentMacAddress, 0);
    f.set(team.mac!, 6);
    f.set([0x08, 0x00, 0x45], 12);
    f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
    f[23] = 17;
    f[34] = i;
    return f;
  }));
  await until(ndis, () => v10.completed === 64);
  await settle(ndis);
  assert.equal(s.frames.length, 64);
  assert.ok(s.frames.every((f) => f.bytes[12] === 0x81 && ((f.bytes[14]! << 8) | f.bytes[15]!) === 10));
  assert.ok(s.from('m1').length > 0 && s.from('m2').length > 0, `m1 ${s.from('m1').length}, m2 ${s.from('m2').length}`);
  // Interfaces come and go while the team runs.
  const v40 = await lbfo.addTeamInterface('team0', { name: 'team0-v40', vlanId: 40 });
  assert.ok(raw.has('team0-v40'));
  assert.equal(team.byVlan[40], v40);
  await lbfo.removeTeamInterface('team0-v30');
  assert.ok(!raw.has('team0-v30'));
  assert.equal(team.byVlan[30], null);
  assert.deepEqual(outstanding({ ndis, verifier }), []);
  await ndis.shutdown();
});
