/**
 * The protocol edge of the teaming driver: one LowerBinding per adapter it binds to (its
 * ProtocolBindingContext), whether or not the adapter is a team member. A binding of an adapter
 * that no team names stays open and idle (packet filter 0, so NDIS indicates nothing to it), as
 * the MUX sample keeps bindings without VELANs.
 */
import type { NetBufferList, NetBufferListPool } from '../../../nbl/index.js';
import {
  Dpc,
  MediaConnectState,
  NDIS_STATUS,
  type Ndis,
  type NdisBindParameters,
  type NdisOffload,
  type NetPnPEventNotification,
  type OpenBlock,
} from '../../../ndis/index.js';
import { MemberInactiveReason } from './constants.js';
import type { Team } from './team.js';

/** States of a lower binding (the mux sample's adapter states, as ndisprot names them). */
export const BindingRunState = {
  /** Opened; NetEventRestart not yet received, or NetEventPause completed. */
  Paused: 0,
  Running: 1,
  /** NetEventPause received; waiting for the sends in flight on it. */
  Pausing: 2,
  /** ProtocolUnbindAdapterEx called. */
  Closing: 3,
  /**
   * NetEventRestart accepted; the binding runs once NDIS has finished the restart (a protocol may
   * not send while its restart is being handled), which a DPC queued from the handler observes.
   */
  Restarting: 4,
} as const;

/** Counters of one lower binding. */
export class MemberCounters {
  /** Derived NBLs (clones, tagged fragments) handed to NdisSendNetBufferLists. */
  sendNbls = 0;
  /** Of those, completed with NDIS_STATUS_SUCCESS. */
  sendCompletes = 0;
  /** Of those, completed with a failure status. */
  sendFailures = 0;
  /** Gratuitous ARPs and unsolicited neighbor advertisements sent. */
  announcements = 0;
  /** Received NBLs handed to a team interface. */
  receiveNbls = 0;
  /** Received NBLs dropped (see the team's receive drop counters for why). */
  receiveDrops = 0;
}

/** The ProtocolBindingContext of the teaming driver's protocol edge. */
export class LowerBinding {
  readonly ndis: Ndis;
  readonly adapterName: string;
  /** The NdisBindingHandle (set when NdisOpenAdapterEx succeeds). */
  handle!: OpenBlock;
  state: number = BindingRunState.Paused;
  /** The adapter's current MAC address, MTU and MAC options (from NDIS_BIND_PARAMETERS). */
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly macOptions: number;
  /** Link state and transmit speed (bits/s) as last reported (bind parameters, then NDIS_STATUS_LINK_STATE). */
  linkUp: boolean;
  linkSpeed: number;
  readonly maxLinkSpeed: number;
  /** The adapter's current task-offload configuration (bind parameters, then NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG). */
  offload: NdisOffload | null;
  /** Pool of the NBLs this binding sends (clones, tagged fragments, announcements); allocated against the binding. */
  sendPool!: NetBufferListPool;
  /** The team this adapter is a member of, and its slot in the team's member list. */
  team: Team | null = null;
  slot = -1;
  /** Why the team does not use this member (MemberInactiveReason). */
  inactiveReason: number = MemberInactiveReason.Paused;
  /** NBLs handed to NDIS on this binding (or queued to be) and not yet completed. */
  outstandingSends = 0;
  /** The NetEventPause that waits for the sends in flight. */
  pauseNotification: NetPnPEventNotification | null = null;
  /** Send chain being built for this binding during one call (no allocation). */
  txHead: NetBufferList | null = null;
  txTail: NetBufferList | null = null;
  /** Chain of received NBLs to return to NDIS, built during one call. */
  retHead: NetBufferList | null = null;
  retTail: NetBufferList | null = null;
  /** Packet filter and multicast list the team last set on this binding. */
  appliedFilter = 0;
  appliedMulticast: Uint8Array[] = [];
  readonly counters = new MemberCounters();

  constructor(ndis: Ndis, params: NdisBindParameters) {
    this.ndis = ndis;
    this.adapterName = params.adapterName;
    this.mac = params.currentMacAddress.slice(0, 6);
    this.mtu = params.mtuSize;
    this.macOptions = params.macOptions;
    this.linkUp = params.mediaConnectState === MediaConnectState.Connected;
    this.linkSpeed = params.xmitLinkSpeed;
    this.maxLinkSpeed = params.maxXmitLinkSpeed;
    this.offload = params.defaultOffloadConfiguration;
    this.restartDpc = new Dpc(restarted, this, `lbfo-restart-${this.adapterName}`);
  }

  /** Runs after NDIS finished restarting the binding: from then on it may send. */
  readonly restartDpc: Dpc;
  /** Settles the driver's record of the restart in progress (its `settled()` waits for it). */
  restarted: (() => void) | null = null;

  /** NdisOpenAdapterEx succeeded: keeps the handle and allocates the send pool against it. */
  opened(handle: OpenBlock): void {
    this.handle = handle;
    this.sendPool = this.ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, poolTag: 'TmTx', initialCount: 256 });
  }

  /** True while the binding may send (NetEventRestart done, no pause started). */
  get running(): boolean {
    return this.state === BindingRunState.Running;
  }

  /** Queues a derived NBL on this binding's send chain (sent by the team's flush). */
  queueSend(nbl: NetBufferList): void {
    nbl.next = null;
    if (this.txTail === null) this.txHead = nbl;
    else this.txTail.next = nbl;
    this.txTail = nbl;
    this.outstandingSends++;
    this.counters.sendNbls++;
  }

  /** Queues a received NBL to return to NDIS; true when the chain was empty before. */
  queueReturn(nbl: NetBufferList): boolean {
    nbl.next = null;
    const first = this.retTail === null;
    if (first) this.retHead = nbl;
    else this.retTail!.next = nbl;
    this.retTail = nbl;
    return first;
  }

  /** Returns the queued received NBLs to NDIS (NdisReturnNetBufferLists). */
  flushReturns(returnFlags: number): void {
    const head = this.retHead;
    if (head === null) return;
    this.retHead = null;
    this.retTail = null;
    this.ndis.returnNetBufferLists(this.handle, head, returnFlags);
  }

  /** Completes a pending NetEventPause once the last send has completed. */
  checkPauseDone(): void {
    if (this.state !== BindingRunState.Pausing || this.outstandingSends !== 0) return;
    this.state = BindingRunState.Paused;
    const n = this.pauseNotification;
    if (n !== null) {
      this.pauseNotification = null;
      this.ndis.completeNetPnPEvent(this.handle, n, NDIS_STATUS.SUCCESS);
    }
  }

  /** Frees what the binding allocated (at unbind; every send has completed by then). */
  release(): void {
    this.ndis.freeNetBufferListPool(this.sendPool);
  }
}

/** The restart DPC: the binding is Running (unless a pause or unbind came first), and its team takes it back. */
function restarted(_dpc: Dpc, context: unknown): void {
  const b = context as LowerBinding;
  const done = b.restarted;
  b.restarted = null;
  if (b.state === BindingRunState.Restarting) {
    b.state = BindingRunState.Running;
    b.team?.memberRestarted(b);
  }
  done?.();
}
