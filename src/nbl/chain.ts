/**
 * NBL chains: counting, appending, an O(1) queue of chains, and splitting a chain by a predicate.
 * NDIS passes whole chains; a layer walks a chain only when it must look at each NBL.
 */
import type { NetBufferList } from './net-buffer-list.js';
import type { NetBuffer } from './net-buffer.js';

/** Number of NBLs in a chain (NumberOfNetBufferLists). */
export function countNetBufferLists(chain: NetBufferList | null): number {
  let n = 0;
  for (let nbl = chain; nbl !== null; nbl = nbl.next) n++;
  return n;
}

/** Number of NET_BUFFERs of one NBL. */
export function countNetBuffers(nbl: NetBufferList): number {
  let n = 0;
  for (let nb: NetBuffer | null = nbl.firstNetBuffer; nb !== null; nb = nb.next) n++;
  return n;
}

/** The last NBL of a chain (O(n)). */
export function lastNetBufferList(chain: NetBufferList): NetBufferList {
  let nbl = chain;
  while (nbl.next !== null) nbl = nbl.next;
  return nbl;
}

/** Appends chain `b` after chain `a` and returns the head (O(length of a)). */
export function appendNetBufferLists(a: NetBufferList | null, b: NetBufferList | null): NetBufferList | null {
  if (a === null) return b;
  lastNetBufferList(a).next = b;
  return a;
}

/**
 * A FIFO queue of NBLs that takes and gives whole chains in O(1) (head, tail and count kept), the
 * shape miniports use for send and receive queues (netvmini's TCB/RCB queues, ndisprot's receive
 * queue). The queue object allocates nothing after construction.
 */
export class NblQueue {
  head: NetBufferList | null = null;
  tail: NetBufferList | null = null;
  count = 0;

  /** True when empty. */
  get isEmpty(): boolean {
    return this.head === null;
  }

  /** Appends one NBL (its `next` is cleared). */
  enqueue(nbl: NetBufferList): void {
    nbl.next = null;
    if (this.tail === null) this.head = nbl;
    else this.tail.next = nbl;
    this.tail = nbl;
    this.count++;
  }

  /**
   * Appends a chain in O(1) when its tail and count are given; otherwise walks it once to find
   * them.
   */
  enqueueChain(head: NetBufferList | null, tail: NetBufferList | null = null, count = -1): void {
    if (head === null) return;
    if (tail === null || count < 0) {
      count = 1;
      tail = head;
      while (tail.next !== null) {
        tail = tail.next;
        count++;
      }
    }
    tail.next = null;
    if (this.tail === null) this.head = head;
    else this.tail.next = head;
    this.tail = tail;
    this.count += count;
  }

  /** Removes and returns the first NBL (its `next` cleared), or null. */
  dequeue(): NetBufferList | null {
    const nbl = this.head;
    if (nbl === null) return null;
    this.head = nbl.next;
    if (this.head === null) this.tail = null;
    nbl.next = null;
    this.count--;
    return nbl;
  }

  /** Removes up to `max` NBLs from the front as one chain (null when empty). */
  dequeueChain(max: number): NetBufferList | null {
    const first = this.head;
    if (first === null || max <= 0) return null;
    let last = first;
    let n = 1;
    while (n < max && last.next !== null) {
      last = last.next;
      n++;
    }
    this.head = last.next;
    if (this.head === null) this.tail = null;
    last.next = null;
    this.count -= n;
    return first;
  }

  /** Removes every NBL and returns them as one chain (null when empty). */
  takeAll(): NetBufferList | null {
    const h = this.head;
    this.head = null;
    this.tail = null;
    this.count = 0;
    return h;
  }
}

/**
 * Splits `chain` into the NBLs for which `predicate` is true (appended to `matched`) and the
 * others (appended to `rest`), keeping their order. The filter-driver recipe for dropping part of
 * a chain: return the dropped chain, pass the kept chain on.
 */
export function splitNetBufferLists(
  chain: NetBufferList | null,
  predicate: (nbl: NetBufferList) => boolean,
  matched: NblQueue,
  rest: NblQueue,
): void {
  let nbl = chain;
  while (nbl !== null) {
    const next: NetBufferList | null = nbl.next;
    if (predicate(nbl)) matched.enqueue(nbl);
    else rest.enqueue(nbl);
    nbl = next;
  }
}
