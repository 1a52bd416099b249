/**
 * OID rules (OID-001..006): completion statuses, double completion, double requests, buffer bounds,
 * completions of requests that are not pending, and OIDs that must not fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NDIS_PACKET_TYPE, NDIS_STATUS, NdisOidRequest, OID, RULE, ulongBuffer } from '../../src/ndis/index.js';
import { assertClean, assertOnly, done, lab } from './lab.js';

async function pended() {
  const l = await lab();
  l.nic.onOid = (r) => (r.oid === OID.GEN_VENDOR_ID ? 'pend' : undefined);
  const req = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  assert.equal(l.ndis.oidRequest(l.binding.handle, req), NDIS_STATUS.PENDING);
  return { l, req };
}

test('OID-001: a miniport that completes an OID with NDIS_STATUS_PENDING is caught (0xC4 NdisOidComplete)', async () => {
  const { l, req } = await pended();
  l.ndis.mOidRequestComplete(l.nic.handle, req, NDIS_STATUS.PENDING);
  assertOnly(l, RULE.OID_COMPLETE_STATUS);
  assert.equal(l.verifier.reports[0]!.windowsCode, '0xC4/0x00091001 NdisOidComplete');
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  await done(l);
});

test('OID-001: OID_PNP_SET_POWER failed with a status other than NOT_ACCEPTED is caught', async () => {
  const l = await lab();
  l.nic.onOid = (r) => (r.oid === OID.PNP_SET_POWER ? NDIS_STATUS.FAILURE : undefined);
  l.ndis.oidRequest(l.binding.handle, NdisOidRequest.set(OID.PNP_SET_POWER, ulongBuffer(1)));
  assertOnly(l, RULE.OID_COMPLETE_STATUS);
  await done(l);
});

test('OID-001 (legitimate): a pended OID completed with SUCCESS; a query answered NOT_SUPPORTED', async () => {
  const { l, req } = await pended();
  req.bytesWritten = 4;
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  assert.equal(l.ndis.oidRequest(l.binding.handle, NdisOidRequest.query(OID.GEN_VENDOR_DESCRIPTION, 64)), NDIS_STATUS.NOT_SUPPORTED);
  assertClean(l);
  await done(l);
});

test('OID-002: a miniport that completes an OID twice is caught (0xC4 NdisOidDoubleComplete)', async () => {
  const { l, req } = await pended();
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  l.ndis.mOidRequestComplete(l.nic.handle, req, NDIS_STATUS.SUCCESS);
  assertOnly(l, RULE.OID_DOUBLE_COMPLETE);
  await done(l);
});

test('OID-002 (legitimate): two requests, each completed once', async () => {
  const { l, req } = await pended();
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  const again = NdisOidRequest.query(OID.GEN_VENDOR_ID, 4);
  l.ndis.oidRequest(l.binding.handle, again);
  await l.ndis.until(Promise.resolve());
  l.nic.completeOid(again, NDIS_STATUS.SUCCESS);
  assertClean(l);
  await done(l);
});

test('OID-003: a protocol that issues a request object again while it is pending is caught (0xC4 NdisOidDoubleRequest)', async () => {
  const { l, req } = await pended();
  l.ndis.oidRequest(l.binding.handle, req);
  assertOnly(l, RULE.OID_DOUBLE_REQUEST);
  assert.equal(l.verifier.reports[0]!.driver, 'raw');
  await done(l);
});

test('OID-003 (legitimate): the same request object reused after it completed, synchronously and after pending', async () => {
  const { l, req } = await pended();
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  l.nic.onOid = null;
  const sync = NdisOidRequest.set(OID.GEN_CURRENT_LOOKAHEAD, ulongBuffer(128));
  assert.equal(l.ndis.oidRequest(l.binding.handle, sync), NDIS_STATUS.SUCCESS);
  assert.equal(l.ndis.oidRequest(l.binding.handle, sync), NDIS_STATUS.SUCCESS);
  assert.equal(l.ndis.oidRequest(l.binding.handle, req), NDIS_STATUS.NOT_SUPPORTED);
  assertClean(l);
  await done(l);
});

test('OID-004: BytesWritten larger than the InformationBuffer is caught (0x7C OID_REQUEST_INVALID_BUFFER)', async () => {
  const l = await lab();
  l.nic.onOid = (r) => {
    if (r.oid !== OID.GEN_VENDOR_ID) return undefined;
    r.bytesWritten = 8;
    return NDIS_STATUS.SUCCESS;
  };
  l.ndis.oidRequest(l.binding.handle, NdisOidRequest.query(OID.GEN_VENDOR_ID, 4));
  assertOnly(l, RULE.OID_INVALID_BUFFER);
  await done(l);
});

test('OID-004 (legitimate): BytesWritten equal to the buffer; BytesNeeded with NDIS_STATUS_BUFFER_TOO_SHORT', async () => {
  const l = await lab();
  l.nic.onOid = (r) => {
    if (r.oid !== OID.GEN_VENDOR_ID) return undefined;
    if (r.informationBufferLength < 4) {
      r.bytesNeeded = 4;
      return NDIS_STATUS.BUFFER_TOO_SHORT;
    }
    r.bytesWritten = 4;
    return NDIS_STATUS.SUCCESS;
  };
  l.ndis.oidRequest(l.binding.handle, NdisOidRequest.query(OID.GEN_VENDOR_ID, 4));
  l.ndis.oidRequest(l.binding.handle, NdisOidRequest.query(OID.GEN_VENDOR_ID, 2));
  assertClean(l);
  await done(l);
});

test('OID-005: completing an OID that is not pending at the miniport is caught (0x7C INVALID_OID_COMPLETION)', async () => {
  const l = await lab();
  l.ndis.mOidRequestComplete(l.nic.handle, NdisOidRequest.query(OID.GEN_VENDOR_ID, 4), NDIS_STATUS.SUCCESS);
  assertOnly(l, RULE.OID_COMPLETE_NOT_PENDING);
  await done(l);
});

test('OID-005 (legitimate): completing the request the miniport pended', async () => {
  const { l, req } = await pended();
  l.nic.completeOid(req, NDIS_STATUS.SUCCESS);
  assertClean(l);
  await done(l);
});

test('OID-006: a miniport that fails OID_GEN_CURRENT_PACKET_FILTER is caught (0x7C MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED)', async () => {
  const l = await lab();
  l.nic.onOid = (r) => (r.oid === OID.GEN_CURRENT_PACKET_FILTER ? NDIS_STATUS.FAILURE : undefined);
  l.ndis.oidRequest(l.binding.handle, NdisOidRequest.set(OID.GEN_CURRENT_PACKET_FILTER, ulongBuffer(NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.PROMISCUOUS)));
  await l.ndis.until(Promise.resolve());
  assertOnly(l, RULE.OID_MUST_SUCCEED);
  await done(l);
});

test('OID-006 (legitimate): a miniport that fails an OID it may fail (OID_GEN_CURRENT_LOOKAHEAD)', async () => {
  const l = await lab();
  l.nic.onOid = (r) => (r.oid === OID.GEN_CURRENT_LOOKAHEAD ? NDIS_STATUS.INVALID_DATA : undefined);
  assert.equal(l.ndis.oidRequest(l.binding.handle, NdisOidRequest.set(OID.GEN_CURRENT_LOOKAHEAD, ulongBuffer(9999))), NDIS_STATUS.INVALID_DATA);
  assertClean(l);
  await done(l);
});
