/**
 * Routing: the route table (what `route print` / GetIpForwardTable2 show) with longest-prefix
 * match and metrics, and the path cache (tcpip.sys's "path" objects): per remote address, the
 * interface, next hop, source address and path MTU in use, so that a connection resolves its
 * route once and reuses it for every segment until the table changes (a generation number
 * invalidates every cached path at once).
 */
import { formatIp, isIpv4Mapped } from '../../../wire/address.js';
import { IPV6_MIN_MTU } from '../../../wire/ipv6.js';
import {
  V4_MAPPED_BITS,
  familyPrefixLength,
  hashAddress,
  isLimitedBroadcast,
  isLinkLocalV6,
  isMulticastAddress,
  maskPrefix,
  prefixMatches,
  sameAddress,
} from './addresses.js';
import type { IpInterface } from './interface.js';
import type { NeighborEntry } from './neighbor.js';

/** Where a route came from (MIB_IPFORWARD_ROW2.Protocol, in words). */
export type RouteOrigin = 'connected' | 'static' | 'router-advertisement';

/** One route: destination prefix, outgoing interface, gateway (null: on-link), metric. */
export class Route {
  /** Network (host bits cleared), 16 bytes. */
  readonly destination: Uint8Array;
  /** Prefix length over 16 bytes (IPv4 /24 is 120). */
  readonly prefixLength: number;
  readonly v4: boolean;
  readonly iface: IpInterface;
  /** Next hop, or null for an on-link prefix. */
  readonly gateway: Uint8Array | null;
  readonly metric: number;
  readonly origin: RouteOrigin;
  /** Stack time the route expires (router advertisements), Infinity otherwise. */
  expiresAt: number;

  constructor(destination: Uint8Array, prefixLength: number, iface: IpInterface, gateway: Uint8Array | null, metric: number, origin: RouteOrigin) {
    this.destination = new Uint8Array(16);
    maskPrefix(this.destination, destination, prefixLength);
    this.prefixLength = prefixLength;
    this.v4 = isIpv4Mapped(destination) && prefixLength >= V4_MAPPED_BITS;
    this.iface = iface;
    this.gateway = gateway === null ? null : gateway.slice();
    this.metric = metric;
    this.origin = origin;
    this.expiresAt = Infinity;
  }

  /** `10.0.0.0/24` or `fd00::/64`. */
  get prefixText(): string {
    return `${formatIp(this.destination)}/${familyPrefixLength(this.prefixLength, this.v4)}`;
  }
}

/** A route as listings show it. */
export interface RouteInfo {
  destination: string;
  gateway: string | null;
  interface: string;
  metric: number;
  origin: RouteOrigin;
}

/** The route table, kept sorted by prefix length (longest first), then metric. */
export class RouteTable {
  private readonly routes: Route[] = [];
  /** Bumped on every change; cached paths older than it are resolved again. */
  generation = 1;

  /** Adds a route (a route with the same prefix, interface and gateway is replaced). */
  add(r: Route): void {
    this.removeWhere((x) => x.prefixLength === r.prefixLength && sameAddress(x.destination, r.destination) && x.iface === r.iface && sameGateway(x.gateway, r.gateway));
    let i = 0;
    while (i < this.routes.length && (this.routes[i]!.prefixLength > r.prefixLength || (this.routes[i]!.prefixLength === r.prefixLength && this.routes[i]!.metric <= r.metric))) i++;
    this.routes.splice(i, 0, r);
    this.generation++;
  }

  /** Removes the routes matching `pred`; returns how many. */
  removeWhere(pred: (r: Route) => boolean): number {
    let n = 0;
    for (let i = this.routes.length - 1; i >= 0; i--) {
      if (pred(this.routes[i]!)) {
        this.routes.splice(i, 1);
        n++;
      }
    }
    if (n > 0) this.generation++;
    return n;
  }

  /** Every route (a copy). */
  list(): Route[] {
    return this.routes.slice();
  }

  /**
   * Longest-prefix match for `dst` among routes of its family whose interface can send; ties go
   * to the lower metric (RFC 1812 5.2.4.3).
   * @cost O(routes); no allocation.
   */
  lookup(dst: Uint8Array): Route | null {
    const v4 = isIpv4Mapped(dst);
    const rs = this.routes;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (r.v4 !== v4 || !r.iface.canSend) continue;
      if (prefixMatches(dst, r.destination, r.prefixLength)) return r;
    }
    return null;
  }
}

function sameGateway(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return sameAddress(a, b);
}

/** How long a reduced path MTU holds before the interface MTU is tried again (RFC 1191 6.3: 10 min). */
export const PMTU_AGING_MS = 10 * 60 * 1000;

/**
 * The path to one remote address: outgoing interface, next hop, source address and path MTU.
 * Connections keep theirs in `TcpFlow.hostContext`; other senders look it up.
 */
export class Path {
  readonly remote: Uint8Array;
  readonly nextHop: Uint8Array;
  /** Preferred source address for this destination (RFC 6724). */
  readonly source: Uint8Array;
  hasSource: boolean;
  v4: boolean;
  iface: IpInterface | null;
  /** The neighbor entry of the next hop, once looked up. */
  neighbor: NeighborEntry | null;
  /** MTU learned from ICMP (0 when none): the path MTU is the smaller of this and the link's. */
  learnedMtu: number;
  learnedAt: number;
  /** Route generation this path was resolved against. */
  generation: number;
  /** The destination is a broadcast (limited or directed) or multicast address. */
  group: boolean;
  bucketNext: Path | null;

  constructor(remote: Uint8Array) {
    this.remote = remote.slice();
    this.nextHop = new Uint8Array(16);
    this.source = new Uint8Array(16);
    this.hasSource = false;
    this.v4 = isIpv4Mapped(remote);
    this.iface = null;
    this.neighbor = null;
    this.learnedMtu = 0;
    this.learnedAt = 0;
    this.generation = 0;
    this.group = false;
    this.bucketNext = null;
  }

  /** The path MTU now: the link MTU, or less when ICMP said so within the last 10 minutes. */
  mtu(now: number): number {
    const iface = this.iface;
    if (iface === null) return this.v4 ? 576 : IPV6_MIN_MTU;
    const link = this.v4 ? iface.mtu : Math.max(iface.mtuV6 > 0 && iface.mtuV6 < iface.mtu ? iface.mtuV6 : iface.mtu, IPV6_MIN_MTU);
    if (this.learnedMtu === 0) return link;
    if (now - this.learnedAt > PMTU_AGING_MS) {
      this.learnedMtu = 0;
      return link;
    }
    return this.learnedMtu < link ? this.learnedMtu : link;
  }
}

const PATH_BUCKETS = 256;

/** The path cache: one `Path` per remote address, resolved against the route table on demand. */
export class PathTable {
  private readonly buckets: (Path | null)[] = new Array<Path | null>(PATH_BUCKETS).fill(null);
  count = 0;
  private readonly maxPaths: number;

  constructor(
    readonly routes: RouteTable,
    readonly interfaces: () => Iterable<IpInterface>,
    maxPaths = 4096,
  ) {
    this.maxPaths = maxPaths;
  }

  /**
   * The path to `remote`, resolved against the current route table (refreshed in place when the
   * table changed). `iface` null on the result means no route.
   * @cost a hash lookup; allocation only the first time a remote address is seen.
   */
  get(remote: Uint8Array): Path {
    const b = hashAddress(remote) & (PATH_BUCKETS - 1);
    for (let p: Path | null = this.buckets[b]!; p !== null; p = p.bucketNext) {
      if (sameAddress(p.remote, remote)) {
        if (p.generation !== this.routes.generation) this.resolve(p);
        return p;
      }
    }
    if (this.count >= this.maxPaths) this.clear();
    const p = new Path(remote);
    p.bucketNext = this.buckets[b]!;
    this.buckets[b] = p;
    this.count++;
    this.resolve(p);
    return p;
  }

  /** Brings a path up to date with the route table. */
  refresh(p: Path): Path {
    if (p.generation !== this.routes.generation) this.resolve(p);
    return p;
  }

  /** Forgets every path (cached references stay valid objects and re-resolve on their own). */
  clear(): void {
    this.buckets.fill(null);
    this.count = 0;
  }

  /** Every path (allocates; for listings). */
  all(): Path[] {
    const out: Path[] = [];
    for (const head of this.buckets) for (let p = head; p !== null; p = p.bucketNext) out.push(p);
    return out;
  }

  private resolve(p: Path): void {
    p.generation = this.routes.generation;
    p.neighbor = null;
    p.hasSource = false;
    p.group = false;
    const remote = p.remote;
    if (isLimitedBroadcast(remote)) {
      // 255.255.255.255 leaves on the first interface that has an IPv4 address.
      p.iface = null;
      for (const i of this.interfaces()) {
        if (i.canSend && i.firstAddress(true) !== null) {
          p.iface = i;
          break;
        }
      }
      p.nextHop.set(remote);
      p.group = true;
    } else if (isMulticastAddress(remote) || (!p.v4 && isLinkLocalV6(remote))) {
      // Multicast and link-local destinations are on-link; the first interface that can reach them.
      p.iface = null;
      for (const i of this.interfaces()) {
        if (i.canSend && i.firstAddress(p.v4) !== null) {
          p.iface = i;
          break;
        }
      }
      p.nextHop.set(remote);
      p.group = isMulticastAddress(remote);
    } else {
      const r = this.routes.lookup(remote);
      if (r === null) {
        p.iface = null;
        return;
      }
      p.iface = r.iface;
      p.nextHop.set(r.gateway ?? remote);
      if (r.gateway === null && p.v4) p.group = r.iface.isDirectedBroadcast(remote);
    }
    const iface = p.iface;
    if (iface === null) return;
    const src = iface.selectSource(remote, p.v4);
    if (src !== null) {
      p.source.set(src);
      p.hasSource = true;
    }
  }
}
