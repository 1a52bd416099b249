/**
 * Test support: a process that uses a TapDevice in one of several ways and reports on stdout, so
 * that device.test.ts can watch process lifetime, run inside a namespace (`ip netns exec`), or run
 * without privilege or without /dev/net/tun.
 *
 *   node child.js <mode>
 *
 * Modes: exit-after-close, stay-open, unref, options, open-error, queue-drops, handler-throws,
 * worker, gc (the last needs node --expose-gc).
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { TapDevice } from '../../../../src/drivers/miniport/tap/device.js';
import { TapError } from '../../../../src/drivers/miniport/tap/native.js';

function say(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function queueDrops(): Promise<void> {
  // Expects to run in a fresh namespace with IPv6 disabled, so the kernel sends nothing but our UDP.
  const sent = Number(process.argv[3] ?? '3000');
  const dev = TapDevice.open('ndq%d', { batchFrames: 64 });
  execFileSync('ip', ['addr', 'add', '10.213.1.1/24', 'dev', dev.name]);
  execFileSync('ip', ['link', 'set', dev.name, 'up']);
  execFileSync('ip', ['neigh', 'replace', '10.213.1.2', 'lladdr', '02:00:00:00:00:02', 'nud', 'permanent', 'dev', dev.name]);
  const socket = createSocket('udp4');
  const payload = Buffer.alloc(18, 0x5a);
  let sendErrors = 0;
  await new Promise<void>((resolve) => {
    let pending = sent;
    for (let i = 0; i < sent; i++) {
      socket.send(payload, 9, '10.213.1.2', (error) => {
        if (error) sendErrors++;
        if (--pending === 0) resolve();
      });
    }
  });
  socket.close();
  await sleep(100);
  const beforeReading = dev.statistics();
  let udp = 0;
  let other = 0;
  let last = Date.now();
  dev.onFrames((batch) => {
    last = Date.now();
    for (let i = 0; i < batch.count; i++) {
      const o = batch.offset(i);
      const b = batch.buffer;
      const isUdpToDiscard =
        batch.length(i) === 14 + 20 + 8 + 18 && b[o + 12] === 0x08 && b[o + 13] === 0x00 && b[o + 23] === 17 && b[o + 36] === 0 && b[o + 37] === 9;
      if (isUdpToDiscard) udp++;
      else other++;
    }
  });
  while (Date.now() - last < 300) await sleep(50);
  const after = dev.statistics();
  dev.close();
  say({ sent, sendErrors, udp, other, beforeReading, after });
}

function interfaceExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A device whose link is up with 10.213.2.1/24 and a static neighbour 10.213.2.2 (no ARP needed). */
function deviceWithNeighbour(): TapDevice {
  const dev = TapDevice.open('ndh%d');
  execFileSync('ip', ['addr', 'add', '10.213.2.1/24', 'dev', dev.name]);
  execFileSync('ip', ['link', 'set', dev.name, 'up']);
  execFileSync('ip', ['neigh', 'replace', '10.213.2.2', 'lladdr', '02:00:00:00:00:02', 'nud', 'permanent', 'dev', dev.name]);
  return dev;
}

async function handlerThrows(): Promise<void> {
  const uncaught: string[] = [];
  process.on('uncaughtException', (e) => uncaught.push(e.message));
  const dev = deviceWithNeighbour();
  let batches = 0;
  dev.onFrames(() => {
    batches++;
    if (batches === 1) throw new Error('bug in the frames handler');
  });
  const socket = createSocket('udp4');
  for (let i = 0; i < 5; i++) {
    socket.send(Buffer.alloc(18), 9, '10.213.2.2');
    await sleep(50);
  }
  await sleep(200);
  socket.close();
  const s = dev.statistics();
  dev.close();
  say({ uncaught, batches, rxFrames: s.rxFrames });
}

/** Opens a reading device in a worker thread, then terminates the worker without closing it. */
async function inWorker(): Promise<void> {
  const deviceUrl = new URL('../../../../src/drivers/miniport/tap/device.js', import.meta.url).href;
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     import(${JSON.stringify(deviceUrl)}).then(({ TapDevice }) => {
       const dev = TapDevice.open('ndw%d', { up: true });
       dev.onFrames(() => {});
       parentPort.postMessage(dev.name);
     });`,
    { eval: true },
  );
  const name = await new Promise<string>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const existedWhileOpen = interfaceExists(name);
  await worker.terminate();
  await sleep(100);
  say({ name, existedWhileOpen, existsAfterTerminate: interfaceExists(name) });
}

/** Drops a device without close(); collection must close its fd. */
async function collected(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  let dev: TapDevice | null = TapDevice.open('ndg%d');
  const name = dev.name;
  const existedWhileOpen = interfaceExists(name);
  dev = null;
  for (let i = 0; i < 10 && interfaceExists(name); i++) {
    gc();
    await sleep(20);
  }
  say({ name, existedWhileOpen, existsAfterGc: interfaceExists(name), dropped: dev === null });
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  switch (mode) {
    case 'exit-after-close': {
      const dev = TapDevice.open('ndc%d', { up: true });
      dev.onFrames(() => {});
      await sleep(200);
      dev.close();
      say('closed');
      return; // nothing else holds the event loop: the process must exit now
    }
    case 'stay-open': {
      const dev = TapDevice.open('ndc%d', { up: true });
      dev.onFrames(() => {});
      say('open');
      return; // the reading device keeps the process alive
    }
    case 'unref': {
      const dev = TapDevice.open('ndc%d', { up: true });
      dev.onFrames(() => {});
      dev.unref();
      say('open');
      return; // an unref'd device does not keep the process alive
    }
    case 'options': {
      const dev = TapDevice.open('ndo%d', { mtu: 1400, up: true });
      const link = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', dev.name], { encoding: 'utf8' })) as unknown;
      say({ name: dev.name, mtu: dev.mtu, ifindex: dev.ifindex, link });
      dev.close();
      return;
    }
    case 'open-error': {
      try {
        const dev = TapDevice.open('ndc%d');
        dev.close();
        say({ opened: true });
      } catch (e) {
        if (!(e instanceof TapError)) throw e;
        say({ opened: false, class: e.name, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message });
      }
      return;
    }
    case 'queue-drops':
      await queueDrops();
      return;
    case 'handler-throws':
      await handlerThrows();
      return;
    case 'worker':
      await inWorker();
      return;
    case 'gc':
      await collected();
      return;
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
}

await main();
