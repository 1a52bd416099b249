// Checksum offload: receive validation of right and damaged checksums (scapy frames), transmit
// computation against scapy's checksums, the configuration masks, and NET_BUFFERs over many MDLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CSUM,
  CSUM_ALL,
  ChecksumScratch,
  ChecksumTxResult,
  checksumConfigFromOffload,
  computeTransmitChecksums,
  fillTransmitChecksums,
  validateChecksums,
  validateReceiveChecksums,
} from '../../../src/offload/checksum/index.js';
import { FrameLayout, parseFrame } from '../../../src/offload/layout.js';
import { NDIS_CSUM_RX, NDIS_CSUM_TX, NDIS_NET_BUFFER_LIST_INFO, csumTxValue, netBufferData } from '../../../src/nbl/index.js';
import { emptyOffload } from '../../../src/ndis/offload-types.js';
import { byName, fixtures, hex, nblFor, testPool, toHex } from '../fixtures.js';

const R = NDIS_CSUM_RX;
const layout = new FrameLayout();

function rx(bytes: Uint8Array, mask = CSUM_ALL): number {
  parseFrame(bytes, 0, bytes.length, layout);
  return validateChecksums(bytes, layout, mask);
}

// What a NIC validating everything reports for each scapy frame with right checksums.
const GOOD: Record<string, number> = {
  'ipv4-tcp': R.IpChecksumSucceeded | R.TcpChecksumSucceeded,
  'ipv4-udp': R.IpChecksumSucceeded | R.UdpChecksumSucceeded,
  'ipv4-options-tcp-options': R.IpChecksumSucceeded | R.TcpChecksumSucceeded,
  'ipv6-tcp': R.TcpChecksumSucceeded,
  'ipv6-udp': R.UdpChecksumSucceeded,
  'ipv6-ext-udp': R.UdpChecksumSucceeded,
  'ipv6-rh2-tcp': R.TcpChecksumSucceeded,
  'ipv4-udp-odd-length': R.IpChecksumSucceeded | R.UdpChecksumSucceeded,
  'ipv4-icmp': R.IpChecksumSucceeded,
  'ipv4-tcp-first-fragment': R.IpChecksumSucceeded,
  'ipv4-tcp-later-fragment': R.IpChecksumSucceeded,
  'vlan-ipv4-tcp': R.IpChecksumSucceeded | R.TcpChecksumSucceeded,
  'ipv4-udp-no-checksum': R.IpChecksumSucceeded,
};

void test('right checksums: the Succeeded bits, and none for checks that do not apply', () => {
  for (const f of fixtures.checksum) {
    const want = GOOD[f.name];
    assert.notEqual(want, undefined, `no expectation for ${f.name}`);
    assert.equal(rx(hex(f.good)), want, f.name);
  }
});

void test('a damaged checksum sets its Failed bit and leaves the other checks succeeded', () => {
  for (const f of fixtures.checksum) {
    const good = GOOD[f.name]!;
    for (const [kind, h] of Object.entries(f.bad)) {
      const bits = rx(hex(h));
      if (kind === 'ip') {
        assert.equal(bits, (good & ~R.IpChecksumSucceeded) | R.IpChecksumFailed, `${f.name} ip`);
      } else if (kind === 'tcp') {
        assert.equal(bits, (good & ~R.TcpChecksumSucceeded) | R.TcpChecksumFailed, `${f.name} tcp`);
      } else {
        assert.equal(bits, (good & ~R.UdpChecksumSucceeded) | R.UdpChecksumFailed, `${f.name} udp`);
      }
    }
  }
});

void test('the receive mask decides what is validated', () => {
  const v4tcp = hex(byName(fixtures.checksum, 'ipv4-tcp').good);
  assert.equal(rx(v4tcp, 0), 0);
  assert.equal(rx(v4tcp, CSUM.Ipv4Header), R.IpChecksumSucceeded);
  assert.equal(rx(v4tcp, CSUM.Tcp4), R.TcpChecksumSucceeded);
  assert.equal(rx(v4tcp, CSUM.Tcp6 | CSUM.Udp4), 0);
  // Options the configuration does not cover: left to the stack.
  const opts = hex(byName(fixtures.checksum, 'ipv4-options-tcp-options').good);
  assert.equal(rx(opts, CSUM_ALL & ~CSUM.Ipv4Options), 0);
  assert.equal(rx(opts, CSUM_ALL & ~CSUM.Tcp4Options), R.IpChecksumSucceeded);
  const ext = hex(byName(fixtures.checksum, 'ipv6-ext-udp').good);
  assert.equal(rx(ext, CSUM_ALL & ~CSUM.Ipv6Extensions), 0);
});

void test('an IPv6 UDP datagram with a zero checksum fails; over IPv4 it is not checked', () => {
  const f = hex(byName(fixtures.checksum, 'ipv6-udp').good);
  parseFrame(f, 0, f.length, layout);
  f[layout.l4Offset + 6] = 0;
  f[layout.l4Offset + 7] = 0;
  assert.equal(rx(f), R.UdpChecksumFailed);
});

function txInfo(f: { ipv4: boolean; name: string; tcpHeaderOffset: number }): number {
  const l4 = f.name.includes('udp') ? NDIS_CSUM_TX.UdpChecksum : f.name.includes('tcp') && !f.name.includes('fragment') ? NDIS_CSUM_TX.TcpChecksum : 0;
  return csumTxValue((f.ipv4 ? NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IpHeaderChecksum : NDIS_CSUM_TX.IsIPv6) | l4, l4 === NDIS_CSUM_TX.TcpChecksum ? f.tcpHeaderOffset : 0);
}

void test('transmit: checksums computed over frames with zeroed fields equal scapy\'s', () => {
  for (const f of fixtures.checksum) {
    if (f.name.includes('no-checksum')) continue;
    const b = hex(f.zeroed);
    parseFrame(b, 0, b.length, layout);
    assert.equal(fillTransmitChecksums(b, layout, txInfo(f), 0, CSUM_ALL), ChecksumTxResult.Ok, f.name);
    assert.equal(toHex(b), f.good, f.name);
  }
});

void test('transmit: nothing is done without IsIPv4/IsIPv6, disabled checksums are left alone, wrong info is reported', () => {
  const f = byName(fixtures.checksum, 'ipv4-tcp');
  const b = hex(f.zeroed);
  parseFrame(b, 0, b.length, layout);
  assert.equal(fillTransmitChecksums(b, layout, NDIS_CSUM_TX.TcpChecksum, 0, CSUM_ALL), ChecksumTxResult.NotRequested);
  assert.equal(toHex(b), f.zeroed);
  assert.equal(fillTransmitChecksums(b, layout, txInfo(f), 0, CSUM.Ipv4Header), ChecksumTxResult.NotEnabled);
  assert.equal(rx(b), R.IpChecksumSucceeded | R.TcpChecksumFailed);
  assert.equal(fillTransmitChecksums(b, layout, csumTxValue(NDIS_CSUM_TX.IsIPv6 | NDIS_CSUM_TX.TcpChecksum, 0), 0, CSUM_ALL), ChecksumTxResult.InfoMismatch);
  assert.equal(fillTransmitChecksums(b, layout, csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum, f.tcpHeaderOffset + 4), 0, CSUM_ALL), ChecksumTxResult.InfoMismatch);
  assert.equal(fillTransmitChecksums(b, layout, csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.UdpChecksum, 0), 0, CSUM_ALL), ChecksumTxResult.InfoMismatch);
});

void test('NET_BUFFER level: any MDL layout gives scapy\'s bytes, and the OOB receive bits are stored', () => {
  const pool = testPool('Csum');
  const scratch = new ChecksumScratch();
  for (const name of ['ipv4-tcp', 'ipv6-udp', 'ipv4-udp-odd-length', 'ipv6-rh2-tcp']) {
    const f = byName(fixtures.checksum, name);
    const zeroed = hex(f.zeroed);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }), (cuts) => {
        const total = cuts.reduce((a, c) => a + c, 0);
        const use = total < zeroed.length ? cuts : [];
        const nbl = nblFor(pool, zeroed, use);
        nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = txInfo(f);
        assert.equal(computeTransmitChecksums(nbl, CSUM_ALL, scratch), ChecksumTxResult.Ok);
        assert.equal(toHex(netBufferData(nbl.firstNetBuffer!)), f.good);
        const bits = validateReceiveChecksums(nbl, CSUM_ALL, scratch);
        assert.equal(bits, GOOD[name]);
        assert.equal(nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo], bits);
        pool.freeNetBufferList(nbl);
      }),
      { numRuns: 60 },
    );
  }
});

void test('configuration masks follow the NDIS_OFFLOAD checksum matrix', () => {
  const o = emptyOffload();
  assert.deepEqual(checksumConfigFromOffload(o, true), { transmit: 0, receive: 0 });
  o.checksum.ipv4Transmit.ipChecksum = 1;
  o.checksum.ipv4Transmit.tcpChecksum = 1;
  o.checksum.ipv6Receive.udpChecksum = 1;
  o.checksum.ipv6Receive.ipExtensionHeadersSupported = 1;
  o.encapsulatedPacketTaskOffloadGre.receiveChecksumOffloadSupported = 1;
  assert.deepEqual(checksumConfigFromOffload(o, true), { transmit: CSUM.Ipv4Header | CSUM.Tcp4, receive: CSUM.Udp6 | CSUM.Ipv6Extensions | CSUM.Encapsulated });
  assert.deepEqual(checksumConfigFromOffload(o, false), { transmit: CSUM.Ipv4Header | CSUM.Tcp4, receive: CSUM.Udp6 | CSUM.Ipv6Extensions });
});

void test('random frames never make validation throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom(0x0800, 0x86dd), (rest, type) => {
      const b = new Uint8Array(14 + rest.length);
      b[12] = type >> 8;
      b[13] = type & 0xff;
      b.set(rest, 14);
      if (rest.length > 0) b[14] = type === 0x0800 ? 0x45 : 0x60;
      const bits = rx(b);
      assert.ok(bits >= 0 && bits < 1 << 9);
    }),
    { numRuns: 2000 },
  );
});
