/**
 * The scheduler: processors with per-processor DPC queues, timers, work items, IRQL and a clock.
 *
 * NDIS runs handlers on many processors at DISPATCH_LEVEL (DPCs, timers) and PASSIVE_LEVEL (work
 * items, PnP and OID handlers). Here one JavaScript thread stands in for them: work is queued per
 * processor and the scheduler picks, with a seeded generator, which processor's queue runs next,
 * so the same seed gives the same interleaving (and the same trace) on every run, and another seed
 * another interleaving.
 *
 * Time is virtual by default: it advances only to fire the next timer, and only while someone is
 * waiting for a result (a PnP operation in progress, a `ndis.until(...)`, a pending socket read).
 * That keeps idle periodic timers from spinning and makes seconds of protocol time cost
 * microseconds. The real-time mode drives the same machinery from the Node event loop for wires
 * that talk to the outside world.
 */
import { NdisError } from '../../base/errors.js';
import { Prng } from './prng.js';

/** KIRQL values: PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL. */
export const PASSIVE_LEVEL = 0;
export const APC_LEVEL = 1;
export const DISPATCH_LEVEL = 2;

/** KDEFERRED_ROUTINE: (Dpc, DeferredContext, SystemArgument1, SystemArgument2). */
export type DeferredRoutine = (dpc: Dpc, context: unknown, arg1: unknown, arg2: unknown) => void;

/** Models KDPC: a deferred procedure call queued to a processor and run at DISPATCH_LEVEL. */
export class Dpc {
  readonly routine: DeferredRoutine;
  context: unknown;
  /** Name shown in traces. */
  readonly name: string;
  /** Processor the DPC is targeted to (KeSetTargetProcessorDpcEx). */
  processor = 0;
  queued = false;
  arg1: unknown = null;
  arg2: unknown = null;

  constructor(routine: DeferredRoutine, context: unknown, name = 'dpc') {
    this.routine = routine;
    this.context = context;
    this.name = name;
  }
}

/** NDIS_TIMER_FUNCTION: (SystemSpecific1, FunctionContext, SystemSpecific2, SystemSpecific3). */
export type NdisTimerFunction = (systemSpecific1: unknown, functionContext: unknown, systemSpecific2: unknown, systemSpecific3: unknown) => void;

/** Models an NDIS timer object (NdisAllocateTimerObject). */
export class NdisTimerObject {
  readonly timerFunction: NdisTimerFunction;
  functionContext: unknown;
  readonly name: string;
  /** Who allocated it (a driver handle), for resource accounting at halt. */
  readonly owner: object | null;
  /** Due time in 100-ns units of the scheduler clock, when armed. */
  due = 0;
  /** Period in milliseconds, 0 for one-shot. */
  periodMs = 0;
  armed = false;
  freed = false;
  /** Insertion order among timers with the same due time. */
  seq = 0;
  heapIndex = -1;
  /** Times the timer has fired. */
  fireCount = 0;

  constructor(timerFunction: NdisTimerFunction, functionContext: unknown, owner: object | null, name: string) {
    this.timerFunction = timerFunction;
    this.functionContext = functionContext;
    this.owner = owner;
    this.name = name;
  }
}

/** NDIS_IO_WORKITEM_ROUTINE: (WorkItemContext, NdisIoWorkItemHandle). */
export type NdisIoWorkItemRoutine = (workItemContext: unknown, workItem: NdisIoWorkItem) => void;

/** Models an NDIS I/O work item (NdisAllocateIoWorkItem): runs at PASSIVE_LEVEL on a system worker. */
export class NdisIoWorkItem {
  readonly owner: object | null;
  routine: NdisIoWorkItemRoutine | null = null;
  context: unknown = null;
  queued = false;
  freed = false;
  readonly name: string;

  constructor(owner: object | null, name: string) {
    this.owner = owner;
    this.name = name;
  }
}

/** Scheduler options. */
/** A periodic check the scheduler runs on its clock (see Scheduler.watchdog). */
export interface SchedulerWatchdog {
  /** When it wants to run next (100-ns units), or Infinity. */
  readonly dueTicks: number;
  /** Runs the check (at DISPATCH_LEVEL, like a timer); it sets its next due time. */
  run(): void;
}

export interface SchedulerOptions {
  /** Number of processors (default 4). */
  processors?: number;
  /** Seed of the interleaving choices (default 1). */
  seed?: number;
  /** `virtual` (default): deterministic virtual time. `realtime`: driven by the event loop and the wall clock. */
  mode?: 'virtual' | 'realtime';
  /** Record a trace of every DPC, work item and timer run (for determinism tests and debugging). */
  trace?: boolean;
  /**
   * In virtual mode, whether the scheduler runs by itself on the event loop (default true). With
   * false, nothing runs until `runUntilIdle`, `advance` or `runFor` is called.
   */
  autoRun?: boolean;
}

/** 100-ns units per millisecond. */
export const TICKS_PER_MS = 10_000;

/** A relative DueTime for NdisSetTimerObject: `ms` milliseconds from now, in NDIS's negative 100-ns form. */
export function relativeDueTime(ms: number): number {
  return -Math.round(ms * TICKS_PER_MS);
}

class Queue<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  private tail = 0;
  private mask = 15;
  get length(): number {
    return (this.tail - this.head) & this.mask;
  }
  push(x: T): void {
    this.items[this.tail] = x;
    this.tail = (this.tail + 1) & this.mask;
    if (this.tail === this.head) this.grow();
  }
  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const x = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return x;
  }
  remove(x: T): boolean {
    const n = this.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.head + i) & this.mask;
      if (this.items[idx] === x) {
        // Shift the rest down by one.
        for (let j = i; j < n - 1; j++) this.items[(this.head + j) & this.mask] = this.items[(this.head + j + 1) & this.mask];
        this.tail = (this.tail - 1) & this.mask;
        this.items[this.tail] = undefined;
        return true;
      }
    }
    return false;
  }
  private grow(): void {
    const old = this.items;
    const n = old.length;
    const next = new Array<T | undefined>(n * 2);
    for (let i = 0; i < n; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.tail = n;
    this.mask = n * 2 - 1;
  }
}

/** The scheduler of one NDIS runtime. */
export class Scheduler {
  readonly processorCount: number;
  readonly seed: number;
  readonly mode: 'virtual' | 'realtime';
  /** Current IRQL (KeGetCurrentIrql). */
  irql = PASSIVE_LEVEL;
  /** Processor whose work is running (KeGetCurrentProcessorNumberEx). */
  currentProcessor = 0;
  /** Trace lines, when tracing. */
  readonly trace: string[] | null;
  /** Units of work run so far. */
  steps = 0;

  private readonly prng: Prng;
  private readonly dpcQueues: Queue<Dpc>[];
  private readonly workQueue = new Queue<NdisIoWorkItem>();
  private readonly timers: NdisTimerObject[] = [];
  private timerSeq = 0;
  private clock = 0; // 100-ns units (virtual mode)
  private readonly realBase: number;
  private readonly autoRun: boolean;
  private holds = 0;
  private pumpScheduled = false;
  private realTimer: ReturnType<typeof setTimeout> | null = null;
  private realTimerDue = Infinity;
  private running = false;
  private stopped = false;
  private readonly pumpFn = (): void => this.pump();
  /**
   * A watchdog (the verifier's NdisTimed* checks): run when the clock reaches `dueTicks`, like a
   * timer, but without a timer object (it belongs to no driver and draws nothing from the seeded
   * choices, so attaching one does not change a run's interleaving).
   */
  watchdog: SchedulerWatchdog | null = null;
  /** Errors thrown by work run from the event loop (they cannot propagate to a caller). */
  readonly asyncErrors: unknown[] = [];
  /** Called with an error thrown by work the event loop ran; default rethrows on the next tick. */
  onAsyncError: ((err: unknown) => void) | null = null;

  constructor(options: SchedulerOptions = {}) {
    this.processorCount = options.processors ?? 4;
    if (!Number.isInteger(this.processorCount) || this.processorCount < 1 || this.processorCount > 64) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `processors must be an integer from 1 to 64; got ${this.processorCount}`);
    }
    this.seed = options.seed ?? 1;
    this.mode = options.mode ?? 'virtual';
    this.prng = new Prng(this.seed);
    this.dpcQueues = Array.from({ length: this.processorCount }, () => new Queue<Dpc>());
    this.trace = options.trace === true ? [] : null;
    this.autoRun = options.autoRun ?? true;
    this.realBase = performance.now();
  }

  // ---- clock ----

  /** Current time in 100-ns units since the scheduler started (NdisGetCurrentSystemTime, relative). */
  now(): number {
    return this.mode === 'realtime' ? Math.floor((performance.now() - this.realBase) * TICKS_PER_MS) : this.clock;
  }

  /** NdisGetSystemUpTimeEx: milliseconds since the scheduler started. */
  nowMs(): number {
    return this.now() / TICKS_PER_MS;
  }

  /** A seeded random 32-bit number (for drivers' and fault injectors' deterministic choices). */
  random32(): number {
    return this.prng.nextUint32();
  }

  // ---- DPCs ----

  /**
   * Models KeInsertQueueDpc / NdisMQueueDpcEx: queues `dpc` to `processor` (default: its target).
   * Returns false when the DPC is already queued.
   */
  queueDpc(dpc: Dpc, processor = dpc.processor, arg1: unknown = null, arg2: unknown = null): boolean {
    if (dpc.queued) return false;
    if (processor < 0 || processor >= this.processorCount) {
      throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `processor ${processor} does not exist (this runtime has ${this.processorCount})`);
    }
    dpc.queued = true;
    dpc.processor = processor;
    dpc.arg1 = arg1;
    dpc.arg2 = arg2;
    this.dpcQueues[processor]!.push(dpc);
    this.kick();
    return true;
  }

  /** Models KeRemoveQueueDpc: removes a queued DPC; returns whether it was queued. */
  removeQueuedDpc(dpc: Dpc): boolean {
    if (!dpc.queued) return false;
    dpc.queued = false;
    return this.dpcQueues[dpc.processor]!.remove(dpc);
  }

  // ---- timers ----

  /** Models NdisAllocateTimerObject. */
  allocateTimerObject(timerFunction: NdisTimerFunction, functionContext: unknown, owner: object | null = null, name = 'timer'): NdisTimerObject {
    return new NdisTimerObject(timerFunction, functionContext, owner, name);
  }

  /**
   * Models NdisSetTimerObject(TimerObject, DueTime, MillisecondsPeriod, FunctionContext): DueTime in
   * 100-ns units, negative for relative (see {@link relativeDueTime}), positive for an absolute time
   * of this clock. Returns true when the timer was already armed (and is re-armed).
   */
  setTimerObject(timer: NdisTimerObject, dueTime: number, millisecondsPeriod = 0, functionContext?: unknown): boolean {
    if (timer.freed) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisSetTimerObject: timer '${timer.name}' has been freed`);
    const wasArmed = timer.armed;
    if (wasArmed) this.heapRemove(timer);
    if (functionContext !== undefined) timer.functionContext = functionContext;
    const now = this.now();
    timer.due = dueTime <= 0 ? now - dueTime : Math.max(now, dueTime);
    timer.periodMs = millisecondsPeriod;
    timer.armed = true;
    timer.seq = this.timerSeq++;
    this.heapPush(timer);
    this.kick();
    return wasArmed;
  }

  /** Models NdisCancelTimerObject: returns true when the timer was armed and is now cancelled. */
  cancelTimerObject(timer: NdisTimerObject): boolean {
    if (!timer.armed) return false;
    this.heapRemove(timer);
    timer.armed = false;
    return true;
  }

  /** Models NdisFreeTimerObject. The timer must not be armed. */
  freeTimerObject(timer: NdisTimerObject): void {
    if (timer.armed) this.cancelTimerObject(timer);
    timer.freed = true;
  }

  /** Armed timers (resource accounting). */
  armedTimers(): NdisTimerObject[] {
    return [...this.timers];
  }

  /** The watchdog's due time moved earlier: real-time mode re-arms its wake-up. */
  watchdogChanged(): void {
    if (this.mode === 'realtime' && !this.stopped) this.armRealTimer();
  }

  /** Due time (100-ns units) of the next timer or watchdog check, or Infinity. */
  nextWakeup(): number {
    const t = this.timers.length === 0 ? Infinity : this.timers[0]!.due;
    const w = this.watchdog === null ? Infinity : this.watchdog.dueTicks;
    return t < w ? t : w;
  }

  /** Due time (100-ns units) of the next timer, or Infinity. */
  nextTimerDue(): number {
    return this.timers.length === 0 ? Infinity : this.timers[0]!.due;
  }

  // ---- work items ----

  /** Models NdisAllocateIoWorkItem. */
  allocateIoWorkItem(owner: object | null = null, name = 'workitem'): NdisIoWorkItem {
    return new NdisIoWorkItem(owner, name);
  }

  /** Models NdisQueueIoWorkItem: runs `routine(context, workItem)` at PASSIVE_LEVEL. */
  queueIoWorkItem(item: NdisIoWorkItem, routine: NdisIoWorkItemRoutine, context: unknown): void {
    if (item.freed) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisQueueIoWorkItem: work item '${item.name}' has been freed`);
    if (item.queued) throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `NdisQueueIoWorkItem: work item '${item.name}' is already queued`);
    item.routine = routine;
    item.context = context;
    item.queued = true;
    this.workQueue.push(item);
    this.kick();
  }

  /** Models NdisFreeIoWorkItem. */
  freeIoWorkItem(item: NdisIoWorkItem): void {
    if (item.queued) this.workQueue.remove(item);
    item.queued = false;
    item.freed = true;
  }

  // ---- running ----

  /** True when a DPC or work item is ready to run. */
  hasReadyWork(): boolean {
    if (this.workQueue.length > 0) return true;
    for (let i = 0; i < this.processorCount; i++) if (this.dpcQueues[i]!.length > 0) return true;
    return false;
  }

  /**
   * Runs one ready unit of work, chosen among the processors with queued DPCs (and the system work
   * queue) by the seeded generator. Returns false when nothing was ready.
   */
  step(): boolean {
    let candidates = 0;
    for (let i = 0; i < this.processorCount; i++) if (this.dpcQueues[i]!.length > 0) candidates++;
    const haveWork = this.workQueue.length > 0;
    const total = candidates + (haveWork ? 1 : 0);
    if (total === 0) return false;
    let pick = total === 1 ? 0 : this.prng.nextInt(total);
    if (haveWork && pick === candidates) {
      this.runWorkItem(this.workQueue.shift()!);
      return true;
    }
    for (let i = 0; i < this.processorCount; i++) {
      if (this.dpcQueues[i]!.length === 0) continue;
      if (pick === 0) {
        this.runDpc(this.dpcQueues[i]!.shift()!, i);
        return true;
      }
      pick--;
    }
    return false;
  }

  private runDpc(dpc: Dpc, processor: number): void {
    dpc.queued = false;
    const prevIrql = this.irql;
    const prevCpu = this.currentProcessor;
    this.irql = DISPATCH_LEVEL;
    this.currentProcessor = processor;
    this.steps++;
    if (this.trace !== null) this.trace.push(`${this.now()} cpu${processor} dpc ${dpc.name}`);
    try {
      dpc.routine(dpc, dpc.context, dpc.arg1, dpc.arg2);
    } finally {
      this.irql = prevIrql;
      this.currentProcessor = prevCpu;
    }
  }

  private runWorkItem(item: NdisIoWorkItem): void {
    item.queued = false;
    const routine = item.routine!;
    const prevIrql = this.irql;
    this.irql = PASSIVE_LEVEL;
    this.steps++;
    if (this.trace !== null) this.trace.push(`${this.now()} work ${item.name}`);
    try {
      routine(item.context, item);
    } finally {
      this.irql = prevIrql;
    }
  }

  private fireTimer(timer: NdisTimerObject): void {
    this.heapRemove(timer);
    timer.armed = false;
    timer.fireCount++;
    if (timer.periodMs > 0) {
      timer.due += timer.periodMs * TICKS_PER_MS;
      timer.armed = true;
      timer.seq = this.timerSeq++;
      this.heapPush(timer);
    }
    const processor = this.prng.nextInt(this.processorCount);
    const prevIrql = this.irql;
    const prevCpu = this.currentProcessor;
    this.irql = DISPATCH_LEVEL;
    this.currentProcessor = processor;
    this.steps++;
    if (this.trace !== null) this.trace.push(`${this.now()} cpu${processor} timer ${timer.name}`);
    try {
      timer.timerFunction(null, timer.functionContext, null, null);
    } finally {
      this.irql = prevIrql;
      this.currentProcessor = prevCpu;
    }
  }

  /** Fires every timer whose due time has come (at the current clock), then a due watchdog. Returns how many ran. */
  fireDueTimers(): number {
    const now = this.now();
    let n = 0;
    while (this.timers.length > 0 && this.timers[0]!.due <= now) {
      this.fireTimer(this.timers[0]!);
      n++;
      this.drain(1_000_000);
    }
    const w = this.watchdog;
    if (w !== null && w.dueTicks <= now) {
      n++;
      const prevIrql = this.irql;
      this.irql = DISPATCH_LEVEL;
      try {
        w.run();
      } finally {
        this.irql = prevIrql;
      }
      this.drain(1_000_000);
    }
    return n;
  }

  /** Runs ready work until none is left (bounded by `maxSteps`; exceeding it means a livelock). */
  runUntilIdle(maxSteps = 10_000_000): number {
    const n = this.drain(maxSteps);
    if (n >= maxSteps && this.hasReadyWork()) {
      throw new NdisError('ERR_NDIS_ILLEGAL_STATE', `scheduler livelock: still busy after ${maxSteps} units of work`);
    }
    return n;
  }

  private drain(maxSteps: number): number {
    let n = 0;
    while (n < maxSteps && this.step()) n++;
    return n;
  }

  /**
   * Virtual mode: advances the clock by `ms`, firing timers in due order and running the work they
   * cause. Real-time mode: not available (time passes by itself).
   */
  advance(ms: number): void {
    if (this.mode !== 'virtual') throw new NdisError('ERR_NDIS_ILLEGAL_STATE', 'advance() is for the virtual clock; in real-time mode time passes by itself');
    const target = this.clock + Math.round(ms * TICKS_PER_MS);
    this.runUntilIdle();
    for (let due = this.nextWakeup(); due <= target; due = this.nextWakeup()) {
      this.clock = Math.max(this.clock, due);
      this.fireDueTimers();
      this.runUntilIdle();
    }
    this.clock = target;
  }

  /** Same as {@link advance}. */
  runFor(ms: number): void {
    this.advance(ms);
  }

  // ---- automatic running ----

  /** Models a waiter: while holds exist, virtual time advances to fire timers when nothing else is ready. */
  hold(): void {
    this.holds++;
    this.kick();
  }

  /** Releases a hold taken with {@link hold}. */
  release(): void {
    if (this.holds > 0) this.holds--;
  }

  /** Number of waiters. */
  get holdCount(): number {
    return this.holds;
  }

  /** Stops all automatic running and cancels the real-time timer (the runtime is shutting down). */
  stop(): void {
    this.stopped = true;
    if (this.realTimer !== null) clearTimeout(this.realTimer);
    this.realTimer = null;
  }

  private kick(): void {
    if (this.stopped || this.pumpScheduled || this.running) return;
    if (this.mode === 'virtual' && !this.autoRun) return;
    this.pumpScheduled = true;
    setImmediate(this.pumpFn);
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.stopped) return;
    this.running = true;
    try {
      // A slice of work, then back to the event loop so that promises and I/O can progress.
      let budget = 20_000;
      while (budget > 0) {
        const did = this.drain(Math.min(budget, 5_000));
        budget -= did;
        if (did > 0) continue;
        if (this.mode === 'realtime') {
          if (this.fireDueTimers() > 0) continue;
          break;
        }
        // Virtual: nothing ready. Fire the next timer (or watchdog) only while somebody waits.
        const next = this.nextWakeup();
        if (this.holds > 0 && next !== Infinity) {
          this.clock = Math.max(this.clock, next);
          this.fireDueTimers();
          budget -= 1;
          // Yield after each timer so that waiters whose promise settled can release their hold.
          break;
        }
        break;
      }
    } catch (err) {
      this.asyncErrors.push(err);
      if (this.onAsyncError !== null) this.onAsyncError(err);
      else setImmediate(() => {
        throw err;
      });
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.hasReadyWork() || (this.mode === 'virtual' && this.holds > 0 && this.nextWakeup() !== Infinity)) this.kick();
    else if (this.mode === 'realtime') this.armRealTimer();
  }

  private armRealTimer(): void {
    const due = this.nextWakeup();
    if (due === this.realTimerDue && this.realTimer !== null) return;
    if (this.realTimer !== null) clearTimeout(this.realTimer);
    this.realTimer = null;
    this.realTimerDue = due;
    if (due === Infinity) return;
    const delayMs = Math.max(0, (due - this.now()) / TICKS_PER_MS);
    this.realTimer = setTimeout(() => {
      this.realTimer = null;
      this.realTimerDue = Infinity;
      this.kick();
    }, delayMs);
    this.realTimer.unref();
  }

  // ---- timer heap ----

  private less(a: NdisTimerObject, b: NdisTimerObject): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private heapPush(t: NdisTimerObject): void {
    const h = this.timers;
    t.heapIndex = h.length;
    h.push(t);
    this.siftUp(t.heapIndex);
  }

  private heapRemove(t: NdisTimerObject): void {
    const h = this.timers;
    const i = t.heapIndex;
    if (i < 0 || h[i] !== t) return;
    const last = h.pop()!;
    t.heapIndex = -1;
    if (i < h.length) {
      h[i] = last;
      last.heapIndex = i;
      this.siftUp(i);
      this.siftDown(last.heapIndex);
    }
  }

  private siftUp(i: number): void {
    const h = this.timers;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.timers;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.timers;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
}
