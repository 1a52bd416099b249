// Malformed input, fuzzed with fast-check: random frames of every EtherType the stack handles, and
// valid frames with bytes changed, cut short or lengthened, split across random MDLs and indicated
// with random checksum OOB information, with and without NDIS_RECEIVE_FLAGS_RESOURCES. The stack
// never throws (no exception reaches NDIS, none is caught on its data paths), every indicated NBL
// goes back, and every frame is accounted for: dropped with a reason, or processed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { labHost, type LabHost } from './lab.js';
import { PEER_MAC, fixtureNames, fx } from './fixtures.js';
import { US_MAC_BYTES } from './build.js';

/** A number that changes whenever the stack (or NDIS before it) did something with a frame. */
function activity(h: LabHost): number {
  const s = h.stack;
  const c = s.counters;
  let ndisDrops = 0;
  for (const d of h.ndis.adapter('lab').drops) ndisDrops += d;
  return (
    ndisDrops +
    s.totalDrops() +
    c.ipv4.inDelivers + c.ipv6.inDelivers + c.ipv4.reasmReqds + c.ipv6.reasmReqds + c.ipv4.inHdrErrors + c.ipv6.inHdrErrors +
    c.neighbor.arpRequestsIn + c.neighbor.arpRepliesIn + c.neighbor.arpConflicts + c.icmpv4.inMsgs + c.icmpv6.inMsgs +
    c.ipv4.forwDatagrams + c.ipv6.forwDatagrams
  );
}

const layout = fc.record({
  cuts: fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }),
  checksumInfo: fc.integer({ min: 0, max: 0x1ff }),
  resources: fc.boolean(),
});

async function run(h: LabHost, frames: fc.Arbitrary<Uint8Array>, numRuns: number): Promise<void> {
  fc.assert(
    fc.property(frames, layout, (frame, l) => {
      const before = activity(h);
      h.adapter.inject(frame, { cuts: l.cuts, checksumInfo: l.checksumInfo, resources: l.resources });
      // Every frame leaves a trace: a drop reason or a counter of work done.
      return activity(h) > before;
    }),
    { numRuns, seed: 20261125 },
  );
  await h.ndis.sleep(100);
  assert.equal(h.stack.internalErrors, 0, String(h.stack.lastInternalError));
  assert.equal(h.adapter.outstandingRx, 0, 'every NBL came back');
}

void test('random frames of every EtherType: no exception, every NBL back, every frame accounted for', async () => {
  const h = await labHost({ stack: { forwarding: true, icmpErrorBurst: 1e9, icmpErrorsPerSecond: 1e9 } });
  try {
    h.stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    const frames = fc
      .record({
        group: fc.boolean(),
        type: fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x8100, 0x88cc, 0x0800, 0x86dd),
        body: fc.uint8Array({ minLength: 0, maxLength: 300 }),
        version: fc.boolean(),
      })
      .map(({ group, type, body, version }) => {
        const f = new Uint8Array(14 + body.length);
        f.set(group ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : US_MAC_BYTES, 0);
        f.set([2, 0, 0, 0, 0, 0x99], 6);
        f[12] = type >> 8;
        f[13] = type & 0xff;
        f.set(body, 14);
        // Often give the IP version nibble the right value, so that parsing goes deeper.
        if (version && f.length > 14) f[14] = type === 0x86dd ? 0x60 | (f[14]! & 0x0f) : 0x45;
        return f;
      });
    await run(h, frames, 3000);
  } finally {
    await h.ndis.shutdown();
  }
});

void test('valid frames changed, cut short or lengthened: no exception, every NBL back, every frame accounted for', async () => {
  const h = await labHost({ stack: { forwarding: true, icmpErrorBurst: 1e9, icmpErrorsPerSecond: 1e9 } });
  try {
    h.stack.neighbors.add('lab', '10.0.0.99', PEER_MAC);
    h.stack.neighbors.add('lab', 'fd00::99', PEER_MAC);
    const sock = h.stack.udp.bind(5353);
    const bases = fixtureNames()
      .filter((n) => !n.endsWith('expected') && n !== 'udp-payload')
      .map(fx)
      .filter((f) => f[0] === 0xff || f[0] === 0x33 || f[0] === 0x02);
    const frames = fc
      .record({
        base: fc.constantFrom(...bases),
        edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 0, maxLength: 4 }),
        cut: fc.option(fc.nat(), { nil: null }),
        extra: fc.uint8Array({ maxLength: 40 }),
      })
      .map(({ base, edits, cut, extra }) => {
        let f = base.slice();
        // Keep the destination MAC so that frames reach the stack.
        for (const e of edits) {
          const at = 6 + (e.at % Math.max(1, f.length - 6));
          f[at] = e.value;
        }
        if (cut !== null) f = f.slice(0, Math.max(0, f.length - (cut % f.length)));
        if (extra.length > 0) {
          const g = new Uint8Array(f.length + extra.length);
          g.set(f);
          g.set(extra, f.length);
          f = g;
        }
        return f;
      });
    await run(h, frames, 4000);
    // The edits reached every layer: drops for many reasons, and some frames still processed.
    const drops = h.stack.statistics().interfaces[0]!.drops;
    assert.ok(Object.keys(drops).length >= 8, JSON.stringify(drops));
    assert.ok(h.stack.counters.ipv4.inDelivers > 0 && h.stack.counters.ipv6.inDelivers > 0);
    sock.close();
  } finally {
    await h.ndis.shutdown();
  }
});
