/**
 * The deep (full-verification) checks the runtime runs on the data path: every NBL of a chain is
 * walked at each hand-off to record who owns it and to catch cycles and foreign NBLs.
 */
import type { NetBufferList } from '../nbl/net-buffer-list.js';
import type { Ndis } from './ndis.js';
import { RULE } from './rule-ids.js';

/** Longest chain the checks walk before calling it a cycle. */
const MAX_CHAIN = 1 << 20;

/** A module of a stack, as reports name it. */
export interface NamedModule {
  readonly name: string;
}

export class DataPathChecks {
  private readonly ndis: Ndis;
  constructor(ndis: Ndis) {
    this.ndis = ndis;
  }

  /**
   * Walks a chain handed to module `toId` along `path` (NBL_HANDOFF): detects cycles and NBLs not
   * allocated, and records the new owner and the time (the watchdogs' view of who holds what).
   */
  transferChain(chain: NetBufferList, toId: number, call: string, to: NamedModule, path: number): number {
    const now = this.ndis.scheduler.nowMs();
    let n = 0;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
      if (++n > MAX_CHAIN) {
        this.ndis.violate(RULE.NBL_CHAIN_CYCLE, '?', to.name, chain, `the NBL chain handed to ${to.name} does not end (a cycle in NET_BUFFER_LIST.Next)`, call);
        return n;
      }
      if (x.allocated === 0 && x.ndisPoolHandle !== null) {
        this.ndis.violate(RULE.NBL_FREED_IN_FLIGHT, '?', to.name, x, 'a freed NBL (back in its pool) was handed on', call);
      }
      x.owner = toId;
      x.handoffAt = now;
      x.handoffPath = path;
    }
    return n;
  }

  /** Counts a chain, reporting a cycle. */
  count(chain: NetBufferList | null, call: string, where: string): number {
    let n = 0;
    for (let x = chain; x !== null; x = x.next) {
      if (++n > MAX_CHAIN) {
        this.ndis.violate(RULE.NBL_CHAIN_CYCLE, '?', where, chain, 'the NBL chain does not end (a cycle in NET_BUFFER_LIST.Next)', call);
        return n;
      }
    }
    return n;
  }
}
