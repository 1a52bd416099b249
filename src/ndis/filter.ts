/**
 * Filter drivers and filter modules (NDIS 6 light-weight filters): NdisFRegisterFilterDriver and the
 * per-adapter filter module NDIS attaches for each filter driver whose media types match.
 */
import { NBL_HANDOFF, type NetBufferList } from '../nbl/net-buffer-list.js';
import type { FilterDriverCharacteristics, FilterPartialCharacteristics } from './characteristics.js';
import type { CompleteTarget, ReceiveTarget, ReturnTarget, SendTarget } from './datapath.js';
import { FILTER_CLASS_ORDER, FilterRunType, FilterType } from './constants.js';
import { FILTER_TRANSITIONS, FilterState, StateMachine, type FilterEvent } from './state.js';
import type { MiniportBlock } from './miniport.js';
import type { NdisOidRequest } from './oid.js';
import type { Ndis } from './ndis.js';
import { NdisError } from '../base/errors.js';
import { DriverResources } from './resources.js';

type FilterSendHandler = (ctx: unknown, nbl: NetBufferList, port: number, flags: number) => void;
type FilterReturnHandler = (ctx: unknown, nbl: NetBufferList, flags: number) => void;
type FilterReceiveHandler = (ctx: unknown, nbl: NetBufferList, port: number, count: number, flags: number) => void;
type FilterCompleteHandler = (ctx: unknown, nbl: NetBufferList, flags: number) => void;
// Placeholders for a handler a module does not have (NDIS never routes to it then).
const noSend: FilterSendHandler = () => undefined;
const noReturn: FilterReturnHandler = () => undefined;
const noReceive: FilterReceiveHandler = () => undefined;
const noComplete: FilterCompleteHandler = () => undefined;

/** A registered filter driver (the NdisFilterDriverHandle). */
export class FilterDriver {
  readonly ndis: Ndis;
  readonly chars: FilterDriverCharacteristics;
  readonly driverContext: unknown;
  readonly id: number;
  readonly filterType: number;
  readonly filterRunType: number;
  readonly filterClass: string;
  readonly altitude: number;
  readonly filterMediaTypes: readonly string[];
  readonly modules = new Set<FilterModule>();
  deregistered = false;

  constructor(ndis: Ndis, chars: FilterDriverCharacteristics, driverContext: unknown, id: number, registrationOrder: number) {
    this.ndis = ndis;
    this.chars = chars;
    this.driverContext = driverContext;
    this.id = id;
    this.filterType = chars.filterType ?? FilterType.Modifying;
    this.filterRunType = chars.filterRunType ?? FilterRunType.Optional;
    this.filterClass = chars.filterClass ?? 'custom';
    this.altitude = chars.altitude ?? registrationOrder;
    this.filterMediaTypes = chars.filterMediaTypes ?? ['ethernet'];
    if (this.filterType === FilterType.Modifying && !(FILTER_CLASS_ORDER as readonly string[]).includes(this.filterClass)) {
      throw new NdisError(
        'ERR_NDIS_INVALID_PARAMETER',
        `filter '${chars.uniqueName}': FilterClass '${this.filterClass}' is not one of ${FILTER_CLASS_ORDER.join(', ')}`,
      );
    }
  }

  get name(): string {
    return this.chars.friendlyName;
  }

  /**
   * Stacking key: lower sorts closer to the miniport. Modifying filters are ordered by FilterClass
   * (the class list runs top to bottom) and by altitude within a class; monitoring filters sit above
   * the modifying ones, the first installed closest to the miniport.
   */
  stackKey(): number {
    if (this.filterType === FilterType.Monitoring) return 1_000_000 + this.altitude;
    const cls = (FILTER_CLASS_ORDER as readonly string[]).indexOf(this.filterClass);
    return (FILTER_CLASS_ORDER.length - cls) * 10_000 + this.altitude;
  }
}

/** Per-module counters. */
export interface FilterModuleCounters {
  sends: number;
  sendCompletes: number;
  receives: number;
  returns: number;
}

/**
 * A filter module: one filter driver attached to one adapter's stack (NdisFilterHandle). Holds the
 * module's state machine, its FilterModuleContext, the handlers in effect (NdisSetOptionalHandlers
 * may change them while paused), and its neighbours on each path.
 */
export class FilterModule implements SendTarget, ReturnTarget, ReceiveTarget, CompleteTarget {
  readonly ndis: Ndis;
  readonly driver: FilterDriver;
  readonly miniport: MiniportBlock;
  readonly id: number;
  readonly name: string;
  readonly sm: StateMachine<FilterState, FilterEvent>;
  context: unknown = null;
  attributesSet = false;
  /** Handlers in effect on the data path (initially the driver's). */
  handlers: FilterPartialCharacteristics;
  lowerSend: SendTarget;
  lowerReturn: ReturnTarget;
  upperReceive: ReceiveTarget;
  upperComplete: CompleteTarget;
  // The handlers in effect, cached as fields so that the data path makes one load and one call.
  private sendHandler: FilterSendHandler = noSend;
  private returnHandler: FilterReturnHandler = noReturn;
  private receiveHandler: FilterReceiveHandler = noReceive;
  private completeHandler: FilterCompleteHandler = noComplete;
  /**
   * The chain NDIS last gave FilterReceiveNetBufferLists: when the filter indicates that same chain
   * up, it passes it on; anything else it originated or rebuilt (the cheap checks look only there).
   */
  lastReceived: NetBufferList | null = null;
  /** A slot for the attached verifier's data about this module (what it caches per originator). */
  verifierData: unknown = null;
  // OID serialization: one request at a time.
  oidBusy: NdisOidRequest | null = null;
  readonly oidQueue: NdisOidRequest[] = [];
  readonly counters: FilterModuleCounters = { sends: 0, sendCompletes: 0, receives: 0, returns: 0 };
  pausePending: (() => void) | null = null;
  restartPending: ((status: number) => void) | null = null;
  /** Virtual time (100-ns) when the current pause started (watchdog). */
  pauseStartedAt = -1;
  readonly resources = new DriverResources();

  constructor(ndis: Ndis, driver: FilterDriver, miniport: MiniportBlock, id: number) {
    this.ndis = ndis;
    this.driver = driver;
    this.miniport = miniport;
    this.id = id;
    this.name = `${miniport.name}-${driver.chars.uniqueName}-0000`;
    this.sm = new StateMachine(FILTER_TRANSITIONS, FilterState.Detached, `filter module ${this.name}`);
    const c = driver.chars;
    this.handlers = {
      ...(c.sendNetBufferLists ? { sendNetBufferLists: c.sendNetBufferLists } : {}),
      ...(c.sendNetBufferListsComplete ? { sendNetBufferListsComplete: c.sendNetBufferListsComplete } : {}),
      ...(c.cancelSendNetBufferLists ? { cancelSendNetBufferLists: c.cancelSendNetBufferLists } : {}),
      ...(c.receiveNetBufferLists ? { receiveNetBufferLists: c.receiveNetBufferLists } : {}),
      ...(c.returnNetBufferLists ? { returnNetBufferLists: c.returnNetBufferLists } : {}),
    };
    this.lowerSend = miniport;
    this.lowerReturn = miniport;
    this.upperReceive = miniport.demux;
    this.upperComplete = miniport.demux;
  }

  get state(): FilterState {
    return this.sm.state;
  }

  /** Caches the handlers in effect (called when the stack's data path is rebuilt). */
  cacheHandlers(): void {
    const h = this.handlers;
    this.sendHandler = h.sendNetBufferLists ?? noSend;
    this.returnHandler = h.returnNetBufferLists ?? noReturn;
    this.receiveHandler = h.receiveNetBufferLists ?? noReceive;
    this.completeHandler = h.sendNetBufferListsComplete ?? noComplete;
  }

  /** True when the data path may flow through this module (Running or Pausing). */
  get dataPathOpen(): boolean {
    const s = this.sm.state;
    return s === FilterState.Running || s === FilterState.Pausing;
  }

  sendDown(nbl: NetBufferList, portNumber: number, sendFlags: number): void {
    this.counters.sends++;
    if (this.ndis.verifyLevel >= 2) this.ndis.checks.transferChain(nbl, this.id, 'FilterSendNetBufferLists', this, NBL_HANDOFF.Send);
    this.sendHandler(this.context, nbl, portNumber, sendFlags);
  }

  returnDown(nbl: NetBufferList, returnFlags: number): void {
    this.counters.returns++;
    if (this.ndis.verifyLevel >= 2) this.ndis.checks.transferChain(nbl, this.id, 'FilterReturnNetBufferLists', this, NBL_HANDOFF.Return);
    this.returnHandler(this.context, nbl, returnFlags);
  }

  receiveUp(nbl: NetBufferList, portNumber: number, count: number, receiveFlags: number): void {
    this.counters.receives++;
    this.lastReceived = nbl;
    if (this.ndis.verifyLevel >= 2) this.ndis.checks.transferChain(nbl, this.id, 'FilterReceiveNetBufferLists', this, NBL_HANDOFF.Receive);
    this.receiveHandler(this.context, nbl, portNumber, count, receiveFlags);
  }

  completeUp(nbl: NetBufferList, sendCompleteFlags: number): void {
    this.counters.sendCompletes++;
    if (this.ndis.verifyLevel >= 2) this.ndis.checks.transferChain(nbl, this.id, 'FilterSendNetBufferListsComplete', this, NBL_HANDOFF.SendComplete);
    this.completeHandler(this.context, nbl, sendCompleteFlags);
  }
}
