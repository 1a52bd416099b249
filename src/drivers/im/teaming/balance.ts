/**
 * Load balancing of a team: the flow hash of an outgoing frame and the table that maps hash values
 * to members.
 *
 * The hash is the Toeplitz hash NDIS defines for RSS ("RSS Hashing Functions"), over the same
 * fields RSS hashes (source address, destination address, source port, destination port), so a
 * frame the transport already tagged with its RSS hash value maps to the member its computed hash
 * would. The member table works like an RSS indirection table: the low bits of the hash select an
 * entry, each entry names a member. When a member leaves, only its entries move (flows on the
 * other members keep their member, hence their order); when it comes back it takes a fair share
 * of entries from the members that hold more than theirs.
 */
import { copyOutOfNetBuffer, NDIS_NET_BUFFER_LIST_INFO, type NetBufferList } from '../../../nbl/index.js';
import { RSS_VERIFICATION_KEY, ToeplitzHasher } from '../../../offload/rss/toeplitz.js';
import { LoadBalancingAlgorithm } from './constants.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** Bytes of a frame the hash may look at: Ethernet + one tag + the largest IPv4 header + ports. */
const HASH_WINDOW = 18 + 60 + 4;

/**
 * Computes the flow hash of outgoing frames. One per team; reuses a scratch buffer for headers
 * that are not contiguous in the first MDL, so hashing allocates nothing.
 */
export class FlowHasher {
  private readonly toeplitz: ToeplitzHasher;
  private readonly scratch = new Uint8Array(HASH_WINDOW);

  /** `key`: the Toeplitz secret key (40 bytes; default the key of the RSS verification page). */
  constructor(key: ArrayLike<number> = RSS_VERIFICATION_KEY) {
    this.toeplitz = new ToeplitzHasher(key);
  }

  /**
   * The hash of `nbl` under `algorithm`, as a signed 32-bit integer: its RSS hash value when the
   * sender set one and the algorithm is TransportPorts, else the hash of its first NET_BUFFER's
   * headers. Never throws; a frame too short to parse hashes to 0.
   * @cost O(1); no allocation.
   */
  hashNetBufferList(nbl: NetBufferList, algorithm: number): number {
    if (algorithm === LoadBalancingAlgorithm.TransportPorts && (nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashInfo]! & 0xff) !== 0) {
      return nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.NetBufferListHashValue]! | 0;
    }
    const nb = nbl.firstNetBuffer;
    if (nb === null) return 0;
    const want = nb.dataLength < HASH_WINDOW ? nb.dataLength : HASH_WINDOW;
    const mdl = nb.currentMdl;
    if (mdl !== null && mdl.byteCount - nb.currentMdlOffset >= want) {
      return this.hashFrame(mdl.buffer, mdl.byteOffset + nb.currentMdlOffset, want, algorithm);
    }
    const n = copyOutOfNetBuffer(nb, 0, this.scratch, 0, want);
    return this.hashFrame(this.scratch, 0, n, algorithm);
  }

  /**
   * The hash of the Ethernet frame at `bytes[offset .. offset + length)` under `algorithm` (one
   * 802.1Q or 802.1ad tag is skipped). Never throws: fields past `length` are not read.
   * @cost O(1); no allocation.
   */
  hashFrame(bytes: Uint8Array, offset: number, length: number, algorithm: number): number {
    if (length < 14) return 0;
    const end = offset + length;
    const t = this.toeplitz;
    if (algorithm === LoadBalancingAlgorithm.MacAddresses) return t.hash(bytes, offset, 12);
    let type = (bytes[offset + 12]! << 8) | bytes[offset + 13]!;
    let l3 = offset + 14;
    if ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && length >= 18) {
      type = (bytes[offset + 16]! << 8) | bytes[offset + 17]!;
      l3 = offset + 18;
    }
    const ports = algorithm === LoadBalancingAlgorithm.TransportPorts;
    if (type === ETHERTYPE_IPV4 && l3 + 20 <= end && bytes[l3]! >> 4 === 4) {
      const ihl = (bytes[l3]! & 0x0f) << 2;
      if (ihl < 20) return t.hash(bytes, offset, 12);
      const proto = bytes[l3 + 9]!;
      // MF set or a fragment offset: not every fragment carries the ports, so hash the addresses.
      const fragmented = (((bytes[l3 + 6]! << 8) | bytes[l3 + 7]!) & 0x3fff) !== 0;
      const l4 = l3 + ihl;
      if (ports && !fragmented && (proto === IPPROTO_TCP || proto === IPPROTO_UDP) && l4 + 4 <= end) {
        return t.hashIpv4Ports(bytes, l3 + 12, l3 + 16, l4);
      }
      return t.hashIpv4(bytes, l3 + 12, l3 + 16);
    }
    if (type === ETHERTYPE_IPV6 && l3 + 40 <= end && bytes[l3]! >> 4 === 6) {
      const next = bytes[l3 + 6]!;
      if (ports && (next === IPPROTO_TCP || next === IPPROTO_UDP) && l3 + 44 <= end) {
        return t.hashIpv6Ports(bytes, l3 + 8, l3 + 24, l3 + 40);
      }
      return t.hashIpv6(bytes, l3 + 8, l3 + 24);
    }
    return t.hash(bytes, offset, 12);
  }
}

/** Entries of a member table (a power of two; the hash's low bits index it). */
export const MEMBER_TABLE_SIZE = 128;

/** Most members a member table deals to. */
const MAX_SLOTS = 64;

/**
 * The member table: MEMBER_TABLE_SIZE entries, each the slot number of a member (its position in
 * the team's member list) or -1 when no member is active.
 *
 * Each entry also has a home: the member it goes to when every member of the team is in use (a
 * fair deal over the members). An entry is at home whenever its home member is active; entries
 * whose home member is not active are dealt to the active members, staying where they were while
 * that keeps the shares fair. So a member that fails gives up exactly its own entries and, when it
 * comes back, takes exactly those back: flows return to the member they had before the failover.
 */
export class MemberTable {
  /** Entry i: the member slot that hash values with low bits i go to. */
  readonly entries = new Int16Array(MEMBER_TABLE_SIZE).fill(-1);
  /** Entry i's member when every member is active. */
  readonly home = new Int16Array(MEMBER_TABLE_SIZE).fill(-1);
  private homeMembers = 0;
  private readonly kept = new Int32Array(MAX_SLOTS);
  private readonly quota = new Int32Array(MAX_SLOTS);
  private readonly pending = new Uint8Array(MEMBER_TABLE_SIZE);
  private readonly allSlots: number[] = [];

  /** The member slot for hash value `hash`. */
  lookup(hash: number): number {
    return this.entries[hash & (MEMBER_TABLE_SIZE - 1)]!;
  }

  /** Forgets every assignment (the member slots were renumbered). */
  reset(): void {
    this.entries.fill(-1);
    this.home.fill(-1);
    this.homeMembers = 0;
  }

  /**
   * Deals the homes over member slots 0 .. count-1 (fewer than 64). A change of count moves as
   * few homes as possible: each member keeps up to its fair share of the homes it had.
   */
  setMembers(count: number): void {
    if (count === this.homeMembers) return;
    this.homeMembers = count;
    const all = this.allSlots;
    all.length = 0;
    for (let i = 0; i < count; i++) all.push(i);
    this.deal(this.home, all, false);
  }

  /**
   * Reassigns the entries to the member slots in `active` (each below 64): entries whose home is
   * active go home; the others keep their member while it is active and below its fair share
   * (MEMBER_TABLE_SIZE / active members, the first ones one more when it does not divide), and
   * the rest go to the members below their share.
   */
  rebuild(active: readonly number[]): void {
    this.deal(this.entries, active, true);
  }

  private deal(e: Int16Array, active: readonly number[], useHome: boolean): void {
    const k = active.length;
    if (k === 0) {
      e.fill(-1);
      return;
    }
    const kept = this.kept;
    const quota = this.quota;
    const pending = this.pending;
    const home = this.home;
    kept.fill(0);
    quota.fill(0);
    const base = Math.floor(MEMBER_TABLE_SIZE / k);
    const extra = MEMBER_TABLE_SIZE % k;
    for (let i = 0; i < k; i++) quota[active[i]!] = base + (i < extra ? 1 : 0);
    // Home entries of active members go home.
    for (let i = 0; i < MEMBER_TABLE_SIZE; i++) {
      const h = useHome ? home[i]! : -1;
      if (h >= 0 && quota[h]! > 0) {
        e[i] = h;
        kept[h]!++;
        pending[i] = 0;
      } else {
        pending[i] = 1;
      }
    }
    // The others stay with an active member below its share.
    for (let i = 0; i < MEMBER_TABLE_SIZE; i++) {
      if (pending[i] === 0) continue;
      const slot = e[i]!;
      if (slot >= 0 && kept[slot]! < quota[slot]!) {
        kept[slot]!++;
        pending[i] = 0;
      }
    }
    // The rest go, in order, to the members below their share (or, should homes have overfilled
    // some, to the member with the fewest).
    let next = 0;
    for (let i = 0; i < MEMBER_TABLE_SIZE; i++) {
      if (pending[i] === 0) continue;
      let slot = -1;
      for (let t = 0; t < k; t++) {
        const c = active[(next + t) % k]!;
        if (kept[c]! < quota[c]!) {
          slot = c;
          next = (next + t) % k;
          break;
        }
      }
      if (slot < 0) {
        slot = active[0]!;
        for (let t = 1; t < k; t++) if (kept[active[t]!]! < kept[slot]!) slot = active[t]!;
      }
      e[i] = slot;
      kept[slot]!++;
    }
  }

  /** Entries held by member slot `slot`. */
  share(slot: number): number {
    let n = 0;
    for (let i = 0; i < MEMBER_TABLE_SIZE; i++) if (this.entries[i] === slot) n++;
    return n;
  }
}
