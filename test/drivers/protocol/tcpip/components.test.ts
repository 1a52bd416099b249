// The stack's building blocks on their own: the timer heap (against a sorted model, fast-check),
// address arithmetic (prefixes, solicited-node groups, EUI-64, multicast MACs), prefix parsing
// errors, and the reassembler's rules (duplicates, overlaps, the end of the datagram).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FragmentResult,
  Reassembler,
  StackTimer,
  TimerHeap,
  commonPrefixLength,
  isDirectedBroadcast,
  linkLocalFromMac,
  maskPrefix,
  multicastMac,
  parsePrefix,
  prefixMatches,
  solicitedNodeAddress,
  type StackTimer as StackTimerType,
} from '../../../../src/drivers/protocol/tcpip/index.js';
import { formatIp, parseIp } from '../../../../src/wire/address.js';

const ip = (t: string): Uint8Array => parseIp(t)!;

void test('timer heap: timers fire in due order, whatever the sets, moves and removals', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ op: fc.constantFrom('set', 'set', 'remove'), t: fc.nat(19), at: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 200 }),
      (ops) => {
        const fired: number[] = [];
        const heap = new TimerHeap();
        const timers = Array.from({ length: 20 }, (_, i) => new StackTimer({ onStackTimer: () => fired.push(i) }, i));
        const model = new Map<number, number>();
        for (const o of ops) {
          const t = timers[o.t]!;
          if (o.op === 'set') {
            heap.set(t, o.at);
            model.set(o.t, o.at);
          } else {
            heap.remove(t);
            model.delete(o.t);
          }
        }
        assert.equal(heap.size, model.size);
        const dueOrder: number[] = [];
        let last = -1;
        for (let x = heap.popDue(Infinity); x !== null; x = heap.popDue(Infinity)) {
          assert.ok(x.at >= last, 'non-decreasing due times');
          last = x.at;
          dueOrder.push((x as StackTimerType).kind);
          x.fire();
        }
        assert.deepEqual(dueOrder.slice().sort((a, b) => a - b), [...model.keys()].sort((a, b) => a - b));
        assert.deepEqual(fired, dueOrder);
        for (const t of timers) assert.equal(t.armed, false);
      },
    ),
    { seed: 42 },
  );
});

void test('timer heap: only due timers pop', () => {
  const heap = new TimerHeap();
  const t1 = new StackTimer({ onStackTimer: () => undefined }, 1);
  const t2 = new StackTimer({ onStackTimer: () => undefined }, 2);
  heap.set(t1, 10);
  heap.set(t2, 5);
  assert.equal(heap.nextAt, 5);
  assert.equal(heap.popDue(4), null);
  assert.equal(heap.popDue(5), t2);
  heap.set(t1, 3);
  assert.equal(heap.nextAt, 3);
  assert.equal(heap.popDue(100), t1);
  assert.equal(heap.size, 0);
});

void test('address arithmetic: prefixes, common prefix, masks, directed broadcast, solicited-node group, EUI-64, multicast MACs', () => {
  assert.ok(prefixMatches(ip('10.1.2.3'), ip('10.1.0.0'), 96 + 16));
  assert.ok(!prefixMatches(ip('10.2.2.3'), ip('10.1.0.0'), 96 + 16));
  assert.ok(prefixMatches(ip('fd00::1'), ip('fd00::ffff'), 64));
  assert.ok(prefixMatches(ip('10.0.0.129'), ip('10.0.0.128'), 96 + 25));
  assert.ok(!prefixMatches(ip('10.0.0.127'), ip('10.0.0.128'), 96 + 25));
  assert.equal(commonPrefixLength(ip('fd00::1'), ip('fd00::2')), 126);
  assert.equal(commonPrefixLength(ip('fd00::1'), ip('fd00::1')), 128);
  const m = new Uint8Array(16);
  maskPrefix(m, ip('10.1.2.3'), 96 + 20);
  assert.equal(formatIp(m), '10.1.0.0');
  assert.ok(isDirectedBroadcast(ip('10.0.0.255'), ip('10.0.0.1'), 96 + 24));
  assert.ok(!isDirectedBroadcast(ip('10.0.0.254'), ip('10.0.0.1'), 96 + 24));
  assert.ok(!isDirectedBroadcast(ip('10.0.0.1'), ip('10.0.0.0'), 96 + 31), '/31 has no broadcast (RFC 3021)');
  const g = new Uint8Array(16);
  solicitedNodeAddress(g, ip('fe80::2aa:ff:fe28:9c5a'));
  assert.equal(formatIp(g), 'ff02::1:ff28:9c5a', 'RFC 4291 2.7.1');
  // RFC 4291 appendix A: MAC 00:aa:00:28:9c:5a gives the identifier 02aa:00ff:fe28:9c5a.
  assert.equal(formatIp(linkLocalFromMac(Uint8Array.from([0x00, 0xaa, 0x00, 0x28, 0x9c, 0x5a]))), 'fe80::2aa:ff:fe28:9c5a');
  const mac = new Uint8Array(6);
  multicastMac(mac, 0, g);
  assert.equal(Buffer.from(mac).toString('hex'), '3333ff289c5a', 'RFC 2464 7');
  multicastMac(mac, 0, ip('224.129.2.3'));
  assert.equal(Buffer.from(mac).toString('hex'), '01005e010203', 'RFC 1112 6.4: the low 23 bits');
});

void test('prefix parsing: the family decides the bits; bad text is a typed error that says how to write it', () => {
  assert.deepEqual({ ...parsePrefix('10.0.0.1/24'), address: undefined }, { address: undefined, prefixLength: 120, v4: true });
  assert.equal(parsePrefix('fd00::1/64').prefixLength, 64);
  assert.equal(parsePrefix('::ffff:10.0.0.1/120').v4, false, 'IPv6 text stays IPv6');
  assert.throws(() => parsePrefix('10.0.0.1'), { code: 'ERR_NDIS_INVALID_PARAMETER', message: /10\.0\.0\.1\/24/ });
  assert.throws(() => parsePrefix('10.0.0.1/33'), /0 to 32/);
  assert.throws(() => parsePrefix('10.0.0/24'), /not an IP address/);
  assert.equal(parsePrefix('10.0.0.0', 32).prefixLength, 128);
});

void test('reassembler: duplicates ignored, overlaps discard, the end of the datagram is fixed by the last fragment', () => {
  let now = 0;
  const timedOut: number[] = [];
  const r = new Reassembler(
    {
      now: () => now,
      setTimer: (t, at) => {
        t.at = at;
      },
      cancelTimer: (t) => {
        t.at = Infinity;
      },
      reassemblyTimedOut: (e) => timedOut.push(e.id),
    },
    2,
    60_000,
  );
  const iface = {} as never;
  const src = ip('10.0.0.2');
  const dst = ip('10.0.0.1');
  const offer = (id: number, off: number, len: number, more: boolean, fill = 9) => {
    const b = new Uint8Array(20 + len).fill(fill);
    return r.offer(iface, false, src, dst, id, 17, off, more, b, 0, 20, 20, len, -1);
  };
  assert.equal(offer(1, 0, 16, true), null);
  assert.equal(r.lastResult, FragmentResult.Held);
  assert.equal(offer(1, 0, 16, true), null);
  assert.equal(r.lastResult, FragmentResult.Duplicate);
  assert.equal(offer(1, 8, 16, true, 7), null, 'overlaps with different data');
  assert.equal(r.lastResult, FragmentResult.Overlap);
  assert.equal(r.active, 0, 'the datagram is gone');
  // Datagram 2: the first fragment, then the last completes it.
  assert.equal(offer(2, 0, 16, true), null);
  const done = offer(2, 16, 10, false);
  assert.ok(done !== null);
  assert.equal(r.lastResult, FragmentResult.Complete);
  assert.equal(done.dataLength, 26);
  assert.equal(done.packetLength, 46);
  r.release(done);
  // Datagram 3: the last fragment first, then data past the end it set.
  assert.equal(offer(3, 16, 8, false), null);
  assert.equal(offer(3, 32, 8, true), null);
  assert.equal(r.lastResult, FragmentResult.Malformed);
  // A non-final fragment must carry a multiple of 8 bytes.
  assert.equal(offer(4, 0, 12, true), null);
  assert.equal(r.lastResult, FragmentResult.Malformed);
  // Two datagrams at most.
  assert.equal(r.active, 0);
  offer(5, 0, 16, true);
  offer(6, 0, 16, true);
  assert.equal(offer(7, 0, 16, true), null);
  assert.equal(r.lastResult, FragmentResult.Limit);
  now = 61_000;
  assert.equal(timedOut.length, 0, 'timeouts come from the stack timer, not from the clock alone');
});
