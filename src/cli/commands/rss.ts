/**
 * `ndis rss hash`: the Toeplitz RSS hash (NdisHashFunctionToeplitz) of an address pair, or of an
 * address pair and a port pair, as a NIC computes it for NDIS_HASH_IPV4 / NDIS_HASH_IPV6 and the
 * TCP/UDP 4-tuple types. The input is laid out as "RSS Hashing Types" orders it: source address,
 * destination address, source port, destination port.
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../offload/rss/toeplitz.js';
import { parseIp } from '../../wire/address.js';

const HELP = `usage: ndis rss hash --src <ip> --dst <ip> [--sport N --dport N] [--key <hex>] [--json]

Prints the Toeplitz RSS hash (0x%08x) of the 2-tuple (source, destination address), or of the
4-tuple when --sport and --dport are given, with the 40-byte secret key of Microsoft's
"Verifying the RSS Hash Calculation" page unless --key gives another (hex, separators allowed).
Both addresses are IPv4 or both IPv6.

  --json   print {"hash":"0x...","input":"<hex of the hashed bytes>"}

exit status: 0 ok, 2 usage error`;

/** Parses a hex key: pairs of hex digits, optionally with 0x prefixes and ':', '-', ',' or spaces between. */
export function parseKeyHex(text: string): Uint8Array | null {
  const t = text.replace(/0x/gi, '').replace(/[\s:,-]/g, '');
  if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(t)) return null;
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function parsePort(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n <= 0xffff ? n : null;
}

/** The bytes a tuple hashes: source, destination, then the ports (big-endian) when given. */
export function rssInput(src: Uint8Array, dst: Uint8Array, ports: [number, number] | null): Uint8Array {
  const out = new Uint8Array(src.length + dst.length + (ports === null ? 0 : 4));
  out.set(src, 0);
  out.set(dst, src.length);
  if (ports !== null) {
    const o = src.length + dst.length;
    out[o] = ports[0] >> 8;
    out[o + 1] = ports[0] & 0xff;
    out[o + 2] = ports[1] >> 8;
    out[o + 3] = ports[1] & 0xff;
  }
  return out;
}

function usage(message: string): number {
  process.stderr.write(`ndis rss hash: ${message}\n\n${HELP}\n`);
  return 2;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export const rssCommand: Command = {
  name: 'rss hash',
  summary: 'Toeplitz RSS hash of an address (and port) tuple',
  async run(args) {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          help: { type: 'boolean', short: 'h' },
          json: { type: 'boolean' },
          key: { type: 'string' },
          src: { type: 'string' },
          dst: { type: 'string' },
          sport: { type: 'string' },
          dport: { type: 'string' },
        },
        strict: true,
      }));
    } catch (err) {
      return usage((err as Error).message);
    }
    if (values['help'] === true) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const srcText = values['src'];
    const dstText = values['dst'];
    if (typeof srcText !== 'string' || typeof dstText !== 'string') return usage('--src and --dst are required');
    const srcAddr = parseIp(srcText);
    const dstAddr = parseIp(dstText);
    if (srcAddr === null) return usage(`--src '${srcText}' is not an IPv4 or IPv6 address`);
    if (dstAddr === null) return usage(`--dst '${dstText}' is not an IPv4 or IPv6 address`);
    const v6src = srcText.includes(':');
    const v6dst = dstText.includes(':');
    if (v6src !== v6dst) return usage('--src and --dst must both be IPv4 or both IPv6');
    const src = v6src ? srcAddr : srcAddr.subarray(12);
    const dst = v6dst ? dstAddr : dstAddr.subarray(12);
    const hasSport = values['sport'] !== undefined;
    const hasDport = values['dport'] !== undefined;
    if (hasSport !== hasDport) return usage('give both --sport and --dport, or neither');
    let ports: [number, number] | null = null;
    if (hasSport) {
      const sp = parsePort(values['sport'] as string);
      const dp = parsePort(values['dport'] as string);
      if (sp === null) return usage(`--sport '${String(values['sport'])}' is not a port number (0 to 65535)`);
      if (dp === null) return usage(`--dport '${String(values['dport'])}' is not a port number (0 to 65535)`);
      ports = [sp, dp];
    }
    const input = rssInput(src, dst, ports);
    let key: ArrayLike<number> = RSS_VERIFICATION_KEY;
    if (typeof values['key'] === 'string') {
      const k = parseKeyHex(values['key']);
      if (k === null) return usage('--key must be hex bytes, e.g. 6d5a56da...');
      if (k.length < input.length + 4 || k.length > 40) return usage(`--key is ${k.length} bytes; hashing ${input.length} bytes needs ${input.length + 4} to 40`);
      key = k;
    }
    const hash = new ToeplitzHasher(key).hash(input, 0, input.length) >>> 0;
    const text = `0x${hash.toString(16).padStart(8, '0')}`;
    if (values['json'] === true) process.stdout.write(`${JSON.stringify({ hash: text, input: hex(input) })}\n`);
    else process.stdout.write(`${text}\n`);
    return 0;
  },
};
