/**
 * IPv6 Neighbor Discovery (RFC 4861) and stateless address autoconfiguration (RFC 4862) for a
 * host: neighbor solicitations and advertisements (address resolution and unreachability
 * detection for the neighbor cache), duplicate address detection of every address before it is
 * used, router solicitations, and router advertisements (default router, on-link prefixes,
 * autonomous addresses built from the prefix and the EUI-64 interface identifier, link MTU).
 * Every received message passes the validity checks of RFC 4861 6.1 and 7.1 (hop limit 255,
 * code 0, lengths, option lengths, source and destination rules) or is a counted drop.
 */
import type { NetBufferList } from '../../../nbl/index.js';
import { setU16 } from '../../../wire/bytes.js';
import { internetChecksum, pseudoHeaderSum } from '../../../wire/checksum.js';
import {
  ND_NA_FLAG_OVERRIDE,
  ND_NA_FLAG_ROUTER,
  ND_NA_FLAG_SOLICITED,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_OPT_MTU,
  ND_OPT_PI_FLAG_AUTO,
  ND_OPT_PI_FLAG_ONLINK,
  ND_OPT_PREFIX_INFORMATION,
  ND_OPT_SOURCE_LINKADDR,
  ND_OPT_TARGET_LINKADDR,
  ND_ROUTER_ADVERT,
  ND_ROUTER_SOLICIT,
  NdpOptionCursor,
  type Icmpv6Packet,
} from '../../../wire/icmpv6.js';
import { IPPROTO_ICMPV6 } from '../../../wire/ip.js';
import { IPV6_MIN_MTU } from '../../../wire/ipv6.js';
import { WireReason } from '../../../wire/reason.js';
import {
  ALL_NODES,
  ALL_ROUTERS,
  UNSPECIFIED_V6,
  isLinkLocalV6,
  isMulticastAddress,
  isUnspecifiedAddress,
  sameAddress,
  solicitedNodeAddress,
  writeEui64InterfaceId,
} from './addresses.js';
import { AddressState, IpAddressEntry, type IpInterface } from './interface.js';
import { TxChecksum, type IpLayer } from './ip.js';
import { Route } from './route.js';
import { IpDropReason } from './statistics.js';
import type { TcpIp } from './stack.js';

/** RFC 4861 10: MAX_RTR_SOLICITATION_DELAY, RTR_SOLICITATION_INTERVAL, MAX_RTR_SOLICITATIONS. */
const MAX_RTR_SOLICITATION_DELAY_MS = 1000;
const RTR_SOLICITATION_INTERVAL_MS = 4000;
const MAX_RTR_SOLICITATIONS = 3;
/** RFC 4862 5.5.3 (e): a received valid lifetime shorter than this cannot shorten a longer one. */
const TWO_HOURS_MS = 2 * 3600 * 1000;

/** Neighbor Discovery and address autoconfiguration of one stack. */
export class NdpLayer {
  readonly stack: TcpIp;
  private readonly cursor: NdpOptionCursor;
  private readonly target: Uint8Array;
  private readonly group: Uint8Array;

  constructor(stack: TcpIp) {
    this.stack = stack;
    this.cursor = new NdpOptionCursor();
    this.target = new Uint8Array(16);
    this.group = new Uint8Array(16);
  }

  private invalid(iface: IpInterface, reason: number): void {
    if (reason !== WireReason.Ok) this.stack.counters.icmpv6.wire[reason]!++;
    iface.drops[IpDropReason.NdpInvalid]!++;
  }

  /** A Neighbor Discovery message (checksum verified; `v` wraps it). */
  input(ip: IpLayer, v: Icmpv6Packet): void {
    const iface = ip.rxIface!;
    if (ip.rxHopLimit !== 255) return this.invalid(iface, WireReason.Ok);
    const r = v.checkNdp();
    if (r !== WireReason.Ok) return this.invalid(iface, r);
    // The options: link-layer addresses must be 8 bytes on Ethernet (RFC 4861 4.6.1).
    let sll = -1;
    let tll = -1;
    const cur = this.cursor;
    cur.reset(v);
    while (cur.next()) {
      if (cur.type === ND_OPT_SOURCE_LINKADDR || cur.type === ND_OPT_TARGET_LINKADDR) {
        if (cur.length !== 8) return this.invalid(iface, WireReason.BadOptionLength);
        if (cur.type === ND_OPT_SOURCE_LINKADDR) sll = cur.linkLayerAddressOffset;
        else tll = cur.linkLayerAddressOffset;
      }
    }
    if (cur.reason !== WireReason.Ok) return this.invalid(iface, cur.reason);
    switch (v.type) {
      case ND_NEIGHBOR_SOLICIT:
        this.solicitInput(ip, iface, v, sll);
        return;
      case ND_NEIGHBOR_ADVERT:
        this.advertInput(ip, iface, v, tll);
        return;
      case ND_ROUTER_ADVERT:
        this.routerAdvertInput(ip, iface, v, sll);
        return;
      default:
        // Router solicitations are for routers; redirects are not followed.
        return;
    }
  }

  /** Neighbor solicitation (RFC 4861 7.2.3, RFC 4862 5.4.3). */
  private solicitInput(ip: IpLayer, iface: IpInterface, v: Icmpv6Packet, sll: number): void {
    const n = this.stack.counters.neighbor;
    const b = v.bytes;
    const t = this.target;
    for (let i = 0; i < 16; i++) t[i] = b[v.targetOffset + i]!;
    if (isMulticastAddress(t)) return this.invalid(iface, WireReason.Ok);
    const dad = isUnspecifiedAddress(ip.src);
    if (dad) {
      solicitedNodeAddress(this.group, t);
      if (!sameAddress(ip.dst, this.group) || sll >= 0) return this.invalid(iface, WireReason.Ok);
    }
    n.nsIn++;
    const a = iface.findAddress(t);
    if (a === null || a.state === AddressState.Duplicate) return;
    if (a.state === AddressState.Tentative) {
      // Someone else is doing DAD for the same address: ours is a duplicate.
      if (dad) this.duplicate(a);
      return;
    }
    if (!dad && sll >= 0) iface.neighbors.update(ip.src, b, sll, false, true, true, -1);
    const dst = dad ? ALL_NODES : ip.src;
    this.sendAdvert(iface, a.address, dst, !dad, true);
  }

  /** Neighbor advertisement (RFC 4861 7.2.5, RFC 4862 5.4.4). */
  private advertInput(ip: IpLayer, iface: IpInterface, v: Icmpv6Packet, tll: number): void {
    const n = this.stack.counters.neighbor;
    const b = v.bytes;
    const t = this.target;
    for (let i = 0; i < 16; i++) t[i] = b[v.targetOffset + i]!;
    const flags = b[v.offset + 4]!;
    const solicited = (flags & ND_NA_FLAG_SOLICITED) !== 0;
    if (isMulticastAddress(t) || (solicited && isMulticastAddress(ip.dst))) return this.invalid(iface, WireReason.Ok);
    n.naIn++;
    const a = iface.findAddress(t);
    if (a !== null) {
      if (a.state === AddressState.Tentative) this.duplicate(a);
      else if (a.state !== AddressState.Duplicate) n.dadConflicts++;
      return;
    }
    if (tll < 0) {
      // Without a target link-layer address only a known entry can be confirmed.
      const e = iface.neighbors.lookup(t);
      if (e !== null && e.hasMac && solicited) iface.neighbors.update(t, e.mac, 0, true, false, false, (flags & ND_NA_FLAG_ROUTER) !== 0 ? 1 : 0);
      return;
    }
    iface.neighbors.update(t, b, tll, solicited, (flags & ND_NA_FLAG_OVERRIDE) !== 0, false, (flags & ND_NA_FLAG_ROUTER) !== 0 ? 1 : 0);
  }

  /** Router advertisement (RFC 4861 6.3.4, prefix information per RFC 4862 5.5.3). */
  private routerAdvertInput(ip: IpLayer, iface: IpInterface, v: Icmpv6Packet, sll: number): void {
    const stack = this.stack;
    if (!isLinkLocalV6(ip.src) || v.length < 16) return this.invalid(iface, WireReason.Ok);
    stack.counters.neighbor.raIn++;
    if (stack.forwarding) return; // a router does not configure itself from advertisements
    const cfg = stack.configOf(iface.name);
    const now = stack.now();
    const b = v.bytes;
    if (sll >= 0) iface.neighbors.update(ip.src, b, sll, false, true, true, 1);
    iface.rsRemaining = 0;
    stack.timers.remove(iface.rsTimer);
    // Default router.
    const lifetime = v.routerLifetime;
    const routes = stack.routeTable;
    routes.removeWhere((x) => x.origin === 'router-advertisement' && x.prefixLength === 0 && x.iface === iface && x.gateway !== null && sameAddress(x.gateway, ip.src));
    if (lifetime > 0) {
      const r = new Route(UNSPECIFIED_V6, 0, iface, ip.src, 256, 'router-advertisement');
      r.expiresAt = now + lifetime * 1000;
      routes.add(r);
    }
    const cur = this.cursor;
    cur.reset(v);
    while (cur.next()) {
      if (cur.type === ND_OPT_MTU && cur.length === 8) {
        const mtu = cur.mtu;
        if (mtu >= IPV6_MIN_MTU && mtu <= iface.linkMtu) iface.mtuV6 = mtu;
      } else if (cur.type === ND_OPT_PREFIX_INFORMATION && cur.length === 32) {
        const len = cur.prefixLength;
        const flags = cur.prefixFlags;
        const valid = cur.validLifetime;
        const preferred = cur.preferredLifetime;
        const prefix = b.slice(cur.prefixOffset, cur.prefixOffset + 16);
        if (isLinkLocalV6(prefix) || preferred > valid || len > 128) continue;
        const validMs = valid === 0xffffffff ? Infinity : valid * 1000;
        const preferredMs = preferred === 0xffffffff ? Infinity : preferred * 1000;
        if ((flags & ND_OPT_PI_FLAG_ONLINK) !== 0) {
          routes.removeWhere((x) => x.origin === 'router-advertisement' && x.gateway === null && x.iface === iface && x.prefixLength === len && sameAddress(x.destination, prefix));
          if (valid > 0) {
            const r = new Route(prefix, len, iface, null, 256, 'router-advertisement');
            r.expiresAt = now + validMs;
            routes.add(r);
          }
        }
        if ((flags & ND_OPT_PI_FLAG_AUTO) !== 0 && cfg.slaac && len === 64 && valid > 0) {
          const addr = new Uint8Array(16);
          addr.set(prefix.subarray(0, 8));
          writeEui64InterfaceId(addr, iface.mac);
          let a = iface.findAddress(addr);
          if (a === null) {
            a = new IpAddressEntry(iface, addr, 64, 'router-advertisement');
            a.validUntil = now + validMs;
            a.preferredUntil = now + preferredMs;
            stack.addAddress(iface, a);
          } else if (a.origin === 'router-advertisement') {
            // RFC 4862 5.5.3 (e): a short lifetime may not cut a long remaining one below two hours.
            const remaining = a.validUntil - now;
            if (validMs > TWO_HOURS_MS || validMs > remaining) a.validUntil = now + validMs;
            else if (remaining > TWO_HOURS_MS) a.validUntil = now + TWO_HOURS_MS;
            a.preferredUntil = now + preferredMs;
            if (a.state === AddressState.Deprecated && preferredMs > 0) a.state = AddressState.Preferred;
          }
        }
      }
    }
    this.armLifetimes(iface);
  }

  /** Arms the interface's lifetime timer for the next route or address expiry. */
  armLifetimes(iface: IpInterface): void {
    const stack = this.stack;
    let next = Infinity;
    for (const r of stack.routeTable.list()) if (r.iface === iface && r.expiresAt < next) next = r.expiresAt;
    for (const a of iface.addresses) {
      if (a.state === AddressState.Preferred && a.preferredUntil < next) next = a.preferredUntil;
      if (a.validUntil < next) next = a.validUntil;
    }
    if (next === Infinity) stack.timers.remove(iface.lifetimeTimer);
    else stack.setTimer(iface.lifetimeTimer, next);
  }

  /** Route and address lifetimes ran out (RFC 4861 6.3.5, RFC 4862 5.5.4). */
  lifetimesExpired(iface: IpInterface): void {
    const stack = this.stack;
    const now = stack.now();
    stack.routeTable.removeWhere((r) => r.iface === iface && r.expiresAt <= now);
    for (const a of iface.addresses.slice()) {
      if (a.validUntil <= now) stack.removeAddress(a);
      else if (a.state === AddressState.Preferred && a.preferredUntil <= now) a.state = AddressState.Deprecated;
    }
    this.armLifetimes(iface);
  }

  // =============================================================================================
  // Duplicate address detection (RFC 4862 5.4)
  // =============================================================================================

  /** Starts DAD for a new tentative address: a random delay, then `dadTransmits` solicitations RetransTimer apart. */
  startDad(a: IpAddressEntry): void {
    const stack = this.stack;
    a.state = AddressState.Tentative;
    a.dadRemaining = stack.dadTransmits;
    if (a.dadRemaining === 0) {
      this.dadDone(a);
      return;
    }
    const delay = ((stack.random32() >>> 0) / 0x100000000) * MAX_RTR_SOLICITATION_DELAY_MS;
    stack.setTimer(a.timer, stack.now() + delay);
  }

  /** The DAD timer of an address: send the next probe, or declare the address unique. */
  dadTimer(a: IpAddressEntry): void {
    if (a.state !== AddressState.Tentative) return;
    const iface = a.iface;
    if (!iface.canSend) {
      // Not on the link yet: try again when it can send.
      this.stack.setTimer(a.timer, this.stack.now() + this.stack.neighborTimings.retransTimerMs);
      return;
    }
    if (a.dadRemaining > 0) {
      a.dadRemaining--;
      this.sendSolicit(iface, a.address, null, true);
      this.stack.setTimer(a.timer, this.stack.now() + this.stack.neighborTimings.retransTimerMs);
      return;
    }
    this.dadDone(a);
  }

  private dadDone(a: IpAddressEntry): void {
    a.state = a.preferredUntil <= this.stack.now() ? AddressState.Deprecated : AddressState.Preferred;
    this.stack.counters.neighbor.dadSucceeded++;
    this.stack.addressesChanged(a.iface);
  }

  /** Another node uses `a` (RFC 4862 5.4.5): it is not used, and its group is left. */
  private duplicate(a: IpAddressEntry): void {
    a.state = AddressState.Duplicate;
    this.stack.timers.remove(a.timer);
    this.stack.counters.neighbor.dadConflicts++;
    a.iface.updateReceiveFilter();
    this.stack.addressesChanged(a.iface);
  }

  // =============================================================================================
  // Sending
  // =============================================================================================

  /**
   * Sends a neighbor solicitation for `target`: to its solicited-node group, or to `unicastMac`
   * (probing a known neighbor); `dad` sends the DAD form (unspecified source, no source link-layer
   * option).
   */
  sendSolicit(iface: IpInterface, target: Uint8Array, unicastMac: Uint8Array | null, dad: boolean): void {
    let src: Uint8Array = UNSPECIFIED_V6;
    if (!dad) {
      const s = iface.selectSource(target, false);
      if (s === null) return; // no usable address yet: the neighbor entry retries
      src = s;
    }
    const withSll = !dad;
    const len = 24 + (withSll ? 8 : 0);
    const nbl = iface.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d.fill(0, at, at + len);
    d[at] = ND_NEIGHBOR_SOLICIT;
    d.set(target, at + 8);
    if (withSll) {
      d[at + 24] = ND_OPT_SOURCE_LINKADDR;
      d[at + 25] = 1;
      d.set(iface.mac, at + 26);
    }
    let dst: Uint8Array;
    if (unicastMac === null) {
      solicitedNodeAddress(this.group, target);
      dst = this.group;
    } else {
      dst = target;
    }
    setU16(d, at + 2, internetChecksum(d, at, len, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, len)));
    this.stack.counters.neighbor.nsOut++;
    this.send(iface, nbl, src, dst, ND_NEIGHBOR_SOLICIT);
  }

  /** Sends a neighbor advertisement for our `target` to `dst`, with our link-layer address (RFC 4861 7.2.4). */
  sendAdvert(iface: IpInterface, target: Uint8Array, dst: Uint8Array, solicited: boolean, override: boolean): void {
    const src = iface.findAddress(target)?.usable === true ? target : iface.selectSource(dst, false);
    if (src === null) return;
    const len = 32;
    const nbl = iface.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d.fill(0, at, at + len);
    d[at] = ND_NEIGHBOR_ADVERT;
    d[at + 4] = (this.stack.forwarding ? ND_NA_FLAG_ROUTER : 0) | (solicited ? ND_NA_FLAG_SOLICITED : 0) | (override ? ND_NA_FLAG_OVERRIDE : 0);
    d.set(target, at + 8);
    d[at + 24] = ND_OPT_TARGET_LINKADDR;
    d[at + 25] = 1;
    d.set(iface.mac, at + 26);
    setU16(d, at + 2, internetChecksum(d, at, len, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, len)));
    this.stack.counters.neighbor.naOut++;
    this.send(iface, nbl, src, dst, ND_NEIGHBOR_ADVERT);
  }

  /** Sends a router solicitation to all-routers (RFC 4861 6.3.7). */
  sendRouterSolicit(iface: IpInterface): void {
    let src: Uint8Array = UNSPECIFIED_V6;
    for (const a of iface.addresses) if (!a.v4 && a.usable && isLinkLocalV6(a.address)) src = a.address;
    const withSll = !isUnspecifiedAddress(src);
    const len = 8 + (withSll ? 8 : 0);
    const nbl = iface.allocatePacket(len);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    d.fill(0, at, at + len);
    d[at] = ND_ROUTER_SOLICIT;
    if (withSll) {
      d[at + 8] = ND_OPT_SOURCE_LINKADDR;
      d[at + 9] = 1;
      d.set(iface.mac, at + 10);
    }
    setU16(d, at + 2, internetChecksum(d, at, len, pseudoHeaderSum(src, ALL_ROUTERS, IPPROTO_ICMPV6, len)));
    this.stack.counters.neighbor.rsOut++;
    this.send(iface, nbl, src, ALL_ROUTERS, ND_ROUTER_SOLICIT);
  }

  /** Starts router solicitation on an interface that runs SLAAC. */
  startRouterSolicitation(iface: IpInterface): void {
    iface.rsRemaining = MAX_RTR_SOLICITATIONS;
    const delay = ((this.stack.random32() >>> 0) / 0x100000000) * MAX_RTR_SOLICITATION_DELAY_MS;
    this.stack.setTimer(iface.rsTimer, this.stack.now() + delay);
  }

  /** The router solicitation timer of an interface. */
  routerSolicitTimer(iface: IpInterface): void {
    if (iface.rsRemaining <= 0) return;
    if (iface.canSend) {
      iface.rsRemaining--;
      this.sendRouterSolicit(iface);
    }
    if (iface.rsRemaining > 0) this.stack.setTimer(iface.rsTimer, this.stack.now() + RTR_SOLICITATION_INTERVAL_MS);
  }

  private send(iface: IpInterface, nbl: NetBufferList, src: Uint8Array, dst: Uint8Array, type: number): void {
    const c = this.stack.counters.icmpv6;
    c.outMsgs++;
    c.outTypes[type]!++;
    const path = this.stack.ip.onLinkPath(iface, dst);
    this.stack.ip.sendDatagram(path, nbl, IPPROTO_ICMPV6, src, dst, 255, TxChecksum.None);
  }
}
