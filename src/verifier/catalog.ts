/** Every rule the verifier knows, by id. */
import type { VerifierRule } from './rule.js';
import { RECEIVE_RULES } from './rules/receive.js';
import { SEND_RULES } from './rules/send.js';
import { OWNERSHIP_RULES } from './rules/ownership.js';
import { STATE_RULES } from './rules/state.js';
import { OID_RULES } from './rules/oid.js';
import { TIMING_RULES } from './rules/timing.js';
import { RESOURCE_RULES } from './rules/resources.js';

/** The catalog, in family order. */
export const RULES: readonly VerifierRule[] = [...RECEIVE_RULES, ...SEND_RULES, ...OWNERSHIP_RULES, ...STATE_RULES, ...OID_RULES, ...TIMING_RULES, ...RESOURCE_RULES];

const byId = new Map(RULES.map((r) => [r.id, r]));

/** The rule with that id (undefined for an unknown id). */
export function ruleById(id: string): VerifierRule | undefined {
  return byId.get(id);
}
