/** What a driver allocated through NDIS for one adapter, filter module or binding. */
import type { NetBufferListPool, NetBufferPool } from '../nbl/pool.js';
import type { NdisIoWorkItem, NdisTimerObject } from './scheduler/scheduler.js';

/** Resources a driver allocated through NDIS for one adapter / module (checked at halt / detach). */
export class DriverResources {
  readonly nblPools = new Set<NetBufferListPool>();
  readonly nbPools = new Set<NetBufferPool>();
  readonly timers = new Set<NdisTimerObject>();
  readonly workItems = new Set<NdisIoWorkItem>();
  readonly configurations = new Set<object>();
  /** Blocks from NdisAllocateMemoryWithTagPriority not yet given to NdisFreeMemory, with their tags. */
  readonly memory = new Map<Uint8Array, number>();
}
