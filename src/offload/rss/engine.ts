/**
 * Receive side scaling in software: the hash-type rules of "RSS Hashing Types", the indirection
 * table of "RSS Configuration", and the per-NET_BUFFER_LIST hash information of "Indicating RSS
 * Receive Data". An {@link RssEngine} holds what OID_GEN_RECEIVE_SCALE_PARAMETERS sets (hash
 * information, secret key, indirection table of processor numbers) and classifies received frames
 * into a hash value, the hash type used, and the receive queue / processor it steers to.
 */
import { NDIS_RSS_PARAM_FLAG } from '../../ndis/constants.js';
import {
  NET_BUFFER_LIST_SET_HASH_FUNCTION,
  NET_BUFFER_LIST_SET_HASH_TYPE,
  NET_BUFFER_LIST_SET_HASH_VALUE,
} from '../../nbl/macros.js';
import type { NetBufferList } from '../../nbl/net-buffer-list.js';
import type { NetBuffer } from '../../nbl/net-buffer.js';
import { DataPointer, getDataBuffer } from '../../nbl/data.js';
import { FrameLayout, L3, L4, LayoutReason, parseFrame } from '../layout.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from './toeplitz.js';
import {
  NDIS_HASH_FUNCTION_MASK,
  NDIS_HASH_IPV4,
  NDIS_HASH_IPV6,
  NDIS_HASH_IPV6_EX,
  NDIS_HASH_TCP_IPV4,
  NDIS_HASH_TCP_IPV6,
  NDIS_HASH_TCP_IPV6_EX,
  NDIS_HASH_TYPE_MASK,
  NDIS_HASH_UDP_IPV4,
  NDIS_HASH_UDP_IPV6,
  NDIS_HASH_UDP_IPV6_EX,
  NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1,
  NdisHashFunctionToeplitz,
} from './hash-types.js';

/** NDIS_RSS_INDIRECTION_TABLE_MAX_SIZE_REVISION_1: most entries of an indirection table. */
export const NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES = 128;


const V4_TYPES = NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 | NDIS_HASH_UDP_IPV4;
const V6_TYPES = NDIS_HASH_IPV6 | NDIS_HASH_TCP_IPV6 | NDIS_HASH_UDP_IPV6;
const V6EX_TYPES = NDIS_HASH_IPV6_EX | NDIS_HASH_TCP_IPV6_EX | NDIS_HASH_UDP_IPV6_EX;
/** Every hash type bit. */
export const NDIS_HASH_ALL_TYPES = V4_TYPES | V6_TYPES | V6EX_TYPES;

/** One set's part of a hash type is valid when it is one of the combinations the RSS pages list. */
function validSetPart(part: number, ip: number, tcp: number, udp: number): boolean {
  return part === 0 || part === ip || part === tcp || part === udp || part === (tcp | ip) || part === (udp | ip) || part === (tcp | udp | ip);
}

/**
 * True when `hashType` is an OR of valid combinations of the IPv4, IPv6 and IPv6-with-extension-
 * headers sets ("RSS Hashing Types"), with at least one type and no bit outside the sets.
 */
export function isValidHashType(hashType: number): boolean {
  if (hashType === 0 || (hashType & ~NDIS_HASH_ALL_TYPES) !== 0) return false;
  return (
    validSetPart(hashType & V4_TYPES, NDIS_HASH_IPV4, NDIS_HASH_TCP_IPV4, NDIS_HASH_UDP_IPV4) &&
    validSetPart(hashType & V6_TYPES, NDIS_HASH_IPV6, NDIS_HASH_TCP_IPV6, NDIS_HASH_UDP_IPV6) &&
    validSetPart(hashType & V6EX_TYPES, NDIS_HASH_IPV6_EX, NDIS_HASH_TCP_IPV6_EX, NDIS_HASH_UDP_IPV6_EX)
  );
}

/** The result of classifying one frame. Reusable, fixed shape. */
export class RssClassification {
  /** The Toeplitz hash value (unsigned 32-bit), 0 when none. */
  declare hash: number;
  /** The NDIS_HASH_* type used, 0 when no hash was computed. */
  declare hashType: number;
  /** Receive queue (index among the engine's queues), or -1 for the default (non-RSS) path. */
  declare queue: number;
  /** Processor that queue is bound to, or -1. */
  declare processor: number;

  constructor() {
    this.hash = 0;
    this.hashType = 0;
    this.queue = -1;
    this.processor = -1;
  }
}

/**
 * Hashes the frame described by `l` (parseFrame) with `hasher` under the enabled `types`, following
 * the rules of "RSS Hashing Types": the 4-tuple when the packet carries the TCP or UDP header whose
 * type is enabled; the 2-tuple when the IPV4 / IPV6 / IPV6_EX type is enabled and the 4-tuple does
 * not apply (no such header, a fragment — the first one included — or that transport's type not
 * enabled); no hash for a packet the parser cannot interpret or whose types are not enabled. The
 * *_EX types take the addresses of the Home Address option and the type 2 routing header when
 * present. Stores the hash in `out.hash` and returns the type used (0: no hash).
 */
export function rssHashFrame(hasher: ToeplitzHasher, b: Uint8Array, l: FrameLayout, types: number, out: RssClassification): number {
  out.hash = 0;
  out.hashType = 0;
  if (l.l3 === L3.Ipv4) {
    if (l.reason === LayoutReason.Ipv4Malformed || (types & V4_TYPES) === 0) return 0;
    const whole = !l.fragment && l.l4Offset >= 0 && l.reason === 0;
    if (whole && l.l4 === L4.Tcp && (types & NDIS_HASH_TCP_IPV4) !== 0) {
      out.hash = hasher.hashIpv4Ports(b, l.srcOffset, l.dstOffset, l.l4Offset) >>> 0;
      out.hashType = NDIS_HASH_TCP_IPV4;
    } else if (whole && l.l4 === L4.Udp && (types & NDIS_HASH_UDP_IPV4) !== 0) {
      out.hash = hasher.hashIpv4Ports(b, l.srcOffset, l.dstOffset, l.l4Offset) >>> 0;
      out.hashType = NDIS_HASH_UDP_IPV4;
    } else if ((types & NDIS_HASH_IPV4) !== 0) {
      out.hash = hasher.hashIpv4(b, l.srcOffset, l.dstOffset) >>> 0;
      out.hashType = NDIS_HASH_IPV4;
    }
    return out.hashType;
  }
  if (l.l3 === L3.Ipv6) {
    if ((types & (V6_TYPES | V6EX_TYPES)) === 0) return 0;
    // A chain the parser cannot follow cannot be interpreted.
    if (l.reason === LayoutReason.Ipv6Malformed) return 0;
    if (l.ipEnd === 0) return 0;
    const whole = !l.fragment && l.l4Offset >= 0 && l.reason === 0;
    const exSrc = l.homeAddressOffset >= 0 ? l.homeAddressOffset : l.srcOffset;
    const exDst = l.routingType2AddressOffset >= 0 ? l.routingType2AddressOffset : l.dstOffset;
    if (whole && (l.l4 === L4.Tcp || l.l4 === L4.Udp)) {
      const tcp = l.l4 === L4.Tcp;
      const ex = tcp ? NDIS_HASH_TCP_IPV6_EX : NDIS_HASH_UDP_IPV6_EX;
      const plain = tcp ? NDIS_HASH_TCP_IPV6 : NDIS_HASH_UDP_IPV6;
      if ((types & ex) !== 0) {
        out.hash = hasher.hashIpv6Ports(b, exSrc, exDst, l.l4Offset) >>> 0;
        out.hashType = ex;
        return ex;
      }
      if ((types & plain) !== 0) {
        out.hash = hasher.hashIpv6Ports(b, l.srcOffset, l.dstOffset, l.l4Offset) >>> 0;
        out.hashType = plain;
        return plain;
      }
    }
    if ((types & NDIS_HASH_IPV6_EX) !== 0) {
      out.hash = hasher.hashIpv6(b, exSrc, exDst) >>> 0;
      out.hashType = NDIS_HASH_IPV6_EX;
    } else if ((types & NDIS_HASH_IPV6) !== 0) {
      out.hash = hasher.hashIpv6(b, l.srcOffset, l.dstOffset) >>> 0;
      out.hashType = NDIS_HASH_IPV6;
    }
    return out.hashType;
  }
  return 0;
}

/** The 2-tuple hash of the tunnel header of an encapsulated frame ("Supporting NVGRE in RSS"). */
function outerTwoTuple(hasher: ToeplitzHasher, b: Uint8Array, l: FrameLayout, types: number, out: RssClassification): number {
  out.hash = 0;
  out.hashType = 0;
  if (l.l3 === L3.Ipv4 && (types & NDIS_HASH_IPV4) !== 0) {
    out.hash = hasher.hashIpv4(b, l.srcOffset, l.dstOffset) >>> 0;
    out.hashType = NDIS_HASH_IPV4;
  } else if (l.l3 === L3.Ipv6 && (types & NDIS_HASH_IPV6) !== 0) {
    out.hash = hasher.hashIpv6(b, l.srcOffset, l.dstOffset) >>> 0;
    out.hashType = NDIS_HASH_IPV6;
  }
  return out.hashType;
}

/**
 * The hash of a parsed frame as an RSS engine computes it: {@link rssHashFrame} on the frame, or,
 * for an NVGRE frame when `encapsulated` (EncapsulatedPacketTaskOffload RssSupported and enabled),
 * on the inner TCP/UDP 4-tuple, falling back to the tunnel's 2-tuple ("Supporting NVGRE in RSS").
 * `inner` is scratch for the inner frame's layout. Returns the hash type used (0: no hash).
 */
export function rssHashLayout(
  hasher: ToeplitzHasher,
  bytes: Uint8Array,
  l: FrameLayout,
  inner: FrameLayout,
  types: number,
  encapsulated: boolean,
  out: RssClassification,
): number {
  if (!(encapsulated && l.nvgre && !l.fragment)) return rssHashFrame(hasher, bytes, l, types, out);
  parseFrame(bytes, l.innerFrameOffset, l.ipEnd - l.innerFrameOffset, inner);
  if (inner.isIp && !inner.fragment && inner.reason === 0 && (inner.l4 === L4.Tcp || inner.l4 === L4.Udp)) {
    const t = rssHashFrame(hasher, bytes, inner, types, out);
    // Only a 4-tuple counts as the inner hash; otherwise fall back to the tunnel addresses.
    if (t !== NDIS_HASH_IPV4 && t !== NDIS_HASH_IPV6 && t !== NDIS_HASH_IPV6_EX && t !== 0) return t;
  }
  return outerTwoTuple(hasher, bytes, l, types, out);
}

/** Why {@link RssEngine.setParameters} refused a configuration (0 = accepted). */
export const RssParametersResult = {
  Ok: 0,
  /** The hash function is not NdisHashFunctionToeplitz (nor 0). */
  BadHashFunction: 1,
  /** The hash type is not a valid combination, or not one the adapter supports. */
  BadHashType: 2,
  /** The indirection table size is not a power of two from 1 to 128 entries. */
  BadTableSize: 3,
  /** A table entry names a processor the adapter cannot use. */
  BadProcessor: 4,
  /** The secret key is not 40 bytes. */
  BadKeySize: 5,
} as const;

/** What OID_GEN_RECEIVE_SCALE_PARAMETERS carries, decoded (NDIS_RECEIVE_SCALE_PARAMETERS). */
export interface RssParameters {
  /** NDIS_RSS_PARAM_FLAG_*. */
  flags: number;
  baseCpuNumber: number;
  /** HashInformation: type | function. */
  hashInformation: number;
  /** Indirection table: one processor number per entry. */
  indirectionTable: readonly number[];
  /** The secret key (HashSecretKeySize bytes). */
  secretKey: Uint8Array;
  /** DefaultProcessorNumber (revision 3), or -1. */
  defaultProcessor: number;
}

/**
 * The RSS state of an adapter. `setParameters` applies an NDIS_RECEIVE_SCALE_PARAMETERS set (the
 * *_UNCHANGED flags keep fields, DISABLE_RSS and hash function 0 turn RSS off and restore the state
 * after initialization); `classify` steers a frame.
 */
export class RssEngine {
  declare readonly hasher: ToeplitzHasher;
  /** Hash types the adapter supports (its RSS capabilities). */
  declare readonly supportedTypes: number;
  /** Processors the adapter may use (numbers 0 .. processorCount-1). */
  declare readonly processorCount: number;
  /** Hardware receive queues for RSS (NumberOfReceiveQueues). */
  declare readonly maxQueues: number;
  enabled = false;
  hashInformation = 0;
  baseCpuNumber = 0;
  defaultProcessor = 0;
  /** Hash NVGRE packets on their inner headers (EncapsulatedPacketTaskOffload RssSupported and enabled). */
  encapsulated = false;
  /** Indirection table entries and mask (entries - 1). */
  declare readonly table: Int32Array;
  tableEntries = 0;
  private tableMask = 0;
  /** Queue of each table entry, and the processor of each queue. */
  private declare readonly entryQueue: Int32Array;
  declare readonly queueProcessor: Int32Array;
  queueCount = 0;
  private readonly layout = new FrameLayout();
  private readonly inner = new FrameLayout();
  private readonly pointer = new DataPointer();
  private readonly storage = new Uint8Array(65_536 + 128);

  constructor(supportedTypes: number, processorCount: number, maxQueues: number) {
    this.hasher = new ToeplitzHasher(RSS_VERIFICATION_KEY);
    this.supportedTypes = supportedTypes;
    this.processorCount = processorCount;
    this.maxQueues = Math.max(1, maxQueues);
    this.table = new Int32Array(NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES);
    this.entryQueue = new Int32Array(NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES);
    this.queueProcessor = new Int32Array(NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES);
  }

  /** The enabled hash types (HashInformation & NDIS_HASH_TYPE_MASK). */
  get hashTypes(): number {
    return this.hashInformation & NDIS_HASH_TYPE_MASK;
  }

  /** The current indirection table, one processor per entry. */
  indirectionTable(): number[] {
    return Array.from(this.table.subarray(0, this.tableEntries));
  }

  /** Back to the state after initialization: RSS off, verification key, empty table. */
  reset(): void {
    this.enabled = false;
    this.hashInformation = 0;
    this.baseCpuNumber = 0;
    this.defaultProcessor = 0;
    this.hasher.setKey(RSS_VERIFICATION_KEY);
    this.table.fill(0);
    this.tableEntries = 0;
    this.tableMask = 0;
    this.queueCount = 0;
  }

  /**
   * Applies an OID_GEN_RECEIVE_SCALE_PARAMETERS set. On refusal nothing changes and the
   * {@link RssParametersResult} says why ("on rejection keep the previous parameters").
   */
  setParameters(p: RssParameters): number {
    const f = p.flags;
    if ((f & NDIS_RSS_PARAM_FLAG.DISABLE_RSS) !== 0) {
      this.reset();
      return RssParametersResult.Ok;
    }
    const hashInfo = (f & NDIS_RSS_PARAM_FLAG.HASH_INFO_UNCHANGED) !== 0 ? this.hashInformation : p.hashInformation >>> 0;
    const fn = hashInfo & NDIS_HASH_FUNCTION_MASK;
    if (fn === 0) {
      this.reset();
      return RssParametersResult.Ok;
    }
    if (fn !== NdisHashFunctionToeplitz) return RssParametersResult.BadHashFunction;
    const types = hashInfo & NDIS_HASH_TYPE_MASK;
    if (!isValidHashType(types) || (types & ~this.supportedTypes) !== 0 || (hashInfo & ~(NDIS_HASH_TYPE_MASK | NDIS_HASH_FUNCTION_MASK)) !== 0) {
      return RssParametersResult.BadHashType;
    }
    const keepTable = (f & NDIS_RSS_PARAM_FLAG.ITABLE_UNCHANGED) !== 0;
    if (!keepTable) {
      const n = p.indirectionTable.length;
      if (n < 1 || n > NDIS_RSS_INDIRECTION_TABLE_MAX_ENTRIES || (n & (n - 1)) !== 0) return RssParametersResult.BadTableSize;
      for (let i = 0; i < n; i++) {
        const cpu = p.indirectionTable[i]!;
        if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.processorCount) return RssParametersResult.BadProcessor;
      }
    } else if (this.tableEntries === 0) {
      return RssParametersResult.BadTableSize;
    }
    const keepKey = (f & NDIS_RSS_PARAM_FLAG.HASH_KEY_UNCHANGED) !== 0;
    if (!keepKey && p.secretKey.length !== NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1) return RssParametersResult.BadKeySize;
    // Accepted: apply.
    if (!keepKey) this.hasher.setKey(p.secretKey);
    if (!keepTable) this.loadTable(p.indirectionTable);
    if ((f & NDIS_RSS_PARAM_FLAG.BASE_CPU_UNCHANGED) === 0) this.baseCpuNumber = p.baseCpuNumber;
    if ((f & NDIS_RSS_PARAM_FLAG.DEFAULT_PROCESSOR_UNCHANGED) === 0 && p.defaultProcessor >= 0 && p.defaultProcessor < this.processorCount) {
      this.defaultProcessor = p.defaultProcessor;
    }
    this.hashInformation = hashInfo;
    this.enabled = true;
    return RssParametersResult.Ok;
  }

  /**
   * Loads an indirection table and maps it onto at most `maxQueues` receive queues: the distinct
   * processors, in order of first appearance, each get a queue until the queues run out; a
   * processor beyond that shares the queue of (its rank modulo the queue count).
   */
  private loadTable(entries: readonly number[]): void {
    const n = entries.length;
    this.tableEntries = n;
    this.tableMask = n - 1;
    let queues = 0;
    const rank = new Int32Array(this.processorCount).fill(-1);
    let distinct = 0;
    for (let i = 0; i < n; i++) {
      const cpu = entries[i]!;
      this.table[i] = cpu;
      if (rank[cpu] === -1) rank[cpu] = distinct++;
      const r = rank[cpu]!;
      let q: number;
      if (r < this.maxQueues) {
        q = r;
        if (r >= queues) {
          this.queueProcessor[r] = cpu;
          queues = r + 1;
        }
      } else {
        q = r % this.maxQueues;
      }
      this.entryQueue[i] = q;
    }
    this.queueCount = queues;
  }

  /**
   * Classifies the frame at `bytes[offset..offset+length)`: its hash and hash type (when RSS is
   * enabled and the rules give one) and the queue its indirection table entry steers it to
   * (`queue` -1 when it takes the non-RSS path). Returns true when a hash was computed.
   */
  classify(bytes: Uint8Array, offset: number, length: number, out: RssClassification): boolean {
    const l = this.layout;
    parseFrame(bytes, offset, length, l);
    return this.classifyParsed(bytes, l, out);
  }

  /** {@link classify} for a frame already parsed into `l`. */
  classifyParsed(bytes: Uint8Array, l: FrameLayout, out: RssClassification): boolean {
    out.queue = -1;
    out.processor = -1;
    out.hash = 0;
    out.hashType = 0;
    if (!this.enabled) return false;
    const t = rssHashLayout(this.hasher, bytes, l, this.inner, this.hashInformation & NDIS_HASH_TYPE_MASK, this.encapsulated, out);
    if (t === 0) return false;
    this.steer(out);
    return true;
  }

  /**
   * The receive queue and processor of a frame whose hash is already in `out.hash` (computed
   * elsewhere, e.g. on a worker thread, with this engine's key and hash types): the indirection
   * table entry `hash & (entries - 1)`. Leaves `queue` -1 when RSS is off.
   */
  steer(out: RssClassification): void {
    if (!this.enabled || this.tableEntries === 0) {
      out.queue = -1;
      out.processor = -1;
      return;
    }
    const entry = out.hash & this.tableMask;
    out.queue = this.entryQueue[entry]!;
    out.processor = this.table[entry]!;
  }

  /** {@link classify} for a NET_BUFFER (copied to contiguous scratch memory when spread over MDLs). */
  classifyNetBuffer(nb: NetBuffer, out: RssClassification): boolean {
    const len = nb.dataLength;
    if (len > this.storage.length) {
      out.queue = -1;
      out.processor = -1;
      out.hash = 0;
      out.hashType = 0;
      return false;
    }
    const p = getDataBuffer(nb, len, this.storage, 1, 0, this.pointer);
    if (p === null) return false;
    return this.classify(p.bytes, p.offset, len, out);
  }
}

/**
 * Stores a classification in a NET_BUFFER_LIST as "Indicating RSS Receive Data" requires:
 * NET_BUFFER_LIST_SET_HASH_VALUE, _TYPE and _FUNCTION (all zero when no hash was computed).
 */
export function setNetBufferListHashInfo(nbl: NetBufferList, c: RssClassification): void {
  NET_BUFFER_LIST_SET_HASH_VALUE(nbl, c.hash);
  NET_BUFFER_LIST_SET_HASH_TYPE(nbl, c.hashType);
  NET_BUFFER_LIST_SET_HASH_FUNCTION(nbl, c.hashType === 0 ? 0 : NdisHashFunctionToeplitz);
}

/** What OID_GEN_RECEIVE_HASH sets (NDIS_RECEIVE_HASH_PARAMETERS), decoded. */
export interface ReceiveHashParameters {
  /** NDIS_RECEIVE_HASH_FLAG_* (ENABLE_HASH 0x1, HASH_INFO_UNCHANGED 0x2, HASH_KEY_UNCHANGED 0x4). */
  flags: number;
  /** HashInformation: type | function. */
  hashInformation: number;
  /** The secret key (HashSecretKeySize bytes; ignored with HASH_KEY_UNCHANGED). */
  secretKey: Uint8Array;
}

const RECEIVE_HASH_ENABLE = 0x1;
const RECEIVE_HASH_INFO_UNCHANGED = 0x2;
const RECEIVE_HASH_KEY_UNCHANGED = 0x4;

/**
 * Receive hash calculation without RSS (OID_GEN_RECEIVE_HASH, "an overlying driver can enable and
 * configure hash calculations on received frames without enabling RSS"): the hash value, type and
 * function go into each NET_BUFFER_LIST; no indirection table, no queue steering. The hash-type
 * rules and the NVGRE inner hash are those of RSS.
 */
export class ReceiveHashEngine {
  declare readonly hasher: ToeplitzHasher;
  /** Hash types the adapter supports. */
  declare readonly supportedTypes: number;
  enabled = false;
  hashInformation = 0;
  /** Hash NVGRE packets on their inner headers. */
  encapsulated = false;
  private readonly inner = new FrameLayout();

  constructor(supportedTypes: number) {
    this.hasher = new ToeplitzHasher(RSS_VERIFICATION_KEY);
    this.supportedTypes = supportedTypes;
  }

  /** The enabled hash types. */
  get hashTypes(): number {
    return this.hashInformation & NDIS_HASH_TYPE_MASK;
  }

  /** Back to the state after initialization: no hash, verification key. */
  reset(): void {
    this.enabled = false;
    this.hashInformation = 0;
    this.hasher.setKey(RSS_VERIFICATION_KEY);
  }

  /**
   * Applies an OID_GEN_RECEIVE_HASH set: ENABLE_HASH clear turns hashing off (keeping the key and
   * hash information for a later enable); HASH_INFO_UNCHANGED and HASH_KEY_UNCHANGED keep those
   * fields. On refusal nothing changes and the {@link RssParametersResult} says why.
   */
  setParameters(p: ReceiveHashParameters): number {
    const f = p.flags;
    const hashInfo = (f & RECEIVE_HASH_INFO_UNCHANGED) !== 0 ? this.hashInformation : p.hashInformation >>> 0;
    const keepKey = (f & RECEIVE_HASH_KEY_UNCHANGED) !== 0;
    if ((f & RECEIVE_HASH_ENABLE) === 0) {
      if (!keepKey && p.secretKey.length !== 0 && p.secretKey.length !== NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1) return RssParametersResult.BadKeySize;
      if (!keepKey && p.secretKey.length !== 0) this.hasher.setKey(p.secretKey);
      if ((f & RECEIVE_HASH_INFO_UNCHANGED) === 0) this.hashInformation = hashInfo;
      this.enabled = false;
      return RssParametersResult.Ok;
    }
    if ((hashInfo & NDIS_HASH_FUNCTION_MASK) !== NdisHashFunctionToeplitz) return RssParametersResult.BadHashFunction;
    const types = hashInfo & NDIS_HASH_TYPE_MASK;
    if (!isValidHashType(types) || (types & ~this.supportedTypes) !== 0 || (hashInfo & ~(NDIS_HASH_TYPE_MASK | NDIS_HASH_FUNCTION_MASK)) !== 0) {
      return RssParametersResult.BadHashType;
    }
    if (!keepKey && p.secretKey.length !== NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1) return RssParametersResult.BadKeySize;
    if (!keepKey) this.hasher.setKey(p.secretKey);
    this.hashInformation = hashInfo;
    this.enabled = true;
    return RssParametersResult.Ok;
  }

  /** Hashes a parsed frame into `out` (queue and processor -1). Returns true when a hash was computed. */
  classifyParsed(bytes: Uint8Array, l: FrameLayout, out: RssClassification): boolean {
    out.queue = -1;
    out.processor = -1;
    out.hash = 0;
    out.hashType = 0;
    if (!this.enabled) return false;
    return rssHashLayout(this.hasher, bytes, l, this.inner, this.hashInformation & NDIS_HASH_TYPE_MASK, this.encapsulated, out) !== 0;
  }
}
