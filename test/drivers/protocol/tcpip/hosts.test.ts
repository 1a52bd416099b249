// Two hosts over the virtual hub (the virtual miniport, NDIS, tcpip on each side): address
// resolution with ARP and Neighbor Discovery, ping over IPv4, IPv6 and link-local, UDP, the TCP
// handshake and data in both directions, refused connections, Node's http client and server over
// the stack's sockets (the status page), the echo and discard services, and a clean shutdown in
// which every NET_BUFFER_LIST is back in its pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ICMP4_ECHO_REPLY, ICMP4_ECHO_REQUEST, ICMP4_DST_UNREACH } from '../../../../src/wire/icmpv4.js';
import { ICMP6_ECHO_REPLY, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT } from '../../../../src/wire/icmpv6.js';
import { PingError, type TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import type { Ndis } from '../../../../src/ndis/index.js';
import { twoHosts } from './lab.js';

/** Collects a socket's data until it ends. */
function readAll(ndis: Ndis, s: TcpSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  return ndis.until(
    new Promise<Buffer>((resolve, reject) => {
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => resolve(Buffer.concat(parts)));
      s.on('error', reject);
    }),
  );
}

function httpGet(ndis: Ndis, client: TcpIp, host: string, path: string): Promise<{ status: number; type: string; body: string }> {
  return ndis.until(
    new Promise((resolve, reject) => {
      const req = http.request({ method: 'GET', path, host, port: 80, createConnection: () => client.tcp.connect(80, host) as never }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(parts).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
  );
}

void test('ARP and ND resolve the peer; ping works over IPv4, IPv6 and link-local addresses', async () => {
  const { ndis, A, B } = await twoHosts();
  try {
    const rtt4 = await A.ping('10.0.0.2');
    const rtt6 = await A.ping('fd00::2', { size: 100 });
    const rttLl = await B.ping('fe80::ff:fe00:a');
    for (const r of [rtt4, rtt6, rttLl]) assert.ok(r >= 0 && Number.isFinite(r));
    // A learnt B's MAC for both families; B learnt A's from the link-local exchange.
    const na = A.neighbors.list('a');
    assert.equal(na.find((n) => n.address === '10.0.0.2')?.mac, '02:00:00:00:00:0b');
    assert.equal(na.find((n) => n.address === 'fd00::2')?.mac, '02:00:00:00:00:0b');
    assert.equal(na.find((n) => n.address === 'fd00::2')?.state, 'reachable');
    assert.equal(B.neighbors.list('b').find((n) => n.address === 'fe80::ff:fe00:a')?.mac, '02:00:00:00:00:0a');
    // The messages went on the wire: ARP request and reply, NS and NA, echo requests and replies.
    const cA = A.counters;
    const cB = B.counters;
    assert.ok(cA.neighbor.arpRequestsOut >= 1 && cB.neighbor.arpRepliesOut >= 1);
    assert.ok(cA.icmpv6.outTypes[ND_NEIGHBOR_SOLICIT]! >= 1 && cB.icmpv6.outTypes[ND_NEIGHBOR_ADVERT]! >= 1);
    assert.equal(cB.icmpv4.inTypes[ICMP4_ECHO_REQUEST], 1);
    assert.equal(cA.icmpv4.inTypes[ICMP4_ECHO_REPLY], 1);
    assert.equal(cA.icmpv6.inTypes[ICMP6_ECHO_REPLY], 1);
    // Nothing was lost or malformed on the way.
    for (const s of [A, B]) {
      const d = s.statistics().interfaces[0]!.drops;
      for (const k of Object.keys(d)) assert.ok(['ARP not for this host'].includes(k), `unexpected drop ${k}`);
      assert.equal(s.internalErrors, 0);
    }
  } finally {
    await ndis.shutdown();
  }
});

void test('ping to an address nobody has: ARP gives up after its retries and the ping reports host unreachable', async () => {
  const { ndis, A } = await twoHosts();
  try {
    const t0 = ndis.scheduler.nowMs();
    await assert.rejects(A.ping('10.0.0.99', { timeoutMs: 5000 }), (e: unknown) => e instanceof PingError && e.code === 'EHOSTUNREACH');
    assert.ok(ndis.scheduler.nowMs() - t0 >= 5000);
    assert.equal(A.neighbors.list('a').find((n) => n.address === '10.0.0.99')?.state, 'unreachable');
    assert.equal(A.counters.neighbor.resolutionFailures, 1);
    await assert.rejects(A.ping('192.168.1.1'), (e: unknown) => e instanceof PingError && e.code === 'ENETUNREACH');
  } finally {
    await ndis.shutdown();
  }
});

void test('UDP: datagrams in both directions, message events, async iteration, ICMP port unreachable', async () => {
  const { ndis, A, B } = await twoHosts();
  try {
    const sb = B.udp.bind(5353);
    const sa = A.udp.bind(0);
    sa.send('one', '10.0.0.2', 5353);
    sa.send(new Uint8Array([1, 2, 3, 4, 5]), '10.0.0.2', 5353);
    const d1 = await sb.receive();
    const d2 = await sb.receive();
    assert.equal(Buffer.from(d1.data).toString(), 'one');
    assert.deepEqual([...d2.data], [1, 2, 3, 4, 5]);
    assert.equal(d1.address, '10.0.0.1');
    assert.equal(d1.port, sa.port);
    assert.equal(d1.family, 'IPv4');
    // B answers from a 'message' listener; A reads with for-await (over IPv6 too).
    sb.on('message', (msg: Uint8Array, rinfo: { address: string; port: number }) => sb.send(Buffer.from(`re:${Buffer.from(msg).toString()}`), rinfo.address, rinfo.port));
    sa.send('two', '10.0.0.2', 5353);
    sa.send('three', 'fd00::2', 5353);
    const got: string[] = [];
    for await (const d of sa) {
      got.push(`${d.family} ${Buffer.from(d.data).toString()}`);
      if (got.length === 2) break;
    }
    assert.deepEqual(got.sort(), ['IPv4 re:two', 'IPv6 re:three']);
    // A datagram to a port nobody listens on: B counts it and answers port unreachable.
    sa.send('nobody', '10.0.0.2', 9999);
    await ndis.sleep(10);
    assert.equal(B.counters.udp.noPorts, 1);
    assert.equal(B.counters.icmpv4.outTypes[ICMP4_DST_UNREACH], 1);
    assert.equal(A.counters.icmpv4.inTypes[ICMP4_DST_UNREACH], 1);
    assert.equal(A.counters.udp.inErrors, 1);
    sa.close();
    sb.close();
    assert.equal(A.udp.socketCount + B.udp.socketCount, 0);
  } finally {
    await ndis.shutdown();
  }
});

void test('TCP: handshake, data in both directions and orderly close over IPv4 and IPv6', async () => {
  const { ndis, A, B } = await twoHosts();
  try {
    const server = B.tcp.createServer((s: TcpSocket) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => s.end(`${s.remoteAddress} ${s.remotePort} said ${Buffer.concat(parts).toString()}`));
    });
    server.listen(8080);
    for (const host of ['10.0.0.2', 'fd00::2']) {
      const c = A.tcp.connect(8080, host);
      await ndis.until(new Promise<void>((r) => c.once('connect', () => r())));
      assert.equal(c.remoteAddress, host);
      assert.equal(c.localAddress, host === '10.0.0.2' ? '10.0.0.1' : 'fd00::1');
      c.end(`hello over ${host}`);
      const reply = (await readAll(ndis, c)).toString();
      assert.equal(reply, `${c.localAddress} ${c.localPort} said hello over ${host}`);
    }
    assert.equal(A.tcp.engine.stats.activeOpens, 2);
    assert.equal(B.tcp.engine.stats.passiveOpens, 2);
    assert.equal(A.tcp.engine.stats.outRsts + B.tcp.engine.stats.outRsts, 0);
    server.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('TCP: a connection to a closed port is refused with RST', async () => {
  const { ndis, A, B } = await twoHosts();
  try {
    const c = A.tcp.connect(81, '10.0.0.2');
    const err = await ndis.until(new Promise<Error & { code?: string }>((r) => c.once('error', r)));
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(B.tcp.engine.stats.outRsts, 1);
  } finally {
    await ndis.shutdown();
  }
});

void test("HTTP: Node's http client gets the status page from Node's http server over the stack's TCP", async () => {
  const { ndis, A, B } = await twoHosts();
  try {
    const svc = B.serve('http');
    const page = await httpGet(ndis, A, '10.0.0.2', '/');
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    // Adapters, the bindings of both stacks, and counters read from the runtime.
    for (const text of ['<h2>Adapters</h2>', '>a<', '>b<', 'hostA-&#62;a', 'hostB-&#62;b', 'virtual', '<h2>Routes</h2>', '10.0.0.0/24', 'receiveNbls=']) {
      assert.ok(page.body.includes(text), `status page lacks ${text}`);
    }
    const json = await httpGet(ndis, A, 'fd00::2', '/status.json');
    assert.match(json.type, /application\/json/);
    const status = JSON.parse(json.body) as { host: string; adapters: { name: string; bindings: { name: string }[] }[]; tcpip: { interfaces: { name: string }[] } };
    assert.equal(status.host, 'hostB');
    assert.deepEqual(status.adapters.map((x) => x.name).sort(), ['a', 'b']);
    assert.deepEqual(status.adapters.find((x) => x.name === 'b')!.bindings.map((x) => x.name), ['hostB->b']);
    assert.deepEqual(status.tcpip.interfaces.map((i) => i.name), ['b']);
    assert.equal(svc.connections, 2);
    await ndis.until(svc.close());
  } finally {
    await ndis.shutdown();
  }
});

void test('services: echo (TCP and UDP) sends back what it gets; discard takes everything', async () => {
  const { ndis, A, B } = await twoHosts();
  try {
    B.serve('echo');
    B.serve('discard');
    const c = A.tcp.connect(7, '10.0.0.2');
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    c.end(data);
    const back = await readAll(ndis, c);
    assert.equal(Buffer.compare(back, data), 0);
    const u = A.udp.bind(0);
    u.send('ping me', 'fd00::2', 7);
    const d = await u.receive();
    assert.equal(Buffer.from(d.data).toString(), 'ping me');
    assert.equal(d.port, 7);
    const sink = A.tcp.connect(9, '10.0.0.2');
    sink.end(data);
    const nothing = await readAll(ndis, sink);
    assert.equal(nothing.length, 0);
    assert.ok(B.tcp.engine.stats.inSegs > 0);
    u.close();
    await ndis.until(B.deregister());
    assert.equal(B.interfaces.size, 0);
  } finally {
    await ndis.shutdown();
  }
});
