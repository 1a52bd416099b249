import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TapDevice } from '../../../../src/drivers/miniport/tap/device.js';
import { loadTapAddon, TapError, TapUnavailableError } from '../../../../src/drivers/miniport/tap/native.js';
import { arpFrame, ETHERTYPE_LOCAL_EXPERIMENTAL, ethernet, ipv4, mac, Responder } from './frames.js';
import { Netns, tapTestSkipReason } from './netns.js';

const skipReason = tapTestSkipReason();
const childScript = fileURLToPath(new URL('./child.js', import.meta.url));

const OUR_MAC = mac('02:00:00:00:00:02');
const OUR_IP = ipv4('10.213.0.2');
const BROADCAST = mac('ff:ff:ff:ff:ff:ff');
const ZERO_MAC = mac('00:00:00:00:00:00');

interface SkipContext {
  skip(message?: string): void;
}

function cannotRun(t: SkipContext): boolean {
  if (skipReason === null) return false;
  console.log(`skipped: ${skipReason}`);
  t.skip(skipReason);
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Opens a TAP device here (down, so it carries nothing) and moves it into `ns`, addressed and up. */
function openInNamespace(ns: Netns, address: string, options: { batchFrames?: number } = {}): TapDevice {
  const dev = TapDevice.open('ndt%d', options);
  try {
    execFileSync('ip', ['link', 'set', 'dev', dev.name, 'netns', ns.name]);
    ns.ip('addr', 'add', address, 'dev', dev.name);
    ns.ip('link', 'set', 'dev', dev.name, 'up');
  } catch (e) {
    dev.close();
    throw e;
  }
  return dev;
}

function linkAddress(ns: Netns, dev: string): string {
  const links = JSON.parse(ns.ip('-j', 'link', 'show', 'dev', dev)) as Array<{ address: string }>;
  return links[0]!.address;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the first stdout line to exit. */
  afterFirstLineMs: number;
}

/** Runs `command ...args` (ending in `node child.js <mode>`), killing it after `killAfterMs`. */
function runChild(command: string, args: readonly string[], killAfterMs: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstLineAt = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (firstLineAt === 0 && stdout.includes('\n')) firstLineAt = Date.now();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const afterFirstLineMs = firstLineAt === 0 ? -1 : Date.now() - firstLineAt;
      // let the pipes drain
      setImmediate(() => resolve({ code, signal, stdout, stderr, afterFirstLineMs }));
    });
  });
}

function inNamespace(ns: Netns, mode: string, ...extra: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns.name, process.execPath, childScript, mode, ...extra]];
}

function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

void test('the kernel pings a host answered through the TAP device (ARP and ICMP echo built by hand)', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  let dev: TapDevice | null = null;
  try {
    dev = openInNamespace(ns, '10.213.0.1/24');
    const responder = new Responder(dev, OUR_MAC, OUR_IP);
    dev.onFrames(responder.onFrames);
    const r = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.213.0.2']);
    assert.equal(r.code, 0, `ping failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    assert.equal(responder.echoRequests, 3);
    assert.ok(responder.arpRequests >= 1, 'the kernel resolved our address by ARP');
    assert.equal(responder.repliesDropped, 0);
    const s = dev.statistics();
    assert.equal(s.rxFrames, responder.framesSeen);
    assert.equal(s.txFrames, responder.arpRequests + responder.echoRequests);
    assert.equal(s.txDropsBusy + s.txDropsInvalid + s.txDropsLinkDown + s.txErrors, 0);
    assert.equal(s.rxErrors, 0);
    assert.equal(s.rxKernelQueueDrops, null, 'the interface lives in another namespace now');
    assert.equal(ns.counter(dev.name, 'rx_packets') >= s.txFrames, true);
  } finally {
    dev?.close();
    ns.remove();
  }
});

void test('frames written from JavaScript reach the kernel, which answers an ARP request', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  let dev: TapDevice | null = null;
  try {
    dev = openInNamespace(ns, '10.213.0.1/24');
    const responder = new Responder(dev, OUR_MAC, OUR_IP);
    dev.onFrames(responder.onFrames);
    const kernelMac = linkAddress(ns, dev.name);

    const before = { packets: ns.counter(dev.name, 'rx_packets'), bytes: ns.counter(dev.name, 'rx_bytes') };
    const frame = new Uint8Array(100);
    ethernet(frame, BROADCAST, OUR_MAC, ETHERTYPE_LOCAL_EXPERIMENTAL);
    for (let i = 0; i < 5; i++) {
      frame[14] = i;
      const carrier = concatAt(frame, 20); // the frame sits at offset 20 of a larger buffer
      assert.equal(dev.write(carrier, 20, 60), true);
    }
    assert.equal(ns.counter(dev.name, 'rx_packets') - before.packets, 5);
    assert.equal(ns.counter(dev.name, 'rx_bytes') - before.bytes, 5 * 60);

    // a batch: three frames packed in one buffer, the middle one too short for the kernel
    const packed = new Uint8Array(200);
    for (const at of [0, 64, 128]) ethernet(packed.subarray(at), BROADCAST, OUR_MAC, ETHERTYPE_LOCAL_EXPERIMENTAL);
    const descriptors = Uint32Array.of(0, 60, 64, 8, 128, 72);
    const beforeBatch = ns.counter(dev.name, 'rx_packets');
    assert.equal(dev.writeBatch(packed, descriptors, 3), 2);
    assert.equal(ns.counter(dev.name, 'rx_packets') - beforeBatch, 2);
    assert.equal(dev.statistics().txDropsInvalid, 1);
    const outOfRange = Uint32Array.of(0, 60, 190, 60);
    assert.throws(() => dev!.writeBatch(packed, outOfRange, 2), (e: unknown) => e instanceof TapError && e.code === 'ERR_NDIS_TAP_INVALID_ARGUMENT');
    assert.throws(() => dev!.writeBatch(packed, descriptors, 4), (e: unknown) => e instanceof TapError && e.code === 'ERR_NDIS_TAP_INVALID_ARGUMENT');
    assert.equal(ns.counter(dev.name, 'rx_packets') - beforeBatch, 2, 'a rejected batch sends nothing');

    const request = arpFrame(1, BROADCAST, OUR_MAC, OUR_IP, ZERO_MAC, ipv4('10.213.0.1'));
    assert.equal(dev.write(request), true);
    await waitFor('the kernel ARP reply', () => responder.arpReplies.has('10.213.0.1'));
    assert.equal(responder.arpReplies.get('10.213.0.1'), kernelMac);

    const s = dev.statistics();
    assert.equal(s.txFrames, 5 + 2 + 1 + responder.arpRequests + responder.echoRequests);
    assert.equal(s.txBytes, 5 * 60 + 60 + 72 + 42 + 42 * responder.arpRequests);
  } finally {
    dev?.close();
    ns.remove();
  }
});

/** `frame` copied to `offset` of a buffer `offset` bytes longer, so that `write(b, offset, n)` sends it. */
function concatAt(frame: Uint8Array, offset: number): Uint8Array {
  const b = new Uint8Array(offset + frame.length).fill(0xee);
  b.set(frame, offset);
  return b;
}

void test('writes the kernel refuses are dropped and counted by reason, never thrown', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  let dev: TapDevice | null = null;
  try {
    dev = openInNamespace(ns, '10.213.0.1/24');
    const frame = new Uint8Array(60);
    ethernet(frame, BROADCAST, OUR_MAC, ETHERTYPE_LOCAL_EXPERIMENTAL);

    assert.equal(dev.write(frame, 0, 10), false, 'shorter than an Ethernet header');
    assert.equal(dev.statistics().txDropsInvalid, 1);

    ns.ip('link', 'set', 'dev', dev.name, 'down');
    const downBefore = ns.counter(dev.name, 'rx_packets');
    const sent = dev.write(frame);
    const s = dev.statistics();
    // A TAP whose link is down refuses writes with EIO; the frame must be counted, not lost silently.
    assert.equal(sent, false);
    assert.equal(s.txDropsLinkDown, 1);
    assert.equal(ns.counter(dev.name, 'rx_packets'), downBefore);
    assert.equal(s.txFrames, 0);

    assert.throws(() => dev!.write(frame, 50, 20), (e: unknown) => e instanceof TapError && e.code === 'ERR_NDIS_TAP_INVALID_ARGUMENT');
    assert.throws(() => dev!.write(frame, -1, 20), (e: unknown) => e instanceof TapError && e.code === 'ERR_NDIS_TAP_INVALID_ARGUMENT');
  } finally {
    dev?.close();
    ns.remove();
  }
});

void test('no frame is lost silently: frames read plus kernel queue drops equal frames sent', { timeout: 60_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    ns.execSync('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    const [command, args] = inNamespace(ns, 'queue-drops', '3000');
    const r = await runChild(command, args, 45_000);
    assert.equal(r.code, 0, `child failed: ${r.stderr}`);
    interface Stats {
      rxFrames: number;
      rxBatches: number;
      rxBatchLimitHits: number;
      rxKernelQueueDrops: number | null;
    }
    const out = lastJson<{ sent: number; sendErrors: number; udp: number; other: number; beforeReading: Stats; after: Stats }>(r.stdout);
    assert.equal(out.sendErrors, 0);
    assert.equal(out.other, 0, 'only our datagrams crossed the interface');
    assert.equal(out.beforeReading.rxFrames, 0, 'nothing is read while no handler is set');
    assert.equal(out.after.rxFrames, out.udp);
    assert.ok(out.after.rxKernelQueueDrops !== null && out.after.rxKernelQueueDrops > 0, 'the kernel queue overflowed');
    assert.equal(out.after.rxFrames + out.after.rxKernelQueueDrops, out.sent);
    assert.ok(out.after.rxBatchLimitHits > 0, 'full batches left the rest queued');
    assert.ok(out.after.rxBatches < out.after.rxFrames / 8, `frames come in batches (${out.after.rxBatches} for ${out.after.rxFrames})`);
  } finally {
    ns.remove();
  }
});

void test('open sets the MTU and brings the link up when asked', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    const [command, args] = inNamespace(ns, 'options');
    const r = await runChild(command, args, 20_000);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ name: string; mtu: number; ifindex: number; link: Array<{ ifname: string; mtu: number; flags: string[]; ifindex: number }> }>(r.stdout);
    assert.match(out.name, /^ndo\d+$/);
    assert.equal(out.mtu, 1400);
    const link = out.link[0]!;
    assert.equal(link.ifname, out.name);
    assert.equal(link.ifindex, out.ifindex);
    assert.equal(link.mtu, 1400);
    assert.ok(link.flags.includes('UP'), `flags ${link.flags.join(',')}`);
    // closing a non-persistent TAP removes the interface
    assert.throws(() => ns.ip('link', 'show', 'dev', out.name));
  } finally {
    ns.remove();
  }
});

void test('the process exits promptly after close(), stays alive while reading, and exits when unref()d', { timeout: 60_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    const [c1, a1] = inNamespace(ns, 'exit-after-close');
    const closed = await runChild(c1, a1, 10_000);
    assert.equal(closed.code, 0, closed.stderr);
    assert.equal(closed.stdout.trim(), 'closed');
    assert.ok(closed.afterFirstLineMs >= 0 && closed.afterFirstLineMs < 3000, `exited ${closed.afterFirstLineMs} ms after close`);

    const [c2, a2] = inNamespace(ns, 'stay-open');
    const open = await runChild(c2, a2, 1500);
    assert.equal(open.stdout.trim(), 'open');
    assert.equal(open.signal, 'SIGKILL', 'an open, reading device keeps the process alive');

    const [c3, a3] = inNamespace(ns, 'unref');
    const unrefd = await runChild(c3, a3, 10_000);
    assert.equal(unrefd.code, 0, unrefd.stderr);
    assert.ok(unrefd.afterFirstLineMs >= 0 && unrefd.afterFirstLineMs < 3000, `exited ${unrefd.afterFirstLineMs} ms after unref`);
  } finally {
    ns.remove();
  }
});

void test('an exception from the frames handler reaches uncaughtException and reading goes on', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    ns.execSync('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    const [command, args] = inNamespace(ns, 'handler-throws');
    const r = await runChild(command, args, 20_000);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ uncaught: string[]; batches: number; rxFrames: number }>(r.stdout);
    assert.deepEqual(out.uncaught, ['bug in the frames handler']);
    assert.equal(out.rxFrames, 5);
    assert.ok(out.batches >= 2, `batches after the exception: ${out.batches}`);
  } finally {
    ns.remove();
  }
});

void test('a worker that exits with a reading device open shuts it down cleanly', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    const [command, args] = inNamespace(ns, 'worker');
    const r = await runChild(command, args, 20_000);
    assert.equal(r.signal, null, `the process died of ${String(r.signal)}: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ existedWhileOpen: boolean; existsAfterTerminate: boolean }>(r.stdout);
    assert.equal(out.existedWhileOpen, true);
    assert.equal(out.existsAfterTerminate, false);
  } finally {
    ns.remove();
  }
});

void test('a device dropped without close() is closed when collected', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    const r = await runChild('ip', ['netns', 'exec', ns.name, process.execPath, '--expose-gc', childScript, 'gc'], 20_000);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ existedWhileOpen: boolean; existsAfterGc: boolean }>(r.stdout);
    assert.equal(out.existedWhileOpen, true);
    assert.equal(out.existsAfterGc, false);
  } finally {
    ns.remove();
  }
});

void test('reading stops with a typed error when the interface is deleted', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  let dev: TapDevice | null = null;
  try {
    dev = openInNamespace(ns, '10.213.0.1/24');
    const errors: TapError[] = [];
    dev.onError((e) => errors.push(e));
    dev.onFrames(() => {});
    ns.ip('link', 'del', 'dev', dev.name);
    await waitFor('the read error', () => errors.length > 0);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'ERR_NDIS_TAP_IO');
    assert.equal(dev.statistics().rxErrors, 1);
    assert.equal(dev.closed, false);
    dev.close();
    assert.equal(dev.closed, true);
  } finally {
    dev?.close();
    ns.remove();
  }
});

void test('close() inside the frames handler ends delivery and leaves the device closed', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  let dev: TapDevice | null = null;
  try {
    dev = openInNamespace(ns, '10.213.0.1/24');
    let calls = 0;
    const d = dev;
    dev.onFrames(() => {
      calls++;
      d.close();
    });
    // the kernel resolves 10.213.0.9 by ARP: frames arrive at the device
    const ping = ns.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', '10.213.0.9']);
    await waitFor('a batch', () => calls > 0);
    await ping;
    assert.equal(calls, 1);
    assert.equal(dev.closed, true);
    assert.throws(() => d.write(new Uint8Array(60)), (e: unknown) => e instanceof TapError && e.code === 'ERR_NDIS_TAP_CLOSED');
    assert.throws(() => d.onFrames(() => {}), (e: unknown) => e instanceof TapError && e.code === 'ERR_NDIS_TAP_CLOSED');
    dev.close(); // idempotent
  } finally {
    dev?.close();
    ns.remove();
  }
});

void test('a second open of a busy interface fails with ERR_NDIS_TAP_OPEN_FAILED (EBUSY)', { timeout: 30_000 }, (t) => {
  if (cannotRun(t)) return;
  const first = TapDevice.open('ndt%d'); // created down in this namespace: it carries nothing
  try {
    assert.throws(
      () => TapDevice.open(first.name),
      (e: unknown) => e instanceof TapError && !(e instanceof TapUnavailableError) && e.code === 'ERR_NDIS_TAP_OPEN_FAILED' && e.errno === 'EBUSY',
    );
  } finally {
    first.close();
  }
});

void test('without CAP_NET_ADMIN open throws TapUnavailableError ERR_NDIS_TAP_PERMISSION', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  const ns = Netns.create();
  try {
    const r = await runChild(
      'ip',
      ['netns', 'exec', ns.name, 'setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', process.execPath, childScript, 'open-error'],
      20_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson<{ opened: boolean; class: string; code: string; errno: string; syscall: string; message: string }>(r.stdout);
    assert.equal(out.opened, false);
    assert.equal(out.class, 'TapUnavailableError');
    assert.equal(out.code, 'ERR_NDIS_TAP_PERMISSION');
    assert.equal(out.errno, 'EPERM');
    assert.equal(out.syscall, 'ioctl(TUNSETIFF)');
    assert.match(out.message, /CAP_NET_ADMIN/);
  } finally {
    ns.remove();
  }
});

void test('without /dev/net/tun open throws TapUnavailableError ERR_NDIS_TAP_NO_TUN_DEVICE', { timeout: 30_000 }, async (t) => {
  if (cannotRun(t)) return;
  // a private mount namespace where an empty tmpfs hides /dev/net
  const r = await runChild(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$0" "$@"', process.execPath, childScript, 'open-error'],
    20_000,
  );
  assert.equal(r.code, 0, r.stderr);
  const out = lastJson<{ opened: boolean; class: string; code: string; errno: string; message: string }>(r.stdout);
  assert.equal(out.opened, false);
  assert.equal(out.class, 'TapUnavailableError');
  assert.equal(out.code, 'ERR_NDIS_TAP_NO_TUN_DEVICE');
  assert.equal(out.errno, 'ENOENT');
  assert.match(out.message, /modprobe tun/);
});

void test('an addon that is not built or does not load gives TapUnavailableError with what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-tap-'));
  try {
    assert.throws(
      () => loadTapAddon(join(dir, 'ndis_tap.node')),
      (e: unknown) =>
        e instanceof TapUnavailableError && e.code === (process.platform === 'linux' ? 'ERR_NDIS_TAP_NOT_BUILT' : 'ERR_NDIS_TAP_NOT_LINUX') &&
        /build-native\.mjs|only on Linux/.test(e.message),
    );
    const garbage = join(dir, 'garbage.node');
    writeFileSync(garbage, 'not a shared object');
    if (process.platform === 'linux') {
      assert.throws(
        () => loadTapAddon(garbage),
        (e: unknown) => e instanceof TapUnavailableError && e.code === 'ERR_NDIS_TAP_LOAD_FAILED' && /rebuild/.test(e.message),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('bad open arguments throw ERR_NDIS_TAP_INVALID_ARGUMENT before touching the system', () => {
  const invalid = (e: unknown): boolean => e instanceof TapError && e.code === 'ERR_NDIS_TAP_INVALID_ARGUMENT';
  assert.throws(() => TapDevice.open('a-name-longer-than-15'), invalid);
  assert.throws(() => TapDevice.open('bad/name'), invalid);
  assert.throws(() => TapDevice.open('tap0', { mtu: 20 }), invalid);
  assert.throws(() => TapDevice.open('tap0', { mtu: 1500.5 }), invalid);
  assert.throws(() => TapDevice.open('tap0', { batchFrames: 0 }), invalid);
});
