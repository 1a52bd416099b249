/**
 * NdisCopySendNetBufferListInfo / NdisCopyReceiveNetBufferListInfo: copy the OOB information a
 * filter or intermediate driver must carry over when it re-wraps an NBL.
 */
import { NDIS_NET_BUFFER_LIST_INFO as I } from './info.js';
import type { NetBufferList } from './net-buffer-list.js';

const SEND_SLOTS: readonly number[] = [
  I.TcpIpChecksumNetBufferListInfo,
  I.IPsecOffloadV1NetBufferListInfo,
  I.TcpLargeSendNetBufferListInfo,
  I.Ieee8021QNetBufferListInfo,
  I.MediaSpecificInformation,
  I.NetBufferListCancelId,
  I.NetBufferListProtocolId,
  I.IPsecOffloadV2TunnelNetBufferListInfo,
  I.IPsecOffloadV2HeaderNetBufferListInfo,
  I.VirtualSubnetInfo,
  I.NetBufferListFilteringInfo,
  I.TcpSendOffloadsSupplementalNetBufferListInfo,
];

const RECEIVE_SLOTS: readonly number[] = [
  I.TcpIpChecksumNetBufferListInfo,
  I.IPsecOffloadV1NetBufferListInfo,
  I.TcpReceiveNoPush,
  I.Ieee8021QNetBufferListInfo,
  I.MediaSpecificInformation,
  I.NetBufferListFrameType,
  I.NetBufferListHashValue,
  I.NetBufferListHashInfo,
  I.IPsecOffloadV2TunnelNetBufferListInfo,
  I.IPsecOffloadV2HeaderNetBufferListInfo,
  I.VirtualSubnetInfo,
  I.NetBufferListFilteringInfo,
];

function copySlots(dst: NetBufferList, src: NetBufferList, slots: readonly number[]): void {
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    dst.netBufferListInfo[s] = src.netBufferListInfo[s]!;
    dst.netBufferListInfoObject[s] = src.netBufferListInfoObject[s];
  }
}

/**
 * Models NdisCopySendNetBufferListInfo: copies the send-path OOB items (checksum, IPsec, LSO,
 * 802.1Q, media-specific, cancel id, protocol id, IPsec v2 tunnel/header, virtual subnet,
 * filtering info, and the send-offload supplemental info) from `src` to `dest`.
 */
export function copySendNetBufferListInfo(dest: NetBufferList, src: NetBufferList): void {
  copySlots(dest, src, SEND_SLOTS);
}

/**
 * Models NdisCopyReceiveNetBufferListInfo: copies the receive-path OOB items (checksum, IPsec,
 * receive-no-push, 802.1Q, media-specific, frame type, hash value and info, IPsec v2, virtual
 * subnet, filtering info) from `src` to `dest`.
 */
export function copyReceiveNetBufferListInfo(dest: NetBufferList, src: NetBufferList): void {
  copySlots(dest, src, RECEIVE_SLOTS);
}
