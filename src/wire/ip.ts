/**
 * IP protocol numbers (IANA "Assigned Internet Protocol Numbers") under the IPPROTO_* names that
 * Windows (ws2def.h) gives them, or the BSD and Linux headers for the ones Windows lacks (GRE, MH);
 * HIP and SHIM6 follow the same pattern. They fill the IPv4 Protocol field and the IPv6 Next
 * Header field alike.
 */

/** IPv6 hop-by-hop options (RFC 8200 4.3). */
export const IPPROTO_HOPOPTS = 0;
/** ICMP for IPv4 (RFC 792). */
export const IPPROTO_ICMP = 1;
/** IGMP (RFC 3376). */
export const IPPROTO_IGMP = 2;
/** IPv4 encapsulated in IP (RFC 2003). */
export const IPPROTO_IPV4 = 4;
/** TCP (RFC 9293). */
export const IPPROTO_TCP = 6;
/** UDP (RFC 768). */
export const IPPROTO_UDP = 17;
/** IPv6 encapsulated in IP (RFC 2473). */
export const IPPROTO_IPV6 = 41;
/** IPv6 routing header (RFC 8200 4.4). */
export const IPPROTO_ROUTING = 43;
/** IPv6 fragment header (RFC 8200 4.5). */
export const IPPROTO_FRAGMENT = 44;
/** Generic Routing Encapsulation (RFC 2784). */
export const IPPROTO_GRE = 47;
/** Encapsulating Security Payload (RFC 4303). */
export const IPPROTO_ESP = 50;
/** Authentication Header (RFC 4302). */
export const IPPROTO_AH = 51;
/** ICMP for IPv6 (RFC 4443). */
export const IPPROTO_ICMPV6 = 58;
/** IPv6 "no next header" (RFC 8200 4.7). */
export const IPPROTO_NONE = 59;
/** IPv6 destination options (RFC 8200 4.6). */
export const IPPROTO_DSTOPTS = 60;
/** SCTP (RFC 9260). */
export const IPPROTO_SCTP = 132;
/** Mobility header (RFC 6275 6.1), an IPv6 extension header. */
export const IPPROTO_MH = 135;
/** Host Identity Protocol (RFC 7401), an IPv6 extension header. */
export const IPPROTO_HIP = 139;
/** Shim6 (RFC 5533), an IPv6 extension header. */
export const IPPROTO_SHIM6 = 140;
