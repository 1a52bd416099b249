/**
 * Frame builders for tcpip tests that need packets the fixtures do not hold (ICMP errors quoting
 * a packet the host sent, modified fragments, unknown protocols). Built byte by byte with the
 * RFC layouts; checksums from the wire module's RFC 1071 sum (itself tested against scapy).
 */
import { internetChecksum, pseudoHeaderSum } from '../../../../src/wire/checksum.js';
import { parseIp } from '../../../../src/wire/address.js';

export const US_MAC_BYTES = Uint8Array.from([0x02, 0x1a, 0xb0, 0, 0, 1]);
export const PEER_MAC_BYTES = Uint8Array.from([0x02, 0, 0, 0, 0, 0x99]);

function addr(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

/** Ethernet II frame. */
export function ether(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** An IPv4 packet (header checksum filled). */
export function ipv4(src: string, dst: string, proto: number, payload: Uint8Array, o: { ttl?: number; id?: number; df?: boolean; mf?: boolean; offset?: number } = {}): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, o.id ?? 0x1111);
  dv.setUint16(6, (o.df === true ? 0x4000 : 0) | (o.mf === true ? 0x2000 : 0) | ((o.offset ?? 0) >> 3));
  p[8] = o.ttl ?? 64;
  p[9] = proto;
  p.set(addr(src).subarray(12), 12);
  p.set(addr(dst).subarray(12), 16);
  dv.setUint16(10, internetChecksum(p, 0, 20));
  p.set(payload, 20);
  return p;
}

/** An IPv6 packet. */
export function ipv6(src: string, dst: string, nextHeader: number, payload: Uint8Array, hopLimit = 64): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, 0x60000000);
  dv.setUint16(4, payload.length);
  p[6] = nextHeader;
  p[7] = hopLimit;
  p.set(addr(src), 8);
  p.set(addr(dst), 24);
  p.set(payload, 40);
  return p;
}

/** A UDP datagram with its checksum over the pseudo-header of `src` and `dst`. */
export function udp(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, u.length);
  u.set(data, 8);
  const c = internetChecksum(u, 0, u.length, pseudoHeaderSum(addr(src), addr(dst), 17, u.length));
  dv.setUint16(6, c === 0 ? 0xffff : c);
  return u;
}

/** An ICMPv4 message (checksum filled). */
export function icmp4(type: number, code: number, rest: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  const dv = new DataView(m.buffer);
  m[0] = type;
  m[1] = code;
  dv.setUint32(4, rest >>> 0);
  m.set(data, 8);
  dv.setUint16(2, internetChecksum(m, 0, m.length));
  return m;
}

/** An ICMPv6 message (checksum over the pseudo-header). */
export function icmp6(src: string, dst: string, type: number, code: number, rest: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  const dv = new DataView(m.buffer);
  m[0] = type;
  m[1] = code;
  dv.setUint32(4, rest >>> 0);
  m.set(data, 8);
  dv.setUint16(2, internetChecksum(m, 0, m.length, pseudoHeaderSum(addr(src), addr(dst), 58, m.length)));
  return m;
}

/** A frame from the peer to the host on the lab adapter. */
export function fromPeer(type: number, packet: Uint8Array): Uint8Array {
  return ether(US_MAC_BYTES, PEER_MAC_BYTES, type, packet);
}

/** Bytes 0..n of a filled pattern. */
export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
