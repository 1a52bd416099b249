import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NblQueue,
  NetBufferListPool,
  appendNetBufferLists,
  countNetBufferLists,
  lastNetBufferList,
  splitNetBufferLists,
  type NetBufferList,
} from '../../src/nbl/index.js';

const pool = new NetBufferListPool({ fAllocateNetBuffer: false });

function chainOf(n: number): NetBufferList[] {
  const nbls = Array.from({ length: n }, () => pool.allocateNetBufferList()!);
  for (let i = 0; i + 1 < n; i++) nbls[i]!.next = nbls[i + 1]!;
  return nbls;
}

test('chains of 0, 1 and many', () => {
  assert.equal(countNetBufferLists(null), 0);
  const one = chainOf(1);
  assert.equal(countNetBufferLists(one[0]!), 1);
  const many = chainOf(64);
  assert.equal(countNetBufferLists(many[0]!), 64);
  assert.equal(lastNetBufferList(many[0]!), many[63]);
  const joined = appendNetBufferLists(one[0]!, many[0]!);
  assert.equal(countNetBufferLists(joined), 65);
  assert.equal(appendNetBufferLists(null, one[0]!), one[0]);
  for (const nbl of [...one, ...many]) pool.freeNetBufferList(nbl);
});

test('NblQueue takes and gives chains in O(1) and keeps the count', () => {
  const q = new NblQueue();
  assert.equal(q.dequeue(), null);
  const a = chainOf(3);
  const b = chainOf(4);
  q.enqueueChain(a[0]!, a[2]!, 3);
  q.enqueueChain(b[0]!); // tail unknown: walked once
  q.enqueue(pool.allocateNetBufferList()!);
  assert.equal(q.count, 8);
  assert.equal(q.dequeue(), a[0]);
  const three = q.dequeueChain(3)!;
  assert.deepEqual([three, three.next, three.next!.next], [a[1], a[2], b[0]]);
  assert.equal(three.next!.next!.next, null, 'the chain taken is terminated');
  assert.equal(q.count, 4);
  const rest = q.takeAll()!;
  assert.equal(countNetBufferLists(rest), 4);
  assert.ok(q.isEmpty);
  for (let n: NetBufferList | null = rest; n !== null; ) {
    const next: NetBufferList | null = n.next;
    pool.freeNetBufferList(n);
    n = next;
  }
  for (let n: NetBufferList | null = three; n !== null; ) {
    const next: NetBufferList | null = n.next;
    pool.freeNetBufferList(n);
    n = next;
  }
  pool.freeNetBufferList(a[0]!);
});

test('split by predicate keeps order on both sides', () => {
  const nbls = chainOf(10);
  nbls.forEach((n, i) => (n.status = i));
  const even = new NblQueue();
  const odd = new NblQueue();
  splitNetBufferLists(nbls[0]!, (n) => n.status % 2 === 0, even, odd);
  const statuses = (q: NblQueue) => {
    const out: number[] = [];
    for (let n = q.head; n !== null; n = n.next) out.push(n.status);
    return out;
  };
  assert.deepEqual(statuses(even), [0, 2, 4, 6, 8]);
  assert.deepEqual(statuses(odd), [1, 3, 5, 7, 9]);
  for (const n of nbls) pool.freeNetBufferList(n);
});
