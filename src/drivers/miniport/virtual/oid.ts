/**
 * The virtual miniport's OID handling (netvmini's ctrlpath.c): statistics, packet filter,
 * multicast list, lookahead, power, and (oid-offload.ts) the task-offload and hardware-assist
 * OIDs. Queries NDIS answers itself (link state, addresses, media) never reach here.
 */
import {
  NDIS_STATISTICS_ALL_VALID,
  NdisRequestType,
  OID,
  decodeMacList,
  encodeMacList,
  encodeStatistics,
  readUlong,
  writeBytes,
  writeUlong,
  writeUlong64,
  type NdisOidRequest,
  NDIS_STATUS,
  type NdisStatus,
} from '../../../ndis/index.js';
import type { VirtualAdapter } from './adapter.js';
import { offloadOidRequest } from './oid-offload.js';

/** The OIDs the virtual miniport supports (OID_GEN_SUPPORTED_LIST). */
export const VIRTUAL_SUPPORTED_OIDS: readonly number[] = [
  OID.GEN_SUPPORTED_LIST,
  OID.GEN_HARDWARE_STATUS,
  OID.GEN_MEDIA_SUPPORTED,
  OID.GEN_MEDIA_IN_USE,
  OID.GEN_MAXIMUM_LOOKAHEAD,
  OID.GEN_MAXIMUM_FRAME_SIZE,
  OID.GEN_LINK_SPEED,
  OID.GEN_TRANSMIT_BUFFER_SPACE,
  OID.GEN_RECEIVE_BUFFER_SPACE,
  OID.GEN_VENDOR_ID,
  OID.GEN_VENDOR_DESCRIPTION,
  OID.GEN_VENDOR_DRIVER_VERSION,
  OID.GEN_CURRENT_PACKET_FILTER,
  OID.GEN_CURRENT_LOOKAHEAD,
  OID.GEN_DRIVER_VERSION,
  OID.GEN_MAXIMUM_TOTAL_SIZE,
  OID.GEN_MAC_OPTIONS,
  OID.GEN_MEDIA_CONNECT_STATUS,
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
  OID.PNP_SET_POWER,
  OID.PNP_QUERY_POWER,
];

const VENDOR_DESCRIPTION = new TextEncoder().encode('ndis-ts virtual Ethernet adapter\0');

/** MiniportOidRequest of the virtual miniport. */
export function virtualOidRequest(a: VirtualAdapter, r: NdisOidRequest): NdisStatus {
  // A set may change what the RSS workers compute: the frames they hold are finished under the
  // configuration they were received with, and the workers get the new one afterwards.
  const set = r.requestType === NdisRequestType.SetInformation;
  if (set) a.completeWorkerFrames();
  const offload = offloadOidRequest(a, r);
  if (set) a.configureRssWorkers();
  if (offload !== null) return offload;
  const s = a.stats;
  if (r.requestType === NdisRequestType.QueryInformation || r.requestType === NdisRequestType.QueryStatistics) {
    switch (r.oid) {
      case OID.GEN_HARDWARE_STATUS:
        return writeUlong(r, 0); // NdisHardwareStatusReady
      case OID.GEN_VENDOR_ID:
        return writeUlong(r, 0xffffff);
      case OID.GEN_VENDOR_DESCRIPTION:
        return writeBytes(r, VENDOR_DESCRIPTION);
      case OID.GEN_VENDOR_DRIVER_VERSION:
      case OID.GEN_DRIVER_VERSION:
        return writeUlong(r, r.oid === OID.GEN_DRIVER_VERSION ? 0x0614 : 0x00010000);
      case OID.GEN_TRANSMIT_BUFFER_SPACE:
      case OID.GEN_RECEIVE_BUFFER_SPACE:
        return writeUlong(r, (a.mtu + 14) * 256);
      case OID.GEN_CURRENT_PACKET_FILTER:
        return writeUlong(r, a.packetFilter);
      case OID.P802_3_MULTICAST_LIST:
        return writeBytes(r, encodeMacList(a.multicastList));
      case OID.GEN_XMIT_OK:
        return writeUlong64(r, s.ifHCOutUcastPkts + s.ifHCOutMulticastPkts + s.ifHCOutBroadcastPkts);
      case OID.GEN_RCV_OK:
        return writeUlong64(r, s.ifHCInUcastPkts + s.ifHCInMulticastPkts + s.ifHCInBroadcastPkts);
      case OID.GEN_XMIT_ERROR:
        return writeUlong(r, s.ifOutErrors);
      case OID.GEN_RCV_ERROR:
        return writeUlong(r, s.ifInErrors);
      case OID.GEN_RCV_NO_BUFFER:
        return writeUlong(r, s.rcvNoBuffer);
      case OID.GEN_TRANSMIT_QUEUE_LENGTH:
        return writeUlong(r, 0);
      case OID.PNP_QUERY_POWER:
        return NDIS_STATUS.SUCCESS;
      case OID.GEN_STATISTICS:
        return writeBytes(
          r,
          encodeStatistics({
            supportedStatistics: NDIS_STATISTICS_ALL_VALID,
            ifInDiscards: s.ifInDiscards,
            ifInErrors: s.ifInErrors,
            ifHCInOctets: s.ifHCInUcastOctets + s.ifHCInMulticastOctets + s.ifHCInBroadcastOctets,
            ifHCInUcastPkts: s.ifHCInUcastPkts,
            ifHCInMulticastPkts: s.ifHCInMulticastPkts,
            ifHCInBroadcastPkts: s.ifHCInBroadcastPkts,
            ifHCOutOctets: s.ifHCOutUcastOctets + s.ifHCOutMulticastOctets + s.ifHCOutBroadcastOctets,
            ifHCOutUcastPkts: s.ifHCOutUcastPkts,
            ifHCOutMulticastPkts: s.ifHCOutMulticastPkts,
            ifHCOutBroadcastPkts: s.ifHCOutBroadcastPkts,
            ifOutErrors: s.ifOutErrors,
            ifOutDiscards: s.ifOutDiscards,
            ifHCInUcastOctets: s.ifHCInUcastOctets,
            ifHCInMulticastOctets: s.ifHCInMulticastOctets,
            ifHCInBroadcastOctets: s.ifHCInBroadcastOctets,
            ifHCOutUcastOctets: s.ifHCOutUcastOctets,
            ifHCOutMulticastOctets: s.ifHCOutMulticastOctets,
            ifHCOutBroadcastOctets: s.ifHCOutBroadcastOctets,
          }),
        );
      default:
        return NDIS_STATUS.NOT_SUPPORTED;
    }
  }
  if (r.requestType === NdisRequestType.SetInformation) {
    switch (r.oid) {
      case OID.GEN_CURRENT_PACKET_FILTER: {
        const v = readUlong(r);
        if (v === null) {
          r.bytesNeeded = 4;
          return NDIS_STATUS.INVALID_LENGTH;
        }
        a.packetFilter = v;
        r.bytesRead = 4;
        return NDIS_STATUS.SUCCESS;
      }
      case OID.P802_3_MULTICAST_LIST: {
        const list = r.informationBuffer === null ? [] : decodeMacList(r.informationBuffer, r.informationBufferLength);
        if (list === null) return NDIS_STATUS.INVALID_LENGTH;
        if (list.length > a.maxMulticast) return NDIS_STATUS.MULTICAST_FULL;
        a.multicastList = list;
        r.bytesRead = r.informationBufferLength;
        return NDIS_STATUS.SUCCESS;
      }
      case OID.GEN_CURRENT_LOOKAHEAD: {
        const v = readUlong(r);
        if (v === null) return NDIS_STATUS.INVALID_LENGTH;
        if (v > a.mtu) return NDIS_STATUS.INVALID_DATA;
        a.lookahead = v;
        r.bytesRead = 4;
        return NDIS_STATUS.SUCCESS;
      }
      case OID.PNP_SET_POWER: {
        const v = readUlong(r);
        if (v === null) return NDIS_STATUS.INVALID_LENGTH;
        a.powerState = v;
        r.bytesRead = 4;
        return NDIS_STATUS.SUCCESS;
      }
      case OID.GEN_LINK_PARAMETERS:
        r.bytesRead = r.informationBufferLength;
        return NDIS_STATUS.SUCCESS;
      default:
        return NDIS_STATUS.NOT_SUPPORTED;
    }
  }
  return NDIS_STATUS.NOT_SUPPORTED;
}
