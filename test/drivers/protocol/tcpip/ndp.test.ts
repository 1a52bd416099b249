// Neighbor Discovery (RFC 4861) and address autoconfiguration (RFC 4862) on one host, with
// scapy-made frames on the lab adapter: duplicate address detection and its failure, answers to
// solicitations, message validity, resolution with NS/NA, multicast groups set with
// OID_802_3_MULTICAST_LIST, and SLAAC from a router advertisement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ND_NEIGHBOR_SOLICIT, ND_ROUTER_SOLICIT } from '../../../../src/wire/icmpv6.js';
import { OID } from '../../../../src/ndis/index.js';
import { labHost, sentOfType } from './lab.js';
import { PEER_MAC, fx, fxExpect, hexOf } from './fixtures.js';

const macHex = (m: Uint8Array): string => Buffer.from(m).toString('hex');

void test('DAD: each new IPv6 address is probed from :: to its solicited-node group, then becomes preferred', async () => {
  const { ndis, adapter, stack } = await labHost({ configure: false });
  try {
    stack.configure('lab', { ipv6: ['fd00::1/64'] });
    const iface = stack.interface('lab');
    assert.deepEqual(iface.info().addresses.map((a) => a.state), ['tentative', 'tentative']);
    await stack.ready('lab');
    assert.deepEqual(iface.info().addresses.map((a) => `${a.address} ${a.state}`), ['fe80::1a:b0ff:fe00:1/64 preferred', 'fd00::1/64 preferred']);
    const probes = sentOfType(adapter, 0x86dd, 58).filter((f) => f[54] === ND_NEIGHBOR_SOLICIT);
    assert.equal(probes.length, 2);
    assert.ok(probes.some((p) => hexOf(p) === hexOf(fx('dad-ns-expected'))), 'the probe for fd00::1 is the one scapy built');
    assert.equal(stack.counters.neighbor.dadSucceeded, 2);
    // The groups the host listens to: all-nodes and the solicited-node group of its addresses.
    assert.ok(adapter.oidsSet.includes(OID.P802_3_MULTICAST_LIST));
    assert.deepEqual(adapter.multicast.map(macHex).sort(), ['333300000001', '3333ff000001']);
    assert.equal(adapter.packetFilter, 0x0b, 'directed | multicast | broadcast');
  } finally {
    await ndis.shutdown();
  }
});

void test('DAD: an advertisement for a tentative address makes it duplicate; it is never used as a source', async () => {
  const { ndis, adapter, stack } = await labHost({ configure: false });
  try {
    stack.configure('lab', { ipv6: ['fd00::1/64'] });
    adapter.inject(fx('na-claiming-us'));
    const fd = stack.interface('lab').info().addresses.find((a) => a.address.startsWith('fd00::1'));
    assert.equal(fd?.state, 'duplicate');
    assert.equal(stack.counters.neighbor.dadConflicts, 1);
    await stack.ready('lab');
    // fd00::/64 is on-link but no usable address of that prefix remains: the link-local one is chosen.
    assert.equal(stack.paths.get(Uint8Array.from(Buffer.from('fd000000000000000000000000000099', 'hex'))).hasSource, true);
    const src = stack.paths.get(Uint8Array.from(Buffer.from('fd000000000000000000000000000099', 'hex'))).source;
    assert.equal(Buffer.from(src).toString('hex'), 'fe80000000000000001ab0fffe000001');
  } finally {
    await ndis.shutdown();
  }
});

void test('answers a neighbor solicitation with the advertisement scapy built, and learns the solicitor', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    adapter.inject(fx('ns-for-us'));
    const na = sentOfType(adapter, 0x86dd, 58);
    assert.equal(na.length, 1);
    assert.equal(hexOf(na[0]!), hexOf(fxExpect('ns-for-us')));
    const e = stack.neighbors.list().find((n) => n.address === 'fe80::99');
    assert.equal(e?.mac, PEER_MAC);
    // Learnt as STALE (RFC 4861 7.2.3); sending the advertisement to it moved it to DELAY (7.3.3).
    assert.equal(e?.state, 'delay');
  } finally {
    await ndis.shutdown();
  }
});

void test('a solicitation with hop limit 64 fails RFC 4861 validation: no answer, counted', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    adapter.inject(fx('ns-for-us-hoplimit-64'));
    assert.equal(sentOfType(adapter, 0x86dd).length, 0);
    assert.equal(stack.statistics().interfaces[0]!.drops['invalid Neighbor Discovery message'], 1);
  } finally {
    await ndis.shutdown();
  }
});

void test('resolution: the multicast solicitation is the one scapy built; the advertisement releases the waiting packet', async () => {
  const { ndis, adapter, stack } = await labHost();
  try {
    const u = stack.udp.bind(0);
    u.send('hello', 'fd00::99', 7);
    const ns = sentOfType(adapter, 0x86dd, 58);
    assert.equal(ns.length, 1);
    assert.equal(hexOf(ns[0]!), hexOf(fx('ns-expected')));
    adapter.inject(fx('na-from-peer'));
    const udp = sentOfType(adapter, 0x86dd, 17);
    assert.equal(udp.length, 1);
    assert.equal(hexOf(udp[0]!.subarray(0, 6)), PEER_MAC.replace(/:/g, ''));
    assert.equal(stack.neighbors.list().find((n) => n.address === 'fd00::99')?.state, 'reachable');
    u.close();
  } finally {
    await ndis.shutdown();
  }
});

void test('SLAAC: router solicitations go out; the advertisement gives an EUI-64 address, a default route, an on-link prefix and the MTU', async () => {
  const { ndis, adapter, stack } = await labHost({ configure: false });
  try {
    stack.configure('lab', { slaac: true });
    await ndis.sleep(1100);
    const rs = sentOfType(adapter, 0x86dd, 58).filter((f) => f[54] === ND_ROUTER_SOLICIT);
    assert.ok(rs.length >= 1);
    assert.equal(hexOf(rs[0]!.subarray(38, 54)), 'ff020000000000000000000000000002', 'to all-routers');
    adapter.inject(fx('ra'));
    await stack.ready('lab');
    const iface = stack.interface('lab');
    const slaac = iface.info().addresses.find((a) => a.origin === 'router-advertisement');
    assert.equal(slaac?.address, '2001:db8:1:0:1a:b0ff:fe00:1/64');
    assert.equal(slaac?.state, 'preferred');
    const routes = stack.routes.list().filter((r) => r.origin === 'router-advertisement');
    assert.deepEqual(routes.map((r) => `${r.destination} via ${r.gateway ?? 'on-link'}`).sort(), ['2001:db8:1::/64 via on-link', '::/0 via fe80::99']);
    assert.equal(iface.mtuV6, 1400);
    assert.equal(stack.neighbors.list().find((n) => n.address === 'fe80::99')?.router, true);
    // Router solicitation stops once a router answered.
    const before = sentOfType(adapter, 0x86dd, 58).filter((f) => f[54] === ND_ROUTER_SOLICIT).length;
    await ndis.sleep(10_000);
    assert.equal(sentOfType(adapter, 0x86dd, 58).filter((f) => f[54] === ND_ROUTER_SOLICIT).length, before);
    // The default route carries traffic to other networks through the router.
    assert.equal(stack.routes.lookup('2001:db8:99::1')?.gateway, 'fe80::99');
  } finally {
    await ndis.shutdown();
  }
});

void test('router advertisement lifetimes: the route and the address expire', async () => {
  const { ndis, adapter, stack } = await labHost({ configure: false });
  try {
    stack.configure('lab', { slaac: true });
    const ra = fx('ra');
    // Router lifetime 2 s (offset 14+40+6), prefix valid 3 s and preferred 1 s (prefix option at the end).
    ra.set([0, 2], 14 + 40 + 6);
    const p = ra.length - 32;
    ra.set([0, 0, 0, 3, 0, 0, 0, 1], p + 4);
    // Fix the ICMPv6 checksum for the changed fields.
    const { internetChecksum, pseudoHeaderSum } = await import('../../../../src/wire/checksum.js');
    const icmp = 54;
    ra[icmp + 2] = 0;
    ra[icmp + 3] = 0;
    const c = internetChecksum(ra, icmp, ra.length - icmp, pseudoHeaderSum(ra.slice(22, 38), ra.slice(38, 54), 58, ra.length - icmp));
    ra[icmp + 2] = c >> 8;
    ra[icmp + 3] = c & 0xff;
    const t0 = ndis.scheduler.nowMs();
    adapter.inject(ra);
    assert.ok(stack.routes.lookup('2001:db8:99::1') !== null);
    await ndis.sleep(t0 + 2500 - ndis.scheduler.nowMs());
    assert.equal(stack.routes.lookup('2001:db8:99::1'), null, 'default route gone after 2 s');
    assert.equal(stack.interface('lab').info().addresses.find((a) => a.origin === 'router-advertisement')?.state, 'deprecated');
    await ndis.sleep(t0 + 3100 - ndis.scheduler.nowMs());
    assert.equal(stack.interface('lab').info().addresses.find((a) => a.origin === 'router-advertisement'), undefined, 'address gone after 3 s');
    assert.equal(stack.routes.lookup('2001:db8:1::5'), null, 'the on-link prefix went with it');
  } finally {
    await ndis.shutdown();
  }
});
