// Codecs of the offload OID structures (src/ndis/structs-offload.ts): field offsets of the x64
// layout checked byte by byte, round trips, and decoders that never throw on bad buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as S from '../../src/ndis/structs-offload.js';
import { emptyOffload } from '../../src/ndis/offload-types.js';
import { NDIS_STATUS } from '../../src/base/status.js';

function u32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}
function u16(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(off, true);
}

void test('NDIS_OFFLOAD: header, sizes per revision, and each member at its x64 offset', () => {
  const o = emptyOffload();
  o.checksum.ipv4Transmit.encapsulation = 2;
  o.checksum.ipv4Transmit.ipChecksum = 1;
  o.checksum.ipv4Transmit.tcpOptionsSupported = 1;
  o.checksum.ipv6Receive.udpChecksum = 1;
  o.lsoV1.ipv4.maxOffLoadSize = 0x10000;
  o.lsoV1.ipv4.ipOptions = 1;
  o.lsoV2.ipv4.maxOffLoadSize = 0x20000;
  o.lsoV2.ipv6.minSegmentCount = 3;
  o.lsoV2.ipv6.tcpOptionsSupported = 1;
  o.flags = 0x55;
  o.encapsulatedPacketTaskOffloadGre.lsoV2Supported = 0x3;
  o.encapsulatedPacketTaskOffloadGre.maxHeaderSizeSupported = 256;
  o.encapsulationTypes = 1;
  const b = S.encodeOffload(o, S.NDIS_OFFLOAD_REVISION_4);
  assert.deepEqual([b[0], b[1], u16(b, 2), b.length], [0xa7, 4, 177, 177]);
  assert.equal(u32(b, 4), 2);
  assert.equal(u32(b, 8), (1 << 8) | (1 << 2));
  assert.equal(u32(b, 32), 1 << 6);
  assert.equal(u32(b, 40), 0x10000);
  assert.equal(u32(b, 48), 1 << 2);
  assert.equal(u32(b, 84), 0x20000);
  assert.equal(u32(b, 100), 3);
  assert.equal(u32(b, 104), 1 << 2);
  assert.equal(u32(b, 108), 0x55);
  assert.equal(u32(b, 148), 0x3 << 8);
  assert.equal(u32(b, 152), 256);
  assert.equal(b[176], 1);
  assert.deepEqual(S.decodeOffload(b), o);
  assert.equal(S.encodeOffload(o, 1).length, 112);
  assert.equal(S.encodeOffload(o, 2).length, 144);
  assert.equal(S.encodeOffload(o, 3).length, 156);
  const r1 = S.decodeOffload(S.encodeOffload(o, 1));
  assert.ok(!S.isDecodeError(r1));
  assert.equal(r1.encapsulatedPacketTaskOffloadGre.maxHeaderSizeSupported, 0);
  assert.equal(S.decodeOffload(b.subarray(0, 100)), NDIS_STATUS.INVALID_LENGTH);
  const wrongType = b.slice();
  wrongType[0] = 0x80;
  assert.equal(S.decodeOffload(wrongType), NDIS_STATUS.INVALID_PARAMETER);
});

void test('NDIS_OFFLOAD_PARAMETERS: one byte per member, Flags at 16, revision 3 members at 22-25', () => {
  const p = { ...S.noChangeOffloadParameters(), ipv4Checksum: 4, tcpIpv4Checksum: 3, udpIpv6Checksum: 2, lsoV1: 1, lsoV2Ipv4: 2, lsoV2Ipv6: 1, flags: 0, encapsulatedPacketTaskOffload: 1, encapsulationTypes: 1 };
  const b = S.encodeOffloadParameters(p);
  assert.deepEqual([b[0], b[1], u16(b, 2), b.length], [0x80, 3, 26, 26]);
  assert.deepEqual(Array.from(b.subarray(4, 15)), [4, 3, 0, 0, 2, 1, 0, 2, 1, 0, 0]);
  assert.deepEqual([b[24], b[25]], [1, 1]);
  assert.deepEqual(S.decodeOffloadParameters(b), p);
  const r1 = S.decodeOffloadParameters(S.encodeOffloadParameters({ ...p, revision: 1 }));
  assert.ok(!S.isDecodeError(r1));
  assert.deepEqual([r1.revision, r1.encapsulatedPacketTaskOffload], [1, 0]);
  assert.equal(S.decodeOffloadParameters(b, 19), NDIS_STATUS.INVALID_LENGTH);
});

void test('NDIS_RECEIVE_SCALE_PARAMETERS: table and key at their offsets, CCHAR or PROCESSOR_NUMBER entries', () => {
  const key = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
  for (const revision of [1, 2, 3]) {
    const p: S.NdisReceiveScaleParameters = { revision, flags: 0x20, baseCpuNumber: 1, hashInformation: 0x301, indirectionTable: [0, 1, 1, 0, 3, 2, 1, 0], secretKey: key, defaultProcessor: revision >= 3 ? 2 : -1 };
    const b = S.encodeReceiveScaleParameters(p);
    assert.equal(b[0], 0x89);
    assert.equal(u16(b, 2), [0, 28, 40, 44][revision]);
    assert.equal(u16(b, 4), 0x20);
    assert.equal(u32(b, 8), 0x301);
    const entry = revision === 1 ? 1 : 4;
    assert.equal(u16(b, 12), 8 * entry);
    const tableOffset = u32(b, 16);
    assert.equal(b[tableOffset + 4 * entry + (entry === 4 ? 2 : 0)], 3);
    const keyOffset = u32(b, 24);
    assert.equal(u16(b, 20), 40);
    assert.deepEqual(b.subarray(keyOffset, keyOffset + 40), key);
    assert.deepEqual(S.decodeReceiveScaleParameters(b), p);
  }
  const good = S.encodeReceiveScaleParameters({ revision: 2, flags: 0, baseCpuNumber: 0, hashInformation: 0x101, indirectionTable: [0, 1], secretKey: key, defaultProcessor: -1 });
  const outside = good.slice();
  new DataView(outside.buffer).setUint32(24, 1000, true);
  assert.equal(S.decodeReceiveScaleParameters(outside), NDIS_STATUS.INVALID_PARAMETER);
  const ragged = good.slice();
  new DataView(ragged.buffer).setUint16(12, 7, true);
  assert.equal(S.decodeReceiveScaleParameters(ragged), NDIS_STATUS.INVALID_PARAMETER);
  // DISABLE_RSS needs neither table nor key.
  const off = S.decodeReceiveScaleParameters(S.encodeReceiveScaleParameters({ revision: 1, flags: 0x10, baseCpuNumber: 0, hashInformation: 0, indirectionTable: [], secretKey: new Uint8Array(0), defaultProcessor: -1 }));
  assert.ok(!S.isDecodeError(off));
  assert.equal(off.flags, 0x10);
});

void test('RSS capabilities, receive hash, HDS structures round-trip with their sizes', () => {
  const caps = { capabilitiesFlags: S.NDIS_RSS_CAPS.CLASSIFICATION_AT_DPC | S.NDIS_RSS_CAPS.HASH_TYPE_TCP_IPV4, numberOfInterruptMessages: 2, numberOfReceiveQueues: 4, numberOfIndirectionTableEntries: 128 };
  const cb = S.encodeReceiveScaleCapabilities(caps);
  assert.deepEqual([cb[0], cb[1], u16(cb, 2), u16(cb, 16)], [0x88, 2, 18, 128]);
  assert.deepEqual(S.decodeReceiveScaleCapabilities(cb), caps);
  const hp = { flags: 1, hashInformation: 0x1501, secretKey: Uint8Array.from({ length: 40 }, (_, i) => 255 - i) };
  assert.deepEqual(S.decodeReceiveHashParameters(S.encodeReceiveHashParameters(hp)), hp);
  const attrs = { hardwareCapabilities: 15, currentCapabilities: 1, hdSplitFlags: 1, backfillSize: 256, maxHeaderSize: 256 };
  const ab = S.encodeHdSplitAttributes(attrs);
  assert.deepEqual([ab[0], ab.length, u32(ab, 16)], [0xab, 24, 256]);
  assert.deepEqual(S.decodeHdSplitAttributes(ab), attrs);
  const pb = S.encodeHdSplitParameters({ hdSplitCombineFlags: 1 });
  assert.deepEqual([pb.length, u32(pb, 4)], [8, 1]);
  assert.deepEqual(S.decodeHdSplitParameters(pb), { hdSplitCombineFlags: 1 });
  const cc = { ...attrs, hdSplitCombineFlags: 1 };
  const ccb = S.encodeHdSplitCurrentConfig(cc);
  assert.deepEqual([ccb.length, u32(ccb, 16), u32(ccb, 24)], [28, 1, 256]);
  assert.deepEqual(S.decodeHdSplitCurrentConfig(ccb), cc);
  const enc = { ipv4: { enabled: 1, encapsulationType: 2, headerSize: 14 }, ipv6: { enabled: 2, encapsulationType: 2, headerSize: 14 } };
  const eb = S.encodeOffloadEncapsulation(enc);
  assert.deepEqual([eb[0], eb.length, u32(eb, 16)], [0xa8, 28, 2]);
  assert.deepEqual(S.decodeOffloadEncapsulation(eb), enc);
});

void test('receive filter structures: capabilities, queue parameters (names as IF_COUNTED_STRING), filters with field arrays', () => {
  const caps: S.NdisReceiveFilterCapabilities = { flags: 0, enabledFilterTypes: 1, enabledQueueTypes: 1, numQueues: 8, supportedQueueProperties: 2, supportedFilterTests: 1, supportedHeaders: 1, supportedMacHeaderFields: 9, maxMacHeaderFilters: 16, maxQueueGroups: 0, maxQueuesPerQueueGroup: 0, minLookaheadSplitSize: 0, maxLookaheadSplitSize: 0 };
  const cb = S.encodeReceiveFilterCapabilities(caps);
  assert.deepEqual([cb.length, u32(cb, 16), u32(cb, 36)], [84, 8, 16]);
  assert.deepEqual(S.decodeReceiveFilterCapabilities(cb), caps);
  const qp: S.NdisReceiveQueueParameters = { revision: 2, flags: 1, queueType: 1, queueId: 3, queueGroupId: 0, processorAffinity: 0b110, processorGroup: 0, numSuggestedReceiveBuffers: 100, msixTableEntry: 0, lookaheadSize: 0, vmName: 'VM one', queueName: 'queue Δ', portId: 7, interruptCoalescingDomainId: 0 };
  const qb = S.encodeReceiveQueueParameters(qp);
  assert.equal(qb.length, 0x444);
  assert.equal(u32(qb, 0x18), 0b110);
  assert.equal(u32(qb, 0x28), 100);
  assert.equal(u16(qb, 0x34), 12);
  assert.equal(u16(qb, 0x36), 'V'.charCodeAt(0));
  assert.equal(u32(qb, 0x43c), 7);
  assert.deepEqual(S.decodeReceiveQueueParameters(qb), qp);
  const fv = new Uint8Array(16);
  fv.set([2, 0, 0, 0, 0, 9]);
  const fp: S.NdisReceiveFilterParameters = { revision: 1, flags: 0, filterType: 1, queueId: 3, filterId: 0, requestedFilterIdBitCount: 0, maxCoalescingDelay: 0, vPortId: 0, fields: [{ flags: 1, frameHeader: 1, receiveFilterTest: 1, headerField: 1, fieldValue: fv, resultValue: new Uint8Array(16) }] };
  const fb = S.encodeReceiveFilterParameters(fp);
  const arr = u32(fb, 20);
  assert.deepEqual([u32(fb, 24), u32(fb, 28), u32(fb, arr + 4), fb[arr + 24 + 5]], [1, 56, 1, 9]);
  assert.deepEqual(S.decodeReceiveFilterParameters(fb), fp);
  const bad = fb.slice();
  new DataView(bad.buffer).setUint32(24, 50, true);
  assert.equal(S.decodeReceiveFilterParameters(bad), NDIS_STATUS.INVALID_PARAMETER);
  assert.deepEqual(S.decodeReceiveQueueFreeParameters(S.encodeReceiveQueueFreeParameters(3)), { flags: 0, queueId: 3 });
  assert.deepEqual(S.decodeReceiveFilterClearParameters(S.encodeReceiveFilterClearParameters(3, 4)), { flags: 0, queueId: 3, filterId: 4 });
  const ac = S.encodeReceiveQueueAllocationCompleteArray([{ flags: 0, queueId: 3, completionStatus: 0 }, { flags: 0, queueId: 4, completionStatus: NDIS_STATUS.FAILURE }]);
  const dec = S.decodeReceiveQueueAllocationCompleteArray(ac);
  assert.ok(!S.isDecodeError(dec));
  assert.deepEqual(dec.map((x) => [x.queueId, x.completionStatus]), [[3, 0], [4, NDIS_STATUS.FAILURE]]);
  assert.deepEqual(S.decodeReceiveQueueState(S.encodeReceiveQueueState({ flags: 0, queueId: 3, queueState: 3 })), { flags: 0, queueId: 3, queueState: 3 });
});

void test('every decoder returns a status, never throws, on any bytes', () => {
  const decoders = [
    S.decodeOffload,
    S.decodeOffloadParameters,
    S.decodeOffloadEncapsulation,
    S.decodeReceiveScaleCapabilities,
    S.decodeReceiveScaleParameters,
    S.decodeReceiveHashParameters,
    S.decodeHdSplitAttributes,
    S.decodeHdSplitParameters,
    S.decodeHdSplitCurrentConfig,
    S.decodeReceiveFilterCapabilities,
    S.decodeReceiveQueueParameters,
    S.decodeReceiveQueueFreeParameters,
    S.decodeReceiveFilterParameters,
    S.decodeReceiveFilterClearParameters,
    S.decodeReceiveQueueAllocationCompleteArray,
    S.decodeReceiveQueueState,
  ] as ((b: Uint8Array, n?: number) => unknown)[];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), fc.constantFrom(0x80, 0x88, 0x89, 0xa7, 0xa8, 0xab), fc.nat(4), (bytes, type, rev) => {
      if (bytes.length > 0) bytes[0] = type;
      if (bytes.length > 1) bytes[1] = rev;
      for (const d of decoders) {
        const r = d(bytes, bytes.length);
        assert.ok(typeof r === 'number' || typeof r === 'object');
      }
    }),
    { numRuns: 2000 },
  );
});
