// Software offloads of the virtual miniport under the TCP/IP driver, with the project's verifier at
// full level (violations throw): the sender's adapter segments large sends (LSOv2 from tcpip, LSOv1
// from a raw sender that builds its own large TCP packets) and computes checksums; the receiver's
// adapter validates checksums, hashes (RSS) and, in the last test, splits headers from data. The
// peer's TCP/IP driver must reassemble the byte stream exactly (SHA-256 compared) and every NBL
// must come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ndis, NDIS_STATUS, NdisOidRequest, OID, type MiniportBlock } from '../../../../src/ndis/index.js';
import { encodeOffloadEncapsulation, NDIS_OFFLOAD_SET_ON } from '../../../../src/ndis/structs-offload.js';
import { NDIS_ENCAPSULATION } from '../../../../src/ndis/offload-types.js';
import {
  NDIS_NET_BUFFER_LIST_INFO as I,
  lsoV1CompleteTcpPayload,
  lsoV1TransmitValue,
  lsoType,
  ndisFreeMdl,
} from '../../../../src/nbl/index.js';
import { VirtualMiniportDriver, type VirtualAdapter } from '../../../../src/drivers/miniport/virtual/index.js';
import { TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { Verifier } from '../../../../src/verifier/index.js';
import { ipv4PseudoHeaderSum, onesComplementSum } from '../../../../src/wire/checksum.js';
import { rawProtocol, nblFor, type RawBinding } from '../../../ndis/drivers.js';

interface Pair {
  ndis: Ndis;
  verifier: Verifier;
  virt: VirtualMiniportDriver;
  a: VirtualAdapter;
  b: VirtualAdapter;
  A: TcpIp;
  B: TcpIp;
}

const MAC_A = '02-00-00-00-00-0a';
const MAC_B = '02-00-00-00-00-0b';

function fullVerifier(): Verifier {
  return new Verifier({ level: 'full', action: 'throw', log: () => undefined });
}

/** Two virtual adapters on one hub with the given keywords, a TCP/IP host on each. */
async function pair(keywordsA: Record<string, number>, keywordsB: Record<string, number>): Promise<Pair> {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier, seed: 17 });
  const virt = new VirtualMiniportDriver(ndis);
  const ha = await virt.addAdapter('a', { NetworkAddress: MAC_A, ...keywordsA });
  const hb = await virt.addAdapter('b', { NetworkAddress: MAC_B, ...keywordsB });
  const A = new TcpIp(ndis, { name: 'A', adapters: ['a'] });
  const B = new TcpIp(ndis, { name: 'B', adapters: ['b'] });
  await A.register();
  await B.register();
  A.configure('a', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
  B.configure('b', { ipv4: ['10.0.0.2/24'], ipv6: ['fd00::2/64'] });
  await A.ready('a');
  await B.ready('b');
  return { ndis, verifier, virt, a: virt.adapter(ha), b: virt.adapter(hb), A, B };
}

/** Deterministic pseudo-random bytes (misplaced or repeated bytes change the digest). */
function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A TCP server on `stack` that resolves with the SHA-256 and length of what one connection sent. */
function sink(stack: TcpIp, port: number): Promise<{ digest: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const server = stack.tcp.createServer((s: TcpSocket) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      s.on('end', () => {
        s.end();
        server.close();
        resolve({ digest: h.digest('hex'), bytes: n });
      });
      s.on('error', reject);
    });
    server.listen(port);
  });
}

async function transfer(p: Pair, from: TcpIp, to: TcpIp, host: string, port: number, data: Buffer): Promise<void> {
  const got = sink(to, port);
  from.tcp.connect(port, host).end(data);
  const r = await p.ndis.until(got);
  assert.equal(r.bytes, data.length, `${host}: every byte arrived`);
  assert.equal(r.digest, sha(data), `${host}: the byte stream is intact`);
}

/** Everything the verifier and the adapters should show once traffic has stopped. */
function assertClean(p: Pair): void {
  assert.equal(p.verifier.count(), 0, 'no verifier violation');
  assert.equal(p.a.outstandingRx, 0, 'every NBL adapter a indicated came back');
  assert.equal(p.b.outstandingRx, 0, 'every NBL adapter b indicated came back');
  assert.equal(p.A.internalErrors, 0);
  assert.equal(p.B.internalErrors, 0);
}

void test('LSOv2 and checksum offload in the virtual miniport: TCP/IP sends large segments, the peer reassembles 4 MiB each way over IPv4 and IPv6; verifier clean', { timeout: 120_000 }, async () => {
  // *LsoV1IPv4 and *LsoV2IPv4/IPv6 are on (the defaults); the TCP/IP driver asks for LSOv2.
  const p = await pair({ '*LsoV1IPv4': 1, '*LsoV2IPv4': 1, '*LsoV2IPv6': 1 }, { '*LsoV1IPv4': 1, '*LsoV2IPv4': 1, '*LsoV2IPv6': 1 });
  try {
    assert.deepEqual(p.A.interface('a').info().offload, { checksumV4: true, checksumV6: true, lsoV4: 65535, lsoV6: 65535 });
    let port = 6100;
    for (const [from, to, host] of [
      [p.A, p.B, '10.0.0.2'],
      [p.A, p.B, 'fd00::2'],
      [p.B, p.A, '10.0.0.1'],
      [p.B, p.A, 'fd00::1'],
    ] as const) {
      await transfer(p, from, to, host, port, payload(4 * 1024 * 1024, port));
      port++;
    }
    for (const ad of [p.a, p.b]) {
      const s = ad.stats;
      assert.ok(s.lsoSends > 0, `${ad.portName}: large sends were segmented by the adapter`);
      assert.ok(s.lsoSegments >= 2 * s.lsoSends, `${ad.portName}: each large send became at least MinSegmentCount segments (${s.lsoSegments} from ${s.lsoSends})`);
      assert.equal(s.lsoRefused, 0);
      assert.ok(s.txChecksumOffloaded > 0, `${ad.portName}: checksums computed on send`);
      assert.equal(s.txChecksumErrors, 0);
      assert.ok(s.rxChecksumChecked > 0, `${ad.portName}: checksums validated on receive`);
      assert.equal(s.rxChecksumFailed, 0);
    }
    assert.equal(p.A.interface('a').counters.softwareSegmented, 0, 'no segment was cut by the stack');
    assertClean(p);
  } finally {
    await p.ndis.shutdown();
  }
});

// ---- LSOv1: the TCP/IP driver requests LSOv2 only, so a raw protocol plays the sender ----

const IP_A = [10, 0, 0, 1];
const IP_B = [10, 0, 0, 2];
const MSS = 1460;

/** An Ethernet + IPv4 + TCP frame from A to B carrying `data`, LSOv1-style when `lso`. */
function tcpFrame(sport: number, dport: number, seq: number, ack: number, flags: number, data: Uint8Array, lso: boolean, ipId: number, mssOption = false): Uint8Array {
  const tcpLen = mssOption ? 24 : 20;
  const f = new Uint8Array(14 + 20 + tcpLen + data.length);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x08, 0x00], 0);
  f[14] = 0x45;
  v.setUint16(16, 20 + tcpLen + data.length); // LSOv1: the Total Length of the whole large packet
  v.setUint16(18, ipId);
  f[20] = 0x40; // DF
  f[22] = 64;
  f[23] = 6;
  f.set(IP_A, 26);
  f.set(IP_B, 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(24, ~sum & 0xffff);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  v.setUint32(38, seq >>> 0);
  v.setUint32(42, ack >>> 0);
  f[46] = (tcpLen / 4) << 4;
  f[47] = flags;
  v.setUint16(48, 65535);
  if (mssOption) f.set([2, 4, MSS >> 8, MSS & 0xff], 54);
  f.set(data, 34 + tcpLen);
  if (lso) {
    // LSOv1: the pseudo-header sum without the TCP length goes in the checksum field.
    v.setUint16(50, ipv4PseudoHeaderSum(f, 26, f, 30, 6, 0));
  } else {
    const pseudo = ipv4PseudoHeaderSum(f, 26, f, 30, 6, tcpLen + data.length);
    v.setUint16(50, ~onesComplementSum(f, 34, tcpLen + data.length, pseudo) & 0xffff);
  }
  return f;
}

void test('LSOv1 in the virtual miniport: a raw sender hands 60 KB TCP packets to the adapter, the TCP/IP peer reassembles 2 MiB intact; TcpPayload completed; verifier clean', { timeout: 120_000 }, async () => {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier, seed: 5 });
  try {
    const virt = new VirtualMiniportDriver(ndis);
    const ha: MiniportBlock = await virt.addAdapter('a', { NetworkAddress: MAC_A, '*LsoV1IPv4': 1, '*LsoV2IPv4': 0, '*LsoV2IPv6': 0 });
    await virt.addAdapter('b', { NetworkAddress: MAC_B });
    const a = virt.adapter(ha);
    const B = new TcpIp(ndis, { name: 'B', adapters: ['b'] });
    await B.register();
    B.configure('b', { ipv4: ['10.0.0.2/24'] });
    await B.ready('b');
    B.neighbors.add('b', '10.0.0.1', '02:00:00:00:00:0a');
    const log: string[] = [];
    const bindings = new Map<string, RawBinding>();
    // NDIS binds the raw protocol to both adapters; its binding to 'a' is the sender.
    await ndis.until(ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings, [0x0800])));
    const raw = bindings.get('a')!;
    assert.ok(raw.running);
    // The offloads start once a protocol sets OID_OFFLOAD_ENCAPSULATION (as tcpip does).
    const on = { enabled: NDIS_OFFLOAD_SET_ON, encapsulationType: NDIS_ENCAPSULATION.IEEE_802_3, headerSize: 14 };
    const status = ndis.oidRequest(raw.handle, NdisOidRequest.set(OID.OFFLOAD_ENCAPSULATION, encodeOffloadEncapsulation({ ipv4: on, ipv6: on })));
    assert.equal(status, NDIS_STATUS.SUCCESS);
    // Completed sends are kept, to read their LSO completion information.
    raw.keepCompleted = true;
    const data = payload(2 * 1024 * 1024, 99);
    const got = sink(B, 7100);
    // What B sends back: its SYN-ACK and its acknowledgments.
    let peerSeq = -1;
    let acked = 0;
    let finSeen = false;
    raw.onReceive = (_nbl, _flags, frames) => {
      for (const f of frames) {
        if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) continue;
        const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
        const ihl = (f[14]! & 15) * 4;
        const t = 14 + ihl;
        const flags = f[t + 13]!;
        if ((flags & 0x12) === 0x12) peerSeq = (v.getUint32(t + 4) + 1) >>> 0;
        if ((flags & 0x10) !== 0) acked = Math.max(acked, (v.getUint32(t + 8) - ISS - 1) >>> 0);
        if ((flags & 0x01) !== 0) finSeen = true;
      }
    };
    const ISS = 0x10000000;
    const send = (frame: Uint8Array, lso: boolean): void => {
      const nbl = nblFor(raw, frame);
      if (lso) nbl.netBufferListInfo[I.TcpLargeSendNetBufferListInfo] = lsoV1TransmitValue(MSS, 34);
      ndis.sendNetBufferLists(raw.handle, nbl, 0, 0);
    };
    let ipId = 100;
    send(tcpFrame(40000, 7100, ISS, 0, 0x02, new Uint8Array(0), false, ipId++, true), false);
    await ndis.until(
      (async () => {
        while (peerSeq < 0) await ndis.sleep(1);
      })(),
    );
    send(tcpFrame(40000, 7100, ISS + 1, peerSeq, 0x10, new Uint8Array(0), false, ipId++), false);
    // Large packets of at most 60 KB, each sent once the previous ones are acknowledged.
    const CHUNK = 60_000;
    let sent = 0;
    const sizes: number[] = [];
    while (sent < data.length) {
      const n = Math.min(CHUNK, data.length - sent);
      send(tcpFrame(40000, 7100, ISS + 1 + sent, peerSeq, 0x18, data.subarray(sent, sent + n), true, ipId), true);
      ipId += Math.ceil(n / MSS);
      sizes.push(n);
      sent += n;
      const target = sent;
      await ndis.until(
        (async () => {
          while (acked < target) await ndis.sleep(1);
        })(),
      );
    }
    send(tcpFrame(40000, 7100, ISS + 1 + sent, peerSeq, 0x11, new Uint8Array(0), false, ipId++), false);
    const r = await ndis.until(got);
    assert.equal(r.bytes, data.length);
    assert.equal(r.digest, sha(data), 'the byte stream is intact');
    await ndis.until(
      (async () => {
        while (!finSeen) await ndis.sleep(1);
      })(),
    );
    // Each large send was cut by the adapter and completed with LSOv1's TcpPayload.
    const lsoDone = raw.kept.filter((x) => x.netBufferListInfo[I.TcpLargeSendNetBufferListInfo] !== 0 && x.firstNetBuffer!.dataLength > 1514);
    assert.equal(lsoDone.length, sizes.length);
    lsoDone.forEach((x, i) => {
      const v = x.netBufferListInfo[I.TcpLargeSendNetBufferListInfo]!;
      assert.equal(x.status, NDIS_STATUS.SUCCESS);
      assert.equal(lsoType(v), 0);
      assert.equal(lsoV1CompleteTcpPayload(v), sizes[i], `large send ${i}: TcpPayload is the payload sent`);
    });
    assert.equal(a.stats.lsoSends, sizes.length);
    assert.equal(a.stats.lsoSegments, sizes.reduce((t, n) => t + Math.ceil(n / MSS), 0));
    assert.equal(a.stats.lsoRefused, 0);
    assert.equal(verifier.count(), 0, 'no verifier violation');
    assert.equal(B.internalErrors, 0);
    // The kept sends go back to their pool before the binding closes.
    for (const x of raw.kept.splice(0)) {
      const mdl = x.firstNetBuffer!.mdlChain!;
      raw.pool.freeNetBufferList(x);
      ndisFreeMdl(mdl);
    }
  } finally {
    await ndis.shutdown();
  }
});

void test('header-data split in the virtual miniport: the TCP/IP driver receives split frames and reassembles 4 MiB over IPv4 and IPv6; verifier clean', { timeout: 120_000 }, async () => {
  const p = await pair({}, { '*HeaderDataSplit': 1 });
  try {
    assert.ok(p.b.hds !== null, 'adapter b is a header-data split provider');
    assert.ok((p.b.hds.hdSplitFlags & 1) !== 0, 'NDIS enabled header-data split');
    await transfer(p, p.A, p.B, '10.0.0.2', 6200, payload(4 * 1024 * 1024, 7));
    await transfer(p, p.A, p.B, 'fd00::2', 6201, payload(4 * 1024 * 1024, 8));
    // And the other way: B's acknowledgments were split too; now B sends.
    await transfer(p, p.B, p.A, '10.0.0.1', 6202, payload(1024 * 1024, 9));
    assert.ok(p.b.stats.hdsSplit > 2 * 4 * 1024 * 1024 / 1500, `most frames arrived split (${p.b.stats.hdsSplit})`);
    assert.equal(p.a.stats.hdsSplit, 0);
    assert.ok(p.B.interface('b').counters.splitFrames > 0, 'the stack saw frames over several MDLs');
    assertClean(p);
  } finally {
    await p.ndis.shutdown();
  }
});
