import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ChecksumAccumulator, checksumCombine, checksumFinish, checksumFold, checksumUpdate16, checksumUpdate32,
  checksumUpdateSum, internetChecksum, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, onesComplementSum,
  pseudoHeaderSum, verifyChecksum,
} from '../../src/wire/checksum.js';
import { checksumVectors, fixtures, ip, pseudoHeaderVectors, shifted } from './fixtures.js';

/** RFC 1071 written the slow, obvious way: big-endian 16-bit words, end-around carry. */
function referenceSum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) {
    s += (b[off + i]! << 8) | (i + 1 < len ? b[off + i + 1]! : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

void test('RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', () => {
  const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(onesComplementSum(b, 0, 8), 0xddf2);
  assert.equal(internetChecksum(b, 0, 8), 0x220d);
});

void test('checksums equal the values scapy computed, at every alignment', () => {
  for (const v of checksumVectors) {
    for (let shift = 0; shift < 8; shift++) {
      const b = shifted(v.bytes, shift);
      assert.equal(internetChecksum(b, 0, b.length), v.checksum, `length ${b.length} shift ${shift}`);
    }
    // The same data inside a larger array, at an odd offset.
    const big = new Uint8Array(v.bytes.length + 11);
    big.set(v.bytes, 5);
    assert.equal(internetChecksum(big, 5, v.bytes.length), v.checksum, `length ${v.bytes.length} in a larger array`);
  }
});

void test('odd lengths pad the last byte as a high byte', () => {
  assert.equal(onesComplementSum(Uint8Array.of(0xab), 0, 1), 0xab00);
  assert.equal(onesComplementSum(Uint8Array.of(0x01, 0x02, 0x03), 0, 3), 0x0402);
});

void test('the word loop and the byte loop agree with the reference for any bytes, offset and length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(), fc.nat(), (data, shift, a, b) => {
      const buf = shifted(data, shift);
      const off = data.length === 0 ? 0 : a % data.length;
      const len = data.length - off === 0 ? 0 : b % (data.length - off + 1);
      assert.equal(onesComplementSum(buf, off, len), referenceSum(buf, off, len));
    }),
    { numRuns: 500 },
  );
});

void test('a large buffer (several float chunks of words) sums like the reference', () => {
  const n = (1 << 22) + 13; // 4 MiB + 13: more than 2^20 words
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 2654435761) >>> 24;
  assert.equal(onesComplementSum(b, 3, n - 3), referenceSum(b, 3, n - 3));
  b.fill(0xff);
  assert.equal(onesComplementSum(b, 0, n - 1), 0xffff);
  // An odd length ends with 0xff00, and adding 0xffff (negative zero) changes nothing.
  assert.equal(onesComplementSum(b, 0, n), 0xff00);
});

void test('a range past the end of the array is clamped, never throws', () => {
  const b = Uint8Array.of(1, 2, 3, 4, 5);
  assert.equal(onesComplementSum(b, 2, 100), referenceSum(b, 2, 3));
  assert.equal(onesComplementSum(b, 9, 4, 0x1234), 0x1234);
  assert.equal(onesComplementSum(b, -1, 4), 0);
  assert.equal(onesComplementSum(b, 0, -3), 0);
});

void test('fold keeps zero only for zero and folds carries back in', () => {
  assert.equal(checksumFold(0), 0);
  assert.equal(checksumFold(0xffff), 0xffff);
  assert.equal(checksumFold(0x10000), 1);
  assert.equal(checksumFold(0x1fffe), 0xffff);
  assert.equal(checksumFold(2 ** 52 + 5), checksumFold(checksumFold(2 ** 52) + 5));
  assert.equal(checksumFold(0xffffffff), 0xffff);
  assert.equal(checksumFinish(0xffff), 0);
});

void test('chained sums over pieces of any length equal the whole (accumulator and combine)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 6 }), fc.nat(7), (data, cuts, shift) => {
      const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % data.length)))].sort((x, y) => x - y);
      const acc = new ChecksumAccumulator();
      let combined = 0;
      let prev = 0;
      for (const p of [...points, data.length]) {
        // Each piece in its own buffer, as MDLs are, at its own alignment.
        const piece = shifted(data.subarray(prev, p), (shift + p) & 7);
        acc.add(piece, 0, piece.length);
        combined = checksumCombine(combined, onesComplementSum(piece, 0, piece.length), prev);
        prev = p;
      }
      const whole = onesComplementSum(data, 0, data.length);
      assert.equal(acc.sum, whole);
      assert.equal(acc.byteCount, data.length);
      assert.equal(acc.finish(), internetChecksum(data, 0, data.length));
      assert.equal(combined, whole);
    }),
    { numRuns: 400 },
  );
});

void test('addSum joins a precomputed sum at an odd position', () => {
  const data = Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x9a);
  const acc = new ChecksumAccumulator(0x0102);
  acc.add(data, 0, 1);
  acc.addSum(onesComplementSum(data, 1, 4), 4);
  assert.equal(acc.sum, onesComplementSum(data, 0, 5, 0x0102));
  acc.reset();
  assert.equal(acc.sum, 0);
  assert.equal(acc.byteCount, 0);
});

void test('IPv6 pseudo-header checksums equal scapy', () => {
  for (const v of pseudoHeaderVectors) {
    const pseudo = ipv6PseudoHeaderSum(v.src, 0, v.dst, 0, v.proto, v.bytes.length);
    assert.equal(internetChecksum(v.bytes, 0, v.bytes.length, pseudo), v.checksum);
    assert.equal(pseudoHeaderSum(v.src, v.dst, v.proto, v.bytes.length), pseudo);
  }
});

void test('UDP checksums of every fixture verify with the pseudo-header scapy used', () => {
  let checked = 0;
  for (const f of fixtures()) {
    if (!f.has('udpOffset') || !f.has('ihl') || f.name.startsWith('vxlan')) continue;
    const b = f.bytes;
    const ipo = f.num('ipOffset');
    const uo = f.num('udpOffset');
    const len = f.num('udpLen');
    const sum = ipv4PseudoHeaderSum(b, ipo + 12, b, ipo + 16, 17, len);
    assert.ok(verifyChecksum(b, uo, len, sum), f.name);
    assert.equal(pseudoHeaderSum(ip(f.str('src')), ip(f.str('dst')), 17, len), sum);
    checked++;
  }
  assert.ok(checked >= 3);
});

void test('IPv4 header checksums of the fixtures verify and recompute to scapy\'s value', () => {
  for (const f of fixtures()) {
    if (!f.has('ihl')) continue;
    const b = f.copy();
    const o = f.num('ipOffset');
    const hl = f.num('ihl') * 4;
    assert.ok(verifyChecksum(b, o, hl), f.name);
    b[o + 10] = 0;
    b[o + 11] = 0;
    assert.equal(internetChecksum(b, o, hl), f.num('chksum'), f.name);
  }
});

/** Even-length data with a fixed non-zero first word, as real headers have (so the sum is never +0). */
function headerLike(minLength: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength, maxLength: 80 }).map((b) => {
    const out = b.length % 2 === 0 ? b : b.subarray(0, b.length - 1);
    out[0] = 0x45;
    return out;
  });
}

void test('RFC 1624 incremental update of a 16-bit word equals recomputation', () => {
  fc.assert(
    fc.property(headerLike(4), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (data, at, value) => {
      const words = data.length >>> 1;
      const w = 1 + (at % (words - 1)); // any word but the fixed first one
      const before = internetChecksum(data, 0, data.length);
      const old = (data[2 * w]! << 8) | data[2 * w + 1]!;
      data[2 * w] = value >>> 8;
      data[2 * w + 1] = value & 0xff;
      assert.equal(checksumUpdate16(before, old, value), internetChecksum(data, 0, data.length));
    }),
    { numRuns: 1000 },
  );
});

void test('RFC 1624 update of a 32-bit field and of a 16-byte block equal recomputation', () => {
  fc.assert(
    fc.property(headerLike(24), fc.nat(), fc.uint8Array({ minLength: 16, maxLength: 16 }), (data, at, block) => {
      const before = internetChecksum(data, 0, data.length);
      const p = 2 + 2 * (at % ((data.length - 2 - 4) >>> 1 | 1));
      if (p + 4 <= data.length) {
        const copy = data.slice();
        const old = ((copy[p]! << 24) | (copy[p + 1]! << 16) | (copy[p + 2]! << 8) | copy[p + 3]!) >>> 0;
        const nv = ((block[0]! << 24) | (block[1]! << 16) | (block[2]! << 8) | block[3]!) >>> 0;
        copy.set(block.subarray(0, 4), p);
        assert.equal(checksumUpdate32(before, old, nv), internetChecksum(copy, 0, copy.length));
      }
      if (2 + 16 <= data.length) {
        const copy = data.slice();
        const oldSum = onesComplementSum(copy, 2, 16);
        copy.set(block, 2);
        assert.equal(checksumUpdateSum(before, oldSum, onesComplementSum(block, 0, 16)), internetChecksum(copy, 0, copy.length));
      }
    }),
    { numRuns: 500 },
  );
});

void test('incremental update on a real header: decrement the TTL of a fixture', () => {
  const f = fixtures('eth-ipv4-udp')[0]!;
  const b = f.copy();
  const o = f.num('ipOffset');
  const oldWord = (b[o + 8]! << 8) | b[o + 9]!;
  b[o + 8] = b[o + 8]! - 1;
  const newWord = (b[o + 8]! << 8) | b[o + 9]!;
  const updated = checksumUpdate16(f.num('chksum'), oldWord, newWord);
  b[o + 10] = updated >>> 8;
  b[o + 11] = updated & 0xff;
  assert.ok(verifyChecksum(b, o, 20));
});
