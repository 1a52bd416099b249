/**
 * Test support for the tcpip driver: a small test miniport ("lab") whose adapters
 *  - capture every frame the stack sends (bytes and OOB info) and complete the sends from a DPC;
 *  - indicate frames the test injects, split across MDLs at chosen points (NDIS 6.1 multi-MDL
 *    receive, header-data split) with chosen receive flags and checksum OOB info;
 *  - optionally sit on a VirtualHub next to virtual adapters, so that a real peer stack talks to a
 *    stack whose receive frames are split, and optionally advertise checksum and large-send
 *    offload and carry the requested offloads out in software before the frame goes on the wire;
 * plus builders for the two-host topologies over the virtual miniport.
 */
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_MAC_OPTION,
  NDIS_MINIPORT_ATTRIBUTES,
  NDIS_PACKET_TYPE,
  NDIS_STATISTICS_ALL_VALID,
  NDIS_STATUS,
  Ndis,
  NdisMedium,
  NdisPhysicalMedium,
  NdisRequestType,
  OID,
  Dpc,
  decodeMacList,
  emptyOffload,
  readUlong,
  type MiniportBlock,
  type MiniportDriverCharacteristics,
  type NdisOffload,
  type NdisOidRequest,
  type NdisOptions,
  type NdisStatus,
} from '../../../../src/ndis/index.js';
import {
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_CSUM_TX,
  NblQueue,
  csumTxTcpHeaderOffset,
  lsoMss,
  lsoType,
  lsoTcpHeaderOffset,
  ndisAllocateMdl,
  ndisFreeMdl,
  netBufferData,
  type Mdl,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../../src/nbl/index.js';
import { VirtualMiniportDriver, WireFrame, type VirtualHub } from '../../../../src/drivers/miniport/virtual/index.js';
import type { HubPort } from '../../../../src/drivers/miniport/virtual/hub.js';
import { TcpIp, type TcpIpOptions } from '../../../../src/drivers/protocol/tcpip/index.js';
import { internetChecksum, pseudoHeaderSum } from '../../../../src/wire/checksum.js';
import { parseIp, parseMac } from '../../../../src/wire/address.js';

/** A frame the stack sent, as the lab adapter captured it. */
export interface CapturedFrame {
  bytes: Uint8Array;
  /** TcpIpChecksumNetBufferListInfo of the NBL. */
  checksumInfo: number;
  /** TcpLargeSendNetBufferListInfo of the NBL. */
  lsoInfo: number;
  /** Stack time of the send. */
  at: number;
}

/** How to cut a received frame into MDLs: the offsets where each MDL after the first starts. */
export type SplitPolicy = (frame: Uint8Array) => { cuts: number[]; nblFlags: number };

/** Options of one lab adapter. */
export interface LabAdapterOptions {
  mac?: string;
  mtu?: number;
  /** Plug into this hub (frames go out to it and come in from it). */
  hub?: VirtualHub;
  /** How frames from the hub are split across MDLs (default: one MDL). */
  split?: SplitPolicy | null;
  /** Task offloads to advertise (NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES). */
  offload?: NdisOffload | null;
  /** Carry out requested checksum / LSO in software before the frame leaves (default true when offload is set). */
  performOffload?: boolean;
  /** Lookahead size reported (default the MTU). */
  lookahead?: number;
  /** Checksum OOB info to set on frames received from the hub (default 0). */
  rxChecksumInfo?: number;
  /** Fail OID_OFFLOAD_ENCAPSULATION even though offloads are advertised. */
  refuseOffloadEncapsulation?: boolean;
}

/** Options of one injected frame. */
export interface InjectOptions {
  /** MDL boundaries (offsets into the frame). */
  cuts?: number[];
  /** NET_BUFFER_LIST.NblFlags. */
  nblFlags?: number;
  /** TcpIpChecksumNetBufferListInfo of the NBL. */
  checksumInfo?: number;
  /** Indicate with NDIS_RECEIVE_FLAGS_RESOURCES. */
  resources?: boolean;
}

const RUNNING = 1;
const PAUSED = 0;

/** The MiniportAdapterContext of a lab adapter. */
export class LabAdapter implements HubPort {
  readonly portName: string;
  linkUp = true;
  state = PAUSED;
  readonly sent: CapturedFrame[] = [];
  /** Last OID_GEN_CURRENT_PACKET_FILTER and OID_802_3_MULTICAST_LIST set. */
  packetFilter = 0;
  multicast: Uint8Array[] = [];
  /** OIDs set, in order. */
  readonly oidsSet: number[] = [];
  /** Frames received from the hub (and indicated). */
  rxFromHub = 0;
  /** Receive NBLs indicated and not yet returned. */
  outstandingRx = 0;
  readonly pool: NetBufferListPool;
  private readonly txDone = new NblQueue();
  private readonly rxQueue: { frame: Uint8Array; opts: InjectOptions }[] = [];
  private readonly txDpc: Dpc;
  private readonly rxDpc: Dpc;
  private readonly wire = new WireFrame();

  constructor(
    readonly lab: LabMiniport,
    readonly handle: MiniportBlock,
    readonly mac: Uint8Array,
    readonly mtu: number,
    readonly options: LabAdapterOptions,
  ) {
    this.portName = handle.name;
    this.wire.from = this;
    this.pool = lab.ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, poolTag: 'Lab', initialCount: 16 });
    this.txDpc = new Dpc(() => this.completeSends(), null, `${handle.name}:txc`);
    this.rxDpc = new Dpc(() => this.indicateQueued(), null, `${handle.name}:rx`);
  }

  get ndis(): Ndis {
    return this.lab.ndis;
  }

  // ---- receive ----

  /**
   * Indicates `frame` now (NdisMIndicateReceiveNetBufferLists), split across MDLs at `cuts`. The
   * NBL comes back through MiniportReturnNetBufferLists, or at once under RESOURCES.
   */
  inject(frame: Uint8Array, opts: InjectOptions = {}): void {
    if (this.state !== RUNNING) throw new Error(`lab adapter ${this.portName} is not running`);
    const copy = frame.slice();
    const cuts = [...(opts.cuts ?? [])].filter((c) => c > 0 && c < copy.length).sort((a, b) => a - b);
    let first: Mdl | null = null;
    let last: Mdl | null = null;
    let at = 0;
    for (const end of [...cuts, copy.length]) {
      // Each piece in its own buffer, as header and data buffers of a split frame are.
      const piece = new Uint8Array(end - at + 16);
      piece.set(copy.subarray(at, end), 8);
      const m = ndisAllocateMdl(piece, 8, end - at);
      if (last === null) first = m;
      else last.next = m;
      last = m;
      at = end;
    }
    const nbl = this.pool.allocateNetBufferAndNetBufferList(0, 0, first, 0, copy.length)!;
    nbl.nblFlags = opts.nblFlags ?? 0;
    nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = opts.checksumInfo ?? 0;
    nbl.sourceHandle = this.handle;
    nbl.status = NDIS_STATUS.SUCCESS;
    const resources = opts.resources === true;
    if (!resources) this.outstandingRx++;
    // NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL says what is true: set from a DPC, clear from a test at PASSIVE_LEVEL.
    const irql = this.ndis.scheduler.irql === 2 ? NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL : 0;
    this.ndis.mIndicateReceiveNetBufferLists(this.handle, nbl, 0, 1, irql | (resources ? NDIS_RECEIVE_FLAGS.RESOURCES : 0));
    if (resources) this.recycle(nbl);
  }

  /** Indicates `frame` from a receive DPC (as a NIC interrupt would). */
  injectLater(frame: Uint8Array, opts: InjectOptions = {}): void {
    this.rxQueue.push({ frame: frame.slice(), opts });
    this.ndis.queueDpc(this.rxDpc);
  }

  private indicateQueued(): void {
    const items = this.rxQueue.splice(0);
    for (const { frame, opts } of items) if (this.state === RUNNING) this.inject(frame, opts);
  }

  /** MiniportReturnNetBufferLists. */
  returned(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      this.outstandingRx--;
      this.recycle(x);
      x = next;
    }
  }

  private recycle(nbl: NetBufferList): void {
    let m = nbl.firstNetBuffer!.mdlChain;
    this.pool.freeNetBufferList(nbl);
    while (m !== null) {
      const next: Mdl | null = m.next;
      m.next = null;
      ndisFreeMdl(m);
      m = next;
    }
  }

  /** HubPort: a frame from another adapter on the hub. */
  receiveFromWire(f: WireFrame): boolean {
    if (this.state !== RUNNING) return false;
    const bytes = new Uint8Array(f.wireLength);
    f.copyTo(bytes, 0);
    // Packet filter: directed to us, broadcast, or a multicast address in our list.
    const group = (bytes[0]! & 1) !== 0;
    if (!group && !bytes.subarray(0, 6).every((v, i) => v === this.mac[i])) return false;
    if (group && !bytes.subarray(0, 6).every((v) => v === 0xff) && !this.multicast.some((m) => m.every((v, i) => v === bytes[i]))) return false;
    this.rxFromHub++;
    const split = this.options.split ?? null;
    const s = split === null ? { cuts: [], nblFlags: 0 } : split(bytes);
    this.injectLater(bytes, { cuts: s.cuts, nblFlags: s.nblFlags, checksumInfo: this.options.rxChecksumInfo ?? 0 });
    return true;
  }

  // ---- send ----

  /** MiniportSendNetBufferLists: capture, carry out requested offloads, hand to the hub, complete from a DPC. */
  send(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      const csum = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
      const lso = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!;
      x.status = this.state === RUNNING ? NDIS_STATUS.SUCCESS : NDIS_STATUS.PAUSED;
      for (let nb = x.firstNetBuffer; nb !== null; nb = nb.next) {
        const bytes = netBufferData(nb);
        this.sent.push({ bytes, checksumInfo: csum, lsoInfo: lso, at: this.ndis.scheduler.nowMs() });
        if (this.options.hub !== undefined && x.status === NDIS_STATUS.SUCCESS) {
          const frames = this.options.performOffload === false ? [bytes] : softwareOffload(bytes, csum, lso);
          for (const f of frames) {
            this.wire.reset();
            this.wire.add(f, 0, f.length);
            this.options.hub.repeat(this.wire);
          }
        }
      }
      this.txDone.enqueue(x);
      x = next;
    }
    this.ndis.queueDpc(this.txDpc);
  }

  private completeSends(): void {
    const chain = this.txDone.takeAll();
    if (chain !== null) this.ndis.mSendNetBufferListsComplete(this.handle, chain, 0);
  }

  /** Sends still to complete. */
  get pendingCompletions(): number {
    return this.txDone.count;
  }

  // ---- control ----

  /** Plugs or unplugs the cable (NDIS_STATUS_LINK_STATE). */
  setLink(up: boolean): void {
    this.linkUp = up;
    this.ndis.mIndicateStatusEx(this.handle, this.ndis.linkStateIndication(this.handle, up));
  }

  /** Reports a new offload configuration (NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG). */
  indicateOffload(o: NdisOffload): void {
    this.ndis.mIndicateStatusEx(this.handle, {
      sourceHandle: this.handle,
      portNumber: 0,
      statusCode: NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG,
      flags: 0,
      destinationHandle: null,
      requestId: null,
      statusBuffer: null,
      statusObject: o,
    });
  }

  oid(r: NdisOidRequest): NdisStatus {
    if (r.requestType !== NdisRequestType.SetInformation) return NDIS_STATUS.NOT_SUPPORTED;
    this.oidsSet.push(r.oid);
    switch (r.oid) {
      case OID.GEN_CURRENT_PACKET_FILTER:
        this.packetFilter = readUlong(r) ?? 0;
        r.bytesRead = 4;
        return NDIS_STATUS.SUCCESS;
      case OID.P802_3_MULTICAST_LIST:
        this.multicast = r.informationBuffer === null ? [] : (decodeMacList(r.informationBuffer, r.informationBufferLength) ?? []);
        r.bytesRead = r.informationBufferLength;
        return NDIS_STATUS.SUCCESS;
      case OID.OFFLOAD_ENCAPSULATION:
        if (this.options.offload === undefined || this.options.offload === null) return NDIS_STATUS.NOT_SUPPORTED;
        if (this.options.refuseOffloadEncapsulation === true) return NDIS_STATUS.INVALID_PARAMETER;
        r.bytesRead = r.informationBufferLength;
        return NDIS_STATUS.SUCCESS;
      case OID.GEN_CURRENT_LOOKAHEAD:
        r.bytesRead = 4;
        return NDIS_STATUS.SUCCESS;
      default:
        return NDIS_STATUS.NOT_SUPPORTED;
    }
  }

  pause(): NdisStatus {
    this.state = PAUSED;
    this.rxQueue.length = 0;
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    this.completeSends();
    return NDIS_STATUS.SUCCESS;
  }

  restart(): NdisStatus {
    this.state = RUNNING;
    this.options.hub?.plug(this);
    return NDIS_STATUS.SUCCESS;
  }

  halt(): void {
    this.options.hub?.unplug(this);
    this.ndis.scheduler.removeQueuedDpc(this.txDpc);
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    this.ndis.freeNetBufferListPool(this.pool);
  }
}

/** The lab miniport driver. */
export class LabMiniport {
  readonly adapters = new Map<string, LabAdapter>();
  private readonly pending = new Map<string, LabAdapterOptions>();
  private count = 0;

  constructor(readonly ndis: Ndis) {
    const self = this;
    const chars = {
      name: 'lab',
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      initializeEx(handle) {
        return self.initialize(handle);
      },
      haltEx(a) {
        a.halt();
        self.adapters.delete(a.portName);
      },
      pause: (a) => a.pause(),
      restart: (a) => a.restart(),
      oidRequest: (a, r) => a.oid(r),
      sendNetBufferLists: (a, nbl) => a.send(nbl),
      returnNetBufferLists: (a, nbl) => a.returned(nbl),
      cancelSend: () => undefined,
      devicePnPEventNotify: () => undefined,
      shutdownEx: () => undefined,
      cancelOidRequest: () => undefined,
    } satisfies MiniportDriverCharacteristics<LabAdapter>;
    ndis.registerMiniportDriver(chars as MiniportDriverCharacteristics, this);
  }

  /** Adds a lab adapter named `name`. */
  async add(name: string, options: LabAdapterOptions = {}): Promise<LabAdapter> {
    this.pending.set(name, options);
    const driver = [...this.ndis.miniportDrivers].find((d) => d.name === 'lab')!;
    await this.ndis.addAdapter(driver, { name });
    return this.adapters.get(name)!;
  }

  private initialize(handle: MiniportBlock): NdisStatus {
    const o = this.pending.get(handle.name) ?? {};
    this.pending.delete(handle.name);
    const index = ++this.count;
    const mac = o.mac !== undefined ? parseMac(o.mac)! : new Uint8Array([2, 0x1a, 0xb0, 0, 0, index]);
    const mtu = o.mtu ?? 1500;
    const a = new LabAdapter(this, handle, mac, mtu, o);
    this.adapters.set(handle.name, a);
    const ndis = this.ndis;
    ndis.mSetMiniportAttributes(handle, { kind: 'registration', miniportAdapterContext: a, attributeFlags: NDIS_MINIPORT_ATTRIBUTES.NDIS_WDM, checkForHangTimeInSeconds: 0, interfaceType: 0 });
    ndis.mSetMiniportAttributes(handle, {
      kind: 'general',
      flags: 0,
      mediaType: NdisMedium.NdisMedium802_3,
      physicalMediumType: NdisPhysicalMedium.P802_3,
      mtuSize: mtu,
      maxXmitLinkSpeed: 1e10,
      xmitLinkSpeed: 1e10,
      maxRcvLinkSpeed: 1e10,
      rcvLinkSpeed: 1e10,
      mediaConnectState: MediaConnectState.Connected,
      mediaDuplexState: MediaDuplexState.Full,
      lookaheadSize: o.lookahead ?? mtu,
      macOptions: NDIS_MAC_OPTION.COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION.TRANSFERS_NOT_PEND | NDIS_MAC_OPTION.NO_LOOPBACK,
      supportedPacketFilters: NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.PROMISCUOUS | NDIS_PACKET_TYPE.ALL_MULTICAST,
      maxMulticastListSize: 32,
      macAddressLength: 6,
      permanentMacAddress: mac,
      currentMacAddress: mac,
      recvScaleCapabilities: null,
      accessType: 1,
      directionType: 0,
      connectionType: 1,
      ifType: 6,
      ifConnectorPresent: false,
      supportedStatistics: NDIS_STATISTICS_ALL_VALID,
      supportedPauseFunctions: 0,
      dataBackFillSize: 0,
      contextBackFillSize: 0,
      supportedOidList: [OID.GEN_CURRENT_PACKET_FILTER, OID.P802_3_MULTICAST_LIST, OID.OFFLOAD_ENCAPSULATION],
      autoNegotiationFlags: 0,
    });
    if (o.offload !== undefined && o.offload !== null) {
      ndis.mSetMiniportAttributes(handle, { kind: 'offload', defaultOffloadConfiguration: o.offload, hardwareOffloadCapabilities: o.offload });
    }
    return NDIS_STATUS.SUCCESS;
  }
}

/** An NDIS_OFFLOAD advertising Ethernet checksum offload (IPv4, TCP, UDP; both families) and LSOv2 up to `lso` bytes (0: none). */
export function offloadConfig(lso = 0): NdisOffload {
  const o = emptyOffload();
  const on = { encapsulation: 2, ipOptionsSupported: 1, tcpOptionsSupported: 1, tcpChecksum: 1, udpChecksum: 1, ipChecksum: 1 };
  o.checksum.ipv4Transmit = { ...on };
  o.checksum.ipv4Receive = { ...on };
  o.checksum.ipv6Transmit = { encapsulation: 2, ipExtensionHeadersSupported: 1, tcpOptionsSupported: 1, tcpChecksum: 1, udpChecksum: 1 };
  o.checksum.ipv6Receive = { ...o.checksum.ipv6Transmit };
  if (lso > 0) {
    o.lsoV2.ipv4 = { encapsulation: 2, maxOffLoadSize: lso, minSegmentCount: 2 };
    o.lsoV2.ipv6 = { encapsulation: 2, maxOffLoadSize: lso, minSegmentCount: 2, ipExtensionHeadersSupported: 0, tcpOptionsSupported: 1 };
  }
  return o;
}

/**
 * What a NIC does with the OOB requests of one send: LSOv2 segmentation (MSS, headers replicated,
 * sequence numbers advanced, IP lengths and checksums per segment, FIN/PSH on the last), and
 * checksum insertion (IPv4 header; TCP/UDP over the pseudo-header sum the transport left in the
 * field). Returns the frames that go on the wire.
 */
export function softwareOffload(frame: Uint8Array, csumInfo: number, lsoInfo: number): Uint8Array[] {
  if (lsoInfo !== 0 && lsoType(lsoInfo) === 1) {
    const mss = lsoMss(lsoInfo);
    const th = lsoTcpHeaderOffset(lsoInfo);
    const v4 = frame[12] === 0x08;
    const ipOff = 14;
    const ihl = v4 ? (frame[ipOff]! & 0x0f) * 4 : 40;
    const thl = (frame[th + 12]! >>> 4) * 4;
    const payload = frame.subarray(th + thl);
    const seq0 = new DataView(frame.buffer, frame.byteOffset).getUint32(th + 4);
    const out: Uint8Array[] = [];
    for (let off = 0; off < payload.length; off += mss) {
      const n = Math.min(mss, payload.length - off);
      const f = new Uint8Array(th + thl + n);
      f.set(frame.subarray(0, th + thl));
      f.set(payload.subarray(off, off + n), th + thl);
      const dv = new DataView(f.buffer);
      dv.setUint32(th + 4, (seq0 + off) >>> 0);
      const last = off + n >= payload.length;
      if (!last) f[th + 13] = f[th + 13]! & ~0x09;
      if (off > 0) f[th + 13] = f[th + 13]! & ~0x80;
      if (v4) {
        dv.setUint16(ipOff + 2, ihl + thl + n);
        dv.setUint16(ipOff + 4, (dv.getUint16(ipOff + 4) + out.length) & 0xffff);
        dv.setUint16(ipOff + 10, 0);
        dv.setUint16(ipOff + 10, internetChecksum(f, ipOff, ihl));
      } else {
        dv.setUint16(ipOff + 4, thl + n);
      }
      const src = v4 ? mapped(f.subarray(ipOff + 12, ipOff + 16)) : f.slice(ipOff + 8, ipOff + 24);
      const dst = v4 ? mapped(f.subarray(ipOff + 16, ipOff + 20)) : f.slice(ipOff + 24, ipOff + 40);
      dv.setUint16(th + 16, 0);
      dv.setUint16(th + 16, internetChecksum(f, th, thl + n, pseudoHeaderSum(src, dst, 6, thl + n)));
      out.push(f);
    }
    return out;
  }
  if ((csumInfo & (NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IsIPv6)) !== 0) {
    const f = frame.slice();
    const dv = new DataView(f.buffer);
    const v4 = (csumInfo & NDIS_CSUM_TX.IsIPv4) !== 0;
    const ipOff = 14;
    const ihl = v4 ? (f[ipOff]! & 0x0f) * 4 : 40;
    if (v4 && (csumInfo & NDIS_CSUM_TX.IpHeaderChecksum) !== 0) {
      dv.setUint16(ipOff + 10, 0);
      dv.setUint16(ipOff + 10, internetChecksum(f, ipOff, ihl));
    }
    const l4 = (csumInfo & NDIS_CSUM_TX.TcpChecksum) !== 0 ? csumTxTcpHeaderOffset(csumInfo) : ipOff + ihl;
    const len = f.length - l4;
    if ((csumInfo & NDIS_CSUM_TX.TcpChecksum) !== 0) {
      // The field holds the pseudo-header sum: summing the segment over it gives the checksum.
      dv.setUint16(l4 + 16, internetChecksum(f, l4, len));
    } else if ((csumInfo & NDIS_CSUM_TX.UdpChecksum) !== 0) {
      const c = internetChecksum(f, l4, len);
      dv.setUint16(l4 + 6, c === 0 ? 0xffff : c);
    }
    return [f];
  }
  return [frame];
}

function mapped(v4: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a.set(v4, 12);
  return a;
}

/** A runtime with virtual adapters `a` and `b` on one hub and a stack on each (hosts A and B). */
export interface TwoHosts {
  ndis: Ndis;
  virt: VirtualMiniportDriver;
  A: TcpIp;
  B: TcpIp;
}

/** Builds two hosts on one hub: A (10.0.0.1, fd00::1) on adapter a, B (10.0.0.2, fd00::2) on b; waits for DAD. */
export async function twoHosts(options: { ndis?: NdisOptions; stack?: TcpIpOptions; mtu?: number; configure?: boolean } = {}): Promise<TwoHosts> {
  const ndis = new Ndis({ seed: 7, ...options.ndis });
  const virt = new VirtualMiniportDriver(ndis);
  const mtu = options.mtu ?? 1500;
  await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a', MTU: mtu });
  await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b', MTU: mtu });
  const A = new TcpIp(ndis, { name: 'hostA', adapters: ['a'], ...options.stack });
  const B = new TcpIp(ndis, { name: 'hostB', adapters: ['b'], ...options.stack });
  await A.register();
  await B.register();
  if (options.configure !== false) {
    A.configure('a', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
    B.configure('b', { ipv4: ['10.0.0.2/24'], ipv6: ['fd00::2/64'] });
    await A.ready('a');
    await B.ready('b');
  }
  return { ndis, virt, A, B };
}

/** A 16-byte address from text (test shorthand). */
export function ip(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

/** One host on a lab adapter: the stack, the adapter, the runtime. */
export interface LabHost {
  ndis: Ndis;
  lab: LabMiniport;
  adapter: LabAdapter;
  stack: TcpIp;
}

/**
 * A stack bound to one lab adapter (MAC 02:1a:b0:00:00:01), configured with 10.0.0.1/24 and
 * fd00::1/64 unless `configure` is false, and ready (DAD done). Captures are cleared when ready
 * unless `keepCaptures`.
 */
export async function labHost(
  options: { stack?: TcpIpOptions; adapter?: LabAdapterOptions; configure?: boolean; keepCaptures?: boolean; ndis?: NdisOptions } = {},
): Promise<LabHost> {
  const ndis = new Ndis({ seed: 5, ...options.ndis });
  const lab = new LabMiniport(ndis);
  const adapter = await lab.add('lab', { mac: '02:1a:b0:00:00:01', ...options.adapter });
  const stack = new TcpIp(ndis, { name: 'host', ...options.stack });
  await stack.register();
  if (options.configure !== false) {
    stack.configure('lab', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
    await stack.ready('lab');
  }
  if (options.keepCaptures !== true) adapter.sent.length = 0;
  return { ndis, lab, adapter, stack };
}

/** Frames the adapter sent whose EtherType is `type` (and, for IP, whose protocol byte is `proto`). */
export function sentOfType(a: LabAdapter, type: number, proto = -1): Uint8Array[] {
  return a.sent
    .map((f) => f.bytes)
    .filter((b) => ((b[12]! << 8) | b[13]!) === type && (proto < 0 || (type === 0x0800 ? b[23] === proto : b[20] === proto)));
}
