/**
 * The pcap miniport: a capture's frames arrive as received frames at the file's pace (exactly, in
 * virtual time), faster by a factor, or as fast as the stack takes them without losing any; what
 * the stack sends lands in a pcapng file tshark reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NDIS_PACKET_TYPE, Ndis } from '../../../../src/ndis/index.js';
import { PcapMiniportDriver } from '../../../../src/drivers/miniport/pcap/index.js';
import { LINKTYPE_RAW, MemorySink, PCAPNG_EPB_FLAGS_OUTBOUND, PcapngWriter, readCaptureFile } from '../../../../src/pcap/index.js';
import { L2Protocol } from '../../../interop/lib/l2proto.js';
import { tshark, tsharkSkipReason } from '../../../interop/lib/tshark.js';

const OUR_MAC = new Uint8Array([2, 0, 0, 0, 0x5c, 1]);
const OTHER_MAC = new Uint8Array([2, 0, 0, 0, 0x5c, 2]);
const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function frame(dst: Uint8Array, seq: number, size = 60): Uint8Array {
  const f = new Uint8Array(size);
  f.set(dst, 0);
  f.set(OTHER_MAC, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = seq >> 8;
  f[15] = seq & 0xff;
  return f;
}

/** A pcapng in memory: Ethernet frames at the given times (ms from t0) plus one raw-IP frame that must be skipped. */
function pcapng(frames: { at: number; bytes: Uint8Array }[]): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  const eth = w.addInterface({ name: 'eth0' });
  const raw = w.addInterface({ name: 'raw0', linkType: LINKTYPE_RAW });
  const t0 = 1_700_000_000;
  for (const f of frames) {
    const ns = Math.round(f.at * 1e6);
    w.writeEnhancedPacket(eth, t0 + Math.floor(ns / 1e9), ns % 1e9, f.bytes);
  }
  w.writeEnhancedPacket(raw, t0, 0, new Uint8Array(20));
  w.close();
  return sink.bytes().slice();
}

async function stack(ndis: Ndis, options: Parameters<PcapMiniportDriver['addAdapter']>[1], packetFilter?: number): Promise<{ drv: PcapMiniportDriver; l2: L2Protocol; got: { at: number; bytes: Uint8Array }[] }> {
  const drv = new PcapMiniportDriver(ndis);
  const l2 = new L2Protocol(ndis, 'l2test', packetFilter);
  await l2.register();
  const got: { at: number; bytes: Uint8Array }[] = [];
  // Frames start flowing at the adapter's first restart, inside addAdapter.
  l2.onFrame = (_b, f) => got.push({ at: ndis.scheduler.nowMs(), bytes: f });
  await drv.addAdapter('pcap0', { mac: '02:00:00:00:5c:01', ...options });
  return { drv, l2, got };
}

test('original timing in virtual time: frames arrive exactly as far apart as in the file; others are filtered, raw IP skipped', async () => {
  const times = [0, 100, 100, 1000, 2500];
  const bytes = pcapng(times.map((at, i) => ({ at, bytes: frame(i === 2 ? BROADCAST : OUR_MAC, i) })).concat([{ at: 2600, bytes: frame(new Uint8Array([2, 9, 9, 9, 9, 9]), 99) }]));
  const ndis = new Ndis();
  try {
    const { drv, got } = await stack(ndis, { replayBytes: bytes });
    const a = drv.adapter(ndis.adapter('pcap0'));
    await ndis.until(a.whenFinished());
    assert.equal(got.length, 5);
    const rel = got.map((g) => g.at - got[0]!.at);
    for (let i = 0; i < times.length; i++) assert.ok(Math.abs(rel[i]! - times[i]!) < 0.001, `frame ${i} at ${rel[i]} ms, file says ${times[i]}`);
    assert.deepEqual(got.map((g) => g.bytes[15]), [0, 1, 2, 3, 4]);
    assert.equal(a.stats.replayed, 6);
    assert.equal(a.stats.rcvFiltered, 1, 'the frame to another MAC');
    assert.equal(a.source!.counters.otherLinkType, 1, 'the raw-IP frame');
    assert.equal(a.stats.ifHCInBroadcastPkts, 1);
    assert.equal(a.stats.ifHCInUcastPkts, 4);
  } finally {
    await ndis.shutdown();
  }
});

test('speed 10 compresses the pacing tenfold; loops replay the file again', async () => {
  const bytes = pcapng([0, 500, 2000].map((at, i) => ({ at, bytes: frame(OUR_MAC, i) })));
  const ndis = new Ndis();
  try {
    const { drv, got } = await stack(ndis, { replayBytes: bytes, speed: 10, loops: 2 });
    const a = drv.adapter(ndis.adapter('pcap0'));
    await ndis.until(a.whenFinished());
    assert.deepEqual(got.map((g) => g.bytes[15]), [0, 1, 2, 0, 1, 2]);
    const rel = got.map((g) => g.at - got[0]!.at);
    assert.ok(Math.abs(rel[1]! - 50) < 0.001 && Math.abs(rel[2]! - 200) < 0.001, `pacing ${rel.join(', ')}`);
    assert.equal(a.stats.loopsDone, 2);
  } finally {
    await ndis.shutdown();
  }
});

test('fast replay with few receive buffers waits for returns and loses nothing, in order', async () => {
  const n = 500;
  const bytes = pcapng(Array.from({ length: n }, (_, i) => ({ at: i, bytes: frame(OUR_MAC, i, 60 + (i % 200)) })));
  const ndis = new Ndis();
  try {
    const { drv, got } = await stack(ndis, { replayBytes: bytes, timing: 'fast', receiveBuffers: 8, maxNblsPerIndicate: 32 });
    const a = drv.adapter(ndis.adapter('pcap0'));
    await ndis.until(a.whenFinished());
    assert.equal(got.length, n);
    for (let i = 0; i < n; i++) {
      assert.equal((got[i]!.bytes[14]! << 8) | got[i]!.bytes[15]!, i);
      assert.equal(got[i]!.bytes.length, 60 + (i % 200));
    }
    assert.ok(a.stats.waitedForBuffers > 0, 'the replay had to wait for buffers');
    assert.equal(got[n - 1]!.at, got[0]!.at, 'fast: no virtual time passes');
  } finally {
    await ndis.shutdown();
  }
});

test('what the stack sends is written to the output pcapng, outbound, which tshark reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-pcap-'));
  const ndis = new Ndis();
  try {
    const out = join(dir, 'sent.pcapng');
    const { l2 } = await stack(ndis, { output: out });
    const b = l2.binding('pcap0');
    const sent = [frame(OTHER_MAC, 1), frame(BROADCAST, 2, 100), frame(OTHER_MAC, 3, 1514)];
    for (const f of sent) {
      const x = f.slice();
      x.set(OUR_MAC, 6);
      b.send(x);
    }
    await ndis.sleep(1);
    await ndis.shutdown();
    const c = readCaptureFile(out);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.reader.interfaces.map((i) => i.name), ['pcap0']);
    assert.equal(c.frames.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.equal(c.frames[i]!.direction, PCAPNG_EPB_FLAGS_OUTBOUND);
      assert.deepEqual(c.frames[i]!.data.subarray(14), sent[i]!.subarray(14));
    }
    if (tsharkSkipReason() === null) {
      const t = await tshark(out, ['frame.len']);
      assert.equal(t.frames, 3);
      assert.equal(t.malformed, 0);
      assert.deepEqual(t.rows.map((r) => r[0]), ['60', '100', '1514']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a classic pcap file (nanosecond magic) replays; a promiscuous binding sees frames to any address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-pcap-'));
  try {
    // libpcap savefile by hand: NSEC magic, v2.4, snaplen 65535, LINKTYPE_ETHERNET; two records.
    const frames = [frame(OTHER_MAC, 1), frame(OTHER_MAC, 2)];
    const parts: Uint8Array[] = [];
    const hdr = new DataView(new ArrayBuffer(24));
    hdr.setUint32(0, 0xa1b23c4d, true);
    hdr.setUint16(4, 2, true);
    hdr.setUint16(6, 4, true);
    hdr.setUint32(16, 65535, true);
    hdr.setUint32(20, 1, true);
    parts.push(new Uint8Array(hdr.buffer));
    frames.forEach((f, i) => {
      const r = new DataView(new ArrayBuffer(16));
      r.setUint32(0, 1_700_000_000, true);
      r.setUint32(4, i * 250_000_000, true);
      r.setUint32(8, f.length, true);
      r.setUint32(12, f.length, true);
      parts.push(new Uint8Array(r.buffer), f);
    });
    const file = join(dir, 'classic.pcap');
    writeFileSync(file, Buffer.concat(parts));
    const ndis = new Ndis();
    try {
      const { drv, got } = await stack(ndis, { replay: file }, NDIS_PACKET_TYPE.PROMISCUOUS);
      await ndis.until(drv.adapter(ndis.adapter('pcap0')).whenFinished());
      assert.equal(got.length, 2);
      assert.ok(Math.abs(got[1]!.at - got[0]!.at - 250) < 0.001);
    } finally {
      await ndis.shutdown();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real time: the original pacing holds on the wall clock', async () => {
  const bytes = pcapng([0, 150, 300].map((at, i) => ({ at, bytes: frame(OUR_MAC, i) })));
  const ndis = new Ndis({ mode: 'realtime' });
  try {
    const { drv, got } = await stack(ndis, { replayBytes: bytes, autoStart: false });
    const a = drv.adapter(ndis.adapter('pcap0'));
    const start = Date.now();
    a.startReplay();
    await ndis.until(a.whenFinished());
    const elapsed = Date.now() - start;
    assert.equal(got.length, 3);
    assert.ok(elapsed >= 295, `300 ms of file time took ${elapsed} ms of wall clock`);
    // Each frame arrives no earlier than its time in the file after the replay started.
    const rel = got.map((g) => g.at - a.replayStartedAt);
    assert.ok(rel[0]! >= 0 && rel[1]! >= 149.99 && rel[2]! >= 299.99, `frames at ${rel.join(', ')} ms`);
    assert.ok(Math.abs(a.replayFinishedAt - a.replayStartedAt - 300) < 50, `replay took ${a.replayFinishedAt - a.replayStartedAt} ms of scheduler time`);
  } finally {
    await ndis.shutdown();
  }
});

test('unreadable input is refused with the reason', async () => {
  const ndis = new Ndis();
  try {
    const drv = new PcapMiniportDriver(ndis);
    await assert.rejects(drv.addAdapter('x', { replayBytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }), /not a readable capture: not a pcap or pcapng file/);
    await assert.rejects(drv.addAdapter('x', { replay: '/nonexistent/file.pcap' }), /cannot read \/nonexistent\/file.pcap: ENOENT/);
    await assert.rejects(drv.addAdapter('x', { speed: 0 }), /speed must be a positive number/);
    assert.equal(ndis.adapters.size, 0);
  } finally {
    await ndis.shutdown();
  }
});
