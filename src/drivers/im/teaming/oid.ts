/**
 * OID requests at the team interfaces (MiniportOidRequest of the virtual miniports) and the
 * requests the team issues to its members. A team interface answers what is its own (packet
 * filter, multicast list, lookahead, VLAN id, its addresses); it aggregates statistics over the
 * members (OID_GEN_STATISTICS of each, summed); and it propagates to every member what must hold
 * on all of them: the receive settings (packet filter and multicast list, merged over the team's
 * interfaces) and the offload configuration (OID_TCP_OFFLOAD_PARAMETERS,
 * OID_OFFLOAD_ENCAPSULATION), as NdisOidRequest calls on each member binding.
 */
import {
  NDIS_STATISTICS_ALL_VALID,
  NDIS_STATUS,
  NdisOidRequest,
  NdisRequestType,
  OID,
  decodeMacList,
  decodeStatistics,
  emptyStatistics,
  encodeMacList,
  encodeStatistics,
  readUlong,
  writeBytes,
  writeUlong,
  writeUlong64,
  type NdisStatisticsInfo,
  type NdisStatus,
} from '../../../ndis/index.js';
import { decodeNetworkAddressList } from './announce.js';
import type { LowerBinding } from './binding.js';
import type { TeamInterface } from './interface.js';

/** OID_GEN_SUPPORTED_LIST of a team interface. */
export const TEAM_SUPPORTED_OIDS: readonly number[] = [
  OID.GEN_SUPPORTED_LIST,
  OID.GEN_HARDWARE_STATUS,
  OID.GEN_MEDIA_SUPPORTED,
  OID.GEN_MEDIA_IN_USE,
  OID.GEN_MAXIMUM_LOOKAHEAD,
  OID.GEN_MAXIMUM_FRAME_SIZE,
  OID.GEN_LINK_SPEED,
  OID.GEN_TRANSMIT_BUFFER_SPACE,
  OID.GEN_RECEIVE_BUFFER_SPACE,
  OID.GEN_TRANSMIT_BLOCK_SIZE,
  OID.GEN_RECEIVE_BLOCK_SIZE,
  OID.GEN_VENDOR_ID,
  OID.GEN_VENDOR_DESCRIPTION,
  OID.GEN_VENDOR_DRIVER_VERSION,
  OID.GEN_CURRENT_PACKET_FILTER,
  OID.GEN_CURRENT_LOOKAHEAD,
  OID.GEN_DRIVER_VERSION,
  OID.GEN_MAXIMUM_TOTAL_SIZE,
  OID.GEN_MAC_OPTIONS,
  OID.GEN_MEDIA_CONNECT_STATUS,
  OID.GEN_NETWORK_LAYER_ADDRESSES,
  OID.GEN_VLAN_ID,
  OID.GEN_XMIT_OK,
  OID.GEN_RCV_OK,
  OID.GEN_XMIT_ERROR,
  OID.GEN_RCV_ERROR,
  OID.GEN_RCV_NO_BUFFER,
  OID.GEN_STATISTICS,
  OID.GEN_TRANSMIT_QUEUE_LENGTH,
  OID.GEN_LINK_PARAMETERS,
  OID.P802_3_PERMANENT_ADDRESS,
  OID.P802_3_CURRENT_ADDRESS,
  OID.P802_3_MULTICAST_LIST,
  OID.P802_3_MAXIMUM_LIST_SIZE,
  OID.TCP_OFFLOAD_PARAMETERS,
  OID.OFFLOAD_ENCAPSULATION,
  OID.PNP_SET_POWER,
  OID.PNP_QUERY_POWER,
];

/** OIDs whose sets the team passes on to every member, and replays on a member that joins. */
export const TEAM_PROPAGATED_SETS: ReadonlySet<number> = new Set([OID.TCP_OFFLOAD_PARAMETERS, OID.OFFLOAD_ENCAPSULATION]);

/** Statistics OIDs a team interface answers from its members' OID_GEN_STATISTICS. */
const STATISTICS_OIDS: ReadonlySet<number> = new Set([OID.GEN_STATISTICS, OID.GEN_XMIT_OK, OID.GEN_RCV_OK, OID.GEN_XMIT_ERROR, OID.GEN_RCV_ERROR, OID.GEN_RCV_NO_BUFFER]);

const VENDOR_DESCRIPTION = new TextEncoder().encode('ndis-ts team interface\0');

const STAT_KEYS: readonly (keyof NdisStatisticsInfo)[] = (Object.keys(emptyStatistics()) as (keyof NdisStatisticsInfo)[]).filter((k) => k !== 'supportedStatistics');

/**
 * One request of a team interface (or of the team itself) carried out as a request on each of
 * several member bindings: counts the member requests outstanding and completes the interface's
 * request (NdisMOidRequestComplete) when the last one completes, with the first failure or
 * NDIS_STATUS_SUCCESS. Member requests carry it in SourceReserved[0] and their binding in
 * SourceReserved[1].
 */
export class OidFanOut {
  readonly iface: TeamInterface | null;
  /** The interface's request being answered, or null for the team's own requests. */
  readonly request: NdisOidRequest | null;
  /** Failures of members do not fail the request (receive settings must succeed). */
  readonly tolerant: boolean;
  /** Sum of the members' NDIS_STATISTICS_INFO, for statistics queries. */
  readonly statistics: NdisStatisticsInfo | null;
  status: NdisStatus = NDIS_STATUS.SUCCESS;
  /** Member requests that failed. */
  failures = 0;
  private remaining = 1;
  private pended = false;

  constructor(iface: TeamInterface | null, request: NdisOidRequest | null, options: { tolerant?: boolean; statistics?: boolean } = {}) {
    this.iface = iface;
    this.request = request;
    this.tolerant = options.tolerant === true;
    this.statistics = options.statistics === true ? emptyStatistics(NDIS_STATISTICS_ALL_VALID) : null;
  }

  /** Issues `r` on member binding `b` (NdisOidRequest) as part of this fan-out. */
  issue(b: LowerBinding, r: NdisOidRequest): void {
    r.sourceReserved[0] = this;
    r.sourceReserved[1] = b;
    if (this.request !== null) r.requestId = this.request.requestId;
    this.remaining++;
    const s = b.ndis.oidRequest(b.handle, r);
    if (s !== NDIS_STATUS.PENDING) this.completed(r, s);
  }

  /** A member request completed (synchronously, or in ProtocolOidRequestComplete). */
  completed(r: NdisOidRequest, status: NdisStatus): void {
    r.sourceReserved[0] = null;
    r.sourceReserved[1] = null;
    if (status === NDIS_STATUS.SUCCESS) {
      const st = this.statistics;
      if (st !== null && r.informationBuffer !== null) {
        const s = decodeStatistics(r.informationBuffer.subarray(0, r.bytesWritten));
        if (s !== null) {
          st.supportedStatistics &= s.supportedStatistics;
          for (const k of STAT_KEYS) st[k] += s[k];
        }
      }
    } else {
      this.failures++;
      if (!this.tolerant && this.status === NDIS_STATUS.SUCCESS) this.status = status;
    }
    if (--this.remaining === 0) this.finish();
  }

  /**
   * Called once every member request is issued: the status of the interface's request now, or
   * NDIS_STATUS_PENDING when a member request pends (the fan-out completes it later).
   */
  close(): NdisStatus {
    if (--this.remaining === 0) return this.result();
    this.pended = true;
    return NDIS_STATUS.PENDING;
  }

  private finish(): void {
    if (!this.pended) return;
    const s = this.result();
    const iface = this.iface;
    if (iface !== null && this.request !== null && iface.handle !== null) iface.ndis.mOidRequestComplete(iface.handle, this.request, s);
  }

  private result(): NdisStatus {
    const r = this.request;
    if (r === null) return this.status;
    if (this.statistics !== null) return answerStatistics(r, this.statistics);
    if (this.status === NDIS_STATUS.SUCCESS && r.requestType === NdisRequestType.SetInformation) r.bytesRead = r.informationBufferLength;
    return this.status;
  }
}

function answerStatistics(r: NdisOidRequest, s: NdisStatisticsInfo): NdisStatus {
  switch (r.oid) {
    case OID.GEN_STATISTICS:
      return writeBytes(r, encodeStatistics(s));
    case OID.GEN_XMIT_OK:
      return writeUlong64(r, s.ifHCOutUcastPkts + s.ifHCOutMulticastPkts + s.ifHCOutBroadcastPkts);
    case OID.GEN_RCV_OK:
      return writeUlong64(r, s.ifHCInUcastPkts + s.ifHCInMulticastPkts + s.ifHCInBroadcastPkts);
    case OID.GEN_XMIT_ERROR:
      return writeUlong(r, s.ifOutErrors);
    case OID.GEN_RCV_ERROR:
      return writeUlong(r, s.ifInErrors);
    default:
      return writeUlong(r, s.ifInDiscards);
  }
}

/** MiniportOidRequest of a team interface. */
export function teamInterfaceOidRequest(iface: TeamInterface, r: NdisOidRequest): NdisStatus {
  const team = iface.team;
  if (r.requestType === NdisRequestType.QueryInformation || r.requestType === NdisRequestType.QueryStatistics) {
    if (STATISTICS_OIDS.has(r.oid)) {
      const f = new OidFanOut(iface, r, { statistics: true });
      for (const b of team.boundMembers()) f.issue(b, NdisOidRequest.query(OID.GEN_STATISTICS, 152));
      return f.close();
    }
    switch (r.oid) {
      case OID.GEN_HARDWARE_STATUS:
        return writeUlong(r, 0); // NdisHardwareStatusReady
      case OID.GEN_VENDOR_ID:
        return writeUlong(r, 0xffffff);
      case OID.GEN_VENDOR_DESCRIPTION:
        return writeBytes(r, VENDOR_DESCRIPTION);
      case OID.GEN_VENDOR_DRIVER_VERSION:
        return writeUlong(r, 0x00010000);
      case OID.GEN_DRIVER_VERSION:
        return writeUlong(r, 0x061e);
      case OID.GEN_TRANSMIT_BUFFER_SPACE:
      case OID.GEN_RECEIVE_BUFFER_SPACE:
        return writeUlong(r, (team.mtu + 14) * 256);
      case OID.GEN_TRANSMIT_BLOCK_SIZE:
      case OID.GEN_RECEIVE_BLOCK_SIZE:
        return writeUlong(r, team.mtu + 14);
      case OID.GEN_CURRENT_PACKET_FILTER:
        return writeUlong(r, iface.packetFilter);
      case OID.P802_3_MULTICAST_LIST:
        return writeBytes(r, encodeMacList(iface.multicastList));
      case OID.GEN_VLAN_ID:
        return writeUlong(r, iface.vlanId);
      case OID.GEN_TRANSMIT_QUEUE_LENGTH:
        return writeUlong(r, 0);
      case OID.PNP_QUERY_POWER:
        return NDIS_STATUS.SUCCESS;
      default:
        return NDIS_STATUS.NOT_SUPPORTED;
    }
  }
  if (r.requestType !== NdisRequestType.SetInformation) return NDIS_STATUS.NOT_SUPPORTED;
  switch (r.oid) {
    case OID.GEN_CURRENT_PACKET_FILTER: {
      const v = readUlong(r);
      if (v === null) {
        r.bytesNeeded = 4;
        return NDIS_STATUS.INVALID_LENGTH;
      }
      iface.packetFilter = v;
      r.bytesRead = 4;
      return team.applyReceiveSettings(iface, r);
    }
    case OID.P802_3_MULTICAST_LIST: {
      const list = r.informationBuffer === null ? [] : decodeMacList(r.informationBuffer, r.informationBufferLength);
      if (list === null) return NDIS_STATUS.INVALID_LENGTH;
      if (list.length > 32) return NDIS_STATUS.MULTICAST_FULL;
      iface.multicastList = list;
      r.bytesRead = r.informationBufferLength;
      return team.applyReceiveSettings(iface, r);
    }
    case OID.GEN_CURRENT_LOOKAHEAD: {
      const v = readUlong(r);
      if (v === null) return NDIS_STATUS.INVALID_LENGTH;
      if (v > team.mtu) return NDIS_STATUS.INVALID_DATA;
      iface.lookahead = v;
      r.bytesRead = 4;
      return NDIS_STATUS.SUCCESS;
    }
    case OID.GEN_NETWORK_LAYER_ADDRESSES: {
      const list = r.informationBuffer === null ? null : decodeNetworkAddressList(r.informationBuffer, r.informationBufferLength);
      if (list === null) return NDIS_STATUS.INVALID_DATA;
      iface.addresses.clearIpv4();
      for (const a of list) iface.addresses.addIpv4(a, 0);
      r.bytesRead = r.informationBufferLength;
      return NDIS_STATUS.SUCCESS;
    }
    case OID.TCP_OFFLOAD_PARAMETERS:
    case OID.OFFLOAD_ENCAPSULATION:
      return team.propagateSet(iface, r);
    case OID.PNP_SET_POWER:
      r.bytesRead = r.informationBufferLength;
      return NDIS_STATUS.SUCCESS;
    case OID.GEN_LINK_PARAMETERS:
      r.bytesRead = r.informationBufferLength;
      return NDIS_STATUS.SUCCESS;
    default:
      return NDIS_STATUS.NOT_SUPPORTED;
  }
}
