/**
 * Test support: a small protocol driver that binds to every Ethernet adapter, receives every
 * directed, broadcast and multicast frame and hands each (a copy) to a callback at once, and sends
 * frames built by the test. Event-driven (no polling loop), so a Responder over it answers a Linux
 * peer's ARP, neighbor solicitations and pings while the test waits on something else.
 */
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisMedium,
  NdisOidRequest,
  NetEvent,
  OID,
  ulongBuffer,
  type BindContext,
  type Ndis,
  type NdisStatus,
  type OpenBlock,
  type ProtocolDriver,
  type ProtocolDriverCharacteristics,
} from '../../../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS, copyOutOfNetBuffer, ndisAllocateMdl, ndisFreeMdl, type NetBufferList, type NetBufferListPool } from '../../../src/nbl/index.js';
import type { Responder } from './frames.js';

/** One binding of {@link L2Protocol}. */
export class L2Binding {
  handle: OpenBlock | null = null;
  pool: NetBufferListPool | null = null;
  running = false;
  sent = 0;
  received = 0;
  failedSends = 0;
  /** Sends not yet completed. */
  outstanding = 0;
  /** The pause notification waiting for the last send completion. */
  pendingPause: unknown = null;
  /** Called with each received frame (a copy the callee may keep). */
  onFrame: ((frame: Uint8Array) => void) | null = null;
  readonly mac: Uint8Array;

  constructor(
    readonly proto: L2Protocol,
    readonly adapterName: string,
    mac: Uint8Array,
  ) {
    this.mac = mac.slice();
  }

  /** Sends one frame (copied); returns false when the binding is not running. */
  send(frame: Uint8Array): boolean {
    if (!this.running || this.handle === null || this.pool === null) return false;
    const mdl = ndisAllocateMdl(frame.slice());
    const nbl = this.pool.allocateNetBufferAndNetBufferList(0, 0, mdl, 0, frame.length);
    if (nbl === null) {
      ndisFreeMdl(mdl);
      this.failedSends++;
      return false;
    }
    this.sent++;
    this.outstanding++;
    this.proto.ndis.sendNetBufferLists(this.handle, nbl, 0, 0);
    return true;
  }

  /** Answers what `responder` answers, from now on. */
  respondWith(responder: Responder): void {
    this.onFrame = (f) => {
      const reply = responder.answer(f);
      if (reply !== null) this.send(reply);
    };
  }

  /** Resolves with the first frame for which `match` is true (within `timeoutMs` of real time). */
  waitFor(match: (f: Uint8Array) => boolean, timeoutMs = 5000): Promise<Uint8Array> {
    const previous = this.onFrame;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onFrame = previous;
        reject(new Error(`no matching frame on ${this.adapterName} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onFrame = (f) => {
        previous?.(f);
        if (match(f)) {
          clearTimeout(timer);
          this.onFrame = previous;
          resolve(f);
        }
      };
    });
  }
}

/** The protocol driver. */
export class L2Protocol {
  readonly bindings = new Map<string, L2Binding>();
  handle: ProtocolDriver | null = null;
  /** Gets the frames of bindings that have no `onFrame` of their own (set it before adapters arrive). */
  onFrame: ((binding: L2Binding, frame: Uint8Array) => void) | null = null;

  constructor(
    readonly ndis: Ndis,
    readonly name = 'l2test',
    readonly packetFilter: number = NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.ALL_MULTICAST,
  ) {}

  async register(): Promise<ProtocolDriver> {
    this.handle = await this.ndis.registerProtocolDriver(this.characteristics(), this);
    return this.handle;
  }

  /** The binding to `adapterName`. */
  binding(adapterName: string): L2Binding {
    const b = this.bindings.get(adapterName);
    if (b === undefined) throw new Error(`${this.name} is not bound to ${adapterName}`);
    return b;
  }

  private characteristics(): ProtocolDriverCharacteristics {
    const ndis = this.ndis;
    const self = this;
    const chars: ProtocolDriverCharacteristics<L2Binding> = {
      name: this.name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      bindAdapterEx(_ctx, bindContext, params): NdisStatus {
        if (params.mediaType !== NdisMedium.NdisMedium802_3) return NDIS_STATUS.UNSUPPORTED_MEDIA;
        const b = new L2Binding(self, params.adapterName, params.currentMacAddress);
        const r = ndis.openAdapterEx(self.handle!, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
        if (r.status !== NDIS_STATUS.SUCCESS || r.bindingHandle === null) return r.status;
        b.handle = r.bindingHandle;
        b.pool = ndis.allocateNetBufferListPool(r.bindingHandle, { fAllocateNetBuffer: true, poolTag: 'L2t' });
        self.bindings.set(params.adapterName, b);
        return NDIS_STATUS.SUCCESS;
      },
      unbindAdapterEx(_u, b) {
        b.running = false;
        if (b.pool !== null) ndis.freeNetBufferListPool(b.pool);
        b.pool = null;
        self.bindings.delete(b.adapterName);
        return ndis.closeAdapterEx(b.handle!);
      },
      openAdapterCompleteEx: () => undefined,
      closeAdapterCompleteEx: () => undefined,
      netPnPEvent(b, n) {
        if (b === null) return NDIS_STATUS.SUCCESS;
        if (n.netEvent === NetEvent.Pause) {
          b.running = false;
          if (b.outstanding > 0) {
            b.pendingPause = n;
            return NDIS_STATUS.PENDING;
          }
        }
        if (n.netEvent === NetEvent.Restart) {
          b.running = true;
          void ndis.oidRequest(b.handle!, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(self.packetFilter)));
        }
        return NDIS_STATUS.SUCCESS;
      },
      oidRequestComplete: () => undefined,
      statusEx: () => undefined,
      receiveNetBufferLists(b, chain, _port, _count, flags) {
        for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
          const nb = x.firstNetBuffer!;
          const f = new Uint8Array(nb.dataLength);
          copyOutOfNetBuffer(nb, 0, f, 0, nb.dataLength);
          b.received++;
          if (!b.running) continue;
          if (b.onFrame !== null) b.onFrame(f);
          else self.onFrame?.(b, f);
        }
        if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) ndis.returnNetBufferLists(b.handle!, chain, 0);
      },
      sendNetBufferListsComplete(b, chain) {
        let x: NetBufferList | null = chain;
        while (x !== null) {
          const next: NetBufferList | null = x.next;
          const mdl = x.firstNetBuffer!.mdlChain!;
          b.pool!.freeNetBufferList(x);
          ndisFreeMdl(mdl);
          b.outstanding--;
          x = next;
        }
        if (b.outstanding === 0 && b.pendingPause !== null) {
          const n = b.pendingPause;
          b.pendingPause = null;
          ndis.completeNetPnPEvent(b.handle!, n as never, NDIS_STATUS.SUCCESS);
        }
      },
    };
    return chars as ProtocolDriverCharacteristics;
  }
}
