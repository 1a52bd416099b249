/**
 * UDP (RFC 768, RFC 1122 4.1, RFC 8200 8.1) and its sockets. A `UdpSocket` is shaped like Node's
 * `dgram.Socket` where it matters: `send(data, address, port)`, 'message' events with a remote
 * info record, `address()`, `close()`; and it offers what an in-process user wants besides: an
 * awaitable `receive()` and async iteration over datagrams. Received datagrams are copied out of
 * the NET_BUFFER at this edge (the NBL goes back to the miniport at once); a socket without a
 * listener queues up to its limit and then drops and counts, as a full socket buffer does.
 */
import { EventEmitter } from 'node:events';
import { NdisError } from '../../../base/errors.js';
import { formatIp, isIpv4Mapped, parseIp } from '../../../wire/address.js';
import { NDIS_CSUM_RX } from '../../../nbl/index.js';
import { onesComplementSum, pseudoHeaderSum } from '../../../wire/checksum.js';
import { ICMP4_DST_UNREACH, ICMP4_UNREACH_PORT } from '../../../wire/icmpv4.js';
import { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT } from '../../../wire/icmpv6.js';
import { IPPROTO_UDP } from '../../../wire/ip.js';
import { WireReason } from '../../../wire/reason.js';
import { UDP_HEADER_LENGTH, UdpPacket, emitUdpHeader } from '../../../wire/udp.js';
import { isUnspecifiedAddress, sameAddress } from './addresses.js';
import { UdpSocketError } from './errors.js';
import { TxChecksum, type IpLayer } from './ip.js';
import { IpDropReason } from './statistics.js';
import type { TcpIp } from './stack.js';

/** A received datagram. */
export interface UdpDatagram {
  /** The payload (a copy owned by the receiver). */
  data: Uint8Array;
  /** Sender address text. */
  address: string;
  /** Sender port. */
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** dgram's `rinfo`: who sent a datagram. */
export interface UdpRemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

/** Per-socket counters. */
export class UdpSocketCounters {
  received = 0;
  sent = 0;
  /** Datagrams dropped because the queue was full. */
  dropped = 0;
}

/** A UDP endpoint bound to a local port (and optionally one local address). */
export class UdpSocket extends EventEmitter {
  readonly layer: UdpLayer;
  /** Local port. */
  readonly port: number;
  /** Local address, or null for every address (dual stack). */
  readonly localAddress: Uint8Array | null;
  /** Bound to IPv4 addresses only (`0.0.0.0`). */
  readonly v4Only: boolean;
  readonly counters: UdpSocketCounters;
  /** Datagrams kept while nobody reads (default 256). */
  maxQueue: number;
  private readonly queue: UdpDatagram[];
  private readonly readers: { resolve: (d: UdpDatagram) => void; reject: (e: Error) => void }[];
  closed: boolean;

  constructor(layer: UdpLayer, port: number, localAddress: Uint8Array | null, v4Only: boolean) {
    super();
    this.layer = layer;
    this.port = port;
    this.localAddress = localAddress;
    this.v4Only = v4Only;
    this.counters = new UdpSocketCounters();
    this.maxQueue = 256;
    this.queue = [];
    this.readers = [];
    this.closed = false;
  }

  /**
   * Sends `data` to `address`:`port` (dgram.Socket.send). Throws a `UdpSocketError` when the
   * stack cannot send it (no route, no source address, too long, no buffer) and an NdisError for
   * bad arguments.
   */
  send(data: Uint8Array | string, address: string, port: number): void {
    if (this.closed) throw new UdpSocketError('EBADF', `udp: socket on port ${this.port} is closed`);
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.layer.send(this, bytes, address, port);
  }

  /** Waits for the next datagram (rejects with ERR_NDIS_TIMEOUT after `timeoutMs` of stack time, or when closed). */
  receive(timeoutMs = this.layer.stack.readTimeoutMs): Promise<UdpDatagram> {
    const d = this.queue.shift();
    if (d !== undefined) return Promise.resolve(d);
    if (this.closed) return Promise.reject(new NdisError('ERR_NDIS_ILLEGAL_STATE', `udp: socket on port ${this.port} is closed`));
    const p = new Promise<UdpDatagram>((resolve, reject) => this.readers.push({ resolve, reject }));
    return this.layer.stack.ndis.until(p, timeoutMs);
  }

  /** Datagrams as an async iterator; ends when the socket closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<UdpDatagram> {
    while (!this.closed || this.queue.length > 0) {
      try {
        yield await this.receive();
      } catch (e) {
        if (this.closed) return;
        throw e;
      }
    }
  }

  /** `{ address, family, port }` of the socket (dgram.Socket.address). */
  address(): { address: string; family: string; port: number } {
    const a = this.localAddress;
    if (a === null) return { address: this.v4Only ? '0.0.0.0' : '::', family: this.v4Only ? 'IPv4' : 'IPv6', port: this.port };
    return { address: formatIp(a), family: isIpv4Mapped(a) ? 'IPv4' : 'IPv6', port: this.port };
  }

  /** Datagrams waiting to be read. */
  get queued(): number {
    return this.queue.length;
  }

  /** Unbinds the port; pending `receive()` calls reject; emits 'close'. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.unbind(this);
    const readers = this.readers.splice(0);
    for (const r of readers) r.reject(new NdisError('ERR_NDIS_ILLEGAL_STATE', `udp: socket on port ${this.port} closed`));
    this.emit('close');
  }

  /** A datagram for this socket (a copy made by the caller). */
  deliver(d: UdpDatagram): void {
    this.counters.received++;
    if (this.listenerCount('message') > 0) {
      try {
        this.emit('message', d.data, { address: d.address, family: d.family, port: d.port, size: d.data.length } satisfies UdpRemoteInfo);
      } catch (err) {
        // A listener threw: the stack stays consistent; the error surfaces as an uncaught exception.
        queueMicrotask(() => {
          throw err;
        });
      }
      return;
    }
    const r = this.readers.shift();
    if (r !== undefined) {
      r.resolve(d);
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.counters.dropped++;
      this.layer.stack.counters.udp.queueDrops++;
      return;
    }
    this.queue.push(d);
  }
}

/** UDP of one stack: the port table, receive, send. */
export class UdpLayer {
  readonly stack: TcpIp;
  private readonly sockets: Map<number, UdpSocket[]>;
  private readonly view: UdpPacket;
  private nextEphemeral: number;

  constructor(stack: TcpIp) {
    this.stack = stack;
    this.sockets = new Map();
    this.view = new UdpPacket();
    this.nextEphemeral = 49152 + (stack.random32() % 16384);
  }

  /**
   * Binds a socket to `port` (0 picks an ephemeral port, RFC 6335 49152-65535) on `address`
   * (omitted or `::`: every address; `0.0.0.0`: every IPv4 address). Throws an NdisError when the
   * port is taken or the arguments are bad.
   */
  bind(port = 0, address?: string): UdpSocket {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `udp.bind: port must be an integer from 0 to 65535; got ${port}`);
    let local: Uint8Array | null = null;
    let v4Only = false;
    if (address !== undefined) {
      const a = parseIp(address);
      if (a === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `udp.bind: '${address}' is not an IP address`);
      if (isUnspecifiedAddress(a)) v4Only = isIpv4Mapped(a);
      else local = a;
    }
    if (port === 0) port = this.ephemeralPort();
    const list = this.sockets.get(port) ?? [];
    for (const s of list) {
      // Two wildcard sockets, or two on the same address, cannot share a port; a specific address may sit beside a wildcard (the specific one wins).
      const overlap = s.localAddress === null ? local === null : local !== null && sameAddress(s.localAddress, local);
      if (overlap) throw new NdisError('ERR_NDIS_ALREADY_REGISTERED', `udp.bind: port ${port} is already bound (EADDRINUSE); close that socket or choose another port`);
    }
    const s = new UdpSocket(this, port, local, v4Only);
    list.push(s);
    this.sockets.set(port, list);
    return s;
  }

  private ephemeralPort(): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === 65535 ? 49152 : p + 1;
      if (!this.sockets.has(p)) return p;
    }
    throw new NdisError('ERR_NDIS_UNAVAILABLE', 'udp.bind: no ephemeral port is free');
  }

  /** Removes a socket from the port table. */
  unbind(s: UdpSocket): void {
    const list = this.sockets.get(s.port);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.sockets.delete(s.port);
  }

  /** Sockets bound now. */
  get socketCount(): number {
    let n = 0;
    for (const l of this.sockets.values()) n += l.length;
    return n;
  }

  private lookup(port: number, dst: Uint8Array): UdpSocket | null {
    const list = this.sockets.get(port);
    if (list === undefined) return null;
    let wild: UdpSocket | null = null;
    const v4 = isIpv4Mapped(dst);
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.localAddress !== null) {
        if (sameAddress(s.localAddress, dst)) return s;
      } else if (!s.v4Only || v4) wild = s;
    }
    return wild;
  }

  /** A UDP datagram for this host (the IP layer's rx fields describe it). */
  input(ip: IpLayer): void {
    const iface = ip.rxIface!;
    const c = this.stack.counters.udp;
    const v = this.view;
    const r = v.wrap(ip.rxBytes, ip.rxPayloadOffset, ip.rxPayloadLength);
    if (r !== WireReason.Ok) {
      c.wire[r]!++;
      c.inErrors++;
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    const csum = ip.rxChecksumInfo;
    if ((csum & NDIS_CSUM_RX.UdpChecksumFailed) !== 0) {
      c.inErrors++;
      iface.drops[IpDropReason.TransportChecksumOffloadFailed]!++;
      return;
    }
    if ((csum & NDIS_CSUM_RX.UdpChecksumSucceeded) === 0) {
      if (v.checksum === 0) {
        // No checksum: allowed over IPv4 (RFC 768), not over IPv6 (RFC 8200 8.1).
        if (ip.rxV6) {
          c.inErrors++;
          c.wire[WireReason.BadChecksum]!++;
          iface.drops[IpDropReason.TransportChecksum]!++;
          return;
        }
      } else if (onesComplementSum(v.bytes, v.offset, v.udpLength, pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, v.udpLength)) !== 0xffff) {
        c.inErrors++;
        c.wire[WireReason.BadChecksum]!++;
        iface.drops[IpDropReason.TransportChecksum]!++;
        return;
      }
    } else {
      iface.counters.checksumOffloadedIn++;
    }
    const s = this.lookup(v.destinationPort, ip.dst);
    if (s === null) {
      c.noPorts++;
      iface.drops[IpDropReason.NoUdpSocket]!++;
      if (!ip.rxGroup) {
        if (ip.rxV6) this.stack.icmp.sendError6(ip, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0);
        else this.stack.icmp.sendError4(ip, ICMP4_DST_UNREACH, ICMP4_UNREACH_PORT, 0);
      }
      return;
    }
    c.inDatagrams++;
    const off = v.payloadOffset;
    const data = v.bytes.slice(off, off + v.payloadLength);
    s.deliver({ data, address: formatIp(ip.src), port: v.sourcePort, family: ip.rxV6 ? 'IPv6' : 'IPv4' });
  }

  /** Builds and sends one datagram for `s`. */
  send(s: UdpSocket, data: Uint8Array, address: string, port: number): void {
    const stack = this.stack;
    const dst = parseIp(address);
    if (dst === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `udp.send: '${address}' is not an IP address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `udp.send: port must be an integer from 1 to 65535; got ${port}`);
    const v4 = isIpv4Mapped(dst);
    const max = v4 ? 65535 - 20 - UDP_HEADER_LENGTH : 65535 - UDP_HEADER_LENGTH;
    if (data.length > max) throw new UdpSocketError('EMSGSIZE', `udp.send: ${data.length} bytes exceed the ${max}-byte maximum of a UDP datagram`);
    if (s.v4Only && !v4) throw new UdpSocketError('EADDRNOTAVAIL', `udp.send: the socket is bound to IPv4 only; cannot send to ${address}`);
    const path = stack.paths.get(dst);
    const iface = path.iface;
    if (iface === null) throw new UdpSocketError('ENETUNREACH', `udp.send: no route to ${address}`);
    let src: Uint8Array;
    if (s.localAddress !== null) {
      if (isIpv4Mapped(s.localAddress) !== v4) throw new UdpSocketError('EADDRNOTAVAIL', `udp.send: the socket's address ${formatIp(s.localAddress)} cannot reach ${address}`);
      src = s.localAddress;
    } else {
      if (!path.hasSource) throw new UdpSocketError('EADDRNOTAVAIL', `udp.send: no usable source address on '${iface.name}' for ${address}`);
      src = path.source;
    }
    const len = UDP_HEADER_LENGTH + data.length;
    const nbl = iface.allocatePacket(len);
    if (nbl === null) throw new UdpSocketError('ENOBUFS', 'udp.send: no buffer for the datagram');
    const nb = nbl.firstNetBuffer!;
    const d = nb.currentMdl!.buffer;
    const at = nb.currentMdl!.byteOffset + nb.currentMdlOffset;
    emitUdpHeader(d, at, s.port, port, data.length);
    d.set(data, at + UDP_HEADER_LENGTH);
    s.counters.sent++;
    stack.counters.udp.outDatagrams++;
    stack.beginBatch();
    try {
      stack.ip.sendDatagram(path, nbl, IPPROTO_UDP, src, dst, stack.defaultTtl, TxChecksum.Udp);
    } finally {
      stack.endBatch();
    }
  }
}
