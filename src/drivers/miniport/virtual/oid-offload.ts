/**
 * The virtual miniport's offload and hardware-assist OIDs: task offload (OID_TCP_OFFLOAD_*,
 * OID_OFFLOAD_ENCAPSULATION), RSS (OID_GEN_RECEIVE_SCALE_*), header-data split
 * (OID_GEN_HD_SPLIT_*) and VMQ (OID_RECEIVE_FILTER_*), with the status indications that follow a
 * change (NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG, NDIS_STATUS_HD_SPLIT_CURRENT_CONFIG,
 * NDIS_STATUS_RECEIVE_QUEUE_STATE). Structures travel in NDIS's binary layout
 * (src/ndis/structs-offload.ts).
 */
import {
  NDIS_STATUS,
  NdisRequestType,
  OID,
  cloneOffload,
  writeBytes,
  type NdisOidRequest,
  type NdisStatus,
  type NdisStatusIndication,
} from '../../../ndis/index.js';
import { NDIS_RSS_PARAM_FLAG } from '../../../ndis/constants.js';
import { NDIS_HASH_FUNCTION_MASK } from '../../../offload/rss/hash-types.js';
import {
  NDIS_RECEIVE_FILTER,
  NDIS_RECEIVE_HASH_FLAG,
  NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2,
  NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1,
  NDIS_RSS_CAPS,
  NDIS_SIZEOF_HD_SPLIT_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1,
  NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_1,
  NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1,
  decodeHdSplitParameters,
  decodeOffloadEncapsulation,
  decodeOffloadParameters,
  decodeReceiveFilterClearParameters,
  decodeReceiveFilterParameters,
  decodeReceiveQueueAllocationCompleteArray,
  decodeReceiveQueueFreeParameters,
  decodeReceiveHashParameters,
  decodeReceiveQueueParameters,
  decodeReceiveScaleParameters,
  encodeHdSplitCurrentConfig,
  encodeOffload,
  encodeOffloadEncapsulation,
  encodeReceiveFilterCapabilities,
  encodeReceiveQueueParameters,
  encodeReceiveQueueState,
  encodeReceiveScaleParameters,
  isDecodeError,
  writeAllocationComplete,
  type NdisHdSplitCurrentConfig,
  type NdisReceiveFilterCapabilities,
  type NdisReceiveScaleCapabilities,
} from '../../../ndis/structs-offload.js';
import { NDIS_HASH_ALL_TYPES, RssParametersResult } from '../../../offload/rss/engine.js';
import { NdisReceiveFilterType, NdisReceiveQueueOperationalState, NdisReceiveQueueType, NDIS_DEFAULT_RECEIVE_QUEUE_ID } from '../../../offload/vmq/index.js';
import type { VirtualAdapter } from './adapter.js';

/** RSS hash types the virtual NIC computes. */
export const VIRTUAL_RSS_HASH_TYPES = NDIS_HASH_ALL_TYPES;

/** The RSS capabilities of a virtual adapter with `queues` receive queues. */
export function rssCapabilities(queues: number): NdisReceiveScaleCapabilities {
  return {
    capabilitiesFlags:
      NDIS_RSS_CAPS.CLASSIFICATION_AT_DPC |
      NDIS_RSS_CAPS.MESSAGE_SIGNALED_INTERRUPTS |
      NDIS_RSS_CAPS.SUPPORTS_MSI_X |
      NDIS_RSS_CAPS.HASH_TYPE_TCP_IPV4 |
      NDIS_RSS_CAPS.HASH_TYPE_TCP_IPV6 |
      NDIS_RSS_CAPS.HASH_TYPE_TCP_IPV6_EX |
      NDIS_RSS_CAPS.HASH_TYPE_UDP_IPV4 |
      NDIS_RSS_CAPS.HASH_TYPE_UDP_IPV6 |
      NDIS_RSS_CAPS.HASH_TYPE_UDP_IPV6_EX,
    numberOfInterruptMessages: queues,
    numberOfReceiveQueues: queues,
    numberOfIndirectionTableEntries: 128,
  };
}

/** The receive filter (VMQ) capabilities of a virtual adapter; `enabled` fills the current ones. */
export function receiveFilterCapabilities(numQueues: number, maxFilters: number, vlanFiltering: boolean, enabled: boolean): NdisReceiveFilterCapabilities {
  return {
    flags: 0,
    enabledFilterTypes: enabled ? NDIS_RECEIVE_FILTER.VMQ_FILTERS_ENABLED : 0,
    enabledQueueTypes: enabled ? NDIS_RECEIVE_FILTER.VM_QUEUES_ENABLED : 0,
    numQueues,
    supportedQueueProperties: NDIS_RECEIVE_FILTER.VM_QUEUE_SUPPORTED | NDIS_RECEIVE_FILTER.MSI_X_SUPPORTED,
    supportedFilterTests: NDIS_RECEIVE_FILTER.TEST_HEADER_FIELD_EQUAL_SUPPORTED,
    supportedHeaders: NDIS_RECEIVE_FILTER.MAC_HEADER_SUPPORTED,
    supportedMacHeaderFields: NDIS_RECEIVE_FILTER.MAC_HEADER_DEST_ADDR_SUPPORTED | (vlanFiltering ? NDIS_RECEIVE_FILTER.MAC_HEADER_VLAN_ID_SUPPORTED : 0),
    maxMacHeaderFilters: maxFilters,
    maxQueueGroups: 0,
    maxQueuesPerQueueGroup: 0,
    minLookaheadSplitSize: 0,
    maxLookaheadSplitSize: 0,
  };
}

/** The OIDs the offload features of an adapter add to OID_GEN_SUPPORTED_LIST. */
export function offloadSupportedOids(rss: boolean, hds: boolean, vmq: boolean): number[] {
  const list: number[] = [OID.TCP_OFFLOAD_PARAMETERS, OID.TCP_OFFLOAD_CURRENT_CONFIG, OID.TCP_OFFLOAD_HARDWARE_CAPABILITIES, OID.OFFLOAD_ENCAPSULATION];
  list.push(OID.GEN_RECEIVE_HASH);
  if (rss) list.push(OID.GEN_RECEIVE_SCALE_CAPABILITIES, OID.GEN_RECEIVE_SCALE_PARAMETERS);
  if (hds) list.push(OID.GEN_HD_SPLIT_PARAMETERS, OID.GEN_HD_SPLIT_CURRENT_CONFIG);
  if (vmq) {
    list.push(
      OID.RECEIVE_FILTER_HARDWARE_CAPABILITIES,
      OID.RECEIVE_FILTER_CURRENT_CAPABILITIES,
      OID.RECEIVE_FILTER_ALLOCATE_QUEUE,
      OID.RECEIVE_FILTER_QUEUE_ALLOCATION_COMPLETE,
      OID.RECEIVE_FILTER_QUEUE_PARAMETERS,
      OID.RECEIVE_FILTER_FREE_QUEUE,
      OID.RECEIVE_FILTER_SET_FILTER,
      OID.RECEIVE_FILTER_CLEAR_FILTER,
    );
  }
  return list;
}

function indication(a: VirtualAdapter, code: number, buffer: Uint8Array, object: unknown): NdisStatusIndication {
  return { sourceHandle: a.handle, portNumber: 0, statusCode: code, flags: 0, destinationHandle: null, requestId: null, statusBuffer: buffer, statusObject: object };
}

/** Indicates NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG with the adapter's current NDIS_OFFLOAD. */
export function indicateOffloadConfig(a: VirtualAdapter): void {
  const cur = cloneOffload(a.offload.current);
  a.ndis.mIndicateStatusEx(a.handle, indication(a, NDIS_STATUS.TASK_OFFLOAD_CURRENT_CONFIG, encodeOffload(cur), cur));
}

/** The adapter's NDIS_HD_SPLIT_CURRENT_CONFIG. */
export function hdSplitCurrentConfig(a: VirtualAdapter): NdisHdSplitCurrentConfig {
  const h = a.hds!;
  return { ...h, hdSplitCombineFlags: a.hdsCombineFlags };
}

/** Reads the input structure of a set or method request: its bytes, or a length failure. */
function input(r: NdisOidRequest, min: number): Uint8Array | null {
  const len = r.requestType === NdisRequestType.Method ? r.inputBufferLength : r.informationBufferLength;
  const b = r.informationBuffer;
  if (b === null || len < min) {
    r.bytesNeeded = min;
    return null;
  }
  return b.subarray(0, len);
}

/**
 * Handles the offload OIDs of a virtual adapter. Returns null for an OID that is not one of them
 * (the general handler takes it).
 */
export function offloadOidRequest(a: VirtualAdapter, r: NdisOidRequest): NdisStatus | null {
  const query = r.requestType === NdisRequestType.QueryInformation || r.requestType === NdisRequestType.QueryStatistics;
  const set = r.requestType === NdisRequestType.SetInformation;
  const method = r.requestType === NdisRequestType.Method;
  const o = a.offload;
  switch (r.oid) {
    // ---- task offload ----
    case OID.TCP_OFFLOAD_HARDWARE_CAPABILITIES:
      if (!query) return NDIS_STATUS.NOT_SUPPORTED;
      return writeBytes(r, encodeOffload(o.hardware));
    // OID_TCP_OFFLOAD_CURRENT_CONFIG and OID_GEN_RECEIVE_SCALE_CAPABILITIES are answered by NDIS
    // from the attributes and status indications; they never reach the miniport.
    case OID.TCP_OFFLOAD_PARAMETERS: {
      if (!set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeOffloadParameters(b);
      if (isDecodeError(p)) return p;
      const status = o.applyParameters(p);
      if (status !== NDIS_STATUS.SUCCESS) return status;
      r.bytesRead = b.length;
      indicateOffloadConfig(a);
      return NDIS_STATUS.SUCCESS;
    }
    case OID.OFFLOAD_ENCAPSULATION: {
      if (query) return writeBytes(r, encodeOffloadEncapsulation(o.encapsulation));
      if (!set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_OFFLOAD_ENCAPSULATION_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const e = decodeOffloadEncapsulation(b);
      if (isDecodeError(e)) return e;
      const status = o.applyEncapsulation(e);
      if (status !== NDIS_STATUS.SUCCESS) return status;
      r.bytesRead = b.length;
      indicateOffloadConfig(a);
      return NDIS_STATUS.SUCCESS;
    }
    // ---- RSS ----
    case OID.GEN_RECEIVE_SCALE_PARAMETERS: {
      const rss = a.rss;
      if (rss === null) return NDIS_STATUS.NOT_SUPPORTED;
      if (query) {
        return writeBytes(
          r,
          encodeReceiveScaleParameters({
            revision: NDIS_RECEIVE_SCALE_PARAMETERS_REVISION_2,
            flags: rss.enabled ? 0 : 0x0010,
            baseCpuNumber: rss.baseCpuNumber,
            hashInformation: rss.hashInformation,
            indirectionTable: rss.indirectionTable(),
            secretKey: rss.hasher.key,
            defaultProcessor: -1,
          }),
        );
      }
      if (!set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_SCALE_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveScaleParameters(b);
      if (isDecodeError(p)) return p;
      // RSS and receive hash calculation exclude each other: the one on must be turned off first.
      const disable = (p.flags & NDIS_RSS_PARAM_FLAG.DISABLE_RSS) !== 0 || ((p.flags & NDIS_RSS_PARAM_FLAG.HASH_INFO_UNCHANGED) === 0 && (p.hashInformation & NDIS_HASH_FUNCTION_MASK) === 0);
      if (!disable && a.receiveHash.enabled) return NDIS_STATUS.NOT_SUPPORTED;
      const result = rss.setParameters(p);
      if (result !== RssParametersResult.Ok) return NDIS_STATUS.INVALID_PARAMETER;
      a.retargetRssQueues();
      r.bytesRead = b.length;
      return NDIS_STATUS.SUCCESS;
    }
    case OID.GEN_RECEIVE_HASH: {
      // Queries are answered by NDIS from the sets the adapter accepted.
      if (!set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_HASH_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveHashParameters(b);
      if (isDecodeError(p)) return p;
      if ((p.flags & NDIS_RECEIVE_HASH_FLAG.ENABLE_HASH) !== 0 && a.rss !== null && a.rss.enabled) return NDIS_STATUS.NOT_SUPPORTED;
      if (a.receiveHash.setParameters(p) !== RssParametersResult.Ok) return NDIS_STATUS.INVALID_PARAMETER;
      r.bytesRead = b.length;
      return NDIS_STATUS.SUCCESS;
    }
    // ---- header-data split ----
    case OID.GEN_HD_SPLIT_CURRENT_CONFIG:
      if (a.hds === null || !query) return NDIS_STATUS.NOT_SUPPORTED;
      return writeBytes(r, encodeHdSplitCurrentConfig(hdSplitCurrentConfig(a)));
    case OID.GEN_HD_SPLIT_PARAMETERS: {
      if (a.hds === null || !set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_HD_SPLIT_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeHdSplitParameters(b);
      if (isDecodeError(p)) return p;
      if ((p.hdSplitCombineFlags & ~1) !== 0) return NDIS_STATUS.INVALID_PARAMETER;
      a.hdsCombineFlags = p.hdSplitCombineFlags;
      r.bytesRead = b.length;
      const cfg = hdSplitCurrentConfig(a);
      a.ndis.mIndicateStatusEx(a.handle, indication(a, NDIS_STATUS.HD_SPLIT_CURRENT_CONFIG, encodeHdSplitCurrentConfig(cfg), cfg));
      return NDIS_STATUS.SUCCESS;
    }
  }
  const vmq = a.vmq;
  switch (r.oid) {
    case OID.RECEIVE_FILTER_HARDWARE_CAPABILITIES:
    case OID.RECEIVE_FILTER_CURRENT_CAPABILITIES:
      if (vmq === null || !query) return NDIS_STATUS.NOT_SUPPORTED;
      return writeBytes(r, encodeReceiveFilterCapabilities(receiveFilterCapabilities(vmq.maxQueues, vmq.maxFilters, vmq.vlanFiltering, r.oid === OID.RECEIVE_FILTER_CURRENT_CAPABILITIES)));
    case OID.RECEIVE_FILTER_ALLOCATE_QUEUE: {
      if (vmq === null || !method) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveQueueParameters(b);
      if (isDecodeError(p)) return p;
      const res = vmq.allocateQueue({
        flags: p.flags,
        queueType: p.queueType,
        queueId: p.queueId,
        queueGroupId: p.queueGroupId,
        processorAffinity: p.processorAffinity,
        numSuggestedReceiveBuffers: p.numSuggestedReceiveBuffers,
        msixTableEntry: p.msixTableEntry,
        lookaheadSize: p.lookaheadSize,
        vmName: p.vmName,
        queueName: p.queueName,
      });
      if (res.status !== NDIS_STATUS.SUCCESS) return res.status;
      const q = vmq.queues.get(res.id)!;
      if (a.bindVmqSlot(q) === null) {
        vmq.beginFree(res.id);
        vmq.finishFree(res.id);
        return NDIS_STATUS.RESOURCES;
      }
      // The queue identifier (NDIS's, or the one the adapter chose) goes back in the buffer.
      r.bytesRead = b.length;
      return writeBytes(r, encodeReceiveQueueParameters({ ...p, queueId: res.id }));
    }
    case OID.RECEIVE_FILTER_QUEUE_ALLOCATION_COMPLETE: {
      if (vmq === null || !method) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, 20);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const items = decodeReceiveQueueAllocationCompleteArray(b);
      if (isDecodeError(items)) return items;
      const buf = r.informationBuffer!;
      for (const it of items) writeAllocationComplete(buf, it.offset, { flags: it.flags, queueId: it.queueId, completionStatus: vmq.allocationComplete(it.queueId) });
      r.bytesRead = b.length;
      r.bytesWritten = b.length;
      return NDIS_STATUS.SUCCESS;
    }
    case OID.RECEIVE_FILTER_QUEUE_PARAMETERS: {
      if (vmq === null) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_QUEUE_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveQueueParameters(b);
      if (isDecodeError(p)) return p;
      const q = vmq.queues.get(p.queueId);
      if (q === undefined) return NDIS_STATUS.INVALID_PARAMETER;
      if (set) {
        // Only the *_CHANGED parts apply: processor affinity moves the queue's DPC.
        if ((p.flags & 0x00020000) !== 0) {
          q.config = { ...q.config, processorAffinity: p.processorAffinity };
          const slot = a.vmqSlot(q);
          if (slot !== null) slot.interrupt.processor = q.processor % a.ndis.scheduler.processorCount;
        }
        r.bytesRead = b.length;
        return NDIS_STATUS.SUCCESS;
      }
      if (!method) return NDIS_STATUS.NOT_SUPPORTED;
      const c = q.config;
      return writeBytes(r, encodeReceiveQueueParameters({ ...p, flags: c.flags, queueType: NdisReceiveQueueType.VMQueue, queueGroupId: c.queueGroupId, processorAffinity: c.processorAffinity, numSuggestedReceiveBuffers: c.numSuggestedReceiveBuffers, msixTableEntry: c.msixTableEntry, lookaheadSize: c.lookaheadSize, vmName: c.vmName, queueName: c.queueName }));
    }
    case OID.RECEIVE_FILTER_SET_FILTER: {
      if (vmq === null || !method) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveFilterParameters(b);
      if (isDecodeError(p)) return p;
      if (p.filterType !== NdisReceiveFilterType.VMQueue) return NDIS_STATUS.NOT_SUPPORTED;
      const res = vmq.setFilter(p.queueId, p.filterId, p.filterType, p.fields);
      if (res.status !== NDIS_STATUS.SUCCESS) return res.status;
      // The filter identifier goes back in NDIS_RECEIVE_FILTER_PARAMETERS.FilterId.
      new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(16, res.id, true);
      r.bytesRead = b.length;
      r.bytesWritten = NDIS_SIZEOF_RECEIVE_FILTER_PARAMETERS_REVISION_1;
      return NDIS_STATUS.SUCCESS;
    }
    case OID.RECEIVE_FILTER_CLEAR_FILTER: {
      if (vmq === null || !set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_FILTER_CLEAR_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveFilterClearParameters(b);
      if (isDecodeError(p)) return p;
      const s = vmq.clearFilter(p.queueId, p.filterId);
      // A delete OID completes only with SUCCESS, NOT_ACCEPTED or REQUEST_ABORTED.
      if (s !== NDIS_STATUS.SUCCESS) return NDIS_STATUS.NOT_ACCEPTED;
      r.bytesRead = b.length;
      return NDIS_STATUS.SUCCESS;
    }
    case OID.RECEIVE_FILTER_FREE_QUEUE: {
      if (vmq === null || !set) return NDIS_STATUS.NOT_SUPPORTED;
      const b = input(r, NDIS_SIZEOF_RECEIVE_QUEUE_FREE_PARAMETERS_REVISION_1);
      if (b === null) return NDIS_STATUS.INVALID_LENGTH;
      const p = decodeReceiveQueueFreeParameters(b);
      if (isDecodeError(p)) return p;
      if (p.queueId === NDIS_DEFAULT_RECEIVE_QUEUE_ID) return NDIS_STATUS.NOT_ACCEPTED;
      const q = vmq.queues.get(p.queueId);
      if (q === undefined || vmq.beginFree(p.queueId) !== NDIS_STATUS.SUCCESS) return NDIS_STATUS.NOT_ACCEPTED;
      r.bytesRead = b.length;
      // DMA stopped: say so, then wait for the queue's indications to come back.
      const state = { flags: 0, queueId: p.queueId, queueState: NdisReceiveQueueOperationalState.DmaStopped };
      a.ndis.mIndicateStatusEx(a.handle, indication(a, NDIS_STATUS.RECEIVE_QUEUE_STATE, encodeReceiveQueueState(state), state));
      const slot = a.vmqSlot(q);
      if (slot === null) {
        vmq.finishFree(p.queueId);
        return NDIS_STATUS.SUCCESS;
      }
      return a.freeVmqSlot(slot, r);
    }
  }
  return null;
}
