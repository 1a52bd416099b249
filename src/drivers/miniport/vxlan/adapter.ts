/**
 * The VXLAN miniport's adapter (its MiniportAdapterContext): an Ethernet NIC whose wire is a VXLAN
 * segment (RFC 7348). Receive: each datagram on the VTEP's socket is checked (header, I flag, VNI,
 * inner frame length), its inner source address is learned, the packet filter is applied, and the
 * inner frame is copied into a free receive buffer preallocated at initialization; a receive DPC
 * indicates what arrived as one NBL chain (so datagrams that arrive together travel up together).
 * Send: each NET_BUFFER is copied behind a VXLAN header into a transmit slot of the send socket its
 * inner flow hashes to, and sent to the VTEP its destination was learned behind, or flooded to the
 * static remote list; NBLs complete from a send-complete DPC. Garbage datagrams are dropped and
 * counted by reason, never thrown.
 */
import {
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  NblQueue,
  copyOutOfNetBuffer,
  ieee8021QUserPriority,
  ieee8021QValue,
  ieee8021QVlanId,
  type NetBuffer,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';
import {
  Dpc,
  MediaConnectState,
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  relativeDueTime,
  type MiniportBlock,
  type Ndis,
  type NdisStatus,
  type NdisTimerObject,
} from '../../../ndis/index.js';
import { VXLAN_HEADER_LENGTH, VxlanPacket, WIRE_REASON_COUNT, WireReason, emitVxlanHeader } from '../../../wire/index.js';
import { VxlanForwardingTable, macKey, type VxlanRemote } from './fdb.js';
import type { SendRing, Vtep, VtepReceiver } from './vtep.js';

/** Per-adapter statistics: the fields of NDIS_STATISTICS_INFO, then the VXLAN drop reasons. */
export class VxlanStatistics {
  ifHCInUcastPkts = 0;
  ifHCInMulticastPkts = 0;
  ifHCInBroadcastPkts = 0;
  ifHCInUcastOctets = 0;
  ifHCInMulticastOctets = 0;
  ifHCInBroadcastOctets = 0;
  ifHCOutUcastPkts = 0;
  ifHCOutMulticastPkts = 0;
  ifHCOutBroadcastPkts = 0;
  ifHCOutUcastOctets = 0;
  ifHCOutMulticastOctets = 0;
  ifHCOutBroadcastOctets = 0;
  ifInDiscards = 0;
  ifInErrors = 0;
  ifOutDiscards = 0;
  ifOutErrors = 0;
  /** Datagrams received on the VTEP's sockets. */
  datagramsReceived = 0;
  /** Garbage datagrams by WireReason (Truncated: shorter than a VXLAN header; VxlanNoVni: I flag clear). */
  readonly garbage = new Uint32Array(WIRE_REASON_COUNT);
  /** Well-formed datagrams of another VNI. */
  wrongVni = 0;
  /** Inner frames shorter than an Ethernet header. */
  runts = 0;
  /** Inner frames longer than the MTU allows. */
  oversize = 0;
  /** Inner frames whose source address is this adapter's (our own flood coming back). */
  ownSource = 0;
  /** OID_GEN_RCV_NO_BUFFER: frames dropped for want of a free receive buffer. */
  rcvNoBuffer = 0;
  /** Frames the packet filter rejected (not discards, as on a NIC). */
  rcvFiltered = 0;
  /** Frames that arrived while the adapter was not running. */
  rcvNotReady = 0;
  /** Receive DPC runs that stopped at the throttle limit. */
  throttled = 0;
  /** Frames flooded to the remote list (unknown unicast, broadcast, multicast). */
  flooded = 0;
  /** Frames that had nowhere to go (flood with an empty remote list). */
  noDestination = 0;
  /** Times a send waited for a free transmit slot. */
  txRingFull = 0;
}

/** What the adapter reads from its configuration and the VTEP it runs on. */
export interface VxlanAdapterOptions {
  vtep: Vtep;
  vni: number;
  mac: Uint8Array;
  /** Inner MTU (bytes of inner frame after the Ethernet header). */
  mtu: number;
  linkSpeed: number;
  receiveBuffers: number;
  maxNblsPerIndicate: number;
  learning: boolean;
  agingMs: number;
  fdbCapacity: number;
  /** Strip 802.1Q tags into Ieee8021QNetBufferListInfo on receive and insert OOB tags on send. */
  vlanOffload: boolean;
  processor: number;
}

const RUNNING = 0;
const PAUSING = 1;
const PAUSED = 2;
const HALTED = 3;

/** Bytes of an inner frame the flow hash may read (Ethernet + VLAN + IPv6 header + ports). */
const FLOW_HEADER_BYTES = 14 + 4 + 40 + 4;

/**
 * A 32-bit hash of an inner frame's flow (RFC 7348 section 5: the outer UDP source port comes from
 * a hash of the inner headers): IP addresses, protocol and TCP/UDP ports when the frame carries
 * IPv4 or IPv6, else the MAC addresses and EtherType. `b[0..len)` holds the frame's first bytes.
 */
export function innerFlowHash(b: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  let l3 = 14;
  let type = len >= 14 ? (b[12]! << 8) | b[13]! : 0;
  if (type === 0x8100 && len >= 18) {
    type = (b[16]! << 8) | b[17]!;
    l3 = 18;
  }
  let l4 = -1;
  if (type === 0x0800 && len >= l3 + 20) {
    const proto = b[l3 + 9]!;
    h = Math.imul(h ^ proto, 16777619);
    for (let i = l3 + 12; i < l3 + 20; i++) h = Math.imul(h ^ b[i]!, 16777619);
    const notFragment = ((b[l3 + 6]! & 0x3f) | b[l3 + 7]!) === 0;
    if ((proto === 6 || proto === 17) && notFragment) l4 = l3 + ((b[l3]! & 0x0f) << 2);
  } else if (type === 0x86dd && len >= l3 + 40) {
    const next = b[l3 + 6]!;
    h = Math.imul(h ^ next, 16777619);
    for (let i = l3 + 8; i < l3 + 40; i++) h = Math.imul(h ^ b[i]!, 16777619);
    if (next === 6 || next === 17) l4 = l3 + 40;
  } else {
    const n = len < 14 ? len : 14;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i]!, 16777619);
  }
  if (l4 >= 0 && len >= l4 + 4) for (let i = l4; i < l4 + 4; i++) h = Math.imul(h ^ b[i]!, 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The MiniportAdapterContext of a VXLAN adapter. */
export class VxlanAdapter implements VtepReceiver {
  readonly ndis: Ndis;
  readonly handle: MiniportBlock;
  readonly vtep: Vtep;
  readonly vni: number;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly linkSpeed: number;
  readonly stats = new VxlanStatistics();
  readonly fdb: VxlanForwardingTable;
  readonly learning: boolean;
  readonly vlanOffload: boolean;
  packetFilter = 0;
  multicastList: Uint8Array[] = [];
  lookahead: number;
  readonly maxMulticast = 32;
  maxNblsPerIndicate: number;
  powerState = 1;
  /** Receive NBLs indicated and not yet returned. */
  outstandingRx = 0;

  private state = PAUSED;
  private readonly macHi: number;
  private readonly macLo: number;
  private readonly pool: NetBufferListPool;
  private readonly rcbs: NetBufferList[] = [];
  private readonly freeRcbs = new NblQueue();
  private readonly rxQueue = new NblQueue();
  /** Sends waiting for a transmit slot, in order; the first may be partly sent. */
  private readonly txWait = new NblQueue();
  private readonly txDone = new NblQueue();
  private readonly rxDpc: Dpc;
  private readonly txDpc: Dpc;
  private readonly agingTimer: NdisTimerObject;
  private readonly rcbSize: number;
  private readonly vx = new VxlanPacket();
  private readonly flowBytes = new Uint8Array(FLOW_HEADER_BYTES);

  constructor(ndis: Ndis, handle: MiniportBlock, o: VxlanAdapterOptions) {
    this.ndis = ndis;
    this.handle = handle;
    this.vtep = o.vtep;
    this.vni = o.vni;
    this.mac = o.mac;
    this.macHi = (o.mac[0]! << 8) | o.mac[1]!;
    this.macLo = ((o.mac[2]! << 24) | (o.mac[3]! << 16) | (o.mac[4]! << 8) | o.mac[5]!) >>> 0;
    this.mtu = o.mtu;
    this.linkSpeed = o.linkSpeed;
    this.lookahead = o.mtu;
    this.maxNblsPerIndicate = o.maxNblsPerIndicate;
    this.learning = o.learning;
    this.vlanOffload = o.vlanOffload;
    this.fdb = new VxlanForwardingTable(o.agingMs, o.fdbCapacity);
    this.rcbSize = o.mtu + 14 + 4;
    this.pool = ndis.allocateNetBufferListPool(handle, {
      fAllocateNetBuffer: true,
      dataSize: this.rcbSize,
      poolTag: 'VxRx',
      initialCount: o.receiveBuffers,
      maxCount: o.receiveBuffers,
    });
    for (let i = 0; i < o.receiveBuffers; i++) {
      const nbl = this.pool.allocateNetBufferList()!;
      this.rcbs.push(nbl);
      this.freeRcbs.enqueue(nbl);
    }
    this.rxDpc = new Dpc((_d, ctx) => (ctx as VxlanAdapter).receiveDpc(), this, `${handle.name}:rx`);
    this.rxDpc.processor = o.processor % ndis.scheduler.processorCount;
    this.txDpc = new Dpc((_d, ctx) => (ctx as VxlanAdapter).sendDpc(), this, `${handle.name}:tx`);
    this.txDpc.processor = this.rxDpc.processor;
    this.agingTimer = ndis.allocateTimerObject(handle, (_a, ctx) => (ctx as VxlanAdapter).ageFdb(), this, `${handle.name}:fdb-aging`);
    const sweepMs = Math.max(50, Math.min(o.agingMs / 4, 10_000));
    ndis.setTimerObject(this.agingTimer, relativeDueTime(sweepMs), sweepMs);
    this.vtep.attach(this);
  }

  /** True while the adapter is Running. */
  get running(): boolean {
    return this.state === RUNNING;
  }

  /** Free receive buffers. */
  get freeReceiveBuffers(): number {
    return this.freeRcbs.count;
  }

  get mediaConnectState(): number {
    return MediaConnectState.Connected;
  }

  // ---- receive ----

  /** A datagram arrived on the VTEP (the NIC's receive interrupt); `source` is its outer source IP. */
  receiveDatagram(d: Buffer, source: string): void {
    const s = this.stats;
    s.datagramsReceived++;
    if (this.state !== RUNNING || this.powerState !== 1) {
      s.rcvNotReady++;
      return;
    }
    const vx = this.vx;
    const r = vx.wrap(d, 0, d.length);
    if (r !== WireReason.Ok) {
      s.garbage[r]!++;
      s.ifInErrors++;
      return;
    }
    if (vx.vni !== this.vni) {
      s.wrongVni++;
      s.ifInDiscards++;
      return;
    }
    const at = VXLAN_HEADER_LENGTH;
    const len = d.length - at;
    if (len < 14) {
      s.runts++;
      s.ifInErrors++;
      return;
    }
    const tagged = d[at + 12] === 0x81 && d[at + 13] === 0x00;
    if (len > this.mtu + 14 + (tagged ? 4 : 0)) {
      s.oversize++;
      s.ifInErrors++;
      return;
    }
    const srcGroup = (d[at + 6]! & 1) !== 0;
    if (!srcGroup) {
      const hi = (d[at + 6]! << 8) | d[at + 7]!;
      const lo = ((d[at + 8]! << 24) | (d[at + 9]! << 16) | (d[at + 10]! << 8) | d[at + 11]!) >>> 0;
      if (hi === this.macHi && lo === this.macLo) {
        s.ownSource++;
        s.ifInDiscards++;
        return;
      }
      if (this.learning) {
        const remote = this.vtep.remoteFor(source);
        if (remote !== null) this.fdb.learn(hi * 0x1_0000_0000 + lo, remote, this.ndis.scheduler.nowMs());
      }
    }
    // Packet filter on the inner destination address (HWIsFrameAcceptedByPacketFilter).
    const group = (d[at]! & 1) !== 0;
    const broadcast = group && d[at] === 0xff && d[at + 1] === 0xff && d[at + 2] === 0xff && d[at + 3] === 0xff && d[at + 4] === 0xff && d[at + 5] === 0xff;
    const pf = this.packetFilter;
    let accepted: boolean;
    if ((pf & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0) accepted = true;
    else if (!group) accepted = (pf & NDIS_PACKET_TYPE.DIRECTED) !== 0 && this.isOwnAddress(d, at);
    else if (broadcast) accepted = (pf & NDIS_PACKET_TYPE.BROADCAST) !== 0;
    else accepted = (pf & NDIS_PACKET_TYPE.ALL_MULTICAST) !== 0 || ((pf & NDIS_PACKET_TYPE.MULTICAST) !== 0 && this.inMulticastList(d, at));
    if (!accepted) {
      s.rcvFiltered++;
      return;
    }
    const rcb = this.freeRcbs.dequeue();
    if (rcb === null) {
      s.rcvNoBuffer++;
      s.ifInDiscards++;
      return;
    }
    const nb = rcb.firstNetBuffer!;
    const mdl = nb.mdlChain!;
    const buf = mdl.buffer;
    const start = mdl.byteOffset;
    let n = len;
    if (this.vlanOffload && tagged && len >= 18) {
      // The NIC strips the tag into the OOB: copy the addresses, skip the tag, copy the rest.
      const tci = (d[at + 14]! << 8) | d[at + 15]!;
      d.copy(buf, start, at, at + 12);
      d.copy(buf, start + 12, at + 16, d.length);
      n = len - 4;
      rcb.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(tci >> 13, tci & 0xfff);
    } else {
      d.copy(buf, start, at, d.length);
    }
    nb.currentMdl = mdl;
    nb.dataOffset = 0;
    nb.currentMdlOffset = 0;
    nb.dataLength = n;
    rcb.status = NDIS_STATUS.SUCCESS;
    if (broadcast) {
      s.ifHCInBroadcastPkts++;
      s.ifHCInBroadcastOctets += n;
    } else if (group) {
      s.ifHCInMulticastPkts++;
      s.ifHCInMulticastOctets += n;
    } else {
      s.ifHCInUcastPkts++;
      s.ifHCInUcastOctets += n;
    }
    this.rxQueue.enqueue(rcb);
    this.ndis.queueDpc(this.rxDpc);
  }

  private isOwnAddress(d: Uint8Array, at: number): boolean {
    const m = this.mac;
    for (let i = 0; i < 6; i++) if (d[at + i] !== m[i]) return false;
    return true;
  }

  private inMulticastList(d: Uint8Array, at: number): boolean {
    const list = this.multicastList;
    for (let k = 0; k < list.length; k++) {
      const m = list[k]!;
      let same = true;
      for (let i = 0; i < 6 && same; i++) same = d[at + i] === m[i];
      if (same) return true;
    }
    return false;
  }

  /** The receive DPC: indicates up to maxNblsPerIndicate frames as one chain; more → runs again. */
  private receiveDpc(): void {
    if (this.state !== RUNNING) return;
    const max = this.maxNblsPerIndicate;
    const chain = this.rxQueue.dequeueChain(max <= 0 ? 0x7fffffff : max);
    if (chain === null) return;
    let n = 0;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
      x.sourceHandle = this.handle;
      n++;
    }
    this.outstandingRx += n;
    this.ndis.mIndicateReceiveNetBufferLists(this.handle, chain, 0, n, NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL | NDIS_RECEIVE_FLAGS.PERFECT_FILTERED);
    if (!this.rxQueue.isEmpty) {
      this.stats.throttled++;
      this.ndis.queueDpc(this.rxDpc);
    }
  }

  private recycle(nbl: NetBufferList): void {
    nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = 0;
    nbl.nblFlags = 0;
    this.freeRcbs.enqueue(nbl);
  }

  /** MiniportReturnNetBufferLists. */
  returnNetBufferLists(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.outstandingRx--;
      this.recycle(x);
      x = next;
    }
    if (this.state === PAUSING) this.checkPauseDone();
  }

  // ---- send ----

  /** MiniportSendNetBufferLists: each NET_BUFFER is encapsulated and sent; completions come from a DPC. */
  sendNetBufferLists(chain: NetBufferList): void {
    let nbl: NetBufferList | null = chain;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      nbl.next = null;
      let status: NdisStatus = NDIS_STATUS.SUCCESS;
      if (this.state !== RUNNING) status = NDIS_STATUS.PAUSED;
      else if (this.powerState !== 1) status = NDIS_STATUS.LOW_POWER_STATE;
      if (status !== NDIS_STATUS.SUCCESS) {
        this.stats.ifOutDiscards++;
        nbl.status = status;
        this.txDone.enqueue(nbl);
      } else {
        nbl.status = NDIS_STATUS.SUCCESS;
        nbl.miniportReserved[0] = nbl.firstNetBuffer;
        if (!this.txWait.isEmpty || !this.transmit(nbl)) this.txWait.enqueue(nbl);
        else this.txDone.enqueue(nbl);
      }
      nbl = next;
    }
    this.ndis.queueDpc(this.txDpc);
  }

  /**
   * Sends the NET_BUFFERs of `nbl` from the one in miniportReserved[0] on. Returns false when a
   * transmit ring is full (the NBL waits, its cursor at the NET_BUFFER not yet sent).
   */
  private transmit(nbl: NetBufferList): boolean {
    const s = this.stats;
    const rings = this.vtep.rings;
    const flow = this.flowBytes;
    const q = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
    for (let nb = nbl.miniportReserved[0] as NetBuffer | null; nb !== null; nb = nb.next) {
      const len = nb.dataLength;
      const insertTag = q !== 0 && len >= 14;
      const wireLen = len + (insertTag ? 4 : 0);
      const headerBytes = copyOutOfNetBuffer(nb, 0, flow, 0, len < FLOW_HEADER_BYTES ? len : FLOW_HEADER_BYTES);
      const tagged = insertTag || (headerBytes >= 14 && flow[12] === 0x81 && flow[13] === 0x00);
      if (len < 14 || wireLen > this.mtu + 14 + (tagged ? 4 : 0)) {
        s.ifOutErrors++;
        nbl.status = NDIS_STATUS.INVALID_LENGTH;
        continue;
      }
      const ring: SendRing = rings.length === 1 ? rings[0]! : rings[innerFlowHash(flow, headerBytes) % rings.length]!;
      const off = ring.acquire();
      if (off < 0) {
        s.txRingFull++;
        ring.waiting = true;
        nbl.miniportReserved[0] = nb;
        return false;
      }
      const slab = ring.slab;
      emitVxlanHeader(slab, off, this.vni);
      const at = off + VXLAN_HEADER_LENGTH;
      if (insertTag) {
        copyOutOfNetBuffer(nb, 0, slab, at, 12);
        const tci = (ieee8021QUserPriority(q) << 13) | ieee8021QVlanId(q);
        slab[at + 12] = 0x81;
        slab[at + 13] = 0x00;
        slab[at + 14] = tci >> 8;
        slab[at + 15] = tci & 0xff;
        copyOutOfNetBuffer(nb, 12, slab, at + 16, len - 12);
      } else {
        copyOutOfNetBuffer(nb, 0, slab, at, len);
      }
      const total = VXLAN_HEADER_LENGTH + wireLen;
      const d0 = slab[at]!;
      let remote: VxlanRemote | null = null;
      if ((d0 & 1) === 0) {
        const e = this.fdb.lookup(macKey(slab, at));
        if (e !== undefined) remote = e.remote;
        s.ifHCOutUcastPkts++;
        s.ifHCOutUcastOctets += wireLen;
      } else if (d0 === 0xff && slab[at + 1] === 0xff && slab[at + 2] === 0xff && slab[at + 3] === 0xff && slab[at + 4] === 0xff && slab[at + 5] === 0xff) {
        s.ifHCOutBroadcastPkts++;
        s.ifHCOutBroadcastOctets += wireLen;
      } else {
        s.ifHCOutMulticastPkts++;
        s.ifHCOutMulticastOctets += wireLen;
      }
      if (remote !== null) {
        ring.send(off, total, remote);
        continue;
      }
      const list = this.vtep.floodList;
      if (list.length === 0) {
        ring.unacquire();
        s.noDestination++;
        continue;
      }
      s.flooded++;
      for (let i = 0; i < list.length; i++) ring.send(off, total, list[i]!);
    }
    nbl.miniportReserved[0] = null;
    return true;
  }

  /** A send ring freed slots: resume the waiting sends from the send DPC. */
  sendSlotsFreed(): void {
    if (!this.txWait.isEmpty) this.ndis.queueDpc(this.txDpc);
  }

  /** The send DPC: resumes sends that waited for slots, then completes what is done. */
  private sendDpc(): void {
    while (!this.txWait.isEmpty) {
      const nbl = this.txWait.head!;
      if (this.state !== RUNNING) {
        nbl.status = NDIS_STATUS.PAUSED;
        nbl.miniportReserved[0] = null;
      } else if (!this.transmit(nbl)) {
        break;
      }
      this.txDone.enqueue(this.txWait.dequeue()!);
    }
    const chain = this.txDone.takeAll();
    if (chain !== null) this.ndis.mSendNetBufferListsComplete(this.handle, chain, NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL);
    if (this.state === PAUSING) this.checkPauseDone();
  }

  // ---- control ----

  private ageFdb(): void {
    this.fdb.age(this.ndis.scheduler.nowMs());
  }

  /** MiniportRestart. */
  restart(): NdisStatus {
    this.state = RUNNING;
    return NDIS_STATUS.SUCCESS;
  }

  /**
   * MiniportPause: stop taking frames, drop what was received and not indicated, complete waiting
   * sends with NDIS_STATUS_PAUSED, and finish when every indicated NBL is back and every send
   * completed (NdisMPauseComplete from the return or send-complete path).
   */
  pause(): NdisStatus {
    this.state = PAUSING;
    let x = this.rxQueue.takeAll();
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.recycle(x);
      x = next;
    }
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    if (!this.txWait.isEmpty || !this.txDone.isEmpty) this.ndis.queueDpc(this.txDpc);
    if (this.isIdle()) {
      this.state = PAUSED;
      return NDIS_STATUS.SUCCESS;
    }
    return NDIS_STATUS.PENDING;
  }

  private isIdle(): boolean {
    return this.outstandingRx === 0 && this.txDone.isEmpty && this.txWait.isEmpty;
  }

  private checkPauseDone(): void {
    if (this.isIdle()) {
      this.state = PAUSED;
      this.ndis.mPauseComplete(this.handle);
    }
  }

  /** MiniportHaltEx: closes the VTEP and frees everything allocated at initialize. */
  halt(): void {
    this.state = HALTED;
    this.vtep.attach(null);
    this.vtep.close();
    this.ndis.cancelTimerObject(this.agingTimer);
    this.ndis.freeTimerObject(this.agingTimer);
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    this.ndis.scheduler.removeQueuedDpc(this.txDpc);
    for (const nbl of this.rcbs) this.pool.freeNetBufferList(nbl);
    this.ndis.freeNetBufferListPool(this.pool);
  }
}
