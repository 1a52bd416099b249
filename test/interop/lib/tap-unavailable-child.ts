/**
 * Test support, run without CAP_NET_ADMIN: tries to add a TAP adapter (which must fail with a
 * TapUnavailableError), then shows the rest of ndis-ts working by passing a frame between two
 * virtual adapters. Prints one JSON line.
 */
import { Ndis } from '../../../src/ndis/index.js';
import { TapMiniportDriver } from '../../../src/drivers/miniport/tap/index.js';
import { VirtualMiniportDriver } from '../../../src/drivers/miniport/virtual/index.js';
import { NdisProt } from '../../../src/drivers/protocol/ndisprot/index.js';

const ndis = new Ndis({ mode: 'realtime' });
const tap = new TapMiniportDriver(ndis);
let failure: { name: string; code: string; message: string } = { name: 'none', code: 'none', message: 'the TAP adapter was added' };
try {
  await tap.addAdapter('tap0', { ifname: 'ndu%d' });
} catch (e) {
  const err = e as { name: string; code: string; message: string };
  failure = { name: err.name, code: err.code, message: err.message };
}
const virt = new VirtualMiniportDriver(ndis);
const prot = new NdisProt(ndis, { readTimeoutMs: 5000 });
await prot.register();
const a = await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a' });
await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b' });
const f = new Uint8Array(60);
f.set([2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x88, 0xb5]);
await prot.open(a.name).write(f);
const got = await prot.open('b').read();
await ndis.shutdown();
process.stdout.write(`${JSON.stringify({ ...failure, virtualFrames: got.length === 60 ? 1 : 0 })}\n`);
