/**
 * base: the NDIS_STATUS codes and the error type shared by every layer. Imports nothing.
 */
export * from './status.js';
export * from './errors.js';
