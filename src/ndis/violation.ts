/**
 * How the runtime reports a broken NDIS rule. The runtime detects the cheap, always-on breaks
 * itself (state, ownership of the head of a chain, double completion, OID rules) and reports them
 * by rule id; the verifier (src/verifier) knows every rule's title and source, adds the deep checks,
 * renders reports, and decides whether a violation throws, is logged, or is only counted.
 */
import { NdisError } from '../base/errors.js';
import type { NetBufferList } from '../nbl/net-buffer-list.js';

/** What a violation report carries. */
export interface ViolationDetail {
  /** The driver that broke the rule. */
  driver: string;
  /** Adapter, filter module or binding involved. */
  object: string;
  /** The NBL involved, when there is one. */
  nbl: NetBufferList | null;
  /** What happened and what was expected. */
  message: string;
  /** The NDIS call or handler in which it happened. */
  call: string;
}

/** The verifier as the runtime sees it. */
export interface NdisVerifierHooks {
  /** 0 = off, 1 = cheap (constant-time checks), 2 = full (walks buffers, poisons, timestamps). */
  readonly level: number;
  /** Reports a violation of rule `ruleId`. May throw (the default in tests). */
  violation(ruleId: string, detail: ViolationDetail): void;
  /**
   * A receive indication leaves a miniport (`originator` is its MiniportBlock) or a filter module
   * (NdisFIndicateReceiveNetBufferLists). Called when the level is not off; cheap checks look at the
   * head of the chain, full checks at every NBL.
   */
  receiveIndicated?(originator: object, chain: NetBufferList, count: number, receiveFlags: number, call: string): void;
  /** A chain reaches MiniportSendNetBufferLists (full level). */
  sendReachesMiniport?(miniport: object, chain: NetBufferList, sendFlags: number): void;
  /** Receive NBLs reach MiniportReturnNetBufferLists, every holder done with them (full level; poisoning). */
  receivesReturned?(miniport: object, chain: NetBufferList): void;
  /** A NET_BUFFER_LIST or NET_BUFFER pool was created through the runtime (low-resource simulation). */
  poolCreated?(pool: object, owner: object): void;
  /** Low-resource simulation: whether this memory allocation (NdisAllocateMemoryWithTagPriority) fails. */
  failMemoryAllocation?(owner: object, length: number): boolean;
  /** The verifier is attached to a runtime (installs its watchdog). */
  attached?(ndis: object): void;
  /**
   * Something the watchdogs time began: an OID reached a miniport, sends became pending, a filter
   * pause started. The verifier makes sure its watchdog will look.
   */
  watch?(): void;
}

/** Verifier levels. */
export const VERIFY_OFF = 0;
export const VERIFY_CHEAP = 1;
export const VERIFY_FULL = 2;

/** A violation raised as an exception (verifier mode `throw`). */
export class NdisVerifierViolation extends NdisError {
  readonly ruleId: string;
  readonly detail: ViolationDetail;
  constructor(ruleId: string, detail: ViolationDetail, rendered?: string) {
    super('ERR_NDIS_VERIFIER', rendered ?? `${ruleId}: ${detail.message} [driver ${detail.driver}, ${detail.object}, in ${detail.call}]`);
    this.name = 'NdisVerifierViolation';
    this.ruleId = ruleId;
    this.detail = detail;
  }
}

/** The runtime's built-in verifier when none is attached: cheap checks, every violation throws. */
export class ThrowingVerifier implements NdisVerifierHooks {
  readonly level: number;
  readonly violations: { ruleId: string; detail: ViolationDetail }[] = [];
  constructor(level = VERIFY_CHEAP) {
    this.level = level;
  }
  violation(ruleId: string, detail: ViolationDetail): void {
    this.violations.push({ ruleId, detail });
    throw new NdisVerifierViolation(ruleId, detail);
  }
}
