import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaConnectState, NDIS_STATUS } from '../../../../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS } from '../../../../src/nbl/index.js';
import { buildGratuitousArp, buildUnsolicitedNeighborAdvert, TeamReceiveDrop } from '../../../../src/drivers/im/index.js';
import { parseIp } from '../../../../src/wire/address.js';
import { logFilter } from '../../../ndis/drivers.js';
import { teamLab, mac, ethernet, sendChain, until, outstanding, PEER_MAC, sniff, udpFrame, settle, type Sniffer } from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The member each flow (UDP source port) of the sniffed frames left on. */
function flowMembers(s: Sniffer, from: number, to: number): Map<number, string> {
  const m = new Map<number, string>();
  for (const f of s.frames) {
    if (f.bytes[12] !== 0x08 || f.bytes[13] !== 0x00) continue;
    const port = (f.bytes[34]! << 8) | f.bytes[35]!;
    if (port >= from && port < to) m.set(port, f.from);
  }
  return m;
}

test('link down on a member fails its flows over to the others and link up brings them back; the team announces its addresses on the new primary', async () => {
  const lab = await teamLab({ team: { interfaces: [{ name: 'team0', addresses: ['192.0.2.10', '2001:db8::10'] }] } });
  const { ndis, raw, team, virt, members, iface, log } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  const teamMac = team.mac!;
  const peerMac = mac(PEER_MAC);
  // The transport answers an ARP: the team learns that address too.
  const arpReply = new Uint8Array(28);
  arpReply.set([0, 1, 8, 0, 6, 4, 0, 2]);
  arpReply.set(teamMac, 8);
  arpReply.set([192, 0, 2, 11], 14);
  arpReply.set(peerMac, 18);
  arpReply.set([192, 0, 2, 99], 24);
  sendChain(ndis, t, [ethernet(peerMac, teamMac, 0x0806, arpReply)]);
  await until(ndis, () => t.completed === 1);

  const s = sniff(virt.hub('hub0'));
  const round = async (base: number, n: number): Promise<void> => {
    const done = t.completed + n;
    sendChain(ndis, t, Array.from({ length: n }, (_, i) => udpFrame(peerMac, teamMac, 0xc000020a, 0xc0000263, base + i, 5001)));
    await until(ndis, () => t.completed === done);
  };
  await round(1000, 200);
  const before = flowMembers(s, 1000, 1200);
  assert.ok([...before.values()].includes('m1') && [...before.values()].includes('m2'));

  // m1's cable is pulled.
  s.clear();
  virt.adapter(members[0]!).setLink(false);
  assert.equal(team.primary?.adapterName, 'm2');
  assert.equal(team.counters.failovers, 1);
  await settle(ndis);
  const announced = s.from('m2').map(hex);
  assert.deepEqual(announced, [
    hex(buildGratuitousArp(teamMac, parseIp('192.0.2.10')!)),
    hex(buildGratuitousArp(teamMac, parseIp('192.0.2.11')!)),
    hex(buildUnsolicitedNeighborAdvert(teamMac, parseIp('2001:db8::10')!)),
  ]);
  // The team is still up, at the speed of what is left.
  assert.equal(iface.mediaConnectState, MediaConnectState.Connected);
  assert.equal(iface.xmitLinkSpeed, 10_000_000_000);
  assert.ok(log.includes('raw:status 40010017 team0'));
  await round(1000, 200);
  assert.ok([...flowMembers(s, 1000, 1200).values()].every((m) => m === 'm2'), 'every flow now leaves on m2');
  // Traffic to the team arrives through m2.
  const got = t.received.length;
  sendChain(ndis, p, Array.from({ length: 10 }, (_, i) => ethernet(teamMac, peerMac, 0x88b5, new Uint8Array(46).fill(i))));
  await until(ndis, () => t.received.length === got + 10);

  // The cable is back: failback.
  s.clear();
  virt.adapter(members[0]!).setLink(true);
  assert.equal(team.primary?.adapterName, 'm1');
  assert.equal(team.counters.failbacks, 1);
  await settle(ndis);
  assert.equal(s.from('m1').length, 3, 'announced again on m1');
  await round(1000, 200);
  assert.deepEqual(flowMembers(s, 1000, 1200), before, 'every flow is back on the member it had');
  assert.equal(p.received.filter((f) => f[12] === 0x08 && f[13] === 0x00).length, 600, 'the peer got every datagram');

  // Both cables pulled: the team's link goes down and its sends fail.
  virt.adapter(members[0]!).setLink(false);
  virt.adapter(members[1]!).setLink(false);
  assert.equal(iface.mediaConnectState, MediaConnectState.Disconnected);
  const n = t.completionStatuses.length;
  sendChain(ndis, t, [udpFrame(peerMac, teamMac, 1, 2, 3, 4)]);
  await until(ndis, () => t.completionStatuses.length === n + 1);
  assert.equal(t.completionStatuses[n], NDIS_STATUS.MEDIA_DISCONNECTED);
  // The announcements made when m1 went down the second time complete too.
  await settle(ndis);
  assert.equal(team.counters.announcements, 9);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('a send a member fails for want of a link goes out again on another member: nothing is lost', async () => {
  const lab = await teamLab();
  const { ndis, raw, team, virt, members } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  // m1 loses its link but has not noticed yet (no NDIS_STATUS_LINK_STATE): its sends fail.
  virt.adapter(members[0]!).linkUp = false;
  const n = 200;
  sendChain(ndis, t, Array.from({ length: n }, (_, i) => udpFrame(mac(PEER_MAC), team.mac!, 1, 2, 40_000 + i, 9)));
  await until(ndis, () => t.completed === n);
  await settle(ndis);
  assert.ok(t.completionStatuses.every((st) => st === NDIS_STATUS.SUCCESS), 'every send completed successfully');
  const ifc = team.interfaces[0]!.counters;
  assert.ok(ifc.resends > n / 4 && ifc.resends < (3 * n) / 4, `${ifc.resends} sends went out again`);
  assert.equal(team.members[0]!.counters.sendFailures, ifc.resends);
  const ports = new Set(p.received.map((f) => (f[34]! << 8) | f[35]!));
  assert.equal(ports.size, n, 'the peer got every datagram');
  // The NIC notices: from then on the team does not try m1 at all.
  virt.adapter(members[0]!).linkUp = true;
  virt.adapter(members[0]!).setLink(false);
  const before = ifc.resends;
  sendChain(ndis, t, Array.from({ length: n }, (_, i) => udpFrame(mac(PEER_MAC), team.mac!, 1, 2, 40_000 + i, 9)));
  await until(ndis, () => t.completed === 2 * n);
  assert.equal(ifc.resends, before);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('unbinding and removing members under traffic: every send completes, nothing is lost, and the verifier is satisfied', async () => {
  const lab = await teamLab({ memberCount: 3 });
  const { ndis, raw, team, members, lbfo } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  const peerMac = mac(PEER_MAC);
  const rounds = 120;
  const per = 20;
  const ops: Promise<void>[] = [];
  for (let r = 0; r < rounds; r++) {
    sendChain(ndis, t, Array.from({ length: per }, (_, i) => udpFrame(peerMac, team.mac!, 0x0a000001, 0x0a000002, 1024 + r * per + i, 53, 100)));
    if (r === 20) ops.push(ndis.setProtocolBinding(lbfo.protocol!, members[1]!, false)); // unbind m2
    if (r === 50) ops.push(ndis.setProtocolBinding(lbfo.protocol!, members[1]!, true)); // bind it again
    if (r === 80) ops.push(ndis.removeAdapter(members[0]!)); // m1 goes away for good
    await ndis.sleep(1);
  }
  await Promise.all(ops);
  await until(ndis, () => t.completed === rounds * per);
  await settle(ndis);
  assert.ok(t.completionStatuses.every((s) => s === NDIS_STATUS.SUCCESS), 'every send succeeded');
  const ports = p.received.map((f) => (f[34]! << 8) | f[35]!);
  assert.equal(ports.length, rounds * per, 'the peer received each datagram once');
  assert.equal(new Set(ports).size, rounds * per);
  assert.deepEqual(team.memberStates().map((m) => [m.adapter, m.bound, m.active]), [['m1', false, false], ['m2', true, true], ['m3', true, true]]);
  assert.ok(team.counters.failovers >= 1);
  assert.deepEqual(team.boundMembers().map((b) => b.outstandingSends), [0, 0]);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('receives indicated with NDIS_RECEIVE_FLAGS_RESOURCES are indicated up the same way and never held', async () => {
  const lab = await teamLab({ memberConfig: { LowResourceThreshold: 100_000 } });
  const { ndis, raw, team } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  sendChain(ndis, p, Array.from({ length: 30 }, (_, i) => ethernet(team.mac!, mac(PEER_MAC), 0x88b5, new Uint8Array(46).fill(i))));
  await until(ndis, () => t.received.length === 30);
  await settle(ndis);
  assert.ok(t.flags.every((f) => (f & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0));
  assert.equal(team.interfaces[0]!.outstandingRx, 0);
  assert.equal(team.interfaces[0]!.counters.returnNbls, 0, 'nothing came back: nothing was lent');
  assert.equal(team.counters.receiveDrops[TeamReceiveDrop.NotPrimary], 30);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('receives a protocol holds stay lent until it returns them, and go back to the member that indicated them', async () => {
  const lab = await teamLab();
  const { ndis, raw, team, members, virt } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  t.hold = true;
  sendChain(ndis, p, Array.from({ length: 8 }, (_, i) => ethernet(team.mac!, mac(PEER_MAC), 0x88b5, new Uint8Array(46).fill(i))));
  await until(ndis, () => t.received.length === 8);
  const iface = team.interfaces[0]!;
  assert.equal(iface.outstandingRx, 8);
  assert.equal(virt.adapter(members[0]!).outstandingRx, 8, 'the member\'s receive buffers are still lent');
  let x = t.held.takeAll();
  assert.ok(x !== null);
  ndis.returnNetBufferLists(t.handle, x, 0);
  x = null;
  assert.equal(iface.outstandingRx, 0);
  assert.equal(virt.adapter(members[0]!).outstandingRx, 0);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('a member whose stack pauses (a filter inserted below the team, a power change) gives up its flows for the while; nothing is lost', async () => {
  const lab = await teamLab();
  const { ndis, raw, team, members } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  const log: string[] = [];
  // A filter that binds nowhere by itself; it is inserted on m1 by hand.
  const spy = await ndis.registerFilterDriver({ ...logFilter(ndis, { name: 'late', log }), filterMediaTypes: ['none'] });
  const peerMac = mac(PEER_MAC);
  const ops: Promise<void>[] = [];
  const rounds = 60;
  ndis.events.length = 0;
  for (let r = 0; r < rounds; r++) {
    sendChain(ndis, t, Array.from({ length: 16 }, (_, i) => udpFrame(peerMac, team.mac!, 1, 2, 2000 + r * 16 + i, 9)));
    if (r === 10) ops.push(ndis.setFilterBinding(spy, members[0]!, true));
    if (r === 30) ops.push(ndis.setPower(members[1]!, 4));
    if (r === 40) ops.push(ndis.setPower(members[1]!, 1));
    await ndis.sleep(1);
  }
  await Promise.all(ops);
  await until(ndis, () => t.completed === rounds * 16);
  await settle(ndis);
  assert.ok(t.completionStatuses.every((s) => s === NDIS_STATUS.SUCCESS));
  assert.equal(new Set(p.received.map((f) => (f[34]! << 8) | f[35]!)).size, rounds * 16, 'the peer got every datagram');
  assert.ok(log.includes('late:attach') && log.includes('late:restart'));
  // The protocol edge paused and restarted with its adapter's stack, in NDIS's order.
  const order = ndis.events.map((e) => e.replace(/^[\d.]+ms /, '')).filter((e) => /^(lbfo->m1: binding|m1: miniport|m1-\{late\})/.test(e));
  assert.deepEqual(order, ['lbfo->m1: binding paused', 'm1: miniport paused', 'm1-{late}-0000: attached at position 0', 'm1: miniport running', 'm1-{late}-0000: filter running', 'lbfo->m1: binding running']);
  assert.ok(team.counters.membersLost >= 2 && team.counters.membersJoined >= 4);
  assert.deepEqual(team.memberStates().map((m) => m.active), [true, true]);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});
