/**
 * Rules of the send path that the miniport relies on: the large-send offload guarantees a
 * transport gives ("Offloading the Segmentation of Large TCP Packets") and the checksum request
 * consistency ("Offloading Checksum Tasks").
 */
import { networkPage, type VerifierRule } from '../rule.js';

export const TX = {
  LSO_ONE_NET_BUFFER: 'TX-001',
  LSO_V2_TOTAL_LENGTH: 'TX-002',
  LSO_HEADERS_FIRST_MDL: 'TX-003',
  LSO_FLAGS: 'TX-004',
  CSUM_REQUEST: 'TX-005',
  LSO_LIMITS: 'TX-006',
} as const;

const LSO = networkPage('offloading-the-segmentation-of-large-tcp-packets');

export const SEND_RULES: readonly VerifierRule[] = [
  { id: TX.LSO_ONE_NET_BUFFER, family: 'send', title: 'An NBL with large-send offload information has exactly one NET_BUFFER', source: LSO, windowsCode: null, severity: 'violation', level: 'full' },
  { id: TX.LSO_V2_TOTAL_LENGTH, family: 'send', title: 'For LSOv2 over IPv4 the IP Total Length field is 0 (the length comes from the NET_BUFFER); for LSOv1 it is the length of the whole large packet', source: LSO, windowsCode: null, severity: 'violation', level: 'full' },
  { id: TX.LSO_HEADERS_FIRST_MDL, family: 'send', title: 'An LSO send has its Ethernet, IP and TCP headers in the first MDL, and TcpHeaderOffset points at the TCP header', source: LSO, windowsCode: null, severity: 'violation', level: 'full' },
  { id: TX.LSO_FLAGS, family: 'send', title: 'An LSO send is TCP, not fragmented, with URG, RST and SYN clear', source: LSO, windowsCode: null, severity: 'violation', level: 'full' },
  {
    id: TX.CSUM_REQUEST,
    family: 'send',
    title: 'A checksum request names the IP version of the packet (IsIPv4 / IsIPv6 accurate, not both) and a TCP request gives the TCP header offset',
    source: networkPage('offloading-checksum-tasks'),
    windowsCode: null,
    severity: 'violation',
    level: 'full',
  },
  {
    id: TX.LSO_LIMITS,
    family: 'send',
    title: 'An LSO send fits the large-send offload the miniport has enabled (that LSO version on, MSS not 0, at most MaxOffLoadSize, at least MinSegmentCount segments, segments within the MTU); checked by the miniport that performs it',
    source: networkPage('reporting-a-nic-s-lsov2-tcp-packet-segmentation-capabilities'),
    windowsCode: null,
    severity: 'violation',
    level: 'cheap',
  },
];
