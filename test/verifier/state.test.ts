/**
 * State rules (STATE-001..010): data only in the states that allow it; pause, restart and reset
 * completions only when one is pending; what MiniportInitializeEx and FilterAttach must do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDIS_PAUSE,
  NDIS_STATUS,
  RULE,
  AdapterState,
  type MiniportDriverCharacteristics,
  type NdisStatusIndication,
} from '../../src/ndis/index.js';
import { assertClean, assertOnly, done, frame, lab, sendFrame } from './lab.js';

test('STATE-001: a protocol that sends while its binding is paused is caught (and NDIS completes the send with NDIS_STATUS_PAUSED)', async () => {
  const l = await lab();
  await l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  sendFrame(l, frame('tcp4').bytes);
  assertOnly(l, RULE.SEND_WHILE_PAUSED);
  assert.deepEqual(l.binding.completionStatuses, [NDIS_STATUS.PAUSED]);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-001 (legitimate): sending after the restart', async () => {
  const l = await lab();
  await l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.restartStack(l.nic.handle);
  sendFrame(l, frame('tcp4').bytes);
  assertClean(l);
  assert.deepEqual(l.binding.completionStatuses, [NDIS_STATUS.SUCCESS]);
  await done(l);
});

test('STATE-002: a miniport that indicates after its pause completed is caught', async () => {
  const l = await lab();
  await l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  assertOnly(l, RULE.INDICATE_WHILE_PAUSED);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-002 (legitimate): indicating while the pause is still pending (Pausing allows receives)', async () => {
  const l = await lab({ adapter: { pauseMode: 'pend' } });
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.until(Promise.resolve());
  assert.equal(l.nic.handle.state, AdapterState.Pausing);
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  l.nic.completePause();
  await l.ndis.until(pausing);
  assertClean(l);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-003: a miniport that completes its pause with sends outstanding is caught', async () => {
  const l = await lab({ adapter: { pauseMode: 'pend', autoCompleteSends: false }, filter: { name: 'origin' } });
  l.fmod!.send([{ bytes: frame('udp4').bytes }]);
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.until(Promise.resolve());
  l.nic.completePause();
  assertOnly(l, RULE.PAUSE_WITH_OUTSTANDING);
  assert.equal(l.verifier.reports[0]!.driver, 'pm');
  l.nic.completeSends();
  await l.ndis.until(pausing);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-003 (legitimate): the miniport completes its sends, then its pause', async () => {
  const l = await lab({ adapter: { pauseMode: 'pend', autoCompleteSends: false }, filter: { name: 'origin' } });
  l.fmod!.send([{ bytes: frame('udp4').bytes }]);
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.until(Promise.resolve());
  l.nic.completeSends();
  l.nic.completePause();
  await l.ndis.until(pausing);
  assertClean(l);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-004: NdisMPauseComplete with no pause pending is caught (0x7C ILLEGAL_MINIPORT_STATE_TRANSITION)', async () => {
  const l = await lab();
  l.nic.completePause();
  assertOnly(l, RULE.PAUSE_COMPLETE_UNEXPECTED);
  assert.equal(l.verifier.reports[0]!.windowsCode, '0x7C/0x1F ILLEGAL_MINIPORT_STATE_TRANSITION');
  await done(l);
});

test('STATE-004 (legitimate): NdisMPauseComplete for a pending pause', async () => {
  const l = await lab({ adapter: { pauseMode: 'pend' } });
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.until(Promise.resolve());
  l.nic.completePause();
  await l.ndis.until(pausing);
  assertClean(l);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-005: NdisMRestartComplete with no restart pending is caught', async () => {
  const l = await lab();
  l.nic.completeRestart();
  assertOnly(l, RULE.RESTART_COMPLETE_UNEXPECTED);
  await done(l);
});

test('STATE-005 (legitimate): NdisMRestartComplete for a pending restart', async () => {
  const l = await lab();
  l.nic.options.restartMode = 'pend';
  await l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  const restarting = l.ndis.restartStack(l.nic.handle);
  await l.ndis.until(Promise.resolve());
  l.nic.completeRestart();
  assert.equal(await l.ndis.until(restarting), true);
  assertClean(l);
  await done(l);
});

function linkStatus(source: object): NdisStatusIndication {
  return { sourceHandle: source, portNumber: 0, statusCode: NDIS_STATUS.LINK_STATE, flags: 0, destinationHandle: null, requestId: null, statusBuffer: null };
}

test('STATE-006: a status indication after MiniportHaltEx returned is caught', async () => {
  const l = await lab();
  await l.ndis.removeAdapter(l.nic.handle);
  l.ndis.mIndicateStatusEx(l.nic.handle, linkStatus(l.nic.handle));
  assertOnly(l, RULE.STATUS_AFTER_HALT);
  await done(l);
});

test('STATE-006 (legitimate): a status indication while the adapter runs', async () => {
  const l = await lab();
  l.ndis.mIndicateStatusEx(l.nic.handle, { ...linkStatus(l.nic.handle), statusCode: NDIS_STATUS.MEDIA_SPECIFIC_INDICATION });
  assertClean(l);
  await done(l);
});

test('STATE-007: NdisMResetComplete with no reset pending is caught', async () => {
  const l = await lab();
  l.nic.completeReset();
  assertOnly(l, RULE.RESET_COMPLETE_UNEXPECTED);
  await done(l);
});

test('STATE-007 (legitimate): NdisMResetComplete for a pended MiniportResetEx', async () => {
  const l = await lab({ adapter: { resetMode: 'pend' } });
  const resetting = l.ndis.resetAdapter(l.nic.handle);
  await l.ndis.until(Promise.resolve());
  assert.equal(l.nic.resets, 1);
  l.nic.completeReset();
  assert.equal(await l.ndis.until(resetting), NDIS_STATUS.SUCCESS);
  assertClean(l);
  await done(l);
});

test('STATE-008: MiniportPause that returns a failure is caught (SDV MiniportPause_Return)', async () => {
  const l = await lab({ adapter: { pauseReturn: NDIS_STATUS.FAILURE } });
  await l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  assertOnly(l, RULE.PAUSE_RETURN_VALUE);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-008: FilterPause that returns a failure is caught', async () => {
  const l = await lab({ filter: { name: 'stubborn' } });
  l.fmod!.pauseReturn = NDIS_STATUS.RESOURCES;
  await l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  assertOnly(l, RULE.PAUSE_RETURN_VALUE);
  assert.equal(l.verifier.reports[0]!.driver, 'stubborn');
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-008 (legitimate): pauses that return SUCCESS or PENDING', async () => {
  const l = await lab({ filter: { name: 'slow' } });
  l.fmod!.pauseMode = 'pend';
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.until(Promise.resolve());
  l.fmod!.completePause();
  await l.ndis.until(pausing);
  assertClean(l);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('STATE-009: NdisOpenAdapterEx outside the bind it belongs to is caught (0x7C INVALID_OPEN_IN_BIND_CONTEXT)', async () => {
  const l = await lab();
  const protocol = [...l.ndis.protocolDrivers][0]!;
  const r = l.ndis.openAdapterEx(protocol, null, { adapterName: 'nic', mediumArray: [0], frameTypeArray: [] }, {});
  assert.equal(r.bindingHandle, null);
  assertOnly(l, RULE.ILLEGAL_TRANSITION);
  await done(l);
});

test('STATE-009 (legitimate): the binds NDIS starts open their adapters', async () => {
  const l = await lab();
  assert.ok(l.binding.handle !== undefined);
  assertClean(l);
  await done(l);
});

function bareMiniport(setAttributes: boolean): MiniportDriverCharacteristics {
  return {
    name: setAttributes ? 'dressed' : 'bare',
    majorNdisVersion: 6,
    minorNdisVersion: 20,
    initializeEx(handle) {
      if (setAttributes) {
        // Registration attributes only, then fail: a legitimate failed initialization.
        return NDIS_STATUS.ADAPTER_NOT_FOUND;
      }
      void handle;
      return NDIS_STATUS.SUCCESS;
    },
    haltEx: () => undefined,
    pause: () => NDIS_STATUS.SUCCESS,
    restart: () => NDIS_STATUS.SUCCESS,
    oidRequest: () => NDIS_STATUS.NOT_SUPPORTED,
    sendNetBufferLists: () => undefined,
    returnNetBufferLists: () => undefined,
    cancelSend: () => undefined,
    devicePnPEventNotify: () => undefined,
    shutdownEx: () => undefined,
    cancelOidRequest: () => undefined,
  } as MiniportDriverCharacteristics;
}

test('STATE-010: a MiniportInitializeEx that succeeds without setting its attributes is caught', async () => {
  const l = await lab();
  const d = l.ndis.registerMiniportDriver(bareMiniport(false));
  await l.ndis.addAdapter(d, { name: 'bare0' }).catch(() => undefined);
  assertOnly(l, RULE.ATTRIBUTES_MISSING);
  await done(l);
});

test('STATE-010 (legitimate): an initialization that fails needs no attributes', async () => {
  const l = await lab();
  const d = l.ndis.registerMiniportDriver(bareMiniport(true));
  await assert.rejects(l.ndis.addAdapter(d, { name: 'dressed0' }));
  assertClean(l);
  await done(l);
});
