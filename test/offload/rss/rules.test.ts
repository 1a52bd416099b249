// RSS hash-type rules ("RSS Hashing Types") over scapy frames, for every valid hash type
// combination: which tuple is hashed (4-tuple, 2-tuple, none), with the *_EX addresses, and the
// value checked against the bit-by-bit ComputeHash of the documented input bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameLayout, parseFrame } from '../../../src/offload/layout.js';
import { RssClassification, isValidHashType, rssHashFrame } from '../../../src/offload/rss/engine.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../../src/offload/rss/toeplitz.js';
import * as H from '../../../src/offload/rss/hash-types.js';
import { parseIp } from '../../../src/wire/address.js';
import { fixtures, hex, type RssFixture } from '../fixtures.js';

/** ComputeHash of "RSS Hashing Functions", bit by bit, with the key as a bigint. */
function referenceHash(key: readonly number[], input: Uint8Array): number {
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

function addr(text: string): Uint8Array {
  const a = parseIp(text)!;
  return text.includes(':') ? a : a.subarray(12);
}

function tuple(src: string, dst: string, sport?: number, dport?: number): Uint8Array {
  const s = addr(src);
  const d = addr(dst);
  const out = new Uint8Array(s.length + d.length + (sport === undefined ? 0 : 4));
  out.set(s, 0);
  out.set(d, s.length);
  if (sport !== undefined && dport !== undefined) {
    const o = s.length + d.length;
    out[o] = sport >> 8;
    out[o + 1] = sport & 0xff;
    out[o + 2] = dport >> 8;
    out[o + 3] = dport & 0xff;
  }
  return out;
}

type Kind = 'tcp4' | 'udp4' | 'ip4' | 'frag4' | 'tcp6' | 'udp6' | 'ip6' | 'frag6' | 'none';

// What each frame is, as the rules see it.
const KIND: Record<string, Kind> = {
  'ipv4-tcp': 'tcp4',
  'ipv4-udp': 'udp4',
  'ipv4-icmp': 'ip4',
  'ipv4-options-tcp': 'tcp4',
  'ipv4-tcp-first-fragment': 'frag4',
  'ipv4-tcp-later-fragment': 'frag4',
  'ipv6-tcp': 'tcp6',
  'ipv6-udp': 'udp6',
  'ipv6-icmpv6': 'ip6',
  'ipv6-ext-tcp': 'tcp6',
  'ipv6-hao-rh2-tcp': 'tcp6',
  'ipv6-hao-udp': 'udp6',
  'ipv6-first-fragment-udp': 'frag6',
  'ipv6-later-fragment': 'frag6',
  'ipv6-esp': 'ip6',
  arp: 'none',
};

/** The rules of "RSS Hashing Types", written out per frame kind: [type, input bytes] or null. */
function expected(f: RssFixture, kind: Kind, types: number): [number, Uint8Array] | null {
  const src = f.src!;
  const dst = f.dst!;
  const exSrc = f.exSrc ?? src;
  const exDst = f.exDst ?? dst;
  switch (kind) {
    case 'tcp4':
      if (types & H.NDIS_HASH_TCP_IPV4) return [H.NDIS_HASH_TCP_IPV4, tuple(src, dst, f.sport!, f.dport!)];
      return types & H.NDIS_HASH_IPV4 ? [H.NDIS_HASH_IPV4, tuple(src, dst)] : null;
    case 'udp4':
      if (types & H.NDIS_HASH_UDP_IPV4) return [H.NDIS_HASH_UDP_IPV4, tuple(src, dst, f.sport!, f.dport!)];
      return types & H.NDIS_HASH_IPV4 ? [H.NDIS_HASH_IPV4, tuple(src, dst)] : null;
    case 'ip4':
    case 'frag4':
      // A fragment — the first one included — hashes the 2-tuple (NDIS_HASH_IPV4 must be used).
      return types & H.NDIS_HASH_IPV4 ? [H.NDIS_HASH_IPV4, tuple(src, dst)] : null;
    case 'tcp6':
    case 'udp6': {
      const ex = kind === 'tcp6' ? H.NDIS_HASH_TCP_IPV6_EX : H.NDIS_HASH_UDP_IPV6_EX;
      const plain = kind === 'tcp6' ? H.NDIS_HASH_TCP_IPV6 : H.NDIS_HASH_UDP_IPV6;
      if (types & ex) return [ex, tuple(exSrc, exDst, f.sport!, f.dport!)];
      if (types & plain) return [plain, tuple(src, dst, f.sport!, f.dport!)];
      if (types & H.NDIS_HASH_IPV6_EX) return [H.NDIS_HASH_IPV6_EX, tuple(exSrc, exDst)];
      return types & H.NDIS_HASH_IPV6 ? [H.NDIS_HASH_IPV6, tuple(src, dst)] : null;
    }
    case 'ip6':
    case 'frag6':
      if (types & H.NDIS_HASH_IPV6_EX) return [H.NDIS_HASH_IPV6_EX, tuple(exSrc, exDst)];
      return types & H.NDIS_HASH_IPV6 ? [H.NDIS_HASH_IPV6, tuple(src, dst)] : null;
    default:
      return null;
  }
}

/** Every valid hash type: each set contributes nothing or one of its listed combinations. */
function validCombinations(): number[] {
  const sets = [
    [H.NDIS_HASH_IPV4, H.NDIS_HASH_TCP_IPV4, H.NDIS_HASH_UDP_IPV4],
    [H.NDIS_HASH_IPV6, H.NDIS_HASH_TCP_IPV6, H.NDIS_HASH_UDP_IPV6],
    [H.NDIS_HASH_IPV6_EX, H.NDIS_HASH_TCP_IPV6_EX, H.NDIS_HASH_UDP_IPV6_EX],
  ];
  const per = sets.map(([ip, tcp, udp]) => [0, ip!, tcp!, udp!, tcp! | ip!, udp! | ip!, tcp! | udp! | ip!]);
  const out: number[] = [];
  for (const a of per[0]!) for (const b of per[1]!) for (const c of per[2]!) if ((a | b | c) !== 0) out.push(a | b | c);
  return out;
}

const hasher = new ToeplitzHasher(RSS_VERIFICATION_KEY);
const layout = new FrameLayout();
const out = new RssClassification();

void test('every hash type combination on every frame kind hashes the tuple the rules name', () => {
  const combos = validCombinations();
  assert.equal(combos.length, 7 * 7 * 7 - 1);
  let hashed = 0;
  for (const f of fixtures.rss) {
    const kind = KIND[f.name];
    assert.notEqual(kind, undefined, `no kind for ${f.name}`);
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    for (const types of combos) {
      assert.ok(isValidHashType(types));
      const t = rssHashFrame(hasher, b, layout, types, out);
      const want = expected(f, kind!, types);
      if (want === null) {
        assert.equal(t, 0, `${f.name} types 0x${types.toString(16)}: no hash`);
        assert.equal(out.hash, 0);
      } else {
        assert.equal(t, want[0], `${f.name} types 0x${types.toString(16)}: type`);
        assert.equal(out.hash, referenceHash(RSS_VERIFICATION_KEY, want[1]), `${f.name} types 0x${types.toString(16)}: value`);
        hashed++;
      }
    }
  }
  assert.ok(hashed > 1000);
});

void test('Microsoft\'s verification vectors through whole frames (IPv4 and IPv6, with and without TCP)', () => {
  const vectors: [string, number, number][] = [
    ['ipv4-tcp', 0x323e8fc2, 0x51ccc178],
    ['ipv4-udp', 0xd718262a, 0xc626b0ea],
    ['ipv4-icmp', 0xd2d0a5de, 0xd2d0a5de],
    ['ipv4-options-tcp', 0x82989176, 0xafc7327f],
    ['ipv6-tcp', 0x2cc18cd5, 0x40207d3d],
    ['ipv6-udp', 0x0f0c461c, 0xdde51bbf],
    ['ipv6-icmpv6', 0x4b61e985, 0x4b61e985],
  ];
  const two = H.NDIS_HASH_IPV4 | H.NDIS_HASH_IPV6;
  const four = two | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_TCP_IPV6 | H.NDIS_HASH_UDP_IPV6;
  for (const [name, only, withPorts] of vectors) {
    const f = fixtures.rss.find((x) => x.name === name)!;
    const b = hex(f.hex);
    parseFrame(b, 0, b.length, layout);
    rssHashFrame(hasher, b, layout, two, out);
    assert.equal(out.hash, only, `${name} 2-tuple`);
    rssHashFrame(hasher, b, layout, four, out);
    assert.equal(out.hash, withPorts, `${name} 4-tuple`);
  }
});

void test('invalid hash types: bits outside the sets, TCP|UDP without IP, nothing at all', () => {
  assert.equal(isValidHashType(0), false);
  assert.equal(isValidHashType(H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4), false);
  assert.equal(isValidHashType(H.NDIS_HASH_TCP_IPV6_EX | H.NDIS_HASH_UDP_IPV6_EX), false);
  assert.equal(isValidHashType(0x20000), false);
  assert.equal(isValidHashType(H.NDIS_HASH_IPV4 | 0x1), false);
  assert.equal(isValidHashType(H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_UDP_IPV4 | H.NDIS_HASH_IPV4), true);
});
