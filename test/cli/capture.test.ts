/**
 * `ndis capture`: a pcap wire re-recorded through NDIS to a file and to stdout, a VXLAN wire on the
 * loopback interface fed by a bare socket, and the usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemorySink, PCAPNG_EPB_FLAGS_INBOUND, PcapngWriter, readCapture, readCaptureFile } from '../../src/pcap/index.js';
import { JsonChild } from '../interop/lib/child.js';
import { tshark, tsharkSkipReason } from '../interop/lib/tshark.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function frames(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const f = new Uint8Array(60 + i);
    f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 7, 0x88, 0xb5, i]);
    return f;
  });
}

function pcapngFile(path: string, list: Uint8Array[]): void {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  const id = w.addInterface({ name: 'recorded' });
  list.forEach((f, i) => w.writeEnhancedPacket(id, 1_700_000_000 + i, 0, f));
  w.close();
  writeFileSync(path, sink.bytes());
}

test('a pcap wire re-recorded through the capture filter: every frame, inbound, readable by tshark', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-capture-'));
  try {
    const input = join(dir, 'in.pcapng');
    const output = join(dir, 'out.pcapng');
    const list = frames(12);
    pcapngFile(input, list);
    const r = spawnSync(process.execPath, [cli, 'capture', '--wire', `pcap:${input}`, '-w', output, '--json'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { packets: number; stoppedBy: string; adapter: string };
    assert.equal(summary.packets, 12);
    assert.equal(summary.stoppedBy, 'end of file');
    const c = readCaptureFile(output);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.reader.interfaces.map((i) => i.name), ['pcap0']);
    assert.equal(c.frames.length, 12);
    c.frames.forEach((f, i) => {
      assert.equal(f.direction, PCAPNG_EPB_FLAGS_INBOUND);
      assert.deepEqual(f.data, list[i]);
    });
    if (tsharkSkipReason() === null) {
      const t = await tshark(output);
      assert.equal(t.frames, 12);
      assert.equal(t.malformed, 0);
    }
    // --count stops at exactly that many packets.
    const r2 = spawnSync(process.execPath, [cli, 'capture', '--wire', `pcap:${input}`, '-w', output, '--count', '5'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /5 packets captured/);
    assert.equal(readCaptureFile(output).frames.length, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-w - streams pcapng to stdout, the summary goes to stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-capture-'));
  try {
    const input = join(dir, 'in.pcapng');
    pcapngFile(input, frames(4));
    const r = spawnSync(process.execPath, [cli, 'capture', '--wire', `pcap:${input}`, '-w', '-', '--json'], { timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr.toString());
    const c = readCapture(new Uint8Array(r.stdout));
    assert.deepEqual(c.errors, []);
    assert.equal(c.frames.length, 4);
    assert.equal((JSON.parse(r.stderr.toString().trim().split('\n').at(-1)!) as { packets: number }).packets, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a VXLAN wire on loopback: datagrams from a bare socket are captured as their inner frames', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cli-capture-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const output = join(dir, 'vx.pcapng');
  const child = new JsonChild(
    spawn(process.execPath, [cli, 'capture', '--wire', 'vxlan:127.0.0.9', '--local', `127.0.0.8:${port}`, '--vni', '77', '--count', '3', '-w', output, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const socket = createSocket('udp4');
  try {
    await child.waitStderr(/capturing on vxlan0/);
    const inner = frames(3);
    for (const f of inner) {
      const d = new Uint8Array(8 + f.length);
      d.set([0x08, 0, 0, 0, 0, 0, 77, 0]);
      d.set(f, 8);
      await new Promise<void>((resolve, reject) => socket.send(d, port, '127.0.0.8', (e) => (e ? reject(e) : resolve())));
    }
    assert.equal(await child.exit(20_000), 0, child.stderr);
    const summary = JSON.parse(child.text.at(-1)!) as { packets: number; where: string };
    assert.equal(summary.packets, 3);
    assert.match(summary.where, /VXLAN VNI 77 on 127\.0\.0\.8:/);
    const c = readCaptureFile(output);
    assert.deepEqual(c.frames.map((f) => f.data), inner);
  } finally {
    socket.close();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 with a message', () => {
  const run = (...args: string[]): { status: number | null; stderr: string } => spawnSync(process.execPath, [cli, 'capture', ...args], { encoding: 'utf8', timeout: 20_000 });
  let r = run('-w', '/tmp/x.pcapng');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--wire and -w are required/);
  r = run('--wire', 'ethernet:eth0', '-w', '/tmp/x.pcapng');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown wire 'ethernet:eth0'/);
  r = run('--wire', 'hub:lan0', '-w', '/tmp/x.pcapng');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /capture a real wire/);
  r = run('--wire', 'pcap:/nonexistent.pcap', '-w', '/tmp/ndis-cli-capture-never.pcapng');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ENOENT/);
  r = run('--wire', 'pcap:/x', '-w', '/tmp/x', '--count', 'many');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--count takes a positive integer/);
  r = run('--bogus');
  assert.equal(r.status, 2);
  const help = spawnSync(process.execPath, [cli, 'capture', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: ndis capture/);
});
