/**
 * The capture filter on virtual adapters (deterministic virtual time): what it writes is read back
 * with the project's pcapng reader and with tshark — interfaces per adapter, directions, reception
 * types, nanosecond timestamps from the scheduler clock, OOB comments, positions in the stack,
 * flushing at pause and detach, snap length, and I/O errors kept out of the data path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ndis } from '../../../../src/ndis/index.js';
import { NDIS_NET_BUFFER_LIST_INFO, NDIS_CSUM_RX, NDIS_CSUM_TX, csumTxValue, ieee8021QValue, lsoV2TransmitValue, type NetBufferList } from '../../../../src/nbl/index.js';
import { VirtualMiniportDriver } from '../../../../src/drivers/miniport/virtual/index.js';
import { PassthroughFilter } from '../../../../src/drivers/filter/passthrough/index.js';
import { NdisProt } from '../../../../src/drivers/protocol/ndisprot/index.js';
import { CaptureFilter, formatOobFacts, NO_OOB_FACTS } from '../../../../src/drivers/filter/capture/index.js';
import { PCAPNG_EPB_FLAGS_BROADCAST, PCAPNG_EPB_FLAGS_INBOUND, PCAPNG_EPB_FLAGS_OUTBOUND, PCAPNG_EPB_FLAGS_UNICAST, readCaptureFile, type CaptureFrame } from '../../../../src/pcap/index.js';
import { NDIS_HASH_TCP_IPV4, NdisHashFunctionToeplitz } from '../../../../src/offload/rss/hash-types.js';
import { tshark, tsharkSkipReason } from '../../../interop/lib/tshark.js';

const MAC_A = new Uint8Array([2, 0, 0, 0, 0, 0x0a]);
const MAC_B = new Uint8Array([2, 0, 0, 0, 0, 0x0b]);
const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function frame(dst: Uint8Array, src: Uint8Array, text: string): Uint8Array {
  const p = new TextEncoder().encode(text);
  const f = new Uint8Array(Math.max(60, 14 + p.length));
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f.set(p, 14);
  return f;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ndis-capture-'));
}

async function hosts(ndis: Ndis, bOptions: Record<string, string | number> = {}): Promise<{ prot: NdisProt }> {
  const virt = new VirtualMiniportDriver(ndis);
  const prot = new NdisProt(ndis, { readTimeoutMs: 5000 });
  await prot.register();
  await virt.addAdapter('a', { NetworkAddress: '02-00-00-00-00-0a' });
  await virt.addAdapter('b', { NetworkAddress: '02-00-00-00-00-0b', ...bOptions });
  return { prot };
}

function byInterface(frames: CaptureFrame[], name: string): CaptureFrame[] {
  return frames.filter((f) => f.interfaceName === name);
}

test('one interface per adapter, every frame in each direction, timestamps from the scheduler clock; tshark agrees', async () => {
  const dir = tempDir();
  const path = join(dir, 'cap.pcapng');
  const ndis = new Ndis({ seed: 7 });
  try {
    const wallBefore = Date.now();
    const capture = new CaptureFilter(ndis, { path });
    await capture.register();
    const { prot } = await hosts(ndis);
    const f1 = frame(MAC_B, MAC_A, 'directed a->b');
    const f2 = frame(BROADCAST, MAC_A, 'broadcast from a');
    const f3 = frame(MAC_A, MAC_B, 'reply b->a');
    await prot.open('a').write(f1);
    await prot.open('b').read();
    await ndis.sleep(1500); // virtual time: 1.5 s between the first and the second send
    await prot.open('a').write(f2);
    await prot.open('b').read();
    await prot.open('b').write(f3);
    await prot.open('a').read();
    await ndis.shutdown();
    capture.close();
    const wallAfter = Date.now();

    const c = readCaptureFile(path);
    assert.equal(c.format, 'pcapng');
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.reader.interfaces.map((i) => [i.name, i.linkType, i.resolution.tsresol]), [['a', 1, 9], ['b', 1, 9]]);
    assert.match(c.reader.interfaces[0]!.description!, /02:00:00:00:00:0a/);
    const a = byInterface(c.frames, 'a');
    const b = byInterface(c.frames, 'b');
    assert.deepEqual(a.map((f) => f.direction), [PCAPNG_EPB_FLAGS_OUTBOUND, PCAPNG_EPB_FLAGS_OUTBOUND, PCAPNG_EPB_FLAGS_INBOUND]);
    assert.deepEqual(b.map((f) => f.flags), [PCAPNG_EPB_FLAGS_INBOUND | PCAPNG_EPB_FLAGS_UNICAST, PCAPNG_EPB_FLAGS_INBOUND | PCAPNG_EPB_FLAGS_BROADCAST, PCAPNG_EPB_FLAGS_OUTBOUND]);
    assert.deepEqual(a[0]!.data, f1);
    assert.deepEqual(a[1]!.data, f2);
    assert.deepEqual(a[2]!.data, f3);
    assert.deepEqual(b[0]!.data, f1);
    for (const f of c.frames) assert.equal(f.comment, NO_OOB_FACTS);
    // Virtual time: exactly 1.5 s between the two sends of a, anchored to the wall clock.
    assert.equal(a[1]!.timestampNs() - a[0]!.timestampNs(), 1_500_000_000n);
    const t0 = Number(a[0]!.timestampNs() / 1_000_000n);
    // Virtual time runs slower than the wall clock here: the first send is stamped between the
    // filter's creation and the end of the run.
    assert.ok(t0 >= wallBefore && t0 <= wallAfter, `first timestamp ${t0} within the run [${wallBefore}, ${wallAfter}]`);

    if (tsharkSkipReason() === null) {
      const t = await tshark(path, ['frame.interface_name', 'frame.packet_flags_direction', 'frame.comment', 'frame.len']);
      assert.equal(t.frames, 6);
      assert.equal(t.malformed, 0);
      assert.equal(t.stderr, '');
      assert.deepEqual(t.rows.map((r) => r[0]).sort(), ['a', 'a', 'a', 'b', 'b', 'b']);
      for (const r of t.rows) assert.equal(r[2], NO_OOB_FACTS);
      assert.deepEqual(t.rows.filter((r) => r[0] === 'a').map((r) => r[1]), ['0x00000002', '0x00000002', '0x00000001']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('positions: a capture above a modifying filter and one below it see different things; OOB facts go into comments', async () => {
  const dir = tempDir();
  const ndis = new Ndis({ seed: 3 });
  try {
    // Between the two captures, a passthrough filter sets OOB on sends and receives and drops one send.
    // (An LSO request would make the miniport segment the frame; its text is checked below, in
    // 'OOB text'.)
    const pt = new PassthroughFilter(ndis, {
      name: 'marker',
      filterClass: 'custom',
      policy: {
        onSend(nbl: NetBufferList) {
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo] = ieee8021QValue(3, 100);
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = csumTxValue(NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.TcpChecksum | NDIS_CSUM_TX.IpHeaderChecksum, 34);
        },
        onReceive(nbl: NetBufferList) {
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue] = 0x12345678;
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo] = NDIS_HASH_TCP_IPV4 | NdisHashFunctionToeplitz;
          nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = NDIS_CSUM_RX.IpChecksumSucceeded | NDIS_CSUM_RX.TcpChecksumSucceeded;
        },
        dropSend(nbl: NetBufferList) {
          const d = nbl.firstNetBuffer!.mdlChain!;
          return d.buffer[d.byteOffset + nbl.firstNetBuffer!.dataOffset + 14] === 0x21; // payload starting with '!'
        },
      },
    });
    await pt.register();
    const top = new CaptureFilter(ndis, { path: join(dir, 'top.pcapng'), name: 'cap-top' });
    const bottom = new CaptureFilter(ndis, { path: join(dir, 'bottom.pcapng'), name: 'cap-bottom', filterClass: 'provider_address' });
    await top.register();
    await bottom.register();
    // b strips 802.1Q tags into the OOB (the tag a's miniport inserts from the OOB set by the marker).
    const { prot } = await hosts(ndis, { '*PriorityVLANTag': 3 });
    assert.deepEqual(ndis.adapter('a').filters.map((f) => f.driver.name), ['cap-bottom', 'marker', 'cap-top']);
    await prot.open('a').write(frame(MAC_B, MAC_A, 'tagged'));
    await prot.open('b').read();
    await prot.open('a').write(frame(MAC_B, MAC_A, '!dropped by the marker'));
    await ndis.shutdown();
    top.close();
    bottom.close();

    const t = readCaptureFile(join(dir, 'top.pcapng'));
    const bo = readCaptureFile(join(dir, 'bottom.pcapng'));
    const topA = byInterface(t.frames, 'a');
    const bottomA = byInterface(bo.frames, 'a');
    assert.equal(topA.length, 2, 'the top capture sees both sends');
    assert.equal(bottomA.length, 1, 'the bottom capture does not see the dropped one');
    assert.equal(topA[0]!.comment, NO_OOB_FACTS, 'above the marker: no OOB yet');
    assert.equal(bottomA[0]!.comment, 'oob: checksum-tx=IsIPv4|TcpChecksum|IpHeaderChecksum tcp-header-offset=34 vlan=100 priority=3');
    const topB = byInterface(t.frames, 'b');
    const bottomB = byInterface(bo.frames, 'b');
    assert.equal(bottomB[0]!.comment, 'oob: vlan=100 priority=3', 'below the marker: the tag the miniport stripped');
    assert.equal(topB[0]!.comment, 'oob: hash=0x12345678 type=TCP_IPV4 function=Toeplitz checksum-rx=TcpChecksumSucceeded|IpChecksumSucceeded vlan=100 priority=3');
    assert.equal(bottomB[0]!.data.length, 60, 'the frame as indicated: tag stripped');
    if (tsharkSkipReason() === null) {
      for (const file of ['top.pcapng', 'bottom.pcapng']) {
        const r = await tshark(join(dir, file), ['frame.comment']);
        assert.equal(r.malformed, 0);
        assert.equal(r.frames, file === 'top.pcapng' ? 3 : 2);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the file is flushed when a module pauses or detaches; live mode writes each packet at once', async () => {
  const dir = tempDir();
  const ndis = new Ndis();
  try {
    const path = join(dir, 'flush.pcapng');
    const capture = new CaptureFilter(ndis, { path });
    await capture.register();
    const { prot } = await hosts(ndis);
    const empty = statSync(path).size;
    await prot.open('a').write(frame(MAC_B, MAC_A, 'one'));
    await prot.open('b').read();
    assert.equal(statSync(path).size, empty, 'buffered while running');
    await ndis.setFilterBinding(capture.handle!, ndis.adapter('a'), false);
    const afterDetach = readCaptureFile(path);
    assert.deepEqual(afterDetach.errors, []);
    assert.equal(afterDetach.frames.length, 2, 'detaching (after a pause) flushed both records');
    assert.equal(capture.modules.size, 1);
    await ndis.shutdown();
    capture.close();

    const livePath = join(dir, 'live.pcapng');
    const ndis2 = new Ndis();
    const live = new CaptureFilter(ndis2, { path: livePath, live: true });
    await live.register();
    const h2 = await hosts(ndis2);
    await h2.prot.open('a').write(frame(MAC_B, MAC_A, 'live'));
    await h2.prot.open('b').read();
    assert.equal(readCaptureFile(livePath).frames.length, 2, 'in the file while still attached');
    await ndis2.shutdown();
    live.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snap length truncates the captured bytes and keeps the original length; direction selects what is recorded', async () => {
  const dir = tempDir();
  const ndis = new Ndis();
  try {
    const path = join(dir, 'snap.pcapng');
    const capture = new CaptureFilter(ndis, { path, snapLength: 20, direction: 'receive', comments: false, adapters: ['b'] });
    await capture.register();
    const { prot } = await hosts(ndis);
    const f = frame(MAC_B, MAC_A, 'x'.repeat(100));
    await prot.open('a').write(f);
    await prot.open('b').read();
    await ndis.shutdown();
    capture.close();
    const c = readCaptureFile(path);
    assert.deepEqual(c.reader.interfaces.map((i) => i.name), ['b'], 'attached only to b');
    assert.equal(c.frames.length, 1, 'receives only');
    assert.equal(c.frames[0]!.capturedLength, 20);
    assert.equal(c.frames[0]!.originalLength, f.length);
    assert.equal(c.frames[0]!.comment, null);
    assert.deepEqual(c.frames[0]!.data, f.subarray(0, 20));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing sink stops the capture, keeps the error, and never disturbs the traffic', async () => {
  const ndis = new Ndis();
  let writes = 0;
  const capture = new CaptureFilter(ndis, {
    sink: {
      write() {
        if (++writes > 1) throw new Error('ENOSPC: no space left on device');
      },
    },
    live: true,
  });
  await capture.register();
  const { prot } = await hosts(ndis);
  for (let i = 0; i < 3; i++) {
    await prot.open('a').write(frame(MAC_B, MAC_A, `frame ${i}`));
    assert.equal(new TextDecoder().decode((await prot.open('b').read()).subarray(14, 21)), `frame ${i}`);
  }
  assert.match(String(capture.error), /ENOSPC/);
  await ndis.shutdown();
  capture.close();
});

test('OOB text: every field and its absence', () => {
  assert.equal(formatOobFacts(0, 0, 0, 0, 0, false), 'oob: none');
  assert.equal(formatOobFacts(0xdeadbeef, NDIS_HASH_TCP_IPV4 | NdisHashFunctionToeplitz, 0, 0, 0, false), 'oob: hash=0xdeadbeef type=TCP_IPV4 function=Toeplitz');
  assert.equal(formatOobFacts(0, 0, NDIS_CSUM_RX.UdpChecksumFailed, 0, 0, false), 'oob: checksum-rx=UdpChecksumFailed');
  assert.equal(formatOobFacts(0, 0, 0, ieee8021QValue(7, 4094), 0, false), 'oob: vlan=4094 priority=7');
  assert.equal(formatOobFacts(0, 0, 0, 0, lsoV2TransmitValue(9000, 54, 1), true), 'oob: lso=v2 mss=9000 tcp-header-offset=54 ip=v6');
  assert.equal(formatOobFacts(0, 0, 0, 0, lsoV2TransmitValue(9000, 54, 1), false), 'oob: none', 'the LSO slot means something else on receive');
  assert.throws(() => new CaptureFilter(new Ndis(), {}), /exactly one of `path`/);
});
