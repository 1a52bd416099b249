/**
 * ndis-ts: the Windows NDIS 6.x driver model in TypeScript.
 *
 * The public face of the package: the layers (base, nbl, ndis, wire, pcap, offload) at the top
 * level, and the drivers that come with it under their names. Each module names, in its own doc
 * comments, the NDIS structure, handler or function it models.
 */
export * from './ndis/index.js';
export * from './nbl/index.js';
export * from './wire/index.js';
export * from './pcap/index.js';
export * from './verifier/index.js';
export * from './offload/index.js';
export * as virtualMiniport from './drivers/miniport/virtual/index.js';
export * as passthroughFilter from './drivers/filter/passthrough/index.js';
export * as programmableFilter from './drivers/filter/programmable/index.js';
export * as programmableMiniport from './drivers/miniport/programmable/index.js';
export * as ndisprot from './drivers/protocol/ndisprot/index.js';
export * as tcp from './drivers/protocol/tcpip/tcp/index.js';
export * as tcpip from './drivers/protocol/tcpip/index.js';
export * as impairFilter from './drivers/filter/impair/index.js';
export * as teaming from './drivers/im/index.js';
export * as tap from './drivers/miniport/tap/index.js';
export * as vxlanMiniport from './drivers/miniport/vxlan/index.js';
export * as pcapMiniport from './drivers/miniport/pcap/index.js';
export * as captureFilter from './drivers/filter/capture/index.js';

