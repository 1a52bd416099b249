/**
 * `TcpIp`: the TCP/IP protocol driver, registered with NdisRegisterProtocolDriver and bound to
 * every Ethernet adapter as tcpip.sys is, one IP interface per binding. It implements the
 * protocol's handlers (ProtocolBindAdapterEx, ProtocolUnbindAdapterEx, ProtocolNetPnPEvent with
 * pause and restart, ProtocolStatusEx for link state and task-offload changes,
 * ProtocolReceiveNetBufferLists, ProtocolSendNetBufferListsComplete, ProtocolOidRequestComplete)
 * and offers what users of a host stack get: interface configuration (what netsh and the IP Helper
 * set), ping, TCP and UDP sockets, the route and neighbor tables, statistics, and a few services.
 *
 *   users:   tcpip.tcp.connect / createServer (TcpSocket, TcpServer)   tcpip.udp.bind (UdpSocket)
 *            tcpip.ping   tcpip.routes   tcpip.neighbors   tcpip.statistics()   tcpip.serve()
 *   TCP engine (./tcp) <-- TcpHost (tcp-host.ts)
 *   IP layer (ip.ts): IPv4 / IPv6, ICMP (icmp.ts), ARP (arp.ts), ND (ndp.ts), UDP (udp.ts),
 *            reassembly, routes and paths (route.ts), neighbor caches (neighbor.ts)
 *   interfaces (interface.ts): one per NDIS binding; pools, offloads, addresses, send queue
 *   NDIS: NdisOpenAdapterEx, NdisSendNetBufferLists, NdisReturnNetBufferLists, NdisOidRequest
 */
import {
  Dpc,
  MediaConnectState,
  NDIS_STATUS,
  NdisError,
  NdisMedium,
  NetEvent,
  TICKS_PER_MS,
  decodeLinkState,
  type BindContext,
  type Ndis,
  type NdisOffload,
  type NdisTimerObject,
  type ProtocolDriver,
  type ProtocolDriverCharacteristics,
  type ProtocolRestartParameters,
} from '../../../ndis/index.js';
import type { NetBufferList, NetBufferListPool } from '../../../nbl/index.js';
import { formatIp, formatMac, isIpv4Mapped, parseMac } from '../../../wire/address.js';
import { TcpEngine } from './tcp/engine.js';
import type { TcpEngineOptions } from './tcp/config.js';
import type { TcpSocket} from './tcp/socket.js';
import { TcpServer, createConnection, type TcpServerOptions, type TcpSocketConnectOptions, type TcpSocketOptions } from './tcp/socket.js';
import { describeTcpDrop } from './tcp/config.js';
import {
  V4_MAPPED_BITS,
  linkLocalFromMac,
  maskPrefix,
  parseAddressOption,
  parsePrefix,
  prefixMatches,
  sameAddress,
  type IpPrefix,
} from './addresses.js';
import { ArpLayer } from './arp.js';
import { IcmpLayer, type PingOptions } from './icmp.js';
import { AddressState, InterfaceState, IpAddressEntry, IpInterface, OID_KIND_OFFLOAD_ENCAPSULATION, type InterfaceInfo } from './interface.js';
import { IpLayer } from './ip.js';
import { NdpLayer } from './ndp.js';
import type { NeighborTimings } from './neighbor.js';
import { Reassembler, type ReassemblyEntry } from './reassembly.js';
import { PathTable, Route, RouteTable, type RouteInfo } from './route.js';
import {
  IcmpCounters,
  IpCounters,
  IpDropReason,
  NeighborCounters,
  UdpCounters,
  describeIpDrop,
  nonZero,
  plainCounters,
  wireTable,
} from './statistics.js';
import { StackTcpHost } from './tcp-host.js';
import { TimerHeap, type HeapTimer, type StackTimer } from './timers.js';
import { UdpLayer } from './udp.js';
import { serveService, type Service, type ServiceName, type ServiceOptions } from './services.js';

/** What `configure` sets on an interface (what netsh / SetUnicastIpAddressEntry would). */
export interface InterfaceConfig {
  /** IPv4 addresses with prefix length, e.g. `['10.0.0.1/24']`. */
  ipv4?: string[];
  /** IPv6 addresses with prefix length, e.g. `['fd00::1/64']`. */
  ipv6?: string[];
  /** IPv4 default gateway. */
  gateway4?: string;
  /** IPv6 default gateway. */
  gateway6?: string;
  /** Stateless address autoconfiguration from router advertisements (RFC 4862); default false. */
  slaac?: boolean;
  /** MTU to use (at most the adapter's). */
  mtu?: number;
  /** Form an IPv6 link-local address from the MAC (default true). */
  linkLocal?: boolean;
}

/** An interface configuration with its text parsed. */
export interface ParsedInterfaceConfig {
  v4: IpPrefix[];
  v6: IpPrefix[];
  gateway4: Uint8Array | null;
  gateway6: Uint8Array | null;
  slaac: boolean;
  mtu: number | null;
  linkLocal: boolean;
}

/** Options of the TCP/IP protocol driver (its registry parameters). */
export interface TcpIpOptions {
  /** Protocol driver name (default 'tcpip'); several stacks in one runtime (several hosts) need distinct names. */
  name?: string;
  /**
   * Bind only to these adapters (the other bindings are declined, as when a binding is disabled in
   * the adapter's properties); default: every Ethernet adapter. Lets several stacks in one runtime
   * act as separate hosts.
   */
  adapters?: string[];
  /** INF LowerRange of the protocol (default ['ndis5']). */
  lowerRange?: string[];
  /** Forward packets between interfaces (IPEnableRouter; default false). */
  forwarding?: boolean;
  /** TTL / hop limit of packets the stack sends (DefaultTTL; default 128, as Windows). */
  defaultTtl?: number;
  /** Settings of the TCP engine. */
  tcp?: TcpEngineOptions;
  /** Duplicate address detection probes per IPv6 address (DupAddrDetectTransmits, RFC 4862; default 1; 0 skips DAD). */
  dadTransmits?: number;
  /** Address resolution constants (RFC 4861 10). */
  neighbor?: Partial<NeighborTimings>;
  /** Reassembly time limit, ms (default 60000). */
  reassemblyTimeoutMs?: number;
  /** Datagrams in reassembly at once, each up to 64 KiB (default 64). */
  maxReassemblies?: number;
  /** ICMP error messages per second (token bucket; default 100, burst 50). */
  icmpErrorsPerSecond?: number;
  icmpErrorBurst?: number;
  /** Ask miniports for checksum offload when they advertise it (default true). */
  checksumOffload?: boolean;
  /** Ask miniports for large send offload (LSOv2) when they advertise it (default true). */
  largeSendOffload?: boolean;
  /** How long awaited reads (UDP receive, ready) wait by default, ms of stack time (default 60000). */
  readTimeoutMs?: number;
}

/** The stack's counters, by protocol. */
export class StackCounters {
  readonly ipv4 = new IpCounters();
  readonly ipv6 = new IpCounters();
  readonly icmpv4 = new IcmpCounters();
  readonly icmpv6 = new IcmpCounters();
  readonly udp = new UdpCounters();
  readonly neighbor = new NeighborCounters();
  /** Path MTU reductions learnt from ICMP. */
  pmtuUpdates = 0;
}

/** `tcpip.tcp`: the TCP engine and Node-style sockets over it. */
export class TcpApi {
  readonly engine: TcpEngine;
  constructor(engine: TcpEngine) {
    this.engine = engine;
  }

  /** Opens a connection (net.connect): `connect(port, host[, listener])` or `connect(options[, listener])`. */
  connect(port: number, host?: string, listener?: () => void): TcpSocket;
  connect(options: TcpSocketConnectOptions & TcpSocketOptions, listener?: () => void): TcpSocket;
  connect(a: number | (TcpSocketConnectOptions & TcpSocketOptions), b?: string | (() => void), c?: () => void): TcpSocket {
    if (typeof a === 'number') {
      const host = typeof b === 'string' ? b : undefined;
      const listener = typeof b === 'function' ? b : c;
      return createConnection(this.engine, { port: a, ...(host !== undefined ? { host } : {}) }, listener);
    }
    return createConnection(this.engine, a, typeof b === 'function' ? b : undefined);
  }

  /** Creates a server (net.createServer). */
  createServer(options?: TcpServerOptions | ((socket: TcpSocket) => void), listener?: (socket: TcpSocket) => void): TcpServer {
    if (typeof options === 'function') return new TcpServer(this.engine, {}, options);
    return new TcpServer(this.engine, options ?? {}, listener);
  }
}

/** A route to add: destination prefix, gateway, interface, metric. */
export interface RouteSpec {
  /** `10.1.0.0/16`, `0.0.0.0/0`, `fd01::/64`, `::/0`. */
  destination: string;
  /** Next hop; omitted for an on-link prefix. */
  gateway?: string;
  /** Adapter name; omitted: the interface on whose subnet the gateway is. */
  interface?: string;
  /** Metric (default 256). */
  metric?: number;
}

/** `tcpip.routes`: the route table (route print / route add / route delete). */
export class RoutesApi {
  constructor(private readonly stack: TcpIp) {}

  /** Every route. */
  list(): RouteInfo[] {
    return this.stack.routeTable.list().map(routeInfo);
  }

  /** Adds a route; throws an NdisError when the interface cannot be found or the text is bad. */
  add(spec: RouteSpec): RouteInfo {
    const stack = this.stack;
    const dst = parsePrefix(spec.destination, null);
    const gw = spec.gateway === undefined ? null : parseAddressOption(spec.gateway, 'routes.add gateway');
    if (gw !== null && isIpv4Mapped(gw) !== dst.v4) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `routes.add: gateway ${spec.gateway} is not of the destination's family`);
    let iface: IpInterface | null = null;
    if (spec.interface !== undefined) iface = stack.interface(spec.interface);
    else if (gw !== null) {
      for (const i of stack.interfaces.values()) {
        if (i.addresses.some((a) => a.v4 === dst.v4 && prefixMatches(a.address, gw, a.prefixLength))) iface = i;
      }
    }
    if (iface === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `routes.add: no interface for ${spec.destination}; give 'interface' or a gateway on a configured subnet`);
    const r = new Route(dst.address, dst.prefixLength, iface, gw, spec.metric ?? 256, 'static');
    stack.routeTable.add(r);
    return routeInfo(r);
  }

  /** Removes the routes to `destination` (on `adapter` only, when given); returns how many. */
  remove(destination: string, adapter?: string): number {
    const dst = parsePrefix(destination, null);
    const net = new Uint8Array(16);
    maskPrefix(net, dst.address, dst.prefixLength);
    return this.stack.routeTable.removeWhere((r) => r.prefixLength === dst.prefixLength && sameAddress(r.destination, net) && (adapter === undefined || r.iface.name === adapter));
  }

  /** The route the stack would use for `address`, or null. */
  lookup(address: string): RouteInfo | null {
    const a = parseAddressOption(address, 'routes.lookup');
    const r = this.stack.routeTable.lookup(a);
    return r === null ? null : routeInfo(r);
  }
}

function routeInfo(r: Route): RouteInfo {
  return { destination: r.prefixText, gateway: r.gateway === null ? null : formatIp(r.gateway), interface: r.iface.name, metric: r.metric, origin: r.origin };
}

/** A neighbor as listings show it. */
export interface NeighborInfo {
  interface: string;
  address: string;
  mac: string | null;
  state: string;
  router: boolean;
  queued: number;
}

/** `tcpip.neighbors`: the ARP and ND caches (arp -a, netsh interface ip show neighbors). */
export class NeighborsApi {
  constructor(private readonly stack: TcpIp) {}

  /** Every entry (of one adapter when named). */
  list(adapter?: string): NeighborInfo[] {
    const out: NeighborInfo[] = [];
    for (const i of this.stack.interfaces.values()) {
      if (adapter !== undefined && i.name !== adapter) continue;
      for (const e of i.neighbors.describe()) out.push({ interface: i.name, ...e });
    }
    return out;
  }

  /** Adds a permanent entry (arp -s). */
  add(adapter: string, address: string, mac: string): void {
    const a = parseAddressOption(address, 'neighbors.add');
    const m = parseMac(mac);
    if (m === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `neighbors.add: '${mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    this.stack.interface(adapter).neighbors.addPermanent(a, m);
  }

  /** Forgets every non-permanent entry (arp -d *). */
  flush(adapter?: string): void {
    for (const i of this.stack.interfaces.values()) if (adapter === undefined || i.name === adapter) i.neighbors.flush(true);
  }
}

/** Counters of one protocol and its drops by reason (wire reasons for IP, ICMP, UDP and ARP; the engine's for TCP). */
export interface ProtocolStatistics {
  counters: Record<string, number>;
  drops: Record<string, number>;
}

/** What `statistics()` returns. */
export interface TcpIpStatistics {
  interfaces: (InterfaceInfo & { counters: Record<string, number>; drops: Record<string, number>; pools: Record<string, { outstanding: number; capacity: number; failedAllocations: number }> })[];
  ipv4: ProtocolStatistics;
  ipv6: ProtocolStatistics;
  icmpv4: ProtocolStatistics;
  icmpv6: ProtocolStatistics;
  udp: ProtocolStatistics;
  neighbor: ProtocolStatistics;
  tcp: ProtocolStatistics;
  reassembly: { active: number };
  pmtuUpdates: number;
  internalErrors: number;
}

/** The default for `neighbor` timings (RFC 4861 10). */
const DEFAULT_TIMINGS: NeighborTimings = {
  reachableTimeMs: 30_000,
  retransTimerMs: 1000,
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 3,
  delayFirstProbeMs: 5000,
  unreachableHoldMs: 20_000,
  queueLength: 64,
  maxEntries: 1024,
};

/** The TCP/IP protocol driver. */
export class TcpIp {
  readonly ndis: Ndis;
  readonly name: string;
  /** NdisProtocolHandle once registered. */
  handle: ProtocolDriver | null;
  /** IP interfaces by adapter name (one per binding). */
  readonly interfaces: Map<string, IpInterface>;
  private readonly configs: Map<string, ParsedInterfaceConfig>;
  readonly routeTable: RouteTable;
  readonly paths: PathTable;
  readonly timers: TimerHeap;
  readonly counters: StackCounters;
  readonly neighborTimings: NeighborTimings;
  readonly dadTransmits: number;
  readonly defaultTtl: number;
  readonly useOffload: boolean;
  readonly useLso: boolean;
  readonly readTimeoutMs: number;
  private forwardingEnabled: boolean;
  readonly ip: IpLayer;
  readonly arp: ArpLayer;
  readonly ndp: NdpLayer;
  readonly icmp: IcmpLayer;
  readonly udp: UdpLayer;
  readonly reassembler: Reassembler;
  readonly tcp: TcpApi;
  readonly routes: RoutesApi;
  readonly neighbors: NeighborsApi;
  /** Exceptions caught on a data path (a bug if ever non-zero); the last one is kept. */
  internalErrors: number;
  lastInternalError: unknown;
  private timerObject: NdisTimerObject | null;
  private armedAt: number;
  private batchDepth: number;
  private readonly pendingTx: IpInterface[];
  private readonly flushDpc: Dpc;
  private readonly readyWaiters: { name: string; resolve: (i: IpInterface) => void }[];
  private readonly services: Service[];
  private readonly adapterFilter: readonly string[] | null;
  private readonly lowerRange: readonly string[];

  constructor(ndis: Ndis, options: TcpIpOptions = {}) {
    this.ndis = ndis;
    this.name = options.name ?? 'tcpip';
    this.handle = null;
    this.interfaces = new Map();
    this.configs = new Map();
    this.routeTable = new RouteTable();
    this.paths = new PathTable(this.routeTable, () => this.interfaces.values());
    this.timers = new TimerHeap();
    this.counters = new StackCounters();
    this.neighborTimings = { ...DEFAULT_TIMINGS, ...options.neighbor };
    this.dadTransmits = options.dadTransmits ?? 1;
    this.defaultTtl = options.defaultTtl ?? 128;
    this.useOffload = options.checksumOffload ?? true;
    this.useLso = options.largeSendOffload ?? true;
    this.readTimeoutMs = options.readTimeoutMs ?? 60_000;
    this.forwardingEnabled = options.forwarding ?? false;
    if (!Number.isInteger(this.defaultTtl) || this.defaultTtl < 1 || this.defaultTtl > 255) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `defaultTtl must be 1 to 255; got ${this.defaultTtl}`);
    this.ip = new IpLayer(this);
    this.arp = new ArpLayer(this);
    this.ndp = new NdpLayer(this);
    this.icmp = new IcmpLayer(this, options.icmpErrorsPerSecond ?? 100, options.icmpErrorBurst ?? 50);
    this.udp = new UdpLayer(this);
    this.reassembler = new Reassembler(
      {
        now: () => this.now(),
        setTimer: (t: StackTimer, at: number) => this.setTimer(t, at),
        cancelTimer: (t: StackTimer) => this.timers.remove(t),
        reassemblyTimedOut: (e: ReassemblyEntry) => this.reassemblyTimedOut(e),
      },
      options.maxReassemblies ?? 64,
      options.reassemblyTimeoutMs ?? 60_000,
    );
    this.tcp = new TcpApi(new TcpEngine(new StackTcpHost(this), options.tcp ?? {}));
    this.routes = new RoutesApi(this);
    this.neighbors = new NeighborsApi(this);
    this.internalErrors = 0;
    this.lastInternalError = null;
    this.timerObject = null;
    this.armedAt = Infinity;
    this.batchDepth = 0;
    this.pendingTx = [];
    this.flushDpc = new Dpc((_d, ctx) => (ctx as TcpIp).flushFromDpc(), this, 'tcpip:send');
    this.readyWaiters = [];
    this.services = [];
    this.adapterFilter = options.adapters ?? null;
    this.lowerRange = options.lowerRange ?? ['ndis5'];
  }

  // =============================================================================================
  // Registration and the protocol handlers
  // =============================================================================================

  /** NdisRegisterProtocolDriver: NDIS binds the stack to every Ethernet adapter. */
  async register(): Promise<ProtocolDriver> {
    if (this.handle !== null) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `${this.name} is already registered`);
    this.handle = await this.ndis.registerProtocolDriver(this.characteristics(), this);
    return this.handle;
  }

  /** NdisDeregisterProtocolDriver: unbinds from every adapter (sockets stay open but have no path). */
  async deregister(): Promise<void> {
    for (const s of this.services.splice(0)) await s.close();
    if (this.handle !== null) await this.ndis.deregisterProtocolDriver(this.handle);
  }

  private ensureTimer(): NdisTimerObject {
    if (this.timerObject === null) {
      this.timerObject = this.ndis.allocateTimerObject(this.handle ?? this, (_s1, ctx) => (ctx as TcpIp).timerDue(), this, 'tcpip');
    }
    return this.timerObject;
  }

  /** NDIS_PROTOCOL_DRIVER_CHARACTERISTICS of the stack. */
  characteristics(): ProtocolDriverCharacteristics {
    const self = this;
    const ndis = this.ndis;
    const chars: ProtocolDriverCharacteristics<IpInterface> = {
      name: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      lowerRange: [...this.lowerRange],
      bindAdapterEx(_ctx, bindContext, params) {
        if (params.mediaType !== NdisMedium.NdisMedium802_3) return NDIS_STATUS.UNSUPPORTED_MEDIA;
        if (self.adapterFilter !== null && !self.adapterFilter.includes(params.adapterName)) return NDIS_STATUS.NOT_SUPPORTED;
        if (self.interfaces.has(params.adapterName)) return NDIS_STATUS.FAILURE;
        // During NdisRegisterProtocolDriver the handle is known only from the bind context.
        const protocol = (bindContext as BindContext).protocol;
        self.handle ??= protocol;
        const iface = new IpInterface(self, params.adapterName, params.boundIfIndex, params.currentMacAddress, params.mtuSize);
        iface.linkUp = params.mediaConnectState !== MediaConnectState.Disconnected;
        iface.lookahead = params.lookaheadSize;
        const r = ndis.openAdapterEx(protocol, iface, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
        if (r.status !== NDIS_STATUS.SUCCESS || r.bindingHandle === null) return r.status;
        iface.handle = r.bindingHandle;
        iface.allocatePools();
        iface.offload = params.defaultOffloadConfiguration;
        iface.state = InterfaceState.Paused;
        self.interfaces.set(iface.name, iface);
        return NDIS_STATUS.SUCCESS;
      },
      unbindAdapterEx(_unbindContext, iface) {
        const h = iface.handle!;
        self.interfaceGone(iface);
        iface.handle = null;
        return ndis.closeAdapterEx(h);
      },
      openAdapterCompleteEx: () => undefined,
      closeAdapterCompleteEx: () => undefined,
      netPnPEvent(iface, n) {
        if (iface === null) return NDIS_STATUS.SUCCESS;
        switch (n.netEvent) {
          case NetEvent.Pause:
            iface.state = InterfaceState.Pausing;
            iface.dropPending(IpDropReason.NotRunning);
            if (iface.outstandingSends > 0) {
              iface.pauseNotification = n;
              return NDIS_STATUS.PENDING;
            }
            iface.state = InterfaceState.Paused;
            return NDIS_STATUS.SUCCESS;
          case NetEvent.Restart:
            self.restart(iface, n.buffer as ProtocolRestartParameters | null);
            return NDIS_STATUS.SUCCESS;
          default:
            return NDIS_STATUS.SUCCESS;
        }
      },
      uninstall() {
        self.uninstalled();
      },
      oidRequestComplete(iface, request, status) {
        iface.oidFinished(request, status);
      },
      statusEx(iface, indication) {
        if (indication.statusCode === NDIS_STATUS.LINK_STATE && indication.statusBuffer !== null) {
          const ls = decodeLinkState(indication.statusBuffer);
          if (ls !== null) self.linkChanged(iface, ls.mediaConnectState !== MediaConnectState.Disconnected);
        } else if (indication.statusCode === NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG && indication.statusObject !== undefined) {
          const o = indication.statusObject as NdisOffload;
          if (!iface.offloadEnabled && iface.offersOffload(o)) {
            iface.offload = o;
            self.enableOffload(iface);
          } else iface.applyOffload(o);
        }
      },
      receiveNetBufferLists(iface, chain, _port, _count, flags) {
        self.ip.receive(iface, chain, flags);
      },
      sendNetBufferListsComplete(iface, chain) {
        self.sendComplete(iface, chain);
      },
    };
    return chars as ProtocolDriverCharacteristics;
  }

  /** NetEventRestart: the binding runs; the first time, the interface starts with its configuration. */
  private restart(iface: IpInterface, params: ProtocolRestartParameters | null): void {
    const first = !iface.filterSet;
    iface.holdTx = true;
    const attrs = params?.restartAttributes;
    if (attrs !== undefined && attrs !== null && attrs.mtuSize > 0 && attrs.mtuSize < iface.linkMtu) {
      iface.linkMtu = attrs.mtuSize;
      if (iface.mtu > attrs.mtuSize) iface.mtu = attrs.mtuSize;
    }
    iface.state = InterfaceState.Running;
    iface.updateReceiveFilter();
    if (first) {
      if (iface.offersOffload(iface.offload)) this.enableOffload(iface);
      this.applyConfig(iface);
    }
    this.routeTable.generation++;
    this.checkReady();
    iface.holdTx = false;
    if (iface.txHead !== null) this.ndis.queueDpc(this.flushDpc);
  }

  /** Sets OID_OFFLOAD_ENCAPSULATION (Ethernet); offloads are used once it succeeds. */
  private enableOffload(iface: IpInterface): void {
    if (iface.handle === null || !this.useOffload) return;
    iface.queueOid(OID_KIND_OFFLOAD_ENCAPSULATION);
  }

  /** ProtocolSendNetBufferListsComplete: the NBLs go back to their pools; a pending pause may complete. */
  private sendComplete(iface: IpInterface, chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    let n = 0;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      if (x.status !== NDIS_STATUS.SUCCESS) {
        iface.counters.sendErrors++;
        iface.drops[IpDropReason.SendFailed]!++;
      }
      x.next = null;
      (x.ndisPoolHandle as NetBufferListPool).freeNetBufferList(x);
      n++;
      x = next;
    }
    iface.outstandingSends -= n;
    if (iface.state === InterfaceState.Pausing && iface.outstandingSends === 0 && iface.pauseNotification !== null) {
      const note = iface.pauseNotification;
      iface.pauseNotification = null;
      iface.state = InterfaceState.Paused;
      this.ndis.completeNetPnPEvent(iface.handle!, note, NDIS_STATUS.SUCCESS);
    }
  }

  /** The binding goes away (ProtocolUnbindAdapterEx): routes, neighbors and timers of the interface are dropped and its pools freed. */
  private interfaceGone(iface: IpInterface): void {
    iface.state = InterfaceState.Closing;
    iface.dropPending(IpDropReason.NotRunning);
    iface.oidQueue.length = 0;
    this.routeTable.removeWhere((r) => r.iface === iface);
    this.reassembler.releaseInterface(iface);
    iface.neighbors.flush(false);
    for (const a of iface.addresses) this.timers.remove(a.timer);
    this.timers.remove(iface.rsTimer);
    this.timers.remove(iface.lifetimeTimer);
    iface.freePools();
    this.interfaces.delete(iface.name);
    this.routeTable.generation++;
  }

  private uninstalled(): void {
    this.timers.clear();
    if (this.timerObject !== null) {
      this.ndis.cancelTimerObject(this.timerObject);
      this.ndis.freeTimerObject(this.timerObject);
      this.timerObject = null;
    }
    this.ndis.scheduler.removeQueuedDpc(this.flushDpc);
    this.handle = null;
  }

  /** Link state changed (NDIS_STATUS_LINK_STATE). */
  private linkChanged(iface: IpInterface, up: boolean): void {
    if (iface.linkUp === up) return;
    iface.linkUp = up;
    this.routeTable.generation++;
    if (!up) {
      iface.dropPending(IpDropReason.MediaDisconnected);
      iface.neighbors.flush(true);
      return;
    }
    // Back on a link: addresses are checked again (RFC 4862 5.4), IPv4 ones announced.
    this.beginBatch();
    try {
      for (const a of iface.addresses) {
        if (a.v4) this.arp.announce(iface, a.address);
        else if (a.state !== AddressState.Duplicate) this.ndp.startDad(a);
      }
      if (this.configOf(iface.name).slaac) this.ndp.startRouterSolicitation(iface);
    } finally {
      this.endBatch();
    }
  }

  // =============================================================================================
  // Configuration
  // =============================================================================================

  /**
   * Sets the configuration of the interface on `adapterName` (addresses, gateways, SLAAC, MTU), now
   * if it is bound, or when it binds. Replaces a previous configuration. Throws an NdisError for
   * malformed text. `ready()` waits until the addresses are usable.
   */
  configure(adapterName: string, config: InterfaceConfig): void {
    const parsed: ParsedInterfaceConfig = {
      v4: [],
      v6: [],
      gateway4: config.gateway4 === undefined ? null : parseAddressOption(config.gateway4, 'gateway4'),
      gateway6: config.gateway6 === undefined ? null : parseAddressOption(config.gateway6, 'gateway6'),
      slaac: config.slaac ?? false,
      mtu: config.mtu ?? null,
      linkLocal: config.linkLocal ?? true,
    };
    for (const t of config.ipv4 ?? []) {
      const p = parsePrefix(t);
      if (!p.v4) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `configure: '${t}' in ipv4 is not an IPv4 address`);
      parsed.v4.push(p);
    }
    for (const t of config.ipv6 ?? []) {
      const p = parsePrefix(t);
      if (p.v4) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `configure: '${t}' in ipv6 is not an IPv6 address`);
      parsed.v6.push(p);
    }
    if (parsed.gateway4 !== null && !isIpv4Mapped(parsed.gateway4)) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', 'configure: gateway4 must be an IPv4 address');
    if (parsed.gateway6 !== null && isIpv4Mapped(parsed.gateway6)) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', 'configure: gateway6 must be an IPv6 address');
    if (parsed.mtu !== null && (!Number.isInteger(parsed.mtu) || parsed.mtu < 68)) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `configure: mtu must be an integer of at least 68; got ${parsed.mtu}`);
    this.configs.set(adapterName, parsed);
    const iface = this.interfaces.get(adapterName);
    if (iface !== undefined && iface.filterSet) this.applyConfig(iface);
  }

  /** The parsed configuration of an adapter (the defaults when none was set). */
  configOf(adapterName: string): ParsedInterfaceConfig {
    return this.configs.get(adapterName) ?? { v4: [], v6: [], gateway4: null, gateway6: null, slaac: false, mtu: null, linkLocal: true };
  }

  /** Applies the configuration to a running interface (replacing what an earlier one set). */
  private applyConfig(iface: IpInterface): void {
    const cfg = this.configOf(iface.name);
    this.beginBatch();
    try {
      for (const a of iface.addresses.slice()) if (a.origin !== 'router-advertisement') this.removeAddress(a);
      this.routeTable.removeWhere((r) => r.iface === iface && r.origin === 'static');
      iface.mtu = cfg.mtu === null ? iface.linkMtu : Math.min(cfg.mtu, iface.linkMtu);
      if (cfg.linkLocal) this.addAddress(iface, new IpAddressEntry(iface, linkLocalFromMac(iface.mac), 64, 'link-layer'));
      for (const p of cfg.v4) this.addAddress(iface, new IpAddressEntry(iface, p.address, p.prefixLength, 'manual'));
      for (const p of cfg.v6) this.addAddress(iface, new IpAddressEntry(iface, p.address, p.prefixLength, 'manual'));
      if (cfg.gateway4 !== null) this.routeTable.add(new Route(cfg.gateway4, V4_MAPPED_BITS, iface, cfg.gateway4, 256, 'static'));
      if (cfg.gateway6 !== null) this.routeTable.add(new Route(new Uint8Array(16), 0, iface, cfg.gateway6, 256, 'static'));
      if (cfg.slaac) this.ndp.startRouterSolicitation(iface);
      iface.updateReceiveFilter();
    } finally {
      this.endBatch();
    }
    this.checkReady();
  }

  /** Adds a unicast address: IPv4 ones are usable at once (and announced), IPv6 ones go through DAD. */
  addAddress(iface: IpInterface, a: IpAddressEntry): void {
    if (iface.findAddress(a.address) !== null) return;
    iface.addresses.push(a);
    if (a.prefixLength < 128) {
      const r = new Route(a.address, a.prefixLength, iface, null, 256, a.origin === 'router-advertisement' ? 'router-advertisement' : 'connected');
      if (a.origin === 'router-advertisement') r.expiresAt = a.validUntil;
      this.routeTable.add(r);
    }
    if (a.v4) {
      a.state = AddressState.Preferred;
      if (iface.canSend) this.arp.announce(iface, a.address);
    } else {
      this.ndp.startDad(a);
    }
    iface.updateReceiveFilter();
    this.addressesChanged(iface);
    if (a.origin === 'router-advertisement') this.ndp.armLifetimes(iface);
  }

  /** Removes a unicast address and its connected route (unless another address shares the prefix). */
  removeAddress(a: IpAddressEntry): void {
    const iface = a.iface;
    const i = iface.addresses.indexOf(a);
    if (i < 0) return;
    iface.addresses.splice(i, 1);
    this.timers.remove(a.timer);
    if (!iface.addresses.some((x) => x.prefixLength === a.prefixLength && prefixMatches(x.address, a.address, a.prefixLength))) {
      this.routeTable.removeWhere((r) => r.iface === iface && r.gateway === null && r.origin !== 'static' && r.prefixLength === a.prefixLength && prefixMatches(r.destination, a.address, a.prefixLength));
    }
    iface.updateReceiveFilter();
    this.addressesChanged(iface);
  }

  /** Addresses changed: cached paths choose their source again; `ready()` waiters may be done. */
  addressesChanged(iface: IpInterface): void {
    iface.refreshAddressCache();
    this.routeTable.generation++;
    this.checkReady();
  }

  /** An address's timer (DAD). */
  addressTimer(a: IpAddressEntry): void {
    if (!a.v4) this.ndp.dadTimer(a);
  }

  /**
   * Resolves when the interface on `adapterName` is bound, running, and has no address left in
   * duplicate address detection (rejects with ERR_NDIS_TIMEOUT after `timeoutMs` of stack time).
   */
  ready(adapterName: string, timeoutMs = 10_000): Promise<IpInterface> {
    const now = this.readyNow(adapterName);
    if (now !== null) return Promise.resolve(now);
    const p = new Promise<IpInterface>((resolve) => this.readyWaiters.push({ name: adapterName, resolve }));
    return this.ndis.until(p, timeoutMs);
  }

  private readyNow(name: string): IpInterface | null {
    const i = this.interfaces.get(name);
    if (i === undefined || i.state !== InterfaceState.Running || !i.filterSet) return null;
    if (i.addresses.some((a) => a.state === AddressState.Tentative)) return null;
    return i;
  }

  private checkReady(): void {
    for (let k = this.readyWaiters.length - 1; k >= 0; k--) {
      const w = this.readyWaiters[k]!;
      const i = this.readyNow(w.name);
      if (i !== null) {
        this.readyWaiters.splice(k, 1);
        w.resolve(i);
      }
    }
  }

  /** The interface bound to `adapterName` (throws an NdisError when not bound). */
  interface(adapterName: string): IpInterface {
    const i = this.interfaces.get(adapterName);
    if (i === undefined) throw new NdisError('ERR_NDIS_BINDING', `${this.name} is not bound to '${adapterName}' (bound: ${[...this.interfaces.keys()].join(', ') || 'none'})`);
    return i;
  }

  /** Forwarding between interfaces (IPEnableRouter). */
  get forwarding(): boolean {
    return this.forwardingEnabled;
  }

  set forwarding(on: boolean) {
    if (this.forwardingEnabled === on) return;
    this.forwardingEnabled = on;
    for (const i of this.interfaces.values()) i.updateReceiveFilter();
  }

  /** True when `a` is a usable address of any interface. */
  isLocalAddress(a: Uint8Array): boolean {
    for (const i of this.interfaces.values()) if (i.hasLocalAddress(a)) return true;
    return false;
  }

  // =============================================================================================
  // Services for the layers: time, randomness, timers, send batching
  // =============================================================================================

  /** Stack time in ms (NdisGetSystemUpTimeEx of the runtime's scheduler). */
  now(): number {
    return this.ndis.scheduler.nowMs();
  }

  /** A seeded random 32-bit number from the runtime's scheduler. */
  random32(): number {
    return this.ndis.scheduler.random32();
  }

  /** Arms a stack timer (the NDIS timer object follows the earliest one). */
  setTimer(t: HeapTimer, at: number): void {
    this.timers.set(t, at);
    if (at < this.armedAt) this.armNdisTimer(at);
  }

  private armNdisTimer(at: number): void {
    this.armedAt = at;
    const delta = at - this.now();
    // Rounded up so that the timer never fires before `at` (NdisSetTimerObject, relative 100-ns units).
    this.ndis.setTimerObject(this.ensureTimer(), -Math.max(1, Math.ceil(delta * TICKS_PER_MS)));
  }

  /** The NDIS timer fired: every due stack timer runs, in one batch of sends. */
  private timerDue(): void {
    this.armedAt = Infinity;
    this.beginBatch();
    try {
      const now = this.now();
      for (let n = 0; n < 1_000_000; n++) {
        const t = this.timers.popDue(now);
        if (t === null) break;
        t.fire();
      }
    } catch (err) {
      this.internalError(err);
    } finally {
      this.endBatch();
    }
    const next = this.timers.nextAt;
    if (next !== Infinity && next < this.armedAt) this.armNdisTimer(next);
  }

  /** Starts a batch: packets queued until `endBatch` go to NDIS as one chain per interface. */
  beginBatch(): void {
    this.batchDepth++;
  }

  /** Ends a batch; the outermost end hands every interface's send queue to NDIS. */
  endBatch(): void {
    if (--this.batchDepth > 0) return;
    this.batchDepth = 0;
    const list = this.pendingTx;
    let held = 0;
    while (list.length > held) {
      const i = list.pop()!;
      if (i.holdTx) {
        // Kept for the send DPC (the binding is restarting).
        list.unshift(i);
        held++;
        continue;
      }
      i.txQueued = false;
      i.flushTx();
    }
  }

  /** An interface has packets queued: flushed at the end of the batch, or by a DPC outside one. */
  txPending(iface: IpInterface): void {
    if (!iface.txQueued) {
      iface.txQueued = true;
      this.pendingTx.push(iface);
    }
    if (this.batchDepth === 0) this.ndis.queueDpc(this.flushDpc);
  }

  private flushFromDpc(): void {
    this.beginBatch();
    this.endBatch();
  }

  /** Neighbor cache callback: solicit `address` (ARP request or NS). */
  solicitNeighbor(iface: IpInterface, address: Uint8Array, unicastMac: Uint8Array | null): void {
    if (isIpv4Mapped(address)) this.arp.sendRequest(iface, address, unicastMac);
    else this.ndp.sendSolicit(iface, address, unicastMac, false);
  }

  private reassemblyTimedOut(e: ReassemblyEntry): void {
    const c = e.v6 ? this.counters.ipv6 : this.counters.ipv4;
    c.reasmFails++;
    c.reasmTimeouts++;
    const iface = e.iface;
    if (iface === null) return;
    iface.drops[IpDropReason.ReassemblyTimeout]!++;
    if (e.hasFirst) this.icmp.reassemblyTimeExceeded(iface, e.v6, e.source, e.destination, e.quote, e.quoteLength);
  }

  /** An exception escaped a data path: counted, kept, and never rethrown into NDIS. */
  internalError(err: unknown): void {
    this.internalErrors++;
    this.lastInternalError = err;
  }

  // =============================================================================================
  // Users
  // =============================================================================================

  /** Pings `address`; resolves with the round-trip time in ms (see `PingOptions`, `PingError`). */
  ping(address: string, options: PingOptions = {}): Promise<number> {
    return this.icmp.ping(address, options);
  }

  /** Starts a built-in service: 'echo' (TCP and UDP 7), 'discard' (9) or 'http' (the status page, 80). */
  serve(service: ServiceName, options: ServiceOptions = {}): Service {
    const s = serveService(this, service, options);
    this.services.push(s);
    return s;
  }

  /** Counters per interface and protocol, drops by reason (with the wire reasons the views gave). */
  statistics(): TcpIpStatistics {
    const c = this.counters;
    const withWire = (x: IpCounters | IcmpCounters | UdpCounters): ProtocolStatistics => ({ counters: plainCounters(x), drops: wireTable(x.wire) });
    const tcp = this.tcp.engine.stats;
    return {
      interfaces: [...this.interfaces.values()].map((i) => ({
        ...i.info(),
        counters: plainCounters(i.counters),
        drops: nonZero(i.drops, describeIpDrop),
        pools: Object.fromEntries(
          [i.smallPool, i.mtuPool, i.largePool]
            .filter((p): p is NetBufferListPool => p !== null)
            .map((p) => [p.poolTag, { outstanding: p.outstanding, capacity: p.capacity, failedAllocations: p.failedAllocations }]),
        ),
      })),
      ipv4: withWire(c.ipv4),
      ipv6: withWire(c.ipv6),
      icmpv4: withWire(c.icmpv4),
      icmpv6: withWire(c.icmpv6),
      udp: withWire(c.udp),
      neighbor: { counters: plainCounters(c.neighbor), drops: wireTable(c.neighbor.arpWire) },
      tcp: { counters: plainCounters(tcp), drops: nonZero(tcp.drops, describeTcpDrop) },
      reassembly: { active: this.reassembler.active },
      pmtuUpdates: c.pmtuUpdates,
      internalErrors: this.internalErrors,
    };
  }

  /** Total drops of every interface (a quick check for tests and tools). */
  totalDrops(): number {
    let n = 0;
    for (const i of this.interfaces.values()) for (const d of i.drops) n += d;
    return n;
  }

  /** A one-line description of every interface and its addresses. */
  describe(): string {
    return [...this.interfaces.values()]
      .map((i) => `${i.name} ${formatMac(i.mac)} mtu ${i.mtu} ${i.stateName}${i.linkUp ? '' : ' (disconnected)'}: ${i.addresses.map((a) => a.text).join(' ')}`)
      .join('\n');
  }
}

