/**
 * `ndis demo failover`: host A on a team of two virtual adapters, host B on one, both running
 * ndisprot; frames flow both ways while m1's cable is pulled and put back. The summary shows the
 * team's state at each step, the announcements, and that every frame and every NBL is accounted
 * for.
 */
import { Ndis, NDIS_STATUS, type MiniportBlock } from '../../ndis/index.js';
import { VirtualMiniportDriver } from '../../drivers/miniport/virtual/index.js';
import { NdisProt, NDISPROT_ETHERTYPE, type NdisProtBinding } from '../../drivers/protocol/ndisprot/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, MEMBER_INACTIVE_REASON_TEXT, type Team } from '../../drivers/im/index.js';
import { formatMac } from '../../wire/address.js';
import { Verifier, type VerifyLevelName } from '../../verifier/index.js';

/** What the failover demo reports. */
export interface FailoverDemoSummary {
  ok: boolean;
  seed: number;
  framesAtoB: { sent: number; received: number };
  framesBtoA: { sent: number; received: number };
  failovers: number;
  failbacks: number;
  announcements: number;
  resends: number;
  nblsOutstanding: number;
  violations: number;
  virtualTimeMs: number;
  text: string;
}

function frame(dst: Uint8Array, src: Uint8Array, seq: number): Uint8Array {
  const f = new Uint8Array(64);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = NDISPROT_ETHERTYPE >> 8;
  f[13] = NDISPROT_ETHERTYPE & 0xff;
  new DataView(f.buffer).setUint32(14, seq);
  return f;
}

function describe(team: Team): string {
  return team
    .memberStates()
    .map((m) => `${m.adapter}: ${m.primary ? 'primary, ' : ''}${MEMBER_INACTIVE_REASON_TEXT[m.reason]}, ${m.share}/128 of the flows`)
    .join('; ');
}

/** Runs the failover demo and returns its summary. */
export async function runFailoverDemo(options: { seed: number; frames: number; verify?: VerifyLevelName }): Promise<FailoverDemoSummary> {
  const lines: string[] = [];
  const say = (l: string): void => {
    lines.push(l);
  };
  const verifier = new Verifier({ level: options.verify ?? 'full', action: 'count' });
  const ndis = new Ndis({ seed: options.seed, verifier });
  const virt = new VirtualMiniportDriver(ndis);
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const prot = new NdisProt(ndis, { maxQueue: 1 << 16 });
  await prot.register();
  const team = await lbfo.createTeam({ name: 'team0', members: ['m1', 'm2'], interfaces: [{ name: 'team0', addresses: ['192.0.2.1', '2001:db8::1'] }] });
  const up = { upperRange: [TEAM_MEMBER_UPPER_RANGE] };
  const m1 = await virt.addAdapter('m1', { NetworkAddress: '02-00-5e-00-00-a1' }, up);
  await virt.addAdapter('m2', { NetworkAddress: '02-00-5e-00-00-a2' }, up);
  const b = await virt.addAdapter('host-b', { NetworkAddress: '02-00-5e-00-00-0b' });
  await lbfo.settled();
  const a = ndis.adapter('team0');
  say(`host A: team0 (${formatMac(a.currentMacAddress)}) over m1 and m2, switch independent, flows hashed on addresses and ports`);
  say(`host B: host-b (${formatMac(b.currentMacAddress)}); all on hub0`);
  say(`  ${describe(team)}`);
  const pa: NdisProtBinding = prot.open('team0');
  const pb: NdisProtBinding = prot.open('host-b');

  const got = [new Set<number>(), new Set<number>()];
  const ok = [0, 0];
  const n = options.frames;
  const sender = async (from: NdisProtBinding, src: MiniportBlock, dst: MiniportBlock, idx: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      if ((await from.write(frame(dst.currentMacAddress, src.currentMacAddress, i))) === NDIS_STATUS.SUCCESS) ok[idx]!++;
      if (idx === 0 && i === Math.floor(n / 3)) {
        virt.adapter(m1).setLink(false);
        say(`m1's cable pulled after ${i + 1} frames: primary ${team.primary?.adapterName}, link ${a.xmitLinkSpeed / 1e9} Gbit/s`);
        say(`  ${describe(team)}`);
      }
      if (idx === 0 && i === Math.floor((2 * n) / 3)) {
        virt.adapter(m1).setLink(true);
        say(`m1's cable back after ${i + 1} frames: primary ${team.primary?.adapterName}, link ${a.xmitLinkSpeed / 1e9} Gbit/s`);
        say(`  ${describe(team)}`);
      }
      if (i % 16 === 0) await ndis.sleep(1);
    }
  };
  const reader = async (at: NdisProtBinding, idx: number): Promise<void> => {
    while (got[idx]!.size < n) {
      const f = await at.read();
      got[idx]!.add(new DataView(f.buffer, f.byteOffset).getUint32(14));
    }
  };
  await Promise.all([sender(pa, a, b, 0), sender(pb, b, a, 1), reader(pb, 0), reader(pa, 1)]);
  await ndis.sleep(10);
  for (const e of team.events.filter((e) => /announced/.test(e))) say(`team0 ${e.replace(/^[\d.]+ms /, '')}`);
  const nblsOutstanding = [...ndis.adapters].reduce((x, m) => x + m.outstandingSends + [...m.opens].reduce((y, o) => y + o.outstandingSends, 0), 0) + team.interfaces[0]!.outstandingRx;
  const c = { failovers: team.counters.failovers, failbacks: team.counters.failbacks, announcements: team.counters.announcements };
  const resends = team.interfaces[0]!.counters.resends;
  say(`frames A -> B: ${ok[0]} sent, ${got[0]!.size} received; B -> A: ${ok[1]} sent, ${got[1]!.size} received`);
  say(`failovers ${c.failovers}, failbacks ${c.failbacks}, announcements ${c.announcements}; NBLs outstanding ${nblsOutstanding}; verifier violations ${verifier.count()}`);
  const virtualTimeMs = ndis.scheduler.nowMs();
  await ndis.shutdown();
  const summary: FailoverDemoSummary = {
    ok: got[0]!.size === n && got[1]!.size === n && ok[0] === n && ok[1] === n && nblsOutstanding === 0 && verifier.count() === 0,
    seed: options.seed,
    framesAtoB: { sent: ok[0]!, received: got[0]!.size },
    framesBtoA: { sent: ok[1]!, received: got[1]!.size },
    failovers: c.failovers,
    failbacks: c.failbacks,
    announcements: c.announcements,
    resends,
    nblsOutstanding,
    violations: verifier.count(),
    virtualTimeMs,
    text: `${lines.join('\n')}\n`,
  };
  return summary;
}
