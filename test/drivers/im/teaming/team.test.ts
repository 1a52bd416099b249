import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ndis, NDIS_PACKET_TYPE, NdisOidRequest, OID, encodeMacList } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, TeamReceiveDrop, TeamingMode, MemberInactiveReason, LoadBalancingAlgorithm, VlanTagging, parseTeamConfig } from '../../../../src/drivers/im/index.js';
import { rawProtocol, type RawBinding } from '../../../ndis/drivers.js';
import { teamLab, mac, ethernet, sendChain, until, outstanding, PEER_MAC, sniff, udpFrame, settle, fullVerifier } from './helpers.js';

const BROADCAST = mac('ff-ff-ff-ff-ff-ff');
const ETHERTYPE = 0x88b5;

function events(ndis: Ndis, filter: RegExp): string[] {
  return ndis.events.map((e) => e.replace(/^[\d.]+ms /, '')).filter((e) => filter.test(e));
}

test('a team interface starts when its first member binds, binds protocols like any adapter, and stops before its last member unbinds', async () => {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier });
  const virt = new VirtualMiniportDriver(ndis);
  const log: string[] = [];
  const raw = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, raw));
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  assert.ok(lbfo.miniport!.isIntermediate);
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'] });
  assert.ok(![...ndis.adapters].some((a) => a.name === 'team0'), 'no interface before a member binds');

  const m1 = await virt.addAdapter('m1', { NetworkAddress: '02-00-00-00-00-a1' }, { upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await lbfo.settled();
  const iface = ndis.adapter('team0');
  assert.equal(iface.driver, lbfo.miniport);
  assert.deepEqual([...iface.currentMacAddress], [...m1.currentMacAddress], 'the team takes its first member\'s address');
  assert.ok(raw.has('team0'), 'the raw protocol bound to the team interface');
  assert.ok(!raw.has('m1'), 'and not to the member');
  assert.ok(lbfo.bindings.has('m1'));
  assert.ok(![...iface.opens].some((o) => o.protocol === lbfo.protocol), 'the protocol edge does not bind to its own interface');
  // The interface's stack was initialized after the member bound, and restarted before raw ran.
  const order = events(ndis, /^(team0: (initialized|miniport running)|lbfo->m1: bound|raw->team0: binding running)/);
  assert.deepEqual(order, ['lbfo->m1: bound', 'team0: initialized (lbfo)', 'team0: miniport running', 'raw->team0: binding running']);

  const m2 = await virt.addAdapter('m2', { NetworkAddress: '02-00-00-00-00-a2' }, { upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await lbfo.settled();
  assert.equal([...ndis.adapters].filter((a) => a.driver === lbfo.miniport).length, 1, 'still one interface');
  assert.deepEqual(team.memberStates().map((s) => [s.adapter, s.active, s.primary]), [['m1', true, true], ['m2', true, false]]);
  assert.equal(iface.xmitLinkSpeed, 20_000_000_000, 'link speed: the sum of the members');

  await ndis.removeAdapter(m1);
  assert.equal(ndis.adapter('team0'), iface, 'the team lives on with m2');
  assert.equal(team.primary?.adapterName, 'm2');
  assert.equal(team.counters.failovers, 1);

  ndis.events.length = 0;
  await ndis.removeAdapter(m2);
  assert.ok(![...ndis.adapters].some((a) => a.name === 'team0'), 'the last member took the interface with it');
  // The member's binding paused first (its adapter's stack pauses), then the interface's stack
  // was torn down (NdisIMDeInitializeDeviceInstance), and only then did the binding close.
  assert.deepEqual(events(ndis, /binding paused|miniport paused|unbound|halted/), [
    'lbfo->m2: binding paused',
    'm2: miniport paused',
    'raw->team0: binding paused',
    'team0: miniport paused',
    'raw->team0: unbound',
    'team0: halted',
    'lbfo->m2: unbound',
    'm2: halted',
  ]);
  // A member coming back brings the interface back.
  await virt.addAdapter('m1', { NetworkAddress: '02-00-00-00-00-a1' }, { upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await lbfo.settled();
  assert.ok(raw.has('team0'));
  assert.deepEqual(lbfo.errors, []);
  assert.deepEqual(outstanding({ ndis, verifier }), []);
  await ndis.shutdown();
});

test('frames cross the team both ways exactly once: switch-independent teams receive on the primary only and drop their own frames heard back', async () => {
  const lab = await teamLab();
  const { ndis, raw, team, members, virt } = lab;
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  // The member with the team's address filters exactly; the other must take the team's address: promiscuous.
  const want = NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.BROADCAST;
  assert.equal(virt.adapter(members[0]!).packetFilter, want);
  assert.equal(virt.adapter(members[1]!).packetFilter, want | NDIS_PACKET_TYPE.PROMISCUOUS);
  const peerMac = mac(PEER_MAC);
  const other = mac('02-00-00-00-00-ee');
  const toTeam = Array.from({ length: 20 }, (_, i) => ethernet(team.mac!, peerMac, ETHERTYPE, new Uint8Array(46).fill(i)));
  const bcast = Array.from({ length: 5 }, (_, i) => ethernet(BROADCAST, peerMac, ETHERTYPE, new Uint8Array(46).fill(100 + i)));
  const elsewhere = Array.from({ length: 5 }, () => ethernet(other, peerMac, ETHERTYPE, new Uint8Array(46)));
  sendChain(ndis, p, [...toTeam, ...bcast, ...elsewhere]);
  await until(ndis, () => p.completed === 30);
  await settle(ndis);
  assert.equal(t.received.length, 25, 'each frame for the team arrives once');
  assert.deepEqual(t.received.map((f) => f[14]), [...toTeam, ...bcast].map((f) => f[14]), 'in order');
  assert.equal(team.counters.receiveDrops[TeamReceiveDrop.NotPrimary], 30, 'm2 heard everything (promiscuous) and dropped it');
  // The team sends a broadcast: the peer gets it once; the teammate that hears it on the hub drops it.
  const s = sniff(virt.hub('hub0'));
  sendChain(ndis, t, [ethernet(BROADCAST, team.mac!, ETHERTYPE, new Uint8Array(46).fill(7))]);
  await until(ndis, () => t.completed === 1 && p.received.length === 1);
  await settle(ndis);
  assert.equal(s.frames.length, 1);
  assert.equal(t.received.length, 25, 'the team does not receive its own broadcast');
  const heardBack = team.counters.receiveDrops[TeamReceiveDrop.OwnFrame]! + team.counters.receiveDrops[TeamReceiveDrop.NotPrimary]!;
  assert.equal(heardBack, 31, 'the member that did not send it heard it and dropped it');
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('a team with an address of its own: every member listens promiscuously and the team applies the packet filter itself', async () => {
  const lab = await teamLab({ team: { macAddress: '02-00-5e-00-00-01' } });
  const { ndis, raw, team, members, virt } = lab;
  assert.deepEqual([...lab.iface.currentMacAddress], [0x02, 0, 0x5e, 0, 0, 1]);
  for (const m of members) assert.ok((virt.adapter(m).packetFilter & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0);
  const t = raw.get('team0')!;
  const p = raw.get('peer')!;
  const peerMac = mac(PEER_MAC);
  sendChain(ndis, p, [
    ethernet(team.mac!, peerMac, ETHERTYPE, new Uint8Array(46).fill(1)),
    ethernet(mac('02-00-00-00-00-ee'), peerMac, ETHERTYPE, new Uint8Array(46).fill(2)),
    ethernet(mac('01-00-5e-00-00-fb'), peerMac, ETHERTYPE, new Uint8Array(46).fill(3)), // multicast, not joined
    ethernet(members[0]!.currentMacAddress, peerMac, ETHERTYPE, new Uint8Array(46).fill(4)), // a member's own address: not the team's
  ]);
  await until(ndis, () => p.completed === 4);
  await settle(ndis);
  assert.deepEqual(t.received.map((f) => f[14]), [1]);
  assert.equal(team.counters.receiveDrops[TeamReceiveDrop.Filtered], 3, 'the primary took all four and the filter kept one');
  // Joining the multicast group lets it in (the list goes to every member too).
  const group = mac('01-00-5e-00-00-fb');
  ndis.oidRequest(t.handle, NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList([group])));
  await settle(ndis);
  for (const m of members) assert.deepEqual(virt.adapter(m).multicastList.map((a) => [...a]), [[...group]]);
  sendChain(ndis, p, [ethernet(group, peerMac, ETHERTYPE, new Uint8Array(46).fill(5))]);
  await until(ndis, () => t.received.length === 2);
  assert.equal(t.received[1]![14], 5);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('load spreads over the members by flow hash, every flow stays on one member, and the members count what they sent', async () => {
  const lab = await teamLab({ memberCount: 3 });
  const { ndis, raw, team, virt } = lab;
  const t = raw.get('team0')!;
  const s = sniff(virt.hub('hub0'));
  const peerMac = mac(PEER_MAC);
  const flows = 600;
  // Three rounds: every flow sends three frames, in chains of 50.
  for (let round = 0; round < 3; round++) {
    const frames = Array.from({ length: flows }, (_, i) => udpFrame(peerMac, team.mac!, 0xc0000201, 0xc0000202, 10_000 + i, 5001));
    for (let i = 0; i < flows; i += 50) sendChain(ndis, t, frames.slice(i, i + 50));
    await until(ndis, () => t.completed === (round + 1) * flows);
  }
  const memberOf = new Map<number, Set<string>>();
  for (const f of s.frames) {
    const port = (f.bytes[34]! << 8) | f.bytes[35]!;
    let set = memberOf.get(port);
    if (set === undefined) memberOf.set(port, (set = new Set()));
    set.add(f.from);
  }
  assert.equal(memberOf.size, flows);
  for (const [port, set] of memberOf) assert.equal(set.size, 1, `flow ${port} left on ${[...set].join(' and ')}`);
  const perMember = ['m1', 'm2', 'm3'].map((m) => [...memberOf.values()].filter((set) => set.has(m)).length);
  // 128 table entries over three members: shares of 43, 43, 42; flows follow within a few percent.
  for (const n of perMember) assert.ok(n > flows * 0.27 && n < flows * 0.4, `flows per member: ${perMember.join(', ')}`);
  assert.deepEqual(team.memberStates().map((m) => m.share), [43, 43, 42]);
  for (const [i, m] of lab.members.entries()) assert.equal(virt.adapter(m).stats.ifHCOutUcastPkts, perMember[i]! * 3);
  assert.equal(lab.team.interfaces[0]!.counters.sendCompletes, flows * 3);
  assert.ok(t.completionStatuses.every((st) => st === 0));
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('static teams back to back on two wires: each side receives on every member, once', async () => {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier });
  const virt = new VirtualMiniportDriver(ndis);
  const raw = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', [], raw));
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const teamA = await lbfo.createTeam({ name: 'A', members: ['a1', 'a2'], teamingMode: TeamingMode.Static });
  const teamB = await lbfo.createTeam({ name: 'B', members: ['b1', 'b2'], teamingMode: TeamingMode.Static });
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  await virt.addAdapter('a1', { Hub: 'wire1' }, up);
  await virt.addAdapter('a2', { Hub: 'wire2' }, up);
  await virt.addAdapter('b1', { Hub: 'wire1' }, up);
  await virt.addAdapter('b2', { Hub: 'wire2' }, up);
  await lbfo.settled();
  await settle(ndis);
  const a = raw.get('A')!;
  const b = raw.get('B')!;
  const n = 400;
  sendChain(ndis, a, Array.from({ length: n }, (_, i) => udpFrame(teamB.mac!, teamA.mac!, 0xc0000201, 0xc0000202, 20_000 + i, 7)));
  sendChain(ndis, b, Array.from({ length: n }, (_, i) => udpFrame(teamA.mac!, teamB.mac!, 0xc0000202, 0xc0000201, 7, 30_000 + i)));
  await until(ndis, () => a.received.length === n && b.received.length === n && a.completed === n && b.completed === n);
  await settle(ndis);
  assert.equal(a.received.length, n);
  assert.equal(b.received.length, n);
  for (const team of [teamA, teamB]) {
    for (const m of team.boundMembers()) assert.ok(m.counters.receiveNbls > n / 4, `${m.adapterName} received ${m.counters.receiveNbls}`);
    assert.equal(team.counters.receiveDrops.reduce((x, y) => x + y, 0), 0);
  }
  assert.deepEqual(outstanding({ ndis, verifier }), []);
  await ndis.shutdown();
});

test('a standby member carries nothing while another member is active, and everything when none is', async () => {
  const lab = await teamLab({ team: { standby: 'm2' } });
  const { ndis, raw, team, virt, members } = lab;
  const t = raw.get('team0')!;
  assert.deepEqual(team.memberStates().map((m) => [m.adapter, m.active, m.reason]), [['m1', true, 0], ['m2', false, MemberInactiveReason.Standby]]);
  const peerMac = mac(PEER_MAC);
  const burst = (base: number): Uint8Array[] => Array.from({ length: 64 }, (_, i) => udpFrame(peerMac, team.mac!, 1, 2, base + i, 9));
  sendChain(ndis, t, burst(1000));
  await until(ndis, () => t.completed === 64);
  assert.equal(virt.adapter(members[1]!).stats.ifHCOutUcastPkts, 0);
  virt.adapter(members[0]!).setLink(false);
  assert.equal(team.primary?.adapterName, 'm2');
  sendChain(ndis, t, burst(2000));
  await until(ndis, () => t.completed === 128);
  assert.equal(virt.adapter(members[1]!).stats.ifHCOutUcastPkts, 64);
  virt.adapter(members[0]!).setLink(true);
  assert.equal(team.primary?.adapterName, 'm1');
  assert.equal(team.counters.failbacks, 1);
  assert.deepEqual(outstanding(lab), []);
  await ndis.shutdown();
});

test('configuration mistakes are refused with a message that says what is wrong', async () => {
  const ndis = new Ndis();
  const virt = new VirtualMiniportDriver(ndis);
  await virt.addAdapter('nic');
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  await lbfo.createTeam({ name: 't', members: ['x1', 'x2'] });
  const bad: [Parameters<TeamingDriver['createTeam']>[0], RegExp][] = [
    [{ name: 't', members: ['y'] }, /already used/],
    [{ name: 'nic', members: ['y'] }, /already used/],
    [{ name: 'u', members: [] }, /1 to 32 member/],
    [{ name: 'u', members: ['y', 'y'] }, /twice/],
    [{ name: 'u', members: ['x1'] }, /already a member of team 't'/],
    [{ name: 'u', members: ['t'] }, /is a team interface of this driver/],
    [{ name: 'u', members: [''] }, /needs an adapter name/],
    [{ name: 'u', members: ['y'], standby: 'z' }, /standby adapter 'z' is not one of its members/],
    [{ name: 'u', members: ['y'], standby: 'y' }, /at least one other member/],
    [{ name: 'u', members: ['y'], macAddress: '03-00-00-00-00-01' }, /not a unicast MAC/],
    [{ name: 'u', members: ['y'], teamingMode: 7 }, /unknown TeamingMode/],
    [{ name: 'u', members: ['y'], interfaces: [{ name: 'v', vlanId: 4095 }] }, /VLAN id 4095/],
    [{ name: 'u', members: ['y'], interfaces: [{ name: 'v', vlanId: 5 }, { name: 'w', vlanId: 5 }] }, /already served by 'v'/],
    [{ name: 'u', members: ['y'], interfaces: [{ name: 'v', addresses: ['not-an-ip'] }] }, /not an IPv4 or IPv6/],
  ];
  for (const [config, message] of bad) await assert.rejects(lbfo.createTeam(config), message, JSON.stringify(config));
  await assert.rejects(lbfo.addTeamMember('t', 'x1'), /already a member/);
  await assert.rejects(lbfo.removeTeamMember('t', 'nope'), /not a member/);
  assert.throws(() => lbfo.team('nope'), /no team named 'nope'/);
  await ndis.shutdown();
});

test('team configuration read from JSON: NIC Teaming names or numbers, and errors that name the field', () => {
  const c = parseTeamConfig(JSON.parse('{"name":"t","members":["a","b"],"standby":"b","teamingMode":"static","loadBalancingAlgorithm":"IPAddresses","vlanTagging":"InFrame","macAddress":"02-00-5e-00-00-01","announce":false,"interfaces":[{"name":"t"},{"name":"t-v10","vlanId":10,"addresses":["192.0.2.1"],"configuration":{"MTU":1500}}]}'));
  assert.deepEqual(c, {
    name: 't',
    members: ['a', 'b'],
    standby: 'b',
    teamingMode: TeamingMode.Static,
    loadBalancingAlgorithm: LoadBalancingAlgorithm.IPAddresses,
    vlanTagging: VlanTagging.InFrame,
    macAddress: '02-00-5e-00-00-01',
    announce: false,
    interfaces: [{ name: 't' }, { name: 't-v10', vlanId: 10, addresses: ['192.0.2.1'], configuration: { MTU: 1500 } }],
  });
  assert.equal(parseTeamConfig({ name: 't', members: ['a'], teamingMode: 1 }).teamingMode, TeamingMode.Static);
  const bad: [unknown, RegExp][] = [
    [null, /an object/],
    [{ name: 't', members: ['a'], colour: 'red' }, /unknown field "colour"/],
    [{ members: ['a'] }, /"name" must be/],
    [{ name: 't', members: 'a' }, /"members" must be a list of strings/],
    [{ name: 't', members: ['a'], teamingMode: 'Lacp' }, /"teamingMode" must be one of SwitchIndependent, Static/],
    [{ name: 't', members: ['a'], loadBalancingAlgorithm: 9 }, /"loadBalancingAlgorithm" must be one of/],
    [{ name: 't', members: ['a'], interfaces: [{ name: 'x', vlan: 3 }] }, /interface 0: unknown field "vlan"/],
    [{ name: 't', members: ['a'], interfaces: [{ name: 'x', configuration: { a: [] } }] }, /"configuration" must be/],
    [{ name: 't', members: ['a'], announce: 'yes' }, /"announce" must be true or false/],
  ];
  for (const [v, message] of bad) assert.throws(() => parseTeamConfig(v), message);
});
