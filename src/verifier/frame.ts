/**
 * What the verifier needs to know about a frame's headers to judge where it may be split: the
 * region from the MAC header to the end of the upper-layer header, the offsets where one header
 * ends and the next begins (a split there is not "in the middle" of a header), and the legal
 * header-data split points (the start of the upper-layer header; the start of the TCP or UDP
 * payload).
 */
import { EthernetLayer3, findEthernetLayer3 } from '../wire/ethernet.js';
import { Ipv6HeaderWalk, walkIpv6Headers } from '../wire/ipv6.js';
import { IPPROTO_AH, IPPROTO_ESP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ip.js';

/** Most header boundaries a frame can have in this analysis. */
const MAX_BOUNDARIES = 16;

/** The layout of a frame's headers (offsets from the start of the frame). */
export class SplitLayout {
  /** 4, 6, or 0 (not IP / not parseable). */
  ipVersion = 0;
  /** Offset of the IP header. */
  ipOffset = -1;
  /** IPPROTO_* of the upper-layer protocol (after any AH), or -1. */
  ulpProtocol = -1;
  /** Offset of the upper-layer header, or -1 (none: a non-first fragment, ESP, unknown). */
  ulpOffset = -1;
  /** Offset of the upper-layer payload (TCP/UDP), or -1. */
  payloadOffset = -1;
  /** End of the headers that must not be split: the payload offset, else the ULP offset, else the IP headers' end. */
  headersEnd = 0;
  /** End of the IP header(s): IPv4 header with options, or IPv6 header with its extension headers. */
  ipHeadersEnd = -1;
  /** A fragment (IPv4 MF or offset, or an IPv6 fragment header). */
  fragment = false;
  /** The frame carries an IPsec header (AH or ESP). */
  ipsec = false;
  /** The MAC header holds an 802.1Q / 802.1ad tag. */
  vlanTagged = false;
  /** TCP flags byte (TCP frames), else 0. */
  tcpFlags = 0;
  /** Offsets where a header begins or ends, ascending (0 and headersEnd included). */
  readonly boundaries = new Int32Array(MAX_BOUNDARIES);
  boundaryCount = 0;

  /** True when `offset` is where one header ends and the next begins. */
  isBoundary(offset: number): boolean {
    for (let i = 0; i < this.boundaryCount; i++) if (this.boundaries[i] === offset) return true;
    return false;
  }

  addBoundary(offset: number): void {
    if (offset < 0 || this.boundaryCount === MAX_BOUNDARIES || this.isBoundary(offset)) return;
    let i = this.boundaryCount++;
    while (i > 0 && this.boundaries[i - 1]! > offset) {
      this.boundaries[i] = this.boundaries[i - 1]!;
      i--;
    }
    this.boundaries[i] = offset;
  }
}

const eth = new EthernetLayer3();
const walk = new Ipv6HeaderWalk();

/**
 * Analyzes the contiguous first `length` bytes of a frame into `out`. `b` is a scratch copy: when it
 * holds only a prefix of a longer frame, the IPv6 Payload Length is clamped in place to the prefix so
 * that the extension-header walk stays inside it.
 */
export function analyzeSplitPoints(b: Uint8Array, length: number, out: SplitLayout): SplitLayout {
  out.ipVersion = 0;
  out.ipOffset = -1;
  out.ulpProtocol = -1;
  out.ulpOffset = -1;
  out.payloadOffset = -1;
  out.headersEnd = Math.min(14, length);
  out.ipHeadersEnd = -1;
  out.fragment = false;
  out.ipsec = false;
  out.vlanTagged = false;
  out.tcpFlags = 0;
  out.boundaryCount = 0;
  out.addBoundary(0);
  if (findEthernetLayer3(b, 0, length, eth) !== 0) {
    out.addBoundary(out.headersEnd);
    return out;
  }
  const l3 = eth.offset;
  out.vlanTagged = eth.tagCount > 0;
  out.headersEnd = l3;
  out.addBoundary(l3);
  if (eth.etherType === 0x0800 && l3 + 20 <= length && b[l3]! >> 4 === 4) {
    const ihl = (b[l3]! & 15) * 4;
    if (ihl < 20 || l3 + ihl > length) return out;
    out.ipVersion = 4;
    out.ipOffset = l3;
    let end = l3 + ihl;
    out.addBoundary(end);
    const fragField = (b[l3 + 6]! << 8) | b[l3 + 7]!;
    const offset = fragField & 0x1fff;
    out.fragment = (fragField & 0x2000) !== 0 || offset !== 0;
    let proto = b[l3 + 9]!;
    if (offset === 0) {
      // IPsec headers belong to the IP headers for splitting purposes.
      if (proto === IPPROTO_AH && end + 8 <= length) {
        out.ipsec = true;
        const next = b[end]!;
        end += (b[end + 1]! + 2) * 4;
        out.addBoundary(end);
        proto = next;
      }
      if (proto === IPPROTO_ESP) {
        out.ipsec = true;
        out.ipHeadersEnd = Math.min(length, end + 8);
        out.headersEnd = out.ipHeadersEnd;
        out.addBoundary(out.headersEnd);
        return out;
      }
      out.ulpProtocol = proto;
      out.ulpOffset = end;
    }
    out.ipHeadersEnd = end;
    out.headersEnd = end;
  } else if (eth.etherType === 0x86dd && l3 + 40 <= length && b[l3]! >> 4 === 6) {
    out.ipVersion = 6;
    out.ipOffset = l3;
    out.addBoundary(l3 + 40);
    const room = length - l3 - 40;
    if (((b[l3 + 4]! << 8) | b[l3 + 5]!) > room) {
      b[l3 + 4] = room >> 8;
      b[l3 + 5] = room & 0xff;
    }
    const r = walkIpv6Headers(b, l3, length - l3, walk);
    out.fragment = walk.fragmentHeaderOffset >= 0;
    out.ipsec = walk.ahOffset >= 0 || walk.espOffset >= 0;
    out.addBoundary(walk.hopByHopOffset);
    out.addBoundary(walk.destinationOptionsOffset);
    out.addBoundary(walk.routingOffset);
    out.addBoundary(walk.fragmentHeaderOffset);
    out.addBoundary(walk.ahOffset);
    out.addBoundary(walk.espOffset);
    if (walk.espOffset >= 0) {
      out.ipHeadersEnd = Math.min(length, walk.espOffset + 8);
      out.headersEnd = out.ipHeadersEnd;
      out.addBoundary(out.headersEnd);
      return out;
    }
    if (r !== 0 || walk.upperOffset < 0) {
      out.headersEnd = length;
      return out;
    }
    out.ipHeadersEnd = walk.upperOffset;
    out.headersEnd = walk.upperOffset;
    out.addBoundary(walk.upperOffset);
    if (walk.fragmentOffset !== 0) return out;
    out.ulpProtocol = walk.upperProtocol;
    out.ulpOffset = walk.upperOffset;
  } else {
    return out;
  }
  const u = out.ulpOffset;
  if (u < 0) return out;
  out.addBoundary(u);
  if (out.ulpProtocol === IPPROTO_TCP && u + 20 <= length) {
    const hl = (b[u + 12]! >> 4) * 4;
    out.tcpFlags = b[u + 13]!;
    out.payloadOffset = u + Math.max(20, hl);
    out.headersEnd = out.payloadOffset;
  } else if (out.ulpProtocol === IPPROTO_UDP && u + 8 <= length) {
    out.payloadOffset = u + 8;
    out.headersEnd = out.payloadOffset;
  } else {
    // Another upper layer (ICMP, GRE, ...): at least its first 8 bytes are header.
    out.headersEnd = Math.min(length, u + 8);
  }
  out.addBoundary(out.headersEnd);
  return out;
}
