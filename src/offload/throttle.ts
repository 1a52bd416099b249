/**
 * Receive side throttle (NDIS 6.20): the NDIS_RECEIVE_THROTTLE_PARAMETERS that NDIS passes to
 * MiniportInterruptDPC / MiniportMessageInterruptDPC. The miniport indicates at most
 * MaxNblsToIndicate NET_BUFFER_LISTs in the DPC; when more remain it sets MoreNblsPending and NDIS
 * runs the DPC again ("Receive Side Throttle in NDIS 6.20").
 */

/** NDIS_INDICATE_ALL_NBLS (~0ul): no limit on the NBLs a DPC indicates. */
export const NDIS_INDICATE_ALL_NBLS = 0xffffffff;

/** Models NDIS_RECEIVE_THROTTLE_PARAMETERS. */
export class NdisReceiveThrottleParameters {
  /** MaxNblsToIndicate: the most NBLs this DPC may indicate, or NDIS_INDICATE_ALL_NBLS. */
  declare maxNblsToIndicate: number;
  /** MoreNblsPending: set by the miniport when NBLs remain after MaxNblsToIndicate. */
  declare moreNblsPending: boolean;

  constructor(maxNblsToIndicate = NDIS_INDICATE_ALL_NBLS) {
    this.maxNblsToIndicate = maxNblsToIndicate;
    this.moreNblsPending = false;
  }

  /** The limit as a count (NDIS_INDICATE_ALL_NBLS and 0 mean no limit). */
  get limit(): number {
    const m = this.maxNblsToIndicate;
    return m === NDIS_INDICATE_ALL_NBLS || m <= 0 ? 0x7fffffff : m;
  }
}

/**
 * Where the MaxNblsToIndicate of a receive DPC comes from: NDIS decides it per adapter (from its
 * DPC watchdog budget). The runtime does not yet model interrupts; miniports take a source of this
 * shape so that a runtime call (e.g. `ndis.receiveThrottle(adapter)`) can stand behind it.
 */
export interface ReceiveThrottleSource {
  /** MaxNblsToIndicate for the next receive DPC of `adapter`. */
  receiveThrottle(adapter: object): number;
}

/** A throttle source with one settable value for every adapter (NDIS_INDICATE_ALL_NBLS by default). */
export class FixedReceiveThrottle implements ReceiveThrottleSource {
  declare maxNblsToIndicate: number;

  constructor(maxNblsToIndicate = NDIS_INDICATE_ALL_NBLS) {
    this.maxNblsToIndicate = maxNblsToIndicate;
  }

  receiveThrottle(_adapter: object): number {
    return this.maxNblsToIndicate;
  }
}
