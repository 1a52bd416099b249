/**
 * The Ethernet receive rules (RX-001..007): each broken by a miniport or filter that gets it wrong,
 * and the nearest legitimate indication not flagged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_NBL_FLAGS, NDIS_NET_BUFFER_LIST_INFO, NDIS_CSUM_RX, ieee8021QValue, NDIS_RECEIVE_FLAGS } from '../../src/nbl/index.js';
import { NDIS_HASH_TCP_IPV4, NdisHashFunctionToeplitz } from '../../src/offload/rss/hash-types.js';
import { RX } from '../../src/verifier/index.js';
import { advisories, assertClean, assertOnly, done, enableRss, frame, lab } from './lab.js';

const HDS = NDIS_NBL_FLAGS.HD_SPLIT;
const V4 = NDIS_NBL_FLAGS.IS_IPV4;
const V6 = NDIS_NBL_FLAGS.IS_IPV6;
const TCP = NDIS_NBL_FLAGS.IS_TCP;
const UDP = NDIS_NBL_FLAGS.IS_UDP;
const AT_HEADER = NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER;
const AT_PAYLOAD = NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD;
const HASH_INFO = NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo;
const HASH_VALUE = NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue;
const CSUM = NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo;
const VLAN = NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo;

// ---- RX-001: OOB the use requires ----

test('RX-001: with RSS on, a TCP/IPv4 frame indicated without hash information is caught', async () => {
  const l = await lab();
  await enableRss(l, NdisHashFunctionToeplitz | NDIS_HASH_TCP_IPV4);
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  assertOnly(l, RX.OOB_REQUIRED);
  await done(l);
});

test('RX-001 (legitimate): with RSS on, the same frame with hash value and info; an ARP frame without (not a hashed type)', async () => {
  const l = await lab();
  await enableRss(l, NdisHashFunctionToeplitz | NDIS_HASH_TCP_IPV4);
  l.nic.indicate([
    { bytes: frame('tcp4').bytes, info: [[HASH_VALUE, 0x1234abcd], [HASH_INFO, NdisHashFunctionToeplitz | NDIS_HASH_TCP_IPV4]] },
    { bytes: frame('arp').bytes },
  ]);
  assertClean(l);
  await done(l);
});

test('RX-001: checksum results that contradict themselves or the frame are caught', async () => {
  const cases: [string, number][] = [
    ['tcp4', NDIS_CSUM_RX.TcpChecksumSucceeded | NDIS_CSUM_RX.TcpChecksumFailed],
    ['udp4', NDIS_CSUM_RX.TcpChecksumSucceeded],
    ['tcp6', NDIS_CSUM_RX.IpChecksumSucceeded],
  ];
  for (const [name, value] of cases) {
    const l = await lab();
    l.nic.indicate([{ bytes: frame(name).bytes, info: [[CSUM, value]] }]);
    assertOnly(l, RX.OOB_REQUIRED, `(${name}, 0x${value.toString(16)})`);
    await done(l);
  }
});

test('RX-001 (legitimate): consistent checksum results; VLAN info with the tag removed from the frame', async () => {
  const l = await lab();
  l.nic.indicate([
    { bytes: frame('tcp4').bytes, info: [[CSUM, NDIS_CSUM_RX.TcpChecksumSucceeded | NDIS_CSUM_RX.IpChecksumSucceeded]] },
    { bytes: frame('udp4').bytes, info: [[CSUM, NDIS_CSUM_RX.UdpChecksumSucceeded | NDIS_CSUM_RX.IpChecksumSucceeded]] },
    { bytes: frame('tcp4').bytes, info: [[VLAN, ieee8021QValue(3, 100)]] },
  ]);
  assertClean(l);
  await done(l);
});

test('RX-001: a frame that keeps its 802.1Q tag while Ieee8021QNetBufferListInfo is set too is caught', async () => {
  const l = await lab();
  l.nic.indicate([{ bytes: frame('tcp4-vlan').bytes, info: [[VLAN, ieee8021QValue(3, 100)]] }]);
  assertOnly(l, RX.OOB_REQUIRED);
  await done(l);
});

// ---- RX-002: one NET_BUFFER per NBL ----

test('RX-002: an NBL with two NET_BUFFERs on the Ethernet receive path is caught (cheap and full)', async () => {
  for (const level of ['cheap', 'full'] as const) {
    const l = await lab({ verifier: { level } });
    l.nic.indicate([{ bytes: frame('udp4').bytes, extraNetBuffers: [frame('udp4').bytes] }]);
    assertOnly(l, RX.ONE_NET_BUFFER, level);
    await done(l);
  }
});

test('RX-002 (legitimate): two frames as a chain of two NBLs, one NET_BUFFER each', async () => {
  const l = await lab();
  l.nic.indicate([{ bytes: frame('udp4').bytes }, { bytes: frame('tcp4').bytes }]);
  assertClean(l);
  assert.equal(l.binding.received.length, 2);
  await done(l);
});

test('RX-002: a filter that originates a receive NBL with two NET_BUFFERs is caught, naming the filter', async () => {
  const l = await lab({ filter: { name: 'bundler' } });
  const g = l.fmod!;
  const a = g.pool.allocateNetBufferAndNetBufferList(0, 0, null, 0, 0)!;
  const b = g.pool.allocateNetBufferAndNetBufferList(0, 0, null, 0, 0)!;
  a.firstNetBuffer!.next = b.firstNetBuffer;
  a.sourceHandle = g.handle;
  l.ndis.fIndicateReceiveNetBufferLists(g.handle, a, 0, 1, NDIS_RECEIVE_FLAGS.RESOURCES);
  a.firstNetBuffer!.next = null;
  g.pool.freeNetBufferList(a);
  g.pool.freeNetBufferList(b);
  assertOnly(l, RX.ONE_NET_BUFFER);
  assert.equal(l.verifier.reports[0]!.driver, 'bundler');
  assert.equal(l.verifier.reports[0]!.object, l.fmod!.handle.name);
  await done(l);
});

// ---- RX-003 / RX-004: MDLs per NET_BUFFER by NDIS version ----

test('RX-003: an NDIS 6.0 miniport that indicates a frame in two MDLs is caught (cheap and full)', async () => {
  for (const level of ['cheap', 'full'] as const) {
    const l = await lab({ miniportMinor: 0, verifier: { level } });
    l.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [54] }]);
    assertOnly(l, RX.NDIS60_ONE_MDL, level);
    await done(l);
  }
});

test('RX-003 (legitimate): an NDIS 6.0 miniport with one MDL per frame; an NDIS 6.1 header-data split miniport with two', async () => {
  const l = await lab({ miniportMinor: 0 });
  l.nic.indicate([{ bytes: frame('tcp4').bytes }]);
  assertClean(l);
  await done(l);
  const l2 = await lab({ miniportMinor: 1 });
  l2.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [54], nblFlags: HDS | V4 | TCP | AT_PAYLOAD }]);
  assertClean(l2);
  assert.deepEqual(advisories(l2), []);
  await done(l2);
});

test('RX-004: an NDIS 6.1 miniport without header-data split that uses two MDLs gets an advisory, not a violation', async () => {
  const l = await lab({ miniportMinor: 1 });
  l.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [54] }]);
  assertClean(l);
  assert.deepEqual(advisories(l), [RX.MULTI_MDL_WITHOUT_HDS]);
  await done(l);
});

test('RX-004 (legitimate): one MDL per frame, or two with NDIS_NBL_FLAGS_HD_SPLIT, draw no advisory', async () => {
  const l = await lab({ miniportMinor: 1 });
  l.nic.indicate([
    { bytes: frame('tcp4').bytes },
    { bytes: frame('udp4').bytes, splitAt: [42], nblFlags: HDS | V4 | UDP | AT_PAYLOAD },
  ]);
  assertClean(l);
  assert.deepEqual(advisories(l), []);
  await done(l);
});

// ---- RX-005: no split in the middle of headers ----

test('RX-005: splits in the middle of the IP header, IPv4 options, AH, IPv6 extension headers and the TCP header are caught', async () => {
  const cases: [string, number][] = [
    ['tcp4', 20], // in the IPv4 header
    ['tcp4-options', 38], // in the IPv4 options
    ['tcp4-ah', 40], // in the AH header
    ['tcp6-ext', 60], // in the hop-by-hop header
    ['tcp4', 44], // in the TCP header
    ['tcp4-vlan', 15], // in the MAC header
  ];
  for (const [name, at] of cases) {
    const l = await lab();
    l.nic.indicate([{ bytes: frame(name).bytes, splitAt: [at], nblFlags: 0 }]);
    assertOnly(l, RX.SPLIT_INSIDE_HEADERS, `(${name} split at ${at})`);
    await done(l);
  }
});

test('RX-005 (legitimate): splits at header boundaries, after the TCP header, or with a first MDL holding the lookahead', async () => {
  const ok: [string, number, number][] = [
    ['tcp4', 54, 128], // after the TCP header
    ['tcp4', 34, 128], // between the IP and TCP headers
    ['tcp4-ah', 58, 128], // after AH, at the TCP header
    ['tcp6-ext', 62, 128], // between the hop-by-hop and destination options headers
    ['tcp6-ext', 60, 56], // inside the extension headers, but the first MDL holds the 56-byte lookahead
    ['tcp4', 200, 128], // inside the payload
  ];
  for (const [name, at, lookahead] of ok) {
    const l = await lab({ adapter: { lookahead } });
    l.nic.indicate([{ bytes: frame(name).bytes, splitAt: [at] }]);
    assertClean(l, `(${name} split at ${at}, lookahead ${lookahead})`);
    await done(l);
  }
});

// ---- RX-006: HDS flags exclusive and accurate ----

test('RX-006: contradictory or inaccurate header-data split flags are caught', async () => {
  const cases: [string, number, number[]][] = [
    ['tcp4', V4 | V6, []],
    ['tcp4', V4 | TCP | UDP, []],
    ['tcp4', TCP, []],
    ['udp4', V4 | TCP, []],
    ['tcp6', V4, []],
    ['tcp4', HDS | V4 | TCP | AT_HEADER, []], // split flags on a frame that is not split
    ['tcp4', V4 | TCP | AT_PAYLOAD, [54]], // SPLIT_AT without HD_SPLIT
    ['tcp4', HDS | V4 | TCP, [54]], // HD_SPLIT without saying where
  ];
  for (const [name, flags, splitAt] of cases) {
    const l = await lab();
    l.nic.indicate([{ bytes: frame(name).bytes, nblFlags: flags, splitAt }]);
    assertOnly(l, RX.HDS_FLAGS, `(${name} flags 0x${flags.toString(16)})`);
    await done(l);
  }
});

test('RX-006 (legitimate): accurate IS_* flags on frames that are not split', async () => {
  const l = await lab();
  l.nic.indicate([
    { bytes: frame('tcp4').bytes, nblFlags: V4 | TCP },
    { bytes: frame('udp4').bytes, nblFlags: V4 | UDP },
    { bytes: frame('tcp6').bytes, nblFlags: V6 | TCP },
    { bytes: frame('icmp4').bytes, nblFlags: V4 },
  ]);
  assertClean(l);
  await done(l);
});

// ---- RX-007: HDS split points ----

test('RX-007: a header-data split frame split away from the point its flags name, in three MDLs, or a fragment split at the payload is caught', async () => {
  const cases: [string, number, number[]][] = [
    ['tcp4', HDS | V4 | TCP | AT_PAYLOAD, [34]], // says payload, split at the TCP header
    ['tcp4', HDS | V4 | TCP | AT_HEADER, [54]], // says header, split at the payload
    ['tcp4', HDS | V4 | TCP | AT_PAYLOAD, [54, 300]], // three MDLs
    ['tcp4-frag-first', HDS | V4 | TCP | AT_PAYLOAD, [54]], // a fragment with the TCP header: header split only
    ['tcp6-frag-later', HDS | V6 | TCP | AT_PAYLOAD, [62]], // an IPv6 later fragment must not be split
    ['tcp4-vlan', HDS | V4 | TCP | AT_PAYLOAD, [58]], // the tag in the header buffer
  ];
  for (const [name, flags, splitAt] of cases) {
    const l = await lab();
    l.nic.indicate([{ bytes: frame(name).bytes, nblFlags: flags, splitAt }]);
    assertOnly(l, RX.HDS_SPLIT_POINT, `(${name} at ${splitAt.join(',')})`);
    await done(l);
  }
});

test('RX-007 (legitimate): split at the TCP payload, the UDP payload, the upper-layer header, an IPv4 later fragment at its data', async () => {
  const ok: [string, number, number][] = [
    ['tcp4', HDS | V4 | TCP | AT_PAYLOAD, 54],
    ['tcp4-timestamp', HDS | V4 | TCP | AT_PAYLOAD, 66],
    ['udp4', HDS | V4 | UDP | AT_PAYLOAD, 42],
    ['tcp6', HDS | V6 | TCP | AT_HEADER, 54],
    ['icmp4', HDS | V4 | AT_HEADER, 34],
    ['tcp4-frag-first', HDS | V4 | TCP | AT_HEADER, 34],
    ['tcp4-frag-later', HDS | V4 | TCP | AT_PAYLOAD, 34],
  ];
  for (const [name, flags, at] of ok) {
    const l = await lab();
    l.nic.indicate([{ bytes: frame(name).bytes, nblFlags: flags, splitAt: [at] }]);
    assertClean(l, `(${name} at ${at})`);
    await done(l);
  }
});

test('cheap level checks the head of each chain in constant time: the deep rules wait for full', async () => {
  const l = await lab({ verifier: { level: 'cheap' } });
  l.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [20] }]);
  assertClean(l, 'RX-005 is a full-level rule');
  await done(l);
});
