/**
 * The TAP miniport's adapter (its MiniportAdapterContext): an Ethernet NIC whose wire is a Linux TAP
 * interface. What the kernel transmits on the interface arrives as a batch from the TapDevice; each
 * frame passes the packet filter and is copied into a receive buffer preallocated at
 * initialization, and a receive DPC indicates the batch as one NBL chain. Sends are copied into a
 * transmit slab and handed to the kernel with one writeBatch per MiniportSendNetBufferLists call;
 * the kernel takes each frame in its write(), so the slab is free again at once and the NBLs
 * complete from a send-complete DPC.
 */
import {
  NDIS_RECEIVE_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  NblQueue,
  copyBytes,
  copyOutOfNetBuffer,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';
import {
  Dpc,
  MediaConnectState,
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  type MiniportBlock,
  type Ndis,
  type NdisStatus,
} from '../../../ndis/index.js';
import type { TapDevice, TapFrameBatch, TapStatistics } from './device.js';
import type { TapError } from './native.js';

/** Per-adapter statistics: the fields of NDIS_STATISTICS_INFO, then TAP-specific drop reasons. */
export class TapAdapterStatistics {
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
  /** Frames the packet filter rejected (not discards, as on a NIC). */
  rcvFiltered = 0;
  /** Frames that arrived while the adapter was not running. */
  rcvNotReady = 0;
  /** Frames shorter than an Ethernet header. */
  runts = 0;
  /** Frames longer than the MTU allows. */
  oversize = 0;
  /** Batches the device delivered. */
  batches = 0;
  /** Receive DPC runs that stopped at the throttle limit. */
  throttled = 0;
}

/** What the adapter reads from its configuration and the device it runs on. */
export interface TapAdapterOptions {
  device: TapDevice;
  mac: Uint8Array;
  mtu: number;
  linkSpeed: number;
  receiveBuffers: number;
  maxNblsPerIndicate: number;
  /** Frames per transmit batch (the transmit slab holds this many). */
  transmitBatch: number;
  processor: number;
}

const RUNNING = 0;
const PAUSING = 1;
const PAUSED = 2;
const HALTED = 3;

/** The MiniportAdapterContext of a TAP adapter. */
export class TapAdapter {
  readonly ndis: Ndis;
  readonly handle: MiniportBlock;
  readonly device: TapDevice;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly linkSpeed: number;
  readonly stats = new TapAdapterStatistics();
  packetFilter = 0;
  multicastList: Uint8Array[] = [];
  lookahead: number;
  readonly maxMulticast = 32;
  maxNblsPerIndicate: number;
  powerState = 1;
  /** Receive NBLs indicated and not yet returned. */
  outstandingRx = 0;
  /** False once reading failed (the interface went away); sends then complete with MEDIA_DISCONNECTED. */
  linkUp = true;
  /** The error that stopped reading, if any. */
  lastError: TapError | null = null;

  private state = PAUSED;
  private readonly pool: NetBufferListPool;
  private readonly rcbs: NetBufferList[] = [];
  private readonly freeRcbs = new NblQueue();
  private readonly rxQueue = new NblQueue();
  private readonly txDone = new NblQueue();
  private readonly rxDpc: Dpc;
  private readonly txDpc: Dpc;
  private readonly rcbSize: number;
  private readonly txSlab: Uint8Array;
  private readonly txDescriptors: Uint32Array;
  private readonly txSlotSize: number;
  private readonly txBatch: number;
  private readonly onBatch: (batch: TapFrameBatch) => void;

  constructor(ndis: Ndis, handle: MiniportBlock, o: TapAdapterOptions) {
    this.ndis = ndis;
    this.handle = handle;
    this.device = o.device;
    this.mac = o.mac;
    this.mtu = o.mtu;
    this.linkSpeed = o.linkSpeed;
    this.lookahead = o.mtu;
    this.maxNblsPerIndicate = o.maxNblsPerIndicate;
    this.rcbSize = o.mtu + 14 + 4;
    this.txSlotSize = (this.rcbSize + 7) & ~7;
    this.txBatch = o.transmitBatch;
    this.txSlab = new Uint8Array(this.txSlotSize * o.transmitBatch);
    this.txDescriptors = new Uint32Array(2 * o.transmitBatch);
    this.pool = ndis.allocateNetBufferListPool(handle, {
      fAllocateNetBuffer: true,
      dataSize: this.rcbSize,
      poolTag: 'TpRx',
      initialCount: o.receiveBuffers,
      maxCount: o.receiveBuffers,
    });
    for (let i = 0; i < o.receiveBuffers; i++) {
      const nbl = this.pool.allocateNetBufferList()!;
      this.rcbs.push(nbl);
      this.freeRcbs.enqueue(nbl);
    }
    this.rxDpc = new Dpc((_d, ctx) => (ctx as TapAdapter).receiveDpc(), this, `${handle.name}:rx`);
    this.rxDpc.processor = o.processor % ndis.scheduler.processorCount;
    this.txDpc = new Dpc((_d, ctx) => (ctx as TapAdapter).sendCompleteDpc(), this, `${handle.name}:txc`);
    this.txDpc.processor = this.rxDpc.processor;
    this.onBatch = (batch: TapFrameBatch): void => this.receiveBatch(batch);
    this.device.onError((e) => this.readFailed(e));
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
    return this.linkUp ? MediaConnectState.Connected : MediaConnectState.Disconnected;
  }

  /** The device's own counters (kernel-side drops included). */
  deviceStatistics(into?: TapStatistics): TapStatistics {
    return this.device.statistics(into);
  }

  // ---- receive ----

  /** A batch of frames from the kernel (the NIC's receive interrupt): filter, copy, queue, one DPC. */
  private receiveBatch(batch: TapFrameBatch): void {
    const s = this.stats;
    s.batches++;
    if (this.state !== RUNNING || this.powerState !== 1) {
      s.rcvNotReady += batch.count;
      return;
    }
    const src = batch.buffer;
    let queued = 0;
    for (let i = 0; i < batch.count; i++) {
      const at = batch.offset(i);
      const len = batch.length(i);
      if (len < 14) {
        s.runts++;
        s.ifInErrors++;
        continue;
      }
      if (len > this.rcbSize) {
        s.oversize++;
        s.ifInErrors++;
        continue;
      }
      const group = (src[at]! & 1) !== 0;
      const broadcast = group && src[at] === 0xff && src[at + 1] === 0xff && src[at + 2] === 0xff && src[at + 3] === 0xff && src[at + 4] === 0xff && src[at + 5] === 0xff;
      const pf = this.packetFilter;
      let accepted: boolean;
      if ((pf & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0) accepted = true;
      else if (!group) accepted = (pf & NDIS_PACKET_TYPE.DIRECTED) !== 0 && this.isOwnAddress(src, at);
      else if (broadcast) accepted = (pf & NDIS_PACKET_TYPE.BROADCAST) !== 0;
      else accepted = (pf & NDIS_PACKET_TYPE.ALL_MULTICAST) !== 0 || ((pf & NDIS_PACKET_TYPE.MULTICAST) !== 0 && this.inMulticastList(src, at));
      if (!accepted) {
        s.rcvFiltered++;
        continue;
      }
      const rcb = this.freeRcbs.dequeue();
      if (rcb === null) {
        s.rcvNoBuffer++;
        s.ifInDiscards++;
        continue;
      }
      const nb = rcb.firstNetBuffer!;
      const mdl = nb.mdlChain!;
      copyBytes(mdl.buffer, mdl.byteOffset, src, at, len);
      nb.currentMdl = mdl;
      nb.dataOffset = 0;
      nb.currentMdlOffset = 0;
      nb.dataLength = len;
      rcb.status = NDIS_STATUS.SUCCESS;
      if (broadcast) {
        s.ifHCInBroadcastPkts++;
        s.ifHCInBroadcastOctets += len;
      } else if (group) {
        s.ifHCInMulticastPkts++;
        s.ifHCInMulticastOctets += len;
      } else {
        s.ifHCInUcastPkts++;
        s.ifHCInUcastOctets += len;
      }
      this.rxQueue.enqueue(rcb);
      queued++;
    }
    if (queued > 0) this.ndis.queueDpc(this.rxDpc);
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

  /** MiniportSendNetBufferLists: every NET_BUFFER goes to the kernel in one write batch; completions from a DPC. */
  sendNetBufferLists(chain: NetBufferList): void {
    const s = this.stats;
    const slab = this.txSlab;
    const desc = this.txDescriptors;
    let count = 0;
    let nbl: NetBufferList | null = chain;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      let status: NdisStatus = NDIS_STATUS.SUCCESS;
      if (this.state !== RUNNING) status = NDIS_STATUS.PAUSED;
      else if (this.powerState !== 1) status = NDIS_STATUS.LOW_POWER_STATE;
      else if (!this.linkUp) status = NDIS_STATUS.MEDIA_DISCONNECTED;
      if (status === NDIS_STATUS.SUCCESS) {
        for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
          const len = nb.dataLength;
          if (len < 14 || len > this.rcbSize) {
            s.ifOutErrors++;
            status = NDIS_STATUS.INVALID_LENGTH;
            continue;
          }
          if (count === this.txBatch) count = this.flushTransmit(count);
          const at = count * this.txSlotSize;
          copyOutOfNetBuffer(nb, 0, slab, at, len);
          // Only an 802.1Q-tagged frame may exceed MTU + 14, by the 4 bytes of its tag.
          if (len > this.mtu + 14 && !(slab[at + 12] === 0x81 && slab[at + 13] === 0x00)) {
            s.ifOutErrors++;
            status = NDIS_STATUS.INVALID_LENGTH;
            continue;
          }
          desc[2 * count] = at;
          desc[2 * count + 1] = len;
          count++;
          const d0 = slab[at]!;
          if ((d0 & 1) === 0) {
            s.ifHCOutUcastPkts++;
            s.ifHCOutUcastOctets += len;
          } else if (d0 === 0xff && slab[at + 1] === 0xff && slab[at + 2] === 0xff && slab[at + 3] === 0xff && slab[at + 4] === 0xff && slab[at + 5] === 0xff) {
            s.ifHCOutBroadcastPkts++;
            s.ifHCOutBroadcastOctets += len;
          } else {
            s.ifHCOutMulticastPkts++;
            s.ifHCOutMulticastOctets += len;
          }
        }
      } else {
        s.ifOutDiscards++;
      }
      nbl.status = status;
      this.txDone.enqueue(nbl);
      nbl = next;
    }
    if (count > 0) this.flushTransmit(count);
    this.ndis.queueDpc(this.txDpc);
  }

  /** Writes the batched frames to the kernel; what it refuses is dropped and counted. Returns 0. */
  private flushTransmit(count: number): number {
    let sent = 0;
    try {
      sent = this.device.writeBatch(this.txSlab, this.txDescriptors, count);
    } catch {
      sent = 0; // the device was closed under us (halt or interface gone)
    }
    if (sent < count) this.stats.ifOutDiscards += count - sent;
    return 0;
  }

  private sendCompleteDpc(): void {
    const chain = this.txDone.takeAll();
    if (chain !== null) this.ndis.mSendNetBufferListsComplete(this.handle, chain, NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL);
    if (this.state === PAUSING) this.checkPauseDone();
  }

  // ---- control ----

  /** Reading stopped on an error (the interface was deleted or moved away): the link goes down. */
  private readFailed(e: TapError): void {
    this.lastError = e;
    if (!this.linkUp || this.state === HALTED) return;
    this.linkUp = false;
    this.ndis.mIndicateStatusEx(this.handle, this.ndis.linkStateIndication(this.handle, false, this.linkSpeed));
  }

  /** MiniportRestart: starts reading from the device. */
  restart(): NdisStatus {
    this.state = RUNNING;
    if (!this.device.closed && this.linkUp) this.device.onFrames(this.onBatch);
    return NDIS_STATUS.SUCCESS;
  }

  /**
   * MiniportPause: stops reading (frames wait in the kernel's queue), drops what was read and not
   * indicated, and finishes when every indicated NBL is back and every send completed.
   */
  pause(): NdisStatus {
    this.state = PAUSING;
    if (!this.device.closed) this.device.onFrames(null);
    let x = this.rxQueue.takeAll();
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.recycle(x);
      x = next;
    }
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    if (this.isIdle()) {
      this.state = PAUSED;
      return NDIS_STATUS.SUCCESS;
    }
    return NDIS_STATUS.PENDING;
  }

  private isIdle(): boolean {
    return this.outstandingRx === 0 && this.txDone.isEmpty;
  }

  private checkPauseDone(): void {
    if (this.isIdle()) {
      this.state = PAUSED;
      this.ndis.mPauseComplete(this.handle);
    }
  }

  /** MiniportHaltEx: closes the device and frees everything allocated at initialize. */
  halt(): void {
    this.state = HALTED;
    this.device.onError(null);
    this.device.close();
    this.ndis.scheduler.removeQueuedDpc(this.rxDpc);
    this.ndis.scheduler.removeQueuedDpc(this.txDpc);
    for (const nbl of this.rcbs) this.pool.freeNetBufferList(nbl);
    this.ndis.freeNetBufferListPool(this.pool);
  }
}
