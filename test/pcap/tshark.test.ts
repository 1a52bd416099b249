// Files written by the pcapng writer, read by tshark: accepted without complaint, with the frame
// count, lengths, interface names, comments, directions and nanosecond timestamps written.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PCAPNG_EPB_FLAGS_INBOUND,
  PCAPNG_EPB_FLAGS_OUTBOUND,
  createPcapngFile,
} from '../../src/pcap/index.js';

const haveTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

function tshark(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  // tshark warns when run as root; that line says nothing about the file.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('Running as user "root"'))
    .join('\n');
  return { stdout: r.stdout, stderr, status: r.status };
}

/** An Ethernet frame of `n` bytes (n >= 14) with the local experimental EtherType 0x88b5, which tshark shows as data. */
function localFrame(n: number, seed: number): Uint8Array {
  const f = new Uint8Array(n);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5]);
  for (let i = 14; i < n; i++) f[i] = (seed + i * 13) & 0xff;
  return f;
}

interface Written {
  iface: number;
  seconds: number;
  nanoseconds: number;
  length: number;
  original: number;
  flags: number;
  comment: string | null;
}

void test('tshark reads a written file: count, lengths, interfaces, comments, directions, ns timestamps', (t: TestContext) => {
  if (!haveTshark) {
    t.skip('tshark is not installed (apt-get install -y tshark)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ndis-ts-tshark-'));
  try {
    const file = join(dir, 'written.pcapng');
    const w = createPcapngFile(file, { os: 'Linux', comment: 'written by the ndis-ts test' });
    const names = ['eth0', 'vxlan0', 'tap ïf'];
    for (const name of names) w.addInterface({ name, snapLength: name === 'vxlan0' ? 96 : 0 });
    const written: Written[] = [];
    const lengths = [60, 61, 62, 63, 64, 127, 1514, 1515, 333, 14];
    for (let i = 0; i < lengths.length; i++) {
      const p: Written = {
        iface: i % 3,
        seconds: 1_700_000_000 + i,
        nanoseconds: (i * 123_456_789 + 1) % 1_000_000_000,
        length: lengths[i]!,
        original: lengths[i]! + (i === 9 ? 50 : 0),
        flags: i % 3 === 0 ? PCAPNG_EPB_FLAGS_INBOUND : i % 3 === 1 ? PCAPNG_EPB_FLAGS_OUTBOUND : 0,
        comment: i % 2 === 0 ? `frame ${i + 1}: ok, ünïcode` : null,
      };
      written.push(p);
      w.writeEnhancedPacket(p.iface, p.seconds, p.nanoseconds, localFrame(p.length, i), 0, p.length, p.original, p.flags, p.comment);
    }
    w.close();

    const fields = ['frame.number', 'frame.len', 'frame.cap_len', 'frame.interface_name', 'frame.time_epoch', 'frame.packet_flags_direction', 'frame.comment'];
    const r = tshark(['-r', file, '-T', 'json', ...fields.flatMap((f) => ['-e', f])]);
    assert.equal(r.status, 0, `tshark exit status; stderr: ${r.stderr}`);
    assert.equal(r.stderr, '', 'tshark reports nothing wrong with the file');
    const rows = (JSON.parse(r.stdout) as { _source: { layers: Record<string, string[]> } }[]).map((p) => p._source.layers);
    assert.equal(rows.length, written.length, 'frame count');
    for (let i = 0; i < written.length; i++) {
      const p = written[i]!;
      const row = rows[i]!;
      const captured = p.iface === 1 ? Math.min(p.length, 96) : p.length;
      assert.deepEqual(row['frame.number'], [String(i + 1)]);
      assert.deepEqual(row['frame.len'], [String(p.original)], `frame ${i + 1} length`);
      assert.deepEqual(row['frame.cap_len'], [String(captured)], `frame ${i + 1} captured length`);
      assert.deepEqual(row['frame.interface_name'], [names[p.iface]], `frame ${i + 1} interface`);
      assert.deepEqual(row['frame.time_epoch'], [`${p.seconds}.${String(p.nanoseconds).padStart(9, '0')}`], `frame ${i + 1} time`);
      if (p.flags === 0) assert.equal(row['frame.packet_flags_direction'], undefined);
      else assert.equal(Number(row['frame.packet_flags_direction']![0]), p.flags, `frame ${i + 1} direction`);
      assert.deepEqual(row['frame.comment'] ?? null, p.comment === null ? null : [p.comment], `frame ${i + 1} comment`);
    }

    // Expert information: comments are reported, nothing is malformed.
    const expert = tshark(['-r', file, '-q', '-z', 'expert']);
    assert.equal(expert.status, 0);
    assert.doesNotMatch(expert.stdout, /Malformed/i);
    assert.doesNotMatch(expert.stdout, /\bError\b/);
    assert.match(expert.stdout, /Comments \(5\)/);

    // capinfos agrees on the interfaces and the nanosecond resolution.
    const info = spawnSync('capinfos', ['-M', file], { encoding: 'utf8' });
    if (info.status === 0) {
      assert.match(info.stdout, /Number of packets:\s+10/);
      assert.match(info.stdout, /Number of interfaces in file: 3/);
      assert.match(info.stdout, /nanoseconds \(9\)/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('tshark reads a file the writer batched in small chunks and a file of empty and 1-byte packets', (t: TestContext) => {
  if (!haveTshark) {
    t.skip('tshark is not installed (apt-get install -y tshark)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ndis-ts-tshark-'));
  try {
    const file = join(dir, 'tiny.pcapng');
    const w = createPcapngFile(file, { bufferSize: 100 });
    w.addInterface({ name: 'tiny' });
    for (let i = 0; i < 200; i++) w.writeEnhancedPacket(0, i, i, new Uint8Array(i % 3).fill(i), 0, i % 3);
    w.close();
    const r = tshark(['-r', file, '-T', 'fields', '-e', 'frame.cap_len']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lens = r.stdout.trim().split('\n').map(Number);
    assert.equal(lens.length, 200);
    assert.deepEqual(lens, Array.from({ length: 200 }, (_, i) => i % 3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
