// The NDIS binding of the stack: binding to adapters that exist and that arrive later with a
// configuration set before, pause and restart while data flows (a filter inserted at run time, a
// power cycle), unbind and rebind, link state changes, receive indications under
// NDIS_RECEIVE_FLAGS_RESOURCES, and every NET_BUFFER_LIST back in its pool at shutdown under the
// full verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ndis, NetDeviceState, ThrowingVerifier, VERIFY_FULL } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { PassthroughFilter } from '../../../../src/drivers/filter/passthrough/index.js';
import { PingError, TcpIp, UdpSocketError, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { twoHosts } from './lab.js';

/** Starts a TCP transfer of `total` bytes from A to B; resolves with [sent digest, received digest]. */
function transfer(ndis: Ndis, A: TcpIp, B: TcpIp, port: number, total: number): Promise<[string, string]> {
  const data = Buffer.alloc(total);
  for (let i = 0; i < total; i++) data[i] = (i * 17 + (i >> 10)) & 0xff;
  const got = new Promise<string>((resolve, reject) => {
    const server = B.tcp.createServer((s: TcpSocket) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', () => {
        s.end();
        server.close();
        resolve(h.digest('hex'));
      });
      s.on('error', reject);
    });
    server.listen(port);
  });
  const c = A.tcp.connect(port, '10.0.0.2');
  c.on('error', (e) => assert.fail(e));
  c.end(data);
  return ndis.until(got.then((r) => [createHash('sha256').update(data).digest('hex'), r]));
}

void test('binds to adapters present at registration and to adapters that arrive later; a configuration set before binding applies', async () => {
  const ndis = new Ndis({ seed: 51 });
  const virt = new VirtualMiniportDriver(ndis);
  await virt.addAdapter('early', { NetworkAddress: '02-00-00-00-00-01' });
  const s = new TcpIp(ndis);
  try {
    await s.register();
    assert.deepEqual([...s.interfaces.keys()], ['early']);
    s.configure('late', { ipv4: ['10.9.0.1/16'] });
    await virt.addAdapter('late', { NetworkAddress: '02-00-00-00-00-02' });
    const iface = await s.ready('late');
    assert.deepEqual(
      iface.info().addresses.map((a) => a.address),
      ['fe80::ff:fe00:2/64', '10.9.0.1/16'],
    );
    assert.equal(s.routes.lookup('10.9.200.1')?.interface, 'late');
    assert.throws(() => s.configure('x', { ipv4: ['10.0.0.1'] }), /prefix length/);
    assert.throws(() => s.configure('x', { ipv4: ['fd00::1/64'] }), /not an IPv4 address/);
    assert.throws(() => s.interface('nope'), /not bound to 'nope'/);
  } finally {
    await ndis.shutdown();
  }
});

void test('pause and restart with data in flight: a filter inserted at run time, then a power cycle; the transfer completes', { timeout: 60_000 }, async () => {
  const { ndis, A, B } = await twoHosts({ stack: { tcp: { minRtoMs: 200 } } });
  try {
    const done = transfer(ndis, A, B, 5001, 8 * 1024 * 1024);
    await ndis.sleep(1);
    const filter = new PassthroughFilter(ndis, { name: 'pt' });
    await ndis.until(filter.register());
    await ndis.until(ndis.setPower(ndis.adapter('b'), NetDeviceState.D3));
    await ndis.sleep(50);
    await ndis.until(ndis.setPower(ndis.adapter('b'), NetDeviceState.D0));
    const [sent, received] = await done;
    assert.equal(received, sent);
    assert.ok(ndis.events.some((e) => e.includes('hostA->a: binding paused')));
    assert.ok(ndis.events.filter((e) => e.includes('hostB->b: binding paused')).length >= 2);
    assert.ok(filter.module('a').counters.sentNbls > 0, 'traffic went through the new filter');
    assert.equal(A.internalErrors + B.internalErrors, 0);
  } finally {
    await ndis.shutdown();
  }
});

void test('unbind and rebind: the interface and its routes go, pings fail; rebinding configures it again', async () => {
  const { ndis, A } = await twoHosts();
  try {
    const m = ndis.adapter('a');
    await ndis.setProtocolBinding(A.handle!, m, false);
    assert.equal(A.interfaces.size, 0);
    assert.equal(A.routes.list().length, 0);
    await assert.rejects(A.ping('10.0.0.2'), (e: unknown) => e instanceof PingError && e.code === 'ENETUNREACH');
    await ndis.setProtocolBinding(A.handle!, m, true);
    await A.ready('a');
    await A.ping('10.0.0.2');
    await A.ping('fd00::2');
  } finally {
    await ndis.shutdown();
  }
});

void test('link down: no route through the interface, sends refused; link up: addresses checked again, traffic resumes', async () => {
  const { ndis, virt, A } = await twoHosts();
  try {
    const va = virt.adapter(ndis.adapter('a'));
    const sock = A.udp.bind(0);
    va.setLink(false);
    assert.equal(A.interface('a').linkUp, false);
    await assert.rejects(A.ping('10.0.0.2'), (e: unknown) => e instanceof PingError && e.code === 'ENETUNREACH');
    assert.throws(() => sock.send('x', '10.0.0.2', 9), (e: unknown) => e instanceof UdpSocketError && e.code === 'ENETUNREACH');
    va.setLink(true);
    assert.ok(A.interface('a').info().addresses.some((a) => a.state === 'tentative'), 'IPv6 addresses go through DAD again');
    await A.ready('a');
    await A.ping('fd00::2');
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('receive indications under NDIS_RECEIVE_FLAGS_RESOURCES: the stack keeps nothing and the data arrives', { timeout: 60_000 }, async () => {
  const ndis = new Ndis({ seed: 53 });
  const virt = new VirtualMiniportDriver(ndis);
  // Fewer free receive buffers than the threshold: every indication carries RESOURCES.
  await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a', ReceiveBuffers: 64, LowResourceThreshold: 1000 });
  await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b', ReceiveBuffers: 64, LowResourceThreshold: 1000 });
  const A = new TcpIp(ndis, { name: 'hostA', adapters: ['a'] });
  const B = new TcpIp(ndis, { name: 'hostB', adapters: ['b'] });
  try {
    await A.register();
    await B.register();
    A.configure('a', { ipv4: ['10.0.0.1/24'] });
    B.configure('b', { ipv4: ['10.0.0.2/24'] });
    await A.ready('a');
    await B.ready('b');
    const [sent, received] = await transfer(ndis, A, B, 5002, 2 * 1024 * 1024);
    assert.equal(received, sent);
    const low = B.interface('b').counters.lowResourceIndications;
    assert.ok(low > 10);
    assert.equal(low, virt.adapter(ndis.adapter('b')).stats.lowResourceIndications, 'every indication carried RESOURCES');
    assert.equal(virt.adapter(ndis.adapter('b')).outstandingRx, 0);
  } finally {
    await ndis.shutdown();
  }
});

void test('shutdown under the full verifier with packets waiting for resolution and sends in flight: every NBL back in its pool', async () => {
  const { ndis, A, B } = await twoHosts({ ndis: { verifier: new ThrowingVerifier(VERIFY_FULL) } });
  const s = A.udp.bind(0);
  for (let i = 0; i < 10; i++) s.send(new Uint8Array(1000), '10.0.0.77', 9); // nobody has 10.0.0.77
  for (let i = 0; i < 10; i++) s.send(new Uint8Array(1000), '10.0.0.2', 9);
  void B;
  assert.ok(A.interface('a').neighbors.lookup(A.interface('a').addresses[1]!.address) === null);
  await ndis.shutdown(); // throws on a leaked NBL, an unfreed pool or a timer left set
  assert.equal(A.interfaces.size, 0);
  assert.equal(A.statistics().interfaces.length, 0);
});
