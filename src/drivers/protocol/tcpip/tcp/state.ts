/**
 * Connection states (RFC 9293 section 3.3.2) with the numeric values of the MIB_TCP_STATE
 * enumeration that Windows reports for them (MIB_TCP_STATE_CLOSED = 1 ... DELETE_TCB = 12), and
 * the error codes the engine reports when a connection ends abnormally.
 */

/** TCP connection states; values follow MIB_TCP_STATE. */
export const TcpState = {
  CLOSED: 1,
  LISTEN: 2,
  SYN_SENT: 3,
  SYN_RECEIVED: 4,
  ESTABLISHED: 5,
  FIN_WAIT_1: 6,
  FIN_WAIT_2: 7,
  CLOSE_WAIT: 8,
  CLOSING: 9,
  LAST_ACK: 10,
  TIME_WAIT: 11,
} as const;
/** One of `TcpState`. */
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

const STATE_NAMES: readonly string[] = [
  '?',
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

/** The RFC 9293 name of a state (`ESTABLISHED`, `FIN-WAIT-1`, ...). */
export function tcpStateName(state: number): string {
  return STATE_NAMES[state] ?? `state ${state}`;
}

/** Whether `state` is synchronized (RFC 9293 glossary: ESTABLISHED and every state after it). */
export function isSynchronized(state: number): boolean {
  return state >= TcpState.ESTABLISHED;
}

/**
 * Why a connection ended or failed, as reported to its user. The names are the POSIX errno
 * names Node.js uses for socket errors.
 */
export const TcpError = {
  /** No error: orderly close. */
  None: 0,
  /** RST in answer to our SYN, or port unreachable while connecting. */
  ECONNREFUSED: 1,
  /** RST on a synchronized connection. */
  ECONNRESET: 2,
  /** Retransmissions or keep-alive probes went unanswered. */
  ETIMEDOUT: 3,
  /** The local user aborted the connection. */
  ECONNABORTED: 4,
  /** No route to the remote address. */
  EHOSTUNREACH: 5,
  /** Network unreachable (no source address). */
  ENETUNREACH: 6,
} as const;
/** One of `TcpError`. */
export type TcpError = (typeof TcpError)[keyof typeof TcpError];

const ERROR_NAMES: readonly string[] = ['', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH'];

/** The errno name of a `TcpError` (empty for `None`). */
export function tcpErrorName(error: number): string {
  return ERROR_NAMES[error] ?? `E${error}`;
}
