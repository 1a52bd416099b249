/**
 * verifier: the NDIS rules as run-time checks. Each family of rules has its module under rules/,
 * each rule a stable id, a title, the Microsoft page it comes from and the Windows check (bug check
 * 0xC4 / 0x7C code, or Static Driver Verifier rule) that catches the same mistake.
 *
 * ```ts
 * const verifier = new Verifier({ level: 'full', action: 'throw' });
 * const ndis = new Ndis({ verifier });
 * ```
 */
export * from './rule.js';
export * from './catalog.js';
export * from './report.js';
export * from './frame.js';
export * from './verifier.js';
export { RX, RECEIVE_RULES } from './rules/receive.js';
export { TX, SEND_RULES } from './rules/send.js';
export { OWNERSHIP_RULES } from './rules/ownership.js';
export { STATE_RULES } from './rules/state.js';
export { OID_RULES } from './rules/oid.js';
export { TIMING_RULES, TIMING_LIMITS_MS } from './rules/timing.js';
export { RESOURCE_RULES } from './rules/resources.js';
