/**
 * Loads the scapy-made frames in test/fixtures/wire/frames.json (see make-fixtures.py there) and
 * gives typed access to the values scapy decoded from them.
 */
import { readFileSync } from 'node:fs';
import type { IpAddress, MacAddress } from '../../src/wire/address.js';
import { parseIp, parseMac } from '../../src/wire/address.js';

interface RawFixture {
  name: string;
  hex: string;
  expect: Record<string, unknown>;
}

interface FixtureFile {
  frames: RawFixture[];
  checksums: { hex: string; checksum: number }[];
  pseudoHeader: { family: number; src: string; dst: string; proto: number; hex: string; checksum: number }[];
}

const file = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/wire/frames.json', import.meta.url), 'utf8'),
) as FixtureFile;

/** Hex text to bytes. */
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** One frame and what scapy says about it. */
export class Fixture {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly expect: Record<string, unknown>;

  constructor(raw: RawFixture) {
    this.name = raw.name;
    this.bytes = hex(raw.hex);
    this.expect = raw.expect;
  }

  /** A numeric expectation; fails loudly when scapy did not record it. */
  num(key: string): number {
    const v = this.expect[key];
    if (typeof v !== 'number') throw new Error(`fixture ${this.name}: ${key} is ${String(v)}, not a number`);
    return v;
  }

  /** A numeric expectation that may be null (absent in the frame). */
  numOrNull(key: string): number | null {
    const v = this.expect[key];
    if (v === null) return null;
    return this.num(key);
  }

  /** A string expectation. */
  str(key: string): string {
    const v = this.expect[key];
    if (typeof v !== 'string') throw new Error(`fixture ${this.name}: ${key} is ${String(v)}, not a string`);
    return v;
  }

  /** True when scapy recorded `key`. */
  has(key: string): boolean {
    return key in this.expect;
  }

  /** A nested expectation object. */
  sub(key: string): Fixture {
    const v = this.expect[key];
    if (typeof v !== 'object' || v === null) throw new Error(`fixture ${this.name}: ${key} is not an object`);
    return new Fixture({ name: `${this.name}.${key}`, hex: '', expect: v as Record<string, unknown> });
  }

  /** A JSON array expectation. */
  list(key: string): unknown[] {
    const v = this.expect[key];
    if (!Array.isArray(v)) throw new Error(`fixture ${this.name}: ${key} is not an array`);
    return v as unknown[];
  }

  /** A copy of the frame bytes, for tests that corrupt them. */
  copy(): Uint8Array {
    return this.bytes.slice();
  }
}

const all = file.frames.map((f) => new Fixture(f));

/** The fixture called `name`. */
export function fixture(name: string): Fixture {
  const f = all.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return f;
}

/** Every fixture whose name starts with `prefix`. */
export function fixtures(prefix = ''): Fixture[] {
  return all.filter((x) => x.name.startsWith(prefix));
}

/** RFC 1071 checksums scapy computed over plain byte strings. */
export const checksumVectors = file.checksums.map((v) => ({ bytes: hex(v.hex), checksum: v.checksum }));

/** UDP-over-IPv6 checksums scapy computed with a pseudo-header. */
export const pseudoHeaderVectors = file.pseudoHeader.map((v) => ({
  src: ip(v.src), dst: ip(v.dst), proto: v.proto, bytes: hex(v.hex), checksum: v.checksum,
}));

/** An address from text (IPv4 comes back IPv4-mapped). */
export function ip(text: string): IpAddress {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

/** A MAC address from text. */
export function mac(text: string): MacAddress {
  const m = parseMac(text);
  if (m === null) throw new Error(`bad MAC ${text}`);
  return m;
}

/** `bytes` copied into a fresh buffer at `shift` bytes past an aligned start (to vary alignment). */
export function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(bytes.length + shift + 8), shift, bytes.length);
  out.set(bytes);
  return out;
}
