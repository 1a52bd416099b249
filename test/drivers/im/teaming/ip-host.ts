/**
 * A small IPv4 host for the teaming tests, as an NDIS protocol driver: ARP (RFC 826, answering
 * requests for its address and updating its cache from every ARP it hears, gratuitous ones
 * included) and IPv4 carrying TCP, with the project's TCP engine on top through its `TcpHost`
 * contract. Enough to run real TCP connections over a team while its members fail; not a stack
 * (no fragments, options, ICMP or routing: one subnet).
 */
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisMedium,
  NdisOidRequest,
  NetEvent,
  OID,
  relativeDueTime,
  ulongBuffer,
  type BindContext,
  type Ndis,
  type NdisTimerObject,
  type OpenBlock,
  type ProtocolDriver,
  type ProtocolDriverCharacteristics,
} from '../../../../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS, copyOutOfNetBuffer, ndisAllocateMdl, ndisFreeMdl, type NetBufferList, type NetBufferListPool } from '../../../../src/nbl/index.js';
import { TcpEngine, type TcpEngineOptions, type TcpFlow, type TcpHost, type TcpSegmentSpace, type TcpTimer } from '../../../../src/drivers/protocol/tcpip/tcp/index.js';
import { parseIp, type IpAddress } from '../../../../src/wire/address.js';
import { internetChecksum, ipv4PseudoHeaderSum, onesComplementSum, checksumFinish } from '../../../../src/wire/checksum.js';

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Counters of one host. */
export class IpHostCounters {
  framesSent = 0;
  framesReceived = 0;
  arpRequestsSent = 0;
  arpRepliesSent = 0;
  /** ARP cache entries updated to a new hardware address (gratuitous ARPs included). */
  arpUpdates = 0;
  badChecksums = 0;
  sendFailures = 0;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** One binding: an IPv4 address on an adapter, a TCP engine, an ARP cache. */
export class IpHost implements TcpHost {
  readonly stack: IpStack;
  readonly adapterName: string;
  /** The address, IPv4-mapped. */
  readonly address: IpAddress;
  readonly ipv4: number;
  readonly engine: TcpEngine;
  handle!: OpenBlock;
  pool!: NetBufferListPool;
  mac: Uint8Array;
  mtu: number;
  running = false;
  outstanding = 0;
  pausePending: unknown = null;
  /** IPv4 address → MAC. */
  readonly arp = new Map<number, Uint8Array>();
  /** Frames waiting for an ARP answer, by next-hop address. */
  private readonly waiting = new Map<number, Uint8Array[]>();
  private readonly timers = new Set<NdisTimerObject>();
  private ipId = 1;
  readonly counters = new IpHostCounters();

  constructor(stack: IpStack, adapterName: string, address: string, mac: Uint8Array, mtu: number, options: TcpEngineOptions) {
    this.stack = stack;
    this.adapterName = adapterName;
    this.address = parseIp(address)!;
    this.ipv4 = u32(this.address, 12);
    this.mac = mac.slice(0, 6);
    this.mtu = mtu;
    this.engine = new TcpEngine(this, options);
  }

  // ---- TcpHost ----

  now(): number {
    return this.stack.ndis.scheduler.nowMs();
  }
  setTimer(timer: TcpTimer, at: number): void {
    const ndis = this.stack.ndis;
    let t = timer.hostHandle as NdisTimerObject | null;
    if (t === null) {
      t = ndis.allocateTimerObject(this.handle, (_a, ctx) => (ctx as TcpTimer).fire(), timer, 'tcp');
      timer.hostHandle = t;
      this.timers.add(t);
    }
    ndis.setTimerObject(t, relativeDueTime(Math.max(0, at - this.now())));
  }
  cancelTimer(timer: TcpTimer): void {
    const t = timer.hostHandle as NdisTimerObject | null;
    if (t !== null) this.stack.ndis.cancelTimerObject(t);
  }
  fillRandom(out: Uint8Array): void {
    const s = this.stack.ndis.scheduler;
    for (let i = 0; i < out.length; i++) out[i] = s.random32() & 0xff;
  }
  maxSegmentSize(_flow: TcpFlow): number {
    return this.mtu - 40;
  }
  sendOffloadSize(_flow: TcpFlow): number {
    return 0;
  }
  selectSourceAddress(_remote: IpAddress, out: IpAddress): boolean {
    out.set(this.address);
    return true;
  }
  allocateSegment(_flow: TcpFlow, length: number, space: TcpSegmentSpace): boolean {
    space.bytes = new Uint8Array(34 + length);
    space.offset = 34;
    return true;
  }
  transmitSegment(flow: TcpFlow, space: TcpSegmentSpace, length: number, _segmentMss: number): void {
    const f = space.bytes;
    const dst = u32(flow.remoteAddress, 12);
    // IPv4 header.
    f[14] = 0x45;
    f[16] = (20 + length) >> 8;
    f[17] = (20 + length) & 0xff;
    const id = this.ipId++ & 0xffff;
    f[18] = id >> 8;
    f[19] = id & 0xff;
    f[20] = 0x40; // DF
    f[22] = 64;
    f[23] = 6;
    f.set(this.address.subarray(12), 26);
    f.set(flow.remoteAddress.subarray(12), 30);
    const ipSum = internetChecksum(f, 14, 20);
    f[24] = ipSum >> 8;
    f[25] = ipSum & 0xff;
    // TCP checksum over the pseudo-header.
    const sum = checksumFinish(onesComplementSum(f, 34, length, ipv4PseudoHeaderSum(f, 26, f, 30, 6, length)));
    f[34 + 16] = sum >> 8;
    f[34 + 17] = sum & 0xff;
    f[12] = 0x08;
    f[13] = 0x00;
    f.set(this.mac, 6);
    this.sendIp(dst, f);
  }

  // ---- IP and ARP ----

  private sendIp(dst: number, frame: Uint8Array): void {
    const mac = this.arp.get(dst);
    if (mac !== undefined) {
      frame.set(mac, 0);
      this.sendFrame(frame);
      return;
    }
    let q = this.waiting.get(dst);
    if (q === undefined) {
      q = [];
      this.waiting.set(dst, q);
      this.sendArp(1, BROADCAST, dst);
    }
    if (q.length < 64) q.push(frame);
  }

  private sendArp(op: number, targetMac: Uint8Array, targetIp: number): void {
    const f = new Uint8Array(42);
    f.set(op === 1 ? BROADCAST : targetMac, 0);
    f.set(this.mac, 6);
    f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op], 12);
    f.set(this.mac, 22);
    f.set(this.address.subarray(12), 28);
    if (op === 2) f.set(targetMac, 32);
    f.set([targetIp >>> 24, (targetIp >>> 16) & 0xff, (targetIp >>> 8) & 0xff, targetIp & 0xff], 38);
    if (op === 1) this.counters.arpRequestsSent++;
    else this.counters.arpRepliesSent++;
    this.sendFrame(f);
  }

  private sendFrame(frame: Uint8Array): void {
    if (!this.running) {
      this.counters.sendFailures++;
      return;
    }
    const mdl = ndisAllocateMdl(frame);
    const nbl = this.pool.allocateNetBufferAndNetBufferList(0, 0, mdl, 0, frame.length);
    if (nbl === null) {
      ndisFreeMdl(mdl);
      this.counters.sendFailures++;
      return;
    }
    this.outstanding++;
    this.counters.framesSent++;
    this.stack.ndis.sendNetBufferLists(this.handle, nbl, 0, 0);
  }

  sendComplete(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      if (x.status !== NDIS_STATUS.SUCCESS) this.counters.sendFailures++;
      const mdl = x.firstNetBuffer!.mdlChain!;
      this.pool.freeNetBufferList(x);
      ndisFreeMdl(mdl);
      this.outstanding--;
      x = next;
    }
    if (this.outstanding === 0 && this.pausePending !== null) {
      const n = this.pausePending;
      this.pausePending = null;
      this.stack.ndis.completeNetPnPEvent(this.handle, n as never, NDIS_STATUS.SUCCESS);
    }
  }

  receiveFrame(f: Uint8Array): void {
    this.counters.framesReceived++;
    if (f.length < 14) return;
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806 && f.length >= 42 && f[14] === 0 && f[15] === 1 && f[16] === 8 && f[17] === 0) {
      const op = f[21]!;
      const senderMac = f.slice(22, 28);
      const senderIp = u32(f, 28);
      const targetIp = u32(f, 38);
      // RFC 826: update an entry we have; add one when the message is for us.
      const known = this.arp.get(senderIp);
      if (known !== undefined && !known.every((b, i) => b === senderMac[i])) this.counters.arpUpdates++;
      if (known !== undefined || targetIp === this.ipv4) this.arp.set(senderIp, senderMac);
      if (targetIp === this.ipv4 && op === 1) this.sendArp(2, senderMac, senderIp);
      const q = this.waiting.get(senderIp);
      if (q !== undefined && this.arp.has(senderIp)) {
        this.waiting.delete(senderIp);
        for (const frame of q) this.sendIp(senderIp, frame);
      }
      return;
    }
    if (type !== 0x0800 || f.length < 34 || f[14] !== 0x45 || f[23] !== 6) return;
    if (u32(f, 30) !== this.ipv4) return;
    const total = (f[16]! << 8) | f[17]!;
    const len = total - 20;
    if (len < 20 || 14 + total > f.length) return;
    if (checksumFinish(onesComplementSum(f, 34, len, ipv4PseudoHeaderSum(f, 26, f, 30, 6, len))) !== 0) {
      this.counters.badChecksums++;
      return;
    }
    const remote = new Uint8Array(16);
    remote[10] = 0xff;
    remote[11] = 0xff;
    remote.set(f.subarray(26, 30), 12);
    this.engine.input(this.address, remote, f, 34, len);
  }

  /** Frees the NDIS timers (at unbind). */
  release(): void {
    const ndis = this.stack.ndis;
    for (const t of this.timers) {
      ndis.cancelTimerObject(t);
      ndis.freeTimerObject(t);
    }
    this.timers.clear();
    ndis.freeNetBufferListPool(this.pool);
  }
}

/** The protocol driver: binds to the adapters it has an address for. */
export class IpStack {
  readonly ndis: Ndis;
  readonly name: string;
  readonly addresses: Record<string, string>;
  readonly options: TcpEngineOptions;
  handle: ProtocolDriver | null = null;
  readonly hosts = new Map<string, IpHost>();

  constructor(ndis: Ndis, addresses: Record<string, string>, options: TcpEngineOptions = {}, name = 'miniip') {
    this.ndis = ndis;
    this.addresses = addresses;
    this.options = options;
    this.name = name;
  }

  async register(): Promise<void> {
    this.handle = await this.ndis.registerProtocolDriver(this.characteristics(), this);
  }

  host(adapter: string): IpHost {
    const h = this.hosts.get(adapter);
    if (h === undefined) throw new Error(`${this.name} is not bound to ${adapter}`);
    return h;
  }

  private characteristics(): ProtocolDriverCharacteristics {
    const self = this;
    const ndis = this.ndis;
    const chars: ProtocolDriverCharacteristics<IpHost> = {
      name: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      setOptions(handle) {
        self.handle = handle;
        return NDIS_STATUS.SUCCESS;
      },
      bindAdapterEx(_ctx, bindContext, params) {
        const address = self.addresses[params.adapterName];
        if (address === undefined) return NDIS_STATUS.NOT_ACCEPTED;
        const h = new IpHost(self, params.adapterName, address, params.currentMacAddress, params.mtuSize, self.options);
        const r = ndis.openAdapterEx(self.handle!, h, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
        if (r.status !== NDIS_STATUS.SUCCESS || r.bindingHandle === null) return r.status;
        h.handle = r.bindingHandle;
        h.pool = ndis.allocateNetBufferListPool(h.handle, { fAllocateNetBuffer: true, poolTag: 'MiIp' });
        self.hosts.set(params.adapterName, h);
        return NDIS_STATUS.SUCCESS;
      },
      unbindAdapterEx(_u, h) {
        h.running = false;
        h.release();
        self.hosts.delete(h.adapterName);
        return ndis.closeAdapterEx(h.handle);
      },
      openAdapterCompleteEx: () => undefined,
      closeAdapterCompleteEx: () => undefined,
      netPnPEvent(h, n) {
        if (h === null) return NDIS_STATUS.SUCCESS;
        if (n.netEvent === NetEvent.Pause) {
          h.running = false;
          if (h.outstanding > 0) {
            h.pausePending = n;
            return NDIS_STATUS.PENDING;
          }
        } else if (n.netEvent === NetEvent.Restart) {
          h.running = true;
          ndis.oidRequest(h.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST)));
        }
        return NDIS_STATUS.SUCCESS;
      },
      oidRequestComplete: () => undefined,
      statusEx: () => undefined,
      receiveNetBufferLists(h, chain, _port, _count, flags) {
        const frames: Uint8Array[] = [];
        for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
          const nb = x.firstNetBuffer;
          if (nb === null) continue;
          const f = new Uint8Array(nb.dataLength);
          copyOutOfNetBuffer(nb, 0, f, 0, nb.dataLength);
          frames.push(f);
        }
        // Everything is copied: the NBLs go back before the frames are processed.
        if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) ndis.returnNetBufferLists(h.handle, chain, 0);
        if (h.running) for (const f of frames) h.receiveFrame(f);
      },
      sendNetBufferListsComplete(h, chain) {
        h.sendComplete(chain);
      },
    };
    return chars as ProtocolDriverCharacteristics;
  }
}
