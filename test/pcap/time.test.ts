// Timestamp conversions: exact against bigint arithmetic for every value a file can hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_TIMESTAMP_SECONDS,
  TimestampResolution,
  Uint64Halves,
  nanosecondsToHalves,
  timestampFromBigInt,
  timestampToBigInt,
  unitsToTimestamp,
} from '../../src/pcap/index.js';

void test('property: seconds and nanoseconds split into the exact 64-bit halves of the nanosecond count', () => {
  const h = new Uint64Halves();
  const check = (s: number, ns: number): void => {
    nanosecondsToHalves(s, ns, h);
    const total = BigInt(s) * 1_000_000_000n + BigInt(ns);
    assert.equal(h.high, Number(total >> 32n), `${s}.${ns} high`);
    assert.equal(h.low, Number(total & 0xffffffffn), `${s}.${ns} low`);
  };
  check(0, 0);
  check(0, 999_999_999);
  check(4, 294_967_295); // 2^32 - 1 ns
  check(4, 294_967_296); // 2^32 ns
  check(MAX_TIMESTAMP_SECONDS, 999_999_999);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_TIMESTAMP_SECONDS }), fc.integer({ min: 0, max: 999_999_999 }), check),
    { numRuns: 5000 },
  );
});

void test('property: unit counts convert exactly for decimal and binary resolutions, with if_tsoffset', () => {
  const out = { timestampSeconds: 0, timestampNanoseconds: 0 };
  fc.assert(
    fc.property(
      fc.nat(0xffffffff),
      fc.nat(0xffffffff),
      fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0x80, max: 0x80 + 63 })),
      fc.integer({ min: -1_000_000, max: 1_000_000 }),
      (high, low, tsresol, offset) => {
        const res = new TimestampResolution(tsresol);
        unitsToTimestamp(high, low, res, offset, out);
        const units = (BigInt(high) << 32n) | BigInt(low);
        const per = (tsresol & 0x80) === 0 ? 10n ** BigInt(tsresol) : 1n << BigInt(tsresol & 0x7f);
        const seconds = units / per;
        // Seconds beyond 2^53 (only for coarse resolutions) cannot be exact numbers.
        if (seconds < 2n ** 53n) assert.equal(out.timestampSeconds, Number(seconds) + offset);
        assert.equal(out.timestampNanoseconds, Number(((units % per) * 1_000_000_000n) / per));
      },
    ),
    { numRuns: 5000 },
  );
});

void test('the nanosecond and microsecond fast paths agree with bigint at the edges', () => {
  const out = { timestampSeconds: 0, timestampNanoseconds: 0 };
  for (const tsresol of [6, 9]) {
    const res = new TimestampResolution(tsresol);
    for (const [high, low] of [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [0x17979cfe, 0x362a0000],
      [1, 0],
      [0, 999_999_999],
    ] as const) {
      unitsToTimestamp(high, low, res, 0, out);
      const units = (BigInt(high) << 32n) | BigInt(low);
      const per = 10n ** BigInt(tsresol);
      assert.equal(out.timestampSeconds, Number(units / per));
      assert.equal(out.timestampNanoseconds, Number(((units % per) * 1_000_000_000n) / per));
    }
  }
});

void test('bigint conversions', () => {
  assert.equal(timestampToBigInt(1_700_000_000, 5), 1_700_000_000_000_000_005n);
  assert.deepEqual(timestampFromBigInt(1_700_000_000_000_000_005n), { seconds: 1_700_000_000, nanoseconds: 5 });
});
