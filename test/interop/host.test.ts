/**
 * `ndis host` against Linux, over VXLAN and over TAP, in network namespaces the test creates:
 * Linux pings ndis-ts (IPv4, IPv6) and ndis-ts pings Linux; Linux curl fetches the ndis-ts HTTP
 * page; ndis-ts fetches from a Linux HTTP server and sends 50 MB to a Linux TCP listener, Linux
 * sends 50 MB to ndis-ts, SHA-256 compared at both ends; UDP echo both ways; tshark reads the
 * capture with the expected frame count and nothing malformed.
 *
 *   VXLAN: namespace L holds a kernel vxlan device (dstport 4789) on a veth underlay to namespace H,
 *          where `ndis host --wire vxlan:<L>` runs (a Node socket cannot bind 4789 next to it).
 *   TAP:   `ndis host --wire tap:<name>` runs in namespace H and creates the TAP there; the kernel
 *          of H, addressed on that TAP, is the Linux peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tapUnavailableReason } from '../../src/drivers/miniport/tap/native.js';
import { JsonChild } from './lib/child.js';
import { Netns, haveCommand, netnsSkipReason, vethPair, waitUntil } from './lib/netns.js';
import { tshark, tsharkSkipReason } from './lib/tshark.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const peerPy = fileURLToPath(new URL('../../../test/interop/lib/peer.py', import.meta.url));
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const FIFTY_MB = 50 * 1024 * 1024;

const missingTool = ['ping', 'curl'].find((c) => !haveCommand(c));
const baseSkip = netnsSkipReason() ?? (missingTool !== undefined ? `${missingTool} is not installed` : null) ?? tsharkSkipReason();

interface SkipContext {
  skip(message?: string): void;
}

function cannotRun(t: SkipContext, extra: string | null = null): boolean {
  const reason = baseSkip ?? extra;
  if (reason === null) return false;
  console.log(`skipped: ${reason}`);
  t.skip(reason);
  return true;
}

/** Starts a peer.py mode in `ns`; for servers, resolves once it prints "ready". */
async function peer(ns: Netns, args: string[]): Promise<{ output: Promise<string>; kill: () => void }> {
  const proc = ns.spawn(python, [peerPy, ...args]);
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const output = new Promise<string>((resolve, reject) => {
    proc.on('exit', (code) => (code === 0 ? resolve(out.replace(/^ready\n/, '').trim()) : reject(new Error(`peer.py ${args.join(' ')} exited ${code}: ${err}`))));
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('ready')) resolve();
    });
    if (!args[0]!.endsWith('sink') && !args[0]!.endsWith('echo')) resolve();
    void output.catch(reject);
  });
  return { output, kill: () => proc.kill('SIGKILL') };
}

interface WirePlan {
  /** Namespace the Linux tools run in. */
  linux: Netns;
  /** Namespace `ndis host` runs in. */
  host: Netns;
  /** `--wire` argument. */
  wire: string;
  /** Extra host arguments. */
  args: string[];
  /** Called after the host reports its adapter (TAP: address the kernel side). */
  afterAdapter(adapterEvent: Record<string, unknown>): void;
  cleanup(): void;
}

function vxlanPlan(n: number): WirePlan {
  const linux = Netns.create('hl');
  const host = Netns.create('hh');
  const { devA } = vethPair(linux, `10.${60 + n}.0.1/24`, host, `10.${60 + n}.0.2/24`);
  linux.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'remote', `10.${60 + n}.0.2`, 'local', `10.${60 + n}.0.1`, 'dev', devA);
  linux.ip('addr', 'add', `192.168.${60 + n}.1/24`, 'dev', 'vx0');
  linux.ip('-6', 'addr', 'add', `fd${60 + n}::1/64`, 'dev', 'vx0', 'nodad');
  linux.ip('link', 'set', 'vx0', 'up');
  // Over a veth underlay the kernel would leave the inner TCP/UDP checksums to offload (the
  // receiving kernel trusts them); a VTEP outside the kernel needs them computed.
  linux.execSync(python, peerPy, 'tx-csum-off', 'vx0');
  return {
    linux,
    host,
    wire: `vxlan:10.${60 + n}.0.1`,
    args: ['--vni', '42', '--local', `10.${60 + n}.0.2:4789`],
    afterAdapter: () => undefined,
    cleanup: () => {
      linux.remove();
      host.remove();
    },
  };
}

function tapPlan(n: number): WirePlan {
  const host = Netns.create('ht');
  const ifname = `ndh${process.pid % 1000}x${n}`;
  return {
    linux: host,
    host,
    wire: `tap:${ifname}`,
    args: [],
    afterAdapter: () => {
      host.ip('addr', 'add', `192.168.${60 + n}.1/24`, 'dev', ifname);
      host.ip('-6', 'addr', 'add', `fd${60 + n}::1/64`, 'dev', ifname, 'nodad');
      host.ip('link', 'set', ifname, 'up');
    },
    cleanup: () => host.remove(),
  };
}

for (const [n, kind] of [[1, 'vxlan'], [2, 'tap']] as const) {
  test(`ndis host over ${kind}: pings, HTTP both ways, UDP echo, 50 MB each way with SHA-256 at both ends, capture read by tshark`, { timeout: 240_000 }, async (t) => {
    if (cannotRun(t, kind === 'tap' ? (tapUnavailableReason()?.message ?? null) : null)) return;
    const dir = mkdtempSync(join(tmpdir(), `ndis-host-${kind}-`));
    const plan = kind === 'vxlan' ? vxlanPlan(n) : tapPlan(n);
    const linuxIp = `192.168.${60 + n}.1`;
    const ndisIp = `192.168.${60 + n}.2`;
    const linuxIp6 = `fd${60 + n}::1`;
    const ndisIp6 = `fd${60 + n}::2`;
    const capture = join(dir, 'host.pcapng');
    let host: JsonChild | null = null;
    const killers: (() => void)[] = [];
    try {
      host = new JsonChild(
        plan.host.spawn(process.execPath, [cli, 'host', '--wire', plan.wire, ...plan.args, '--ip', `${ndisIp}/24`, '--ip6', `${ndisIp6}/64`, '--serve', 'echo,http', '--capture', capture, '--json']),
      );
      plan.afterAdapter(await host.waitEvent('adapter'));
      await host.waitEvent('running', 30_000);

      // Linux pings ndis-ts.
      const p4 = await plan.linux.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', ndisIp]);
      assert.equal(p4.code, 0, `ping ${ndisIp}: ${p4.stdout}${p4.stderr}`);
      const p6 = await plan.linux.exec('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ndisIp6]);
      assert.equal(p6.code, 0, `ping ${ndisIp6}: ${p6.stdout}${p6.stderr}`);

      // ndis-ts pings Linux.
      host.send(`ping ${linuxIp} 3`);
      host.send(`ping ${linuxIp6} 3`);
      const pings = await host.waitCount('ping', 6);
      assert.deepEqual(pings.map((e) => e['address']).sort(), [linuxIp, linuxIp, linuxIp, linuxIp6, linuxIp6, linuxIp6].sort());
      assert.equal(host.events.filter((e) => e.event === 'ping-failed').length, 0);

      // Linux curl fetches the status page.
      const curl = await plan.linux.exec('curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${ndisIp}/`]);
      assert.equal(curl.code, 0, curl.stderr);
      const [code, size] = curl.stdout.split(' ');
      assert.equal(code, '200');
      assert.ok(Number(size) > 500, `status page of ${size} bytes`);
      const curl6 = await plan.linux.exec('curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://[${ndisIp6}]/status.json`]);
      assert.equal(curl6.stdout, '200');

      // ndis-ts fetches a file from a Linux HTTP server.
      const fileBytes = randomBytes(300_000);
      writeFileSync(join(dir, 'file.bin'), fileBytes);
      const server = plan.linux.spawn(python, ['-m', 'http.server', '8080', '--bind', linuxIp, '--directory', dir]);
      killers.push(() => server.kill('SIGKILL'));
      await waitUntil('the Linux HTTP server', () => plan.linux.execSync('ss', '-ltn').includes(`${linuxIp}:8080`), 10_000);
      host.send(`fetch http://${linuxIp}:8080/file.bin`);
      const fetched = await host.waitEvent('fetched', 30_000);
      assert.equal(fetched['status'], 200);
      assert.equal(fetched['bytes'], fileBytes.length);
      assert.equal(fetched['sha256'], createHash('sha256').update(fileBytes).digest('hex'));

      // UDP echo: ndis-ts asks a Linux echo server; Linux asks the ndis-ts echo service.
      const echo = await peer(plan.linux, ['udp-echo', linuxIp, '7007', '1']);
      killers.push(echo.kill);
      host.send(`udp ${linuxIp} 7007 hello-from-ndis`);
      assert.equal((await host.waitEvent('udp-reply'))['text'], 'hello-from-ndis');
      const ask = await peer(plan.linux, ['udp-ask', ndisIp, '7', 'hello-from-linux']);
      assert.equal(await ask.output, 'hello-from-linux');

      // 50 MB ndis-ts -> Linux listener.
      const sink = await peer(plan.linux, ['tcp-sink', linuxIp, '5001']);
      killers.push(sink.kill);
      host.send(`send ${linuxIp} 5001 50M`);
      const sent = await host.waitEvent('sent', 120_000);
      const [sinkBytes, sinkSha] = (await sink.output).split(' ');
      assert.equal(Number(sinkBytes), FIFTY_MB);
      assert.equal(sent['bytes'], FIFTY_MB);
      assert.equal(sinkSha, sent['sha256'], 'SHA-256 at both ends');

      // 50 MB Linux -> ndis-ts listener.
      host.send('sink 5002');
      await host.waitEvent('listening');
      const sender = await peer(plan.linux, ['tcp-send', ndisIp, '5002', String(FIFTY_MB)]);
      const [sentBytes, sentSha] = (await sender.output).split(' ');
      const received = await host.waitEvent('received', 120_000);
      assert.equal(Number(sentBytes), FIFTY_MB);
      assert.equal(received['bytes'], FIFTY_MB);
      assert.equal(received['sha256'], sentSha, 'SHA-256 at both ends');

      host.send('quit');
      const stopped = await host.waitEvent('stopped', 30_000);
      assert.equal(await host.exit(), 0, host.stderr);
      assert.equal(stopped['violations'], 0);
      const captured = (stopped['captures'] as { packets: number; error: string | null }[])[0]!;
      assert.equal(captured.error, null);
      const r = await tshark(capture, ['frame.number']);
      assert.equal(r.frames, captured.packets);
      assert.ok(r.frames > 2 * (FIFTY_MB / 1500), `${r.frames} frames for 100 MB of TCP`);
      assert.equal(r.malformed, 0);
      assert.equal(r.stderr, '');
    } finally {
      for (const k of killers) k();
      host?.kill();
      plan.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
