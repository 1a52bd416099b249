import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADAPTER_TRANSITIONS,
  AdapterState,
  BINDING_TRANSITIONS,
  BindingState,
  FILTER_TRANSITIONS,
  FilterState,
  NdisError,
  StateMachine,
} from '../../src/ndis/index.js';

/** Every (state, event) pair: legal ones move to the table's next state, the others throw naming the state. */
function exhaust<S extends string, E extends string>(table: Readonly<Record<S, Partial<Record<E, S>>>>, events: readonly E[], what: string): number {
  let legal = 0;
  for (const state of Object.keys(table) as S[]) {
    for (const event of events) {
      const sm = new StateMachine<S, E>(table, state, what);
      const next = table[state][event];
      if (next !== undefined) {
        assert.equal(sm.fire(event), next, `${what}: ${state} --${event}--> ${next}`);
        legal++;
      } else {
        assert.throws(
          () => sm.fire(event),
          (e: unknown) => e instanceof NdisError && e.code === 'ERR_NDIS_ILLEGAL_TRANSITION' && e.message.includes(`in state ${state}`) && e.message.includes(event),
          `${what}: ${event} must be refused in ${state}`,
        );
        assert.equal(sm.state, state, 'a refused event leaves the state unchanged');
      }
    }
  }
  return legal;
}

test('adapter state machine: Microsoft table, every legal and illegal transition', () => {
  const legal = exhaust(
    ADAPTER_TRANSITIONS,
    ['MiniportInitializeEx', 'InitializeComplete', 'InitializeFailed', 'MiniportShutdownEx', 'MiniportHaltEx', 'MiniportRestart', 'RestartComplete', 'RestartFailed', 'MiniportPause', 'PauseComplete'],
    'adapter',
  );
  assert.equal(legal, 13);
  // The documented life: initialize leaves the adapter Paused; halt only from Paused; pause cannot be skipped.
  const sm = new StateMachine(ADAPTER_TRANSITIONS, AdapterState.Halted, 'adapter');
  for (const e of ['MiniportInitializeEx', 'InitializeComplete', 'MiniportRestart', 'RestartComplete', 'MiniportPause', 'PauseComplete', 'MiniportHaltEx'] as const) sm.fire(e);
  assert.deepEqual(sm.history, ['Halted', 'Initializing', 'Paused', 'Restarting', 'Running', 'Pausing', 'Paused', 'Halted']);
  assert.throws(() => new StateMachine(ADAPTER_TRANSITIONS, AdapterState.Running, 'adapter x').fire('MiniportHaltEx'), /adapter x: 'MiniportHaltEx' is not allowed in state Running/);
});

test('filter module state machine: every legal and illegal transition', () => {
  const legal = exhaust(
    FILTER_TRANSITIONS,
    ['FilterAttach', 'AttachComplete', 'AttachFailed', 'FilterDetach', 'FilterRestart', 'RestartComplete', 'RestartFailed', 'FilterPause', 'PauseComplete'],
    'filter',
  );
  assert.equal(legal, 9);
  assert.throws(() => new StateMachine(FILTER_TRANSITIONS, FilterState.Running, 'f').fire('FilterDetach'), /not allowed in state Running/);
});

test('binding state machine: every legal and illegal transition', () => {
  const legal = exhaust(
    BINDING_TRANSITIONS,
    ['ProtocolBindAdapterEx', 'BindFailed', 'BindComplete', 'ProtocolUnbindAdapterEx', 'UnbindComplete', 'PnPPause', 'PauseComplete', 'PnPRestart', 'RestartComplete', 'RestartFailed'],
    'binding',
  );
  assert.equal(legal, 10);
  assert.throws(() => new StateMachine(BINDING_TRANSITIONS, BindingState.Running, 'b').fire('ProtocolUnbindAdapterEx'), /not allowed in state Running/);
});
