/**
 * The virtual miniport's adapter (netvmini's MP_ADAPTER): initialization, pause/restart, halt,
 * and the receive and send data path over the in-memory hub. Receive buffers (RCBs) are NBLs
 * preallocated at initialization with room for a full frame; a frame from the hub is copied into
 * a free RCB (the "DMA"), queued, and indicated from a receive DPC in batches of at most
 * `maxNblsPerIndicate` (receive side throttle). Sends are copied onto the hub and completed from a
 * send-complete DPC.
 */
import {
  NDIS_RECEIVE_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  NDIS_NET_BUFFER_LIST_INFO,
  NblQueue,
  ieee8021QVlanId,
  ieee8021QUserPriority,
  ieee8021QValue,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';
import {
  Dpc,
  NDIS_STATUS,
  type NdisStatus,
  MediaConnectState,
  NDIS_PACKET_TYPE,
  relativeDueTime,
  type MiniportBlock,
  type Ndis,
  type NdisTimerObject,
} from '../../../ndis/index.js';
import { WireFrame, type HubPort, type VirtualHub } from './hub.js';

/** Per-adapter statistics, the fields of NDIS_STATISTICS_INFO plus drop reasons. */
export class VirtualStatistics {
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
  /** OID_GEN_RCV_NO_BUFFER: frames dropped for want of a free receive buffer. */
  rcvNoBuffer = 0;
  /** Frames the packet filter rejected (not counted as discards, as on a NIC). */
  rcvFiltered = 0;
  /** Frames too long for the MTU. */
  oversize = 0;
  /** Frames received while the adapter was not running. */
  rcvNotReady = 0;
  /** Frames received but not yet indicated when a pause began (dropped by the NIC). */
  rcvFlushedOnPause = 0;
  /** Receive indications made with NDIS_RECEIVE_FLAGS_RESOURCES. */
  lowResourceIndications = 0;
  /** Receive DPC runs that stopped at the throttle limit. */
  throttled = 0;
}

/** Adapter options (what the adapter reads from its configuration). */
export interface VirtualAdapterOptions {
  hub: VirtualHub;
  mac: Uint8Array;
  mtu: number;
  linkSpeed: number;
  receiveBuffers: number;
  maxNblsPerIndicate: number;
  /** Free receive buffers below which frames are indicated with NDIS_RECEIVE_FLAGS_RESOURCES (0 = never). */
  lowResourceThreshold: number;
  /** Strip 802.1Q tags into Ieee8021QNetBufferListInfo on receive (and insert OOB tags on send). */
  vlanOffload: boolean;
  processor: number;
}

const RUNNING = 0;
const PAUSING = 1;
const PAUSED = 2;

/** The MiniportAdapterContext of a virtual adapter. */
export class VirtualAdapter implements HubPort {
  readonly ndis: Ndis;
  readonly handle: MiniportBlock;
  readonly portName: string;
  readonly hub: VirtualHub;
  readonly mac: Uint8Array;
  readonly mtu: number;
  linkSpeed: number;
  linkUp = true;
  readonly stats = new VirtualStatistics();
  packetFilter = 0;
  multicastList: Uint8Array[] = [];
  lookahead: number;
  readonly maxMulticast = 32;
  maxNblsPerIndicate: number;
  readonly lowResourceThreshold: number;
  readonly vlanOffload: boolean;
  powerState = 1;

  private state = PAUSED;
  private readonly pool: NetBufferListPool;
  private readonly rcbs: NetBufferList[] = [];
  private readonly freeRcbs = new NblQueue();
  private readonly rxQueue = new NblQueue();
  private readonly txDone = new NblQueue();
  private readonly rxDpc: Dpc;
  private readonly txDpc: Dpc;
  private readonly pauseTimer: NdisTimerObject;
  private readonly frame = new WireFrame();
  /** Receive NBLs indicated and not yet returned. */
  outstandingRx = 0;
  private readonly rcbSize: number;

  constructor(ndis: Ndis, handle: MiniportBlock, o: VirtualAdapterOptions) {
    this.ndis = ndis;
    this.handle = handle;
    this.portName = handle.name;
    this.hub = o.hub;
    this.mac = o.mac;
    this.mtu = o.mtu;
    this.linkSpeed = o.linkSpeed;
    this.lookahead = o.mtu;
    this.maxNblsPerIndicate = o.maxNblsPerIndicate;
    this.lowResourceThreshold = o.lowResourceThreshold;
    this.vlanOffload = o.vlanOffload;
    this.rcbSize = o.mtu + 14 + 4;
    this.frame.from = this;
    this.pool = ndis.allocateNetBufferListPool(handle, {
      fAllocateNetBuffer: true,
      dataSize: this.rcbSize,
      poolTag: 'VmRx',
      initialCount: o.receiveBuffers,
      maxCount: o.receiveBuffers,
    });
    for (let i = 0; i < o.receiveBuffers; i++) {
      const nbl = this.pool.allocateNetBufferList()!;
      this.rcbs.push(nbl);
      this.freeRcbs.enqueue(nbl);
    }
    this.rxDpc = new Dpc((_d, ctx) => (ctx as VirtualAdapter).receiveDpc(), this, `${handle.name}:rx`);
    this.rxDpc.processor = o.processor % ndis.scheduler.processorCount;
    this.txDpc = new Dpc((_d, ctx) => (ctx as VirtualAdapter).sendCompleteDpc(), this, `${handle.name}:txc`);
    this.txDpc.processor = this.rxDpc.processor;
    this.pauseTimer = ndis.allocateTimerObject(handle, (_a, ctx) => (ctx as VirtualAdapter).checkPauseDone(), this, `${handle.name}:pause`);
  }

  get running(): boolean {
    return this.state === RUNNING;
  }

  /** Free receive buffers. */
  get freeReceiveBuffers(): number {
    return this.freeRcbs.count;
  }

  // ---- hub side (receive) ----

  /** The NIC receives a frame from the wire: filter, copy into a free RCB, queue, schedule the DPC. */
  receiveFromWire(frame: WireFrame): boolean {
    const s = this.stats;
    if (this.state !== RUNNING || this.powerState !== 1) {
      s.rcvNotReady++;
      return false;
    }
    const len = frame.wireLength;
    if (len > this.rcbSize || len < 14) {
      s.oversize++;
      s.ifInErrors++;
      return false;
    }
    // Packet filter, on the destination MAC (as HWIsFrameAcceptedByPacketFilter does).
    const d0 = frame.byteAt(0);
    const group = (d0 & 1) !== 0;
    let broadcast = false;
    let accepted: boolean;
    const pf = this.packetFilter;
    if ((pf & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0) {
      accepted = true;
      broadcast = group && this.isBroadcast(frame);
    } else if (!group) {
      accepted = (pf & NDIS_PACKET_TYPE.DIRECTED) !== 0 && this.matches(frame, this.mac);
    } else if ((broadcast = this.isBroadcast(frame))) {
      accepted = (pf & NDIS_PACKET_TYPE.BROADCAST) !== 0;
    } else {
      accepted = (pf & NDIS_PACKET_TYPE.ALL_MULTICAST) !== 0 || ((pf & NDIS_PACKET_TYPE.MULTICAST) !== 0 && this.multicastList.some((m) => this.matches(frame, m)));
    }
    if (!accepted) {
      s.rcvFiltered++;
      return false;
    }
    const rcb = this.freeRcbs.dequeue();
    if (rcb === null) {
      s.rcvNoBuffer++;
      s.ifInDiscards++;
      return false;
    }
    const nb = rcb.firstNetBuffer!;
    const mdl = nb.mdlChain!;
    const buf = mdl.buffer;
    let at = mdl.byteOffset;
    let n: number;
    if (this.vlanOffload && frame.vlanTci !== 0) {
      // Hardware strips the tag into the OOB.
      const tci = frame.vlanTci;
      frame.vlanTci = 0;
      n = frame.copyTo(buf, at);
      frame.vlanTci = tci;
      rcb.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(tci >> 13, tci & 0xfff);
    } else {
      n = frame.copyTo(buf, at);
      if (this.vlanOffload && n >= 18 && buf[at + 12] === 0x81 && buf[at + 13] === 0x00) {
        const tci = (buf[at + 14]! << 8) | buf[at + 15]!;
        buf.copyWithin(at + 4, at, at + 12);
        at += 4;
        n -= 4;
        rcb.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(tci >> 13, tci & 0xfff);
      }
    }
    // Short frames are padded to the Ethernet minimum of 60 bytes.
    while (n < 60) buf[at + n++] = 0;
    nb.currentMdl = mdl;
    nb.dataOffset = at - mdl.byteOffset;
    nb.currentMdlOffset = nb.dataOffset;
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
    return true;
  }

  private isBroadcast(f: WireFrame): boolean {
    for (let i = 0; i < 6; i++) if (f.byteAt(i) !== 0xff) return false;
    return true;
  }

  private matches(f: WireFrame, mac: Uint8Array): boolean {
    for (let i = 0; i < 6; i++) if (f.byteAt(i) !== mac[i]) return false;
    return true;
  }

  /** The receive DPC: indicates up to maxNblsPerIndicate frames as one chain; more → run again. */
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
    let flags = NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL | NDIS_RECEIVE_FLAGS.PERFECT_FILTERED;
    const low = this.lowResourceThreshold > 0 && this.freeRcbs.count < this.lowResourceThreshold;
    if (low) {
      flags |= NDIS_RECEIVE_FLAGS.RESOURCES;
      this.stats.lowResourceIndications++;
    } else {
      this.outstandingRx += n;
    }
    this.ndis.mIndicateReceiveNetBufferLists(this.handle, chain, 0, n, flags);
    if (low) {
      // The buffers are ours again as soon as the indication returns.
      let x: NetBufferList | null = chain;
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        this.recycle(x);
        x = next;
      }
    }
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
  }

  // ---- send ----

  /** MiniportSendNetBufferLists: each NET_BUFFER goes on the wire; completions come from a DPC. */
  sendNetBufferLists(chain: NetBufferList): void {
    const s = this.stats;
    let nbl: NetBufferList | null = chain;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      let status: NdisStatus = NDIS_STATUS.SUCCESS;
      if (this.state !== RUNNING) status = NDIS_STATUS.PAUSED;
      else if (this.powerState !== 1) status = NDIS_STATUS.LOW_POWER_STATE;
      else if (!this.linkUp) status = NDIS_STATUS.MEDIA_DISCONNECTED;
      if (status === NDIS_STATUS.SUCCESS) {
        const q = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
        for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
          const f = this.frame;
          f.reset();
          let left = nb.dataLength;
          let mdl = nb.currentMdl;
          let off = nb.currentMdlOffset;
          while (mdl !== null && left > 0) {
            const n = Math.min(mdl.byteCount - off, left);
            if (n > 0) f.add(mdl.buffer, mdl.byteOffset + off, n);
            left -= n;
            off = 0;
            mdl = mdl.next;
          }
          if (q !== 0) f.vlanTci = (ieee8021QUserPriority(q) << 13) | ieee8021QVlanId(q);
          const len = f.wireLength;
          if (len > this.mtu + 14 + (f.vlanTci !== 0 || this.frameHasTag(f) ? 4 : 0) || len < 14) {
            s.ifOutErrors++;
            status = NDIS_STATUS.INVALID_LENGTH;
            continue;
          }
          const d0 = f.byteAt(0);
          if ((d0 & 1) === 0) {
            s.ifHCOutUcastPkts++;
            s.ifHCOutUcastOctets += len;
          } else if (this.isBroadcast(f)) {
            s.ifHCOutBroadcastPkts++;
            s.ifHCOutBroadcastOctets += len;
          } else {
            s.ifHCOutMulticastPkts++;
            s.ifHCOutMulticastOctets += len;
          }
          this.hub.repeat(f);
        }
      } else {
        s.ifOutDiscards++;
      }
      nbl.status = status;
      this.txDone.enqueue(nbl);
      nbl = next;
    }
    this.ndis.queueDpc(this.txDpc);
  }

  private frameHasTag(f: WireFrame): boolean {
    return f.byteAt(12) === 0x81 && f.byteAt(13) === 0x00;
  }

  private sendCompleteDpc(): void {
    const chain = this.txDone.takeAll();
    if (chain !== null) this.ndis.mSendNetBufferListsComplete(this.handle, chain, NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL);
  }

  // ---- control ----

  /** MiniportRestart. */
  restart(): NdisStatus {
    this.state = RUNNING;
    this.hub.plug(this);
    return NDIS_STATUS.SUCCESS;
  }

  /** MiniportPause: stop taking frames, drop the receive queue, wait for sends and receives in flight. */
  pause(): NdisStatus {
    this.state = PAUSING;
    // Frames received but not yet indicated never leave the NIC.
    let x = this.rxQueue.takeAll();
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.stats.rcvFlushedOnPause++;
      this.stats.ifInDiscards++;
      this.recycle(x);
      x = next;
    }
    if (this.isIdle()) {
      this.state = PAUSED;
      return NDIS_STATUS.SUCCESS;
    }
    this.ndis.setTimerObject(this.pauseTimer, relativeDueTime(1));
    return NDIS_STATUS.PENDING;
  }

  private isIdle(): boolean {
    return this.outstandingRx === 0 && this.txDone.isEmpty;
  }

  private checkPauseDone(): void {
    if (this.state !== PAUSING) return;
    if (!this.txDone.isEmpty) this.sendCompleteDpc();
    if (this.isIdle()) {
      this.state = PAUSED;
      this.ndis.mPauseComplete(this.handle);
    } else {
      this.ndis.setTimerObject(this.pauseTimer, relativeDueTime(1));
    }
  }

  /** Plugs or unplugs the cable; indicates NDIS_STATUS_LINK_STATE. */
  setLink(up: boolean): void {
    if (this.linkUp === up) return;
    this.linkUp = up;
    this.ndis.mIndicateStatusEx(this.handle, this.ndis.linkStateIndication(this.handle, up, this.linkSpeed));
  }

  get mediaConnectState(): number {
    return this.linkUp ? MediaConnectState.Connected : MediaConnectState.Disconnected;
  }

  /** MiniportHaltEx: everything allocated at initialize is freed. */
  halt(): void {
    this.hub.unplug(this);
    this.ndis.cancelTimerObject(this.pauseTimer);
    this.ndis.freeTimerObject(this.pauseTimer);
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    this.ndis.scheduler.removeQueuedDpc(this.txDpc);
    for (const nbl of this.rcbs) this.pool.freeNetBufferList(nbl);
    this.ndis.freeNetBufferListPool(this.pool);
  }
}
