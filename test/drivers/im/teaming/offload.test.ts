import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intersectOffloads, sameOffload } from '../../../../src/drivers/im/index.js';
import { NDIS_ENCAPSULATION, emptyOffload, type NdisOffload } from '../../../../src/ndis/index.js';

/** A member that offloads IPv4 checksums, LSOv2 up to `max` bytes from `minSeg` segments, with `encap`. */
function member(opts: { tcp4: boolean; udp4: boolean; ip4: boolean; tcp6: boolean; max: number; minSeg: number; encap: number }): NdisOffload {
  const o = emptyOffload();
  for (const dir of [o.checksum.ipv4Transmit, o.checksum.ipv4Receive]) {
    dir.encapsulation = opts.encap;
    dir.tcpChecksum = opts.tcp4 ? 1 : 0;
    dir.udpChecksum = opts.udp4 ? 1 : 0;
    dir.ipChecksum = opts.ip4 ? 1 : 0;
    dir.ipOptionsSupported = 1;
    dir.tcpOptionsSupported = 1;
  }
  o.checksum.ipv6Transmit.tcpChecksum = opts.tcp6 ? 1 : 0;
  o.checksum.ipv6Transmit.encapsulation = opts.encap;
  o.lsoV2.ipv4 = { encapsulation: opts.encap, maxOffLoadSize: opts.max, minSegmentCount: opts.minSeg };
  return o;
}

test('a team offers what every member offers: flags ANDed, smallest sizes, largest minimum segment count', () => {
  const a = member({ tcp4: true, udp4: true, ip4: true, tcp6: true, max: 65536, minSeg: 2, encap: NDIS_ENCAPSULATION.IEEE_802_3 | NDIS_ENCAPSULATION.IEEE_802_3_P_AND_Q_IN_OOB });
  const b = member({ tcp4: true, udp4: false, ip4: true, tcp6: false, max: 32000, minSeg: 3, encap: NDIS_ENCAPSULATION.IEEE_802_3 });
  const t = intersectOffloads([a, b])!;
  assert.equal(t.checksum.ipv4Transmit.tcpChecksum, 1);
  assert.equal(t.checksum.ipv4Transmit.udpChecksum, 0);
  assert.equal(t.checksum.ipv4Receive.ipChecksum, 1);
  assert.equal(t.checksum.ipv6Transmit.tcpChecksum, 0);
  assert.equal(t.checksum.ipv4Transmit.encapsulation, NDIS_ENCAPSULATION.IEEE_802_3);
  assert.deepEqual(t.lsoV2.ipv4, { encapsulation: NDIS_ENCAPSULATION.IEEE_802_3, maxOffLoadSize: 32000, minSegmentCount: 3 });
  // Neither input changed.
  assert.equal(a.checksum.ipv4Transmit.udpChecksum, 1);
  assert.equal(b.lsoV2.ipv4.minSegmentCount, 3);
  // Order does not matter; one member is itself.
  assert.ok(sameOffload(intersectOffloads([b, a]), t));
  assert.ok(sameOffload(intersectOffloads([a]), a));
});

test('a member without offload attributes offers nothing; no attributes at all gives none', () => {
  const a = member({ tcp4: true, udp4: true, ip4: true, tcp6: true, max: 65536, minSeg: 2, encap: 2 });
  assert.ok(sameOffload(intersectOffloads([a, null]), emptyOffload()));
  assert.equal(intersectOffloads([null, null]), null);
  assert.equal(intersectOffloads([]), null);
  assert.ok(sameOffload(null, null));
  assert.ok(!sameOffload(a, null));
});
