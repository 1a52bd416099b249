/**
 * Loads the scapy-made offload fixtures (test/fixtures/offload/offload.json, see make-fixtures.py
 * there) and builds NET_BUFFER_LISTs over frames for the engine tests.
 */
import { readFileSync } from 'node:fs';
import { NetBufferListPool, type NetBufferList } from '../../src/nbl/index.js';
import { nblOver } from '../nbl/helpers.js';

export interface LsoFixture {
  name: string;
  version: 1 | 2;
  mss: number;
  ipVersion: 4 | 6;
  tcpHeaderOffset: number;
  template: string;
  segments: string[];
  payloadLength: number;
  nvgre?: { innerFrameOffset: number; transportIpHeaderRelativeOffset: number; tcpHeaderRelativeOffset: number };
  vlan?: number;
}

export interface ChecksumFixture {
  name: string;
  good: string;
  bad: Partial<Record<'ip' | 'tcp' | 'udp', string>>;
  zeroed: string;
  ipv4: boolean;
  tcpHeaderOffset: number;
}

export interface RssFixture {
  name: string;
  hex: string;
  src: string | null;
  dst: string | null;
  sport: number | null;
  dport: number | null;
  exSrc: string | null;
  exDst: string | null;
}

export interface HdsFixture {
  name: string;
  hex: string;
  ulp: number | null;
  payload: number | null;
}

export interface NvgreFixture {
  name: string;
  hex: string;
  vsid: number;
  flowId: number;
  innerFrameOffset: number;
  innerDst: string;
  innerSrc: string;
  innerSrcIp?: string;
  innerDstIp?: string;
  innerSport?: number;
  innerDport?: number;
  innerL4?: 'tcp' | 'udp';
  outerSrcIp: string;
  outerDstIp: string;
}

interface FixtureFile {
  lso: LsoFixture[];
  checksum: ChecksumFixture[];
  rss: RssFixture[];
  hds: HdsFixture[];
  nvgre: NvgreFixture[];
}

export const fixtures = JSON.parse(readFileSync(new URL('../../../test/fixtures/offload/offload.json', import.meta.url), 'utf8')) as FixtureFile;

/** Hex text to bytes. */
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** Bytes to hex text. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The fixture of that name (throws when absent, so a renamed fixture fails loudly). */
export function byName<T extends { name: string }>(list: readonly T[], name: string): T {
  const f = list.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fixture '${name}'`);
  return f;
}

/** A pool for test NBLs over caller memory. */
export function testPool(tag = 'Test'): NetBufferListPool {
  return new NetBufferListPool({ fAllocateNetBuffer: true, poolTag: tag });
}

/** An NBL over a copy of `frame`, optionally cut into MDLs. */
export function nblFor(pool: NetBufferListPool, frame: Uint8Array, cuts: readonly number[] = []): NetBufferList {
  return nblOver(pool, frame, cuts);
}
