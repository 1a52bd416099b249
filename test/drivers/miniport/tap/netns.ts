/**
 * Test support: network namespaces the tests create and remove themselves, and the reason to skip
 * when this machine cannot run TAP tests (not root, no `ip`, addon not built, no /dev/net/tun).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { tapUnavailableReason } from '../../../../src/drivers/miniport/tap/native.js';

/** Why TAP tests cannot run here, or null when they can. */
export function tapTestSkipReason(): string | null {
  if (process.platform !== 'linux') return `TAP tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'TAP tests need root (network namespaces and TUNSETIFF)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'TAP tests need the ip command (iproute2)';
  const unavailable = tapUnavailableReason();
  return unavailable === null ? null : `TAP unavailable: ${unavailable.message}`;
}

let counter = 0;

/** A network namespace with a unique name; `remove()` deletes it and every virtual device in it. */
export class Netns {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  static create(): Netns {
    const name = `ndtap-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
    execFileSync('ip', ['netns', 'add', name]);
    return new Netns(name);
  }

  /** Runs `ip <args>` inside the namespace (`ip -n`), synchronously. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs a command inside the namespace synchronously (blocks the event loop). */
  execSync(command: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, command, ...args], { encoding: 'utf8' });
  }

  /**
   * Runs a command inside the namespace without blocking the event loop (the JS side of a TAP
   * device must keep answering while the command runs).
   */
  exec(command: string, args: readonly string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('ip', ['netns', 'exec', this.name, command, ...args], { encoding: 'utf8', timeout: timeoutMs }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Reads a counter of `dev` from sysfs as seen inside the namespace. */
  counter(dev: string, name: string): number {
    return Number(this.execSync('cat', `/sys/class/net/${dev}/statistics/${name}`).trim());
  }

  remove(): void {
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
  }
}
