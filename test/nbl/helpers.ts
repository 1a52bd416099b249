/** Builders shared by the NBL tests. */
import type { NetBufferListPool} from '../../src/nbl/index.js';
import { ndisAllocateMdl, type Mdl, type NetBufferList } from '../../src/nbl/index.js';

/** An MDL chain over `data` cut at the given sizes (the last MDL takes the rest). */
export function mdlChainOver(data: Uint8Array, cuts: readonly number[]): Mdl {
  let off = 0;
  let head: Mdl | null = null;
  let tail: Mdl | null = null;
  const sizes = [...cuts, data.length - cuts.reduce((a, b) => a + b, 0)];
  for (const size of sizes) {
    const m = ndisAllocateMdl(data, off, size);
    off += size;
    if (tail === null) head = m;
    else tail.next = m;
    tail = m;
  }
  return head!;
}

/** An NBL with one NET_BUFFER over `frame` split into MDLs at `cuts`, with `backfill` unused bytes in front. */
export function nblOver(pool: NetBufferListPool, frame: Uint8Array, cuts: readonly number[] = [], backfill = 0): NetBufferList {
  const data = new Uint8Array(backfill + frame.length);
  data.set(frame, backfill);
  const chain = mdlChainOver(data, backfill > 0 ? [backfill, ...cuts] : cuts);
  const nbl = pool.allocateNetBufferAndNetBufferList(0, 0, chain, backfill, frame.length);
  if (nbl === null) throw new Error('allocation failed');
  return nbl;
}
