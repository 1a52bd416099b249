/**
 * `programmable`: a miniport whose behaviour a test scripts, in the manner of Microsoft's FnMp
 * functional-test miniport. A test injects receives (frames as bytes, cut into MDLs where it
 * wants, with the flags and OOB it wants), captures the sends the stack makes and completes them
 * when and how it wants, intercepts OIDs (answer, fail, or pend and complete later), and decides
 * how pause and restart behave. It registers with any NDIS 6.x version, so that version-specific
 * rules (one MDL per NET_BUFFER in NDIS 6.0) can be exercised.
 *
 * It is a real driver on the public runtime API, with one deliberate difference from a good
 * miniport: it does exactly what the test says, including breaking rules when told to (so that the
 * verifier has something to catch).
 */
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_MAC_OPTION,
  NDIS_PACKET_TYPE,
  NDIS_STATISTICS_ALL_VALID,
  NDIS_STATUS,
  NdisMedium,
  NdisPhysicalMedium,
  NdisRequestType,
  OID,
  readUlong,
  type MiniportBlock,
  type MiniportDriver,
  type MiniportDriverCharacteristics,
  type Ndis,
  type NdisOidRequest,
  type NdisStatus,
  type AdapterConfig,
} from '../../../ndis/index.js';
import {
  NDIS_RECEIVE_FLAGS,
  NDIS_SEND_COMPLETE_FLAGS,
  NblQueue,
  netBufferData,
  freeMdlChain,
  mdlChainFromBytes,
  type NetBufferList,
  type NetBufferPool,
  type NetBufferListPool,
} from '../../../nbl/index.js';

/** How the programmable miniport answers an OID: a status, or 'pend' to complete it later. */
export type OidAnswer = NdisStatus | 'pend';

/** What a test tells the miniport about one received frame. */
export interface InjectedFrame {
  bytes: Uint8Array;
  /** Cut the frame into MDLs at these offsets (e.g. [14, 34] for three MDLs). */
  splitAt?: number[];
  /** Unused bytes in front of the frame, in its first MDL (backfill). */
  backfill?: number;
  /** NET_BUFFER_LIST.NblFlags to set (e.g. NDIS_NBL_FLAGS.HD_SPLIT). */
  nblFlags?: number;
  /** OOB slots to set: [NDIS_NET_BUFFER_LIST_INFO id, value]. */
  info?: [number, number][];
  /** Put these frames as extra NET_BUFFERs of the same NBL (breaks the Ethernet receive rule). */
  extraNetBuffers?: Uint8Array[];
}

/** Options of one programmable adapter. */
export interface ProgrammableOptions {
  mac?: Uint8Array;
  mtu?: number;
  lookahead?: number;
  /** 'sync' (default): pause and restart complete at once; 'pend': the test completes them. */
  pauseMode?: 'sync' | 'pend';
  restartMode?: 'sync' | 'pend' | 'fail';
  /** Complete sends as they arrive (default) or hold them for the test (`completeSends`). */
  autoCompleteSends?: boolean;
  /** The status MiniportPause returns in 'sync' mode (only SUCCESS/PENDING are legal). */
  pauseReturn?: NdisStatus;
  /** MiniportResetEx: 'sync' (default) succeeds at once; 'pend' waits for completeReset(). */
  resetMode?: 'sync' | 'pend';
}

/** The MiniportAdapterContext of a programmable adapter. */
export class ProgrammableAdapter {
  readonly ndis: Ndis;
  readonly handle: MiniportBlock;
  readonly options: Required<Omit<ProgrammableOptions, 'mac'>> & { mac: Uint8Array };
  readonly pool: NetBufferListPool;
  /** Sends received from NDIS and not yet completed (when autoCompleteSends is off). */
  readonly heldSends = new NblQueue();
  /** Every frame sent to this adapter, as bytes. */
  readonly sentFrames: Uint8Array[] = [];
  /** Receive NBLs indicated and not yet returned. */
  readonly outstandingReceives = new Set<NetBufferList>();
  /** OIDs the adapter saw (type, oid). */
  readonly oidLog: string[] = [];
  /** Pending OIDs waiting for the test. */
  readonly pendingOids: NdisOidRequest[] = [];
  /** The test's OID handler; undefined answers the basics and NOT_SUPPORTED otherwise. */
  onOid: ((r: NdisOidRequest) => OidAnswer | undefined) | null = null;
  pausedCount = 0;
  resets = 0;
  restartedCount = 0;
  packetFilter = 0;
  halted = false;

  constructor(ndis: Ndis, handle: MiniportBlock, options: ProgrammableOptions) {
    this.ndis = ndis;
    this.handle = handle;
    this.options = {
      mac: options.mac ?? new Uint8Array([2, 0x11, 0, 0, 0, (handle.ifIndex & 0xff) || 1]),
      mtu: options.mtu ?? 1500,
      lookahead: options.lookahead ?? 128,
      pauseMode: options.pauseMode ?? 'sync',
      restartMode: options.restartMode ?? 'sync',
      autoCompleteSends: options.autoCompleteSends ?? true,
      pauseReturn: options.pauseReturn ?? NDIS_STATUS.SUCCESS,
      resetMode: options.resetMode ?? 'sync',
    };
    this.pool = ndis.allocateNetBufferListPool(handle, { fAllocateNetBuffer: true, poolTag: 'PgRx' });
  }

  /** Builds the NBL for one injected frame (its data in MDLs over a fresh buffer). */
  buildNbl(f: InjectedFrame): NetBufferList {
    const first = mdlChainFromBytes(f.bytes, f.splitAt ?? [], f.backfill ?? 0);
    const nbl = this.pool.allocateNetBufferAndNetBufferList(0, 0, first.chain, first.offset, f.bytes.length);
    if (nbl === null) throw new Error('programmable miniport: receive pool exhausted');
    nbl.nblFlags = f.nblFlags ?? 0;
    for (const [id, v] of f.info ?? []) nbl.netBufferListInfo[id] = v;
    if (f.extraNetBuffers !== undefined) {
      // A second NET_BUFFER on a receive NBL: only a miniport that breaks the rules does this.
      const nbPool = this.extraPool ?? (this.extraPool = this.ndis.allocateNetBufferPool(this.handle, { poolTag: 'PgNb' }));
      let last = nbl.firstNetBuffer!;
      for (const bytes of f.extraNetBuffers) {
        const x = mdlChainFromBytes(bytes);
        const nb = nbPool.allocateNetBuffer(x.chain, x.offset, bytes.length)!;
        last.next = nb;
        last = nb;
      }
    }
    nbl.sourceHandle = this.handle;
    return nbl;
  }

  private extraPool: NetBufferPool | null = null;

  /**
   * Indicates frames up the stack as one chain with `flags` (NDIS_RECEIVE_FLAGS_*; DISPATCH_LEVEL is
   * added when called from a DPC). Returns the NBLs indicated.
   */
  indicate(frames: readonly InjectedFrame[], flags = 0, count?: number): NetBufferList[] {
    const nbls = frames.map((f) => this.buildNbl(f));
    for (let i = 0; i + 1 < nbls.length; i++) nbls[i]!.next = nbls[i + 1]!;
    if (nbls.length === 0) return nbls;
    if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) === 0) for (const n of nbls) this.outstandingReceives.add(n);
    this.ndis.mIndicateReceiveNetBufferLists(this.handle, nbls[0]!, 0, count ?? nbls.length, flags);
    if ((flags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0) for (const n of nbls) this.release(n);
    return nbls;
  }

  /** Frees an NBL this adapter built. */
  private release(nbl: NetBufferList): void {
    const first = nbl.firstNetBuffer!;
    let nb = first.next;
    first.next = null;
    while (nb !== null) {
      const next = nb.next;
      freeMdlChain(nb.mdlChain);
      this.extraPool!.freeNetBuffer(nb);
      nb = next;
    }
    const chain = first.mdlChain;
    this.pool.freeNetBufferList(nbl);
    freeMdlChain(chain);
  }

  /** MiniportReturnNetBufferLists. */
  returned(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      x.next = null;
      this.outstandingReceives.delete(x);
      this.release(x);
      x = next;
    }
  }

  /** MiniportSendNetBufferLists. */
  send(chain: NetBufferList): void {
    let x: NetBufferList | null = chain;
    while (x !== null) {
      const next: NetBufferList | null = x.next;
      for (let nb = x.firstNetBuffer; nb !== null; nb = nb.next) this.sentFrames.push(netBufferData(nb));
      x.status = NDIS_STATUS.SUCCESS;
      this.heldSends.enqueue(x);
      x = next;
    }
    if (this.options.autoCompleteSends) this.completeSends();
  }

  /** Completes held sends (all, or the first `count`) with `status`. */
  completeSends(status: NdisStatus = NDIS_STATUS.SUCCESS, count = Infinity): number {
    const chain = this.heldSends.dequeueChain(count === Infinity ? 0x7fffffff : count);
    if (chain === null) return 0;
    let n = 0;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
      x.status = status;
      n++;
    }
    this.ndis.mSendNetBufferListsComplete(this.handle, chain, this.ndis.scheduler.irql === 2 ? NDIS_SEND_COMPLETE_FLAGS.DISPATCH_LEVEL : 0);
    return n;
  }

  /** Completes one held send (NdisMSendNetBufferListsComplete for that NBL alone). */
  completeSend(nbl: NetBufferList, status: NdisStatus = NDIS_STATUS.SUCCESS): void {
    const rest: NetBufferList[] = [];
    let found = false;
    for (let x = this.heldSends.dequeue(); x !== null; x = this.heldSends.dequeue()) {
      if (x === nbl) found = true;
      else rest.push(x);
    }
    for (const x of rest) this.heldSends.enqueue(x);
    if (!found) throw new Error('programmable miniport: that NBL is not a held send');
    nbl.status = status;
    this.ndis.mSendNetBufferListsComplete(this.handle, nbl, 0);
  }

  /** MiniportResetEx. */
  reset(): NdisStatus {
    this.resets++;
    return this.options.resetMode === 'pend' ? NDIS_STATUS.PENDING : NDIS_STATUS.SUCCESS;
  }

  /** Completes a pended reset (NdisMResetComplete). */
  completeReset(status: NdisStatus = NDIS_STATUS.SUCCESS): void {
    this.ndis.mResetComplete(this.handle, status, false);
  }

  /** Completes a pended OID. */
  completeOid(request: NdisOidRequest, status: NdisStatus): void {
    const i = this.pendingOids.indexOf(request);
    if (i >= 0) this.pendingOids.splice(i, 1);
    this.ndis.mOidRequestComplete(this.handle, request, status);
  }

  /** MiniportOidRequest. */
  oid(r: NdisOidRequest): NdisStatus {
    this.oidLog.push(`${r.requestType === NdisRequestType.SetInformation ? 'set' : r.requestType === NdisRequestType.Method ? 'method' : 'query'} ${r.oid.toString(16)}`);
    const answer = this.onOid?.(r);
    if (answer === 'pend') {
      this.pendingOids.push(r);
      return NDIS_STATUS.PENDING;
    }
    if (answer !== undefined) return answer;
    if (r.requestType === NdisRequestType.SetInformation && r.oid === OID.GEN_CURRENT_PACKET_FILTER) {
      this.packetFilter = readUlong(r) ?? 0;
      r.bytesRead = 4;
      return NDIS_STATUS.SUCCESS;
    }
    if (r.requestType === NdisRequestType.SetInformation && (r.oid === OID.P802_3_MULTICAST_LIST || r.oid === OID.PNP_SET_POWER || r.oid === OID.GEN_CURRENT_LOOKAHEAD)) {
      r.bytesRead = r.informationBufferLength;
      return NDIS_STATUS.SUCCESS;
    }
    return NDIS_STATUS.NOT_SUPPORTED;
  }

  pause(): NdisStatus {
    this.pausedCount++;
    return this.options.pauseMode === 'pend' ? NDIS_STATUS.PENDING : this.options.pauseReturn;
  }

  /** Completes a pended pause (NdisMPauseComplete). */
  completePause(): void {
    this.ndis.mPauseComplete(this.handle);
  }

  restart(): NdisStatus {
    this.restartedCount++;
    if (this.options.restartMode === 'fail') return NDIS_STATUS.FAILURE;
    return this.options.restartMode === 'pend' ? NDIS_STATUS.PENDING : NDIS_STATUS.SUCCESS;
  }

  /** Completes a pended restart (NdisMRestartComplete). */
  completeRestart(status: NdisStatus = NDIS_STATUS.SUCCESS): void {
    this.ndis.mRestartComplete(this.handle, status);
  }

  halt(): void {
    this.halted = true;
    for (const n of [...this.outstandingReceives]) this.release(n);
    this.outstandingReceives.clear();
    this.ndis.freeNetBufferListPool(this.pool);
    if (this.extraPool !== null) this.ndis.freeNetBufferPool(this.extraPool);
  }
}


/** The programmable miniport driver: adapters created by a test with chosen options. */
export class ProgrammableMiniport {
  readonly ndis: Ndis;
  readonly handle: MiniportDriver;
  readonly adapters = new Map<string, ProgrammableAdapter>();
  private nextOptions: ProgrammableOptions = {};

  /** Registers the driver with NDIS version 6.`minor` (default 6.30). */
  constructor(ndis: Ndis, name = 'programmable', minorNdisVersion = 30) {
    this.ndis = ndis;
    const self = this;
    const chars = {
      name,
      majorNdisVersion: 6,
      minorNdisVersion,
      initializeEx(handle): NdisStatus {
        const a = new ProgrammableAdapter(ndis, handle, self.nextOptions);
        self.adapters.set(handle.name, a);
        ndis.mSetMiniportAttributes(handle, { kind: 'registration', miniportAdapterContext: a, attributeFlags: 0, checkForHangTimeInSeconds: 0, interfaceType: 0 });
        ndis.mSetMiniportAttributes(handle, {
          kind: 'general',
          flags: 0,
          mediaType: NdisMedium.NdisMedium802_3,
          physicalMediumType: NdisPhysicalMedium.P802_3,
          mtuSize: a.options.mtu,
          maxXmitLinkSpeed: 1e9,
          xmitLinkSpeed: 1e9,
          maxRcvLinkSpeed: 1e9,
          rcvLinkSpeed: 1e9,
          mediaConnectState: MediaConnectState.Connected,
          mediaDuplexState: MediaDuplexState.Full,
          lookaheadSize: a.options.lookahead,
          macOptions: NDIS_MAC_OPTION.NO_LOOPBACK | NDIS_MAC_OPTION.TRANSFERS_NOT_PEND,
          supportedPacketFilters: NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.ALL_MULTICAST | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.PROMISCUOUS,
          maxMulticastListSize: 32,
          macAddressLength: 6,
          permanentMacAddress: a.options.mac,
          currentMacAddress: a.options.mac,
          recvScaleCapabilities: null,
          accessType: 1,
          directionType: 0,
          connectionType: 1,
          ifType: 6,
          ifConnectorPresent: false,
          supportedStatistics: NDIS_STATISTICS_ALL_VALID,
          supportedPauseFunctions: 0,
          dataBackFillSize: 0,
          contextBackFillSize: 0,
          supportedOidList: [OID.GEN_CURRENT_PACKET_FILTER, OID.P802_3_MULTICAST_LIST],
          autoNegotiationFlags: 0,
        });
        return NDIS_STATUS.SUCCESS;
      },
      haltEx: (a) => a.halt(),
      pause: (a) => a.pause(),
      restart: (a) => a.restart(),
      oidRequest: (a, r) => a.oid(r),
      sendNetBufferLists: (a, nbl) => a.send(nbl),
      returnNetBufferLists: (a, nbl) => a.returned(nbl),
      cancelSend: () => undefined,
      resetEx: (a) => a.reset(),
      devicePnPEventNotify: () => undefined,
      shutdownEx: () => undefined,
      cancelOidRequest(a, requestId) {
        const r = a.pendingOids.find((x) => x.requestId === requestId);
        if (r !== undefined) a.completeOid(r, NDIS_STATUS.REQUEST_ABORTED);
      },
    } satisfies MiniportDriverCharacteristics<ProgrammableAdapter>;
    this.handle = ndis.registerMiniportDriver(chars as MiniportDriverCharacteristics, this);
  }

  /** Adds an adapter with the given behaviour. */
  async addAdapter(name: string, options: ProgrammableOptions = {}, config: AdapterConfig = {}): Promise<ProgrammableAdapter> {
    this.nextOptions = options;
    await this.ndis.addAdapter(this.handle, { ...config, name });
    return this.adapters.get(name)!;
  }
}
