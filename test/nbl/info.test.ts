import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO as I,
  NET_BUFFER_LIST_GET_HASH_FUNCTION,
  NET_BUFFER_LIST_GET_HASH_TYPE,
  NET_BUFFER_LIST_GET_HASH_VALUE,
  NET_BUFFER_LIST_RECEIVE_QUEUE_ID,
  NET_BUFFER_LIST_SET_HASH_FUNCTION,
  NET_BUFFER_LIST_SET_HASH_TYPE,
  NET_BUFFER_LIST_SET_HASH_VALUE,
  NetBufferListPool,
  copyReceiveNetBufferListInfo,
  copySendNetBufferListInfo,
  csumTxTcpHeaderOffset,
  csumTxValue,
  filteringInfoValue,
  ieee8021QUserPriority,
  ieee8021QValue,
  ieee8021QVlanId,
  lsoIpVersion,
  lsoMss,
  lsoTcpHeaderOffset,
  lsoType,
  lsoV1CompleteTcpPayload,
  lsoV1CompleteValue,
  lsoV1TransmitValue,
  lsoV2TransmitValue,
  MAX_NET_BUFFER_LIST_INFO,
} from '../../src/nbl/index.js';

test('NDIS_NET_BUFFER_LIST_INFO ids have the x64 values of nblinfo.h', () => {
  assert.equal(I.TcpIpChecksumNetBufferListInfo, 0);
  assert.equal(I.TcpLargeSendNetBufferListInfo, 2);
  assert.equal(I.Ieee8021QNetBufferListInfo, 4);
  assert.equal(I.NetBufferListHashValue, 8);
  assert.equal(I.NetBufferListHashInfo, 9);
  assert.equal(I.NetBufferListFilteringInfo, 14);
  assert.equal(I.VirtualSubnetInfo, 20);
  assert.equal(I.TcpSendOffloadsSupplementalNetBufferListInfo, 23);
  assert.equal(MAX_NET_BUFFER_LIST_INFO, 27);
});

test('checksum, LSO and 802.1Q infos are stored by value with the documented bit layout', () => {
  const tx = csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum | NDIS_CSUM_TX.IpHeaderChecksum, 34);
  assert.equal(tx, 0x1 | 0x4 | 0x10 | (34 << 16));
  assert.equal(csumTxTcpHeaderOffset(tx), 34);
  const v1 = lsoV1TransmitValue(1460, 54);
  assert.equal(v1, 1460 + 54 * 2 ** 20);
  assert.deepEqual([lsoType(v1), lsoMss(v1), lsoTcpHeaderOffset(v1)], [0, 1460, 54]);
  const v2 = lsoV2TransmitValue(8960, 54, 1);
  assert.deepEqual([lsoType(v2), lsoMss(v2), lsoTcpHeaderOffset(v2), lsoIpVersion(v2)], [1, 8960, 54, 1]);
  assert.ok(v2 > 0x80000000, 'IPVersion is bit 31, kept unsigned');
  assert.equal(lsoV1CompleteTcpPayload(lsoV1CompleteValue(65000)), 65000);
  const q = ieee8021QValue(5, 100);
  assert.deepEqual([ieee8021QUserPriority(q), ieee8021QVlanId(q)], [5, 100]);
  assert.equal(q, 5 | (100 << 4));
});

test('hash and filtering macros read and write their slots', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false });
  const nbl = pool.allocateNetBufferList()!;
  NET_BUFFER_LIST_SET_HASH_VALUE(nbl, 0x51ccc178);
  NET_BUFFER_LIST_SET_HASH_TYPE(nbl, 0x200);
  NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl, 0x1);
  assert.equal(NET_BUFFER_LIST_GET_HASH_VALUE(nbl), 0x51ccc178);
  assert.equal(NET_BUFFER_LIST_GET_HASH_TYPE(nbl), 0x200);
  assert.equal(NET_BUFFER_LIST_GET_HASH_FUNCTION(nbl), 0x1);
  nbl.netBufferListInfo[I.NetBufferListFilteringInfo] = filteringInfoValue(7, 3);
  assert.equal(NET_BUFFER_LIST_RECEIVE_QUEUE_ID(nbl), 3);
  pool.freeNetBufferList(nbl);
});

test('NdisCopySendNetBufferListInfo and NdisCopyReceiveNetBufferListInfo copy their own sets', () => {
  const pool = new NetBufferListPool({ fAllocateNetBuffer: false });
  const src = pool.allocateNetBufferList()!;
  for (let i = 0; i < MAX_NET_BUFFER_LIST_INFO; i++) src.netBufferListInfo[i] = 1000 + i;
  const send = pool.allocateNetBufferList()!;
  copySendNetBufferListInfo(send, src);
  assert.equal(send.netBufferListInfo[I.TcpLargeSendNetBufferListInfo], 1002);
  assert.equal(send.netBufferListInfo[I.NetBufferListCancelId], 1005);
  assert.equal(send.netBufferListInfo[I.NetBufferListHashValue], 0, 'hash is receive-only');
  const recv = pool.allocateNetBufferList()!;
  copyReceiveNetBufferListInfo(recv, src);
  assert.equal(recv.netBufferListInfo[I.NetBufferListHashValue], 1008);
  assert.equal(recv.netBufferListInfo[I.NetBufferListHashInfo], 1009);
  assert.equal(recv.netBufferListInfo[I.NetBufferListCancelId], 0, 'cancel id is send-only');
  for (const n of [src, send, recv]) pool.freeNetBufferList(n);
});
