/**
 * Small instrumented drivers for runtime tests: a filter and a protocol that log every handler
 * NDIS calls (in order), pass traffic through, and can hold NBLs on demand.
 */
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  NdisMedium,
  NdisOidRequest,
  OID,
  allocateCloneOidRequest,
  copyOidResults,
  ulongBuffer,
  NetEvent,
  type BindContext,
  type FilterDriverCharacteristics,
  type FilterModule,
  type Ndis,
  type NdisStatus,
  type OpenBlock,
  type ProtocolDriverCharacteristics,

} from '../../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS, NblQueue, type NetBufferList, type NetBufferListPool, ndisAllocateMdl, ndisFreeMdl } from '../../src/nbl/index.js';

/** Options of a logging filter. */
export interface LogFilterOptions {
  name: string;
  log: string[];
  filterClass?: string;
  altitude?: number;
  /** Which data-path handlers to register (default all). */
  handlers?: { send?: boolean; receive?: boolean; ret?: boolean; complete?: boolean; oid?: boolean };
  /** Pause returns PENDING and completes after `pauseDelayMs` (virtual). */
  pauseDelayMs?: number;
}

export class LogFilterModule {
  handle: FilterModule;
  running = false;
  receives = 0;
  sends = 0;
  constructor(handle: FilterModule) {
    this.handle = handle;
  }
}

/** A filter that logs its handler calls and passes everything through. */
export function logFilter(ndis: Ndis, o: LogFilterOptions): FilterDriverCharacteristics {
  const h = o.handlers ?? {};
  const chars: FilterDriverCharacteristics<LogFilterModule> = {
    friendlyName: o.name,
    uniqueName: `{${o.name}}`,
    serviceName: o.name,
    majorNdisVersion: 6,
    minorNdisVersion: 20,
    filterClass: o.filterClass ?? 'custom',
    ...(o.altitude !== undefined ? { altitude: o.altitude } : {}),
    attach(handle) {
      o.log.push(`${o.name}:attach`);
      return ndis.fSetAttributes(handle, new LogFilterModule(handle));
    },
    detach(m) {
      o.log.push(`${o.name}:detach`);
      m.running = false;
    },
    restart(m) {
      o.log.push(`${o.name}:restart`);
      m.running = true;
      return NDIS_STATUS.SUCCESS;
    },
    pause(m) {
      o.log.push(`${o.name}:pause`);
      m.running = false;
      if (o.pauseDelayMs !== undefined) {
        const t = ndis.allocateTimerObject(m.handle, () => {
          ndis.freeTimerObject(t);
          ndis.fPauseComplete(m.handle);
        }, null);
        ndis.setTimerObject(t, -o.pauseDelayMs * 10_000);
        return NDIS_STATUS.PENDING;
      }
      return NDIS_STATUS.SUCCESS;
    },
    ...(h.send === false ? {} : {
      sendNetBufferLists(m: LogFilterModule, nbl: NetBufferList, port: number, flags: number) {
        m.sends++;
        ndis.fSendNetBufferLists(m.handle, nbl, port, flags);
      },
    }),
    ...(h.complete === false ? {} : {
      sendNetBufferListsComplete(m: LogFilterModule, nbl: NetBufferList, flags: number) {
        ndis.fSendNetBufferListsComplete(m.handle, nbl, flags);
      },
    }),
    ...(h.receive === false ? {} : {
      receiveNetBufferLists(m: LogFilterModule, nbl: NetBufferList, port: number, count: number, flags: number) {
        m.receives += count;
        if (!m.running) {
          if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) ndis.fReturnNetBufferLists(m.handle, nbl, 0);
          return;
        }
        ndis.fIndicateReceiveNetBufferLists(m.handle, nbl, port, count, flags);
      },
    }),
    ...(h.ret === false ? {} : {
      returnNetBufferLists(m: LogFilterModule, nbl: NetBufferList, flags: number) {
        ndis.fReturnNetBufferLists(m.handle, nbl, flags);
      },
    }),
    ...(h.oid === true ? {
      oidRequest(m: LogFilterModule, r: NdisOidRequest): NdisStatus {
        o.log.push(`${o.name}:oid ${r.oid.toString(16)}`);
        // As ndislwf: pass a clone down, complete the original when the clone completes.
        const clone = allocateCloneOidRequest(r);
        clone.sourceReserved[0] = r;
        const status = ndis.fOidRequest(m.handle, clone);
        if (status !== NDIS_STATUS.PENDING) copyOidResults(r, clone);
        return status;
      },
      oidRequestComplete(m: LogFilterModule, clone: NdisOidRequest, s: NdisStatus) {
        const r = clone.sourceReserved[0] as NdisOidRequest;
        copyOidResults(r, clone);
        ndis.fOidRequestComplete(m.handle, r, s);
      },
    } : {}),
    status(m, ind) {
      ndis.fIndicateStatus(m.handle, ind);
    },
  };
  return chars as FilterDriverCharacteristics;
}

/** A protocol binding of the raw test protocol. */
export class RawBinding {
  handle!: OpenBlock;
  running = false;
  readonly received: Uint8Array[] = [];
  /** NBLs kept (when `hold` is on) to return later. */
  readonly held = new NblQueue();
  hold = false;
  pool!: NetBufferListPool;
  completed = 0;
  completionStatuses: number[] = [];
  /** Keep completed sends in `kept` (to send them again) instead of freeing them. */
  keepCompleted = false;
  readonly kept: NetBufferList[] = [];
  adapterName = '';
  /** Receive flags of each indication. */
  readonly flags: number[] = [];
  /** Called with every receive indication (after the binding recorded it). */
  onReceive: ((nbl: NetBufferList, flags: number, newFrames: Uint8Array[]) => void) | null = null;
  /** Packet filter set at the first restart. */
  packetFilter = NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.MULTICAST;
  filterSet = false;
}

/** A raw protocol that logs PnP events, records receives and sends frames. */
export function rawProtocol(ndis: Ndis, name: string, log: string[], bindings: Map<string, RawBinding>, etherTypes: number[] = []): ProtocolDriverCharacteristics {
  const chars: ProtocolDriverCharacteristics<RawBinding> = {
    name,
    majorNdisVersion: 6,
    minorNdisVersion: 20,
    bindAdapterEx(_ctx, bindContext, params) {
      log.push(`${name}:bind ${params.adapterName}`);
      const b = new RawBinding();
      b.adapterName = params.adapterName;
      const protocol = [...ndis.protocolDrivers].find((p) => p.name === name)!;
      const r = ndis.openAdapterEx(protocol, b, { adapterName: params.adapterName, mediumArray: [NdisMedium.NdisMedium802_3], frameTypeArray: etherTypes }, bindContext as BindContext);
      if (r.bindingHandle === null) return r.status;
      b.handle = r.bindingHandle;
      b.pool = ndis.allocateNetBufferListPool(b.handle, { fAllocateNetBuffer: true, poolTag: 'Raw' });
      bindings.set(params.adapterName, b);
      return NDIS_STATUS.SUCCESS;
    },
    unbindAdapterEx(_u, b) {
      log.push(`${name}:unbind ${b.adapterName}`);
      let x = b.held.takeAll();
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        x.next = null;
        ndis.returnNetBufferLists(b.handle, x, 0);
        x = next;
      }
      ndis.freeNetBufferListPool(b.pool);
      bindings.delete(b.adapterName);
      return ndis.closeAdapterEx(b.handle);
    },
    openAdapterCompleteEx: () => undefined,
    closeAdapterCompleteEx: () => undefined,
    netPnPEvent(b, n) {
      if (b === null) return NDIS_STATUS.SUCCESS;
      if (n.netEvent === NetEvent.Pause) {
        log.push(`${name}:pause ${b.adapterName}`);
        b.running = false;
        // Give back everything held before the pause completes.
        let x = b.held.takeAll();
        if (x !== null) ndis.returnNetBufferLists(b.handle, x, 0);
        x = null;
      } else if (n.netEvent === NetEvent.Restart) {
        log.push(`${name}:restart ${b.adapterName}`);
        b.running = true;
        if (!b.filterSet) {
          b.filterSet = true;
          ndis.oidRequest(b.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(b.packetFilter)));
        }
      } else {
        log.push(`${name}:pnp ${n.netEvent} ${b.adapterName}`);
      }
      return NDIS_STATUS.SUCCESS;
    },
    oidRequestComplete(b, r, s) {
      log.push(`${name}:oid-complete ${r.oid.toString(16)} ${s}`);
    },
    statusEx(b, ind) {
      log.push(`${name}:status ${ind.statusCode.toString(16)} ${b.adapterName}`);
    },
    receiveNetBufferLists(b, chain, _port, _count, flags) {
      b.flags.push(flags);
      const before = b.received.length;
      const canPend = (flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0;
      let x: NetBufferList | null = chain;
      while (x !== null) {
        const nb = x.firstNetBuffer!;
        const bytes = new Uint8Array(nb.dataLength);
        let off = 0;
        for (let m = nb.currentMdl, mo = nb.currentMdlOffset; m !== null && off < nb.dataLength; m = m.next, mo = 0) {
          const n = Math.min(m.byteCount - mo, nb.dataLength - off);
          bytes.set(m.buffer.subarray(m.byteOffset + mo, m.byteOffset + mo + n), off);
          off += n;
        }
        b.received.push(bytes);
        x = x.next;
      }
      b.onReceive?.(chain, flags, b.received.slice(before));
      if (!canPend) return;
      if (b.hold && b.running) {
        b.held.enqueueChain(chain);
        return;
      }
      ndis.returnNetBufferLists(b.handle, chain, 0);
    },
    sendNetBufferListsComplete(b, chain) {
      let x: NetBufferList | null = chain;
      while (x !== null) {
        const next: NetBufferList | null = x.next;
        b.completed++;
        b.completionStatuses.push(x.status);
        if (b.keepCompleted) {
          x.next = null;
          b.kept.push(x);
          x = next;
          continue;
        }
        const mdl = x.firstNetBuffer!.mdlChain!;
        b.pool.freeNetBufferList(x);
        ndisFreeMdl(mdl);
        x = next;
      }
    },
  };
  return chars as ProtocolDriverCharacteristics;
}

/** Builds an NBL over a copy of `bytes` from the binding's pool. */
export function nblFor(b: RawBinding, bytes: Uint8Array): NetBufferList {
  const mdl = ndisAllocateMdl(bytes.slice());
  const nbl = b.pool.allocateNetBufferAndNetBufferList(0, 0, mdl, 0, bytes.length);
  if (nbl === null) throw new Error('pool exhausted');
  return nbl;
}
