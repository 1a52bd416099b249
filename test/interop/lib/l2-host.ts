/**
 * Test support, run as a child process (inside a network namespace, `ip netns exec`): one ndis-ts
 * host at layer 2 — a VXLAN adapter, optionally the capture filter, and the responder protocol
 * answering ARP, neighbor solicitations and pings for its addresses. It talks JSON lines:
 *
 *   stdout  {"event":"ready",...}  {"event":"arp-reply",...}  {"event":"stats",...}  {"event":"error",...}
 *   stdin   "arp <ipv4>"  (send an ARP request, report the reply)   "stop"  (report stats, shut down, exit)
 *
 *   node l2-host.js '<json config>'
 */
import { createInterface } from 'node:readline';
import { Ndis } from '../../../src/ndis/index.js';
import { VxlanMiniportDriver, type VxlanOptions } from '../../../src/drivers/miniport/vxlan/index.js';
import { CaptureFilter } from '../../../src/drivers/filter/capture/index.js';
import { formatMac } from '../../../src/wire/index.js';
import { BROADCAST_MAC, Responder, arpFrame, ip4, ip6, mac } from './frames.js';
import { L2Protocol } from './l2proto.js';

/** The child's configuration (argv[2]). */
export interface L2HostConfig {
  vxlan: VxlanOptions;
  mac: string;
  ip4?: string;
  ip6?: string;
  capture?: string;
}

function say(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as L2HostConfig;
  const ndis = new Ndis({ mode: 'realtime' });
  const capture = config.capture === undefined ? null : new CaptureFilter(ndis, { path: config.capture });
  if (capture !== null) await capture.register();
  const l2 = new L2Protocol(ndis);
  await l2.register();
  const drv = new VxlanMiniportDriver(ndis);
  const m = await drv.addAdapter('vxlan0', { ...config.vxlan, mac: config.mac });
  const adapter = drv.adapter(m);
  const binding = l2.binding('vxlan0');
  const ours = mac(config.mac);
  const responder = new Responder(ours, config.ip4 === undefined ? null : ip4(config.ip4), config.ip6 === undefined ? null : ip6(config.ip6));
  binding.respondWith(responder);
  say('ready', { local: adapter.vtep.local, mtu: adapter.mtu, sourcePorts: adapter.vtep.rings.map((r) => r.sourcePort) });

  const lines = createInterface({ input: process.stdin });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const s = adapter.stats;
    say('stats', {
      responder: responder.counts,
      datagramsReceived: s.datagramsReceived,
      garbage: [...s.garbage],
      wrongVni: s.wrongVni,
      runts: s.runts,
      oversize: s.oversize,
      rcvFiltered: s.rcvFiltered,
      inUcast: s.ifHCInUcastPkts,
      inMulticast: s.ifHCInMulticastPkts,
      inBroadcast: s.ifHCInBroadcastPkts,
      outUcast: s.ifHCOutUcastPkts,
      outBroadcast: s.ifHCOutBroadcastPkts,
      flooded: s.flooded,
      fdb: adapter.fdb.list(),
      captured: capture?.packets ?? 0,
      captureError: capture?.error?.message ?? null,
    });
    await ndis.shutdown();
    capture?.close();
    lines.close();
    say('stopped');
  };
  lines.on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'stop') void stop();
    else if (cmd === 'arp' && arg !== undefined && config.ip4 !== undefined) {
      const target = ip4(arg);
      binding
        .waitFor((f) => f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 2 && f[28] === target[0] && f[29] === target[1] && f[30] === target[2] && f[31] === target[3])
        .then(
          (f) => say('arp-reply', { ip: arg, mac: formatMac(f, 22), to: formatMac(f, 0) }),
          (e: unknown) => say('error', { message: String(e) }),
        );
      binding.send(arpFrame(1, BROADCAST_MAC, ours, ip4(config.ip4), new Uint8Array(6), target));
    }
  });
  lines.on('close', () => void stop());
}

main().catch((e: unknown) => {
  say('error', { message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
});
