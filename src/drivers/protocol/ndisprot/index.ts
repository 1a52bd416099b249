/**
 * `ndisprot`: a connectionless protocol driver in the manner of the WDK's ndisprot. It binds to
 * Ethernet adapters and gives user code raw frames of chosen EtherTypes: `read()` (a promise per
 * frame, or `for await`) and `write(frame)` (a promise per frame, resolved when the send completes)
 * — the job the WDK sample does with read and write IOCTLs. Like the sample, it refuses frames
 * shorter than a MAC header, longer than the MTU, or whose source address is not the adapter's
 * (anti-spoofing), and keeps a bounded receive queue that drops the oldest frame when full.
 */
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisError,
  NdisMedium,
  NdisOidRequest,
  NetEvent,
  OID,
  ulongBuffer,
  type BindContext,
  type Ndis,
  type NdisBindParameters,
  type NdisStatus,
  type OpenBlock,
  type ProtocolDriver,
  type ProtocolDriverCharacteristics,
} from '../../../ndis/index.js';
import {
  NDIS_RETURN_FLAGS,
  NDIS_RECEIVE_FLAGS,
  copyOutOfNetBuffer,
  ndisAllocateMdl,
  ndisFreeMdl,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../nbl/index.js';

/** IEEE Std 802 "Local Experimental EtherType 1": the default EtherType ndisprot exchanges. */
export const NDISPROT_ETHERTYPE = 0x88b5;

const OPENING = 0;
const RUNNING = 1;
const PAUSING = 2;
const PAUSED = 3;
const CLOSING = 4;

/** Counters of one binding. */
export class NdisProtCounters {
  framesRead = 0;
  framesQueued = 0;
  framesDroppedQueueFull = 0;
  framesIgnored = 0;
  /** Frames that arrived while the binding was pausing or paused (dropped, as the WDK sample does). */
  framesDroppedPaused = 0;
  framesWritten = 0;
  writeErrors = 0;
}

/** One binding of ndisprot to an adapter: the handle user code reads and writes frames through. */
export class NdisProtBinding {
  readonly prot: NdisProt;
  readonly adapterName: string;
  handle: OpenBlock | null = null;
  state = OPENING;
  mac: Uint8Array;
  mtu: number;
  readonly counters = new NdisProtCounters();
  pool: NetBufferListPool | null = null;
  private readonly queue: Uint8Array[] = [];
  private readonly readers: ((f: Uint8Array) => void)[] = [];
  outstandingSends = 0;
  pausePending = false;
  /** The pause notification to complete when the last send completes. */
  pauseNotification: unknown = null;
  filterSet = false;

  constructor(prot: NdisProt, params: NdisBindParameters) {
    this.prot = prot;
    this.adapterName = params.adapterName;
    this.mac = params.currentMacAddress.slice();
    this.mtu = params.mtuSize;
  }

  /** Frames waiting to be read. */
  get queued(): number {
    return this.queue.length;
  }

  /** Reads the next frame (resolves when one arrives). */
  read(): Promise<Uint8Array> {
    const f = this.queue.shift();
    if (f !== undefined) {
      this.counters.framesRead++;
      return Promise.resolve(f);
    }
    const ndis = this.prot.ndis;
    return ndis.until(
      new Promise<Uint8Array>((resolve) => {
        this.readers.push((frame) => {
          this.counters.framesRead++;
          resolve(frame);
        });
      }),
      this.prot.readTimeoutMs,
    );
  }

  /** Frames as an async iterator. */
  async *frames(): AsyncGenerator<Uint8Array> {
    for (;;) yield await this.read();
  }

  /** A frame arrived (a copy, so the NBL goes back at once). */
  deliver(frame: Uint8Array): void {
    const r = this.readers.shift();
    if (r !== undefined) {
      r(frame);
      return;
    }
    if (this.queue.length >= this.prot.maxQueue) {
      this.queue.shift();
      this.counters.framesDroppedQueueFull++;
    }
    this.queue.push(frame);
    this.counters.framesQueued++;
  }

  /**
   * Sends one frame. Resolves with the completion status; rejects with a typed error for a frame
   * ndisprot refuses (too short, too long, spoofed source address, binding not running).
   */
  write(frame: Uint8Array): Promise<NdisStatus> {
    const ndis = this.prot.ndis;
    if (this.state !== RUNNING || this.handle === null || this.pool === null) {
      return Promise.reject(new NdisError('ERR_NDIS_ILLEGAL_STATE', `ndisprot: binding to ${this.adapterName} is not running`));
    }
    if (frame.length < 14) return Promise.reject(new NdisError('ERR_NDIS_INVALID_PARAMETER', `ndisprot: a frame of ${frame.length} bytes is shorter than a MAC header`));
    if (frame.length > this.mtu + 14) return Promise.reject(new NdisError('ERR_NDIS_INVALID_PARAMETER', `ndisprot: a frame of ${frame.length} bytes exceeds MTU ${this.mtu} + 14`));
    for (let i = 0; i < 6; i++) {
      if (frame[6 + i] !== this.mac[i]) {
        return Promise.reject(new NdisError('ERR_NDIS_INVALID_PARAMETER', "ndisprot: the frame's source address is not the adapter's (anti-spoofing)"));
      }
    }
    const mdl = ndisAllocateMdl(frame.slice());
    const nbl = this.pool.allocateNetBufferAndNetBufferList(0, 0, mdl, 0, frame.length);
    if (nbl === null) {
      ndisFreeMdl(mdl);
      this.counters.writeErrors++;
      return Promise.resolve(NDIS_STATUS.RESOURCES);
    }
    return ndis.until(
      new Promise<NdisStatus>((resolve) => {
        nbl.protocolReserved[0] = resolve;
        this.outstandingSends++;
        ndis.sendNetBufferLists(this.handle!, nbl, 0, 0);
      }),
      this.prot.readTimeoutMs,
    );
  }

  /** A send completed: free the NBL and MDL, resolve the writer, maybe finish a pause. */
  sendComplete(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      const resolve = x.protocolReserved[0] as (s: NdisStatus) => void;
      x.protocolReserved[0] = null;
      const status = x.status;
      const mdl = x.firstNetBuffer!.mdlChain!;
      this.pool!.freeNetBufferList(x);
      ndisFreeMdl(mdl);
      this.outstandingSends--;
      if (status === NDIS_STATUS.SUCCESS) this.counters.framesWritten++;
      else this.counters.writeErrors++;
      resolve(status);
      x = next;
    }
    if (this.pausePending && this.outstandingSends === 0) {
      this.pausePending = false;
      this.state = PAUSED;
      this.prot.ndis.completeNetPnPEvent(this.handle!, this.pauseNotification as never, NDIS_STATUS.SUCCESS);
    }
  }
}

/** Options of the ndisprot protocol driver. */
export interface NdisProtOptions {
  name?: string;
  /** EtherTypes delivered to readers (default [NDISPROT_ETHERTYPE]); empty for all. */
  etherTypes?: number[];
  /** Receive queue length per binding (default 64; the WDK sample uses 4). */
  maxQueue?: number;
  /** How long a read or write may wait, in scheduler milliseconds (default 60 s). */
  readTimeoutMs?: number;
  /** Packet filter set on each binding (default directed | multicast | broadcast). */
  packetFilter?: number;
}

/** The ndisprot protocol driver. */
export class NdisProt {
  readonly ndis: Ndis;
  readonly etherTypes: readonly number[];
  readonly maxQueue: number;
  readonly readTimeoutMs: number;
  readonly packetFilter: number;
  readonly name: string;
  handle: ProtocolDriver | null = null;
  readonly bindings = new Map<string, NdisProtBinding>();

  constructor(ndis: Ndis, options: NdisProtOptions = {}) {
    this.ndis = ndis;
    this.name = options.name ?? 'ndisprot';
    this.etherTypes = options.etherTypes ?? [NDISPROT_ETHERTYPE];
    this.maxQueue = options.maxQueue ?? 64;
    this.readTimeoutMs = options.readTimeoutMs ?? 60_000;
    this.packetFilter = options.packetFilter ?? NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.BROADCAST;
  }

  /** NdisRegisterProtocolDriver (binds to every Ethernet adapter). */
  async register(): Promise<ProtocolDriver> {
    this.handle = await this.ndis.registerProtocolDriver(this.characteristics(), this);
    return this.handle;
  }

  /** The binding to `adapterName` (what OPEN_DEVICE gives the WDK sample's user). */
  open(adapterName: string): NdisProtBinding {
    const b = this.bindings.get(adapterName);
    if (b === undefined) throw new NdisError('ERR_NDIS_BINDING', `ndisprot is not bound to '${adapterName}' (bound: ${[...this.bindings.keys()].join(', ') || 'none'})`);
    return b;
  }

  characteristics(): ProtocolDriverCharacteristics {
    const ndis = this.ndis;
    const self = this;
    const chars: ProtocolDriverCharacteristics<NdisProtBinding> = {
      name: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      lowerRange: ['ndis5'],
      bindAdapterEx(_ctx, bindContext, params) {
        if (params.mediaType !== NdisMedium.NdisMedium802_3) return NDIS_STATUS.UNSUPPORTED_MEDIA;
        const b = new NdisProtBinding(self, params);
        const r = ndis.openAdapterEx((bindContext as BindContext).protocol, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
        if (r.status !== NDIS_STATUS.SUCCESS || r.bindingHandle === null) return r.status;
        b.handle = r.bindingHandle;
        b.pool = ndis.allocateNetBufferListPool(r.bindingHandle, { fAllocateNetBuffer: true, poolTag: 'NPrt', initialCount: 32 });
        b.state = PAUSED;
        self.bindings.set(params.adapterName, b);
        return NDIS_STATUS.SUCCESS;
      },
      unbindAdapterEx(_unbindContext, b) {
        b.state = CLOSING;
        if (b.pool !== null) ndis.freeNetBufferListPool(b.pool);
        b.pool = null;
        self.bindings.delete(b.adapterName);
        return ndis.closeAdapterEx(b.handle!);
      },
      openAdapterCompleteEx: () => undefined,
      closeAdapterCompleteEx: () => undefined,
      netPnPEvent(b, n) {
        if (b === null) return NDIS_STATUS.SUCCESS;
        switch (n.netEvent) {
          case NetEvent.Pause:
            b.state = PAUSING;
            if (b.outstandingSends > 0) {
              b.pausePending = true;
              b.pauseNotification = n;
              return NDIS_STATUS.PENDING;
            }
            b.state = PAUSED;
            return NDIS_STATUS.SUCCESS;
          case NetEvent.Restart:
            b.state = RUNNING;
            if (!b.filterSet) {
              b.filterSet = true;
              void ndis.oidRequest(b.handle!, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(self.packetFilter)));
            }
            return NDIS_STATUS.SUCCESS;
          default:
            return NDIS_STATUS.SUCCESS;
        }
      },
      oidRequestComplete: () => undefined,
      statusEx: () => undefined,
      receiveNetBufferLists(b, chain, _port, _count, flags) {
        const canPend = (flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0;
        if (b.state === RUNNING) {
          for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
            const nb = x.firstNetBuffer;
            if (nb === null || nb.dataLength < 14) {
              b.counters.framesIgnored++;
              continue;
            }
            const frame = new Uint8Array(nb.dataLength);
            copyOutOfNetBuffer(nb, 0, frame, 0, nb.dataLength);
            let et = (frame[12]! << 8) | frame[13]!;
            if (et === 0x8100 && frame.length >= 18) et = (frame[16]! << 8) | frame[17]!;
            if (self.etherTypes.length > 0 && !self.etherTypes.includes(et)) {
              b.counters.framesIgnored++;
              continue;
            }
            b.deliver(frame);
          }
        } else {
          for (let x: NetBufferList | null = chain; x !== null; x = x.next) b.counters.framesDroppedPaused++;
        }
        // Everything was copied: give the NBLs back at once (only when they may be held at all).
        if (canPend) ndis.returnNetBufferLists(b.handle!, chain, (flags & 1) !== 0 ? NDIS_RETURN_FLAGS.DISPATCH_LEVEL : 0);
      },
      sendNetBufferListsComplete(b, chain) {
        b.sendComplete(chain);
      },
    };
    return chars as ProtocolDriverCharacteristics;
  }
}
