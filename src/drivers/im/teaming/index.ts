/**
 * `teaming`: an NDIS MUX intermediate driver in the manner of Windows NIC Teaming (LBFO) and the
 * WDK's mux sample. Its protocol edge binds to Ethernet adapters; its miniport edge exposes team
 * interfaces (virtual miniports) that protocols bind to as to any adapter.
 *
 * - Teaming (n:1): a team interface over N member adapters; outgoing flows spread over the
 *   members by a flow hash (the RSS hash when the sender set one, else the Toeplitz hash of
 *   addresses and ports); a member whose link goes down (NDIS_STATUS_LINK_STATE) is left out and
 *   its flows move to the others, and it takes its share back when its link returns; the team
 *   announces its addresses (gratuitous ARP, unsolicited neighbor advertisement) on a new primary.
 * - VLANs (1:n): interfaces with VLAN ids over one adapter (or over a team): the team tags what
 *   they send (in the OOB 802.1Q information or in the frame) and hands each received frame to the
 *   interface of its VLAN, without its tag.
 *
 * ```ts
 * const lbfo = new TeamingDriver(ndis);
 * await lbfo.register();
 * await lbfo.createTeam({ name: 'team0', members: ['nic1', 'nic2'] });      // New-NetLbfoTeam
 * await lbfo.createVlans('nic3', [{ name: 'v10', vlanId: 10 }, { name: 'v20', vlanId: 20 }]);
 * ```
 */
export { TeamingDriver, TEAM_MEMBER_UPPER_RANGE, MAX_TEAM_MEMBERS, type TeamingDriverOptions } from './driver.js';
export { Team, TeamCounters, ANNOUNCEMENT, type TeamConfig, type TeamMemberState, type TeamHost } from './team.js';
export { TeamInterface, InterfaceState, InterfaceCounters, type TeamInterfaceConfig } from './interface.js';
export { LowerBinding, BindingRunState, MemberCounters } from './binding.js';
export {
  TeamingMode,
  LoadBalancingAlgorithm,
  VlanTagging,
  MAX_VLAN_ID,
  TeamReceiveDrop,
  TEAM_RECEIVE_DROP_TEXT,
  MemberInactiveReason,
  MEMBER_INACTIVE_REASON_TEXT,
} from './constants.js';
export { FlowHasher, MemberTable, MEMBER_TABLE_SIZE } from './balance.js';
export {
  buildGratuitousArp,
  buildUnsolicitedNeighborAdvert,
  InterfaceAddresses,
  MAX_ANNOUNCED_ADDRESSES,
  decodeNetworkAddressList,
  encodeNetworkAddressList,
  NDIS_PROTOCOL_TYPE_TCP_IP,
} from './announce.js';
export { intersectOffloads, sameOffload } from './offload.js';
export { OidFanOut, TEAM_SUPPORTED_OIDS, TEAM_PROPAGATED_SETS, teamInterfaceOidRequest } from './oid.js';
export { parseTeamConfig } from './config.js';
