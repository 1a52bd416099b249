// OID_GEN_RECEIVE_HASH on the virtual miniport: receive hash calculation without RSS. Sets go to
// the miniport (NDIS_RECEIVE_HASH_PARAMETERS with the key appended); queries are answered by NDIS
// from the sets the miniport accepted. Hashed frames carry the hash value, type and function but
// stay on the default queue; receive hashing and RSS exclude each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_STATUS, NdisOidRequest, OID, type MiniportBlock, type NdisStatus } from '../../../../src/ndis/index.js';
import {
  NDIS_RECEIVE_HASH_FLAG as F,
  decodeReceiveHashParameters,
  encodeReceiveHashParameters,
  encodeReceiveScaleParameters,
  isDecodeError,
} from '../../../../src/ndis/structs-offload.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../../../src/offload/rss/toeplitz.js';
import * as H from '../../../../src/offload/rss/hash-types.js';
import { byName, fixtures, hex } from '../../../offload/fixtures.js';
import { MAC_B, offloadLab, settle, type Lab } from './helpers.js';

const KEY = Uint8Array.from(RSS_VERIFICATION_KEY);
const TOEPLITZ = H.NdisHashFunctionToeplitz;

function hashParams(flags: number, hashInformation: number, key: Uint8Array = KEY): Uint8Array {
  return encodeReceiveHashParameters({ flags, hashInformation, secretKey: key });
}

async function query(lab: Lab, adapter: string): Promise<{ flags: number; hashInformation: number; key: number[] }> {
  const q = NdisOidRequest.query(OID.GEN_RECEIVE_HASH, 256);
  assert.equal(await lab.probe.oid(adapter, q), NDIS_STATUS.SUCCESS);
  const p = decodeReceiveHashParameters(q.written());
  assert.ok(!isDecodeError(p));
  return { flags: p.flags, hashInformation: p.hashInformation, key: Array.from(p.secretKey) };
}

function set(lab: Lab, adapter: string, body: Uint8Array): Promise<NdisStatus> {
  return lab.probe.oid(adapter, NdisOidRequest.set(OID.GEN_RECEIVE_HASH, body));
}

/** The IPv4/TCP RSS fixture, addressed to MAC_B, with source port `sport`. */
function tcpFrame(sport: number): Uint8Array {
  const f = hex(byName(fixtures.rss, 'ipv4-tcp').hex);
  f.set([0x02, 0x00, 0x5e, 0x10, 0x00, 0x02], 0);
  f[34] = sport >> 8;
  f[35] = sport & 0xff;
  return f;
}

function rssOn(): Uint8Array {
  return encodeReceiveScaleParameters({ revision: 2, flags: 0, baseCpuNumber: 0, hashInformation: H.NDIS_HASH_TCP_IPV4 | TOEPLITZ, indirectionTable: [0, 1, 2, 3], secretKey: KEY, defaultProcessor: -1 });
}

/** Records every OID that reaches the miniport of `m`. */
function spyOnMiniportOids(m: MiniportBlock): number[] {
  const seen: number[] = [];
  const chars = m.driver.chars as unknown as { oidRequest: (ctx: unknown, r: NdisOidRequest) => NdisStatus };
  const original = chars.oidRequest;
  chars.oidRequest = (ctx, r) => {
    seen.push(r.oid);
    return original(ctx, r);
  };
  return seen;
}

void test('OID_GEN_RECEIVE_HASH: enabled by a set, hash in every NBL on the default queue, settings read back from NDIS, changed with the UNCHANGED flags, turned off', async () => {
  const lab = await offloadLab({ Processor: 1 });
  try {
    const seen = spyOnMiniportOids(lab.b);
    assert.deepEqual(await query(lab, 'b'), { flags: 0, hashInformation: 0, key: [] }, 'off until a set is accepted');
    const info = H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4 | TOEPLITZ;
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH, info)), NDIS_STATUS.SUCCESS);
    assert.deepEqual(await query(lab, 'b'), { flags: F.ENABLE_HASH, hashInformation: info, key: Array.from(KEY) });
    const hasher = new ToeplitzHasher(KEY);
    const rx = lab.probe.binding('b').received;
    for (let i = 0; i < 32; i++) lab.probe.send('a', tcpFrame(2000 + i * 13));
    await settle(lab);
    assert.equal(rx.length, 32);
    rx.forEach((r, i) => {
      assert.equal(r.hashValue, hasher.hashIpv4Ports(tcpFrame(2000 + i * 13), 26, 30, 34) >>> 0, `frame ${i}: the 4-tuple hash`);
      assert.equal(r.hashInfo, H.NDIS_HASH_TCP_IPV4 | TOEPLITZ);
      assert.equal(r.processor, 1, 'no steering: the default queue');
    });
    assert.equal(lab.adapterB.stats.receiveHashed, 32);
    assert.equal(lab.adapterB.stats.rssHashed, 0);
    // New hash information, same key.
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH | F.HASH_KEY_UNCHANGED, H.NDIS_HASH_IPV4 | TOEPLITZ, new Uint8Array(0))), NDIS_STATUS.SUCCESS);
    assert.deepEqual(await query(lab, 'b'), { flags: F.ENABLE_HASH, hashInformation: H.NDIS_HASH_IPV4 | TOEPLITZ, key: Array.from(KEY) });
    lab.probe.send('a', tcpFrame(7));
    await settle(lab);
    assert.equal(rx.at(-1)!.hashValue, hasher.hashIpv4(tcpFrame(7), 26, 30) >>> 0, 'the 2-tuple hash');
    assert.equal(rx.at(-1)!.hashInfo, H.NDIS_HASH_IPV4 | TOEPLITZ);
    // A new key, same hash information.
    const key2 = KEY.map((x, i) => x ^ (i * 11));
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH | F.HASH_INFO_UNCHANGED, 0, key2)), NDIS_STATUS.SUCCESS);
    lab.probe.send('a', tcpFrame(7));
    await settle(lab);
    assert.equal(rx.at(-1)!.hashValue, new ToeplitzHasher(key2).hashIpv4(tcpFrame(7), 26, 30) >>> 0);
    assert.deepEqual((await query(lab, 'b')).key, Array.from(key2));
    // Off: no hash in the NBL.
    assert.equal(await set(lab, 'b', hashParams(F.HASH_INFO_UNCHANGED | F.HASH_KEY_UNCHANGED, 0, new Uint8Array(0))), NDIS_STATUS.SUCCESS);
    lab.probe.send('a', tcpFrame(7));
    await settle(lab);
    assert.deepEqual([rx.at(-1)!.hashValue, rx.at(-1)!.hashInfo], [0, 0]);
    assert.equal((await query(lab, 'b')).flags, 0);
    assert.ok(seen.includes(OID.GEN_RECEIVE_HASH), 'sets reach the miniport');
    assert.equal(seen.filter((o) => o === OID.GEN_RECEIVE_HASH).length, 4, 'queries never do');
  } finally {
    await lab.ndis.shutdown();
  }
});

void test('OID_GEN_RECEIVE_HASH: bad parameters refused without changing anything; receive hashing and RSS exclude each other', async () => {
  const lab = await offloadLab();
  try {
    const info = H.NDIS_HASH_TCP_IPV4 | TOEPLITZ;
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH, info, KEY.subarray(0, 16))), NDIS_STATUS.INVALID_PARAMETER, 'a 16-byte key');
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH, H.NDIS_HASH_TCP_IPV4 | 2)), NDIS_STATUS.INVALID_PARAMETER, 'not Toeplitz');
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH, H.NDIS_HASH_IPV4 | 0x00200000 | TOEPLITZ)), NDIS_STATUS.INVALID_PARAMETER, 'an unknown hash type bit');
    assert.equal(await set(lab, 'b', new Uint8Array(12)), NDIS_STATUS.INVALID_LENGTH);
    assert.equal((await query(lab, 'b')).flags, 0, 'still off');
    assert.equal(lab.adapterB.receiveHash.enabled, false);
    // Receive hashing on: RSS cannot be enabled; off again: RSS can; then receive hashing cannot.
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH, info)), NDIS_STATUS.SUCCESS);
    assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssOn())), NDIS_STATUS.NOT_SUPPORTED);
    assert.equal(lab.adapterB.rss!.enabled, false);
    assert.equal(await set(lab, 'b', hashParams(F.HASH_INFO_UNCHANGED | F.HASH_KEY_UNCHANGED, 0, new Uint8Array(0))), NDIS_STATUS.SUCCESS);
    assert.equal(await lab.probe.oid('b', NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssOn())), NDIS_STATUS.SUCCESS);
    assert.equal(await set(lab, 'b', hashParams(F.ENABLE_HASH, info)), NDIS_STATUS.NOT_SUPPORTED);
    assert.equal((await query(lab, 'b')).flags, 0, 'NDIS saw no accepted enable');
  } finally {
    await lab.ndis.shutdown();
  }
});

void test('OID_GEN_RECEIVE_HASH with RssWorkers: the workers compute the same hashes', async () => {
  const lab = await offloadLab({ Processor: 1 });
  try {
    await lab.virt.addAdapter('c', { NetworkAddress: MAC_B, RssWorkers: 2, Processor: 1 });
    const info = H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4 | TOEPLITZ;
    for (const name of ['b', 'c']) assert.equal(await set(lab, name, hashParams(F.ENABLE_HASH, info)), NDIS_STATUS.SUCCESS);
    for (let i = 0; i < 64; i++) lab.probe.send('a', tcpFrame(3000 + i));
    await settle(lab);
    const b = lab.probe.binding('b').received.map((r) => [r.hashValue, r.hashInfo, r.processor]);
    const c = lab.probe.binding('c').received.map((r) => [r.hashValue, r.hashInfo, r.processor]);
    assert.equal(b.length, 64);
    assert.deepEqual(c, b);
    const adapterC = lab.virt.adapter([...lab.ndis.adapters].find((m) => m.name === 'c')!);
    assert.equal(adapterC.stats.rssWorkerFrames, 64);
    assert.equal(adapterC.stats.receiveHashed, 64);
  } finally {
    await lab.ndis.shutdown();
  }
});
