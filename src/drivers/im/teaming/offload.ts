/**
 * The task offloads of a team: what every member can do. A team may send any frame on any
 * member, so it advertises (in its NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES, and with
 * NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG when its members change) only the intersection of its
 * members' NDIS_OFFLOAD structures.
 */
import { cloneOffload, emptyOffload, type NdisOffload } from '../../../ndis/index.js';

/** Fields that are bit masks (NDIS_ENCAPSULATION_*, flags): intersected bit by bit. */
const MASK_FIELDS = new Set(['encapsulation', 'flags', 'encapsulationTypes']);
/** Fields where the larger value is the weaker capability. */
const MAX_FIELDS = new Set(['minSegmentCount']);

function intersectInto(into: Record<string, unknown>, other: Record<string, unknown>): void {
  for (const key of Object.keys(into)) {
    const a = into[key];
    const b = other[key];
    if (typeof a === 'number') {
      const n = typeof b === 'number' ? b : 0;
      if (MASK_FIELDS.has(key)) into[key] = (a & n) >>> 0;
      else if (MAX_FIELDS.has(key)) into[key] = Math.max(a, n);
      else into[key] = Math.min(a, n);
    } else if (a !== null && typeof a === 'object') {
      if (b !== null && typeof b === 'object') intersectInto(a as Record<string, unknown>, b as Record<string, unknown>);
      else intersectInto(a as Record<string, unknown>, {});
    }
  }
}

/**
 * The NDIS_OFFLOAD every member of `offloads` supports: supported flags and sizes take the
 * smallest value, encapsulation masks and flags the common bits, MinSegmentCount the largest. A
 * member without offload attributes (null) supports nothing. Returns null when every member is
 * null (the team sets no offload attributes either), and for an empty list.
 */
export function intersectOffloads(offloads: readonly (NdisOffload | null)[]): NdisOffload | null {
  if (offloads.every((o) => o === null)) return null;
  if (offloads.some((o) => o === null)) return emptyOffload();
  const result = cloneOffload(offloads[0]!);
  for (const o of offloads) intersectInto(result as unknown as Record<string, unknown>, o as unknown as Record<string, unknown>);
  return result;
}

/** True when two NDIS_OFFLOAD structures (or nulls) hold the same values. */
export function sameOffload(a: NdisOffload | null, b: NdisOffload | null): boolean {
  if (a === null || b === null) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}
