/**
 * The stack's timers: one binary heap of deadlines (TCP connection timers, neighbor and DAD
 * timers, reassembly timeouts, ping deadlines) served by a single NDIS timer object
 * (NdisAllocateTimerObject / NdisSetTimerObject) armed for the earliest deadline. Entries are
 * objects with a fixed shape (`at`, `hostIndex`, `fire()`), so the heap never allocates after it
 * has grown to its working size, and arming an already-earlier timer costs nothing.
 */

/** What the heap holds: the TCP engine's `TcpTimer` has this shape, and so does `StackTimer`. */
export interface HeapTimer {
  /** Due time in ms of the stack clock; Infinity while not armed (owners keep it). */
  at: number;
  /** Position in the heap, -1 when not in it. */
  hostIndex: number;
  /** Called when due (after removal from the heap). */
  fire(): void;
}

/** Receives the expiry of a `StackTimer`. */
export interface StackTimerTarget {
  /** The timer `kind` of this target is due. */
  onStackTimer(kind: number, timer: StackTimer): void;
}

/** A timer of the IP layer (neighbor entry, address DAD, reassembly, ping). */
export class StackTimer implements HeapTimer {
  at: number;
  hostIndex: number;
  readonly target: StackTimerTarget;
  readonly kind: number;

  constructor(target: StackTimerTarget, kind: number) {
    this.at = Infinity;
    this.hostIndex = -1;
    this.target = target;
    this.kind = kind;
  }

  /** True while armed. */
  get armed(): boolean {
    return this.hostIndex >= 0;
  }

  fire(): void {
    this.at = Infinity;
    this.target.onStackTimer(this.kind, this);
  }
}

/** A min-heap of `HeapTimer`s ordered by `at`. */
export class TimerHeap {
  private readonly items: HeapTimer[] = [];

  /** Number of armed timers. */
  get size(): number {
    return this.items.length;
  }

  /** Earliest due time, or Infinity. */
  get nextAt(): number {
    return this.items.length === 0 ? Infinity : this.items[0]!.at;
  }

  /** Arms `t` for `at` (moves it if armed). */
  set(t: HeapTimer, at: number): void {
    t.at = at;
    const i = t.hostIndex;
    if (i >= 0 && this.items[i] === t) {
      this.up(i);
      this.down(t.hostIndex);
      return;
    }
    t.hostIndex = this.items.length;
    this.items.push(t);
    this.up(t.hostIndex);
  }

  /** Disarms `t` if armed (its `at` is left to its owner). */
  remove(t: HeapTimer): void {
    const i = t.hostIndex;
    const h = this.items;
    if (i < 0 || h[i] !== t) return;
    const last = h.pop()!;
    t.hostIndex = -1;
    if (i < h.length) {
      h[i] = last;
      last.hostIndex = i;
      this.up(i);
      this.down(last.hostIndex);
    }
  }

  /** Removes and returns the earliest timer if it is due at `now`, else null. */
  popDue(now: number): HeapTimer | null {
    const h = this.items;
    if (h.length === 0 || h[0]!.at > now) return null;
    const t = h[0]!;
    this.remove(t);
    return t;
  }

  /** Disarms everything (stack shutdown). */
  clear(): void {
    for (const t of this.items) t.hostIndex = -1;
    this.items.length = 0;
  }

  private up(i: number): void {
    const h = this.items;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = h[p]!;
      if (q.at <= t.at) break;
      h[i] = q;
      q.hostIndex = i;
      i = p;
    }
    h[i] = t;
    t.hostIndex = i;
  }

  private down(i: number): void {
    const h = this.items;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      const q = h[c]!;
      if (q.at >= t.at) break;
      h[i] = q;
      q.hostIndex = i;
      i = c;
    }
    h[i] = t;
    t.hostIndex = i;
  }
}
