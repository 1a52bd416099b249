/**
 * The cost of the teaming intermediate driver on the data path: receives (a member indicates a
 * chain of 64 frames; the team clones them, indicates them on its interface, and returns them when
 * the protocol does) and sends (a protocol sends a chain of 64 on the team interface; the team
 * hashes each flow, clones it to a member, and completes the original when the member completes),
 * against the same work on the same runtime without the team (the protocol bound to an adapter
 * directly), measured in alternating rounds. Also the heap allocated per frame on each path.
 *
 *   node --expose-gc dist/bench/im-teaming.js [--json]
 */
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
  ThrowingVerifier,
  VERIFY_CHEAP,
  ulongBuffer,
  type MiniportBlock,
  type MiniportDriverCharacteristics,
  type OpenBlock,
  type ProtocolDriverCharacteristics,
} from '../src/ndis/index.js';
import { ndisAllocateMdl, type NetBufferList, type NetBufferListPool } from '../src/nbl/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE } from '../src/drivers/im/index.js';
import { compare, header, report, sink } from './lib/report.js';

const CHAIN = 64;
const FRAME = 128;

/** A miniport that indicates a prebuilt chain when asked and completes sends at once. */
class BenchAdapter {
  handle!: MiniportBlock;
  readonly mac: Uint8Array;
  readonly rx: NetBufferList[] = [];
  returned = 0;
  sent = 0;
  constructor(index: number) {
    this.mac = new Uint8Array([2, 0, 0, 0, 0xbe, index]);
  }
  /** Links the receive chain addressed to `dst` and indicates it (as a receive DPC would). */
  indicate(ndis: Ndis): void {
    const rx = this.rx;
    for (let i = 0; i < CHAIN; i++) rx[i]!.next = i + 1 < CHAIN ? rx[i + 1]! : null;
    ndis.mIndicateReceiveNetBufferLists(this.handle, rx[0]!, 0, CHAIN, 1);
  }
}

/** A protocol binding that reads one byte of each frame received, returns at once, and counts completions. */
class BenchBinding {
  handle!: OpenBlock;
  pool!: NetBufferListPool;
  acc = 0;
  completed = 0;
  tx: NetBufferList[] = [];
}

function frame(dst: Uint8Array, src: Uint8Array, i: number): Uint8Array {
  const f = new Uint8Array(FRAME);
  f.set(dst, 0);
  f.set(src, 6);
  f.set([0x08, 0x00, 0x45, 0, 0, FRAME - 14, 0, 0, 0x40, 0, 64, 17], 12);
  f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  f[34] = (i >> 8) | 0x80;
  f[35] = i & 0xff;
  f[37] = 53;
  return f;
}

export async function build(): Promise<{ ndis: Ndis; members: BenchAdapter[]; direct: BenchAdapter; team: BenchBinding; plain: BenchBinding; teamMac: Uint8Array }> {
  const ndis = new Ndis({ verifier: new ThrowingVerifier(VERIFY_CHEAP) });
  const adapters = new Map<string, BenchAdapter>();
  const mchars: MiniportDriverCharacteristics<BenchAdapter> = {
    name: 'bench-nic',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    initializeEx(handle, _c, params) {
      const a = adapters.get(params.adapterName)!;
      a.handle = handle;
      ndis.mSetMiniportAttributes(handle, { kind: 'registration', miniportAdapterContext: a, attributeFlags: 0, checkForHangTimeInSeconds: 0, interfaceType: 0 });
      ndis.mSetMiniportAttributes(handle, {
        kind: 'general', flags: 0, mediaType: NdisMedium.NdisMedium802_3, physicalMediumType: 14, mtuSize: 1500,
        maxXmitLinkSpeed: 1e10, xmitLinkSpeed: 1e10, maxRcvLinkSpeed: 1e10, rcvLinkSpeed: 1e10,
        mediaConnectState: MediaConnectState.Connected, mediaDuplexState: MediaDuplexState.Full, lookaheadSize: 1500,
        macOptions: NDIS_MAC_OPTION.VLAN_8021Q | NDIS_MAC_OPTION.PRIORITY_8021P,
        supportedPacketFilters: NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.PROMISCUOUS, maxMulticastListSize: 32, macAddressLength: 6,
        permanentMacAddress: a.mac, currentMacAddress: a.mac, recvScaleCapabilities: null, accessType: 1, directionType: 0, connectionType: 1,
        ifType: 6, ifConnectorPresent: false, supportedStatistics: 0, supportedPauseFunctions: 0, dataBackFillSize: 0, contextBackFillSize: 0,
        supportedOidList: [], autoNegotiationFlags: 0,
      });
      return NDIS_STATUS.SUCCESS;
    },
    haltEx: () => undefined,
    pause: () => NDIS_STATUS.SUCCESS,
    restart: () => NDIS_STATUS.SUCCESS,
    oidRequest: () => NDIS_STATUS.SUCCESS,
    sendNetBufferLists(a, chain) {
      let n = 0;
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        x.status = NDIS_STATUS.SUCCESS;
        n++;
      }
      a.sent += n;
      ndis.mSendNetBufferListsComplete(a.handle, chain, 1);
    },
    returnNetBufferLists(a) {
      a.returned++;
    },
    cancelSend: () => undefined,
    devicePnPEventNotify: () => undefined,
    shutdownEx: () => undefined,
    cancelOidRequest: () => undefined,
  };
  const nic = ndis.registerMiniportDriver(mchars as MiniportDriverCharacteristics);
  const bindings = new Map<string, BenchBinding>();
  const pchars: ProtocolDriverCharacteristics<BenchBinding> = {
    name: 'bench-proto',
    majorNdisVersion: 6,
    minorNdisVersion: 30,
    bindAdapterEx(_c, bindContext, params) {
      const b = new BenchBinding();
      const r = ndis.openAdapterEx([...ndis.protocolDrivers].find((p) => p.name === 'bench-proto')!, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext);
      b.handle = r.bindingHandle!;
      b.pool = ndis.allocateNetBufferListPool(b.handle, { fAllocateNetBuffer: true, poolTag: 'Bnch', initialCount: CHAIN });
      bindings.set(params.adapterName, b);
      return r.status;
    },
    unbindAdapterEx: (_u, b) => ndis.closeAdapterEx(b.handle),
    openAdapterCompleteEx: () => undefined,
    closeAdapterCompleteEx: () => undefined,
    netPnPEvent: () => NDIS_STATUS.SUCCESS,
    oidRequestComplete: () => undefined,
    statusEx: () => undefined,
    receiveNetBufferLists(b, chain) {
      let acc = 0;
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        const nb = x.firstNetBuffer!;
        const m = nb.currentMdl!;
        acc += m.buffer[m.byteOffset + nb.currentMdlOffset + 35]!;
      }
      b.acc += acc;
      ndis.returnNetBufferLists(b.handle, chain, 1);
    },
    sendNetBufferListsComplete(b, chain) {
      let n = 0;
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) n++;
      b.completed += n;
    },
  };
  await ndis.registerProtocolDriver(pchars as ProtocolDriverCharacteristics);
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'] });
  const members = [new BenchAdapter(1), new BenchAdapter(2)];
  adapters.set('m1', members[0]!);
  adapters.set('m2', members[1]!);
  const direct = new BenchAdapter(3);
  adapters.set('d1', direct);
  await ndis.addAdapter(nic, { name: 'm1', upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await ndis.addAdapter(nic, { name: 'm2', upperRange: [TEAM_MEMBER_UPPER_RANGE] });
  await ndis.addAdapter(nic, { name: 'd1' });
  await lbfo.settled();
  const team = bindings.get('team0')!;
  const plain = bindings.get('d1')!;
  for (const b of [team, plain]) await ndis.requestOid(b.handle.miniport, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
  ndis.oidRequest(team.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
  ndis.oidRequest(plain.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED)));
  const teamMac = team.handle.miniport.currentMacAddress;
  // Receive chains: m1 (the primary) receives frames for the team, d1 frames for itself.
  for (const [a, dst] of [[members[0]!, teamMac], [direct, direct.mac]] as const) {
    const pool = ndis.allocateNetBufferListPool(a.handle, { fAllocateNetBuffer: true, poolTag: 'BnRx', initialCount: CHAIN });
    for (let i = 0; i < CHAIN; i++) {
      const nbl = pool.allocateNetBufferAndNetBufferList(0, 0, ndisAllocateMdl(frame(dst, new Uint8Array([2, 0, 0, 0, 0, 0x99]), i)), 0, FRAME)!;
      nbl.sourceHandle = a.handle;
      a.rx.push(nbl);
    }
  }
  // Send chains: 64 flows each.
  for (const [b, src] of [[team, teamMac], [plain, direct.mac]] as const) {
    for (let i = 0; i < CHAIN; i++) b.tx.push(b.pool.allocateNetBufferAndNetBufferList(0, 0, ndisAllocateMdl(frame(new Uint8Array([2, 0, 0, 0, 0, 0x99]), src, i)), 0, FRAME)!);
  }
  return { ndis, members, direct, team, plain, teamMac };
}

export function sendChain(ndis: Ndis, b: BenchBinding): void {
  const tx = b.tx;
  for (let i = 0; i < CHAIN; i++) tx[i]!.next = i + 1 < CHAIN ? tx[i + 1]! : null;
  ndis.sendNetBufferLists(b.handle, tx[0]!, 0, 0);
}

/** Bytes of heap allocated per frame by `body(n)` (no collection in between; n frames). */
function heapPerFrame(body: (n: number) => void, frames: number): number {
  body(64);
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  body(frames / CHAIN);
  const after = process.memoryUsage().heapUsed;
  return Math.max(0, after - before) / frames;
}

export async function run(): Promise<void> {
  header('teaming intermediate driver (chains of 64)');
  const { ndis, members, direct, team, plain } = await build();
  // Data-path calls run at DISPATCH_LEVEL, as from DPCs.
  ndis.scheduler.irql = 2;
  const m1 = members[0]!;
  const rx = compare(
    (n) => {
      for (let i = 0; i < n; i++) m1.indicate(ndis);
      sink.value += team.acc;
    },
    (n) => {
      for (let i = 0; i < n; i++) direct.indicate(ndis);
      sink.value += plain.acc;
    },
    2_000,
  );
  report({ name: 'im.team.receive-64', unit: 'NBL/s', value: rx.a * CHAIN, baseline: 'same stack without the team', baselineValue: rx.b * CHAIN });
  const tx = compare(
    (n) => {
      for (let i = 0; i < n; i++) sendChain(ndis, team);
      sink.value += team.completed;
    },
    (n) => {
      for (let i = 0; i < n; i++) sendChain(ndis, plain);
      sink.value += plain.completed;
    },
    2_000,
  );
  report({ name: 'im.team.send-64', unit: 'NBL/s', value: tx.a * CHAIN, baseline: 'same stack without the team', baselineValue: tx.b * CHAIN });
  if (m1.sent === 0 || members[1]!.sent === 0) throw new Error('the sends did not spread over both members');
  const frames = 64 * 2000;
  const note = globalThis.gc === undefined ? { note: 'run with --expose-gc for exact figures' } : {};
  const rxTeam = heapPerFrame((n) => {
    for (let i = 0; i < n; i++) m1.indicate(ndis);
  }, frames);
  const rxPlain = heapPerFrame((n) => {
    for (let i = 0; i < n; i++) direct.indicate(ndis);
  }, frames);
  report({ name: 'im.team.receive-heap', unit: 'B/frame', value: rxTeam, baseline: 'same stack without the team', baselineValue: rxPlain, lowerIsBetter: true, ...note });
  const txTeam = heapPerFrame((n) => {
    for (let i = 0; i < n; i++) sendChain(ndis, team);
  }, frames);
  const txPlain = heapPerFrame((n) => {
    for (let i = 0; i < n; i++) sendChain(ndis, plain);
  }, frames);
  report({ name: 'im.team.send-heap', unit: 'B/frame', value: txTeam, baseline: 'same stack without the team', baselineValue: txPlain, lowerIsBetter: true, ...note });
  ndis.scheduler.irql = 0;
  ndis.scheduler.stop();
}

if (import.meta.url === `file://${process.argv[1]}`) void run();
