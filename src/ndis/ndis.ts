/**
 * The NDIS runtime: what ndis.sys does. Drivers never call each other; they call these functions
 * and NDIS calls their handlers. That is what lets NDIS pause a stack, insert a filter, route an
 * OID, loop a send back, enforce a rule, or count a packet.
 *
 * Naming: each NDIS function is a method named after it without the `Ndis` prefix, in lowerCamel
 * case, keeping the M/F edge letter: NdisMIndicateReceiveNetBufferLists is
 * `mIndicateReceiveNetBufferLists`, NdisFSendNetBufferLists is `fSendNetBufferLists`,
 * NdisSendNetBufferLists is `sendNetBufferLists`. PnP operations that the Windows PnP manager and
 * NDIS perform (an adapter arriving, a filter being installed, a binding enabled, power changes)
 * are async methods; they serialize per adapter and resolve when the stack has settled.
 */
import { NdisError } from '../base/errors.js';
import { NDIS_STATUS, formatStatus, type NdisStatus } from '../base/status.js';
import { NDIS_RECEIVE_FLAGS, NDIS_SEND_FLAGS, NDIS_NBL_FLAGS } from '../nbl/flags.js';
import { NBL_HANDOFF, type NetBufferList } from '../nbl/net-buffer-list.js';
import type { NetBuffer } from '../nbl/net-buffer.js';
import { NetBufferListPool, NetBufferPool, type NetBufferListPoolParameters, type NetBufferPoolParameters } from '../nbl/pool.js';
import { copyOutOfNetBuffer } from '../nbl/data.js';
import type {
  FilterAttachParameters,
  FilterDriverCharacteristics,
  FilterPartialCharacteristics,
  FilterRestartParameters,
  MiniportAdapterAttributes,
  MiniportDriverCharacteristics,
  MiniportInitParameters,
  MiniportRestartParameters,
  NdisBindParameters,
  NdisFilterAttributes,
  NdisOpenParameters,
  NdisPauseParameters,
  NdisRestartGeneralAttributes,
  NdisStatusIndication,
  NetDevicePnPEvent,
  NetPnPEventNotification,
  ProtocolDriverCharacteristics,
  ProtocolRestartParameters,
} from './characteristics.js';
import {
  FilterRunType,
  MediaConnectState,
  MediaDuplexState,
  NDIS_PACKET_TYPE,
  NDIS_PAUSE,
  NDIS_RSS_PARAM_FLAG,
  NdisDevicePnPEvent,
  NdisHaltAction,
  NdisMedium,
  NetDeviceState,
  NetEvent,
} from './constants.js';
import { DataPathChecks } from './checks.js';
import { NdisDropReason } from './datapath.js';
import { FilterDriver, FilterModule } from './filter.js';
import { MiniportBlock, MiniportDriver } from './miniport.js';
import type { DriverResources } from './resources.js';
import type { NdisOffload } from './offload-types.js';
import { NDIS_ANSWERED_OFFLOAD_OIDS, ndisAnswerOffloadQuery, ndisOffloadSetSucceeded, ndisSetHardwareAssistAttributes } from './offload-answers.js';
import { NdisOidRequest, NdisRequestType, OID, formatOid, readUlong, ulongBuffer, writeBytes, writeUlong, writeUlong64 } from './oid.js';
import { OpenBlock, ProtocolDriver } from './protocol.js';
import { RULE } from './rule-ids.js';
import {
  DISPATCH_LEVEL,
  PASSIVE_LEVEL,
  Scheduler,
  type Dpc,
  type NdisIoWorkItem,
  type NdisIoWorkItemRoutine,
  type NdisTimerFunction,
  type NdisTimerObject,
  type SchedulerOptions,
} from './scheduler/scheduler.js';
import { AdapterState, BindingState, FilterState } from './state.js';
import { decodeLinkState, encodeLinkState, encodeMacList, decodeMacList, encodeStatistics, emptyStatistics } from './structs.js';
import { ThrowingVerifier, VERIFY_CHEAP, type NdisVerifierHooks } from './violation.js';

/** Options of a runtime. */
export interface NdisOptions extends SchedulerOptions {
  /** The verifier; default: built-in cheap checks that throw on a violation. */
  verifier?: NdisVerifierHooks;
}

/** Configuration of an adapter that arrives (`addAdapter`), what an INF and the registry give NDIS. */
export interface AdapterConfig {
  /** Instance name (default `<driver>-<n>`). */
  name?: string;
  /** Registry keywords NdisReadConfiguration returns (e.g. NetworkAddress, *RSS, MTU). */
  configuration?: Record<string, string | number>;
  /** INF Ndi\Interfaces\UpperRange (default ['ndis5']). */
  upperRange?: string[];
  /** INF Ndi\Interfaces\LowerRange (default ['ethernet']). */
  lowerRange?: string[];
  /** MiniportAddDeviceContext / driver-private data handed to MiniportInitializeEx. */
  addDeviceContext?: unknown;
}

/** The bind context NDIS passes to ProtocolBindAdapterEx. */
export class BindContext {
  readonly protocol: ProtocolDriver;
  readonly miniport: MiniportBlock;
  open: OpenBlock | null = null;
  completed = false;
  status: NdisStatus = NDIS_STATUS.PENDING;
  waiter: ((status: NdisStatus) => void) | null = null;
  constructor(protocol: ProtocolDriver, miniport: MiniportBlock) {
    this.protocol = protocol;
    this.miniport = miniport;
  }
}

/** The unbind context NDIS passes to ProtocolUnbindAdapterEx. */
export class UnbindContext {
  readonly open: OpenBlock;
  completed = false;
  waiter: (() => void) | null = null;
  constructor(open: OpenBlock) {
    this.open = open;
  }
}

/** A configuration handle (NdisOpenConfigurationEx). */
export class ConfigurationHandle {
  readonly values: Readonly<Record<string, string | number>>;
  closed = false;
  constructor(values: Readonly<Record<string, string | number>>) {
    this.values = values;
  }
}

/** NDIS itself as the issuer of a request (merged packet filter, multicast list, power). */
class InternalRequester {
  readonly name = 'NDIS';
  constructor(readonly onComplete: (req: NdisOidRequest, status: NdisStatus) => void) {}
}

/** OIDs NDIS answers for NDIS 6 miniports from the attributes they set. */
const NDIS_ANSWERED = new Set<number>([
  OID.GEN_MEDIA_SUPPORTED,
  OID.GEN_MEDIA_IN_USE,
  OID.GEN_MAXIMUM_LOOKAHEAD,
  OID.GEN_MAXIMUM_FRAME_SIZE,
  OID.GEN_MAXIMUM_TOTAL_SIZE,
  OID.GEN_LINK_SPEED,
  OID.GEN_MEDIA_CONNECT_STATUS,
  OID.GEN_MAC_OPTIONS,
  OID.GEN_PHYSICAL_MEDIUM,
  OID.GEN_MAX_LINK_SPEED,
  OID.GEN_LINK_STATE,
  OID.GEN_CURRENT_LOOKAHEAD,
  OID.P802_3_PERMANENT_ADDRESS,
  OID.P802_3_CURRENT_ADDRESS,
  OID.P802_3_MAXIMUM_LIST_SIZE,
  OID.GEN_SUPPORTED_LIST,
  ...NDIS_ANSWERED_OFFLOAD_OIDS,
]);

/** Delete/free OIDs that may complete only with NOT_ACCEPTED, REQUEST_ABORTED, SUCCESS (DV NdisOidComplete). */
const DELETE_OIDS = new Set<number>([
  OID.RECEIVE_FILTER_CLEAR_FILTER,
  OID.RECEIVE_FILTER_FREE_QUEUE,
  OID.P802_3_DELETE_MULTICAST_ADDRESS,
  OID.PM_REMOVE_WOL_PATTERN,
  OID.PM_REMOVE_PROTOCOL_OFFLOAD,
]);

/** OID sets that must not fail (0x7C MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED). */
const MUST_SUCCEED = new Set<number>([OID.GEN_CURRENT_PACKET_FILTER]);

let nextRuntimeId = 1;

/** The NDIS runtime. */
export class Ndis {
  readonly scheduler: Scheduler;
  readonly checks: DataPathChecks;
  verifier: NdisVerifierHooks;
  /** Copy of `verifier.level` read on hot paths. */
  verifyLevel: number;
  readonly runtimeId = nextRuntimeId++;

  readonly miniportDrivers = new Set<MiniportDriver>();
  readonly filterDrivers = new Set<FilterDriver>();
  readonly protocolDrivers = new Set<ProtocolDriver>();
  readonly adapters = new Set<MiniportBlock>();
  /** Every module by id (owner ids in NBLs). */
  readonly modules = new Map<number, { name: string; driver: string }>();
  /** Every NET_BUFFER_LIST pool created through the runtime (NdisAllocateNetBufferListPool). */
  readonly nblPools = new Set<NetBufferListPool>();

  private nextId = 1;
  private nextIfIndex = 1;
  private filterOrder = 0;
  /** A scratch copy of a frame's first bytes (MAC header) when it is not contiguous. */
  readonly scratchHeader = new Uint8Array(64);
  readonly scratchOpens: OpenBlock[] = [];
  loopbackSendFlags = 0;
  loopbackSender: object | null = null;
  private shuttingDown = false;
  /** Things that happened, for summaries and tests: state changes, stack changes. */
  readonly events: string[] = [];
  /** Errors thrown by scheduled work (DPCs, timers, work items, watchdogs), oldest first. */
  readonly asyncErrors: unknown[] = [];
  private waiters = 0;

  constructor(options: NdisOptions = {}) {
    this.scheduler = new Scheduler(options);
    this.checks = new DataPathChecks(this);
    this.verifier = options.verifier ?? new ThrowingVerifier(VERIFY_CHEAP);
    this.verifyLevel = this.verifier.level;
    this.scheduler.onAsyncError = (err) => this.asyncFailure(err);
    this.verifier.attached?.(this);
  }

  /**
   * An error thrown by work the scheduler ran from the event loop (a DPC, timer, work item or the
   * verifier's watchdog): it fails the waits in progress ({@link until}); with nobody waiting it is
   * rethrown, uncaught, as before.
   */
  private asyncFailure(err: unknown): void {
    this.asyncErrors.push(err);
    if (this.waiters === 0) {
      setImmediate(() => {
        throw err;
      });
    }
  }

  /** Attaches a verifier (src/verifier) in place of the built-in one. */
  attachVerifier(verifier: NdisVerifierHooks): void {
    this.verifier = verifier;
    this.verifyLevel = verifier.level;
    verifier.attached?.(this);
  }

  /** Reports a rule violation to the verifier. */
  violate(ruleId: string, driver: string, object: string, nbl: NetBufferList | null, message: string, call: string): void {
    if (this.verifyLevel === 0) return;
    this.verifier.violation(ruleId, { driver, object, nbl, message, call });
  }

  private newId(name: string, driver = name): number {
    const id = this.nextId++;
    this.modules.set(id, { name, driver });
    return id;
  }

  private log(line: string): void {
    this.events.push(`${this.scheduler.nowMs().toFixed(3)}ms ${line}`);
  }

  // =============================================================================================
  // Registration
  // =============================================================================================

  /** Models NdisMRegisterMiniportDriver. */
  registerMiniportDriver(chars: MiniportDriverCharacteristics, driverContext: unknown = null): MiniportDriver {
    this.requirePassive(null, chars.name, 'NdisMRegisterMiniportDriver');
    if (chars.majorNdisVersion !== 6) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisMRegisterMiniportDriver: '${chars.name}' registers NDIS ${chars.majorNdisVersion}.${chars.minorNdisVersion}; only NDIS 6.x miniports are supported`, NDIS_STATUS.BAD_VERSION);
    }
    for (const d of this.miniportDrivers) {
      if (d.name === chars.name) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `a miniport driver named '${chars.name}' is already registered`);
    }
    const d = new MiniportDriver(this, chars, driverContext, this.newId(chars.name));
    this.miniportDrivers.add(d);
    if (chars.setOptions !== undefined) chars.setOptions(d, driverContext);
    return d;
  }

  /** Models NdisMDeregisterMiniportDriver: the driver must have no adapters left. */
  deregisterMiniportDriver(driver: MiniportDriver): void {
    if (driver.adapters.size > 0) {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisMDeregisterMiniportDriver: '${driver.name}' still has ${driver.adapters.size} adapter(s); remove them first`);
    }
    driver.deregistered = true;
    this.miniportDrivers.delete(driver);
    driver.chars.unload?.(driver);
  }

  /**
   * Models NdisFRegisterFilterDriver. NDIS then attaches the filter to every adapter whose
   * LowerRange matches its FilterMediaTypes (pausing and restarting each stack); the returned
   * promise resolves when that is done.
   */
  async registerFilterDriver(chars: FilterDriverCharacteristics, driverContext: unknown = null): Promise<FilterDriver> {
    for (const d of this.filterDrivers) {
      if (d.chars.uniqueName === chars.uniqueName) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `a filter driver '${chars.uniqueName}' is already registered`);
    }
    const d = new FilterDriver(this, chars, driverContext, this.newId(chars.friendlyName), ++this.filterOrder);
    this.filterDrivers.add(d);
    if (chars.setOptions !== undefined) chars.setOptions(d, driverContext);
    for (const m of [...this.adapters]) {
      if (this.filterMatches(d, m)) await this.setFilterBinding(d, m, true);
    }
    return d;
  }

  /** Models NdisFDeregisterFilterDriver: detaches every module of the driver (each stack paused and restarted). */
  async deregisterFilterDriver(driver: FilterDriver): Promise<void> {
    for (const f of [...driver.modules]) await this.setFilterBinding(driver, f.miniport, false);
    driver.deregistered = true;
    this.filterDrivers.delete(driver);
  }

  /**
   * Models NdisRegisterProtocolDriver. NDIS then binds the protocol to every adapter whose
   * UpperRange meets its LowerRange; the promise resolves when those binds have completed.
   */
  async registerProtocolDriver(chars: ProtocolDriverCharacteristics, driverContext: unknown = null): Promise<ProtocolDriver> {
    for (const d of this.protocolDrivers) {
      if (d.name === chars.name) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `a protocol driver named '${chars.name}' is already registered`);
    }
    const p = new ProtocolDriver(this, chars, driverContext, this.newId(chars.name));
    this.protocolDrivers.add(p);
    if (chars.setOptions !== undefined) chars.setOptions(p, driverContext);
    for (const m of [...this.adapters]) {
      if (this.protocolMatches(p, m)) await this.setProtocolBinding(p, m, true);
    }
    return p;
  }

  /** Models NdisDeregisterProtocolDriver: unbinds the protocol from every adapter. */
  async deregisterProtocolDriver(protocol: ProtocolDriver): Promise<void> {
    for (const o of [...protocol.opens]) await this.setProtocolBinding(protocol, o.miniport, false);
    protocol.deregistered = true;
    this.protocolDrivers.delete(protocol);
    protocol.chars.uninstall?.();
  }

  /** Models NdisIMAssociateMiniport: ties an intermediate driver's protocol edge to its miniport edge. */
  imAssociateMiniport(miniportDriver: MiniportDriver, protocolDriver: ProtocolDriver): void {
    miniportDriver.associatedProtocol = protocolDriver;
    protocolDriver.associatedMiniport = miniportDriver;
  }

  private filterMatches(d: FilterDriver, m: MiniportBlock): boolean {
    if (m.lowerRange.includes('nolower')) return false;
    return d.filterMediaTypes.some((t) => m.lowerRange.includes(t));
  }

  private protocolMatches(p: ProtocolDriver, m: MiniportBlock): boolean {
    // An intermediate driver's protocol edge does not bind to its own virtual miniports.
    if (p.associatedMiniport !== null && p.associatedMiniport === m.driver) return false;
    return p.lowerRange.some((r) => m.upperRange.includes(r));
  }

  // =============================================================================================
  // PnP: adapters
  // =============================================================================================

  private serialize<T>(m: MiniportBlock, op: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.scheduler.hold();
      try {
        return await op();
      } finally {
        this.scheduler.release();
      }
    };
    const p = m.pnpChain.then(run, run);
    m.pnpChain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /**
   * An adapter arrives (the PnP manager starts a device of `driver`): NDIS calls
   * MiniportInitializeEx, attaches the filters, binds the protocols and restarts the stack.
   * Resolves with the adapter (MiniportAdapterHandle) once it runs.
   */
  async addAdapter(driver: MiniportDriver, config: AdapterConfig = {}, imDeviceContext: unknown = null): Promise<MiniportBlock> {
    if (!this.miniportDrivers.has(driver)) throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `addAdapter: miniport driver '${driver.name}' is not registered`);
    const name = config.name ?? `${driver.name}-${driver.adapters.size + 1}`;
    for (const a of this.adapters) if (a.name === name) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `an adapter named '${name}' already exists`);
    const m = new MiniportBlock(
      this,
      driver,
      this.newId(name, driver.name),
      name,
      this.nextIfIndex++,
      config.configuration ?? {},
      config.upperRange ?? ['ndis5'],
      config.lowerRange ?? ['ethernet'],
    );
    m.imDeviceContext = imDeviceContext;
    this.adapters.add(m);
    driver.adapters.add(m);
    try {
      await this.serialize(m, async () => {
        this.initializeMiniport(m, config);
        await this.attachAllFilters(m);
        if (!m.upperEdgeDown) await this.bindAllProtocols(m);
        await this.restartStack(m);
      });
    } catch (e) {
      this.adapters.delete(m);
      driver.adapters.delete(m);
      throw e;
    }
    return m;
  }

  private initializeMiniport(m: MiniportBlock, config: AdapterConfig): void {
    const chars = m.driver.chars;
    m.sm.fire('MiniportInitializeEx');
    const params: MiniportInitParameters = {
      flags: 0,
      imDeviceInstanceContext: m.imDeviceContext,
      miniportAddDeviceContext: config.addDeviceContext ?? null,
      ifIndex: m.ifIndex,
      netLuid: m.ifIndex,
      adapterName: m.name,
    };
    let status: NdisStatus;
    const prev = this.scheduler.irql;
    this.scheduler.irql = PASSIVE_LEVEL;
    try {
      status = chars.initializeEx(m, m.driver.driverContext, params);
    } finally {
      this.scheduler.irql = prev;
    }
    if (status === NDIS_STATUS.SUCCESS && (m.registration === null || m.general === null)) {
      this.violate(RULE.ATTRIBUTES_MISSING, m.driver.name, m.name, null, 'MiniportInitializeEx returned SUCCESS without setting registration and general attributes (NdisMSetMiniportAttributes)', 'MiniportInitializeEx');
      status = NDIS_STATUS.FAILURE;
    }
    if (status !== NDIS_STATUS.SUCCESS) {
      m.sm.fire('InitializeFailed');
      this.checkResourcesReleased(m.driver.name, m.name, m.resources, 'MiniportInitializeEx (failed)');
      this.log(`${m.name}: MiniportInitializeEx failed ${formatStatus(status)}`);
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `MiniportInitializeEx of '${m.name}' failed with ${formatStatus(status)}`, status);
    }
    m.sm.fire('InitializeComplete');
    const g = m.general!;
    m.currentMacAddress = g.currentMacAddress.slice(0, 6);
    m.mediaConnectState = g.mediaConnectState;
    m.xmitLinkSpeed = g.xmitLinkSpeed;
    m.rcvLinkSpeed = g.rcvLinkSpeed;
    m.currentLookahead = g.lookaheadSize;
    this.log(`${m.name}: initialized (${m.driver.name})`);
  }

  /**
   * The adapter goes away: NDIS pauses the stack, unbinds the protocols, detaches the filters and
   * halts the miniport (MiniportHaltEx), then checks that the driver released what it allocated.
   * With `surpriseRemoved`, NDIS first tells the miniport and the filters
   * (NdisDevicePnPEventSurpriseRemoved) and halts with NdisHaltDeviceSurpriseRemoved.
   */
  async removeAdapter(m: MiniportBlock, options: { surpriseRemoved?: boolean; haltAction?: number } = {}): Promise<void> {
    await this.serialize(m, async () => {
      if (m.halted || m.haltStarted) return;
      m.haltStarted = true;
      if (options.surpriseRemoved === true) {
        const ev: NetDevicePnPEvent = { portNumber: 0, devicePnPEvent: NdisDevicePnPEvent.SurpriseRemoved, informationBuffer: null };
        m.driver.chars.devicePnPEventNotify(m.context, ev);
        for (const f of m.filters) f.driver.chars.devicePnPEventNotify?.(f.context, ev);
      }
      await this.pauseStack(m, NDIS_PAUSE.MINIPORT_DEVICE_REMOVE);
      for (const o of [...m.opens]) await this.unbind(o);
      for (let i = m.filters.length - 1; i >= 0; i--) await this.detachFilter(m.filters[i]!);
      await this.waitOidsIdle(m);
      this.haltMiniport(m, options.haltAction ?? (options.surpriseRemoved === true ? NdisHaltAction.DeviceSurpriseRemoved : NdisHaltAction.DeviceDisabled));
    });
    this.adapters.delete(m);
    m.driver.adapters.delete(m);
  }

  private haltMiniport(m: MiniportBlock, haltAction: number): void {
    m.sm.fire('MiniportHaltEx');
    const prev = this.scheduler.irql;
    this.scheduler.irql = PASSIVE_LEVEL;
    try {
      m.driver.chars.haltEx(m.context, haltAction);
    } finally {
      this.scheduler.irql = prev;
    }
    m.halted = true;
    this.log(`${m.name}: halted`);
    this.checkResourcesReleased(m.driver.name, m.name, m.resources, 'MiniportHaltEx');
  }

  private async waitOidsIdle(m: MiniportBlock): Promise<void> {
    while (m.oidBusy !== null || m.oidQueue.length > 0) await this.tick();
  }

  /** Resolves after the scheduler has had a chance to run (for waits inside PnP operations). */
  private tick(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Checks that a driver freed, by the end of halt/detach/unbind, the pools, timers, work items
   * and configuration handles it allocated for that object (Driver Verifier's MemoryUsage,
   * CancelTimerObject, Init_NdisAllocateIoWorkItem and NdisOpenConfigurationEx rules).
   */
  private checkResourcesReleased(driver: string, object: string, r: DriverResources, call: string): void {
    for (const pool of r.nblPools) {
      if (!pool.isFreed) {
        const leaked = pool.outstanding;
        this.violate(
          leaked > 0 ? RULE.NBL_LEAKED : RULE.POOL_NOT_FREED,
          driver,
          object,
          leaked > 0 ? (pool.outstandingNetBufferLists()[0] ?? null) : null,
          leaked > 0
            ? `${leaked} NBL(s) of pool '${pool.poolTag}' are still allocated at the end of ${call} (0x7C LEAKED_NBL), and the pool was not freed`
            : `NET_BUFFER_LIST pool '${pool.poolTag}' was not freed by the end of ${call}`,
          call,
        );
      }
    }
    if (r.memory.size > 0) {
      let bytes = 0;
      for (const b of r.memory.keys()) bytes += b.length;
      const tags = [...new Set(r.memory.values())].map(tagName).join(', ');
      this.violate(RULE.MEMORY_NOT_FREED, driver, object, null, `${r.memory.size} block(s) (${bytes} bytes, tag ${tags}) from NdisAllocateMemoryWithTagPriority were not freed by the end of ${call} (NdisFreeMemory)`, call);
    }
    for (const pool of r.nbPools) {
      if (!pool.isFreed) this.violate(RULE.POOL_NOT_FREED, driver, object, null, `NET_BUFFER pool '${pool.poolTag}' was not freed by the end of ${call}`, call);
    }
    for (const t of r.timers) {
      if (t.armed) this.violate(RULE.TIMER_NOT_CANCELLED, driver, object, null, `timer '${t.name}' is still set at the end of ${call} (NdisCancelTimerObject)`, call);
      else if (!t.freed) this.violate(RULE.TIMER_NOT_CANCELLED, driver, object, null, `timer '${t.name}' was not freed by the end of ${call} (NdisFreeTimerObject)`, call);
    }
    for (const w of r.workItems) if (!w.freed) this.violate(RULE.WORKITEM_NOT_FREED, driver, object, null, `work item '${w.name}' was not freed by the end of ${call} (NdisFreeIoWorkItem)`, call);
    for (const c of r.configurations) if (!(c as ConfigurationHandle).closed) this.violate(RULE.CONFIG_NOT_CLOSED, driver, object, null, `a configuration handle opened with NdisOpenConfigurationEx was not closed by the end of ${call}`, call);
  }

  // =============================================================================================
  // PnP: stack pause / restart
  // =============================================================================================

  /**
   * Pauses an adapter's stack in the documented order: protocol bindings, then filter modules
   * top to bottom, then the miniport. Each level is Paused when its pause completes.
   */
  async pauseStack(m: MiniportBlock, pauseReason: number): Promise<void> {
    const params: NdisPauseParameters = { flags: 0, pauseReason };
    for (const o of [...m.opens]) if (o.state === BindingState.Running) await this.pauseBinding(o, params);
    for (let i = m.filters.length - 1; i >= 0; i--) {
      const f = m.filters[i]!;
      if (f.state === FilterState.Running) await this.pauseFilter(f, params);
    }
    if (m.state === AdapterState.Running) await this.pauseMiniport(m, params);
  }

  /**
   * Restarts an adapter's stack in the documented order: the miniport, then filter modules bottom
   * to top, then the protocol bindings. A level that fails to restart stays Paused and the levels
   * above it are not restarted.
   */
  async restartStack(m: MiniportBlock): Promise<boolean> {
    if (m.state === AdapterState.Paused) {
      if (!(await this.restartMiniport(m))) return false;
    }
    const attrs = this.restartAttributes(m);
    for (const f of m.filters) {
      if (f.state === FilterState.Paused) {
        if (!(await this.restartFilter(f, attrs))) return false;
      }
    }
    if (m.upperEdgeDown) return true;
    for (const o of [...m.opens]) if (o.state === BindingState.Paused) await this.restartBinding(o, attrs);
    return true;
  }

  private restartAttributes(m: MiniportBlock): NdisRestartGeneralAttributes {
    const g = m.general!;
    return {
      mtuSize: g.mtuSize,
      maxXmitLinkSpeed: g.maxXmitLinkSpeed,
      maxRcvLinkSpeed: g.maxRcvLinkSpeed,
      lookaheadSize: m.currentLookahead,
      macOptions: g.macOptions,
      supportedPacketFilters: g.supportedPacketFilters,
      maxMulticastListSize: g.maxMulticastListSize,
      macAddressLength: g.macAddressLength,
      currentMacAddress: m.currentMacAddress,
      physicalMediumType: g.physicalMediumType,
      accessType: g.accessType,
      directionType: g.directionType,
      connectionType: g.connectionType,
      ifType: g.ifType,
      ifConnectorPresent: g.ifConnectorPresent,
      supportedStatistics: g.supportedStatistics,
      supportedPauseFunctions: g.supportedPauseFunctions,
      dataBackFillSize: g.dataBackFillSize,
      contextBackFillSize: g.contextBackFillSize,
      supportedOidList: g.supportedOidList,
      maxRssProcessors: this.scheduler.processorCount,
    };
  }

  private async pauseMiniport(m: MiniportBlock, params: NdisPauseParameters): Promise<void> {
    m.sm.fire('MiniportPause');
    let completed = false;
    let waiter: (() => void) | null = null;
    m.pausePending = () => {
      completed = true;
      waiter?.();
    };
    const status = this.atPassive(() => m.driver.chars.pause(m.context, params));
    if (status === NDIS_STATUS.PENDING) {
      if (!completed) await new Promise<void>((r) => (waiter = r));
    } else if (status !== NDIS_STATUS.SUCCESS) {
      this.violate(RULE.PAUSE_RETURN_VALUE, m.driver.name, m.name, null, `MiniportPause returned ${formatStatus(status)}; only NDIS_STATUS_SUCCESS or NDIS_STATUS_PENDING are allowed (pause cannot fail)`, 'MiniportPause');
    }
    m.pausePending = null;
    if (status === NDIS_STATUS.SUCCESS) this.checkMiniportPaused(m, 'MiniportPause');
    m.sm.fire('PauseComplete');
    this.log(`${m.name}: miniport paused`);
  }

  private async restartMiniport(m: MiniportBlock): Promise<boolean> {
    m.sm.fire('MiniportRestart');
    let result: NdisStatus | null = null;
    let waiter: ((s: NdisStatus) => void) | null = null;
    m.restartPending = (s) => {
      result = s;
      waiter?.(s);
    };
    const params: MiniportRestartParameters = { filterModuleNameBuffer: m.filters.map((f) => f.name), restartAttributes: null, boundIfIndex: m.ifIndex, flags: 0 };
    let status = this.atPassive(() => m.driver.chars.restart(m.context, params));
    if (status === NDIS_STATUS.PENDING) status = result ?? (await new Promise<NdisStatus>((r) => (waiter = r)));
    m.restartPending = null;
    if (status !== NDIS_STATUS.SUCCESS) {
      m.sm.fire('RestartFailed');
      this.log(`${m.name}: miniport restart failed ${formatStatus(status)}`);
      return false;
    }
    m.sm.fire('RestartComplete');
    this.log(`${m.name}: miniport running`);
    return true;
  }

  private async pauseFilter(f: FilterModule, params: NdisPauseParameters): Promise<void> {
    f.sm.fire('FilterPause');
    f.pauseStartedAt = this.scheduler.nowMs();
    this.verifier.watch?.();
    let completed = false;
    let waiter: (() => void) | null = null;
    f.pausePending = () => {
      completed = true;
      waiter?.();
    };
    const status = this.atPassive(() => f.driver.chars.pause(f.context, params));
    if (status === NDIS_STATUS.PENDING) {
      if (!completed) await new Promise<void>((r) => (waiter = r));
    } else if (status !== NDIS_STATUS.SUCCESS) {
      this.violate(RULE.PAUSE_RETURN_VALUE, f.driver.name, f.name, null, `FilterPause returned ${formatStatus(status)}; only NDIS_STATUS_SUCCESS or NDIS_STATUS_PENDING are allowed`, 'FilterPause');
    }
    f.pausePending = null;
    f.pauseStartedAt = -1;
    f.sm.fire('PauseComplete');
    this.log(`${f.name}: filter paused`);
  }

  private async restartFilter(f: FilterModule, attrs: NdisRestartGeneralAttributes): Promise<boolean> {
    f.sm.fire('FilterRestart');
    let result: NdisStatus | null = null;
    let waiter: ((s: NdisStatus) => void) | null = null;
    f.restartPending = (s) => {
      result = s;
      waiter?.(s);
    };
    const g = f.miniport.general!;
    const params: FilterRestartParameters = {
      miniportMediaType: g.mediaType,
      miniportPhysicalMediaType: g.physicalMediumType,
      restartAttributes: attrs,
      lowerIfIndex: f.miniport.ifIndex,
      lowerIfNetLuid: f.miniport.ifIndex,
      flags: 0,
    };
    let status = this.atPassive(() => f.driver.chars.restart(f.context, params));
    if (status === NDIS_STATUS.PENDING) status = result ?? (await new Promise<NdisStatus>((r) => (waiter = r)));
    f.restartPending = null;
    if (status !== NDIS_STATUS.SUCCESS) {
      f.sm.fire('RestartFailed');
      this.log(`${f.name}: filter restart failed ${formatStatus(status)}`);
      return false;
    }
    f.sm.fire('RestartComplete');
    this.log(`${f.name}: filter running`);
    return true;
  }

  /**
   * Calls ProtocolNetPnPEvent; `settled` runs at the moment the protocol's answer is known (its
   * return, or NdisCompleteNetPnPEvent), before anything else can run, so that the binding's state
   * changes exactly when NDIS's would.
   */
  private async pnpToBinding(o: OpenBlock, netEvent: number, buffer: unknown, settled: ((status: NdisStatus) => void) | null = null): Promise<NdisStatus> {
    let result: NdisStatus | null = null;
    let waiter: ((s: NdisStatus) => void) | null = null;
    o.pnpPending = (s) => {
      result = s;
      settled?.(s);
      waiter?.(s);
    };
    const n: NetPnPEventNotification = { portNumber: 0, netEvent, buffer };
    let status = this.atPassive(() => o.protocol.chars.netPnPEvent(o.context, n));
    if (status === NDIS_STATUS.PENDING) status = result ?? (await new Promise<NdisStatus>((r) => (waiter = r)));
    else settled?.(status);
    o.pnpPending = null;
    return status;
  }

  private async pauseBinding(o: OpenBlock, params: NdisPauseParameters): Promise<void> {
    o.sm.fire('PnPPause');
    await this.pnpToBinding(o, NetEvent.Pause, params);
    if (o.outstandingSends > 0) {
      this.violate(RULE.PAUSE_WITH_OUTSTANDING, o.protocol.name, o.name, null, `the protocol completed NetEventPause with ${o.outstandingSends} send NBL(s) not yet completed to it`, 'ProtocolNetPnPEvent(NetEventPause)');
    }
    o.sm.fire('PauseComplete');
    this.log(`${o.name}: binding paused`);
  }

  private async restartBinding(o: OpenBlock, attrs: NdisRestartGeneralAttributes): Promise<void> {
    o.sm.fire('PnPRestart');
    const params: ProtocolRestartParameters = {
      filterModuleNameBuffer: o.miniport.filters.map((f) => f.name),
      boundIfIndex: o.miniport.ifIndex,
      boundIfNetLuid: o.miniport.ifIndex,
      restartAttributes: attrs,
      flags: 0,
    };
    // The binding runs from the moment the protocol's restart succeeds.
    await this.pnpToBinding(o, NetEvent.Restart, params, (status) => {
      if (status === NDIS_STATUS.SUCCESS) {
        o.sm.fire('RestartComplete');
        this.log(`${o.name}: binding running`);
      } else {
        o.sm.fire('RestartFailed');
        this.log(`${o.name}: binding restart failed ${formatStatus(status)}`);
      }
    });
  }

  private atPassive<T>(fn: () => T): T {
    const s = this.scheduler;
    const prev = s.irql;
    s.irql = PASSIVE_LEVEL;
    try {
      return fn();
    } finally {
      s.irql = prev;
    }
  }

  // =============================================================================================
  // PnP: filters
  // =============================================================================================

  private async attachAllFilters(m: MiniportBlock): Promise<void> {
    const drivers = [...this.filterDrivers].filter((d) => this.filterMatches(d, m)).sort((a, b) => a.stackKey() - b.stackKey());
    for (const d of drivers) {
      const ok = await this.attachFilter(d, m);
      if (!ok && d.filterRunType === FilterRunType.Mandatory) {
        m.upperEdgeDown = true;
        this.log(`${m.name}: mandatory filter ${d.name} failed to attach; the adapter's upper edge stays down`);
      }
    }
  }

  private attachParameters(m: MiniportBlock, f: FilterModule): FilterAttachParameters {
    const g = m.general!;
    return {
      ifIndex: m.ifIndex,
      netLuid: m.ifIndex,
      filterModuleGuidName: f.name,
      baseMiniportIfIndex: m.ifIndex,
      baseMiniportInstanceName: m.name,
      baseMiniportName: m.name,
      mediaConnectState: m.mediaConnectState,
      mediaDuplexState: g.mediaDuplexState,
      xmitLinkSpeed: m.xmitLinkSpeed,
      rcvLinkSpeed: m.rcvLinkSpeed,
      miniportMediaType: g.mediaType,
      miniportPhysicalMediaType: g.physicalMediumType,
      miniportMediaSpecificAttributes: null,
      defaultOffloadConfiguration: m.currentOffload,
      recvScaleCapabilities: g.recvScaleCapabilities,
      lowerIfIndex: m.ifIndex,
      lowerIfNetLuid: m.ifIndex,
      flags: 0,
      hdSplitCurrentConfig: m.hardwareAssist?.hdSplitAttributes ?? null,
      receiveFilterCapabilities: m.hardwareAssist?.currentReceiveFilterCapabilities ?? null,
      miniportPhysicalDeviceObject: null,
      nicSwitchCapabilities: null,
      baseMiniportIfConnectorPresent: g.ifConnectorPresent,
      currentMacAddress: m.currentMacAddress,
      macAddressLength: g.macAddressLength,
      lookaheadSize: m.currentLookahead,
    };
  }

  /** FilterAttach for one module (the stack must be paused). */
  private async attachFilter(d: FilterDriver, m: MiniportBlock): Promise<boolean> {
    const f = new FilterModule(this, d, m, 0);
    (f as { id: number }).id = this.newId(f.name, d.name);
    f.sm.fire('FilterAttach');
    const status = this.atPassive(() => d.chars.attach(f, d.driverContext, this.attachParameters(m, f)));
    if (status !== NDIS_STATUS.SUCCESS || !f.attributesSet) {
      if (status === NDIS_STATUS.SUCCESS) {
        this.violate(RULE.ATTRIBUTES_MISSING, d.name, f.name, null, 'FilterAttach returned SUCCESS without calling NdisFSetAttributes', 'FilterAttach');
      }
      f.sm.fire('AttachFailed');
      this.log(`${f.name}: attach failed ${formatStatus(status)}`);
      return false;
    }
    f.sm.fire('AttachComplete');
    const key = d.stackKey();
    let at = m.filters.findIndex((x) => x.driver.stackKey() > key);
    if (at < 0) at = m.filters.length;
    m.filters.splice(at, 0, f);
    d.modules.add(f);
    m.rebuildDataPath();
    this.log(`${f.name}: attached at position ${at}`);
    return true;
  }

  /** FilterDetach for one module (it must be paused). */
  private async detachFilter(f: FilterModule): Promise<void> {
    f.sm.fire('FilterDetach');
    this.atPassive(() => f.driver.chars.detach(f.context));
    const m = f.miniport;
    m.filters = m.filters.filter((x) => x !== f);
    f.driver.modules.delete(f);
    m.rebuildDataPath();
    this.log(`${f.name}: detached`);
  }

  /**
   * Enables or disables a filter driver on one adapter at run time (what INetCfg does when a
   * filter binding is enabled or disabled, or a filter is installed or removed). An optional
   * filter is inserted or removed with a pause and restart of the stack; a mandatory filter also
   * unbinds and rebinds the protocols. Traffic in flight is completed, not lost.
   */
  async setFilterBinding(d: FilterDriver, m: MiniportBlock, enabled: boolean): Promise<void> {
    await this.serialize(m, async () => {
      if (m.halted || m.haltStarted) return;
      const existing = [...d.modules].find((x) => x.miniport === m);
      if (enabled === (existing !== undefined)) return;
      const mandatory = d.filterRunType === FilterRunType.Mandatory;
      const reason = enabled ? NDIS_PAUSE.ATTACH_FILTER : NDIS_PAUSE.DETACH_FILTER;
      await this.pauseStack(m, reason);
      const rebind: ProtocolDriver[] = [];
      if (mandatory) {
        for (const o of [...m.opens]) {
          rebind.push(o.protocol);
          await this.unbind(o);
        }
      }
      if (enabled) {
        const ok = await this.attachFilter(d, m);
        if (!ok && mandatory) m.upperEdgeDown = true;
      } else {
        await this.detachFilter(existing!);
        if (mandatory) m.upperEdgeDown = [...m.filters].some((f) => f.driver.filterRunType === FilterRunType.Mandatory && f.state === FilterState.Detached);
      }
      if (!m.upperEdgeDown) for (const p of rebind) await this.bind(p, m);
      await this.restartStack(m);
    });
  }

  /**
   * Models NdisFRestartFilter: the filter asks NDIS to pause and restart its stack (e.g. to change
   * its data-path handlers through FilterSetModuleOptions while paused).
   */
  fRestartFilter(f: FilterModule): NdisStatus {
    const m = f.miniport;
    void this.serialize(m, async () => {
      await this.pauseStack(m, NDIS_PAUSE.FILTER_RESTART_STACK);
      for (const x of m.filters) {
        if (x.driver.chars.setFilterModuleOptions !== undefined) {
          this.atPassive(() => x.driver.chars.setFilterModuleOptions!(x.context));
        }
      }
      m.rebuildDataPath();
      await this.restartStack(m);
    });
    return NDIS_STATUS.SUCCESS;
  }

  /**
   * Models NdisSetOptionalHandlers from FilterSetModuleOptions: replaces the module's data-path
   * handlers (a handler set to undefined makes NDIS bypass the module on that path). Allowed only
   * while the module is paused.
   */
  setOptionalHandlers(f: FilterModule, handlers: FilterPartialCharacteristics): NdisStatus {
    if (f.state !== FilterState.Paused) {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisSetOptionalHandlers: filter module ${f.name} is ${f.state}; handlers can change only while it is Paused`);
    }
    f.handlers = { ...handlers };
    f.miniport.rebuildDataPath();
    return NDIS_STATUS.SUCCESS;
  }

  // =============================================================================================
  // PnP: bindings
  // =============================================================================================

  private async bindAllProtocols(m: MiniportBlock): Promise<void> {
    for (const p of this.protocolDrivers) if (this.protocolMatches(p, m)) await this.bind(p, m);
  }

  private bindParameters(p: ProtocolDriver, m: MiniportBlock): NdisBindParameters {
    const g = m.general!;
    return {
      protocolSection: p.name,
      adapterName: m.name,
      mediaType: g.mediaType,
      mtuSize: g.mtuSize,
      maxXmitLinkSpeed: g.maxXmitLinkSpeed,
      xmitLinkSpeed: m.xmitLinkSpeed,
      maxRcvLinkSpeed: g.maxRcvLinkSpeed,
      rcvLinkSpeed: m.rcvLinkSpeed,
      mediaConnectState: m.mediaConnectState,
      mediaDuplexState: g.mediaDuplexState,
      lookaheadSize: m.currentLookahead,
      supportedPacketFilters: g.supportedPacketFilters,
      maxMulticastListSize: g.maxMulticastListSize,
      macAddressLength: g.macAddressLength,
      currentMacAddress: m.currentMacAddress,
      physicalMediumType: g.physicalMediumType,
      rcvScaleCapabilities: g.recvScaleCapabilities,
      accessType: g.accessType,
      directionType: g.directionType,
      connectionType: g.connectionType,
      ifType: g.ifType,
      ifConnectorPresent: g.ifConnectorPresent,
      boundIfIndex: m.ifIndex,
      boundIfNetLuid: m.ifIndex,
      defaultOffloadConfiguration: m.currentOffload,
      hdSplitCurrentConfig: m.hardwareAssist?.hdSplitAttributes ?? null,
      receiveFilterCapabilities: m.hardwareAssist?.currentReceiveFilterCapabilities ?? null,
      macOptions: g.macOptions,
      supportedOidList: g.supportedOidList,
    };
  }

  /** ProtocolBindAdapterEx for one protocol and adapter (the stack must be paused). */
  private async bind(p: ProtocolDriver, m: MiniportBlock): Promise<boolean> {
    const ctx = new BindContext(p, m);
    let status = this.atPassive(() => p.chars.bindAdapterEx(p.driverContext, ctx, this.bindParameters(p, m)));
    if (status === NDIS_STATUS.PENDING) {
      status = ctx.completed ? ctx.status : await new Promise<NdisStatus>((r) => (ctx.waiter = r));
    }
    const open = ctx.open;
    if (status !== NDIS_STATUS.SUCCESS || open === null) {
      if (open !== null && open.state === BindingState.Opening) {
        open.sm.fire('BindFailed');
        m.opens.delete(open);
        p.opens.delete(open);
      }
      this.log(`${p.name}->${m.name}: bind failed ${formatStatus(status === NDIS_STATUS.SUCCESS ? NDIS_STATUS.ADAPTER_NOT_OPEN : status)}`);
      return false;
    }
    open.sm.fire('BindComplete');
    m.rebuildDataPath();
    this.log(`${open.name}: bound`);
    return true;
  }

  /** ProtocolUnbindAdapterEx for one binding (it must be paused). */
  private async unbind(o: OpenBlock): Promise<void> {
    if (o.state === BindingState.Running) await this.pauseBinding(o, { flags: 0, pauseReason: NDIS_PAUSE.UNBIND_PROTOCOL });
    const ctx = new UnbindContext(o);
    o.sm.fire('ProtocolUnbindAdapterEx');
    const status = this.atPassive(() => o.protocol.chars.unbindAdapterEx(ctx, o.context));
    if (status === NDIS_STATUS.PENDING && !ctx.completed) await new Promise<void>((r) => (ctx.waiter = r));
    if (o.opened) {
      // The protocol did not close: NDIS closes for it.
      o.opened = false;
    }
    o.sm.fire('UnbindComplete');
    const m = o.miniport;
    m.opens.delete(o);
    o.protocol.opens.delete(o);
    // The binding's packet filter and multicast list no longer count.
    this.remergeReceiveSettings(m);
    m.rebuildDataPath();
    this.log(`${o.name}: unbound`);
  }

  /**
   * Enables or disables the binding of a protocol to an adapter at run time (INetCfg): NDIS
   * pauses the stack, binds or unbinds, and restarts it.
   */
  async setProtocolBinding(p: ProtocolDriver, m: MiniportBlock, enabled: boolean): Promise<void> {
    await this.serialize(m, async () => {
      if (m.halted || m.haltStarted) return;
      const existing = [...p.opens].find((o) => o.miniport === m);
      if (enabled === (existing !== undefined)) return;
      if (enabled && m.upperEdgeDown) return;
      await this.pauseStack(m, enabled ? NDIS_PAUSE.BIND_PROTOCOL : NDIS_PAUSE.UNBIND_PROTOCOL);
      if (enabled) await this.bind(p, m);
      else await this.unbind(existing!);
      await this.restartStack(m);
    });
  }

  /** Models NdisOpenAdapterEx (called from ProtocolBindAdapterEx). */
  openAdapterEx(
    protocol: ProtocolDriver,
    protocolBindingContext: unknown,
    openParameters: NdisOpenParameters,
    bindContext: object,
  ): { status: NdisStatus; bindingHandle: OpenBlock | null; selectedMediumIndex: number } {
    this.requirePassive(null, protocol.name, 'NdisOpenAdapterEx');
    if (!(bindContext instanceof BindContext) || bindContext.protocol !== protocol || bindContext.completed || bindContext.open !== null) {
      this.violate(RULE.ILLEGAL_TRANSITION, protocol.name, 'bind', null, 'NdisOpenAdapterEx called outside the bind operation it names (0x7C INVALID_OPEN_IN_BIND_CONTEXT)', 'NdisOpenAdapterEx');
      return { status: NDIS_STATUS.INVALID_PARAMETER, bindingHandle: null, selectedMediumIndex: -1 };
    }
    const m = bindContext.miniport;
    const idx = openParameters.mediumArray.indexOf(m.mediaType);
    if (idx < 0) return { status: NDIS_STATUS.UNSUPPORTED_MEDIA, bindingHandle: null, selectedMediumIndex: -1 };
    const o = new OpenBlock(this, protocol, m, 0, bindContext);
    (o as { id: number }).id = this.newId(o.name, protocol.name);
    o.context = protocolBindingContext;
    o.frameTypes = openParameters.frameTypeArray ?? [];
    o.sm.fire('ProtocolBindAdapterEx');
    o.opened = true;
    bindContext.open = o;
    m.opens.add(o);
    protocol.opens.add(o);
    return { status: NDIS_STATUS.SUCCESS, bindingHandle: o, selectedMediumIndex: idx };
  }

  /** Models NdisCompleteBindAdapterEx. */
  completeBindAdapterEx(bindContext: object, status: NdisStatus): void {
    if (!(bindContext instanceof BindContext) || bindContext.completed) {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', 'NdisCompleteBindAdapterEx: no bind operation pending for this context');
    }
    bindContext.completed = true;
    bindContext.status = status;
    bindContext.waiter?.(status);
  }

  /** Models NdisCloseAdapterEx (from ProtocolUnbindAdapterEx). Completes synchronously: NDIS_STATUS_SUCCESS. */
  closeAdapterEx(bindingHandle: OpenBlock): NdisStatus {
    this.requirePassive(bindingHandle, '', 'NdisCloseAdapterEx');
    if (!bindingHandle.opened) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisCloseAdapterEx: binding ${bindingHandle.name} is not open`);
    bindingHandle.opened = false;
    return NDIS_STATUS.SUCCESS;
  }

  /** Models NdisCompleteUnbindAdapterEx. */
  completeUnbindAdapterEx(unbindContext: object): void {
    if (!(unbindContext instanceof UnbindContext) || unbindContext.completed) {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', 'NdisCompleteUnbindAdapterEx: no unbind operation pending for this context');
    }
    unbindContext.completed = true;
    unbindContext.waiter?.();
  }

  /** Models NdisUnbindAdapter: a protocol asks NDIS to unbind one of its bindings. */
  unbindAdapter(bindingHandle: OpenBlock): NdisStatus {
    void this.setProtocolBinding(bindingHandle.protocol, bindingHandle.miniport, false);
    return NDIS_STATUS.SUCCESS;
  }

  /** Models NdisCompleteNetPnPEvent: completes a PnP event the protocol pended. */
  completeNetPnPEvent(bindingHandle: OpenBlock, _notification: NetPnPEventNotification, status: NdisStatus): void {
    const p = bindingHandle.pnpPending;
    if (p === null) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisCompleteNetPnPEvent: no PnP event pending on ${bindingHandle.name}`);
    p(status);
  }

  // =============================================================================================
  // PnP: power, reconfigure, intermediate drivers
  // =============================================================================================

  /**
   * A device power change: to a low-power state NDIS pauses the stack, tells the protocols
   * (NetEventSetPower) and sets OID_PNP_SET_POWER on the miniport; back to D0 it does the reverse
   * and restarts the stack.
   */
  async setPower(m: MiniportBlock, state: number): Promise<void> {
    await this.serialize(m, async () => {
      if (state !== NetDeviceState.D0) {
        await this.pauseStack(m, NDIS_PAUSE.LOW_POWER);
        await this.netPnPToStack(m, NetEvent.SetPower, state);
        await this.internalOid(m, NdisOidRequest.set(OID.PNP_SET_POWER, ulongBuffer(state)));
        this.log(`${m.name}: power D${state - 1}`);
      } else {
        await this.internalOid(m, NdisOidRequest.set(OID.PNP_SET_POWER, ulongBuffer(state)));
        await this.netPnPToStack(m, NetEvent.SetPower, state);
        await this.restartStack(m);
        this.log(`${m.name}: power D0`);
      }
    });
  }

  /** NetEventReconfigure to the protocols bound to an adapter (e.g. after a configuration change). */
  async reconfigure(m: MiniportBlock, buffer: unknown = null): Promise<void> {
    await this.serialize(m, () => this.netPnPToStack(m, NetEvent.Reconfigure, buffer));
  }

  /**
   * Delivers a NetPnPEvent (other than pause/restart) up a stack: each filter with a NetPnPEvent
   * handler sees it (and forwards it with NdisFNetPnPEvent), then every binding.
   */
  private async netPnPToStack(m: MiniportBlock, netEvent: number, buffer: unknown): Promise<void> {
    const n: NetPnPEventNotification = { portNumber: 0, netEvent, buffer };
    for (const f of m.filters) {
      const h = f.driver.chars.netPnPEvent;
      if (h !== undefined) this.atPassive(() => h(f.context, n));
    }
    for (const o of [...m.opens]) await this.pnpToBinding(o, netEvent, buffer);
  }

  /** Models NdisFNetPnPEvent: a filter forwards a PnP event up the stack (here: acknowledged; NDIS delivers it on). */
  fNetPnPEvent(_f: FilterModule, _notification: NetPnPEventNotification): NdisStatus {
    return NDIS_STATUS.SUCCESS;
  }

  /** Models NdisFDevicePnPEventNotify: a filter forwards a device PnP event down to the miniport. */
  fDevicePnPEventNotify(f: FilterModule, event: NetDevicePnPEvent): void {
    const m = f.miniport;
    const below = m.filters.slice(0, m.filters.indexOf(f)).reverse().find((x) => x.driver.chars.devicePnPEventNotify !== undefined);
    if (below !== undefined) below.driver.chars.devicePnPEventNotify!(below.context, event);
    else m.driver.chars.devicePnPEventNotify(m.context, event);
  }

  /**
   * Models NdisIMInitializeDeviceInstanceEx: an intermediate driver asks NDIS to start one of its
   * virtual miniports; NDIS calls its MiniportInitializeEx (with `deviceContext`), attaches
   * filters and binds protocols above it. Resolves with the virtual adapter.
   */
  imInitializeDeviceInstanceEx(driver: MiniportDriver, deviceInstance: string, deviceContext: unknown, config: AdapterConfig = {}): Promise<MiniportBlock> {
    if (!driver.isIntermediate) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisIMInitializeDeviceInstanceEx: '${driver.name}' did not register with NDIS_INTERMEDIATE_DRIVER`);
    }
    return this.addAdapter(driver, { upperRange: ['ndis5'], lowerRange: ['ethernet'], ...config, name: deviceInstance }, deviceContext);
  }

  /** Models NdisIMDeInitializeDeviceInstance: NDIS unbinds the protocols above the virtual miniport and halts it. */
  imDeInitializeDeviceInstance(m: MiniportBlock): Promise<void> {
    return this.removeAdapter(m, { haltAction: NdisHaltAction.DeviceInstanceDeInitialized });
  }

  /** Removes every adapter, then deregisters every driver, and stops the scheduler. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    // Virtual adapters of intermediate drivers go first (they sit above physical ones).
    const ordered = [...this.adapters].sort((a, b) => Number(b.driver.isIntermediate) - Number(a.driver.isIntermediate));
    for (const m of ordered) await this.removeAdapter(m);
    for (const p of [...this.protocolDrivers]) await this.deregisterProtocolDriver(p);
    for (const f of [...this.filterDrivers]) await this.deregisterFilterDriver(f);
    for (const d of [...this.miniportDrivers]) if (d.adapters.size === 0) this.deregisterMiniportDriver(d);
    this.scheduler.stop();
  }

  // =============================================================================================
  // Miniport functions
  // =============================================================================================

  /** Models NdisMSetMiniportAttributes (from MiniportInitializeEx). */
  mSetMiniportAttributes(m: MiniportBlock, attributes: MiniportAdapterAttributes): NdisStatus {
    this.requirePassive(m, '', 'NdisMSetMiniportAttributes');
    switch (attributes.kind) {
      case 'registration':
        m.registration = attributes;
        m.context = attributes.miniportAdapterContext;
        return NDIS_STATUS.SUCCESS;
      case 'general':
        if (m.registration === null) {
          this.violate(RULE.ATTRIBUTES_MISSING, m.driver.name, m.name, null, 'general attributes set before the registration attributes', 'NdisMSetMiniportAttributes');
          return NDIS_STATUS.FAILURE;
        }
        if (attributes.mediaType === NdisMedium.NdisMedium802_3 && attributes.currentMacAddress.length < 6) {
          return NDIS_STATUS.INVALID_PARAMETER;
        }
        m.general = attributes;
        return NDIS_STATUS.SUCCESS;
      case 'offload':
        m.offload = attributes;
        m.currentOffload = attributes.defaultOffloadConfiguration;
        return NDIS_STATUS.SUCCESS;
      case 'hardwareAssist':
        ndisSetHardwareAssistAttributes(attributes);
        m.hardwareAssist = attributes;
        return NDIS_STATUS.SUCCESS;
    }
  }

  /**
   * Models NdisMIndicateReceiveNetBufferLists: a miniport indicates received NBLs up its stack.
   * Without NDIS_RECEIVE_FLAGS_RESOURCES ownership passes up until MiniportReturnNetBufferLists;
   * with it, the miniport owns them again when this call returns.
   * @cost O(1) up to the first layer that walks the chain; no allocation.
   */
  mIndicateReceiveNetBufferLists(m: MiniportBlock, nbl: NetBufferList, portNumber: number, numberOfNetBufferLists: number, receiveFlags: number): void {
    const s = m.sm.state;
    if (s !== AdapterState.Running && s !== AdapterState.Pausing) {
      this.violate(RULE.INDICATE_WHILE_PAUSED, m.driver.name, m.name, nbl, `receive indication while the adapter is ${s} (allowed only in Running and Pausing)`, 'NdisMIndicateReceiveNetBufferLists');
      m.drops[NdisDropReason.AdapterNotReady]! += numberOfNetBufferLists;
      if ((receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) m.returnDown(nbl, 0);
      return;
    }
    m.counters.receiveIndications++;
    m.counters.receiveNbls += numberOfNetBufferLists;
    if (this.verifyLevel !== 0) {
      // The cheap receive rules on the head, inline: the verifier is called when they fail (or at full level).
      const nb = nbl.firstNetBuffer;
      if (this.verifyLevel >= 2 || nb === null || nb.next !== null || (m.ndis60 && nb.currentMdl !== null && nb.currentMdl.byteCount - nb.currentMdlOffset < nb.dataLength)) {
        this.verifier.receiveIndicated?.(m, nbl, numberOfNetBufferLists, receiveFlags, 'NdisMIndicateReceiveNetBufferLists');
      }
      if ((receiveFlags & NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL) !== 0 !== (this.scheduler.irql === DISPATCH_LEVEL)) {
        this.violate(RULE.IRQL, m.driver.name, m.name, nbl, `NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL is ${(receiveFlags & NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL) !== 0 ? 'set' : 'clear'} but the IRQL is ${this.scheduler.irql === DISPATCH_LEVEL ? 'DISPATCH_LEVEL' : 'PASSIVE_LEVEL'}`, 'NdisMIndicateReceiveNetBufferLists');
      }
    }
    if (this.verifyLevel >= 2) {
      const n = this.checks.count(nbl, 'NdisMIndicateReceiveNetBufferLists', m.name);
      if (n !== numberOfNetBufferLists) {
        this.violate(RULE.NBL_COUNT_MISMATCH, m.driver.name, m.name, nbl, `NumberOfNetBufferLists is ${numberOfNetBufferLists} but the chain holds ${n} NBLs`, 'NdisMIndicateReceiveNetBufferLists');
      }
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        if (x.owner !== m.id && x.owner !== 0) {
          this.violate(RULE.NBL_NOT_OWNED, m.driver.name, m.name, x, `the miniport indicated an NBL it does not own (held by ${this.moduleName(x.owner)})`, 'NdisMIndicateReceiveNetBufferLists');
        }
      }
      if ((receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) m.outstandingReceives += n;
    }
    m.upperReceive.receiveUp(nbl, portNumber, numberOfNetBufferLists, receiveFlags);
    if (this.verifyLevel >= 2 && (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0) {
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        x.owner = m.id;
        x.handoffPath = NBL_HANDOFF.ResourcesReclaimed;
      }
    }
  }

  /**
   * Models NdisMSendNetBufferListsComplete: the miniport completes sends; NDIS routes each NBL
   * up through the filters that saw it to the binding that sent it (by SourceHandle).
   */
  mSendNetBufferListsComplete(m: MiniportBlock, nbl: NetBufferList, sendCompleteFlags: number): void {
    let n = 0;
    for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
      const s = x.sourceHandle;
      if (x.owner !== m.id || s === m || s === null) this.badSendCompletion(m, x);
      x.owner = -m.id; // in flight upward
      n++;
    }
    if (this.verifyLevel >= 2) this.checkParentsComplete(m.driver.name, m.name, nbl, 'NdisMSendNetBufferListsComplete');
    m.outstandingSends -= n;
    m.counters.sendCompleteNbls += n;
    if (m.outstandingSends > 0) m.sendsPendingSince = this.scheduler.nowMs();
    m.upperComplete.completeUp(nbl, sendCompleteFlags);
  }

  /** Says what is wrong with a send completion: a second completion, or an NBL NDIS never sent. */
  private badSendCompletion(m: MiniportBlock, x: NetBufferList): void {
    const call = 'NdisMSendNetBufferListsComplete';
    if (x.allocated === 0 && x.ndisPoolHandle !== null) {
      this.violate(RULE.NBL_DOUBLE_COMPLETE, m.driver.name, m.name, x, 'the miniport completed an NBL that is already back in its pool: completed twice', call);
    } else if (x.sourceHandle === m || x.sourceHandle === null || x.owner === 0) {
      this.violate(RULE.NBL_COMPLETE_NOT_OWNED, m.driver.name, m.name, x, 'the miniport completed an NBL that NDIS never sent to it (its SourceHandle is no sender)', call);
    } else {
      this.violate(RULE.NBL_DOUBLE_COMPLETE, m.driver.name, m.name, x, `the miniport completed an NBL it no longer owns (held by ${this.moduleName(x.owner)}): completed twice`, call);
    }
  }

  /** Models NdisMIndicateStatusEx: NDIS records the state (link, speeds) and passes the indication up. */
  mIndicateStatusEx(m: MiniportBlock, indication: NdisStatusIndication): void {
    if (m.halted) {
      this.violate(RULE.STATUS_AFTER_HALT, m.driver.name, m.name, null, `status ${formatStatus(indication.statusCode)} indicated after MiniportHaltEx returned`, 'NdisMIndicateStatusEx');
      return;
    }
    m.counters.statusIndications++;
    if (indication.statusCode === NDIS_STATUS.LINK_STATE && indication.statusBuffer !== null) {
      const ls = decodeLinkState(indication.statusBuffer);
      if (ls !== null) {
        m.mediaConnectState = ls.mediaConnectState;
        m.xmitLinkSpeed = ls.xmitLinkSpeed;
        m.rcvLinkSpeed = ls.rcvLinkSpeed;
        this.log(`${m.name}: link ${ls.mediaConnectState === MediaConnectState.Connected ? 'up' : 'down'}`);
      }
    } else if (indication.statusCode === NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG && indication.statusObject !== undefined) {
      m.currentOffload = indication.statusObject as NdisOffload;
    }
    this.statusAbove(m, -1, indication);
  }

  /** Delivers a status indication to the layers above position `from` (-1 = the miniport). */
  private statusAbove(m: MiniportBlock, from: number, indication: NdisStatusIndication): void {
    for (let i = from + 1; i < m.filters.length; i++) {
      const f = m.filters[i]!;
      const h = f.driver.chars.status;
      if (h !== undefined) {
        h(f.context, indication);
        return; // the filter passes it on with NdisFIndicateStatus
      }
    }
    for (const o of [...m.opens]) {
      const s = o.state;
      if (s !== BindingState.Unbound && s !== BindingState.Opening) o.protocol.chars.statusEx(o.context, indication);
    }
  }

  /** Models NdisMOidRequestComplete. */
  mOidRequestComplete(m: MiniportBlock, request: NdisOidRequest, status: NdisStatus): void {
    if (!this.checkOidCompletion(m.driver.name, m.name, m, request, status, 'NdisMOidRequestComplete')) return;
    m.oidBusy = null;
    request.pendingAt = null;
    if (status === NDIS_STATUS.SUCCESS) this.oidSucceeded(m, request);
    this.completeOidToIssuer(request, status);
    this.dispatchNextOid(m);
  }

  /** Models NdisMDirectOidRequestComplete. */
  mDirectOidRequestComplete(m: MiniportBlock, request: NdisOidRequest, status: NdisStatus): void {
    if (request.pendingAt !== m) {
      this.violate(RULE.OID_COMPLETE_NOT_PENDING, m.driver.name, m.name, null, `direct OID ${formatOid(request.oid)} completed but not pending at this miniport (0x7C INVALID_OID_COMPLETION)`, 'NdisMDirectOidRequestComplete');
      return;
    }
    request.pendingAt = null;
    this.completeOidToIssuer(request, status, true);
  }

  /** Models NdisMPauseComplete. */
  mPauseComplete(m: MiniportBlock): void {
    const p = m.pausePending;
    if (p === null || m.state !== AdapterState.Pausing) {
      this.violate(RULE.PAUSE_COMPLETE_UNEXPECTED, m.driver.name, m.name, null, `NdisMPauseComplete called while no pause is pending (adapter ${m.state}) (0x7C ILLEGAL_MINIPORT_STATE_TRANSITION)`, 'NdisMPauseComplete');
      return;
    }
    m.pausePending = null;
    this.checkMiniportPaused(m, 'NdisMPauseComplete');
    p();
  }

  /** A miniport's pause completes only with every send completed and every indicated receive returned. */
  private checkMiniportPaused(m: MiniportBlock, call: string): void {
    if (m.outstandingSends > 0) {
      this.violate(RULE.PAUSE_WITH_OUTSTANDING, m.driver.name, m.name, null, `the miniport completed its pause with ${m.outstandingSends} send NBL(s) not completed (all sends must be completed before the pause completes)`, call);
    }
    if (this.verifyLevel >= 2 && m.outstandingReceives > 0) {
      this.violate(RULE.PAUSE_WITH_OUTSTANDING, m.driver.name, m.name, null, `the miniport completed its pause with ${m.outstandingReceives} indicated receive NBL(s) not yet returned`, call);
    }
  }

  /** Models NdisMRestartComplete. */
  mRestartComplete(m: MiniportBlock, status: NdisStatus): void {
    const p = m.restartPending;
    if (p === null || m.state !== AdapterState.Restarting) {
      this.violate(RULE.RESTART_COMPLETE_UNEXPECTED, m.driver.name, m.name, null, `NdisMRestartComplete called while no restart is pending (adapter ${m.state}) (0x7C ILLEGAL_MINIPORT_STATE_TRANSITION)`, 'NdisMRestartComplete');
      return;
    }
    m.restartPending = null;
    p(status);
  }

  /**
   * A reset of the adapter (what NDIS does when MiniportCheckForHangEx returns TRUE, or on
   * request): NDIS indicates NDIS_STATUS_RESET_START, calls MiniportResetEx, waits for
   * NdisMResetComplete when it pends, and indicates NDIS_STATUS_RESET_END.
   */
  async resetAdapter(m: MiniportBlock): Promise<NdisStatus> {
    const reset = m.driver.chars.resetEx;
    if (reset === undefined) return NDIS_STATUS.NOT_SUPPORTED;
    this.statusAbove(m, -1, this.statusIndication(m, NDIS_STATUS.RESET_START, null));
    const out = { addressingReset: false };
    let result: NdisStatus | null = null;
    let waiter: ((s: NdisStatus) => void) | null = null;
    m.resetPending = (s, a) => {
      out.addressingReset = a;
      result = s;
      waiter?.(s);
    };
    this.scheduler.hold();
    try {
      let status = this.atPassive(() => reset(m.context, out));
      if (status === NDIS_STATUS.PENDING) status = result ?? (await new Promise<NdisStatus>((r) => (waiter = r)));
      m.resetPending = null;
      this.statusAbove(m, -1, this.statusIndication(m, NDIS_STATUS.RESET_END, null));
      if (out.addressingReset) await this.reapplyReceiveSettings(m);
      this.log(`${m.name}: reset ${formatStatus(status)}`);
      return status;
    } finally {
      this.scheduler.release();
    }
  }

  /** Models NdisMResetComplete. */
  mResetComplete(m: MiniportBlock, status: NdisStatus, addressingReset: boolean): void {
    const p = m.resetPending;
    if (p === null) {
      this.violate(RULE.RESET_COMPLETE_UNEXPECTED, m.driver.name, m.name, null, 'NdisMResetComplete called while no reset is pending (0x7C RESET_COMPLETE_UNEXPECTED)', 'NdisMResetComplete');
      return;
    }
    m.resetPending = null;
    p(status, addressingReset);
  }

  private statusIndication(source: object, code: number, buffer: Uint8Array | null): NdisStatusIndication {
    return { sourceHandle: source, portNumber: 0, statusCode: code, flags: 0, destinationHandle: null, requestId: null, statusBuffer: buffer };
  }

  /** Builds an NDIS_STATUS_LINK_STATE indication (a helper for miniports). */
  linkStateIndication(m: MiniportBlock, connected: boolean, speed = m.xmitLinkSpeed): NdisStatusIndication {
    return this.statusIndication(
      m,
      NDIS_STATUS.LINK_STATE,
      encodeLinkState({
        mediaConnectState: connected ? MediaConnectState.Connected : MediaConnectState.Disconnected,
        mediaDuplexState: MediaDuplexState.Full,
        xmitLinkSpeed: connected ? speed : 0,
        rcvLinkSpeed: connected ? speed : 0,
        pauseFunctions: 0,
        autoNegotiationFlags: 0,
      }),
    );
  }

  // =============================================================================================
  // Filter functions
  // =============================================================================================

  /** Models NdisFSetAttributes (from FilterAttach): registers the FilterModuleContext. */
  fSetAttributes(f: FilterModule, filterModuleContext: unknown, _attributes: NdisFilterAttributes = {}): NdisStatus {
    this.requirePassive(f, '', 'NdisFSetAttributes');
    if (f.state !== FilterState.Attaching) {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisFSetAttributes: filter module ${f.name} is ${f.state}; call it from FilterAttach`);
    }
    f.context = filterModuleContext;
    f.attributesSet = true;
    return NDIS_STATUS.SUCCESS;
  }

  /** Models NdisFSendNetBufferLists: a filter passes sends (its own or from above) down. */
  fSendNetBufferLists(f: FilterModule, nbl: NetBufferList, portNumber: number, sendFlags: number): void {
    if (!f.dataPathOpen) {
      this.violate(RULE.SEND_WHILE_PAUSED, f.driver.name, f.name, nbl, `NdisFSendNetBufferLists while the filter module is ${f.state}`, 'NdisFSendNetBufferLists');
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) x.status = NDIS_STATUS.PAUSED;
      f.upperComplete.completeUp(nbl, 0);
      return;
    }
    if (this.verifyLevel !== 0) this.checkSourceHandles(f, nbl, 'NdisFSendNetBufferLists');
    f.lowerSend.sendDown(nbl, portNumber, sendFlags);
  }

  /**
   * Every NBL a filter hands on carries a SourceHandle: the sender's (passed through) or, for one
   * the filter originated, its own NdisFilterHandle, which the filter must set. Cheap: the head.
   */
  private checkSourceHandles(f: FilterModule, nbl: NetBufferList, call: string): void {
    for (let x: NetBufferList | null = nbl; x !== null; x = this.verifyLevel >= 2 ? x.next : null) {
      if (x.sourceHandle === null) {
        this.violate(RULE.NBL_SOURCE_HANDLE, f.driver.name, f.name, x, 'an NBL the filter originated has no SourceHandle: a filter sets SourceHandle to its NdisFilterHandle on the NBLs it allocates', call);
      }
    }
  }

  /** Models NdisFSendNetBufferListsComplete: a filter passes completions (of sends it did not originate) up. */
  fSendNetBufferListsComplete(f: FilterModule, nbl: NetBufferList, sendCompleteFlags: number): void {
    if (this.verifyLevel >= 2) {
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        if (x.sourceHandle === f) {
          this.violate(RULE.NBL_SOURCE_HANDLE, f.driver.name, f.name, x, 'the filter passed up the completion of an NBL it originated (SourceHandle is its own NdisFilterHandle): it must consume it', 'NdisFSendNetBufferListsComplete');
        }
      }
      this.checkParentsComplete(f.driver.name, f.name, nbl, 'NdisFSendNetBufferListsComplete');
    }
    f.upperComplete.completeUp(nbl, sendCompleteFlags);
  }

  /** Models NdisFIndicateReceiveNetBufferLists: a filter passes receives (or originates them) up. */
  fIndicateReceiveNetBufferLists(f: FilterModule, nbl: NetBufferList, portNumber: number, numberOfNetBufferLists: number, receiveFlags: number): void {
    if (!f.dataPathOpen) {
      this.violate(RULE.INDICATE_WHILE_PAUSED, f.driver.name, f.name, nbl, `NdisFIndicateReceiveNetBufferLists while the filter module is ${f.state}`, 'NdisFIndicateReceiveNetBufferLists');
      f.miniport.drops[NdisDropReason.ModuleNotRunning]! += numberOfNetBufferLists;
      if ((receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) f.lowerReturn.returnDown(nbl, 0);
      return;
    }
    // Cheap checks look at what a filter originates or rebuilds; full checks at every indication.
    if (this.verifyLevel >= 2 || (this.verifyLevel !== 0 && nbl !== f.lastReceived)) {
      this.checkSourceHandles(f, nbl, 'NdisFIndicateReceiveNetBufferLists');
      const hook = this.verifier.receiveIndicated;
      if (hook !== undefined) hook.call(this.verifier, f, nbl, numberOfNetBufferLists, receiveFlags, 'NdisFIndicateReceiveNetBufferLists');
    }
    f.upperReceive.receiveUp(nbl, portNumber, numberOfNetBufferLists, receiveFlags);
  }

  /** Models NdisFReturnNetBufferLists: a filter returns receives (not its own) down. */
  fReturnNetBufferLists(f: FilterModule, nbl: NetBufferList, returnFlags: number): void {
    if (this.verifyLevel >= 2) {
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        if (x.sourceHandle === f) {
          this.violate(RULE.NBL_SOURCE_HANDLE, f.driver.name, f.name, x, 'the filter returned down an NBL it originated itself (SourceHandle is its own NdisFilterHandle)', 'NdisFReturnNetBufferLists');
        } else if (x.owner !== f.id) {
          this.returnNotHeld(f.driver.name, f.name, x, 'NdisFReturnNetBufferLists');
        }
      }
      this.checkParentsComplete(f.driver.name, f.name, nbl, 'NdisFReturnNetBufferLists');
    }
    f.lowerReturn.returnDown(nbl, returnFlags);
  }

  /** Models NdisFIndicateStatus: a filter passes a status indication (or its own) up. */
  fIndicateStatus(f: FilterModule, indication: NdisStatusIndication): void {
    const m = f.miniport;
    this.statusAbove(m, m.filters.indexOf(f), indication);
  }

  /** Models NdisFPauseComplete. */
  fPauseComplete(f: FilterModule): void {
    const p = f.pausePending;
    if (p === null || f.state !== FilterState.Pausing) {
      this.violate(RULE.PAUSE_COMPLETE_UNEXPECTED, f.driver.name, f.name, null, `NdisFPauseComplete called while no pause is pending (module ${f.state})`, 'NdisFPauseComplete');
      return;
    }
    f.pausePending = null;
    p();
  }

  /** Models NdisFRestartComplete. */
  fRestartComplete(f: FilterModule, status: NdisStatus): void {
    const p = f.restartPending;
    if (p === null || f.state !== FilterState.Restarting) {
      this.violate(RULE.RESTART_COMPLETE_UNEXPECTED, f.driver.name, f.name, null, `NdisFRestartComplete called while no restart is pending (module ${f.state})`, 'NdisFRestartComplete');
      return;
    }
    f.restartPending = null;
    p(status);
  }

  /** Models NdisFOidRequest: a filter sends a request (usually a clone of one it received) down. */
  fOidRequest(f: FilterModule, request: NdisOidRequest): NdisStatus {
    this.checkNotPending(f.driver.name, f.name, request, 'NdisFOidRequest');
    request.issuer = f;
    request.completed = false;
    const status = this.routeOidDown(f.miniport, f.miniport.filters.indexOf(f), request, false);
    if (status !== NDIS_STATUS.PENDING) request.completed = true;
    return status;
  }

  /** Models NdisFDirectOidRequest. */
  fDirectOidRequest(f: FilterModule, request: NdisOidRequest): NdisStatus {
    this.checkNotPending(f.driver.name, f.name, request, 'NdisFDirectOidRequest');
    request.issuer = f;
    request.completed = false;
    const status = this.routeOidDown(f.miniport, f.miniport.filters.indexOf(f), request, true);
    if (status !== NDIS_STATUS.PENDING) request.completed = true;
    return status;
  }

  /** Models NdisFOidRequestComplete: the filter completes a request it pended. */
  fOidRequestComplete(f: FilterModule, request: NdisOidRequest, status: NdisStatus): void {
    if (!this.checkOidCompletion(f.driver.name, f.name, f, request, status, 'NdisFOidRequestComplete')) return;
    f.oidBusy = null;
    request.pendingAt = null;
    this.completeOidToIssuer(request, status);
    this.dispatchNextOid(f);
  }

  /** Models NdisFDirectOidRequestComplete. */
  fDirectOidRequestComplete(f: FilterModule, request: NdisOidRequest, status: NdisStatus): void {
    if (request.pendingAt !== f) {
      this.violate(RULE.OID_COMPLETE_NOT_PENDING, f.driver.name, f.name, null, `direct OID ${formatOid(request.oid)} completed but not pending at this filter`, 'NdisFDirectOidRequestComplete');
      return;
    }
    request.pendingAt = null;
    this.completeOidToIssuer(request, status, true);
  }

  /** Models NdisFCancelOidRequest: forwards a cancel down. */
  fCancelOidRequest(f: FilterModule, requestId: unknown): void {
    this.cancelOidBelow(f.miniport, f.miniport.filters.indexOf(f), requestId);
  }

  /** Models NdisFCancelSendNetBufferLists: forwards a cancel of sends down. */
  fCancelSendNetBufferLists(f: FilterModule, cancelId: unknown): void {
    const m = f.miniport;
    const i = m.filters.indexOf(f);
    for (let j = i - 1; j >= 0; j--) {
      const h = m.filters[j]!.handlers.cancelSendNetBufferLists;
      if (h !== undefined) {
        h(m.filters[j]!.context, cancelId);
        return;
      }
    }
    m.driver.chars.cancelSend(m.context, cancelId);
  }

  // =============================================================================================
  // Protocol functions
  // =============================================================================================

  /**
   * Models NdisSendNetBufferLists: a protocol sends a chain. NDIS sets each NBL's SourceHandle to
   * the binding (completion routing) and hands the chain to the top of the stack.
   */
  sendNetBufferLists(o: OpenBlock, nbl: NetBufferList, portNumber: number, sendFlags: number): void {
    if (!o.dataPathOpen) {
      this.violate(RULE.SEND_WHILE_PAUSED, o.protocol.name, o.name, nbl, `NdisSendNetBufferLists while the binding is ${o.state}`, 'NdisSendNetBufferLists');
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        x.status = NDIS_STATUS.PAUSED;
        x.sourceHandle = o;
        x.owner = -1;
        o.outstandingSends++;
      }
      o.miniport.drops[NdisDropReason.SendPaused]!++;
      o.miniport.demux.completeUp(nbl, 0);
      return;
    }
    const pid = o.protocol.id;
    let n = 0;
    // A cycle is caught in O(1) space: `slow` walks at half speed behind `x` and meets it only on a loop.
    let slow = nbl;
    let bad: NetBufferList | null = null;
    let badOwner = 0;
    for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
      if (++n > 1) {
        if (x === slow) {
          this.violate(RULE.NBL_CHAIN_CYCLE, o.protocol.name, o.name, nbl, 'the send chain does not end (a cycle in NET_BUFFER_LIST.Next)', 'NdisSendNetBufferLists');
          return;
        }
        if ((n & 1) === 0) slow = slow.next!;
      }
      const owner = x.owner;
      if (owner < 0 || (owner !== 0 && owner !== o.id && owner !== pid)) {
        // Not the protocol's to send: left as it is for its real owner.
        if (bad === null) {
          bad = x;
          badOwner = owner;
        }
        continue;
      }
      x.sourceHandle = o;
      x.owner = -1;
    }
    // Reported after the walk, so that a cycle (whose NBLs look in flight on the second visit) is named as one.
    if (bad !== null) {
      this.violate(RULE.NBL_NOT_OWNED, o.protocol.name, o.name, bad, `the protocol sent an NBL it does not own (${badOwner < 0 ? 'still in flight' : `held by ${this.moduleName(badOwner)}`})`, 'NdisSendNetBufferLists');
    }
    o.outstandingSends += n;
    o.counters.sends += n;
    o.miniport.topSend.sendDown(nbl, portNumber, sendFlags & ~NDIS_SEND_FLAGS.DISPATCH_LEVEL | (this.scheduler.irql === DISPATCH_LEVEL ? NDIS_SEND_FLAGS.DISPATCH_LEVEL : 0));
  }

  /** Models NdisReturnNetBufferLists: a protocol returns receive NBLs it held. */
  returnNetBufferLists(o: OpenBlock, nbl: NetBufferList, returnFlags: number): void {
    o.counters.returns++;
    if (this.verifyLevel >= 2) {
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        if (x.owner !== o.id) this.returnNotHeld(o.protocol.name, o.name, x, 'NdisReturnNetBufferLists');
      }
      this.checkParentsComplete(o.protocol.name, o.name, nbl, 'NdisReturnNetBufferLists');
    }
    o.miniport.topReturn.returnDown(nbl, returnFlags);
  }

  /** Reports the return of a receive NBL the returning driver does not hold. */
  private returnNotHeld(driver: string, object: string, x: NetBufferList, call: string): void {
    if (x.handoffPath === NBL_HANDOFF.ResourcesReclaimed) {
      this.violate(RULE.NBL_RETURN_RESOURCES, driver, object, x, 'the NBL was indicated with NDIS_RECEIVE_FLAGS_RESOURCES: its miniport took it back when the indication returned, so it must not be kept or returned', call);
    } else {
      this.violate(RULE.NBL_RETURN_NOT_OWNED, driver, object, x, `returned an NBL it does not hold (held by ${this.moduleName(x.owner)})`, call);
    }
  }

  /** A parent NBL goes back to its originator only when the NBLs derived from it are freed (ChildRefCount 0). */
  private checkParentsComplete(driver: string, object: string, chain: NetBufferList, call: string): void {
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
      if (x.childRefCount !== 0) {
        this.violate(RULE.NBL_CHILD_REFCOUNT, driver, object, x, `the NBL still has ${x.childRefCount} derived NBL(s) (clones, fragments) outstanding (ChildRefCount ${x.childRefCount}); free them before completing or returning the parent (0x7C REFCOUNT_IMBALANCE)`, call);
      }
    }
  }

  /** Models NdisOidRequest: a protocol's request goes down the stack (NDIS keeps the per-binding packet filter and multicast list). */
  oidRequest(o: OpenBlock, request: NdisOidRequest): NdisStatus {
    this.checkNotPending(o.protocol.name, o.name, request, 'NdisOidRequest');
    request.issuer = o;
    request.requestHandle = o;
    request.completed = false;
    const m = o.miniport;
    const status =
      request.oid === OID.GEN_CURRENT_PACKET_FILTER
        ? this.bindingPacketFilter(o, request)
        : request.oid === OID.P802_3_MULTICAST_LIST
          ? this.bindingMulticastList(o, request)
          : this.routeOidDown(m, m.filters.length, request, false);
    if (status !== NDIS_STATUS.PENDING) request.completed = true;
    return status;
  }

  /** A request object is issued again only after it completed (Driver Verifier NdisOidDoubleRequest). */
  private checkNotPending(driver: string, object: string, request: NdisOidRequest, call: string): void {
    const issuer = request.issuer as { name?: string } | null | undefined;
    if (issuer !== null && issuer !== undefined && !request.completed) {
      this.violate(RULE.OID_DOUBLE_REQUEST, driver, object, null, `${call} with a request for ${formatOid(request.oid)} that is still pending (issued by ${issuer.name ?? '?'}, not yet completed)`, call);
    }
  }

  /** Models NdisDirectOidRequest. */
  directOidRequest(o: OpenBlock, request: NdisOidRequest): NdisStatus {
    this.checkNotPending(o.protocol.name, o.name, request, 'NdisDirectOidRequest');
    request.issuer = o;
    request.requestHandle = o;
    request.completed = false;
    const status = this.routeOidDown(o.miniport, o.miniport.filters.length, request, true);
    if (status !== NDIS_STATUS.PENDING) request.completed = true;
    return status;
  }

  /** Models NdisCancelOidRequest: cancels a request this binding issued. */
  cancelOidRequest(o: OpenBlock, requestId: unknown): void {
    this.cancelOidBelow(o.miniport, o.miniport.filters.length, requestId);
  }

  /** Models NdisCancelSendNetBufferLists. */
  cancelSendNetBufferLists(o: OpenBlock, cancelId: unknown): void {
    const m = o.miniport;
    for (let j = m.filters.length - 1; j >= 0; j--) {
      const h = m.filters[j]!.handlers.cancelSendNetBufferLists;
      if (h !== undefined) {
        h(m.filters[j]!.context, cancelId);
        return;
      }
    }
    m.driver.chars.cancelSend(m.context, cancelId);
  }

  // =============================================================================================
  // OID engine
  // =============================================================================================

  /**
   * Sends `request` to the module below stack position `from` (filters.length = above the top
   * filter): the next filter with an OID handler, else the miniport edge, where NDIS answers the
   * OIDs it owns. Requests to a busy module are queued (NDIS serializes them) and PENDING is
   * returned.
   */
  private routeOidDown(m: MiniportBlock, from: number, request: NdisOidRequest, direct: boolean): NdisStatus {
    for (let i = from - 1; i >= 0; i--) {
      const f = m.filters[i]!;
      const h = direct ? f.driver.chars.directOidRequest : f.driver.chars.oidRequest;
      if (h === undefined) continue;
      if (!direct && f.oidBusy !== null) {
        f.oidQueue.push(request);
        return NDIS_STATUS.PENDING;
      }
      return this.dispatchOid(f, request, direct);
    }
    return this.oidAtMiniport(m, request, direct);
  }

  private oidAtMiniport(m: MiniportBlock, request: NdisOidRequest, direct: boolean): NdisStatus {
    if (m.state === AdapterState.Halted || m.state === AdapterState.Initializing || m.state === AdapterState.Shutdown) return NDIS_STATUS.ADAPTER_NOT_READY;
    if (!direct && request.requestType === NdisRequestType.QueryInformation && NDIS_ANSWERED.has(request.oid)) {
      return this.ndisAnswer(m, request);
    }
    if (!direct && m.oidBusy !== null) {
      m.oidQueue.push(request);
      return NDIS_STATUS.PENDING;
    }
    return this.dispatchOid(m, request, direct);
  }

  /** Calls the OID handler of a filter module or miniport; a synchronous completion frees it. */
  private dispatchOid(target: FilterModule | MiniportBlock, request: NdisOidRequest, direct: boolean): NdisStatus {
    const isMiniport = target instanceof MiniportBlock;
    if (!direct) target.oidBusy = request;
    request.pendingAt = target;
    let status: NdisStatus;
    if (isMiniport) {
      if (!direct) {
        target.oidBusySince = this.scheduler.nowMs();
        this.verifier.watch?.();
      }
      const h = direct ? target.driver.chars.directOidRequest : target.driver.chars.oidRequest;
      if (h === undefined) status = NDIS_STATUS.NOT_SUPPORTED;
      else status = this.atPassive(() => h(target.context, request));
      if (status !== NDIS_STATUS.PENDING) {
        if (!direct) this.checkOidResult(target.driver.name, target.name, request, status, 'MiniportOidRequest');
        if (status === NDIS_STATUS.SUCCESS) this.oidSucceeded(target, request);
      }
    } else {
      const h = direct ? target.driver.chars.directOidRequest! : target.driver.chars.oidRequest!;
      status = this.atPassive(() => h(target.context, request));
    }
    if (status !== NDIS_STATUS.PENDING) {
      request.pendingAt = null;
      if (!direct) {
        target.oidBusy = null;
        if (target.oidQueue.length > 0) this.dispatchNextOidLater(target);
      }
    }
    return status;
  }

  private dispatchNextOidLater(target: FilterModule | MiniportBlock): void {
    const item = this.scheduler.allocateIoWorkItem(null, 'ndis-oid-dispatch');
    this.scheduler.queueIoWorkItem(item, () => this.dispatchNextOid(target), null);
  }

  /** Dispatches the next queued request of a module; a synchronous completion goes to its issuer. */
  private dispatchNextOid(target: FilterModule | MiniportBlock): void {
    while (target.oidBusy === null && target.oidQueue.length > 0) {
      const req = target.oidQueue.shift()!;
      if (req.completed) continue;
      const status = target instanceof MiniportBlock && req.requestType === NdisRequestType.QueryInformation && NDIS_ANSWERED.has(req.oid) ? this.ndisAnswer(target, req) : this.dispatchOid(target, req, false);
      if (status !== NDIS_STATUS.PENDING) this.completeOidToIssuer(req, status);
    }
  }

  /** Checks a completion of a pending request at `target`. */
  private checkOidCompletion(driver: string, object: string, target: FilterModule | MiniportBlock, request: NdisOidRequest, status: NdisStatus, call: string): boolean {
    if (status === NDIS_STATUS.PENDING) {
      this.violate(RULE.OID_COMPLETE_STATUS, driver, object, null, `${call} with NDIS_STATUS_PENDING for ${formatOid(request.oid)}`, call);
      return false;
    }
    if (request.completed) {
      this.violate(RULE.OID_DOUBLE_COMPLETE, driver, object, null, `${formatOid(request.oid)} completed twice`, call);
      return false;
    }
    if (target.oidBusy !== request) {
      this.violate(RULE.OID_COMPLETE_NOT_PENDING, driver, object, null, `${call} for ${formatOid(request.oid)}, which is not pending at ${object} (0x7C INVALID_OID_COMPLETION)`, call);
      return false;
    }
    if (target instanceof MiniportBlock) this.checkOidResult(driver, object, request, status, call);
    return true;
  }

  /** What NDIS learns from a set its miniport accepted (RSS on or off, for the receive checks). */
  private oidSucceeded(m: MiniportBlock, request: NdisOidRequest): void {
    ndisOffloadSetSucceeded(m, request);
    if (request.oid === OID.GEN_RECEIVE_SCALE_PARAMETERS && request.requestType === NdisRequestType.SetInformation) {
      const b = request.informationBuffer;
      if (b !== null && request.informationBufferLength >= 12) {
        const flags = b[4]! | (b[5]! << 8);
        const hashInformation = (b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24)) >>> 0;
        if ((flags & NDIS_RSS_PARAM_FLAG.DISABLE_RSS) !== 0) m.rssHashInformation = 0;
        else if ((flags & NDIS_RSS_PARAM_FLAG.HASH_INFO_UNCHANGED) === 0) m.rssHashInformation = hashInformation;
        m.rssEnabled = m.rssHashInformation !== 0;
      }
    }
  }

  /** The rules on a miniport's OID result: buffer bounds, allowed statuses, must-succeed OIDs. */
  private checkOidResult(driver: string, object: string, request: NdisOidRequest, status: NdisStatus, call: string): void {
    const len = request.informationBuffer === null ? 0 : request.informationBufferLength;
    if (request.bytesWritten > len) {
      this.violate(RULE.OID_INVALID_BUFFER, driver, object, null, `${formatOid(request.oid)}: BytesWritten ${request.bytesWritten} is larger than the ${len}-byte InformationBuffer (0x7C OID_REQUEST_INVALID_BUFFER)`, call);
    }
    if (request.oid === OID.PNP_SET_POWER && status !== NDIS_STATUS.SUCCESS && status !== NDIS_STATUS.NOT_ACCEPTED) {
      this.violate(RULE.OID_COMPLETE_STATUS, driver, object, null, `OID_PNP_SET_POWER completed with ${formatStatus(status)}; only NDIS_STATUS_SUCCESS or NDIS_STATUS_NOT_ACCEPTED are allowed`, call);
    }
    if (DELETE_OIDS.has(request.oid) && status !== NDIS_STATUS.SUCCESS && status !== NDIS_STATUS.NOT_ACCEPTED && status !== NDIS_STATUS.REQUEST_ABORTED) {
      this.violate(RULE.OID_COMPLETE_STATUS, driver, object, null, `${formatOid(request.oid)} completed with ${formatStatus(status)}; a delete/free OID may complete only with SUCCESS, NOT_ACCEPTED or REQUEST_ABORTED`, call);
    }
    if (request.requestType === NdisRequestType.SetInformation && MUST_SUCCEED.has(request.oid) && status !== NDIS_STATUS.SUCCESS) {
      this.violate(RULE.OID_MUST_SUCCEED, driver, object, null, `${formatOid(request.oid)} set failed with ${formatStatus(status)}; NDIS requires it to succeed (0x7C MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED)`, call);
    }
  }

  /** Completes a request to whoever issued it: a filter's OidRequestComplete, a protocol's, or NDIS. */
  private completeOidToIssuer(request: NdisOidRequest, status: NdisStatus, direct = false): void {
    request.completed = true;
    const issuer = request.issuer;
    if (issuer instanceof FilterModule) {
      const h = direct ? issuer.driver.chars.directOidRequestComplete : issuer.driver.chars.oidRequestComplete;
      h?.(issuer.context, request, status);
    } else if (issuer instanceof OpenBlock) {
      if (direct) issuer.protocol.chars.directOidRequestComplete?.(issuer.context, request, status);
      else issuer.protocol.chars.oidRequestComplete(issuer.context, request, status);
    } else if (issuer instanceof InternalRequester) {
      issuer.onComplete(request, status);
    }
  }

  private cancelOidBelow(m: MiniportBlock, from: number, requestId: unknown): void {
    // Queued somewhere below: abort it there.
    const queues: (FilterModule | MiniportBlock)[] = [...m.filters.slice(0, from), m];
    for (const q of queues) {
      const i = q.oidQueue.findIndex((r) => r.requestId === requestId);
      if (i >= 0) {
        const [req] = q.oidQueue.splice(i, 1);
        this.completeOidToIssuer(req!, NDIS_STATUS.REQUEST_ABORTED);
        return;
      }
    }
    // Pending at a filter or the miniport: ask it to cancel.
    for (let i = from - 1; i >= 0; i--) {
      const f = m.filters[i]!;
      if (f.oidBusy !== null && f.oidBusy.requestId === requestId) {
        f.driver.chars.cancelOidRequest?.(f.context, requestId);
        return;
      }
    }
    if (m.oidBusy !== null && m.oidBusy.requestId === requestId) m.driver.chars.cancelOidRequest(m.context, requestId);
  }

  /** NDIS answers a query from the attributes the NDIS 6 miniport set. */
  private ndisAnswer(m: MiniportBlock, r: NdisOidRequest): NdisStatus {
    const g = m.general!;
    switch (r.oid) {
      case OID.GEN_MEDIA_SUPPORTED:
      case OID.GEN_MEDIA_IN_USE:
        return writeUlong(r, g.mediaType);
      case OID.GEN_MAXIMUM_LOOKAHEAD:
        return writeUlong(r, g.lookaheadSize);
      case OID.GEN_CURRENT_LOOKAHEAD:
        return writeUlong(r, m.currentLookahead);
      case OID.GEN_MAXIMUM_FRAME_SIZE:
        return writeUlong(r, g.mtuSize);
      case OID.GEN_MAXIMUM_TOTAL_SIZE:
        return writeUlong(r, g.mtuSize + 14);
      case OID.GEN_LINK_SPEED:
        return writeUlong(r, Math.floor(m.xmitLinkSpeed / 100));
      case OID.GEN_MAX_LINK_SPEED:
        return writeUlong64(r, g.maxXmitLinkSpeed);
      case OID.GEN_MEDIA_CONNECT_STATUS:
        return writeUlong(r, m.mediaConnectState === MediaConnectState.Connected ? 0 : 1);
      case OID.GEN_MAC_OPTIONS:
        return writeUlong(r, g.macOptions);
      case OID.GEN_PHYSICAL_MEDIUM:
        return writeUlong(r, g.physicalMediumType);
      case OID.GEN_LINK_STATE:
        return writeBytes(
          r,
          encodeLinkState({ mediaConnectState: m.mediaConnectState, mediaDuplexState: g.mediaDuplexState, xmitLinkSpeed: m.xmitLinkSpeed, rcvLinkSpeed: m.rcvLinkSpeed, pauseFunctions: 0, autoNegotiationFlags: 0 }),
        );
      case OID.P802_3_PERMANENT_ADDRESS:
        return writeBytes(r, g.permanentMacAddress.subarray(0, 6));
      case OID.P802_3_CURRENT_ADDRESS:
        return writeBytes(r, m.currentMacAddress);
      case OID.P802_3_MAXIMUM_LIST_SIZE:
        return writeUlong(r, g.maxMulticastListSize);
      case OID.GEN_SUPPORTED_LIST: {
        const list = g.supportedOidList;
        const b = new Uint8Array(list.length * 4);
        const dv = new DataView(b.buffer);
        list.forEach((o, i) => dv.setUint32(i * 4, o >>> 0, true));
        return writeBytes(r, b);
      }
      default:
        return ndisAnswerOffloadQuery(m, r);
    }
  }

  /** A request NDIS itself issues down the full stack; resolves with the completion status. */
  private internalOid(m: MiniportBlock, request: NdisOidRequest): Promise<NdisStatus> {
    return new Promise((resolve) => {
      request.issuer = new InternalRequester((_r, s) => resolve(s));
      request.completed = false;
      const status = this.routeOidDown(m, m.filters.length, request, false);
      if (status !== NDIS_STATUS.PENDING) {
        request.completed = true;
        resolve(status);
      }
    });
  }

  /**
   * OID_GEN_CURRENT_PACKET_FILTER from a binding: NDIS records the binding's filter and sets the
   * OR of all bindings' filters on the miniport when it changes. Queries return the binding's own.
   */
  private bindingPacketFilter(o: OpenBlock, r: NdisOidRequest): NdisStatus {
    if (r.requestType === NdisRequestType.QueryInformation) return writeUlong(r, o.packetFilter);
    const value = readUlong(r);
    if (value === null) {
      r.bytesNeeded = 4;
      return NDIS_STATUS.INVALID_LENGTH;
    }
    const m = o.miniport;
    const supported = m.general!.supportedPacketFilters | NDIS_PACKET_TYPE.NO_LOCAL | NDIS_PACKET_TYPE.ALL_LOCAL;
    if ((value & ~supported) !== 0) return NDIS_STATUS.NOT_SUPPORTED;
    r.bytesRead = 4;
    o.packetFilter = value;
    m.recomputeLoopback();
    return this.pushMerged(m, r, o);
  }

  /** OID_802_3_MULTICAST_LIST from a binding: recorded per binding, the union set on the miniport. */
  private bindingMulticastList(o: OpenBlock, r: NdisOidRequest): NdisStatus {
    if (r.requestType === NdisRequestType.QueryInformation) return writeBytes(r, encodeMacList(o.multicastList));
    const list = r.informationBuffer === null ? [] : decodeMacList(r.informationBuffer, r.informationBufferLength);
    if (list === null) return NDIS_STATUS.INVALID_LENGTH;
    const m = o.miniport;
    if (list.length > m.general!.maxMulticastListSize) return NDIS_STATUS.MULTICAST_FULL;
    r.bytesRead = r.informationBufferLength;
    o.multicastList = list;
    return this.pushMerged(m, r, o);
  }

  /** Sends the merged packet filter and multicast list down when they changed; completes the binding's request. */
  private pushMerged(m: MiniportBlock, r: NdisOidRequest, o: OpenBlock): NdisStatus {
    const merged = this.mergedSettings(m);
    const reqs: NdisOidRequest[] = [];
    const stale = m.mergedSettingsStale;
    if (stale || !sameMacList(merged.list, m.mergedMulticast)) reqs.push(NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList(merged.list)));
    if (stale || merged.filter !== m.mergedPacketFilter) reqs.push(NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(merged.filter)));
    // What NDIS has asked the miniport for, as of now: a set made meanwhile by another binding is
    // compared against these values (the miniport takes the sets in the order they are made).
    m.mergedPacketFilter = merged.filter;
    m.mergedMulticast = merged.list;
    m.mergedSettingsStale = false;
    let i = 0;
    let pended = false;
    let held = false;
    const finish = (status: NdisStatus): NdisStatus => {
      // A failed set leaves the miniport's settings unknown: the next change sends both again.
      if (status !== NDIS_STATUS.SUCCESS) m.mergedSettingsStale = true;
      if (pended) {
        if (held) this.scheduler.release();
        r.completed = true;
        o.protocol.chars.oidRequestComplete(o.context, r, status);
      }
      return status;
    };
    // Issues the requests one after the other; stays synchronous while every one completes synchronously.
    const next = (): NdisStatus => {
      while (i < reqs.length) {
        const q = reqs[i++]!;
        let syncDone = true;
        q.issuer = new InternalRequester((_q, status) => {
          if (syncDone) return;
          if (status !== NDIS_STATUS.SUCCESS) finish(status);
          else next();
        });
        q.completed = false;
        const status = this.routeOidDown(m, m.filters.length, q, false);
        if (status === NDIS_STATUS.PENDING) {
          syncDone = false;
          if (!pended) {
            pended = true;
            held = true;
            this.scheduler.hold();
          }
          return NDIS_STATUS.PENDING;
        }
        q.completed = true;
        if (status !== NDIS_STATUS.SUCCESS) return finish(status);
      }
      return finish(NDIS_STATUS.SUCCESS);
    };
    return next();
  }

  private mergedSettings(m: MiniportBlock): { filter: number; list: Uint8Array[] } {
    let filter = 0;
    const list: Uint8Array[] = [];
    for (const o of m.opens) {
      filter |= o.packetFilter;
      for (const a of o.multicastList) if (!list.some((x) => sameMac(x, a))) list.push(a);
    }
    return { filter: filter & ~(NDIS_PACKET_TYPE.NO_LOCAL | NDIS_PACKET_TYPE.ALL_LOCAL), list };
  }

  private remergeReceiveSettings(m: MiniportBlock): void {
    if (m.haltStarted) return;
    const merged = this.mergedSettings(m);
    if (merged.filter === m.mergedPacketFilter && sameMacList(merged.list, m.mergedMulticast)) return;
    void this.internalOid(m, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(merged.filter))).then((s) => {
      if (s === NDIS_STATUS.SUCCESS) m.mergedPacketFilter = merged.filter;
    });
    m.mergedMulticast = merged.list;
  }

  /** After an addressing reset NDIS sets the packet filter and multicast list again. */
  private async reapplyReceiveSettings(m: MiniportBlock): Promise<void> {
    if (m.mergedMulticast.length > 0) await this.internalOid(m, NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList(m.mergedMulticast)));
    await this.internalOid(m, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(m.mergedPacketFilter)));
  }

  /**
   * Issues an OID request on behalf of a user of the runtime (a test, the CLI): like a protocol
   * above the stack, the request goes through the filters. Resolves with the status.
   */
  requestOid(m: MiniportBlock, request: NdisOidRequest): Promise<NdisStatus> {
    this.scheduler.hold();
    return this.internalOid(m, request).finally(() => this.scheduler.release());
  }

  /** OID_GEN_STATISTICS as NDIS answers it for a miniport that does not: from NDIS's own counters. */
  statisticsOf(m: MiniportBlock): Uint8Array {
    const s = emptyStatistics();
    s.ifHCInUcastPkts = m.counters.receiveNbls;
    s.ifHCOutUcastPkts = m.counters.sendNbls;
    s.ifInDiscards = m.drops.reduce((a, b) => a + b, 0);
    return encodeStatistics(s);
  }

  // =============================================================================================
  // Resources: pools, timers, work items, configuration, DPCs
  // =============================================================================================

  /** The NDIS functions documented for IRQL = PASSIVE_LEVEL only (SDV's Irql_* rules). */
  private requirePassive(handle: object | null, driver: string, call: string): void {
    if (this.scheduler.irql === PASSIVE_LEVEL || this.verifyLevel === 0) return;
    let object = '';
    if (handle instanceof MiniportBlock) [driver, object] = [handle.driver.name, handle.name];
    else if (handle instanceof FilterModule) [driver, object] = [handle.driver.name, handle.name];
    else if (handle instanceof OpenBlock) [driver, object] = [handle.protocol.name, handle.name];
    this.violate(RULE.IRQL, driver === '' ? '?' : driver, object, null, `${call} called at DISPATCH_LEVEL; it may be called only at PASSIVE_LEVEL`, call);
  }

  private resourcesOf(handle: object): DriverResources | null {
    if (handle instanceof MiniportBlock) return handle.resources;
    if (handle instanceof FilterModule || handle instanceof OpenBlock) return handle.resources;
    return null;
  }

  private ownerIdOf(handle: object): number {
    if (handle instanceof MiniportBlock || handle instanceof FilterModule || handle instanceof OpenBlock) return handle.id;
    if (handle instanceof ProtocolDriver || handle instanceof FilterDriver || handle instanceof MiniportDriver) return handle.id;
    return 0;
  }

  /**
   * Models NdisAllocateNetBufferListPool(NdisHandle, Parameters): the pool is recorded against the
   * handle (adapter, filter module, protocol) so that NDIS can check it is freed by halt.
   */
  allocateNetBufferListPool(ndisHandle: object, parameters: NetBufferListPoolParameters): NetBufferListPool {
    const pool = new NetBufferListPool(parameters);
    pool.ownerId = this.ownerIdOf(ndisHandle);
    this.resourcesOf(ndisHandle)?.nblPools.add(pool);
    this.nblPools.add(pool);
    if (this.verifyLevel !== 0) this.verifier.poolCreated?.(pool, ndisHandle);
    return pool;
  }

  /** NBLs allocated from pools created through this runtime and not yet freed (leak accounting). */
  outstandingNbls(): number {
    let n = 0;
    for (const p of this.nblPools) if (!p.isFreed) n += p.outstanding;
    return n;
  }

  /** Models NdisFreeNetBufferListPool. */
  freeNetBufferListPool(pool: NetBufferListPool): void {
    if (pool.outstanding > 0) {
      const nbl = pool.outstandingNetBufferLists()[0] ?? null;
      this.violate(RULE.NBL_LEAKED, this.modules.get(pool.ownerId)?.driver ?? '?', `pool '${pool.poolTag}' of ${this.moduleName(pool.ownerId)}`, nbl, `NdisFreeNetBufferListPool with ${pool.outstanding} NBL(s) still allocated (0x7C LEAKED_NBL)${nbl !== null ? `; the first is held by ${this.moduleName(nbl.owner)}` : ''}`, 'NdisFreeNetBufferListPool');
    }
    // Reported (and not thrown: the verifier logs or counts): the pool is retired with its leaks.
    pool.free(this.verifyLevel !== 0);
  }

  /** Models NdisAllocateNetBufferPool. */
  allocateNetBufferPool(ndisHandle: object, parameters: NetBufferPoolParameters): NetBufferPool {
    const pool = new NetBufferPool(parameters);
    this.resourcesOf(ndisHandle)?.nbPools.add(pool);
    if (this.verifyLevel !== 0) this.verifier.poolCreated?.(pool, ndisHandle);
    return pool;
  }

  /** Models NdisFreeNetBufferPool. */
  freeNetBufferPool(pool: NetBufferPool): void {
    pool.free();
  }

  /** Models NdisAllocateTimerObject. */
  allocateTimerObject(ndisHandle: object, timerFunction: NdisTimerFunction, functionContext: unknown, name = 'timer'): NdisTimerObject {
    const t = this.scheduler.allocateTimerObject(timerFunction, functionContext, ndisHandle, name);
    this.resourcesOf(ndisHandle)?.timers.add(t);
    return t;
  }

  /** Models NdisSetTimerObject (DueTime in 100-ns units, negative for relative; see relativeDueTime). */
  setTimerObject(timer: NdisTimerObject, dueTime: number, millisecondsPeriod = 0, functionContext?: unknown): boolean {
    return this.scheduler.setTimerObject(timer, dueTime, millisecondsPeriod, functionContext);
  }

  /** Models NdisCancelTimerObject. */
  cancelTimerObject(timer: NdisTimerObject): boolean {
    return this.scheduler.cancelTimerObject(timer);
  }

  /** Models NdisFreeTimerObject. */
  freeTimerObject(timer: NdisTimerObject): void {
    this.scheduler.freeTimerObject(timer);
  }

  /** Models NdisAllocateIoWorkItem. */
  allocateIoWorkItem(ndisHandle: object, name = 'workitem'): NdisIoWorkItem {
    const w = this.scheduler.allocateIoWorkItem(ndisHandle, name);
    this.resourcesOf(ndisHandle)?.workItems.add(w);
    return w;
  }

  /** Models NdisQueueIoWorkItem. */
  queueIoWorkItem(workItem: NdisIoWorkItem, routine: NdisIoWorkItemRoutine, context: unknown): void {
    this.scheduler.queueIoWorkItem(workItem, routine, context);
  }

  /** Models NdisFreeIoWorkItem. */
  freeIoWorkItem(workItem: NdisIoWorkItem): void {
    this.scheduler.freeIoWorkItem(workItem);
  }

  /** Models KeInsertQueueDpc / NdisMQueueDpcEx. */
  queueDpc(dpc: Dpc, processor?: number): boolean {
    return this.scheduler.queueDpc(dpc, processor);
  }

  /**
   * Models NdisAllocateMemoryWithTagPriority: zeroed memory recorded against the handle (adapter,
   * filter module, binding), or null when the allocation fails (the verifier's low-resource
   * simulation can make it fail).
   */
  allocateMemoryWithTagPriority(ndisHandle: object, length: number, tag: number, _priority = 0): Uint8Array | null {
    if (!Number.isInteger(length) || length < 0) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `NdisAllocateMemoryWithTagPriority: length must be a non-negative integer. Received ${length}.`);
    if (this.verifyLevel !== 0 && this.verifier.failMemoryAllocation?.(ndisHandle, length) === true) return null;
    const block = new Uint8Array(length);
    this.resourcesOf(ndisHandle)?.memory.set(block, tag);
    return block;
  }

  /** Models NdisFreeMemory (with the handle the block was allocated for). */
  freeMemory(ndisHandle: object, block: Uint8Array): void {
    const r = this.resourcesOf(ndisHandle);
    if (r !== null && !r.memory.delete(block)) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', 'NdisFreeMemory: the block was not allocated for this handle, or was freed already');
  }

  /** Models NdisOpenConfigurationEx: opens the adapter's configuration (its registry keywords). */
  openConfigurationEx(ndisHandle: object): ConfigurationHandle {
    this.requirePassive(ndisHandle, '', 'NdisOpenConfigurationEx');
    const r = this.resourcesOf(ndisHandle);
    const values = ndisHandle instanceof MiniportBlock ? ndisHandle.configuration : {};
    const h = new ConfigurationHandle(values);
    r?.configurations.add(h);
    return h;
  }

  /** Models NdisReadConfiguration: the value of a keyword, or null (NDIS_STATUS_FAILURE) when absent. */
  readConfiguration(config: ConfigurationHandle, keyword: string): string | number | null {
    this.requirePassive(null, '', 'NdisReadConfiguration');
    if (config.closed) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', 'NdisReadConfiguration on a closed configuration handle');
    const v = config.values[keyword];
    return v === undefined ? null : v;
  }

  /** Models NdisCloseConfiguration. */
  closeConfiguration(config: ConfigurationHandle): void {
    this.requirePassive(null, '', 'NdisCloseConfiguration');
    config.closed = true;
  }

  // =============================================================================================
  // Helpers
  // =============================================================================================

  /** Copies the first 14 bytes (MAC header) of a NET_BUFFER into `into`; false when shorter. */
  copyHeader(nb: NetBuffer, into: Uint8Array): boolean {
    if (nb.dataLength < 14) return false;
    return copyOutOfNetBuffer(nb, 0, into, 0, 14) === 14;
  }

  /** Whether binding `o` receives a looped-back NBL (NDIS loopback rules). */
  loopbackWanted(o: OpenBlock, _nbl: NetBufferList): boolean {
    const isSender = this.loopbackSender === o;
    if (isSender) return (this.loopbackSendFlags & NDIS_SEND_FLAGS.CHECK_FOR_LOOPBACK) !== 0;
    return (o.packetFilter & NDIS_PACKET_TYPE.NO_LOCAL) === 0;
  }

  /** The name of the module an owner id refers to. */
  moduleName(owner: number): string {
    if (owner === 0) return 'nobody (free or never handed over)';
    if (owner < 0) return `NDIS (in flight${owner === -1 ? '' : ` from ${this.modules.get(-owner)?.name ?? `#${-owner}`}`})`;
    return this.modules.get(owner)?.name ?? `module #${owner}`;
  }

  /** Looks an adapter up by name. */
  adapter(name: string): MiniportBlock {
    for (const a of this.adapters) if (a.name === name) return a;
    throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `no adapter named '${name}'`);
  }

  /**
   * Waits for `promise` while the scheduler runs (taking a hold so that virtual time advances to
   * the next timer when nothing else is ready). Rejects after `timeoutMs` of scheduler time.
   */
  async until<T>(promise: Promise<T>, timeoutMs = 60_000): Promise<T> {
    const s = this.scheduler;
    const deadline = s.nowMs() + timeoutMs;
    let done = false;
    let idleTurns = 0;
    const errorsBefore = this.asyncErrors.length;
    s.hold();
    this.waiters++;
    try {
      const guard = new Promise<never>((_, reject) => {
        const check = (): void => {
          if (done) return;
          if (this.asyncErrors.length > errorsBefore) {
            reject(this.asyncErrors[errorsBefore]);
            return;
          }
          if (s.nowMs() > deadline) {
            reject(new NdisError('ERR_NDIS_TIMEOUT', `gave up waiting after ${timeoutMs} ms of ${s.mode} time`));
            return;
          }
          // Virtual time with nothing ready and no timer or watchdog due will never settle the wait.
          if (s.mode === 'virtual' && !s.hasReadyWork() && s.nextWakeup() === Infinity) {
            if (++idleTurns > 2000) {
              reject(new NdisError('ERR_NDIS_TIMEOUT', `nothing left to run at ${s.nowMs().toFixed(3)} ms of virtual time: no DPC, work item or timer can settle this wait`));
              return;
            }
          } else {
            idleTurns = 0;
          }
          setImmediate(check);
        };
        setImmediate(check);
      });
      return await Promise.race([promise, guard]);
    } finally {
      done = true;
      this.waiters--;
      s.release();
    }
  }

  /** Runs the scheduler for `ms` of virtual time while holding it (lets timers fire). */
  async sleep(ms: number): Promise<void> {
    const s = this.scheduler;
    if (s.mode === 'virtual') {
      let fired!: () => void;
      const p = new Promise<void>((r) => (fired = r));
      const timer = this.scheduler.allocateTimerObject(() => fired(), null, null, 'sleep');
      this.scheduler.setTimerObject(timer, -Math.round(ms * 10_000));
      try {
        await this.until(p, ms + 1);
      } finally {
        this.scheduler.cancelTimerObject(timer);
        this.scheduler.freeTimerObject(timer);
      }
      return;
    }
    await new Promise((r) => setTimeout(r, ms));
  }
}

/** A pool tag as its four characters (NDIS tags read backwards in memory: 'Tset' shows as 'tesT'). */
function tagName(tag: number): string {
  let out = '';
  for (let i = 0; i < 4; i++) {
    const c = (tag >>> (8 * i)) & 0xff;
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return `'${out}'`;
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameMacList(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => sameMac(x, y)));
}

export { NDIS_NBL_FLAGS };
