/** `ndis demo`: the main job, on the built-in default. */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import {
  DataPointer,
  NetBufferListPool,
  advanceNetBufferDataStart,
  allocateCloneNetBufferList,
  allocateFragmentNetBufferList,
  freeCloneNetBufferList,
  freeFragmentNetBufferList,
  getDataBuffer,
  ndisAllocateMdl,
  ndisFreeMdl,
  retreatNetBufferDataStart,
  type NetBufferList,
} from '../../nbl/index.js';

function layout(nbl: NetBufferList): string {
  const lines: string[] = [];
  let i = 0;
  for (let nb = nbl.firstNetBuffer; nb !== null; nb = nb.next, i++) {
    const mdls: string[] = [];
    for (let m = nb.mdlChain; m !== null; m = m.next) mdls.push(`${m === nb.currentMdl ? '*' : ''}${m.byteCount}`);
    lines.push(`    NB${i}: DataOffset=${nb.dataOffset} DataLength=${nb.dataLength} CurrentMdlOffset=${nb.currentMdlOffset} MDLs=[${mdls.join(', ')}]`);
  }
  return lines.join('\n');
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the built-in demonstration',
  async run(args) {
    const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, strict: true });
    if (values.help === true) {
      process.stdout.write('usage: ndis demo [--json]\n\nShows the NET_BUFFER architecture at work.\n');
      return 0;
    }
    const out: string[] = [];
    const pool = new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'Demo' });
    const memory = new Uint8Array(1514 + 64);
    const frame = memory.subarray(64);
    frame.fill(0xab);
    const mdl = ndisAllocateMdl(memory);
    const nbl = pool.allocateNetBufferAndNetBufferList(0, 0, mdl, 64 + 14 + 20 + 20, 1460)!;
    out.push('NdisAllocateNetBufferAndNetBufferList: 1460 bytes of payload, headers not yet written:', layout(nbl));
    retreatNetBufferDataStart(nbl.firstNetBuffer!, 54, 0, null);
    out.push('NdisRetreatNetBufferDataStart(54): TCP + IPv4 + Ethernet headers claimed from the backfill:', layout(nbl));
    retreatNetBufferDataStart(nbl.firstNetBuffer!, 100, 32, null);
    out.push('NdisRetreatNetBufferDataStart(100): more than the backfill left, so NDIS chained a new MDL at the head:', layout(nbl));
    const storage = new Uint8Array(128);
    const p = getDataBuffer(nbl.firstNetBuffer!, 128, storage, 1, 0, new DataPointer())!;
    out.push(`NdisGetDataBuffer(128): the 128 bytes span two MDLs, so they were ${p.bytes === storage ? 'copied into Storage' : 'mapped in place'}.`);
    advanceNetBufferDataStart(nbl.firstNetBuffer!, 100, true, null);
    out.push('NdisAdvanceNetBufferDataStart(100, FreeMdl): the NDIS-allocated MDL is freed again:', layout(nbl));
    const clone = allocateCloneNetBufferList(nbl, null, null, 0)!;
    out.push(`NdisAllocateCloneNetBufferList: parent ChildRefCount=${nbl.childRefCount}; the clone shares the data:`, layout(clone));
    const frags = allocateFragmentNetBufferList(nbl, null, null, 54, 500, 54, 0)!;
    out.push('NdisAllocateFragmentNetBufferList(StartOffset 54, MaximumLength 500, DataOffsetDelta 54): three segments with header room:', layout(frags));
    freeFragmentNetBufferList(frags, 54);
    freeCloneNetBufferList(clone, 0);
    pool.freeNetBufferList(nbl);
    ndisFreeMdl(mdl);
    const s = pool.statistics();
    out.push(`pool '${s.poolTag}': ${s.allocations} allocations, ${s.outstanding} outstanding.`);
    pool.free();
    if (values.json === true) process.stdout.write(`${JSON.stringify({ ok: s.outstanding === 0, nblsOutstanding: s.outstanding })}\n`);
    else process.stdout.write(`${out.join('\n')}\n`);
    return s.outstanding === 0 ? 0 : 1;
  },
};
