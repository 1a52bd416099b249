import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_MAC_OPTION,
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  Ndis,
  NdisMedium,
  NdisOidRequest,
  OID,
  emptyOffload,
  ulongBuffer,
  type BindContext,
  type MiniportBlock,
  type MiniportDriverCharacteristics,
  type NdisBindParameters,
  type NdisOffload,
  type OpenBlock,
  type ProtocolDriverCharacteristics,
} from '../../../../src/ndis/index.js';
import {
  NDIS_NBL_FLAGS,
  NDIS_NET_BUFFER_LIST_INFO,
  lsoTcpHeaderOffset,
  lsoType,
  lsoV1CompleteTcpPayload,
  lsoV1CompleteValue,
  lsoV1TransmitValue,
  NDIS_TCP_LARGE_SEND_OFFLOAD_V1_TYPE,
  ndisAllocateMdl,
  ndisFreeMdl,
  type NetBuffer,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../../src/nbl/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, intersectOffloads } from '../../../../src/drivers/im/index.js';
import { settle, until, fullVerifier } from './helpers.js';

/** A NIC with task offloads: it performs LSOv1 (reporting the TCP payload it sent) and completes sends from a timer. */
class OffloadNic {
  handle!: MiniportBlock;
  readonly sent: { bytes: number; lso: number }[] = [];
  constructor(readonly mac: Uint8Array, readonly offload: NdisOffload) {}
}

function lsoOffload(maxSize: number, checksum: boolean): NdisOffload {
  const o = emptyOffload();
  o.lsoV1.ipv4 = { encapsulation: 2, maxOffLoadSize: maxSize, minSegmentCount: 2, tcpOptions: 1, ipOptions: 1 };
  o.checksum.ipv4Transmit = { encapsulation: 2, ipOptionsSupported: 1, tcpOptionsSupported: 1, tcpChecksum: checksum ? 1 : 0, udpChecksum: 0, ipChecksum: checksum ? 1 : 0 };
  return o;
}

test('members with task offloads: the team advertises their intersection at bind, and LSO completion information comes back to the sender', async () => {
  const ndis = new Ndis({ verifier: fullVerifier() });
  const nics = new Map<string, OffloadNic>([
    ['n1', new OffloadNic(new Uint8Array([2, 0, 0, 0, 0x10, 1]), lsoOffload(64000, true))],
    ['n2', new OffloadNic(new Uint8Array([2, 0, 0, 0, 0x10, 2]), lsoOffload(32000, false))],
  ]);
  const mchars: MiniportDriverCharacteristics<OffloadNic> = {
    name: 'offload-nic',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    initializeEx(handle, _c, params) {
      const nic = nics.get(params.adapterName)!;
      nic.handle = handle;
      ndis.mSetMiniportAttributes(handle, { kind: 'registration', miniportAdapterContext: nic, attributeFlags: 0, checkForHangTimeInSeconds: 0, interfaceType: 0 });
      ndis.mSetMiniportAttributes(handle, {
        kind: 'general', flags: 0, mediaType: NdisMedium.NdisMedium802_3, physicalMediumType: 14, mtuSize: 1500,
        maxXmitLinkSpeed: 1e9, xmitLinkSpeed: 1e9, maxRcvLinkSpeed: 1e9, rcvLinkSpeed: 1e9,
        mediaConnectState: MediaConnectState.Connected, mediaDuplexState: MediaDuplexState.Full, lookaheadSize: 1500,
        macOptions: NDIS_MAC_OPTION.VLAN_8021Q, supportedPacketFilters: NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.PROMISCUOUS | NDIS_PACKET_TYPE.BROADCAST,
        maxMulticastListSize: 32, macAddressLength: 6, permanentMacAddress: nic.mac, currentMacAddress: nic.mac, recvScaleCapabilities: null,
        accessType: 1, directionType: 0, connectionType: 1, ifType: 6, ifConnectorPresent: false, supportedStatistics: 0, supportedPauseFunctions: 0,
        dataBackFillSize: 0, contextBackFillSize: 0, supportedOidList: [], autoNegotiationFlags: 0,
      });
      ndis.mSetMiniportAttributes(handle, { kind: 'offload', defaultOffloadConfiguration: nic.offload, hardwareOffloadCapabilities: nic.offload });
      return NDIS_STATUS.SUCCESS;
    },
    haltEx: () => undefined,
    pause: () => NDIS_STATUS.SUCCESS,
    restart: () => NDIS_STATUS.SUCCESS,
    oidRequest: (_n, r) => (r.oid === OID.GEN_CURRENT_PACKET_FILTER ? NDIS_STATUS.SUCCESS : NDIS_STATUS.NOT_SUPPORTED),
    sendNetBufferLists(nic, chain) {
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        const lso = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!;
        const nb = x.firstNetBuffer!;
        nic.sent.push({ bytes: nb.dataLength, lso });
        if (lso !== 0 && lsoType(lso) === NDIS_TCP_LARGE_SEND_OFFLOAD_V1_TYPE) {
          // The TCP payload sent: everything after the TCP header (20 bytes here).
          x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo] = lsoV1CompleteValue(nb.dataLength - lsoTcpHeaderOffset(lso) - 20);
        }
        x.status = NDIS_STATUS.SUCCESS;
      }
      const t = ndis.allocateTimerObject(nic.handle, () => {
        ndis.freeTimerObject(t);
        ndis.mSendNetBufferListsComplete(nic.handle, chain, 0);
      }, null);
      ndis.setTimerObject(t, -10_000);
    },
    returnNetBufferLists: () => undefined,
    cancelSend: () => undefined,
    devicePnPEventNotify: () => undefined,
    shutdownEx: () => undefined,
    cancelOidRequest: () => undefined,
  };
  const driver = ndis.registerMiniportDriver(mchars as MiniportDriverCharacteristics);
  // A protocol that keeps what it is told at bind and what comes back from its sends.
  const seen: { bound: NdisBindParameters | null } = { bound: null };
  let open: OpenBlock | null = null;
  let pool: NetBufferListPool | null = null;
  const completed: number[] = [];
  const pchars: ProtocolDriverCharacteristics<null> = {
    name: 'sender',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    bindAdapterEx(_c, bindContext, params) {
      const r = ndis.openAdapterEx([...ndis.protocolDrivers].find((p) => p.name === 'sender')!, null, { adapterName: params.adapterName, mediumArray: [0] }, bindContext as BindContext);
      seen.bound = params;
      open = r.bindingHandle;
      pool = ndis.allocateNetBufferListPool(open!, { fAllocateNetBuffer: true, poolTag: 'Sndr' });
      return r.status;
    },
    unbindAdapterEx(_u) {
      ndis.freeNetBufferListPool(pool!);
      return ndis.closeAdapterEx(open!);
    },
    openAdapterCompleteEx: () => undefined,
    closeAdapterCompleteEx: () => undefined,
    netPnPEvent: () => NDIS_STATUS.SUCCESS,
    oidRequestComplete: () => undefined,
    statusEx: () => undefined,
    receiveNetBufferLists: () => undefined,
    sendNetBufferListsComplete(_b, chain) {
      for (let x: NetBufferList | null = chain; x !== null; ) {
        const next: NetBufferList | null = x.next;
        completed.push(x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!);
        const mdl = x.firstNetBuffer!.mdlChain!;
        pool!.freeNetBufferList(x);
        ndisFreeMdl(mdl);
        x = next;
      }
    },
  };
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  await lbfo.createTeam({ name: 'team0', members: ['n1', 'n2'] });
  await ndis.addAdapter(driver, { name: 'n1', upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await ndis.addAdapter(driver, { name: 'n2', upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await lbfo.settled();
  await ndis.registerProtocolDriver(pchars as ProtocolDriverCharacteristics);
  assert.ok(seen.bound !== null && open !== null);
  const want = intersectOffloads([nics.get('n1')!.offload, nics.get('n2')!.offload])!;
  assert.deepEqual(seen.bound.defaultOffloadConfiguration, want, 'the bind parameters carry the intersection');
  assert.equal(want.lsoV1.ipv4.maxOffLoadSize, 32000);
  assert.equal(want.checksum.ipv4Transmit.tcpChecksum, 0);
  ndis.oidRequest(open!, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
  await settle(ndis);

  // Large sends over many flows: each comes back with the payload the member reports.
  const team0 = ndis.adapter('team0');
  const n = 32;
  const payloads: number[] = [];
  let head: NetBufferList | null = null;
  for (let i = n - 1; i >= 0; i--) {
    const payload = 3000 + i * 100;
    payloads.unshift(payload);
    const f = new Uint8Array(14 + 20 + 20 + payload);
    f.set([2, 0, 0, 0, 0, 0x99], 0);
    f.set(team0.currentMacAddress, 6);
    f.set([0x08, 0x00, 0x45], 12);
    // LSOv1: the IPv4 Total Length is that of the whole large packet.
    f[16] = (40 + payload) >> 8;
    f[17] = (40 + payload) & 0xff;
    f[22] = 64;
    f[23] = 6;
    f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
    f[34] = i;
    f[46] = 0x50; // TCP data offset: 20 bytes
    f[47] = 0x10; // ACK
    const nbl = pool!.allocateNetBufferAndNetBufferList(0, 0, ndisAllocateMdl(f), 0, f.length)!;
    nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo] = lsoV1TransmitValue(1460, 34);
    nbl.next = head;
    head = nbl;
  }
  ndis.sendNetBufferLists(open!, head!, 0, 0);
  await until(ndis, () => completed.length === n);
  assert.deepEqual(completed.map(lsoV1CompleteTcpPayload).sort((a, b) => a - b), payloads);
  const n1 = nics.get('n1')!.sent.length;
  const n2 = nics.get('n2')!.sent.length;
  assert.equal(n1 + n2, n);
  assert.ok(n1 > 0 && n2 > 0, `n1 ${n1}, n2 ${n2}`);
  assert.ok([...nics.values()].every((nic) => nic.sent.every((s) => lsoType(s.lso) === NDIS_TCP_LARGE_SEND_OFFLOAD_V1_TYPE && s.lso !== 0)), 'the members got the LSO information');
  await ndis.shutdown();
});

test('tagged receives: the tag comes out in place and the member gets its frame back as it was, or the frame is copied when the member marks it read-only', async () => {
  const ndis = new Ndis({ verifier: fullVerifier() });
  class TagNic {
    handle!: MiniportBlock;
    pool!: NetBufferListPool;
    returned: NetBufferList[] = [];
    readonly mac = new Uint8Array([2, 0, 0, 0, 0x20, 1]);
  }
  const nic = new TagNic();
  const mchars: MiniportDriverCharacteristics<TagNic> = {
    name: 'tag-nic',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    initializeEx(handle) {
      nic.handle = handle;
      ndis.mSetMiniportAttributes(handle, { kind: 'registration', miniportAdapterContext: nic, attributeFlags: 0, checkForHangTimeInSeconds: 0, interfaceType: 0 });
      ndis.mSetMiniportAttributes(handle, {
        kind: 'general', flags: 0, mediaType: NdisMedium.NdisMedium802_3, physicalMediumType: 14, mtuSize: 1500,
        maxXmitLinkSpeed: 1e9, xmitLinkSpeed: 1e9, maxRcvLinkSpeed: 1e9, rcvLinkSpeed: 1e9,
        mediaConnectState: MediaConnectState.Connected, mediaDuplexState: MediaDuplexState.Full, lookaheadSize: 1500,
        macOptions: 0, supportedPacketFilters: NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.PROMISCUOUS | NDIS_PACKET_TYPE.BROADCAST,
        maxMulticastListSize: 32, macAddressLength: 6, permanentMacAddress: nic.mac, currentMacAddress: nic.mac, recvScaleCapabilities: null,
        accessType: 1, directionType: 0, connectionType: 1, ifType: 6, ifConnectorPresent: false, supportedStatistics: 0, supportedPauseFunctions: 0,
        dataBackFillSize: 0, contextBackFillSize: 0, supportedOidList: [], autoNegotiationFlags: 0,
      });
      nic.pool = ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, poolTag: 'TagN' });
      return NDIS_STATUS.SUCCESS;
    },
    haltEx: (n) => ndis.freeNetBufferListPool(n.pool),
    pause: () => NDIS_STATUS.SUCCESS,
    restart: () => NDIS_STATUS.SUCCESS,
    oidRequest: (_n, r) => (r.oid === OID.GEN_CURRENT_PACKET_FILTER ? NDIS_STATUS.SUCCESS : NDIS_STATUS.NOT_SUPPORTED),
    sendNetBufferLists: (n, chain) => ndis.mSendNetBufferListsComplete(n.handle, chain, 0),
    returnNetBufferLists(n, chain) {
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) n.returned.push(x);
    },
    cancelSend: () => undefined,
    devicePnPEventNotify: () => undefined,
    shutdownEx: () => undefined,
    cancelOidRequest: () => undefined,
  };
  const driver = ndis.registerMiniportDriver(mchars as MiniportDriverCharacteristics);
  const received: Uint8Array[] = [];
  const held: NetBufferList[] = [];
  let open: OpenBlock | null = null;
  const pchars: ProtocolDriverCharacteristics<null> = {
    name: 'listener',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    bindAdapterEx(_c, bindContext, params) {
      const r = ndis.openAdapterEx([...ndis.protocolDrivers].find((p) => p.name === 'listener')!, null, { adapterName: params.adapterName, mediumArray: [0] }, bindContext as BindContext);
      open = r.bindingHandle;
      return r.status;
    },
    unbindAdapterEx: () => ndis.closeAdapterEx(open!),
    openAdapterCompleteEx: () => undefined,
    closeAdapterCompleteEx: () => undefined,
    netPnPEvent: () => NDIS_STATUS.SUCCESS,
    oidRequestComplete: () => undefined,
    statusEx: () => undefined,
    receiveNetBufferLists(_b, chain) {
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        const nb: NetBuffer = x.firstNetBuffer!;
        assert.equal(nb.mdlChain!.next, null, 'one MDL');
        const m = nb.currentMdl!;
        received.push(m.buffer.slice(m.byteOffset + nb.currentMdlOffset, m.byteOffset + nb.currentMdlOffset + nb.dataLength));
        held.push(x);
      }
    },
    sendNetBufferListsComplete: () => undefined,
  };
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  await lbfo.createVlans('tag0', [{ name: 'v7', vlanId: 7 }]);
  await ndis.addAdapter(driver, { name: 'tag0', upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await lbfo.settled();
  await ndis.registerProtocolDriver(pchars as ProtocolDriverCharacteristics);
  ndis.oidRequest(open!, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
  await settle(ndis);

  const frames = [0, 1].map((i) => {
    const f = new Uint8Array(80).fill(0x40 + i);
    f.set(nic.mac, 0);
    f.set([2, 0, 0, 0, 0, 0x77], 6);
    f.set([0x81, 0x00, 0xa0, 0x07, 0x88, 0xb5], 12); // priority 5, VLAN 7
    return f;
  });
  const memories = frames.map((f) => f.slice());
  const nbls = memories.map((mem, i) => {
    const nbl = nic.pool.allocateNetBufferAndNetBufferList(0, 0, ndisAllocateMdl(mem), 0, mem.length)!;
    nbl.sourceHandle = nic.handle;
    if (i === 1) nbl.nblFlags = NDIS_NBL_FLAGS.RECV_READ_ONLY;
    return nbl;
  });
  nbls[0]!.next = nbls[1]!;
  ndis.mIndicateReceiveNetBufferLists(nic.handle, nbls[0]!, 0, 2, 0);
  const untagged = frames.map((f) => Uint8Array.from([...f.subarray(0, 12), ...f.subarray(16)]));
  assert.deepEqual(received, untagged, 'the interface sees both frames without their tag');
  assert.deepEqual([...memories[1]!], [...frames[1]!], 'read-only data untouched (copied)');
  assert.deepEqual(nic.returned, [nbls[1]], 'the read-only frame went back at once; the other is still lent');
  assert.notDeepEqual([...memories[0]!], [...frames[0]!], 'the other was changed in place');
  held[0]!.next = null;
  ndis.returnNetBufferLists(open!, held[0]!, 0);
  ndis.returnNetBufferLists(open!, held[1]!, 0);
  assert.deepEqual(nic.returned, [nbls[1], nbls[0]]);
  assert.deepEqual([...memories[0]!], [...frames[0]!], 'and put back as it was');
  for (const x of nbls) {
    const mdl = x.firstNetBuffer!.mdlChain!;
    nic.pool.freeNetBufferList(x);
    ndisFreeMdl(mdl);
  }
  await ndis.shutdown();
});
