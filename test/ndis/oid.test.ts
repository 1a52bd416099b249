import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NDIS_PACKET_TYPE,
  NDIS_STATUS,
  Ndis,
  NdisOidRequest,
  OID,
  decodeLinkState,
  readUlong,
  ulongBuffer,
  encodeMacList,
  NdisVerifierViolation,
} from '../../src/ndis/index.js';
import { ProgrammableMiniport } from '../../src/drivers/miniport/programmable/index.js';
import { logFilter, rawProtocol, type RawBinding } from './drivers.js';

async function setup(withFilter = true) {
  const ndis = new Ndis();
  const log: string[] = [];
  const pm = new ProgrammableMiniport(ndis);
  if (withFilter) await ndis.registerFilterDriver(logFilter(ndis, { name: 'f', log, handlers: { oid: true } }));
  const bindings = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'raw', log, bindings));
  const a = await pm.addAdapter('a');
  return { ndis, log, pm, a, binding: bindings.get('a')!, bindings };
}

test('an OID goes from the protocol through the filter to the miniport; a pended one completes back to the protocol', async () => {
  const { ndis, log, a, binding } = await setup();
  a.onOid = (r) => (r.oid === OID.GEN_VENDOR_ID ? 'pend' : undefined);
  log.length = 0;
  const req = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  assert.equal(ndis.oidRequest(binding.handle, req), NDIS_STATUS.PENDING);
  assert.deepEqual(log, ['f:oid 1010c'], 'the filter saw it on the way down');
  assert.equal(a.pendingOids.length, 1);
  // The miniport answers later.
  new DataView(req.informationBuffer!.buffer).setUint32(0, 0x00abcdef, true);
  req.bytesWritten = 4;
  a.completeOid(a.pendingOids[0]!, NDIS_STATUS.SUCCESS);
  assert.deepEqual(log, ['f:oid 1010c', `raw:oid-complete 1010c ${NDIS_STATUS.SUCCESS}`]);
  assert.equal(readUlong(req), 0x00abcdef);
  await ndis.shutdown();
});

test('NDIS serializes OIDs to a miniport: a second request waits until the first completes', async () => {
  const { ndis, log, a, binding } = await setup(false);
  a.onOid = (r) => (r.oid === OID.GEN_VENDOR_ID || r.oid === OID.GEN_VENDOR_DESCRIPTION ? 'pend' : undefined);
  log.length = 0;
  const r1 = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  const r2 = NdisOidRequest.query(OID.GEN_VENDOR_DESCRIPTION, 64);
  assert.equal(ndis.oidRequest(binding.handle, r1), NDIS_STATUS.PENDING);
  assert.equal(ndis.oidRequest(binding.handle, r2), NDIS_STATUS.PENDING);
  assert.equal(a.pendingOids.length, 1, 'the miniport sees one request at a time');
  assert.equal(a.pendingOids[0], r1);
  a.completeOid(r1, NDIS_STATUS.SUCCESS);
  await ndis.until(Promise.resolve()); // the queued request is dispatched by NDIS
  assert.equal(a.pendingOids.length, 1);
  assert.equal(a.pendingOids[0], r2, 'then the queued one is dispatched');
  a.completeOid(r2, NDIS_STATUS.SUCCESS);
  assert.deepEqual(log.filter((l) => l.includes('oid-complete')), [`raw:oid-complete 1010c ${NDIS_STATUS.SUCCESS}`, `raw:oid-complete 1010d ${NDIS_STATUS.SUCCESS}`]);
  await ndis.shutdown();
});

test('NDIS answers the OIDs it owns from the miniport attributes, with NDIS buffer-length rules', async () => {
  const { ndis, a, binding } = await setup();
  a.oidLog.length = 0;
  const mac = NdisOidRequest.query(OID.P802_3_CURRENT_ADDRESS, 6);
  assert.equal(ndis.oidRequest(binding.handle, mac), NDIS_STATUS.SUCCESS);
  assert.deepEqual([...mac.written()], [...a.options.mac]);
  const short = NdisOidRequest.query(OID.P802_3_CURRENT_ADDRESS, 4);
  assert.equal(ndis.oidRequest(binding.handle, short), NDIS_STATUS.BUFFER_TOO_SHORT);
  assert.equal(short.bytesNeeded, 6);
  const ls = NdisOidRequest.query(OID.GEN_LINK_STATE, 64);
  assert.equal(ndis.oidRequest(binding.handle, ls), NDIS_STATUS.SUCCESS);
  assert.equal(decodeLinkState(ls.written())!.xmitLinkSpeed, 1e9);
  assert.deepEqual(a.oidLog, [], 'none of them reached the miniport');
  await ndis.shutdown();
});

test('per-binding packet filters: NDIS keeps each, sets the OR on the miniport, queries return the binding’s own', async () => {
  const ndis = new Ndis();
  const log: string[] = [];
  const pm = new ProgrammableMiniport(ndis);
  const b1 = new Map<string, RawBinding>();
  const b2 = new Map<string, RawBinding>();
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'p1', log, b1));
  await ndis.registerProtocolDriver(rawProtocol(ndis, 'p2', log, b2));
  const a = await pm.addAdapter('a');
  const o1 = b1.get('a')!.handle;
  const o2 = b2.get('a')!.handle;
  assert.equal(ndis.oidRequest(o1, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED))), NDIS_STATUS.SUCCESS);
  assert.equal(ndis.oidRequest(o2, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.MULTICAST))), NDIS_STATUS.SUCCESS);
  assert.equal(a.packetFilter, NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.MULTICAST, 'the miniport has the OR');
  const q = NdisOidRequest.query(OID.GEN_CURRENT_PACKET_FILTER, 4);
  ndis.oidRequest(o1, q);
  assert.equal(readUlong(q), NDIS_PACKET_TYPE.DIRECTED, "a binding reads its own filter");
  assert.equal(ndis.oidRequest(o1, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(0x40000000))), NDIS_STATUS.NOT_SUPPORTED, 'an unsupported filter bit is refused');
  // Multicast lists are merged too.
  const m1 = new Uint8Array([1, 0, 0x5e, 0, 0, 1]);
  const m2 = new Uint8Array([0x33, 0x33, 0, 0, 0, 1]);
  ndis.oidRequest(o1, NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList([m1])));
  ndis.oidRequest(o2, NdisOidRequest.set(OID.P802_3_MULTICAST_LIST, encodeMacList([m2, m1])));
  assert.equal(a.handle.mergedMulticast.length, 2);
  // Unbinding a protocol removes its share.
  await ndis.setProtocolBinding(o2.protocol, a.handle, false);
  await ndis.until(Promise.resolve());
  assert.equal(a.packetFilter, NDIS_PACKET_TYPE.DIRECTED);
  await ndis.shutdown();
});

test('the OID rules: PENDING as a completion status, double completion, completing what is not pending, BytesWritten past the buffer, a failed packet-filter set', async () => {
  const { ndis, a, binding } = await setup(false);
  a.onOid = () => 'pend';
  const r = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  ndis.oidRequest(binding.handle, r);
  assert.throws(() => ndis.mOidRequestComplete(a.handle, r, NDIS_STATUS.PENDING), (e: unknown) => e instanceof NdisVerifierViolation && e.ruleId === 'OID-001');
  r.bytesWritten = 8;
  assert.throws(() => ndis.mOidRequestComplete(a.handle, r, NDIS_STATUS.SUCCESS), (e: unknown) => e instanceof NdisVerifierViolation && e.ruleId === 'OID-004' && /OID_REQUEST_INVALID_BUFFER/.test(e.message));
  const other = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  assert.throws(() => ndis.mOidRequestComplete(a.handle, other, NDIS_STATUS.SUCCESS), (e: unknown) => e instanceof NdisVerifierViolation && e.ruleId === 'OID-005');
  // A fresh stack for the last rule (the violations above left a request pending at that miniport).
  const fresh = await setup(false);
  fresh.a.onOid = (q) => (q.oid === OID.GEN_CURRENT_PACKET_FILTER ? NDIS_STATUS.FAILURE : undefined);
  assert.throws(
    () => fresh.ndis.oidRequest(fresh.binding.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.PROMISCUOUS))),
    (e: unknown) => e instanceof NdisVerifierViolation && e.ruleId === 'OID-006' && /MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED/.test(e.message),
  );
});

test('cancelling a queued OID completes it with NDIS_STATUS_REQUEST_ABORTED', async () => {
  const { ndis, log, a, binding } = await setup(false);
  a.onOid = () => 'pend';
  const r1 = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  const r2 = NdisOidRequest.query(OID.GEN_VENDOR_DESCRIPTION, 4);
  r2.requestId = 'second';
  ndis.oidRequest(binding.handle, r1);
  ndis.oidRequest(binding.handle, r2);
  log.length = 0;
  ndis.cancelOidRequest(binding.handle, 'second');
  assert.deepEqual(log, [`raw:oid-complete 1010d ${NDIS_STATUS.REQUEST_ABORTED}`]);
  r1.requestId = 'first';
  ndis.cancelOidRequest(binding.handle, 'first'); // pending at the miniport: MiniportCancelOidRequest
  assert.equal(log.at(-1), `raw:oid-complete 1010c ${NDIS_STATUS.REQUEST_ABORTED}`);
  a.onOid = null;
  await ndis.shutdown();
});
