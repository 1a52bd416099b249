/**
 * ndis-ts: the Windows NDIS 6.x driver model in TypeScript.
 *
 * The public face of the package. Each module re-exported here names, in its own doc comments,
 * the NDIS structure, handler or function it models.
 */
export * from './base/index.js';
export * from './nbl/index.js';
export * as wireAddress from './wire/address.js';
