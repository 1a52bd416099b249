/**
 * The data path of one adapter's stack, as NDIS wires it: every module knows the next module in
 * each direction that has a handler for that direction, so a pass-through costs one call and a
 * module without a handler is bypassed (computed once per stack change, not per packet).
 *
 * ```
 *   bindings (protocols)        ▲ receive / send complete            │ send / return
 *        ProtocolDemux  ────────┘  (split by binding)                ▼
 *   filter module n  (top)      receiveUp / completeUp         sendDown / returnDown
 *        ...
 *   filter module 0  (bottom)
 *   MiniportBlock               indicate / complete            MiniportSendNetBufferLists / Return
 * ```
 */
import type { NetBufferList } from '../nbl/net-buffer-list.js';

/** A module that takes sends from above (filter module or the miniport edge). */
export interface SendTarget {
  sendDown(nbl: NetBufferList, portNumber: number, sendFlags: number): void;
}
/** A module that takes returned receive NBLs from above. */
export interface ReturnTarget {
  returnDown(nbl: NetBufferList, returnFlags: number): void;
}
/** A module that takes receive indications from below (filter module or the protocol demux). */
export interface ReceiveTarget {
  receiveUp(nbl: NetBufferList, portNumber: number, count: number, receiveFlags: number): void;
}
/** A module that takes send completions from below. */
export interface CompleteTarget {
  completeUp(nbl: NetBufferList, sendCompleteFlags: number): void;
}

/** Reasons NDIS itself drops frames, counted per adapter. */
export const NdisDropReason = {
  /** A receive indication arrived while the adapter could not take it (not Running/Pausing). */
  AdapterNotReady: 0,
  /** No binding wanted the frame (packet filters). */
  NoBinding: 1,
  /** The frame was shorter than a MAC header. */
  Runt: 2,
  /** A send was refused because the sender or the adapter was paused. */
  SendPaused: 3,
  /** A binding that is not running was skipped. */
  BindingNotRunning: 4,
  /** A receive indication from a module that is not running. */
  ModuleNotRunning: 5,
  Count: 6,
} as const;

/** Texts of {@link NdisDropReason}. */
export const NDIS_DROP_REASON_TEXT: readonly string[] = [
  'adapter not ready',
  'no binding accepted the frame',
  'runt frame',
  'send while paused',
  'binding not running',
  'module not running',
];
