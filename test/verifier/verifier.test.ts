/**
 * The verifier itself: reports and their rendering, the three actions, levels per driver,
 * low-resource simulation, poisoning, the catalog and `ndis verifier rules`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { NdisVerifierViolation, RULE } from '../../src/ndis/index.js';
import { NDIS_NET_BUFFER_LIST_INFO, type NetBufferList } from '../../src/nbl/index.js';
import { POISON_BYTE, RULES, RX, ruleById, type VerifierRule } from '../../src/verifier/index.js';
import { advisories, done, frame, lab, violations } from './lab.js';

test('a report names the rule, its source and Windows code, the driver, the adapter, the call and the NBL with its layout and OOB', async () => {
  const l = await lab({ miniportMinor: 0, verifier: { action: 'throw' } });
  let caught: unknown = null;
  try {
    l.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [54, 300], info: [[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue, 0xabc]] }]);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof NdisVerifierViolation);
  assert.equal(caught.ruleId, RX.NDIS60_ONE_MDL);
  const text = caught.message;
  assert.match(text, /^NDIS verifier violation RX-003: An NDIS 6\.0 driver indicates each received NET_BUFFER in a single MDL/);
  assert.match(text, /driver:\s+pm\n/);
  assert.match(text, /object:\s+nic\n/);
  assert.match(text, /in:\s+NdisMIndicateReceiveNetBufferLists/);
  assert.match(text, /NB0: DataOffset 0, DataLength 654, CurrentMdlOffset 0, MDLs \[54, 246, 354\]/);
  assert.match(text, /OOB: NetBufferListHashValue=0xabc/);
  assert.match(text, /source:\s+https:\/\/learn\.microsoft\.com\/windows-hardware\/drivers\/network\/indicating-received-ethernet-frames/);
  const r = l.verifier.reports[0]!;
  assert.deepEqual(
    { ruleId: r.ruleId, family: r.family, driver: r.driver, object: r.object, mdls: r.nbl?.netBuffers[0]?.mdls },
    { ruleId: 'RX-003', family: 'receive', driver: 'pm', object: 'nic', mdls: [54, 246, 354] },
  );
  for (const n of [...l.nic.outstandingReceives]) l.nic.returned(n);
  await done(l).catch(() => undefined);
});

test("action 'log' writes the report and goes on; 'count' only counts", async () => {
  const lines: string[] = [];
  const l = await lab({ verifier: { action: 'log', log: (t) => lines.push(t) } });
  l.nic.indicate([{ bytes: frame('udp4').bytes, extraNetBuffers: [frame('udp4').bytes] }]);
  l.nic.indicate([{ bytes: frame('udp4').bytes }]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /RX-002/);
  assert.equal(l.verifier.count(RX.ONE_NET_BUFFER), 1);
  assert.equal(l.binding.received.length, 2, 'delivery went on');
  await done(l);
  const c = await lab({ verifier: { action: 'count', log: (t) => lines.push(t) } });
  c.nic.indicate([{ bytes: frame('udp4').bytes, extraNetBuffers: [frame('udp4').bytes] }]);
  assert.equal(lines.length, 1, 'count does not log');
  assert.equal(c.verifier.count(), 1);
  await done(c);
});

test('levels per driver: a driver set to off is not reported, one set to full is checked deeply while the others stay cheap', async () => {
  const off = await lab({ verifier: { level: 'full', drivers: { pm: 'off' } } });
  off.nic.indicate([{ bytes: frame('udp4').bytes, extraNetBuffers: [frame('udp4').bytes] }]);
  assert.deepEqual(violations(off), []);
  await done(off);
  const mixed = await lab({ verifier: { level: 'cheap', drivers: { pm: 'full' } }, filter: { name: 'other' } });
  assert.equal(mixed.verifier.level, 2, 'the runtime runs at the highest level any driver has');
  mixed.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [20] }]); // full-level rule, pm at full
  mixed.fmod!.indicate([{ bytes: frame('tcp4').bytes, splitAt: [20] }]); // same break, filter at cheap
  assert.deepEqual(
    mixed.verifier.reports.filter((r) => r.ruleId === RX.SPLIT_INSIDE_HEADERS).map((r) => r.driver),
    ['pm'],
  );
  await done(mixed);
});

test('low-resource simulation fails a seeded share of the allocations of the drivers it targets, the same ones for the same seed', async () => {
  const pattern = async (seed: number): Promise<string> => {
    const l = await lab({ verifier: { lowResources: { failRate: 0.25, seed, drivers: ['raw'] } } });
    // Pools made through NDIS are covered from their creation.
    const pool = l.ndis.allocateNetBufferListPool(l.binding.handle, { fAllocateNetBuffer: true, poolTag: 'LowR' });
    const got: NetBufferList[] = [];
    let bits = '';
    for (let i = 0; i < 400; i++) {
      const x = pool.allocateNetBufferList(0, 0);
      bits += x === null ? '0' : '1';
      if (x !== null) got.push(x);
    }
    // The miniport is not targeted: its allocations all succeed.
    const nicPool = l.ndis.allocateNetBufferListPool(l.nic.handle, { fAllocateNetBuffer: true, poolTag: 'NicP' });
    const nicGot = Array.from({ length: 100 }, () => nicPool.allocateNetBufferList(0, 0));
    assert.ok(nicGot.every((x) => x !== null));
    for (const x of nicGot) nicPool.freeNetBufferList(x!);
    l.ndis.freeNetBufferListPool(nicPool);
    // Memory too.
    let memFails = 0;
    for (let i = 0; i < 200; i++) {
      const m = l.ndis.allocateMemoryWithTagPriority(l.binding.handle, 64, 0x6d656d54);
      if (m === null) memFails++;
      else l.ndis.freeMemory(l.binding.handle, m);
    }
    assert.ok(memFails > 20 && memFails < 90, `memory failures ${memFails}/200`);
    const fails = bits.split('').filter((b) => b === '0').length;
    assert.ok(fails > 60 && fails < 140, `pool failures ${fails}/400 at a 25% rate`);
    assert.equal(l.verifier.lowResourceFailures, fails + memFails);
    for (const x of got) pool.freeNetBufferList(x);
    l.ndis.freeNetBufferListPool(pool);
    await done(l);
    return bits;
  };
  const a = await pattern(7);
  const b = await pattern(7);
  const c = await pattern(8);
  assert.equal(a, b, 'same seed, same failures');
  assert.notEqual(a, c, 'another seed, other failures');
});

test('a driver whose failure path is exercised by low resources keeps working and loses nothing', async () => {
  const l = await lab({ verifier: { lowResources: { failRate: 0.3, seed: 3, drivers: ['raw'] } } });
  const pool = l.ndis.allocateNetBufferListPool(l.binding.handle, { fAllocateNetBuffer: true, poolTag: 'Send' });
  let sent = 0;
  let failed = 0;
  for (let i = 0; i < 100; i++) {
    const x = pool.allocateNetBufferAndNetBufferList(0, 0, null, 0, 0);
    if (x === null) {
      failed++; // the driver's failure path: count and go on
      continue;
    }
    pool.freeNetBufferList(x);
    sent++;
  }
  assert.equal(sent + failed, 100);
  assert.ok(failed > 0);
  l.ndis.freeNetBufferListPool(pool);
  assert.deepEqual(violations(l), []);
  await done(l);
});

test('poisoning: a protocol that keeps a view of a frame after returning it reads 0xDE, not the next frame', async () => {
  for (const poison of [false, true]) {
    const l = await lab({ verifier: { level: 'full', poison } });
    let view: Uint8Array | null = null;
    l.binding.onReceive = (nbl) => {
      const nb = nbl.firstNetBuffer!;
      view = nb.currentMdl!.buffer.subarray(nb.currentMdl!.byteOffset + nb.currentMdlOffset, nb.currentMdl!.byteOffset + nb.currentMdlOffset + 64);
    };
    const bytes = frame('tcp4').bytes;
    l.nic.indicate([{ bytes }]); // the binding returns it at once
    const v = view as Uint8Array | null;
    assert.ok(v !== null);
    if (poison) assert.ok(v.every((b) => b === POISON_BYTE), 'the returned frame is poisoned');
    else assert.deepEqual(v, bytes.subarray(0, 64), 'without poisoning the stale view still shows the old frame');
    await done(l);
  }
});

test('the catalog: unique ids, every family, sources on learn.microsoft.com, and a faulty and a legitimate test for every rule', () => {
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...new Set(RULES.map((r) => r.family))], ['receive', 'send', 'ownership', 'state', 'oid', 'timing', 'resources']);
  for (const r of RULES) {
    assert.match(r.source, /^https:\/\/learn\.microsoft\.com\/windows-hardware\/drivers\//, r.id);
    assert.ok(r.title.length > 20, r.id);
  }
  for (const id of Object.values(RULE)) assert.ok(ruleById(id) !== undefined, `runtime rule ${id} is in the catalog`);
  // Every rule has a test that breaks it and one that does the nearest legitimate thing.
  const dir = new URL('../../../test/verifier/', import.meta.url);
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(new URL(f, dir), 'utf8'))
    .join('\n');
  // Literal titles ('RX-002: ...', 'RX-002 (legitimate): ...'), or a table of literal ids ['RES-001', ...]
  // that generates both titles from `${id}: ...` and `${id} (legitimate): ...`.
  const generated = sources.includes('`${id}: ') && sources.includes('`${id} (legitimate): ');
  const covered = (r: VerifierRule, legit: boolean): boolean =>
    sources.includes(legit ? `'${r.id} (legitimate)` : `'${r.id}:`) || (generated && sources.includes(`['${r.id}',`));
  const missing = RULES.filter((r) => !covered(r, false) || !covered(r, true)).map((r) => r.id);
  assert.deepEqual(missing, []);
});

test('`ndis verifier rules --json` lists every rule with id, family and source; the text form groups by family', () => {
  const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const json = JSON.parse(execFileSync(process.execPath, [cli, 'verifier', 'rules', '--json'], { encoding: 'utf8' })) as VerifierRule[];
  assert.deepEqual(json.map((r) => r.id), RULES.map((r) => r.id));
  assert.ok(json.every((r) => typeof r.family === 'string' && r.source.startsWith('https://')));
  const text = execFileSync(process.execPath, [cli, 'verifier', 'rules', '--family', 'timing'], { encoding: 'utf8' });
  assert.match(text, /^timing:/);
  assert.match(text, /TIME-001 +cheap +A miniport completes an OID request within 12 seconds/);
  assert.match(text, /windows: 0xC4\/0x00092003 NdisTimedOidComplete/);
  assert.match(text, /6 rules/);
});

test('advisories are counted and logged, never thrown', async () => {
  const lines: string[] = [];
  const l = await lab({ miniportMinor: 1, verifier: { action: 'throw', log: (t) => lines.push(t) } });
  l.nic.indicate([{ bytes: frame('tcp4').bytes, splitAt: [54] }]);
  assert.deepEqual(advisories(l), [RX.MULTI_MDL_WITHOUT_HDS]);
  assert.match(lines[0]!, /^NDIS verifier advisory RX-004/);
  assert.equal(l.verifier.count(), 0, 'advisories are not violations');
  await done(l);
});
