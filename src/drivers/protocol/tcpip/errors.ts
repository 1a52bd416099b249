/**
 * Errors that report what the network answered, as opposed to misuse of the API (an NdisError
 * with a stable code). A ping that fails rejects with a `PingError` whose `code` is the errno
 * name a platform stack gives the same outcome (the ones Node's sockets use where one exists),
 * with the ICMP message that caused it when there was one — what `ping.exe` prints as "Request
 * timed out", "Destination host unreachable" or "TTL expired in transit".
 */

/** Outcomes of a ping that did not get an echo reply. */
export type PingErrorCode =
  /** No reply within the timeout ("Request timed out"). */
  | 'ETIMEDOUT'
  /** Address resolution failed or an ICMP host unreachable came back ("Destination host unreachable"). */
  | 'EHOSTUNREACH'
  /** No route, or an ICMP network unreachable came back ("Destination net unreachable"). */
  | 'ENETUNREACH'
  /** The TTL / hop limit ran out on the way ("TTL expired in transit"). */
  | 'ETTLEXPIRED'
  /** A router could not forward the packet without fragmenting it ("Packet needs to be fragmented but DF set"). */
  | 'EMSGSIZE'
  /** Protocol or port unreachable, or administratively prohibited. */
  | 'ECONNREFUSED'
  /** A parameter problem was reported. */
  | 'EPROTO'
  /** The host has no usable source address for the destination (addresses still tentative). */
  | 'EADDRNOTAVAIL'
  /** No buffer to build the request. */
  | 'ENOBUFS';

/** A failed ping. */
export class PingError extends Error {
  /** What happened. */
  readonly code: PingErrorCode;
  /** The address pinged. */
  readonly address: string;
  /** ICMP type of the error message that ended the ping, or -1. */
  readonly icmpType: number;
  /** ICMP code of that message, or -1. */
  readonly icmpCode: number;
  /** Who sent the ICMP error (a router on the way, or the destination), or null. */
  readonly reportedBy: string | null;

  constructor(code: PingErrorCode, address: string, message: string, icmpType = -1, icmpCode = -1, reportedBy: string | null = null) {
    super(`ping ${address}: ${message}`);
    this.name = 'PingError';
    this.code = code;
    this.address = address;
    this.icmpType = icmpType;
    this.icmpCode = icmpCode;
    this.reportedBy = reportedBy;
  }
}

/** Why a UDP send was refused (the errno names `dgram` reports for the same conditions). */
export type UdpErrorCode = 'ENETUNREACH' | 'EADDRNOTAVAIL' | 'EMSGSIZE' | 'ENOBUFS' | 'EBADF';

/** A UDP send that the stack could not carry out. */
export class UdpSocketError extends Error {
  readonly code: UdpErrorCode;
  constructor(code: UdpErrorCode, message: string) {
    super(message);
    this.name = 'UdpSocketError';
    this.code = code;
  }
}
