/**
 * A violation report: the rule, the driver and object, the NBL with its NET_BUFFER / MDL layout and
 * OOB, and the call in which it happened; and its readable rendering.
 */
import type { NetBufferList } from '../nbl/net-buffer-list.js';
import { NDIS_NET_BUFFER_LIST_INFO, MAX_NET_BUFFER_LIST_INFO } from '../nbl/info.js';
import type { VerifierRule } from './rule.js';

/** The NET_BUFFER_LIST as a report shows it. */
export interface NblSnapshot {
  serial: number;
  pool: string;
  owner: string;
  nblFlags: number;
  status: number;
  netBuffers: { dataOffset: number; dataLength: number; currentMdlOffset: number; mdls: number[] }[];
  /** Non-zero OOB slots by NDIS_NET_BUFFER_LIST_INFO name. */
  oob: Record<string, string>;
}

/** A structured violation report. */
export interface ViolationReport {
  ruleId: string;
  title: string;
  family: string;
  severity: string;
  source: string;
  windowsCode: string | null;
  driver: string;
  object: string;
  call: string;
  message: string;
  nbl: NblSnapshot | null;
  /** Scheduler time (ms) when it happened. */
  timeMs: number;
}

const SLOT_NAMES: string[] = (() => {
  const names: string[] = new Array<string>(MAX_NET_BUFFER_LIST_INFO).fill('');
  for (const [k, v] of Object.entries(NDIS_NET_BUFFER_LIST_INFO)) {
    if (v < MAX_NET_BUFFER_LIST_INFO && names[v] === '') names[v] = k;
  }
  return names;
})();

/** Captures an NBL's layout and OOB for a report. */
export function snapshotNbl(nbl: NetBufferList, ownerName: string): NblSnapshot {
  const nbs: NblSnapshot['netBuffers'] = [];
  let count = 0;
  for (let nb = nbl.firstNetBuffer; nb !== null && count < 16; nb = nb.next, count++) {
    const mdls: number[] = [];
    let k = 0;
    for (let m = nb.mdlChain; m !== null && k < 32; m = m.next, k++) mdls.push(m.byteCount);
    nbs.push({ dataOffset: nb.dataOffset, dataLength: nb.dataLength, currentMdlOffset: nb.currentMdlOffset, mdls });
  }
  const oob: Record<string, string> = {};
  for (let i = 0; i < MAX_NET_BUFFER_LIST_INFO; i++) {
    const v = nbl.netBufferListInfo[i]!;
    if (v !== 0) oob[SLOT_NAMES[i]!] = `0x${v.toString(16)}`;
  }
  return {
    serial: nbl.serial,
    pool: nbl.ndisPoolHandle?.poolTag ?? 'none',
    owner: ownerName,
    nblFlags: nbl.nblFlags,
    status: nbl.status,
    netBuffers: nbs,
    oob,
  };
}

/** Builds a report. */
export function makeReport(rule: VerifierRule | undefined, ruleId: string, d: { driver: string; object: string; call: string; message: string }, nbl: NblSnapshot | null, timeMs: number): ViolationReport {
  return {
    ruleId,
    title: rule?.title ?? '(unknown rule)',
    family: rule?.family ?? 'unknown',
    severity: rule?.severity ?? 'violation',
    source: rule?.source ?? '',
    windowsCode: rule?.windowsCode ?? null,
    driver: d.driver,
    object: d.object,
    call: d.call,
    message: d.message,
    nbl,
    timeMs,
  };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).toUpperCase()}`;
}

/** Renders a report for people. */
export function renderReport(r: ViolationReport): string {
  const lines = [
    `NDIS verifier ${r.severity === 'advisory' ? 'advisory' : 'violation'} ${r.ruleId}: ${r.title}`,
    `  what:    ${r.message}`,
    `  driver:  ${r.driver}`,
    `  object:  ${r.object}`,
    `  in:      ${r.call} (at ${r.timeMs.toFixed(3)} ms)`,
  ];
  if (r.nbl !== null) {
    const n = r.nbl;
    lines.push(`  NBL #${n.serial} (pool '${n.pool}', held by ${n.owner}): NblFlags ${hex(n.nblFlags)}, Status ${hex(n.status)}`);
    n.netBuffers.forEach((nb, i) => lines.push(`    NB${i}: DataOffset ${nb.dataOffset}, DataLength ${nb.dataLength}, CurrentMdlOffset ${nb.currentMdlOffset}, MDLs [${nb.mdls.join(', ')}]`));
    const oob = Object.entries(n.oob);
    if (oob.length > 0) lines.push(`    OOB: ${oob.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  if (r.windowsCode !== null) lines.push(`  windows: ${r.windowsCode}`);
  if (r.source !== '') lines.push(`  source:  ${r.source}`);
  return lines.join('\n');
}
