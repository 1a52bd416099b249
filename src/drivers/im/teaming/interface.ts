/**
 * The miniport edge of the teaming driver: a team interface (Windows' "team NIC", the MUX
 * sample's VELAN) is a virtual miniport the driver starts with NdisIMInitializeDeviceInstanceEx.
 * Protocols bind to it as to any Ethernet adapter. This object is its MiniportAdapterContext:
 * initialize, halt, pause and restart, and the data path at the miniport edge (sends from the
 * protocols, returns of the receives it indicated).
 */
import {
  NBL_KIND,
  NDIS_CLONE_FLAGS,
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_RETURN_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  copyOutOfNetBuffer,
  freeCloneNetBufferList,
  freeFragmentNetBufferList,
  type NetBuffer,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';
import {
  DISPATCH_LEVEL,
  MediaConnectState,
  MediaDuplexState,
  NDIS_MAC_OPTION,
  NDIS_MINIPORT_ATTRIBUTES,
  NDIS_PACKET_TYPE,
  NDIS_STATISTICS_ALL_VALID,
  NDIS_STATUS,
  NdisMedium,
  NdisPhysicalMedium,
  emptyOffload,
  type MiniportBlock,
  type Ndis,
  type NdisOffload,
  type NdisStatus,
} from '../../../ndis/index.js';
import { InterfaceAddresses } from './announce.js';
import type { LowerBinding } from './binding.js';
import { VlanTagging } from './constants.js';
import { TEAM_SUPPORTED_OIDS } from './oid.js';
import type { Team } from './team.js';

/** States of a team interface's virtual miniport. */
export const InterfaceState = {
  /** No virtual miniport (not started, or halted). */
  Halted: 0,
  /** NdisIMInitializeDeviceInstanceEx called; MiniportInitializeEx not yet done. */
  Initializing: 1,
  Paused: 2,
  Running: 3,
  /** MiniportPause returned NDIS_STATUS_PENDING; waiting for sends and receives in flight. */
  Pausing: 4,
} as const;

/** Configuration of one team interface. */
export interface TeamInterfaceConfig {
  /** Name of the virtual adapter (the DeviceInstance of NdisIMInitializeDeviceInstanceEx). */
  name: string;
  /**
   * VLAN id, 1 to 4094; 0 (the default) makes the team's default interface, which sends untagged
   * and receives untagged frames and frames of VLANs no other interface of the team claims.
   */
  vlanId?: number;
  /** Addresses to announce after a failover besides those the team learns (IPv4 or IPv6 literals). */
  addresses?: string[];
  /** Registry keywords of the virtual adapter (what NdisReadConfiguration would read). */
  configuration?: Record<string, string | number>;
}

/** Counters of one team interface. */
export class InterfaceCounters {
  /** NBLs protocols sent on the interface (MiniportSendNetBufferLists). */
  sendNbls = 0;
  /** NBLs the interface completed (NdisMSendNetBufferListsComplete), successful or not. */
  sendCompletes = 0;
  /** Of those, completed with a failure status. */
  sendFailures = 0;
  /** Sends a member failed (link lost, paused) that went out again on another member. */
  resends = 0;
  /** Sends completed at once because no member could take them. */
  sendsWithoutMember = 0;
  /** Sends completed at once because no NBL could be allocated for the member. */
  sendsWithoutResources = 0;
  /** NBLs indicated up (NdisMIndicateReceiveNetBufferLists). */
  receiveNbls = 0;
  /** Indicated NBLs that came back (MiniportReturnNetBufferLists). */
  returnNbls = 0;
}

/** Clone flags of every clone the team makes (the clone shares the original's MDLs). */
export const TEAM_CLONE_FLAGS = NDIS_CLONE_FLAGS.USE_ORIGINAL_MDLS;
/** Data offset delta of a send fragment that carries an 802.1Q header written by the team. */
export const TAG_FRAGMENT_DELTA = 16;
/**
 * Marks, in MiniportReserved[1] of a receive clone, a frame whose 802.1Q header the team removed in
 * place (the low 16 bits hold the TCI): the member's frame is put back when the clone returns.
 */
export const STRIPPED_IN_PLACE = 0x10000;

/** Frees an NBL the team derived for a send (clone, or fragment carrying a VLAN tag written by the team). */
export function freeDerived(nbl: NetBufferList, fragmentDelta: number): void {
  if (nbl.kind === NBL_KIND.Clone) freeCloneNetBufferList(nbl, TEAM_CLONE_FLAGS);
  else freeFragmentNetBufferList(nbl, fragmentDelta);
}

/** The MiniportAdapterContext of a team interface. */
export class TeamInterface {
  readonly ndis: Ndis;
  readonly team: Team;
  readonly name: string;
  readonly vlanId: number;
  readonly configuration: Record<string, string | number>;
  /** The MiniportAdapterHandle, while the virtual miniport exists. */
  handle: MiniportBlock | null = null;
  state: number = InterfaceState.Halted;
  /** OID_GEN_CURRENT_PACKET_FILTER and OID_802_3_MULTICAST_LIST NDIS set on the interface. */
  packetFilter = 0;
  multicastList: Uint8Array[] = [];
  /** OID_GEN_CURRENT_LOOKAHEAD. */
  lookahead = 0;
  /** Pool of the NBLs the interface indicates (clones of the members' receives); allocated against its handle. */
  rxPool: NetBufferListPool | null = null;
  /** For VLAN interfaces: NBLs with data, for frames whose tag cannot be removed in place. */
  rxCopyPool: NetBufferListPool | null = null;
  /** Sends taken from NDIS and not yet completed to it. */
  outstandingTx = 0;
  /** Receives indicated with ownership and not yet returned. */
  outstandingRx = 0;
  /** Receive chain being built during one indication (no allocation). */
  rxHead: NetBufferList | null = null;
  rxTail: NetBufferList | null = null;
  rxCount = 0;
  /** Completed sends waiting to go up in one NdisMSendNetBufferListsComplete. */
  doneHead: NetBufferList | null = null;
  doneTail: NetBufferList | null = null;
  doneCount = 0;
  /** The addresses the team announces for this interface. */
  readonly addresses = new InterfaceAddresses();
  readonly counters = new InterfaceCounters();
  /** The offload configuration last reported to NDIS. */
  reportedOffload: NdisOffload | null = null;
  /** The NdisIMInitializeDeviceInstanceEx in progress. */
  initPromise: Promise<void> | null = null;
  /** Bindings whose return chains this interface is filling (reused; no allocation). */
  private readonly returnTouched: LowerBinding[] = [];
  /** Scratch for headers that are not contiguous. */
  private readonly header = new Uint8Array(96);

  constructor(ndis: Ndis, team: Team, config: TeamInterfaceConfig) {
    this.ndis = ndis;
    this.team = team;
    this.name = config.name;
    this.vlanId = config.vlanId ?? 0;
    this.configuration = { ...(config.configuration ?? {}) };
  }

  /** True when a send on `member` carries this interface's tag in the frame (not in the OOB). */
  tagsInFrame(member: LowerBinding): boolean {
    if (this.vlanId === 0) return false;
    const t = this.team.vlanTagging;
    if (t === VlanTagging.InFrame) return true;
    if (t === VlanTagging.OutOfBand) return false;
    return (member.macOptions & NDIS_MAC_OPTION.VLAN_8021Q) === 0;
  }

  /**
   * The offload configuration the interface advertises: the team's (the intersection of its
   * members'), or nothing when the team writes this interface's VLAN tag into frames (header
   * offsets in the checksum and LSO information would no longer hold).
   */
  offloadConfiguration(): NdisOffload | null {
    const o = this.team.offload;
    if (o === null) return null;
    if (this.vlanId !== 0 && this.team.vlanTagging !== VlanTagging.OutOfBand && this.team.someMemberTagsInFrame()) return emptyOffload();
    return o;
  }

  // ---- MiniportInitializeEx / MiniportHaltEx / MiniportPause / MiniportRestart ----

  /** MiniportInitializeEx: registration, general and offload attributes; the stack starts Paused. */
  initialize(handle: MiniportBlock): NdisStatus {
    const ndis = this.ndis;
    const team = this.team;
    const mac = team.mac;
    if (mac === null) return NDIS_STATUS.FAILURE;
    this.handle = handle;
    this.rxPool = ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, poolTag: 'TmRx', initialCount: 256 });
    if (this.vlanId !== 0) this.rxCopyPool = ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, dataSize: team.mtu + 14, poolTag: 'TmCp', initialCount: 16 });
    ndis.mSetMiniportAttributes(handle, {
      kind: 'registration',
      miniportAdapterContext: this,
      // An intermediate driver's virtual miniport must not be halted on suspend.
      attributeFlags: NDIS_MINIPORT_ATTRIBUTES.NO_HALT_ON_SUSPEND,
      checkForHangTimeInSeconds: 0,
      interfaceType: 0, // NdisInterfaceInternal
    });
    const macOptions =
      NDIS_MAC_OPTION.COPY_LOOKAHEAD_DATA |
      NDIS_MAC_OPTION.TRANSFERS_NOT_PEND |
      NDIS_MAC_OPTION.NO_LOOPBACK |
      NDIS_MAC_OPTION.FULL_DUPLEX |
      NDIS_MAC_OPTION.PRIORITY_8021P |
      (this.vlanId === 0 ? NDIS_MAC_OPTION.VLAN_8021Q : 0);
    this.lookahead = team.mtu;
    ndis.mSetMiniportAttributes(handle, {
      kind: 'general',
      flags: 0,
      mediaType: NdisMedium.NdisMedium802_3,
      physicalMediumType: NdisPhysicalMedium.P802_3,
      mtuSize: team.mtu,
      maxXmitLinkSpeed: team.maxLinkSpeed,
      xmitLinkSpeed: team.linkSpeed,
      maxRcvLinkSpeed: team.maxLinkSpeed,
      rcvLinkSpeed: team.linkSpeed,
      mediaConnectState: team.linkUp ? MediaConnectState.Connected : MediaConnectState.Disconnected,
      mediaDuplexState: MediaDuplexState.Full,
      lookaheadSize: team.mtu,
      macOptions,
      supportedPacketFilters:
        NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.ALL_MULTICAST | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.PROMISCUOUS,
      maxMulticastListSize: 32,
      macAddressLength: 6,
      permanentMacAddress: mac,
      currentMacAddress: mac,
      recvScaleCapabilities: null,
      accessType: 1, // NET_IF_ACCESS_BROADCAST
      directionType: 0, // NET_IF_DIRECTION_SENDRECEIVE
      connectionType: 1, // NET_IF_CONNECTION_DEDICATED
      ifType: 6, // IF_TYPE_ETHERNET_CSMACD
      ifConnectorPresent: false,
      supportedStatistics: NDIS_STATISTICS_ALL_VALID,
      supportedPauseFunctions: 0,
      dataBackFillSize: 0,
      contextBackFillSize: 0,
      supportedOidList: [...TEAM_SUPPORTED_OIDS],
      autoNegotiationFlags: 0,
    });
    const offload = this.offloadConfiguration();
    if (offload !== null) {
      ndis.mSetMiniportAttributes(handle, { kind: 'offload', defaultOffloadConfiguration: offload, hardwareOffloadCapabilities: offload });
    }
    this.reportedOffload = offload;
    this.state = InterfaceState.Paused;
    return NDIS_STATUS.SUCCESS;
  }

  /** MiniportHaltEx: frees the receive pool (every indicated NBL came back before the pause completed). */
  halt(): void {
    if (this.rxPool !== null) this.ndis.freeNetBufferListPool(this.rxPool);
    if (this.rxCopyPool !== null) this.ndis.freeNetBufferListPool(this.rxCopyPool);
    this.rxPool = null;
    this.rxCopyPool = null;
    this.handle = null;
    this.state = InterfaceState.Halted;
    this.packetFilter = 0;
    this.multicastList = [];
    this.team.onInterfaceHalted(this);
  }

  /** MiniportPause: stop taking new work; pend until every send is completed and every receive returned. */
  pause(): NdisStatus {
    if (this.outstandingTx === 0 && this.outstandingRx === 0) {
      this.state = InterfaceState.Paused;
      return NDIS_STATUS.SUCCESS;
    }
    this.state = InterfaceState.Pausing;
    return NDIS_STATUS.PENDING;
  }

  /** MiniportRestart. */
  restart(): NdisStatus {
    this.state = InterfaceState.Running;
    return NDIS_STATUS.SUCCESS;
  }

  /** Completes a pending pause once nothing is in flight (NdisMPauseComplete). */
  private checkPauseDone(): void {
    if (this.state !== InterfaceState.Pausing || this.outstandingTx !== 0 || this.outstandingRx !== 0) return;
    this.state = InterfaceState.Paused;
    this.ndis.mPauseComplete(this.handle!);
  }

  // ---- send path ----

  /**
   * MiniportSendNetBufferLists: each NBL goes, as a clone (or a fragment carrying the VLAN
   * header), to the member its flow hashes to; the original is completed when the member's send
   * completes. NBLs no member can take are completed at once.
   * @cost O(NBLs); no allocation in steady state.
   */
  sendNetBufferLists(chain: NetBufferList, sendFlags: number): void {
    const team = this.team;
    const learn = team.announce;
    let nbl: NetBufferList | null = chain;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      nbl.next = null;
      nbl.miniportReserved[1] = 0; // send attempts so far
      this.outstandingTx++;
      this.counters.sendNbls++;
      if (learn) this.learnAddresses(nbl);
      team.sendOne(this, nbl, null);
      nbl = next;
    }
    team.flushSends(sendFlags);
    this.flushCompletions();
  }

  /** Notes the addresses the interface announces itself in the ARP and ND messages it sends. */
  private learnAddresses(nbl: NetBufferList): void {
    const nb = nbl.firstNetBuffer;
    if (nb === null || nb.dataLength < 14) return;
    const mdl = nb.currentMdl;
    const want = nb.dataLength < 96 ? nb.dataLength : 96;
    if (mdl !== null && mdl.byteCount - nb.currentMdlOffset >= want) {
      const b = mdl.buffer;
      const o = mdl.byteOffset + nb.currentMdlOffset;
      const t = (b[o + 12]! << 8) | b[o + 13]!;
      // Only ARP, IPv6 and tagged frames are worth a closer look.
      if (t !== 0x0806 && t !== 0x86dd && t !== 0x8100) return;
      this.addresses.learnFromFrame(b, o, want, this.team.mac!);
      return;
    }
    const n = copyOutOfNetBuffer(nb, 0, this.header, 0, want);
    this.addresses.learnFromFrame(this.header, 0, n, this.team.mac!);
  }

  /** Queues a completed (or refused) original for NdisMSendNetBufferListsComplete. */
  queueCompletion(nbl: NetBufferList): void {
    nbl.next = null;
    if (this.doneTail === null) this.doneHead = nbl;
    else this.doneTail.next = nbl;
    this.doneTail = nbl;
    this.doneCount++;
    if (nbl.status !== NDIS_STATUS.SUCCESS) this.counters.sendFailures++;
  }

  /** Completes the queued originals to NDIS in one call. */
  flushCompletions(): void {
    const head = this.doneHead;
    if (head === null) return;
    const n = this.doneCount;
    this.doneHead = null;
    this.doneTail = null;
    this.doneCount = 0;
    this.outstandingTx -= n;
    this.counters.sendCompletes += n;
    const flags = this.ndis.scheduler.irql === DISPATCH_LEVEL ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0;
    this.ndis.mSendNetBufferListsComplete(this.handle!, head, flags);
    this.checkPauseDone();
  }

  // ---- receive path ----

  /** Adds a derived receive NBL to the chain the next indication carries. */
  queueReceive(nbl: NetBufferList): void {
    nbl.next = null;
    if (this.rxTail === null) this.rxHead = nbl;
    else this.rxTail.next = nbl;
    this.rxTail = nbl;
    this.rxCount++;
  }

  /**
   * Indicates the queued receives (NdisMIndicateReceiveNetBufferLists). With
   * NDIS_RECEIVE_FLAGS_RESOURCES from below, the NBLs are ours again when the call returns and are
   * released at once; the members' NBLs stay with the miniport that indicated them.
   */
  indicateReceives(receiveFlags: number): void {
    const head = this.rxHead;
    if (head === null) return;
    const n = this.rxCount;
    this.rxHead = null;
    this.rxTail = null;
    this.rxCount = 0;
    const resources = (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0;
    if (!resources) this.outstandingRx += n;
    this.counters.receiveNbls += n;
    this.ndis.mIndicateReceiveNetBufferLists(this.handle!, head, 0, n, receiveFlags);
    if (resources) {
      let x: NetBufferList | null = head;
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        x.next = null;
        x.miniportReserved[0] = null;
        this.releaseReceive(x);
        x = next;
      }
    }
  }

  /**
   * Frees an NBL this interface indicated: a copy goes back to the copy pool; a clone is freed
   * after the member's frame is put back as it was when the team removed its 802.1Q header in
   * place. Returns the member's NBL the clone described, or null for a copy.
   */
  private releaseReceive(x: NetBufferList): NetBufferList | null {
    if (x.kind !== NBL_KIND.Clone) {
      this.rxCopyPool!.freeNetBufferList(x);
      return null;
    }
    const parent = x.parentNetBufferList!;
    const mark = x.miniportReserved[1] as number;
    if (mark >= STRIPPED_IN_PLACE) {
      x.miniportReserved[1] = 0;
      const nb = parent.firstNetBuffer!;
      const mdl = nb.currentMdl!;
      const b = mdl.buffer;
      const o = mdl.byteOffset + nb.currentMdlOffset;
      b.copyWithin(o, o + 4, o + 16);
      b[o + 12] = 0x81;
      b[o + 13] = 0x00;
      b[o + 14] = (mark >>> 8) & 0xff;
      b[o + 15] = mark & 0xff;
    }
    freeCloneNetBufferList(x, TEAM_CLONE_FLAGS);
    return parent;
  }

  /**
   * A copy of the frame in `nb` without its 802.1Q header, in an NBL of the interface's copy pool
   * (one MDL), or null when the pool is empty or the frame does not fit.
   */
  copyWithoutTag(nb: NetBuffer): NetBufferList | null {
    const pool = this.rxCopyPool;
    const len = nb.dataLength - 4;
    if (pool === null || len < 14 || len > pool.dataSize) return null;
    const d = pool.allocateNetBufferList();
    if (d === null) return null;
    const dnb = d.firstNetBuffer!;
    const m = dnb.currentMdl!;
    const at = m.byteOffset + dnb.currentMdlOffset;
    copyOutOfNetBuffer(nb, 0, m.buffer, at, 12);
    copyOutOfNetBuffer(nb, 16, m.buffer, at + 12, len - 12);
    dnb.dataLength = len;
    d.miniportReserved[1] = 0;
    return d;
  }

  /**
   * MiniportReturnNetBufferLists: releases each NBL and returns the member's NBL it described to
   * the binding it came from, one NdisReturnNetBufferLists per binding.
   * @cost O(NBLs); no allocation.
   */
  returnNetBufferLists(chain: NetBufferList, returnFlags: number): void {
    const touched = this.returnTouched;
    let n = 0;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      const b = x.miniportReserved[0] as LowerBinding | null;
      x.miniportReserved[0] = null;
      const parent = this.releaseReceive(x);
      if (parent !== null && b!.queueReturn(parent)) touched.push(b!);
      n++;
      x = next;
    }
    this.outstandingRx -= n;
    this.counters.returnNbls += n;
    const flags = returnFlags & NDIS_RETURN_FLAGS.DISPATCH_LEVEL;
    while (touched.length > 0) touched.pop()!.flushReturns(flags);
    this.checkPauseDone();
  }

  /** True while the interface takes receives (its stack is running). */
  get receiving(): boolean {
    return this.state === InterfaceState.Running;
  }

  /** True while sends may still be (re)sent on a member: running or finishing a pause. */
  get sending(): boolean {
    return this.state === InterfaceState.Running || this.state === InterfaceState.Pausing;
  }

  /** The OOB 802.1Q value the interface's sends carry, keeping the sender's user priority. */
  vlanInfoFor(original: NetBufferList): number {
    const q = original.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
    return ((q & 7) | ((this.vlanId & 0xfff) << 4)) >>> 0;
  }
}
