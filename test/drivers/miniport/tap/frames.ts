/**
 * Test support: hand-built Ethernet frames (ARP per RFC 826, IPv4 per RFC 791, ICMP echo per
 * RFC 792) and a small responder that answers the kernel's ARP requests and ICMP echo requests
 * through a TapDevice. Built byte by byte on purpose: the tests check the device, not a codec.
 */
import type { TapDevice, TapFrameBatch } from '../../../../src/drivers/miniport/tap/device.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
/** IEEE 802 local experimental EtherType: frames no stack acts on. */
export const ETHERTYPE_LOCAL_EXPERIMENTAL = 0x88b5;

/** Parses "02:00:00:00:00:02" into 6 bytes. */
export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** Parses "10.0.0.1" into 4 bytes. */
export function ipv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map((d) => Number(d)));
}

/** Internet checksum (RFC 1071) of `bytes[offset .. offset + length)`. */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < length; i += 2) sum += (bytes[offset + i]! << 8) | bytes[offset + i + 1]!;
  if (length % 2 === 1) sum += bytes[offset + length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function equalAt(bytes: Uint8Array, offset: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[offset + i] !== expected[i]) return false;
  return true;
}

/** Writes an Ethernet II header at 0 of `out`. */
export function ethernet(out: Uint8Array, dst: Uint8Array, src: Uint8Array, etherType: number): void {
  out.set(dst, 0);
  out.set(src, 6);
  out[12] = etherType >>> 8;
  out[13] = etherType & 0xff;
}

/** A 42-byte ARP frame for Ethernet/IPv4 (op 1 request, 2 reply). */
export function arpFrame(
  op: 1 | 2,
  ethDst: Uint8Array,
  senderMac: Uint8Array,
  senderIp: Uint8Array,
  targetMac: Uint8Array,
  targetIp: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(42);
  ethernet(f, ethDst, senderMac, ETHERTYPE_ARP);
  f.set([0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, op], 14);
  f.set(senderMac, 22);
  f.set(senderIp, 28);
  f.set(targetMac, 32);
  f.set(targetIp, 38);
  return f;
}

/** An Ethernet + IPv4 + ICMP echo request carrying `payload`, with valid checksums. */
export function icmpEchoRequest(
  ethDst: Uint8Array,
  ethSrc: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload.length);
  ethernet(f, ethDst, ethSrc, ETHERTYPE_IPV4);
  const ipLength = 20 + 8 + payload.length;
  f.set([0x45, 0, ipLength >>> 8, ipLength & 0xff, 0, 1, 0x40, 0, 64, 1, 0, 0], 14);
  f.set(src, 26);
  f.set(dst, 30);
  const ipSum = internetChecksum(f, 14, 20);
  f[24] = ipSum >>> 8;
  f[25] = ipSum & 0xff;
  f.set([8, 0, 0, 0, id >>> 8, id & 0xff, seq >>> 8, seq & 0xff], 34);
  f.set(payload, 42);
  const icmpSum = internetChecksum(f, 34, 8 + payload.length);
  f[36] = icmpSum >>> 8;
  f[37] = icmpSum & 0xff;
  return f;
}

/**
 * Answers, through a TapDevice, ARP requests for its address and ICMP echo requests sent to it:
 * what a host behind the TAP "wire" does for `ping` to succeed. Replies are built in one scratch
 * buffer; each is written with TapDevice.write.
 */
export class Responder {
  arpRequests = 0;
  echoRequests = 0;
  repliesDropped = 0;
  framesSeen = 0;
  /** ARP replies from others (e.g. the kernel answering our request): sender MAC, by IP text. */
  readonly arpReplies = new Map<string, string>();
  private readonly scratch = new Uint8Array(65600);

  constructor(
    private readonly device: TapDevice,
    readonly mac: Uint8Array,
    readonly ip: Uint8Array,
  ) {}

  /** The frames handler to give to TapDevice.onFrames. */
  readonly onFrames = (batch: TapFrameBatch): void => {
    for (let i = 0; i < batch.count; i++) this.frame(batch.buffer, batch.offset(i), batch.length(i));
  };

  private frame(b: Uint8Array, o: number, n: number): void {
    this.framesSeen++;
    if (n < 14) return;
    const type = (b[o + 12]! << 8) | b[o + 13]!;
    if (type === ETHERTYPE_ARP && n >= 42) this.arp(b, o);
    else if (type === ETHERTYPE_IPV4 && n >= 34) this.ipv4(b, o, n);
  }

  private arp(b: Uint8Array, o: number): void {
    const op = (b[o + 20]! << 8) | b[o + 21]!;
    if (op === 2) {
      const ip = Array.from(b.subarray(o + 28, o + 32)).join('.');
      const from = Array.from(b.subarray(o + 22, o + 28), (x) => x.toString(16).padStart(2, '0')).join(':');
      this.arpReplies.set(ip, from);
      return;
    }
    if (op !== 1 || !equalAt(b, o + 38, this.ip)) return;
    this.arpRequests++;
    const reply = arpFrame(2, b.subarray(o + 6, o + 12), this.mac, this.ip, b.subarray(o + 22, o + 28), b.subarray(o + 28, o + 32));
    if (!this.device.write(reply, 0, reply.length)) this.repliesDropped++;
  }

  private ipv4(b: Uint8Array, o: number, n: number): void {
    const ihl = (b[o + 14]! & 0x0f) * 4;
    const total = (b[o + 16]! << 8) | b[o + 17]!;
    if (b[o + 23] !== 1 || !equalAt(b, o + 30, this.ip) || 14 + total > n) return; // ICMP to us only
    const icmp = 14 + ihl;
    if (b[o + icmp] !== 8) return; // echo request
    this.echoRequests++;
    const out = this.scratch;
    const length = 14 + total;
    out.set(b.subarray(o, o + length), 0);
    out.set(b.subarray(o + 6, o + 12), 0); // reply to the sender's MAC
    out.set(this.mac, 6);
    out.set(b.subarray(o + 30, o + 34), 26); // swap addresses
    out.set(b.subarray(o + 26, o + 30), 30);
    out[22] = 64; // fresh TTL
    out[24] = 0;
    out[25] = 0;
    const ipSum = internetChecksum(out, 14, ihl);
    out[24] = ipSum >>> 8;
    out[25] = ipSum & 0xff;
    out[icmp] = 0; // echo reply
    out[icmp + 2] = 0;
    out[icmp + 3] = 0;
    const icmpSum = internetChecksum(out, icmp, total - ihl);
    out[icmp + 2] = icmpSum >>> 8;
    out[icmp + 3] = icmpSum & 0xff;
    if (!this.device.write(out, 0, length)) this.repliesDropped++;
  }
}
