/**
 * `tap`: an NDIS 6 Ethernet miniport whose wire is a Linux TAP interface, so that an NDIS stack in
 * ndis-ts and the Linux kernel's stack sit on one Ethernet link: what the kernel transmits on the
 * interface, the adapter receives; what the adapter sends, the kernel receives.
 *
 * The TapDevice is the adapter's hardware: {@link TapMiniportDriver.addAdapter} opens it before
 * NDIS calls MiniportInitializeEx and hands it over as the MiniportAddDeviceContext. Where TAP
 * cannot work (not Linux, the addon not built, no /dev/net/tun, no CAP_NET_ADMIN), opening throws
 * a TapUnavailableError that says why and what to do; nothing else in ndis-ts depends on TAP.
 * A wire needs the runtime's real-time mode (`new Ndis({ mode: 'realtime' })`).
 *
 * Adapter configuration keywords (NdisReadConfiguration): `NetworkAddress`, `ReceiveBuffers`,
 * `MaxNblsPerIndicate`, `TransmitBatch`, `LinkSpeed`, `Processor`; the MTU is the interface's.
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
import { formatMac, parseMac } from '../../../wire/index.js';
import { TapAdapter } from './adapter.js';
import { TapDevice } from './device.js';
import { TAP_SUPPORTED_OIDS, ethernetOidRequest, vendorDescription } from './oid.js';

export { TapAdapter, TapAdapterStatistics } from './adapter.js';
export { TapDevice, TapFrameBatch, type TapOpenOptions, type TapStatistics } from './device.js';
export { TapError, TapUnavailableError, tapUnavailableReason } from './native.js';
export { TAP_SUPPORTED_OIDS } from './oid.js';

/** What a TAP adapter is configured with (`ndis host --wire tap:<ifname>` builds one). */
export interface TapOptions {
  /** Interface name; `%d` lets the kernel number it (default `ndis%d`). An existing TAP is attached. */
  ifname?: string;
  /** MTU to set on the interface (default: keep the interface's, 1500 for a new one). */
  mtu?: number;
  /** Bring the interface up (true) or down (false); unset leaves it alone. */
  up?: boolean;
  /** MAC address of the adapter (`NetworkAddress`), default a random locally administered one. */
  mac?: string;
  /** Most frames the device delivers per batch (default 64). */
  batchFrames?: number;
  /** Receive buffers preallocated (default 1024). */
  receiveBuffers?: number;
  /** Most NBLs per receive indication (default 64; 0 = all that are ready). */
  maxNblsPerIndicate?: number;
  /** Frames per write batch (default 64). */
  transmitBatch?: number;
  /** Link speed reported, bits/s (default 10 Gbit/s). */
  linkSpeed?: number;
}

/** The driver-wide state of the TAP miniport (its MiniportDriverContext). */
export class TapMiniportDriver {
  readonly ndis: Ndis;
  readonly handle: MiniportDriver;
  readonly adapters = new Map<MiniportBlock, TapAdapter>();
  private count = 0;

  /** Models DriverEntry: NdisMRegisterMiniportDriver with the TAP handlers. */
  constructor(ndis: Ndis, name = 'tap') {
    this.ndis = ndis;
    const self = this;
    const description = vendorDescription('ndis-ts Linux TAP Ethernet adapter');
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
    } satisfies MiniportDriverCharacteristics<TapAdapter>;
    this.handle = ndis.registerMiniportDriver(chars as MiniportDriverCharacteristics, this);
  }

  /**
   * Adds a TAP adapter: opens (creating if needed) the TAP interface, then has NDIS start the
   * adapter. Resolves with the adapter once it runs.
   * @throws TapUnavailableError when TAP cannot work on this machine or for this process (the
   * message says why and what to do); TapError when the interface cannot be opened;
   * NdisError ERR_NDIS_ILLEGAL_STATE when the runtime is not in real-time mode.
   */
  async addAdapter(name: string, options: TapOptions = {}, config: AdapterConfig = {}): Promise<MiniportBlock> {
    if (this.ndis.scheduler.mode !== 'realtime') {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', "TAP adapters talk to the Linux kernel: create the runtime with new Ndis({ mode: 'realtime' })");
    }
    const mac = options.mac ?? randomMac();
    if (parseMac(mac) === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `TAP: mac '${mac}' is not a MAC address (write 02:00:00:00:00:01)`);
    const device = TapDevice.open(options.ifname ?? 'ndis%d', {
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.up !== undefined ? { up: options.up } : {}),
      ...(options.batchFrames !== undefined ? { batchFrames: options.batchFrames } : {}),
    });
    const configuration: Record<string, string | number> = {
      NetworkAddress: mac,
      ReceiveBuffers: options.receiveBuffers ?? 1024,
      MaxNblsPerIndicate: options.maxNblsPerIndicate ?? 64,
      TransmitBatch: options.transmitBatch ?? 64,
      LinkSpeed: options.linkSpeed ?? 10_000_000_000,
      ...config.configuration,
    };
    try {
      return await this.ndis.addAdapter(this.handle, { ...config, name, configuration, addDeviceContext: device });
    } catch (e) {
      device.close();
      throw e;
    }
  }

  /** The adapter context of an adapter handle. */
  adapter(handle: MiniportBlock): TapAdapter {
    const a = this.adapters.get(handle);
    if (a === undefined) throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `'${handle.name}' is not a TAP adapter`);
    return a;
  }

  /** MiniportInitializeEx: reads the configuration, builds the adapter on the device, sets the attributes. */
  private initialize(handle: MiniportBlock, addDeviceContext: unknown): NdisStatus {
    if (!(addDeviceContext instanceof TapDevice) || addDeviceContext.closed) return NDIS_STATUS.ADAPTER_NOT_FOUND;
    const device = addDeviceContext;
    const ndis = this.ndis;
    const cfg = ndis.openConfigurationEx(handle);
    const num = (k: string, d: number): number => {
      const v = ndis.readConfiguration(cfg, k);
      return v === null ? d : Number(v);
    };
    const macText = ndis.readConfiguration(cfg, 'NetworkAddress');
    const index = ++this.count;
    const options = {
      device,
      mac: (macText === null ? null : parseMac(String(macText))) ?? new Uint8Array(0),
      mtu: device.mtu,
      linkSpeed: num('LinkSpeed', 10_000_000_000),
      receiveBuffers: num('ReceiveBuffers', 1024),
      maxNblsPerIndicate: num('MaxNblsPerIndicate', 64),
      transmitBatch: num('TransmitBatch', 64),
      processor: num('Processor', index),
    };
    ndis.closeConfiguration(cfg);
    if (options.mac.length !== 6 || !(options.receiveBuffers >= 1) || !(options.transmitBatch >= 1)) return NDIS_STATUS.INVALID_PARAMETER;
    const a = new TapAdapter(ndis, handle, options);
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
      supportedOidList: [...TAP_SUPPORTED_OIDS],
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
