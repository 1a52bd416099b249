// TcpSocket / TcpServer over two engines on the in-memory network: stream semantics, backpressure,
// half close, abort, Node-style errors, options, and Node's own http module running over them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { SimNetwork } from './sim/network.js';
import type { Impairments } from './sim/network.js';
import { Rng } from './sim/rng.js';
import { TcpSocket, TcpServer, createConnection } from '../../../../../src/drivers/protocol/tcpip/tcp/socket.js';
import type { TcpSystemError } from '../../../../../src/drivers/protocol/tcpip/tcp/socket.js';
import { TcpState } from '../../../../../src/drivers/protocol/tcpip/tcp/state.js';

function setup(impair: Impairments = { delayMs: 1 }, seed = 1) {
  const net = new SimNetwork(seed, impair);
  const engine = { minRtoMs: 100, initialRtoMs: 300, mslMs: 500 };
  const a = net.addHost('10.1.0.1', { engine });
  const b = net.addHost('10.1.0.2', { engine });
  return { net, a, b };
}

async function run(net: SimNetwork, done: () => boolean, what: string, maxMs = 120_000): Promise<void> {
  assert.ok(await net.runUntilAsync(done, maxMs), `timed out waiting for ${what} (virtual ${net.now} ms)`);
}

function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  new Rng(seed).fill(b);
  return b;
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

void test('echo: connect, write 2 MB with backpressure, read it back; addresses and counters', async () => {
  const { net, a, b } = setup({ delayMs: 1, loss: 0.005 });
  const server = new TcpServer(b.engine);
  let serverSocket: TcpSocket | null = null;
  server.on('connection', (s: TcpSocket) => {
    serverSocket = s;
    s.pipe(s); // echo
  });
  server.listen(7, '10.1.0.2');
  const client = new TcpSocket(a.engine);
  let connected = false;
  client.connect({ port: 7, host: '10.1.0.2' }, () => {
    connected = true;
  });
  assert.equal(client.connecting, true);
  assert.equal(client.pending, true);
  const data = randomBytes(2 * 1024 * 1024, 3);
  const got: Buffer[] = [];
  let gotLen = 0;
  client.on('data', (d: Buffer) => {
    got.push(d);
    gotLen += d.length;
  });
  // Write in 64 KiB pieces honouring write()'s return value.
  let off = 0;
  let drains = 0;
  const writeSome = () => {
    while (off < data.length) {
      const piece = data.subarray(off, off + 65536);
      off += piece.length;
      if (!client.write(piece)) {
        drains++;
        client.once('drain', writeSome);
        return;
      }
    }
    client.end();
  };
  writeSome();
  await run(net, () => gotLen === data.length, 'echoed data');
  assert.ok(connected);
  assert.equal(client.connecting, false);
  assert.ok(drains > 0, 'backpressure: write() returned false at least once');
  assert.equal(sha(Buffer.concat(got)), sha(data));
  assert.equal(client.remoteAddress, '10.1.0.2');
  assert.equal(client.remotePort, 7);
  assert.equal(client.remoteFamily, 'IPv4');
  assert.equal(client.localAddress, '10.1.0.1');
  assert.ok(client.localPort! >= 49152);
  assert.equal(serverSocket!.remotePort, client.localPort);
  assert.equal(client.bytesWritten, data.length);
  assert.equal(client.bytesRead, data.length);
  assert.deepEqual(server.address(), { address: '10.1.0.2', family: 'IPv4', port: 7 });
  await run(net, () => client.destroyed && serverSocket!.destroyed, 'both sockets closed');
});

void test('half close: end() sends FIN; the other side can still write; both close cleanly', async () => {
  const { net, a, b } = setup();
  const server = new TcpServer(b.engine, { allowHalfOpen: true });
  const events: string[] = [];
  server.on('connection', (s: TcpSocket) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      events.push('server-end');
      // Reply after the client's FIN, then close our side.
      s.end(`got ${Buffer.concat(parts).toString()}`);
    });
    s.on('close', () => events.push('server-close'));
  });
  server.listen(80);
  const client = createConnection(a.engine, { port: 80, host: '10.1.0.2', allowHalfOpen: true });
  client.end('hello');
  let reply = '';
  client.on('data', (d: Buffer) => (reply += d.toString()));
  client.on('end', () => events.push('client-end'));
  client.on('close', () => events.push('client-close'));
  await run(net, () => events.includes('client-close') && events.includes('server-close'), 'close');
  assert.equal(reply, 'got hello');
  assert.deepEqual(events.filter((e) => e.endsWith('end')), ['server-end', 'client-end']);
  assert.equal(client.connection!.error, 0);
  // The side that closed first (client) sits in TIME-WAIT; it expires after 2 MSL.
  assert.equal(client.connection!.state, TcpState.TIME_WAIT);
  net.runFor(1000);
  assert.equal(client.connection!.state, TcpState.CLOSED);
});

void test('ECONNREFUSED: connecting to a port nobody listens on', async () => {
  const { net, a } = setup();
  const client = new TcpSocket(a.engine);
  client.connect(9999, '10.1.0.2');
  let err: TcpSystemError | null = null;
  client.on('error', (e: TcpSystemError) => (err = e));
  await run(net, () => err !== null, 'error');
  assert.equal(err!.code, 'ECONNREFUSED');
  assert.equal(err!.syscall, 'connect');
  assert.equal(err!.address, '10.1.0.2');
  assert.equal(err!.port, 9999);
  assert.ok(err!.errno < 0);
  assert.match(err!.message, /connect ECONNREFUSED 10\.1\.0\.2:9999/);
});

void test('ETIMEDOUT: a peer that never answers', async () => {
  const net = new SimNetwork(1, { delayMs: 1 });
  const a = net.addHost('10.1.0.1', { engine: { synRetries: 2, initialRtoMs: 100, minRtoMs: 100 } });
  net.addHost('10.1.0.2');
  net.filter = () => true; // drop everything
  const client = createConnection(a.engine, { port: 80, host: '10.1.0.2' });
  let err: TcpSystemError | null = null;
  client.on('error', (e: TcpSystemError) => (err = e));
  await run(net, () => err !== null, 'error');
  assert.equal(err!.code, 'ETIMEDOUT');
  assert.equal(net.now, 700, 'SYN at 0, retries at 100 and 300, given up at 700');
});

void test('ECONNRESET: the server destroys an open connection (RST); the client sees the reset', async () => {
  const { net, a, b } = setup();
  const server = new TcpServer(b.engine);
  server.on('connection', (s: TcpSocket) => {
    s.once('data', () => s.destroy());
  });
  server.listen(80);
  const client = createConnection(a.engine, { port: 80, host: '10.1.0.2' });
  client.write('x');
  let err: TcpSystemError | null = null;
  client.on('error', (e: TcpSystemError) => (err = e));
  await run(net, () => err !== null, 'error');
  assert.equal(err!.code, 'ECONNRESET');
  assert.equal(err!.syscall, 'read');
  assert.equal(b.engine.stats.outRsts, 1);
});

void test('setNoDelay, setKeepAlive and setTimeout reach the connection; timeout fires on the engine clock', async () => {
  const { net, a, b } = setup();
  const server = new TcpServer(b.engine, { noDelay: true });
  let accepted: TcpSocket | null = null;
  server.on('connection', (s: TcpSocket) => (accepted = s));
  server.listen(80);
  const client = createConnection(a.engine, { port: 80, host: '10.1.0.2', noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 });
  await run(net, () => accepted !== null && !client.connecting, 'connect');
  const c = client.connection!;
  assert.equal(c.noDelay, true);
  assert.equal(c.keepAlive, true);
  assert.equal(c.keepAliveIdleMs, 30_000);
  assert.equal(accepted!.connection!.noDelay, true, 'server option applies to accepted sockets');
  client.setNoDelay(false);
  assert.equal(c.noDelay, false);
  let timedOut = -1;
  client.setTimeout(5000, () => (timedOut = net.now));
  const start = net.now;
  await run(net, () => timedOut >= 0, 'timeout');
  assert.equal(timedOut - start, 5000);
  assert.ok(!client.destroyed, "'timeout' does not close the socket");
  client.destroy();
});

void test('backpressure: a reader that pauses closes the window; resuming delivers everything', async () => {
  const { net, a, b } = setup();
  const server = new TcpServer(b.engine);
  let sock: TcpSocket | null = null;
  let received = 0;
  server.on('connection', (s: TcpSocket) => {
    sock = s;
    s.pause();
  });
  server.listen(80);
  const client = createConnection(a.engine, { port: 80, host: '10.1.0.2' });
  const chunk = Buffer.alloc(65536, 7);
  let writes = 0;
  let blocked = false;
  while (writes < 64) {
    writes++;
    if (!client.write(chunk)) {
      blocked = true;
      break;
    }
  }
  await run(net, () => sock !== null, 'accept');
  net.runFor(5000);
  assert.ok(blocked, 'the writable side pushed back');
  const conn = sock!.connection!;
  assert.ok(conn.readableLength() > 0);
  const open = (conn.rcvAdv - conn.rcvNxt) | 0;
  assert.ok(open >= 0 && open < 1460, `window (${open} bytes) closed while the reader is paused`);
  const held = conn.readableLength();
  net.runFor(5000);
  assert.equal(conn.readableLength(), held, 'nothing more arrives into the closed window');
  sock!.on('data', (d: Buffer) => (received += d.length));
  sock!.resume();
  const total = () => client.bytesWritten;
  const rest = async () => {
    while (writes < 64) {
      writes++;
      if (!client.write(chunk)) await once(client, 'drain');
    }
    client.end();
  };
  const writer = rest();
  await run(net, () => received === 64 * 65536, 'all data');
  await writer;
  assert.equal(total(), 64 * 65536);
});

void test('http: Node http.createServer serves over a TcpSocket; http.request uses one via createConnection', async () => {
  const { net, a, b } = setup({ delayMs: 1, loss: 0.01 }, 5);
  const body = randomBytes(300_000, 9);
  const httpServer = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const got = Buffer.concat(parts);
      if (req.url === '/echo-hash') {
        res.setHeader('content-type', 'text/plain');
        res.end(`${req.method} ${got.length} ${sha(got)}`);
      } else {
        res.setHeader('content-type', 'application/octet-stream');
        res.end(body);
      }
    });
  });
  const tcpServer = new TcpServer(b.engine);
  tcpServer.on('connection', (s: TcpSocket) => httpServer.emit('connection', s));
  tcpServer.listen(80);

  const request = (method: string, path: string, payload: Buffer | null) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        { method, path, host: '10.1.0.2', port: 80, createConnection: () => createConnection(a.engine, { port: 80, host: '10.1.0.2' }) },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload !== null) req.end(payload);
      else req.end();
    });

  let getResult: Awaited<ReturnType<typeof request>> | null = null;
  let postResult: Awaited<ReturnType<typeof request>> | null = null;
  let failure: unknown = null;
  const upload = randomBytes(200_000, 10);
  request('GET', '/file', null).then((r) => (getResult = r), (e: unknown) => (failure = e));
  request('POST', '/echo-hash', upload).then((r) => (postResult = r), (e: unknown) => (failure = e));
  await run(net, () => failure !== null || (getResult !== null && postResult !== null), 'http responses');
  assert.equal(failure, null);
  assert.equal(getResult!.status, 200);
  assert.equal(getResult!.headers['content-type'], 'application/octet-stream');
  assert.equal(sha(getResult!.body), sha(body));
  assert.equal(postResult!.status, 200);
  assert.equal(postResult!.body.toString(), `POST ${upload.length} ${sha(upload)}`);
  // Both connections finish without resets (no RST sent by either side).
  await run(net, () => a.engine.connectionCount + b.engine.connectionCount <= 2 && b.engine.stats.currentEstablished === 0, 'connections closed');
  assert.equal(a.engine.stats.outRsts + b.engine.stats.outRsts, 0, 'orderly closes, no RST');
  httpServer.close();
  tcpServer.close();
});
