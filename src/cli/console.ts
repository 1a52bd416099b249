/**
 * Commands a running network takes on its standard input, one per line (`ndis host` and `ndis up`;
 * with several hosts the line starts with the host's name):
 *
 *   ping <address> [count]            ICMP echo, one result per request
 *   udp <address> <port> <text>       one UDP datagram, then the reply (an echo service answers)
 *   fetch <url>                       HTTP GET over the host's TCP (Node's http client)
 *   send <address> <port> <bytes>     a TCP connection that sends that many bytes, with their SHA-256
 *   sink <port>                       listen; report the bytes and SHA-256 of every connection
 *   neighbors | stats | quit
 *
 * Results are reported as events, like everything else the network does.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Network, NetworkEvent, RunningHost } from './topology.js';
import type { IpTcpSocket } from './ipstack.js';

/** Deterministic bytes for transfers (xorshift32 from a seed), written chunk by chunk. */
export class TransferPattern {
  private state: number;
  constructor(seed = 0x9e3779b9) {
    this.state = seed >>> 0 || 1;
  }
  /** Fills `out` with the next bytes of the pattern. */
  fill(out: Uint8Array): void {
    let x = this.state;
    for (let i = 0; i + 4 <= out.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
      out[i + 1] = (x >>> 8) & 0xff;
      out[i + 2] = (x >>> 16) & 0xff;
      out[i + 3] = (x >>> 24) & 0xff;
    }
    for (let i = out.length & ~3; i < out.length; i++) out[i] = i & 0xff;
    this.state = x >>> 0;
  }
}

/** Writes `total` pattern bytes to `socket` with backpressure; resolves with their SHA-256 hex. */
export async function sendPattern(socket: Duplex, total: number, seed?: number): Promise<string> {
  const hash = createHash('sha256');
  const pattern = new TransferPattern(seed);
  let left = total;
  while (left > 0) {
    const chunk = new Uint8Array(Math.min(left, 64 * 1024));
    pattern.fill(chunk);
    hash.update(chunk);
    left -= chunk.length;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          socket.off('error', onError);
          resolve();
        };
        const onError = (e: Error): void => {
          socket.off('drain', onDrain);
          reject(e);
        };
        socket.once('drain', onDrain);
        socket.once('error', onError);
      });
    }
  }
  return hash.digest('hex');
}

function bytesArg(text: string | undefined): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text ?? '');
  if (m === null) throw new Error(`'${text ?? ''}' is not a byte count (e.g. 1000, 64k, 50M)`);
  const mult = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

function portArg(text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`'${text ?? ''}' is not a port (1-65535)`);
  return n;
}

/** Executes console lines against a network. */
export class NetworkConsole {
  constructor(
    private readonly net: Network,
    private readonly report: (e: NetworkEvent) => void,
  ) {}

  /** Runs one line; resolves when its work is done (a `sink` is done once it listens). Returns false for `quit`. */
  async run(line: string): Promise<boolean> {
    let words = line.trim().split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) return true;
    let host: RunningHost;
    if (this.net.hosts.length > 1 || this.net.hosts.some((h) => h.spec.name === words[0])) {
      if (words[0] === 'quit') return false;
      try {
        host = this.net.host(words[0]!);
      } catch (e) {
        this.report({ event: 'command-error', command: line, message: (e as Error).message });
        return true;
      }
      words = words.slice(1);
    } else {
      host = this.net.hosts[0]!;
    }
    const [cmd, ...args] = words;
    try {
      switch (cmd) {
        case 'quit':
          return false;
        case 'ping':
          await this.ping(host, args[0], args[1] === undefined ? 1 : Number(args[1]));
          break;
        case 'udp':
          await this.udp(host, args[0], portArg(args[1]), args.slice(2).join(' '));
          break;
        case 'fetch':
          await this.fetch(host, args[0]);
          break;
        case 'send':
          await this.send(host, args[0], portArg(args[1]), bytesArg(args[2]));
          break;
        case 'sink':
          this.sink(host, portArg(args[0]));
          break;
        case 'neighbors':
          this.report({ event: 'neighbors', host: host.spec.name, neighbors: this.stack(host).neighbors.list() });
          break;
        case 'stats':
          this.report({ event: 'stats', host: host.spec.name, statistics: this.stack(host).statistics() });
          break;
        default:
          throw new Error(`unknown command '${cmd ?? ''}' (ping, udp, fetch, send, sink, neighbors, stats, quit)`);
      }
    } catch (e) {
      this.report({ event: 'command-error', host: host.spec.name, command: line, message: e instanceof Error ? e.message : String(e) });
    }
    return true;
  }

  private stack(host: RunningHost): NonNullable<RunningHost['stack']> {
    if (host.stack === null) throw new Error(`host ${host.spec.name} has no IP stack`);
    return host.stack;
  }

  private async ping(host: RunningHost, address: string | undefined, count: number): Promise<void> {
    if (address === undefined) throw new Error('usage: ping <address> [count]');
    const stack = this.stack(host);
    for (let seq = 1; seq <= count; seq++) {
      try {
        const rtt = await stack.ping(address, { timeoutMs: 3000 });
        this.report({ event: 'ping', host: host.spec.name, address, seq, rttMs: Math.round(rtt * 1000) / 1000 });
      } catch (e) {
        this.report({ event: 'ping-failed', host: host.spec.name, address, seq, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async udp(host: RunningHost, address: string | undefined, port: number, text: string): Promise<void> {
    if (address === undefined) throw new Error('usage: udp <address> <port> <text>');
    const socket = this.stack(host).udp.bind(0);
    try {
      const reply = new Promise<{ data: Uint8Array; from: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no UDP reply from ${address}:${port} within 3 s`)), 3000);
        socket.on('message', (data, rinfo) => {
          clearTimeout(timer);
          resolve({ data, from: `${rinfo.address}:${rinfo.port}` });
        });
      });
      socket.send(text, address, port);
      const r = await reply;
      this.report({ event: 'udp-reply', host: host.spec.name, from: r.from, text: new TextDecoder().decode(r.data) });
    } finally {
      socket.close();
    }
  }

  private connect(host: RunningHost, address: string, port: number): Promise<IpTcpSocket> {
    const socket = this.stack(host).tcp.connect(port, address);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  private async fetch(host: RunningHost, url: string | undefined): Promise<void> {
    if (url === undefined) throw new Error('usage: fetch <url>');
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error('fetch: only http:// URLs');
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port === '' ? 80 : Number(u.port);
    const stack = this.stack(host);
    const started = performance.now();
    // The request must run over the host's own TCP: no agent (an agent would open a socket of this
    // machine's network stack), only `createConnection`, and a check that it was used.
    let overStack = false;
    const result = await new Promise<{ status: number; bytes: number; sha256: string; type: string }>((resolve, reject) => {
      const req = http.get(
        {
          host: hostname,
          port,
          path: `${u.pathname}${u.search}`,
          createConnection: () => {
            overStack = true;
            return stack.tcp.connect(port, hostname) as unknown as Socket;
          },
        },
        (res) => {
          if (!overStack) {
            res.destroy();
            reject(new Error('fetch: the request did not go over the host stack'));
            return;
          }
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            hash.update(c);
            bytes += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex'), type: String(res.headers['content-type'] ?? '') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`fetch ${url}: no answer within 30 s`)));
    });
    this.report({ event: 'fetched', host: host.spec.name, url, ...result, ms: Math.round(performance.now() - started) });
  }

  private async send(host: RunningHost, address: string | undefined, port: number, bytes: number): Promise<void> {
    if (address === undefined) throw new Error('usage: send <address> <port> <bytes>');
    const started = performance.now();
    const socket = await this.connect(host, address, port);
    // Whatever the peer sends back is read and dropped, so that its FIN is seen and the socket closes.
    socket.resume();
    const sha256 = await sendPattern(socket, bytes);
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
    });
    const ms = performance.now() - started;
    this.report({ event: 'sent', host: host.spec.name, to: `${address}:${port}`, bytes, sha256, ms: Math.round(ms), mbitPerSecond: Math.round((bytes * 8) / ms / 1000) });
  }

  private sink(host: RunningHost, port: number): void {
    const server = this.stack(host).tcp.createServer((socket) => {
      const hash = createHash('sha256');
      let bytes = 0;
      const started = performance.now();
      socket.on('data', (c: Uint8Array) => {
        hash.update(c);
        bytes += c.length;
      });
      socket.on('end', () => {
        const ms = performance.now() - started;
        this.report({ event: 'received', host: host.spec.name, port, from: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, bytes, sha256: hash.digest('hex'), ms: Math.round(ms) });
        socket.end();
      });
      socket.on('error', (e: Error) => this.report({ event: 'command-error', host: host.spec.name, command: `sink ${port}`, message: e.message }));
    });
    server.listen(port);
    this.report({ event: 'listening', host: host.spec.name, port });
  }
}
