/** Intermediate (MUX) drivers: `teaming` (NIC teaming with load balancing and failover, and VLANs). */
export * from './teaming/index.js';
