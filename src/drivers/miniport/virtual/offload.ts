/**
 * The task-offload configuration of a virtual adapter, as a miniport keeps it: the hardware
 * capabilities it reports (NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES.HardwareOffloadCapabilities),
 * the current configuration (DefaultOffloadConfiguration at initialization, then what
 * OID_TCP_OFFLOAD_PARAMETERS sets), whether OID_OFFLOAD_ENCAPSULATION has activated the offloads,
 * and the masks and limits the data path reads.
 *
 * Standardized keywords read at initialization ("Using Registry Values to Enable and Disable Task
 * Offloading", "Standardized INF Keywords for ..."): `*IPChecksumOffloadIPv4`,
 * `*TCPChecksumOffloadIPv4`, `*UDPChecksumOffloadIPv4`, `*TCPChecksumOffloadIPv6`,
 * `*UDPChecksumOffloadIPv6` (0 disabled, 1 Tx, 2 Rx, 3 Rx & Tx — default 3), the grouped
 * `*TCPUDPChecksumOffloadIPv4` / `*TCPUDPChecksumOffloadIPv6` (override the granular ones when
 * present), `*LsoV1IPv4`, `*LsoV2IPv4`, `*LsoV2IPv6` (default 1), `*RSS` (default 1),
 * `*NumRSSQueues` (default min(16, processors)), `*MaxRssProcessors`, `*HeaderDataSplit` (default 0),
 * `*VMQ` (default 1), `*VMQVlanFiltering` (default 1), `*RssOrVmqPreference` (default 0: RSS is
 * advertised, VMQ is not), `*EncapsulatedPacketTaskOffload` (default 1).
 */
import {
  NDIS_ENCAPSULATION,
  NDIS_OFFLOAD_NOT_SUPPORTED,
  NDIS_OFFLOAD_SUPPORTED,
  NDIS_STATUS,
  cloneOffload,
  emptyOffload,
  type NdisOffload,
  type NdisStatus,
} from '../../../ndis/index.js';
import {
  NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD,
  NDIS_ENCAPSULATION_TYPE_GRE_MAC,
  NDIS_OFFLOAD_PARAMETERS,
  NDIS_OFFLOAD_SET_NO_CHANGE,
  NDIS_OFFLOAD_SET_OFF,
  NDIS_OFFLOAD_SET_ON,
  type NdisOffloadEncapsulation,
  type NdisOffloadParameters,
} from '../../../ndis/structs-offload.js';
import { CSUM, checksumConfigFromOffload } from '../../../offload/checksum/index.js';
import { LSO_MAX_HEADER_LENGTH, type LsoLimits } from '../../../offload/lso/index.js';

/** What the adapter read from its standardized keywords. */
export interface VirtualOffloadKeywords {
  ipChecksumV4: number;
  tcpChecksumV4: number;
  udpChecksumV4: number;
  tcpChecksumV6: number;
  udpChecksumV6: number;
  lsoV1Ipv4: boolean;
  lsoV2Ipv4: boolean;
  lsoV2Ipv6: boolean;
  rss: boolean;
  numRssQueues: number;
  maxRssProcessors: number;
  headerDataSplit: boolean;
  vmq: boolean;
  vmqVlanFiltering: boolean;
  rssOrVmqPreference: number;
  encapsulatedPacketTaskOffload: boolean;
}

/** Reads the offload keywords with `num(keyword, default)` (NdisReadConfiguration). */
export function readOffloadKeywords(num: (keyword: string, def: number) => number, processors: number): VirtualOffloadKeywords {
  const clamp3 = (v: number): number => (Number.isInteger(v) && v >= 0 && v <= 3 ? v : 3);
  const grouped4 = num('*TCPUDPChecksumOffloadIPv4', -1);
  const grouped6 = num('*TCPUDPChecksumOffloadIPv6', -1);
  const kw: VirtualOffloadKeywords = {
    ipChecksumV4: clamp3(grouped4 >= 0 ? grouped4 : num('*IPChecksumOffloadIPv4', 3)),
    tcpChecksumV4: clamp3(grouped4 >= 0 ? grouped4 : num('*TCPChecksumOffloadIPv4', 3)),
    udpChecksumV4: clamp3(grouped4 >= 0 ? grouped4 : num('*UDPChecksumOffloadIPv4', 3)),
    tcpChecksumV6: clamp3(grouped6 >= 0 ? grouped6 : num('*TCPChecksumOffloadIPv6', 3)),
    udpChecksumV6: clamp3(grouped6 >= 0 ? grouped6 : num('*UDPChecksumOffloadIPv6', 3)),
    lsoV1Ipv4: num('*LsoV1IPv4', 1) !== 0,
    lsoV2Ipv4: num('*LsoV2IPv4', 1) !== 0,
    lsoV2Ipv6: num('*LsoV2IPv6', 1) !== 0,
    rss: num('*RSS', 1) !== 0,
    numRssQueues: Math.max(1, Math.min(num('*NumRSSQueues', num('*NumRssQueues', 16)), processors, 64)),
    maxRssProcessors: Math.max(1, Math.min(num('*MaxRssProcessors', 16), processors)),
    headerDataSplit: num('*HeaderDataSplit', 0) !== 0,
    vmq: num('*VMQ', 1) !== 0,
    vmqVlanFiltering: num('*VMQVlanFiltering', 1) !== 0,
    rssOrVmqPreference: num('*RssOrVmqPreference', 0),
    encapsulatedPacketTaskOffload: num('*EncapsulatedPacketTaskOffload', 1) !== 0,
  };
  return kw;
}

/** MaxOffLoadSize and MinSegmentCount of the virtual NIC's LSO engines. */
export const VIRTUAL_LSO_MAX_OFFLOAD_SIZE = 65_536;
export const VIRTUAL_LSO_MIN_SEGMENT_COUNT = 2;

const ALL4 = NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD.INNER_IPV4 | NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD.OUTER_IPV4 | NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD.INNER_IPV6 | NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD.OUTER_IPV6;

/**
 * The virtual NIC's hardware offload capabilities: checksums of IPv4 headers, TCP and UDP over
 * IPv4 and IPv6 with options and extension headers, LSOv1 and LSOv2 for both versions, and NVGRE
 * task offload for every inner/outer IP version combination. `encapsulation` is the MAC
 * encapsulation the offloads support (IEEE 802.3, plus 802.1Q in the OOB when the adapter strips
 * and inserts tags).
 */
export function hardwareOffload(encapsulation: number): NdisOffload {
  const o = emptyOffload();
  const S = NDIS_OFFLOAD_SUPPORTED;
  for (const d of [o.checksum.ipv4Transmit, o.checksum.ipv4Receive]) {
    d.encapsulation = encapsulation;
    d.ipOptionsSupported = S;
    d.tcpOptionsSupported = S;
    d.tcpChecksum = S;
    d.udpChecksum = S;
    d.ipChecksum = S;
  }
  for (const d of [o.checksum.ipv6Transmit, o.checksum.ipv6Receive]) {
    d.encapsulation = encapsulation;
    d.ipExtensionHeadersSupported = S;
    d.tcpOptionsSupported = S;
    d.tcpChecksum = S;
    d.udpChecksum = S;
  }
  o.lsoV1.ipv4 = { encapsulation, maxOffLoadSize: VIRTUAL_LSO_MAX_OFFLOAD_SIZE, minSegmentCount: VIRTUAL_LSO_MIN_SEGMENT_COUNT, tcpOptions: S, ipOptions: S };
  o.lsoV2.ipv4 = { encapsulation, maxOffLoadSize: VIRTUAL_LSO_MAX_OFFLOAD_SIZE, minSegmentCount: VIRTUAL_LSO_MIN_SEGMENT_COUNT };
  o.lsoV2.ipv6 = { encapsulation, maxOffLoadSize: VIRTUAL_LSO_MAX_OFFLOAD_SIZE, minSegmentCount: VIRTUAL_LSO_MIN_SEGMENT_COUNT, ipExtensionHeadersSupported: S, tcpOptionsSupported: S };
  const g = o.encapsulatedPacketTaskOffloadGre;
  g.transmitChecksumOffloadSupported = ALL4;
  g.receiveChecksumOffloadSupported = ALL4;
  g.lsoV2Supported = ALL4;
  g.rssSupported = ALL4;
  g.vmqSupported = ALL4;
  g.maxHeaderSizeSupported = LSO_MAX_HEADER_LENGTH;
  o.encapsulationTypes = NDIS_ENCAPSULATION_TYPE_GRE_MAC;
  return o;
}

/** Tx/Rx bits of a checksum keyword value (1 Tx, 2 Rx, 3 both). */
const TX = 1;
const RX = 2;

/** The offload state of one virtual adapter. */
export class VirtualOffload {
  readonly hardware: NdisOffload;
  /** The current configuration: what is enabled (reported to bindings and in status indications). */
  current: NdisOffload;
  /** OID_OFFLOAD_ENCAPSULATION activated the offloads for IPv4 / IPv6 ("not before"). */
  activeV4 = false;
  activeV6 = false;
  /** What the protocol asked for in OID_OFFLOAD_ENCAPSULATION (answered to queries). */
  encapsulation: NdisOffloadEncapsulation = {
    ipv4: { enabled: NDIS_OFFLOAD_SET_OFF, encapsulationType: 0, headerSize: 0 },
    ipv6: { enabled: NDIS_OFFLOAD_SET_OFF, encapsulationType: 0, headerSize: 0 },
  };
  /** NVGRE task offloads enabled (keyword, then OID_TCP_OFFLOAD_PARAMETERS EncapsulatedPacketTaskOffload). */
  nvgre: boolean;
  /** The data path's view: checksum masks (CSUM bits) and LSO limits, gated on activation. */
  txMask = 0;
  rxMask = 0;
  readonly lso: LsoLimits;
  private readonly macEncapsulation: number;

  constructor(kw: VirtualOffloadKeywords, mtu: number, vlanOffload: boolean) {
    this.macEncapsulation = NDIS_ENCAPSULATION.IEEE_802_3 | (vlanOffload ? NDIS_ENCAPSULATION.IEEE_802_3_P_AND_Q_IN_OOB : 0);
    this.hardware = hardwareOffload(this.macEncapsulation);
    const c = cloneOffload(this.hardware);
    const set = (x: { ipChecksum?: number; tcpChecksum: number; udpChecksum: number }, tx: boolean, v: { ip?: number; tcp: number; udp: number }): void => {
      const bit = tx ? TX : RX;
      if (x.ipChecksum !== undefined && v.ip !== undefined) x.ipChecksum = (v.ip & bit) !== 0 ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED;
      x.tcpChecksum = (v.tcp & bit) !== 0 ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED;
      x.udpChecksum = (v.udp & bit) !== 0 ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED;
    };
    const v4 = { ip: kw.ipChecksumV4, tcp: kw.tcpChecksumV4, udp: kw.udpChecksumV4 };
    const v6 = { tcp: kw.tcpChecksumV6, udp: kw.udpChecksumV6 };
    set(c.checksum.ipv4Transmit, true, v4);
    set(c.checksum.ipv4Receive, false, v4);
    set(c.checksum.ipv6Transmit, true, v6);
    set(c.checksum.ipv6Receive, false, v6);
    if (!kw.lsoV1Ipv4) c.lsoV1.ipv4 = { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0, tcpOptions: 0, ipOptions: 0 };
    if (!kw.lsoV2Ipv4) c.lsoV2.ipv4 = { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0 };
    if (!kw.lsoV2Ipv6) c.lsoV2.ipv6 = { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0, ipExtensionHeadersSupported: 0, tcpOptionsSupported: 0 };
    this.nvgre = kw.encapsulatedPacketTaskOffload;
    if (!this.nvgre) c.encapsulationTypes = 0;
    this.current = c;
    this.lso = { v1Ipv4: false, v2Ipv4: false, v2Ipv6: false, maxOffLoadSize: VIRTUAL_LSO_MAX_OFFLOAD_SIZE, minSegmentCount: VIRTUAL_LSO_MIN_SEGMENT_COUNT, mtu, encapsulated: false };
    this.fixEncapsulationFields();
    this.recompute();
  }

  /** Each direction's Encapsulation field says the MAC encapsulation when anything in it is enabled. */
  private fixEncapsulationFields(): void {
    const c = this.current.checksum;
    const e = this.macEncapsulation;
    c.ipv4Transmit.encapsulation = c.ipv4Transmit.ipChecksum | c.ipv4Transmit.tcpChecksum | c.ipv4Transmit.udpChecksum ? e : 0;
    c.ipv4Receive.encapsulation = c.ipv4Receive.ipChecksum | c.ipv4Receive.tcpChecksum | c.ipv4Receive.udpChecksum ? e : 0;
    c.ipv6Transmit.encapsulation = c.ipv6Transmit.tcpChecksum | c.ipv6Transmit.udpChecksum ? e : 0;
    c.ipv6Receive.encapsulation = c.ipv6Receive.tcpChecksum | c.ipv6Receive.udpChecksum ? e : 0;
  }

  /** Recomputes the data path's masks and limits from the current configuration and activation. */
  recompute(): void {
    const cfg = checksumConfigFromOffload(this.current, this.nvgre);
    const v4 = CSUM.Ipv4Header | CSUM.Tcp4 | CSUM.Udp4 | CSUM.Ipv4Options | CSUM.Tcp4Options;
    const v6 = CSUM.Tcp6 | CSUM.Udp6 | CSUM.Ipv6Extensions | CSUM.Tcp6Options;
    let gate = 0;
    if (this.activeV4) gate |= v4;
    if (this.activeV6) gate |= v6;
    if (this.activeV4 || this.activeV6) gate |= CSUM.Encapsulated;
    this.txMask = cfg.transmit & gate;
    this.rxMask = cfg.receive & gate;
    const c = this.current;
    this.lso.v1Ipv4 = this.activeV4 && c.lsoV1.ipv4.encapsulation !== 0;
    this.lso.v2Ipv4 = this.activeV4 && c.lsoV2.ipv4.encapsulation !== 0;
    this.lso.v2Ipv6 = this.activeV6 && c.lsoV2.ipv6.encapsulation !== 0;
    this.lso.encapsulated = this.nvgre && (this.activeV4 || this.activeV6) && c.encapsulatedPacketTaskOffloadGre.lsoV2Supported !== 0;
  }

  /**
   * Applies an OID_TCP_OFFLOAD_PARAMETERS set. Values outside the documented ones are refused with
   * NDIS_STATUS_INVALID_PARAMETER and nothing changes.
   */
  applyParameters(p: NdisOffloadParameters): NdisStatus {
    const csumOk = (v: number): boolean => v >= NDIS_OFFLOAD_PARAMETERS.NO_CHANGE && v <= NDIS_OFFLOAD_PARAMETERS.TX_RX_ENABLED;
    const lsoOk = (v: number): boolean => v <= NDIS_OFFLOAD_PARAMETERS.LSOV2_ENABLED;
    if (![p.ipv4Checksum, p.tcpIpv4Checksum, p.udpIpv4Checksum, p.tcpIpv6Checksum, p.udpIpv6Checksum].every(csumOk)) return NDIS_STATUS.INVALID_PARAMETER;
    if (![p.lsoV1, p.lsoV2Ipv4, p.lsoV2Ipv6].every(lsoOk)) return NDIS_STATUS.INVALID_PARAMETER;
    if (p.encapsulatedPacketTaskOffload > NDIS_OFFLOAD_SET_OFF) return NDIS_STATUS.INVALID_PARAMETER;
    if (p.encapsulatedPacketTaskOffload === NDIS_OFFLOAD_SET_ON && (p.encapsulationTypes & ~NDIS_ENCAPSULATION_TYPE_GRE_MAC) !== 0) return NDIS_STATUS.NOT_SUPPORTED;
    const c = this.current;
    const h = this.hardware;
    const csum = (value: number, tx: { tcpChecksum: number; udpChecksum: number; ipChecksum?: number }, rx: typeof tx, field: 'ipChecksum' | 'tcpChecksum' | 'udpChecksum'): void => {
      if (value === NDIS_OFFLOAD_PARAMETERS.NO_CHANGE) return;
      const txOn = value === NDIS_OFFLOAD_PARAMETERS.TX_ENABLED_RX_DISABLED || value === NDIS_OFFLOAD_PARAMETERS.TX_RX_ENABLED;
      const rxOn = value === NDIS_OFFLOAD_PARAMETERS.RX_ENABLED_TX_DISABLED || value === NDIS_OFFLOAD_PARAMETERS.TX_RX_ENABLED;
      tx[field] = txOn ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED;
      rx[field] = rxOn ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED;
    };
    const k = c.checksum;
    csum(p.ipv4Checksum, k.ipv4Transmit, k.ipv4Receive, 'ipChecksum');
    csum(p.tcpIpv4Checksum, k.ipv4Transmit, k.ipv4Receive, 'tcpChecksum');
    csum(p.udpIpv4Checksum, k.ipv4Transmit, k.ipv4Receive, 'udpChecksum');
    csum(p.tcpIpv6Checksum, k.ipv6Transmit, k.ipv6Receive, 'tcpChecksum');
    csum(p.udpIpv6Checksum, k.ipv6Transmit, k.ipv6Receive, 'udpChecksum');
    if (p.lsoV1 === NDIS_OFFLOAD_PARAMETERS.LSOV1_ENABLED) c.lsoV1.ipv4 = { ...h.lsoV1.ipv4 };
    else if (p.lsoV1 === NDIS_OFFLOAD_PARAMETERS.LSOV1_DISABLED) c.lsoV1.ipv4 = { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0, tcpOptions: 0, ipOptions: 0 };
    if (p.lsoV2Ipv4 === NDIS_OFFLOAD_PARAMETERS.LSOV2_ENABLED) c.lsoV2.ipv4 = { ...h.lsoV2.ipv4 };
    else if (p.lsoV2Ipv4 === NDIS_OFFLOAD_PARAMETERS.LSOV2_DISABLED) c.lsoV2.ipv4 = { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0 };
    if (p.lsoV2Ipv6 === NDIS_OFFLOAD_PARAMETERS.LSOV2_ENABLED) c.lsoV2.ipv6 = { ...h.lsoV2.ipv6 };
    else if (p.lsoV2Ipv6 === NDIS_OFFLOAD_PARAMETERS.LSOV2_DISABLED) c.lsoV2.ipv6 = { encapsulation: 0, maxOffLoadSize: 0, minSegmentCount: 0, ipExtensionHeadersSupported: 0, tcpOptionsSupported: 0 };
    if (p.encapsulatedPacketTaskOffload === NDIS_OFFLOAD_SET_ON) {
      this.nvgre = (p.encapsulationTypes & NDIS_ENCAPSULATION_TYPE_GRE_MAC) !== 0;
      c.encapsulationTypes = this.nvgre ? NDIS_ENCAPSULATION_TYPE_GRE_MAC : 0;
    } else if (p.encapsulatedPacketTaskOffload === NDIS_OFFLOAD_SET_OFF) {
      this.nvgre = false;
      c.encapsulationTypes = 0;
    }
    this.fixEncapsulationFields();
    this.recompute();
    return NDIS_STATUS.SUCCESS;
  }

  /**
   * Applies an OID_OFFLOAD_ENCAPSULATION set: SUCCESS when some offload supports the requested
   * encapsulation (IEEE 802.3 here), INVALID_PARAMETER otherwise.
   */
  applyEncapsulation(e: NdisOffloadEncapsulation): NdisStatus {
    const ok = (x: { enabled: number; encapsulationType: number }): boolean =>
      x.enabled === NDIS_OFFLOAD_SET_NO_CHANGE || x.enabled === NDIS_OFFLOAD_SET_OFF || (x.enabled === NDIS_OFFLOAD_SET_ON && (x.encapsulationType & this.macEncapsulation) !== 0);
    if (!ok(e.ipv4) || !ok(e.ipv6) || e.ipv4.enabled > NDIS_OFFLOAD_SET_OFF || e.ipv6.enabled > NDIS_OFFLOAD_SET_OFF) return NDIS_STATUS.INVALID_PARAMETER;
    if (e.ipv4.enabled !== NDIS_OFFLOAD_SET_NO_CHANGE) {
      this.activeV4 = e.ipv4.enabled === NDIS_OFFLOAD_SET_ON;
      this.encapsulation.ipv4 = { ...e.ipv4 };
    }
    if (e.ipv6.enabled !== NDIS_OFFLOAD_SET_NO_CHANGE) {
      this.activeV6 = e.ipv6.enabled === NDIS_OFFLOAD_SET_ON;
      this.encapsulation.ipv6 = { ...e.ipv6 };
    }
    this.recompute();
    return NDIS_STATUS.SUCCESS;
  }
}
