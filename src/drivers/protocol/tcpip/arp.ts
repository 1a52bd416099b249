/**
 * ARP (RFC 826) for the IPv4 side of each interface: answering requests for our addresses,
 * learning senders (the RFC's merge rule), resolving next hops for the neighbor cache (requests
 * broadcast while INCOMPLETE, unicast in PROBE), announcing our addresses (gratuitous ARP,
 * RFC 5227 2.3) and noticing another station claiming one of them (counted as a conflict).
 */
import { getDataBuffer, type DataPointer, type NetBuffer } from '../../../nbl/index.js';
import { ARP_REQUEST, ARP_RESPONSE, ArpPacket } from '../../../wire/arp.js';
import { setIpv4Mapped } from '../../../wire/address.js';
import { EtherType } from '../../../wire/ethernet.js';
import { WireReason } from '../../../wire/reason.js';
import { isUnspecifiedAddress, prefixMatches } from './addresses.js';
import type { IpInterface } from './interface.js';
import { IpDropReason } from './statistics.js';
import type { TcpIp } from './stack.js';

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** ARP of one stack. */
export class ArpLayer {
  readonly stack: TcpIp;
  private readonly view: ArpPacket;
  private readonly scratch: Uint8Array;
  private readonly sender: Uint8Array;
  private readonly target: Uint8Array;

  constructor(stack: TcpIp) {
    this.stack = stack;
    this.view = new ArpPacket();
    this.scratch = new Uint8Array(28);
    this.sender = new Uint8Array(16);
    this.target = new Uint8Array(16);
  }

  /** An ARP packet arrived (the NET_BUFFER's data start is past the Ethernet header). */
  input(iface: IpInterface, nb: NetBuffer, dp: DataPointer): void {
    const n = this.stack.counters.neighbor;
    if (nb.dataLength < 28) {
      n.arpWire[WireReason.Truncated]!++;
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    const p = getDataBuffer(nb, 28, this.scratch, 1, 0, dp)!;
    const v = this.view;
    const r = v.wrap(p.bytes, p.offset, 28);
    if (r !== WireReason.Ok) {
      n.arpWire[r]!++;
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    const op = v.operation;
    if (op !== ARP_REQUEST && op !== ARP_RESPONSE) {
      n.arpWire[WireReason.ArpBadOperation]!++;
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    const b = v.bytes;
    const sha = v.senderHardwareAddressOffset;
    if ((b[sha]! & 1) !== 0) {
      // A group address as sender hardware address is never valid.
      iface.drops[IpDropReason.Malformed]!++;
      return;
    }
    const m = iface.mac;
    if (b[sha] === m[0] && b[sha + 1] === m[1] && b[sha + 2] === m[2] && b[sha + 3] === m[3] && b[sha + 4] === m[4] && b[sha + 5] === m[5]) {
      iface.drops[IpDropReason.ArpIgnored]!++;
      return;
    }
    if (op === ARP_REQUEST) n.arpRequestsIn++;
    else n.arpRepliesIn++;
    const spa = this.sender;
    const tpa = this.target;
    setIpv4Mapped(spa, b, v.senderProtocolAddressOffset);
    setIpv4Mapped(tpa, b, v.targetProtocolAddressOffset);
    if (!isUnspecifiedAddress(spa) && iface.findAddress(spa) !== null) {
      // Another station claims one of our addresses (RFC 5227 2.4): counted, and the claim is not learnt.
      n.arpConflicts++;
      iface.drops[IpDropReason.ArpIgnored]!++;
      return;
    }
    const forUs = iface.hasLocalAddress(tpa);
    // RFC 826: update the sender if known ("merge"); add it when the packet is for us.
    let entry = null;
    if (!isUnspecifiedAddress(spa)) {
      const solicited = op === ARP_RESPONSE && forUs;
      entry = iface.neighbors.update(spa, b, sha, solicited, true, forUs, -1);
    }
    if (!forUs) {
      // Not about us and not about a neighbor we know (an announcement of another host is not counted).
      if (entry === null && !v.isGratuitous) iface.drops[IpDropReason.ArpIgnored]!++;
      return;
    }
    if (op === ARP_REQUEST) this.sendReply(iface, b, sha, tpa, spa);
  }

  /**
   * Sends an ARP request for `target` (16-byte, IPv4-mapped): broadcast, or to `unicastMac` when
   * probing a known neighbor. The sender address is ours on the target's subnet.
   */
  sendRequest(iface: IpInterface, target: Uint8Array, unicastMac: Uint8Array | null): void {
    let from: Uint8Array | null = null;
    for (const a of iface.addresses) {
      if (a.v4 && a.usable) {
        if (from === null || prefixMatches(a.address, target, a.prefixLength)) from = a.address;
      }
    }
    if (from === null) return;
    this.emit(iface, ARP_REQUEST, unicastMac ?? BROADCAST, 0, from, null, 0, target);
    this.stack.counters.neighbor.arpRequestsOut++;
  }

  /** Announces `address` (a gratuitous ARP request: sender and target both our address, RFC 5227 2.3). */
  announce(iface: IpInterface, address: Uint8Array): void {
    this.emit(iface, ARP_REQUEST, BROADCAST, 0, address, null, 0, address);
    this.stack.counters.neighbor.arpRequestsOut++;
  }

  private sendReply(iface: IpInterface, b: Uint8Array, sha: number, ourAddress: Uint8Array, theirAddress: Uint8Array): void {
    this.emit(iface, ARP_RESPONSE, b, sha, ourAddress, b, sha, theirAddress);
    this.stack.counters.neighbor.arpRepliesOut++;
  }

  private emit(
    iface: IpInterface,
    op: number,
    dstMac: Uint8Array,
    dstMacOffset: number,
    spa: Uint8Array,
    tha: Uint8Array | null,
    thaOffset: number,
    tpa: Uint8Array,
  ): void {
    const nbl = iface.allocatePacket(28);
    if (nbl === null) return;
    const nb = nbl.firstNetBuffer!;
    const mdl = nb.currentMdl!;
    const at = mdl.byteOffset + nb.currentMdlOffset;
    const v = this.view;
    v.wrapForEmit(mdl.buffer, at, 28);
    v.operation = op;
    v.setSenderHardwareAddress(iface.mac);
    for (let i = 0; i < 4; i++) mdl.buffer[at + 14 + i] = spa[12 + i]!;
    if (tha === null) mdl.buffer.fill(0, at + 18, at + 24);
    else v.setTargetHardwareAddress(tha, thaOffset);
    for (let i = 0; i < 4; i++) mdl.buffer[at + 24 + i] = tpa[12 + i]!;
    iface.prependEthernet(nbl, EtherType.Arp);
    iface.writeDestinationMac(nbl, dstMac, dstMacOffset);
    iface.enqueueTx(nbl);
  }
}
