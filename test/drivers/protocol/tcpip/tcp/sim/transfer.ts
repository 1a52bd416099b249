/**
 * Bulk transfer helpers for engine tests: a sender that writes a seeded pseudo-random stream as
 * send space allows and then shuts down, and a receiver that reads everything, both hashing what
 * they see with SHA-256.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { TcpConnection, TcpConnectionUser, TcpListener, TcpListenerUser } from '../../../../../../src/drivers/protocol/tcpip/tcp/connection.js';
import { parseIp } from '../../../../../../src/wire/address.js';
import { Rng } from './rng.js';
import type { SimHost, SimNetwork } from './network.js';

/** Writes `total` seeded bytes, then shuts down. */
export class BulkSender implements TcpConnectionUser {
  readonly hash: Hash = createHash('sha256');
  written = 0;
  connected = false;
  closed = false;
  finAcked = false;
  error = -1;
  private readonly chunk: Uint8Array;
  private chunkOff: number;
  private readonly rng: Rng;

  constructor(readonly total: number, seed: number, chunkSize = 65536) {
    this.rng = new Rng(seed);
    this.chunk = new Uint8Array(chunkSize);
    this.chunkOff = chunkSize;
  }

  pump(c: TcpConnection): void {
    while (this.written < this.total) {
      if (this.chunkOff === this.chunk.length) {
        this.rng.fill(this.chunk);
        this.chunkOff = 0;
      }
      const want = Math.min(this.chunk.length - this.chunkOff, this.total - this.written);
      const n = c.send(this.chunk, this.chunkOff, want);
      if (n === 0) return;
      this.hash.update(this.chunk.subarray(this.chunkOff, this.chunkOff + n));
      this.chunkOff += n;
      this.written += n;
    }
    c.shutdown();
  }

  onConnected(c: TcpConnection): void {
    this.connected = true;
    this.pump(c);
  }
  onReadable(c: TcpConnection): void {
    const sink = new Uint8Array(4096);
    while (c.receive(sink, 0, sink.length) > 0);
  }
  onWritable(c: TcpConnection): void {
    if (this.written < this.total) this.pump(c);
  }
  onFinAcked(): void {
    this.finAcked = true;
  }
  onIdleTimeout(): void {}
  onClosed(_c: TcpConnection, error: number): void {
    this.closed = true;
    this.error = error;
  }
}

/** Reads everything, hashing it; shuts down its side when the peer's FIN arrives. */
export class BulkReceiver implements TcpConnectionUser, TcpListenerUser {
  readonly hash: Hash = createHash('sha256');
  received = 0;
  eof = false;
  closed = false;
  error = -1;
  conn: TcpConnection | null = null;
  private readonly buf = new Uint8Array(65536);

  onConnection(_l: TcpListener, c: TcpConnection): void {
    this.conn = c;
    c.user = this;
    this.onReadable(c);
  }
  onConnected(): void {}
  onReadable(c: TcpConnection): void {
    for (;;) {
      const n = c.receive(this.buf, 0, this.buf.length);
      if (n === 0) break;
      this.hash.update(this.buf.subarray(0, n));
      this.received += n;
    }
    if (c.endOfStream() && !this.eof) {
      this.eof = true;
      c.shutdown();
    }
  }
  onWritable(): void {}
  onFinAcked(): void {}
  onIdleTimeout(): void {}
  onClosed(_c: TcpConnection, error: number): void {
    this.closed = true;
    this.error = error;
  }
}

export interface TransferResult {
  ok: boolean;
  sent: string;
  received: string;
  bytes: number;
  virtualMs: number;
  sender: BulkSender;
  receiver: BulkReceiver;
}

/** Moves `total` bytes from `a` to `b` (port 5001) and runs until both sides closed. */
export function transfer(net: SimNetwork, a: SimHost, b: SimHost, total: number, seed: number, maxMs = 3_600_000): TransferResult {
  const receiver = new BulkReceiver();
  const l = b.engine.listen(5001, null, 16, receiver);
  const sender = new BulkSender(total, seed);
  const start = net.now;
  a.engine.connect(b.address, 5001, null, 0, sender);
  const ok = net.runUntil(() => sender.closed && receiver.closed, maxMs);
  l.close();
  return {
    ok,
    sent: sender.hash.copy().digest('hex'),
    received: receiver.hash.copy().digest('hex'),
    bytes: receiver.received,
    virtualMs: net.now - start,
    sender,
    receiver,
  };
}

export function ip(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}
