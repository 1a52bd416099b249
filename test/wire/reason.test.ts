import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeWireReason, WIRE_REASON_COUNT, WireReason } from '../../src/wire/reason.js';

void test('reason codes are 0..count-1, each with its own text', () => {
  const codes = Object.values(WireReason).sort((a, b) => a - b);
  assert.deepEqual(codes, Array.from({ length: WIRE_REASON_COUNT }, (_, i) => i));
  const texts = codes.map(describeWireReason);
  assert.equal(new Set(texts).size, WIRE_REASON_COUNT);
  assert.equal(describeWireReason(WireReason.Ok), 'ok');
  assert.equal(describeWireReason(WireReason.Truncated), 'buffer shorter than the fixed header');
  assert.equal(describeWireReason(WIRE_REASON_COUNT), `unknown wire reason ${WIRE_REASON_COUNT}`);
  assert.equal(describeWireReason(-1), 'unknown wire reason -1');
});
