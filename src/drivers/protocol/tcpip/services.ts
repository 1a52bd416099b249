/**
 * The "simple services" a host can offer for demos and interop tests: echo (RFC 862, TCP and UDP
 * port 7), discard (RFC 863, port 9), and an HTTP status page (port 80) served by Node's own
 * `http.Server` over the stack's TCP sockets, listing what the NDIS runtime holds: adapters and
 * their state and counters, the filter modules on each, the protocol bindings, and the stack's
 * interfaces, routes, neighbors and statistics (`/` as HTML, `/status.json` as JSON).
 */
import http from 'node:http';
import { NDIS_DROP_REASON_TEXT, type Ndis } from '../../../ndis/index.js';
import { formatMac } from '../../../wire/address.js';
import type { TcpServer, TcpSocket } from './tcp/socket.js';
import type { UdpSocket } from './udp.js';
import type { TcpIp } from './stack.js';

/** The built-in services. */
export type ServiceName = 'echo' | 'discard' | 'http';

/** Options of `TcpIp.serve`. */
export interface ServiceOptions {
  /** Port (default the service's well-known port: 7, 9 or 80). */
  port?: number;
  /** Address to listen on (default every address). */
  address?: string;
}

/** A running service. */
export interface Service {
  readonly name: ServiceName;
  readonly port: number;
  /** The TCP server of the service. */
  readonly tcp: TcpServer;
  /** The UDP socket (echo and discard). */
  readonly udp: UdpSocket | null;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Stops the service: no new connections; resolves when the open ones have closed. */
  close(): Promise<void>;
}

const WELL_KNOWN: Record<ServiceName, number> = { echo: 7, discard: 9, http: 80 };

class RunningService implements Service {
  connections = 0;
  readonly udp: UdpSocket | null;
  private readonly sockets = new Set<TcpSocket>();
  private httpServer: http.Server | null = null;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    readonly tcp: TcpServer,
    udp: UdpSocket | null,
  ) {
    this.udp = udp;
  }

  /** Counts and remembers an accepted connection. */
  track(s: TcpSocket): void {
    this.connections++;
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  /** The http.Server of the status page. */
  setHttp(h: http.Server): void {
    this.httpServer = h;
  }

  /** Service.close. */
  close(): Promise<void> {
    this.udp?.close();
    this.httpServer?.close();
    return new Promise<void>((resolve) => {
      this.tcp.close(() => resolve());
      for (const s of this.sockets) s.end();
    });
  }
}

/** Starts service `name` on `stack`. */
export function serveService(stack: TcpIp, name: ServiceName, options: ServiceOptions): Service {
  if (!(name in WELL_KNOWN)) throw new TypeError(`serve: unknown service '${String(name)}'; use 'echo', 'discard' or 'http'`);
  const port = options.port ?? WELL_KNOWN[name];
  const tcp = stack.tcp.createServer({ allowHalfOpen: true });
  let udp: UdpSocket | null = null;
  if (name !== 'http') udp = stack.udp.bind(port, options.address);
  const svc = new RunningService(name, port, tcp, udp);
  switch (name) {
    case 'echo':
      tcp.on('connection', (s: TcpSocket) => {
        svc.track(s);
        s.on('error', () => s.destroy());
        s.pipe(s);
      });
      udp!.on('message', (data: Uint8Array, rinfo: { address: string; port: number }) => {
        try {
          udp!.send(data, rinfo.address, rinfo.port);
        } catch {
          // No route back: the datagram is lost, as on any host.
        }
      });
      break;
    case 'discard':
      tcp.on('connection', (s: TcpSocket) => {
        svc.track(s);
        s.on('error', () => s.destroy());
        s.on('end', () => s.end());
        s.resume();
      });
      udp!.on('message', () => undefined);
      break;
    case 'http': {
      const server = http.createServer((req, res) => {
        const json = req.url === '/status.json';
        const status = statusReport(stack);
        const body = json ? JSON.stringify(status, null, 2) : statusHtml(status);
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      svc.setHttp(server);
      tcp.on('connection', (s: TcpSocket) => {
        svc.track(s);
        server.emit('connection', s);
      });
      break;
    }
  }
  tcp.listen(port, options.address);
  return svc;
}

/** What the status page shows. */
export interface StatusReport {
  host: string;
  timeMs: number;
  adapters: {
    name: string;
    driver: string;
    state: string;
    mac: string;
    mtu: number;
    link: string;
    ifIndex: number;
    counters: Record<string, number>;
    drops: Record<string, number>;
    filters: { name: string; driver: string; state: string; counters: Record<string, number> }[];
    bindings: { name: string; protocol: string; state: string; counters: Record<string, number> }[];
  }[];
  tcpip: ReturnType<TcpIp['statistics']>;
  routes: ReturnType<TcpIp['routes']['list']>;
  neighbors: ReturnType<TcpIp['neighbors']['list']>;
  tcpConnections: number;
}

/** Reads the runtime and the stack into a status report. */
export function statusReport(stack: TcpIp): StatusReport {
  const ndis: Ndis = stack.ndis;
  return {
    host: stack.name,
    timeMs: stack.now(),
    adapters: [...ndis.adapters].map((m) => {
      const drops: Record<string, number> = {};
      m.drops.forEach((n, i) => {
        if (n > 0) drops[NDIS_DROP_REASON_TEXT[i] ?? `reason ${i}`] = n;
      });
      return {
        name: m.name,
        driver: m.driver.name,
        state: m.state,
        mac: formatMac(m.currentMacAddress),
        mtu: m.general?.mtuSize ?? 0,
        link: m.mediaConnectState === 1 ? 'connected' : m.mediaConnectState === 2 ? 'disconnected' : 'unknown',
        ifIndex: m.ifIndex,
        counters: { ...m.counters },
        drops,
        filters: m.filters.map((f) => ({ name: f.name, driver: f.driver.name, state: f.state, counters: { ...f.counters } })),
        bindings: [...m.opens].map((o) => ({ name: o.name, protocol: o.protocol.name, state: o.state, counters: { ...o.counters } })),
      };
    }),
    tcpip: stack.statistics(),
    routes: stack.routes.list(),
    neighbors: stack.neighbors.list(),
    tcpConnections: stack.tcp.engine.connectionCount,
  };
}

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '<p>(none)</p>';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown): string => (v === null ? '-' : esc(typeof v === 'object' ? JSON.stringify(v) : v));
  return `<table><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${keys.map((k) => `<td>${cell(r[k])}</td>`).join('')}</tr>`).join('')}</table>`;
}

function counters(c: Record<string, number>): string {
  const e = Object.entries(c).filter(([, v]) => v !== 0);
  return e.length === 0 ? '-' : e.map(([k, v]) => `${esc(k)}=${v}`).join(' ');
}

/** Renders a status report as an HTML page. */
export function statusHtml(r: StatusReport): string {
  const parts: string[] = [];
  parts.push(`<!doctype html><html><head><meta charset="utf-8"><title>${esc(r.host)} status</title>`);
  parts.push('<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #999;padding:2px 6px;font-size:13px;text-align:left}</style></head><body>');
  parts.push(`<h1>${esc(r.host)}: ndis-ts host status</h1><p>stack time ${r.timeMs.toFixed(3)} ms; ${r.tcpConnections} TCP connection(s)</p>`);
  parts.push('<h2>Adapters</h2>');
  parts.push(table(r.adapters.map((a) => ({ adapter: a.name, driver: a.driver, state: a.state, mac: a.mac, mtu: a.mtu, link: a.link, ifIndex: a.ifIndex, counters: counters(a.counters), drops: counters(a.drops) }))));
  parts.push('<h2>Filters</h2>');
  parts.push(table(r.adapters.flatMap((a) => a.filters.map((f) => ({ adapter: a.name, module: f.name, driver: f.driver, state: f.state, counters: counters(f.counters) })))));
  parts.push('<h2>Bindings</h2>');
  parts.push(table(r.adapters.flatMap((a) => a.bindings.map((b) => ({ adapter: a.name, binding: b.name, protocol: b.protocol, state: b.state, counters: counters(b.counters) })))));
  parts.push('<h2>IP interfaces</h2>');
  parts.push(table(r.tcpip.interfaces.map((i) => ({ interface: i.name, index: i.index, state: i.state, mac: i.mac, mtu: i.mtu, addresses: i.addresses.map((a) => `${a.address} (${a.state})`).join(', '), counters: counters(i.counters), drops: counters(i.drops) }))));
  parts.push('<h2>Routes</h2>');
  parts.push(table(r.routes as unknown as Record<string, unknown>[]));
  parts.push('<h2>Neighbors</h2>');
  parts.push(table(r.neighbors as unknown as Record<string, unknown>[]));
  parts.push('<h2>Counters</h2>');
  const proto: Record<string, unknown>[] = [];
  for (const k of ['ipv4', 'ipv6', 'icmpv4', 'icmpv6', 'udp', 'neighbor', 'tcp'] as const) {
    const st = r.tcpip[k];
    proto.push({ protocol: k, counters: counters(st.counters), drops: counters(st.drops) });
  }
  parts.push(table(proto));
  parts.push('</body></html>');
  return parts.join('\n');
}
