/**
 * TCP for the tcpip protocol driver: an RFC 9293 engine independent of NDIS and IP, and
 * Node.js-style sockets on top of it.
 *
 *   TcpSocket / TcpServer (socket.ts)        net.Socket / net.Server shapes; Node's http runs on them
 *        |  TcpConnectionUser / TcpListenerUser callbacks
 *   TcpEngine (engine.ts)                    connection table, state machine, output, timers
 *        |  TcpHost (host.ts)                clock + timers, segment memory and transmit, MSS/LSO,
 *        v                                   source address, random secrets
 *   IP layer of the driver (or a test host)  calls engine.input() / engine.icmpError() / timer.fire()
 *
 * The engine is deterministic (no wall clock, no platform timers, no unseeded randomness) and
 * allocates nothing per segment apart from the transient views the native byte copies use.
 * See README.md in this folder for what is implemented and what is not.
 */
export { TcpEngine } from './engine.js';
export { TcpFlow, TcpTimer, TcpSegmentSpace, TcpIcmpError } from './host.js';
export type { TcpHost, TcpTimerTarget } from './host.js';
export {
  TcpConnection,
  TcpListener,
  TcpTimerKind,
  TCP_NEG_WINDOW_SCALE,
  TCP_NEG_TIMESTAMPS,
  TCP_NEG_SACK,
} from './connection.js';
export type { TcpConnectionUser, TcpListenerUser } from './connection.js';
export { TcpConfig, TcpStatistics, TcpDropReason, TcpUsageError, describeTcpDrop } from './config.js';
export type { TcpEngineOptions, TcpConnectionOptions } from './config.js';
export { TcpState, TcpError, tcpStateName, tcpErrorName, isSynchronized } from './state.js';
export {
  TcpCongestionAlgorithm,
  TcpCongestionControl,
  CUBIC_C,
  CUBIC_BETA,
  CUBIC_ALPHA,
  cubicK,
  cubicWindow,
} from './congestion.js';
export { TcpRttEstimator } from './rtt.js';
export { TcpReassembly } from './reassembly.js';
export { TcpSackScoreboard } from './scoreboard.js';
export { ByteRing } from './ring.js';
export { TcpSecrets, halfSipHash } from './isn.js';
export { seqAdd, seqDiff, seqLt, seqLe, seqGt, seqGe, seqMax, seqMin, seqInWindow } from './seq.js';
export { TcpSocket, TcpServer, createConnection, createServer } from './socket.js';
export type { TcpSocketOptions, TcpSocketConnectOptions, TcpServerOptions, TcpSystemError } from './socket.js';
