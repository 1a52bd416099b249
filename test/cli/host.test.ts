/**
 * `ndis host`: usage and environment errors (exit 2 with what to do), a host on a VXLAN wire over
 * loopback that starts, reports where it is reachable and stops on "quit" or SIGTERM, and a host
 * with addresses and services coming up. The host against Linux peers is in
 * test/interop/host.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JsonChild } from '../interop/lib/child.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function host(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, 'host', ...args], { encoding: 'utf8', timeout: 20_000 });
}

test('usage errors exit 2 and say what is wrong', () => {
  let r = host();
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--wire is required/);
  r = host('--wire', 'hub:lan0');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--wire must be vxlan:<remote-ip>\[:port\] or tap:<ifname>/);
  r = host('--wire', 'vxlan:10.0.0.1', '--ip', '10.0.0.2');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--ip\[0\]: '10\.0\.0\.2' is not an IPv4 address with a prefix length/);
  r = host('--wire', 'vxlan:10.0.0.1', '--vni', 'x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--vni takes an integer/);
  r = host('--wire', 'vxlan:10.0.0.1', '--serve', 'telnet');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown service 'telnet'/);
  r = host('--wire', 'vxlan:10.0.0.1', '--verify', 'max');
  assert.equal(r.status, 2);
  r = host('--frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: ndis host/);
  r = host('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--wire vxlan:<remote-ip>\[:port\]/);
});

test('a VXLAN port already in use, or an address not on this machine, is an environment error with advice', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const first = new JsonChild(spawn(process.execPath, [cli, 'host', '--wire', 'vxlan:127.0.0.9', '--local', `127.0.0.7:${port}`, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  try {
    await first.waitEvent('running');
    let r = host('--wire', 'vxlan:127.0.0.9', '--local', `127.0.0.7:${port}`);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`cannot bind UDP 127\\.0\\.0\\.7 port ${port}: EADDRINUSE \\(another process, or a Linux vxlan device`));
    r = host('--wire', 'vxlan:127.0.0.9', '--local', '192.0.2.77:4789');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot bind UDP 192\.0\.2\.77 port 4789: EADDRNOTAVAIL \(the address is not configured on this host\)/);
    first.send('quit');
    assert.equal(await first.exit(), 0);
  } finally {
    first.kill();
  }
});

test('a layer-2 host on VXLAN over loopback: where it is reachable, stops on quit and on SIGTERM', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const start = (): JsonChild =>
    new JsonChild(spawn(process.execPath, [cli, 'host', '--wire', `vxlan:127.0.0.9:${port}`, '--local', `127.0.0.8:${port}`, '--vni', '4321', '--mac', '02:00:00:00:77:77', '--json'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let child = start();
  try {
    const reach = await child.waitEvent('reachable');
    assert.equal(reach['adapter'], 'vxlan0');
    assert.equal(reach['mac'], '02:00:00:00:77:77');
    assert.equal(reach['where'], `VXLAN VNI 4321, local 127.0.0.8:${port}, remote 127.0.0.9:${port}`);
    await child.waitEvent('running');
    child.send('quit');
    const stopped = await child.waitEvent('stopped');
    assert.equal(stopped['reason'], 'quit');
    assert.equal(await child.exit(), 0, child.stderr);
  } finally {
    child.kill();
  }
  child = start();
  try {
    await child.waitEvent('running');
    child.proc.kill('SIGTERM');
    assert.equal((await child.waitEvent('stopped'))['reason'], 'SIGTERM');
    assert.equal(await child.exit(), 0, child.stderr);
  } finally {
    child.kill();
  }
});

test('a host with addresses and services: addresses ready, services listening, reachable', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = ['host', '--wire', `vxlan:127.0.0.9:${port}`, '--local', `127.0.0.8:${port}`, '--ip', '10.200.0.2/24', '--ip6', 'fd00:200::2/64', '--serve', 'echo,http', '--json'];
  const child = new JsonChild(spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
  try {
    const ready = await child.waitEvent('addresses-ready', 30_000);
    assert.deepEqual(ready['addresses'], ['10.200.0.2/24', 'fd00:200::2/64']);
    const serving = await child.waitCount('serving', 2);
    assert.deepEqual(serving.map((s) => [s['service'], s['port']]), [['echo', 7], ['http', 80]]);
    assert.deepEqual((await child.waitEvent('reachable'))['services'], ['echo:7', 'http:80']);
    child.send('quit');
    assert.equal((await child.waitEvent('stopped'))['violations'], 0);
    assert.equal(await child.exit(), 0, child.stderr);
  } finally {
    child.kill();
  }
});
