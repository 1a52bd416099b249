import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowHasher, MemberTable, MEMBER_TABLE_SIZE, LoadBalancingAlgorithm } from '../../../../src/drivers/im/index.js';
import {
  NDIS_NET_BUFFER_LIST_INFO,
  NET_BUFFER_LIST_SET_HASH_FUNCTION,
  NET_BUFFER_LIST_SET_HASH_TYPE,
  NET_BUFFER_LIST_SET_HASH_VALUE,
  NetBufferListPool,
  ndisAllocateMdl,
} from '../../../../src/nbl/index.js';
import { parseIp } from '../../../../src/wire/address.js';

const { TransportPorts, IPAddresses, MacAddresses } = LoadBalancingAlgorithm;

function ip(text: string): Uint8Array {
  const a = parseIp(text)!;
  return a[10] === 0xff && a[11] === 0xff && a.subarray(0, 10).every((b) => b === 0) ? a.slice(12) : a;
}

/** An Ethernet frame carrying IPv4 or IPv6 with `proto` and the two ports, optionally tagged. */
function frame(src: string, dst: string, proto: number, sport: number, dport: number, opts: { vlan?: number; fragment?: boolean; ihl?: number } = {}): Uint8Array {
  const s = ip(src);
  const d = ip(dst);
  const v6 = s.length === 16;
  const ihl = opts.ihl ?? 20;
  const l3 = v6 ? 40 : ihl;
  const l2 = opts.vlan === undefined ? 14 : 18;
  const f = new Uint8Array(l2 + l3 + 20);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]);
  let p = 12;
  if (opts.vlan !== undefined) {
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = opts.vlan >> 8;
    f[15] = opts.vlan & 0xff;
    p = 16;
  }
  f[p] = v6 ? 0x86 : 0x08;
  f[p + 1] = v6 ? 0xdd : 0x00;
  const dv = new DataView(f.buffer);
  if (v6) {
    f[l2] = 0x60;
    f[l2 + 6] = proto;
    f.set(s, l2 + 8);
    f.set(d, l2 + 24);
  } else {
    f[l2] = 0x40 | (ihl >> 2);
    f[l2 + 9] = proto;
    if (opts.fragment === true) f[l2 + 6] = 0x20; // MF
    f.set(s, l2 + 12);
    f.set(d, l2 + 16);
  }
  dv.setUint16(l2 + l3, sport);
  dv.setUint16(l2 + l3 + 2, dport);
  return f;
}

// The vectors of "Verifying the RSS Hash Calculation" (source column first in the hash input).
const V4 = [
  { src: '66.9.149.187', sport: 2794, dst: '161.142.100.80', dport: 1766, ipOnly: 0x323e8fc2, withPorts: 0x51ccc178 },
  { src: '199.92.111.2', sport: 14230, dst: '65.69.140.83', dport: 4739, ipOnly: 0xd718262a, withPorts: 0xc626b0ea },
  { src: '24.19.198.95', sport: 12898, dst: '12.22.207.184', dport: 38024, ipOnly: 0xd2d0a5de, withPorts: 0x5c2b394a },
];
const V6 = [
  { src: '3ffe:2501:200:1fff::7', sport: 2794, dst: '3ffe:2501:200:3::1', dport: 1766, ipOnly: 0x2cc18cd5, withPorts: 0x40207d3d },
  { src: '3ffe:501:8::260:97ff:fe40:efab', sport: 14230, dst: 'ff02::1', dport: 4739, ipOnly: 0x0f0c461c, withPorts: 0xdde51bbf },
];

test('the flow hash of a frame is the RSS Toeplitz hash of its addresses and ports (Microsoft verification vectors)', () => {
  const h = new FlowHasher();
  for (const v of [...V4, ...V6]) {
    for (const vlan of [undefined, 10]) {
      const tcp = frame(v.src, v.dst, 6, v.sport, v.dport, vlan === undefined ? {} : { vlan });
      assert.equal(h.hashFrame(tcp, 0, tcp.length, TransportPorts) >>> 0, v.withPorts, `${v.src} TCP 4-tuple`);
      assert.equal(h.hashFrame(tcp, 0, tcp.length, IPAddresses) >>> 0, v.ipOnly, `${v.src} 2-tuple`);
      const udp = frame(v.src, v.dst, 17, v.sport, v.dport, vlan === undefined ? {} : { vlan });
      assert.equal(h.hashFrame(udp, 0, udp.length, TransportPorts) >>> 0, v.withPorts, `${v.src} UDP 4-tuple`);
      // Not TCP or UDP: the addresses only.
      const other = frame(v.src, v.dst, 47, v.sport, v.dport);
      assert.equal(h.hashFrame(other, 0, other.length, TransportPorts) >>> 0, v.ipOnly);
    }
  }
  // A fragment hashes its addresses only, so that every fragment of a datagram goes one way.
  const v = V4[0]!;
  const frag = frame(v.src, v.dst, 17, v.sport, v.dport, { fragment: true });
  assert.equal(h.hashFrame(frag, 0, frag.length, TransportPorts) >>> 0, v.ipOnly);
  // IPv4 options are skipped to find the ports.
  const opts = frame(v.src, v.dst, 6, v.sport, v.dport, { ihl: 24 });
  assert.equal(h.hashFrame(opts, 0, opts.length, TransportPorts) >>> 0, v.withPorts);
  // MacAddresses ignores everything after the MAC addresses.
  const a = frame(V4[0]!.src, V4[0]!.dst, 6, 1, 2);
  const b = frame(V4[1]!.src, V4[1]!.dst, 17, 3, 4);
  assert.equal(h.hashFrame(a, 0, a.length, MacAddresses), h.hashFrame(b, 0, b.length, MacAddresses));
  assert.notEqual(h.hashFrame(a, 0, a.length, TransportPorts), h.hashFrame(b, 0, b.length, TransportPorts));
});

test('hashing an NBL: the RSS hash the sender set wins for TransportPorts; headers spread over MDLs hash alike', () => {
  const h = new FlowHasher();
  const pool = new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: 'Hash' });
  const v = V4[1]!;
  const f = frame(v.src, v.dst, 6, v.sport, v.dport);
  // Split the frame over three MDLs at awkward places.
  const m1 = ndisAllocateMdl(f.slice(0, 5));
  const m2 = ndisAllocateMdl(f.slice(5, 29));
  const m3 = ndisAllocateMdl(f.slice(29));
  m1.next = m2;
  m2.next = m3;
  const nbl = pool.allocateNetBufferAndNetBufferList(0, 0, m1, 0, f.length)!;
  assert.equal(h.hashNetBufferList(nbl, TransportPorts) >>> 0, v.withPorts);
  assert.equal(h.hashNetBufferList(nbl, IPAddresses) >>> 0, v.ipOnly);
  NET_BUFFER_LIST_SET_HASH_VALUE(nbl, 0x12345678);
  NET_BUFFER_LIST_SET_HASH_TYPE(nbl, 0x200);
  NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl, 1);
  assert.equal(h.hashNetBufferList(nbl, TransportPorts) >>> 0, 0x12345678, 'the RSS hash value of the NBL');
  assert.equal(h.hashNetBufferList(nbl, IPAddresses) >>> 0, v.ipOnly, 'IPAddresses hashes the addresses itself');
  nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo] = 0;
  assert.equal(h.hashNetBufferList(nbl, TransportPorts) >>> 0, v.withPorts, 'no hash function: computed');
  pool.freeNetBufferList(nbl);
});

test('any bytes hash without throwing (truncated headers, bad IHL, random data)', () => {
  const h = new FlowHasher();
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.nat(8), fc.constantFrom(TransportPorts, IPAddresses, MacAddresses), (bytes, offset, alg) => {
      const buf = new Uint8Array(bytes.length + offset);
      buf.set(bytes, offset);
      const x = h.hashFrame(buf, offset, bytes.length, alg);
      return Number.isInteger(x) && x === (x | 0);
    }),
    { numRuns: 3000 },
  );
  // Typical corner cases, explicitly.
  const t = frame('192.0.2.1', '192.0.2.2', 6, 1, 2);
  for (let n = 0; n <= t.length; n++) assert.doesNotThrow(() => h.hashFrame(t, 0, n, TransportPorts));
  const bad = t.slice();
  bad[14] = 0x41; // IHL 4 bytes
  assert.doesNotThrow(() => h.hashFrame(bad, 0, bad.length, TransportPorts));
});

function shares(t: MemberTable): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of t.entries) m.set(e, (m.get(e) ?? 0) + 1);
  return m;
}

test('the member table deals fair shares; a failed member gives up exactly its entries and takes exactly those back', () => {
  const t = new MemberTable();
  t.setMembers(2);
  t.rebuild([0, 1]);
  assert.deepEqual([...shares(t)].sort(), [[0, 64], [1, 64]]);
  assert.deepEqual(t.entries, t.home, 'every member active: every entry at home');
  const before = Int16Array.from(t.entries);
  // Member 1 fails: only its entries move.
  t.rebuild([0]);
  for (let i = 0; i < MEMBER_TABLE_SIZE; i++) if (before[i] === 0) assert.equal(t.entries[i], 0);
  assert.equal(t.share(0), MEMBER_TABLE_SIZE);
  // It comes back: its entries return to it, member 0's never moved.
  t.rebuild([0, 1]);
  assert.deepEqual(t.entries, before);
  t.rebuild([]);
  assert.ok(t.entries.every((e) => e === -1));
  assert.equal(t.lookup(12345), -1);
  // Three of six members in use.
  t.setMembers(6);
  t.rebuild([0, 2, 5]);
  assert.deepEqual([...shares(t)].sort((a, b) => a[0] - b[0]), [[0, 43], [2, 43], [5, 42]]);
  for (let i = 0; i < MEMBER_TABLE_SIZE; i++) if ([0, 2, 5].includes(t.home[i]!)) assert.equal(t.entries[i], t.home[i]);
  // A seventh member: only a seventh of the homes move, all to it.
  const homes = Int16Array.from(t.home);
  t.setMembers(7);
  let moved = 0;
  for (let i = 0; i < MEMBER_TABLE_SIZE; i++) {
    if (t.home[i] !== homes[i]) {
      moved++;
      assert.equal(t.home[i], 6);
    }
  }
  assert.ok(moved >= 18 && moved <= 19, `${moved} homes moved`);
  t.reset();
  assert.ok(t.entries.every((e) => e === -1) && t.home.every((e) => e === -1));
});

test('member table properties: entries name active members, shares are fair, entries are at home when they can be, survivors keep theirs', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.subarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 1 }), { minLength: 1, maxLength: 12 }), (homes, sets) => {
      const t = new MemberTable();
      if (homes) t.setMembers(8);
      let prev: Int16Array | null = null;
      let prevSet: number[] = [];
      for (const set of sets) {
        t.rebuild(set);
        const k = set.length;
        const lo = Math.floor(MEMBER_TABLE_SIZE / k);
        const hi = Math.ceil(MEMBER_TABLE_SIZE / k);
        for (const e of t.entries) if (!set.includes(e)) return false;
        for (const m of set) {
          const s = t.share(m);
          if (s < lo || s > hi) return false;
        }
        if (homes) for (let i = 0; i < MEMBER_TABLE_SIZE; i++) if (set.includes(t.home[i]!) && t.entries[i] !== t.home[i]) return false;
        if (prev !== null) {
          // Removing members only (no member added): entries of the survivors stay put.
          if (set.every((m) => prevSet.includes(m))) {
            for (let i = 0; i < MEMBER_TABLE_SIZE; i++) if (set.includes(prev[i]!) && t.entries[i] !== prev[i]) return false;
          }
          // An entry leaves a member that stays only to go home, or when the member held more than its share now.
          const counts = new Map<number, number>();
          for (const e of prev) counts.set(e, (counts.get(e) ?? 0) + 1);
          for (let i = 0; i < MEMBER_TABLE_SIZE; i++) {
            const was = prev[i]!;
            if (t.entries[i] !== was && set.includes(was) && t.entries[i] !== t.home[i] && (counts.get(was) ?? 0) <= lo) return false;
          }
        }
        prev = Int16Array.from(t.entries);
        prevSet = set;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
});
