/**
 * `virtual`: a virtual Ethernet miniport in the manner of the WDK's netvmini. Adapters plugged into
 * the same in-memory hub behave like NICs on one Ethernet hub: each sees the others' broadcast,
 * multicast and directed frames, through its own packet filter. MAC address, MTU, link speed and
 * link state are configurable; statistics are those of OID_GEN_STATISTICS. The adapters do the
 * scalable and virtualized networking offloads in software and negotiate them through NDIS as a
 * NIC does: checksum, LSOv1/v2, NVGRE task offload, RSS, header-data split, VMQ and receive side
 * throttle (see offload.ts for the standardized keywords).
 *
 * Adapter configuration keywords (AdapterConfig.configuration, read with NdisReadConfiguration):
 * `Hub` (hub name, default "hub0"), `NetworkAddress` (MAC, e.g. "02-00-00-00-00-01"), `MTU`
 * (default 1500), `LinkSpeed` (bits/s, default 10 Gbit/s), `ReceiveBuffers` (default 512),
 * `MaxNblsPerIndicate` (the miniport's own cap per receive indication, default 0 = none),
 * `LowResourceThreshold`, `*PriorityVLANTag` (non-zero: 802.1Q tags to and from the OOB),
 * `Processor` (default receive DPC target), VMQ queues (`VmqQueues`, default 8) and filters
 * (`VmqFilters`, default 16), `RssWorkers` (worker threads that do the per-frame receive offload
 * work — checksum validation, RSS hash, classification — in parallel over receive buffers in
 * shared memory; default 0; used when RSS is advertised and header-data split is off), and the
 * offload keywords of offload.ts.
 */
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_MAC_OPTION,
  NDIS_MINIPORT_ATTRIBUTES,
  NDIS_PACKET_TYPE,
  NDIS_STATISTICS_ALL_VALID,
  NdisMedium,
  NdisPhysicalMedium,
  type MiniportBlock,
  type MiniportDriver,
  type MiniportDriverCharacteristics,
  type Ndis,
  type AdapterConfig,
  NDIS_STATUS,
  type NdisStatus,
  cloneOffload,
} from '../../../ndis/index.js';
import { VirtualAdapter } from './adapter.js';
import { VirtualHub } from './hub.js';
import { VIRTUAL_SUPPORTED_OIDS, virtualOidRequest } from './oid.js';
import { VirtualOffload, readOffloadKeywords } from './offload.js';
import { VIRTUAL_RSS_HASH_TYPES, offloadSupportedOids, receiveFilterCapabilities, rssCapabilities } from './oid-offload.js';
import { ReceiveHashEngine, RssEngine } from '../../../offload/rss/engine.js';
import { VmqQueueSet } from '../../../offload/vmq/index.js';
import { NDIS_HD_SPLIT_CAPS } from '../../../offload/hds/index.js';
import { FixedReceiveThrottle, type ReceiveThrottleSource } from '../../../offload/throttle.js';
import type { NdisHdSplitAttributes } from '../../../ndis/structs-offload.js';

export { VirtualAdapter, VirtualStatistics, ReceiveQueue, ReceiveQueueKind } from './adapter.js';
export { VirtualHub, WireFrame } from './hub.js';
export { VIRTUAL_SUPPORTED_OIDS } from './oid.js';
export { VirtualOffload, hardwareOffload, readOffloadKeywords, VIRTUAL_LSO_MAX_OFFLOAD_SIZE, VIRTUAL_LSO_MIN_SEGMENT_COUNT, type VirtualOffloadKeywords } from './offload.js';
export { VIRTUAL_RSS_HASH_TYPES, indicateOffloadConfig, offloadSupportedOids, receiveFilterCapabilities, rssCapabilities } from './oid-offload.js';
export { InterruptDpc, type MessageInterruptDpcHandler } from './interrupt.js';

/** Options of the virtual miniport driver. */
export interface VirtualMiniportOptions {
  /** Driver (service) name, default "virtual". */
  name?: string;
  /**
   * Where receive DPCs get NDIS_RECEIVE_THROTTLE_PARAMETERS.MaxNblsToIndicate (default: a
   * FixedReceiveThrottle with NDIS_INDICATE_ALL_NBLS).
   */
  receiveThrottle?: ReceiveThrottleSource;
}

/** The driver-wide state of the virtual miniport (its MiniportDriverContext): the hubs. */
export class VirtualMiniportDriver {
  readonly ndis: Ndis;
  readonly handle: MiniportDriver;
  readonly hubs = new Map<string, VirtualHub>();
  readonly adapters = new Map<MiniportBlock, VirtualAdapter>();
  /** The receive throttle source shared by the driver's adapters (stands in for NDIS's choice). */
  readonly receiveThrottle: ReceiveThrottleSource;
  private count = 0;

  constructor(ndis: Ndis, nameOrOptions: string | VirtualMiniportOptions = 'virtual') {
    const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
    const name = options.name ?? 'virtual';
    this.ndis = ndis;
    this.receiveThrottle = options.receiveThrottle ?? new FixedReceiveThrottle();
    const self = this;
    const chars = {
      name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      majorDriverVersion: 1,
      minorDriverVersion: 0,
      initializeEx(handle, _driverContext, _params): NdisStatus {
        return self.initialize(handle);
      },
      haltEx(a) {
        a.halt();
        self.adapters.delete(a.handle);
      },
      pause: (a) => a.pause(),
      restart: (a) => a.restart(),
      oidRequest: (a, r) => virtualOidRequest(a, r),
      sendNetBufferLists: (a, nbl) => a.sendNetBufferLists(nbl),
      returnNetBufferLists: (a, nbl) => a.returnNetBufferLists(nbl),
      cancelSend: () => undefined,
      checkForHangEx: () => false,
      resetEx: (_a, out) => {
        out.addressingReset = false;
        return NDIS_STATUS.SUCCESS;
      },
      devicePnPEventNotify: () => undefined,
      shutdownEx: () => undefined,
      cancelOidRequest: () => undefined,
    } satisfies MiniportDriverCharacteristics<VirtualAdapter>;
    this.handle = ndis.registerMiniportDriver(chars as MiniportDriverCharacteristics, this);
  }

  /** The hub of that name (created on first use). */
  hub(name = 'hub0'): VirtualHub {
    let h = this.hubs.get(name);
    if (h === undefined) {
      h = new VirtualHub(name);
      this.hubs.set(name, h);
    }
    return h;
  }

  /** Adds an adapter of this driver (the PnP arrival of a device) plugged into hub `hub`. */
  addAdapter(name: string, configuration: Record<string, string | number> = {}, config: AdapterConfig = {}): Promise<MiniportBlock> {
    return this.ndis.addAdapter(this.handle, { ...config, name, configuration: { ...configuration } });
  }

  /** The adapter context of an adapter handle. */
  adapter(handle: MiniportBlock): VirtualAdapter {
    const a = this.adapters.get(handle);
    if (a === undefined) throw new Error(`'${handle.name}' is not a virtual adapter`);
    return a;
  }

  private initialize(handle: MiniportBlock): NdisStatus {
    const ndis = this.ndis;
    const cfg = ndis.openConfigurationEx(handle);
    const num = (k: string, d: number): number => {
      const v = ndis.readConfiguration(cfg, k);
      return v === null ? d : Number(v);
    };
    const str = (k: string, d: string): string => {
      const v = ndis.readConfiguration(cfg, k);
      return v === null ? d : String(v);
    };
    const index = ++this.count;
    const macText = str('NetworkAddress', `02-00-00-00-${(index >> 8).toString(16).padStart(2, '0')}-${(index & 0xff).toString(16).padStart(2, '0')}`);
    const mac = parseMacText(macText);
    const mtu = num('MTU', 1500);
    const linkSpeed = num('LinkSpeed', 10_000_000_000);
    const hubName = str('Hub', 'hub0');
    const processors = ndis.scheduler.processorCount;
    const kw = readOffloadKeywords(num, processors);
    const vlanOffload = num('*PriorityVLANTag', 0) !== 0;
    // *RssOrVmqPreference: 1 with *VMQ advertises VMQ (and not RSS); otherwise *RSS decides.
    const vmqOn = kw.rssOrVmqPreference === 1 && kw.vmq;
    const rssOn = !vmqOn && kw.rss;
    const vmqQueues = num('VmqQueues', 8);
    const vmqFilters = num('VmqFilters', 16);
    let hds: NdisHdSplitAttributes | null = null;
    if (kw.headerDataSplit) {
      const caps = NDIS_HD_SPLIT_CAPS.SUPPORTS_HEADER_DATA_SPLIT | NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV4_OPTIONS | NDIS_HD_SPLIT_CAPS.SUPPORTS_IPV6_EXTENSION_HEADERS | NDIS_HD_SPLIT_CAPS.SUPPORTS_TCP_OPTIONS;
      // NDIS fills HDSplitFlags, BackfillSize and MaxHeaderSize in NdisMSetMiniportAttributes; the
      // receive buffers, which depend on them, are allocated after that call.
      hds = { hardwareCapabilities: caps, currentCapabilities: caps, hdSplitFlags: 0, backfillSize: 0, maxHeaderSize: 0 };
    }
    const options = {
      hub: this.hub(hubName),
      mac: mac ?? new Uint8Array([2, 0, 0, 0, index >> 8, index & 0xff]),
      mtu,
      linkSpeed,
      receiveBuffers: num('ReceiveBuffers', 512),
      maxNblsPerIndicate: num('MaxNblsPerIndicate', 0),
      lowResourceThreshold: num('LowResourceThreshold', 0),
      vlanOffload,
      processor: num('Processor', index),
      offload: new VirtualOffload(kw, mtu, vlanOffload),
      rss: rssOn ? new RssEngine(VIRTUAL_RSS_HASH_TYPES, processors, kw.numRssQueues) : null,
      receiveHash: new ReceiveHashEngine(VIRTUAL_RSS_HASH_TYPES),
      vmq: vmqOn ? new VmqQueueSet(vmqQueues, vmqFilters, kw.vmqVlanFiltering, 30) : null,
      hds,
      throttle: this.receiveThrottle,
      rssWorkers: num('RssWorkers', 0),
    };
    ndis.closeConfiguration(cfg);
    if (mac === null || mtu < 46 || mtu > 65_000) return NDIS_STATUS.INVALID_PARAMETER;
    const a = new VirtualAdapter(ndis, handle, options);
    this.adapters.set(handle, a);
    ndis.mSetMiniportAttributes(handle, {
      kind: 'registration',
      miniportAdapterContext: a,
      attributeFlags: NDIS_MINIPORT_ATTRIBUTES.NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES.SURPRISE_REMOVE_OK,
      checkForHangTimeInSeconds: 0,
      interfaceType: 0,
    });
    ndis.mSetMiniportAttributes(handle, {
      kind: 'general',
      flags: 0,
      mediaType: NdisMedium.NdisMedium802_3,
      physicalMediumType: NdisPhysicalMedium.P802_3,
      mtuSize: mtu,
      maxXmitLinkSpeed: linkSpeed,
      xmitLinkSpeed: linkSpeed,
      maxRcvLinkSpeed: linkSpeed,
      rcvLinkSpeed: linkSpeed,
      mediaConnectState: MediaConnectState.Connected,
      mediaDuplexState: MediaDuplexState.Full,
      lookaheadSize: mtu,
      macOptions:
        NDIS_MAC_OPTION.COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION.TRANSFERS_NOT_PEND | NDIS_MAC_OPTION.NO_LOOPBACK | NDIS_MAC_OPTION.PRIORITY_8021P | NDIS_MAC_OPTION.VLAN_8021Q,
      supportedPacketFilters:
        NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.ALL_MULTICAST | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.PROMISCUOUS,
      maxMulticastListSize: a.maxMulticast,
      macAddressLength: 6,
      permanentMacAddress: options.mac,
      currentMacAddress: options.mac,
      recvScaleCapabilities: options.rss === null ? null : rssCapabilities(options.rss.maxQueues),
      accessType: 1, // NET_IF_ACCESS_BROADCAST
      directionType: 0, // NET_IF_DIRECTION_SENDRECEIVE
      connectionType: 1, // NET_IF_CONNECTION_DEDICATED
      ifType: 6, // IF_TYPE_ETHERNET_CSMACD
      ifConnectorPresent: false,
      supportedStatistics: NDIS_STATISTICS_ALL_VALID,
      supportedPauseFunctions: 0,
      dataBackFillSize: 0,
      contextBackFillSize: 0,
      supportedOidList: [...VIRTUAL_SUPPORTED_OIDS, ...offloadSupportedOids(options.rss !== null, hds !== null, options.vmq !== null)],
      autoNegotiationFlags: 0,
    });
    ndis.mSetMiniportAttributes(handle, { kind: 'offload', defaultOffloadConfiguration: cloneOffload(options.offload.current), hardwareOffloadCapabilities: cloneOffload(options.offload.hardware) });
    const vmq = options.vmq;
    if (hds !== null || vmq !== null) {
      ndis.mSetMiniportAttributes(handle, {
        kind: 'hardwareAssist',
        hdSplitAttributes: hds,
        hardwareReceiveFilterCapabilities: vmq === null ? null : receiveFilterCapabilities(vmq.maxQueues, vmq.maxFilters, vmq.vlanFiltering, false),
        currentReceiveFilterCapabilities: vmq === null ? null : receiveFilterCapabilities(vmq.maxQueues, vmq.maxFilters, vmq.vlanFiltering, true),
      });
    }
    a.allocateReceiveBuffers(options.receiveBuffers);
    return NDIS_STATUS.SUCCESS;
  }
}

/** Parses "02-00-00-00-00-01", "02:00:..." or "020000000001"; null when malformed. */
export function parseMacText(text: string): Uint8Array | null {
  const hex = text.replace(/[-:]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return null;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
