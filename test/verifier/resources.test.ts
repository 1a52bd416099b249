/**
 * Resource and IRQL rules (RES-001..006): what a driver allocates through NDIS is released by the
 * end of halt, and NDIS functions are called at the IRQL they allow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RULE } from '../../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS } from '../../src/nbl/index.js';
import { assertClean, assertOnly, done, frame, lab, type Lab } from './lab.js';

/** Allocates a resource against the adapter (as its miniport would), optionally releases it, then halts. */
async function haltWith(l: Lab, kind: 'timer' | 'armed-timer' | 'workitem' | 'config' | 'nbpool' | 'memory', release: boolean): Promise<void> {
  const h = l.nic.handle;
  const ndis = l.ndis;
  if (kind === 'timer' || kind === 'armed-timer') {
    const t = ndis.allocateTimerObject(h, () => undefined, null, 'watch');
    if (kind === 'armed-timer') ndis.setTimerObject(t, -10_000 * 60_000);
    if (release) {
      ndis.cancelTimerObject(t);
      ndis.freeTimerObject(t);
    }
  } else if (kind === 'workitem') {
    const w = ndis.allocateIoWorkItem(h, 'deferred');
    if (release) ndis.freeIoWorkItem(w);
  } else if (kind === 'config') {
    const c = ndis.openConfigurationEx(h);
    if (release) ndis.closeConfiguration(c);
  } else if (kind === 'nbpool') {
    const p = ndis.allocateNetBufferPool(h, { poolTag: 'Leak' });
    if (release) ndis.freeNetBufferPool(p);
  } else {
    const m = ndis.allocateMemoryWithTagPriority(h, 512, 0x6b61654c, 0);
    assert.ok(m !== null);
    if (release) ndis.freeMemory(h, m);
  }
  await ndis.removeAdapter(h);
}

const cases: [string, 'timer' | 'armed-timer' | 'workitem' | 'config' | 'nbpool' | 'memory'][] = [
  ['RES-001', 'armed-timer'],
  ['RES-001', 'timer'],
  ['RES-002', 'workitem'],
  ['RES-003', 'config'],
  ['RES-004', 'nbpool'],
  ['RES-006', 'memory'],
];

for (const [id, kind] of cases) {
  test(`${id}: a miniport that halts with its ${kind} not released is caught`, async () => {
    const l = await lab();
    await haltWith(l, kind, false);
    assertOnly(l, id);
    assert.equal(l.verifier.reports[0]!.driver, 'pm');
    assert.equal(l.verifier.reports[0]!.call, 'MiniportHaltEx');
    await done(l);
  });
  test(`${id} (legitimate): the ${kind} released before the halt ends`, async () => {
    const l = await lab();
    await haltWith(l, kind, true);
    assertClean(l);
    await done(l);
  });
}

test('RES-005: NdisOpenConfigurationEx at DISPATCH_LEVEL is caught', async () => {
  const l = await lab();
  l.ndis.scheduler.irql = 2;
  const c = l.ndis.openConfigurationEx(l.nic.handle);
  l.ndis.scheduler.irql = 0;
  l.ndis.closeConfiguration(c);
  assertOnly(l, RULE.IRQL);
  assert.match(l.verifier.reports[0]!.message, /PASSIVE_LEVEL/);
  await done(l);
});

test('RES-005: a receive indicated at PASSIVE_LEVEL with NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL set is caught', async () => {
  const l = await lab();
  l.nic.indicate([{ bytes: frame('tcp4').bytes }], NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL);
  assertOnly(l, RULE.IRQL);
  await done(l);
});

test('RES-005 (legitimate): configuration read at PASSIVE_LEVEL; a receive from a DPC with the DISPATCH_LEVEL flag', async () => {
  const l = await lab();
  const c = l.ndis.openConfigurationEx(l.nic.handle);
  l.ndis.readConfiguration(c, 'NetworkAddress');
  l.ndis.closeConfiguration(c);
  l.ndis.scheduler.irql = 2;
  l.nic.indicate([{ bytes: frame('tcp4').bytes }], NDIS_RECEIVE_FLAGS.DISPATCH_LEVEL);
  l.ndis.scheduler.irql = 0;
  assertClean(l);
  await done(l);
});

test('memory: NdisFreeMemory of a block that is not the handle\'s is a clear error', async () => {
  const l = await lab();
  assert.throws(() => l.ndis.freeMemory(l.nic.handle, new Uint8Array(4)), /NdisFreeMemory/);
  await done(l);
});
