/**
 * The virtual miniport's adapter (netvmini's MP_ADAPTER): initialization, pause/restart, halt,
 * and the receive and send data path over the in-memory hub, with the task offloads and hardware
 * assists a NIC does, in software:
 *
 * - receive: a frame from the hub is checked against the packet filter (or steered by a VMQ filter),
 *   copied into a free receive buffer (RCB, the "DMA"), its checksums validated into the OOB, its
 *   RSS hash computed and stored in the NBL, split into header and data MDLs when header-data split
 *   is on, and queued on a receive queue — the default queue, one per RSS processor, or a VMQ queue —
 *   whose message-interrupt DPC indicates it, at most MaxNblsToIndicate per run (receive side
 *   throttle); with RssWorkers the validation, hash and classification run on worker threads over
 *   shared receive memory instead, and a worker DPC takes their results in arrival order before
 *   the frames are queued;
 * - send: NET_BUFFERs go on the wire zero-copy; when the NBL asks for checksums they are computed
 *   on the way out (the sender's memory is not touched), and a large send is cut into segments
 *   (LSOv1/v2, NVGRE included) after its send rules are checked; completions come from a DPC with
 *   the LSO completion information written.
 */
import {
  Mdl,
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  NDIS_CSUM_TX,
  NblQueue,
  filteringInfoValue,
  ieee8021QUserPriority,
  ieee8021QValue,
  ieee8021QVlanId,
  copyOutOfNetBuffer,
  type NetBuffer,
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
  type NdisOidRequest,
  type NdisTimerObject,
} from '../../../ndis/index.js';
import { FrameLayout, parseFrame } from '../../../offload/layout.js';
import { ChecksumTxResult, fillTransmitChecksums, validateChecksums } from '../../../offload/checksum/index.js';
import { LsoResult, LsoSegmenter, checkLsoNetBufferList, completeLso, describeLsoResult, lsoRuleId } from '../../../offload/lso/index.js';
import type { RssEngine} from '../../../offload/rss/engine.js';
import { RssClassification, setNetBufferListHashInfo, type ReceiveHashEngine } from '../../../offload/rss/engine.js';
import { FrameSlab, RESULT, RESULT_STRIDE, RssWorkerPool } from '../../../offload/rss/workers.js';
import { HdsDecision, NDIS_HD_SPLIT_COMBINE_ALL_HEADERS, classificationFlags, decideHdsSplit } from '../../../offload/hds/index.js';
import type { VmqQueueSet} from '../../../offload/vmq/index.js';
import { VmqMatch, type VmqQueue } from '../../../offload/vmq/index.js';
import type { NdisReceiveThrottleParameters, ReceiveThrottleSource } from '../../../offload/throttle.js';
import type { NdisHdSplitAttributes } from '../../../ndis/structs-offload.js';
import { WireFrame, type HubPort, type VirtualHub } from './hub.js';
import { InterruptDpc } from './interrupt.js';
import type { VirtualOffload } from './offload.js';

/** Per-adapter statistics, the fields of NDIS_STATISTICS_INFO plus drop reasons and offload counters. */
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
  /** Receive DPC runs that stopped at the throttle limit (MoreNblsPending). */
  throttled = 0;
  /** Received frames whose checksums were validated (some Succeeded/Failed bit set). */
  rxChecksumChecked = 0;
  /** Received frames with a Failed bit. */
  rxChecksumFailed = 0;
  /** Received frames given an RSS hash. */
  rssHashed = 0;
  /** Received frames given a hash by receive hash calculation (OID_GEN_RECEIVE_HASH, RSS off). */
  receiveHashed = 0;
  /** Received frames split into header and data (header-data split). */
  hdsSplit = 0;
  /** Received frames steered to a VMQ queue. */
  vmqSteered = 0;
  /** Received frames whose offload work the RSS worker threads did. */
  rssWorkerFrames = 0;
  /** Times the worker threads did not answer in time (the adapter then does the work itself). */
  rssWorkerTimeouts = 0;
  /** Sent NET_BUFFERs whose checksums the adapter computed, and requests it could not honour. */
  txChecksumOffloaded = 0;
  txChecksumErrors = 0;
  /** Large sends segmented, the segments they produced, and large sends refused. */
  lsoSends = 0;
  lsoSegments = 0;
  lsoRefused = 0;
}

/** Adapter options (what the adapter reads from its configuration). */
export interface VirtualAdapterOptions {
  hub: VirtualHub;
  mac: Uint8Array;
  mtu: number;
  linkSpeed: number;
  receiveBuffers: number;
  /** The miniport's own cap on NBLs per receive indication (0 = none: NDIS's MaxNblsToIndicate rules). */
  maxNblsPerIndicate: number;
  /** Free receive buffers below which frames are indicated with NDIS_RECEIVE_FLAGS_RESOURCES (0 = never). */
  lowResourceThreshold: number;
  /** Strip 802.1Q tags into Ieee8021QNetBufferListInfo on receive (and insert OOB tags on send). */
  vlanOffload: boolean;
  processor: number;
  /** Task offload state. */
  offload: VirtualOffload;
  /** RSS (null when *RSS is off or VMQ is preferred). */
  rss: RssEngine | null;
  /** Receive hash calculation without RSS (OID_GEN_RECEIVE_HASH). */
  receiveHash: ReceiveHashEngine;
  /** VMQ (null when not advertised). */
  vmq: VmqQueueSet | null;
  /** Header-data split attributes after NDIS filled them (null when *HeaderDataSplit is off). */
  hds: NdisHdSplitAttributes | null;
  /** Where MaxNblsToIndicate comes from. */
  throttle: ReceiveThrottleSource;
  /**
   * Worker threads that do the per-frame receive offload work (checksum validation, RSS hash,
   * classification) in parallel, over receive buffers in shared memory (0: none, all of it on the
   * receive path). Used with RSS only, and not with header-data split.
   */
  rssWorkers: number;
}

const RUNNING = 0;
const PAUSING = 1;
const PAUSED = 2;

/** Kinds of receive queue. */
export const ReceiveQueueKind = { Default: 0, Rss: 1, Vmq: 2 } as const;

const PAGE = 4096;

/** How long the receive path waits for the RSS worker threads before doing their work itself. */
const RSS_WORKER_TIMEOUT_MS = 10_000;

/** One hardware receive queue: its NBLs waiting for the DPC, its message interrupt, its counters. */
export class ReceiveQueue {
  readonly index: number;
  readonly kind: number;
  readonly nbls = new NblQueue();
  readonly interrupt: InterruptDpc;
  /** The VMQ queue this slot serves (null for default and RSS queues, or an unused VMQ slot). */
  vmq: VmqQueue | null = null;
  /** NBLs indicated on this queue and not yet returned. */
  outstanding = 0;
  /** Frames queued, indications made, NBLs indicated, and the most NBLs one indication carried. */
  frames = 0;
  indications = 0;
  nblsIndicated = 0;
  maxPerIndication = 0;
  /** The free-queue request waiting for this queue's indications to come back. */
  pendingFree: NdisOidRequest | null = null;

  constructor(index: number, kind: number, interrupt: InterruptDpc) {
    this.index = index;
    this.kind = kind;
    this.interrupt = interrupt;
  }
}

/** A receive buffer: its NBL, the MDLs over its memory, and the queue it was indicated on. */
class Rcb {
  /** Index of the buffer (its slot in the shared frame table when RSS workers are on). */
  readonly index: number;
  readonly nbl: NetBufferList;
  /** The frame buffer (with header-data split: the data buffer, page-aligned). */
  readonly dataMdl: Mdl;
  /** Start of the buffer in its slab, and its size. */
  readonly dataBase: number;
  readonly dataSize: number;
  /** The header buffer (header-data split only). */
  readonly headerMdl: Mdl | null;
  readonly headerBase: number;
  queue: ReceiveQueue | null = null;

  constructor(index: number, nbl: NetBufferList, slab: Uint8Array, base: number, size: number, headerSlab: Uint8Array | null, headerBase: number) {
    this.index = index;
    this.nbl = nbl;
    this.dataMdl = new Mdl();
    this.dataMdl.buffer = slab;
    this.dataMdl.byteOffset = base;
    this.dataMdl.byteCount = size;
    this.dataBase = base;
    this.dataSize = size;
    this.headerBase = headerBase;
    if (headerSlab === null) {
      this.headerMdl = null;
    } else {
      this.headerMdl = new Mdl();
      this.headerMdl.buffer = headerSlab;
      this.headerMdl.byteOffset = headerBase;
    }
  }
}

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
  /** Task offloads, RSS, VMQ and header-data split. */
  readonly offload: VirtualOffload;
  readonly rss: RssEngine | null;
  /** Receive hash calculation without RSS (OID_GEN_RECEIVE_HASH). */
  readonly receiveHash: ReceiveHashEngine;
  readonly vmq: VmqQueueSet | null;
  readonly hds: NdisHdSplitAttributes | null;
  /** HDSplitCombineFlags set by OID_GEN_HD_SPLIT_PARAMETERS. */
  hdsCombineFlags = 0;
  /** Receive queues: [0] the default queue, then the RSS queues, then the VMQ slots. */
  readonly receiveQueues: ReceiveQueue[] = [];
  readonly rssQueueBase: number;
  readonly vmqQueueBase: number;

  private state = PAUSED;
  private readonly pool: NetBufferListPool;
  private readonly rcbs: Rcb[] = [];
  private readonly freeRcbs = new NblQueue();
  private readonly txDone = new NblQueue();
  private readonly txDpc: Dpc;
  private readonly pauseTimer: NdisTimerObject;
  private readonly frame = new WireFrame();
  /** Receive NBLs indicated and not yet returned. */
  outstandingRx = 0;
  private readonly rcbSize: number;
  // Per-packet scratch (fixed shapes, reused).
  private readonly layout = new FrameLayout();
  private readonly rssOut = new RssClassification();
  private readonly vmqOut = new VmqMatch();
  private readonly hdsOut = new HdsDecision();
  private readonly segmenter = new LsoSegmenter();
  private readonly txStaging: Uint8Array;
  /** An LSO send-rule violation to report once the NBL is safely queued for completion. */
  private pendingViolation = 0;
  // RSS on worker threads (RssWorkers keyword): the pool, the shared receive memory, the frames
  // handed to the workers in arrival order, and the DPC that takes their results.
  private readonly rssWorkerCount: number;
  private rssPool: RssWorkerPool | null = null;
  private frameSlab: FrameSlab | null = null;
  private workerResults: Int32Array = new Int32Array(0);
  private readonly inFlight = new NblQueue();
  private readonly workerDpc: Dpc;
  private nextWorker = 0;
  private batchLeft = 0;

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
    this.offload = o.offload;
    this.rss = o.rss;
    this.receiveHash = o.receiveHash;
    this.vmq = o.vmq;
    this.hds = o.hds;
    this.rcbSize = o.mtu + 14 + 4;
    this.txStaging = new Uint8Array(o.mtu + 14 + 4 + 64);
    this.frame.from = this;
    this.pool = ndis.allocateNetBufferListPool(handle, {
      fAllocateNetBuffer: true,
      poolTag: 'VmRx',
      initialCount: o.receiveBuffers,
      maxCount: o.receiveBuffers,
    });
    const processor = o.processor % ndis.scheduler.processorCount;
    const handler = (ctx: unknown, id: number, t: NdisReceiveThrottleParameters): void => (ctx as VirtualAdapter).messageInterruptDpc(id, t);
    const addQueue = (kind: number, cpu: number): void => {
      const i = this.receiveQueues.length;
      const intr = new InterruptDpc(ndis, handle, o.throttle, handler, this, i, `${handle.name}:rx${i}`);
      intr.processor = cpu;
      this.receiveQueues.push(new ReceiveQueue(i, kind, intr));
    };
    addQueue(ReceiveQueueKind.Default, processor);
    this.rssQueueBase = this.receiveQueues.length;
    if (o.rss !== null) for (let i = 0; i < o.rss.maxQueues; i++) addQueue(ReceiveQueueKind.Rss, i % ndis.scheduler.processorCount);
    this.vmqQueueBase = this.receiveQueues.length;
    if (o.vmq !== null) for (let i = 0; i < o.vmq.maxQueues; i++) addQueue(ReceiveQueueKind.Vmq, processor);
    this.rssWorkerCount = Math.max(0, Math.min(16, Math.floor(o.rssWorkers)));
    this.workerDpc = new Dpc((_d, ctx) => (ctx as VirtualAdapter).completeWorkerFrames(), this, `${handle.name}:rxw`);
    this.workerDpc.processor = processor;
    this.txDpc = new Dpc((_d, ctx) => (ctx as VirtualAdapter).sendCompleteDpc(), this, `${handle.name}:txc`);
    this.txDpc.processor = processor;
    this.pauseTimer = ndis.allocateTimerObject(handle, (_a, ctx) => (ctx as VirtualAdapter).checkPauseDone(), this, `${handle.name}:pause`);
  }

  /**
   * Allocates the receive buffers: one slab of frame buffers; with header-data split a page per
   * buffer (the data portion starts BackfillSize bytes into its page) and a slab of header buffers
   * of MaxHeaderSize bytes. Called once the header-data split attributes are settled (NDIS fills
   * them in NdisMSetMiniportAttributes), before the adapter receives anything.
   */
  allocateReceiveBuffers(count: number): void {
    if (this.rcbs.length !== 0) throw new Error('receive buffers are already allocated');
    const hds = this.hds;
    const backfill = hds === null ? 0 : hds.backfillSize;
    let stride = hds === null ? this.rcbSize : Math.ceil((backfill + this.rcbSize) / PAGE) * PAGE;
    let slab: Uint8Array;
    const rss = this.rss;
    if (this.rssWorkerCount > 0 && rss !== null && hds === null) {
      // Buffers on cache-line boundaries: copies into shared memory are much slower unaligned,
      // and two workers then never share a line of frame data.
      stride = Math.ceil(stride / 64) * 64;
      // Receive memory the worker threads read in place; results come back per buffer.
      const frames = new FrameSlab(count * stride, count);
      slab = frames.bytes;
      this.frameSlab = frames;
      let ring = 2;
      while (ring < count) ring *= 2;
      this.rssPool = new RssWorkerPool(frames, { workers: this.rssWorkerCount, ringCapacity: ring, ...this.workerConfig(rss) });
      this.rssPool.unref();
      this.workerResults = this.rssPool.results.values;
    } else {
      slab = new Uint8Array(count * stride);
    }
    const headerSlab = hds === null ? null : new Uint8Array(count * hds.maxHeaderSize);
    for (let i = 0; i < count; i++) {
      const nbl = this.pool.allocateNetBufferList()!;
      const rcb = new Rcb(i, nbl, slab, i * stride, stride, headerSlab, hds === null ? 0 : i * hds.maxHeaderSize);
      nbl.miniportReserved[0] = rcb;
      this.rcbs.push(rcb);
      this.freeRcbs.enqueue(nbl);
    }
  }

  get running(): boolean {
    return this.state === RUNNING;
  }

  /** Free receive buffers. */
  get freeReceiveBuffers(): number {
    return this.freeRcbs.count;
  }

  /** The default receive queue. */
  get defaultQueue(): ReceiveQueue {
    return this.receiveQueues[0]!;
  }

  /** Points each RSS queue's interrupt at the processor the indirection table gives it. */
  retargetRssQueues(): void {
    const rss = this.rss;
    if (rss === null) return;
    for (let i = 0; i < rss.queueCount; i++) this.receiveQueues[this.rssQueueBase + i]!.interrupt.processor = rss.queueProcessor[i]! % this.ndis.scheduler.processorCount;
  }

  /** The receive queue slot serving a VMQ queue, or null. */
  vmqSlot(queue: VmqQueue): ReceiveQueue | null {
    for (let i = this.vmqQueueBase; i < this.receiveQueues.length; i++) if (this.receiveQueues[i]!.vmq === queue) return this.receiveQueues[i]!;
    return null;
  }

  /** Binds a free VMQ slot to `queue` (its DPC on the queue's processor). */
  bindVmqSlot(queue: VmqQueue): ReceiveQueue | null {
    for (let i = this.vmqQueueBase; i < this.receiveQueues.length; i++) {
      const s = this.receiveQueues[i]!;
      if (s.vmq === null) {
        s.vmq = queue;
        s.interrupt.processor = queue.processor % this.ndis.scheduler.processorCount;
        return s;
      }
    }
    return null;
  }

  // ---- hub side (receive) ----

  /**
   * The NIC receives a frame from the wire: packet filter (or a VMQ filter), copy into a free RCB,
   * receive offloads, queue, fire the queue's interrupt.
   */
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
    // With VMQ filters running, directed frames are matched against them instead.
    const vmq = this.vmq;
    const vmqLive = vmq !== null && vmq.queueCount > 0 && !group;
    if (!accepted && !vmqLive) {
      s.rcvFiltered++;
      return false;
    }
    const nbl = this.freeRcbs.dequeue();
    if (nbl === null) {
      s.rcvNoBuffer++;
      s.ifInDiscards++;
      return false;
    }
    const rcb = nbl.miniportReserved[0] as Rcb;
    const buf = rcb.dataMdl.buffer;
    const hds = this.hds;
    const start = rcb.dataBase + (hds === null ? 0 : hds.backfillSize);
    let at = start;
    let n: number;
    let vid = -1;
    if (this.vlanOffload && frame.vlanTci !== 0) {
      // Hardware strips the tag into the OOB.
      const tci = frame.vlanTci;
      frame.vlanTci = 0;
      n = frame.copyTo(buf, at);
      frame.vlanTci = tci;
      vid = tci & 0xfff;
      nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(tci >> 13, tci & 0xfff);
    } else {
      n = frame.copyTo(buf, at);
      if (n >= 18 && buf[at + 12] === 0x81 && buf[at + 13] === 0x00) {
        const tci = (buf[at + 14]! << 8) | buf[at + 15]!;
        vid = tci & 0xfff;
        if (this.vlanOffload) {
          buf.copyWithin(at + 4, at, at + 12);
          at += 4;
          n -= 4;
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(tci >> 13, tci & 0xfff);
        }
      }
    }
    // Short frames are padded to the Ethernet minimum of 60 bytes.
    while (n < 60) buf[at + n++] = 0;
    if (this.rssPool !== null) {
      this.receiveOnWorker(nbl, rcb, at, n, broadcast, group);
      return true;
    }
    const o = this.offload;
    const rss = this.rss;
    const l = this.layout;
    parseFrame(buf, at, n, l);
    let q = this.defaultQueue;
    if (vmqLive) {
      // VMQ on the inner Ethernet header of an NVGRE frame when that offload is on.
      let macAt = at;
      if (o.nvgre && l.nvgre && !l.fragment) macAt = l.innerFrameOffset;
      const match = vmq.match(buf, macAt, vid, this.vmqOut);
      if (match !== null) {
        const slot = this.vmqSlot(match);
        if (slot !== null) {
          q = slot;
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListFilteringInfo] = filteringInfoValue(this.vmqOut.filterId, this.vmqOut.queueId);
          s.vmqSteered++;
          match.frames++;
        }
      } else if (!accepted) {
        this.recycle(nbl);
        s.rcvFiltered++;
        return false;
      }
    }
    if (o.rxMask !== 0) {
      const bits = validateChecksums(buf, l, o.rxMask);
      nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = bits;
      if (bits !== 0) {
        s.rxChecksumChecked++;
        if ((bits & 0x7) !== 0) s.rxChecksumFailed++;
      }
    }
    if (rss !== null && rss.enabled) {
      rss.encapsulated = o.nvgre;
      const hashed = rss.classifyParsed(buf, l, this.rssOut);
      setNetBufferListHashInfo(nbl, this.rssOut);
      if (hashed) {
        s.rssHashed++;
        if (q === this.defaultQueue && this.rssOut.queue >= 0) q = this.receiveQueues[this.rssQueueBase + this.rssOut.queue]!;
      }
    } else if (this.receiveHash.enabled) {
      const rh = this.receiveHash;
      rh.encapsulated = o.nvgre;
      if (rh.classifyParsed(buf, l, this.rssOut)) s.receiveHashed++;
      setNetBufferListHashInfo(nbl, this.rssOut);
    }
    let flags = classificationFlags(l);
    const nb = nbl.firstNetBuffer!;
    const data = rcb.dataMdl;
    data.next = null;
    if (hds !== null && (this.hdsCombineFlags & NDIS_HD_SPLIT_COMBINE_ALL_HEADERS) === 0 && (hds.hdSplitFlags & 1) !== 0) {
      const d = decideHdsSplit(l, hds.currentCapabilities, hds.maxHeaderSize, this.hdsOut);
      flags = d.flags;
      if (d.split > 0) {
        // Header portion to the header buffer; the data portion stays where the DMA put it, with
        // at least BackfillSize bytes of its page before it.
        const h = rcb.headerMdl!;
        const hb = h.buffer;
        for (let i = 0; i < d.split; i++) hb[rcb.headerBase + i] = buf[at + i]!;
        h.byteOffset = rcb.headerBase;
        h.byteCount = d.split;
        h.next = data;
        data.byteOffset = at + d.split;
        data.byteCount = n - d.split;
        nb.mdlChain = h;
        nb.currentMdl = h;
        nb.currentMdlOffset = 0;
        nb.dataOffset = 0;
        nb.dataLength = n;
        nb.dataPhysicalAddress = data.byteOffset;
        s.hdsSplit++;
      } else {
        this.wholeFrame(nb, rcb, at, n);
      }
    } else {
      this.wholeFrame(nb, rcb, at, n);
    }
    nbl.nblFlags = flags;
    nbl.status = NDIS_STATUS.SUCCESS;
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
    rcb.queue = q;
    q.frames++;
    q.nbls.enqueue(nbl);
    q.interrupt.fire();
    return true;
  }

  /**
   * The receive path with RSS workers: the frame stays where the DMA put it (shared memory) and
   * its buffer number goes to a worker (round robin, 32 frames at a time); the NBL waits, in
   * arrival order, for the worker DPC to take the results.
   */
  private receiveOnWorker(nbl: NetBufferList, rcb: Rcb, at: number, n: number, broadcast: boolean, group: boolean): void {
    const s = this.stats;
    this.frameSlab!.set(rcb.index, at, n);
    this.wholeFrame(nbl.firstNetBuffer!, rcb, at, n);
    nbl.status = NDIS_STATUS.SUCCESS;
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
    if (this.batchLeft === 0) {
      this.nextWorker = (this.nextWorker + 1) % this.rssWorkerCount;
      this.batchLeft = 32;
    }
    this.batchLeft--;
    this.rssPool!.dispatch(this.nextWorker, rcb.index);
    this.inFlight.enqueue(nbl);
    this.ndis.queueDpc(this.workerDpc);
  }

  /** What the workers compute, from the current RSS and checksum configuration. */
  private workerConfig(rss: RssEngine): { key: Uint8Array; hashTypes: number; checksumMask: number; encapsulated: boolean } {
    const rh = this.receiveHash;
    const h = rss.enabled ? rss : rh.enabled ? rh : null;
    return { key: (h ?? rss).hasher.key, hashTypes: h === null ? 0 : h.hashTypes, checksumMask: this.offload.rxMask, encapsulated: this.offload.nvgre };
  }

  /** Gives the workers the current configuration (after an OID set changed it). */
  configureRssWorkers(): void {
    const pool = this.rssPool;
    if (pool === null || this.rss === null) return;
    const c = this.workerConfig(this.rss);
    if (!pool.wait(RSS_WORKER_TIMEOUT_MS)) {
      this.stopRssWorkers();
      return;
    }
    pool.configure(c.key, c.hashTypes, c.checksumMask, c.encapsulated);
  }

  /** Stops the worker threads for good; the receive path does the work itself from now on. */
  private stopRssWorkers(): void {
    this.stats.rssWorkerTimeouts++;
    this.rssPool?.terminate();
    this.rssPool = null;
  }

  /**
   * The worker DPC: waits for the workers to finish the frames handed to them, then for each, in
   * arrival order, stores what they computed in the NBL (checksum OOB, hash value/type/function,
   * NBL flags), steers it by the indirection table and queues it on its receive queue. Frames of
   * a stuck worker are done here instead.
   */
  completeWorkerFrames(): void {
    if (this.inFlight.isEmpty) return;
    if (this.rssPool !== null && !this.rssPool.wait(RSS_WORKER_TIMEOUT_MS)) this.stopRssWorkers();
    const inline = this.rssPool === null;
    const rss = this.rss!;
    const rh = this.receiveHash;
    const o = this.offload;
    const res = this.workerResults;
    const out = this.rssOut;
    const s = this.stats;
    let nbl: NetBufferList | null;
    while ((nbl = this.inFlight.dequeue()) !== null) {
      const rcb = nbl.miniportReserved[0] as Rcb;
      let bits: number;
      let flags: number;
      if (inline) {
        const nb = nbl.firstNetBuffer!;
        const buf = rcb.dataMdl.buffer;
        const at = rcb.dataBase + nb.dataOffset;
        const l = this.layout;
        parseFrame(buf, at, nb.dataLength, l);
        bits = o.rxMask === 0 ? 0 : validateChecksums(buf, l, o.rxMask);
        rss.encapsulated = o.nvgre;
        rh.encapsulated = o.nvgre;
        if (rss.enabled) rss.classifyParsed(buf, l, out);
        else rh.classifyParsed(buf, l, out);
        flags = classificationFlags(l);
      } else {
        const r = rcb.index * RESULT_STRIDE;
        bits = res[r + RESULT.CHECKSUM]!;
        flags = res[r + RESULT.NBL_FLAGS]!;
        out.hashType = rss.enabled || rh.enabled ? res[r + RESULT.HASH_TYPE]! : 0;
        out.hash = out.hashType === 0 ? 0 : res[r + RESULT.HASH]! >>> 0;
        out.queue = -1;
        if (out.hashType !== 0 && rss.enabled) rss.steer(out);
        s.rssWorkerFrames++;
      }
      if (o.rxMask !== 0) {
        nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = bits;
        if (bits !== 0) {
          s.rxChecksumChecked++;
          if ((bits & 0x7) !== 0) s.rxChecksumFailed++;
        }
      }
      let q = this.defaultQueue;
      if (rss.enabled) {
        setNetBufferListHashInfo(nbl, out);
        if (out.hashType !== 0) {
          s.rssHashed++;
          if (out.queue >= 0) q = this.receiveQueues[this.rssQueueBase + out.queue]!;
        }
      } else if (rh.enabled) {
        setNetBufferListHashInfo(nbl, out);
        if (out.hashType !== 0) s.receiveHashed++;
      }
      nbl.nblFlags = flags;
      rcb.queue = q;
      q.frames++;
      q.nbls.enqueue(nbl);
      q.interrupt.fire();
    }
  }

  /** An unsplit frame: one MDL over the receive buffer, the frame at `at`. */
  private wholeFrame(nb: NetBuffer, rcb: Rcb, at: number, n: number): void {
    const m = rcb.dataMdl;
    m.byteOffset = rcb.dataBase;
    m.byteCount = rcb.dataSize;
    m.next = null;
    nb.mdlChain = m;
    nb.currentMdl = m;
    nb.dataOffset = at - rcb.dataBase;
    nb.currentMdlOffset = nb.dataOffset;
    nb.dataLength = n;
    nb.dataPhysicalAddress = 0;
  }

  private isBroadcast(f: WireFrame): boolean {
    for (let i = 0; i < 6; i++) if (f.byteAt(i) !== 0xff) return false;
    return true;
  }

  private matches(f: WireFrame, mac: Uint8Array): boolean {
    for (let i = 0; i < 6; i++) if (f.byteAt(i) !== mac[i]) return false;
    return true;
  }

  /**
   * MiniportMessageInterruptDPC for receive queue `messageId`: indicates at most
   * MaxNblsToIndicate NBLs (and the miniport's own cap) as one chain; sets MoreNblsPending when
   * NBLs remain, so NDIS runs the DPC again.
   */
  private messageInterruptDpc(messageId: number, throttle: NdisReceiveThrottleParameters): void {
    const q = this.receiveQueues[messageId]!;
    if (this.state !== RUNNING) return;
    let max = throttle.limit;
    if (this.maxNblsPerIndicate > 0 && this.maxNblsPerIndicate < max) max = this.maxNblsPerIndicate;
    const chain = q.nbls.dequeueChain(max);
    if (chain !== null) {
      let n = 0;
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        x.sourceHandle = this.handle;
        n++;
      }
      let flags = NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL | NDIS_RECEIVE_FLAGS.PERFECT_FILTERED | NDIS_RECEIVE_FLAGS.SINGLE_QUEUE;
      const low = this.lowResourceThreshold > 0 && this.freeRcbs.count < this.lowResourceThreshold;
      if (low) {
        flags |= NDIS_RECEIVE_FLAGS.RESOURCES;
        this.stats.lowResourceIndications++;
      } else {
        this.outstandingRx += n;
        q.outstanding += n;
      }
      q.indications++;
      q.nblsIndicated += n;
      if (n > q.maxPerIndication) q.maxPerIndication = n;
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
    }
    throttle.moreNblsPending = !q.nbls.isEmpty;
    if (throttle.moreNblsPending) this.stats.throttled++;
  }

  private recycle(nbl: NetBufferList): void {
    const info = nbl.netBufferListInfo;
    info[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = 0;
    info[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = 0;
    info[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue] = 0;
    info[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo] = 0;
    info[NDIS_NET_BUFFER_LIST_INFO.NetBufferListFilteringInfo] = 0;
    nbl.nblFlags = 0;
    (nbl.miniportReserved[0] as Rcb).queue = null;
    this.freeRcbs.enqueue(nbl);
  }

  /** MiniportReturnNetBufferLists. */
  returnNetBufferLists(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.outstandingRx--;
      const q = (x.miniportReserved[0] as Rcb).queue;
      if (q !== null) {
        q.outstanding--;
        if (q.outstanding === 0 && q.pendingFree !== null) this.finishQueueFree(q);
      }
      this.recycle(x);
      x = next;
    }
  }

  /** Completes a pending OID_RECEIVE_FILTER_FREE_QUEUE once the queue's indications are back. */
  private finishQueueFree(q: ReceiveQueue): void {
    const r = q.pendingFree!;
    q.pendingFree = null;
    if (q.vmq !== null) this.vmq?.finishFree(q.vmq.id);
    q.vmq = null;
    this.ndis.mOidRequestComplete(this.handle, r, NDIS_STATUS.SUCCESS);
  }

  /**
   * OID_RECEIVE_FILTER_FREE_QUEUE after DMA stopped and the status was indicated: drops what the
   * queue still holds; SUCCESS when nothing is outstanding, else PENDING until the last return.
   */
  freeVmqSlot(slot: ReceiveQueue, request: NdisOidRequest): NdisStatus {
    let x = slot.nbls.takeAll();
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.recycle(x);
      x = next;
    }
    this.ndis.scheduler.removeQueuedDpc(slot.interrupt.dpc);
    if (slot.outstanding === 0) {
      if (slot.vmq !== null) this.vmq?.finishFree(slot.vmq.id);
      slot.vmq = null;
      return NDIS_STATUS.SUCCESS;
    }
    slot.pendingFree = request;
    return NDIS_STATUS.PENDING;
  }

  // ---- send ----

  /** Puts `staging[0..len)` on the wire with the NBL's 802.1Q tag, and counts it. */
  private wireOut(bytes: Uint8Array, offset: number, len: number, q: number): boolean {
    const f = this.frame;
    f.reset();
    f.add(bytes, offset, len);
    return this.transmit(f, q);
  }

  /** Checks the length, counts and repeats a frame; false when it is too long. */
  private transmit(f: WireFrame, q: number): boolean {
    const s = this.stats;
    if (q !== 0) f.vlanTci = (ieee8021QUserPriority(q) << 13) | ieee8021QVlanId(q);
    const len = f.wireLength;
    if (len > this.mtu + 14 + (f.vlanTci !== 0 || this.frameHasTag(f) ? 4 : 0) || len < 14) {
      s.ifOutErrors++;
      return false;
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
    return true;
  }

  /** A large send: its rules checked, then its segments on the wire; returns the NBL's status. */
  private sendLso(nbl: NetBufferList, q: number): NdisStatus {
    const s = this.stats;
    const r = checkLsoNetBufferList(nbl, this.offload.lso, this.segmenter);
    if (r !== LsoResult.Ok) {
      s.lsoRefused++;
      s.ifOutDiscards++;
      // A send after LSO was turned off is dropped ("shall drop"); anything else breaks a send rule.
      if (r !== LsoResult.NotEnabled) this.pendingViolation = r;
      return r === LsoResult.NotEnabled ? NDIS_STATUS.FAILURE : NDIS_STATUS.INVALID_PARAMETER;
    }
    const seg = this.segmenter;
    const st = this.txStaging;
    let n: number;
    let sent = 0;
    while ((n = seg.next(st, 0)) > 0) {
      if (!this.wireOut(st, 0, n, q)) return NDIS_STATUS.INVALID_LENGTH;
      s.lsoSegments++;
      sent++;
    }
    s.lsoSends++;
    completeLso(nbl, sent === seg.segmentCount ? seg.payloadLength : 0);
    return NDIS_STATUS.SUCCESS;
  }

  /** A NET_BUFFER whose checksums the NBL asks for: copied out, checksummed, sent. */
  private sendWithChecksums(nb: NetBuffer, info: number, encap: number, q: number): boolean {
    const len = nb.dataLength;
    const st = this.txStaging;
    if (len > st.length) {
      this.stats.ifOutErrors++;
      return false;
    }
    copyOutOfNetBuffer(nb, 0, st, 0, len);
    const l = this.layout;
    parseFrame(st, 0, len, l);
    const r = fillTransmitChecksums(st, l, info, encap, this.offload.txMask);
    if (r === ChecksumTxResult.Ok) this.stats.txChecksumOffloaded++;
    else this.stats.txChecksumErrors++;
    return this.wireOut(st, 0, len, q);
  }

  /** MiniportSendNetBufferLists: each NET_BUFFER goes on the wire; completions come from a DPC. */
  sendNetBufferLists(chain: NetBufferList): void {
    const s = this.stats;
    let nbl: NetBufferList | null = chain;
    let violation: NetBufferList | null = null;
    let violationCode = 0;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      let status: NdisStatus = NDIS_STATUS.SUCCESS;
      if (this.state !== RUNNING) status = NDIS_STATUS.PAUSED;
      else if (this.powerState !== 1) status = NDIS_STATUS.LOW_POWER_STATE;
      else if (!this.linkUp) status = NDIS_STATUS.MEDIA_DISCONNECTED;
      if (status === NDIS_STATUS.SUCCESS) {
        const info = nbl.netBufferListInfo;
        const q = info[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
        const lso = info[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!;
        const csum = info[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
        if (lso !== 0) {
          status = this.sendLso(nbl, q);
          if (this.pendingViolation !== 0 && violation === null) {
            violation = nbl;
            violationCode = this.pendingViolation;
          }
          this.pendingViolation = 0;
        } else if ((csum & (NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IsIPv6)) !== 0 && this.offload.txMask !== 0) {
          const encap = info[NDIS_NET_BUFFER_LIST_INFO.TcpSendOffloadsSupplementalNetBufferListInfo]!;
          for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
            if (!this.sendWithChecksums(nb, csum, encap, q)) status = NDIS_STATUS.INVALID_LENGTH;
          }
        } else {
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
            if (!this.transmit(f, q)) status = NDIS_STATUS.INVALID_LENGTH;
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
    if (violation !== null) {
      this.ndis.violate(lsoRuleId(violationCode), 'overlying driver', this.handle.name, violation, `large send refused: ${describeLsoResult(violationCode)}`, 'MiniportSendNetBufferLists');
    }
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

  /** MiniportPause: stop taking frames, drop the receive queues, wait for sends and receives in flight. */
  pause(): NdisStatus {
    this.state = PAUSING;
    // Frames the workers hold are dropped like any frame not yet indicated, once the workers are
    // done reading them (their buffers are reused).
    if (!this.inFlight.isEmpty) {
      if (this.rssPool !== null && !this.rssPool.wait(RSS_WORKER_TIMEOUT_MS)) this.stopRssWorkers();
      this.ndis.scheduler.removeQueuedDpc(this.workerDpc);
      let x = this.inFlight.takeAll();
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        this.stats.rcvFlushedOnPause++;
        this.stats.ifInDiscards++;
        this.recycle(x);
        x = next;
      }
    }
    // Frames received but not yet indicated never leave the NIC.
    for (const q of this.receiveQueues) {
      let x = q.nbls.takeAll();
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        this.stats.rcvFlushedOnPause++;
        this.stats.ifInDiscards++;
        this.recycle(x);
        x = next;
      }
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
    for (const q of this.receiveQueues) q.interrupt.cancel();
    this.ndis.scheduler.removeQueuedDpc(this.txDpc);
    this.ndis.scheduler.removeQueuedDpc(this.workerDpc);
    this.rssPool?.terminate();
    this.rssPool = null;
    for (const r of this.rcbs) this.pool.freeNetBufferList(r.nbl);
    this.ndis.freeNetBufferListPool(this.pool);
  }
}
