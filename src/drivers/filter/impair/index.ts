/**
 * `impair`: a modifying light-weight filter that injects faults the way a bad link would, for
 * testing protocol drivers: loss, reordering within a window, duplication, and corruption of one
 * byte, on the send path, the receive path, or both. Every decision comes from a generator
 * seeded from the runtime's seed (and the adapter's name), so a run is reproduced exactly by its
 * seed.
 *
 * It keeps the NET_BUFFER_LIST ownership rules of NDIS filters:
 *  - a lost send is completed by the filter (NdisFSendNetBufferListsComplete) with success, as a
 *    wire that drops a frame would report; a lost receive is returned (NdisFReturnNetBufferLists),
 *    or left with its miniport when indicated with NDIS_RECEIVE_FLAGS_RESOURCES;
 *  - duplicates and corrupted frames are copies in NBLs the filter allocates from its own pool
 *    (SourceHandle = its NdisFilterHandle); the filter consumes their completions and returns,
 *    and never modifies memory it does not own: a corrupted send goes down as a copy, and the
 *    original is completed when the copy completes;
 *  - a reordered send is held and passed down later (the filter may hold sends); a reordered
 *    receive is held when it may pend, or copied when indicated with RESOURCES;
 *  - on pause, held NBLs are passed on and the pause completes (NdisFPauseComplete) once every
 *    NBL of its own is back.
 *
 * Corruption models a bad wire, so it must stay detectable by the receiver's checksums even with
 * offloads on: a corrupted send copy first gets the checksums its sender asked the NIC for
 * (computed here, the request cleared), and a corrupted receive copy loses the NIC's checksum
 * results (its TcpIpChecksumNetBufferListInfo is cleared, so the protocol checks in software).
 * Large sends (LSO) are not corrupted: their checksums exist only after segmentation below.
 */
import {
  FilterRunType,
  FilterType,
  NDIS_STATUS,
  Prng,
  relativeDueTime,
  type FilterDriver,
  type FilterDriverCharacteristics,
  type FilterModule,
  type Ndis,
  type NdisTimerObject,
} from '../../../ndis/index.js';
import { CSUM_ALL, ChecksumScratch, computeTransmitChecksums } from '../../../offload/checksum/index.js';
import {
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_RETURN_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  copyFromNetBufferToNetBuffer,
  copyReceiveNetBufferListInfo,
  copySendNetBufferListInfo,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';

const CSUM_INFO = NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo;
const LSO_INFO = NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo;

/** What the filter does to traffic: probabilities per NBL (0 to 1), applied in this order. */
export interface ImpairPolicy {
  /** Drop the frame. */
  loss?: number;
  /** Flip one byte of the frame (a copy carries the damage). */
  corrupt?: number;
  /** Deliver the frame twice. */
  duplicate?: number;
  /** Hold the frame back until `reorderWindow` later frames have passed (or `reorderDelayMs`). */
  reorder?: number;
  /** Frames that overtake a held one (default 3). */
  reorderWindow?: number;
  /** Longest a frame is held, ms of runtime time (default 5). */
  reorderDelayMs?: number;
  /** Which path is impaired (default 'send'). */
  direction?: 'send' | 'receive' | 'both';
}

/** Counters of one filter module. */
export class ImpairCounters {
  /** NBLs the policy looked at. */
  seen = 0;
  /** NBLs passed on unchanged (duplicated ones included). */
  passed = 0;
  lost = 0;
  corrupted = 0;
  duplicated = 0;
  reordered = 0;
  /** Copies the filter could not make (pool exhausted or frame too long): the frame passed unchanged. */
  copyFailures = 0;
}

const RUNNING = 0;
const PAUSING = 1;
const PAUSED = 2;

/** A chain being built: head, tail and count (no allocation per NBL). */
class Chain {
  head: NetBufferList | null = null;
  tail: NetBufferList | null = null;
  count = 0;

  /** Appends one NBL (its Next cleared). */
  append(n: NetBufferList): void {
    n.next = null;
    if (this.tail === null) this.head = n;
    else this.tail.next = n;
    this.tail = n;
    this.count++;
  }

  /** Returns the chain and empties it. */
  take(): NetBufferList | null {
    const h = this.head;
    this.head = null;
    this.tail = null;
    this.count = 0;
    return h;
  }
}

/** Largest frame the filter copies. */
const COPY_SPACE = 65536 + 64;

/** The FilterModuleContext of one impairment module. */
export class ImpairModule {
  readonly filter: ImpairFilter;
  readonly handle: FilterModule;
  readonly counters = new ImpairCounters();
  policy: ImpairPolicy;
  state = PAUSED;
  readonly prng: Prng;
  pool: NetBufferListPool;
  /** The filter's own NBLs in flight (copies sent down or indicated up). */
  outstandingOwn = 0;
  private pausing = false;
  /** Held sends and the number of passed frames after which each is released. */
  private readonly heldSend: NetBufferList[] = [];
  private readonly heldSendUntil: number[] = [];
  private readonly heldRecv: NetBufferList[] = [];
  private readonly heldRecvUntil: number[] = [];
  private passedSends = 0;
  private passedRecvs = 0;
  private readonly timer: NdisTimerObject;
  private timerArmed = false;

  constructor(filter: ImpairFilter, handle: FilterModule, seed: number) {
    this.filter = filter;
    this.handle = handle;
    this.policy = filter.policyFor(handle.miniport.name);
    this.prng = new Prng(seed);
    const ndis = filter.ndis;
    this.pool = ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, dataSize: COPY_SPACE, poolTag: 'Impr', initialCount: 4 });
    this.timer = ndis.allocateTimerObject(handle, (_a, ctx) => (ctx as ImpairModule).releaseAll(), this, `${handle.name}:impair`);
  }

  private get ndis(): Ndis {
    return this.filter.ndis;
  }

  private affects(send: boolean): boolean {
    const d = this.policy.direction ?? 'send';
    return d === 'both' || (send ? d === 'send' : d === 'receive');
  }

  /** Draws the fate of one NBL: 0 pass, 1 loss, 2 corrupt, 3 duplicate, 4 reorder. */
  private fate(): number {
    const p = this.policy;
    this.counters.seen++;
    const r = this.prng.nextFloat();
    let acc = p.loss ?? 0;
    if (r < acc) return 1;
    acc += p.corrupt ?? 0;
    if (r < acc) return 2;
    acc += p.duplicate ?? 0;
    if (r < acc) return 3;
    acc += p.reorder ?? 0;
    if (r < acc) return 4;
    return 0;
  }

  private readonly scratch = new ChecksumScratch(COPY_SPACE + 64);

  /** A copy of a single-NET_BUFFER NBL in an NBL of the filter's pool, or null. */
  private copyOf(x: NetBufferList, send: boolean): NetBufferList | null {
    const src = x.firstNetBuffer;
    if (src === null || src.next !== null || src.dataLength > COPY_SPACE) {
      this.counters.copyFailures++;
      return null;
    }
    const c = this.pool.allocateNetBufferList();
    if (c === null) {
      this.counters.copyFailures++;
      return null;
    }
    const nb = c.firstNetBuffer!;
    nb.dataLength = src.dataLength;
    copyFromNetBufferToNetBuffer(nb, 0, src.dataLength, src, 0);
    if (send) copySendNetBufferListInfo(c, x);
    else copyReceiveNetBufferListInfo(c, x);
    c.nblFlags = x.nblFlags;
    c.sourceHandle = this.handle;
    c.protocolReserved[0] = null;
    this.outstandingOwn++;
    return c;
  }

  /** Flips one byte of the NBL's frame (which the filter owns). */
  private damage(c: NetBufferList): void {
    const nb = c.firstNetBuffer!;
    if (nb.dataLength === 0) return;
    const mdl = nb.currentMdl!;
    const at = mdl.byteOffset + nb.currentMdlOffset + this.prng.nextInt(nb.dataLength);
    mdl.buffer[at] = mdl.buffer[at]! ^ (1 + this.prng.nextInt(255));
  }

  private freeOwn(c: NetBufferList): void {
    c.next = null;
    c.protocolReserved[0] = null;
    this.pool.freeNetBufferList(c);
    this.outstandingOwn--;
  }

  // ---- chains being built during one call: one set per path, so that a nested call on another path cannot disturb them ----
  private readonly sendDown = new Chain();
  private readonly sendLost = new Chain();
  private readonly sendUp = new Chain();
  private readonly recvUp = new Chain();
  private readonly recvExtra = new Chain();
  private readonly recvBack = new Chain();

  // ---- send path ----

  /** FilterSendNetBufferLists: list A goes down, list C (lost) completes at once. */
  send(chain: NetBufferList, port: number, flags: number): void {
    const ndis = this.ndis;
    const cflags = (flags & 1) !== 0 ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0;
    if (this.state !== RUNNING) {
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) x.status = NDIS_STATUS.PAUSED;
      ndis.fSendNetBufferListsComplete(this.handle, chain, cflags);
      return;
    }
    if (!this.affects(true)) {
      ndis.fSendNetBufferLists(this.handle, chain, port, flags);
      return;
    }
    const down = this.sendDown;
    const lost = this.sendLost;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      switch (this.fate()) {
        case 1:
          this.counters.lost++;
          x.status = NDIS_STATUS.SUCCESS;
          lost.append(x);
          break;
        case 2: {
          const c = x.netBufferListInfo[LSO_INFO] === 0 ? this.copyOf(x, true) : null;
          if (c === null) down.append(x);
          else {
            // The NIC's checksums first, then the damage, as on a wire.
            if (c.netBufferListInfo[CSUM_INFO] !== 0) {
              computeTransmitChecksums(c, CSUM_ALL, this.scratch);
              c.netBufferListInfo[CSUM_INFO] = 0;
            }
            this.damage(c);
            c.protocolReserved[0] = x;
            this.counters.corrupted++;
            down.append(c);
          }
          break;
        }
        case 3: {
          down.append(x);
          const d = this.copyOf(x, true);
          if (d !== null) {
            this.counters.duplicated++;
            down.append(d);
          }
          break;
        }
        case 4:
          this.counters.reordered++;
          this.heldSend.push(x);
          this.heldSendUntil.push(this.passedSends + (this.policy.reorderWindow ?? 3));
          break;
        default:
          this.counters.passed++;
          down.append(x);
      }
      this.passedSends++;
      while (this.heldSend.length > 0 && this.heldSendUntil[0]! <= this.passedSends) {
        this.heldSendUntil.shift();
        down.append(this.heldSend.shift()!);
      }
      x = next;
    }
    const d = down.take();
    const l = lost.take();
    if (d !== null) ndis.fSendNetBufferLists(this.handle, d, port, flags);
    if (l !== null) ndis.fSendNetBufferListsComplete(this.handle, l, cflags);
    this.armTimer();
  }

  /** FilterSendNetBufferListsComplete: the filter's copies are consumed; originals of corrupted copies complete with them. */
  sendComplete(chain: NetBufferList, flags: number): void {
    const upc = this.sendUp;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      if (x.sourceHandle === this.handle) {
        const original = x.protocolReserved[0] as NetBufferList | null;
        if (original !== null) original.status = x.status;
        this.freeOwn(x);
        if (original !== null) upc.append(original);
      } else upc.append(x);
      x = next;
    }
    const up = upc.take();
    if (up !== null) this.ndis.fSendNetBufferListsComplete(this.handle, up, flags);
    this.maybePauseDone();
  }

  // ---- receive path ----

  /**
   * FilterReceiveNetBufferLists: list A (kept NBLs of the indication) goes up with the
   * indication's flags, list B (the filter's copies and held NBLs released now) goes up in an
   * indication of its own that may pend, list C (lost) is returned.
   */
  receive(chain: NetBufferList, port: number, count: number, flags: number): void {
    const ndis = this.ndis;
    const canPend = (flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0;
    const rflags = (flags & 1) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0;
    if (this.state !== RUNNING) {
      if (canPend) ndis.fReturnNetBufferLists(this.handle, chain, rflags);
      return;
    }
    if (!this.affects(false)) {
      ndis.fIndicateReceiveNetBufferLists(this.handle, chain, port, count, flags);
      return;
    }
    const extra = this.recvExtra;
    const back = this.recvBack;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      switch (this.fate()) {
        case 1:
          this.counters.lost++;
          if (canPend) back.append(x);
          break;
        case 2: {
          const c = this.copyOf(x, false);
          if (c === null) this.keep(x, canPend, port, flags);
          else {
            // Results the NIC computed before the damage no longer hold.
            c.netBufferListInfo[CSUM_INFO] = 0;
            this.damage(c);
            this.counters.corrupted++;
            extra.append(c);
            if (canPend) back.append(x);
          }
          break;
        }
        case 3: {
          const d = this.copyOf(x, false);
          this.keep(x, canPend, port, flags);
          if (d !== null) {
            this.counters.duplicated++;
            extra.append(d);
          }
          break;
        }
        case 4: {
          // Held: the NBL itself when it may pend, else a copy of it.
          const h = canPend ? x : this.copyOf(x, false);
          if (h === null) this.keep(x, canPend, port, flags);
          else {
            this.counters.reordered++;
            this.heldRecv.push(h);
            this.heldRecvUntil.push(this.passedRecvs + (this.policy.reorderWindow ?? 3));
          }
          break;
        }
        default:
          this.counters.passed++;
          this.keep(x, canPend, port, flags);
      }
      this.passedRecvs++;
      while (this.heldRecv.length > 0 && this.heldRecvUntil[0]! <= this.passedRecvs) {
        this.heldRecvUntil.shift();
        extra.append(this.heldRecv.shift()!);
      }
      x = next;
    }
    const upCount = this.recvUp.count;
    const up = this.recvUp.take();
    const extraCount = extra.count;
    const e = extra.take();
    const b = back.take();
    if (b !== null) ndis.fReturnNetBufferLists(this.handle, b, rflags);
    if (up !== null) ndis.fIndicateReceiveNetBufferLists(this.handle, up, port, upCount, flags);
    if (e !== null) ndis.fIndicateReceiveNetBufferLists(this.handle, e, port, extraCount, flags & ~NDIS_RECEIVE_FLAGS.RESOURCES);
    this.armTimer();
  }

  /** Keeps an NBL of the current indication: into list A, or (under RESOURCES, where the chain stays the miniport's) up alone at once. */
  private keep(x: NetBufferList, canPend: boolean, port: number, flags: number): void {
    if (canPend) {
      this.recvUp.append(x);
      return;
    }
    const saved = x.next;
    x.next = null;
    this.ndis.fIndicateReceiveNetBufferLists(this.handle, x, port, 1, flags);
    x.next = saved;
  }

  /** FilterReturnNetBufferLists: the filter's own NBLs are freed; the others go down. */
  returned(chain: NetBufferList, flags: number): void {
    let downHead: NetBufferList | null = null;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      if (x.ndisPoolHandle === this.pool) this.freeOwn(x);
      else {
        x.next = downHead;
        downHead = x;
      }
      x = next;
    }
    if (downHead !== null) this.ndis.fReturnNetBufferLists(this.handle, downHead, flags);
    this.maybePauseDone();
  }

  // ---- held frames, pause ----

  private armTimer(): void {
    if (this.timerArmed || (this.heldSend.length === 0 && this.heldRecv.length === 0)) return;
    this.timerArmed = true;
    this.ndis.setTimerObject(this.timer, relativeDueTime(this.policy.reorderDelayMs ?? 5));
  }

  /** Passes every held frame on (the reorder timer, or a pause). */
  releaseAll(): void {
    this.timerArmed = false;
    const ndis = this.ndis;
    if (this.heldSend.length > 0) {
      const held = this.heldSend.splice(0);
      this.heldSendUntil.length = 0;
      let head: NetBufferList | null = null;
      for (let i = held.length - 1; i >= 0; i--) {
        held[i]!.next = head;
        head = held[i]!;
      }
      if (this.state === RUNNING || this.state === PAUSING) ndis.fSendNetBufferLists(this.handle, head!, 0, 0);
    }
    if (this.heldRecv.length > 0) {
      const held = this.heldRecv.splice(0);
      this.heldRecvUntil.length = 0;
      let head: NetBufferList | null = null;
      for (let i = held.length - 1; i >= 0; i--) {
        held[i]!.next = head;
        head = held[i]!;
      }
      ndis.fIndicateReceiveNetBufferLists(this.handle, head!, 0, held.length, 0);
    }
  }

  /** FilterPause: held frames go on; the pause completes when the filter's own NBLs are back. */
  pause(): number {
    this.state = PAUSING;
    this.ndis.cancelTimerObject(this.timer);
    this.releaseAll();
    if (this.outstandingOwn === 0) {
      this.state = PAUSED;
      return NDIS_STATUS.SUCCESS;
    }
    this.pausing = true;
    return NDIS_STATUS.PENDING;
  }

  private maybePauseDone(): void {
    if (this.pausing && this.outstandingOwn === 0) {
      this.pausing = false;
      this.state = PAUSED;
      this.ndis.fPauseComplete(this.handle);
    }
  }

  /** FilterRestart. */
  restart(): number {
    this.state = RUNNING;
    return NDIS_STATUS.SUCCESS;
  }

  /** FilterDetach: the pool and the timer go. */
  detach(): void {
    this.ndis.cancelTimerObject(this.timer);
    this.ndis.freeTimerObject(this.timer);
    this.ndis.freeNetBufferListPool(this.pool);
  }
}

/** Options of the impairment filter driver. */
export interface ImpairOptions {
  /** Driver name (default 'impair'). */
  name?: string;
  /** FilterClass (default 'custom'). */
  filterClass?: string;
  altitude?: number;
  /** Seed of the decisions (default the runtime's seed). */
  seed?: number;
  /** The policy of every module (default: nothing impaired). */
  policy?: ImpairPolicy;
  /** Policies per adapter name, overriding `policy`. */
  adapters?: Record<string, ImpairPolicy>;
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The impairment filter driver. */
export class ImpairFilter {
  readonly ndis: Ndis;
  readonly options: ImpairOptions;
  handle: FilterDriver | null = null;
  readonly modules = new Map<string, ImpairModule>();

  constructor(ndis: Ndis, options: ImpairOptions = {}) {
    this.ndis = ndis;
    this.options = options;
  }

  /** NdisFRegisterFilterDriver (attaches to every Ethernet adapter). */
  async register(): Promise<FilterDriver> {
    this.handle = await this.ndis.registerFilterDriver(this.characteristics(), this);
    return this.handle;
  }

  /** NdisFDeregisterFilterDriver. */
  async deregister(): Promise<void> {
    if (this.handle !== null) await this.ndis.deregisterFilterDriver(this.handle);
    this.handle = null;
  }

  /** The policy a module on `adapterName` starts with. */
  policyFor(adapterName: string): ImpairPolicy {
    return this.options.adapters?.[adapterName] ?? this.options.policy ?? {};
  }

  /** Changes the policy of the module on `adapterName` (or every module) at run time. */
  setPolicy(policy: ImpairPolicy, adapterName?: string): void {
    for (const [name, m] of this.modules) if (adapterName === undefined || name === adapterName) m.policy = policy;
  }

  /** The module attached to `adapterName`. */
  module(adapterName: string): ImpairModule {
    const m = this.modules.get(adapterName);
    if (m === undefined) throw new Error(`impair filter is not attached to '${adapterName}'`);
    return m;
  }

  /** Counters of every module added up. */
  totals(): ImpairCounters {
    const t = new ImpairCounters();
    for (const m of this.modules.values()) for (const k of Object.keys(t) as (keyof ImpairCounters)[]) t[k] += m.counters[k];
    return t;
  }

  /** NDIS_FILTER_DRIVER_CHARACTERISTICS of the filter (a modifying, optional filter of class 'custom' by default). */
  characteristics(): FilterDriverCharacteristics {
    const ndis = this.ndis;
    const self = this;
    const name = this.options.name ?? 'impair';
    const chars: FilterDriverCharacteristics<ImpairModule> = {
      friendlyName: name,
      uniqueName: `{${name}}`,
      serviceName: name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      filterType: FilterType.Modifying,
      filterRunType: FilterRunType.Optional,
      filterClass: this.options.filterClass ?? 'custom',
      ...(this.options.altitude !== undefined ? { altitude: this.options.altitude } : {}),
      attach(handle) {
        const seed = ((self.options.seed ?? ndis.scheduler.seed) ^ hashName(handle.miniport.name)) >>> 0;
        const m = new ImpairModule(self, handle, seed);
        self.modules.set(handle.miniport.name, m);
        return ndis.fSetAttributes(handle, m);
      },
      detach(m) {
        m.detach();
        self.modules.delete(m.handle.miniport.name);
      },
      restart: (m) => m.restart(),
      pause: (m) => m.pause(),
      sendNetBufferLists: (m, nbl, port, flags) => m.send(nbl, port, flags),
      sendNetBufferListsComplete: (m, nbl, flags) => m.sendComplete(nbl, flags),
      receiveNetBufferLists: (m, nbl, port, count, flags) => m.receive(nbl, port, count, flags),
      returnNetBufferLists: (m, nbl, flags) => m.returned(nbl, flags),
      status: (m, indication) => ndis.fIndicateStatus(m.handle, indication),
      netPnPEvent: (m, n) => ndis.fNetPnPEvent(m.handle, n),
    };
    return chars as FilterDriverCharacteristics;
  }
}
