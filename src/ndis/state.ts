/**
 * The state machines of NDIS 6: miniport adapter states, filter module states and protocol binding
 * states, with exactly the transitions of Microsoft's tables ("Adapter States of a Miniport
 * Driver", "Filter Module States and Operations", "Protocol Binding States and Operations"). An
 * event a state does not accept is a typed error naming the object, the state and the event.
 */
import { NdisError } from '../base/errors.js';

/** Miniport adapter states. */
export const AdapterState = {
  Halted: 'Halted',
  Shutdown: 'Shutdown',
  Initializing: 'Initializing',
  Paused: 'Paused',
  Restarting: 'Restarting',
  Running: 'Running',
  Pausing: 'Pausing',
} as const;
export type AdapterState = (typeof AdapterState)[keyof typeof AdapterState];

/** Events of the adapter state machine. */
export type AdapterEvent =
  | 'MiniportInitializeEx'
  | 'InitializeComplete'
  | 'InitializeFailed'
  | 'MiniportShutdownEx'
  | 'MiniportHaltEx'
  | 'MiniportRestart'
  | 'RestartComplete'
  | 'RestartFailed'
  | 'MiniportPause'
  | 'PauseComplete';

/** Filter module states. */
export const FilterState = {
  Detached: 'Detached',
  Attaching: 'Attaching',
  Paused: 'Paused',
  Restarting: 'Restarting',
  Running: 'Running',
  Pausing: 'Pausing',
} as const;
export type FilterState = (typeof FilterState)[keyof typeof FilterState];

/** Events of the filter module state machine. */
export type FilterEvent =
  | 'FilterAttach'
  | 'AttachComplete'
  | 'AttachFailed'
  | 'FilterDetach'
  | 'FilterRestart'
  | 'RestartComplete'
  | 'RestartFailed'
  | 'FilterPause'
  | 'PauseComplete';

/** Protocol binding states. */
export const BindingState = {
  Unbound: 'Unbound',
  Opening: 'Opening',
  Closing: 'Closing',
  Paused: 'Paused',
  Restarting: 'Restarting',
  Running: 'Running',
  Pausing: 'Pausing',
} as const;
export type BindingState = (typeof BindingState)[keyof typeof BindingState];

/** Events of the binding state machine. */
export type BindingEvent =
  | 'ProtocolBindAdapterEx'
  | 'BindFailed'
  | 'BindComplete'
  | 'ProtocolUnbindAdapterEx'
  | 'UnbindComplete'
  | 'PnPPause'
  | 'PauseComplete'
  | 'PnPRestart'
  | 'RestartComplete'
  | 'RestartFailed';

type Table<S extends string, E extends string> = Readonly<Record<S, Partial<Record<E, S>>>>;

/** The adapter transition table (blank cells of Microsoft's table are absent). */
export const ADAPTER_TRANSITIONS: Table<AdapterState, AdapterEvent> = {
  Halted: { MiniportInitializeEx: 'Initializing' },
  Shutdown: {},
  Initializing: { InitializeComplete: 'Paused', InitializeFailed: 'Halted' },
  Paused: { MiniportShutdownEx: 'Shutdown', MiniportHaltEx: 'Halted', MiniportRestart: 'Restarting' },
  Restarting: { MiniportShutdownEx: 'Shutdown', RestartComplete: 'Running', RestartFailed: 'Paused' },
  Running: { MiniportShutdownEx: 'Shutdown', MiniportPause: 'Pausing' },
  Pausing: { MiniportShutdownEx: 'Shutdown', PauseComplete: 'Paused' },
};

/** The filter module transition table. */
export const FILTER_TRANSITIONS: Table<FilterState, FilterEvent> = {
  Detached: { FilterAttach: 'Attaching' },
  Attaching: { AttachComplete: 'Paused', AttachFailed: 'Detached' },
  Paused: { FilterDetach: 'Detached', FilterRestart: 'Restarting' },
  Restarting: { RestartComplete: 'Running', RestartFailed: 'Paused' },
  Running: { FilterPause: 'Pausing' },
  Pausing: { PauseComplete: 'Paused' },
};

/** The protocol binding transition table. */
export const BINDING_TRANSITIONS: Table<BindingState, BindingEvent> = {
  Unbound: { ProtocolBindAdapterEx: 'Opening' },
  Opening: { BindFailed: 'Unbound', BindComplete: 'Paused' },
  Closing: { UnbindComplete: 'Unbound' },
  Paused: { ProtocolUnbindAdapterEx: 'Closing', PnPRestart: 'Restarting' },
  Restarting: { RestartComplete: 'Running', RestartFailed: 'Paused' },
  Running: { PnPPause: 'Pausing' },
  Pausing: { PauseComplete: 'Paused' },
};

/** States in which send and receive operations are allowed. */
export const DATA_PATH_STATES: ReadonlySet<string> = new Set(['Running', 'Pausing']);
/** States in which OID requests are allowed (adapter and filter). */
export const OID_STATES: ReadonlySet<string> = new Set(['Paused', 'Restarting', 'Running', 'Pausing']);

/**
 * A state machine over one of the tables. `fire(event)` moves to the next state or throws
 * ERR_NDIS_ILLEGAL_TRANSITION naming the object, the state and the event.
 */
export class StateMachine<S extends string, E extends string> {
  state: S;
  /** Every state entered, in order (for tests and traces). */
  readonly history: S[];
  private readonly table: Table<S, E>;
  private readonly what: string;

  constructor(table: Table<S, E>, initial: S, what: string) {
    this.table = table;
    this.state = initial;
    this.history = [initial];
    this.what = what;
  }

  /** True when `event` is legal in the current state. */
  accepts(event: E): boolean {
    return this.table[this.state][event] !== undefined;
  }

  /** Applies `event`. */
  fire(event: E): S {
    const next = this.table[this.state][event];
    if (next === undefined) {
      throw new NdisError(
        'ERR_NDIS_ILLEGAL_TRANSITION',
        `${this.what}: '${event}' is not allowed in state ${this.state} (allowed: ${Object.keys(this.table[this.state]).join(', ') || 'none'})`,
      );
    }
    this.state = next;
    this.history.push(next);
    return next;
  }
}
