/**
 * ndis: the runtime (what ndis.sys does) — drivers, adapters, filter stacks, bindings, state
 * machines, the data path, OIDs, status indications, PnP, and the scheduler. Drivers import this
 * module's public face and `nbl`; they never import one another.
 */
export * from '../base/index.js';
export * from './constants.js';
export * from './oid.js';
export * from './structs.js';
export * from './offload-types.js';
export * from './characteristics.js';
export * from './state.js';
export * from './datapath.js';
export * from './rule-ids.js';
export * from './violation.js';
export * from './scheduler/scheduler.js';
export { Prng } from './scheduler/prng.js';
export { MiniportDriver, MiniportBlock, type MiniportCounters } from './miniport.js';
export { DriverResources } from './resources.js';
export { FilterDriver, FilterModule, type FilterModuleCounters } from './filter.js';
export { ProtocolDriver, OpenBlock, ProtocolDemux, packetFilterAccepts, type OpenCounters } from './protocol.js';
export { Ndis, BindContext, UnbindContext, ConfigurationHandle, type NdisOptions, type AdapterConfig } from './ndis.js';
export * from './structs-offload.js';
