/**
 * `pcap`: an NDIS 6 Ethernet miniport whose wire is a pair of capture files. The frames of a pcap
 * or pcapng file arrive as received frames — as fast as the stack takes them, or at the file's own
 * pace (optionally faster or slower) — and what the stack sends is written to a pcapng file. It
 * lets a driver or a protocol stack be run against recorded traffic, offline and repeatably: in
 * virtual time the original pacing costs no wall-clock time at all.
 *
 * Adapter configuration keywords (NdisReadConfiguration): `NetworkAddress`, `MTU`,
 * `ReceiveBuffers`, `MaxNblsPerIndicate`, `ReplayTiming` ("original" or "fast"), `ReplaySpeed`,
 * `ReplayLoops`, `ReplayAutoStart`, `LinkSpeed`, `Processor`. The files are opened by {@link PcapMiniportDriver.addAdapter}
 * and handed to MiniportInitializeEx as the MiniportAddDeviceContext.
 */
import { randomBytes } from 'node:crypto';
import {
  MediaConnectState,
  MediaDuplexState,
  NDIS_MAC_OPTION,
  NDIS_MINIPORT_ATTRIBUTES,
  NDIS_PACKET_TYPE,
  NDIS_STATISTICS_ALL_VALID,
  NDIS_STATUS,
  NdisError,
  NdisMedium,
  NdisPhysicalMedium,
  type AdapterConfig,
  type MiniportBlock,
  type MiniportDriver,
  type MiniportDriverCharacteristics,
  type Ndis,
  type NdisStatus,
} from '../../../ndis/index.js';
import { FileSink, PcapngWriter, type CaptureSink } from '../../../pcap/index.js';
import { formatMac, parseMac } from '../../../wire/index.js';
import { PcapAdapter } from './adapter.js';
import { PCAP_SUPPORTED_OIDS, ethernetOidRequest, vendorDescription } from './oid.js';
import { ReplaySource } from './source.js';

export { PcapAdapter, PcapAdapterStatistics } from './adapter.js';
export { ReplaySource, ReplaySourceCounters } from './source.js';
export { PCAP_SUPPORTED_OIDS } from './oid.js';

/** What a pcap adapter is configured with. */
export interface PcapOptions {
  /** Capture file (pcap or pcapng) whose Ethernet frames arrive as received frames. */
  replay?: string;
  /** The capture's bytes instead of a file. */
  replayBytes?: Uint8Array;
  /** pcapng interface (ID or name) to replay; default every Ethernet interface. */
  replayInterface?: number | string;
  /** Pace: "original" (the file's timestamps, the default) or "fast" (as fast as the stack takes frames). */
  timing?: 'original' | 'fast';
  /** Pace multiplier with original timing (default 1; 10 = ten times as fast). */
  speed?: number;
  /** Passes over the file (default 1; 0 = until the adapter is removed). */
  loops?: number;
  /** Start replaying at the adapter's first restart (default true); false waits for PcapAdapter.startReplay(). */
  autoStart?: boolean;
  /** pcapng file receiving what the stack sends (created or replaced). */
  output?: string;
  /** A sink receiving that pcapng instead of a file. */
  outputSink?: CaptureSink;
  /** MAC address (`NetworkAddress`), default a random locally administered one. */
  mac?: string;
  /** MTU (default 1500); longer frames of the file are dropped and counted. */
  mtu?: number;
  /** Receive buffers preallocated (default 256). */
  receiveBuffers?: number;
  /** Most NBLs per receive indication (default 64). */
  maxNblsPerIndicate?: number;
  /** Link speed reported, bits/s (default 1 Gbit/s). */
  linkSpeed?: number;
}

/** The files of one adapter: its MiniportAddDeviceContext. */
export class PcapDeviceFiles {
  constructor(
    readonly source: ReplaySource | null,
    readonly output: PcapngWriter | null,
  ) {}
}

/** The driver-wide state of the pcap miniport (its MiniportDriverContext). */
export class PcapMiniportDriver {
  readonly ndis: Ndis;
  readonly handle: MiniportDriver;
  readonly adapters = new Map<MiniportBlock, PcapAdapter>();
  private count = 0;

  /** Models DriverEntry: NdisMRegisterMiniportDriver with the pcap handlers. */
  constructor(ndis: Ndis, name = 'pcap') {
    this.ndis = ndis;
    const self = this;
    const description = vendorDescription('ndis-ts capture-file Ethernet adapter');
    const chars = {
      name,
      majorNdisVersion: 6,
      minorNdisVersion: 30,
      majorDriverVersion: 1,
      minorDriverVersion: 0,
      initializeEx(handle, _driverContext, params): NdisStatus {
        return self.initialize(handle, params.miniportAddDeviceContext);
      },
      haltEx(a) {
        a.halt();
        self.adapters.delete(a.handle);
      },
      pause: (a) => a.pause(),
      restart: (a) => a.restart(),
      oidRequest: (a, r) => ethernetOidRequest(a, r, description, 0),
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
    } satisfies MiniportDriverCharacteristics<PcapAdapter>;
    this.handle = ndis.registerMiniportDriver(chars as MiniportDriverCharacteristics, this);
  }

  /**
   * Adds a pcap adapter: reads the replay file, creates the output file, then has NDIS start the
   * adapter. The replay begins when the stack first restarts (after the protocols have bound).
   * @throws NdisError ERR_NDIS_INVALID_PARAMETER for a bad option or an unreadable file.
   */
  async addAdapter(name: string, options: PcapOptions = {}, config: AdapterConfig = {}): Promise<MiniportBlock> {
    const mac = options.mac ?? randomMac();
    if (parseMac(mac) === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: mac '${mac}' is not a MAC address (write 02:00:00:00:00:01)`);
    const speed = options.speed ?? 1;
    if (!(speed > 0) || !Number.isFinite(speed)) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: speed must be a positive number; got ${speed}`);
    const loops = options.loops ?? 1;
    if (!Number.isInteger(loops) || loops < 0) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: loops must be a non-negative integer; got ${loops}`);
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: mtu must be an integer from 68 to 65535; got ${mtu}`);
    let source: ReplaySource | null = null;
    const iface = options.replayInterface ?? null;
    try {
      if (options.replayBytes !== undefined) source = ReplaySource.fromBytes(options.replayBytes, iface);
      else if (options.replay !== undefined) source = ReplaySource.fromFile(options.replay, iface);
    } catch (e) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: cannot read ${options.replay ?? 'the replay bytes'}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (source !== null && source.counters.records === 0 && source.firstError !== null) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: ${options.replay ?? 'the replay bytes'} is not a readable capture: ${source.firstError}`);
    }
    let output: PcapngWriter | null = null;
    try {
      if (options.outputSink !== undefined) output = new PcapngWriter(options.outputSink, { userApplication: 'ndis-ts pcap miniport' });
      else if (options.output !== undefined) output = new PcapngWriter(new FileSink(options.output), { userApplication: 'ndis-ts pcap miniport' });
    } catch (e) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `pcap: cannot create ${options.output ?? 'the output'}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const configuration: Record<string, string | number> = {
      NetworkAddress: mac,
      MTU: mtu,
      ReceiveBuffers: options.receiveBuffers ?? 256,
      MaxNblsPerIndicate: options.maxNblsPerIndicate ?? 64,
      ReplayTiming: options.timing ?? 'original',
      ReplaySpeed: speed,
      ReplayLoops: loops,
      ReplayAutoStart: options.autoStart === false ? 0 : 1,
      LinkSpeed: options.linkSpeed ?? 1_000_000_000,
      ...config.configuration,
    };
    try {
      return await this.ndis.addAdapter(this.handle, { ...config, name, configuration, addDeviceContext: new PcapDeviceFiles(source, output) });
    } catch (e) {
      output?.close();
      throw e;
    }
  }

  /** The adapter context of an adapter handle. */
  adapter(handle: MiniportBlock): PcapAdapter {
    const a = this.adapters.get(handle);
    if (a === undefined) throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `'${handle.name}' is not a pcap adapter`);
    return a;
  }

  /** MiniportInitializeEx: reads the configuration, builds the adapter on its files, sets the attributes. */
  private initialize(handle: MiniportBlock, addDeviceContext: unknown): NdisStatus {
    if (!(addDeviceContext instanceof PcapDeviceFiles)) return NDIS_STATUS.ADAPTER_NOT_FOUND;
    const ndis = this.ndis;
    const cfg = ndis.openConfigurationEx(handle);
    const num = (k: string, d: number): number => {
      const v = ndis.readConfiguration(cfg, k);
      return v === null ? d : Number(v);
    };
    const macText = ndis.readConfiguration(cfg, 'NetworkAddress');
    const timing = ndis.readConfiguration(cfg, 'ReplayTiming');
    const index = ++this.count;
    const options = {
      source: addDeviceContext.source,
      output: addDeviceContext.output,
      mac: (macText === null ? null : parseMac(String(macText))) ?? new Uint8Array(0),
      mtu: num('MTU', 1500),
      linkSpeed: num('LinkSpeed', 1_000_000_000),
      receiveBuffers: num('ReceiveBuffers', 256),
      maxNblsPerIndicate: num('MaxNblsPerIndicate', 64),
      originalTiming: timing === null || String(timing) !== 'fast',
      speed: num('ReplaySpeed', 1),
      loops: num('ReplayLoops', 1),
      autoStart: num('ReplayAutoStart', 1) !== 0,
      processor: num('Processor', index),
    };
    ndis.closeConfiguration(cfg);
    if (options.mac.length !== 6 || !(options.receiveBuffers >= 1) || !(options.speed > 0)) return NDIS_STATUS.INVALID_PARAMETER;
    const a = new PcapAdapter(ndis, handle, options);
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
      physicalMediumType: NdisPhysicalMedium.Unspecified,
      mtuSize: options.mtu,
      maxXmitLinkSpeed: options.linkSpeed,
      xmitLinkSpeed: options.linkSpeed,
      maxRcvLinkSpeed: options.linkSpeed,
      rcvLinkSpeed: options.linkSpeed,
      mediaConnectState: MediaConnectState.Connected,
      mediaDuplexState: MediaDuplexState.Full,
      lookaheadSize: options.mtu,
      macOptions: NDIS_MAC_OPTION.COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION.TRANSFERS_NOT_PEND | NDIS_MAC_OPTION.NO_LOOPBACK,
      supportedPacketFilters:
        NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.MULTICAST | NDIS_PACKET_TYPE.ALL_MULTICAST | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.PROMISCUOUS,
      maxMulticastListSize: a.maxMulticast,
      macAddressLength: 6,
      permanentMacAddress: options.mac,
      currentMacAddress: options.mac,
      recvScaleCapabilities: null,
      accessType: 1, // NET_IF_ACCESS_BROADCAST
      directionType: 0, // NET_IF_DIRECTION_SENDRECEIVE
      connectionType: 1, // NET_IF_CONNECTION_DEDICATED
      ifType: 6, // IF_TYPE_ETHERNET_CSMACD
      ifConnectorPresent: false,
      supportedStatistics: NDIS_STATISTICS_ALL_VALID,
      supportedPauseFunctions: 0,
      dataBackFillSize: 0,
      contextBackFillSize: 0,
      supportedOidList: [...PCAP_SUPPORTED_OIDS],
      autoNegotiationFlags: 0,
    });
    return NDIS_STATUS.SUCCESS;
  }
}

/** A random locally administered unicast MAC address. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return formatMac(b);
}
