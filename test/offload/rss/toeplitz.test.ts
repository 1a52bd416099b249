// Toeplitz RSS hash: Microsoft's verification vectors, a bit-by-bit reference, key validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  RSS_VERIFICATION_KEY,
  ToeplitzHasher,
  toeplitzKeyLengthFor,
  TOEPLITZ_IPV4_INPUT_LENGTH,
  TOEPLITZ_IPV4_PORTS_INPUT_LENGTH,
  TOEPLITZ_IPV6_INPUT_LENGTH,
  TOEPLITZ_IPV6_PORTS_INPUT_LENGTH,
} from '../../../src/offload/rss/toeplitz.js';
import { parseIpv4, parseIpv6 } from '../../../src/wire/address.js';

/**
 * The ComputeHash pseudocode of "RSS Hashing Functions", bit by bit: for each input bit from the
 * left, XOR in the left-most 32 bits of the key when the bit is 1, then shift the key left by one.
 * The key is held as a bigint so that the shift is literal.
 */
function referenceHash(key: Uint8Array, input: Uint8Array): number {
  const keyBits = BigInt(key.length * 8);
  let k = 0n;
  for (const b of key) k = (k << 8n) | BigInt(b);
  const mask = (1n << keyBits) - 1n;
  let result = 0n;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      if (((byte >> bit) & 1) === 1) result ^= k >> (keyBits - 32n);
      k = (k << 1n) & mask;
    }
  }
  return Number(result);
}

function ipv4Bytes(text: string): Uint8Array {
  const a = parseIpv4(text);
  assert.ok(a !== null, text);
  return a.subarray(12);
}

function ipv6Bytes(text: string): Uint8Array {
  const a = parseIpv6(text);
  assert.ok(a !== null, text);
  return a;
}

function be16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// Verification data of "Verifying the RSS Hash Calculation"
// (https://learn.microsoft.com/windows-hardware/drivers/network/verifying-the-rss-hash-calculation,
// windows-driver-docs network/verifying-the-rss-hash-calculation.md): destination, source,
// the 2-tuple hash ("IPv4 only" / "IPv6 only") and the 4-tuple hash ("with TCP").
const IPV4_VECTORS = [
  { dst: '161.142.100.80', dport: 1766, src: '66.9.149.187', sport: 2794, only: 0x323e8fc2, tcp: 0x51ccc178 },
  { dst: '65.69.140.83', dport: 4739, src: '199.92.111.2', sport: 14230, only: 0xd718262a, tcp: 0xc626b0ea },
  { dst: '12.22.207.184', dport: 38024, src: '24.19.198.95', sport: 12898, only: 0xd2d0a5de, tcp: 0x5c2b394a },
  { dst: '209.142.163.6', dport: 2217, src: '38.27.205.30', sport: 48228, only: 0x82989176, tcp: 0xafc7327f },
  { dst: '202.188.127.2', dport: 1303, src: '153.39.163.191', sport: 44251, only: 0x5d1809c5, tcp: 0x10e828a2 },
];
const IPV6_VECTORS = [
  { dst: '3ffe:2501:200:3::1', dport: 1766, src: '3ffe:2501:200:1fff::7', sport: 2794, only: 0x2cc18cd5, tcp: 0x40207d3d },
  { dst: 'ff02::1', dport: 4739, src: '3ffe:501:8::260:97ff:fe40:efab', sport: 14230, only: 0x0f0c461c, tcp: 0xdde51bbf },
  {
    dst: 'fe80::200:f8ff:fe21:67cf',
    dport: 38024,
    src: '3ffe:1900:4545:3:200:f8ff:fe21:67cf',
    sport: 44251,
    only: 0x4b61e985,
    tcp: 0x02d1feef,
  },
];

void test('Microsoft verification vectors, IPv4 (10 hashes) from an IPv4 + TCP header', () => {
  const h = new ToeplitzHasher(RSS_VERIFICATION_KEY);
  for (const v of IPV4_VECTORS) {
    // An IPv4 header (20 bytes, addresses at 12 and 16) followed by a TCP header (ports at 20 and 22).
    const packet = new Uint8Array(40);
    packet[0] = 0x45;
    packet.set(ipv4Bytes(v.src), 12);
    packet.set(ipv4Bytes(v.dst), 16);
    packet.set(be16(v.sport), 20);
    packet.set(be16(v.dport), 22);
    assert.equal(h.hashIpv4(packet, 12, 16) >>> 0, v.only, `IPv4 only ${v.src} -> ${v.dst}`);
    assert.equal(h.hashIpv4Ports(packet, 12, 16, 20) >>> 0, v.tcp, `IPv4 with TCP ${v.src} -> ${v.dst}`);
    // The generic entry point over the concatenated input gives the same values.
    assert.equal(h.hash(packet, 12, 8) >>> 0, v.only);
    assert.equal(h.hash(packet, 12, 12) >>> 0, v.tcp);
  }
});

void test('Microsoft verification vectors, IPv6 (6 hashes) from an IPv6 + TCP header', () => {
  const h = new ToeplitzHasher(RSS_VERIFICATION_KEY);
  for (const v of IPV6_VECTORS) {
    // An IPv6 header (40 bytes, addresses at 8 and 24) followed by a TCP header (ports at 40 and 42).
    const packet = new Uint8Array(60);
    packet[0] = 0x60;
    packet.set(ipv6Bytes(v.src), 8);
    packet.set(ipv6Bytes(v.dst), 24);
    packet.set(be16(v.sport), 40);
    packet.set(be16(v.dport), 42);
    assert.equal(h.hashIpv6(packet, 8, 24) >>> 0, v.only, `IPv6 only ${v.src} -> ${v.dst}`);
    assert.equal(h.hashIpv6Ports(packet, 8, 24, 40) >>> 0, v.tcp, `IPv6 with TCP ${v.src} -> ${v.dst}`);
    assert.equal(h.hash(packet, 8, 32) >>> 0, v.only);
    assert.equal(h.hash(packet, 8, 36) >>> 0, v.tcp);
  }
});

void test('the bit-by-bit reference reproduces the verification vectors (so it can judge the tables)', () => {
  const key = Uint8Array.from(RSS_VERIFICATION_KEY);
  for (const v of IPV4_VECTORS) {
    const two = concat(ipv4Bytes(v.src), ipv4Bytes(v.dst));
    assert.equal(referenceHash(key, two), v.only);
    assert.equal(referenceHash(key, concat(two, be16(v.sport), be16(v.dport))), v.tcp);
  }
  for (const v of IPV6_VECTORS) {
    const two = concat(ipv6Bytes(v.src), ipv6Bytes(v.dst));
    assert.equal(referenceHash(key, two), v.only);
    assert.equal(referenceHash(key, concat(two, be16(v.sport), be16(v.dport))), v.tcp);
  }
});

void test('hash values are the signed 32-bit form of the hash', () => {
  const h = new ToeplitzHasher(RSS_VERIFICATION_KEY);
  const input = concat(ipv4Bytes('199.92.111.2'), ipv4Bytes('65.69.140.83'));
  const value = h.hash(input, 0, 8);
  assert.equal(value, 0xd718262a | 0);
  assert.ok(value < 0);
  assert.equal(value & 127, 0x2a, 'indexes a 128-entry indirection table with the low bits');
});

void test('property: the table-driven hash equals the bit-by-bit algorithm for random keys and inputs', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 5, maxLength: 40 }),
      fc.uint8Array({ minLength: 0, maxLength: 36 }),
      fc.nat(16),
      (key, rawInput, pad) => {
        const input = rawInput.subarray(0, key.length - 4);
        // Place the input at an offset inside a larger buffer, so that offsets matter.
        const buf = new Uint8Array(pad + input.length + 3).fill(0xa5);
        buf.set(input, pad);
        const h = new ToeplitzHasher(key);
        assert.equal(h.maxInputLength, key.length - 4);
        assert.equal(h.hash(buf, pad, input.length), referenceHash(key, input) | 0);
      },
    ),
    { numRuns: 500 },
  );
});

void test('property: the tuple fast paths equal the generic hash over the concatenated fields', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 40, maxLength: 40 }),
      fc.uint8Array({ minLength: 128, maxLength: 128 }),
      fc.nat(112),
      fc.nat(112),
      fc.nat(124),
      (key, buf, src, dst, ports) => {
        const h = new ToeplitzHasher(key);
        const ref = (...ranges: [number, number][]): number => {
          const input = concat(...ranges.map(([o, n]) => buf.subarray(o, o + n)));
          return referenceHash(key, input) | 0;
        };
        assert.equal(h.hashIpv4(buf, src, dst), ref([src, 4], [dst, 4]));
        assert.equal(h.hashIpv4Ports(buf, src, dst, ports), ref([src, 4], [dst, 4], [ports, 4]));
        assert.equal(h.hashIpv6(buf, src, dst), ref([src, 16], [dst, 16]));
        assert.equal(h.hashIpv6Ports(buf, src, dst, ports), ref([src, 16], [dst, 16], [ports, 4]));
      },
    ),
    { numRuns: 300 },
  );
});

void test('setKey rebuilds the tables in place', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 5, maxLength: 40 }),
      fc.uint8Array({ minLength: 5, maxLength: 40 }),
      fc.uint8Array({ minLength: 36, maxLength: 36 }),
      (a, b, input) => {
        const h = new ToeplitzHasher(a);
        h.setKey(b);
        assert.deepEqual(h.key, b);
        const n = b.length - 4;
        assert.equal(h.hash(input, 0, n), referenceHash(b, input.subarray(0, n)) | 0);
        assert.equal(h.hash(input, 0, n), new ToeplitzHasher(b).hash(input, 0, n));
      },
    ),
    { numRuns: 100 },
  );
});

void test('key validation: size limits, byte values, and the input each key can hash', () => {
  assert.throws(() => new ToeplitzHasher(new Uint8Array(4)), {
    name: 'RangeError',
    message: /4 bytes; it must be 5 to 40 bytes/,
  });
  assert.throws(() => new ToeplitzHasher(new Uint8Array(41)), { name: 'RangeError', message: /41 bytes/ });
  assert.throws(() => new ToeplitzHasher([]), { name: 'RangeError' });
  assert.throws(() => new ToeplitzHasher([1, 2, 3, 4, 256]), { name: 'RangeError', message: /byte 4 is 256/ });
  assert.throws(() => new ToeplitzHasher([1, 2, 3, 4, 1.5]), { name: 'RangeError', message: /byte 4 is 1.5/ });
  assert.throws(() => new ToeplitzHasher(null as unknown as number[]), { name: 'TypeError' });
  const h = new ToeplitzHasher(RSS_VERIFICATION_KEY);
  assert.throws(() => h.setKey(new Uint8Array(3)), { name: 'RangeError' });
  assert.equal(h.maxInputLength, 36, 'a failed setKey keeps the old key');
  assert.deepEqual(h.key, Uint8Array.from(RSS_VERIFICATION_KEY));

  assert.equal(toeplitzKeyLengthFor(TOEPLITZ_IPV4_INPUT_LENGTH), 12);
  assert.equal(toeplitzKeyLengthFor(TOEPLITZ_IPV4_PORTS_INPUT_LENGTH), 16);
  assert.equal(toeplitzKeyLengthFor(TOEPLITZ_IPV6_INPUT_LENGTH), 36);
  assert.equal(toeplitzKeyLengthFor(TOEPLITZ_IPV6_PORTS_INPUT_LENGTH), 40);

  // A 16-byte key hashes IPv4 4-tuples and no more.
  const short = new ToeplitzHasher(Uint8Array.from(RSS_VERIFICATION_KEY).subarray(0, 16));
  const pkt = new Uint8Array(64);
  pkt.set(ipv4Bytes('66.9.149.187'), 12);
  pkt.set(ipv4Bytes('161.142.100.80'), 16);
  pkt.set(be16(2794), 20);
  pkt.set(be16(1766), 22);
  assert.equal(short.hashIpv4Ports(pkt, 12, 16, 20) >>> 0, 0x51ccc178, 'the first 16 key bytes give the same hash');
  assert.throws(() => short.hashIpv6(pkt, 8, 24), { name: 'RangeError', message: /needs 32 bytes.*at least 36 bytes/ });
  assert.throws(() => short.hashIpv6Ports(pkt, 8, 24, 40), { name: 'RangeError', message: /at least 40 bytes/ });
  assert.throws(() => short.hash(pkt, 0, 13), { name: 'RangeError', message: /hashes at most 12/ });
  const tiny = new ToeplitzHasher(Uint8Array.from(RSS_VERIFICATION_KEY).subarray(0, 12));
  assert.throws(() => tiny.hashIpv4Ports(pkt, 12, 16, 20), { name: 'RangeError', message: /IPv4 4-tuple/ });
  assert.equal(tiny.hashIpv4(pkt, 12, 16) >>> 0, 0x323e8fc2);
});

void test('offsets outside the buffer are a clear RangeError, never a silent wrong hash', () => {
  const h = new ToeplitzHasher(RSS_VERIFICATION_KEY);
  const pkt = new Uint8Array(40);
  assert.throws(() => h.hashIpv4(pkt, 37, 16), { name: 'RangeError', message: /source address \(4 bytes at offset 37\)/ });
  assert.throws(() => h.hashIpv4(pkt, 12, -1), { name: 'RangeError', message: /destination address/ });
  assert.throws(() => h.hashIpv4Ports(pkt, 12, 16, 38), { name: 'RangeError', message: /port pair/ });
  assert.throws(() => h.hashIpv6(pkt, 8, 25), { name: 'RangeError', message: /40-byte buffer/ });
  assert.throws(() => h.hashIpv6Ports(pkt, 8, 24, 40), { name: 'RangeError', message: /port pair/ });
  assert.throws(() => h.hashIpv4(pkt, 1.5, 16), { name: 'RangeError' });
  assert.throws(() => h.hash(pkt, 30, 12), { name: 'RangeError' });
  assert.throws(() => h.hash(pkt, 0, -1), { name: 'RangeError' });
  assert.equal(h.hash(pkt, 40, 0), 0, 'an empty input at the end of the buffer hashes to 0');
});
