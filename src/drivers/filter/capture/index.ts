/**
 * `capture`: a light-weight filter that records the traffic of the stacks it attaches to into one
 * pcapng file, in the manner of a packet-capture filter such as Npcap's or PktMon's: it passes every
 * send and receive through unchanged and writes, for each NET_BUFFER it sees,
 *
 * - an Interface Description Block per filter module (per adapter) with the adapter's name, its
 *   MAC address in the description, link type Ethernet and nanosecond resolution;
 * - an Enhanced Packet Block with a nanosecond timestamp (the scheduler clock, anchored to the
 *   wall clock when the filter was created: virtual time in virtual mode, real time in real-time
 *   mode), the direction (inbound for receives, outbound for sends), the reception type of
 *   inbound frames (unicast, multicast, broadcast), and a comment with the NBL's OOB facts (RSS
 *   hash, checksum information, 802.1Q tag, LSO).
 *
 * By default it is a monitoring filter (FilterType 1, above the modifying filters); given a
 * FilterClass it is a modifying filter at that class and altitude instead, so that it can sit at
 * any position of a stack (several instances under different names capture at several
 * positions). It has no return or completion handlers (NDIS bypasses it there) and no OID or
 * status handlers. The file is flushed when a module pauses or detaches and closed by `close()`.
 * Writing the file never throws into the data path: an I/O error stops the capture and is kept in
 * `error`.
 */
import {
  FilterRunType,
  FilterType,
  NDIS_STATUS,
  NdisError,
  type FilterDriver,
  type FilterDriverCharacteristics,
  type FilterModule,
  type Ndis,
} from '../../../ndis/index.js';
import { NDIS_RECEIVE_FLAGS, NDIS_RETURN_FLAGS, NDIS_SEND_COMPLETE_FLAGS, copyOutOfNetBuffer, type NetBufferList } from '../../../nbl/index.js';
import {
  FileSink,
  LINKTYPE_ETHERNET,
  PCAPNG_EPB_FLAGS_BROADCAST,
  PCAPNG_EPB_FLAGS_INBOUND,
  PCAPNG_EPB_FLAGS_MULTICAST,
  PCAPNG_EPB_FLAGS_OUTBOUND,
  PCAPNG_EPB_FLAGS_UNICAST,
  PcapngWriter,
  type CaptureSink,
} from '../../../pcap/index.js';
import { formatMac } from '../../../wire/index.js';
import { OobTextCache } from './oob.js';

export { formatOobFacts, OobTextCache, NO_OOB_FACTS } from './oob.js';

/** Options of the capture filter driver (what its INF and its user say). */
export interface CaptureOptions {
  /** File to write (created or replaced). One of `path` and `sink` is required. */
  path?: string;
  /** Where the pcapng bytes go instead of a file. */
  sink?: CaptureSink;
  /** Filter name (default "capture"); instances need distinct names. */
  name?: string;
  /** Adapter names to attach to (default: every Ethernet adapter). */
  adapters?: string[];
  /** A FilterClass (e.g. "custom", "scheduler") makes it a modifying filter at that class; default: monitoring. */
  filterClass?: string;
  /** Altitude within its class (higher is closer to the protocols). */
  altitude?: number;
  /** Bytes kept of each packet (default 0: all). */
  snapLength?: number;
  /** What to record: sends, receives or both (default). */
  direction?: 'both' | 'send' | 'receive';
  /** Per-packet comments: the OOB facts (default true). */
  comments?: boolean;
  /** Hand every packet to the file at once (for a reader following it live); default false (64 KiB chunks). */
  live?: boolean;
  /** Section comment. */
  comment?: string;
  /** Stop recording after this many packets (traffic still passes); default no limit. */
  maxPackets?: number;
}

/** Counters of one module. */
export class CaptureCounters {
  /** NET_BUFFERs recorded on the receive path. */
  received = 0;
  /** NET_BUFFERs recorded on the send path. */
  sent = 0;
  /** Sends bounced with NDIS_STATUS_PAUSED and receives returned while paused. */
  bouncedWhilePaused = 0;
}

const RUNNING = 0;
const PAUSED = 1;

/** The FilterModuleContext of a capture module: the interface it writes to. */
export class CaptureModule {
  readonly handle: FilterModule;
  /** The adapter's name. */
  readonly adapterName: string;
  /** The pcapng interface ID of this module. */
  readonly interfaceId: number;
  readonly counters = new CaptureCounters();
  state = PAUSED;

  constructor(handle: FilterModule, interfaceId: number) {
    this.handle = handle;
    this.adapterName = handle.miniport.name;
    this.interfaceId = interfaceId;
  }
}

/** The capture filter driver: one pcapng file for every module it attaches. */
export class CaptureFilter {
  readonly ndis: Ndis;
  readonly options: CaptureOptions;
  readonly name: string;
  handle: FilterDriver | null = null;
  readonly modules = new Map<FilterModule, CaptureModule>();
  /** The first I/O error met; capture stopped there. */
  error: Error | null = null;
  private readonly writer: PcapngWriter;
  private readonly comments: boolean;
  private readonly captureSends: boolean;
  private readonly captureReceives: boolean;
  private readonly snapLength: number;
  private readonly maxPackets: number;
  private readonly oob = new OobTextCache();
  /** Scratch copy of a frame's destination address. */
  private readonly dst = new Uint8Array(6);
  private readonly baseSeconds: number;
  private readonly baseNanoseconds: number;
  private closed = false;

  constructor(ndis: Ndis, options: CaptureOptions) {
    if ((options.path === undefined) === (options.sink === undefined)) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', 'capture: give exactly one of `path` (a file to write) and `sink`');
    }
    this.ndis = ndis;
    this.options = options;
    this.name = options.name ?? 'capture';
    this.comments = options.comments ?? true;
    const direction = options.direction ?? 'both';
    this.captureSends = direction !== 'receive';
    this.captureReceives = direction !== 'send';
    this.snapLength = options.snapLength ?? 0;
    this.maxPackets = options.maxPackets ?? Infinity;
    // The wall-clock time of scheduler time zero, split so that per-packet arithmetic stays exact.
    const zeroMs = Date.now() - ndis.scheduler.nowMs();
    this.baseSeconds = Math.floor(zeroMs / 1000);
    this.baseNanoseconds = Math.round((zeroMs - this.baseSeconds * 1000) * 1e6);
    const sink = options.sink ?? new FileSink(options.path!);
    this.writer = new PcapngWriter(sink, {
      userApplication: 'ndis-ts capture filter',
      bufferSize: options.live === true ? 0 : 65536,
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    });
  }

  /** NdisFRegisterFilterDriver: attaches to every matching adapter (each stack paused and restarted). */
  async register(): Promise<FilterDriver> {
    this.handle = await this.ndis.registerFilterDriver(this.characteristics(), this);
    return this.handle;
  }

  /** NdisFDeregisterFilterDriver: detaches every module (the file is flushed at each detach). */
  async deregister(): Promise<void> {
    if (this.handle !== null) await this.ndis.deregisterFilterDriver(this.handle);
    this.handle = null;
  }

  /** Enhanced Packet Blocks written. */
  get packets(): number {
    return this.writer.packetsWritten;
  }

  /** Bytes of the file so far. */
  get bytes(): number {
    return this.writer.bytesWritten;
  }

  /** Hands buffered packets to the file. */
  flush(): void {
    if (this.closed) return;
    try {
      this.writer.flush();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Flushes and closes the file; packets seen afterwards pass through unrecorded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.writer.close();
    } catch (e) {
      if (this.error === null) this.error = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** The module attached to `adapterName`. */
  module(adapterName: string): CaptureModule {
    for (const m of this.modules.values()) if (m.adapterName === adapterName) return m;
    throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `capture '${this.name}' is not attached to '${adapterName}'`);
  }

  private fail(e: unknown): void {
    if (this.error === null) this.error = e instanceof Error ? e : new Error(String(e));
    this.closed = true;
  }

  /** Records every NET_BUFFER of the chain (`send` selects the direction). */
  private record(m: CaptureModule, chain: NetBufferList, send: boolean): void {
    if (this.closed) return;
    try {
      const w = this.writer;
      const t = this.ndis.scheduler.now() * 100 + this.baseNanoseconds;
      const extra = Math.floor(t / 1e9);
      const seconds = this.baseSeconds + extra;
      const nanoseconds = t - extra * 1e9;
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
        const comment = this.comments ? this.oob.textOf(x, send) : null;
        for (let nb = x.firstNetBuffer; nb !== null; nb = nb.next) {
          if (w.packetsWritten >= this.maxPackets) return;
          const len = nb.dataLength;
          let flags = PCAPNG_EPB_FLAGS_OUTBOUND;
          if (!send) {
            flags = PCAPNG_EPB_FLAGS_INBOUND;
            const d = this.dst;
            if (copyOutOfNetBuffer(nb, 0, d, 0, 6) === 6) {
              if ((d[0]! & 1) === 0) flags |= PCAPNG_EPB_FLAGS_UNICAST;
              else if ((d[0]! & d[1]! & d[2]! & d[3]! & d[4]! & d[5]!) === 0xff) flags |= PCAPNG_EPB_FLAGS_BROADCAST;
              else flags |= PCAPNG_EPB_FLAGS_MULTICAST;
            }
          }
          const n = w.beginEnhancedPacket(m.interfaceId, seconds, nanoseconds, len, len, flags, comment);
          copyOutOfNetBuffer(nb, 0, w.packetBuffer, w.packetOffset, n);
          w.commitEnhancedPacket();
          if (send) m.counters.sent++;
          else m.counters.received++;
        }
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** The handler table (NDIS_FILTER_DRIVER_CHARACTERISTICS). */
  characteristics(): FilterDriverCharacteristics {
    const ndis = this.ndis;
    const self = this;
    const o = this.options;
    const modifying = o.filterClass !== undefined;
    const chars: FilterDriverCharacteristics<CaptureModule> = {
      friendlyName: this.name,
      uniqueName: `{${this.name}}`,
      serviceName: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      filterType: modifying ? FilterType.Modifying : FilterType.Monitoring,
      filterRunType: FilterRunType.Optional,
      ...(modifying ? { filterClass: o.filterClass } : {}),
      ...(o.altitude !== undefined ? { altitude: o.altitude } : {}),
      attach(handle, _driverContext, params) {
        if (o.adapters !== undefined && !o.adapters.includes(params.baseMiniportName)) return NDIS_STATUS.NOT_SUPPORTED;
        let id: number;
        try {
          id = self.writer.addInterface({
            name: params.baseMiniportName,
            description: `ndis-ts adapter ${params.baseMiniportName} ${formatMac(params.currentMacAddress)}`,
            linkType: LINKTYPE_ETHERNET,
            snapLength: self.snapLength,
          });
        } catch (e) {
          self.fail(e);
          return NDIS_STATUS.FAILURE;
        }
        const m = new CaptureModule(handle, id);
        self.modules.set(handle, m);
        return ndis.fSetAttributes(handle, m);
      },
      detach(m) {
        self.modules.delete(m.handle);
        self.flush();
      },
      restart(m) {
        m.state = RUNNING;
        return NDIS_STATUS.SUCCESS;
      },
      pause(m) {
        m.state = PAUSED;
        self.flush();
        return NDIS_STATUS.SUCCESS;
      },
      sendNetBufferLists(m, nbl, port, flags) {
        if (m.state !== RUNNING) {
          m.counters.bouncedWhilePaused++;
          for (let x: NetBufferList | null = nbl; x !== null; x = x.next) x.status = NDIS_STATUS.PAUSED;
          ndis.fSendNetBufferListsComplete(m.handle, nbl, (flags & 1) !== 0 ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0);
          return;
        }
        if (self.captureSends) self.record(m, nbl, true);
        ndis.fSendNetBufferLists(m.handle, nbl, port, flags);
      },
      receiveNetBufferLists(m, nbl, port, count, flags) {
        if (m.state !== RUNNING) {
          m.counters.bouncedWhilePaused += count;
          if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) ndis.fReturnNetBufferLists(m.handle, nbl, (flags & 1) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
          return;
        }
        if (self.captureReceives) self.record(m, nbl, false);
        ndis.fIndicateReceiveNetBufferLists(m.handle, nbl, port, count, flags);
      },
    };
    return chars as FilterDriverCharacteristics;
  }
}
