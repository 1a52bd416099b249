/**
 * What a verifier rule is: a stable id, the family it belongs to, a title, the Microsoft page it
 * comes from, and the Windows bug-check code or Driver Verifier / Static Driver Verifier rule that
 * catches the same mistake on Windows, where there is one.
 */

/** Rule families, one module each under src/verifier/rules. */
export type RuleFamily = 'receive' | 'send' | 'ownership' | 'state' | 'oid' | 'timing' | 'resources';

/** How bad a break is: a violation is reported per the verifier's action; an advisory only counted and logged. */
export type RuleSeverity = 'violation' | 'advisory';

/** One rule of the catalog. */
export interface VerifierRule {
  /** Stable id, e.g. `RX-002`. Ids never change meaning. */
  id: string;
  family: RuleFamily;
  title: string;
  /** The Microsoft documentation page that states the rule. */
  source: string;
  /** The Windows check: `0xC4/0x00091002 NdisOidDoubleComplete`, `0x7C/0x27 LEAKED_NBL`, `SDV MiniportPause_Return`, or null. */
  windowsCode: string | null;
  severity: RuleSeverity;
  /** Whether the cheap level checks it (constant-time) or only the full level. */
  level: 'cheap' | 'full';
}

const LEARN = 'https://learn.microsoft.com/windows-hardware/drivers';

/** A page of the network driver design guide. */
export function networkPage(page: string): string {
  return `${LEARN}/network/${page}`;
}

/** A Driver Verifier / SDV page. */
export function devtestPage(page: string): string {
  return `${LEARN}/devtest/${page}`;
}

/** The bug check 0x7C page. */
export const BUGCHECK_7C = `${LEARN}/debugger/bug-check-0x7c--bugcode-ndis-driver`;
