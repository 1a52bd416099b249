/**
 * Virtual machine queues (NDIS 6.20) in software: receive queues allocated and freed by OID, their
 * operational states ("NDIS Virtual Machine Queue States"), and receive filters that steer frames
 * to them by destination MAC address and VLAN identifier ("VMQ Receive Filters", "Setting a VMQ
 * Filter"). The fields of one filter are ANDed, the filters of one queue ORed, the queues tried in
 * turn; a frame no running queue claims goes to the default queue (NDIS_DEFAULT_RECEIVE_QUEUE_ID).
 */
import { NDIS_STATUS, type NdisStatus } from '../../base/status.js';

/** NDIS_DEFAULT_RECEIVE_QUEUE_ID: the default queue, which always exists. */
export const NDIS_DEFAULT_RECEIVE_QUEUE_ID = 0;
/** NDIS_DEFAULT_RECEIVE_FILTER_ID. */
export const NDIS_DEFAULT_RECEIVE_FILTER_ID = 0;

/** NDIS_RECEIVE_QUEUE_TYPE. */
export const NdisReceiveQueueType = { Unspecified: 0, VMQueue: 1, Maximum: 2 } as const;
/** NDIS_RECEIVE_FILTER_TYPE. */
export const NdisReceiveFilterType = { Undefined: 0, VMQueue: 1, PacketCoalescing: 2, Maximum: 3 } as const;
/** NDIS_FRAME_HEADER. */
export const NdisFrameHeader = { Undefined: 0, Mac: 1, Arp: 2, IPv4: 3, IPv6: 4, Udp: 5, Maximum: 6 } as const;
/** NDIS_MAC_HEADER_FIELD. */
export const NdisMacHeaderField = { Undefined: 0, DestinationAddress: 1, SourceAddress: 2, Protocol: 3, VlanId: 4, Priority: 5, PacketType: 6, Maximum: 7 } as const;
/** NDIS_RECEIVE_FILTER_TEST. */
export const NdisReceiveFilterTest = { Undefined: 0, Equal: 1, MaskEqual: 2, NotEqual: 3, Maximum: 4 } as const;
/** NDIS_RECEIVE_QUEUE_OPERATIONAL_STATE (what NDIS_STATUS_RECEIVE_QUEUE_STATE reports). */
export const NdisReceiveQueueOperationalState = { Undefined: 0, Running: 1, Paused: 2, DmaStopped: 3, Maximum: 4 } as const;
/** NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO. */
export const NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO = 0x00000001;

/**
 * The states of one queue as the VMQ states page draws them (finer than the operational state:
 * Allocated and Set are both "Paused" operationally, Freeing follows Stop DMA).
 */
export const VmqQueueState = {
  Undefined: 0,
  Allocated: 1,
  Set: 2,
  Paused: 3,
  Running: 4,
  DmaStopped: 5,
  Freeing: 6,
} as const;

const STATE_NAMES = ['Undefined', 'Allocated', 'Set', 'Paused', 'Running', 'Stop DMA', 'Freeing'];

/** The name of a {@link VmqQueueState}. */
export function vmqQueueStateName(state: number): string {
  return STATE_NAMES[state] ?? `state ${state}`;
}

/** The NDIS_RECEIVE_QUEUE_OPERATIONAL_STATE of a {@link VmqQueueState}. */
export function operationalState(state: number): number {
  switch (state) {
    case VmqQueueState.Running:
      return NdisReceiveQueueOperationalState.Running;
    case VmqQueueState.Allocated:
    case VmqQueueState.Set:
    case VmqQueueState.Paused:
      return NdisReceiveQueueOperationalState.Paused;
    case VmqQueueState.DmaStopped:
    case VmqQueueState.Freeing:
      return NdisReceiveQueueOperationalState.DmaStopped;
    default:
      return NdisReceiveQueueOperationalState.Undefined;
  }
}

/** The queue configuration of NDIS_RECEIVE_QUEUE_PARAMETERS the engine keeps. */
export interface VmqQueueConfig {
  flags: number;
  queueType: number;
  /** QueueId NDIS assigned (0: let the engine choose one). */
  queueId: number;
  queueGroupId: number;
  /** ProcessorAffinity.Mask (bit n = processor n) and Group. */
  processorAffinity: number;
  numSuggestedReceiveBuffers: number;
  msixTableEntry: number;
  lookaheadSize: number;
  vmName: string;
  queueName: string;
}

/** One field test of NDIS_RECEIVE_FILTER_FIELD_PARAMETERS. */
export interface VmqFilterField {
  flags: number;
  frameHeader: number;
  receiveFilterTest: number;
  headerField: number;
  /** FieldValue: the 6 MAC bytes, or the VLAN id in the first two bytes (little-endian USHORT). */
  fieldValue: Uint8Array;
}

/** A receive filter. */
export class VmqFilter {
  declare readonly id: number;
  declare readonly queueId: number;
  /** Destination MAC to equal, or null when the filter has no MAC test. */
  declare readonly mac: Uint8Array | null;
  /** VLAN id to equal, or -1 when the filter has no VLAN test. */
  declare readonly vlanId: number;
  /** NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO was given. */
  declare readonly untaggedOrZero: boolean;

  constructor(id: number, queueId: number, mac: Uint8Array | null, vlanId: number, untaggedOrZero: boolean) {
    this.id = id;
    this.queueId = queueId;
    this.mac = mac;
    this.vlanId = vlanId;
    this.untaggedOrZero = untaggedOrZero;
  }

  /** True when a frame with destination `b[off..off+6]` and 802.1Q VLAN id `vid` (-1: untagged) passes. */
  matches(b: Uint8Array, off: number, vid: number): boolean {
    const m = this.mac;
    if (m !== null) {
      for (let i = 0; i < 6; i++) if (b[off + i] !== m[i]) return false;
    }
    if (this.vlanId >= 0 && vid !== this.vlanId) return false;
    if (this.untaggedOrZero && vid > 0) return false;
    return true;
  }
}

/** A receive queue. */
export class VmqQueue {
  declare readonly id: number;
  state: number = VmqQueueState.Allocated;
  declare config: VmqQueueConfig;
  readonly filters: VmqFilter[] = [];
  /** Frames steered to the queue, and frames dropped because it could not take them. */
  frames = 0;
  /** Receive NBLs indicated on this queue and not yet returned. */
  outstanding = 0;

  constructor(id: number, config: VmqQueueConfig) {
    this.id = id;
    this.config = config;
  }

  /** The processor the queue's receive DPC runs on: the lowest processor of its affinity mask. */
  get processor(): number {
    const m = this.config.processorAffinity;
    if (m === 0) return 0;
    let p = 0;
    while (p < 52 && Math.floor(m / 2 ** p) % 2 === 0) p++;
    return p;
  }
}

/** Where {@link VmqQueueSet.match} steered a frame. */
export class VmqMatch {
  declare queueId: number;
  declare filterId: number;
  declare queue: VmqQueue | null;

  constructor() {
    this.queueId = NDIS_DEFAULT_RECEIVE_QUEUE_ID;
    this.filterId = NDIS_DEFAULT_RECEIVE_FILTER_ID;
    this.queue = null;
  }
}

/** A result with a status and the identifier it concerns. */
export interface VmqResult {
  status: NdisStatus;
  id: number;
}

/** The VMQ state of one adapter. */
export class VmqQueueSet {
  /** NumQueues (non-default queues the adapter offers). */
  declare readonly maxQueues: number;
  /** MaxMacHeaderFilters (filters over all queues). */
  declare readonly maxFilters: number;
  /** VLAN id filters supported (*VMQVlanFiltering). */
  declare readonly vlanFiltering: boolean;
  /** Minor NDIS version of the miniport: 6.20 must refuse MAC filters without a VLAN rule. */
  declare readonly ndisMinor: number;
  /** Queues by identifier, in allocation order. */
  readonly queues = new Map<number, VmqQueue>();
  /** Filters by identifier. */
  readonly filters = new Map<number, VmqFilter>();
  private nextQueueId = 1;
  private nextFilterId = 1;
  /** Running queues, in allocation order (what `match` walks). */
  private running: VmqQueue[] = [];

  constructor(maxQueues: number, maxFilters: number, vlanFiltering: boolean, ndisMinor = 30) {
    this.maxQueues = maxQueues;
    this.maxFilters = maxFilters;
    this.vlanFiltering = vlanFiltering;
    this.ndisMinor = ndisMinor;
  }

  private refresh(): void {
    this.running = [...this.queues.values()].filter((q) => q.state === VmqQueueState.Running);
  }

  /** OID_RECEIVE_FILTER_ALLOCATE_QUEUE: a queue in the Allocated state. */
  allocateQueue(config: VmqQueueConfig): VmqResult {
    if (config.queueType !== NdisReceiveQueueType.VMQueue) return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    let live = 0;
    for (const q of this.queues.values()) if (q.state !== VmqQueueState.Undefined) live++;
    if (live >= this.maxQueues) return { status: NDIS_STATUS.RESOURCES, id: 0 };
    let id = config.queueId;
    if (id === NDIS_DEFAULT_RECEIVE_QUEUE_ID) {
      while (this.queues.has(this.nextQueueId)) this.nextQueueId++;
      id = this.nextQueueId++;
    } else if (this.queues.has(id)) {
      return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    }
    this.queues.set(id, new VmqQueue(id, { ...config, queueId: id }));
    return { status: NDIS_STATUS.SUCCESS, id };
  }

  /** OID_RECEIVE_FILTER_QUEUE_ALLOCATION_COMPLETE for one queue: Allocated → Paused, Set → Running. */
  allocationComplete(queueId: number): NdisStatus {
    const q = this.queues.get(queueId);
    if (q === undefined) return NDIS_STATUS.INVALID_PARAMETER;
    if (q.state === VmqQueueState.Allocated) q.state = VmqQueueState.Paused;
    else if (q.state === VmqQueueState.Set) q.state = VmqQueueState.Running;
    else return NDIS_STATUS.INVALID_DATA;
    this.refresh();
    return NDIS_STATUS.SUCCESS;
  }

  /**
   * OID_RECEIVE_FILTER_SET_FILTER: a filter of MAC header field tests on `queueId` (Allocated →
   * Set, Paused → Running). `filterId` is the identifier NDIS assigned (0: the engine picks one).
   */
  setFilter(queueId: number, filterId: number, filterType: number, fields: readonly VmqFilterField[]): VmqResult {
    if (filterType !== NdisReceiveFilterType.VMQueue) return { status: NDIS_STATUS.NOT_SUPPORTED, id: 0 };
    const q = this.queues.get(queueId);
    if (q === undefined || q.state === VmqQueueState.Undefined || q.state === VmqQueueState.DmaStopped || q.state === VmqQueueState.Freeing) {
      return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    }
    if (this.filters.size >= this.maxFilters) return { status: NDIS_STATUS.RESOURCES, id: 0 };
    if (fields.length === 0) return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    let mac: Uint8Array | null = null;
    let vlan = -1;
    let untagged = false;
    for (const f of fields) {
      if (f.frameHeader !== NdisFrameHeader.Mac || f.receiveFilterTest !== NdisReceiveFilterTest.Equal) return { status: NDIS_STATUS.NOT_SUPPORTED, id: 0 };
      if (f.headerField === NdisMacHeaderField.DestinationAddress) {
        mac = f.fieldValue.slice(0, 6);
        if ((f.flags & NDIS_RECEIVE_FILTER_FIELD_MAC_HEADER_VLAN_UNTAGGED_OR_ZERO) !== 0) untagged = true;
      } else if (f.headerField === NdisMacHeaderField.VlanId) {
        if (!this.vlanFiltering) return { status: NDIS_STATUS.NOT_SUPPORTED, id: 0 };
        vlan = (f.fieldValue[0]! | (f.fieldValue[1]! << 8)) & 0xfff;
      } else {
        return { status: NDIS_STATUS.NOT_SUPPORTED, id: 0 };
      }
    }
    if (untagged && vlan >= 0) return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    // NDIS 6.20: a MAC filter needs the untagged-or-zero flag or a VLAN filter.
    if (mac !== null && !untagged && vlan < 0 && this.ndisMinor < 30) return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    let id = filterId;
    if (id === NDIS_DEFAULT_RECEIVE_FILTER_ID) {
      while (this.filters.has(this.nextFilterId)) this.nextFilterId++;
      id = this.nextFilterId++;
    } else if (this.filters.has(id)) {
      return { status: NDIS_STATUS.INVALID_PARAMETER, id: 0 };
    }
    const filter = new VmqFilter(id, queueId, mac, vlan, untagged);
    this.filters.set(id, filter);
    q.filters.push(filter);
    if (q.state === VmqQueueState.Allocated) q.state = VmqQueueState.Set;
    else if (q.state === VmqQueueState.Paused) q.state = VmqQueueState.Running;
    this.refresh();
    return { status: NDIS_STATUS.SUCCESS, id };
  }

  /** OID_RECEIVE_FILTER_CLEAR_FILTER: the last filter cleared takes Set → Allocated, Running → Paused. */
  clearFilter(queueId: number, filterId: number): NdisStatus {
    const f = this.filters.get(filterId);
    if (f === undefined || (queueId !== f.queueId && queueId !== NDIS_DEFAULT_RECEIVE_QUEUE_ID)) return NDIS_STATUS.INVALID_PARAMETER;
    const q = this.queues.get(f.queueId)!;
    this.filters.delete(filterId);
    q.filters.splice(q.filters.indexOf(f), 1);
    if (q.filters.length === 0) {
      if (q.state === VmqQueueState.Set) q.state = VmqQueueState.Allocated;
      else if (q.state === VmqQueueState.Running) q.state = VmqQueueState.Paused;
    }
    this.refresh();
    return NDIS_STATUS.SUCCESS;
  }

  /**
   * OID_RECEIVE_FILTER_FREE_QUEUE, first half: an Allocated or Paused queue without filters stops
   * DMA (the caller indicates NDIS_STATUS_RECEIVE_QUEUE_STATE DmaStopped) and enters Freeing.
   */
  beginFree(queueId: number): NdisStatus {
    const q = this.queues.get(queueId);
    if (q === undefined || q.state === VmqQueueState.Undefined) return NDIS_STATUS.INVALID_PARAMETER;
    if (q.filters.length > 0 || (q.state !== VmqQueueState.Allocated && q.state !== VmqQueueState.Paused)) return NDIS_STATUS.INVALID_DATA;
    q.state = VmqQueueState.DmaStopped;
    this.refresh();
    q.state = VmqQueueState.Freeing;
    return NDIS_STATUS.SUCCESS;
  }

  /** OID_RECEIVE_FILTER_FREE_QUEUE, second half: once its indications are all returned the queue is gone. */
  finishFree(queueId: number): boolean {
    const q = this.queues.get(queueId);
    if (q === undefined || q.state !== VmqQueueState.Freeing || q.outstanding > 0) return false;
    q.state = VmqQueueState.Undefined;
    this.queues.delete(queueId);
    return true;
  }

  /**
   * Steers a frame whose destination MAC is `b[off..off+6]` and whose 802.1Q VLAN id is `vid` (-1
   * when untagged) to the first running queue with a matching filter, else the default queue.
   * Returns the queue (null for the default queue).
   */
  match(b: Uint8Array, off: number, vid: number, out: VmqMatch): VmqQueue | null {
    const qs = this.running;
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i]!;
      const fs = q.filters;
      for (let j = 0; j < fs.length; j++) {
        const f = fs[j]!;
        if (f.matches(b, off, vid)) {
          out.queueId = q.id;
          out.filterId = f.id;
          out.queue = q;
          return q;
        }
      }
    }
    out.queueId = NDIS_DEFAULT_RECEIVE_QUEUE_ID;
    out.filterId = NDIS_DEFAULT_RECEIVE_FILTER_ID;
    out.queue = null;
    return null;
  }

  /** Queues that are not Undefined. */
  get queueCount(): number {
    return this.queues.size;
  }
}
