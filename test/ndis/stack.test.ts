import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterState, FilterState, NDIS_STATUS, Ndis } from '../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../src/drivers/miniport/virtual/index.js';
import { logFilter, rawProtocol, nblFor, type RawBinding } from './drivers.js';
import { frame } from './helpers.js';

async function stackOfThree(seed = 1) {
  const ndis = new Ndis({ seed });
  const log: string[] = [];
  const virt = new VirtualMiniportDriver(ndis);
  // Registered in an order different from the stacking order: FilterClass decides.
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'mid', log, filterClass: 'compression' }));
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'top', log, filterClass: 'scheduler' }));
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'bottom', log, filterClass: 'diagnostic' }));
  const bindings = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings));
  const a = await virt.addAdapter('a');
  const b = await virt.addAdapter('b');
  return { ndis, log, virt, a, b, bindings };
}

test('filters stack by FilterClass; a new adapter attaches bottom-up and restarts miniport, filters bottom to top, then protocols', async () => {
  const { ndis, log, a } = await stackOfThree();
  assert.deepEqual(a.filters.map((f) => f.driver.name), ['bottom', 'mid', 'top']);
  const forA = log.filter((l) => !l.includes(' b') && !l.endsWith('b'));
  const restartOrder = ndis.events.filter((e) => e.includes('a:') || e.includes('a-') || e.includes('->a')).map((e) => e.replace(/^[\d.]+ms /, ''));
  assert.deepEqual(
    restartOrder.filter((e) => /running|attached/.test(e)),
    [
      'a-{bottom}-0000: attached at position 0',
      'a-{mid}-0000: attached at position 1',
      'a-{top}-0000: attached at position 2',
      'a: miniport running',
      'a-{bottom}-0000: filter running',
      'a-{mid}-0000: filter running',
      'a-{top}-0000: filter running',
      'raw->a: binding running',
    ],
  );
  assert.ok(forA.includes('raw:bind a'));
  await ndis.shutdown();
});

test('inserting a filter at run time pauses protocols, filters top to bottom, the miniport; restarts in reverse', async () => {
  const { ndis, log, a } = await stackOfThree();
  log.length = 0;
  ndis.events.length = 0;
  const extra = await ndis.registerFilterDriver(logFilter(ndis, { name: 'new', log, filterClass: 'vpn' }));
  const onA = ndis.events.map((e) => e.replace(/^[\d.]+ms /, '')).filter((e) => /^(a[:-]|raw->a)/.test(e));
  assert.deepEqual(onA, [
    'raw->a: binding paused',
    'a-{top}-0000: filter paused',
    'a-{mid}-0000: filter paused',
    'a-{bottom}-0000: filter paused',
    'a: miniport paused',
    'a-{new}-0000: attached at position 1',
    'a: miniport running',
    'a-{bottom}-0000: filter running',
    'a-{new}-0000: filter running',
    'a-{mid}-0000: filter running',
    'a-{top}-0000: filter running',
    'raw->a: binding running',
  ]);
  assert.deepEqual(a.filters.map((f) => f.driver.name), ['bottom', 'new', 'mid', 'top'], 'vpn sits below compression');
  // And removal: pause, detach, restart.
  ndis.events.length = 0;
  await ndis.deregisterFilterDriver(extra);
  assert.deepEqual(a.filters.map((f) => f.driver.name), ['bottom', 'mid', 'top']);
  assert.ok(ndis.events.some((e) => e.endsWith('a-{new}-0000: detached')));
  assert.equal(a.state, AdapterState.Running);
  await ndis.shutdown();
});

test('a filter pause that pends holds the stack until NdisFPauseComplete (virtual time advances)', async () => {
  const ndis = new Ndis();
  const log: string[] = [];
  const virt = new VirtualMiniportDriver(ndis);
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'slow', log, pauseDelayMs: 250 }));
  const a = await virt.addAdapter('a');
  const t0 = ndis.scheduler.nowMs();
  await ndis.setPower(a, 4);
  assert.ok(ndis.scheduler.nowMs() - t0 >= 250, 'the pause waited for the filter');
  assert.equal(a.state, AdapterState.Paused);
  assert.equal(a.filters[0]!.state, FilterState.Paused);
  await ndis.setPower(a, 1);
  assert.equal(a.state, AdapterState.Running);
  await ndis.shutdown();
});

test('a filter without data-path handlers is bypassed; the path goes straight past it', async () => {
  const ndis = new Ndis();
  const log: string[] = [];
  const virt = new VirtualMiniportDriver(ndis);
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'quiet', log, handlers: { send: false, receive: false, ret: false, complete: false } }));
  await ndis.registerFilterDriver(logFilter(ndis, { name: 'busy', log, filterClass: 'scheduler' }));
  const bindings = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings));
  const a = await virt.addAdapter('a');
  const b = await virt.addAdapter('b');
  const [quiet, busy] = a.filters;
  assert.equal(quiet!.driver.name, 'quiet');
  assert.equal(a.topSend, busy, 'protocol sends go to the top filter');
  assert.equal(busy!.lowerSend, a, 'which sends straight to the miniport, past the quiet filter');
  assert.equal(a.upperReceive, busy, 'receives skip the quiet filter');
  const ba = bindings.get('a')!;
  ndis.sendNetBufferLists(ba.handle, nblFor(ba, frame(b.currentMacAddress, a.currentMacAddress, 'x')), 0, 0);
  await ndis.until(new Promise<void>((r) => { const c = () => (bindings.get('b')!.received.length > 0 ? r() : setImmediate(c)); c(); }));
  assert.equal((busy!.context as { sends: number }).sends, 1);
  assert.equal((quiet!.context as { sends: number }).sends, 0);
  await ndis.shutdown();
});

test('an optional filter that fails to attach is left out; a mandatory one keeps the upper edge down', async () => {
  for (const mandatory of [false, true]) {
    const ndis = new Ndis();
    const log: string[] = [];
    const virt = new VirtualMiniportDriver(ndis);
    const bad = logFilter(ndis, { name: 'bad', log });
    await ndis.registerFilterDriver({ ...bad, filterRunType: mandatory ? 1 : 2, attach: () => NDIS_STATUS.RESOURCES });
    const bindings = new Map<string, RawBinding>();
    await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings));
    const a = await virt.addAdapter('a');
    assert.equal(a.filters.length, 0);
    assert.equal(a.upperEdgeDown, mandatory);
    assert.equal(bindings.has('a'), !mandatory, mandatory ? 'no protocol binds above a failed mandatory filter' : 'protocols bind');
    await ndis.shutdown();
  }
});
