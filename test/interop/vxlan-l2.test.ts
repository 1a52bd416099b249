/**
 * VXLAN against the Linux kernel, at layer 2: a kernel vxlan device (dstport 4789) in one network
 * namespace, an ndis-ts host (VXLAN miniport, capture filter, responder protocol) in another,
 * joined by a veth underlay. The kernel pings ndis-ts over IPv4 and IPv6, ndis-ts resolves the
 * kernel with ARP, garbage datagrams are counted, and tshark reads the capture. Both IPv4 and
 * IPv6 underlays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WireReason } from '../../src/wire/index.js';
import { JsonChild } from './lib/child.js';
import { Netns, haveCommand, netnsSkipReason, vethPair } from './lib/netns.js';
import { tshark, tsharkSkipReason } from './lib/tshark.js';
import type { L2HostConfig } from './lib/l2-host.js';

const hostScript = fileURLToPath(new URL('./lib/l2-host.js', import.meta.url));
const skipReason = netnsSkipReason() ?? (haveCommand('ping') ? null : 'ping is not installed (iputils-ping)') ?? tsharkSkipReason();
const NDIS_MAC = '02:00:00:00:42:02';

interface SkipContext {
  skip(message?: string): void;
}

function cannotRun(t: SkipContext): boolean {
  if (skipReason === null) return false;
  console.log(`skipped: ${skipReason}`);
  t.skip(skipReason);
  return true;
}

function startHost(ns: Netns, config: L2HostConfig): JsonChild {
  return new JsonChild(ns.spawn(process.execPath, [hostScript, JSON.stringify(config)]));
}

/** Sends a UDP datagram of `hex` bytes from inside `ns` (python3's socket module). */
async function sendUdp(ns: Netns, family: 4 | 6, address: string, port: number, hex: string): Promise<void> {
  const af = family === 4 ? 'AF_INET' : 'AF_INET6';
  const r = await ns.exec('python3', ['-c', `import socket; s=socket.socket(socket.${af}, socket.SOCK_DGRAM); s.sendto(bytes.fromhex('${hex}'), ('${address}', ${port}))`]);
  assert.equal(r.code, 0, r.stderr);
}

for (const underlay of [4, 6] as const) {
  test(`IPv${underlay} underlay: the kernel pings ndis-ts (v4 and v6), ndis-ts resolves the kernel, garbage is counted, tshark reads the capture`, async (t) => {
    if (cannotRun(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'ndis-vxlan-'));
    const linux = Netns.create('vxl');
    const host = Netns.create('vxh');
    let child: JsonChild | null = null;
    try {
      const [la, ha] = underlay === 4 ? ['10.99.0.1', '10.99.0.2'] : ['fd99::1', 'fd99::2'];
      const { devA } = vethPair(linux, underlay === 4 ? `${la}/24` : `${la}/64`, host, underlay === 4 ? `${ha}/24` : `${ha}/64`);
      linux.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', ha, 'local', la, 'dev', devA);
      linux.ip('addr', 'add', '192.168.42.1/24', 'dev', 'vx0');
      linux.ip('-6', 'addr', 'add', 'fd42::1/64', 'dev', 'vx0', 'nodad');
      linux.ip('link', 'set', 'vx0', 'up');
      const kernelMac = linux.linkAddress('vx0');
      const capture = join(dir, 'inner.pcapng');
      child = startHost(host, {
        vxlan: { vni: 42, remotes: [la], local: underlay === 4 ? `${ha}:4789` : `[${ha}]:4789` },
        mac: NDIS_MAC,
        ip4: '192.168.42.2',
        ip6: 'fd42::2',
        capture,
      });
      const ready = await child.waitEvent('ready');
      assert.equal(ready['mtu'], underlay === 4 ? 1450 : 1430);

      const v4 = await linux.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '192.168.42.2']);
      assert.equal(v4.code, 0, `ping 192.168.42.2: ${v4.stdout}${v4.stderr}`);
      assert.match(v4.stdout, /3 received/);
      const v6 = await linux.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd42::2']);
      assert.equal(v6.code, 0, `ping fd42::2: ${v6.stdout}${v6.stderr}`);
      assert.match(v6.stdout, /3 received/);
      // A large ping still fits the inner MTU (1450 - 28 bytes of IP and ICMP headers).
      const big = await linux.exec('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', String((underlay === 4 ? 1450 : 1430) - 28), '192.168.42.2']);
      assert.equal(big.code, 0, `large ping: ${big.stdout}${big.stderr}`);

      child.send('arp 192.168.42.1');
      const arp = await child.waitEvent('arp-reply');
      assert.equal(arp['mac'], kernelMac);
      assert.equal(arp['to'], NDIS_MAC);

      // Garbage to the VXLAN port: too short, I flag clear, another VNI.
      await sendUdp(linux, underlay, ha, 4789, '0102');
      await sendUdp(linux, underlay, ha, 4789, `0000000000002a00${'ff'.repeat(14)}`);
      await sendUdp(linux, underlay, ha, 4789, `08000000000bad00${'ff'.repeat(14)}`);

      child.send('stop');
      const stats = await child.waitEvent('stats');
      assert.equal(await child.exit(), 0, child.stderr);
      const responder = stats['responder'] as Record<string, number>;
      assert.equal(responder['echoReplies'], 4);
      assert.equal(responder['echo6Replies'], 3);
      assert.ok(responder['arpReplies']! >= 1);
      assert.ok(responder['neighborAdvertisements']! >= 1);
      const garbage = stats['garbage'] as number[];
      assert.equal(garbage[WireReason.Truncated], 1);
      assert.equal(garbage[WireReason.VxlanNoVni], 1);
      assert.equal(stats['wrongVni'], 1);
      const fdb = stats['fdb'] as { mac: string; address: string }[];
      assert.deepEqual(fdb.map((e) => [e.mac, e.address]), [[kernelMac, la]], 'the kernel device was learned behind its VTEP');
      assert.equal(stats['captureError'], null);

      const r = await tshark(capture, ['frame.interface_name', 'eth.type']);
      assert.equal(r.frames, stats['captured']);
      assert.ok(r.frames >= 20, `${r.frames} frames captured`);
      assert.equal(r.malformed, 0);
      assert.equal(r.stderr, '');
    } finally {
      child?.kill();
      linux.remove();
      host.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a multicast group as the flood list (RFC 7348 4.2): the kernel floods to the group, ndis-ts joins it and learns the kernel', async (t) => {
  if (cannotRun(t)) return;
  const linux = Netns.create('vxm');
  const host = Netns.create('vxn');
  let child: JsonChild | null = null;
  try {
    const { devA } = vethPair(linux, '10.97.0.1/24', host, '10.97.0.2/24');
    linux.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '77', 'dstport', '4789', 'group', '239.7.7.7', 'local', '10.97.0.1', 'dev', devA);
    linux.ip('addr', 'add', '192.168.77.1/24', 'dev', 'vx0');
    linux.ip('link', 'set', 'vx0', 'up');
    const kernelMac = linux.linkAddress('vx0');
    child = startHost(host, { vxlan: { vni: 77, remotes: ['239.7.7.7'], local: '10.97.0.2:4789' }, mac: NDIS_MAC, ip4: '192.168.77.2' });
    await child.waitEvent('ready');
    const ping = await linux.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '192.168.77.2']);
    assert.equal(ping.code, 0, `ping over the multicast group: ${ping.stdout}${ping.stderr}`);
    // ndis-ts floods its own ARP request to the group; the kernel answers it directly.
    child.send('arp 192.168.77.1');
    assert.equal((await child.waitEvent('arp-reply'))['mac'], kernelMac);
    child.send('stop');
    const stats = await child.waitEvent('stats');
    assert.equal(await child.exit(), 0, child.stderr);
    const fdb = stats['fdb'] as { mac: string; address: string }[];
    assert.deepEqual(fdb.map((e) => [e.mac, e.address]), [[kernelMac, '10.97.0.1']], 'learned behind the unicast VTEP address');
    assert.ok((stats['inBroadcast'] as number) >= 1, 'the kernel ARP request arrived through the group');
    assert.equal((stats['responder'] as Record<string, number>)['echoReplies'], 3);
  } finally {
    child?.kill();
    linux.remove();
    host.remove();
  }
});
