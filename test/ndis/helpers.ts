/** Builders for runtime tests: a hub of virtual adapters with the passthrough filter and ndisprot. */
import { Ndis, type NdisOptions, type MiniportBlock } from '../../src/ndis/index.js';
import { VirtualMiniportDriver } from '../../src/drivers/miniport/virtual/index.js';
import { PassthroughFilter, type PassthroughOptions } from '../../src/drivers/filter/passthrough/index.js';
import { NdisProt, NDISPROT_ETHERTYPE } from '../../src/drivers/protocol/ndisprot/index.js';

export interface Lab {
  ndis: Ndis;
  virt: VirtualMiniportDriver;
  prot: NdisProt;
  filters: PassthroughFilter[];
  a: MiniportBlock;
  b: MiniportBlock;
}

/** Two adapters (a, b) on one hub, `filterCount` passthrough filters, and ndisprot bound to both. */
export async function twoHosts(options: NdisOptions = {}, filterOptions: PassthroughOptions[] = [{}]): Promise<Lab> {
  const ndis = new Ndis(options);
  const virt = new VirtualMiniportDriver(ndis);
  const filters: PassthroughFilter[] = [];
  for (const [i, fo] of filterOptions.entries()) {
    const f = new PassthroughFilter(ndis, { name: `pt${i}`, ...fo });
    await f.register();
    filters.push(f);
  }
  const prot = new NdisProt(ndis);
  await prot.register();
  const a = await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a' });
  const b = await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b' });
  return { ndis, virt, prot, filters, a, b };
}

/** An Ethernet frame from `src` to `dst` with the ndisprot EtherType and `payload`. */
export function frame(dst: Uint8Array, src: Uint8Array, payload: Uint8Array | string, etherType = NDISPROT_ETHERTYPE): Uint8Array {
  const p = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const f = new Uint8Array(14 + p.length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(p, 14);
  return f;
}

export const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
