/**
 * The verifier: Driver Verifier's NDIS checks (bug check 0xC4 rules), NDIS's own invariant checks
 * (bug check 0x7C codes) and Static Driver Verifier's NDIS rules, run in user space, on the
 * runtime's deterministic clock, against the drivers of one Ndis runtime.
 *
 * The runtime (src/ndis) detects the breaks it sees as a side effect of routing (state, ownership,
 * OID and resource rules) and reports them by rule id; the verifier adds the deep checks (the
 * Ethernet receive requirements and header-data split rules on every indication, the send-path
 * offload rules, the timing watchdogs, low-resource simulation and poisoning), turns every
 * violation into a report that names the rule, the driver, the object and the NBL, and decides
 * whether it throws, is logged, or is only counted.
 *
 * Levels: `off`; `cheap` (constant-time checks: the head of each chain, state, OIDs, watchdogs on
 * OIDs, pauses and pending sends); `full` (every NBL of every chain, buffer layouts, frame headers,
 * per-NBL hand-off times, poisoning). A level is set for the runtime and may be set per driver.
 */
import type { NetBufferList } from '../nbl/net-buffer-list.js';
import { NBL_HANDOFF } from '../nbl/net-buffer-list.js';
import { NDIS_NBL_FLAGS } from '../nbl/flags.js';
import {
  NDIS_CSUM_RX,
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO,
  csumTxTcpHeaderOffset,
  lsoIpVersion,
  lsoTcpHeaderOffset,
  lsoType,
  NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4,
  NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE,
} from '../nbl/info.js';
import { copyOutOfNetBuffer } from '../nbl/data.js';
import type { NetBufferListPool, NetBufferPool } from '../nbl/pool.js';
import { Ndis } from '../ndis/ndis.js';
import { MiniportBlock } from '../ndis/miniport.js';
import { FilterModule } from '../ndis/filter.js';
import { FilterState } from '../ndis/state.js';
import { OpenBlock } from '../ndis/protocol.js';
import { NdisVerifierViolation, VERIFY_CHEAP, VERIFY_FULL, VERIFY_OFF, type NdisVerifierHooks, type ViolationDetail } from '../ndis/violation.js';
import { RULE } from '../ndis/rule-ids.js';
import { Prng } from '../ndis/scheduler/prng.js';
import type { SchedulerWatchdog } from '../ndis/scheduler/scheduler.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ip.js';
import { NDIS_HASH_IPV4, NDIS_HASH_IPV6, NDIS_HASH_IPV6_EX, NDIS_HASH_TCP_IPV4, NDIS_HASH_TCP_IPV6, NDIS_HASH_TCP_IPV6_EX } from '../offload/rss/hash-types.js';
import { ruleById } from './catalog.js';
import { SplitLayout, analyzeSplitPoints } from './frame.js';
import { makeReport, renderReport, snapshotNbl, type ViolationReport } from './report.js';
import { RX } from './rules/receive.js';
import { TX } from './rules/send.js';
import { TIMING_LIMITS_MS } from './rules/timing.js';

/** Verification level names. */
export type VerifyLevelName = 'off' | 'cheap' | 'full';

/** What a violation does: throw an NdisVerifierViolation (default), log the report and go on, or only count it. */
export type VerifierAction = 'throw' | 'log' | 'count';

/** Low-resource simulation (Driver Verifier's "low resources simulation" for NDIS drivers). */
export interface LowResourceOptions {
  /** Share of allocation attempts that fail, 0..1. */
  failRate: number;
  /** Seed of the choice (default 1): the same seed fails the same attempts. */
  seed?: number;
  /** Drivers whose allocations may fail (default: every driver). */
  drivers?: readonly string[];
  /** Pool allocations (NdisAllocateNetBufferList and friends) may fail (default true). */
  pools?: boolean;
  /** NdisAllocateMemoryWithTagPriority may fail (default true). */
  memory?: boolean;
}

export interface VerifierOptions {
  /** Level for every driver without its own (default 'cheap'). */
  level?: VerifyLevelName;
  /** Levels per driver name (the name the driver registered with). */
  drivers?: Readonly<Record<string, VerifyLevelName>>;
  /** What a violation does (default 'throw'). Advisories are always logged and counted, never thrown. */
  action?: VerifierAction;
  /** Where 'log' reports and advisories go (default console.error). */
  log?: (text: string) => void;
  /**
   * Full level: overwrite the data of receive NBLs with 0xDE when they are returned to their
   * miniport, so that a driver that keeps a view of a returned frame reads garbage at once
   * instead of the next frame (default false).
   */
  poison?: boolean;
  /** Low-resource simulation; off by default. */
  lowResources?: LowResourceOptions | null;
  /** Reports kept (oldest first); counts go on past it (default 1000). */
  maxReports?: number;
}

const LEVELS: Record<VerifyLevelName, number> = { off: VERIFY_OFF, cheap: VERIFY_CHEAP, full: VERIFY_FULL };

/** Parses a level name (`--verify=off|cheap|full`). */
export function parseVerifyLevel(name: string): VerifyLevelName {
  if (name === 'off' || name === 'cheap' || name === 'full') return name;
  throw new Error(`unknown verification level '${name}' (expected off, cheap or full)`);
}

/** The byte poisoned data is overwritten with. */
export const POISON_BYTE = 0xde;

const TICKS_PER_MS = 10_000;
/** Bytes of a frame the header checks look at. */
const HEADER_WINDOW = 256;

/** What the receive checks need to know about the originator of an indication (cached per originator). */
class Origin {
  constructor(
    readonly driver: string,
    readonly object: string,
    readonly miniport: MiniportBlock,
    readonly level: number,
    /** The originating driver registered as NDIS 6.0. */
    readonly ndis60: boolean,
    /** The miniport originates (not a filter): the RSS and checksum results are its own. */
    readonly isMiniport: boolean,
    /** The adapter's medium is 802.3 (the Ethernet receive rules apply). */
    readonly ethernet: boolean,
  ) {}
}

/**
 * The verifier. Attach it with `new Ndis({ verifier: new Verifier(options) })` or
 * `ndis.attachVerifier(...)`; read `reports` and `counts`.
 */
export class Verifier implements NdisVerifierHooks, SchedulerWatchdog {
  /** The highest level any driver runs at (the runtime runs its checks at this level). */
  readonly level: number;
  readonly action: VerifierAction;
  /** Reports, oldest first (at most maxReports). */
  readonly reports: ViolationReport[] = [];
  /** Violations and advisories per rule id (all of them, kept or not). */
  readonly counts = new Map<string, number>();
  /** Allocation attempts failed by the low-resource simulation. */
  lowResourceFailures = 0;
  /** SchedulerWatchdog: when the watchdogs look next (100-ns units). */
  dueTicks = Infinity;

  private readonly defaultLevel: number;
  private readonly driverLevels: Map<string, number>;
  private readonly log: (text: string) => void;
  private readonly poison: boolean;
  private readonly maxReports: number;
  private readonly lowResources: LowResourceOptions | null;
  private readonly lowPrng: Prng | null;
  private ndis: Ndis | null = null;
  private readonly layout = new SplitLayout();
  private readonly window = new Uint8Array(HEADER_WINDOW);
  // Watchdog bookkeeping: what was reported already (reported once per occurrence).
  private readonly reportedOids = new WeakSet<object>();
  private readonly reportedSince = new WeakMap<object, number>();
  private readonly reportedPauses = new WeakMap<object, number>();
  private readonly reportedHolds = new WeakMap<NetBufferList, number>();

  constructor(options: VerifierOptions = {}) {
    this.defaultLevel = LEVELS[options.level ?? 'cheap'];
    this.driverLevels = new Map(Object.entries(options.drivers ?? {}).map(([k, v]) => [k, LEVELS[v]]));
    let max = this.defaultLevel;
    for (const v of this.driverLevels.values()) if (v > max) max = v;
    this.level = max;
    this.action = options.action ?? 'throw';
    this.log = options.log ?? ((t) => console.error(t));
    this.poison = options.poison ?? false;
    this.maxReports = options.maxReports ?? 1000;
    this.lowResources = options.lowResources ?? null;
    if (this.lowResources !== null && !(this.lowResources.failRate >= 0 && this.lowResources.failRate <= 1)) {
      throw new Error(`lowResources.failRate must be from 0 to 1; got ${this.lowResources.failRate}`);
    }
    this.lowPrng = this.lowResources === null ? null : new Prng(this.lowResources.seed ?? 1);
  }

  /** The level a driver runs at. */
  levelOf(driver: string): number {
    return this.driverLevels.get(driver) ?? this.defaultLevel;
  }

  /** Number of violations (not advisories) reported so far, or of one rule. */
  count(ruleId?: string): number {
    if (ruleId !== undefined) return this.counts.get(ruleId) ?? 0;
    let n = 0;
    for (const [id, c] of this.counts) if (ruleById(id)?.severity !== 'advisory') n += c;
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // Reporting
  // ---------------------------------------------------------------------------------------------

  /** NdisVerifierHooks.violation: a rule broken (from the runtime or from the verifier's own checks). */
  violation(ruleId: string, detail: ViolationDetail): void {
    const rule = ruleById(ruleId);
    const lv = detail.driver === '?' ? this.level : this.levelOf(detail.driver);
    if (lv === VERIFY_OFF || (rule !== undefined && rule.level === 'full' && lv < VERIFY_FULL)) return;
    this.counts.set(ruleId, (this.counts.get(ruleId) ?? 0) + 1);
    const ndis = this.ndis;
    const snapshot = detail.nbl === null ? null : snapshotNbl(detail.nbl, ndis === null ? `#${detail.nbl.owner}` : ndis.moduleName(detail.nbl.owner));
    const report = makeReport(rule, ruleId, detail, snapshot, ndis === null ? 0 : ndis.scheduler.nowMs());
    if (this.reports.length < this.maxReports) this.reports.push(report);
    if (rule?.severity === 'advisory') {
      if (this.action !== 'count') this.log(renderReport(report));
      return;
    }
    if (this.action === 'throw') throw new NdisVerifierViolation(ruleId, detail, renderReport(report));
    if (this.action === 'log') this.log(renderReport(report));
  }

  private report(ruleId: string, driver: string, object: string, nbl: NetBufferList | null, message: string, call: string): void {
    this.violation(ruleId, { driver, object, nbl, message, call });
  }

  // ---------------------------------------------------------------------------------------------
  // Attachment, low resources
  // ---------------------------------------------------------------------------------------------

  /** NdisVerifierHooks.attached: installs the watchdog on the runtime's scheduler. */
  attached(ndis: object): void {
    if (!(ndis instanceof Ndis)) return;
    this.ndis = ndis;
    if (this.level !== VERIFY_OFF) ndis.scheduler.watchdog = this;
  }

  /** NdisVerifierHooks.poolCreated: low-resource simulation on the pools of the drivers it targets. */
  poolCreated(pool: object, owner: object): void {
    const lr = this.lowResources;
    if (lr === null || lr.pools === false) return;
    if (!this.targeted(owner)) return;
    (pool as NetBufferListPool | NetBufferPool).failAllocation = () => this.lowResourceFails();
  }

  /** NdisVerifierHooks.failMemoryAllocation. */
  failMemoryAllocation(owner: object): boolean {
    const lr = this.lowResources;
    if (lr === null || lr.memory === false || !this.targeted(owner)) return false;
    return this.lowResourceFails();
  }

  private targeted(owner: object): boolean {
    const name = driverNameOf(owner);
    if (name === null) return false;
    const list = this.lowResources!.drivers;
    return list === undefined || list.includes(name);
  }

  private lowResourceFails(): boolean {
    const fail = this.lowPrng!.nextUint32() / 0x1_0000_0000 < this.lowResources!.failRate;
    if (fail) this.lowResourceFailures++;
    return fail;
  }

  // ---------------------------------------------------------------------------------------------
  // Receive path
  // ---------------------------------------------------------------------------------------------

  private originOf(originator: object): Origin | null {
    // The runtime gives each module a slot for its verifier's data: one load, no map lookup.
    const slot = originator as { verifierData: unknown };
    const cached = slot.verifierData as Origin | null;
    if (cached !== null) return cached;
    let o: Origin;
    if (originator instanceof MiniportBlock) {
      const d = originator.driver;
      o = new Origin(d.name, originator.name, originator, this.levelOf(d.name), d.chars.minorNdisVersion === 0, true, originator.isEthernet);
    } else if (originator instanceof FilterModule) {
      const d = originator.driver;
      o = new Origin(d.name, originator.name, originator.miniport, this.levelOf(d.name), d.chars.minorNdisVersion === 0, false, originator.miniport.isEthernet);
    } else {
      return null;
    }
    slot.verifierData = o;
    return o;
  }

  /**
   * NdisVerifierHooks.receiveIndicated: the Ethernet receive requirements. Cheap: the head NBL's
   * NET_BUFFER count and, for NDIS 6.0 drivers, its MDL count. Full: every NBL, with its buffer
   * layout and headers.
   */
  receiveIndicated(originator: object, chain: NetBufferList, _count: number, _receiveFlags: number, call: string): void {
    const o = this.originOf(originator);
    if (o === null || o.level === VERIFY_OFF || !o.ethernet) return;
    if (o.level === VERIFY_CHEAP) {
      const nb = chain.firstNetBuffer;
      if (nb === null || nb.next !== null) this.oneNetBuffer(o, chain, call);
      else if (o.ndis60 && nb.currentMdl !== null && nb.currentMdl.byteCount - nb.currentMdlOffset < nb.dataLength) {
        this.report(RX.NDIS60_ONE_MDL, o.driver, o.object, chain, `an NDIS 6.0 driver indicated a NET_BUFFER whose ${nb.dataLength} bytes span more than one MDL`, call);
      }
      return;
    }
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) this.checkReceiveNbl(o, x, call);
  }

  private oneNetBuffer(o: Origin, x: NetBufferList, call: string): void {
    let n = 0;
    for (let nb = x.firstNetBuffer; nb !== null && n < 1000; nb = nb.next) n++;
    this.report(RX.ONE_NET_BUFFER, o.driver, o.object, x, `the NBL carries ${n} NET_BUFFERs; an Ethernet receive indication must assign exactly one NET_BUFFER to each NBL`, call);
  }

  private checkReceiveNbl(o: Origin, x: NetBufferList, call: string): void {
    // NDIS loopback indicates the sender's NBL as it was sent (send-side OOB, its NET_BUFFERs):
    // NDIS made that indication, not the driver passing it on.
    if ((x.nblFlags & NDIS_NBL_FLAGS.IS_LOOPBACK_PACKET) !== 0) return;
    const nb = x.firstNetBuffer;
    if (nb === null || nb.next !== null) {
      this.oneNetBuffer(o, x, call);
      if (nb === null) return;
    }
    // The MDLs that hold the frame, and where they split it.
    const len = nb.dataLength;
    let mdl = nb.currentMdl;
    const firstBytes = mdl === null ? 0 : Math.min(mdl.byteCount - nb.currentMdlOffset, len);
    let mdlCount = 0;
    for (let covered = -nb.currentMdlOffset; mdl !== null && covered < len; mdl = mdl.next) {
      covered += mdl.byteCount;
      mdlCount++;
    }
    const split = mdlCount > 1;
    const f = x.nblFlags;
    const hdSplit = (f & NDIS_NBL_FLAGS.HD_SPLIT) !== 0;
    if (split && o.ndis60) {
      this.report(RX.NDIS60_ONE_MDL, o.driver, o.object, x, `an NDIS 6.0 driver indicated a frame in ${mdlCount} MDLs (NDIS 6.0 allows one MDL per NET_BUFFER)`, call);
    } else if (split && !hdSplit && (o.miniport.hardwareAssist?.hdSplitAttributes ?? null) === null) {
      this.report(RX.MULTI_MDL_WITHOUT_HDS, o.driver, o.object, x, `the frame is indicated in ${mdlCount} MDLs by a driver that does not do header-data split; one MDL per NET_BUFFER is simpler and faster`, call);
    }
    const flagged = (f & (NDIS_NBL_FLAGS.HD_SPLIT | NDIS_NBL_FLAGS.IS_IPV4 | NDIS_NBL_FLAGS.IS_IPV6 | NDIS_NBL_FLAGS.IS_TCP | NDIS_NBL_FLAGS.IS_UDP | NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER | NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD)) !== 0;
    const info = x.netBufferListInfo;
    const csum = info[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
    const vlan = info[NDIS_NET_BUFFER_LIST_INFO.Ieee8021QNetBufferListInfo]!;
    const rss = o.isMiniport && o.miniport.rssEnabled;
    if (!split && !flagged && csum === 0 && vlan === 0 && !rss) return;
    // The headers, from a contiguous copy of the first bytes.
    const w = this.window;
    const n = copyOutOfNetBuffer(nb, 0, w, 0, len < HEADER_WINDOW ? len : HEADER_WINDOW);
    const l = analyzeSplitPoints(w, n, this.layout);
    if (split) this.checkSplit(o, x, l, firstBytes, mdlCount, call);
    if (flagged) this.checkHdsFlags(o, x, l, split, firstBytes, mdlCount, call);
    this.checkReceiveOob(o, x, l, csum, vlan, rss, call);
  }

  /** RX-005: no split in the middle of a header unless the first MDL holds the lookahead (or the whole frame). */
  private checkSplit(o: Origin, x: NetBufferList, l: SplitLayout, firstBytes: number, mdlCount: number, call: string): void {
    const nb = x.firstNetBuffer!;
    const lookahead = o.miniport.currentLookahead;
    const need = lookahead > 0 && lookahead < nb.dataLength ? lookahead : nb.dataLength;
    if (firstBytes >= need) return;
    let at = firstBytes;
    let mdl = nb.currentMdl!.next;
    for (let i = 1; i < mdlCount && at < l.headersEnd; i++) {
      if (!l.isBoundary(at)) {
        const where = at < l.ipOffset || l.ipOffset < 0 ? 'the MAC header' : l.ipHeadersEnd < 0 || at < l.ipHeadersEnd ? (l.ipsec ? 'the IP header, its options or IPsec headers' : l.ipVersion === 6 ? 'the IPv6 header or its extension headers' : 'the IP header or its options') : 'the upper-layer protocol header';
        this.report(
          RX.SPLIT_INSIDE_HEADERS,
          o.driver,
          o.object,
          x,
          `MDL ${i} starts ${at} bytes into the frame, in the middle of ${where} (headers end at ${l.headersEnd}); the first MDL holds ${firstBytes} bytes, less than the lookahead ${lookahead > 0 ? lookahead : '(unset)'} the split would need`,
          call,
        );
        return;
      }
      if (mdl === null) break;
      at += mdl.byteCount;
      mdl = mdl.next;
    }
  }

  /** RX-006 and RX-007: the header-data split flags are exclusive, accurate, and match the split. */
  private checkHdsFlags(o: Origin, x: NetBufferList, l: SplitLayout, split: boolean, firstBytes: number, mdlCount: number, call: string): void {
    const f = x.nblFlags;
    const v4 = (f & NDIS_NBL_FLAGS.IS_IPV4) !== 0;
    const v6 = (f & NDIS_NBL_FLAGS.IS_IPV6) !== 0;
    const tcp = (f & NDIS_NBL_FLAGS.IS_TCP) !== 0;
    const udp = (f & NDIS_NBL_FLAGS.IS_UDP) !== 0;
    const hd = (f & NDIS_NBL_FLAGS.HD_SPLIT) !== 0;
    const atHeader = (f & NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER) !== 0;
    const atPayload = (f & NDIS_NBL_FLAGS.SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD) !== 0;
    const bad = (why: string): void => this.report(RX.HDS_FLAGS, o.driver, o.object, x, why, call);
    if (v4 && v6) return bad('NDIS_NBL_FLAGS_IS_IPV4 and NDIS_NBL_FLAGS_IS_IPV6 are both set');
    if (tcp && udp) return bad('NDIS_NBL_FLAGS_IS_TCP and NDIS_NBL_FLAGS_IS_UDP are both set');
    if ((tcp || udp) && !v4 && !v6) return bad(`NDIS_NBL_FLAGS_IS_${tcp ? 'TCP' : 'UDP'} is set without IS_IPV4 or IS_IPV6`);
    if (atHeader && atPayload) return bad('SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER and SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD are both set');
    if ((atHeader || atPayload) && !v4 && !v6) return bad('a SPLIT_AT_UPPER_LAYER_PROTOCOL_* flag is set without IS_IPV4 or IS_IPV6');
    if (atPayload && !tcp && !udp) return bad('SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD is set without IS_TCP or IS_UDP');
    // Accuracy.
    if (v4 && l.ipVersion !== 4) return bad(`NDIS_NBL_FLAGS_IS_IPV4 is set but the frame is ${l.ipVersion === 6 ? 'IPv6' : 'not IP'}`);
    if (v6 && l.ipVersion !== 6) return bad(`NDIS_NBL_FLAGS_IS_IPV6 is set but the frame is ${l.ipVersion === 4 ? 'IPv4' : 'not IP'}`);
    if (tcp && l.ulpProtocol !== IPPROTO_TCP && !(l.fragment && l.ulpOffset < 0)) return bad('NDIS_NBL_FLAGS_IS_TCP is set but the frame is not TCP');
    if (udp && l.ulpProtocol !== IPPROTO_UDP && !(l.fragment && l.ulpOffset < 0)) return bad('NDIS_NBL_FLAGS_IS_UDP is set but the frame is not UDP');
    if (!split) {
      if (hd || atHeader || atPayload) bad('the frame is not split (one MDL) but HD_SPLIT or a SPLIT_AT_UPPER_LAYER_PROTOCOL_* flag is set; they must be clear on frames that are not split');
      return;
    }
    if (!hd) {
      if (atHeader || atPayload) bad('a SPLIT_AT_UPPER_LAYER_PROTOCOL_* flag is set but NDIS_NBL_FLAGS_HD_SPLIT is clear');
      return;
    }
    if (!atHeader && !atPayload) return bad('NDIS_NBL_FLAGS_HD_SPLIT is set without SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER or _PAYLOAD saying where');
    // RX-007: where the split is.
    const point = (why: string): void => this.report(RX.HDS_SPLIT_POINT, o.driver, o.object, x, why, call);
    if (mdlCount !== 2) return point(`a header-data split frame has exactly two MDLs (header, data); this one has ${mdlCount}`);
    if (l.vlanTagged) return point('the header buffer of a split frame holds an 802.1Q tag; header-data split requires the tag in Ieee8021QNetBufferListInfo');
    if (atHeader) {
      if (l.ulpOffset < 0) return point('split at the upper-layer protocol header, but the frame has no upper-layer header (a later fragment, or IPsec ESP)');
      if (firstBytes !== l.ulpOffset) return point(`SPLIT_AT_UPPER_LAYER_PROTOCOL_HEADER: the data MDL must start at the upper-layer header (offset ${l.ulpOffset}); it starts at ${firstBytes}`);
      return;
    }
    // At the payload.
    if (l.fragment && l.ulpOffset >= 0) return point('a fragment that holds the upper-layer header may be split only at that header, not at the payload');
    if (l.fragment && l.ipVersion === 6) return point('an IPv6 fragment without the upper-layer header must not be split');
    const expect = l.fragment ? l.ipHeadersEnd : l.payloadOffset;
    if (firstBytes !== expect) return point(`SPLIT_AT_UPPER_LAYER_PROTOCOL_PAYLOAD: the data MDL must start at the ${l.fragment ? 'fragment data' : l.ulpProtocol === IPPROTO_TCP ? 'TCP payload' : 'UDP payload'} (offset ${expect}); it starts at ${firstBytes}`);
  }

  /** RX-001: the OOB a receive carries is what its use requires, and true. */
  private checkReceiveOob(o: Origin, x: NetBufferList, l: SplitLayout, csum: number, vlan: number, rss: boolean, call: string): void {
    const bad = (why: string): void => this.report(RX.OOB_REQUIRED, o.driver, o.object, x, why, call);
    if (csum !== 0) {
      const c = csum >>> 0;
      const both = (a: number, b: number): boolean => (c & a) !== 0 && (c & b) !== 0;
      if (both(NDIS_CSUM_RX.TcpChecksumFailed, NDIS_CSUM_RX.TcpChecksumSucceeded)) return bad('TcpIpChecksumNetBufferListInfo says the TCP checksum both failed and succeeded');
      if (both(NDIS_CSUM_RX.UdpChecksumFailed, NDIS_CSUM_RX.UdpChecksumSucceeded)) return bad('TcpIpChecksumNetBufferListInfo says the UDP checksum both failed and succeeded');
      if (both(NDIS_CSUM_RX.IpChecksumFailed, NDIS_CSUM_RX.IpChecksumSucceeded)) return bad('TcpIpChecksumNetBufferListInfo says the IP checksum both failed and succeeded');
      const tcp = (c & (NDIS_CSUM_RX.TcpChecksumFailed | NDIS_CSUM_RX.TcpChecksumSucceeded)) !== 0;
      const udp = (c & (NDIS_CSUM_RX.UdpChecksumFailed | NDIS_CSUM_RX.UdpChecksumSucceeded)) !== 0;
      const ip = (c & (NDIS_CSUM_RX.IpChecksumFailed | NDIS_CSUM_RX.IpChecksumSucceeded)) !== 0;
      if (tcp && (l.ulpProtocol !== IPPROTO_TCP || l.fragment)) return bad('a TCP checksum result is reported for a frame that is not a whole TCP segment');
      if (udp && (l.ulpProtocol !== IPPROTO_UDP || l.fragment)) return bad('a UDP checksum result is reported for a frame that is not a whole UDP datagram');
      if (ip && l.ipVersion !== 4) return bad('an IP header checksum result is reported for a frame that is not IPv4 (only IPv4 headers have a checksum)');
    }
    if (vlan !== 0 && l.vlanTagged) bad('the frame still carries its 802.1Q tag and Ieee8021QNetBufferListInfo is set too: a driver that strips the tag moves it to the OOB, and only then');
    if (rss && !l.fragment && l.ulpOffset >= 0 && x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo] === 0) {
      const h = o.miniport.rssHashInformation;
      const covered =
        l.ipVersion === 4
          ? (h & (NDIS_HASH_IPV4 | (l.ulpProtocol === IPPROTO_TCP ? NDIS_HASH_TCP_IPV4 : 0))) !== 0
          : l.ipVersion === 6 && (h & (NDIS_HASH_IPV6 | NDIS_HASH_IPV6_EX | (l.ulpProtocol === IPPROTO_TCP ? NDIS_HASH_TCP_IPV6 | NDIS_HASH_TCP_IPV6_EX : 0))) !== 0;
      if (covered) bad(`RSS is on (hash types 0x${(h >>> 0).toString(16)}) and this IPv${l.ipVersion} frame is of a hashed type, but NetBufferListHashInfo / NetBufferListHashValue are not set`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Send path
  // ---------------------------------------------------------------------------------------------

  /** NdisVerifierHooks.sendReachesMiniport (full level): the LSO and checksum request rules. */
  sendReachesMiniport(miniport: object, chain: NetBufferList, _sendFlags: number): void {
    if (!(miniport instanceof MiniportBlock) || !miniport.isEthernet) return;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
      const lso = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpLargeSendNetBufferListInfo]!;
      const csum = x.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
      if (lso === 0 && csum === 0) continue;
      const who = this.senderOf(x, miniport);
      if (this.levelOf(who.driver) < VERIFY_FULL) continue;
      if (lso !== 0) this.checkLso(who.driver, who.object, x, lso >>> 0);
      if (csum !== 0) this.checkCsumRequest(who.driver, who.object, x, csum >>> 0);
    }
  }

  /** The driver that originated a send (by SourceHandle). */
  private senderOf(x: NetBufferList, m: MiniportBlock): { driver: string; object: string } {
    const s = x.sourceHandle;
    if (s instanceof OpenBlock) return { driver: s.protocol.name, object: s.name };
    if (s instanceof FilterModule) return { driver: s.driver.name, object: s.name };
    return { driver: '?', object: m.name };
  }

  private frameOf(x: NetBufferList): SplitLayout | null {
    const nb = x.firstNetBuffer;
    if (nb === null) return null;
    const n = copyOutOfNetBuffer(nb, 0, this.window, 0, nb.dataLength < HEADER_WINDOW ? nb.dataLength : HEADER_WINDOW);
    return analyzeSplitPoints(this.window, n, this.layout);
  }

  private checkLso(driver: string, object: string, x: NetBufferList, lso: number): void {
    const call = 'MiniportSendNetBufferLists';
    const nb = x.firstNetBuffer;
    if (nb === null || nb.next !== null) {
      this.report(TX.LSO_ONE_NET_BUFFER, driver, object, x, `an LSO send NBL must hold exactly one NET_BUFFER; this one holds ${nb === null ? 0 : 'more than one'}`, call);
      return;
    }
    const l = this.frameOf(x)!;
    if (l.ulpProtocol !== IPPROTO_TCP || l.fragment || l.payloadOffset < 0) {
      this.report(TX.LSO_FLAGS, driver, object, x, `an LSO send must be one unfragmented TCP segment; this frame is ${l.ipVersion === 0 ? 'not IP' : l.fragment ? 'an IP fragment' : `IP protocol ${l.ulpProtocol}`}`, call);
      return;
    }
    if ((l.tcpFlags & 0x26) !== 0) {
      this.report(TX.LSO_FLAGS, driver, object, x, `an LSO send must have URG, RST and SYN clear; TCP flags are 0x${l.tcpFlags.toString(16)}`, call);
      return;
    }
    const off = lsoTcpHeaderOffset(lso);
    const mdl = nb.currentMdl;
    const firstBytes = mdl === null ? 0 : Math.min(mdl.byteCount - nb.currentMdlOffset, nb.dataLength);
    if (off !== l.ulpOffset) {
      this.report(TX.LSO_HEADERS_FIRST_MDL, driver, object, x, `TcpHeaderOffset is ${off} but the TCP header starts at ${l.ulpOffset}`, call);
      return;
    }
    if (firstBytes < l.payloadOffset) {
      this.report(TX.LSO_HEADERS_FIRST_MDL, driver, object, x, `the first MDL holds ${firstBytes} bytes; the Ethernet, IP and TCP headers (${l.payloadOffset} bytes) must all be in it`, call);
      return;
    }
    if (l.ipVersion === 4) {
      const w = this.window;
      const totalLength = (w[l.ipOffset + 2]! << 8) | w[l.ipOffset + 3]!;
      const v2 = lsoType(lso) === NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE;
      if (v2 && lsoIpVersion(lso) !== NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4) {
        this.report(TX.LSO_V2_TOTAL_LENGTH, driver, object, x, 'LsoV2Transmit.IPVersion says IPv6 but the packet is IPv4', call);
      } else if (v2 && totalLength !== 0) {
        this.report(TX.LSO_V2_TOTAL_LENGTH, driver, object, x, `LSOv2 over IPv4: the IP Total Length must be 0 (the miniport takes the length from the NET_BUFFER); it is ${totalLength}`, call);
      } else if (!v2 && totalLength !== nb.dataLength - l.ipOffset) {
        this.report(TX.LSO_V2_TOTAL_LENGTH, driver, object, x, `LSOv1: the IP Total Length must be the length of the whole large packet (${nb.dataLength - l.ipOffset}); it is ${totalLength}`, call);
      }
    }
  }

  private checkCsumRequest(driver: string, object: string, x: NetBufferList, csum: number): void {
    const call = 'MiniportSendNetBufferLists';
    const v4 = (csum & NDIS_CSUM_TX.IsIPv4) !== 0;
    const v6 = (csum & NDIS_CSUM_TX.IsIPv6) !== 0;
    const tcp = (csum & NDIS_CSUM_TX.TcpChecksum) !== 0;
    const udp = (csum & NDIS_CSUM_TX.UdpChecksum) !== 0;
    const ip = (csum & NDIS_CSUM_TX.IpHeaderChecksum) !== 0;
    if (!tcp && !udp && !ip) return;
    const bad = (why: string): void => this.report(TX.CSUM_REQUEST, driver, object, x, why, call);
    if (v4 && v6) return bad('the checksum request sets both IsIPv4 and IsIPv6');
    if (!v4 && !v6) return bad('the checksum request sets neither IsIPv4 nor IsIPv6');
    if (tcp && udp) return bad('the checksum request asks for both a TCP and a UDP checksum');
    const l = this.frameOf(x);
    if (l === null) return;
    if (v4 && l.ipVersion !== 4) return bad(`IsIPv4 is set but the packet is ${l.ipVersion === 6 ? 'IPv6' : 'not IP'}`);
    if (v6 && l.ipVersion !== 6) return bad(`IsIPv6 is set but the packet is ${l.ipVersion === 4 ? 'IPv4' : 'not IP'}`);
    if (ip && l.ipVersion !== 4) return bad('an IP header checksum is requested for a packet that is not IPv4');
    if (tcp && l.ulpProtocol !== IPPROTO_TCP) return bad('a TCP checksum is requested for a packet that is not TCP');
    if (udp && l.ulpProtocol !== IPPROTO_UDP) return bad('a UDP checksum is requested for a packet that is not UDP');
    if (tcp && csumTxTcpHeaderOffset(csum) !== l.ulpOffset) return bad(`TcpHeaderOffset is ${csumTxTcpHeaderOffset(csum)} but the TCP header starts at ${l.ulpOffset}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Poisoning
  // ---------------------------------------------------------------------------------------------

  /** NdisVerifierHooks.receivesReturned: poisons the data of the returned frames (option `poison`). */
  receivesReturned(miniport: object, chain: NetBufferList): void {
    if (!this.poison || !(miniport instanceof MiniportBlock) || this.levelOf(miniport.driver.name) < VERIFY_FULL) return;
    for (let x: NetBufferList | null = chain; x !== null; x = x.next) {
      for (let nb = x.firstNetBuffer; nb !== null; nb = nb.next) {
        let left = nb.dataLength;
        let off = nb.currentMdlOffset;
        for (let mdl = nb.currentMdl; mdl !== null && left > 0; mdl = mdl.next) {
          const n = Math.min(mdl.byteCount - off, left);
          if (n > 0) mdl.buffer.fill(POISON_BYTE, mdl.byteOffset + off, mdl.byteOffset + off + n);
          left -= n;
          off = 0;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Watchdogs (Driver Verifier's NdisTimed* and NdisFilterTimed* rules)
  // ---------------------------------------------------------------------------------------------

  /** NdisVerifierHooks.watch: something timed began; look no later than the shortest limit from now. */
  watch(): void {
    const ndis = this.ndis;
    if (ndis === null || this.level === VERIFY_OFF) return;
    const due = ndis.scheduler.now() + TIMING_LIMITS_MS.filterPause * TICKS_PER_MS;
    if (due < this.dueTicks) {
      this.dueTicks = due;
      ndis.scheduler.watchdogChanged();
    }
  }

  /** SchedulerWatchdog.run: reports what is overdue and works out when to look next. */
  run(): void {
    const ndis = this.ndis;
    if (ndis === null) return;
    const now = ndis.scheduler.nowMs();
    let next = Infinity;
    const found: [string, string, string, NetBufferList | null, string, string][] = [];
    const byId = new Map<number, MiniportBlock | FilterModule>();
    for (const m of ndis.adapters) {
      byId.set(m.id, m);
      const driver = m.driver.name;
      const lv = this.levelOf(driver);
      if (lv !== VERIFY_OFF) {
        const req = m.oidBusy;
        if (req !== null) {
          const due = m.oidBusySince + TIMING_LIMITS_MS.oidComplete;
          if (now >= due) {
            if (!this.reportedOids.has(req)) {
              this.reportedOids.add(req);
              found.push([RULE.TIMED_OID_COMPLETE, driver, m.name, null, `OID request 0x${req.oid.toString(16).padStart(8, '0')} has been pending at the miniport for ${(now - m.oidBusySince).toFixed(0)} ms (limit ${TIMING_LIMITS_MS.oidComplete} ms)`, 'MiniportOidRequest']);
            }
          } else if (due < next) next = due;
        }
        if (m.outstandingSends > 0) {
          const due = m.sendsPendingSince + TIMING_LIMITS_MS.dataHang;
          if (now >= due) {
            if (this.reportedSince.get(m) !== m.sendsPendingSince) {
              this.reportedSince.set(m, m.sendsPendingSince);
              found.push([RULE.TIMED_DATA_HANG, driver, m.name, null, `${m.outstandingSends} send NBL(s) pending and no send completed for ${(now - m.sendsPendingSince).toFixed(0)} ms (limit ${TIMING_LIMITS_MS.dataHang} ms)`, 'MiniportSendNetBufferLists']);
            }
          } else if (due < next) next = due;
        }
      }
      for (const f of m.filters) {
        byId.set(f.id, f);
        if (this.levelOf(f.driver.name) === VERIFY_OFF) continue;
        if (f.state === FilterState.Pausing && f.pauseStartedAt >= 0) {
          const due = f.pauseStartedAt + TIMING_LIMITS_MS.filterPause;
          if (now >= due) {
            if (this.reportedPauses.get(f) !== f.pauseStartedAt) {
              this.reportedPauses.set(f, f.pauseStartedAt);
              found.push([RULE.FILTER_TIMED_PAUSE, f.driver.name, f.name, null, `FilterPause has not completed (NdisFPauseComplete) after ${(now - f.pauseStartedAt).toFixed(0)} ms (limit ${TIMING_LIMITS_MS.filterPause} ms)`, 'FilterPause']);
            }
          } else if (due < next) next = due;
        }
      }
    }
    if (this.level >= VERIFY_FULL) next = Math.min(next, this.scanHeldNbls(ndis, now, byId, found));
    this.dueTicks = next === Infinity ? Infinity : Math.ceil(next * TICKS_PER_MS);
    for (const [id, driver, object, nbl, message, call] of found) this.report(id, driver, object, nbl, message, call);
  }

  /** Full level: NBLs a miniport or filter has held too long (hand-off times recorded by the runtime). */
  private scanHeldNbls(ndis: Ndis, now: number, byId: Map<number, MiniportBlock | FilterModule>, found: [string, string, string, NetBufferList | null, string, string][]): number {
    let next = Infinity;
    for (const pool of ndis.nblPools) {
      if (pool.outstanding === 0) continue;
      for (const x of pool.outstandingNetBufferLists()) {
        if (x.handoffAt === 0 && x.handoffPath === NBL_HANDOFF.None) continue;
        const holder = byId.get(x.owner);
        if (holder === undefined) continue;
        let rule: string;
        let limit: number;
        let call: string;
        if (holder instanceof MiniportBlock) {
          if (x.handoffPath !== NBL_HANDOFF.Send) continue;
          [rule, limit, call] = [RULE.TIMED_DATA_SEND, TIMING_LIMITS_MS.dataSend, 'MiniportSendNetBufferLists'];
        } else if (x.handoffPath === NBL_HANDOFF.Send) {
          [rule, limit, call] = [RULE.FILTER_TIMED_SEND, TIMING_LIMITS_MS.filterSend, 'FilterSendNetBufferLists'];
        } else if (x.handoffPath === NBL_HANDOFF.Receive) {
          [rule, limit, call] = [RULE.FILTER_TIMED_RECEIVE, TIMING_LIMITS_MS.filterReceive, 'FilterReceiveNetBufferLists'];
        } else {
          continue;
        }
        const driver = holder.driver.name;
        if (this.levelOf(driver) < VERIFY_FULL) continue;
        const due = x.handoffAt + limit;
        if (now < due) {
          if (due < next) next = due;
          continue;
        }
        if (this.reportedHolds.get(x) === x.handoffAt) continue;
        this.reportedHolds.set(x, x.handoffAt);
        found.push([rule, driver, holder.name, x, `${holder instanceof MiniportBlock ? 'the miniport' : 'the filter'} has held this NBL for ${(now - x.handoffAt).toFixed(0)} ms since ${call} (limit ${limit} ms)`, call]);
      }
    }
    return next;
  }
}

/** The driver name behind an NDIS handle (adapter, filter module, binding, driver), or null. */
function driverNameOf(handle: object): string | null {
  if (handle instanceof MiniportBlock) return handle.driver.name;
  if (handle instanceof FilterModule) return handle.driver.name;
  if (handle instanceof OpenBlock) return handle.protocol.name;
  const named = handle as { name?: unknown; chars?: unknown };
  return named.chars !== undefined && typeof named.name === 'string' ? named.name : null;
}
