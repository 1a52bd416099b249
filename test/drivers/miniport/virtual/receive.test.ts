// The virtual miniport's receive-side assists on the wire: RSS (hash in the NBL, indication on the
// indirection table's processor, DISABLE_RSS), header-data split (every split clean for the
// checker, combine-all-headers), VMQ (queue life cycle by OID, filtering, DMA-stopped status),
// receive side throttle at 10/100/1000 NBLs per DPC, and NVGRE frames end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_STATUS, NdisOidRequest, OID } from '../../../../src/ndis/index.js';
import {
  NDIS_CSUM_RX,
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO as I,
  NDIS_RECEIVE_FLAGS,
  csumTxValue,
  filteringInfoFilterId,
  filteringInfoQueueId,
  sendOffloadsSupplementalValue,
} from '../../../../src/nbl/index.js';
import {
  decodeHdSplitCurrentConfig,
  decodeReceiveFilterParameters,
  decodeReceiveQueueAllocationCompleteArray,
  decodeReceiveQueueParameters,
  decodeReceiveQueueState,
  decodeReceiveScaleParameters,
  encodeHdSplitParameters,
  encodeReceiveFilterClearParameters,
  encodeReceiveFilterParameters,
  encodeReceiveQueueAllocationCompleteArray,
  encodeReceiveQueueFreeParameters,
  encodeReceiveQueueParameters,
  encodeReceiveScaleParameters,
  isDecodeError,
} from '../../../../src/ndis/structs-offload.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../../../src/offload/rss/toeplitz.js';
import * as H from '../../../../src/offload/rss/hash-types.js';
import { HdsCheck, HdsCheckScratch, checkHdsReceive, describeHdsCheck, NDIS_HD_SPLIT_CAPS } from '../../../../src/offload/hds/index.js';
import { NdisReceiveQueueOperationalState, NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO } from '../../../../src/offload/vmq/index.js';
import { FrameLayout, parseFrame } from '../../../../src/offload/layout.js';
import { byName, fixtures, hex, toHex } from '../../../offload/fixtures.js';
import { activateOffloads, offloadLab, settle } from './helpers.js';

const TABLE = [0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 2, 2, 3, 0, 0, 3];

function rssParams(flags = 0): Uint8Array {
  return encodeReceiveScaleParameters({
    revision: 2,
    flags,
    baseCpuNumber: 0,
    hashInformation: H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_IPV6 | H.NdisHashFunctionToeplitz,
    indirectionTable: TABLE,
    secretKey: Uint8Array.from(RSS_VERIFICATION_KEY),
    defaultProcessor: -1,
  });
}

/** The IPv4/TCP RSS fixture with other ports. */
function tcpFrame(sport: number, dport: number): Uint8Array {
  const f = hex(byName(fixtures.rss, 'ipv4-tcp').hex);
  f.set([0x02, 0x00, 0x5e, 0x10, 0x00, 0x02], 0);
  f[34] = sport >> 8;
  f[35] = sport & 0xff;
  f[36] = dport >> 8;
  f[37] = dport & 0xff;
  return f;
}

const hasher = new ToeplitzHasher(RSS_VERIFICATION_KEY);

void test('RSS: hash, type and function in each NBL; indication on the processor of its table entry; DISABLE_RSS', async () => {
  const lab = await offloadLab({ Processor: 1 });
  assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssParams())), NDIS_STATUS.SUCCESS);
  const rx = lab.probe.binding('b').received;
  const want: number[] = [];
  for (let i = 0; i < 64; i++) {
    const f = tcpFrame(1000 + i * 7, 443);
    lab.probe.send('a', f);
    want.push(hasher.hashIpv4Ports(f, 26, 30, 34) >>> 0);
  }
  const arp = hex(byName(fixtures.rss, 'arp').hex);
  arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  lab.probe.send('a', arp);
  await settle(lab);
  assert.equal(rx.length, 65);
  const cpus = new Set<number>();
  for (let i = 0; i < 64; i++) {
    const r = rx.find((x) => x.hashValue === want[i])!;
    assert.ok(r !== undefined, `frame ${i} hashed`);
    assert.equal(r.hashInfo, H.NDIS_HASH_TCP_IPV4 | H.NdisHashFunctionToeplitz);
    assert.equal(r.processor, TABLE[want[i]! & 15], `frame ${i} indicated on its RSS processor`);
    cpus.add(r.processor);
  }
  assert.equal(cpus.size, 4);
  const a = rx.find((x) => x.bytes[12] === 0x08 && x.bytes[13] === 0x06)!;
  assert.deepEqual([a.hashValue, a.hashInfo, a.processor], [0, 0, 1], 'a frame without a hash takes the default queue');
  // The parameters read back.
  const q = NdisOidRequest.query(OID.GEN_RECEIVE_SCALE_PARAMETERS, 1024);
  assert.equal(await lab.probe.oid('b', q), NDIS_STATUS.SUCCESS);
  const p = decodeReceiveScaleParameters(q.written());
  assert.ok(!isDecodeError(p));
  assert.deepEqual(p.indirectionTable, TABLE);
  // A bad table size is refused and changes nothing.
  const bad = encodeReceiveScaleParameters({ revision: 2, flags: 0, baseCpuNumber: 0, hashInformation: H.NDIS_HASH_IPV4 | 1, indirectionTable: [0, 1, 2], secretKey: Uint8Array.from(RSS_VERIFICATION_KEY), defaultProcessor: -1 });
  assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, bad)), NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssParams(0x0010))), NDIS_STATUS.SUCCESS);
  lab.probe.send('a', tcpFrame(5, 6));
  await settle(lab);
  const last = rx.at(-1)!;
  assert.deepEqual([last.hashValue, last.hashInfo, last.processor], [0, 0, 1]);
  await lab.ndis.shutdown();
});

void test('header-data split: splits at legal points only, every indication clean for the checker; combine-all-headers stops it', async () => {
  const lab = await offloadLab({}, {}, { '*HeaderDataSplit': 1 });
  const b = lab.probe.binding('b');
  b.hold = true;
  const scratch = new HdsCheckScratch();
  const all = NDIS_HD_SPLIT_CAPS.SUPPORTS_HEADER_DATA_SPLIT | NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV4_OPTIONS | NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV6_EXTENSION_HEADERS | NDIS_HD_SPLIT_CAPS.SUPPORTS_TCP_OPTIONS;
  const cfg = { lookahead: 1500, maxHeaderSize: 256, backfillSize: 256, capabilities: all, combineAllHeaders: false };
  for (const f of fixtures.hds) lab.probe.send('a', hex(f.hex));
  await settle(lab);
  assert.equal(b.received.length, fixtures.hds.length);
  let split = 0;
  fixtures.hds.forEach((f, i) => {
    const r = b.received[i]!;
    assert.equal(toHex(r.bytes).slice(0, f.hex.length), f.hex, f.name);
    const result = checkHdsReceive(r.nbl!, cfg, scratch);
    assert.equal(result, HdsCheck.Ok, `${f.name}: ${describeHdsCheck(result)}`);
    if (r.mdls.length === 2) {
      split++;
      assert.ok(r.mdls[0] === f.ulp || r.mdls[0] === f.payload || (f.name.includes('later-fragment') && r.mdls[0] === 34), f.name);
    }
  });
  // Every kind the rules allow to split was split (VLAN-tagged, ARP, IPv6 later fragment and ESP were not).
  assert.equal(split, fixtures.hds.length - 4);
  lab.probe.giveBack(b);
  const status = await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_HD_SPLIT_PARAMETERS, encodeHdSplitParameters({ hdSplitCombineFlags: 1 })));
  assert.equal(status, NDIS_STATUS.SUCCESS);
  const ind = b.statuses.find((s) => s.statusCode === NDIS_STATUS.HD_SPLIT_CURRENT_CONFIG)!;
  const c = decodeHdSplitCurrentConfig(ind.statusBuffer!);
  assert.ok(!isDecodeError(c));
  assert.equal(c.hdSplitCombineFlags, 1);
  const before = b.received.length;
  lab.probe.send('a', hex(byName(fixtures.hds, 'ipv4-tcp').hex));
  await settle(lab);
  const r = b.received[before]!;
  assert.equal(r.mdls.length, 1);
  assert.equal(checkHdsReceive(r.nbl!, { ...cfg, combineAllHeaders: true }, scratch), HdsCheck.Ok);
  lab.probe.giveBack(b);
  await lab.ndis.shutdown();
});

const VM_MAC = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x99];

function toMac(frame: Uint8Array, mac: number[]): Uint8Array {
  const f = frame.slice();
  f.set(mac, 0);
  return f;
}

void test('VMQ: queue allocated by OID, frames to a VM MAC steered to it with filtering info, freed after DMA stopped', async () => {
  const lab = await offloadLab({}, {}, { '*RssOrVmqPreference': 1, '*VMQ': 1 });
  const b = lab.probe.binding('b');
  const qp = { revision: 2, flags: 0, queueType: 1, queueId: 0, queueGroupId: 0, processorAffinity: 1 << 2, processorGroup: 0, numSuggestedReceiveBuffers: 64, msixTableEntry: 0, lookaheadSize: 0, vmName: 'vm1', queueName: 'vm1 queue', portId: 0, interruptCoalescingDomainId: 0 };
  const alloc = NdisOidRequest.method(OID.RECEIVE_FILTER_ALLOCATE_QUEUE, encodeReceiveQueueParameters(qp), 2048);
  assert.equal(await lab.probe.oid('b', alloc), NDIS_STATUS.SUCCESS);
  const allocated = decodeReceiveQueueParameters(alloc.written());
  assert.ok(!isDecodeError(allocated));
  const queueId = allocated.queueId;
  assert.ok(queueId > 0);
  const value = new Uint8Array(16);
  value.set(VM_MAC);
  const filter = NdisOidRequest.method(
    OID.RECEIVE_FILTER_SET_FILTER,
    encodeReceiveFilterParameters({ revision: 1, flags: 0, filterType: 1, queueId, filterId: 0, requestedFilterIdBitCount: 0, maxCoalescingDelay: 0, vPortId: 0, fields: [{ flags: NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO, frameHeader: 1, receiveFilterTest: 1, headerField: 1, fieldValue: value, resultValue: new Uint8Array(16) }] }),
    1024,
  );
  assert.equal(await lab.probe.oid('b', filter), NDIS_STATUS.SUCCESS);
  const fp = decodeReceiveFilterParameters(filter.informationBuffer!);
  assert.ok(!isDecodeError(fp));
  const filterId = fp.filterId;
  assert.ok(filterId > 0);
  const done = NdisOidRequest.method(OID.RECEIVE_FILTER_QUEUE_ALLOCATION_COMPLETE, encodeReceiveQueueAllocationCompleteArray([{ flags: 0, queueId, completionStatus: -1 }]), 64);
  assert.equal(await lab.probe.oid('b', done), NDIS_STATUS.SUCCESS);
  const statuses = decodeReceiveQueueAllocationCompleteArray(done.informationBuffer!);
  assert.ok(!isDecodeError(statuses));
  assert.equal(statuses[0]!.completionStatus, NDIS_STATUS.SUCCESS);
  const tcp = hex(byName(fixtures.hds, 'ipv4-tcp').hex);
  lab.probe.send('a', toMac(tcp, VM_MAC));
  lab.probe.send('a', tcp); // to b's own MAC: default queue
  lab.probe.send('a', toMac(tcp, [0x02, 0, 0, 0, 0, 0x77])); // nobody's
  await settle(lab);
  assert.equal(b.received.length, 2);
  const vm = b.received.find((r) => r.bytes[5] === 0x99)!;
  assert.equal(filteringInfoQueueId(vm.filteringInfo), queueId);
  assert.equal(filteringInfoFilterId(vm.filteringInfo), filterId);
  assert.equal(vm.processor, 2);
  assert.ok((vm.receiveFlags & NDIS_RECEIVE_FLAGS.SINGLE_QUEUE) !== 0);
  const own = b.received.find((r) => r.bytes[5] === 0x02)!;
  assert.equal(own.filteringInfo, 0);
  assert.equal(lab.adapterB.stats.rcvFiltered, 1);
  // Hold one indication on the queue, clear the filter, free the queue: the free waits for it.
  b.hold = true;
  lab.probe.send('a', toMac(tcp, VM_MAC));
  await settle(lab);
  assert.equal(b.held.length, 1);
  assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.RECEIVE_FILTER_CLEAR_FILTER, encodeReceiveFilterClearParameters(queueId, filterId))), NDIS_STATUS.SUCCESS);
  lab.probe.send('a', toMac(tcp, VM_MAC));
  await settle(lab);
  assert.equal(b.received.length, 3, 'no filter: the VM MAC is not accepted');
  let freed = false;
  const free = lab.probe.oid('b', NdisOidRequest.set(OID.RECEIVE_FILTER_FREE_QUEUE, encodeReceiveQueueFreeParameters(queueId))).then((s) => {
    freed = true;
    return s;
  });
  await settle(lab);
  assert.equal(freed, false, 'pending until the indication comes back');
  const st = b.statuses.find((s) => s.statusCode === NDIS_STATUS.RECEIVE_QUEUE_STATE)!;
  const qs = decodeReceiveQueueState(st.statusBuffer!);
  assert.ok(!isDecodeError(qs));
  assert.deepEqual([qs.queueId, qs.queueState], [queueId, NdisReceiveQueueOperationalState.DmaStopped]);
  lab.probe.giveBack(b);
  assert.equal(await free, NDIS_STATUS.SUCCESS);
  assert.equal(lab.adapterB.vmq!.queueCount, 0);
  await lab.ndis.shutdown();
});

void test('receive side throttle: at most MaxNblsToIndicate per DPC, MoreNblsPending runs it again', async () => {
  for (const max of [10, 100, 1000]) {
    const lab = await offloadLab({ '*RSS': 0 }, {}, { '*RSS': 0, ReceiveBuffers: 3000 });
    lab.throttle.maxNblsToIndicate = max;
    const total = 2500;
    const f = tcpFrame(1, 2);
    for (let i = 0; i < total; i++) lab.probe.send('a', f);
    await settle(lab);
    const b = lab.probe.binding('b');
    const q = lab.adapterB.defaultQueue;
    const runs = Math.ceil(total / max);
    assert.equal(b.received.length, total, `max ${max}`);
    assert.equal(q.indications, runs, `max ${max}: indications`);
    assert.equal(q.maxPerIndication, max, `max ${max}: largest indication`);
    assert.ok(b.indications.every((n) => n <= max));
    assert.equal(q.interrupt.runs, runs, `max ${max}: DPC runs`);
    assert.equal(q.interrupt.requeues, runs - 1, `max ${max}: MoreNblsPending`);
    assert.equal(lab.adapterB.stats.throttled, runs - 1);
    await lab.ndis.shutdown();
  }
});

void test('NVGRE end to end: encapsulated checksums on send, tunnel and transport validation and inner RSS on receive', async () => {
  const lab = await offloadLab();
  await activateOffloads(lab, 'a');
  await activateOffloads(lab, 'b');
  assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssParams())), NDIS_STATUS.SUCCESS);
  const layout = new FrameLayout();
  const inner = new FrameLayout();
  const names = ['outer4-inner4-tcp', 'outer6-inner4-udp', 'outer4-inner6-tcp'];
  for (const name of names) {
    const f = byName(fixtures.nvgre, name);
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    parseFrame(b, layout.innerFrameOffset, b.length - layout.innerFrameOffset, inner);
    if (layout.l3 === 1) b.fill(0, layout.l3Offset + 10, layout.l3Offset + 12);
    if (inner.l3 === 1) b.fill(0, inner.l3Offset + 10, inner.l3Offset + 12);
    const at = inner.l4Offset + (f.innerL4 === 'tcp' ? 16 : 6);
    b.fill(0, at, at + 2);
    lab.probe.send('a', b, {
      [I.TcpIpChecksumNetBufferListInfo]: csumTxValue((layout.l3 === 1 ? NDIS_CSUM_TX.IsIPv4 : NDIS_CSUM_TX.IsIPv6) | NDIS_CSUM_TX.IpHeaderChecksum | (f.innerL4 === 'tcp' ? NDIS_CSUM_TX.TcpChecksum : NDIS_CSUM_TX.UdpChecksum), 0),
      [I.TcpSendOffloadsSupplementalNetBufferListInfo]: sendOffloadsSupplementalValue(f.innerFrameOffset, inner.l3Offset - inner.frameOffset, inner.l4Offset - inner.l3Offset),
    });
  }
  await settle(lab);
  const rx = lab.probe.binding('b').received;
  assert.equal(rx.length, names.length);
  names.forEach((name, i) => {
    const f = byName(fixtures.nvgre, name);
    const r = rx[i]!;
    assert.equal(toHex(r.bytes).slice(0, f.hex.length), f.hex, name);
    const l4 = f.innerL4 === 'tcp' ? NDIS_CSUM_RX.TcpChecksumSucceeded : NDIS_CSUM_RX.UdpChecksumSucceeded;
    assert.equal(r.checksum, NDIS_CSUM_RX.IpChecksumSucceeded | l4, name);
    // Inner TCP over IPv4 and IPv6 is hashed on the inner 4-tuple; inner UDP (no UDP hash type
    // enabled) falls back to the tunnel 2-tuple.
    const t = r.hashInfo & H.NDIS_HASH_TYPE_MASK;
    if (name === 'outer4-inner4-tcp') assert.equal(t, H.NDIS_HASH_TCP_IPV4);
    else if (name === 'outer4-inner6-tcp') assert.equal(t, H.NDIS_HASH_TCP_IPV6);
    else assert.equal(t, H.NDIS_HASH_IPV6);
  });
  await lab.ndis.shutdown();
});
