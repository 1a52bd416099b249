/**
 * Keyed hashing for initial sequence numbers (RFC 6528), timestamp offsets (RFC 7323 section
 * 5.4), ephemeral port selection (RFC 6056 section 3.3.3) and the connection table. The keyed
 * function is HalfSipHash-2-4 with a 32-bit result (Aumasson and Bernstein's reduced-width SipHash),
 * computed with 32-bit integer operations and no allocation. The secrets come from the host's
 * seeded random source, so a deterministic host gets deterministic ISNs.
 */

// Working state of the hash (module-level: the engine is single-threaded and the hash re-entrant
// only in the sense that it completes before returning).
let v0 = 0;
let v1 = 0;
let v2 = 0;
let v3 = 0;

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

function round(): void {
  v0 = (v0 + v1) | 0;
  v1 = rotl(v1, 5) ^ v0;
  v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0;
  v3 = rotl(v3, 8) ^ v2;
  v0 = (v0 + v3) | 0;
  v3 = rotl(v3, 7) ^ v0;
  v2 = (v2 + v1) | 0;
  v1 = rotl(v1, 13) ^ v2;
  v2 = rotl(v2, 16);
}

/**
 * HalfSipHash-2-4 with a 32-bit output of `len` bytes at `off` under the 64-bit key `k0`, `k1`
 * (the key's bytes read as two little-endian words). Returns the tag as an unsigned 32-bit number
 * (the reference implementation's 4 output bytes, read little-endian).
 */
export function halfSipHash(k0: number, k1: number, bytes: Uint8Array, off: number, len: number): number {
  v0 = k0 | 0;
  v1 = k1 | 0;
  v2 = 0x6c796765 ^ k0;
  v3 = 0x74656462 ^ k1;
  const end = off + len - (len & 3);
  let i = off;
  for (; i < end; i += 4) {
    const m = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let b = len << 24;
  const left = len & 3;
  if (left >= 3) b |= bytes[i + 2]! << 16;
  if (left >= 2) b |= bytes[i + 1]! << 8;
  if (left >= 1) b |= bytes[i]!;
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}

/** Reads a little-endian 32-bit word. */
function le32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) | 0;
}

/**
 * The engine's secrets and the keyed functions built on them. One instance per engine, filled
 * once from the host's random source.
 */
export class TcpSecrets {
  private readonly isnK0: number;
  private readonly isnK1: number;
  private readonly tsK0: number;
  private readonly tsK1: number;
  private readonly portK0: number;
  private readonly portK1: number;
  /** Key for the connection table hash (not secret-critical, but keeps chains unpredictable). */
  readonly tableKey: number;
  /** Scratch for the 4-tuple: local address, remote address, local port, remote port. */
  private readonly tuple: Uint8Array;

  /** Takes 28 random bytes (`secret.length >= 28`). */
  constructor(secret: Uint8Array) {
    this.isnK0 = le32(secret, 0);
    this.isnK1 = le32(secret, 4);
    this.tsK0 = le32(secret, 8);
    this.tsK1 = le32(secret, 12);
    this.portK0 = le32(secret, 16);
    this.portK1 = le32(secret, 20);
    this.tableKey = le32(secret, 24);
    this.tuple = new Uint8Array(36);
  }

  private fill(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): void {
    const t = this.tuple;
    t.set(local, 0);
    t.set(remote, 16);
    t[32] = localPort >>> 8;
    t[33] = localPort & 0xff;
    t[34] = remotePort >>> 8;
    t[35] = remotePort & 0xff;
  }

  /**
   * RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
   * is a timer ticking every 4 microseconds (`nowMs * 250`).
   */
  isn(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, nowMs: number): number {
    this.fill(local, localPort, remote, remotePort);
    const f = halfSipHash(this.isnK0, this.isnK1, this.tuple, 0, 36);
    const m = Math.floor(nowMs * 250) % 4294967296;
    return (f + m) >>> 0;
  }

  /** Per-connection offset added to the timestamp clock (RFC 7323 section 5.4). */
  timestampOffset(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
    this.fill(local, localPort, remote, remotePort);
    return halfSipHash(this.tsK0, this.tsK1, this.tuple, 0, 36);
  }

  /**
   * RFC 6056 section 3.3.3 (algorithm 3): the offset at which the search for an ephemeral port
   * towards `remote`:`remotePort` from `local` starts.
   */
  portOffset(local: Uint8Array, remote: Uint8Array, remotePort: number): number {
    this.fill(local, 0, remote, remotePort);
    return halfSipHash(this.portK0, this.portK1, this.tuple, 0, 36);
  }
}
