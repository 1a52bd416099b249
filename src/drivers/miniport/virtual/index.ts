/**
 * `virtual`: a virtual Ethernet miniport in the manner of the WDK's netvmini. Adapters plugged into
 * the same in-memory hub behave like NICs on one Ethernet hub: each sees the others' broadcast,
 * multicast and directed frames, through its own packet filter. MAC address, MTU, link speed and
 * link state are configurable; statistics are those of OID_GEN_STATISTICS.
 *
 * Adapter configuration keywords (AdapterConfig.configuration, read with NdisReadConfiguration):
 * `Hub` (hub name, default "hub0"), `NetworkAddress` (MAC, e.g. "02-00-00-00-00-01"), `MTU`
 * (default 1500), `LinkSpeed` (bits/s, default 10 Gbit/s), `ReceiveBuffers` (default 512),
 * `MaxNblsPerIndicate` (receive throttle, default 64; 0 = all), `LowResourceThreshold`,
 * `*PriorityVLANTag` (non-zero: 802.1Q tags to and from the OOB), `Processor` (receive DPC target).
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
} from '../../../ndis/index.js';
import { VirtualAdapter } from './adapter.js';
import { VirtualHub } from './hub.js';
import { VIRTUAL_SUPPORTED_OIDS, virtualOidRequest } from './oid.js';

export { VirtualAdapter, VirtualStatistics } from './adapter.js';
export { VirtualHub, WireFrame } from './hub.js';
export { VIRTUAL_SUPPORTED_OIDS } from './oid.js';

/** The driver-wide state of the virtual miniport (its MiniportDriverContext): the hubs. */
export class VirtualMiniportDriver {
  readonly ndis: Ndis;
  readonly handle: MiniportDriver;
  readonly hubs = new Map<string, VirtualHub>();
  readonly adapters = new Map<MiniportBlock, VirtualAdapter>();
  private count = 0;

  constructor(ndis: Ndis, name = 'virtual') {
    this.ndis = ndis;
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
    const options = {
      hub: this.hub(hubName),
      mac: mac ?? new Uint8Array([2, 0, 0, 0, index >> 8, index & 0xff]),
      mtu,
      linkSpeed,
      receiveBuffers: num('ReceiveBuffers', 512),
      maxNblsPerIndicate: num('MaxNblsPerIndicate', 64),
      lowResourceThreshold: num('LowResourceThreshold', 0),
      vlanOffload: num('*PriorityVLANTag', 0) !== 0,
      processor: num('Processor', index),
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
      supportedOidList: [...VIRTUAL_SUPPORTED_OIDS],
      autoNegotiationFlags: 0,
    });
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
