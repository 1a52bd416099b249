/**
 * offload: the scalable- and virtualized-networking offloads of NDIS 6.x done in software, as
 * engines over bytes and NET_BUFFER_LISTs that any miniport can switch on (the virtual miniport
 * does): the frame parser they share, checksum offload, large send offload (v1/v2), RSS (Toeplitz,
 * hash-type rules, indirection table, worker-thread queues), header-data split, NVGRE (inside the
 * checksum, LSO and RSS engines), VMQ receive queues and filters, and receive side throttle.
 * Nothing here depends on the runtime: a miniport negotiates the offloads through NDIS and calls
 * these engines on its send and receive paths.
 */
export * from './layout.js';
export * from './checksum/index.js';
export * from './lso/index.js';
export * from './rss/hash-types.js';
export * from './rss/toeplitz.js';
export * from './rss/engine.js';
export { CONFIG as RSS_WORKER_CONFIG, DescriptorRing, FrameSlab, FrameResults, RESULT, RESULT_STRIDE, RssWorkerPool, RING, type RssWorkerData, type RssWorkerPoolOptions } from './rss/workers.js';
export * from './hds/index.js';
export * from './vmq/index.js';
export * from './throttle.js';
