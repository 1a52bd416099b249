import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NDIS_NET_BUFFER_LIST_INFO, ieee8021QValue } from '../../../../src/nbl/index.js';
import { TeamReceiveDrop, TEAM_RECEIVE_DROP_TEXT } from '../../../../src/drivers/im/index.js';
import { nblFor } from '../../../ndis/drivers.js';
import { teamLab, mac, until, outstanding, settle, PEER_MAC } from './helpers.js';

/**
 * Random frames from the peer (random lengths, addresses among the team's, broadcast, multicast
 * and others, random EtherTypes, 802.1Q tags (one or two) for the team's VLANs and others, random
 * bytes after; the members receive the tags in the frame) into a team with a default interface and two VLAN interfaces:
 * nothing throws, every frame the members indicate is either indicated by an interface or counted
 * as dropped, and every NBL comes back.
 */
test('random frames into a team: every NBL is accounted for and nothing throws', async () => {
  const lab = await teamLab({
    // An address of its own (both members promiscuous: the team filters) and no default interface.
    team: { macAddress: '02-00-5e-00-00-01', interfaces: [{ name: 'team0-v10', vlanId: 10 }, { name: 'team0-v20', vlanId: 20 }] },
  });
  const { ndis, raw, team } = lab;
  const p = raw.get('peer')!;
  const teamMac = team.mac!;
  const peerMac = mac(PEER_MAC);
  const dsts = [teamMac, mac('ff-ff-ff-ff-ff-ff'), mac('01-00-5e-00-00-01'), mac('02-00-00-00-00-ee'), lab.members[1]!.currentMacAddress];
  const frameArb = fc.record({
    dst: fc.nat(dsts.length - 1),
    ownSource: fc.boolean(),
    tag: fc.constantFrom(-1, 0, 10, 20, 30),
    oob: fc.boolean(),
    priority: fc.nat(7),
    etherType: fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x88b5, 0x8100),
    body: fc.uint8Array({ minLength: 0, maxLength: 120 }),
  });
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 40 }), async (frames) => {
      const nbls = frames.map((f) => {
        const tagged = f.tag >= 0 && !f.oob;
        const bytes = new Uint8Array(14 + (tagged ? 4 : 0) + f.body.length);
        bytes.set(dsts[f.dst]!, 0);
        bytes.set(f.ownSource ? teamMac : peerMac, 6);
        let o = 12;
        if (tagged) {
          bytes.set([0x81, 0x00, (f.priority << 5) | (f.tag >> 8), f.tag & 0xff], 12);
          o = 16;
        }
        bytes[o] = f.etherType >> 8;
        bytes[o + 1] = f.etherType & 0xff;
        bytes.set(f.body, o + 2);
        const nbl = nblFor(p, bytes);
        if (f.tag > 0 && f.oob) nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(f.priority, f.tag);
        return nbl;
      });
      for (let i = 0; i + 1 < nbls.length; i++) nbls[i]!.next = nbls[i + 1]!;
      sent += nbls.length;
      ndis.sendNetBufferLists(p.handle, nbls[0]!, 0, 0);
      await until(ndis, () => p.completed === sent);
      await settle(ndis, 2);
      // What the members indicated to the team = what the team indicated + what it dropped.
      const fromMembers = team.boundMembers().reduce((n, b) => n + b.counters.receiveNbls + b.counters.receiveDrops, 0);
      const drops = team.counters.receiveDrops.reduce((x, y) => x + y, 0);
      assert.equal(fromMembers, team.counters.receiveNbls + drops);
      const indicated = team.interfaces.reduce((n, i) => n + i.counters.receiveNbls, 0);
      assert.equal(indicated, team.counters.receiveNbls);
      for (const i of team.interfaces) assert.equal(i.outstandingRx, 0);
      assert.deepEqual(outstanding(lab), []);
    }),
    { numRuns: 60, seed: 42 },
  );
  // Some of everything happened.
  const d = team.counters.receiveDrops;
  for (const reason of [TeamReceiveDrop.NotPrimary, TeamReceiveDrop.OwnFrame, TeamReceiveDrop.NoInterface, TeamReceiveDrop.Filtered]) assert.ok(d[reason]! > 0, `no drop for ${TEAM_RECEIVE_DROP_TEXT[reason]}`);
  for (const i of team.interfaces) assert.ok(i.counters.receiveNbls > 0, `${i.name} received nothing`);
  await ndis.shutdown();
});
