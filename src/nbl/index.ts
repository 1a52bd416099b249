/**
 * nbl: the NET_BUFFER architecture of NDIS 6.x. Imports nothing of the project but `base`.
 *
 * ```
 *  NBL chain:  [NET_BUFFER_LIST]──next──►[NET_BUFFER_LIST]──next──► null
 *                 │ firstNetBuffer            │
 *                 ▼                           ▼
 *              [NET_BUFFER]──next──►[NET_BUFFER]      (one per frame on Ethernet receive)
 *                 │ mdlChain
 *                 ▼
 *              [MDL]──next──►[MDL]──► null             (views into preallocated slabs)
 *
 *  NET_BUFFER data space:
 *    |<── dataOffset (unused: backfill) ──>|<──────── dataLength (used) ────────>|
 *    retreat (NdisRetreatNetBufferDataStart) moves the start left, using backfill or a new MDL;
 *    advance (NdisAdvanceNetBufferDataStart) moves it right, optionally freeing retreat MDLs.
 * ```
 *
 * Guarantees: objects come from pools (no per-packet allocation in steady state); every NBL has the
 * same object shape; OOB information is stored by value in fixed slots; a pool knows which of its
 * objects are outstanding, so leaks are reported at pool free.
 */
export * from './flags.js';
export * from './info.js';
export * from './mdl.js';
export * from './net-buffer.js';
export * from './net-buffer-list.js';
export * from './context.js';
export * from './pool.js';
export * from './data.js';
export * from './derived.js';
export * from './copy-info.js';
export * from './chain.js';
export * from './macros.js';
export { copyBytes } from './bytes.js';
