import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ndis, NDIS_PAUSE } from '../../../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { TcpIp, type TcpSocket } from '../../../../src/drivers/protocol/tcpip/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE } from '../../../../src/drivers/im/index.js';
import { PassthroughFilter } from '../../../../src/drivers/filter/passthrough/index.js';
import { formatIp } from '../../../../src/wire/address.js';
import { outstanding, sniff, fullVerifier, advisories } from './helpers.js';

const TOTAL = 8 * 1024 * 1024;

/**
 * Host A: the tcpip driver on a switch-independent team of m1 and m2; host B: the tcpip driver on
 * one adapter; all on hub0. One connection over IPv4 and one over IPv6 each move TOTAL bytes from A
 * to B while m1's cable is pulled (at 20 % of the bytes), put back (40 %), then m2's (60 %, 80 %).
 */
test('tcpip over a team: TCP over IPv4 and IPv6 survives failover and failback intact; every NBL accounted for; the verifier is clean', { timeout: 120_000 }, async () => {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier, seed: 3 });
  const virt = new VirtualMiniportDriver(ndis);
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'] });
  const tcp = { minRtoMs: 200 };
  const A = new TcpIp(ndis, { name: 'hostA', adapters: ['team0'], tcp });
  const B = new TcpIp(ndis, { name: 'hostB', adapters: ['peer'], tcp });
  await A.register();
  await B.register();
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  const m1 = await virt.addAdapter('m1', { NetworkAddress: '02-00-00-00-00-a1' }, up);
  const m2 = await virt.addAdapter('m2', { NetworkAddress: '02-00-00-00-00-a2' }, up);
  await virt.addAdapter('peer', { NetworkAddress: '02-00-00-00-00-b0' });
  await lbfo.settled();
  A.configure('team0', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
  B.configure('peer', { ipv4: ['10.0.0.2/24'], ipv6: ['fd00::2/64'] });
  await A.ready('team0');
  await B.ready('peer');
  const wire = sniff(virt.hub('hub0'));

  const steps = [
    { at: 0.2, act: () => virt.adapter(m1).setLink(false), done: false },
    { at: 0.4, act: () => virt.adapter(m1).setLink(true), done: false },
    { at: 0.6, act: () => virt.adapter(m2).setLink(false), done: false },
    { at: 0.8, act: () => virt.adapter(m2).setLink(true), done: false },
  ];
  let receivedTotal = 0;
  const results: { received: string; bytes: number }[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    const server = B.tcp.createServer((s: TcpSocket) => {
      const hash = createHash('sha256');
      let n = 0;
      s.on('data', (d: Buffer) => {
        hash.update(d);
        n += d.length;
        receivedTotal += d.length;
        for (const st of steps) {
          if (!st.done && receivedTotal >= st.at * 2 * TOTAL) {
            st.done = true;
            st.act();
          }
        }
      });
      s.on('end', () => {
        s.end();
        results.push({ received: hash.digest('hex'), bytes: n });
        if (results.length === 2) {
          server.close();
          resolve();
        }
      });
      s.on('error', reject);
    });
    server.listen(5001);
  });
  const sent: string[] = [];
  for (const [i, host] of ['10.0.0.2', 'fd00::2'].entries()) {
    const chunk = Buffer.alloc(65536);
    let seed = 0x1234567 + i;
    const digest = createHash('sha256');
    const c = A.tcp.connect(5001, host);
    c.on('error', (e) => assert.fail(e));
    c.on('connect', () => {
      let n0 = 0;
      const pump = (): void => {
        while (n0 < TOTAL) {
          const n = Math.min(chunk.length, TOTAL - n0);
          for (let k = 0; k < n; k += 4) {
            seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
            chunk.writeUInt32LE(seed, k);
          }
          const piece = Buffer.from(chunk.subarray(0, n));
          digest.update(piece);
          n0 += n;
          if (!c.write(piece)) {
            c.once('drain', pump);
            return;
          }
        }
        c.end();
        sent.push(digest.digest('hex'));
      };
      pump();
    });
  }
  await ndis.until(finished, 3600_000);
  assert.deepEqual(results.map((r) => r.received).sort(), sent.sort());
  assert.ok(results.every((r) => r.bytes === TOTAL));
  assert.ok(steps.every((s) => s.done));
  assert.equal(team.counters.failovers, 1, team.events.join('\n'));
  assert.equal(team.counters.failbacks, 1);
  assert.equal(team.counters.membersLost, 2);
  // The team learned A's addresses from A's own ARP and ND messages and announced them.
  const addrs = team.interfaces[0]!.addresses;
  assert.ok(addrs.ipv4.map(formatIp).includes('10.0.0.1'), addrs.ipv4.map(formatIp).join());
  assert.ok(addrs.ipv6.map(formatIp).includes('fd00::1'), addrs.ipv6.map(formatIp).join());
  assert.ok(team.counters.announcements >= 4);
  // Host B still reaches A at the team's address, over IPv4 and IPv6.
  const teamMac = [...team.mac!].map((x) => x.toString(16).padStart(2, '0')).join(':');
  for (const address of ['10.0.0.1', 'fd00::1']) {
    const n = B.neighbors.list('peer').find((e) => e.address === address);
    assert.equal(n?.mac, teamMac, `B's neighbor entry for ${address}`);
  }
  // tcpip bound to the team interface as to any adapter; the members are the team's alone.
  assert.deepEqual([...ndis.adapter('team0').opens].map((o) => o.protocol.name), ['hostA']);
  for (const m of [m1, m2]) assert.deepEqual([...m.opens].map((o) => o.protocol.name), ['lbfo']);
  for (const m of ['m1', 'm2']) assert.ok(wire.from(m).length > 100, `${m} sent ${wire.from(m).length} frames`);
  assert.equal(A.internalErrors + B.internalErrors, 0);
  await ndis.sleep(100);
  assert.deepEqual(outstanding({ ndis, verifier }), []);
  await ndis.shutdown();
  assert.equal(verifier.count(), 0);
  assert.deepEqual(advisories(verifier), []);
});

/**
 * Host A on a team of m1 and m2, host B on one adapter. While A writes 1 MB (16 KiB every 10 ms),
 * a filter goes in under every binding (the team's members and its interface pause and restart);
 * both members' stacks are paused for 300 ms under a running team interface (the team completes
 * A's sends with NDIS_STATUS_PAUSED); both of A's cables are pulled for 300 ms (the team's link is
 * down); the filter comes out again. TCP recovers every loss on its own timers.
 */
test('tcpip over a team: TCP survives a filter insertion and removal, 300 ms with both members paused and 300 ms with both unplugged', { timeout: 60_000 }, async () => {
  const TOTAL_SMALL = 1024 * 1024;
  const ndis = new Ndis({ seed: 5 });
  const virt = new VirtualMiniportDriver(ndis);
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'] });
  const tcp = { minRtoMs: 200 };
  const A = new TcpIp(ndis, { name: 'hostA', adapters: ['team0'], tcp });
  const B = new TcpIp(ndis, { name: 'hostB', adapters: ['peer'], tcp });
  await A.register();
  await B.register();
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  const m1 = await virt.addAdapter('m1', { NetworkAddress: '02-00-00-00-00-a1' }, up);
  const m2 = await virt.addAdapter('m2', { NetworkAddress: '02-00-00-00-00-a2' }, up);
  await virt.addAdapter('peer', { NetworkAddress: '02-00-00-00-00-b0' });
  await ndis.until(lbfo.settled());
  A.configure('team0', { ipv4: ['10.0.0.1/24'] });
  B.configure('peer', { ipv4: ['10.0.0.2/24'] });
  await ndis.until(Promise.all([A.ready('team0'), B.ready('peer')]));
  const filter = new PassthroughFilter(ndis, { name: 'passthrough', filterClass: 'custom' });
  try {
    const received = new Promise<{ digest: string; bytes: number }>((resolve, reject) => {
      const server = B.tcp.createServer((s: TcpSocket) => {
        const hash = createHash('sha256');
        let n = 0;
        s.on('data', (d: Buffer) => {
          hash.update(d);
          n += d.length;
        });
        s.on('end', () => {
          s.end();
          server.close();
          resolve({ digest: hash.digest('hex'), bytes: n });
        });
        s.on('error', reject);
      });
      server.listen(5001);
    });
    const digest = createHash('sha256');
    const c = A.tcp.connect(5001, '10.0.0.2');
    c.on('error', (e) => assert.fail(e));
    c.on('connect', () => {
      const chunk = Buffer.alloc(16384);
      let seed = 0x13579bd;
      let written = 0;
      const timer = ndis.scheduler.allocateTimerObject(() => pump(), null, null, 'pace');
      const pump = (): void => {
        for (let i = 0; i < chunk.length; i += 4) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          chunk.writeUInt32LE(seed, i);
        }
        const piece = Buffer.from(chunk);
        digest.update(piece);
        written += piece.length;
        c.write(piece);
        if (written < TOTAL_SMALL) ndis.scheduler.setTimerObject(timer, -10 * 10_000);
        else {
          ndis.scheduler.freeTimerObject(timer);
          c.end();
        }
      };
      pump();
    });
    await ndis.sleep(50);
    await ndis.until(filter.register());
    await ndis.until(Promise.all([ndis.pauseStack(m1, NDIS_PAUSE.NDIS_INTERNAL), ndis.pauseStack(m2, NDIS_PAUSE.NDIS_INTERNAL)]));
    await ndis.sleep(300);
    await ndis.until(Promise.all([ndis.restartStack(m1), ndis.restartStack(m2)]));
    virt.adapter(m1).setLink(false);
    virt.adapter(m2).setLink(false);
    await ndis.sleep(300);
    virt.adapter(m1).setLink(true);
    virt.adapter(m2).setLink(true);
    await ndis.until(ndis.deregisterFilterDriver(filter.handle!));
    const r = await ndis.until(received, 120_000);
    assert.equal(r.bytes, TOTAL_SMALL);
    assert.equal(r.digest, digest.digest('hex'));
    assert.ok(team.events.some((e) => e.includes('link down')), team.events.join('\n'));
    assert.ok(team.interfaces[0]!.counters.sendsWithoutMember > 0, 'the team failed sends while no member ran');
    assert.ok((A.statistics().interfaces[0]!.drops['send completed with failure'] ?? 0) > 0);
    const st = A.tcp.engine.stats;
    assert.ok(st.timeouts > 0 && st.retransSegs > 0, 'what was lost was retransmitted');
    assert.equal(A.internalErrors + B.internalErrors, 0);
  } finally {
    await ndis.shutdown();
  }
});
