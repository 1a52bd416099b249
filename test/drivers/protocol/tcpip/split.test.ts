// Frames split across MDLs (NDIS 6.1+ receive: header-data split at the upper-layer header or
// payload, or any split once the first MDL holds the lookahead): the stack must read them with
// NdisGetDataBuffer semantics and never assume one MDL. First every split point (and extreme
// multi-MDL layouts) of a set of scapy frames must give the same answer as the unsplit frame;
// then a stack whose every received frame is split talks to a peer over the hub: ping, UDP, TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { NDIS_NBL_FLAGS } from '../../../../src/nbl/index.js';
import { Ndis } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { LabMiniport, labHost, type LabAdapter, type SplitPolicy } from './lab.js';
import { PEER_MAC, fx, hexOf } from './fixtures.js';

/** The answers the host sent, with IPv4 identification and header checksum cleared (the host picks them). */
function answers(a: LabAdapter): string[] {
  return a.sent.map((f) => {
    const b = f.bytes.slice();
    if (b[12] === 0x08 && b[13] === 0x00) b.fill(0, 18, 20).fill(0, 24, 26);
    return hexOf(b);
  });
}

const FRAMES = ['arp-request-for-us', 'echo-request-v4', 'echo-request-v6', 'ns-for-us', 'syn-closed-port', 'udp-closed-port-v4'];

void test('every single split point, and one-byte MDLs throughout, give the answer the unsplit frame gets', async () => {
  // No ICMP rate limit here: thousands of port-unreachable answers are wanted.
  const { ndis, adapter, stack } = await labHost({ stack: { icmpErrorsPerSecond: 1e9, icmpErrorBurst: 1e9 } });
  try {
    stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    for (const name of FRAMES) {
      const frame = fx(name);
      adapter.sent.length = 0;
      adapter.inject(frame);
      const baseline = answers(adapter);
      assert.equal(baseline.length, 1, `${name} gets one answer`);
      const layouts: number[][] = [];
      for (let c = 1; c < frame.length; c++) layouts.push([c]);
      layouts.push(Array.from({ length: frame.length - 1 }, (_, i) => i + 1));
      layouts.push(Array.from({ length: Math.floor(frame.length / 7) }, (_, i) => (i + 1) * 7));
      for (const cuts of layouts) {
        for (const resources of [false, true]) {
          adapter.sent.length = 0;
          adapter.inject(frame, { cuts, resources });
          assert.deepEqual(answers(adapter), baseline, `${name} cut at ${cuts.length > 3 ? `${cuts.length} points` : cuts.join(',')}${resources ? ' (RESOURCES)' : ''}`);
        }
      }
    }
    assert.equal(adapter.outstandingRx, 0, 'every indicated NBL came back');
    assert.ok(stack.interface('lab').counters.splitFrames > 300, 'split IP packets were made contiguous');
    assert.equal(stack.internalErrors, 0);
  } finally {
    await ndis.shutdown();
  }
});

void test('a UDP datagram split at its header, at its payload, and in one-byte pieces reaches the socket intact', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const sock = stack.udp.bind(5353);
    const frame = fx('udp-frag4-0'); // a first fragment: headers and 1176 bytes of data
    const whole = [0, 1, 2].map((i) => fx(`udp-frag4-${i}`));
    const layouts: { cuts: number[]; flags: number }[] = [
      { cuts: [34], flags: NDIS_NBL_FLAGS.HD_SPLIT | NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER | NDIS_NBL_FLAGS.IS_IPV4 },
      { cuts: [42], flags: NDIS_NBL_FLAGS.HD_SPLIT | NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD | NDIS_NBL_FLAGS.IS_IPV4 | NDIS_NBL_FLAGS.IS_UDP },
      { cuts: Array.from({ length: frame.length - 1 }, (_, i) => i + 1), flags: 0 },
    ];
    for (const l of layouts) {
      for (const f of whole) adapter.inject(f, { cuts: l.cuts.filter((c) => c < f.length), nblFlags: l.flags });
      const d = await sock.receive();
      assert.equal(hexOf(d.data), hexOf(fx('udp-payload')));
    }
    sock.close();
  } finally {
    await ndis.shutdown();
  }
});

/** Where a frame's headers end: [IP header end, transport header end] (offsets in the frame), or null when not TCP/UDP over IP. */
function headerEnds(f: Uint8Array): { ip: number; l4: number; v4: boolean; tcp: boolean } | null {
  const type = (f[12]! << 8) | f[13]!;
  let ip: number;
  let proto: number;
  let v4: boolean;
  if (type === 0x0800) {
    ip = 14 + (f[14]! & 15) * 4;
    proto = f[23]!;
    v4 = true;
    if (((f[20]! & 0x1f) | f[21]!) !== 0 || (f[20]! & 0x20) !== 0) return null; // fragments are not split at the payload
  } else if (type === 0x86dd) {
    ip = 54;
    proto = f[20]!;
    v4 = false;
  } else return null;
  if (proto === 6) return { ip, l4: ip + (f[ip + 12]! >> 4) * 4, v4, tcp: true };
  if (proto === 17) return { ip, l4: ip + 8, v4, tcp: false };
  return { ip, l4: -1, v4, tcp: false };
}

const POLICIES: Record<string, SplitPolicy> = {
  'header-data split at the upper-layer header': (f) => {
    const h = headerEnds(f);
    if (h === null) return { cuts: [], nblFlags: 0 };
    return { cuts: [h.ip], nblFlags: NDIS_NBL_FLAGS.HD_SPLIT | NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER | (h.v4 ? NDIS_NBL_FLAGS.IS_IPV4 : NDIS_NBL_FLAGS.IS_IPV6) };
  },
  'header-data split at the TCP/UDP payload': (f) => {
    const h = headerEnds(f);
    if (h === null || h.l4 < 0 || h.l4 >= f.length) return { cuts: [], nblFlags: 0 };
    return {
      cuts: [h.l4],
      nblFlags: NDIS_NBL_FLAGS.HD_SPLIT | NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD | (h.v4 ? NDIS_NBL_FLAGS.IS_IPV4 : NDIS_NBL_FLAGS.IS_IPV6) | (h.tcp ? NDIS_NBL_FLAGS.IS_TCP : NDIS_NBL_FLAGS.IS_UDP),
    };
  },
  'first MDL holds the 128-byte lookahead, the rest in one': (f) => ({ cuts: f.length > 128 ? [128] : [], nblFlags: 0 }),
  'first MDL holds the lookahead, the rest in 100-byte MDLs': (f) => {
    const cuts: number[] = [];
    for (let c = 128; c < f.length; c += 100) cuts.push(c);
    return { cuts, nblFlags: 0 };
  },
};

for (const [name, policy] of Object.entries(POLICIES)) {
  void test(`every received frame split (${name}): ping, UDP and 1 MB of TCP with a peer over the hub`, { timeout: 60_000 }, async () => {
    const ndis = new Ndis({ seed: 31 });
    const virt = new VirtualMiniportDriver(ndis);
    const lab = new LabMiniport(ndis);
    const adapter = await lab.add('lab', { hub: virt.hub('hub0'), split: policy, lookahead: 128 });
    await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b' });
    const A = new TcpIp(ndis, { name: 'A', adapters: ['lab'] });
    const B = new TcpIp(ndis, { name: 'B', adapters: ['b'] });
    await A.register();
    await B.register();
    A.configure('lab', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
    B.configure('b', { ipv4: ['10.0.0.2/24'], ipv6: ['fd00::2/64'] });
    try {
      await A.ready('lab');
      await B.ready('b');
      await A.ping('10.0.0.2', { size: 1000 });
      await A.ping('fd00::2', { size: 1000 });
      const ua = A.udp.bind(7000);
      B.udp.bind(0).send(new Uint8Array(1200).fill(7), '10.0.0.1', 7000);
      assert.equal((await ua.receive()).data.length, 1200);
      const data = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
      const got = new Promise<string>((resolve, reject) => {
        A.tcp.createServer((s: TcpSocket) => {
          const h = createHash('sha256');
          s.on('data', (d: Buffer) => h.update(d));
          s.on('end', () => {
            s.end();
            resolve(h.digest('hex'));
          });
          s.on('error', reject);
        }).listen(5001);
      });
      B.tcp.connect(5001, 'fd00::1').end(data);
      assert.equal(await ndis.until(got), createHash('sha256').update(data).digest('hex'));
      const c = A.interface('lab').counters;
      assert.ok(c.splitFrames > 100, `frames copied to make them contiguous: ${c.splitFrames}`);
      assert.ok(adapter.rxFromHub > 700);
      assert.equal(A.internalErrors, 0);
      const drops = A.statistics().interfaces[0]!.drops;
      assert.deepEqual(Object.keys(drops).filter((k) => k !== 'ARP not for this host'), [], JSON.stringify(drops));
    } finally {
      await ndis.shutdown();
    }
  });
}
