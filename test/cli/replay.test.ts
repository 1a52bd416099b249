/**
 * `ndis replay`: a recorded file through a stack in virtual time (the file's pacing at no
 * wall-clock cost), counts of what the packet filter passed, the capture and sent files, a damaged
 * file, and the TCP/IP driver answering the recorded ARP request and pings, with the answers in
 * the sent file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemorySink, PcapngWriter, readCaptureFile } from '../../src/pcap/index.js';
import { BROADCAST_MAC, arpFrame, icmpEcho, ip4, mac } from '../interop/lib/frames.js';
import { tshark, tsharkSkipReason } from '../interop/lib/tshark.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const HOST_MAC = mac('02:00:00:00:aa:01');
const PEER_MAC = mac('02:00:00:00:aa:02');

/** A recording: a peer resolves 10.9.0.1 and pings it twice, plus one frame for another host. */
function recording(path: string): Uint8Array[] {
  const peer = ip4('10.9.0.2');
  const host = ip4('10.9.0.1');
  const list = [
    arpFrame(1, BROADCAST_MAC, PEER_MAC, peer, new Uint8Array(6), host),
    icmpEcho(8, HOST_MAC, PEER_MAC, peer, host, 0x1234, 1, new TextEncoder().encode('ndis-ts replay 1')),
    icmpEcho(8, mac('02:00:00:00:aa:09'), PEER_MAC, peer, ip4('10.9.0.9'), 0x1234, 1, new Uint8Array(8)),
    icmpEcho(8, HOST_MAC, PEER_MAC, peer, host, 0x1234, 2, new TextEncoder().encode('ndis-ts replay 2')),
  ];
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  const id = w.addInterface({ name: 'eth0' });
  list.forEach((f, i) => w.writeEnhancedPacket(id, 1_700_000_000 + i, 0, f));
  w.close();
  writeFileSync(path, sink.bytes());
  return list;
}

function replay(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, 'replay', ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('a recording replayed in virtual time: the packet filter passes what is for this MAC, the capture shows it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-replay-'));
  try {
    const file = join(dir, 'rec.pcapng');
    const list = recording(file);
    const r = replay(file, '--mac', '02:00:00:00:aa:01', '--capture', join(dir, 'cap.pcapng'), '--sent', join(dir, 'sent.pcapng'), '--json');
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Record<string, number | null>;
    assert.equal(s['framesInFile'], 4);
    assert.equal(s['replayed'], 4);
    assert.equal(s['indicated'], 3, 'the ARP broadcast and the two pings to this MAC');
    assert.equal(s['filtered'], 1, 'the ping to another MAC');
    assert.equal(s['delivered'], 3);
    assert.equal(s['fileTimeMs'], 3000, 'the file spans 3 s; replayed in 3 s of virtual time');
    assert.ok(s['wallTimeMs']! < 3000, `wall clock ${s['wallTimeMs']} ms`);
    const cap = readCaptureFile(join(dir, 'cap.pcapng'));
    assert.deepEqual(cap.frames.map((f) => f.data), [list[0], list[1], list[3]]);
    assert.deepEqual(readCaptureFile(join(dir, 'sent.pcapng')).frames, [], 'the listener sends nothing');
    if (tsharkSkipReason() === null) {
      const t = await tshark(join(dir, 'cap.pcapng'), ['_ws.col.Protocol']);
      assert.deepEqual(t.rows.map((x) => x[0]), ['ARP', 'ICMP', 'ICMP']);
      assert.equal(t.malformed, 0);
    }
    // Promiscuous: everything reaches the listener.
    const p = JSON.parse(replay(file, '--promiscuous', '--json', '--timing', 'fast').stdout) as Record<string, number>;
    assert.equal(p['delivered'], 4);
    assert.equal(p['fileTimeMs'], 0, 'fast: no time passes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged file: the readable frames replay, the damage is reported, exit status 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-replay-'));
  try {
    const file = join(dir, 'rec.pcapng');
    recording(file);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    const r = replay(file, '--promiscuous');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /3 Ethernet frames, 1 damaged part/);
    const bad = replay(join(dir, 'missing.pcap'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /ENOENT/);
    assert.equal(replay().status, 2);
    assert.equal(replay(file, '--timing', 'slow').status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with addresses, the TCP/IP driver answers the recorded ARP request and pings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-replay-'));
  try {
    const file = join(dir, 'rec.pcapng');
    recording(file);
    const sent = join(dir, 'sent.pcapng');
    const r = replay(file, '--mac', '02:00:00:00:aa:01', '--ip', '10.9.0.1/24', '--sent', sent, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { violations: number }).violations, 0);
    const frames = readCaptureFile(sent).frames.map((f) => f.data);
    const arpReply = frames.find((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 2);
    assert.ok(arpReply !== undefined, 'an ARP reply was sent');
    assert.deepEqual(arpReply.subarray(0, 6), PEER_MAC);
    const echoReplies = frames.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 1 && f[34] === 0);
    assert.equal(echoReplies.length, 2, 'two echo replies');
    assert.equal(new TextDecoder().decode(echoReplies[1]!.subarray(42)), 'ndis-ts replay 2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
