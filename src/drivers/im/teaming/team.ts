/**
 * A team: N member bindings below, M team interfaces (virtual miniports) above. It decides which
 * members are in use (running, link up, MTU large enough, not a standby member while another is
 * active), which one is primary, and which member each outgoing flow leaves on; it moves flows
 * away from a member that fails and back when it returns (failover and failback), announcing the
 * interfaces' addresses on the new primary; it demultiplexes received frames to the interface of
 * their VLAN; and it keeps the members' receive settings and offload configuration in line with
 * what the interfaces were asked for.
 */
import {
  NDIS_NBL_FLAGS,
  NDIS_NET_BUFFER_LIST_INFO,
  NDIS_RECEIVE_FLAGS,
  NDIS_RETURN_FLAGS,
  NDIS_SEND_FLAGS,
  allocateCloneNetBufferList,
  advanceNetBufferDataStart,
  allocateFragmentNetBufferList,
  copyOutOfNetBuffer,
  copyReceiveNetBufferListInfo,
  copySendNetBufferListInfo,
  ieee8021QValue,
  ndisAllocateMdl,
  ndisFreeMdl,
  type NetBufferList,
} from '../../../nbl/index.js';
import {
  NDIS_MAC_OPTION,
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisOidRequest,
  OID,
  encodeMacList,
  packetFilterAccepts,
  ulongBuffer,
  type MiniportDriver,
  type Ndis,
  type NdisOffload,
  type NdisStatus,
} from '../../../ndis/index.js';
import { formatMac, parseIp, parseMac } from '../../../wire/address.js';
import { buildGratuitousArp, buildUnsolicitedNeighborAdvert } from './announce.js';
import { FlowHasher, MemberTable } from './balance.js';
import { BindingRunState, type LowerBinding } from './binding.js';
import { LoadBalancingAlgorithm, MemberInactiveReason, TeamReceiveDrop, TeamingMode, VlanTagging } from './constants.js';
import { InterfaceState, STRIPPED_IN_PLACE, TAG_FRAGMENT_DELTA, TEAM_CLONE_FLAGS, TeamInterface, freeDerived, type TeamInterfaceConfig } from './interface.js';
import { intersectOffloads, sameOffload } from './offload.js';
import { OidFanOut, TEAM_PROPAGATED_SETS } from './oid.js';

/** Configuration of a team (what `New-NetLbfoTeam` and `Add-NetLbfoTeamNic` take). */
export interface TeamConfig {
  /** Team name; also the name of the default interface when `interfaces` is not given. */
  name: string;
  /** Names of the member adapters, in order of preference (the first active one is primary). */
  members: string[];
  /** A member kept out of use while another member is active (LBFO's standby adapter). */
  standby?: string;
  /** TeamingMode (default SwitchIndependent). */
  teamingMode?: number;
  /** LoadBalancingAlgorithm (default TransportPorts). */
  loadBalancingAlgorithm?: number;
  /** The team's MAC address ("02-00-5e-10-00-01"); default: the first bound member's. */
  macAddress?: string;
  /** VlanTagging of the interfaces with a VLAN id (default Auto). */
  vlanTagging?: number;
  /** Announce addresses on the new primary after a failover or failback (default true). */
  announce?: boolean;
  /** The team interfaces (default: one default interface named after the team). */
  interfaces?: TeamInterfaceConfig[];
}

/** Counters of a team. */
export class TeamCounters {
  /** Changes of primary member because the primary left (link down, paused, unbound). */
  failovers = 0;
  /** Changes of primary member back to a preferred member that returned. */
  failbacks = 0;
  /** Members that left the set in use (link down, paused, unbound): their flows moved to the others. */
  membersLost = 0;
  /** Members that joined the set in use (bound and running with link up, or back from a failure). */
  membersJoined = 0;
  /** Announcement frames sent (gratuitous ARPs and unsolicited neighbor advertisements). */
  announcements = 0;
  /** Received NBLs handed to an interface. */
  receiveNbls = 0;
  /** Received NBLs dropped, by TeamReceiveDrop reason. */
  readonly receiveDrops = new Uint32Array(TeamReceiveDrop.Count);
  /** Member requests (receive settings, propagated sets) that failed. */
  memberOidFailures = 0;
}

/** A member's state, as `Get-NetLbfoTeamMember` shows it. */
export interface TeamMemberState {
  adapter: string;
  bound: boolean;
  active: boolean;
  primary: boolean;
  /** MemberInactiveReason (0 when active). */
  reason: number;
  linkUp: boolean;
  /** Member table entries (out of MEMBER_TABLE_SIZE) that send on it. */
  share: number;
}

/** What a team needs from the driver that owns it. */
export interface TeamHost {
  readonly ndis: Ndis;
  /** The driver's miniport edge (NdisMRegisterMiniportDriver handle). */
  readonly miniportHandle: MiniportDriver;
  /** True once the driver's protocol edge is associated with its miniport edge (interfaces may start). */
  readonly registered: boolean;
  /** Keeps track of a PnP operation the driver started (so that `settled()` can wait for it). */
  track(p: Promise<unknown>): void;
  /** Records an error from an operation nobody awaits. */
  recordError(err: unknown): void;
}

/** Marks an NBL the team built itself (an announcement) in ProtocolReserved[0]. */
export const ANNOUNCEMENT = { kind: 'announcement' };

/**
 * NblFlags a clone keeps from its original: it describes the same data, so the classification
 * (IS_IPV4 ...), header-data split layout and read-only marks hold; IS_LOOPBACK_PACKET is NDIS's.
 */
const CLONE_NBL_FLAGS = ~NDIS_NBL_FLAGS.IS_LOOPBACK_PACKET;
/** NblFlags a fragment with a new header keeps: the classification and read-only marks, not the data layout. */
const FRAGMENT_NBL_FLAGS =
  NDIS_NBL_FLAGS.IS_IPV4 | NDIS_NBL_FLAGS.IS_IPV6 | NDIS_NBL_FLAGS.IS_TCP | NDIS_NBL_FLAGS.IS_UDP | NDIS_NBL_FLAGS.SEND_READ_ONLY | NDIS_NBL_FLAGS.RECV_READ_ONLY;
/** NblFlags a receive whose tag was removed keeps: the classification (the header moved, or the frame was copied). */
const STRIPPED_NBL_FLAGS = NDIS_NBL_FLAGS.IS_IPV4 | NDIS_NBL_FLAGS.IS_IPV6 | NDIS_NBL_FLAGS.IS_TCP | NDIS_NBL_FLAGS.IS_UDP;

/** Send statuses after which a send goes out again on another member. */
function retryable(s: NdisStatus): boolean {
  return s === NDIS_STATUS.MEDIA_DISCONNECTED || s === NDIS_STATUS.PAUSED || s === NDIS_STATUS.RESET_IN_PROGRESS || s === NDIS_STATUS.LOW_POWER_STATE || s === NDIS_STATUS.ADAPTER_REMOVED;
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A team of member adapters with its interfaces. */
export class Team {
  readonly host: TeamHost;
  readonly ndis: Ndis;
  readonly name: string;
  /** TeamingMode. */
  readonly mode: number;
  /** LoadBalancingAlgorithm. */
  readonly algorithm: number;
  /** VlanTagging. */
  readonly vlanTagging: number;
  /** Whether the team announces its addresses on a new primary. */
  readonly announce: boolean;
  /** Member adapter names in order of preference; `members[i]` is the binding of `memberNames[i]`. */
  readonly memberNames: string[];
  readonly members: (LowerBinding | null)[];
  /** The standby member's adapter name, or null. */
  standby: string | null;
  /** The MAC address the configuration gives the team, or null to take the first bound member's. */
  readonly configuredMac: Uint8Array | null;
  /** The team's MAC address, fixed while its interfaces exist. */
  mac: Uint8Array | null = null;
  /** The team's MTU, fixed while its interfaces exist (the smallest of the members bound when they started). */
  mtu = 1500;
  readonly interfaces: TeamInterface[] = [];
  /** The interface of each VLAN id (1-4094), or null. */
  readonly byVlan: (TeamInterface | null)[] = new Array<TeamInterface | null>(4096).fill(null);
  /** The interface with VLAN id 0. */
  defaultInterface: TeamInterface | null = null;
  /** Members in use, in order of preference, and the primary (the first). */
  readonly active: LowerBinding[] = [];
  primary: LowerBinding | null = null;
  /** Which member each flow hash goes to. */
  readonly table = new MemberTable();
  readonly hasher = new FlowHasher();
  /** Link state of the team: up while some bound member's link is up; speeds are sums over those. */
  linkUp = false;
  linkSpeed = 0;
  /** Sum of the bound members' maximum link speeds (bits/s). */
  maxLinkSpeed = 0;
  /** The intersection of the members' offload configurations. */
  offload: NdisOffload | null = null;
  /** Propagated sets (OID → buffer) replayed on members that join. */
  readonly propagatedSets = new Map<number, Uint8Array>();
  readonly counters = new TeamCounters();
  /** What happened to the team (failovers, announcements), with the time in ms. */
  readonly events: string[] = [];
  /** Set while the driver collects this team's completions of one call. */
  completing = false;
  /** Members whose send chains are being filled (reused; no allocation). */
  private readonly sendTouched: LowerBinding[] = [];
  private readonly headerScratch = new Uint8Array(18);
  private readonly activeSlots: number[] = [];
  private readonly wasActive: LowerBinding[] = [];

  constructor(host: TeamHost, config: TeamConfig) {
    this.host = host;
    this.ndis = host.ndis;
    this.name = config.name;
    this.mode = config.teamingMode ?? TeamingMode.SwitchIndependent;
    this.algorithm = config.loadBalancingAlgorithm ?? LoadBalancingAlgorithm.TransportPorts;
    this.vlanTagging = config.vlanTagging ?? VlanTagging.Auto;
    this.announce = config.announce ?? true;
    this.memberNames = [...config.members];
    this.members = this.memberNames.map(() => null);
    this.standby = config.standby ?? null;
    this.configuredMac = config.macAddress === undefined ? null : parseMac(config.macAddress);
    for (const ic of config.interfaces ?? [{ name: config.name }]) this.addInterface(ic);
  }

  private log(line: string): void {
    this.events.push(`${this.ndis.scheduler.nowMs().toFixed(3)}ms ${line}`);
  }

  /** Creates an interface object (not started). */
  addInterface(config: TeamInterfaceConfig): TeamInterface {
    const iface = new TeamInterface(this.ndis, this, config);
    for (const a of config.addresses ?? []) {
      const ip = parseIp(a);
      if (ip !== null) iface.addresses.add(ip);
    }
    this.interfaces.push(iface);
    if (iface.vlanId === 0) this.defaultInterface = iface;
    else this.byVlan[iface.vlanId] = iface;
    return iface;
  }

  /** Forgets a halted interface. */
  dropInterface(iface: TeamInterface): void {
    const i = this.interfaces.indexOf(iface);
    if (i >= 0) this.interfaces.splice(i, 1);
    if (this.defaultInterface === iface) this.defaultInterface = null;
    if (iface.vlanId !== 0 && this.byVlan[iface.vlanId] === iface) this.byVlan[iface.vlanId] = null;
  }

  /** Bound members, in order of preference. */
  boundMembers(): LowerBinding[] {
    const out: LowerBinding[] = [];
    for (const b of this.members) if (b !== null && b.state !== BindingRunState.Closing) out.push(b);
    return out;
  }

  /** True while some interface's virtual miniport exists or is being started. */
  get started(): boolean {
    return this.interfaces.some((i) => i.state !== InterfaceState.Halted);
  }

  /** True when some bound member needs the team to write VLAN tags into frames. */
  someMemberTagsInFrame(): boolean {
    if (this.vlanTagging === VlanTagging.InFrame) return true;
    if (this.vlanTagging === VlanTagging.OutOfBand) return false;
    for (const b of this.members) if (b !== null && (b.macOptions & NDIS_MAC_OPTION.VLAN_8021Q) === 0) return true;
    return false;
  }

  // =============================================================================================
  // Membership and failover
  // =============================================================================================

  /** A member's binding opened (or an adapter became a member): start the interfaces if needed. */
  attach(b: LowerBinding): void {
    const slot = this.memberNames.indexOf(b.adapterName);
    if (slot < 0) return;
    this.members[slot] = b;
    b.team = this;
    b.slot = slot;
    if (!this.started) {
      if (this.host.registered) this.startInterfaces();
    } else {
      this.updateOffload();
    }
    if (b.running) this.memberRestarted(b);
    else this.recompute(`${b.adapterName} bound`);
  }

  /** A member's binding closes (or the adapter stops being a member). */
  detach(b: LowerBinding): void {
    if (b.team !== this) return;
    this.members[b.slot] = null;
    b.team = null;
    b.slot = -1;
    b.inactiveReason = MemberInactiveReason.NotBound;
    this.recompute(`${b.adapterName} left`);
    this.updateOffload();
  }

  /** The member's binding restarted: bring its receive settings and offload configuration in line, then use it. */
  memberRestarted(b: LowerBinding): void {
    this.pushReceiveSettings(b, null);
    for (const [oid, data] of this.propagatedSets) {
      const f = new OidFanOut(null, null, { tolerant: true });
      f.issue(b, NdisOidRequest.set(oid, data.slice()));
      f.close();
    }
    this.recompute(`${b.adapterName} running`);
  }

  /**
   * Recomputes the members in use, the primary, the member table and the link state; indicates
   * NDIS_STATUS_LINK_STATE on the interfaces when the link state or speed changed, and announces
   * the interfaces' addresses on a new primary.
   */
  recompute(why: string): void {
    const prevPrimary = this.primary;
    const active = this.active;
    let standbyMember: LowerBinding | null = null;
    let linkUp = false;
    let speed = 0;
    let maxSpeed = 0;
    const started = this.started;
    const wasActive = this.wasActive;
    wasActive.length = 0;
    for (const b of active) wasActive.push(b);
    active.length = 0;
    for (const b of this.members) {
      if (b === null) continue;
      if (b.state !== BindingRunState.Closing && b.linkUp) {
        linkUp = true;
        speed += b.linkSpeed;
      }
      maxSpeed += b.maxLinkSpeed;
      if (b.state !== BindingRunState.Running) {
        b.inactiveReason = b.state === BindingRunState.Closing ? MemberInactiveReason.NotBound : MemberInactiveReason.Paused;
      } else if (!b.linkUp) {
        b.inactiveReason = MemberInactiveReason.LinkDown;
      } else if (started && b.mtu < this.mtu) {
        b.inactiveReason = MemberInactiveReason.MtuTooSmall;
      } else if (this.standby !== null && b.adapterName === this.standby) {
        standbyMember = b;
        b.inactiveReason = MemberInactiveReason.Standby;
      } else {
        b.inactiveReason = MemberInactiveReason.None;
        active.push(b);
      }
    }
    if (active.length === 0 && standbyMember !== null) {
      standbyMember.inactiveReason = MemberInactiveReason.None;
      active.push(standbyMember);
    }
    for (const b of wasActive) if (!active.includes(b)) this.counters.membersLost++;
    for (const b of active) if (!wasActive.includes(b)) this.counters.membersJoined++;
    const slots = this.activeSlots;
    slots.length = 0;
    for (const b of active) slots.push(b.slot);
    this.table.setMembers(this.memberNames.length);
    this.table.rebuild(slots);
    const primary = active[0] ?? null;
    this.primary = primary;
    if (primary !== prevPrimary) {
      const from = prevPrimary === null ? 'none' : prevPrimary.adapterName;
      const to = primary === null ? 'none' : primary.adapterName;
      if (prevPrimary !== null && primary !== null) {
        // The old primary still usable (in use, or a standby again) means a preferred member came back: a failback.
        const usable = prevPrimary.inactiveReason === MemberInactiveReason.None || prevPrimary.inactiveReason === MemberInactiveReason.Standby;
        if (prevPrimary.team === this && usable) this.counters.failbacks++;
        else this.counters.failovers++;
      }
      this.log(`primary ${from} -> ${to} (${why})`);
    }
    this.maxLinkSpeed = maxSpeed;
    if (linkUp !== this.linkUp || speed !== this.linkSpeed) {
      this.linkUp = linkUp;
      this.linkSpeed = speed;
      this.log(`link ${linkUp ? 'up' : 'down'} ${speed} bit/s (${why})`);
      for (const iface of this.interfaces) {
        const h = iface.handle;
        if (h !== null && iface.state !== InterfaceState.Initializing) this.ndis.mIndicateStatusEx(h, this.ndis.linkStateIndication(h, linkUp, speed));
      }
    }
    if (primary !== null && primary !== prevPrimary && prevPrimary !== null && this.announce) this.announceOn(primary);
  }

  /** The states of the members, in order of preference. */
  memberStates(): TeamMemberState[] {
    return this.memberNames.map((name, slot) => {
      const b = this.members[slot] ?? null;
      return {
        adapter: name,
        bound: b !== null,
        active: b !== null && b.inactiveReason === MemberInactiveReason.None,
        primary: b !== null && b === this.primary,
        reason: b === null ? MemberInactiveReason.NotBound : b.inactiveReason,
        linkUp: b !== null && b.linkUp,
        share: b === null ? 0 : this.table.share(slot),
      };
    });
  }

  // =============================================================================================
  // Interfaces: NdisIMInitializeDeviceInstanceEx / NdisIMDeInitializeDeviceInstance
  // =============================================================================================

  /** Starts the virtual miniport of every interface not started (the first member bound). */
  startInterfaces(): void {
    const bound = this.boundMembers();
    if (bound.length === 0) return;
    if (!this.started) {
      this.mac = this.configuredMac ?? bound[0]!.mac.slice();
      this.mtu = Math.min(...bound.map((b) => b.mtu));
      this.offload = intersectOffloads(bound.map((b) => b.offload));
      this.recompute('interfaces starting');
      this.log(`interfaces starting with MAC ${formatMac(this.mac)}, MTU ${this.mtu}`);
    }
    for (const iface of this.interfaces) if (iface.state === InterfaceState.Halted) void this.startInterface(iface).catch(() => undefined);
  }

  /** NdisIMInitializeDeviceInstanceEx for one interface. */
  startInterface(iface: TeamInterface): Promise<void> {
    iface.state = InterfaceState.Initializing;
    const p = this.ndis
      .imInitializeDeviceInstanceEx(this.host.miniportHandle, iface.name, iface, { configuration: iface.configuration })
      .then(
        () => {
          iface.initPromise = null;
        },
        (err: unknown) => {
          iface.initPromise = null;
          if (iface.handle === null) iface.state = InterfaceState.Halted;
          this.host.recordError(err);
          throw err;
        },
      );
    iface.initPromise = p;
    this.host.track(p);
    return p;
  }

  /** NdisIMDeInitializeDeviceInstance for every interface (the last member left, or the team is removed). */
  async stopInterfaces(): Promise<void> {
    for (const iface of [...this.interfaces]) await this.stopInterface(iface);
  }

  /** NdisIMDeInitializeDeviceInstance for one interface (after its start, if one is in progress). */
  async stopInterface(iface: TeamInterface): Promise<void> {
    if (iface.initPromise !== null) await iface.initPromise.catch(() => undefined);
    if (iface.handle !== null) await this.ndis.imDeInitializeDeviceInstance(iface.handle);
  }

  /** An interface's virtual miniport halted. */
  onInterfaceHalted(iface: TeamInterface): void {
    this.log(`${iface.name} halted`);
    if (!this.started) {
      this.mac = null;
      this.pushAllReceiveSettings();
    }
  }

  // =============================================================================================
  // Offloads and propagated settings
  // =============================================================================================

  /** Recomputes the intersection of the members' offloads; reports a change to the interfaces. */
  updateOffload(): void {
    if (!this.started) return;
    const bound = this.boundMembers();
    const next = intersectOffloads(bound.map((b) => b.offload));
    this.offload = next;
    for (const iface of this.interfaces) {
      const h = iface.handle;
      if (h === null) continue;
      const cfg = iface.offloadConfiguration();
      if (sameOffload(cfg, iface.reportedOffload) || cfg === null) continue;
      iface.reportedOffload = cfg;
      this.ndis.mIndicateStatusEx(h, {
        sourceHandle: h,
        portNumber: 0,
        statusCode: NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG,
        flags: 0,
        destinationHandle: null,
        requestId: null,
        statusBuffer: null,
        statusObject: cfg,
      });
    }
  }

  /** A set that must hold on every member (offload configuration): remembered, then issued on each bound member. */
  propagateSet(iface: TeamInterface, r: NdisOidRequest): NdisStatus {
    if (r.informationBuffer === null) return NDIS_STATUS.INVALID_LENGTH;
    const data = r.informationBuffer.slice(0, r.informationBufferLength);
    if (TEAM_PROPAGATED_SETS.has(r.oid)) this.propagatedSets.set(r.oid, data);
    const f = new OidFanOut(iface, r);
    for (const b of this.boundMembers()) f.issue(b, NdisOidRequest.set(r.oid, data.slice()));
    return f.close();
  }

  /**
   * The packet filter and multicast list a member needs: the OR of the interfaces' filters and the
   * union of their lists, promiscuous when the member's own address is not the team's (it must
   * take frames sent to the team's address; the team filters them itself).
   */
  receiveSettingsFor(b: LowerBinding): { filter: number; list: Uint8Array[] } {
    let filter = 0;
    const list: Uint8Array[] = [];
    if (b.team === this && this.mac !== null) {
      for (const iface of this.interfaces) {
        if (iface.handle === null) continue;
        filter |= iface.packetFilter;
        for (const a of iface.multicastList) if (!list.some((x) => sameMac(x, a))) list.push(a);
      }
      if (filter !== 0 && !sameMac(b.mac, this.mac)) filter |= NDIS_PACKET_TYPE.PROMISCUOUS;
      if (list.length > 32) {
        filter |= NDIS_PACKET_TYPE.ALL_MULTICAST;
        list.length = 0;
      }
    }
    return { filter, list };
  }

  /** Issues the requests that bring member `b` to its receive settings (as part of `f`, or on its own). */
  pushReceiveSettings(b: LowerBinding, f: OidFanOut | null): void {
    const own = f === null ? new OidFanOut(null, null, { tolerant: true }) : f;
    const want = b.team === this ? this.receiveSettingsFor(b) : { filter: 0, list: [] as Uint8Array[] };
    const listChanged = want.list.length !== b.appliedMulticast.length || want.list.some((a) => !b.appliedMulticast.some((x) => sameMac(x, a)));
    if (listChanged) {
      b.appliedMulticast = want.list;
      own.issue(b, NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList(want.list)));
    }
    if (want.filter !== b.appliedFilter) {
      b.appliedFilter = want.filter;
      own.issue(b, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(want.filter)));
    }
    if (f === null && own.close() !== NDIS_STATUS.PENDING && own.failures > 0) this.counters.memberOidFailures += own.failures;
  }

  /** Brings every bound member to its receive settings. */
  pushAllReceiveSettings(): void {
    for (const b of this.boundMembers()) if (b.running || b.state === BindingRunState.Paused) this.pushReceiveSettings(b, null);
  }

  /**
   * An interface's packet filter or multicast list changed: the members' settings follow. The
   * interface's request succeeds whatever the members answer (a packet filter set must not fail);
   * member failures are counted.
   */
  applyReceiveSettings(iface: TeamInterface, r: NdisOidRequest): NdisStatus {
    const f = new OidFanOut(iface, r, { tolerant: true });
    for (const b of this.boundMembers()) this.pushReceiveSettings(b, f);
    const s = f.close();
    this.counters.memberOidFailures += f.failures;
    return s;
  }

  // =============================================================================================
  // Send path
  // =============================================================================================

  /**
   * Chooses the member for one original NBL of `iface` (by flow hash; never `avoid`) and queues
   * a clone of it (or a fragment carrying the VLAN header) on that member; when no member can
   * take it, queues the original for completion with NDIS_STATUS_PAUSED (members bound but none
   * usable) or NDIS_STATUS_MEDIA_DISCONNECTED (no link), or NDIS_STATUS_RESOURCES.
   * @cost O(1); no allocation in steady state.
   */
  sendOne(iface: TeamInterface, nbl: NetBufferList, avoid: LowerBinding | null): void {
    const active = this.active;
    const n = active.length;
    let member: LowerBinding | null = null;
    if (n === 1) {
      member = active[0]!;
    } else if (n > 1) {
      member = this.members[this.table.lookup(this.hasher.hashNetBufferList(nbl, this.algorithm))] ?? null;
      if (member === null || member === avoid) {
        // The next member in use after the one the hash chose.
        const at = member === null ? 0 : active.indexOf(member) + 1;
        member = active[at % n]!;
      }
    }
    if (member === null || member === avoid) {
      nbl.status = this.linkUp ? NDIS_STATUS.PAUSED : NDIS_STATUS.MEDIA_DISCONNECTED;
      iface.counters.sendsWithoutMember++;
      iface.queueCompletion(nbl);
      return;
    }
    let d: NetBufferList | null;
    if (iface.tagsInFrame(member)) {
      d = this.tagInFrame(nbl, member, iface.vlanInfoFor(nbl));
    } else {
      d = allocateCloneNetBufferList(nbl, member.sendPool, null, TEAM_CLONE_FLAGS);
      if (d !== null) {
        copySendNetBufferListInfo(d, nbl);
        d.nblFlags = nbl.nblFlags & CLONE_NBL_FLAGS;
        if (iface.vlanId !== 0) d.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = iface.vlanInfoFor(nbl);
      }
    }
    if (d === null) {
      nbl.status = NDIS_STATUS.RESOURCES;
      iface.counters.sendsWithoutResources++;
      iface.queueCompletion(nbl);
      return;
    }
    d.protocolReserved[0] = nbl;
    d.protocolReserved[1] = iface;
    if (member.txHead === null) this.sendTouched.push(member);
    member.queueSend(d);
  }

  /**
   * A fragment of `nbl` whose NET_BUFFERs start with a new 16-byte header (the MAC addresses and
   * an 802.1Q tag built from OOB value `q`) followed by the original frame from its EtherType on.
   * Returns null when a NET_BUFFER is shorter than an Ethernet header or allocation fails.
   */
  private tagInFrame(nbl: NetBufferList, member: LowerBinding, q: number): NetBufferList | null {
    for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next) if (nb.dataLength < 14) return null;
    const d = allocateFragmentNetBufferList(nbl, member.sendPool, null, 12, 0x7fffffff, TAG_FRAGMENT_DELTA, 0);
    if (d === null) return null;
    copySendNetBufferListInfo(d, nbl);
    d.nblFlags = nbl.nblFlags & FRAGMENT_NBL_FLAGS;
    d.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = 0;
    const tci = ((q & 7) << 13) | ((q >>> 3) & 1) << 12 | ((q >>> 4) & 0xfff);
    let src = nbl.firstNetBuffer;
    for (let nb = d.firstNetBuffer; nb !== null && src !== null; nb = nb.next, src = src.next) {
      const mdl = nb.currentMdl!;
      const at = mdl.byteOffset + nb.currentMdlOffset;
      const buf = mdl.buffer;
      copyOutOfNetBuffer(src, 0, buf, at, 12);
      buf[at + 12] = 0x81;
      buf[at + 13] = 0x00;
      buf[at + 14] = tci >>> 8;
      buf[at + 15] = tci & 0xff;
    }
    return d;
  }

  /** Hands each member's queued chain to NDIS (one NdisSendNetBufferLists per member). */
  flushSends(sendFlags: number): void {
    const touched = this.sendTouched;
    const flags = sendFlags & NDIS_SEND_FLAGS.DISPATCH_LEVEL;
    while (touched.length > 0) {
      const b = touched.pop()!;
      const head = b.txHead;
      if (head === null) continue;
      b.txHead = null;
      b.txTail = null;
      this.ndis.sendNetBufferLists(b.handle, head, 0, flags);
    }
  }

  /**
   * One NBL of this team completed on member `b` (the driver's ProtocolSendNetBufferListsComplete
   * hands each over): frees the clone and queues its original for completion to the interface's
   * protocols, or sends the original again on another member when `b` failed it for want of a link
   * (or because it was pausing). `finishCompletions` then hands everything on.
   * @cost O(1); no allocation in steady state.
   */
  completeSend(b: LowerBinding, x: NetBufferList): void {
    const original = x.protocolReserved[0] as NetBufferList;
    const iface = x.protocolReserved[1] as TeamInterface;
    x.protocolReserved[0] = null;
    x.protocolReserved[1] = null;
    const status = x.status;
    // LSOv1: the miniport reports the TCP payload it sent in the clone's LSO information.
    original.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo] = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!;
    freeDerived(x, TAG_FRAGMENT_DELTA);
    const attempts = original.miniportReserved[1] as number;
    if (status !== NDIS_STATUS.SUCCESS && retryable(status) && attempts < this.memberNames.length && iface.sending && this.active.length > 0) {
      original.miniportReserved[1] = attempts + 1;
      iface.counters.resends++;
      this.sendOne(iface, original, b);
    } else {
      original.status = status;
      iface.queueCompletion(original);
    }
  }

  /** Sends what completions queued again and completes the originals to the interfaces' protocols. */
  finishCompletions(sendFlags: number): void {
    this.flushSends(sendFlags);
    const ifaces = this.interfaces;
    for (let i = 0; i < ifaces.length; i++) ifaces[i]!.flushCompletions();
  }

  // =============================================================================================
  // Receive path
  // =============================================================================================

  /**
   * ProtocolReceiveNetBufferLists of a member: each NBL goes, as a clone (or a fragment without
   * its 802.1Q header), to the interface of its VLAN when the frame is the team's to take
   * (received on the primary in switch-independent mode, not the team's own frame heard back,
   * accepted by the interface's packet filter); the rest is returned at once (unless indicated
   * with NDIS_RECEIVE_FLAGS_RESOURCES, when the member keeps it anyway).
   * @cost O(NBLs); no allocation in steady state.
   */
  receive(b: LowerBinding, chain: NetBufferList, receiveFlags: number): void {
    const resources = (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0;
    const drops = this.counters.receiveDrops;
    const mac = this.mac;
    const takes = b.running && mac !== null && (this.mode === TeamingMode.Static ? b.team === this : b === this.primary);
    const reason0 = !b.running || mac === null ? TeamReceiveDrop.NotRunning : TeamReceiveDrop.NotPrimary;
    const hdr = this.headerScratch;
    let retHead: NetBufferList | null = null;
    let retTail: NetBufferList | null = null;
    let taken = 0;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      let reason = -1;
      let iface: TeamInterface | null = null;
      let strip = false;
      let tci = 0;
      let hb: Uint8Array = hdr;
      let ho = 0;
      let want = 0;
      const nb = x.firstNetBuffer;
      if (!takes) {
        reason = reason0;
      } else if (nb === null || nb.next !== null || nb.dataLength < 14) {
        reason = TeamReceiveDrop.Malformed;
      } else {
        // The MAC header (and a tag), in place when contiguous.
        want = nb.dataLength < 18 ? nb.dataLength : 18;
        const mdl = nb.currentMdl;
        if (mdl !== null && mdl.byteCount - nb.currentMdlOffset >= want) {
          hb = mdl.buffer;
          ho = mdl.byteOffset + nb.currentMdlOffset;
        } else {
          copyOutOfNetBuffer(nb, 0, hdr, 0, want);
          hb = hdr;
          ho = 0;
        }
        if (hb[ho + 6] === mac![0] && hb[ho + 7] === mac![1] && hb[ho + 8] === mac![2] && hb[ho + 9] === mac![3] && hb[ho + 10] === mac![4] && hb[ho + 11] === mac![5]) {
          reason = TeamReceiveDrop.OwnFrame;
        } else {
          const q = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
          let vid = 0;
          if (q !== 0) {
            vid = (q >>> 4) & 0xfff;
          } else if (want >= 18 && hb[ho + 12] === 0x81 && hb[ho + 13] === 0x00) {
            tci = (hb[ho + 14]! << 8) | hb[ho + 15]!;
            vid = tci & 0xfff;
            strip = vid !== 0;
          }
          iface = vid !== 0 ? (this.byVlan[vid] ?? null) : null;
          if (iface === null) {
            iface = this.defaultInterface;
            strip = false;
          }
          if (iface === null) reason = TeamReceiveDrop.NoInterface;
          else if (!iface.receiving) reason = TeamReceiveDrop.NotRunning;
          else if (!packetFilterAccepts(iface.packetFilter, hb, ho, mac!, iface.multicastList)) reason = TeamReceiveDrop.Filtered;
        }
      }
      let copied = false;
      if (reason < 0) {
        const ifc = iface!;
        let d: NetBufferList | null;
        if (!strip) {
          d = allocateCloneNetBufferList(x, ifc.rxPool!, null, TEAM_CLONE_FLAGS);
          if (d !== null) d.miniportReserved[1] = 0;
        } else if (hb !== hdr && (x.nblFlags & NDIS_NBL_FLAGS.RECV_READ_ONLY) === 0) {
          // The tag goes in place: the MAC addresses move 4 bytes up over it, and the clone starts
          // 4 bytes later (one MDL, as the member indicated it). The frame is put back on return.
          d = allocateCloneNetBufferList(x, ifc.rxPool!, null, TEAM_CLONE_FLAGS);
          if (d !== null) {
            hb.copyWithin(ho + 4, ho, ho + 12);
            advanceNetBufferDataStart(d.firstNetBuffer!, 4, false, null);
            d.miniportReserved[1] = STRIPPED_IN_PLACE | tci;
          }
        } else {
          // Data the member marked read-only (or a header spread over MDLs): a copy of our own.
          d = ifc.copyWithoutTag(nb!);
          copied = d !== null;
        }
        if (d === null) {
          reason = TeamReceiveDrop.Resources;
        } else {
          copyReceiveNetBufferListInfo(d, x);
          d.nblFlags = x.nblFlags & (strip ? STRIPPED_NBL_FLAGS : CLONE_NBL_FLAGS);
          // The OOB tag describes a tag that is not in the frame: a frame that still starts with
          // one (802.1ad / QinQ: the inner tag after the outer came off) goes up with none.
          const t = strip ? ho + 16 : ho + 12;
          const stillTagged = t + 2 - ho <= want && ((hb[t] === 0x81 && hb[t + 1] === 0x00) || (hb[t] === 0x88 && hb[t + 1] === 0xa8));
          if (stillTagged) d.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = 0;
          else if (strip) d.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(tci >>> 13, tci & 0xfff, (tci >>> 12) & 1);
          d.sourceHandle = ifc.handle;
          d.status = NDIS_STATUS.SUCCESS;
          d.miniportReserved[0] = copied ? null : b;
          ifc.queueReceive(d);
          taken++;
        }
      }
      if (copied && !resources) {
        // The copy stands alone: the member's NBL goes back now.
        if (retTail === null) retHead = x;
        else retTail.next = x;
        retTail = x;
      }
      if (reason >= 0) {
        drops[reason]!++;
        b.counters.receiveDrops++;
        if (!resources) {
          if (retTail === null) retHead = x;
          else retTail.next = x;
          retTail = x;
        }
      }
      x = next;
    }
    this.counters.receiveNbls += taken;
    b.counters.receiveNbls += taken;
    if (taken > 0) {
      const flags = (receiveFlags & (NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL | NDIS_RECEIVE_FLAGS.RESOURCES)) | NDIS_RECEIVE_FLAGS.PERFECT_FILTERED;
      const ifaces = this.interfaces;
      for (let i = 0; i < ifaces.length; i++) ifaces[i]!.indicateReceives(flags);
    }
    if (retHead !== null) this.ndis.returnNetBufferLists(b.handle, retHead, (receiveFlags & NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
  }

  // =============================================================================================
  // Announcements
  // =============================================================================================

  /**
   * Sends, on member `b`, a gratuitous ARP for every IPv4 address and an unsolicited neighbor
   * advertisement for every IPv6 address of every running interface, tagged with the
   * interface's VLAN.
   */
  announceOn(b: LowerBinding): void {
    const mac = this.mac;
    if (mac === null || !b.running) return;
    let sent = 0;
    for (const iface of this.interfaces) {
      if (iface.handle === null || iface.addresses.count === 0) continue;
      const inFrame = iface.tagsInFrame(b);
      const tci = iface.vlanId === 0 || !inFrame ? 0 : iface.vlanId;
      const frames: Uint8Array[] = [];
      for (const a of iface.addresses.ipv4) frames.push(buildGratuitousArp(mac, a, tci));
      for (const a of iface.addresses.ipv6) frames.push(buildUnsolicitedNeighborAdvert(mac, a, tci));
      for (const f of frames) {
        const mdl = ndisAllocateMdl(f);
        const nbl = b.sendPool.allocateNetBufferAndNetBufferList(0, 0, mdl, 0, f.length);
        if (nbl === null) {
          ndisFreeMdl(mdl);
          continue;
        }
        if (iface.vlanId !== 0 && !inFrame) nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(0, iface.vlanId);
        nbl.protocolReserved[0] = ANNOUNCEMENT;
        if (b.txHead === null) this.sendTouched.push(b);
        b.queueSend(nbl);
        b.counters.announcements++;
        sent++;
      }
    }
    if (sent === 0) return;
    this.counters.announcements += sent;
    this.log(`announced ${sent} address(es) on ${b.adapterName}`);
    this.flushSends(0);
  }
}

