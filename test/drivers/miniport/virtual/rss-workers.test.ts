// The virtual miniport with RssWorkers: worker threads do the receive offload work (checksum
// validation, RSS hash, classification) over the receive buffers in shared memory, and the worker
// DPC steers each frame to its RSS queue. An adapter with workers and one without, with the same
// MAC on the same hub, receive the same frames: every NBL must carry the same checksum OOB, hash
// value/type/function and NBL flags and be indicated on the same processor — before and after the
// RSS key and the checksum configuration change by OID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_STATUS, NdisOidRequest, OID } from '../../../../src/ndis/index.js';
import { encodeReceiveScaleParameters } from '../../../../src/ndis/structs-offload.js';
import { RSS_VERIFICATION_KEY } from '../../../../src/offload/rss/toeplitz.js';
import * as H from '../../../../src/offload/rss/hash-types.js';
import { byName, fixtures, hex, toHex } from '../../../offload/fixtures.js';
import { MAC_B, activateOffloads, offloadLab, settle, type Lab, type Received } from './helpers.js';

const TABLE = [0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 2, 2, 3, 0, 0, 3];
const TYPES = H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_IPV6;

function rssParams(key: Uint8Array): Uint8Array {
  return encodeReceiveScaleParameters({
    revision: 2,
    flags: 0,
    baseCpuNumber: 0,
    hashInformation: TYPES | H.NdisHashFunctionToeplitz,
    indirectionTable: TABLE,
    secretKey: key,
    defaultProcessor: -1,
  });
}

/** The fixtures' frames addressed to MAC_B: RSS frames, checksum frames right and wrong, NVGRE. */
function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const mac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];
  const add = (h: string): void => {
    const f = hex(h);
    f.set(mac, 0);
    out.push(f);
  };
  for (const f of fixtures.rss) add(f.hex);
  for (const f of fixtures.checksum) {
    add(f.good);
    for (const b of Object.values(f.bad)) add(b);
  }
  for (const f of fixtures.nvgre) add(f.hex);
  // Many TCP flows, so that every RSS queue gets frames.
  const tcp = hex(byName(fixtures.rss, 'ipv4-tcp').hex);
  for (let i = 0; i < 200; i++) {
    const f = tcp.slice();
    f.set(mac, 0);
    f[34] = (i * 37) >> 8;
    f[35] = (i * 37) & 0xff;
    out.push(f);
  }
  return out;
}

/** What must be equal between the two receivers, one line per NBL, in a stable order. */
function summary(rx: Received[]): string[] {
  return rx
    .map((r) => [toHex(r.bytes), r.checksum, r.hashValue, r.hashInfo, r.nblFlags, r.processor].join(' '))
    .sort();
}

async function withWorkers(): Promise<Lab & { c: string }> {
  // Frames without a hash go to the default queue, on processor 1 for both receivers.
  const lab = await offloadLab({ Processor: 1 });
  // 'c': the same MAC as 'b' on the same hub, with two RSS worker threads.
  await lab.virt.addAdapter('c', { NetworkAddress: MAC_B, RssWorkers: 2, Processor: 1 });
  return { ...lab, c: 'c' };
}

void test('RssWorkers: the same checksum OOB, hash, NBL flags and RSS processor as the receive path without workers, across an RSS key change and offloads switched on', { timeout: 60_000 }, async () => {
  const lab = await withWorkers();
  try {
    const c = lab.virt.adapter([...lab.ndis.adapters].find((m) => m.name === 'c')!);
    for (const name of ['b', 'c']) {
      assert.equal(await lab.probe.oid(name, NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssParams(Uint8Array.from(RSS_VERIFICATION_KEY)))), NDIS_STATUS.SUCCESS);
    }
    const rxB = lab.probe.binding('b').received;
    const rxC = lab.probe.binding('c').received;
    const all = frames();
    // Round 1: RSS on, checksum offload not yet started (no OID_OFFLOAD_ENCAPSULATION).
    for (const f of all) lab.probe.send('a', f);
    await settle(lab);
    assert.equal(rxB.length, all.length);
    assert.deepEqual(summary(rxC), summary(rxB));
    assert.equal(c.stats.rssWorkerFrames, all.length, 'the workers did every frame');
    assert.equal(lab.adapterB.stats.rssWorkerFrames, 0);
    assert.ok(rxC.filter((r) => r.hashValue !== 0).length > 200, 'frames were hashed');
    assert.equal(new Set(rxC.map((r) => r.processor)).size, 4, 'all four RSS processors indicated');
    // Round 2: checksum offloads started and a new RSS key, set while frames may be in flight.
    for (const f of all.slice(0, 50)) lab.probe.send('a', f);
    const key = Uint8Array.from(RSS_VERIFICATION_KEY, (x, i) => (x * 7 + i) & 0xff);
    for (const name of ['b', 'c'] as const) {
      assert.equal(await activateOffloads(lab, name as 'b'), NDIS_STATUS.SUCCESS);
      assert.equal(await lab.probe.oid(name, NdisOidRequest.set(OID.GEN_RECEIVE_SCALE_PARAMETERS, rssParams(key))), NDIS_STATUS.SUCCESS);
    }
    for (const f of all) lab.probe.send('a', f);
    await settle(lab);
    assert.equal(rxB.length, 2 * all.length + 50);
    assert.deepEqual(summary(rxC), summary(rxB));
    assert.ok(rxC.slice(-all.length).some((r) => r.checksum !== 0), 'checksums validated after the change');
    assert.equal(c.stats.rssWorkerTimeouts, 0);
    assert.equal(c.outstandingRx, 0);
  } finally {
    await lab.ndis.shutdown();
  }
});

void test('RssWorkers is not used with header-data split or without RSS', async () => {
  const lab = await offloadLab({ RssWorkers: 2, '*HeaderDataSplit': 1 }, {}, { RssWorkers: 2, '*RSS': 0 });
  try {
    for (const f of frames().slice(0, 20)) lab.probe.send('b', f.slice().fill(0xff, 0, 6));
    await settle(lab);
    assert.equal(lab.probe.binding('a').received.length, 20);
    assert.equal(lab.adapterA.stats.rssWorkerFrames, 0);
    assert.equal(lab.adapterB.stats.rssWorkerFrames, 0);
  } finally {
    await lab.ndis.shutdown();
  }
});
