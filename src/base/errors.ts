/**
 * Errors thrown for misuse of the public API. A driver's rule break at run time is a verifier
 * violation (src/verifier), and bad input from a wire is a counted drop; neither throws these.
 * Each error has a stable `code` (tests and users match on it) and, where one applies, the
 * NDIS_STATUS the same mistake would produce in NDIS.
 */
import { formatStatus, type NdisStatus } from './status.js';

const BRAND = Symbol.for('ndis-ts.NdisError');

/** Stable error codes. */
export type NdisErrorCode =
  | 'ERR_NDIS_INVALID_PARAMETER'
  | 'ERR_NDIS_DOUBLE_FREE'
  | 'ERR_NDIS_WRONG_POOL'
  | 'ERR_NDIS_POOL_NOT_EMPTY'
  | 'ERR_NDIS_NOT_ALLOCATED'
  | 'ERR_NDIS_DATA_RANGE'
  | 'ERR_NDIS_CONTEXT_UNDERFLOW'
  | 'ERR_NDIS_DERIVED_MISMATCH'
  | 'ERR_NDIS_ILLEGAL_STATE'
  | 'ERR_NDIS_ILLEGAL_TRANSITION'
  | 'ERR_NDIS_UNKNOWN_HANDLE'
  | 'ERR_NDIS_IRQL'
  | 'ERR_NDIS_ALREADY_REGISTERED'
  | 'ERR_NDIS_BINDING'
  | 'ERR_NDIS_UNAVAILABLE'
  | 'ERR_NDIS_TIMEOUT'
  | 'ERR_NDIS_VERIFIER';

/** Base class of every error ndis-ts throws. */
export class NdisError extends Error {
  /** Stable code, e.g. `ERR_NDIS_DOUBLE_FREE`. */
  readonly code: NdisErrorCode;
  /** The NDIS_STATUS the equivalent failure has in NDIS, when there is one. */
  readonly status: NdisStatus | undefined;

  constructor(code: NdisErrorCode, message: string, status?: NdisStatus) {
    super(status === undefined ? message : `${message} [${formatStatus(status)}]`);
    this.name = 'NdisError';
    this.code = code;
    this.status = status;
  }

  /** Works across duplicated installs of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === NdisError && typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
Object.defineProperty(NdisError.prototype, BRAND, { value: true });
