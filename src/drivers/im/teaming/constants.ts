/**
 * Settings of a team, with the names and meanings of Windows NIC Teaming (LBFO): the teaming mode
 * (`New-NetLbfoTeam -TeamingMode`), the load-balancing algorithm (`-LoadBalancingAlgorithm`), and
 * how a team interface's VLAN tag reaches the wire.
 */

/**
 * TeamingMode: what the team may assume about the link partner.
 *
 * - `SwitchIndependent`: the partner (a hub or a switch that knows nothing of the team) may
 *   deliver a frame to every member, so the team receives only through its primary member and
 *   drops what the others receive; it announces its addresses (gratuitous ARP, unsolicited
 *   neighbor advertisement) on the new primary whenever the primary changes, so that switches
 *   and peers relearn where the team is.
 * - `Static`: the partner delivers each frame to exactly one member (a switch with a static link
 *   aggregation group, or one cable per member to a peer team), so the team receives on every
 *   active member.
 */
export const TeamingMode = {
  SwitchIndependent: 0,
  Static: 1,
} as const;
/** One of {@link TeamingMode}. */
export type TeamingMode = (typeof TeamingMode)[keyof typeof TeamingMode];

/**
 * LoadBalancingAlgorithm: what the team hashes to choose the member a frame leaves on. Every
 * frame of one flow hashes alike, so a flow stays on one member (in order) while the member set
 * does not change.
 *
 * - `TransportPorts`: the RSS hash of the NET_BUFFER_LIST when the sender set one
 *   (NET_BUFFER_LIST_GET_HASH_FUNCTION non-zero), else the Toeplitz hash of the IPv4/IPv6 source
 *   and destination addresses and TCP/UDP ports (addresses only for fragments and other
 *   protocols), else of the MAC addresses.
 * - `IPAddresses`: the Toeplitz hash of the IP addresses (MAC addresses for non-IP frames).
 * - `MacAddresses`: the Toeplitz hash of the destination and source MAC addresses.
 */
export const LoadBalancingAlgorithm = {
  TransportPorts: 0,
  IPAddresses: 1,
  MacAddresses: 2,
} as const;
/** One of {@link LoadBalancingAlgorithm}. */
export type LoadBalancingAlgorithm = (typeof LoadBalancingAlgorithm)[keyof typeof LoadBalancingAlgorithm];

/**
 * How a team interface with a VLAN id tags what it sends.
 *
 * - `Auto`: in the NET_BUFFER_LIST's Ieee8021QNetBufferListInfo when the member reports
 *   NDIS_MAC_OPTION_8021Q_VLAN, else in the frame.
 * - `OutOfBand`: always in Ieee8021QNetBufferListInfo (the member inserts it).
 * - `InFrame`: always as an 802.1Q header written into the frame by the team.
 *
 * Received frames are recognised either way: by their OOB 802.1Q information or by a tag in the
 * frame, which the team strips before indicating the frame to the interface.
 */
export const VlanTagging = {
  Auto: 0,
  OutOfBand: 1,
  InFrame: 2,
} as const;
/** One of {@link VlanTagging}. */
export type VlanTagging = (typeof VlanTagging)[keyof typeof VlanTagging];

/** Largest IEEE 802.1Q VLAN id a team interface may carry (4095 is reserved). */
export const MAX_VLAN_ID = 4094;

/** Why a received frame did not reach a team interface (counted per team). */
export const TeamReceiveDrop = {
  /** The binding is not part of a running team, or the interface for the frame is not running. */
  NotRunning: 0,
  /** Switch-independent mode: the frame arrived on a member other than the primary. */
  NotPrimary: 1,
  /** The frame's source address is the team's own (a teammate's transmission heard on a hub). */
  OwnFrame: 2,
  /** No team interface claims the frame's VLAN. */
  NoInterface: 3,
  /** The interface's packet filter (and multicast list) rejected the frame. */
  Filtered: 4,
  /** No NET_BUFFER_LIST could be allocated to indicate the frame. */
  Resources: 5,
  /** The NET_BUFFER_LIST does not hold exactly one NET_BUFFER of at least an Ethernet header. */
  Malformed: 6,
  Count: 7,
} as const;

/** Texts of {@link TeamReceiveDrop}. */
export const TEAM_RECEIVE_DROP_TEXT: readonly string[] = [
  'binding or interface not running',
  'not received on the primary member',
  'own frame heard back',
  'no interface for the VLAN',
  'packet filter',
  'no resources',
  'malformed NET_BUFFER_LIST',
];

/** Why a member is not in use although it is bound (TeamMemberState.reason). */
export const MemberInactiveReason = {
  /** In use. */
  None: 0,
  /** Its binding is paused or pausing. */
  Paused: 1,
  /** Its link is down (NDIS_STATUS_LINK_STATE reported MediaConnectStateDisconnected). */
  LinkDown: 2,
  /** Its MTU is smaller than the team's. */
  MtuTooSmall: 3,
  /** It is the standby member and another member is active. */
  Standby: 4,
  /** It is not bound (the adapter is absent or the binding is disabled). */
  NotBound: 5,
} as const;

/** Texts of {@link MemberInactiveReason}. */
export const MEMBER_INACTIVE_REASON_TEXT: readonly string[] = ['active', 'paused', 'link down', 'MTU too small', 'standby', 'not bound'];
