/**
 * Test support: network namespaces the tests create and remove themselves (unique names, removed
 * in `finally`), commands run inside them, and the reason to skip when this machine cannot (not
 * root, no `ip`). Every address a test configures lives inside one of these namespaces.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Why namespace tests cannot run here, or null when they can. */
export function netnsSkipReason(): string | null {
  if (process.platform !== 'linux') return `network namespace tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespace tests need root (ip netns add)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'network namespace tests need the ip command (iproute2)';
  return null;
}

/** Whether a command exists on PATH. */
export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

let counter = 0;

/** Result of a command run to completion. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A network namespace with a unique name; `remove()` deletes it and every virtual device in it. */
export class Netns {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates a namespace `nd<tag>-<pid>-<n>`, its loopback up. */
  static create(tag = 'wire'): Netns {
    const name = `nd${tag}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** Runs `ip <args>` inside the namespace, synchronously. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs a command inside the namespace synchronously (blocks the event loop: only for setup). */
  execSync(command: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Sets sysctls inside the namespace (`key=value` each). */
  sysctl(...settings: string[]): void {
    this.execSync('sysctl', '-qw', ...settings);
  }

  /** Runs a command inside the namespace without blocking the event loop. */
  exec(command: string, args: readonly string[], timeoutMs = 30_000, input?: string | Buffer): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = execFile(
        'ip',
        ['netns', 'exec', this.name, command, ...args],
        { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
    });
  }

  /** Starts a long-running command inside the namespace. */
  spawn(command: string, args: readonly string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** The MAC address of `dev` inside the namespace. */
  linkAddress(dev: string): string {
    const links = JSON.parse(this.ip('-j', 'link', 'show', 'dev', dev)) as { address: string }[];
    return links[0]!.address;
  }

  remove(): void {
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
  }
}

/**
 * Joins two namespaces with a veth pair: `a` gets `addrA` on its end, `b` gets `addrB`; both ends
 * up. Returns the device names.
 */
export function vethPair(a: Netns, addrA: string, b: Netns, addrB: string): { devA: string; devB: string } {
  const id = `${process.pid % 10000}${++counter}`;
  const devA = `va${id}`;
  const devB = `vb${id}`;
  execFileSync('ip', ['link', 'add', devA, 'netns', a.name, 'type', 'veth', 'peer', 'name', devB, 'netns', b.name]);
  const v6 = (s: string): boolean => s.includes(':');
  a.ip(...(v6(addrA) ? ['-6'] : []), 'addr', 'add', addrA, 'dev', devA, ...(v6(addrA) ? ['nodad'] : []));
  b.ip(...(v6(addrB) ? ['-6'] : []), 'addr', 'add', addrB, 'dev', devB, ...(v6(addrB) ? ['nodad'] : []));
  a.ip('link', 'set', devA, 'up');
  b.ip('link', 'set', devB, 'up');
  return { devA, devB };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `predicate` until true, or throws after `timeoutMs`. */
export async function waitUntil(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
