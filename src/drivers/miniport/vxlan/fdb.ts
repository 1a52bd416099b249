/**
 * The VXLAN forwarding database (RFC 7348 section 4.2, "flood and learn"): which remote VTEP an
 * inner MAC address sits behind. Entries are learned from the inner source address and outer
 * source IP of received frames, refreshed by every frame from that address, moved when the address
 * shows up behind another VTEP, and aged out when silent for the aging time, as a learning bridge
 * does (IEEE 802.1D 7.9, the default aging time of 300 s). Frames to an address without an entry
 * are flooded to the static remote list (the head-end replication list that stands in for the
 * multicast group of RFC 7348 4.2).
 *
 * MAC addresses are keys as 48-bit numbers, so a lookup allocates nothing; an entry object is
 * allocated once when an address is first learned and reused while it lives.
 */

/** A remote VXLAN tunnel end point: outer IP address (text, as dgram takes it) and UDP port. */
export class VxlanRemote {
  /** Outer IP address of the VTEP. */
  readonly address: string;
  /** UDP destination port (4789 unless configured otherwise). */
  readonly port: number;
  /** Frames sent to this VTEP. */
  framesSent = 0;

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
  }
}

/** One learned (or configured) MAC address and the VTEP it was last seen behind. */
export class FdbEntry {
  /** The MAC address as a 48-bit number (see {@link macKey}). */
  readonly mac: number;
  /** The VTEP frames to this address go to. */
  remote: VxlanRemote;
  /** Scheduler milliseconds when a frame from this address last arrived. */
  lastSeen: number;
  /** Configured entries never age and are never moved by learning. */
  readonly isStatic: boolean;

  constructor(mac: number, remote: VxlanRemote, lastSeen: number, isStatic: boolean) {
    this.mac = mac;
    this.remote = remote;
    this.lastSeen = lastSeen;
    this.isStatic = isStatic;
  }
}

/** The 48-bit number of the MAC address at `bytes[offset..offset+6)`. */
export function macKey(bytes: Uint8Array, offset: number): number {
  const hi = (bytes[offset]! << 8) | bytes[offset + 1]!;
  const lo = ((bytes[offset + 2]! << 24) | (bytes[offset + 3]! << 16) | (bytes[offset + 4]! << 8) | bytes[offset + 5]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** The "aa:bb:cc:dd:ee:ff" text of a 48-bit MAC key (for listings). */
export function formatMacKey(key: number): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push((Math.floor(key / 2 ** (8 * i)) & 0xff).toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Counters of the forwarding database. */
export class FdbCounters {
  /** Addresses learned for the first time. */
  learned = 0;
  /** Learned addresses that moved to another VTEP. */
  moved = 0;
  /** Learned addresses removed after the aging time. */
  aged = 0;
  /** Addresses not learned because the table was full. */
  tableFull = 0;
}

/** The forwarding database of one VXLAN adapter. */
export class VxlanForwardingTable {
  /** Silence after which a learned entry is removed, in milliseconds. */
  readonly agingMs: number;
  /** Most entries the table holds (learning stops when full, as on a switch). */
  readonly capacity: number;
  readonly counters = new FdbCounters();
  private readonly entries = new Map<number, FdbEntry>();

  constructor(agingMs: number, capacity: number) {
    this.agingMs = agingMs;
    this.capacity = capacity;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry for `mac`, or undefined (flood). */
  lookup(mac: number): FdbEntry | undefined {
    return this.entries.get(mac);
  }

  /**
   * Records that a frame from `mac` arrived from `remote` at `now` (ms): refreshes, moves or
   * creates the entry. Static entries are left alone.
   */
  learn(mac: number, remote: VxlanRemote, now: number): void {
    const e = this.entries.get(mac);
    if (e !== undefined) {
      if (e.isStatic) return;
      if (e.remote !== remote) {
        e.remote = remote;
        this.counters.moved++;
      }
      e.lastSeen = now;
      return;
    }
    if (this.entries.size >= this.capacity) {
      this.counters.tableFull++;
      return;
    }
    this.entries.set(mac, new FdbEntry(mac, remote, now, false));
    this.counters.learned++;
  }

  /** Adds a configured entry (never aged; what `bridge fdb add ... dst` does on Linux). */
  addStatic(mac: number, remote: VxlanRemote): void {
    this.entries.set(mac, new FdbEntry(mac, remote, 0, true));
  }

  /** Removes learned entries silent for longer than the aging time; returns how many went. */
  age(now: number): number {
    let n = 0;
    for (const [mac, e] of this.entries) {
      if (!e.isStatic && now - e.lastSeen > this.agingMs) {
        this.entries.delete(mac);
        n++;
      }
    }
    this.counters.aged += n;
    return n;
  }

  /** Removes every learned entry (a reset). */
  flush(): void {
    for (const [mac, e] of this.entries) if (!e.isStatic) this.entries.delete(mac);
  }

  /** The entries, for listings (allocates). */
  list(): { mac: string; address: string; port: number; static: boolean; lastSeen: number }[] {
    return [...this.entries.values()].map((e) => ({ mac: formatMacKey(e.mac), address: e.remote.address, port: e.remote.port, static: e.isStatic, lastSeen: e.lastSeen }));
  }
}
