/**
 * A lab for the virtual miniport's offloads: two adapters on one hub with the keywords a test
 * chooses, and a probe protocol bound to both that sends frames with offload OOB information,
 * records every receive in detail (bytes, MDL layout, NBL flags and OOB, the processor the
 * indication ran on, the receive flags), issues OIDs and records status indications.
 */
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisMedium,
  NdisOidRequest,
  OID,
  NetEvent,
  Ndis,
  ulongBuffer,
  type BindContext,
  type MiniportBlock,
  type NdisBindParameters,
  type NdisOptions,
  type NdisStatus,
  type NdisStatusIndication,
  type OpenBlock,
  type ProtocolDriverCharacteristics,
  type ViolationDetail,
} from '../../../../src/ndis/index.js';
import {
  NDIS_NET_BUFFER_LIST_INFO as I,
  NDIS_RECEIVE_FLAGS,
  ndisAllocateMdl,
  netBufferData,
  type NetBufferList,
  type NetBufferListPool,
} from '../../../../src/nbl/index.js';
import { VirtualMiniportDriver, type VirtualAdapter } from '../../../../src/drivers/miniport/virtual/index.js';
import { FixedReceiveThrottle } from '../../../../src/offload/throttle.js';
import { encodeOffloadEncapsulation, NDIS_OFFLOAD_SET_ON } from '../../../../src/ndis/structs-offload.js';
import { NDIS_ENCAPSULATION } from '../../../../src/ndis/offload-types.js';

/** What the probe saw of one received NBL. */
export interface Received {
  adapter: string;
  bytes: Uint8Array;
  /** MDL byte counts of the NET_BUFFER's chain from the current MDL. */
  mdls: number[];
  nblFlags: number;
  checksum: number;
  hashValue: number;
  hashInfo: number;
  filteringInfo: number;
  ieee8021Q: number;
  processor: number;
  receiveFlags: number;
  /** The NBL itself, when `hold` is on (to check layouts before it is returned). */
  nbl: NetBufferList | null;
}

/** What came back of a send. */
export interface Completed {
  status: number;
  lso: number;
}

export class ProbeBinding {
  handle!: OpenBlock;
  adapterName = '';
  params!: NdisBindParameters;
  pool!: NetBufferListPool;
  running = false;
  readonly received: Received[] = [];
  readonly statuses: NdisStatusIndication[] = [];
  readonly completed: Completed[] = [];
  /** Receive indications (calls) and their NBL counts, in order. */
  readonly indications: number[] = [];
  readonly held: NetBufferList[] = [];
  hold = false;
  readonly pendingOids = new Map<NdisOidRequest, (s: NdisStatus) => void>();
}

export class Probe {
  readonly bindings = new Map<string, ProbeBinding>();
  /** Called for each received NBL before it is returned (checks that need the live NBL). */
  onReceive: ((nbl: NetBufferList, b: ProbeBinding) => void) | null = null;

  constructor(readonly ndis: Ndis) {}

  characteristics(): ProtocolDriverCharacteristics<ProbeBinding> {
    const ndis = this.ndis;
    const self = this;
    return {
      name: 'probe',
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      bindAdapterEx(_ctx, bindContext, params) {
        const b = new ProbeBinding();
        b.adapterName = params.adapterName;
        b.params = params;
        const protocol = [...ndis.protocolDrivers].find((p) => p.name === 'probe')!;
        const r = ndis.openAdapterEx(protocol, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3] }, bindContext as BindContext);
        if (r.bindingHandle === null) return r.status;
        b.handle = r.bindingHandle;
        b.pool = ndis.allocateNetBufferListPool(b.handle, { fAllocateNetBuffer: true, poolTag: 'Prob' });
        self.bindings.set(params.adapterName, b);
        return NDIS_STATUS.SUCCESS;
      },
      unbindAdapterEx(_u, b) {
        self.giveBack(b);
        ndis.freeNetBufferListPool(b.pool);
        self.bindings.delete(b.adapterName);
        return ndis.closeAdapterEx(b.handle);
      },
      openAdapterCompleteEx: () => undefined,
      closeAdapterCompleteEx: () => undefined,
      netPnPEvent(b, n) {
        if (b === null) return NDIS_STATUS.SUCCESS;
        if (n.netEvent === NetEvent.Pause) {
          b.running = false;
          self.giveBack(b);
        } else if (n.netEvent === NetEvent.Restart) {
          if (!b.running) ndis.oidRequest(b.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.MULTICAST)));
          b.running = true;
        }
        return NDIS_STATUS.SUCCESS;
      },
      oidRequestComplete(b, r, s) {
        const done = b.pendingOids.get(r);
        b.pendingOids.delete(r);
        done?.(s);
      },
      statusEx(b, ind) {
        b.statuses.push(ind);
      },
      receiveNetBufferLists(b, chain, _port, count, flags) {
        b.indications.push(count);
        const processor = ndis.scheduler.currentProcessor;
        for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
          const nb = x.firstNetBuffer!;
          const mdls: number[] = [];
          for (let m = nb.currentMdl; m !== null; m = m.next) mdls.push(m === nb.currentMdl ? m.byteCount - nb.currentMdlOffset : m.byteCount);
          b.received.push({
            adapter: b.adapterName,
            bytes: netBufferData(nb),
            mdls,
            nblFlags: x.nblFlags,
            checksum: x.netBufferListInfo[I.TcpIpChecksumNetBufferListInfo]!,
            hashValue: x.netBufferListInfo[I.NetBufferListHashValue]!,
            hashInfo: x.netBufferListInfo[I.NetBufferListHashInfo]!,
            filteringInfo: x.netBufferListInfo[I.NetBufferListFilteringInfo]!,
            ieee8021Q: x.netBufferListInfo[I.Ieee8021QNetBufferListInfo]!,
            processor,
            receiveFlags: flags,
            nbl: b.hold ? x : null,
          });
          self.onReceive?.(x, b);
        }
        if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0) return;
        if (b.hold) {
          let x: NetBufferList | null = chain;
          while (x !== null) {
            const next: NetBufferList | null = x.next;
            x.next = null;
            b.held.push(x);
            x = next;
          }
          return;
        }
        ndis.returnNetBufferLists(b.handle, chain, 0);
      },
      sendNetBufferListsComplete(b, chain) {
        let x: NetBufferList | null = chain;
        while (x !== null) {
          const next: NetBufferList | null = x.next;
          x.next = null;
          b.completed.push({ status: x.status, lso: x.netBufferListInfo[I.TcpLargeSendNetBufferListInfo]! });
          b.pool.freeNetBufferList(x);
          x = next;
        }
      },
    };
  }

  /** Returns every held NBL. */
  giveBack(b: ProbeBinding): void {
    for (const x of b.held.splice(0)) this.ndis.returnNetBufferLists(b.handle, x, 0);
  }

  binding(adapter: string): ProbeBinding {
    const b = this.bindings.get(adapter);
    if (b === undefined) throw new Error(`probe is not bound to ${adapter}`);
    return b;
  }

  /** Issues an OID request on a binding; resolves with its completion status. */
  oid(adapter: string, r: NdisOidRequest): Promise<NdisStatus> {
    const b = this.binding(adapter);
    return new Promise((resolve) => {
      b.pendingOids.set(r, resolve);
      const s = this.ndis.oidRequest(b.handle, r);
      if (s !== NDIS_STATUS.PENDING) {
        b.pendingOids.delete(r);
        resolve(s);
      }
    });
  }

  /**
   * Sends a copy of `frame` (cut into MDLs at `cuts`) with OOB values `info` (slot → value).
   */
  send(adapter: string, frame: Uint8Array, info: Record<number, number> = {}, cuts: number[] = []): NetBufferList {
    const b = this.binding(adapter);
    const data = frame.slice();
    let head = null;
    let tail = null;
    let off = 0;
    for (const size of [...cuts, data.length - cuts.reduce((x, y) => x + y, 0)]) {
      const m = ndisAllocateMdl(data, off, size);
      off += size;
      if (tail === null) head = m;
      else tail.next = m;
      tail = m;
    }
    const nbl = b.pool.allocateNetBufferAndNetBufferList(0, 0, head, 0, data.length)!;
    for (const [k, v] of Object.entries(info)) nbl.netBufferListInfo[Number(k)] = v;
    this.ndis.sendNetBufferLists(b.handle, nbl, 0, 0);
    return nbl;
  }
}

/** Verifier hooks that record violations instead of throwing. */
export class RecordingVerifier {
  readonly level = 1;
  readonly violations: { ruleId: string; detail: ViolationDetail }[] = [];
  violation(ruleId: string, detail: ViolationDetail): void {
    this.violations.push({ ruleId, detail });
  }
}

export interface Lab {
  ndis: Ndis;
  virt: VirtualMiniportDriver;
  probe: Probe;
  throttle: FixedReceiveThrottle;
  a: MiniportBlock;
  b: MiniportBlock;
  adapterA: VirtualAdapter;
  adapterB: VirtualAdapter;
}

export const MAC_A = '02-00-5e-10-00-01';
export const MAC_B = '02-00-5e-10-00-02';

/** Two adapters (a: MAC_A, b: MAC_B) on one hub, each with `keywords`, and the probe bound to both. */
export async function offloadLab(keywords: Record<string, string | number> = {}, options: NdisOptions = {}, keywordsB: Record<string, string | number> = keywords): Promise<Lab> {
  const ndis = new Ndis({ processors: 4, ...options });
  const throttle = new FixedReceiveThrottle();
  const virt = new VirtualMiniportDriver(ndis, { receiveThrottle: throttle });
  const probe = new Probe(ndis);
  await ndis.registerProtocolDriver(probe.characteristics() as ProtocolDriverCharacteristics);
  const a = await virt.addAdapter('a', { NetworkAddress: MAC_A, ...keywords });
  const b = await virt.addAdapter('b', { NetworkAddress: MAC_B, ...keywordsB });
  return { ndis, virt, probe, throttle, a, b, adapterA: virt.adapter(a), adapterB: virt.adapter(b) };
}

/** OID_OFFLOAD_ENCAPSULATION with IEEE 802.3 for both IP versions: the offloads start. */
export async function activateOffloads(lab: Lab, adapter: 'a' | 'b'): Promise<NdisStatus> {
  const on = { enabled: NDIS_OFFLOAD_SET_ON, encapsulationType: NDIS_ENCAPSULATION.IEEE_802_3, headerSize: 14 };
  return lab.probe.oid(adapter, NdisOidRequest.set(OID.OFFLOAD_ENCAPSULATION, encodeOffloadEncapsulation({ ipv4: on, ipv6: on })));
}

/** Runs the scheduler until the runtime is idle (DPCs, completions). */
export async function settle(lab: Lab): Promise<void> {
  await lab.ndis.sleep(5);
}
