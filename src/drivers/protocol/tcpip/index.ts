/**
 * `tcpip`: a TCP/IP protocol driver that binds to Ethernet adapters through NDIS as tcpip.sys does
 * (one IP interface per binding), with IPv4 and IPv6, ARP and Neighbor Discovery, ICMP, UDP, the
 * TCP engine of ./tcp, routing and forwarding, fragmentation and reassembly, task offloads when the
 * miniport has them, Node-style sockets, and a few built-in services.
 *
 * ```ts
 * const tcpip = new TcpIp(ndis);
 * await tcpip.register();                                   // binds to every Ethernet adapter
 * tcpip.configure('a', { ipv4: ['10.0.0.1/24'], ipv6: ['fd00::1/64'] });
 * await tcpip.ready('a');                                   // addresses past duplicate detection
 * const rtt = await tcpip.ping('10.0.0.2');
 * const socket = tcpip.tcp.connect(80, '10.0.0.2');         // a net.Socket-shaped Duplex
 * ```
 */
export { TcpIp, TcpApi, RoutesApi, NeighborsApi, StackCounters } from './stack.js';
export type { InterfaceConfig, ParsedInterfaceConfig, TcpIpOptions, RouteSpec, NeighborInfo, TcpIpStatistics, ProtocolStatistics } from './stack.js';
export { IpInterface, IpAddressEntry, InterfaceState, AddressState, TX_HEADROOM, encodeOffloadEncapsulation } from './interface.js';
export type { AddressOrigin, InterfaceInfo } from './interface.js';
export { IpLayer, TxChecksum } from './ip.js';
export { IcmpLayer } from './icmp.js';
export type { PingOptions } from './icmp.js';
export { ArpLayer } from './arp.js';
export { NdpLayer } from './ndp.js';
export { UdpLayer, UdpSocket, UdpSocketCounters } from './udp.js';
export type { UdpDatagram, UdpRemoteInfo } from './udp.js';
export { NeighborCache, NeighborEntry, NeighborState, neighborStateName } from './neighbor.js';
export type { NeighborTimings } from './neighbor.js';
export { Route, RouteTable, Path, PathTable, PMTU_AGING_MS } from './route.js';
export type { RouteInfo, RouteOrigin } from './route.js';
export { Reassembler, ReassemblyEntry, FragmentResult } from './reassembly.js';
export { TimerHeap, StackTimer } from './timers.js';
export type { HeapTimer, StackTimerTarget } from './timers.js';
export { StackTcpHost } from './tcp-host.js';
export { IpDropReason, describeIpDrop, InterfaceCounters, IpCounters, IcmpCounters, UdpCounters, NeighborCounters } from './statistics.js';
export { PingError, UdpSocketError } from './errors.js';
export type { PingErrorCode, UdpErrorCode } from './errors.js';
export { statusReport, statusHtml } from './services.js';
export type { Service, ServiceName, ServiceOptions, StatusReport } from './services.js';
export * from './addresses.js';
export { TcpSocket, TcpServer } from './tcp/index.js';
