/**
 * A small RFC 1071 Internet checksum with the TCP pseudo-header (RFC 9293 section 3.1; RFC 8200
 * section 8.1 for IPv6), for the in-memory test host. The stack's own checksum lives in
 * src/wire/checksum.ts; this one exists so that tests can check segments independently of it.
 */
import { isIpv4Mapped } from '../../../../../../src/wire/address.js';
import type { IpAddress } from '../../../../../../src/wire/address.js';

/** One's-complement sum of `len` bytes at `off`, folded to 16 bits, added to `sum`. */
export function onesSum(bytes: Uint8Array, off: number, len: number, sum: number): number {
  let s = sum;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) s += bytes[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * Checksum over the pseudo-header (source, destination, protocol 6, TCP length) and the segment.
 * Over a segment whose checksum field holds the right value the result is 0; over a segment whose
 * checksum field is 0 the result is the value to store.
 */
export function tcpChecksum(src: IpAddress, dst: IpAddress, seg: Uint8Array, off: number, len: number): number {
  let s = 0;
  if (isIpv4Mapped(src)) {
    s = onesSum(src, 12, 4, s);
    s = onesSum(dst, 12, 4, s);
  } else {
    s = onesSum(src, 0, 16, s);
    s = onesSum(dst, 0, 16, s);
  }
  s += 6 + (len & 0xffff) + (len >>> 16);
  s = onesSum(seg, off, len, s);
  return ~s & 0xffff;
}
