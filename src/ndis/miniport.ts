/**
 * Miniport drivers and miniport adapters (NDIS's miniport block): NdisMRegisterMiniportDriver and
 * the per-adapter object NDIS creates when an adapter arrives.
 */
import { NBL_HANDOFF, type NetBufferList } from '../nbl/net-buffer-list.js';
import { NDIS_NBL_FLAGS, NDIS_RECEIVE_FLAGS, NDIS_SEND_FLAGS } from '../nbl/flags.js';
import { NDIS_STATUS } from '../base/status.js';
import type {
  MiniportAdapterGeneralAttributes,
  MiniportAdapterHardwareAssistAttributes,
  MiniportAdapterOffloadAttributes,
  MiniportAdapterRegistrationAttributes,
  MiniportDriverCharacteristics,
} from './characteristics.js';
import { NdisDropReason, type CompleteTarget, type ReceiveTarget, type ReturnTarget, type SendTarget } from './datapath.js';
import { ADAPTER_TRANSITIONS, AdapterState, StateMachine, type AdapterEvent } from './state.js';
import { NDIS_MINIPORT_DRIVER_FLAGS, NDIS_PACKET_TYPE, NdisMedium } from './constants.js';
import { ProtocolDemux, packetFilterAccepts, type OpenBlock } from './protocol.js';
import type { FilterModule } from './filter.js';
import type { NdisOidRequest } from './oid.js';
import type { NdisOffload } from './offload-types.js';
import type { Ndis } from './ndis.js';
import { DriverResources } from './resources.js';

/** A registered miniport driver (the NdisMiniportDriverHandle). */
export class MiniportDriver {
  readonly ndis: Ndis;
  readonly chars: MiniportDriverCharacteristics;
  readonly driverContext: unknown;
  readonly id: number;
  readonly adapters = new Set<MiniportBlock>();
  /** The protocol edge of an intermediate driver (NdisIMAssociateMiniport). */
  associatedProtocol: object | null = null;
  deregistered = false;

  constructor(ndis: Ndis, chars: MiniportDriverCharacteristics, driverContext: unknown, id: number) {
    this.ndis = ndis;
    this.chars = chars;
    this.driverContext = driverContext;
    this.id = id;
  }

  get name(): string {
    return this.chars.name;
  }

  /** NDIS version the driver registered, as major << 8 | minor. */
  get ndisVersion(): number {
    return (this.chars.majorNdisVersion << 8) | this.chars.minorNdisVersion;
  }

  get isIntermediate(): boolean {
    return ((this.chars.flags ?? 0) & NDIS_MINIPORT_DRIVER_FLAGS.NDIS_INTERMEDIATE_DRIVER) !== 0;
  }
}

/** Per-adapter counters kept by NDIS at the miniport edge. */
export interface MiniportCounters {
  /** NBLs NDIS handed to MiniportSendNetBufferLists. */
  sendNbls: number;
  /** NBLs the miniport completed. */
  sendCompleteNbls: number;
  /** NBLs the miniport indicated. */
  receiveNbls: number;
  /** Receive indications (calls). */
  receiveIndications: number;
  /** NBLs NDIS returned to MiniportReturnNetBufferLists. */
  returnNbls: number;
  /** Frames NDIS looped back. */
  loopbackNbls: number;
  /** Status indications. */
  statusIndications: number;
}


/**
 * A miniport adapter as NDIS holds it (the MiniportAdapterHandle): state machine, attributes the
 * miniport set, the filter stack above it (bottom to top), the bindings on top, merged packet
 * filter and multicast list, OID serialization, counters, and the bottom edge of the data path.
 */
export class MiniportBlock implements SendTarget, ReturnTarget {
  readonly ndis: Ndis;
  readonly driver: MiniportDriver;
  readonly id: number;
  readonly name: string;
  readonly ifIndex: number;
  readonly sm: StateMachine<AdapterState, AdapterEvent>;
  /** MiniportAdapterContext from the registration attributes. */
  context: unknown = null;
  registration: MiniportAdapterRegistrationAttributes | null = null;
  general: MiniportAdapterGeneralAttributes | null = null;
  offload: MiniportAdapterOffloadAttributes | null = null;
  /** The adapter's current task-offload configuration (NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG keeps it up to date). */
  currentOffload: NdisOffload | null = null;
  hardwareAssist: MiniportAdapterHardwareAssistAttributes | null = null;
  /** The adapter's configuration (what NdisReadConfiguration reads). */
  readonly configuration: Readonly<Record<string, string | number>>;
  /** INF UpperRange / LowerRange of the adapter. */
  readonly upperRange: readonly string[];
  readonly lowerRange: readonly string[];
  /** For an IM virtual miniport: the DeviceContext given to NdisIMInitializeDeviceInstanceEx. */
  imDeviceContext: unknown = null;
  readonly resources = new DriverResources();

  /** Filter modules, bottom (next to the miniport) to top. */
  filters: FilterModule[] = [];
  /** Bindings of protocols to this adapter. */
  readonly opens = new Set<OpenBlock>();
  readonly demux: ProtocolDemux;
  topSend: SendTarget;
  topReturn: ReturnTarget;
  upperReceive: ReceiveTarget;
  upperComplete: CompleteTarget;

  /** Current MAC address (from the general attributes; NDIS tracks changes). */
  currentMacAddress: Uint8Array = new Uint8Array(6);
  /** Packet filter NDIS set on the miniport: the OR of every binding's. */
  mergedPacketFilter = 0;
  /** Multicast list NDIS set on the miniport: the union of every binding's. */
  mergedMulticast: Uint8Array[] = [];
  /** A merged set failed: the miniport's packet filter and multicast list are not known. */
  mergedSettingsStale = false;
  /** Media connect state, link speeds, as last indicated. */
  mediaConnectState = 0;
  xmitLinkSpeed = 0;
  rcvLinkSpeed = 0;
  currentLookahead = 0;
  /** True when some binding asked for promiscuous/all-local with another receiver present: loopback by filter. */
  loopbackByFilter = false;

  oidBusy: NdisOidRequest | null = null;
  readonly oidQueue: NdisOidRequest[] = [];
  readonly counters: MiniportCounters = { sendNbls: 0, sendCompleteNbls: 0, receiveNbls: 0, receiveIndications: 0, returnNbls: 0, loopbackNbls: 0, statusIndications: 0 };
  /** NDIS drops by reason (NdisDropReason). */
  readonly drops = new Uint32Array(NdisDropReason.Count);
  /** Sends handed to the miniport and not completed (counted when the verifier walks, or always for pause checks). */
  outstandingSends = 0;
  /** Receive NBLs indicated (without RESOURCES) and not yet returned, when tracked (full verification). */
  outstandingReceives = 0;

  /** MiniportSendNetBufferLists / MiniportReturnNetBufferLists, cached for the data path. */
  private sendHandler: MiniportDriverCharacteristics['sendNetBufferLists'];
  private returnHandler: MiniportDriverCharacteristics['returnNetBufferLists'];
  pausePending: (() => void) | null = null;
  restartPending: ((status: number) => void) | null = null;
  resetPending: ((status: number, addressingReset: boolean) => void) | null = null;
  /** A mandatory filter failed to attach: no protocol may bind. */
  upperEdgeDown = false;
  /** Serializes PnP operations on this adapter. */
  pnpChain: Promise<void> = Promise.resolve();
  halted = false;
  haltStarted = false;
  /** Sends the miniport holds, by NBL, with the time they were handed over (full verification: NdisTimedDataSend). */
  /** Scheduler time (ms) since which sends have been pending without a completion (watchdogs). */
  sendsPendingSince = 0;
  /** Scheduler time (ms) at which the pending OID request (oidBusy) reached the miniport. */
  oidBusySince = 0;
  /** The driver registered as NDIS 6.0 (one MDL per received NET_BUFFER). */
  readonly ndis60: boolean;
  /** A slot for the attached verifier's data about this module (what it caches per originator). */
  verifierData: unknown = null;
  /** RSS is on: the last OID_GEN_RECEIVE_SCALE_PARAMETERS set succeeded with a hash function and without NDIS_RSS_PARAM_FLAG_DISABLE_RSS. */
  rssEnabled = false;
  /** HashInformation (hash function | NDIS_HASH_* types) of that set, while RSS is on. */
  rssHashInformation = 0;

  constructor(
    ndis: Ndis,
    driver: MiniportDriver,
    id: number,
    name: string,
    ifIndex: number,
    configuration: Record<string, string | number>,
    upperRange: readonly string[],
    lowerRange: readonly string[],
  ) {
    this.ndis = ndis;
    this.driver = driver;
    this.id = id;
    this.name = name;
    this.ifIndex = ifIndex;
    this.configuration = configuration;
    this.upperRange = upperRange;
    this.lowerRange = lowerRange;
    this.sm = new StateMachine(ADAPTER_TRANSITIONS, AdapterState.Halted, `adapter ${name}`);
    this.demux = new ProtocolDemux(this);
    this.topSend = this;
    this.topReturn = this;
    this.ndis60 = driver.chars.minorNdisVersion === 0;
    this.upperReceive = this.demux;
    this.upperComplete = this.demux;
    this.sendHandler = driver.chars.sendNetBufferLists;
    this.returnHandler = driver.chars.returnNetBufferLists;
  }

  get state(): AdapterState {
    return this.sm.state;
  }

  get mediaType(): number {
    return this.general?.mediaType ?? NdisMedium.NdisMedium802_3;
  }

  get isEthernet(): boolean {
    const m = this.mediaType;
    return m === NdisMedium.NdisMedium802_3 || m === NdisMedium.NdisMedium802_5;
  }

  /** True while sends may be handed to the miniport. */
  get dataPathOpen(): boolean {
    const s = this.sm.state;
    return s === AdapterState.Running || s === AdapterState.Pausing;
  }

  /** Rebuilds the data-path links of the stack (after attach, detach, or handler changes). */
  rebuildDataPath(): void {
    const fs = this.filters;
    // The miniport edge is the bottom of the send and return paths.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let lowerSend: SendTarget = this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let lowerReturn: ReturnTarget = this;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i]!;
      f.cacheHandlers();
      f.lowerSend = lowerSend;
      f.lowerReturn = lowerReturn;
      if (f.handlers.sendNetBufferLists !== undefined) lowerSend = f;
      if (f.handlers.returnNetBufferLists !== undefined) lowerReturn = f;
    }
    this.topSend = lowerSend;
    this.topReturn = lowerReturn;
    let upperReceive: ReceiveTarget = this.demux;
    let upperComplete: CompleteTarget = this.demux;
    for (let i = fs.length - 1; i >= 0; i--) {
      const f = fs[i]!;
      f.upperReceive = upperReceive;
      f.upperComplete = upperComplete;
      if (f.handlers.receiveNetBufferLists !== undefined) upperReceive = f;
      if (f.handlers.sendNetBufferListsComplete !== undefined) upperComplete = f;
    }
    this.upperReceive = upperReceive;
    this.upperComplete = upperComplete;
    this.demux.active = [...this.opens];
    for (const o of this.opens) o.cacheHandlers();
    this.sendHandler = this.driver.chars.sendNetBufferLists;
    this.returnHandler = this.driver.chars.returnNetBufferLists;
    this.recomputeLoopback();
  }

  /** Condition 2a/2b of NDIS loopback: a promiscuous or all-local binding and another receiver. */
  recomputeLoopback(): void {
    let wantsAll = false;
    for (const o of this.opens) {
      const f = o.packetFilter;
      if ((f & NDIS_PACKET_TYPE.ALL_LOCAL) !== 0 || ((f & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0 && (f & NDIS_PACKET_TYPE.NO_LOCAL) === 0)) wantsAll = true;
    }
    const otherReceiver = this.opens.size > 1 || this.filters.some((f) => f.handlers.receiveNetBufferLists !== undefined);
    this.loopbackByFilter = wantsAll && otherReceiver;
  }

  /**
   * The bottom of the send path: NDIS hands sends to MiniportSendNetBufferLists, after looping back
   * the frames that must be (NDIS loopback rules), and refuses them when the adapter is paused.
   */
  sendDown(nbl: NetBufferList, portNumber: number, sendFlags: number): void {
    const ndis = this.ndis;
    if (!this.dataPathOpen) {
      // The adapter cannot take sends: NDIS completes them with NDIS_STATUS_PAUSED.
      this.drops[NdisDropReason.SendPaused]!++;
      for (let n: NetBufferList | null = nbl; n !== null; n = n.next) n.status = NDIS_STATUS.PAUSED;
      this.upperComplete.completeUp(nbl, 0);
      return;
    }
    if (this.isEthernet && (this.loopbackByFilter || (sendFlags & NDIS_SEND_FLAGS.CHECK_FOR_LOOPBACK) !== 0)) this.loopBack(nbl, sendFlags);
    let n = 0;
    const full = ndis.verifyLevel >= 2;
    const now = full || this.outstandingSends === 0 ? ndis.scheduler.nowMs() : 0;
    for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
      n++;
      x.owner = this.id;
      if (full) {
        x.handoffAt = now;
        x.handoffPath = NBL_HANDOFF.Send;
      }
    }
    if (this.outstandingSends === 0) {
      this.sendsPendingSince = now;
      ndis.verifier.watch?.();
    }
    this.outstandingSends += n;
    this.counters.sendNbls += n;
    if (full) ndis.verifier.sendReachesMiniport?.(this, nbl, sendFlags);
    this.sendHandler(this.context, nbl, portNumber, sendFlags);
  }

  /**
   * NDIS loopback: the frames of the chain that pass the adapter's packet filter are indicated up
   * the stack (IS_LOOPBACK_PACKET set, with NDIS_RECEIVE_FLAGS_RESOURCES: the sender still owns
   * them) before they go to the miniport. The demux decides which bindings see each one.
   */
  private loopBack(chain: NetBufferList, sendFlags: number): void {
    const ndis = this.ndis;
    let nbl: NetBufferList | null = chain;
    const hdr = ndis.scratchHeader;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      const nb = nbl.firstNetBuffer;
      if (nb !== null && ndis.copyHeader(nb, hdr) && packetFilterAccepts(this.mergedPacketFilter, hdr, 0, this.currentMacAddress, this.mergedMulticast)) {
        nbl.next = null;
        const saved = nbl.nblFlags;
        nbl.nblFlags = saved | NDIS_NBL_FLAGS.IS_LOOPBACK_PACKET;
        ndis.loopbackSendFlags = sendFlags;
        ndis.loopbackSender = nbl.sourceHandle;
        this.counters.loopbackNbls++;
        this.upperReceive.receiveUp(nbl, 0, 1, NDIS_RECEIVE_FLAGS.RESOURCES);
        ndis.loopbackSender = null;
        nbl.nblFlags = saved;
        nbl.next = next;
      }
      nbl = next;
    }
  }

  /** The bottom of the return path: NDIS hands returned NBLs to MiniportReturnNetBufferLists. */
  returnDown(nbl: NetBufferList, returnFlags: number): void {
    if (this.ndis.verifyLevel >= 2) {
      // Full verification tracks every receive NBL: back to its miniport now.
      let n = 0;
      for (let x: NetBufferList | null = nbl; x !== null; x = x.next) {
        n++;
        x.owner = this.id;
        x.handoffPath = NBL_HANDOFF.Return;
      }
      this.counters.returnNbls += n;
      this.outstandingReceives -= n;
      this.ndis.verifier.receivesReturned?.(this, nbl);
    } else {
      this.counters.returnNbls++;
    }
    this.returnHandler(this.context, nbl, returnFlags);
  }
}
