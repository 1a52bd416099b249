/**
 * The wire layer: zero-copy views of on-the-wire formats and the Internet checksum. Pure modules
 * (no NDIS, no Node APIs). Every view follows one contract: `wrap(bytes, offset, length)` checks the
 * buffer once and returns 0 or a {@link WireReason}; after 0, every accessor is safe and allocates
 * nothing. `*Repr` records with `parse*Repr` / `emit*Repr` are the allocating, validated forms for
 * tests and control paths.
 */
export * from './address.js';
export * from './reason.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ip.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmpv4.js';
export * from './icmpv6.js';
export * from './udp.js';
export * from './gre.js';
export * from './vxlan.js';
export * from './tcp.js';
