/**
 * The neighbor cache of one interface: IP address to Ethernet address, for IPv4 (resolved with
 * ARP, RFC 826) and IPv6 (Neighbor Discovery, RFC 4861) alike, as tcpip.sys keeps one neighbor
 * table per interface for both. Each entry runs the RFC 4861 7.3.2 reachability machine:
 *
 *   INCOMPLETE --solicited answer--> REACHABLE --ReachableTime--> STALE --first send--> DELAY
 *   DELAY --5 s without confirmation--> PROBE --unicast solicitations, 1 s apart--> (answer) REACHABLE
 *   INCOMPLETE / PROBE --no answer after 3 solicitations--> UNREACHABLE (queued packets dropped)
 *
 * While an entry is INCOMPLETE, packets for it wait in a bounded queue of NET_BUFFER_LISTs that
 * already hold their Ethernet header; resolution writes the destination address into each and
 * hands them to the interface's send queue. Lookup is a hash over the 16-byte address with chained
 * entries, allocation-free.
 */
import type { NetBufferList } from '../../../nbl/net-buffer-list.js';
import { formatIp, formatMac, isIpv4Mapped } from '../../../wire/address.js';
import { hashAddress, sameAddress } from './addresses.js';
import { IpDropReason } from './statistics.js';
import { StackTimer, type StackTimerTarget } from './timers.js';
import type { IpInterface } from './interface.js';

/** Neighbor states (RFC 4861 7.3.2, plus PERMANENT for static entries and UNREACHABLE after failure). */
export const NeighborState = {
  Incomplete: 0,
  Reachable: 1,
  Stale: 2,
  Delay: 3,
  Probe: 4,
  Permanent: 5,
  Unreachable: 6,
} as const;

const STATE_NAMES = ['incomplete', 'reachable', 'stale', 'delay', 'probe', 'permanent', 'unreachable'];

/** Name of a `NeighborState` (as `netsh interface ip show neighbors` prints them, lower case). */
export function neighborStateName(s: number): string {
  return STATE_NAMES[s] ?? `state ${s}`;
}

/** Protocol constants of address resolution (RFC 4861 10, used for ARP as well). */
export interface NeighborTimings {
  /** REACHABLE_TIME base, ms (randomized by 0.5..1.5, RFC 4861 6.3.2). */
  reachableTimeMs: number;
  /** RetransTimer: interval between solicitations, ms. */
  retransTimerMs: number;
  /** MAX_MULTICAST_SOLICIT: broadcast/multicast solicitations while INCOMPLETE. */
  maxMulticastSolicit: number;
  /** MAX_UNICAST_SOLICIT: unicast probes in PROBE. */
  maxUnicastSolicit: number;
  /** DELAY_FIRST_PROBE_TIME, ms. */
  delayFirstProbeMs: number;
  /** How long an UNREACHABLE entry is kept before it is forgotten, ms. */
  unreachableHoldMs: number;
  /** Packets queued per entry while it resolves. */
  queueLength: number;
  /** Entries per interface. */
  maxEntries: number;
}

/** One neighbor (IP address and, once known, its Ethernet address). */
export class NeighborEntry implements StackTimerTarget {
  readonly cache: NeighborCache;
  /** The neighbor's IP address (16 bytes). */
  readonly address: Uint8Array;
  /** Its Ethernet address; meaningful when `hasMac`. */
  readonly mac: Uint8Array;
  hasMac: boolean;
  state: number;
  /** Solicitations sent in the current INCOMPLETE or PROBE phase. */
  probes: number;
  /** The neighbor said it is a router (NA R flag). */
  isRouter: boolean;
  /** False once removed from its cache (cached references must look again). */
  inCache: boolean;
  /** Stack time of the last resolution failure (-Infinity when none). */
  lastFailureAt: number;
  /** Stack time of the last reachability confirmation. */
  confirmedAt: number;
  queueHead: NetBufferList | null;
  queueTail: NetBufferList | null;
  queueCount: number;
  bucketNext: NeighborEntry | null;
  readonly timer: StackTimer;

  constructor(cache: NeighborCache, address: Uint8Array) {
    this.cache = cache;
    this.address = new Uint8Array(16);
    this.address.set(address);
    this.mac = new Uint8Array(6);
    this.hasMac = false;
    this.state = NeighborState.Incomplete;
    this.probes = 0;
    this.isRouter = false;
    this.inCache = true;
    this.lastFailureAt = -Infinity;
    this.confirmedAt = -Infinity;
    this.queueHead = null;
    this.queueTail = null;
    this.queueCount = 0;
    this.bucketNext = null;
    this.timer = new StackTimer(this, 0);
  }

  /** True for an IPv4 neighbor (resolved with ARP). */
  get v4(): boolean {
    return isIpv4Mapped(this.address);
  }

  onStackTimer(): void {
    this.cache.timerExpired(this);
  }
}

const BUCKETS = 64;

/** The neighbor table of one interface. */
export class NeighborCache {
  readonly iface: IpInterface;
  private readonly buckets: (NeighborEntry | null)[];
  /** Entries in the table. */
  count: number;

  constructor(iface: IpInterface) {
    this.iface = iface;
    this.buckets = new Array<NeighborEntry | null>(BUCKETS).fill(null);
    this.count = 0;
  }

  private get timings(): NeighborTimings {
    return this.iface.stack.neighborTimings;
  }

  /** The entry for `address`, or null. */
  lookup(address: Uint8Array): NeighborEntry | null {
    for (let e: NeighborEntry | null = this.buckets[hashAddress(address) & (BUCKETS - 1)]!; e !== null; e = e.bucketNext) {
      if (sameAddress(e.address, address)) return e;
    }
    return null;
  }

  /** Every entry (allocates; for listings). */
  entries(): NeighborEntry[] {
    const out: NeighborEntry[] = [];
    for (const head of this.buckets) for (let e = head; e !== null; e = e.bucketNext) out.push(e);
    return out;
  }

  /** Creates an INCOMPLETE entry for `address` (making room by forgetting a stale one when full). */
  create(address: Uint8Array): NeighborEntry {
    if (this.count >= this.timings.maxEntries) this.evictOne();
    const e = new NeighborEntry(this, address);
    const b = hashAddress(address) & (BUCKETS - 1);
    e.bucketNext = this.buckets[b]!;
    this.buckets[b] = e;
    this.count++;
    return e;
  }

  /** Removes an entry, dropping what waits on it. */
  remove(e: NeighborEntry): void {
    if (!e.inCache) return;
    const b = hashAddress(e.address) & (BUCKETS - 1);
    let p: NeighborEntry | null = null;
    for (let x: NeighborEntry | null = this.buckets[b]!; x !== null; x = x.bucketNext) {
      if (x === e) {
        if (p === null) this.buckets[b] = x.bucketNext;
        else p.bucketNext = x.bucketNext;
        break;
      }
      p = x;
    }
    e.inCache = false;
    e.bucketNext = null;
    this.count--;
    this.iface.stack.timers.remove(e.timer);
    this.dropQueue(e, IpDropReason.NeighborUnreachable);
  }

  /** Forgets every entry but the permanent ones (media disconnect, unbind). */
  flush(keepPermanent = true): void {
    for (const e of this.entries()) if (!keepPermanent || e.state !== NeighborState.Permanent) this.remove(e);
  }

  private evictOne(): void {
    let victim: NeighborEntry | null = null;
    for (const head of this.buckets) {
      for (let e = head; e !== null; e = e.bucketNext) {
        if (e.state === NeighborState.Unreachable || e.state === NeighborState.Stale) {
          if (victim === null || e.confirmedAt < victim.confirmedAt) victim = e;
        }
      }
    }
    if (victim === null) {
      for (const head of this.buckets) {
        for (let e = head; e !== null; e = e.bucketNext) if (e.state !== NeighborState.Permanent && (victim === null || e.confirmedAt < victim.confirmedAt)) victim = e;
      }
    }
    if (victim !== null) this.remove(victim);
  }

  /**
   * Sends `nbl` (its Ethernet header in place, destination to fill) to neighbor `e`, resolving the
   * address first when needed (RFC 4861 7.2.2 and 7.3.3: the first send to a STALE entry moves it
   * to DELAY).
   * @cost O(1); no allocation.
   */
  send(e: NeighborEntry, nbl: NetBufferList): void {
    switch (e.state) {
      case NeighborState.Reachable:
      case NeighborState.Permanent:
      case NeighborState.Delay:
      case NeighborState.Probe:
        this.iface.writeDestinationMac(nbl, e.mac, 0);
        this.iface.enqueueTx(nbl);
        return;
      case NeighborState.Stale:
        this.iface.writeDestinationMac(nbl, e.mac, 0);
        this.iface.enqueueTx(nbl);
        e.state = NeighborState.Delay;
        this.arm(e, this.timings.delayFirstProbeMs);
        return;
      case NeighborState.Unreachable:
        // A new packet starts a new resolution (RFC 4861 7.3.3).
        e.state = NeighborState.Incomplete;
        e.probes = 0;
        this.queue(e, nbl);
        this.solicit(e, false);
        return;
      default:
        this.queue(e, nbl);
        if (e.probes === 0 && !e.timer.armed) this.solicit(e, false);
    }
  }

  /** Queues `nbl` on an entry that is resolving (the oldest goes when the queue is full). */
  private queue(e: NeighborEntry, nbl: NetBufferList): void {
    const limit = this.timings.queueLength;
    if (e.queueCount >= limit && e.queueHead !== null) {
      // RFC 4861 7.2.2: when the queue overflows, the oldest packet makes room.
      const old = e.queueHead;
      e.queueHead = old.next;
      if (e.queueHead === null) e.queueTail = null;
      old.next = null;
      e.queueCount--;
      this.iface.dropTx(old, IpDropReason.NeighborQueueFull);
    }
    nbl.next = null;
    if (e.queueTail === null) e.queueHead = nbl;
    else e.queueTail.next = nbl;
    e.queueTail = nbl;
    e.queueCount++;
  }

  private dropQueue(e: NeighborEntry, reason: number): void {
    let x = e.queueHead;
    e.queueHead = null;
    e.queueTail = null;
    e.queueCount = 0;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      this.iface.dropTx(x, reason);
      x = next;
    }
  }

  /** Drops every queued packet (the binding is pausing). */
  dropAllQueued(reason: number): void {
    for (const head of this.buckets) for (let e = head; e !== null; e = e.bucketNext) this.dropQueue(e, reason);
  }

  private flushQueue(e: NeighborEntry): void {
    let x = e.queueHead;
    e.queueHead = null;
    e.queueTail = null;
    e.queueCount = 0;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      this.iface.writeDestinationMac(x, e.mac, 0);
      this.iface.enqueueTx(x);
      x = next;
    }
  }

  private arm(e: NeighborEntry, ms: number): void {
    const stack = this.iface.stack;
    stack.setTimer(e.timer, stack.now() + ms);
  }

  /** Sends a solicitation (ARP request or NS), multicast while INCOMPLETE and unicast in PROBE. */
  private solicit(e: NeighborEntry, unicast: boolean): void {
    e.probes++;
    this.iface.stack.solicitNeighbor(this.iface, e.address, unicast ? e.mac : null);
    this.arm(e, this.timings.retransTimerMs);
  }

  /** The entry's timer expired: retransmit, give up, or age (RFC 4861 7.3.3). */
  timerExpired(e: NeighborEntry): void {
    if (!e.inCache) return;
    const t = this.timings;
    switch (e.state) {
      case NeighborState.Incomplete:
        if (e.probes < t.maxMulticastSolicit) this.solicit(e, false);
        else this.fail(e);
        return;
      case NeighborState.Reachable:
        e.state = NeighborState.Stale;
        return;
      case NeighborState.Delay:
        e.state = NeighborState.Probe;
        e.probes = 0;
        this.solicit(e, true);
        return;
      case NeighborState.Probe:
        if (e.probes < t.maxUnicastSolicit) this.solicit(e, true);
        else this.fail(e);
        return;
      case NeighborState.Unreachable:
        this.remove(e);
        return;
      default:
        return;
    }
  }

  private fail(e: NeighborEntry): void {
    e.state = NeighborState.Unreachable;
    e.hasMac = false;
    e.lastFailureAt = this.iface.stack.now();
    this.iface.stack.counters.neighbor.resolutionFailures++;
    this.dropQueue(e, IpDropReason.NeighborUnreachable);
    this.arm(e, this.timings.unreachableHoldMs);
  }

  private reachableTime(): number {
    const stack = this.iface.stack;
    const base = this.timings.reachableTimeMs;
    // RFC 4861 6.3.2: a uniformly distributed value between 0.5 and 1.5 times the base.
    return base * (0.5 + (stack.random32() >>> 0) / 0x100000000);
  }

  /**
   * Information about a neighbor arrived: a solicited answer (ARP reply to us, NA with S set)
   * confirms reachability; anything else that carries its link-layer address (ARP request, NS
   * with a source link-layer option, unsolicited NA with O set) records it as STALE when it is new
   * or changed (RFC 4861 7.2.3 and 7.2.5, RFC 826's merge). Returns the entry, or null when the
   * information was not applicable.
   */
  update(address: Uint8Array, mac: Uint8Array, macOffset: number, solicited: boolean, override: boolean, createIfMissing: boolean, isRouter: number): NeighborEntry | null {
    let e = this.lookup(address);
    if (e === null) {
      if (!createIfMissing) return null;
      e = this.create(address);
      setMac(e, mac, macOffset);
      e.state = solicited ? NeighborState.Reachable : NeighborState.Stale;
      if (solicited) {
        e.confirmedAt = this.iface.stack.now();
        this.arm(e, this.reachableTime());
      }
      if (isRouter >= 0) e.isRouter = isRouter === 1;
      return e;
    }
    if (isRouter >= 0) e.isRouter = isRouter === 1;
    if (e.state === NeighborState.Permanent) return e;
    const changed = !e.hasMac || !macEquals(e.mac, mac, macOffset);
    if (e.state === NeighborState.Incomplete || e.state === NeighborState.Unreachable) {
      setMac(e, mac, macOffset);
      e.probes = 0;
      if (solicited) {
        e.state = NeighborState.Reachable;
        e.confirmedAt = this.iface.stack.now();
        this.arm(e, this.reachableTime());
      } else {
        e.state = NeighborState.Stale;
        this.iface.stack.timers.remove(e.timer);
      }
      this.flushQueue(e);
      return e;
    }
    if (changed && !override && solicited) {
      // RFC 4861 7.2.5: a solicited NA without O for a different address does not replace it.
      if (e.state === NeighborState.Reachable) e.state = NeighborState.Stale;
      return e;
    }
    if (changed && (override || !solicited)) setMac(e, mac, macOffset);
    if (solicited) {
      e.state = NeighborState.Reachable;
      e.probes = 0;
      e.confirmedAt = this.iface.stack.now();
      this.arm(e, this.reachableTime());
    } else if (changed) {
      e.state = NeighborState.Stale;
      this.iface.stack.timers.remove(e.timer);
    }
    return e;
  }

  /** Adds or replaces a static entry (as `netsh interface ip add neighbors`). */
  addPermanent(address: Uint8Array, mac: Uint8Array): NeighborEntry {
    const e = this.lookup(address) ?? this.create(address);
    setMac(e, mac, 0);
    e.state = NeighborState.Permanent;
    this.iface.stack.timers.remove(e.timer);
    this.flushQueue(e);
    return e;
  }

  /** A description of every entry (for listings and the status page). */
  describe(): { address: string; mac: string | null; state: string; router: boolean; queued: number }[] {
    return this.entries().map((e) => ({
      address: formatIp(e.address),
      mac: e.hasMac ? formatMac(e.mac) : null,
      state: neighborStateName(e.state),
      router: e.isRouter,
      queued: e.queueCount,
    }));
  }
}

function setMac(e: NeighborEntry, mac: Uint8Array, off: number): void {
  for (let i = 0; i < 6; i++) e.mac[i] = mac[off + i]!;
  e.hasMac = true;
}

function macEquals(a: Uint8Array, b: Uint8Array, off: number): boolean {
  return a[0] === b[off] && a[1] === b[off + 1] && a[2] === b[off + 2] && a[3] === b[off + 3] && a[4] === b[off + 4] && a[5] === b[off + 5];
}

