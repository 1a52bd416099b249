import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFailoverDemo } from '../../../../src/cli/demo/failover.js';

test('the failover demo: frames both ways across a failover and a failback, all of them delivered, nothing outstanding', async () => {
  const s = await runFailoverDemo({ seed: 1, frames: 300 });
  assert.ok(s.ok, s.text);
  assert.equal(s.failovers, 1);
  assert.equal(s.failbacks, 1);
  assert.equal(s.announcements, 4, 'a gratuitous ARP and a neighbor advertisement at each change of primary');
  assert.match(s.text, /m1's cable pulled after 101 frames: primary m2, link 10 Gbit\/s/);
  assert.match(s.text, /m1's cable back after 201 frames: primary m1, link 20 Gbit\/s/);
  assert.match(s.text, /frames A -> B: 300 sent, 300 received; B -> A: 300 sent, 300 received/);
});
