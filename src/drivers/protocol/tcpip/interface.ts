/**
 * One IP interface: the binding of the tcpip protocol driver to one Ethernet adapter (what
 * tcpip.sys calls an interface of the IPv4 and IPv6 network layers, one per NDIS binding). It
 * holds the binding handle and its state, the NET_BUFFER_LIST pools for what the interface sends
 * (with backfill for the link and IP headers), the task-offload configuration the miniport
 * reports, the unicast addresses and multicast groups, the neighbor cache, and the send queue: a
 * chain of NBLs handed to NdisSendNetBufferLists in one call when the current batch of work ends.
 */
import {
  NDIS_OFFLOAD_SUPPORTED,
  NDIS_ENCAPSULATION,
  NDIS_OBJECT_TYPE,
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisOidRequest,
  OID,
  encodeMacList,
  ulongBuffer,
  type NdisOffload,
  type NdisStatus,
  type NetPnPEventNotification,
  type OpenBlock,
} from '../../../ndis/index.js';
import {
  advanceNetBufferDataStart,
  retreatNetBufferDataStart,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';
import { formatIp, formatMac, isIpv4Mapped } from '../../../wire/address.js';
import {
  ALL_NODES,
  ALL_ROUTERS,
  commonPrefixLength,
  familyPrefixLength,
  isDirectedBroadcast,
  isLinkLocalV6,
  multicastMac,
  prefixMatches,
  sameAddress,
  solicitedNodeAddress,
} from './addresses.js';
import { NeighborCache, type NeighborEntry } from './neighbor.js';
import { InterfaceCounters, IpDropReason } from './statistics.js';
import { StackTimer, type StackTimerTarget } from './timers.js';
import type { TcpIp } from './stack.js';

/** Bytes reserved in front of every packet the stack builds: Ethernet (14), a VLAN tag (4), IPv6 (40) and a fragment header (8), rounded up. */
export const TX_HEADROOM = 96;
/** Data size of the pool for small packets (acknowledgments, ARP, Neighbor Discovery, echo). */
export const SMALL_PACKET_SPACE = 512;

/** Binding states of an interface (the ndisprot sample's open states). */
export const InterfaceState = {
  Opening: 0,
  Paused: 1,
  Running: 2,
  Pausing: 3,
  Closing: 4,
} as const;

const STATE_NAMES = ['opening', 'paused', 'running', 'pausing', 'closing'];

/** States of a unicast address (NL_DAD_STATE: IpDadStateTentative, Duplicate, Deprecated, Preferred). */
export const AddressState = {
  Tentative: 1,
  Duplicate: 2,
  Deprecated: 3,
  Preferred: 4,
} as const;

const ADDRESS_STATE_NAMES = ['invalid', 'tentative', 'duplicate', 'deprecated', 'preferred'];

/** Where an address came from (NL_PREFIX_ORIGIN / NL_SUFFIX_ORIGIN in words). */
export type AddressOrigin = 'manual' | 'link-layer' | 'router-advertisement';

/** The binding's OID requests. */
const OID_KIND_PACKET_FILTER = 0;
const OID_KIND_MULTICAST = 1;
/** OID_OFFLOAD_ENCAPSULATION. */
export const OID_KIND_OFFLOAD_ENCAPSULATION = 2;

/** Timer kinds of an address entry and of an interface. */
const ADDR_TIMER_DAD = 0;
const IF_TIMER_RS = 0;
const IF_TIMER_LIFETIMES = 1;

/** A unicast address of an interface (MIB_UNICASTIPADDRESS_ROW). */
export class IpAddressEntry implements StackTimerTarget {
  readonly iface: IpInterface;
  readonly address: Uint8Array;
  /** Prefix length over 16 bytes (IPv4 /24 is 120). */
  readonly prefixLength: number;
  readonly v4: boolean;
  readonly origin: AddressOrigin;
  state: number;
  /** Neighbor solicitations still to send for duplicate address detection. */
  dadRemaining: number;
  /** Solicited-node group of the address (IPv6). */
  readonly solicitedNode: Uint8Array;
  /** Stack times the address stops being preferred and valid (router advertisements), Infinity otherwise. */
  preferredUntil: number;
  validUntil: number;
  readonly timer: StackTimer;

  constructor(iface: IpInterface, address: Uint8Array, prefixLength: number, origin: AddressOrigin) {
    this.iface = iface;
    this.address = address.slice();
    this.prefixLength = prefixLength;
    this.v4 = isIpv4Mapped(address);
    this.origin = origin;
    this.state = AddressState.Tentative;
    this.dadRemaining = 0;
    this.solicitedNode = new Uint8Array(16);
    if (!this.v4) solicitedNodeAddress(this.solicitedNode, address);
    this.preferredUntil = Infinity;
    this.validUntil = Infinity;
    this.timer = new StackTimer(this, ADDR_TIMER_DAD);
  }

  /** True when packets may use it as a source (preferred or deprecated). */
  get usable(): boolean {
    return this.state === AddressState.Preferred || this.state === AddressState.Deprecated;
  }

  /** `10.0.0.1/24`. */
  get text(): string {
    return `${formatIp(this.address)}/${familyPrefixLength(this.prefixLength, this.v4)}`;
  }

  onStackTimer(): void {
    this.iface.stack.addressTimer(this);
  }
}

/** What an interface shows in listings and on the status page. */
export interface InterfaceInfo {
  name: string;
  index: number;
  state: string;
  mac: string;
  mtu: number;
  linkUp: boolean;
  addresses: { address: string; state: string; origin: AddressOrigin }[];
  offload: { checksumV4: boolean; checksumV6: boolean; lsoV4: number; lsoV6: number };
}

/** One binding of tcpip to an Ethernet adapter. */
export class IpInterface implements StackTimerTarget {
  readonly stack: TcpIp;
  /** The adapter's name (NDIS_BIND_PARAMETERS.AdapterName). */
  readonly name: string;
  /** Interface index (NDIS_BIND_PARAMETERS.BoundIfIndex). */
  readonly index: number;
  /** NdisBindingHandle, once NdisOpenAdapterEx succeeded. */
  handle: OpenBlock | null;
  state: number;
  /** The adapter's current MAC address. */
  readonly mac: Uint8Array;
  /** The adapter's MTU (largest IP packet). */
  linkMtu: number;
  /** The MTU in use: the adapter's, or less when configured. */
  mtu: number;
  /** IPv6 link MTU from a router advertisement (0: none; then `mtu`). */
  mtuV6: number;
  linkUp: boolean;
  lookahead: number;
  /** Task offloads in use, from the current offload configuration once OID_OFFLOAD_ENCAPSULATION succeeded. */
  txChecksumIpv4: boolean;
  txChecksumTcpV4: boolean;
  txChecksumUdpV4: boolean;
  txChecksumTcpV6: boolean;
  txChecksumUdpV6: boolean;
  /** LSOv2 maximum offload sizes (0 = not in use). */
  lsoMaxV4: number;
  lsoMaxV6: number;
  lsoMinSegments: number;
  /** The offload configuration last reported (bind parameters or NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG). */
  offload: NdisOffload | null;
  /** OID_OFFLOAD_ENCAPSULATION was accepted: offloads may be requested. */
  offloadEnabled: boolean;
  /** Pools: small packets, MTU-sized packets, and (lazily) 64 KiB packets. */
  smallPool: NetBufferListPool | null;
  mtuPool: NetBufferListPool | null;
  largePool: NetBufferListPool | null;
  readonly addresses: IpAddressEntry[];
  /** The usable IPv4 addresses and their subnets' directed broadcasts as 32-bit numbers (for the receive path). */
  private v4Local: number[];
  private v4Broadcast: number[];
  readonly neighbors: NeighborCache;
  /** Ethernet multicast addresses last set with OID_802_3_MULTICAST_LIST. */
  multicastMacs: Uint8Array[];
  /** The packet filter was set once the binding first ran. */
  filterSet: boolean;
  /** OID requests of the binding waiting to be issued (kinds), and the one in flight. */
  readonly oidQueue: number[];
  oidInFlight: NdisOidRequest | null;
  private oidPumping: boolean;
  // Send queue (a chain handed to NDIS in one call).
  txHead: NetBufferList | null;
  txTail: NetBufferList | null;
  txCount: number;
  /** The interface is on the stack's list of send queues to flush. */
  txQueued: boolean;
  /**
   * Sends are held while NetEventRestart is being handled (the binding is not Running until the
   * handler returns); they go to NDIS from the send DPC afterwards.
   */
  holdTx: boolean;
  /** Sends handed to NDIS and not yet completed. */
  outstandingSends: number;
  /** The NetEventPause notification to complete when the last send completes. */
  pauseNotification: NetPnPEventNotification | null;
  /** Router solicitations still to send (SLAAC). */
  rsRemaining: number;
  readonly rsTimer: StackTimer;
  /** Expiry of routes and addresses learnt from router advertisements. */
  readonly lifetimeTimer: StackTimer;
  readonly counters: InterfaceCounters;
  /** Drops by IpDropReason. */
  readonly drops: Uint32Array;
  /** Waiters of `TcpIp.ready`. */
  readonly readyWaiters: (() => void)[];

  constructor(stack: TcpIp, name: string, index: number, mac: Uint8Array, mtu: number) {
    this.stack = stack;
    this.name = name;
    this.index = index;
    this.handle = null;
    this.state = InterfaceState.Opening;
    this.mac = mac.slice(0, 6);
    this.linkMtu = mtu;
    this.mtu = mtu;
    this.mtuV6 = 0;
    this.linkUp = true;
    this.lookahead = 0;
    this.txChecksumIpv4 = false;
    this.txChecksumTcpV4 = false;
    this.txChecksumUdpV4 = false;
    this.txChecksumTcpV6 = false;
    this.txChecksumUdpV6 = false;
    this.lsoMaxV4 = 0;
    this.lsoMaxV6 = 0;
    this.lsoMinSegments = 0;
    this.offload = null;
    this.offloadEnabled = false;
    this.smallPool = null;
    this.mtuPool = null;
    this.largePool = null;
    this.addresses = [];
    this.v4Local = [];
    this.v4Broadcast = [];
    this.neighbors = new NeighborCache(this);
    this.multicastMacs = [];
    this.filterSet = false;
    this.oidQueue = [];
    this.oidInFlight = null;
    this.oidPumping = false;
    this.txHead = null;
    this.txTail = null;
    this.txCount = 0;
    this.txQueued = false;
    this.holdTx = false;
    this.outstandingSends = 0;
    this.pauseNotification = null;
    this.rsRemaining = 0;
    this.rsTimer = new StackTimer(this, IF_TIMER_RS);
    this.lifetimeTimer = new StackTimer(this, IF_TIMER_LIFETIMES);
    this.counters = new InterfaceCounters();
    this.drops = new Uint32Array(IpDropReason.Count);
    this.readyWaiters = [];
  }

  onStackTimer(kind: number): void {
    if (kind === IF_TIMER_RS) this.stack.ndp.routerSolicitTimer(this);
    else this.stack.ndp.lifetimesExpired(this);
  }

  /** Name of the binding state. */
  get stateName(): string {
    return STATE_NAMES[this.state] ?? String(this.state);
  }

  /** True while packets may be handed to NDIS (Running). */
  get canSend(): boolean {
    return this.state === InterfaceState.Running && this.linkUp;
  }

  // ------------------------------------------------------------------------------------------
  // Pools and packets
  // ------------------------------------------------------------------------------------------

  /** NdisAllocateNetBufferListPool for the interface's packets (called from ProtocolBindAdapterEx). */
  allocatePools(): void {
    const ndis = this.stack.ndis;
    const h = this.handle!;
    const round = (n: number): number => (n + 63) & ~63;
    this.smallPool = ndis.allocateNetBufferListPool(h, { fAllocateNetBuffer: true, dataSize: TX_HEADROOM + SMALL_PACKET_SPACE, poolTag: 'TIPs', initialCount: 64, protocolId: 2 });
    this.mtuPool = ndis.allocateNetBufferListPool(h, { fAllocateNetBuffer: true, dataSize: round(TX_HEADROOM + this.linkMtu + 64), poolTag: 'TIPm', initialCount: 32, protocolId: 2 });
  }

  /** NdisFreeNetBufferListPool of every pool (ProtocolUnbindAdapterEx): every NBL must be back. */
  freePools(): void {
    const ndis = this.stack.ndis;
    for (const p of [this.smallPool, this.mtuPool, this.largePool]) if (p !== null) ndis.freeNetBufferListPool(p);
    this.smallPool = null;
    this.mtuPool = null;
    this.largePool = null;
  }

  /**
   * An NBL for a packet of `length` bytes with TX_HEADROOM bytes of backfill in front: the data
   * start is where the upper-layer header goes, DataLength is `length`. Null (counted) when no
   * pool can hold it or the pool is exhausted.
   * @cost O(1); no allocation in steady state.
   */
  allocatePacket(length: number): NetBufferList | null {
    let pool: NetBufferListPool | null;
    if (length <= SMALL_PACKET_SPACE) pool = this.smallPool;
    else if (this.mtuPool !== null && TX_HEADROOM + length <= this.mtuPool.dataSize) pool = this.mtuPool;
    else if (length <= 65536 + 64) pool = this.largePool ?? this.createLargePool();
    else pool = null;
    const nbl = pool === null ? null : pool.allocateNetBufferList();
    if (nbl === null) {
      this.drops[IpDropReason.NoBuffer]!++;
      return null;
    }
    const nb = nbl.firstNetBuffer!;
    advanceNetBufferDataStart(nb, TX_HEADROOM);
    nb.dataLength = length;
    return nbl;
  }

  private createLargePool(): NetBufferListPool | null {
    if (this.handle === null) return null;
    this.largePool = this.stack.ndis.allocateNetBufferListPool(this.handle, {
      fAllocateNetBuffer: true,
      dataSize: TX_HEADROOM + 65536 + 128,
      poolTag: 'TIPl',
      initialCount: 4,
      protocolId: 2,
    });
    return this.largePool;
  }

  /** NdisFreeNetBufferList of one of the interface's NBLs. */
  freePacket(nbl: NetBufferList): void {
    nbl.next = null;
    (nbl.ndisPoolHandle as NetBufferListPool).freeNetBufferList(nbl);
  }

  /** Frees a packet that will not be sent, counting why. */
  dropTx(nbl: NetBufferList, reason: number): void {
    this.drops[reason]!++;
    this.freePacket(nbl);
  }

  // ------------------------------------------------------------------------------------------
  // Ethernet framing and the send queue
  // ------------------------------------------------------------------------------------------

  /**
   * Prepends the Ethernet header (NdisRetreatNetBufferDataStart into the backfill): destination
   * left to fill, our address as source, `etherType`.
   */
  prependEthernet(nbl: NetBufferList, etherType: number): void {
    const nb = nbl.firstNetBuffer!;
    retreatNetBufferDataStart(nb, 14);
    const mdl = nb.currentMdl!;
    const b = mdl.buffer;
    const o = mdl.byteOffset + nb.currentMdlOffset;
    const m = this.mac;
    b[o + 6] = m[0]!;
    b[o + 7] = m[1]!;
    b[o + 8] = m[2]!;
    b[o + 9] = m[3]!;
    b[o + 10] = m[4]!;
    b[o + 11] = m[5]!;
    b[o + 12] = etherType >>> 8;
    b[o + 13] = etherType & 0xff;
  }

  /** Writes the destination MAC of a framed packet from `mac[off..off+6]`. */
  writeDestinationMac(nbl: NetBufferList, mac: Uint8Array, off: number): void {
    const nb = nbl.firstNetBuffer!;
    const mdl = nb.currentMdl!;
    const b = mdl.buffer;
    const o = mdl.byteOffset + nb.currentMdlOffset;
    b[o] = mac[off]!;
    b[o + 1] = mac[off + 1]!;
    b[o + 2] = mac[off + 2]!;
    b[o + 3] = mac[off + 3]!;
    b[o + 4] = mac[off + 4]!;
    b[o + 5] = mac[off + 5]!;
  }

  /** Writes a broadcast or multicast destination MAC for group address `dst`. */
  private writeGroupMac(nbl: NetBufferList, dst: Uint8Array): void {
    const nb = nbl.firstNetBuffer!;
    const mdl = nb.currentMdl!;
    const o = mdl.byteOffset + nb.currentMdlOffset;
    if (isIpv4Mapped(dst) && (dst[12]! & 0xf0) !== 0xe0) mdl.buffer.fill(0xff, o, o + 6);
    else multicastMac(mdl.buffer, o, dst);
  }

  /**
   * Sends a framed packet (Ethernet header in place) to next hop `nextHop`: group addresses map
   * straight to their MAC; unicast next hops go through the neighbor cache, which resolves them
   * first when needed. `cached` is the path's neighbor entry, when it has one.
   * @cost O(1) with a cached neighbor; no allocation once the neighbor exists.
   */
  sendToNextHop(nbl: NetBufferList, nextHop: Uint8Array, group: boolean, cached: NeighborEntry | null): NeighborEntry | null {
    if (group) {
      this.writeGroupMac(nbl, nextHop);
      this.enqueueTx(nbl);
      return null;
    }
    let e = cached;
    if (e === null || !e.inCache || e.cache !== this.neighbors) {
      e = this.neighbors.lookup(nextHop) ?? this.neighbors.create(nextHop);
    }
    this.neighbors.send(e, nbl);
    return e;
  }

  /** Adds a framed, addressed packet to the send queue; it goes to NDIS when the batch ends. */
  enqueueTx(nbl: NetBufferList): void {
    nbl.next = null;
    if (this.txTail === null) this.txHead = nbl;
    else this.txTail.next = nbl;
    this.txTail = nbl;
    this.txCount++;
    this.stack.txPending(this);
  }

  /**
   * Hands the send queue to NDIS in one NdisSendNetBufferLists call, or frees it (counted) when
   * the binding cannot send.
   */
  flushTx(): void {
    const head = this.txHead;
    if (head === null) return;
    const n = this.txCount;
    this.txHead = null;
    this.txTail = null;
    this.txCount = 0;
    if (!this.canSend || this.handle === null) {
      const reason = this.state === InterfaceState.Running ? IpDropReason.MediaDisconnected : IpDropReason.NotRunning;
      let x: NetBufferList | null = head;
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        this.dropTx(x, reason);
        x = next;
      }
      return;
    }
    let octets = 0;
    for (let x: NetBufferList | null = head; x !== null; x = x.next) octets += x.firstNetBuffer!.dataLength;
    this.counters.outFrames += n;
    this.counters.outOctets += octets;
    this.counters.sendCalls++;
    this.outstandingSends += n;
    this.stack.ndis.sendNetBufferLists(this.handle, head, 0, 0);
  }

  /** Drops the send queue and every packet waiting for address resolution (pause, unbind). */
  dropPending(reason: number): void {
    let x = this.txHead;
    this.txHead = null;
    this.txTail = null;
    this.txCount = 0;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      this.dropTx(x, reason);
      x = next;
    }
    this.neighbors.dropAllQueued(reason);
  }

  // ------------------------------------------------------------------------------------------
  // Addresses
  // ------------------------------------------------------------------------------------------

  /** The entry of `address` on this interface, or null. */
  findAddress(address: Uint8Array): IpAddressEntry | null {
    const list = this.addresses;
    for (let i = 0; i < list.length; i++) if (sameAddress(list[i]!.address, address)) return list[i]!;
    return null;
  }

  /** True when `address` is a usable (preferred or deprecated) unicast address of this interface. */
  hasLocalAddress(address: Uint8Array): boolean {
    const list = this.addresses;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (a.usable && sameAddress(a.address, address)) return true;
    }
    return false;
  }

  /** The first usable address of a family, or null. */
  firstAddress(v4: boolean): IpAddressEntry | null {
    for (const a of this.addresses) if (a.v4 === v4 && a.usable) return a;
    return null;
  }

  /** Rebuilds the 32-bit views of the IPv4 addresses (after any address change). */
  refreshAddressCache(): void {
    const local: number[] = [];
    const bcast: number[] = [];
    for (const a of this.addresses) {
      if (!a.v4 || !a.usable) continue;
      const u = ((a.address[12]! << 24) | (a.address[13]! << 16) | (a.address[14]! << 8) | a.address[15]!) >>> 0;
      local.push(u);
      const hostBits = 128 - a.prefixLength;
      if (hostBits >= 2) bcast.push((u | (hostBits >= 32 ? 0xffffffff : (1 << hostBits) - 1)) >>> 0);
    }
    this.v4Local = local;
    this.v4Broadcast = bcast;
  }

  /** True when the IPv4 address `u` (a 32-bit number) is a usable address of this interface. */
  isLocalV4(u: number): boolean {
    const l = this.v4Local;
    for (let i = 0; i < l.length; i++) if (l[i] === u) return true;
    return false;
  }

  /** True when the IPv4 address `u` is the directed broadcast of one of our subnets. */
  isBroadcastV4(u: number): boolean {
    const l = this.v4Broadcast;
    for (let i = 0; i < l.length; i++) if (l[i] === u) return true;
    return false;
  }

  /** True when `a` is the directed broadcast address of one of our IPv4 subnets. */
  isDirectedBroadcast(a: Uint8Array): boolean {
    for (const e of this.addresses) if (e.v4 && isDirectedBroadcast(a, e.address, e.prefixLength)) return true;
    return false;
  }

  /**
   * Source address selection for `dst` (RFC 6724 section 5, the rules that matter on one
   * interface: same address, appropriate scope, avoid deprecated, longest matching prefix; and for
   * IPv4 the address whose subnet holds the destination).
   */
  selectSource(dst: Uint8Array, v4: boolean): Uint8Array | null {
    let best: IpAddressEntry | null = null;
    let bestScore = -1;
    const linkLocalDst = !v4 && isLinkLocalV6(dst);
    for (const a of this.addresses) {
      if (a.v4 !== v4 || !a.usable) continue;
      if (sameAddress(a.address, dst)) return a.address;
      let score = 0;
      if (v4) {
        if (prefixMatches(a.address, dst, a.prefixLength)) score += 1000;
      } else {
        const ll = isLinkLocalV6(a.address);
        if (ll === linkLocalDst) score += 2000;
        if (a.state === AddressState.Preferred) score += 1000;
      }
      score += commonPrefixLength(a.address, dst);
      if (score > bestScore) {
        best = a;
        bestScore = score;
      }
    }
    return best === null ? null : best.address;
  }

  /** True when `dst` is a multicast group this interface listens to (IPv6: all-nodes, solicited-node of our addresses, all-routers when forwarding). */
  isJoinedGroupV6(dst: Uint8Array): boolean {
    if (sameAddress(dst, ALL_NODES)) return true;
    if (this.stack.forwarding && sameAddress(dst, ALL_ROUTERS)) return true;
    const list = this.addresses;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (!a.v4 && a.state !== AddressState.Duplicate && sameAddress(a.solicitedNode, dst)) return true;
    }
    return false;
  }

  /** The Ethernet multicast addresses the interface must receive. */
  wantedMulticastMacs(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const add = (group: Uint8Array): void => {
      const m = new Uint8Array(6);
      multicastMac(m, 0, group);
      if (!out.some((x) => x.every((v, i) => v === m[i]))) out.push(m);
    };
    add(ALL_NODES);
    if (this.stack.forwarding) add(ALL_ROUTERS);
    for (const a of this.addresses) if (!a.v4 && a.state !== AddressState.Duplicate) add(a.solicitedNode);
    return out;
  }

  /**
   * Sets OID_802_3_MULTICAST_LIST when the groups changed, and OID_GEN_CURRENT_PACKET_FILTER
   * (directed, multicast, broadcast) the first time: what tcpip asks of every Ethernet binding.
   * The binding's requests go one at a time (each built when it is issued, from the state then).
   */
  updateReceiveFilter(): void {
    if (this.handle === null || (this.state !== InterfaceState.Running && this.state !== InterfaceState.Paused)) return;
    if (!this.filterSet) {
      this.filterSet = true;
      this.queueOid(OID_KIND_PACKET_FILTER);
    }
    this.queueOid(OID_KIND_MULTICAST);
  }

  /** Queues one of the binding's OID requests (a kind already queued is not queued twice). */
  queueOid(kind: number): void {
    if (!this.oidQueue.includes(kind)) this.oidQueue.push(kind);
    this.pumpOids();
  }

  private pumpOids(): void {
    if (this.oidPumping) return;
    this.oidPumping = true;
    try {
      while (this.oidInFlight === null && this.oidQueue.length > 0 && this.handle !== null) {
        const req = this.buildOid(this.oidQueue.shift()!);
        if (req === null) continue;
        this.oidInFlight = req;
        const s = this.stack.ndis.oidRequest(this.handle, req);
        if (s !== NDIS_STATUS.PENDING) this.oidFinished(req, s);
      }
    } finally {
      this.oidPumping = false;
    }
  }

  private buildOid(kind: number): NdisOidRequest | null {
    switch (kind) {
      case OID_KIND_PACKET_FILTER:
        return NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.BROADCAST));
      case OID_KIND_MULTICAST: {
        const macs = this.wantedMulticastMacs();
        const same = macs.length === this.multicastMacs.length && macs.every((m) => this.multicastMacs.some((x) => x.every((v, i) => v === m[i])));
        if (same) return null;
        this.multicastMacs = macs;
        return NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList(macs));
      }
      default:
        return NdisOidRequest.set(OID.OFFLOAD_ENCAPSULATION, encodeOffloadEncapsulation(true));
    }
  }

  /** A request of the binding completed (synchronously or through ProtocolOidRequestComplete). */
  oidFinished(req: NdisOidRequest, status: NdisStatus): void {
    if (req !== this.oidInFlight) return;
    this.oidInFlight = null;
    if (req.oid === OID.OFFLOAD_ENCAPSULATION) {
      this.offloadEnabled = status === NDIS_STATUS.SUCCESS;
      this.applyOffload(this.offload);
    }
    this.pumpOids();
  }

  // ------------------------------------------------------------------------------------------
  // Task offload
  // ------------------------------------------------------------------------------------------

  /**
   * Records an offload configuration (NDIS_BIND_PARAMETERS.DefaultOffloadConfiguration or the
   * NDIS_OFFLOAD of NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG) and decides what to request: only
   * offloads that support Ethernet (IEEE 802.3) encapsulation, and only after
   * OID_OFFLOAD_ENCAPSULATION succeeded.
   */
  applyOffload(o: NdisOffload | null): void {
    this.offload = o;
    const on = this.offloadEnabled && this.stack.useOffload && o !== null;
    const eth = (enc: number): boolean => (enc & (NDIS_ENCAPSULATION.IEEE_802_3 | NDIS_ENCAPSULATION.IEEE_802_3_P_AND_Q | NDIS_ENCAPSULATION.IEEE_802_3_P_AND_Q_IN_OOB)) !== 0;
    const c4 = o?.checksum.ipv4Transmit;
    const c6 = o?.checksum.ipv6Transmit;
    this.txChecksumIpv4 = on && c4 !== undefined && eth(c4.encapsulation) && c4.ipChecksum === NDIS_OFFLOAD_SUPPORTED;
    this.txChecksumTcpV4 = on && c4 !== undefined && eth(c4.encapsulation) && c4.tcpChecksum === NDIS_OFFLOAD_SUPPORTED;
    this.txChecksumUdpV4 = on && c4 !== undefined && eth(c4.encapsulation) && c4.udpChecksum === NDIS_OFFLOAD_SUPPORTED;
    this.txChecksumTcpV6 = on && c6 !== undefined && eth(c6.encapsulation) && c6.tcpChecksum === NDIS_OFFLOAD_SUPPORTED;
    this.txChecksumUdpV6 = on && c6 !== undefined && eth(c6.encapsulation) && c6.udpChecksum === NDIS_OFFLOAD_SUPPORTED;
    const l4 = o?.lsoV2.ipv4;
    const l6 = o?.lsoV2.ipv6;
    const lso = on && this.stack.useLso;
    this.lsoMaxV4 = lso && l4 !== undefined && eth(l4.encapsulation) ? Math.min(l4.maxOffLoadSize, 65535) : 0;
    this.lsoMaxV6 = lso && l6 !== undefined && eth(l6.encapsulation) ? Math.min(l6.maxOffLoadSize, 65535) : 0;
    this.lsoMinSegments = Math.max(l4?.minSegmentCount ?? 0, l6?.minSegmentCount ?? 0, 2);
    if (this.lsoMaxV4 > 0 || this.lsoMaxV6 > 0) {
      if (this.largePool === null) this.createLargePool();
    }
  }

  /** True when the offload configuration offers anything worth enabling with OID_OFFLOAD_ENCAPSULATION. */
  offersOffload(o: NdisOffload | null): boolean {
    if (o === null) return false;
    const c = o.checksum;
    return (
      c.ipv4Transmit.encapsulation !== 0 ||
      c.ipv6Transmit.encapsulation !== 0 ||
      c.ipv4Receive.encapsulation !== 0 ||
      c.ipv6Receive.encapsulation !== 0 ||
      o.lsoV2.ipv4.encapsulation !== 0 ||
      o.lsoV2.ipv6.encapsulation !== 0
    );
  }

  // ------------------------------------------------------------------------------------------
  // Listing
  // ------------------------------------------------------------------------------------------

  /** A plain description (listings, statistics, the status page). */
  info(): InterfaceInfo {
    return {
      name: this.name,
      index: this.index,
      state: this.stateName,
      mac: formatMac(this.mac),
      mtu: this.mtu,
      linkUp: this.linkUp,
      addresses: this.addresses.map((a) => ({ address: a.text, state: ADDRESS_STATE_NAMES[a.state] ?? String(a.state), origin: a.origin })),
      offload: {
        checksumV4: this.txChecksumTcpV4 || this.txChecksumUdpV4 || this.txChecksumIpv4,
        checksumV6: this.txChecksumTcpV6 || this.txChecksumUdpV6,
        lsoV4: this.lsoMaxV4,
        lsoV6: this.lsoMaxV6,
      },
    };
  }
}

/** NDIS_OFFLOAD_ENCAPSULATION (revision 1, 28 bytes) enabling Ethernet encapsulation for IPv4 and IPv6. */
export function encodeOffloadEncapsulation(enabled: boolean): Uint8Array {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  b[0] = NDIS_OBJECT_TYPE.OFFLOAD_ENCAPSULATION;
  b[1] = 1;
  v.setUint16(2, 28, true);
  for (const at of [4, 16]) {
    v.setUint32(at, enabled ? 1 : 2, true); // NDIS_OFFLOAD_SET_ON / NDIS_OFFLOAD_SET_OFF
    v.setUint32(at + 4, NDIS_ENCAPSULATION.IEEE_802_3, true);
    v.setUint32(at + 8, 14, true);
  }
  return b;
}

export { ADDRESS_STATE_NAMES };
