/**
 * Test support: a child process that reports JSON lines on stdout (`{"event": ...}`), with waits
 * for events, commands on stdin, and a kill on a deadline so that a test never hangs.
 */
import type { ChildProcess } from 'node:child_process';

/** One JSON line a child printed. */
export type ChildEvent = { event: string } & Record<string, unknown>;

/** A child process speaking JSON lines. */
export class JsonChild {
  readonly events: ChildEvent[] = [];
  /** Lines of stdout that were not JSON (plain messages, e.g. from a CLI). */
  readonly text: string[] = [];
  stderr = '';
  exitCode: number | null = null;
  private readonly waiters: { match: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }[] = [];
  private readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.line(line);
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => proc.on('exit', (code) => {
      this.exitCode = code;
      resolve(code);
    }));
  }

  private line(line: string): void {
    let e: ChildEvent | null = null;
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null && typeof (v as { event?: unknown }).event === 'string') e = v as ChildEvent;
    } catch {
      e = null;
    }
    if (e === null) {
      this.text.push(line);
      return;
    }
    this.events.push(e);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.match(e)) {
        this.waiters.splice(i--, 1);
        w.resolve(e);
      }
    }
  }

  /** Resolves with the first event named `name` (already seen or to come); rejects after `timeoutMs` or when the child exits. */
  waitEvent(name: string, timeoutMs = 15_000): Promise<ChildEvent> {
    const seen = this.events.find((e) => e.event === name);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${name}' event within ${timeoutMs} ms; stderr: ${this.stderr}; events: ${JSON.stringify(this.events)}`)), timeoutMs);
      const done = (e: ChildEvent): void => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ match: (e) => e.event === name || e.event === 'error', resolve: (e) => (e.event === 'error' ? (clearTimeout(timer), reject(new Error(`child error: ${JSON.stringify(e)}; stderr: ${this.stderr}`))) : done(e)) });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before '${name}'; stderr: ${this.stderr}; events: ${JSON.stringify(this.events)}`));
      });
    });
  }

  /** Resolves with the events named `name` once there are at least `count` of them (seen or to come). */
  async waitCount(name: string, count: number, timeoutMs = 15_000): Promise<ChildEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.events.filter((e) => e.event === name);
      if (got.length >= count) return got;
      if (this.exitCode !== null) throw new Error(`child exited (${this.exitCode}) with ${got.length} of ${count} '${name}' events; stderr: ${this.stderr}; events: ${JSON.stringify(this.events)}`);
      if (Date.now() > deadline) throw new Error(`${got.length} of ${count} '${name}' events within ${timeoutMs} ms; stderr: ${this.stderr}; events: ${JSON.stringify(this.events.slice(-20))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves when a line of plain text matching `re` appears (already seen or to come). */
  async waitText(re: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.text.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (this.exitCode !== null) throw new Error(`child exited (${this.exitCode}) before printing ${re}; stdout: ${this.text.join('\n')}; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no line matching ${re} within ${timeoutMs} ms; stdout: ${this.text.join('\n')}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves when stderr has matched `re`. */
  async waitStderr(re: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.stderr)) {
      if (this.exitCode !== null) throw new Error(`child exited (${this.exitCode}) before stderr matched ${re}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`stderr did not match ${re} within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Writes a command line to the child's stdin. */
  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Waits for the child to exit (killing it after `timeoutMs`); resolves with its exit code. */
  async exit(timeoutMs = 15_000): Promise<number | null> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child if it still runs. */
  kill(): void {
    if (this.exitCode === null) this.proc.kill('SIGKILL');
  }
}
