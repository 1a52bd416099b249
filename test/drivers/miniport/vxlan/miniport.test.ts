/**
 * The VXLAN miniport over the loopback interface, in one process: two adapters (two VTEPs on
 * 127.0.0.2 and 127.0.0.3, same VXLAN port) exchange frames through ndisprot; a bare dgram socket
 * on 127.0.0.4 plays a third VTEP to see exactly what goes on the wire and to send garbage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { Ndis, NdisOidRequest, OID, NDIS_STATUS, decodeStatistics, type MiniportBlock } from '../../../../src/ndis/index.js';
import { NdisProt } from '../../../../src/drivers/protocol/ndisprot/index.js';
import { VxlanMiniportDriver, innerFlowHash, parseEndpoint, type VxlanAdapter, type VxlanOptions } from '../../../../src/drivers/miniport/vxlan/index.js';
import { WireReason } from '../../../../src/wire/index.js';
import { BROADCAST_MAC, ip4, mac, udp4 } from '../../../interop/lib/frames.js';
import { rawProtocol, nblFor, type RawBinding } from '../../../ndis/drivers.js';

const MAC_A = mac('02:00:00:00:0a:0a');
const MAC_B = mac('02:00:00:00:0b:0b');
const VNI = 4242;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Lab {
  ndis: Ndis;
  drv: VxlanMiniportDriver;
  prot: NdisProt;
  port: number;
  a: MiniportBlock;
  b: MiniportBlock;
  va: VxlanAdapter;
  vb: VxlanAdapter;
}

/** Two VXLAN adapters on 127.0.0.2 and 127.0.0.3 sharing a free VXLAN port, ndisprot bound to both. */
async function lab(extra: VxlanOptions = {}): Promise<Lab> {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const ndis = new Ndis({ mode: 'realtime' });
    const drv = new VxlanMiniportDriver(ndis);
    const prot = new NdisProt(ndis, { etherTypes: [], readTimeoutMs: 3000 });
    await prot.register();
    try {
      const a = await drv.addAdapter('vxa', { vni: VNI, port, local: `127.0.0.2:${port}`, remotes: ['127.0.0.3'], mac: '02:00:00:00:0a:0a', ...extra });
      const b = await drv.addAdapter('vxb', { vni: VNI, port, local: `127.0.0.3:${port}`, remotes: ['127.0.0.2'], mac: '02:00:00:00:0b:0b', ...extra });
      return { ndis, drv, prot, port, a, b, va: drv.adapter(a), vb: drv.adapter(b) };
    } catch (e) {
      await ndis.shutdown();
      if (attempt < 10 && String(e).includes('EADDRINUSE')) continue;
      throw e;
    }
  }
}

/** A bare UDP socket bound to 127.0.0.4:`port`, recording what it receives. */
async function peerSocket(port: number): Promise<{ socket: Socket; got: { msg: Buffer; rinfo: RemoteInfo }[] }> {
  const socket = createSocket('udp4');
  const got: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  socket.on('message', (msg, rinfo) => got.push({ msg, rinfo }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.4', () => resolve());
  });
  return { socket, got };
}

function frame(dst: Uint8Array, src: Uint8Array, text: string, etherType = 0x88b5): Uint8Array {
  const p = new TextEncoder().encode(text);
  const f = new Uint8Array(14 + p.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(p, 14);
  return f;
}

test('frames cross the VXLAN segment both ways; the first is flooded, the answer goes to the learned VTEP', async () => {
  const l = await lab();
  try {
    const pa = l.prot.open('vxa');
    const pb = l.prot.open('vxb');
    const hello = frame(MAC_B, MAC_A, 'hello over vxlan');
    assert.equal(await pa.write(hello), NDIS_STATUS.SUCCESS);
    const got = await pb.read();
    assert.deepEqual(got, hello);
    assert.equal(l.va.stats.flooded, 1, 'B is unknown to A: flooded');
    // B learned A's address behind A's VTEP (127.0.0.2, the VXLAN port).
    const entry = l.vb.fdb.lookup(0x02000000_0a0a);
    assert.ok(entry !== undefined, 'B learned A');
    assert.equal(entry.remote.address, '127.0.0.2');
    assert.equal(entry.remote.port, l.port);
    const reply = frame(MAC_A, MAC_B, 'and back');
    assert.equal(await pb.write(reply), NDIS_STATUS.SUCCESS);
    assert.deepEqual(await pa.read(), reply);
    assert.equal(l.vb.stats.flooded, 0, 'A is known to B: sent to its VTEP only');
    assert.equal(l.va.stats.ifHCInUcastPkts, 1);
    assert.equal(l.vb.stats.ifHCOutUcastPkts, 1);
  } finally {
    await l.ndis.shutdown();
  }
});

test('the datagram on the wire is RFC 7348: VNI with the I flag, inner frame intact, source port from the dynamic range', async () => {
  const l = await lab();
  const peer = await peerSocket(l.port);
  try {
    l.va.vtep.addRemote(parseEndpoint(`127.0.0.4:${l.port}`));
    const pa = l.prot.open('vxa');
    const f = frame(BROADCAST_MAC, MAC_A, 'to everyone');
    await pa.write(f);
    await waitFor('the peer to get the flood', () => peer.got.length === 1);
    const { msg, rinfo } = peer.got[0]!;
    assert.equal(rinfo.address, '127.0.0.2');
    assert.ok(rinfo.port >= 49152 && rinfo.port <= 65535, `source port ${rinfo.port} in 49152-65535`);
    assert.equal(msg[0], 0x08, 'flags: only I set');
    assert.deepEqual([...msg.subarray(1, 4)], [0, 0, 0]);
    assert.equal((msg[4]! << 16) | (msg[5]! << 8) | msg[6]!, VNI);
    assert.equal(msg[7], 0);
    assert.deepEqual(new Uint8Array(msg.subarray(8)), f);
    // B got the same broadcast.
    assert.deepEqual(await l.prot.open('vxb').read(), f);
  } finally {
    peer.socket.close();
    await l.ndis.shutdown();
  }
});

test('outer source ports: one per inner flow, stable, spread across flows', async () => {
  const l = await lab({ sourcePorts: 8 });
  const peer = await peerSocket(l.port);
  try {
    l.va.vtep.addRemote(parseEndpoint(`127.0.0.4:${l.port}`));
    const pa = l.prot.open('vxa');
    const src = ip4('10.1.0.1');
    const dst = ip4('10.1.0.2');
    const flows = 32;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < flows; i++) await pa.write(udp4(BROADCAST_MAC, MAC_A, src, dst, 40000 + i, 7, new Uint8Array([round, i])));
    }
    await waitFor('every datagram', () => peer.got.length === 2 * flows);
    const portOf = new Map<number, Set<number>>();
    for (const { msg, rinfo } of peer.got) {
      const flow = msg[8 + 34 + 1]! | (msg[8 + 34]! << 8);
      if (!portOf.has(flow)) portOf.set(flow, new Set());
      portOf.get(flow)!.add(rinfo.port);
    }
    assert.equal(portOf.size, flows);
    for (const [flow, ports] of portOf) assert.equal(ports.size, 1, `flow ${flow} always leaves from one port`);
    const distinct = new Set([...portOf.values()].map((s) => [...s][0]));
    assert.ok(distinct.size >= 4, `32 flows over 8 sockets use ${distinct.size} source ports`);
    // The same hash the adapter used picks the same port for the same flow.
    const f0 = udp4(BROADCAST_MAC, MAC_A, src, dst, 40000, 7, new Uint8Array(2));
    const f0b = udp4(BROADCAST_MAC, MAC_A, src, dst, 40000, 7, new Uint8Array(50));
    assert.equal(innerFlowHash(f0, f0.length), innerFlowHash(f0b, f0b.length), 'payload does not change the flow hash');
  } finally {
    peer.socket.close();
    await l.ndis.shutdown();
  }
});

test('garbage datagrams are dropped and counted by reason; the adapter keeps working', async () => {
  const l = await lab();
  const peer = await peerSocket(l.port);
  try {
    const send = (bytes: Uint8Array): Promise<void> =>
      new Promise((resolve, reject) => peer.socket.send(bytes, l.port, '127.0.0.2', (e) => (e ? reject(e) : resolve())));
    const good = frame(MAC_A, MAC_B, 'valid inner frame');
    const header = (flags: number, vni: number): Uint8Array => new Uint8Array([flags, 0, 0, 0, vni >> 16, (vni >> 8) & 0xff, vni & 0xff, 0]);
    const join = (a: Uint8Array, b: Uint8Array): Uint8Array => {
      const x = new Uint8Array(a.length + b.length);
      x.set(a);
      x.set(b, a.length);
      return x;
    };
    await send(new Uint8Array([1, 2, 3])); // shorter than a VXLAN header
    await send(join(header(0x00, VNI), good)); // I flag clear
    await send(join(header(0x08, VNI + 1), good)); // another VNI
    await send(join(header(0x08, VNI), good.subarray(0, 10))); // inner runt
    await send(join(header(0x08, VNI), new Uint8Array(8 + 1450 + 14 + 1))); // larger than the MTU
    await send(new Uint8Array(0)); // empty datagram
    const s = l.va.stats;
    await waitFor('six datagrams', () => s.datagramsReceived === 6);
    assert.equal(s.garbage[WireReason.Truncated], 2);
    assert.equal(s.garbage[WireReason.VxlanNoVni], 1);
    assert.equal(s.wrongVni, 1);
    assert.equal(s.runts, 1);
    assert.equal(s.oversize, 1);
    assert.equal(s.ifInErrors, 5);
    assert.equal(s.ifInDiscards, 1);
    assert.equal(l.prot.open('vxa').queued, 0, 'nothing reached the protocol');
    // A valid datagram from the same peer still gets through, with the reserved bits ignored.
    const ok = join(header(0x08 | 0x80, VNI), good);
    ok[1] = 0xaa;
    ok[7] = 0x55;
    await send(ok);
    assert.deepEqual(await l.prot.open('vxa').read(), good);
    // OID_GEN_STATISTICS reports the same counters.
    const req = NdisOidRequest.query(OID.GEN_STATISTICS, 256);
    assert.equal(await l.ndis.requestOid(l.a, req), NDIS_STATUS.SUCCESS);
    const st = decodeStatistics(req.informationBuffer!)!;
    assert.equal(st.ifInErrors, 5);
    assert.equal(st.ifInDiscards, 1);
    assert.equal(st.ifHCInUcastPkts, 1);
  } finally {
    peer.socket.close();
    await l.ndis.shutdown();
  }
});

test('a burst of datagrams is indicated as NBL chains, not one NBL per indication', async () => {
  const l = await lab();
  const peer = await peerSocket(l.port);
  try {
    const bindings = new Map<string, RawBinding>();
    await l.ndis.registerProtocolDriver(rawProtocol(l.ndis, 'raw', [], bindings));
    const raw = bindings.get('vxa')!;
    const before = l.a.counters.receiveIndications;
    const n = 64;
    // All sent before the event loop turns: they arrive in one poll, one receive DPC indicates them.
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      for (let i = 0; i < n; i++) {
        const f = frame(MAC_A, MAC_B, `burst ${i}`);
        const d = new Uint8Array(8 + f.length);
        d.set([0x08, 0, 0, 0, (VNI >> 16) & 0xff, (VNI >> 8) & 0xff, VNI & 0xff, 0]);
        d.set(f, 8);
        peer.socket.send(d, l.port, '127.0.0.2', (e) => (e ? reject(e) : ++sent === n && resolve()));
      }
    });
    await waitFor('the burst', () => raw.received.length === n);
    const indications = l.a.counters.receiveIndications - before;
    assert.ok(indications < n / 4, `${n} frames in ${indications} indications`);
    assert.deepEqual(raw.received.map((f) => new TextDecoder().decode(f.subarray(14))), Array.from({ length: n }, (_, i) => `burst ${i}`));
  } finally {
    peer.socket.close();
    await l.ndis.shutdown();
  }
});

test('inner MTU is the underlay MTU less 50; a longer send completes with NDIS_STATUS_INVALID_LENGTH', async () => {
  const l = await lab();
  try {
    assert.equal(l.a.general!.mtuSize, 1450);
    const bindings = new Map<string, RawBinding>();
    await l.ndis.registerProtocolDriver(rawProtocol(l.ndis, 'raw', [], bindings));
    const raw = bindings.get('vxa')!;
    const max = new Uint8Array(14 + 1450);
    max.set(MAC_B, 0);
    max.set(MAC_A, 6);
    max[12] = 0x88;
    max[13] = 0xb5;
    const over = new Uint8Array(14 + 1451);
    over.set(max);
    l.ndis.sendNetBufferLists(raw.handle, nblFor(raw, max), 0, 0);
    l.ndis.sendNetBufferLists(raw.handle, nblFor(raw, over), 0, 0);
    await waitFor('two completions', () => raw.completed === 2);
    assert.deepEqual(raw.completionStatuses, [NDIS_STATUS.SUCCESS, NDIS_STATUS.INVALID_LENGTH]);
    assert.equal(l.va.stats.ifOutErrors, 1);
    const got = await l.prot.open('vxb').read();
    assert.equal(got.length, 1464);
  } finally {
    await l.ndis.shutdown();
  }
});

test('learned addresses age out after the aging time, then frames to them are flooded again', async () => {
  const l = await lab({ agingSeconds: 0.2 });
  try {
    const pa = l.prot.open('vxa');
    const pb = l.prot.open('vxb');
    await pa.write(frame(MAC_B, MAC_A, 'learn me'));
    await pb.read();
    assert.equal(l.vb.fdb.size, 1);
    await waitFor('the entry to age out', () => l.vb.fdb.size === 0, 2000);
    assert.equal(l.vb.fdb.counters.aged, 1);
    await pb.write(frame(MAC_A, MAC_B, 'flooded again'));
    await pa.read();
    assert.equal(l.vb.stats.flooded, 1);
  } finally {
    await l.ndis.shutdown();
  }
});

test('an IPv6 underlay: inner MTU 1430, frames both ways over ::1', async () => {
  for (let attempt = 0; ; attempt++) {
    const p1 = 20000 + Math.floor(Math.random() * 20000);
    const p2 = p1 + 1;
    const ndis = new Ndis({ mode: 'realtime' });
    try {
      const drv = new VxlanMiniportDriver(ndis);
      const prot = new NdisProt(ndis, { etherTypes: [], readTimeoutMs: 3000 });
      await prot.register();
      let a: MiniportBlock;
      try {
        // Different ports on one address: learning would send to the wrong port, so it is off.
        a = await drv.addAdapter('v6a', { vni: 7, local: `[::1]:${p1}`, remotes: [`[::1]:${p2}`], learning: false, mac: '02:00:00:00:0a:0a' });
        await drv.addAdapter('v6b', { vni: 7, local: `[::1]:${p2}`, remotes: [`[::1]:${p1}`], learning: false, mac: '02:00:00:00:0b:0b' });
      } catch (e) {
        if (attempt < 10 && String(e).includes('EADDRINUSE')) continue;
        throw e;
      }
      assert.equal(a.general!.mtuSize, 1430);
      const f = frame(MAC_B, MAC_A, 'over IPv6');
      await prot.open('v6a').write(f);
      assert.deepEqual(await prot.open('v6b').read(), f);
      const g = frame(MAC_A, MAC_B, 'and back over IPv6');
      await prot.open('v6b').write(g);
      assert.deepEqual(await prot.open('v6a').read(), g);
      return;
    } finally {
      await ndis.shutdown();
    }
  }
});

test('a pause with receives held upstream: the NBLs come back, frames arriving while paused are dropped and counted, restart resumes', async () => {
  const l = await lab();
  try {
    const bindings = new Map<string, RawBinding>();
    await l.ndis.registerProtocolDriver(rawProtocol(l.ndis, 'holder', [], bindings));
    const holder = bindings.get('vxb')!;
    holder.hold = true;
    const pa = l.prot.open('vxa');
    for (let i = 0; i < 5; i++) await pa.write(frame(MAC_B, MAC_A, `held ${i}`));
    await waitFor('five held NBLs', () => holder.held.count === 5);
    assert.equal(l.vb.outstandingRx, 5);
    assert.equal(l.vb.freeReceiveBuffers, 1024 - 5);
    // The stack pauses top down; the holder gives back what it holds when its binding pauses.
    await l.ndis.until(l.ndis.pauseStack(l.b, 0));
    assert.equal(l.vb.outstandingRx, 0);
    assert.equal(l.vb.freeReceiveBuffers, 1024);
    assert.equal(l.vb.running, false);
    const before = l.vb.stats.rcvNotReady;
    await pa.write(frame(MAC_B, MAC_A, 'while paused'));
    await waitFor('the drop while paused', () => l.vb.stats.rcvNotReady === before + 1);
    await l.ndis.until(l.ndis.restartStack(l.b));
    assert.equal(l.vb.running, true);
    await pa.write(frame(MAC_B, MAC_A, 'after restart'));
    await waitFor('delivery after restart', () => holder.held.count === 1);
    assert.equal(new TextDecoder().decode(holder.received.at(-1)!.subarray(14)), 'after restart');
  } finally {
    // Shutdown unbinds the holder (which returns its NBL) and halts the adapters; the runtime's
    // verifier throws if an NBL or pool is left behind.
    await l.ndis.shutdown();
  }
});

test('options are checked with messages that say what is wrong', async () => {
  const virtualTime = new Ndis();
  await assert.rejects(new VxlanMiniportDriver(virtualTime).addAdapter('x', {}), /realtime/);
  await virtualTime.shutdown();
  const ndis = new Ndis({ mode: 'realtime' });
  try {
    const drv = new VxlanMiniportDriver(ndis);
    await assert.rejects(drv.addAdapter('x', { vni: 1 << 24 }), /vni must be an integer from 0 to 16777215/);
    await assert.rejects(drv.addAdapter('x', { remotes: ['not-an-address'] }), /not an IPv4 or IPv6 address/);
    await assert.rejects(drv.addAdapter('x', { remotes: ['10.0.0.1:99999'] }), /port must be an integer/);
    await assert.rejects(drv.addAdapter('x', { local: '127.0.0.1:0', remotes: ['[::1]:4789'] }), /one adapter uses one underlay family/);
    await assert.rejects(drv.addAdapter('x', { mac: 'zz' }), /not a MAC address/);
    await assert.rejects(drv.addAdapter('x', { local: '192.0.2.123:0' }), /EADDRNOTAVAIL/);
    assert.equal(ndis.adapters.size, 0);
  } finally {
    await ndis.shutdown();
  }
});
