/**
 * `ndis up`: topology files checked with messages that name the bad field, every example in
 * examples/ valid, a layer-2 network (no IP needed) run and stopped from standard input with its
 * capture readable, two hosts on a hub pinging and fetching the status page through the console,
 * and the router example forwarding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTopology, TopologyError } from '../../src/cli/topology.js';
import { readCaptureFile } from '../../src/pcap/index.js';
import { JsonChild } from '../interop/lib/child.js';
import { tsharkInterface, tsharkSkipReason } from '../interop/lib/tshark.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

function up(dir: string, topology: unknown, ...args: string[]): JsonChild {
  const file = join(dir, 'topology.json');
  writeFileSync(file, JSON.stringify(topology));
  return new JsonChild(spawn(process.execPath, [cli, 'up', file, '--json', ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] }));
}

test('bad topologies are refused with the path of the bad field', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /topology.hosts must be a non-empty list/],
    [{ hosts: [{ name: 'a' }] }, /hosts\[0\]\.adapters must be a non-empty list/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'ethernet:x' }] }] }, /hosts\[0\]\.adapters\[0\]\.wire: unknown wire 'ethernet:x'/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:' }] }] }, /needs a hub name/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x', ip: ['10.0.0.1'] }] }] }, /ip\[0\]: '10\.0\.0\.1' is not an IPv4 address with a prefix length/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x', ip6: ['10.0.0.1/24'] }] }] }, /ip6\[0\]: .* is not an IPv6 address/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x', vni: 3 }] }] }, /vni, local, remotes and underlayMtu apply only to vxlan wires/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'vxlan:999.1.1.1' }] }] }, /not an IPv4 or IPv6 address/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'vxlan:10.0.0.1', vni: 1 << 24 }] }] }, /vni must be an integer from 0 to 16777215/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x', colour: 'red' }] }] }, /unknown field 'colour'/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x' }] }, { name: 'a', adapters: [{ wire: 'hub:x' }] }] }, /host 'a' is defined twice/],
    [{ hosts: [{ name: 'a', serve: ['ftp'], adapters: [{ wire: 'hub:x' }] }] }, /unknown service 'ftp'/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x', mac: 'zz' }] }] }, /not a MAC address/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x' }] }], verify: 'paranoid' }, /verify must be/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x' }], teams: [{ name: 't', members: ['b-eth0'] }] }] }, /teams\[0\]\.members: 'b-eth0' is not an adapter of host a/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x' }], teams: [{ name: 't', members: ['a-eth0'], teamingMode: 'Lacp' }] }] }, /teamingMode" must be one of/],
    [{ hosts: [{ name: 'a', adapters: [{ wire: 'hub:x' }], teams: [{ name: 't', members: ['a-eth0'], interfaces: [{ name: 'a-eth0' }] }] }] }, /interface name 'a-eth0' is already used/],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => checkTopology(value), (e: unknown) => e instanceof TopologyError && message.test(e.message), `${JSON.stringify(value)} -> ${message}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-up-'));
  try {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "hosts": [ ');
    const r = spawnSync(process.execPath, [cli, 'up', file], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not JSON/);
    assert.equal(spawnSync(process.execPath, [cli, 'up'], { encoding: 'utf8' }).status, 2);
    assert.match(spawnSync(process.execPath, [cli, 'up', join(dir, 'none.json')], { encoding: 'utf8' }).stderr, /cannot read .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every example topology is valid', () => {
  const files = readdirSync(examples).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 4, `examples: ${files.join(', ')}`);
  for (const f of files) {
    const r = spawnSync(process.execPath, [cli, 'up', join(examples, f), '--check', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
  }
});

test('a layer-2 network runs, reports where each adapter is, stops on "quit", and leaves a readable capture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-up-'));
  try {
    const child = up(dir, { hosts: [{ name: 'a', adapters: [{ wire: 'hub:lan0', mac: '02:00:00:00:0c:0a' }] }, { name: 'b', adapters: [{ wire: 'hub:lan0' }] }], filters: ['passthrough'], capture: 'l2.pcapng' });
    try {
      const reach = await child.waitCount('reachable', 2);
      assert.deepEqual(reach.map((e) => [e['host'], e['adapter'], e['where']]), [['a', 'a-eth0', 'virtual hub lan0'], ['b', 'b-eth0', 'virtual hub lan0']]);
      assert.equal(reach[0]!['mac'], '02:00:00:00:0c:0a');
      await child.waitEvent('running');
      child.send('a ping 10.0.0.2');
      const err = await child.waitEvent('command-error');
      assert.match(String(err['message']), /host a has no IP stack/);
      child.send('quit');
      const stopped = await child.waitEvent('stopped');
      assert.equal(stopped['violations'], 0);
      assert.equal(await child.exit(), 0, child.stderr);
    } finally {
      child.kill();
    }
    const c = readCaptureFile(join(dir, 'l2.pcapng'));
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.reader.interfaces.map((i) => i.name), ['a-eth0', 'b-eth0']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two hosts on a hub ping and fetch each other through the console; the router example forwards', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-up-'));
  try {
    const child = new JsonChild(spawn(process.execPath, [cli, 'up', join(examples, 'two-hosts.json'), '--json'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      await child.waitEvent('running', 30_000);
      child.send('h2 ping 10.0.0.1 2');
      child.send('h2 ping fd00::1');
      child.send('h2 fetch http://10.0.0.1/');
      child.send('h2 udp 10.0.0.1 7 over-the-hub');
      const pings = await child.waitCount('ping', 3);
      assert.deepEqual(pings.map((p) => p['address']), ['10.0.0.1', '10.0.0.1', 'fd00::1']);
      const fetched = await child.waitEvent('fetched');
      assert.equal(fetched['status'], 200);
      assert.match(String(fetched['type']), /text\/html/);
      assert.equal((await child.waitEvent('udp-reply'))['text'], 'over-the-hub');
      const connection = await child.waitEvent('connection');
      assert.equal(connection['host'], 'h1');
      assert.equal(connection['service'], 'http');
      const neighbors = await child.waitCount('neighbor', 2);
      assert.ok(neighbors.some((n) => n['host'] === 'h2' && n['address'] === '10.0.0.1' && n['mac'] === '02:00:5e:00:01:01'));
      child.send('quit');
      assert.equal((await child.waitEvent('stopped'))['violations'], 0);
      assert.equal(await child.exit(), 0, child.stderr);
    } finally {
      child.kill();
    }
    if (tsharkSkipReason() === null) {
      // Each adapter's frames on their own: one file holds both ends of every connection.
      const h1 = await tsharkInterface(join(dir, 'two-hosts.pcapng'), 'h1-eth0', join(dir, 'h1.pcapng'), ['_ws.col.Protocol']);
      const h2 = await tsharkInterface(join(dir, 'two-hosts.pcapng'), 'h2-eth0', join(dir, 'h2.pcapng'), ['_ws.col.Protocol']);
      assert.equal(h1.malformed + h2.malformed, 0);
      assert.equal(h1.frames + h2.frames, readCaptureFile(join(dir, 'two-hosts.pcapng')).frames.length);
      const protocols = new Set(h1.rows.map((x) => x[0]));
      for (const p of ['ARP', 'ICMP', 'ICMPv6', 'TCP', 'HTTP', 'ECHO']) assert.ok(protocols.has(p), `${p} in the capture (${[...protocols].join(', ')})`);
    }
    const router = new JsonChild(spawn(process.execPath, [cli, 'up', join(examples, 'router.json'), '--json'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      await router.waitEvent('running', 30_000);
      router.send('left ping 10.2.0.10');
      router.send('left fetch http://10.2.0.10/status.json');
      assert.equal((await router.waitEvent('ping'))['address'], '10.2.0.10');
      const f = await router.waitEvent('fetched');
      assert.equal(f['status'], 200);
      assert.equal(f['type'], 'application/json');
      router.send('quit');
      assert.equal(await router.exit(), 0, router.stderr);
    } finally {
      router.kill();
    }
    assert.ok(readCaptureFile(join(dir, 'router.pcapng')).reader.interfaces.length === 2, 'the router captured both of its adapters');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a team topology: VLAN interfaces over teams keep the two VLANs apart, IP lives on the team interfaces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-up-'));
  try {
    const child = new JsonChild(spawn(process.execPath, [cli, 'up', join(examples, 'teaming-vlans.json'), '--json'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      await child.waitEvent('running', 30_000);
      const reach = child.events.filter((e) => e.event === 'reachable' && e['host'] === 'h1').map((e) => [e['adapter'], e['where']]);
      assert.deepEqual(reach.slice(2), [['h1-vlan10', 'team h1-team0 over h1-eth0, h1-eth1'], ['h1-vlan20', 'team h1-team0 over h1-eth0, h1-eth1']]);
      child.send('h2 ping 10.10.0.1');
      child.send('h3 ping 10.20.0.1');
      assert.deepEqual((await child.waitCount('ping', 2)).map((p) => [p['host'], p['address']]), [['h2', '10.10.0.1'], ['h3', '10.20.0.1']]);
      child.send('h2 ping 10.20.0.3');
      const failed = await child.waitEvent('ping-failed', 20_000);
      assert.equal(failed['address'], '10.20.0.3', 'VLAN 10 does not reach VLAN 20');
      child.send('quit');
      assert.equal((await child.waitEvent('stopped'))['violations'], 0, 'no violation at the full verifier level');
      assert.equal(await child.exit(), 0, child.stderr);
    } finally {
      child.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
