/**
 * IP and MAC addresses as the stack stores them: fixed-size byte arrays, compared and hashed
 * without allocation. An IP address is always 16 bytes; IPv4 addresses are held IPv4-mapped
 * (`::ffff:a.b.c.d`, RFC 4291 section 2.5.5.2) so that one connection table serves both families.
 * Parsing and formatting allocate and are for configuration and display, not for per-packet work.
 */

/** A 16-byte IP address (IPv4 held IPv4-mapped). */
export type IpAddress = Uint8Array;
/** A 6-byte IEEE 802 MAC address. */
export type MacAddress = Uint8Array;

/** True when `a` (16 bytes) holds an IPv4-mapped address. */
export function isIpv4Mapped(a: IpAddress): boolean {
  return (
    a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0 && a[4] === 0 && a[5] === 0 &&
    a[6] === 0 && a[7] === 0 && a[8] === 0 && a[9] === 0 && a[10] === 0xff && a[11] === 0xff
  );
}

/** Writes IPv4 address bytes `src[off..off+4]` into `dst` as an IPv4-mapped address. */
export function setIpv4Mapped(dst: IpAddress, src: Uint8Array, off: number): void {
  dst.fill(0, 0, 10);
  dst[10] = 0xff;
  dst[11] = 0xff;
  dst[12] = src[off]!;
  dst[13] = src[off + 1]!;
  dst[14] = src[off + 2]!;
  dst[15] = src[off + 3]!;
}

/** The IPv4 address in the low 4 bytes of `a`, as an unsigned 32-bit number. */
export function ipv4ToUint32(a: IpAddress): number {
  return ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
}

/** Byte-wise equality of two addresses of the same length. */
export function addressEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equality of `a` with `len` bytes of `buf` starting at `off`. */
export function addressEqualsAt(a: Uint8Array, buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== buf[off + i]) return false;
  return true;
}

/** Parses dotted-quad IPv4 text into an IPv4-mapped address, or returns null. */
export function parseIpv4(text: string): IpAddress | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[12 + i] = n;
  }
  return out;
}

/** Parses RFC 4291 / RFC 5952 IPv6 text (with `::` and an optional dotted-quad tail), or returns null. */
export function parseIpv6(text: string): IpAddress | null {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return null;
        out.push((v4[12]! << 8) | v4[13]!, (v4[14]! << 8) | v4[15]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  return out;
}

/** Parses IPv4 or IPv6 text, or returns null. */
export function parseIp(text: string): IpAddress | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** Formats an address: dotted quad for IPv4-mapped, RFC 5952 text otherwise. */
export function formatIp(a: IpAddress): string {
  if (isIpv4Mapped(a)) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((a[2 * i]! << 8) | a[2 * i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const left = g.slice(0, bestStart).map(hex).join(':');
  const right = g.slice(bestStart + bestLen).map(hex).join(':');
  return `${left}::${right}`;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`), or returns null. */
export function parseMac(text: string): MacAddress | null {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) return null;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return null;
    out[i] = parseInt(p, 16);
  }
  return out;
}

/** Formats a MAC address as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(a: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(a[off + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** True for the broadcast MAC address ff:ff:ff:ff:ff:ff at `buf[off..off+6]`. */
export function isBroadcastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off]! & buf[off + 1]! & buf[off + 2]! & buf[off + 3]! & buf[off + 4]! & buf[off + 5]!) === 0xff;
}

/** True for a group (multicast or broadcast) MAC address: the I/G bit of the first octet. */
export function isGroupMac(buf: Uint8Array, off: number): boolean {
  return (buf[off]! & 1) === 1;
}
