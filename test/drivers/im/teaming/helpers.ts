/** Builders for the teaming driver's tests: hubs of virtual adapters, a wire sniffer, frames. */
import { Ndis, type MiniportBlock, type NdisOptions } from '../../../../src/ndis/index.js';
import { Verifier } from '../../../../src/verifier/index.js';
import { VirtualMiniportDriver, type VirtualHub, type WireFrame } from '../../../../src/drivers/miniport/virtual/index.js';
import { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, type TeamConfig, type Team } from '../../../../src/drivers/im/index.js';
import { rawProtocol, nblFor, type RawBinding } from '../../../ndis/drivers.js';

/** A port on a virtual hub that records every frame the hub repeats (a tap on the wire). */
export class Sniffer {
  readonly portName: string;
  linkUp = true;
  readonly frames: { from: string; bytes: Uint8Array }[] = [];
  constructor(name = 'sniffer') {
    this.portName = name;
  }
  receiveFromWire(frame: WireFrame): boolean {
    const bytes = new Uint8Array(frame.wireLength);
    frame.copyTo(bytes, 0);
    this.frames.push({ from: frame.from?.portName ?? '?', bytes });
    return true;
  }
  /** Frames sent by adapter `port`. */
  from(port: string): Uint8Array[] {
    return this.frames.filter((f) => f.from === port).map((f) => f.bytes);
  }
  clear(): void {
    this.frames.length = 0;
  }
}

/** Plugs a sniffer into `hub`. */
export function sniff(hub: VirtualHub, name?: string): Sniffer {
  const s = new Sniffer(name);
  hub.plug(s);
  return s;
}

/**
 * The project's verifier at full level, throwing on a violation; advisories are kept in its
 * reports (not printed) for the tests to look at.
 */
export function fullVerifier(): Verifier {
  return new Verifier({ level: 'full', action: 'throw', log: () => undefined });
}

/** Advisories the verifier reported against the teaming driver (or anything when `driver` is null). */
export function advisories(v: Verifier, driver: string | null = 'lbfo'): string[] {
  return v.reports.filter((r) => r.severity === 'advisory' && (driver === null || r.driver === driver)).map((r) => `${r.ruleId} ${r.driver} ${r.object}: ${r.message}`);
}

export interface TeamLab {
  ndis: Ndis;
  verifier: Verifier;
  virt: VirtualMiniportDriver;
  lbfo: TeamingDriver;
  log: string[];
  /** Raw protocol bindings by adapter name (bound to the team interface and to the peer). */
  raw: Map<string, RawBinding>;
  members: MiniportBlock[];
  peer: MiniportBlock;
  team: Team;
  iface: MiniportBlock;
}

export const PEER_MAC = '02-00-00-00-00-b0';

/**
 * Host A: a team of `memberCount` virtual adapters (m1, m2, ...) on hub0; host B: one adapter
 * `peer` on hub0. The raw test protocol binds to the team interface and the peer (members carry
 * the team-member UpperRange, so only the teaming driver binds them). Full verification.
 */
export async function teamLab(options: { memberCount?: number; team?: Partial<TeamConfig>; ndis?: NdisOptions; memberConfig?: Record<string, string | number> } = {}): Promise<TeamLab> {
  const verifier = fullVerifier();
  const ndis = new Ndis({ verifier, ...options.ndis });
  const virt = new VirtualMiniportDriver(ndis);
  const log: string[] = [];
  const raw = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, raw));
  const lbfo = new TeamingDriver(ndis);
  await lbfo.register();
  const n = options.memberCount ?? 2;
  const names = Array.from({ length: n }, (_, i) => `m${i + 1}`);
  const teamPromise = lbfo.createTeam({ name: 'team0', members: names, ...options.team });
  const team = await teamPromise;
  const members: MiniportBlock[] = [];
  for (let i = 0; i < n; i++) {
    members.push(
      await virt.addAdapter(names[i]!, { NetworkAddress: `02-00-00-00-00-${(0xa1 + i).toString(16)}`, ...options.memberConfig }, { upperRange: [TEAM_MEMBER_UPPER_RANGE] }),
    );
  }
  const peer = await virt.addAdapter('peer', { NetworkAddress: PEER_MAC });
  await lbfo.settled();
  await settle(ndis);
  const iface = ndis.adapter(team.interfaces[0]!.name);
  return { ndis, verifier, virt, lbfo, log, raw, members, peer, team, iface };
}

/** Lets DPCs, work items and pending PnP work run (a few virtual milliseconds). */
export async function settle(ndis: Ndis, ms = 5): Promise<void> {
  await ndis.sleep(ms);
}

/** Waits (running the scheduler) until `cond` holds. */
export async function until(ndis: Ndis, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  await ndis.until(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else setImmediate(check);
      };
      check();
    }),
    timeoutMs,
  );
}

export function mac(text: string): Uint8Array {
  return new Uint8Array(text.split(/[-:]/).map((h) => parseInt(h, 16)));
}

/** An Ethernet frame with EtherType `etherType` and `payload`. */
export function ethernet(dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(payload, 14);
  return f;
}

/**
 * An Ethernet/IPv4/UDP frame (checksums zero: nothing on the path verifies them) from
 * `srcIp:srcPort` to `dstIp:dstPort`, with `payloadLength` bytes of payload.
 */
export function udpFrame(dst: Uint8Array, src: Uint8Array, srcIp: number, dstIp: number, srcPort: number, dstPort: number, payloadLength = 18): Uint8Array {
  const ip = new Uint8Array(20 + 8 + payloadLength);
  const dv = new DataView(ip.buffer);
  ip[0] = 0x45;
  dv.setUint16(2, ip.length);
  ip[8] = 64;
  ip[9] = 17;
  dv.setUint32(12, srcIp);
  dv.setUint32(16, dstIp);
  dv.setUint16(20, srcPort);
  dv.setUint16(22, dstPort);
  dv.setUint16(24, 8 + payloadLength);
  for (let i = 0; i < payloadLength; i++) ip[28 + i] = i & 0xff;
  return ethernet(dst, src, 0x0800, ip);
}

/** Sends `frames` from raw binding `b` (one NdisSendNetBufferLists with the whole chain). */
export function sendChain(ndis: Ndis, b: RawBinding, frames: Uint8Array[]): void {
  if (frames.length === 0) return;
  const nbls = frames.map((f) => nblFor(b, f));
  for (let i = 0; i + 1 < nbls.length; i++) nbls[i]!.next = nbls[i + 1]!;
  ndis.sendNetBufferLists(b.handle, nbls[0]!, 0, 0);
}

/**
 * The NBL-accounting invariants every test ends with: nothing outstanding anywhere, pools clean;
 * and, when the lab has the project's verifier, no violation and no advisory against the team.
 */
export function outstanding(lab: { ndis: Ndis; verifier?: Verifier }): string[] {
  const problems: string[] = [];
  if (lab.verifier !== undefined) {
    if (lab.verifier.count() !== 0) problems.push(`${lab.verifier.count()} verifier violation(s)`);
    problems.push(...advisories(lab.verifier));
  }
  for (const a of lab.ndis.adapters) {
    if (a.outstandingSends !== 0) problems.push(`${a.name}: ${a.outstandingSends} sends outstanding at the miniport`);
    if (a.outstandingReceives !== 0) problems.push(`${a.name}: ${a.outstandingReceives} receives not returned`);
    for (const o of a.opens) {
      if (o.outstandingSends !== 0) problems.push(`${o.name}: ${o.outstandingSends} sends not completed to the protocol`);
      for (const p of o.resources.nblPools) if (!p.isFreed && p.outstanding !== 0) problems.push(`${o.name}: pool ${p.poolTag} has ${p.outstanding} NBLs out`);
    }
    // The teaming driver's receive pools (the virtual miniport's receive buffers are always allocated).
    for (const p of a.resources.nblPools) if (p.poolTag.startsWith('Tm') && !p.isFreed && p.outstanding !== 0) problems.push(`${a.name}: pool ${p.poolTag} has ${p.outstanding} NBLs out`);
  }
  return problems;
}
