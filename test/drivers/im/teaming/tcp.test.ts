import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ndis } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE } from '../../../../src/drivers/im/index.js';
import { BulkReceiver, BulkSender, ip } from '../../protocol/tcpip/tcp/sim/transfer.js';
import { IpStack } from './ip-host.js';
import { outstanding, sniff, fullVerifier, advisories } from './helpers.js';

/**
 * Host A: a switch-independent team of m1 and m2 on hub0, 192.0.2.1 on the team interface; host
 * B: one adapter, 192.0.2.2. Four TCP connections each move `bytes` from A to B while the test
 * pulls m1's cable, puts it back, then pulls m2's and puts it back.
 */
test('TCP transfers over a team survive failover and failback: every byte arrives, every NBL is accounted for, the verifier is clean', async () => {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier, seed: 7 });
  const virt = new VirtualMiniportDriver(ndis);
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'] });
  const stack = new IpStack(ndis, { team0: '192.0.2.1', peer: '192.0.2.2' }, { minRtoMs: 200, initialRtoMs: 200, delayedAckMs: 40 });
  await stack.register();
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  const m1 = await virt.addAdapter('m1', { NetworkAddress: '02-00-00-00-00-a1' }, up);
  const m2 = await virt.addAdapter('m2', { NetworkAddress: '02-00-00-00-00-a2' }, up);
  await virt.addAdapter('peer', { NetworkAddress: '02-00-00-00-00-b0' });
  await lbfo.settled();
  const a = stack.host('team0');
  const b = stack.host('peer');
  const wire = sniff(virt.hub('hub0'));

  const connections = 4;
  const bytes = 2 * 1024 * 1024;
  // Pulls cables as the bytes arrive: at 20 % m1 goes down, at 40 % it comes back, at 60 % m2
  // goes down, at 80 % it comes back.
  const total = connections * bytes;
  const steps: { at: number; act: () => void; done: boolean }[] = [
    { at: 0.2, act: () => virt.adapter(m1).setLink(false), done: false },
    { at: 0.4, act: () => virt.adapter(m1).setLink(true), done: false },
    { at: 0.6, act: () => virt.adapter(m2).setLink(false), done: false },
    { at: 0.8, act: () => virt.adapter(m2).setLink(true), done: false },
  ];
  const receivers: BulkReceiver[] = [];
  const received = (): number => receivers.reduce((n, r) => n + r.received, 0);
  class Watched extends BulkReceiver {
    override onReadable(c: Parameters<BulkReceiver['onReadable']>[0]): void {
      super.onReadable(c);
      for (const s of steps) {
        if (!s.done && received() >= s.at * total) {
          s.done = true;
          s.act();
        }
      }
    }
  }
  const senders: BulkSender[] = [];
  const listener = b.engine.listen(5001, null, 16, {
    onConnection(l, c) {
      const r = new Watched();
      receivers.push(r);
      r.onConnection(l, c);
    },
  });
  for (let i = 0; i < connections; i++) {
    const s = new BulkSender(bytes, 100 + i);
    senders.push(s);
    a.engine.connect(ip('192.0.2.2'), 5001, null, 0, s);
  }
  const finished = new Promise<void>((resolve) => {
    const check = (): void => {
      if (senders.every((s) => s.closed) && receivers.length === connections && receivers.every((r) => r.closed)) resolve();
      else setImmediate(check);
    };
    check();
  });
  await ndis.until(finished, 600_000);
  listener.close();

  // Every byte, in order: the receivers' digests are the senders'.
  const sent = senders.map((s) => s.hash.copy().digest('hex')).sort();
  const got = receivers.map((r) => r.hash.copy().digest('hex')).sort();
  assert.deepEqual(got, sent);
  assert.ok(receivers.every((r) => r.received === bytes && r.error === 0));
  assert.ok(senders.every((s) => s.error === 0));
  assert.ok(steps.every((s) => s.done));
  // m1 was primary: its loss was a failover, its return a failback; m2's loss moved its flows.
  assert.equal(team.counters.failovers, 1, team.events.join('\n'));
  assert.equal(team.counters.failbacks, 1);
  assert.equal(team.counters.membersLost, 2);
  // The team learned its address from its own ARP reply and announced it on each new primary (m1
  // going down, m1 coming back; m2 was never primary);
  // host B's cache kept pointing at the team.
  assert.equal(team.counters.announcements, 2);
  assert.deepEqual([...b.arp.get(0xc0000201)!], [...team.mac!]);
  // Both members carried data (before, between and after the failures).
  for (const m of ['m1', 'm2']) assert.ok(wire.from(m).length > 100, `${m} sent ${wire.from(m).length} frames`);
  assert.equal(a.counters.badChecksums + b.counters.badChecksums, 0);
  await ndis.sleep(100);
  assert.deepEqual(outstanding({ ndis, verifier }), []);
  assert.equal(team.interfaces[0]!.counters.sendNbls, team.interfaces[0]!.counters.sendCompletes);
  assert.equal(team.interfaces[0]!.counters.receiveNbls, team.interfaces[0]!.counters.returnNbls);
  await ndis.shutdown();
  assert.equal(verifier.count(), 0);
  assert.deepEqual(advisories(verifier), []);
});
