// VMQ: the queue life cycle of "NDIS Virtual Machine Queue States", and filtering by MAC address
// and VLAN identifier ("VMQ Receive Filters").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO,
  NdisFrameHeader,
  NdisMacHeaderField,
  NdisReceiveFilterTest,
  NdisReceiveFilterType,
  NdisReceiveQueueOperationalState,
  NdisReceiveQueueType,
  VmqMatch,
  VmqQueueSet,
  VmqQueueState,
  operationalState,
  type VmqFilterField,
  type VmqQueueConfig,
} from '../../../src/offload/vmq/index.js';
import { NDIS_STATUS } from '../../../src/base/status.js';

const S = VmqQueueState;

function config(p: Partial<VmqQueueConfig> = {}): VmqQueueConfig {
  return { flags: 0, queueType: NdisReceiveQueueType.VMQueue, queueId: 0, queueGroupId: 0, processorAffinity: 1, numSuggestedReceiveBuffers: 32, msixTableEntry: 0, lookaheadSize: 0, vmName: 'vm1', queueName: 'q', ...p };
}

function macField(mac: number[], flags = 0): VmqFilterField {
  const v = new Uint8Array(16);
  v.set(mac);
  return { flags, frameHeader: NdisFrameHeader.Mac, receiveFilterTest: NdisReceiveFilterTest.Equal, headerField: NdisMacHeaderField.DestinationAddress, fieldValue: v };
}

function vlanField(vid: number): VmqFilterField {
  const v = new Uint8Array(16);
  v[0] = vid & 0xff;
  v[1] = vid >> 8;
  return { flags: 0, frameHeader: NdisFrameHeader.Mac, receiveFilterTest: NdisReceiveFilterTest.Equal, headerField: NdisMacHeaderField.VlanId, fieldValue: v };
}

const MAC1 = [0x02, 0, 0, 0, 0, 0x11];
const MAC2 = [0x02, 0, 0, 0, 0, 0x22];

function frameTo(mac: number[]): Uint8Array {
  const f = new Uint8Array(60);
  f.set(mac, 0);
  return f;
}

void test('queue states: Allocated → Set → Running → Paused → Running → Paused → Freeing → gone', () => {
  const q = new VmqQueueSet(4, 16, true);
  const r = q.allocateQueue(config());
  assert.equal(r.status, NDIS_STATUS.SUCCESS);
  const queue = q.queues.get(r.id)!;
  assert.equal(queue.state, S.Allocated);
  assert.equal(operationalState(queue.state), NdisReceiveQueueOperationalState.Paused);
  const f1 = q.setFilter(r.id, 0, NdisReceiveFilterType.VMQueue, [macField(MAC1)]);
  assert.equal(f1.status, NDIS_STATUS.SUCCESS);
  assert.equal(queue.state, S.Set);
  // Not yet running: frames go to the default queue.
  const m = new VmqMatch();
  assert.equal(q.match(frameTo(MAC1), 0, -1, m), null);
  assert.equal(q.allocationComplete(r.id), NDIS_STATUS.SUCCESS);
  assert.equal(queue.state, S.Running);
  assert.equal(operationalState(queue.state), NdisReceiveQueueOperationalState.Running);
  assert.equal(q.match(frameTo(MAC1), 0, -1, m), queue);
  assert.deepEqual([m.queueId, m.filterId], [r.id, f1.id]);
  // A queue cannot be freed while it has filters (or while running).
  assert.equal(q.beginFree(r.id), NDIS_STATUS.INVALID_DATA);
  assert.equal(q.clearFilter(r.id, f1.id), NDIS_STATUS.SUCCESS);
  assert.equal(queue.state, S.Paused);
  assert.equal(q.match(frameTo(MAC1), 0, -1, m), null);
  const f2 = q.setFilter(r.id, 0, NdisReceiveFilterType.VMQueue, [macField(MAC2)]);
  assert.equal(queue.state, S.Running);
  assert.equal(q.clearFilter(r.id, f2.id), NDIS_STATUS.SUCCESS);
  assert.equal(queue.state, S.Paused);
  queue.outstanding = 2;
  assert.equal(q.beginFree(r.id), NDIS_STATUS.SUCCESS);
  assert.equal(queue.state, S.Freeing);
  assert.equal(operationalState(queue.state), NdisReceiveQueueOperationalState.DmaStopped);
  assert.equal(q.finishFree(r.id), false, 'indications still outstanding');
  queue.outstanding = 0;
  assert.equal(q.finishFree(r.id), true);
  assert.equal(q.queues.has(r.id), false);
  assert.equal(operationalState(S.Undefined), NdisReceiveQueueOperationalState.Undefined);
});

void test('Allocated → allocation complete → Paused; Set → last filter cleared → Allocated', () => {
  const q = new VmqQueueSet(4, 16, true);
  const a = q.allocateQueue(config()).id;
  q.allocationComplete(a);
  assert.equal(q.queues.get(a)!.state, S.Paused);
  const b = q.allocateQueue(config()).id;
  const f = q.setFilter(b, 0, NdisReceiveFilterType.VMQueue, [macField(MAC1)]).id;
  assert.equal(q.clearFilter(b, f), NDIS_STATUS.SUCCESS);
  assert.equal(q.queues.get(b)!.state, S.Allocated);
  assert.equal(q.beginFree(b), NDIS_STATUS.SUCCESS);
  assert.equal(q.finishFree(b), true);
});

void test('filters: MAC only, MAC + untagged-or-zero, MAC + VLAN id', () => {
  const q = new VmqQueueSet(4, 16, true);
  const any = q.allocateQueue(config()).id;
  const untagged = q.allocateQueue(config()).id;
  const vlan = q.allocateQueue(config()).id;
  q.setFilter(untagged, 0, NdisReceiveFilterType.VMQueue, [macField(MAC2, NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO)]);
  q.setFilter(vlan, 0, NdisReceiveFilterType.VMQueue, [macField(MAC1), vlanField(7)]);
  q.setFilter(any, 0, NdisReceiveFilterType.VMQueue, [macField(MAC1)]);
  for (const id of [any, untagged, vlan]) q.allocationComplete(id);
  const m = new VmqMatch();
  const f1 = frameTo(MAC1);
  const f2 = frameTo(MAC2);
  // Queues are tried in allocation order: "any" (MAC1, every VLAN) wins for MAC1.
  assert.equal(q.match(f1, 0, 7, m)?.id, any);
  assert.equal(q.match(f1, 0, -1, m)?.id, any);
  assert.equal(q.match(f2, 0, -1, m)?.id, untagged);
  assert.equal(q.match(f2, 0, 0, m)?.id, untagged);
  assert.equal(q.match(f2, 0, 5, m), null, 'a tagged frame with a non-zero VLAN id fails untagged-or-zero');
  // Clear "any": MAC1 now needs VLAN 7 exactly.
  const anyFilter = q.queues.get(any)!.filters[0]!.id;
  q.clearFilter(any, anyFilter);
  assert.equal(q.match(f1, 0, 7, m)?.id, vlan);
  assert.equal(q.match(f1, 0, -1, m), null);
  assert.equal(q.match(f1, 0, 0, m), null);
  assert.equal(q.match(f1, 0, 8, m), null);
});

void test('refused requests: unsupported fields and tests, VLAN filtering off, 6.20 MAC rule, limits, duplicate ids', () => {
  const q = new VmqQueueSet(2, 2, false, 20);
  const a = q.allocateQueue(config({ queueId: 5 }));
  assert.equal(a.id, 5);
  assert.equal(q.allocateQueue(config({ queueId: 5 })).status, NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(q.allocateQueue(config({ queueType: NdisReceiveQueueType.Unspecified })).status, NDIS_STATUS.INVALID_PARAMETER);
  q.allocateQueue(config());
  assert.equal(q.allocateQueue(config()).status, NDIS_STATUS.RESOURCES);
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.PacketCoalescing, [macField(MAC1)]).status, NDIS_STATUS.NOT_SUPPORTED);
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, [vlanField(3)]).status, NDIS_STATUS.NOT_SUPPORTED);
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, [{ ...macField(MAC1), receiveFilterTest: NdisReceiveFilterTest.MaskEqual }]).status, NDIS_STATUS.NOT_SUPPORTED);
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, [{ ...macField(MAC1), headerField: NdisMacHeaderField.SourceAddress }]).status, NDIS_STATUS.NOT_SUPPORTED);
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, [macField(MAC1)]).status, NDIS_STATUS.INVALID_PARAMETER, 'NDIS 6.20: MAC without a VLAN rule');
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, []).status, NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(q.setFilter(99, 0, NdisReceiveFilterType.VMQueue, [macField(MAC1, 1)]).status, NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(q.setFilter(5, 40, NdisReceiveFilterType.VMQueue, [macField(MAC1, 1)]).id, 40);
  assert.equal(q.setFilter(5, 40, NdisReceiveFilterType.VMQueue, [macField(MAC2, 1)]).status, NDIS_STATUS.INVALID_PARAMETER);
  q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, [macField(MAC2, 1)]);
  assert.equal(q.setFilter(5, 0, NdisReceiveFilterType.VMQueue, [macField(MAC2, 1)]).status, NDIS_STATUS.RESOURCES);
  assert.equal(q.clearFilter(5, 1234), NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(q.beginFree(77), NDIS_STATUS.INVALID_PARAMETER);
  assert.equal(q.allocationComplete(77), NDIS_STATUS.INVALID_PARAMETER);
});

void test('a queue\'s processor is the lowest of its affinity mask', () => {
  const q = new VmqQueueSet(4, 4, true);
  const id = q.allocateQueue(config({ processorAffinity: 0b1100 })).id;
  assert.equal(q.queues.get(id)!.processor, 2);
});
