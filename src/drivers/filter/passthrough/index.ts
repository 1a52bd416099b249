/**
 * `passthrough`: a modifying light-weight filter in the manner of the WDK's ndislwf. It passes every
 * send, receive, OID (cloned with NdisAllocateCloneOidRequest, as ndislwf does), status and PnP
 * event through, counts what it sees, and follows the pause rules: while paused it bounces sends
 * with NDIS_STATUS_PAUSED and returns receives at once. For tests it can be told to drop or
 * modify sends and receives (`policy`).
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
import { NDIS_RECEIVE_FLAGS, NDIS_RETURN_FLAGS, NDIS_SEND_COMPLETE_FLAGS, type NetBufferList } from '../../../nbl/index.js';

/** What a passthrough filter does to traffic; the defaults pass everything unchanged. */
export interface PassthroughPolicy {
  /** Return true to drop a send NBL (completed with NDIS_STATUS_FAILURE by the filter). */
  dropSend?(nbl: NetBufferList): boolean;
  /** Return true to drop a received NBL (returned down by the filter). */
  dropReceive?(nbl: NetBufferList): boolean;
  /** Called for every received NBL the filter passes up (may modify it in place). */
  onReceive?(nbl: NetBufferList): void;
  /** Called for every send NBL the filter passes down. */
  onSend?(nbl: NetBufferList): void;
}

/** Counters of one filter module. */
export class PassthroughCounters {
  sentNbls = 0;
  sendCompletedNbls = 0;
  receivedNbls = 0;
  returnedCalls = 0;
  droppedSends = 0;
  droppedReceives = 0;
  /** Sends completed with NDIS_STATUS_PAUSED and receives returned at once while paused. */
  sendsBouncedWhilePaused = 0;
  receivesBouncedWhilePaused = 0;
  oids = 0;
  statusIndications = 0;
}

const RUNNING = 0;
const PAUSED = 1;

/** The FilterModuleContext of a passthrough module. */
export class PassthroughModule {
  readonly handle: FilterModule;
  readonly ndis: Ndis;
  readonly filter: PassthroughFilter;
  readonly counters = new PassthroughCounters();
  state = PAUSED;
  constructor(handle: FilterModule, filter: PassthroughFilter) {
    this.handle = handle;
    this.filter = filter;
    this.ndis = filter.ndis;
  }
}

// The data-path handlers are shared by every passthrough module (one function each, so that the
// call sites NDIS makes into them stay monomorphic however many filters are installed).

function ptSend(m: PassthroughModule, nbl: NetBufferList, port: number, flags: number): void {
  const ndis = m.ndis;
  if (m.state !== RUNNING) {
    for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
      x.status = NDIS_STATUS.PAUSED;
      m.counters.sendsBouncedWhilePaused++;
    }
    ndis.fSendNetBufferListsComplete(m.handle, nbl, (flags & 1) !== 0 ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0);
    return;
  }
  const policy = m.filter.policy;
  if (policy.dropSend === undefined && policy.onSend === undefined) {
    for (let x: NetBufferList | null = nbl; x !== null; x = x.next) m.counters.sentNbls++;
    ndis.fSendNetBufferLists(m.handle, nbl, port, flags);
    return;
  }
  let keepHead: NetBufferList | null = null;
  let keepTail: NetBufferList | null = null;
  let dropHead: NetBufferList | null = null;
  let x: NetBufferList | null = nbl;
  while (x !== null) {
    const next: NetBufferList | null = x.next;
    x.next = null;
    if (policy.dropSend?.(x) === true) {
      m.counters.droppedSends++;
      x.status = NDIS_STATUS.FAILURE;
      x.next = dropHead;
      dropHead = x;
    } else {
      policy.onSend?.(x);
      m.counters.sentNbls++;
      if (keepTail === null) keepHead = x;
      else keepTail.next = x;
      keepTail = x;
    }
    x = next;
  }
  if (keepHead !== null) ndis.fSendNetBufferLists(m.handle, keepHead, port, flags);
  if (dropHead !== null) ndis.fSendNetBufferListsComplete(m.handle, dropHead, (flags & 1) !== 0 ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0);
}

function ptSendComplete(m: PassthroughModule, nbl: NetBufferList, flags: number): void {
  for (let x: NetBufferList | null = nbl; x !== null; x = x.next) m.counters.sendCompletedNbls++;
  m.ndis.fSendNetBufferListsComplete(m.handle, nbl, flags);
}

function ptReceive(m: PassthroughModule, nbl: NetBufferList, port: number, count: number, flags: number): void {
  const ndis = m.ndis;
  const canPend = (flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0;
  if (m.state !== RUNNING) {
    m.counters.receivesBouncedWhilePaused += count;
    if (canPend) ndis.fReturnNetBufferLists(m.handle, nbl, (flags & 1) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
    return;
  }
  const policy = m.filter.policy;
  if (policy.dropReceive === undefined && policy.onReceive === undefined) {
    m.counters.receivedNbls += count;
    ndis.fIndicateReceiveNetBufferLists(m.handle, nbl, port, count, flags);
    return;
  }
  // ndislwf's recipe: split the chain into the NBLs to drop and the ones to keep.
  if (!canPend) {
    // Under RESOURCES the chain must be given back intact: indicate the kept ones one at a time.
    for (let x: NetBufferList | null = nbl; x !== null; ) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      if (policy.dropReceive?.(x) === true) m.counters.droppedReceives++;
      else {
        policy.onReceive?.(x);
        m.counters.receivedNbls++;
        ndis.fIndicateReceiveNetBufferLists(m.handle, x, port, 1, flags);
      }
      x.next = next;
      x = next;
    }
    return;
  }
  let keepHead: NetBufferList | null = null;
  let keepTail: NetBufferList | null = null;
  let kept = 0;
  let dropHead: NetBufferList | null = null;
  let x: NetBufferList | null = nbl;
  while (x !== null) {
    const next: NetBufferList | null = x.next;
    x.next = null;
    if (policy.dropReceive?.(x) === true) {
      m.counters.droppedReceives++;
      x.next = dropHead;
      dropHead = x;
    } else {
      policy.onReceive?.(x);
      kept++;
      if (keepTail === null) keepHead = x;
      else keepTail.next = x;
      keepTail = x;
    }
    x = next;
  }
  if (dropHead !== null) ndis.fReturnNetBufferLists(m.handle, dropHead, (flags & 1) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
  if (keepHead !== null) {
    m.counters.receivedNbls += kept;
    ndis.fIndicateReceiveNetBufferLists(m.handle, keepHead, port, kept, flags);
  }
}

function ptReturn(m: PassthroughModule, nbl: NetBufferList, flags: number): void {
  m.counters.returnedCalls++;
  m.ndis.fReturnNetBufferLists(m.handle, nbl, flags);
}

function ptOid(m: PassthroughModule, request: NdisOidRequest): NdisStatus {
  m.counters.oids++;
  const clone = allocateCloneOidRequest(request);
  clone.sourceReserved[0] = request;
  const status = m.ndis.fOidRequest(m.handle, clone);
  if (status !== NDIS_STATUS.PENDING) {
    copyOidResults(request, clone);
    return status;
  }
  return NDIS_STATUS.PENDING;
}

function ptOidComplete(m: PassthroughModule, clone: NdisOidRequest, status: NdisStatus): void {
  const original = clone.sourceReserved[0] as NdisOidRequest;
  copyOidResults(original, clone);
  m.ndis.fOidRequestComplete(m.handle, original, status);
}

/** Options of the passthrough filter driver (what its INF says). */
export interface PassthroughOptions {
  name?: string;
  filterClass?: string;
  altitude?: number;
  mandatory?: boolean;
  monitoring?: boolean;
  /** Pass OIDs through by cloning (default) or leave them to NDIS (no OidRequest handler: bypass). */
  cloneOids?: boolean;
  policy?: PassthroughPolicy;
}

/** The passthrough filter driver: registration and the modules it has attached. */
export class PassthroughFilter {
  readonly ndis: Ndis;
  readonly options: PassthroughOptions;
  policy: PassthroughPolicy;
  handle: FilterDriver | null = null;
  readonly modules = new Map<FilterModule, PassthroughModule>();

  constructor(ndis: Ndis, options: PassthroughOptions = {}) {
    this.ndis = ndis;
    this.options = options;
    this.policy = options.policy ?? {};
  }

  /** NdisFRegisterFilterDriver (attaches to every matching adapter). */
  async register(): Promise<FilterDriver> {
    this.handle = await this.ndis.registerFilterDriver(this.characteristics(), this);
    return this.handle;
  }

  /** The module attached to `adapterName`. */
  module(adapterName: string): PassthroughModule {
    for (const [h, m] of this.modules) if (h.miniport.name === adapterName) return m;
    throw new Error(`passthrough filter is not attached to '${adapterName}'`);
  }

  characteristics(): FilterDriverCharacteristics {
    const ndis = this.ndis;
    const self = this;
    const name = this.options.name ?? 'passthrough';
    const chars: FilterDriverCharacteristics<PassthroughModule> = {
      friendlyName: name,
      uniqueName: `{${name}}`,
      serviceName: name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      filterType: this.options.monitoring === true ? FilterType.Monitoring : FilterType.Modifying,
      filterRunType: this.options.mandatory === true ? FilterRunType.Mandatory : FilterRunType.Optional,
      filterClass: this.options.filterClass ?? 'custom',
      ...(this.options.altitude !== undefined ? { altitude: this.options.altitude } : {}),
      attach(handle) {
        const m = new PassthroughModule(handle, self);
        self.modules.set(handle, m);
        return ndis.fSetAttributes(handle, m);
      },
      detach(m) {
        self.modules.delete(m.handle);
      },
      restart(m) {
        m.state = RUNNING;
        return NDIS_STATUS.SUCCESS;
      },
      pause(m) {
        // Nothing is held: sends complete and receives return through the module without waiting here.
        m.state = PAUSED;
        return NDIS_STATUS.SUCCESS;
      },
      sendNetBufferLists: ptSend,
      sendNetBufferListsComplete: ptSendComplete,
      receiveNetBufferLists: ptReceive,
      returnNetBufferLists: ptReturn,
      status(m, indication) {
        m.counters.statusIndications++;
        ndis.fIndicateStatus(m.handle, indication);
      },
      netPnPEvent(m, notification) {
        return ndis.fNetPnPEvent(m.handle, notification);
      },
      ...(this.options.cloneOids === false
        ? {}
        : {
            oidRequest: ptOid,
            oidRequestComplete: ptOidComplete,
            cancelOidRequest(m: PassthroughModule, requestId: unknown): void {
              ndis.fCancelOidRequest(m.handle, requestId);
            },
          }),
    };
    return chars as FilterDriverCharacteristics;
  }
}
