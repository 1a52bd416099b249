/**
 * Loads the scapy-made frames of fixtures/frames.json (see fixtures/make-fixtures.py): frames a
 * peer (02:00:00:00:00:99, 10.0.0.99, fd00::99, fe80::99) sends to the host on the lab adapter
 * (02:1a:b0:00:00:01, 10.0.0.1, fd00::1, fe80::1a:b0ff:fe00:1), and the answers expected back.
 */
import { readFileSync } from 'node:fs';

interface FixtureFile {
  generator: string;
  frames: Record<string, { hex: string; expect: string | null; note: string }>;
}

const file = JSON.parse(readFileSync(new URL('../../../../../test/drivers/protocol/tcpip/fixtures/frames.json', import.meta.url), 'utf8')) as FixtureFile;

/** The frame named `name`. */
export function fx(name: string): Uint8Array {
  const f = file.frames[name];
  if (f === undefined) throw new Error(`no fixture ${name}`);
  return Uint8Array.from(Buffer.from(f.hex, 'hex'));
}

/** The expected answer to frame `name`. */
export function fxExpect(name: string): Uint8Array {
  const f = file.frames[name];
  if (f === undefined || f.expect === null) throw new Error(`no expected answer for fixture ${name}`);
  return Uint8Array.from(Buffer.from(f.expect, 'hex'));
}

/** Every fixture name. */
export function fixtureNames(): string[] {
  return Object.keys(file.frames);
}

/** Hex of a byte array (assertion messages). */
export function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export const PEER_MAC = '02:00:00:00:00:99';
export const US_MAC = '02:1a:b0:00:00:01';
