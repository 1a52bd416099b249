/**
 * `programmable`: a filter whose behaviour a test scripts, the filter counterpart of the
 * programmable miniport (and of Microsoft's FnLwf functional-test filter). Per module a test
 * decides what happens to each send, receive and OID (pass on, hold, complete / return, or answer),
 * originates its own receives (frames cut into MDLs where it wants, with the flags and OOB it wants)
 * and sends, releases what it held when it wants, and chooses how pause and restart behave. It
 * registers with any NDIS 6.x version.
 *
 * Like the programmable miniport it does exactly what it is told, rule breaking included, so that
 * the verifier has something to catch. Untold, it behaves as a correct modifying filter: it passes
 * everything through, clones OIDs, bounces sends and returns receives while paused, and gives back
 * what it holds before its pause completes.
 */
import {
  FilterRunType,
  FilterType,
  NDIS_STATUS,
  allocateCloneOidRequest,
  copyOidResults,
  type FilterDriver,
  type FilterDriverCharacteristics,
  type FilterModule,
  type Ndis,
  type NdisOidRequest,
  type NdisStatus,
} from '../../../ndis/index.js';
import {
  NDIS_RECEIVE_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  NblQueue,
  freeMdlChain,
  mdlChainFromBytes,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';

/** What the filter does with a send chain it is given. */
export type FilterSendAction = 'pass' | 'hold' | 'complete';
/** What the filter does with a receive chain it is given. */
export type FilterReceiveAction = 'pass' | 'hold' | 'return';
/** How the filter answers an OID: pass a clone down, a status, or 'pend' to complete it later. */
export type FilterOidAction = 'pass' | 'pend' | NdisStatus;

/** A frame the filter originates. */
export interface FilterFrame {
  bytes: Uint8Array;
  /** Offsets at which to cut the frame into separate MDLs. */
  splitAt?: number[];
  nblFlags?: number;
  /** OOB values to set: [NDIS_NET_BUFFER_LIST_INFO id, value]. */
  info?: [number, number][];
}

export interface ProgrammableFilterOptions {
  /** FriendlyName (also the driver's name in reports); default 'pfilter'. */
  name?: string;
  /** NDIS 6.x minor version (default 30). */
  minorNdisVersion?: number;
  filterClass?: string;
  altitude?: number;
  /** FilterType.Modifying (default) or FilterType.Monitoring. */
  filterType?: number;
  /** FilterRunType.Optional (default) or Mandatory. */
  filterRunType?: number;
}

/** The FilterModuleContext of a programmable module: the test's handle on it. */
export class ProgrammableFilterModule {
  readonly handle: FilterModule;
  readonly ndis: Ndis;
  /** The module's own NBLs (receives and sends it originates). */
  readonly pool: NetBufferListPool;
  running = false;
  /** Decides each send chain's fate (default 'pass'). */
  onSend: ((chain: NetBufferList, sendFlags: number) => FilterSendAction | undefined) | null = null;
  /** Decides each receive chain's fate (default 'pass'); RESOURCES indications cannot be held. */
  onReceive: ((chain: NetBufferList, receiveFlags: number) => FilterReceiveAction | undefined) | null = null;
  /** Decides each OID (default: a clone goes down, as ndislwf does). */
  onOid: ((request: NdisOidRequest) => FilterOidAction | undefined) | null = null;
  /** 'sync' completes FilterPause at once (returning held NBLs first); 'pend' waits for completePause(). */
  pauseMode: 'sync' | 'pend' = 'sync';
  /** What FilterPause returns in 'sync' mode (a test can make it return a failure). */
  pauseReturn: NdisStatus = NDIS_STATUS.SUCCESS;
  /**
   * Consume the completions and returns of the module's own NBLs (default true, as NDIS requires);
   * false passes them on like anyone else's (a SourceHandle violation).
   */
  reclaimOwn = true;
  /** Return held sends and receives when the pause begins (default true, as the rules require). */
  releaseOnPause = true;
  readonly heldSends = new NblQueue();
  readonly heldReceives = new NblQueue();
  /** OIDs pended by the test. */
  readonly pendingOids: NdisOidRequest[] = [];
  readonly log: string[] = [];
  sends = 0;
  receives = 0;
  ownSendsCompleted = 0;
  ownReceivesReturned = 0;

  constructor(handle: FilterModule, ndis: Ndis) {
    this.handle = handle;
    this.ndis = ndis;
    this.pool = ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, poolTag: 'PfIt' });
  }

  private build(f: FilterFrame): NetBufferList {
    const { chain, offset } = mdlChainFromBytes(f.bytes, f.splitAt ?? []);
    const nbl = this.pool.allocateNetBufferAndNetBufferList(0, 0, chain, offset, f.bytes.length);
    if (nbl === null) {
      freeMdlChain(chain);
      throw new Error('programmable filter: pool exhausted');
    }
    nbl.nblFlags = f.nblFlags ?? 0;
    for (const [id, v] of f.info ?? []) nbl.netBufferListInfo[id] = v;
    // A filter marks the NBLs it originates with its NdisFilterHandle.
    nbl.sourceHandle = this.handle;
    return nbl;
  }

  private free(nbl: NetBufferList): void {
    const mdl = nbl.firstNetBuffer!.mdlChain;
    this.pool.freeNetBufferList(nbl);
    freeMdlChain(mdl);
  }

  /** Originates receives (NdisFIndicateReceiveNetBufferLists); they come back to FilterReturnNetBufferLists. */
  indicate(frames: readonly FilterFrame[], flags = 0): NetBufferList[] {
    const nbls = frames.map((f) => this.build(f));
    for (let i = 0; i + 1 < nbls.length; i++) nbls[i]!.next = nbls[i + 1]!;
    if (nbls.length === 0) return nbls;
    this.ndis.fIndicateReceiveNetBufferLists(this.handle, nbls[0]!, 0, nbls.length, flags);
    if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0) for (const n of nbls) this.free(n);
    return nbls;
  }

  /** Originates sends (NdisFSendNetBufferLists); they come back to FilterSendNetBufferListsComplete. */
  send(frames: readonly FilterFrame[], sendFlags = 0): NetBufferList[] {
    const nbls = frames.map((f) => this.build(f));
    for (let i = 0; i + 1 < nbls.length; i++) nbls[i]!.next = nbls[i + 1]!;
    if (nbls.length > 0) this.ndis.fSendNetBufferLists(this.handle, nbls[0]!, 0, sendFlags);
    return nbls;
  }

  /** Passes held sends on down. */
  releaseSends(): void {
    const chain = this.heldSends.takeAll();
    if (chain !== null) this.ndis.fSendNetBufferLists(this.handle, chain, 0, 0);
  }

  /** Passes held receives on up. */
  releaseReceives(): void {
    const chain = this.heldReceives.takeAll();
    if (chain === null) return;
    let n = 0;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) n++;
    this.ndis.fIndicateReceiveNetBufferLists(this.handle, chain, 0, n, 0);
  }

  /** Completes held sends back up with `status`. */
  completeHeldSends(status: NdisStatus = NDIS_STATUS.SUCCESS): void {
    const chain = this.heldSends.takeAll();
    if (chain === null) return;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) x.status = status;
    this.ndis.fSendNetBufferListsComplete(this.handle, chain, 0);
  }

  /** Returns held receives down. */
  returnHeldReceives(): void {
    const chain = this.heldReceives.takeAll();
    if (chain !== null) this.ndis.fReturnNetBufferLists(this.handle, chain, 0);
  }

  /** NdisFPauseComplete for a pended pause. */
  completePause(): void {
    this.ndis.fPauseComplete(this.handle);
  }

  /** NdisFOidRequestComplete for a pended OID. */
  completeOid(request: NdisOidRequest, status: NdisStatus): void {
    const i = this.pendingOids.indexOf(request);
    if (i >= 0) this.pendingOids.splice(i, 1);
    this.ndis.fOidRequestComplete(this.handle, request, status);
  }

  // ---- handlers ----

  sendHandler(chain: NetBufferList, port: number, flags: number): void {
    this.sends++;
    if (!this.running) {
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) x.status = NDIS_STATUS.PAUSED;
      this.ndis.fSendNetBufferListsComplete(this.handle, chain, (flags & 1) !== 0 ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0);
      return;
    }
    const action = this.onSend?.(chain, flags) ?? 'pass';
    if (action === 'hold') this.heldSends.enqueueChain(chain);
    else if (action === 'complete') {
      for (let x: NetBufferList | null = chain; x !== null; x = x.next) x.status = NDIS_STATUS.SUCCESS;
      this.ndis.fSendNetBufferListsComplete(this.handle, chain, 0);
    } else this.ndis.fSendNetBufferLists(this.handle, chain, port, flags);
  }

  completeHandler(chain: NetBufferList, flags: number): void {
    // The module's own sends end here; the others go on up.
    const others = this.takeOwn(chain, true);
    if (others !== null) this.ndis.fSendNetBufferListsComplete(this.handle, others, flags);
  }

  /** Frees the module's own NBLs of a chain (completions or returns) and gives back the rest, in order. */
  private takeOwn(chain: NetBufferList, sends: boolean): NetBufferList | null {
    let others: NetBufferList | null = null;
    let tail: NetBufferList | null = null;
    for (let x: NetBufferList | null = chain; x !== null; ) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      if (x.ndisPoolHandle === this.pool && this.reclaimOwn) {
        if (sends) this.ownSendsCompleted++;
        else this.ownReceivesReturned++;
        this.free(x);
      } else {
        if (tail === null) others = x;
        else tail.next = x;
        tail = x;
      }
      x = next;
    }
    return others;
  }

  receiveHandler(chain: NetBufferList, port: number, count: number, flags: number): void {
    this.receives += count;
    const canPend = (flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0;
    if (!this.running) {
      if (canPend) this.ndis.fReturnNetBufferLists(this.handle, chain, 0);
      return;
    }
    const action = this.onReceive?.(chain, flags) ?? 'pass';
    if (action === 'hold' && canPend) this.heldReceives.enqueueChain(chain);
    else if (action === 'return') {
      if (canPend) this.ndis.fReturnNetBufferLists(this.handle, chain, 0);
    } else this.ndis.fIndicateReceiveNetBufferLists(this.handle, chain, port, count, flags);
  }

  returnHandler(chain: NetBufferList, flags: number): void {
    const others = this.takeOwn(chain, false);
    if (others !== null) this.ndis.fReturnNetBufferLists(this.handle, others, flags);
  }

  oidHandler(request: NdisOidRequest): NdisStatus {
    this.log.push(`oid ${request.oid.toString(16)}`);
    const action = this.onOid?.(request) ?? 'pass';
    if (action === 'pend') {
      this.pendingOids.push(request);
      return NDIS_STATUS.PENDING;
    }
    if (action !== 'pass') return action;
    const clone = allocateCloneOidRequest(request);
    clone.sourceReserved[0] = request;
    const status = this.ndis.fOidRequest(this.handle, clone);
    if (status !== NDIS_STATUS.PENDING) copyOidResults(request, clone);
    return status;
  }

  oidCompleteHandler(clone: NdisOidRequest, status: NdisStatus): void {
    const original = clone.sourceReserved[0] as NdisOidRequest;
    copyOidResults(original, clone);
    this.ndis.fOidRequestComplete(this.handle, original, status);
  }

  pauseHandler(): NdisStatus {
    this.running = false;
    this.log.push('pause');
    if (this.releaseOnPause) {
      this.completeHeldSends(NDIS_STATUS.PAUSED);
      this.returnHeldReceives();
    }
    return this.pauseMode === 'pend' ? NDIS_STATUS.PENDING : this.pauseReturn;
  }

  detachHandler(): void {
    this.log.push('detach');
    this.ndis.freeNetBufferListPool(this.pool);
  }
}

/** The programmable filter driver: modules created by NDIS on every Ethernet adapter. */
export class ProgrammableFilter {
  readonly ndis: Ndis;
  readonly name: string;
  readonly modules = new Map<string, ProgrammableFilterModule>();
  /** Called when a module attaches (set its behaviour here). */
  onAttach: ((m: ProgrammableFilterModule) => void) | null = null;
  driver: FilterDriver | null = null;
  private readonly chars: FilterDriverCharacteristics<ProgrammableFilterModule>;

  constructor(ndis: Ndis, options: ProgrammableFilterOptions = {}) {
    this.ndis = ndis;
    this.name = options.name ?? 'pfilter';
    const self = this;
    this.chars = {
      friendlyName: this.name,
      uniqueName: `{${this.name}}`,
      serviceName: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: options.minorNdisVersion ?? 30,
      filterType: options.filterType ?? FilterType.Modifying,
      filterRunType: options.filterRunType ?? FilterRunType.Optional,
      filterClass: options.filterClass ?? 'custom',
      ...(options.altitude !== undefined ? { altitude: options.altitude } : {}),
      attach(handle) {
        const m = new ProgrammableFilterModule(handle, ndis);
        self.modules.set(handle.miniport.name, m);
        ndis.fSetAttributes(handle, m);
        self.onAttach?.(m);
        return NDIS_STATUS.SUCCESS;
      },
      detach(m) {
        m.detachHandler();
        self.modules.delete(m.handle.miniport.name);
      },
      restart(m) {
        m.running = true;
        m.log.push('restart');
        return NDIS_STATUS.SUCCESS;
      },
      pause: (m) => m.pauseHandler(),
      sendNetBufferLists: (m, nbl, port, flags) => m.sendHandler(nbl, port, flags),
      sendNetBufferListsComplete: (m, nbl, flags) => m.completeHandler(nbl, flags),
      receiveNetBufferLists: (m, nbl, port, count, flags) => m.receiveHandler(nbl, port, count, flags),
      returnNetBufferLists: (m, nbl, flags) => m.returnHandler(nbl, flags),
      oidRequest: (m, r) => m.oidHandler(r),
      oidRequestComplete: (m, r, s) => m.oidCompleteHandler(r, s),
      cancelOidRequest(m, requestId) {
        const r = m.pendingOids.find((x) => x.requestId === requestId);
        if (r !== undefined) m.completeOid(r, NDIS_STATUS.REQUEST_ABORTED);
      },
    };
  }

  /** Registers with NDIS (NdisFRegisterFilterDriver): modules attach to every matching adapter. */
  async register(): Promise<FilterDriver> {
    const driver = await this.ndis.registerFilterDriver(this.chars as FilterDriverCharacteristics, this);
    this.driver = driver;
    return driver;
  }

  /** The module on an adapter. */
  module(adapter: string): ProgrammableFilterModule {
    const m = this.modules.get(adapter);
    if (m === undefined) throw new Error(`programmable filter '${this.name}' has no module on '${adapter}'`);
    return m;
  }
}
