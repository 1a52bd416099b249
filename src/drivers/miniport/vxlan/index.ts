/**
 * `vxlan`: an NDIS 6 Ethernet miniport whose wire is a VXLAN segment (RFC 7348) carried in UDP over
 * the host's network through Node dgram sockets, so that an NDIS stack in ndis-ts shares a layer-2
 * segment with Linux vxlan devices, Open vSwitch or Hyper-V hosts.
 *
 * - A VNI (24 bits), a listening UDP port (4789 by default), IPv4 or IPv6 underlay.
 * - Static remote VTEPs (the flood list) and flood-and-learn: inner source addresses are learned
 *   behind the outer source IP of their frames, aged out after a silence (300 s by default), and
 *   frames to unknown unicast, broadcast and multicast addresses are flooded to the static list,
 *   which may name an IP multicast group (joined, as RFC 7348 4.2 describes).
 * - Inner MTU = underlay MTU - 50 (IPv4: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8), or - 70
 *   for an IPv6 underlay (IPv6 header of 40); larger sends complete with NDIS_STATUS_INVALID_LENGTH.
 * - Outer UDP source port chosen by a hash of the inner flow (RFC 7348 section 5).
 * - Receive in NBL chains from a preallocated pool; garbage datagrams dropped and counted.
 *
 * The VTEP's sockets are the adapter's hardware: {@link VxlanMiniportDriver.addAdapter} opens them
 * before NDIS calls MiniportInitializeEx (a port already taken is an error at that point) and hands
 * them over as the MiniportAddDeviceContext. A wire needs the runtime's real-time mode
 * (`new Ndis({ mode: 'realtime' })`): virtual time must not run ahead of real sockets.
 *
 * Adapter configuration keywords (read with NdisReadConfiguration): `NetworkAddress`, `MTU`,
 * `VNI`, `ReceiveBuffers`, `MaxNblsPerIndicate`, `Learning`, `AgingSeconds`, `FdbCapacity`,
 * `*PriorityVLANTag`, `LinkSpeed`, `Processor`.
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
import { VXLAN_HEADER_LENGTH, VXLAN_PORT, parseMac, formatMac } from '../../../wire/index.js';
import { VxlanAdapter } from './adapter.js';
import { parseEndpoint, type UnderlayEndpoint } from './endpoint.js';
import { VXLAN_SUPPORTED_OIDS, ethernetOidRequest, vendorDescription } from './oid.js';
import { Vtep } from './vtep.js';

export { VxlanAdapter, VxlanStatistics, innerFlowHash } from './adapter.js';
export { VxlanForwardingTable, VxlanRemote, FdbEntry, FdbCounters, macKey, formatMacKey } from './fdb.js';
export { Vtep, SendRing, VXLAN_SOURCE_PORT_MIN, VXLAN_SOURCE_PORT_MAX, isMulticastAddress } from './vtep.js';
export { parseEndpoint, formatEndpoint, type UnderlayEndpoint } from './endpoint.js';
export { VXLAN_SUPPORTED_OIDS } from './oid.js';

/** Bytes the VXLAN encapsulation adds under an IPv4 underlay: Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_IPV4_OVERHEAD = 50;
/** Bytes the VXLAN encapsulation adds under an IPv6 underlay: Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8. */
export const VXLAN_IPV6_OVERHEAD = 70;

/** What a VXLAN adapter is configured with (`ndis host --wire vxlan:...` builds one). */
export interface VxlanOptions {
  /** VXLAN network identifier, 0 to 16777215 (default 1). */
  vni?: number;
  /** Static remote VTEPs, `ip`, `ip:port` or `[ipv6]:port`: the flood list (a multicast group is joined). */
  remotes?: string[];
  /** TTL of datagrams to a multicast group (default 1). */
  multicastTtl?: number;
  /** Local address and port to listen on (default 0.0.0.0:4789, or [::]:4789 for IPv6 remotes; port 0: any). */
  local?: string;
  /** UDP destination port for remotes given without one and for learned remotes (default 4789). */
  port?: number;
  /** MAC address (`NetworkAddress`), default a random locally administered one. */
  mac?: string;
  /** MTU of the underlay path (default 1500); the inner MTU is 50 (IPv4) or 70 (IPv6) less. */
  underlayMtu?: number;
  /** Inner MTU, overriding the one derived from `underlayMtu`. */
  mtu?: number;
  /** Learn inner addresses from received frames (default true). */
  learning?: boolean;
  /** Seconds a learned address lives without traffic (default 300). */
  agingSeconds?: number;
  /** Most forwarding entries (default 4096). */
  fdbCapacity?: number;
  /** Send sockets, i.e. distinct outer source ports the flows spread over (default 8; 0 sends from the listening socket). */
  sourcePorts?: number;
  /** Transmit slots per send socket (default 256). */
  transmitSlots?: number;
  /** Receive buffers preallocated (default 1024). */
  receiveBuffers?: number;
  /** Most NBLs per receive indication (default 64; 0 = all that are ready). */
  maxNblsPerIndicate?: number;
  /** Strip/insert 802.1Q tags to and from the OOB (`*PriorityVLANTag`, default false). */
  vlanOffload?: boolean;
  /** Link speed reported, bits/s (default 10 Gbit/s). */
  linkSpeed?: number;
}

function checkInteger(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `VXLAN: ${what} must be an integer from ${min} to ${max}; got ${value}`);
  }
  return value;
}

/** The driver-wide state of the VXLAN miniport (its MiniportDriverContext). */
export class VxlanMiniportDriver {
  readonly ndis: Ndis;
  readonly handle: MiniportDriver;
  readonly adapters = new Map<MiniportBlock, VxlanAdapter>();
  private count = 0;

  /** Models DriverEntry: NdisMRegisterMiniportDriver with the VXLAN handlers. */
  constructor(ndis: Ndis, name = 'vxlan') {
    this.ndis = ndis;
    const self = this;
    const description = vendorDescription('ndis-ts VXLAN Ethernet adapter');
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
      resetEx: (a, out) => {
        a.fdb.flush();
        out.addressingReset = false;
        return NDIS_STATUS.SUCCESS;
      },
      devicePnPEventNotify: () => undefined,
      shutdownEx: () => undefined,
      cancelOidRequest: () => undefined,
    } satisfies MiniportDriverCharacteristics<VxlanAdapter>;
    this.handle = ndis.registerMiniportDriver(chars as MiniportDriverCharacteristics, this);
  }

  /**
   * Adds a VXLAN adapter: opens its VTEP (binds the sockets), then has NDIS start the adapter
   * (MiniportInitializeEx, filters, bindings, restart). Resolves with the adapter once it runs.
   * @throws NdisError ERR_NDIS_INVALID_PARAMETER for a bad option, ERR_NDIS_ILLEGAL_STATE when the
   * runtime is not in real-time mode, ERR_NDIS_UNAVAILABLE when the sockets cannot be bound.
   */
  async addAdapter(name: string, options: VxlanOptions = {}, config: AdapterConfig = {}): Promise<MiniportBlock> {
    if (this.ndis.scheduler.mode !== 'realtime') {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', "VXLAN adapters talk to real sockets: create the runtime with new Ndis({ mode: 'realtime' })");
    }
    const port = checkInteger(options.port ?? VXLAN_PORT, 'port', 1, 65535);
    const remotes: UnderlayEndpoint[] = (options.remotes ?? []).map((r) => parseEndpoint(r, port, 'remote'));
    const family = remotes[0]?.family ?? 4;
    const local = parseEndpoint(options.local ?? (family === 6 ? `[::]:${port}` : `0.0.0.0:${port}`), port, 'local endpoint', true);
    const vni = checkInteger(options.vni ?? 1, 'vni', 0, 0xffffff);
    const underlayMtu = checkInteger(options.underlayMtu ?? 1500, 'underlayMtu', 576, 65535);
    const mtu = checkInteger(options.mtu ?? underlayMtu - (local.family === 6 ? VXLAN_IPV6_OVERHEAD : VXLAN_IPV4_OVERHEAD), 'mtu', 68, 65535 - 100);
    const mac = options.mac ?? randomMac();
    if (parseMac(mac) === null) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `VXLAN: mac '${mac}' is not a MAC address (write 02:00:00:00:00:01)`);
    const sourcePorts = checkInteger(options.sourcePorts ?? 8, 'sourcePorts', 0, 64);
    const transmitSlots = checkInteger(options.transmitSlots ?? 256, 'transmitSlots', 1, 65535);
    const vtep = await Vtep.open({
      local,
      port,
      remotes,
      sourcePorts,
      slotSize: (VXLAN_HEADER_LENGTH + mtu + 18 + 7) & ~7,
      slotsPerSocket: transmitSlots,
      maxLearnedRemotes: options.fdbCapacity ?? 4096,
      ...(options.multicastTtl !== undefined ? { multicastTtl: checkInteger(options.multicastTtl, 'multicastTtl', 1, 255) } : {}),
    });
    const configuration: Record<string, string | number> = {
      NetworkAddress: mac,
      MTU: mtu,
      VNI: vni,
      ReceiveBuffers: options.receiveBuffers ?? 1024,
      MaxNblsPerIndicate: options.maxNblsPerIndicate ?? 64,
      Learning: options.learning === false ? 0 : 1,
      AgingSeconds: options.agingSeconds ?? 300,
      FdbCapacity: options.fdbCapacity ?? 4096,
      '*PriorityVLANTag': options.vlanOffload === true ? 3 : 0,
      LinkSpeed: options.linkSpeed ?? 10_000_000_000,
      ...config.configuration,
    };
    try {
      return await this.ndis.addAdapter(this.handle, { ...config, name, configuration, addDeviceContext: vtep });
    } catch (e) {
      vtep.close();
      throw e;
    }
  }

  /** The adapter context of an adapter handle. */
  adapter(handle: MiniportBlock): VxlanAdapter {
    const a = this.adapters.get(handle);
    if (a === undefined) throw new NdisError('ERR_NDIS_UNKNOWN_HANDLE', `'${handle.name}' is not a VXLAN adapter`);
    return a;
  }

  /** MiniportInitializeEx: reads the configuration, builds the adapter on the VTEP, sets the attributes. */
  private initialize(handle: MiniportBlock, addDeviceContext: unknown): NdisStatus {
    if (!(addDeviceContext instanceof Vtep)) return NDIS_STATUS.ADAPTER_NOT_FOUND;
    const vtep = addDeviceContext;
    const ndis = this.ndis;
    const cfg = ndis.openConfigurationEx(handle);
    const num = (k: string, d: number): number => {
      const v = ndis.readConfiguration(cfg, k);
      return v === null ? d : Number(v);
    };
    const macText = ndis.readConfiguration(cfg, 'NetworkAddress');
    const index = ++this.count;
    const options = {
      vtep,
      vni: num('VNI', 1),
      mac: (macText === null ? null : parseMac(String(macText))) ?? new Uint8Array(0),
      mtu: num('MTU', 1450),
      linkSpeed: num('LinkSpeed', 10_000_000_000),
      receiveBuffers: num('ReceiveBuffers', 1024),
      maxNblsPerIndicate: num('MaxNblsPerIndicate', 64),
      learning: num('Learning', 1) !== 0,
      agingMs: num('AgingSeconds', 300) * 1000,
      fdbCapacity: num('FdbCapacity', 4096),
      vlanOffload: num('*PriorityVLANTag', 0) !== 0,
      processor: num('Processor', index),
    };
    ndis.closeConfiguration(cfg);
    if (options.mac.length !== 6 || !(options.mtu >= 68) || !(options.receiveBuffers >= 1) || !(options.agingMs > 0)) {
      return NDIS_STATUS.INVALID_PARAMETER;
    }
    const a = new VxlanAdapter(ndis, handle, options);
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
      supportedOidList: [...VXLAN_SUPPORTED_OIDS],
      autoNegotiationFlags: 0,
    });
    return NDIS_STATUS.SUCCESS;
  }
}

/** A random locally administered unicast MAC address (02-xx-xx-xx-xx-xx style). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return formatMac(b);
}
