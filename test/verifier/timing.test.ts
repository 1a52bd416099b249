/**
 * The watchdogs (TIME-001..006): Driver Verifier's NdisTimed* and NdisFilterTimed* rules on the
 * runtime's virtual clock. Each limit is overstepped by a driver that sits on something, and met
 * by one that finishes just in time. Virtual time makes 30-second limits take milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_PAUSE, NDIS_STATUS, NdisOidRequest, OID, RULE } from '../../src/ndis/index.js';
import { TIMING_LIMITS_MS } from '../../src/verifier/index.js';
import { assertClean, assertOnly, done, frame, lab, sendFrame } from './lab.js';

test('TIME-001: an OID the miniport never completes is reported after 12 s (0xC4 NdisTimedOidComplete)', async () => {
  const l = await lab();
  l.nic.onOid = (r) => (r.oid === OID.GEN_VENDOR_ID ? 'pend' : undefined);
  const req = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  l.ndis.oidRequest(l.binding.handle, req);
  await l.ndis.sleep(TIMING_LIMITS_MS.oidComplete + 1000);
  assertOnly(l, RULE.TIMED_OID_COMPLETE);
  const r = l.verifier.reports[0]!;
  assert.equal(r.windowsCode, '0xC4/0x00092003 NdisTimedOidComplete');
  assert.ok(r.timeMs >= 12_000 && r.timeMs < 13_000, `reported at ${r.timeMs} ms`);
  await done(l);
});

test('TIME-001 (legitimate): an OID completed after 11 s', async () => {
  const l = await lab();
  l.nic.onOid = (r) => (r.oid === OID.GEN_VENDOR_ID ? 'pend' : undefined);
  const req = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  l.ndis.oidRequest(l.binding.handle, req);
  await l.ndis.sleep(11_000);
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  await l.ndis.sleep(20_000);
  assertClean(l);
  await done(l);
});

test('TIME-002: one send held 30 s while others complete is reported (0xC4 NdisTimedDataSend), naming the NBL', async () => {
  const l = await lab({ adapter: { autoCompleteSends: false } });
  const stuck = sendFrame(l, frame('tcp4').bytes);
  for (let t = 0; t < 4; t++) {
    await l.ndis.sleep(9_000);
    const x = sendFrame(l, frame('udp4').bytes);
    l.nic.completeSend(x);
  }
  assertOnly(l, RULE.TIMED_DATA_SEND);
  assert.equal(l.verifier.reports[0]!.nbl?.serial, stuck.serial);
  await done(l);
});

test('TIME-002 (legitimate): the slow send completed after 29 s', async () => {
  const l = await lab({ adapter: { autoCompleteSends: false } });
  const slow = sendFrame(l, frame('tcp4').bytes);
  for (let t = 0; t < 3; t++) {
    await l.ndis.sleep(9_000);
    l.nic.completeSend(sendFrame(l, frame('udp4').bytes));
  }
  await l.ndis.sleep(2_000);
  l.nic.completeSend(slow);
  await l.ndis.sleep(40_000);
  assertClean(l);
  await done(l);
});

test('TIME-003: sends pending with no completion for 22 s are reported (0xC4 NdisTimedDataHang)', async () => {
  const l = await lab({ adapter: { autoCompleteSends: false } });
  sendFrame(l, frame('tcp4').bytes);
  sendFrame(l, frame('udp4').bytes);
  await l.ndis.sleep(TIMING_LIMITS_MS.dataHang + 1000);
  assertOnly(l, RULE.TIMED_DATA_HANG);
  await done(l);
});

test('TIME-003 (legitimate): one completion every 20 s keeps a busy miniport from hanging', async () => {
  const l = await lab({ adapter: { autoCompleteSends: false } });
  const a = sendFrame(l, frame('tcp4').bytes);
  sendFrame(l, frame('udp4').bytes);
  await l.ndis.sleep(20_000);
  l.nic.completeSend(a);
  await l.ndis.sleep(5_000);
  l.nic.completeSends();
  await l.ndis.sleep(30_000);
  assertClean(l);
  await done(l);
});

test('TIME-004: a filter pause not completed within 10 s is reported (0xC4 NdisFilterTimedPauseComplete)', async () => {
  const l = await lab({ filter: { name: 'sleepy' } });
  l.fmod!.pauseMode = 'pend';
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.sleep(TIMING_LIMITS_MS.filterPause + 500);
  assertOnly(l, RULE.FILTER_TIMED_PAUSE);
  assert.equal(l.verifier.reports[0]!.driver, 'sleepy');
  l.fmod!.completePause();
  await l.ndis.until(pausing);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('TIME-004 (legitimate): a filter pause completed after 9 s', async () => {
  const l = await lab({ filter: { name: 'sleepy' } });
  l.fmod!.pauseMode = 'pend';
  const pausing = l.ndis.pauseStack(l.nic.handle, NDIS_PAUSE.NDIS_INTERNAL);
  await l.ndis.sleep(9_000);
  l.fmod!.completePause();
  await l.ndis.until(pausing);
  await l.ndis.sleep(20_000);
  assertClean(l);
  await l.ndis.restartStack(l.nic.handle);
  await done(l);
});

test('TIME-005: a filter holding a send for 30 s is reported (0xC4 NdisFilterTimedDataSend)', async () => {
  const l = await lab({ filter: { name: 'hoarder' } });
  l.fmod!.onSend = () => 'hold';
  sendFrame(l, frame('tcp4').bytes);
  await l.ndis.sleep(TIMING_LIMITS_MS.filterSend + 1000);
  assertOnly(l, RULE.FILTER_TIMED_SEND);
  assert.equal(l.verifier.reports[0]!.driver, 'hoarder');
  l.fmod!.releaseSends();
  await done(l);
});

test('TIME-005 (legitimate): a filter that delays a send by 29 s, then passes it on', async () => {
  const l = await lab({ filter: { name: 'shaper' } });
  l.fmod!.onSend = () => 'hold';
  sendFrame(l, frame('tcp4').bytes);
  await l.ndis.sleep(29_000);
  l.fmod!.releaseSends();
  await l.ndis.sleep(40_000);
  assertClean(l);
  assert.equal(l.binding.completed, 1);
  await done(l);
});

test('TIME-006: a filter holding a receive for 30 s is reported (0xC4 NdisFilterTimedDataReceive)', async () => {
  const l = await lab({ filter: { name: 'hoarder' } });
  l.fmod!.onReceive = () => 'hold';
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  await l.ndis.sleep(TIMING_LIMITS_MS.filterReceive + 1000);
  assertOnly(l, RULE.FILTER_TIMED_RECEIVE);
  l.fmod!.releaseReceives();
  await done(l);
});

test('TIME-006 (legitimate): a filter that holds a receive 29 s, then indicates it up', async () => {
  const l = await lab({ filter: { name: 'batcher' } });
  l.fmod!.onReceive = () => 'hold';
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  await l.ndis.sleep(29_000);
  l.fmod!.releaseReceives();
  await l.ndis.sleep(40_000);
  assertClean(l);
  assert.equal(l.binding.received.length, 1);
  await done(l);
});

test('a violation found by the watchdog while a test waits fails the wait (throw mode)', async () => {
  const l = await lab({ verifier: { action: 'throw' } });
  l.nic.onOid = (r) => (r.oid === OID.GEN_VENDOR_ID ? 'pend' : undefined);
  const req = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  l.ndis.oidRequest(l.binding.handle, req);
  await assert.rejects(l.ndis.sleep(20_000), (e: Error) => /TIME-001/.test(e.message));
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  await done(l);
});
