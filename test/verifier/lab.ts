/**
 * The verifier tests' lab: frames with real bytes (made by scapy, test/fixtures/verifier), and a
 * stack of programmable miniport, optional programmable filter and the raw test protocol, under a
 * Verifier that counts (so that a test sees exactly which rules a scenario breaks).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ndis, NdisOidRequest, OID } from '../../src/ndis/index.js';
import { ProgrammableMiniport, type ProgrammableAdapter, type ProgrammableOptions } from '../../src/drivers/miniport/programmable/index.js';
import { ProgrammableFilter, type ProgrammableFilterModule, type ProgrammableFilterOptions } from '../../src/drivers/filter/programmable/index.js';
import { Verifier, type VerifierOptions } from '../../src/verifier/index.js';
import { rawProtocol, type RawBinding } from '../ndis/drivers.js';
import { mdlChainFromBytes, type NetBufferList, type NetBufferPool } from '../../src/nbl/index.js';

/** A frame of the fixture, with scapy's offsets. */
export interface Frame {
  name: string;
  bytes: Uint8Array;
  length: number;
  ip?: number;
  ulp?: number;
  payload?: number;
  ipEnd?: number;
  hopByHop?: number;
  ah?: number;
}

const json = JSON.parse(readFileSync(new URL('../../../test/fixtures/verifier/frames.json', import.meta.url), 'utf8')) as {
  frames: (Omit<Frame, 'bytes'> & { hex: string })[];
};

/** A fixture frame by name (a fresh copy of its bytes). */
export function frame(name: string): Frame {
  const f = json.frames.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fixture frame '${name}'`);
  return { ...f, bytes: Uint8Array.from(Buffer.from(f.hex, 'hex')) };
}

export interface Lab {
  ndis: Ndis;
  verifier: Verifier;
  pm: ProgrammableMiniport;
  nic: ProgrammableAdapter;
  filter: ProgrammableFilter | null;
  fmod: ProgrammableFilterModule | null;
  binding: RawBinding;
  log: string[];
}

export interface LabOptions {
  verifier?: VerifierOptions;
  /** NDIS 6.x minor version of the miniport (default 30). */
  miniportMinor?: number;
  adapter?: ProgrammableOptions;
  /** Add a programmable filter with these options. */
  filter?: ProgrammableFilterOptions;
  /** Miniport driver name (default 'pm'). */
  miniportName?: string;
}

/** Builds the lab; the verifier counts by default (action 'count', level 'full'). */
export async function lab(o: LabOptions = {}): Promise<Lab> {
  const verifier = new Verifier({ level: 'full', action: 'count', ...o.verifier });
  const ndis = new Ndis({ verifier });
  const pm = new ProgrammableMiniport(ndis, o.miniportName ?? 'pm', o.miniportMinor ?? 30);
  let filter: ProgrammableFilter | null = null;
  if (o.filter !== undefined) {
    filter = new ProgrammableFilter(ndis, o.filter);
    await filter.register();
  }
  const log: string[] = [];
  const bindings = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings));
  // The fixture frames are addressed to 02:00:5e:10:00:02.
  const nic = await pm.addAdapter('nic', { mac: new Uint8Array([2, 0, 0x5e, 0x10, 0, 2]), ...o.adapter });
  await ndis.until(Promise.resolve());
  return { ndis, verifier, pm, nic, filter, fmod: filter?.modules.get('nic') ?? null, binding: bindings.get('nic')!, log };
}

/** The ids of the violations (not advisories) reported so far. */
export function violations(l: Lab): string[] {
  return l.verifier.reports.filter((r) => r.severity === 'violation').map((r) => r.ruleId);
}

/** The ids of the advisories reported so far. */
export function advisories(l: Lab): string[] {
  return l.verifier.reports.filter((r) => r.severity === 'advisory').map((r) => r.ruleId);
}

/** Asserts the scenario broke exactly `ruleId` (one or more times), and nothing else. */
export function assertOnly(l: Lab, ruleId: string, why = ''): void {
  const ids = violations(l);
  assert.ok(ids.length > 0, `expected ${ruleId} ${why}; nothing was reported`);
  assert.deepEqual([...new Set(ids)], [ruleId], `expected only ${ruleId} ${why}; got ${ids.join(', ')}\n${l.verifier.reports.map((r) => `${r.ruleId}: ${r.message}`).join('\n')}`);
}

/** Asserts no violation was reported. */
export function assertClean(l: Lab, why = ''): void {
  const ids = violations(l);
  assert.deepEqual(ids, [], `expected no violation ${why}; got:\n${l.verifier.reports.map((r) => `${r.ruleId}: ${r.message}`).join('\n')}`);
}

/** Sets RSS parameters through the binding (a successful OID_GEN_RECEIVE_SCALE_PARAMETERS set). */
export async function enableRss(l: Lab, hashInformation: number): Promise<void> {
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  v.setUint8(0, 0x89); // NDIS_OBJECT_TYPE_RSS_PARAMETERS
  v.setUint8(1, 1);
  v.setUint16(2, 40, true);
  v.setUint32(8, hashInformation, true);
  const prev = l.nic.onOid;
  l.nic.onOid = (r) => (r.oid === OID.GEN_RECEIVE_SCALE_PARAMETERS ? 0 : prev?.(r));
  const req = NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, b);
  l.ndis.oidRequest(l.binding.handle, req);
  await l.ndis.until(Promise.resolve());
  l.nic.onOid = prev;
}

/** Tears the lab down (halt checks run and report too). */
export async function done(l: Lab): Promise<void> {
  // Whatever a scenario scripted, the teardown runs with well-behaved drivers.
  Object.assign(l.nic.options, { pauseMode: 'sync', restartMode: 'sync', resetMode: 'sync', autoCompleteSends: true, pauseReturn: 0 });
  if (l.nic.heldSends.count > 0) l.nic.completeSends();
  for (const r of [...l.nic.pendingOids]) l.nic.completeOid(r, 0);
  if (l.fmod !== null) {
    l.fmod.pauseMode = 'sync';
    l.fmod.pauseReturn = 0;
    l.fmod.onSend = l.fmod.onReceive = null;
  }
  await l.ndis.until(l.ndis.shutdown(), 120_000);
}

/** Sends one frame from the raw binding (cut into MDLs at `splitAt`, with OOB `info`). */
export function sendFrame(l: Lab, bytes: Uint8Array, o: { splitAt?: number[]; info?: [number, number][]; extra?: Uint8Array } = {}): NetBufferList {
  const b = l.binding;
  const { chain, offset } = mdlChainFromBytes(bytes, o.splitAt ?? []);
  const nbl = b.pool.allocateNetBufferAndNetBufferList(0, 0, chain, offset, bytes.length)!;
  for (const [id, v] of o.info ?? []) nbl.netBufferListInfo[id] = v;
  if (o.extra !== undefined) {
    const x = mdlChainFromBytes(o.extra);
    const pool = extraPools.get(l) ?? l.ndis.allocateNetBufferPool(b.handle, { poolTag: 'TxNb' });
    extraPools.set(l, pool);
    nbl.firstNetBuffer!.next = pool.allocateNetBuffer(x.chain, x.offset, o.extra.length);
  }
  l.ndis.sendNetBufferLists(b.handle, nbl, 0, 0);
  return nbl;
}

const extraPools = new Map<Lab, NetBufferPool>();
