// Task offloads: a miniport that advertises checksum and large-send offload (the lab adapter,
// which then carries them out in software on its way to the hub) gets OID_OFFLOAD_ENCAPSULATION
// and NBLs whose OOB information asks for them (checksum: pseudo-header sum in the field and the
// TCP header offset; LSOv2: MSS, header offset, IP version, IP Total Length 0); the peer gets the
// right bytes. When the miniport withdraws them the stack computes checksums and cuts large
// segments itself. On receive, the checksum results the miniport reports are trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { NDIS_CSUM_RX, NDIS_CSUM_TX, csumTxTcpHeaderOffset, lsoIpVersion, lsoMss, lsoTcpHeaderOffset, lsoType } from '../../../../src/nbl/index.js';
import { Ndis, OID, emptyOffload } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { LabMiniport, labHost, offloadConfig, sentOfType, type LabAdapter, type LabAdapterOptions } from './lab.js';
import { PEER_MAC, fx } from './fixtures.js';

async function offloadPair(adapterOptions: LabAdapterOptions): Promise<{ ndis: Ndis; adapter: LabAdapter; A: TcpIp; B: TcpIp }> {
  const ndis = new Ndis({ seed: 41 });
  const virt = new VirtualMiniportDriver(ndis);
  const lab = new LabMiniport(ndis);
  const adapter = await lab.add('lab', { hub: virt.hub('hub0'), ...adapterOptions });
  await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b' });
  const A = new TcpIp(ndis, { name: 'A', adapters: ['lab'] });
  const B = new TcpIp(ndis, { name: 'B', adapters: ['b'] });
  await A.register();
  await B.register();
  A.configure('lab', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
  B.configure('b', { ipv4: ['10.0.0.2/24'], ipv6: ['fd00::2/64'] });
  await A.ready('lab');
  await B.ready('b');
  return { ndis, adapter, A, B };
}

async function send(ndis: Ndis, A: TcpIp, B: TcpIp, host: string, port: number, data: Buffer): Promise<string> {
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
  A.tcp.connect(port, host).end(data);
  return ndis.until(got);
}

function payload(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 29 + (i >> 11)) & 0xff;
  return b;
}

void test('checksum and LSOv2 offload: requested through the OOB information with the right offsets and pseudo-header sums', { timeout: 60_000 }, async () => {
  const { ndis, adapter, A, B } = await offloadPair({ offload: offloadConfig(65535) });
  try {
    assert.ok(adapter.oidsSet.includes(OID.OFFLOAD_ENCAPSULATION));
    const info = A.interface('lab').info().offload;
    assert.deepEqual(info, { checksumV4: true, checksumV6: true, lsoV4: 65535, lsoV6: 65535 });
    for (const [host, family] of [
      ['10.0.0.2', 4],
      ['fd00::2', 6],
    ] as const) {
      adapter.sent.length = 0;
      const data = payload(4 * 1024 * 1024);
      assert.equal(await send(ndis, A, B, host, 5000 + family, data), createHash('sha256').update(data).digest('hex'));
      const tcp = adapter.sent.filter((f) => (family === 4 ? f.bytes[12] === 0x08 && f.bytes[23] === 6 : f.bytes[12] === 0x86 && f.bytes[20] === 6));
      const lso = tcp.filter((f) => f.lsoInfo !== 0);
      const csum = tcp.filter((f) => f.checksumInfo !== 0);
      assert.ok(lso.length > 0, 'large segments were handed to the miniport');
      const hdr = family === 4 ? 34 : 54;
      for (const f of lso) {
        assert.equal(lsoType(f.lsoInfo), 1, 'LSOv2');
        assert.equal(lsoTcpHeaderOffset(f.lsoInfo), hdr);
        assert.equal(lsoIpVersion(f.lsoInfo), family === 4 ? 0 : 1);
        assert.ok(lsoMss(f.lsoInfo) >= 1200 && lsoMss(f.lsoInfo) <= 1460);
        assert.ok(f.bytes.length > 1514, 'bigger than the MTU');
        if (family === 4) assert.equal((f.bytes[16]! << 8) | f.bytes[17]!, 0, 'LSOv2: IPv4 Total Length 0');
        else assert.equal((f.bytes[18]! << 8) | f.bytes[19]!, 0, 'LSOv2: IPv6 Payload Length 0');
        assert.equal(f.checksumInfo, 0);
      }
      assert.ok(csum.length > 0, 'small segments ask for checksum offload');
      for (const f of csum) {
        assert.ok((f.checksumInfo & NDIS_CSUM_TX.TcpChecksum) !== 0);
        assert.ok((f.checksumInfo & (family === 4 ? NDIS_CSUM_TX.IsIPv4 : NDIS_CSUM_TX.IsIPv6)) !== 0);
        assert.equal(csumTxTcpHeaderOffset(f.checksumInfo), hdr);
      }
    }
    const c = A.interface('lab').counters;
    assert.ok(c.lsoOut > 0 && c.checksumOffloadedOut > 0);
    assert.equal(c.softwareSegmented, 0);
    // UDP asks for its checksum too, and arrives.
    const rx = B.udp.bind(9000);
    A.udp.bind(0).send(payload(1000), '10.0.0.2', 9000);
    const d = await rx.receive();
    assert.equal(Buffer.compare(Buffer.from(d.data), payload(1000)), 0);
    const udp = sentOfType(adapter, 0x0800, 17);
    assert.ok((adapter.sent.find((f) => f.bytes === udp[udp.length - 1])!.checksumInfo & NDIS_CSUM_TX.UdpChecksum) !== 0);
  } finally {
    await ndis.shutdown();
  }
});

void test('offloads withdrawn by NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG: checksums in software, large segments cut in software', { timeout: 60_000 }, async () => {
  const { ndis, adapter, A, B } = await offloadPair({ offload: offloadConfig(65535) });
  try {
    const data = payload(2 * 1024 * 1024);
    const digest = createHash('sha256').update(data).digest('hex');
    // Start a transfer with offloads (the engine learns the offload size), then withdraw them.
    const got = new Promise<string>((resolve) => {
      B.tcp.createServer((s: TcpSocket) => {
        const h = createHash('sha256');
        s.on('data', (x: Buffer) => h.update(x));
        s.on('end', () => {
          s.end();
          resolve(h.digest('hex'));
        });
      }).listen(6000);
    });
    const c = A.tcp.connect(6000, '10.0.0.2');
    await ndis.until(new Promise<void>((r) => c.once('connect', () => r())));
    adapter.indicateOffload(emptyOffload());
    adapter.sent.length = 0;
    c.end(data);
    assert.equal(await ndis.until(got), digest);
    assert.ok(adapter.sent.every((f) => f.checksumInfo === 0 && f.lsoInfo === 0), 'nothing asked of the miniport any more');
    assert.ok(A.interface('lab').counters.softwareSegmented > 0, 'the engine still made large segments; the IP layer cut them');
    assert.deepEqual(A.interface('lab').info().offload, { checksumV4: false, checksumV6: false, lsoV4: 0, lsoV6: 0 });
  } finally {
    await ndis.shutdown();
  }
});

void test('a miniport that refuses OID_OFFLOAD_ENCAPSULATION is asked for no offload', async () => {
  const { ndis, adapter, A, B } = await offloadPair({ offload: offloadConfig(65535), refuseOffloadEncapsulation: true });
  try {
    assert.deepEqual(A.interface('lab').info().offload, { checksumV4: false, checksumV6: false, lsoV4: 0, lsoV6: 0 });
    adapter.sent.length = 0;
    const data = payload(300_000);
    assert.equal(await send(ndis, A, B, '10.0.0.2', 7000, data), createHash('sha256').update(data).digest('hex'));
    assert.ok(adapter.sent.every((f) => f.checksumInfo === 0 && f.lsoInfo === 0));
  } finally {
    await ndis.shutdown();
  }
});

void test('receive checksum OOB: succeeded is trusted (even over a wrong checksum); failed drops and counts', async () => {
  const { ndis, adapter, stack } = await labHost({ stack: {} });
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    const echo = fx('echo-request-v4');
    const badIp = echo.slice();
    badIp[24] = badIp[24]! ^ 0x55; // IPv4 header checksum wrong
    adapter.inject(badIp, { checksumInfo: NDIS_CSUM_RX.IpChecksumSucceeded });
    assert.equal(sentOfType(adapter, 0x0800, 1).length, 1, 'answered: the miniport validated it');
    adapter.inject(echo, { checksumInfo: NDIS_CSUM_RX.IpChecksumFailed });
    assert.equal(sentOfType(adapter, 0x0800, 1).length, 1, 'not answered');
    const sock = stack.udp.bind(5353);
    const udp = fx('udp-closed-port-v4');
    udp.set([0x14, 0xe9], 36); // to port 5353
    udp[41] = udp[41]! ^ 0x33; // UDP checksum now wrong
    adapter.inject(udp, { checksumInfo: NDIS_CSUM_RX.UdpChecksumSucceeded | NDIS_CSUM_RX.IpChecksumSucceeded });
    assert.equal(sock.queued, 1);
    adapter.inject(udp, { checksumInfo: NDIS_CSUM_RX.UdpChecksumFailed });
    adapter.inject(udp);
    assert.equal(sock.queued, 1);
    const syn = fx('syn-closed-port');
    syn[50] = syn[50]! ^ 0x01; // TCP checksum wrong
    adapter.inject(syn, { checksumInfo: NDIS_CSUM_RX.TcpChecksumSucceeded });
    assert.equal(sentOfType(adapter, 0x0800, 6).length, 1, 'RST: the segment was accepted');
    adapter.inject(fx('syn-closed-port'), { checksumInfo: NDIS_CSUM_RX.TcpChecksumFailed });
    assert.equal(sentOfType(adapter, 0x0800, 6).length, 1);
    const drops = stack.statistics().interfaces[0]!.drops;
    assert.equal(drops['IP checksum failed (offload)'], 1);
    assert.equal(drops['transport checksum failed (offload)'], 2);
    assert.equal(drops['transport checksum'], 1);
    assert.equal(stack.interface('lab').counters.checksumOffloadedIn, 4);
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});
