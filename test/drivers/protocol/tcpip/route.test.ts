// Routing: longest-prefix match in the route table, and three hosts on two hubs (A on h1, router
// R on h1 and h2 with forwarding, C on h2): pings across the router, TTL exceeded, network
// unreachable from the router, forwarding switched off, and path MTU discovery through a router
// whose second link has a smaller MTU (TCP completes; UDP is fragmented by the router or, for
// IPv6, by the sender after packet too big).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ndis } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { PingError, Route, RouteTable, TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { parseIp } from '../../../../src/wire/address.js';
import { V4_MAPPED_BITS } from '../../../../src/drivers/protocol/tcpip/addresses.js';

void test('route table: longest prefix wins, then the lower metric; IPv4 and IPv6 routes never match each other', () => {
  const fakeIface = (name: string) => ({ name, canSend: true }) as never;
  const a = fakeIface('a');
  const b = fakeIface('b');
  const t = new RouteTable();
  const p = (x: string) => parseIp(x)!;
  t.add(new Route(p('0.0.0.0'), V4_MAPPED_BITS, a, p('10.0.0.254'), 256, 'static'));
  t.add(new Route(p('10.0.0.0'), V4_MAPPED_BITS + 8, a, null, 256, 'connected'));
  t.add(new Route(p('10.1.0.0'), V4_MAPPED_BITS + 16, b, null, 256, 'connected'));
  t.add(new Route(p('10.1.2.0'), V4_MAPPED_BITS + 24, a, p('10.0.0.1'), 10, 'static'));
  t.add(new Route(p('10.1.2.0'), V4_MAPPED_BITS + 24, b, p('10.1.0.1'), 5, 'static'));
  t.add(new Route(p('::'), 0, b, p('fe80::1'), 256, 'static'));
  const via = (x: string) => {
    const r = t.lookup(p(x));
    return r === null ? null : `${r.prefixText} ${r.iface.name}`;
  };
  assert.equal(via('10.1.2.3'), '10.1.2.0/24 b', 'the /24 with metric 5');
  assert.equal(via('10.1.3.3'), '10.1.0.0/16 b');
  assert.equal(via('10.9.9.9'), '10.0.0.0/8 a');
  assert.equal(via('192.0.2.1'), '0.0.0.0/0 a');
  assert.equal(via('2001:db8::1'), '::/0 b');
  const gen = t.generation;
  assert.equal(t.removeWhere((r) => r.prefixLength === 0), 1, 'the IPv4 default is /96 in mapped form; only ::/0 has length 0');
  assert.ok(t.generation > gen);
  assert.equal(via('2001:db8::1'), null);
  assert.equal(via('192.0.2.1'), '0.0.0.0/0 a');
});

interface Net3 {
  ndis: Ndis;
  A: TcpIp;
  R: TcpIp;
  C: TcpIp;
}

async function threeHosts(r2Mtu = 1500): Promise<Net3> {
  const ndis = new Ndis({ seed: 21 });
  const virt = new VirtualMiniportDriver(ndis);
  await virt.addAdapter('a1', { Hub: 'h1', NetworkAddress: '02-00-00-00-01-01' });
  await virt.addAdapter('r1', { Hub: 'h1', NetworkAddress: '02-00-00-00-01-fe' });
  await virt.addAdapter('r2', { Hub: 'h2', NetworkAddress: '02-00-00-00-02-fe', MTU: r2Mtu });
  await virt.addAdapter('c2', { Hub: 'h2', NetworkAddress: '02-00-00-00-02-03' });
  const tcp = { minRtoMs: 200 };
  const A = new TcpIp(ndis, { name: 'A', adapters: ['a1'], tcp });
  const R = new TcpIp(ndis, { name: 'R', adapters: ['r1', 'r2'], forwarding: true, tcp });
  const C = new TcpIp(ndis, { name: 'C', adapters: ['c2'], tcp });
  for (const s of [A, R, C]) await s.register();
  A.configure('a1', { ipv4: ['10.0.1.1/24'], ipv6: ['fd01::1/64'], gateway4: '10.0.1.254', gateway6: 'fd01::254' });
  R.configure('r1', { ipv4: ['10.0.1.254/24'], ipv6: ['fd01::254/64'] });
  R.configure('r2', { ipv4: ['10.0.2.254/24'], ipv6: ['fd02::254/64'] });
  C.configure('c2', { ipv4: ['10.0.2.3/24'], ipv6: ['fd02::3/64'], gateway4: '10.0.2.254', gateway6: 'fd02::254' });
  await A.ready('a1');
  await R.ready('r1');
  await R.ready('r2');
  await C.ready('c2');
  return { ndis, A, R, C };
}

void test('ping across a router, over IPv4 and IPv6; the router forwards and decrements the TTL', async () => {
  const { ndis, A, R, C } = await threeHosts();
  try {
    await A.ping('10.0.2.3');
    await A.ping('fd02::3');
    await C.ping('10.0.1.1');
    assert.ok(R.counters.ipv4.forwDatagrams >= 4);
    assert.ok(R.counters.ipv6.forwDatagrams >= 2);
    assert.equal(A.routes.lookup('10.0.2.3')?.gateway, '10.0.1.254');
    // A TTL of 1 expires at the router, which says so.
    await assert.rejects(A.ping('10.0.2.3', { ttl: 1 }), (e: unknown) => e instanceof PingError && e.code === 'ETTLEXPIRED' && e.reportedBy === '10.0.1.254');
    await assert.rejects(A.ping('fd02::3', { ttl: 1 }), (e: unknown) => e instanceof PingError && e.code === 'ETTLEXPIRED' && e.reportedBy === 'fd01::254');
    // No route at the router: network unreachable comes back.
    await assert.rejects(A.ping('10.0.9.9'), (e: unknown) => e instanceof PingError && e.code === 'ENETUNREACH' && e.reportedBy === '10.0.1.254');
    await assert.rejects(A.ping('fd09::9'), (e: unknown) => e instanceof PingError && e.code === 'ENETUNREACH');
  } finally {
    await ndis.shutdown();
  }
});

void test('with forwarding off the router drops what is not for it', async () => {
  const { ndis, A, R } = await threeHosts();
  try {
    R.forwarding = false;
    await assert.rejects(A.ping('10.0.2.3', { timeoutMs: 1000 }), (e: unknown) => e instanceof PingError && e.code === 'ETIMEDOUT');
    assert.equal(R.statistics().interfaces.find((i) => i.name === 'r1')!.drops['not addressed to this host'], 1);
    R.forwarding = true;
    await A.ping('10.0.2.3');
  } finally {
    await ndis.shutdown();
  }
});

void test('path MTU discovery through a router with a 1280-byte link: TCP completes over IPv4 and IPv6', { timeout: 60_000 }, async () => {
  const { ndis, A, R, C } = await threeHosts(1280);
  try {
    for (const host of ['10.0.2.3', 'fd02::3']) {
      const total = 2 * 1024 * 1024;
      const data = Buffer.alloc(total);
      for (let i = 0; i < total; i++) data[i] = (i * 131) >> 3;
      const got = new Promise<string>((resolve, reject) => {
        const server = C.tcp.createServer((s: TcpSocket) => {
          const h = createHash('sha256');
          s.on('data', (d: Buffer) => h.update(d));
          s.on('end', () => {
            server.close();
            s.end();
            resolve(h.digest('hex'));
          });
          s.on('error', reject);
        });
        server.listen(9000);
      });
      const c = A.tcp.connect(9000, host);
      c.end(data);
      assert.equal(await ndis.until(got), createHash('sha256').update(data).digest('hex'));
    }
    assert.ok(A.counters.pmtuUpdates >= 2, 'one path MTU learnt per family');
    assert.ok(R.counters.icmpv4.outTypes[3]! >= 1, 'fragmentation needed sent');
    assert.ok(R.counters.icmpv6.outTypes[2]! >= 1, 'packet too big sent');
    assert.ok(A.tcp.engine.stats.pmtuUpdates >= 2);
  } finally {
    await ndis.shutdown();
  }
});

void test('UDP through the small link: the router fragments IPv4 (DF clear); IPv6 is fragmented by the sender after packet too big', async () => {
  const { ndis, A, R, C } = await threeHosts(1280);
  try {
    const rx = C.udp.bind(6000);
    const tx = A.udp.bind(0);
    const data = new Uint8Array(1400).map((_, i) => i & 0xff);
    tx.send(data, '10.0.2.3', 6000);
    const d4 = await rx.receive();
    assert.equal(Buffer.compare(Buffer.from(d4.data), Buffer.from(data)), 0);
    assert.ok(R.counters.ipv4.outFragCreates >= 2);
    assert.equal(C.counters.ipv4.reasmOks, 1);
    tx.send(data, 'fd02::3', 6000);
    await ndis.sleep(10);
    assert.ok(R.counters.icmpv6.outTypes[2]! >= 1, 'packet too big');
    tx.send(data, 'fd02::3', 6000);
    const d6 = await rx.receive();
    assert.equal(Buffer.compare(Buffer.from(d6.data), Buffer.from(data)), 0);
    assert.ok(A.counters.ipv6.outFragCreates >= 2);
  } finally {
    await ndis.shutdown();
  }
});
