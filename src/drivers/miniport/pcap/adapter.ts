/**
 * The pcap miniport's adapter (its MiniportAdapterContext): an Ethernet NIC whose "wire" is a
 * capture file. Receive: the frames of the file arrive as if from a wire, as fast as the stack
 * takes them or at the file's own pace (scaled by a speed factor), through the packet filter into
 * receive buffers preallocated at initialization, indicated as NBL chains from a replay DPC. A
 * replay never loses a frame: when every receive buffer is up the stack, it waits for returns.
 * Send: each NET_BUFFER is written as an outbound Enhanced Packet Block to the output pcapng (or
 * only counted when there is none) and the NBLs complete from a send-complete DPC.
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
  type NdisTimerObject,
} from '../../../ndis/index.js';
import { PCAPNG_EPB_FLAGS_OUTBOUND, type PcapngWriter } from '../../../pcap/index.js';
import type { ReplaySource } from './source.js';

/** Per-adapter statistics: the fields of NDIS_STATISTICS_INFO, then the replay's own counters. */
export class PcapAdapterStatistics {
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
  /** OID_GEN_RCV_NO_BUFFER (a replay waits for buffers instead, so this stays 0). */
  rcvNoBuffer = 0;
  /** Frames of the file taken off the "wire" (indicated, filtered or dropped). */
  replayed = 0;
  /** Frames the packet filter rejected. */
  rcvFiltered = 0;
  /** Frames shorter than an Ethernet header. */
  runts = 0;
  /** Frames longer than the MTU allows. */
  oversize = 0;
  /** Times the replay waited for receive buffers to come back. */
  waitedForBuffers = 0;
  /** Passes over the file completed. */
  loopsDone = 0;
  /** Frames written to the output file. */
  written = 0;
}

/** What the adapter reads from its configuration and the files it runs on. */
export interface PcapAdapterOptions {
  source: ReplaySource | null;
  output: PcapngWriter | null;
  mac: Uint8Array;
  mtu: number;
  linkSpeed: number;
  receiveBuffers: number;
  maxNblsPerIndicate: number;
  /** Replay at the file's pace (true) or as fast as the stack takes frames (false). */
  originalTiming: boolean;
  /** Pace multiplier with original timing (2 = twice as fast). */
  speed: number;
  /** Passes over the file (0 = forever). */
  loops: number;
  /** Begin replaying at the first restart (true) or only when startReplay() is called. */
  autoStart: boolean;
  processor: number;
}

const RUNNING = 0;
const PAUSING = 1;
const PAUSED = 2;
const HALTED = 3;

/** The MiniportAdapterContext of a pcap adapter. */
export class PcapAdapter {
  readonly ndis: Ndis;
  readonly handle: MiniportBlock;
  readonly source: ReplaySource | null;
  readonly output: PcapngWriter | null;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly linkSpeed: number;
  readonly stats = new PcapAdapterStatistics();
  readonly originalTiming: boolean;
  readonly speed: number;
  readonly loops: number;
  packetFilter = 0;
  multicastList: Uint8Array[] = [];
  lookahead: number;
  readonly maxMulticast = 32;
  maxNblsPerIndicate: number;
  powerState = 1;
  /** Receive NBLs indicated and not yet returned. */
  outstandingRx = 0;
  /** True once every pass over the file has been replayed. */
  finished = false;
  /** The output interface ID in the pcapng writer. */
  outputInterface = -1;
  /** Scheduler milliseconds when the replay started, or -1. */
  replayStartedAt = -1;
  /** Scheduler milliseconds when the last frame was taken off the file, or -1. */
  replayFinishedAt = -1;

  private state = PAUSED;
  private readonly pool: NetBufferListPool;
  private readonly rcbs: NetBufferList[] = [];
  private readonly freeRcbs = new NblQueue();
  private readonly txDone = new NblQueue();
  private readonly chain = new NblQueue();
  private readonly replayDpc: Dpc;
  private readonly txDpc: Dpc;
  private readonly replayTimer: NdisTimerObject;
  private readonly rcbSize: number;
  /** Next frame to replay. */
  private next = 0;
  /** Scheduler ticks at which the frame at `anchorTime` is due (original timing). */
  private anchorTick = 0;
  private anchorTime = 0;
  private waiting = false;
  /** Replay allowed (at once with autoStart, else from startReplay()). */
  private started: boolean;
  private readonly doneWaiters: (() => void)[] = [];
  private readonly baseSeconds: number;
  private readonly baseNanoseconds: number;

  constructor(ndis: Ndis, handle: MiniportBlock, o: PcapAdapterOptions) {
    this.ndis = ndis;
    this.handle = handle;
    this.source = o.source;
    this.output = o.output;
    this.mac = o.mac;
    this.mtu = o.mtu;
    this.linkSpeed = o.linkSpeed;
    this.lookahead = o.mtu;
    this.maxNblsPerIndicate = o.maxNblsPerIndicate;
    this.originalTiming = o.originalTiming;
    this.speed = o.speed;
    this.loops = o.loops;
    this.rcbSize = o.mtu + 14 + 4;
    this.finished = o.source === null || o.source.count === 0;
    this.started = o.autoStart;
    this.pool = ndis.allocateNetBufferListPool(handle, {
      fAllocateNetBuffer: true,
      dataSize: this.rcbSize,
      poolTag: 'PcRx',
      initialCount: o.receiveBuffers,
      maxCount: o.receiveBuffers,
    });
    for (let i = 0; i < o.receiveBuffers; i++) {
      const nbl = this.pool.allocateNetBufferList()!;
      this.rcbs.push(nbl);
      this.freeRcbs.enqueue(nbl);
    }
    this.replayDpc = new Dpc((_d, ctx) => (ctx as PcapAdapter).replay(), this, `${handle.name}:replay`);
    this.replayDpc.processor = o.processor % ndis.scheduler.processorCount;
    this.txDpc = new Dpc((_d, ctx) => (ctx as PcapAdapter).sendCompleteDpc(), this, `${handle.name}:txc`);
    this.txDpc.processor = this.replayDpc.processor;
    this.replayTimer = ndis.allocateTimerObject(handle, (_a, ctx) => ndis.queueDpc((ctx as PcapAdapter).replayDpc), this, `${handle.name}:replay`);
    const zeroMs = Date.now() - ndis.scheduler.nowMs();
    this.baseSeconds = Math.floor(zeroMs / 1000);
    this.baseNanoseconds = Math.round((zeroMs - this.baseSeconds * 1000) * 1e6);
    if (o.output !== null) {
      this.outputInterface = o.output.addInterface({ name: handle.name, description: `ndis-ts pcap adapter ${handle.name}: frames sent` });
    }
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

  /** Frames of the file not yet replayed in this pass. */
  get remaining(): number {
    return this.source === null ? 0 : this.source.count - this.next;
  }

  /**
   * Starts a replay that waits for it (autoStart false): the file's clock starts now. Lets the
   * stack above be configured before the first frame arrives.
   */
  startReplay(): void {
    if (this.started) return;
    this.started = true;
    if (this.state === RUNNING && !this.finished) {
      this.anchor();
      this.ndis.queueDpc(this.replayDpc);
    }
  }

  /** Resolves when the replay has finished (every pass over the file). */
  whenFinished(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => this.doneWaiters.push(resolve));
  }

  // ---- receive (replay) ----

  /** Scheduler time (100-ns ticks, an integer) at which frame `i` is due with original timing. */
  private dueTick(i: number): number {
    return this.anchorTick + Math.ceil((this.source!.times[i]! - this.anchorTime) / 100 / this.speed);
  }

  /** Re-anchors the file's clock so that frame `next` is due now. */
  private anchor(): void {
    this.anchorTick = this.ndis.scheduler.now();
    if (this.replayStartedAt < 0 && this.started) this.replayStartedAt = this.anchorTick / 10_000;
    this.anchorTime = this.source === null || this.next >= this.source.count ? 0 : this.source.times[this.next]!;
  }

  /** The replay DPC: takes the frames that are due into receive buffers and indicates them as one chain. */
  private replay(): void {
    const src = this.source;
    if (this.state !== RUNNING || src === null || this.finished || !this.started) return;
    const s = this.stats;
    const max = this.maxNblsPerIndicate <= 0 ? 0x7fffffff : this.maxNblsPerIndicate;
    const now = this.ndis.scheduler.now();
    const bytes = src.bytes;
    const q = this.chain;
    while (q.count < max) {
      if (this.next >= src.count) {
        s.loopsDone++;
        if (this.loops !== 0 && s.loopsDone >= this.loops) {
          this.finished = true;
          break;
        }
        this.next = 0;
        this.anchor();
      }
      const i = this.next;
      if (this.originalTiming && this.dueTick(i) > now) break;
      if (this.freeRcbs.isEmpty) {
        s.waitedForBuffers++;
        this.waiting = true;
        break;
      }
      this.next = i + 1;
      s.replayed++;
      const at = src.offsets[i]!;
      const len = src.lengths[i]!;
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
      const group = (bytes[at]! & 1) !== 0;
      const broadcast = group && (bytes[at]! & bytes[at + 1]! & bytes[at + 2]! & bytes[at + 3]! & bytes[at + 4]! & bytes[at + 5]!) === 0xff;
      const pf = this.packetFilter;
      let accepted: boolean;
      if ((pf & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0) accepted = true;
      else if (!group) accepted = (pf & NDIS_PACKET_TYPE.DIRECTED) !== 0 && this.isOwnAddress(bytes, at);
      else if (broadcast) accepted = (pf & NDIS_PACKET_TYPE.BROADCAST) !== 0;
      else accepted = (pf & NDIS_PACKET_TYPE.ALL_MULTICAST) !== 0 || ((pf & NDIS_PACKET_TYPE.MULTICAST) !== 0 && this.inMulticastList(bytes, at));
      if (!accepted) {
        s.rcvFiltered++;
        continue;
      }
      const rcb = this.freeRcbs.dequeue()!;
      const nb = rcb.firstNetBuffer!;
      const mdl = nb.mdlChain!;
      copyBytes(mdl.buffer, mdl.byteOffset, bytes, at, len);
      nb.currentMdl = mdl;
      nb.dataOffset = 0;
      nb.currentMdlOffset = 0;
      nb.dataLength = len;
      rcb.status = NDIS_STATUS.SUCCESS;
      rcb.sourceHandle = this.handle;
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
      q.enqueue(rcb);
    }
    const n = q.count;
    if (n > 0) {
      const chain = q.takeAll()!;
      this.outstandingRx += n;
      this.ndis.mIndicateReceiveNetBufferLists(this.handle, chain, 0, n, NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL);
    }
    if (this.finished) {
      this.replayFinishedAt = this.ndis.scheduler.nowMs();
      this.resolveFinished();
      return;
    }
    if (this.waiting || this.state !== RUNNING) return;
    if (!this.originalTiming || this.next >= src.count) {
      this.ndis.queueDpc(this.replayDpc);
      return;
    }
    const due = this.dueTick(this.next);
    // An absolute due time in scheduler ticks: the timer fires exactly when the frame is due.
    if (due <= this.ndis.scheduler.now()) this.ndis.queueDpc(this.replayDpc);
    else this.ndis.setTimerObject(this.replayTimer, due);
  }

  private resolveFinished(): void {
    const waiters = this.doneWaiters.splice(0);
    for (const w of waiters) w();
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

  /** MiniportReturnNetBufferLists: buffers come back; a replay waiting for them goes on. */
  returnNetBufferLists(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.outstandingRx--;
      x.nblFlags = 0;
      this.freeRcbs.enqueue(x);
      x = next;
    }
    if (this.waiting && this.state === RUNNING) {
      this.waiting = false;
      this.ndis.queueDpc(this.replayDpc);
    }
    if (this.state === PAUSING) this.checkPauseDone();
  }

  // ---- send ----

  /** MiniportSendNetBufferLists: each NET_BUFFER is written to the output file; completions from a DPC. */
  sendNetBufferLists(chain: NetBufferList): void {
    const s = this.stats;
    const w = this.output;
    let nbl: NetBufferList | null = chain;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      let status: NdisStatus = NDIS_STATUS.SUCCESS;
      if (this.state !== RUNNING) status = NDIS_STATUS.PAUSED;
      else if (this.powerState !== 1) status = NDIS_STATUS.LOW_POWER_STATE;
      if (status === NDIS_STATUS.SUCCESS) {
        const t = this.ndis.scheduler.now() * 100 + this.baseNanoseconds;
        const extra = Math.floor(t / 1e9);
        for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
          const len = nb.dataLength;
          if (len < 14 || len > this.rcbSize) {
            s.ifOutErrors++;
            status = NDIS_STATUS.INVALID_LENGTH;
            continue;
          }
          if (w !== null) {
            try {
              const n = w.beginEnhancedPacket(this.outputInterface, this.baseSeconds + extra, t - extra * 1e9, len, len, PCAPNG_EPB_FLAGS_OUTBOUND, null);
              copyOutOfNetBuffer(nb, 0, w.packetBuffer, w.packetOffset, n);
              w.commitEnhancedPacket();
              s.written++;
            } catch {
              s.ifOutErrors++;
              status = NDIS_STATUS.FAILURE;
              continue;
            }
          }
          const head = nb.currentMdl!;
          const d0 = head.buffer[head.byteOffset + nb.currentMdlOffset]!;
          if ((d0 & 1) === 0) {
            s.ifHCOutUcastPkts++;
            s.ifHCOutUcastOctets += len;
          } else if (d0 === 0xff) {
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
    this.ndis.queueDpc(this.txDpc);
  }

  private sendCompleteDpc(): void {
    const chain = this.txDone.takeAll();
    if (chain !== null) this.ndis.mSendNetBufferListsComplete(this.handle, chain, NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL);
    if (this.state === PAUSING) this.checkPauseDone();
  }

  // ---- control ----

  /** MiniportRestart: the replay (re)starts where it stopped, with the file's clock re-anchored. */
  restart(): NdisStatus {
    this.state = RUNNING;
    this.anchor();
    if (!this.finished && this.started) this.ndis.queueDpc(this.replayDpc);
    return NDIS_STATUS.SUCCESS;
  }

  /** MiniportPause: the replay stops where it is; finishes when every indicated NBL is back and every send completed. */
  pause(): NdisStatus {
    this.state = PAUSING;
    this.waiting = false;
    this.ndis.cancelTimerObject(this.replayTimer);
    this.ndis.scheduler.removeQueuedDpc(this.replayDpc);
    this.flushOutput();
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

  private flushOutput(): void {
    try {
      this.output?.flush();
    } catch {
      this.stats.ifOutErrors++;
    }
  }

  /** MiniportHaltEx: closes the output file and frees everything allocated at initialize. */
  halt(): void {
    this.state = HALTED;
    this.ndis.cancelTimerObject(this.replayTimer);
    this.ndis.freeTimerObject(this.replayTimer);
    this.ndis.scheduler.removeQueuedDpc(this.replayDpc);
    this.ndis.scheduler.removeQueuedDpc(this.txDpc);
    try {
      this.output?.close();
    } catch {
      this.stats.ifOutErrors++;
    }
    for (const nbl of this.rcbs) this.pool.freeNetBufferList(nbl);
    this.ndis.freeNetBufferListPool(this.pool);
    this.resolveFinished();
  }
}
