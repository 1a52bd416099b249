/**
 * Ownership rules (OWN-001..011): an NBL has one owner at a time and moves only through NDIS.
 * Scenarios that would corrupt a pool if the runtime went on run with the verifier throwing (the
 * violation stops the call), the others count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RULE, NdisVerifierViolation } from '../../src/ndis/index.js';
import { NDIS_RECEIVE_FLAGS, allocateCloneNetBufferList, freeCloneNetBufferList, type NetBufferList } from '../../src/nbl/index.js';
import { nblFor } from '../ndis/drivers.js';
import { assertClean, assertOnly, done, frame, lab, sendFrame, type Lab } from './lab.js';

/** Runs `fn`, which must throw the verifier violation `ruleId`; returns its report text. */
function throwsRule(fn: () => void, ruleId: string): string {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof NdisVerifierViolation, `expected ${ruleId} to be thrown; got ${String(caught)}`);
  assert.equal(caught.ruleId, ruleId, caught.message);
  return caught.message;
}

const throwing = { verifier: { action: 'throw' as const } };

test('OWN-001: a protocol that sends an NBL again while it is in flight is stopped', async () => {
  const l = await lab({ ...throwing, adapter: { autoCompleteSends: false } });
  const nbl = sendFrame(l, frame('tcp4').bytes);
  const text = throwsRule(() => l.ndis.sendNetBufferLists(l.binding.handle, nbl, 0, 0), RULE.NBL_NOT_OWNED);
  assert.match(text, /driver:\s+raw/);
  l.nic.completeSends();
  await done(l);
});

test('OWN-001 (legitimate): the same NBL sent again after its completion came back', async () => {
  const l = await lab(throwing);
  const b = l.binding;
  b.keepCompleted = true;
  const nbl = nblFor(b, frame('tcp4').bytes);
  l.ndis.sendNetBufferLists(b.handle, nbl, 0, 0);
  assert.deepEqual(b.kept, [nbl]);
  b.kept.length = 0;
  l.ndis.sendNetBufferLists(b.handle, nbl, 0, 0);
  assert.equal(b.completed, 2);
  assert.equal(l.nic.sentFrames.length, 2);
  b.keepCompleted = false;
  b.pool.freeNetBufferList(nbl);
  await done(l);
});

test('OWN-002: a miniport that completes a send twice is stopped', async () => {
  const l = await lab({ ...throwing, adapter: { autoCompleteSends: false } });
  const nbl = sendFrame(l, frame('tcp4').bytes);
  l.nic.completeSends();
  throwsRule(() => l.ndis.mSendNetBufferListsComplete(l.nic.handle, nbl, 0), RULE.NBL_DOUBLE_COMPLETE);
  await done(l);
});

test('OWN-002 (legitimate): each of two sends completed once, in separate calls', async () => {
  const l = await lab({ ...throwing, adapter: { autoCompleteSends: false } });
  const a = sendFrame(l, frame('tcp4').bytes);
  sendFrame(l, frame('udp4').bytes);
  l.nic.completeSend(a);
  l.nic.completeSends();
  assert.equal(l.binding.completed, 2);
  await done(l);
});

test('OWN-003: a miniport that completes one of its own receive NBLs as a send is stopped', async () => {
  const l = await lab(throwing);
  const own = l.nic.buildNbl({ bytes: frame('tcp4').bytes });
  throwsRule(() => l.ndis.mSendNetBufferListsComplete(l.nic.handle, own, 0), RULE.NBL_COMPLETE_NOT_OWNED);
  l.nic.returned(own);
  await done(l);
});

test('OWN-003 (legitimate): the miniport completes the sends NDIS gave it', async () => {
  const l = await lab({ ...throwing, adapter: { autoCompleteSends: false } });
  sendFrame(l, frame('tcp4').bytes);
  assert.equal(l.nic.completeSends(), 1);
  await done(l);
});

test('OWN-004: a protocol that returns a receive twice is stopped', async () => {
  const l = await lab(throwing);
  l.binding.hold = true;
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  const held = l.binding.held.takeAll()!;
  l.ndis.returnNetBufferLists(l.binding.handle, held, 0);
  throwsRule(() => l.ndis.returnNetBufferLists(l.binding.handle, held, 0), RULE.NBL_RETURN_NOT_OWNED);
  await done(l);
});

test('OWN-004 (legitimate): a held receive returned once, later', async () => {
  const l = await lab(throwing);
  l.binding.hold = true;
  l.nic.indicate([{ bytes: frame('tcp4').bytes }, { bytes: frame('udp4').bytes }]);
  await l.ndis.sleep(5);
  l.ndis.returnNetBufferLists(l.binding.handle, l.binding.held.takeAll()!, 0);
  assert.equal(l.nic.outstandingReceives.size, 0);
  await done(l);
});

test('OWN-005: a protocol that keeps an NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES and returns it is stopped', async () => {
  const l = await lab(throwing);
  let kept: NetBufferList | null = null;
  l.binding.onReceive = (nbl) => {
    kept = nbl;
  };
  l.nic.indicate([{ bytes: frame('tcp4').bytes }], NDIS_RECEIVE_FLAGS.RESOURCES);
  assert.ok(kept !== null);
  throwsRule(() => l.ndis.returnNetBufferLists(l.binding.handle, kept!, 0), RULE.NBL_RETURN_RESOURCES);
  await done(l);
});

test('OWN-005 (legitimate): the protocol copies what it needs from a RESOURCES indication and returns nothing', async () => {
  const l = await lab(throwing);
  l.nic.indicate([{ bytes: frame('tcp4').bytes }], NDIS_RECEIVE_FLAGS.RESOURCES);
  assert.equal(l.binding.received.length, 1);
  assert.deepEqual(l.binding.received[0], frame('tcp4').bytes);
  await done(l);
});

test('OWN-006: a filter that passes the return of its own receive down (not consuming it) is stopped', async () => {
  const l = await lab({ ...throwing, filter: { name: 'leaky' } });
  l.fmod!.reclaimOwn = false;
  throwsRule(() => l.fmod!.indicate([{ bytes: frame('tcp4').bytes }]), RULE.NBL_SOURCE_HANDLE);
  await done(l).catch(() => undefined);
});

test('OWN-006: a filter that originates a send without setting SourceHandle is caught', async () => {
  const l = await lab({ filter: { name: 'anon' } });
  const f = l.fmod!;
  const nbl = nblFor(l.binding, frame('tcp4').bytes);
  nbl.sourceHandle = null;
  l.ndis.fSendNetBufferLists(f.handle, nbl, 0, 0);
  assert.ok(l.verifier.reports.some((r) => r.ruleId === RULE.NBL_SOURCE_HANDLE && r.driver === 'anon'));
});

test('OWN-006 (legitimate): a filter that originates receives and sends and consumes their returns and completions', async () => {
  const l = await lab({ ...throwing, filter: { name: 'origin' } });
  const f = l.fmod!;
  f.indicate([{ bytes: frame('tcp4').bytes }]);
  f.send([{ bytes: frame('udp4').bytes }]);
  assert.equal(f.ownReceivesReturned, 1);
  assert.equal(f.ownSendsCompleted, 1);
  await done(l);
});

test('OWN-007: a send chain with a cycle is stopped at once', async () => {
  const l = await lab(throwing);
  const a = nblFor(l.binding, frame('tcp4').bytes);
  const b = nblFor(l.binding, frame('udp4').bytes);
  a.next = b;
  b.next = a;
  throwsRule(() => l.ndis.sendNetBufferLists(l.binding.handle, a, 0, 0), RULE.NBL_CHAIN_CYCLE);
  const c = nblFor(l.binding, frame('tcp4').bytes);
  c.next = c;
  throwsRule(() => l.ndis.sendNetBufferLists(l.binding.handle, c, 0, 0), RULE.NBL_CHAIN_CYCLE);
  a.next = b.next = c.next = null;
  for (const x of [a, b, c]) l.binding.pool.freeNetBufferList(x);
  await done(l);
});

test('OWN-007 (legitimate): a chain of three sends', async () => {
  const l = await lab(throwing);
  const xs = ['tcp4', 'udp4', 'tcp6'].map((n) => nblFor(l.binding, frame(n).bytes));
  xs[0]!.next = xs[1]!;
  xs[1]!.next = xs[2]!;
  l.ndis.sendNetBufferLists(l.binding.handle, xs[0]!, 0, 0);
  assert.equal(l.binding.completed, 3);
  await done(l);
});

async function poolCase(l: Lab, leak: boolean): Promise<void> {
  const pool = l.ndis.allocateNetBufferListPool(l.binding.handle, { fAllocateNetBuffer: false, poolTag: 'Tmp0' });
  const x = pool.allocateNetBufferList(0, 0)!;
  if (!leak) pool.freeNetBufferList(x);
  l.ndis.freeNetBufferListPool(pool);
}

test('OWN-008: freeing a pool with an NBL still allocated reports LEAKED_NBL, naming the driver', async () => {
  const l = await lab();
  await poolCase(l, true);
  assertOnly(l, RULE.NBL_LEAKED);
  assert.equal(l.verifier.reports[0]!.driver, 'raw');
  assert.equal(l.verifier.reports[0]!.windowsCode, '0x7C/0x27 LEAKED_NBL');
  await done(l);
});

test('OWN-008 (legitimate): the pool freed after its NBLs', async () => {
  const l = await lab();
  await poolCase(l, false);
  assertClean(l);
  await done(l);
});

test('OWN-009: a filter that completes a send while its clone is still outstanding is stopped', async () => {
  const l = await lab({ ...throwing, filter: { name: 'cloner' } });
  const f = l.fmod!;
  f.onSend = (chain) => {
    allocateCloneNetBufferList(chain, f.pool, null, 0);
    return 'complete';
  };
  const text = throwsRule(() => sendFrame(l, frame('tcp4').bytes), RULE.NBL_CHILD_REFCOUNT);
  assert.match(text, /driver:\s+cloner/);
  assert.match(text, /0x7C\/0x1E REFCOUNT_IMBALANCE/);
});

test('OWN-009 (legitimate): the filter frees its clone before completing the parent', async () => {
  const l = await lab({ filter: { name: 'cloner' } });
  const f = l.fmod!;
  f.onSend = (chain) => {
    const clone = allocateCloneNetBufferList(chain, f.pool, null, 0)!;
    freeCloneNetBufferList(clone, 0);
    return 'complete';
  };
  sendFrame(l, frame('tcp4').bytes);
  assertClean(l);
  assert.equal(l.binding.completed, 1);
  await done(l);
});

test('OWN-010: NumberOfNetBufferLists that does not match the chain is caught', async () => {
  const l = await lab();
  l.nic.indicate([{ bytes: frame('tcp4').bytes }], 0, 2);
  assertOnly(l, RULE.NBL_COUNT_MISMATCH);
  await done(l);
});

test('OWN-010 (legitimate): the count of a chain of three', async () => {
  const l = await lab();
  l.nic.indicate([{ bytes: frame('tcp4').bytes }, { bytes: frame('udp4').bytes }, { bytes: frame('tcp6').bytes }], 0, 3);
  assertClean(l);
  await done(l);
});

test('OWN-011: a protocol that sends an NBL it already freed is stopped', async () => {
  const l = await lab({ ...throwing, filter: { name: 'pt' } });
  const x = nblFor(l.binding, frame('tcp4').bytes);
  l.binding.pool.freeNetBufferList(x);
  throwsRule(() => l.ndis.sendNetBufferLists(l.binding.handle, x, 0, 0), RULE.NBL_FREED_IN_FLIGHT);
  await done(l).catch(() => undefined);
});

test('OWN-011 (legitimate): an allocated NBL sent through the filter', async () => {
  const l = await lab({ ...throwing, filter: { name: 'pt' } });
  l.ndis.sendNetBufferLists(l.binding.handle, nblFor(l.binding, frame('tcp4').bytes), 0, 0);
  assert.equal(l.binding.completed, 1);
  await done(l);
});
