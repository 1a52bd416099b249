/**
 * The TCP engine's `TcpHost` over the IP layer: the stack clock and timer heap, the path of each
 * connection (cached in `TcpFlow.hostContext`, re-resolved when the route table changes), segment
 * memory from the outgoing interface's NET_BUFFER_LIST pools with room for the IP and Ethernet
 * headers in front, and large send offload sizes from the binding's offload configuration.
 */
import type { IpAddress } from '../../../wire/address.js';
import type { TcpFlow, TcpHost, TcpSegmentSpace, TcpTimer } from './tcp/host.js';
import type { NetBufferList } from '../../../nbl/index.js';
import type { Path } from './route.js';
import type { TcpIp } from './stack.js';

/** Largest TCP payload handed to large send offload (an IPv6 packet of 65535 bytes less headers). */
const MAX_LSO_PAYLOAD = 65535 - 40 - 60;

/** TcpHost of a `TcpIp` stack. */
export class StackTcpHost implements TcpHost {
  readonly stack: TcpIp;

  constructor(stack: TcpIp) {
    this.stack = stack;
  }

  /** TcpHost.now: the stack clock (the runtime's scheduler), ms. */
  now(): number {
    return this.stack.now();
  }

  /** TcpHost.setTimer: into the stack's timer heap. */
  setTimer(timer: TcpTimer, at: number): void {
    this.stack.setTimer(timer, at);
  }

  /** TcpHost.cancelTimer. */
  cancelTimer(timer: TcpTimer): void {
    this.stack.timers.remove(timer);
  }

  /** TcpHost.fillRandom: from the runtime's seeded generator. */
  fillRandom(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      const r = this.stack.random32();
      for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (r >>> (8 * k)) & 0xff;
    }
  }

  /** The path of a flow, cached on it. */
  private path(flow: TcpFlow): Path {
    let p = flow.hostContext as Path | null;
    if (p === null) {
      p = this.stack.paths.get(flow.remoteAddress);
      flow.hostContext = p;
      return p;
    }
    return this.stack.paths.refresh(p);
  }

  /** TcpHost.maxSegmentSize: path MTU less the IP and TCP headers. */
  maxSegmentSize(flow: TcpFlow): number {
    const p = this.path(flow);
    return p.mtu(this.stack.now()) - (p.v4 ? 20 : 40) - 20;
  }

  /** TcpHost.sendOffloadSize: the LSOv2 size the outgoing binding offers for the family, or 0. */
  sendOffloadSize(flow: TcpFlow): number {
    const p = this.path(flow);
    const iface = p.iface;
    if (iface === null) return 0;
    const max = p.v4 ? iface.lsoMaxV4 : iface.lsoMaxV6;
    return max === 0 ? 0 : max < MAX_LSO_PAYLOAD ? max : MAX_LSO_PAYLOAD;
  }

  /** TcpHost.selectSourceAddress: the path's preferred source (route, then RFC 6724 on the interface). */
  selectSourceAddress(remote: IpAddress, out: IpAddress): boolean {
    const p = this.stack.paths.get(remote);
    if (p.iface === null || !p.hasSource) return false;
    out.set(p.source);
    return true;
  }

  /** TcpHost.allocateSegment: an NBL of the outgoing interface's pools, TX_HEADROOM bytes of backfill in front. */
  allocateSegment(flow: TcpFlow, length: number, space: TcpSegmentSpace): boolean {
    const p = this.path(flow);
    const iface = p.iface;
    if (iface === null || !iface.canSend) return false;
    const nbl = iface.allocatePacket(length);
    if (nbl === null) return false;
    const nb = nbl.firstNetBuffer!;
    const mdl = nb.currentMdl!;
    space.bytes = mdl.buffer;
    space.offset = mdl.byteOffset + nb.currentMdlOffset;
    space.token = nbl;
    return true;
  }

  /** TcpHost.transmitSegment: IP and Ethernet headers, checksum or offload, then the neighbor and the send queue. */
  transmitSegment(flow: TcpFlow, space: TcpSegmentSpace, length: number, segmentMss: number): void {
    const nbl = space.token as NetBufferList;
    space.token = null;
    nbl.firstNetBuffer!.dataLength = length;
    this.stack.ip.sendTcp(this.path(flow), nbl, flow.localAddress, flow.remoteAddress, segmentMss);
  }
}
