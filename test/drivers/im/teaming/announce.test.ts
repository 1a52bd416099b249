import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  InterfaceAddresses,
  MAX_ANNOUNCED_ADDRESSES,
  buildGratuitousArp,
  buildUnsolicitedNeighborAdvert,
  decodeNetworkAddressList,
  encodeNetworkAddressList,
} from '../../../../src/drivers/im/index.js';
import { formatIp, parseIp, parseMac } from '../../../../src/wire/address.js';

interface Case {
  kind: 'arp' | 'na';
  mac: string;
  address: string;
  vlan: number;
  hex: string;
}

const cases = JSON.parse(readFileSync(new URL('../../../../../test/drivers/im/fixtures/announce.json', import.meta.url), 'utf8')) as Case[];

test('gratuitous ARPs and unsolicited neighbor advertisements are byte for byte what scapy builds', () => {
  assert.ok(cases.length >= 12);
  for (const c of cases) {
    const mac = parseMac(c.mac)!;
    const address = parseIp(c.address)!;
    const built = c.kind === 'arp' ? buildGratuitousArp(mac, address, c.vlan) : buildUnsolicitedNeighborAdvert(mac, address, c.vlan);
    assert.equal(Buffer.from(built).toString('hex'), c.hex, `${c.kind} ${c.address} vlan ${c.vlan}`);
  }
});

test('the team learns the addresses an interface announces in the ARP and ND messages it sends', () => {
  const mac = parseMac('02:00:5e:10:00:01')!;
  const a = new InterfaceAddresses();
  for (const c of cases) {
    const bytes = Buffer.from(c.hex, 'hex');
    a.learnFromFrame(bytes, 0, bytes.length, mac);
  }
  assert.deepEqual(a.ipv4.map(formatIp), ['192.0.2.7', '198.51.100.200']);
  assert.deepEqual(a.ipv6.map(formatIp), ['2001:db8::7', 'fe80::200:5eff:fe10:1']);
  // Another station's ARP (sender hardware address not ours) teaches nothing.
  const other = new InterfaceAddresses();
  const arp = buildGratuitousArp(parseMac('02:00:5e:10:00:99')!, parseIp('192.0.2.50')!);
  other.learnFromFrame(arp, 0, arp.length, mac);
  assert.equal(other.count, 0);
  // Truncated frames teach nothing and do not throw.
  for (let n = 0; n < arp.length; n++) other.learnFromFrame(arp, 0, n, parseMac('02:00:5e:10:00:99')!);
  assert.equal(other.count, 0);
  other.learnFromFrame(arp, 0, arp.length, parseMac('02:00:5e:10:00:99')!);
  assert.deepEqual(other.ipv4.map(formatIp), ['192.0.2.50']);
});

test('address lists refuse duplicates, unspecified and multicast addresses, and stop at the limit', () => {
  const a = new InterfaceAddresses();
  assert.equal(a.add(parseIp('0.0.0.0')!), false);
  assert.equal(a.add(parseIp('::')!), false);
  assert.equal(a.add(parseIp('ff02::1')!), false);
  assert.equal(a.add(parseIp('192.0.2.1')!), true);
  assert.equal(a.add(parseIp('192.0.2.1')!), false);
  for (let i = 2; i < 20; i++) a.add(parseIp(`192.0.2.${i}`)!);
  assert.equal(a.ipv4.length, MAX_ANNOUNCED_ADDRESSES);
  a.clearIpv4();
  assert.equal(a.count, 0);
});

test('NETWORK_ADDRESS_LIST (OID_GEN_NETWORK_LAYER_ADDRESSES) round-trips; malformed lists decode to null, never throw', () => {
  const addrs = [Uint8Array.of(192, 0, 2, 1), Uint8Array.of(198, 51, 100, 7)];
  const enc = encodeNetworkAddressList(addrs);
  assert.equal(enc.length, 6 + 2 * 20);
  assert.deepEqual(decodeNetworkAddressList(enc, enc.length), addrs);
  assert.deepEqual(decodeNetworkAddressList(encodeNetworkAddressList([]), 6), []);
  assert.equal(decodeNetworkAddressList(enc, enc.length - 1), null, 'truncated');
  const neg = enc.slice();
  neg[3] = 0x80;
  assert.equal(decodeNetworkAddressList(neg, neg.length), null, 'negative count');
  // An entry of another protocol type is skipped.
  const mixed = enc.slice();
  mixed[6 + 2] = 5;
  assert.deepEqual(decodeNetworkAddressList(mixed, mixed.length), [addrs[1]]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const r = decodeNetworkAddressList(b, b.length);
      return r === null || Array.isArray(r);
    }),
    { numRuns: 2000 },
  );
});
