/**
 * `ndis inspect`: for every frame of a pcap or pcapng file, what an offload-capable NIC would
 * report about it — EtherType and VLAN ids, network and transport protocol, the IP header and
 * TCP/UDP/ICMP checksum validation results, whether its headers are malformed, and its RSS hash
 * type and value under the chosen hash types. Damaged files and frames are described, never fatal.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { FrameLayout, L3, L4, LayoutReason, describeLayoutReason, parseFrame } from '../../offload/layout.js';
import { CSUM, validateChecksums } from '../../offload/checksum/index.js';
import { RssClassification, isValidHashType, rssHashFrame } from '../../offload/rss/engine.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../offload/rss/toeplitz.js';
import * as H from '../../offload/rss/hash-types.js';
import { openCapture } from '../../pcap/open.js';
import { LINKTYPE_ETHERNET } from '../../pcap/constants.js';
import { getU16 } from '../../wire/bytes.js';
import { ipv6PseudoHeaderSum, onesComplementSum } from '../../wire/checksum.js';
import { IPPROTO_ICMPV6 } from '../../wire/ip.js';
import { NDIS_CSUM_RX } from '../../nbl/info.js';
import { parseKeyHex } from './rss.js';

/** Hash type names accepted by --hash-types and printed in `rss.type`. */
export const HASH_TYPE_NAMES: Readonly<Record<string, number>> = Object.freeze({
  IPV4: H.NDIS_HASH_IPV4,
  TCP_IPV4: H.NDIS_HASH_TCP_IPV4,
  UDP_IPV4: H.NDIS_HASH_UDP_IPV4,
  IPV6: H.NDIS_HASH_IPV6,
  TCP_IPV6: H.NDIS_HASH_TCP_IPV6,
  UDP_IPV6: H.NDIS_HASH_UDP_IPV6,
  IPV6_EX: H.NDIS_HASH_IPV6_EX,
  TCP_IPV6_EX: H.NDIS_HASH_TCP_IPV6_EX,
  UDP_IPV6_EX: H.NDIS_HASH_UDP_IPV6_EX,
});

/** The default hash types: NDIS_HASH_IPV4 | TCP_IPV4 | IPV6 | TCP_IPV6. */
export const DEFAULT_HASH_TYPES = H.NDIS_HASH_IPV4 | H.NDIS_HASH_TCP_IPV4 | H.NDIS_HASH_IPV6 | H.NDIS_HASH_TCP_IPV6;

/** Parses "IPV4,TCP_IPV4" (names with or without the NDIS_HASH_ prefix, case-insensitive). */
export function parseHashTypes(texts: readonly string[]): number | string {
  let types = 0;
  for (const text of texts) {
    for (const raw of text.split(/[,\s|]+/)) {
      if (raw === '') continue;
      const name = raw.toUpperCase().replace(/^NDIS_HASH_/, '');
      const v = HASH_TYPE_NAMES[name];
      if (v === undefined) return `unknown hash type '${raw}' (known: ${Object.keys(HASH_TYPE_NAMES).join(', ')})`;
      types |= v;
    }
  }
  if (!isValidHashType(types)) return `'${texts.join(',')}' is not a valid combination of hash types ("RSS Hashing Types")`;
  return types;
}

/** What `ndis inspect --json` prints for one frame. */
export interface InspectRecord {
  index: number;
  length: number;
  ethertype: string | null;
  vlan: number[];
  l3: 'ipv4' | 'ipv6' | 'arp' | 'other';
  l4: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'gre' | 'other' | 'none';
  ipChecksum: boolean | null;
  l4Checksum: boolean | null;
  malformed: boolean;
  rss: { type: string; hash: string };
  /** Why the frame is malformed (human output; not part of the JSON schema). */
  problem?: string;
}

const TYPE_NAME = new Map<number, string>(Object.entries(HASH_TYPE_NAMES).map(([k, v]) => [v, k]));

const L4_NAMES: Record<number, InspectRecord['l4']> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6', 47: 'gre' };

/** Reusable scratch of the inspector. */
export class Inspector {
  readonly hasher: ToeplitzHasher;
  readonly hashTypes: number;
  private readonly layout = new FrameLayout();
  private readonly rss = new RssClassification();

  constructor(hashTypes = DEFAULT_HASH_TYPES, key: ArrayLike<number> = RSS_VERIFICATION_KEY) {
    this.hasher = new ToeplitzHasher(key);
    this.hashTypes = hashTypes;
  }

  /** Describes the Ethernet frame at `bytes[offset..offset+length)`. Never throws. */
  inspect(index: number, bytes: Uint8Array, offset: number, length: number): InspectRecord {
    const l = this.layout;
    parseFrame(bytes, offset, length, l);
    const rec: InspectRecord = {
      index,
      length,
      ethertype: null,
      vlan: [],
      l3: 'other',
      l4: 'none',
      ipChecksum: null,
      l4Checksum: null,
      malformed: l.reason !== LayoutReason.Ok,
      rss: { type: 'NONE', hash: '0x00000000' },
    };
    if (l.reason !== LayoutReason.Ok) rec.problem = describeLayoutReason(l.reason);
    // The EtherType after the tags; when a tag is cut short, the one at byte 12.
    if (l.l3Offset >= 0) rec.ethertype = `0x${l.etherType.toString(16).padStart(4, '0')}`;
    else if (length >= 14) rec.ethertype = `0x${getU16(bytes, offset + 12).toString(16).padStart(4, '0')}`;
    if (l.vlanTci0 >= 0) rec.vlan.push(l.vlanTci0 & 0xfff);
    if (l.vlanTci1 >= 0) rec.vlan.push(l.vlanTci1 & 0xfff);
    if (l.l3 === L3.Arp) rec.l3 = 'arp';
    if (l.l3 !== L3.Ipv4 && l.l3 !== L3.Ipv6) return rec;
    rec.l3 = l.l3 === L3.Ipv4 ? 'ipv4' : 'ipv6';
    if (l.l4Protocol >= 0) rec.l4 = L4_NAMES[l.l4Protocol] ?? 'other';
    if (l.l4 === L4.None && l.l4Protocol === 59) rec.l4 = 'none';
    if (!l.isIp) return rec;
    const bits = validateChecksums(bytes, l, CSUM.Ipv4Header | CSUM.Tcp4 | CSUM.Udp4 | CSUM.Tcp6 | CSUM.Udp6 | CSUM.Ipv4Options | CSUM.Tcp4Options | CSUM.Ipv6Extensions | CSUM.Tcp6Options);
    if ((bits & NDIS_CSUM_RX.IpChecksumSucceeded) !== 0) rec.ipChecksum = true;
    else if ((bits & NDIS_CSUM_RX.IpChecksumFailed) !== 0) rec.ipChecksum = false;
    if ((bits & (NDIS_CSUM_RX.TcpChecksumSucceeded | NDIS_CSUM_RX.UdpChecksumSucceeded)) !== 0) rec.l4Checksum = true;
    else if ((bits & (NDIS_CSUM_RX.TcpChecksumFailed | NDIS_CSUM_RX.UdpChecksumFailed)) !== 0) rec.l4Checksum = false;
    else rec.l4Checksum = this.otherChecksum(bytes, l);
    const t = rssHashFrame(this.hasher, bytes, l, this.hashTypes, this.rss);
    if (t !== 0) rec.rss = { type: TYPE_NAME.get(t) ?? 'NONE', hash: `0x${this.rss.hash.toString(16).padStart(8, '0')}` };
    return rec;
  }

  /** ICMP, ICMPv6 and GRE (with its C bit) checksums of a whole datagram; null when none applies. */
  private otherChecksum(b: Uint8Array, l: FrameLayout): boolean | null {
    if (l.fragment || l.l4Offset < 0 || l.reason !== 0) return null;
    const len = l.l4Length;
    if (l.l4 === L4.Icmp) return onesComplementSum(b, l.l4Offset, len) === 0xffff;
    if (l.l4 === L4.Icmpv6) {
      const dst = l.routingType2AddressOffset >= 0 ? l.routingType2AddressOffset : l.dstOffset;
      return onesComplementSum(b, l.l4Offset, len, ipv6PseudoHeaderSum(b, l.srcOffset, b, dst, IPPROTO_ICMPV6, len)) === 0xffff;
    }
    if (l.l4 === L4.Gre && (getU16(b, l.l4Offset) & 0x8000) !== 0) return onesComplementSum(b, l.l4Offset, len) === 0xffff;
    return null;
  }
}

/** A problem with the capture file itself (or a note about it), reported on stderr. */
export interface InspectProblem {
  offset: number;
  message: string;
  /** True for damage (the exit status is then 1), false for a note. */
  damage: boolean;
}

/** Inspects a whole capture held in memory: one record per frame, and the file's damaged parts. */
export function inspectCapture(file: Uint8Array, inspector: Inspector): { records: InspectRecord[]; problems: InspectProblem[] } {
  const records: InspectRecord[] = [];
  const problems: InspectProblem[] = [];
  const reader = openCapture(file);
  let index = 0;
  let linkNoted = false;
  for (;;) {
    let r;
    try {
      r = reader.next();
    } catch (err) {
      // The readers promise never to throw on file contents; should one, stop with a message.
      problems.push({ offset: -1, message: `capture reader failed: ${(err as Error).message}`, damage: true });
      break;
    }
    if (r === null) break;
    if (r.kind === 'error') {
      problems.push({ offset: r.offset, message: r.message, damage: true });
      if (r.resumeOffset === null) break;
      continue;
    }
    if (r.linkType !== LINKTYPE_ETHERNET) {
      if (!linkNoted) problems.push({ offset: r.offset, message: `frames with link type ${r.linkType} are not Ethernet; they are listed without decoding`, damage: false });
      linkNoted = true;
      records.push({ index, length: r.capturedLength, ethertype: null, vlan: [], l3: 'other', l4: 'none', ipChecksum: null, l4Checksum: null, malformed: false, rss: { type: 'NONE', hash: '0x00000000' } });
      index++;
      continue;
    }
    records.push(inspector.inspect(index, r.buffer, r.dataOffset, r.capturedLength));
    index++;
  }
  return { records, problems };
}

const HELP = `usage: ndis inspect <file.pcap|file.pcapng> [--json] [--hash-types LIST] [--key HEX]

For every frame: EtherType and VLAN ids, network and transport protocol, IP header and
TCP/UDP/ICMP checksum validation (true / false / null where the check does not apply), whether
the headers are malformed, and the RSS hash type and Toeplitz value a NIC would report.

  --json             an array with one object per frame:
                     {"index","length","ethertype","vlan","l3","l4","ipChecksum","l4Checksum",
                      "malformed","rss":{"type","hash"}}
  --hash-types LIST  RSS hash types, comma-separated (default IPV4,TCP_IPV4,IPV6,TCP_IPV6; also
                     UDP_IPV4, UDP_IPV6, IPV6_EX, TCP_IPV6_EX, UDP_IPV6_EX)
  --key HEX          RSS secret key (default: the verification key of "Verifying the RSS Hash
                     Calculation")

Damaged parts of the file are described on stderr and reading goes on.
exit status: 0 ok, 1 the file is damaged, 2 usage error or unreadable file`;

function usage(message: string): number {
  process.stderr.write(`ndis inspect: ${message}\n\n${HELP}\n`);
  return 2;
}

function human(r: InspectRecord): string {
  const c = (v: boolean | null): string => (v === null ? '-' : v ? 'ok' : 'BAD');
  const vlan = r.vlan.length > 0 ? ` vlan ${r.vlan.join('/')}` : '';
  const rss = r.rss.type === 'NONE' ? 'rss -' : `rss ${r.rss.type} ${r.rss.hash}`;
  const bad = r.malformed ? `  MALFORMED${r.problem === undefined ? '' : ` (${r.problem})`}` : '';
  return `#${String(r.index).padEnd(5)} ${String(r.length).padStart(5)} B  ${r.ethertype ?? '-     '}${vlan}  ${r.l3.padEnd(5)} ${r.l4.padEnd(6)} ip:${c(r.ipChecksum).padEnd(3)} l4:${c(r.l4Checksum).padEnd(3)} ${rss}${bad}`;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'what an offload-capable NIC reports for each frame of a capture',
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          help: { type: 'boolean', short: 'h' },
          json: { type: 'boolean' },
          'hash-types': { type: 'string', multiple: true },
          key: { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      return usage((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length !== 1) return usage('give exactly one capture file');
    let types = DEFAULT_HASH_TYPES;
    if (values['hash-types'] !== undefined) {
      const t = parseHashTypes(values['hash-types']);
      if (typeof t === 'string') return usage(t);
      types = t;
    }
    let key: ArrayLike<number> = RSS_VERIFICATION_KEY;
    if (values.key !== undefined) {
      const k = parseKeyHex(values.key);
      if (k === null || k.length < 40) return usage('--key must be 40 hex bytes');
      key = k.subarray(0, 40);
    }
    let file: Uint8Array;
    try {
      file = readFileSync(positionals[0]!);
    } catch (err) {
      process.stderr.write(`ndis inspect: cannot read '${positionals[0]}': ${(err as Error).message}\n`);
      return 2;
    }
    const { records, problems } = inspectCapture(file, new Inspector(types, key));
    for (const p of problems) process.stderr.write(`ndis inspect: ${p.offset >= 0 ? `at offset ${p.offset}: ` : ''}${p.message}\n`);
    if (values.json === true) {
      const out = records.map(({ problem: _p, ...r }) => JSON.stringify(r));
      process.stdout.write(`[${out.join(',\n')}]\n`);
    } else {
      for (const r of records) process.stdout.write(`${human(r)}\n`);
      const damaged = problems.filter((p) => p.damage).length;
      process.stderr.write(`${records.length} frame(s)${damaged > 0 ? `, ${damaged} damaged part(s) of the file` : ''}\n`);
    }
    return problems.some((p) => p.damage) ? 1 : 0;
  },
};
