/**
 * The text of a NET_BUFFER_LIST's out-of-band facts, as the capture filter writes it into each
 * packet's pcapng comment: the RSS hash (NetBufferListHashValue / NetBufferListHashInfo), the
 * checksum information (NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO, its Transmit view on sends and
 * its Receive view on receives), the 802.1Q tag (NDIS_NET_BUFFER_LIST_8021Q_INFO) and, on sends,
 * the large-send request (NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO).
 *
 * Formatting allocates a string; the capture filter keeps the last text and reuses it while the
 * facts do not change (one flow, one set of offloads), so a steady stream allocates nothing.
 */
import {
  NDIS_CSUM_RX,
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO,
  csumTxTcpHeaderOffset,
  ieee8021QUserPriority,
  ieee8021QVlanId,
  lsoIpVersion,
  lsoMss,
  lsoTcpHeaderOffset,
  lsoType,
  type NetBufferList,
} from '../../../nbl/index.js';
import {
  NDIS_HASH_FUNCTION_MASK,
  NDIS_HASH_IPV4,
  NDIS_HASH_IPV6,
  NDIS_HASH_IPV6_EX,
  NDIS_HASH_TCP_IPV4,
  NDIS_HASH_TCP_IPV6,
  NDIS_HASH_TCP_IPV6_EX,
  NDIS_HASH_UDP_IPV4,
  NDIS_HASH_UDP_IPV6,
  NDIS_HASH_UDP_IPV6_EX,
  NdisHashFunctionToeplitz,
} from '../../../offload/rss/hash-types.js';

const HASH_TYPES: readonly [number, string][] = [
  [NDIS_HASH_IPV4, 'IPV4'],
  [NDIS_HASH_TCP_IPV4, 'TCP_IPV4'],
  [NDIS_HASH_UDP_IPV4, 'UDP_IPV4'],
  [NDIS_HASH_IPV6, 'IPV6'],
  [NDIS_HASH_TCP_IPV6, 'TCP_IPV6'],
  [NDIS_HASH_UDP_IPV6, 'UDP_IPV6'],
  [NDIS_HASH_IPV6_EX, 'IPV6_EX'],
  [NDIS_HASH_TCP_IPV6_EX, 'TCP_IPV6_EX'],
  [NDIS_HASH_UDP_IPV6_EX, 'UDP_IPV6_EX'],
];

const CSUM_TX: readonly [number, string][] = [
  [NDIS_CSUM_TX.IsIPv4, 'IsIPv4'],
  [NDIS_CSUM_TX.IsIPv6, 'IsIPv6'],
  [NDIS_CSUM_TX.TcpChecksum, 'TcpChecksum'],
  [NDIS_CSUM_TX.UdpChecksum, 'UdpChecksum'],
  [NDIS_CSUM_TX.IpHeaderChecksum, 'IpHeaderChecksum'],
];

const CSUM_RX: readonly [number, string][] = [
  [NDIS_CSUM_RX.TcpChecksumFailed, 'TcpChecksumFailed'],
  [NDIS_CSUM_RX.UdpChecksumFailed, 'UdpChecksumFailed'],
  [NDIS_CSUM_RX.IpChecksumFailed, 'IpChecksumFailed'],
  [NDIS_CSUM_RX.TcpChecksumSucceeded, 'TcpChecksumSucceeded'],
  [NDIS_CSUM_RX.UdpChecksumSucceeded, 'UdpChecksumSucceeded'],
  [NDIS_CSUM_RX.IpChecksumSucceeded, 'IpChecksumSucceeded'],
  [NDIS_CSUM_RX.Loopback, 'Loopback'],
  [NDIS_CSUM_RX.TcpChecksumValueInvalid, 'TcpChecksumValueInvalid'],
  [NDIS_CSUM_RX.IpChecksumValueInvalid, 'IpChecksumValueInvalid'],
];

function names(value: number, table: readonly [number, string][]): string {
  const out: string[] = [];
  for (const [bit, name] of table) if ((value & bit) !== 0) out.push(name);
  return out.join('|');
}

/** The text written when an NBL carries none of the facts. */
export const NO_OOB_FACTS = 'oob: none';

/**
 * Formats the OOB facts of `nbl`. `send` selects the Transmit view of the checksum information
 * and includes LSO (whose slot, on receive, holds TcpReceiveNoPush instead).
 */
export function formatOobFacts(hashValue: number, hashInfo: number, checksum: number, vlan: number, lso: number, send: boolean): string {
  const parts: string[] = [];
  if (hashInfo !== 0) {
    const fn = hashInfo & NDIS_HASH_FUNCTION_MASK;
    const type = names(hashInfo, HASH_TYPES) || `0x${(hashInfo & ~NDIS_HASH_FUNCTION_MASK).toString(16)}`;
    parts.push(`hash=0x${(hashValue >>> 0).toString(16).padStart(8, '0')} type=${type} function=${fn === NdisHashFunctionToeplitz ? 'Toeplitz' : `0x${fn.toString(16)}`}`);
  }
  if (checksum !== 0) {
    if (send) {
      const off = csumTxTcpHeaderOffset(checksum);
      parts.push(`checksum-tx=${names(checksum, CSUM_TX) || 'none'}${off !== 0 ? ` tcp-header-offset=${off}` : ''}`);
    } else {
      parts.push(`checksum-rx=${names(checksum, CSUM_RX) || 'none'}`);
    }
  }
  if (vlan !== 0) parts.push(`vlan=${ieee8021QVlanId(vlan)} priority=${ieee8021QUserPriority(vlan)}`);
  if (send && lso !== 0) {
    parts.push(`lso=v${lsoType(lso) + 1} mss=${lsoMss(lso)} tcp-header-offset=${lsoTcpHeaderOffset(lso)}${lsoType(lso) === 1 ? ` ip=v${lsoIpVersion(lso) === 1 ? 6 : 4}` : ''}`);
  }
  return parts.length === 0 ? NO_OOB_FACTS : `oob: ${parts.join(' ')}`;
}

/** Keeps the last formatted text and its inputs, so an unchanged set of facts costs no allocation. */
export class OobTextCache {
  private hashValue = -1;
  private hashInfo = -1;
  private checksum = -1;
  private vlan = -1;
  private lso = -1;
  private send = false;
  private text = NO_OOB_FACTS;

  /** The text of `nbl`'s facts. */
  textOf(nbl: NetBufferList, send: boolean): string {
    const info = nbl.netBufferListInfo;
    const hashInfo = info[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo]!;
    const hashValue = hashInfo === 0 ? 0 : info[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue]!;
    const checksum = info[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
    const vlan = info[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
    const lso = send ? info[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]! : 0;
    if (hashValue !== this.hashValue || hashInfo !== this.hashInfo || checksum !== this.checksum || vlan !== this.vlan || lso !== this.lso || send !== this.send) {
      this.hashValue = hashValue;
      this.hashInfo = hashInfo;
      this.checksum = checksum;
      this.vlan = vlan;
      this.lso = lso;
      this.send = send;
      this.text = formatOobFacts(hashValue, hashInfo, checksum, vlan, lso, send);
    }
    return this.text;
  }
}
