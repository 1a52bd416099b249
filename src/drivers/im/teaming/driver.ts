/**
 * The teaming intermediate driver: registers a miniport edge (NdisMRegisterMiniportDriver with
 * NDIS_INTERMEDIATE_DRIVER) and a protocol edge (NdisRegisterProtocolDriver), ties them together
 * (NdisIMAssociateMiniport), and holds the configuration of its teams — what the MUX sample reads
 * from the UpperBindings its notify object writes, and what Windows NIC Teaming keeps for
 * `New-NetLbfoTeam` / `Add-NetLbfoTeamNic`.
 *
 * The protocol edge binds to every Ethernet adapter whose UpperRange meets its LowerRange. When a
 * member of a team binds and the team has no interfaces yet, the driver starts the team's
 * interfaces with NdisIMInitializeDeviceInstanceEx; when the last member unbinds it stops them
 * with NdisIMDeInitializeDeviceInstance before it closes the binding.
 */
import { NdisError } from '../../../base/errors.js';
import {
  MediaConnectState,
  NDIS_MINIPORT_DRIVER_FLAGS,
  NDIS_STATUS,
  NdisMedium,
  NetEvent,
  decodeLinkState,
  type BindContext,
  type MiniportDriver,
  type MiniportDriverCharacteristics,
  type Ndis,
  type NdisOffload,
  type NdisStatus,
  type ProtocolDriver,
  type ProtocolDriverCharacteristics,
} from '../../../ndis/index.js';
import { NDIS_RECEIVE_FLAGS, NDIS_RETURN_FLAGS, ndisFreeMdl, type NetBufferList } from '../../../nbl/index.js';
import { BindingRunState, LowerBinding } from './binding.js';
import { LoadBalancingAlgorithm, MAX_VLAN_ID, TeamingMode, VlanTagging } from './constants.js';
import { TeamInterface, type TeamInterfaceConfig } from './interface.js';
import { OidFanOut, teamInterfaceOidRequest } from './oid.js';
import { ANNOUNCEMENT, Team, type TeamConfig, type TeamHost } from './team.js';
import { parseIp, parseMac } from '../../../wire/address.js';

/**
 * The UpperRange token to give team member adapters (AdapterConfig.upperRange) so that only the
 * teaming driver binds to them, as Windows unbinds the other protocols from team members.
 */
export const TEAM_MEMBER_UPPER_RANGE = 'lbfo';

/** Options of the teaming driver. */
export interface TeamingDriverOptions {
  /** Name of both edges (default 'lbfo'). */
  name?: string;
  /** INF LowerRange of the protocol edge (default ['ndis5', TEAM_MEMBER_UPPER_RANGE]). */
  lowerRange?: string[];
}

/** Largest number of members in a team (Windows NIC Teaming's limit). */
export const MAX_TEAM_MEMBERS = 32;

function invalid(message: string): NdisError {
  return new NdisError('ERR_NDIS_INVALID_PARAMETER', message, NDIS_STATUS.INVALID_PARAMETER);
}

/** The teaming intermediate driver (its DriverEntry state and configuration API). */
export class TeamingDriver implements TeamHost {
  readonly ndis: Ndis;
  readonly name: string;
  readonly lowerRange: readonly string[];
  /** NdisMRegisterMiniportDriver's handle, once registered. */
  miniport: MiniportDriver | null = null;
  /** NdisRegisterProtocolDriver's handle, once registered. */
  protocol: ProtocolDriver | null = null;
  /** True once both edges are registered and associated. */
  registered = false;
  /** Open bindings of the protocol edge, by adapter name. */
  readonly bindings = new Map<string, LowerBinding>();
  /** Teams by name. */
  readonly teams = new Map<string, Team>();
  /** Errors of PnP operations the driver started and nobody awaited (a failed interface start). */
  readonly errors: unknown[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly completingTeams: Team[] = [];

  constructor(ndis: Ndis, options: TeamingDriverOptions = {}) {
    this.ndis = ndis;
    this.name = options.name ?? 'lbfo';
    this.lowerRange = options.lowerRange ?? ['ndis5', TEAM_MEMBER_UPPER_RANGE];
  }

  /** The miniport edge's handle (throws before `register`). */
  get miniportHandle(): MiniportDriver {
    if (this.miniport === null) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `teaming driver '${this.name}' is not registered; call register() first`);
    return this.miniport;
  }

  /**
   * DriverEntry: NdisMRegisterMiniportDriver (intermediate), NdisRegisterProtocolDriver (NDIS
   * binds the protocol edge to the adapters there are), NdisIMAssociateMiniport; then the teams
   * whose members are bound start their interfaces. Resolves when they have.
   */
  async register(): Promise<void> {
    if (this.miniport !== null) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `teaming driver '${this.name}' is already registered`);
    this.miniport = this.ndis.registerMiniportDriver(this.miniportCharacteristics(), this);
    const protocol = await this.ndis.registerProtocolDriver(this.protocolCharacteristics(), this);
    this.protocol = protocol;
    this.ndis.imAssociateMiniport(this.miniport, protocol);
    this.registered = true;
    for (const team of this.teams.values()) team.startInterfaces();
    await this.settledOrThrow();
  }

  /** Keeps track of a PnP operation the driver started. */
  track(p: Promise<unknown>): void {
    const done = (): void => {
      this.pending.delete(p);
    };
    this.pending.add(p);
    p.then(done, done);
  }

  /** Records an error of an operation nobody awaits. */
  recordError(err: unknown): void {
    this.errors.push(err);
  }

  /** Resolves when every interface start or stop the driver began has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async settledOrThrow(): Promise<void> {
    const before = this.errors.length;
    await this.settled();
    if (this.errors.length > before) throw this.errors[this.errors.length - 1];
  }

  // =============================================================================================
  // Configuration
  // =============================================================================================

  /** The team named `name` (throws when there is none). */
  team(name: string): Team {
    const t = this.teams.get(name);
    if (t === undefined) throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `no team named '${name}' (teams: ${[...this.teams.keys()].join(', ') || 'none'})`);
    return t;
  }

  /** The team interface named `name` (throws when there is none). */
  teamInterface(name: string): TeamInterface {
    for (const t of this.teams.values()) for (const i of t.interfaces) if (i.name === name) return i;
    throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `no team interface named '${name}'`);
  }

  private nameTaken(name: string): boolean {
    if (this.teams.has(name)) return true;
    for (const t of this.teams.values()) if (t.interfaces.some((i) => i.name === name)) return true;
    for (const a of this.ndis.adapters) if (a.name === name) return true;
    return false;
  }

  private teamOfMember(adapter: string): Team | null {
    for (const t of this.teams.values()) if (t.memberNames.includes(adapter)) return t;
    return null;
  }

  private checkMember(team: string, adapter: string): void {
    if (typeof adapter !== 'string' || adapter === '') throw invalid(`team '${team}': a member needs an adapter name`);
    const other = this.teamOfMember(adapter);
    if (other !== null) throw invalid(`adapter '${adapter}' is already a member of team '${other.name}'; an adapter belongs to one team`);
    for (const t of this.teams.values()) {
      if (t.name === adapter || t.interfaces.some((i) => i.name === adapter)) throw invalid(`'${adapter}' is a team interface of this driver; a team's members are adapters below it`);
    }
  }

  private checkInterface(team: Team | null, config: TeamInterfaceConfig, others: TeamInterfaceConfig[]): void {
    if (typeof config.name !== 'string' || config.name === '') throw invalid('a team interface needs a name');
    if (this.nameTaken(config.name) || others.some((o) => o.name === config.name)) throw invalid(`the name '${config.name}' is already used by an adapter, a team or a team interface`);
    const vid = config.vlanId ?? 0;
    if (!Number.isInteger(vid) || vid < 0 || vid > MAX_VLAN_ID) throw invalid(`team interface '${config.name}': VLAN id ${String(vid)} is not an integer from 0 (default interface) to ${MAX_VLAN_ID}`);
    const clash = [...(team?.interfaces.map((i) => ({ name: i.name, vlanId: i.vlanId })) ?? []), ...others].find((o) => (o.vlanId ?? 0) === vid);
    if (clash !== undefined) throw invalid(`team interface '${config.name}': VLAN id ${vid} is already served by '${clash.name}' (one interface per VLAN id; 0 is the default interface)`);
    for (const a of config.addresses ?? []) if (parseIp(a) === null) throw invalid(`team interface '${config.name}': '${a}' is not an IPv4 or IPv6 address`);
  }

  private checkTeam(config: TeamConfig): void {
    if (typeof config.name !== 'string' || config.name === '') throw invalid('a team needs a name');
    if (this.nameTaken(config.name)) throw invalid(`the name '${config.name}' is already used by an adapter, a team or a team interface`);
    const members = config.members;
    if (!Array.isArray(members) || members.length === 0 || members.length > MAX_TEAM_MEMBERS) throw invalid(`team '${config.name}' needs 1 to ${MAX_TEAM_MEMBERS} member adapters`);
    if (new Set(members).size !== members.length) throw invalid(`team '${config.name}' names a member twice`);
    for (const m of members) this.checkMember(config.name, m);
    if (config.standby !== undefined) {
      if (!members.includes(config.standby)) throw invalid(`team '${config.name}': the standby adapter '${config.standby}' is not one of its members`);
      if (members.length < 2) throw invalid(`team '${config.name}': a standby adapter needs at least one other member`);
    }
    const values = (o: object): number[] => Object.values(o) as number[];
    if (config.teamingMode !== undefined && !values(TeamingMode).includes(config.teamingMode)) throw invalid(`team '${config.name}': unknown TeamingMode ${config.teamingMode}`);
    if (config.loadBalancingAlgorithm !== undefined && !values(LoadBalancingAlgorithm).includes(config.loadBalancingAlgorithm)) {
      throw invalid(`team '${config.name}': unknown LoadBalancingAlgorithm ${config.loadBalancingAlgorithm}`);
    }
    if (config.vlanTagging !== undefined && !values(VlanTagging).includes(config.vlanTagging)) throw invalid(`team '${config.name}': unknown VlanTagging ${config.vlanTagging}`);
    if (config.macAddress !== undefined) {
      const mac = parseMac(config.macAddress);
      if (mac === null || (mac[0]! & 1) !== 0) {
        throw invalid(`team '${config.name}': '${config.macAddress}' is not a unicast MAC address (write it as 02-00-5e-00-00-01)`);
      }
    }
    const interfaces = config.interfaces ?? [{ name: config.name }];
    if (interfaces.length === 0) throw invalid(`team '${config.name}' needs at least one interface`);
    const seen: TeamInterfaceConfig[] = [];
    for (const ic of interfaces) {
      this.checkInterface(null, ic, seen);
      seen.push(ic);
    }
  }

  /**
   * Creates a team (New-NetLbfoTeam). Members already bound join at once and, once the driver is
   * registered, the team's interfaces start; resolves when they have.
   */
  async createTeam(config: TeamConfig): Promise<Team> {
    this.checkTeam(config);
    const team = new Team(this, config);
    this.teams.set(team.name, team);
    for (const m of team.memberNames) {
      const b = this.bindings.get(m);
      if (b !== undefined && b.state !== BindingRunState.Closing) team.attach(b);
    }
    await this.settledOrThrow();
    return team;
  }

  /**
   * A team of one adapter whose interfaces are VLANs (the MUX sample's VELANs): one virtual
   * adapter per VLAN id over `adapter`. Resolves with the team when the interfaces run.
   */
  createVlans(adapter: string, vlans: TeamInterfaceConfig[], options: { name?: string; vlanTagging?: number } = {}): Promise<Team> {
    return this.createTeam({
      name: options.name ?? `${adapter}-vlans`,
      members: [adapter],
      interfaces: vlans,
      ...(options.vlanTagging !== undefined ? { vlanTagging: options.vlanTagging } : {}),
    });
  }

  /** Removes a team (Remove-NetLbfoTeam): stops its interfaces, gives the members back their own receive settings. */
  async removeTeam(name: string): Promise<void> {
    const team = this.team(name);
    await team.stopInterfaces();
    for (const b of team.boundMembers()) {
      team.detach(b);
      team.pushReceiveSettings(b, null);
    }
    this.teams.delete(name);
  }

  /** Adds a member to a team (Add-NetLbfoTeamMember); it joins at once when bound. */
  async addTeamMember(teamName: string, adapter: string): Promise<void> {
    const team = this.team(teamName);
    this.checkMember(teamName, adapter);
    if (team.memberNames.length >= MAX_TEAM_MEMBERS) throw invalid(`team '${teamName}' already has ${MAX_TEAM_MEMBERS} members`);
    team.memberNames.push(adapter);
    team.members.push(null);
    const b = this.bindings.get(adapter);
    if (b !== undefined && b.state !== BindingRunState.Closing) team.attach(b);
    await this.settledOrThrow();
  }

  /**
   * Removes a member from a team (Remove-NetLbfoTeamMember): the flows on it move to the other
   * members (sends in flight on it complete normally) and its receive settings are cleared. When
   * it was the last bound member, the team's interfaces stop.
   */
  async removeTeamMember(teamName: string, adapter: string): Promise<void> {
    const team = this.team(teamName);
    const slot = team.memberNames.indexOf(adapter);
    if (slot < 0) throw invalid(`adapter '${adapter}' is not a member of team '${teamName}'`);
    const b = team.members[slot] ?? null;
    if (b !== null) {
      team.detach(b);
      team.pushReceiveSettings(b, null);
    }
    team.memberNames.splice(slot, 1);
    team.members.splice(slot, 1);
    if (team.standby === adapter) team.standby = null;
    team.members.forEach((m, i) => {
      if (m !== null) m.slot = i;
    });
    // Slots moved: deal the member table afresh.
    team.table.reset();
    team.recompute(`${adapter} removed from the team`);
    if (team.boundMembers().length === 0) await team.stopInterfaces();
    await this.settledOrThrow();
  }

  /** Adds an interface to a team (Add-NetLbfoTeamNic); it starts at once when the team's interfaces run. */
  async addTeamInterface(teamName: string, config: TeamInterfaceConfig): Promise<TeamInterface> {
    const team = this.team(teamName);
    this.checkInterface(team, config, []);
    const iface = team.addInterface(config);
    if (team.started && this.registered) await team.startInterface(iface);
    return iface;
  }

  /** Removes a team interface (Remove-NetLbfoTeamNic): NdisIMDeInitializeDeviceInstance. */
  async removeTeamInterface(name: string): Promise<void> {
    const iface = this.teamInterface(name);
    await iface.team.stopInterface(iface);
    iface.team.dropInterface(iface);
    iface.team.pushAllReceiveSettings();
  }

  // =============================================================================================
  // Protocol edge
  // =============================================================================================

  /** NDIS_PROTOCOL_DRIVER_CHARACTERISTICS of the protocol edge. */
  protocolCharacteristics(): ProtocolDriverCharacteristics {
    const self = this;
    const ndis = this.ndis;
    const chars: ProtocolDriverCharacteristics<LowerBinding> = {
      name: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      lowerRange: [...this.lowerRange],
      setOptions(handle) {
        // ProtocolSetOptions runs inside NdisRegisterProtocolDriver, before any bind: the handle
        // the binds need is known from here on.
        self.protocol = handle;
        return NDIS_STATUS.SUCCESS;
      },
      bindAdapterEx(_driverContext, bindContext, params) {
        if (params.mediaType !== NdisMedium.NdisMedium802_3) return NDIS_STATUS.UNSUPPORTED_MEDIA;
        const b = new LowerBinding(ndis, params);
        const r = ndis.openAdapterEx(self.protocol!, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
        if (r.status !== NDIS_STATUS.SUCCESS || r.bindingHandle === null) return r.status;
        b.opened(r.bindingHandle);
        self.bindings.set(b.adapterName, b);
        self.teamOfMember(b.adapterName)?.attach(b);
        return NDIS_STATUS.SUCCESS;
      },
      unbindAdapterEx(unbindContext, b) {
        return self.unbind(unbindContext, b);
      },
      openAdapterCompleteEx: () => undefined,
      closeAdapterCompleteEx: () => undefined,
      netPnPEvent(b, n) {
        if (b === null) return NDIS_STATUS.SUCCESS;
        switch (n.netEvent) {
          case NetEvent.Pause:
            b.state = BindingRunState.Pausing;
            b.team?.recompute(`${b.adapterName} pausing`);
            if (b.outstandingSends === 0) {
              b.state = BindingRunState.Paused;
              return NDIS_STATUS.SUCCESS;
            }
            b.pauseNotification = n;
            return NDIS_STATUS.PENDING;
          case NetEvent.Restart:
            // Sending (announcements, flows moved back) waits until the restart is done.
            b.state = BindingRunState.Restarting;
            self.track(new Promise<void>((resolve) => (b.restarted = resolve)));
            ndis.queueDpc(b.restartDpc);
            return NDIS_STATUS.SUCCESS;
          default:
            return NDIS_STATUS.SUCCESS;
        }
      },
      oidRequestComplete(_b, request, status) {
        const f = request.sourceReserved[0];
        if (f instanceof OidFanOut) f.completed(request, status);
      },
      statusEx(b, indication) {
        if (indication.statusCode === NDIS_STATUS.LINK_STATE && indication.statusBuffer !== null) {
          const ls = decodeLinkState(indication.statusBuffer);
          if (ls === null) return;
          const up = ls.mediaConnectState === MediaConnectState.Connected;
          const changed = up !== b.linkUp || ls.xmitLinkSpeed !== b.linkSpeed;
          b.linkUp = up;
          b.linkSpeed = ls.xmitLinkSpeed;
          if (changed) b.team?.recompute(`${b.adapterName} link ${up ? 'up' : 'down'}`);
        } else if (indication.statusCode === NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG && indication.statusObject !== undefined) {
          b.offload = indication.statusObject as NdisOffload;
          b.team?.updateOffload();
        }
      },
      receiveNetBufferLists(b, chain, _port, count, flags) {
        const team = b.team;
        if (team !== null) {
          team.receive(b, chain, flags);
          return;
        }
        // Not a member: nothing of ours wants it (NDIS indicates only what the packet filter let through).
        b.counters.receiveDrops += count;
        if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) ndis.returnNetBufferLists(b.handle, chain, (flags & NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
      },
      sendNetBufferListsComplete(b, chain, flags) {
        self.sendComplete(b, chain, flags);
      },
    };
    return chars as ProtocolDriverCharacteristics;
  }

  /**
   * ProtocolSendNetBufferListsComplete: each NBL goes to the team whose interface sent it (or is
   * an announcement, freed here); then each team hands on what it has to.
   * @cost O(NBLs); no allocation in steady state.
   */
  private sendComplete(b: LowerBinding, chain: NetBufferList, flags: number): void {
    const touched = this.completingTeams;
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      b.outstandingSends--;
      if (x.status === NDIS_STATUS.SUCCESS) b.counters.sendCompletes++;
      else b.counters.sendFailures++;
      if (x.protocolReserved[0] === ANNOUNCEMENT) {
        x.protocolReserved[0] = null;
        const mdl = x.firstNetBuffer!.mdlChain!;
        b.sendPool.freeNetBufferList(x);
        ndisFreeMdl(mdl);
      } else {
        const team = (x.protocolReserved[1] as TeamInterface).team;
        if (!team.completing) {
          team.completing = true;
          touched.push(team);
        }
        team.completeSend(b, x);
      }
      x = next;
    }
    while (touched.length > 0) {
      const t = touched.pop()!;
      t.completing = false;
      t.finishCompletions(flags);
    }
    b.checkPauseDone();
  }

  /**
   * ProtocolUnbindAdapterEx: the member leaves its team; when it was the team's last, the team's
   * interfaces stop first (NdisIMDeInitializeDeviceInstance) and the unbind pends until they have.
   * Then NdisCloseAdapterEx.
   */
  private unbind(unbindContext: object, b: LowerBinding): NdisStatus {
    const ndis = this.ndis;
    b.state = BindingRunState.Closing;
    const team = b.team;
    if (team !== null) team.detach(b);
    const close = (): void => {
      b.release();
      if (this.bindings.get(b.adapterName) === b) this.bindings.delete(b.adapterName);
      ndis.closeAdapterEx(b.handle);
    };
    if (team !== null && team.boundMembers().length === 0 && team.started) {
      const p = team.stopInterfaces().then(
        () => {
          close();
          ndis.completeUnbindAdapterEx(unbindContext);
        },
        (err: unknown) => {
          this.recordError(err);
          close();
          ndis.completeUnbindAdapterEx(unbindContext);
        },
      );
      this.track(p);
      return NDIS_STATUS.PENDING;
    }
    close();
    return NDIS_STATUS.SUCCESS;
  }

  // =============================================================================================
  // Miniport edge
  // =============================================================================================

  /** NDIS_MINIPORT_DRIVER_CHARACTERISTICS of the miniport edge (NDIS_INTERMEDIATE_DRIVER). */
  miniportCharacteristics(): MiniportDriverCharacteristics {
    const ndis = this.ndis;
    const chars: MiniportDriverCharacteristics<TeamInterface> = {
      name: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      majorDriverVersion: 1,
      minorDriverVersion: 0,
      flags: NDIS_MINIPORT_DRIVER_FLAGS.NDIS_INTERMEDIATE_DRIVER,
      initializeEx(handle, _driverContext, params) {
        const iface = params.imDeviceInstanceContext;
        if (!(iface instanceof TeamInterface)) return NDIS_STATUS.FAILURE;
        return iface.initialize(handle);
      },
      haltEx: (iface) => iface.halt(),
      pause: (iface) => iface.pause(),
      restart: (iface) => iface.restart(),
      oidRequest: (iface, request) => teamInterfaceOidRequest(iface, request),
      sendNetBufferLists: (iface, nbl, _port, flags) => iface.sendNetBufferLists(nbl, flags),
      returnNetBufferLists: (iface, nbl, flags) => iface.returnNetBufferLists(nbl, flags),
      cancelSend(iface, cancelId) {
        for (const b of iface.team.boundMembers()) ndis.cancelSendNetBufferLists(b.handle, cancelId);
      },
      devicePnPEventNotify: () => undefined,
      shutdownEx: () => undefined,
      cancelOidRequest(iface, requestId) {
        for (const b of iface.team.boundMembers()) ndis.cancelOidRequest(b.handle, requestId);
      },
    };
    return chars as MiniportDriverCharacteristics;
  }
}
