import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterState, BindingState, FilterState, NDIS_STATUS } from '../../src/ndis/index.js';
import { twoHosts, frame, BROADCAST } from './helpers.js';

test('two hosts on a hub exchange frames through a filter and ndisprot', async () => {
  const lab = await twoHosts({ seed: 7 });
  const { ndis, prot, a, b } = lab;
  assert.equal(a.state, AdapterState.Running);
  assert.equal(a.filters.length, 1);
  assert.equal(a.filters[0]!.state, FilterState.Running);
  assert.equal([...a.opens][0]!.state, BindingState.Running);
  const pa = prot.open('a');
  const pb = prot.open('b');
  const st = await pa.write(frame(b.currentMacAddress, a.currentMacAddress, 'hello b'));
  assert.equal(st, NDIS_STATUS.SUCCESS);
  const got = await pb.read();
  assert.equal(new TextDecoder().decode(got.subarray(14, 21)), 'hello b');
  assert.equal(got.length, 60, 'padded to the Ethernet minimum');
  await pb.write(frame(BROADCAST, b.currentMacAddress, 'to all'));
  const back = await pa.read();
  assert.equal(new TextDecoder().decode(back.subarray(14, 20)), 'to all');
  const mod = lab.filters[0]!.module('b');
  assert.ok(mod.counters.receivedNbls >= 1);
  assert.ok(mod.counters.sentNbls >= 1);
  await ndis.shutdown();
  assert.equal(a.state, AdapterState.Halted);
});
