/**
 * The "hardware" of the virtual miniport: an Ethernet hub in memory. Every adapter plugged into a
 * hub sees the frames the others transmit (the hub itself does no filtering, as a hub does not);
 * each adapter's receive logic then applies its packet filter, as a NIC does. A port can be
 * unplugged (link down) and frames to a port whose receive ring is full are dropped and counted.
 */

/** What an adapter offers the hub: a receive port. */
export interface HubPort {
  /** Port name (the adapter name). */
  readonly portName: string;
  /** True while the cable is plugged in. */
  linkUp: boolean;
  /**
   * Offers a frame that `bytes[offset..offset+length)` holds (a view valid only during the call,
   * possibly spread over `more` fragments), with the 802.1Q tag to insert (0 for none). Returns
   * false when the port dropped it.
   */
  receiveFromWire(src: WireFrame): boolean;
}

/**
 * A frame on the wire as the sender's "DMA" describes it: the sender's NET_BUFFER memory, possibly
 * several pieces, plus the VLAN tag to insert. Reused by the sender for every frame.
 */
export class WireFrame {
  /** Pieces of the frame: [bytes, offset, length] triples flattened. */
  readonly pieces: Uint8Array[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  count = 0;
  totalLength = 0;
  /** TCI of an 802.1Q tag to insert after the MAC addresses (0 = untagged). */
  vlanTci = 0;
  /** The adapter that sent it. */
  from: HubPort | null = null;

  reset(): void {
    this.count = 0;
    this.totalLength = 0;
    this.vlanTci = 0;
  }

  add(bytes: Uint8Array, offset: number, length: number): void {
    const i = this.count++;
    this.pieces[i] = bytes;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.totalLength += length;
  }

  /** Reads byte `i` of the frame as it goes on the wire (with the tag inserted). */
  byteAt(i: number): number {
    if (this.vlanTci !== 0) {
      if (i >= 12 && i < 16) {
        if (i === 12) return 0x81;
        if (i === 13) return 0x00;
        if (i === 14) return (this.vlanTci >> 8) & 0xff;
        return this.vlanTci & 0xff;
      }
      if (i >= 16) i -= 4;
    }
    for (let p = 0; p < this.count; p++) {
      const len = this.lengths[p]!;
      if (i < len) return this.pieces[p]![this.offsets[p]! + i]!;
      i -= len;
    }
    return 0;
  }

  /** Length on the wire (tag included). */
  get wireLength(): number {
    return this.totalLength + (this.vlanTci !== 0 ? 4 : 0);
  }

  /** Copies the wire bytes into `dst[dstOffset..]`; returns the count copied. */
  copyTo(dst: Uint8Array, dstOffset: number): number {
    let written = 0;
    let skipFirst = 0;
    if (this.vlanTci !== 0) {
      // First 12 bytes, then the tag, then the rest.
      written += this.copyRange(dst, dstOffset, 0, 12);
      dst[dstOffset + 12] = 0x81;
      dst[dstOffset + 13] = 0x00;
      dst[dstOffset + 14] = (this.vlanTci >> 8) & 0xff;
      dst[dstOffset + 15] = this.vlanTci & 0xff;
      written += 4;
      skipFirst = 12;
      written += this.copyRange(dst, dstOffset + 16, skipFirst, this.totalLength - skipFirst);
      return written;
    }
    return this.copyRange(dst, dstOffset, 0, this.totalLength);
  }

  private copyRange(dst: Uint8Array, at: number, from: number, length: number): number {
    let copied = 0;
    for (let p = 0; p < this.count && copied < length; p++) {
      const len = this.lengths[p]!;
      if (from >= len) {
        from -= len;
        continue;
      }
      const n = Math.min(len - from, length - copied);
      const src = this.pieces[p]!;
      const so = this.offsets[p]! + from;
      if (n < 64) for (let k = 0; k < n; k++) dst[at + copied + k] = src[so + k]!;
      else dst.set(src.subarray(so, so + n), at + copied);
      copied += n;
      from = 0;
    }
    return copied;
  }
}

/** An Ethernet hub joining the virtual adapters plugged into it. */
export class VirtualHub {
  readonly name: string;
  private readonly ports: HubPort[] = [];
  /** Frames the hub repeated, and deliveries refused by receivers (full ring, link down). */
  frames = 0;
  refused = 0;

  constructor(name: string) {
    this.name = name;
  }

  plug(port: HubPort): void {
    if (!this.ports.includes(port)) this.ports.push(port);
  }

  unplug(port: HubPort): void {
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
  }

  /** Ports plugged in. */
  get portCount(): number {
    return this.ports.length;
  }

  /** Repeats a frame to every other port whose link is up. Returns the number of ports that took it. */
  repeat(frame: WireFrame): number {
    this.frames++;
    let taken = 0;
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p === frame.from || !p.linkUp) continue;
      if (p.receiveFromWire(frame)) taken++;
      else this.refused++;
    }
    return taken;
  }
}
