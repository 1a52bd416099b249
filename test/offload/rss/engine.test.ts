// The RSS engine: OID_GEN_RECEIVE_SCALE_PARAMETERS semantics (flags, DISABLE_RSS, rejection keeps
// the old state), the indirection table and its mapping onto receive queues, NBL hash information.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_RSS_PARAM_FLAG } from '../../../src/ndis/constants.js';
import {
  RssClassification,
  RssEngine,
  RssParametersResult,
  setNetBufferListHashInfo,
  type RssParameters,
} from '../../../src/offload/rss/engine.js';
import { RSS_VERIFICATION_KEY } from '../../../src/offload/rss/toeplitz.js';
import * as H from '../../../src/offload/rss/hash-types.js';
import {
  NET_BUFFER_LIST_GET_HASH_FUNCTION,
  NET_BUFFER_LIST_GET_HASH_TYPE,
  NET_BUFFER_LIST_GET_HASH_VALUE,
} from '../../../src/nbl/index.js';
import { byName, fixtures, hex, nblFor, testPool } from '../fixtures.js';

const ALL = H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_IPV6 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_UDP_IPV6 | H.NDIS_HASH_IPV6_EX | H.NDIS_HASH_TCP_IPV6_EX | H.NDIS_HASH_UDP_IPV6_EX;

function params(p: Partial<RssParameters>): RssParameters {
  return {
    flags: 0,
    baseCpuNumber: 0,
    hashInformation: H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4 | H.NdisHashFunctionToeplitz,
    indirectionTable: [0, 1, 2, 3],
    secretKey: Uint8Array.from(RSS_VERIFICATION_KEY),
    defaultProcessor: -1,
    ...p,
  };
}

const v4tcp = hex(byName(fixtures.rss, 'ipv4-tcp').hex);
const out = new RssClassification();

void test('RSS stays off until parameters are set, and steers by hash & (entries - 1)', () => {
  const e = new RssEngine(ALL, 4, 4);
  assert.equal(e.classify(v4tcp, 0, v4tcp.length, out), false);
  assert.equal(out.queue, -1);
  assert.equal(e.setParameters(params({})), RssParametersResult.Ok);
  assert.equal(e.classify(v4tcp, 0, v4tcp.length, out), true);
  assert.equal(out.hash, 0x51ccc178);
  assert.equal(out.hashType, H.NDIS_HASH_TCP_IPV4);
  assert.equal(out.processor, [0, 1, 2, 3][0x51ccc178 & 3]);
  assert.equal(out.queue, out.processor);
});

void test('a rejected set keeps the previous parameters', () => {
  const e = new RssEngine(H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4, 4, 4);
  assert.equal(e.setParameters(params({ indirectionTable: [3, 3] })), RssParametersResult.Ok);
  const cases: [Partial<RssParameters>, number][] = [
    [{ hashInformation: H.NDIS_HASH_IPV4 | 2 }, RssParametersResult.BadHashFunction],
    [{ hashInformation: H.NDIS_HASH_TCP_IPV6 | 1 }, RssParametersResult.BadHashType],
    [{ hashInformation: H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | 1 }, RssParametersResult.BadHashType],
    [{ indirectionTable: [0, 1, 2] }, RssParametersResult.BadTableSize],
    [{ indirectionTable: [] }, RssParametersResult.BadTableSize],
    [{ indirectionTable: new Array<number>(256).fill(0) }, RssParametersResult.BadTableSize],
    [{ indirectionTable: [0, 9] }, RssParametersResult.BadProcessor],
    [{ secretKey: new Uint8Array(16) }, RssParametersResult.BadKeySize],
  ];
  for (const [p, why] of cases) {
    assert.equal(e.setParameters(params(p)), why);
    assert.deepEqual(e.indirectionTable(), [3, 3]);
    assert.equal(e.enabled, true);
  }
});

void test('*_UNCHANGED flags keep table, key and hash information; DISABLE_RSS resets everything', () => {
  const e = new RssEngine(ALL, 8, 8);
  const key = Uint8Array.from({ length: 40 }, (_, i) => i * 7);
  assert.equal(e.setParameters(params({ indirectionTable: [5, 6, 7, 4], secretKey: key })), RssParametersResult.Ok);
  const before = (e.classify(v4tcp, 0, v4tcp.length, out), out.hash);
  assert.equal(
    e.setParameters(params({ flags: NDIS_RSS_PARAM_FLAG.ITABLE_UNCHANGED | NDIS_RSS_PARAM_FLAG.HASH_KEY_UNCHANGED, indirectionTable: [], secretKey: new Uint8Array(0), hashInformation: H.NDIS_HASH_IPV4 | 1 })),
    RssParametersResult.Ok,
  );
  assert.deepEqual(e.indirectionTable(), [5, 6, 7, 4]);
  e.classify(v4tcp, 0, v4tcp.length, out);
  assert.equal(out.hashType, H.NDIS_HASH_IPV4);
  assert.notEqual(out.hash, before);
  assert.equal(e.setParameters(params({ flags: NDIS_RSS_PARAM_FLAG.HASH_INFO_UNCHANGED | NDIS_RSS_PARAM_FLAG.ITABLE_UNCHANGED, hashInformation: 0 })), RssParametersResult.Ok);
  e.classify(v4tcp, 0, v4tcp.length, out);
  assert.equal(out.hashType, H.NDIS_HASH_IPV4);
  assert.equal(out.hash, 0x323e8fc2); // the verification key again
  assert.equal(e.setParameters(params({ flags: NDIS_RSS_PARAM_FLAG.DISABLE_RSS, indirectionTable: [] })), RssParametersResult.Ok);
  assert.equal(e.enabled, false);
  assert.deepEqual(e.indirectionTable(), []);
  // After DISABLE_RSS the next set starts from the initial state: a table is required again.
  assert.equal(e.setParameters(params({ flags: NDIS_RSS_PARAM_FLAG.ITABLE_UNCHANGED })), RssParametersResult.BadTableSize);
  // Hash function 0 also disables.
  assert.equal(e.setParameters(params({})), RssParametersResult.Ok);
  assert.equal(e.setParameters(params({ hashInformation: H.NDIS_HASH_IPV4 })), RssParametersResult.Ok);
  assert.equal(e.enabled, false);
});

void test('distinct processors beyond the hardware queues share queues', () => {
  const e = new RssEngine(ALL, 8, 2);
  assert.equal(e.setParameters(params({ indirectionTable: [4, 5, 6, 7, 4, 5, 6, 7] })), RssParametersResult.Ok);
  assert.equal(e.queueCount, 2);
  assert.deepEqual(Array.from(e.queueProcessor.subarray(0, 2)), [4, 5]);
  const seen = new Set<number>();
  for (const f of fixtures.rss) {
    const b = hex(f.hex);
    if (e.classify(b, 0, b.length, out)) {
      assert.ok(out.queue === 0 || out.queue === 1);
      assert.equal(out.processor, e.indirectionTable()[out.hash & 7]);
      seen.add(out.queue);
    }
  }
  assert.equal(seen.size, 2);
});

void test('the hash value, type and function are stored in the NBL, and cleared without a hash', () => {
  const pool = testPool('Rss');
  const e = new RssEngine(ALL, 4, 4);
  e.setParameters(params({}));
  const nbl = nblFor(pool, v4tcp, [20]);
  assert.equal(e.classifyNetBuffer(nbl.firstNetBuffer!, out), true);
  setNetBufferListHashInfo(nbl, out);
  assert.equal(NET_BUFFER_LIST_GET_HASH_VALUE(nbl), 0x51ccc178);
  assert.equal(NET_BUFFER_LIST_GET_HASH_TYPE(nbl), H.NDIS_HASH_TCP_IPV4);
  assert.equal(NET_BUFFER_LIST_GET_HASH_FUNCTION(nbl), H.NdisHashFunctionToeplitz);
  const arp = hex(byName(fixtures.rss, 'arp').hex);
  assert.equal(e.classify(arp, 0, arp.length, out), false);
  setNetBufferListHashInfo(nbl, out);
  assert.equal(NET_BUFFER_LIST_GET_HASH_VALUE(nbl), 0);
  assert.equal(NET_BUFFER_LIST_GET_HASH_TYPE(nbl), 0);
  assert.equal(NET_BUFFER_LIST_GET_HASH_FUNCTION(nbl), 0);
});
