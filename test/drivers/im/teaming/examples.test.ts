import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ndis, type MiniportBlock } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TcpIp } from '../../../../src/drivers/protocol/tcpip/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, TeamReceiveDrop, parseTeamConfig, type Team } from '../../../../src/drivers/im/index.js';
import { fullVerifier, outstanding } from './helpers.js';

/**
 * The teaming topologies of examples/ (the `ndis up` format with a `teams` list per host: each
 * team names adapters of its host as members, and its interfaces carry the IP configuration an
 * adapter would), built the way a topology loader would build them: virtual adapters on their
 * hubs (team members with the team-member UpperRange), the teaming driver, one tcpip instance per
 * host bound to its team interfaces and to its adapters that are not members.
 */
interface IpFields {
  ip?: string[];
  ip6?: string[];
  gw?: string;
}
interface ExampleAdapter extends IpFields {
  name: string;
  wire: string;
  mac: string;
}
interface ExampleHost {
  name: string;
  adapters: ExampleAdapter[];
  teams?: Record<string, unknown>[];
  serve?: string[];
}
interface Example {
  description: string;
  hosts: ExampleHost[];
  verify?: string;
}

function load(name: string): Example {
  return JSON.parse(readFileSync(new URL(`../../../../../examples/${name}`, import.meta.url), 'utf8')) as Example;
}

interface Built {
  ndis: Ndis;
  verifier: ReturnType<typeof fullVerifier>;
  virt: VirtualMiniportDriver;
  lbfo: TeamingDriver;
  stacks: Map<string, TcpIp>;
  adapters: Map<string, MiniportBlock>;
  teams: Map<string, Team>;
}

async function build(example: Example): Promise<Built> {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier });
  const virt = new VirtualMiniportDriver(ndis);
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const stacks = new Map<string, TcpIp>();
  const adapters = new Map<string, MiniportBlock>();
  const teams = new Map<string, Team>();
  const ipOf = new Map<string, Map<string, IpFields>>();
  for (const host of example.hosts) {
    const mine = new Map<string, IpFields>();
    ipOf.set(host.name, mine);
    const members = new Set<string>();
    const bindTo: string[] = [];
    for (const t of host.teams ?? []) {
      // The interfaces' IP fields are the stack's; the rest is the team's.
      const interfaces = (t['interfaces'] as (Record<string, unknown> & IpFields)[] | undefined)?.map((i) => {
        const { ip, ip6, gw, ...rest } = i;
        mine.set(String(i['name']), { ...(ip !== undefined ? { ip } : {}), ...(ip6 !== undefined ? { ip6 } : {}), ...(gw !== undefined ? { gw } : {}) });
        bindTo.push(String(i['name']));
        return rest;
      });
      const cfg = parseTeamConfig({ ...t, ...(interfaces !== undefined ? { interfaces } : {}) }, `${host.name} team`);
      for (const m of cfg.members) members.add(m);
      if (cfg.interfaces === undefined) bindTo.push(cfg.name);
      teams.set(cfg.name, await lbfo.createTeam(cfg));
    }
    for (const a of host.adapters) {
      if (!members.has(a.name)) {
        bindTo.push(a.name);
        mine.set(a.name, a);
      }
    }
    const stack = new TcpIp(ndis, { name: `tcpip-${host.name}`, adapters: bindTo, tcp: { minRtoMs: 200 } });
    await stack.register();
    stacks.set(host.name, stack);
    for (const a of host.adapters) {
      const hub = a.wire.replace(/^hub:/, '');
      const m = await virt.addAdapter(a.name, { Hub: hub, NetworkAddress: a.mac.replace(/:/g, '-') }, members.has(a.name) ? { upperRange: [TEAM_MEMBER_UPPER_RANGE] } : {});
      adapters.set(a.name, m);
    }
  }
  await lbfo.settled();
  for (const host of example.hosts) {
    const stack = stacks.get(host.name)!;
    for (const [name, ip] of ipOf.get(host.name)!) {
      if (ip.ip === undefined && ip.ip6 === undefined) continue;
      stack.configure(name, { ...(ip.ip !== undefined ? { ipv4: ip.ip } : {}), ...(ip.ip6 !== undefined ? { ipv6: ip.ip6 } : {}), ...(ip.gw !== undefined ? { gateway4: ip.gw } : {}) });
      await stack.ready(name);
    }
  }
  return { ndis, verifier, virt, lbfo, stacks, adapters, teams };
}

test('examples/teaming.json: h2 reaches h1 on its team interface over IPv4 and IPv6, before and after a member\'s cable is pulled', async () => {
  const b = await build(load('teaming.json'));
  const h2 = b.stacks.get('h2')!;
  for (const to of ['10.0.0.1', 'fd00::1']) assert.ok((await h2.ping(to)) >= 0, `ping ${to}`);
  const team = b.teams.get('h1-team0')!;
  assert.equal(team.primary?.adapterName, 'h1-eth0');
  b.virt.adapter(b.adapters.get('h1-eth0')!).setLink(false);
  assert.equal(team.primary?.adapterName, 'h1-eth1');
  for (const to of ['10.0.0.1', 'fd00::1']) assert.ok((await h2.ping(to)) >= 0, `ping ${to} after the failover`);
  assert.ok(team.counters.announcements >= 2, 'the addresses were announced on h1-eth1');
  await b.ndis.sleep(50);
  assert.deepEqual(outstanding(b), []);
  await b.ndis.shutdown();
});

test('examples/teaming-vlans.json: each VLAN host reaches h1 on its VLAN; frames of the other VLAN find no interface', async () => {
  const b = await build(load('teaming-vlans.json'));
  assert.ok((await b.stacks.get('h2')!.ping('10.10.0.1')) >= 0);
  assert.ok((await b.stacks.get('h3')!.ping('10.20.0.1')) >= 0);
  assert.ok((await b.stacks.get('h1')!.ping('10.20.0.3')) >= 0);
  // h2 heard VLAN 20 traffic on the trunk and dropped it (no interface), and h3 VLAN 10's.
  assert.ok(b.teams.get('h2-vlans')!.counters.receiveDrops[TeamReceiveDrop.NoInterface]! > 0);
  assert.ok(b.teams.get('h3-vlans')!.counters.receiveDrops[TeamReceiveDrop.NoInterface]! > 0);
  await b.ndis.sleep(50);
  assert.deepEqual(outstanding(b), []);
  await b.ndis.shutdown();
});

test('examples/teaming-static.json: two static teams back to back keep talking when one cable goes', async () => {
  const b = await build(load('teaming-static.json'));
  const s2 = b.stacks.get('s2')!;
  assert.ok((await s2.ping('192.168.50.1')) >= 0);
  for (const name of ['s1-eth0', 's2-eth0']) b.virt.adapter(b.adapters.get(name)!).setLink(false);
  assert.ok((await s2.ping('192.168.50.1')) >= 0);
  for (const t of b.teams.values()) assert.deepEqual(t.memberStates().map((m) => m.active), [false, true]);
  await b.ndis.sleep(50);
  assert.deepEqual(outstanding(b), []);
  await b.ndis.shutdown();
});
