/**
 * The "hardware" under a VXLAN adapter: the VXLAN tunnel end point (VTEP, RFC 7348 section 4) made
 * of Node dgram sockets. One socket listens on the VXLAN port (4789 unless configured); a small set
 * of send sockets, each bound to its own UDP port in the dynamic range 49152-65535, carries the
 * encapsulated frames, so that picking the socket from a hash of the inner flow gives each flow its
 * own, stable outer source port (the entropy RFC 7348 section 5 recommends for ECMP and RSS in the
 * underlay). With `sourcePorts: 0` the listening socket sends too (one socket, one source port).
 *
 * Each send socket owns a ring of transmit slots in one slab: a frame is copied into a slot (the
 * NIC's "DMA"), the slot goes to dgram, and it is reused once dgram reports the datagram sent.
 * Datagrams of one socket complete in the order they were sent, so the ring frees from its head.
 *
 * A multicast address in the remote list is joined on the listening socket, so the adapter hears
 * the floods of the other VTEPs of the group and floods to the group itself (RFC 7348 4.2).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { NDIS_STATUS, NdisError } from '../../../ndis/index.js';
import type { UnderlayEndpoint } from './endpoint.js';
import { VxlanRemote } from './fdb.js';

/** First port of the dynamic/private range RFC 7348 section 5 recommends for source ports. */
export const VXLAN_SOURCE_PORT_MIN = 49152;
/** Last port of that range. */
export const VXLAN_SOURCE_PORT_MAX = 65535;

/** What the VTEP hands each received datagram to (the adapter's receive path). */
export interface VtepReceiver {
  /** A datagram arrived from `source` (a view valid only during the call). */
  receiveDatagram(datagram: Buffer, source: string): void;
  /** A send ring freed slots (called only while the receiver asked for it). */
  sendSlotsFreed(): void;
}

/** A transmit ring of one send socket. */
export class SendRing {
  readonly socket: Socket;
  /** The slab the slots live in. */
  readonly slab: Buffer;
  readonly slotSize: number;
  readonly slotCount: number;
  /** The socket's local port (the outer source port of what it sends). */
  sourcePort: number;
  /** Datagrams dgram reported as failed. */
  sendErrors = 0;
  /** Datagrams handed to dgram. */
  datagramsSent = 0;
  private readonly refs: Uint16Array;
  private head = 0;
  private tail = 0;
  private used = 0;
  private receiver: VtepReceiver | null = null;
  /** True while the receiver waits for free slots. */
  waiting = false;
  /** The completion callback passed with every send (one function for the ring's lifetime). */
  private readonly onSent: (error: Error | null) => void;

  constructor(socket: Socket, slotSize: number, slotCount: number) {
    this.socket = socket;
    this.slotSize = slotSize;
    this.slotCount = slotCount;
    this.slab = Buffer.alloc(slotSize * slotCount);
    this.refs = new Uint16Array(slotCount);
    this.sourcePort = 0;
    this.onSent = (error: Error | null): void => this.sent(error);
  }

  /** Sets the receiver told when slots free up. */
  attach(receiver: VtepReceiver): void {
    this.receiver = receiver;
  }

  /** Slots free for new frames. */
  get freeSlots(): number {
    return this.slotCount - this.used;
  }

  /** Takes the next slot and returns its byte offset in {@link slab}, or -1 when all are in flight. */
  acquire(): number {
    if (this.used === this.slotCount) return -1;
    const i = this.tail;
    this.tail = i + 1 === this.slotCount ? 0 : i + 1;
    this.used++;
    this.refs[i] = 0;
    return i * this.slotSize;
  }

  /** Gives back the slot {@link acquire} returned last, unsent. */
  unacquire(): void {
    this.tail = this.tail === 0 ? this.slotCount - 1 : this.tail - 1;
    this.used--;
  }

  /** Sends `length` bytes of the slot at `offset` to `remote` (one more reference on the slot). */
  send(offset: number, length: number, remote: VxlanRemote): void {
    const i = (offset / this.slotSize) | 0;
    this.refs[i]!++;
    this.datagramsSent++;
    remote.framesSent++;
    this.socket.send(this.slab, offset, length, remote.port, remote.address, this.onSent);
  }

  private sent(error: Error | null): void {
    if (error !== null) this.sendErrors++;
    const h = this.head;
    const left = this.refs[h]! - 1;
    this.refs[h] = left;
    if (left > 0) return;
    this.head = h + 1 === this.slotCount ? 0 : h + 1;
    this.used--;
    if (this.waiting && this.receiver !== null) {
      this.waiting = false;
      this.receiver.sendSlotsFreed();
    }
  }
}

/** Options of a {@link Vtep}. */
export interface VtepOptions {
  /** Where to listen: local address and the VXLAN UDP port (port 0: any free port). */
  local: UnderlayEndpoint;
  /** UDP destination port of remotes learned from received frames. */
  port: number;
  /** Static remotes: the flood list. */
  remotes: UnderlayEndpoint[];
  /** Send sockets (distinct source ports); 0 sends from the listening socket. */
  sourcePorts: number;
  /** Bytes per transmit slot (VXLAN header + largest inner frame). */
  slotSize: number;
  /** Transmit slots per send socket. */
  slotsPerSocket: number;
  /** Most remote VTEPs learned (beyond it, frames from new VTEPs are not learned). */
  maxLearnedRemotes: number;
  /** TTL / hop limit of datagrams to a multicast group (default 1: the local segment). */
  multicastTtl?: number;
}

/** Whether `address` is an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address. */
export function isMulticastAddress(address: string): boolean {
  if (address.includes(':')) return address.toLowerCase().startsWith('ff');
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function bindSocket(family: 4 | 6, address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(family === 4 ? { type: 'udp4' } : { type: 'udp6', ipv6Only: true });
    const onError = (e: Error): void => {
      socket.close();
      reject(e);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}

function socketBufferSize(socket: Socket, bytes: number): void {
  try {
    socket.setRecvBufferSize(bytes);
    socket.setSendBufferSize(bytes);
  } catch {
    // The kernel caps the size (net.core.rmem_max); the default still works.
  }
}

/** A VXLAN tunnel end point: its sockets, transmit rings and remotes. */
export class Vtep {
  readonly family: 4 | 6;
  /** The listening socket. */
  readonly socket: Socket;
  /** Local address and the port actually bound. */
  readonly local: UnderlayEndpoint;
  /** The UDP destination port used for learned remotes. */
  readonly port: number;
  /** Transmit rings, one per send socket (the listening socket's own when sourcePorts is 0). */
  readonly rings: SendRing[];
  /** The flood list: static remotes. */
  readonly floodList: VxlanRemote[];
  /** Socket errors reported by dgram after binding. */
  socketErrors = 0;
  /** Last socket error, for diagnostics. */
  lastError: Error | null = null;
  private readonly remotes = new Map<string, VxlanRemote>();
  private readonly maxLearnedRemotes: number;
  private learnedRemotes = 0;
  private receiver: VtepReceiver | null = null;
  private closed = false;
  private readonly onMessage: (msg: Buffer, rinfo: RemoteInfo) => void;
  private readonly onError: (e: Error) => void;

  private constructor(family: 4 | 6, socket: Socket, local: UnderlayEndpoint, o: VtepOptions, sendSockets: Socket[]) {
    this.family = family;
    this.socket = socket;
    this.local = local;
    this.port = o.port;
    this.maxLearnedRemotes = o.maxLearnedRemotes;
    this.floodList = [];
    for (const r of o.remotes) {
      const remote = new VxlanRemote(r.address, r.port);
      this.floodList.push(remote);
      if (r.port === o.port) this.remotes.set(r.address, remote);
    }
    this.onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
      const r = this.receiver;
      if (r !== null) r.receiveDatagram(msg, rinfo.address);
    };
    this.onError = (e: Error): void => {
      this.socketErrors++;
      this.lastError = e;
    };
    const senders = sendSockets.length === 0 ? [socket] : sendSockets;
    this.rings = senders.map((s) => {
      const ring = new SendRing(s, o.slotSize, o.slotsPerSocket);
      ring.sourcePort = s.address().port;
      return ring;
    });
    for (const s of [socket, ...sendSockets]) {
      s.on('message', this.onMessage);
      s.on('error', this.onError);
    }
  }

  /**
   * Opens the sockets: binds the listening socket to `local` and each send socket to a free port
   * of 49152-65535 on the same address.
   * @throws NdisError ERR_NDIS_UNAVAILABLE (NDIS_STATUS_ADAPTER_NOT_READY) when the listening port is taken or the address is
   * not local, with the reason and what to do.
   */
  static async open(o: VtepOptions): Promise<Vtep> {
    const family = o.local.family;
    for (const r of o.remotes) {
      if (r.family !== family) {
        throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `remote ${r.address} is IPv${r.family} but the local endpoint ${o.local.address} is IPv${family}: one adapter uses one underlay family`);
      }
    }
    // To hear a multicast group the listening socket is bound to the wildcard address (a socket
    // bound to a unicast address gets no datagrams sent to the group); the local address then only
    // picks the interface the group is joined on and the send sockets' source address.
    const groups = o.remotes.filter((r) => isMulticastAddress(r.address));
    const listenAddress = groups.length > 0 ? (family === 4 ? '0.0.0.0' : '::') : o.local.address;
    let socket: Socket;
    try {
      socket = await bindSocket(family, listenAddress, o.local.port);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      const hint =
        code === 'EADDRINUSE'
          ? ' (another process, or a Linux vxlan device in this network namespace, holds the port: use another --local port or run in another namespace)'
          : code === 'EADDRNOTAVAIL'
            ? ' (the address is not configured on this host)'
            : '';
      throw new NdisError('ERR_NDIS_UNAVAILABLE', `VXLAN: cannot bind UDP ${listenAddress} port ${o.local.port}: ${code}${hint}`, NDIS_STATUS.ADAPTER_NOT_READY);
    }
    socketBufferSize(socket, 4 << 20);
    const sendSockets: Socket[] = [];
    try {
      const span = VXLAN_SOURCE_PORT_MAX - VXLAN_SOURCE_PORT_MIN + 1;
      let candidate = VXLAN_SOURCE_PORT_MIN + Math.floor(Math.random() * span);
      let attempts = 0;
      while (sendSockets.length < o.sourcePorts) {
        if (++attempts > 4 * o.sourcePorts + 64) {
          // The range is crowded: let the kernel pick ephemeral ports for the rest.
          sendSockets.push(await bindSocket(family, o.local.address, 0));
          continue;
        }
        try {
          sendSockets.push(await bindSocket(family, o.local.address, candidate));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
        }
        candidate = candidate === VXLAN_SOURCE_PORT_MAX ? VXLAN_SOURCE_PORT_MIN : candidate + 1;
      }
    } catch (e) {
      socket.close();
      for (const s of sendSockets) s.close();
      throw new NdisError('ERR_NDIS_UNAVAILABLE', `VXLAN: cannot bind the send sockets on ${o.local.address}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, NDIS_STATUS.ADAPTER_NOT_READY);
    }
    for (const s of sendSockets) socketBufferSize(s, 4 << 20);
    // A multicast group in the flood list is the RFC 7348 4.2 way: join it to hear the other
    // VTEPs' floods, and send ours to it (not looped back to ourselves).
    if (groups.length > 0) {
      const iface = isWildcard(o.local.address) ? undefined : o.local.address;
      try {
        for (const g of groups) socket.addMembership(g.address, iface);
        for (const s of sendSockets.length === 0 ? [socket] : sendSockets) {
          if (iface !== undefined) s.setMulticastInterface(iface);
          s.setMulticastTTL(o.multicastTtl ?? 1);
          s.setMulticastLoopback(false);
        }
      } catch (e) {
        socket.close();
        for (const s of sendSockets) s.close();
        throw new NdisError('ERR_NDIS_UNAVAILABLE', `VXLAN: cannot join multicast group ${groups.map((g) => g.address).join(', ')}${iface === undefined ? '' : ` on ${iface}`}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (give --local the address of the underlay interface)`, NDIS_STATUS.ADAPTER_NOT_READY);
      }
    }
    const local = { address: o.local.address, family, port: socket.address().port };
    return new Vtep(family, socket, local, o, sendSockets);
  }

  /** Sets where received datagrams and freed-slot notices go (null: dropped). */
  attach(receiver: VtepReceiver | null): void {
    this.receiver = receiver;
    for (const r of this.rings) if (receiver !== null) r.attach(receiver);
  }

  /**
   * The remote for a datagram's source address, created on first sight (flood and learn). Null
   * when the number of learned remotes has reached its limit.
   */
  remoteFor(address: string): VxlanRemote | null {
    const r = this.remotes.get(address);
    if (r !== undefined) return r;
    if (this.learnedRemotes >= this.maxLearnedRemotes) return null;
    const created = new VxlanRemote(address, this.port);
    this.remotes.set(address, created);
    this.learnedRemotes++;
    return created;
  }

  /** Adds a remote to the flood list at run time (what `bridge fdb append 00:00:00:00:00:00 dst` does). */
  addRemote(e: UnderlayEndpoint): VxlanRemote {
    if (e.family !== this.family) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `remote ${e.address} is IPv${e.family}; this adapter's underlay is IPv${this.family}`);
    }
    for (const r of this.floodList) if (r.address === e.address && r.port === e.port) return r;
    let remote = e.port === this.port ? this.remotes.get(e.address) : undefined;
    if (remote === undefined) {
      remote = new VxlanRemote(e.address, e.port);
      if (e.port === this.port) this.remotes.set(e.address, remote);
    }
    this.floodList.push(remote);
    return remote;
  }

  /** Closes every socket (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    const all = new Set<Socket>([this.socket, ...this.rings.map((r) => r.socket)]);
    for (const s of all) {
      s.removeListener('message', this.onMessage);
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
