/**
 * Checksum task offload in software ("Offloading Checksum Tasks"): on transmit, the IPv4 header,
 * TCP and UDP checksums that a NET_BUFFER_LIST's NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO asks
 * for; on receive, validation that sets the Succeeded / Failed bits of the same OOB information.
 * NVGRE packets (NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO.IsEncapsulatedPacket)
 * get the tunnel IPv4 header, the transport IP header and the TCP/UDP checksum ("Supporting NVGRE
 * in Checksum Offload").
 *
 * Which checksums the adapter computes and validates follows its current NDIS_OFFLOAD
 * configuration, folded into the bit masks of {@link checksumConfigFromOffload} so the per-packet
 * code tests bits rather than walking objects.
 *
 * The transmit side computes each TCP/UDP checksum from scratch (the field is zeroed and the
 * pseudo-header is summed from the IP header), so the result is right whether or not the transport
 * left the pseudo-header sum in the field, as NDIS asks it to.
 */
import {
  NDIS_CSUM_RX,
  NDIS_CSUM_TX,
  NDIS_NET_BUFFER_LIST_INFO,
  csumTxTcpHeaderOffset,
  encapsulatedOffsetsValid,
  innerFrameOffset,
  isEncapsulatedPacket,
  tcpHeaderRelativeOffset,
  transportIpHeaderRelativeOffset,
} from '../../nbl/info.js';
import { DataPointer, copyIntoNetBuffer, getDataBuffer } from '../../nbl/data.js';
import type { NetBuffer } from '../../nbl/net-buffer.js';
import type { NetBufferList } from '../../nbl/net-buffer-list.js';
import { getU16, setU16 } from '../../wire/bytes.js';
import { ipv4PseudoHeaderSum, ipv6PseudoHeaderSum, onesComplementSum } from '../../wire/checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ip.js';
import type { NdisOffload } from '../../ndis/offload-types.js';
import { FrameLayout, L3, L4, TcpOptionsKind, parseFrame } from '../layout.js';

/** Bits of a checksum configuration mask (one direction). */
export const CSUM = {
  /** IPv4 header checksum. */
  Ipv4Header: 1 << 0,
  /** TCP over IPv4. */
  Tcp4: 1 << 1,
  /** UDP over IPv4. */
  Udp4: 1 << 2,
  /** TCP over IPv6. */
  Tcp6: 1 << 3,
  /** UDP over IPv6. */
  Udp6: 1 << 4,
  /** IPv4 packets with options are handled (IpOptionsSupported). */
  Ipv4Options: 1 << 5,
  /** TCP/IPv4 segments with options are handled (TcpOptionsSupported of IPv4). */
  Tcp4Options: 1 << 6,
  /** IPv6 packets with extension headers are handled (IpExtensionHeadersSupported). */
  Ipv6Extensions: 1 << 7,
  /** TCP/IPv6 segments with options are handled (TcpOptionsSupported of IPv6). */
  Tcp6Options: 1 << 8,
  /** Encapsulated (NVGRE) packets are handled (NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD). */
  Encapsulated: 1 << 9,
} as const;

/** Every bit of {@link CSUM}: an adapter that does all of it. */
export const CSUM_ALL = (1 << 10) - 1;

/** The transmit and receive masks of an adapter's checksum configuration. */
export interface ChecksumConfig {
  transmit: number;
  receive: number;
}

/**
 * Folds the checksum part of an NDIS_OFFLOAD (and its NVGRE encapsulated-packet offload, when
 * `encapsulatedEnabled`) into transmit and receive masks.
 */
export function checksumConfigFromOffload(o: NdisOffload, encapsulatedEnabled: boolean): ChecksumConfig {
  const c = o.checksum;
  const on = (v: number): boolean => v !== 0;
  let tx = 0;
  let rx = 0;
  if (on(c.ipv4Transmit.ipChecksum)) tx |= CSUM.Ipv4Header;
  if (on(c.ipv4Transmit.tcpChecksum)) tx |= CSUM.Tcp4;
  if (on(c.ipv4Transmit.udpChecksum)) tx |= CSUM.Udp4;
  if (on(c.ipv4Transmit.ipOptionsSupported)) tx |= CSUM.Ipv4Options;
  if (on(c.ipv4Transmit.tcpOptionsSupported)) tx |= CSUM.Tcp4Options;
  if (on(c.ipv6Transmit.tcpChecksum)) tx |= CSUM.Tcp6;
  if (on(c.ipv6Transmit.udpChecksum)) tx |= CSUM.Udp6;
  if (on(c.ipv6Transmit.ipExtensionHeadersSupported)) tx |= CSUM.Ipv6Extensions;
  if (on(c.ipv6Transmit.tcpOptionsSupported)) tx |= CSUM.Tcp6Options;
  if (on(c.ipv4Receive.ipChecksum)) rx |= CSUM.Ipv4Header;
  if (on(c.ipv4Receive.tcpChecksum)) rx |= CSUM.Tcp4;
  if (on(c.ipv4Receive.udpChecksum)) rx |= CSUM.Udp4;
  if (on(c.ipv4Receive.ipOptionsSupported)) rx |= CSUM.Ipv4Options;
  if (on(c.ipv4Receive.tcpOptionsSupported)) rx |= CSUM.Tcp4Options;
  if (on(c.ipv6Receive.tcpChecksum)) rx |= CSUM.Tcp6;
  if (on(c.ipv6Receive.udpChecksum)) rx |= CSUM.Udp6;
  if (on(c.ipv6Receive.ipExtensionHeadersSupported)) rx |= CSUM.Ipv6Extensions;
  if (on(c.ipv6Receive.tcpOptionsSupported)) rx |= CSUM.Tcp6Options;
  const g = o.encapsulatedPacketTaskOffloadGre;
  if (encapsulatedEnabled && g.transmitChecksumOffloadSupported !== 0) tx |= CSUM.Encapsulated;
  if (encapsulatedEnabled && g.receiveChecksumOffloadSupported !== 0) rx |= CSUM.Encapsulated;
  return { transmit: tx, receive: rx };
}

/** Outcomes of a transmit checksum request (per NET_BUFFER). */
export const ChecksumTxResult = {
  /** The requested checksums were written. */
  Ok: 0,
  /** Neither IsIPv4 nor IsIPv6 is set: nothing to do. */
  NotRequested: 1,
  /** The frame could not be parsed far enough. */
  Unparseable: 2,
  /** IsIPv4/IsIPv6 or TcpHeaderOffset disagree with the frame. */
  InfoMismatch: 3,
  /** Some requested checksum is not enabled in the current configuration (left as it was). */
  NotEnabled: 4,
} as const;

/** Sum of the pseudo-header of the IP packet described by `l` for `protocol` and `length`. */
export function pseudoHeaderSumOf(b: Uint8Array, l: FrameLayout, protocol: number, length: number): number {
  if (l.l3 === L3.Ipv4) return ipv4PseudoHeaderSum(b, l.srcOffset, b, l.dstOffset, protocol, length);
  // RFC 8200 8.1: with a routing header the destination is the final one; a type 2 routing
  // header's final destination is the home address it carries.
  const dst = l.routingType2AddressOffset >= 0 ? l.routingType2AddressOffset : l.dstOffset;
  return ipv6PseudoHeaderSum(b, l.srcOffset, b, dst, protocol, length);
}

/** Writes the IPv4 header checksum of the header at `off` (`hl` bytes). */
export function fillIpv4HeaderChecksum(b: Uint8Array, off: number, hl: number): void {
  setU16(b, off + 10, 0);
  setU16(b, off + 10, ~onesComplementSum(b, off, hl) & 0xffff);
}

/** Writes the TCP or UDP checksum of the upper-layer data described by `l` (length `l.l4Length`). */
export function fillL4Checksum(b: Uint8Array, l: FrameLayout): void {
  const off = l.l4Offset;
  const len = l.l4Length;
  if (l.l4 === L4.Tcp) {
    setU16(b, off + 16, 0);
    setU16(b, off + 16, ~onesComplementSum(b, off, len, pseudoHeaderSumOf(b, l, IPPROTO_TCP, len)) & 0xffff);
  } else {
    const ulen = getU16(b, off + 4);
    setU16(b, off + 6, 0);
    const c = ~onesComplementSum(b, off, ulen, pseudoHeaderSumOf(b, l, IPPROTO_UDP, ulen)) & 0xffff;
    setU16(b, off + 6, c === 0 ? 0xffff : c);
  }
}

/** True when the mask allows offloads on this packet's IP options / extension headers / TCP options. */
function shapeAllowed(mask: number, l: FrameLayout): boolean {
  if (l.l3 === L3.Ipv4) {
    if (l.ipv4Options && (mask & CSUM.Ipv4Options) === 0) return false;
    if (l.l4 === L4.Tcp && l.tcpOptions !== TcpOptionsKind.None && (mask & CSUM.Tcp4Options) === 0) return false;
  } else {
    if (l.ipv6ExtensionHeaders && (mask & CSUM.Ipv6Extensions) === 0) return false;
    if (l.l4 === L4.Tcp && l.tcpOptions !== TcpOptionsKind.None && (mask & CSUM.Tcp6Options) === 0) return false;
  }
  return true;
}

const innerScratch = new FrameLayout();

/**
 * Computes, in the frame at `bytes`, the checksums that the transmit checksum info `info` asks for
 * (NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO.Transmit) and the transmit mask `mask` allows.
 * `layout` must describe the frame (parseFrame). `encapsulation` is the
 * NDIS_TCP_SEND_OFFLOADS_SUPPLEMENTAL_NET_BUFFER_LIST_INFO value (0 when none): with
 * IsEncapsulatedPacket set, IsIPv4/IsIPv6 describe the tunnel header and the transport header and
 * its TCP/UDP checksum are done as well. Returns a {@link ChecksumTxResult}.
 */
export function fillTransmitChecksums(bytes: Uint8Array, layout: FrameLayout, info: number, encapsulation: number, mask: number): number {
  const v4 = (info & NDIS_CSUM_TX.IsIPv4) !== 0;
  const v6 = (info & NDIS_CSUM_TX.IsIPv6) !== 0;
  if (!v4 && !v6) return ChecksumTxResult.NotRequested;
  if (!layout.isIp) return ChecksumTxResult.Unparseable;
  if ((v4 && layout.l3 !== L3.Ipv4) || (v6 && layout.l3 !== L3.Ipv6)) return ChecksumTxResult.InfoMismatch;
  const wantIp = (info & NDIS_CSUM_TX.IpHeaderChecksum) !== 0;
  const wantTcp = (info & NDIS_CSUM_TX.TcpChecksum) !== 0;
  const wantUdp = (info & NDIS_CSUM_TX.UdpChecksum) !== 0;
  let result: number = ChecksumTxResult.Ok;
  if (isEncapsulatedPacket(encapsulation)) {
    if ((mask & CSUM.Encapsulated) === 0) return ChecksumTxResult.NotEnabled;
    if (!layout.nvgre) return ChecksumTxResult.InfoMismatch;
    const inner = innerScratch;
    parseFrame(bytes, layout.innerFrameOffset, layout.ipEnd - layout.innerFrameOffset, inner);
    if (!inner.isIp) return ChecksumTxResult.Unparseable;
    if (encapsulatedOffsetsValid(encapsulation)) {
      const f = innerFrameOffset(encapsulation);
      const t = transportIpHeaderRelativeOffset(encapsulation);
      const h = tcpHeaderRelativeOffset(encapsulation);
      if (layout.frameOffset + f !== inner.frameOffset || inner.frameOffset + t !== inner.l3Offset) return ChecksumTxResult.InfoMismatch;
      if ((wantTcp || wantUdp) && inner.l3Offset + h !== inner.l4Offset) return ChecksumTxResult.InfoMismatch;
    }
    if (wantIp && layout.l3 === L3.Ipv4) fillIpv4HeaderChecksum(bytes, layout.l3Offset, layout.ipHeaderLength);
    if (inner.l3 === L3.Ipv4 && (wantIp || wantTcp || wantUdp)) fillIpv4HeaderChecksum(bytes, inner.l3Offset, inner.ipHeaderLength);
    if ((wantTcp && inner.l4 === L4.Tcp) || (wantUdp && inner.l4 === L4.Udp)) {
      if (inner.fragment) return ChecksumTxResult.InfoMismatch;
      fillL4Checksum(bytes, inner);
    } else if (wantTcp || wantUdp) {
      return ChecksumTxResult.InfoMismatch;
    }
    return result;
  }
  if (!shapeAllowed(mask, layout)) return ChecksumTxResult.NotEnabled;
  if (wantIp && v4) {
    if ((mask & CSUM.Ipv4Header) !== 0) fillIpv4HeaderChecksum(bytes, layout.l3Offset, layout.ipHeaderLength);
    else result = ChecksumTxResult.NotEnabled;
  }
  if (wantTcp) {
    if (layout.l4 !== L4.Tcp || layout.fragment) return ChecksumTxResult.InfoMismatch;
    const declared = csumTxTcpHeaderOffset(info);
    if (declared !== 0 && layout.frameOffset + declared !== layout.l4Offset) return ChecksumTxResult.InfoMismatch;
    if ((mask & (v4 ? CSUM.Tcp4 : CSUM.Tcp6)) !== 0) fillL4Checksum(bytes, layout);
    else result = ChecksumTxResult.NotEnabled;
  } else if (wantUdp) {
    if (layout.l4 !== L4.Udp || layout.fragment) return ChecksumTxResult.InfoMismatch;
    if ((mask & (v4 ? CSUM.Udp4 : CSUM.Udp6)) !== 0) fillL4Checksum(bytes, layout);
    else result = ChecksumTxResult.NotEnabled;
  }
  return result;
}

/** Validates the upper-layer checksum of `l`: 1 good, 0 bad, -1 not checked. */
function checkL4(b: Uint8Array, l: FrameLayout, mask: number): number {
  if (l.fragment || l.l4Offset < 0 || l.reason !== 0) return -1;
  const v4 = l.l3 === L3.Ipv4;
  if (l.l4 === L4.Tcp) {
    if ((mask & (v4 ? CSUM.Tcp4 : CSUM.Tcp6)) === 0) return -1;
    const len = l.l4Length;
    return onesComplementSum(b, l.l4Offset, len, pseudoHeaderSumOf(b, l, IPPROTO_TCP, len)) === 0xffff ? 1 : 0;
  }
  if (l.l4 === L4.Udp) {
    if ((mask & (v4 ? CSUM.Udp4 : CSUM.Udp6)) === 0) return -1;
    const csum = getU16(b, l.l4Offset + 6);
    // Over IPv4 a zero checksum means none was computed: nothing to validate. Over IPv6 it is
    // invalid (RFC 8200 8.1).
    if (csum === 0) return v4 ? -1 : 0;
    const len = getU16(b, l.l4Offset + 4);
    return onesComplementSum(b, l.l4Offset, len, pseudoHeaderSumOf(b, l, IPPROTO_UDP, len)) === 0xffff ? 1 : 0;
  }
  return -1;
}

/**
 * Validates the checksums of a received frame described by `layout`, as the receive mask `mask`
 * enables them, and returns the NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO.Receive bits. A check
 * that does not apply (IPv6 has no header checksum, a fragment has no whole TCP/UDP datagram,
 * an option or extension header the configuration does not cover) leaves both of its bits clear,
 * which tells the stack to check in software. For an NVGRE frame with encapsulated offload enabled
 * the tunnel and transport IP headers are both checked: IpChecksumSucceeded only when both pass,
 * IpChecksumFailed when either fails; TCP/UDP is the transport (inner) one.
 */
export function validateChecksums(bytes: Uint8Array, layout: FrameLayout, mask: number): number {
  if (!layout.isIp) return 0;
  let bits = 0;
  let ip = -1; // 1 good, 0 bad, -1 not checked
  if (layout.l3 === L3.Ipv4 && (mask & CSUM.Ipv4Header) !== 0 && (!layout.ipv4Options || (mask & CSUM.Ipv4Options) !== 0)) {
    ip = onesComplementSum(bytes, layout.l3Offset, layout.ipHeaderLength) === 0xffff ? 1 : 0;
  }
  let l4 = -1;
  let upper: FrameLayout = layout;
  if (layout.nvgre && !layout.fragment && (mask & CSUM.Encapsulated) !== 0) {
    const inner = innerScratch;
    parseFrame(bytes, layout.innerFrameOffset, layout.ipEnd - layout.innerFrameOffset, inner);
    if (inner.isIp) {
      upper = inner;
      if (inner.l3 === L3.Ipv4 && (mask & CSUM.Ipv4Header) !== 0) {
        const innerIp = onesComplementSum(bytes, inner.l3Offset, inner.ipHeaderLength) === 0xffff ? 1 : 0;
        if (ip === -1) ip = innerIp;
        else ip = ip === 1 && innerIp === 1 ? 1 : 0;
      }
    }
  }
  if (upper.isIp && shapeAllowed(mask, upper)) l4 = checkL4(bytes, upper, mask);
  if (ip === 1) bits |= NDIS_CSUM_RX.IpChecksumSucceeded;
  else if (ip === 0) bits |= NDIS_CSUM_RX.IpChecksumFailed;
  if (l4 !== -1) {
    if (upper.l4 === L4.Tcp) bits |= l4 === 1 ? NDIS_CSUM_RX.TcpChecksumSucceeded : NDIS_CSUM_RX.TcpChecksumFailed;
    else bits |= l4 === 1 ? NDIS_CSUM_RX.UdpChecksumSucceeded : NDIS_CSUM_RX.UdpChecksumFailed;
  }
  return bits;
}

/**
 * Scratch space for the NET_BUFFER-level functions: a frame copy for data spread over several MDLs,
 * and a layout. One per thread of use; reused for every packet.
 */
export class ChecksumScratch {
  readonly layout = new FrameLayout();
  readonly pointer = new DataPointer();
  declare readonly storage: Uint8Array;

  constructor(maxFrame = 65_536 + 128) {
    this.storage = new Uint8Array(maxFrame);
  }
}

/**
 * Computes the transmit checksums a NET_BUFFER_LIST asks for (its TcpIpChecksumNetBufferListInfo
 * and TcpSendOffloadsSupplementalNetBufferListInfo) in each of its NET_BUFFERs, in place. Data
 * spread over several MDLs is copied into `scratch`, checksummed there and the checksum fields
 * written back. Returns the first non-Ok {@link ChecksumTxResult} of its NET_BUFFERs, or Ok.
 */
export function computeTransmitChecksums(nbl: NetBufferList, mask: number, scratch: ChecksumScratch): number {
  const info = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo]!;
  if ((info & (NDIS_CSUM_TX.IsIPv4 | NDIS_CSUM_TX.IsIPv6)) === 0) return ChecksumTxResult.NotRequested;
  const encap = nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpSendOffloadsSupplementalNetBufferListInfo]!;
  let worst: number = ChecksumTxResult.Ok;
  for (let nb: NetBuffer | null = nbl.firstNetBuffer; nb !== null; nb = nb.next) {
    const r = transmitOne(nb, info, encap, mask, scratch);
    if (r !== ChecksumTxResult.Ok && worst === ChecksumTxResult.Ok) worst = r;
  }
  return worst;
}

function transmitOne(nb: NetBuffer, info: number, encap: number, mask: number, s: ChecksumScratch): number {
  const len = nb.dataLength;
  if (len > s.storage.length) return ChecksumTxResult.Unparseable;
  const p = getDataBuffer(nb, len, s.storage, 1, 0, s.pointer);
  if (p === null) return ChecksumTxResult.Unparseable;
  const b = p.bytes;
  const l = s.layout;
  parseFrame(b, p.offset, len, l);
  const r = fillTransmitChecksums(b, l, info, encap, mask);
  if (b === s.storage) {
    // Write the checksum fields back into the NET_BUFFER's own MDLs.
    writeBack(nb, b, l.l3 === L3.Ipv4 ? l.l3Offset + 10 : -1);
    if (l.l4 === L4.Tcp) writeBack(nb, b, l.l4Offset + 16);
    else if (l.l4 === L4.Udp) writeBack(nb, b, l.l4Offset + 6);
    if (l.nvgre) {
      const inner = innerScratch;
      if (inner.l3 === L3.Ipv4) writeBack(nb, b, inner.l3Offset + 10);
      if (inner.l4 === L4.Tcp) writeBack(nb, b, inner.l4Offset + 16);
      else if (inner.l4 === L4.Udp) writeBack(nb, b, inner.l4Offset + 6);
    }
  }
  return r;
}

function writeBack(nb: NetBuffer, b: Uint8Array, at: number): void {
  if (at >= 0) copyIntoNetBuffer(nb, at, b, at, 2);
}

/**
 * Validates the checksums of a received NET_BUFFER_LIST's first NET_BUFFER (one per NBL on
 * Ethernet receive) and stores the Receive bits in its TcpIpChecksumNetBufferListInfo. Returns the
 * bits.
 */
export function validateReceiveChecksums(nbl: NetBufferList, mask: number, scratch: ChecksumScratch): number {
  const nb = nbl.firstNetBuffer;
  let bits = 0;
  if (nb !== null && nb.dataLength <= scratch.storage.length) {
    const p = getDataBuffer(nb, nb.dataLength, scratch.storage, 1, 0, scratch.pointer);
    if (p !== null) {
      parseFrame(p.bytes, p.offset, nb.dataLength, scratch.layout);
      bits = validateChecksums(p.bytes, scratch.layout, mask);
    }
  }
  nbl.netBufferListInfo[NDIS_NET_BUFFER_LIST_INFO.TcpIpChecksumNetBufferListInfo] = bits;
  return bits;
}
