/**
 * Test support: hand-built Ethernet frames (ARP, IPv4 + ICMP echo and UDP, IPv6 + ICMPv6 echo and
 * neighbor discovery) and a responder that answers ARP requests, neighbor solicitations and echo
 * requests for one IPv4 and one IPv6 address, the way a host's stack would. Layer 2 and 3 only:
 * enough for a Linux peer to resolve and ping an ndis-ts adapter before the TCP/IP driver exists.
 */
import { internetChecksum, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, parseIpv4, parseIpv6, parseMac } from '../../../src/wire/index.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Parses a MAC address or throws. */
export function mac(text: string): Uint8Array {
  const m = parseMac(text);
  if (m === null) throw new Error(`bad MAC ${text}`);
  return m;
}

/** Parses an IPv4 address into 4 bytes or throws. */
export function ip4(text: string): Uint8Array {
  const a = parseIpv4(text);
  if (a === null) throw new Error(`bad IPv4 address ${text}`);
  return a.subarray(12, 16).slice();
}

/** Parses an IPv6 address into 16 bytes or throws. */
export function ip6(text: string): Uint8Array {
  const a = parseIpv6(text);
  if (a === null) throw new Error(`bad IPv6 address ${text}`);
  return a.slice();
}

function equalAt(b: Uint8Array, off: number, x: Uint8Array): boolean {
  if (off + x.length > b.length) return false;
  for (let i = 0; i < x.length; i++) if (b[off + i] !== x[i]) return false;
  return true;
}

/** Writes an Ethernet II header at the start of `f`. */
export function ethernet(f: Uint8Array, dst: Uint8Array, src: Uint8Array, etherType: number): void {
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
}

/** A 42-byte ARP frame (op 1 request, 2 reply). */
export function arpFrame(op: 1 | 2, ethDst: Uint8Array, senderMac: Uint8Array, senderIp: Uint8Array, targetMac: Uint8Array, targetIp: Uint8Array): Uint8Array {
  const f = new Uint8Array(42);
  ethernet(f, ethDst, senderMac, ETHERTYPE_ARP);
  f.set([0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, op], 14);
  f.set(senderMac, 22);
  f.set(senderIp, 28);
  f.set(targetMac, 32);
  f.set(targetIp, 38);
  return f;
}

/** Writes an IPv4 header (no options) at `o` and its checksum. */
function ipv4Header(f: Uint8Array, o: number, protocol: number, src: Uint8Array, dst: Uint8Array, payloadLength: number, id = 1): void {
  const total = 20 + payloadLength;
  f.set([0x45, 0, total >> 8, total & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, protocol, 0, 0], o);
  f.set(src, o + 12);
  f.set(dst, o + 16);
  const c = internetChecksum(f, o, 20);
  f[o + 10] = c >> 8;
  f[o + 11] = c & 0xff;
}

/** Ethernet + IPv4 + ICMP echo (type 8 request, 0 reply) carrying `payload`, checksums valid. */
export function icmpEcho(type: 0 | 8, ethDst: Uint8Array, ethSrc: Uint8Array, src: Uint8Array, dst: Uint8Array, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload.length);
  ethernet(f, ethDst, ethSrc, ETHERTYPE_IPV4);
  ipv4Header(f, 14, 1, src, dst, 8 + payload.length);
  f.set([type, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff], 34);
  f.set(payload, 42);
  const c = internetChecksum(f, 34, 8 + payload.length);
  f[36] = c >> 8;
  f[37] = c & 0xff;
  return f;
}

/** Ethernet + IPv4 + UDP with `payload` (UDP checksum computed). */
export function udp4(ethDst: Uint8Array, ethSrc: Uint8Array, src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload.length);
  ethernet(f, ethDst, ethSrc, ETHERTYPE_IPV4);
  ipv4Header(f, 14, 17, src, dst, 8 + payload.length);
  const ul = 8 + payload.length;
  f.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, ul >> 8, ul & 0xff, 0, 0], 34);
  f.set(payload, 42);
  const c = internetChecksum(f, 34, ul, ipv4PseudoHeaderSum(src, 0, dst, 0, 17, ul));
  const v = c === 0 ? 0xffff : c;
  f[40] = v >> 8;
  f[41] = v & 0xff;
  return f;
}

/** Ethernet + IPv6 + ICMPv6 `body` (type, code, zero checksum, rest), checksum computed. */
export function icmpv6(ethDst: Uint8Array, ethSrc: Uint8Array, src: Uint8Array, dst: Uint8Array, body: Uint8Array, hopLimit = 64): Uint8Array {
  const f = new Uint8Array(14 + 40 + body.length);
  ethernet(f, ethDst, ethSrc, ETHERTYPE_IPV6);
  f.set([0x60, 0, 0, 0, body.length >> 8, body.length & 0xff, 58, hopLimit], 14);
  f.set(src, 22);
  f.set(dst, 38);
  f.set(body, 54);
  const c = internetChecksum(f, 54, body.length, ipv6PseudoHeaderSum(src, 0, dst, 0, 58, body.length));
  f[56] = c >> 8;
  f[57] = c & 0xff;
  return f;
}

/** The solicited-node multicast address of `a` (RFC 4291 2.7.1). */
export function solicitedNode(a: Uint8Array): Uint8Array {
  const s = ip6('ff02::1:ff00:0');
  s[13] = a[13]!;
  s[14] = a[14]!;
  s[15] = a[15]!;
  return s;
}

/** The Ethernet multicast address of IPv6 multicast `a` (RFC 2464 7). */
export function ipv6MulticastMac(a: Uint8Array): Uint8Array {
  return new Uint8Array([0x33, 0x33, a[12]!, a[13]!, a[14]!, a[15]!]);
}

/** What a {@link Responder} did, by kind. */
export interface ResponderCounts {
  arpReplies: number;
  echoReplies: number;
  neighborAdvertisements: number;
  echo6Replies: number;
  ignored: number;
}

/**
 * Answers, for one MAC with one IPv4 and one IPv6 address: ARP requests (RFC 826), ICMP echo
 * requests (RFC 792), neighbor solicitations (RFC 4861 7.2.4, solicited NA with the target
 * link-layer address option) and ICMPv6 echo requests (RFC 4443 4.2). `answer` returns the reply
 * frame or null.
 */
export class Responder {
  readonly counts: ResponderCounts = { arpReplies: 0, echoReplies: 0, neighborAdvertisements: 0, echo6Replies: 0, ignored: 0 };
  /** IPv4 addresses of the peers that asked (for tests). */
  readonly peers4 = new Set<string>();

  constructor(
    readonly mac: Uint8Array,
    readonly ip4: Uint8Array | null,
    readonly ip6: Uint8Array | null,
  ) {}

  answer(f: Uint8Array): Uint8Array | null {
    if (f.length < 14) return this.ignore();
    const type = (f[12]! << 8) | f[13]!;
    if (type === ETHERTYPE_ARP && this.ip4 !== null && f.length >= 42) {
      const op = (f[20]! << 8) | f[21]!;
      if (op !== 1 || !equalAt(f, 38, this.ip4)) return this.ignore();
      this.counts.arpReplies++;
      const senderMac = f.slice(22, 28);
      const senderIp = f.slice(28, 32);
      this.peers4.add([...senderIp].join('.'));
      return arpFrame(2, senderMac, this.mac, this.ip4, senderMac, senderIp);
    }
    if (type === ETHERTYPE_IPV4 && this.ip4 !== null && f.length >= 34) {
      const ihl = (f[14]! & 0x0f) * 4;
      const total = (f[16]! << 8) | f[17]!;
      if (f[23] !== 1 || !equalAt(f, 30, this.ip4) || f.length < 14 + total) return this.ignore();
      const icmp = 14 + ihl;
      if (f[icmp] !== 8) return this.ignore();
      const id = (f[icmp + 4]! << 8) | f[icmp + 5]!;
      const seq = (f[icmp + 6]! << 8) | f[icmp + 7]!;
      this.counts.echoReplies++;
      return icmpEcho(0, f.slice(6, 12), this.mac, this.ip4, f.slice(26, 30), id, seq, f.slice(icmp + 8, 14 + total));
    }
    if (type === ETHERTYPE_IPV6 && this.ip6 !== null && f.length >= 54 + 4 && f[20] === 58) {
      const plen = (f[18]! << 8) | f[19]!;
      if (f.length < 54 + plen) return this.ignore();
      const src = f.slice(22, 38);
      const icmpType = f[54]!;
      if (icmpType === 135 && plen >= 24 && equalAt(f, 62, this.ip6)) {
        // Neighbor solicitation for our address: solicited, override NA with our link-layer address.
        const unspecified = src.every((b) => b === 0);
        const body = new Uint8Array(32);
        body[0] = 136;
        body[4] = unspecified ? 0x20 : 0x60; // Override (+ Solicited unless DAD)
        body.set(this.ip6, 8);
        body.set([2, 1], 24);
        body.set(this.mac, 26);
        const dst = unspecified ? ip6('ff02::1') : src;
        this.counts.neighborAdvertisements++;
        return icmpv6(unspecified ? ipv6MulticastMac(dst) : f.slice(6, 12), this.mac, this.ip6, dst, body, 255);
      }
      if (icmpType === 128 && equalAt(f, 38, this.ip6)) {
        const body = f.slice(54, 54 + plen);
        body[0] = 129;
        body[2] = 0;
        body[3] = 0;
        this.counts.echo6Replies++;
        return icmpv6(f.slice(6, 12), this.mac, this.ip6, src, body);
      }
    }
    return this.ignore();
  }

  private ignore(): null {
    this.counts.ignored++;
    return null;
  }
}
