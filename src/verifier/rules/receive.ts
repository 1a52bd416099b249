/**
 * Rules of the Ethernet receive path ("Indicating Received Ethernet Frames" and the header-data
 * split pages): one frame per NET_BUFFER_LIST with the OOB its use requires, exactly one
 * NET_BUFFER per NBL, one MDL per NET_BUFFER for NDIS 6.0 drivers, no split inside the IP header,
 * its options, IPsec or extension headers or the upper-layer header unless the first MDL holds the
 * lookahead, and the HDS flag rules.
 */
import { networkPage, type VerifierRule } from '../rule.js';

export const RX = {
  OOB_REQUIRED: 'RX-001',
  ONE_NET_BUFFER: 'RX-002',
  NDIS60_ONE_MDL: 'RX-003',
  MULTI_MDL_WITHOUT_HDS: 'RX-004',
  SPLIT_INSIDE_HEADERS: 'RX-005',
  HDS_FLAGS: 'RX-006',
  HDS_SPLIT_POINT: 'RX-007',
} as const;

const PAGE = networkPage('indicating-received-ethernet-frames');

export const RECEIVE_RULES: readonly VerifierRule[] = [
  {
    id: RX.OOB_REQUIRED,
    family: 'receive',
    title: 'A receive NBL carries the OOB information its use requires, and only true information (RSS hash when RSS is on; checksum results that fit the frame; 802.1Q info only with the tag removed)',
    source: PAGE,
    windowsCode: null,
    severity: 'violation',
    level: 'full',
  },
  {
    id: RX.ONE_NET_BUFFER,
    family: 'receive',
    title: 'An Ethernet receive indication assigns exactly one NET_BUFFER to each NET_BUFFER_LIST',
    source: PAGE,
    windowsCode: null,
    severity: 'violation',
    level: 'cheap',
  },
  {
    id: RX.NDIS60_ONE_MDL,
    family: 'receive',
    title: 'An NDIS 6.0 driver indicates each received NET_BUFFER in a single MDL',
    source: PAGE,
    windowsCode: null,
    severity: 'violation',
    level: 'cheap',
  },
  {
    id: RX.MULTI_MDL_WITHOUT_HDS,
    family: 'receive',
    title: 'A driver that does not do header-data split should use one MDL per received NET_BUFFER',
    source: PAGE,
    windowsCode: null,
    severity: 'advisory',
    level: 'full',
  },
  {
    id: RX.SPLIT_INSIDE_HEADERS,
    family: 'receive',
    title: 'No split inside the IP header, IPv4 options, IPsec headers, IPv6 extension headers or the upper-layer header unless the first MDL holds the lookahead (or the whole frame)',
    source: PAGE,
    windowsCode: null,
    severity: 'violation',
    level: 'full',
  },
  {
    id: RX.HDS_FLAGS,
    family: 'receive',
    title: 'Header-data split NBL flags are exclusive and accurate (IS_IPV4 xor IS_IPV6, IS_TCP xor IS_UDP, SPLIT_AT header xor payload, HD_SPLIT only on split frames)',
    source: networkPage('setting-net-buffer-list-information'),
    windowsCode: null,
    severity: 'violation',
    level: 'full',
  },
  {
    id: RX.HDS_SPLIT_POINT,
    family: 'receive',
    title: 'A header-data split frame is split only at the upper-layer protocol header or the TCP/UDP payload, with exactly two MDLs, as its flags say (and, for a provider, within MaxHeaderSize and the backfill, never while NDIS_HD_SPLIT_COMBINE_ALL_HEADERS is set)',
    source: networkPage('splitting-ethernet-frames'),
    windowsCode: null,
    severity: 'violation',
    level: 'full',
  },
];
