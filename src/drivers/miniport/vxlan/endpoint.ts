/**
 * Underlay endpoints of the VXLAN miniport: `ip`, `ip:port`, `[ipv6]:port` or a bare IPv6 address,
 * parsed and checked once at configuration time with messages that say what is wrong.
 */
import { isIP } from 'node:net';
import { NdisError } from '../../../ndis/index.js';
import { VXLAN_PORT } from '../../../wire/index.js';

/** An outer (underlay) address and UDP port. */
export interface UnderlayEndpoint {
  /** The address as text (what dgram takes). */
  address: string;
  /** 4 or 6. */
  family: 4 | 6;
  /** The UDP port. */
  port: number;
}

function badPort(text: string, what: string): never {
  throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `${what} '${text}': the port must be an integer from 1 to 65535`);
}

/**
 * Parses `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port` (a bare IPv6 address is taken whole).
 * `defaultPort` fills a missing port; `allowZeroPort` accepts port 0 (bind to any port).
 * @throws NdisError ERR_NDIS_INVALID_PARAMETER with the reason.
 */
export function parseEndpoint(text: string, defaultPort: number = VXLAN_PORT, what = 'endpoint', allowZeroPort = false): UnderlayEndpoint {
  const t = text.trim();
  let host: string;
  let portText: string | null = null;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `${what} '${text}': missing ']' after the IPv6 address`);
    host = t.slice(1, close);
    const rest = t.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `${what} '${text}': expected ':port' after ']'`);
      portText = rest.slice(1);
    }
  } else if (isIP(t) === 6) {
    host = t;
  } else {
    const colon = t.lastIndexOf(':');
    if (colon >= 0) {
      host = t.slice(0, colon);
      portText = t.slice(colon + 1);
    } else {
      host = t;
    }
  }
  const family = isIP(host);
  if (family !== 4 && family !== 6) {
    throw new NdisError('ERR_NDIS_INVALID_PARAMETER', `${what} '${text}': '${host}' is not an IPv4 or IPv6 address (write a:b:c:d, a:b:c:d:port or [ipv6]:port)`);
  }
  let port = defaultPort;
  if (portText !== null) {
    if (!/^\d+$/.test(portText)) badPort(text, what);
    port = Number(portText);
  }
  if (!Number.isInteger(port) || port > 65535 || port < (allowZeroPort ? 0 : 1)) badPort(text, what);
  return { address: host, family, port };
}

/** The text of an endpoint (`a.b.c.d:port` or `[v6]:port`). */
export function formatEndpoint(e: { address: string; port: number }): string {
  return isIP(e.address) === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
