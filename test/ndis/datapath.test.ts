import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  Ndis,
  NdisOidRequest,
  OID,
  relativeDueTime,
  ulongBuffer,
  type NdisTimerObject,
} from '../../src/ndis/index.js';
import { NDIS_NBL_FLAGS, NDIS_RECEIVE_FLAGS, NDIS_SEND_FLAGS } from '../../src/nbl/index.js';
import { VirtualMiniportDriver } from '../../src/drivers/miniport/virtual/index.js';
import { PassthroughFilter } from '../../src/drivers/filter/passthrough/index.js';
import { ProgrammableMiniport } from '../../src/drivers/miniport/programmable/index.js';
import { rawProtocol, nblFor, type RawBinding } from './drivers.js';
import { frame, BROADCAST } from './helpers.js';

const MCAST = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0x07]);

function waitFor(ndis: Ndis, cond: () => boolean): Promise<void> {
  return ndis.until(new Promise<void>((r) => { const c = (): void => { if (cond()) r(); else setImmediate(c); }; c(); }));
}

test('each binding receives only what its packet filter accepts', async () => {
  const ndis = new Ndis();
  const log: string[] = [];
  const virt = new VirtualMiniportDriver(ndis);
  const p1 = new Map<string, RawBinding>();
  const p2 = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'directed', log, p1));
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'bcast', log, p2));
  const a = await virt.addAdapter('a');
  const b = await virt.addAdapter('b');
  const d = p1.get('b')!;
  const m = p2.get('b')!;
  ndis.oidRequest(d.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
  ndis.oidRequest(m.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.MULTICAST)));
  ndis.oidRequest(m.handle, NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, MCAST));
  d.received.length = 0;
  m.received.length = 0;
  const s = p1.get('a')!;
  for (const dst of [b.currentMacAddress, BROADCAST, MCAST, new Uint8Array([1, 0, 0x5e, 0, 0, 9]), new Uint8Array([2, 9, 9, 9, 9, 9])]) {
    ndis.sendNetBufferLists(s.handle, nblFor(s, frame(dst, a.currentMacAddress, 'x')), 0, 0);
  }
  await waitFor(ndis, () => s.completed === 5);
  await ndis.until(Promise.resolve());
  const dsts = (rb: RawBinding) => rb.received.map((f) => [...f.subarray(0, 6)].map((x) => x.toString(16)).join(':'));
  assert.deepEqual(dsts(d), ['2:0:0:0:0:2'], 'directed only');
  assert.deepEqual(dsts(m), ['ff:ff:ff:ff:ff:ff', '1:0:5e:0:0:7'], 'broadcast and the listed multicast group, not the other group');
  const vb = virt.adapter(b);
  assert.equal(vb.stats.rcvFiltered, 2, 'the NIC filtered the unlisted group and the foreign unicast');
  await ndis.shutdown();
});

test('NDIS loopback: CHECK_FOR_LOOPBACK or a promiscuous binding brings sends back, marked IS_LOOPBACK_PACKET, never to the sender unless asked', async () => {
  const ndis = new Ndis();
  const log: string[] = [];
  const pm = new ProgrammableMiniport(ndis);
  const p1 = new Map<string, RawBinding>();
  const p2 = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'sender', log, p1));
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'other', log, p2));
  const a = await pm.addAdapter('a');
  const sender = p1.get('a')!;
  const other = p2.get('a')!;
  const self = frame(a.options.mac, a.options.mac, 'to myself');
  const flags: number[] = [];
  const seen: number[] = [];
  other.onReceive = (nbl, f) => {
    seen.push(nbl.nblFlags);
    flags.push(f);
  };
  // 1. No loopback condition: the frame only goes to the wire.
  ndis.sendNetBufferLists(sender.handle, nblFor(sender, self), 0, 0);
  assert.equal(other.received.length, 0);
  // 2. CHECK_FOR_LOOPBACK: the other binding and the sender get it back.
  ndis.sendNetBufferLists(sender.handle, nblFor(sender, self), 0, NDIS_SEND_FLAGS.CHECK_FOR_LOOPBACK);
  assert.equal(other.received.length, 1);
  assert.equal(sender.received.length, 1, 'the sender asked for it');
  assert.ok((seen[0]! & NDIS_NBL_FLAGS.IS_LOOPBACK_PACKET) !== 0);
  assert.ok((flags[0]! & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0, 'the sender still owns it: indicated with RESOURCES');
  // 3. A promiscuous binding (with another binding present): every send loops back, but not to the sender.
  ndis.oidRequest(other.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.PROMISCUOUS)));
  ndis.sendNetBufferLists(sender.handle, nblFor(sender, frame(new Uint8Array([2, 7, 7, 7, 7, 7]), a.options.mac, 'elsewhere')), 0, 0);
  assert.equal(other.received.length, 2);
  assert.equal(sender.received.length, 1, 'no loopback to the sender without CHECK_FOR_LOOPBACK');
  // 4. NO_LOCAL: the promiscuous binding stops seeing local sends.
  ndis.oidRequest(other.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.PROMISCUOUS | NDIS_PACKET_TYPE.NO_LOCAL)));
  ndis.sendNetBufferLists(sender.handle, nblFor(sender, self), 0, NDIS_SEND_FLAGS.CHECK_FOR_LOOPBACK);
  assert.equal(other.received.length, 2);
  assert.equal(sender.received.length, 2);
  assert.equal(a.sentFrames.length, 4, 'every frame also went to the miniport');
  assert.equal(a.handle.counters.loopbackNbls, 3);
  await ndis.shutdown();
});

test('filters inserted and removed while traffic flows: every NBL is accounted for', async () => {
  const ndis = new Ndis({ seed: 3 });
  const log: string[] = [];
  const virt = new VirtualMiniportDriver(ndis);
  const bindings = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings));
  const a = await virt.addAdapter('a');
  const b = await virt.addAdapter('b');
  const sa = bindings.get('a')!;
  const rb = bindings.get('b')!;
  let sent = 0;
  let stop = false;
  // A sender in a periodic timer: 8 frames every millisecond, whatever state the stack is in.
  const timer: NdisTimerObject = ndis.allocateTimerObject(sa.handle, () => {
    if (stop) return;
    for (let i = 0; i < 8; i++) {
      if (!sa.running) break;
      ndis.sendNetBufferLists(sa.handle, nblFor(sa, frame(b.currentMacAddress, a.currentMacAddress, `n${sent}`)), 0, 0);
      sent++;
    }
  }, null, 'traffic');
  ndis.setTimerObject(timer, relativeDueTime(1), 1);
  const filters: PassthroughFilter[] = [];
  for (let round = 0; round < 6; round++) {
    await ndis.sleep(5);
    const f = new PassthroughFilter(ndis, { name: `f${round}`, filterClass: round % 2 === 0 ? 'diagnostic' : 'scheduler' });
    await f.register();
    filters.push(f);
    await ndis.sleep(5);
    if (round % 2 === 1) await ndis.deregisterFilterDriver(filters.shift()!.handle!);
  }
  await ndis.sleep(5);
  stop = true;
  ndis.cancelTimerObject(timer);
  ndis.freeTimerObject(timer);
  await waitFor(ndis, () => sa.completed === sent);
  await ndis.until(Promise.resolve());
  const ok = sa.completionStatuses.filter((s) => s === NDIS_STATUS.SUCCESS).length;
  const vb = virt.adapter(b);
  const droppedAtB = vb.stats.rcvNotReady + vb.stats.rcvNoBuffer + vb.stats.rcvFiltered;
  assert.ok(sent > 300, `traffic flowed (${sent} frames)`);
  assert.equal(sa.completed, sent, 'every send was completed to its sender');
  assert.equal(rb.received.length + droppedAtB, ok, 'every frame that left a was received by b or counted as dropped by b');
  assert.ok(rb.received.length > 0);
  assert.equal(vb.outstandingRx, 0, 'every receive NBL came back to the miniport');
  await ndis.shutdown(); // frees every pool; a leak throws here
});

test('halt waits for a binding that holds receives: its pause returns them first, then the miniport pauses and halts', async () => {
  const ndis = new Ndis();
  const log: string[] = [];
  const virt = new VirtualMiniportDriver(ndis);
  const bindings = new Map<string, RawBinding>();
  const chars = rawProtocol(ndis, 'raw', log, bindings);
  const basePnp = chars.netPnPEvent;
  // This protocol holds receives and, when paused, needs 50 ms to give them back.
  chars.netPnPEvent = (b, n) => {
    const rb = b as RawBinding | null;
    if (rb !== null && n.netEvent === 8 && !rb.held.isEmpty) {
      rb.running = false;
      const t = ndis.allocateTimerObject(rb.handle, () => {
        ndis.freeTimerObject(t);
        const chain = rb.held.takeAll();
        if (chain !== null) ndis.returnNetBufferLists(rb.handle, chain, 0);
        ndis.completeNetPnPEvent(rb.handle, n, NDIS_STATUS.SUCCESS);
      }, null);
      ndis.setTimerObject(t, relativeDueTime(50));
      return NDIS_STATUS.PENDING;
    }
    return basePnp(b, n);
  };
  await ndis.registerProtocolDriver(chars);
  const a = await virt.addAdapter('a');
  const b = await virt.addAdapter('b');
  const rb = bindings.get('b')!;
  rb.hold = true;
  const sa = bindings.get('a')!;
  for (let i = 0; i < 10; i++) ndis.sendNetBufferLists(sa.handle, nblFor(sa, frame(b.currentMacAddress, a.currentMacAddress, 'hold me')), 0, 0);
  await waitFor(ndis, () => rb.held.count === 10);
  assert.equal(virt.adapter(b).outstandingRx, 10);
  const t0 = ndis.scheduler.nowMs();
  ndis.events.length = 0;
  await ndis.removeAdapter(b);
  const order = ndis.events.map((e) => e.replace(/^[\d.]+ms /, ''));
  assert.deepEqual(order.slice(0, 3), ['raw->b: binding paused', 'b: miniport paused', 'raw->b: unbound']);
  assert.equal(order.at(-1), 'b: halted');
  assert.ok(ndis.scheduler.nowMs() - t0 >= 50, 'the halt waited for the binding');
  await ndis.shutdown();
});
