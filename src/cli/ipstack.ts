/**
 * The TCP/IP protocol driver as the CLI uses it: what `ndis host`, `ndis up` and `ndis replay` need
 * of an IP stack (configure an interface, wait for its addresses, ping, TCP and UDP sockets, the
 * built-in services, the neighbor tables, statistics).
 */
import type { Duplex } from 'node:stream';
import type { Ndis } from '../ndis/index.js';
import { TcpIp } from '../drivers/protocol/tcpip/index.js';

/** An interface configuration (what netsh would set). */
export interface IpInterfaceConfig {
  ipv4?: string[];
  ipv6?: string[];
  gateway4?: string;
  gateway6?: string;
  mtu?: number;
}

/** A TCP socket of the stack (a net.Socket-shaped Duplex). */
export interface IpTcpSocket extends Duplex {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  setNoDelay?(noDelay?: boolean): unknown;
}

/** A TCP server of the stack. */
export interface IpTcpServer {
  on(event: 'connection', listener: (socket: IpTcpSocket) => void): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  listen(port: number, ...rest: unknown[]): unknown;
  close(callback?: () => void): unknown;
}

/** A running service (echo, discard, http). */
export interface IpService {
  readonly name: string;
  readonly port: number;
  readonly tcp: IpTcpServer;
  readonly connections: number;
  close(): Promise<void>;
}

/** A UDP socket of the stack (dgram.Socket-shaped). */
export interface IpUdpSocket {
  send(data: Uint8Array | string, address: string, port: number): void;
  on(event: 'message', listener: (data: Uint8Array, rinfo: { address: string; port: number }) => void): unknown;
  address(): { address: string; port: number };
  close(): void;
}

/** One entry of the ARP / neighbor caches. */
export interface IpNeighbor {
  interface: string;
  address: string;
  mac: string | null;
  state: string;
}

/** What the CLI needs of the TCP/IP protocol driver (the `TcpIp` class of src/drivers/protocol/tcpip). */
export interface IpStack {
  register(): Promise<unknown>;
  deregister(): Promise<void>;
  configure(adapterName: string, config: IpInterfaceConfig): void;
  ready(adapterName: string, timeoutMs?: number): Promise<unknown>;
  ping(address: string, options?: { timeoutMs?: number; size?: number }): Promise<number>;
  serve(service: 'echo' | 'discard' | 'http', options?: { port?: number }): IpService;
  readonly tcp: {
    connect(port: number, host: string): IpTcpSocket;
    createServer(listener?: (socket: IpTcpSocket) => void): IpTcpServer;
  };
  readonly udp: { bind(port?: number, address?: string): IpUdpSocket };
  readonly neighbors: { list(adapter?: string): IpNeighbor[] };
  statistics(): unknown;
  totalDrops(): number;
}

/** Options of a stack (a subset of TcpIpOptions). */
export interface IpStackOptions {
  /** Protocol driver name; several stacks in one runtime need distinct names. */
  name?: string;
  /** Bind only to these adapters. */
  adapters?: string[];
  /** Forward between interfaces. */
  forwarding?: boolean;
}

/** Creates stacks. */
export type IpStackFactory = (ndis: Ndis, options: IpStackOptions) => IpStack;

/**
 * Creates an instance of the TCP/IP protocol driver (src/drivers/protocol/tcpip) as the CLI sees
 * it. The assignment checks, at build time, that `TcpIp` offers what the CLI uses.
 */
export const createIpStack: IpStackFactory = (ndis, options) => new TcpIp(ndis, options);
