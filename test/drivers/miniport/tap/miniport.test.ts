/**
 * The TAP miniport against the Linux kernel: the adapter's TAP interface is moved into a network
 * namespace the test creates, where the kernel has an address on it. A responder over a small
 * protocol driver answers the kernel's ARP, neighbor solicitations and pings; the adapter resolves
 * the kernel's address with a hand-built ARP request; OID_GEN_STATISTICS counts what crossed; the
 * link goes down when the interface is deleted; and where TAP cannot work the error says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Ndis, NdisOidRequest, OID, NDIS_STATUS, MediaConnectState, decodeStatistics } from '../../../../src/ndis/index.js';
import { TapMiniportDriver } from '../../../../src/drivers/miniport/tap/index.js';
import { tapUnavailableReason } from '../../../../src/drivers/miniport/tap/native.js';
import { BROADCAST_MAC, Responder, arpFrame, ip4, ip6, mac } from '../../../interop/lib/frames.js';
import { L2Protocol } from '../../../interop/lib/l2proto.js';
import { Netns, haveCommand, netnsSkipReason, waitUntil } from '../../../interop/lib/netns.js';

const OUR_MAC = mac('02:00:00:00:77:02');
const skipReason = netnsSkipReason() ?? (tapUnavailableReason()?.message ?? null) ?? (haveCommand('ping') ? null : 'ping is not installed (iputils-ping)');

interface SkipContext {
  skip(message?: string): void;
}

function cannotRun(t: SkipContext): boolean {
  if (skipReason === null) return false;
  console.log(`skipped: ${skipReason}`);
  t.skip(skipReason);
  return true;
}

/** A runtime with one TAP adapter whose interface sits in `ns` as 10.77.0.1/24 and fd77::1/64. */
async function tapInNamespace(ns: Netns): Promise<{ ndis: Ndis; drv: TapMiniportDriver; l2: L2Protocol; ifname: string }> {
  const ndis = new Ndis({ mode: 'realtime' });
  const drv = new TapMiniportDriver(ndis);
  const l2 = new L2Protocol(ndis);
  await l2.register();
  const m = await drv.addAdapter('tap0', { ifname: 'ndm%d', mac: '02:00:00:00:77:02', up: false });
  const ifname = drv.adapter(m).device.name;
  execFileSync('ip', ['link', 'set', 'dev', ifname, 'netns', ns.name]);
  ns.ip('addr', 'add', '10.77.0.1/24', 'dev', ifname);
  ns.ip('-6', 'addr', 'add', 'fd77::1/64', 'dev', ifname, 'nodad');
  ns.ip('link', 'set', 'dev', ifname, 'up');
  return { ndis, drv, l2, ifname };
}

test('the kernel pings the adapter over IPv4 and IPv6; a responder answers through NDIS', async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create('tapm');
  const lab = await tapInNamespace(ns).catch((e: unknown) => {
    ns.remove();
    throw e;
  });
  try {
    const responder = new Responder(OUR_MAC, ip4('10.77.0.2'), ip6('fd77::2'));
    lab.l2.binding('tap0').respondWith(responder);
    const v4 = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.77.0.2']);
    assert.equal(v4.code, 0, `ping 10.77.0.2 failed: ${v4.stdout}${v4.stderr}`);
    assert.match(v4.stdout, /3 received/);
    const v6 = await ns.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd77::2']);
    assert.equal(v6.code, 0, `ping fd77::2 failed: ${v6.stdout}${v6.stderr}`);
    assert.match(v6.stdout, /3 received/);
    assert.ok(responder.counts.arpReplies >= 1);
    assert.equal(responder.counts.echoReplies, 3);
    assert.ok(responder.counts.neighborAdvertisements >= 1);
    assert.equal(responder.counts.echo6Replies, 3);
    // The kernel's neighbor tables now hold the adapter's MAC address.
    assert.match(ns.ip('neigh', 'show', '10.77.0.2'), /02:00:00:00:77:02/);
    // OID_GEN_STATISTICS counts the frames both ways (at least the echo requests and replies).
    const m = lab.ndis.adapter('tap0');
    const req = NdisOidRequest.query(OID.GEN_STATISTICS, 256);
    assert.equal(await lab.ndis.requestOid(m, req), NDIS_STATUS.SUCCESS);
    const st = decodeStatistics(req.informationBuffer!)!;
    assert.ok(st.ifHCInUcastPkts >= 6, `received unicast ${st.ifHCInUcastPkts}`);
    assert.ok(st.ifHCOutUcastPkts >= 6, `sent unicast ${st.ifHCOutUcastPkts}`);
    assert.equal(st.ifInErrors, 0);
  } finally {
    await lab.ndis.shutdown();
    ns.remove();
  }
});

test('the adapter resolves the kernel with a hand-built ARP request; the reply carries the interface MAC', async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create('tapm');
  const lab = await tapInNamespace(ns).catch((e: unknown) => {
    ns.remove();
    throw e;
  });
  try {
    const b = lab.l2.binding('tap0');
    const kernelMac = ns.linkAddress(lab.ifname);
    const reply = b.waitFor((f) => f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 2);
    b.send(arpFrame(1, BROADCAST_MAC, OUR_MAC, ip4('10.77.0.2'), new Uint8Array(6), ip4('10.77.0.1')));
    const f = await reply;
    assert.deepEqual(f.subarray(22, 28), mac(kernelMac), 'sender hardware address is the kernel interface');
    assert.deepEqual(f.subarray(28, 32), ip4('10.77.0.1'));
    assert.deepEqual(f.subarray(32, 38), OUR_MAC, 'target is us');
    assert.deepEqual(f.subarray(0, 6), OUR_MAC, 'sent to us directly');
  } finally {
    await lab.ndis.shutdown();
    ns.remove();
  }
});

test('deleting the interface takes the link down (NDIS_STATUS_LINK_STATE); sends then fail MEDIA_DISCONNECTED', async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create('tapm');
  const lab = await tapInNamespace(ns).catch((e: unknown) => {
    ns.remove();
    throw e;
  });
  try {
    const m = lab.ndis.adapter('tap0');
    assert.equal(m.mediaConnectState, MediaConnectState.Connected);
    ns.ip('link', 'del', 'dev', lab.ifname);
    await waitUntil('the link to go down', () => m.mediaConnectState === MediaConnectState.Disconnected);
    const a = lab.drv.adapter(m);
    assert.equal(a.lastError?.code, 'ERR_NDIS_TAP_IO');
    const sentBefore = a.stats.ifOutDiscards;
    lab.l2.binding('tap0').send(arpFrame(1, BROADCAST_MAC, OUR_MAC, ip4('10.77.0.2'), new Uint8Array(6), ip4('10.77.0.1')));
    await waitUntil('the refused send', () => a.stats.ifOutDiscards === sentBefore + 1);
  } finally {
    await lab.ndis.shutdown();
    ns.remove();
  }
});

test('without CAP_NET_ADMIN, adding a TAP adapter fails with TapUnavailableError saying what to do; the rest of ndis-ts works', async (t) => {
  if (cannotRun(t)) return;
  if (!haveCommand('setpriv')) {
    t.skip('setpriv is not installed');
    return;
  }
  const child = fileURLToPath(new URL('../../../interop/lib/tap-unavailable-child.js', import.meta.url));
  const r = spawnSync('setpriv', ['--inh-caps=-net_admin', '--bounding-set=-net_admin', process.execPath, child], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim()) as { name: string; code: string; message: string; virtualFrames: number };
  assert.equal(out.name, 'TapUnavailableError');
  assert.equal(out.code, 'ERR_NDIS_TAP_PERMISSION');
  assert.match(out.message, /CAP_NET_ADMIN/);
  assert.equal(out.virtualFrames, 1, 'the virtual miniport still carries frames');
});
