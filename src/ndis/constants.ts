/**
 * Constants of the NDIS 6 driver model, with the names and values of ndis.h / ntddndis.h /
 * netpnp.h.
 */

/** NDIS versions a driver registers with (NDIS_*_MAJOR/MINOR_VERSION), as major << 8 | minor. */
export const NDIS_VERSION = {
  NDIS_6_0: 0x600,
  NDIS_6_1: 0x601,
  NDIS_6_20: 0x614,
  NDIS_6_30: 0x61e,
  NDIS_6_40: 0x628,
} as const;

/** Encodes an NDIS version. */
export function ndisVersion(major: number, minor: number): number {
  return (major << 8) | minor;
}

/** NDIS_PACKET_TYPE_* (OID_GEN_CURRENT_PACKET_FILTER bits). */
export const NDIS_PACKET_TYPE = {
  DIRECTED: 0x00000001,
  MULTICAST: 0x00000002,
  ALL_MULTICAST: 0x00000004,
  BROADCAST: 0x00000008,
  SOURCE_ROUTING: 0x00000010,
  PROMISCUOUS: 0x00000020,
  SMT: 0x00000040,
  ALL_LOCAL: 0x00000080,
  GROUP: 0x00001000,
  ALL_FUNCTIONAL: 0x00002000,
  FUNCTIONAL: 0x00004000,
  MAC_FRAME: 0x00008000,
  NO_LOCAL: 0x00010000,
} as const;

/** NDIS_MEDIUM. */
export const NdisMedium = {
  NdisMedium802_3: 0,
  NdisMedium802_5: 1,
  NdisMediumFddi: 2,
  NdisMediumWan: 3,
  NdisMediumLocalTalk: 4,
  NdisMediumDix: 5,
  NdisMediumArcnetRaw: 6,
  NdisMediumArcnet878_2: 7,
  NdisMediumAtm: 8,
  NdisMediumWirelessWan: 9,
  NdisMediumIrda: 10,
  NdisMediumBpc: 11,
  NdisMediumCoWan: 12,
  NdisMedium1394: 13,
  NdisMediumInfiniBand: 14,
  NdisMediumTunnel: 15,
  NdisMediumNative802_11: 16,
  NdisMediumLoopback: 17,
  NdisMediumWiMAX: 18,
  NdisMediumIP: 19,
} as const;

/** NDIS_PHYSICAL_MEDIUM. */
export const NdisPhysicalMedium = {
  Unspecified: 0,
  WirelessLan: 1,
  CableModem: 2,
  PhoneLine: 3,
  PowerLine: 4,
  DSL: 5,
  FibreChannel: 6,
  P1394: 7,
  WirelessWan: 8,
  Native802_11: 9,
  Bluetooth: 10,
  Infiniband: 11,
  WiMax: 12,
  UWB: 13,
  P802_3: 14,
  P802_5: 15,
  Irda: 16,
  WiredWAN: 17,
  WiredCoWan: 18,
  Other: 19,
} as const;

/** NDIS_MAC_OPTION_* (OID_GEN_MAC_OPTIONS). */
export const NDIS_MAC_OPTION = {
  COPY_LOOKAHEAD_DATA: 0x00000001,
  RECEIVE_SERIALIZED: 0x00000002,
  TRANSFERS_NOT_PEND: 0x00000004,
  NO_LOOPBACK: 0x00000008,
  FULL_DUPLEX: 0x00000010,
  EOTX_INDICATION: 0x00000020,
  PRIORITY_8021P: 0x00000040,
  SUPPORTS_MAC_ADDRESS_OVERWRITE: 0x00000080,
  RECEIVE_AT_DPC: 0x00000100,
  VLAN_8021Q: 0x00000200,
} as const;

/** NDIS_MEDIA_CONNECT_STATE. */
export const MediaConnectState = { Unknown: 0, Connected: 1, Disconnected: 2 } as const;
/** NDIS_MEDIA_DUPLEX_STATE. */
export const MediaDuplexState = { Unknown: 0, Half: 1, Full: 2 } as const;

/** NET_PNP_EVENT_CODE (netpnp.h). */
export const NetEvent = {
  SetPower: 0,
  QueryPower: 1,
  QueryRemoveDevice: 2,
  CancelRemoveDevice: 3,
  Reconfigure: 4,
  BindList: 5,
  BindsComplete: 6,
  PnPCapabilities: 7,
  Pause: 8,
  Restart: 9,
  PortActivation: 10,
  PortDeactivation: 11,
  IMReEnableDevice: 12,
} as const;

/** NET_DEVICE_POWER_STATE / NDIS_DEVICE_POWER_STATE. */
export const NetDeviceState = { Unspecified: 0, D0: 1, D1: 2, D2: 3, D3: 4 } as const;

/** NDIS_DEVICE_PNP_EVENT (MiniportDevicePnPEventNotify, FilterDevicePnPEventNotify). */
export const NdisDevicePnPEvent = {
  QueryRemoved: 0,
  Removed: 1,
  SurpriseRemoved: 2,
  QueryStopped: 3,
  Stopped: 4,
  PowerProfileChanged: 5,
  FilterListChanged: 6,
} as const;

/** NDIS_HALT_ACTION (MiniportHaltEx). */
export const NdisHaltAction = {
  DeviceDisabled: 1,
  DeviceInstanceDeInitialized: 2,
  DevicePoweredDown: 3,
  DeviceSurpriseRemoved: 4,
  DeviceFailed: 5,
  DeviceInitializationFailed: 6,
  DeviceStopped: 7,
} as const;

/** NDIS_SHUTDOWN_ACTION (MiniportShutdownEx). */
export const NdisShutdownAction = { PowerOff: 0, BugCheck: 1 } as const;

/** PauseReason bits of NDIS_*_PAUSE_PARAMETERS: NDIS_PAUSE_*. */
export const NDIS_PAUSE = {
  NDIS_INTERNAL: 0x00000001,
  LOW_POWER: 0x00000002,
  BIND_PROTOCOL: 0x00000004,
  UNBIND_PROTOCOL: 0x00000008,
  ATTACH_FILTER: 0x00000010,
  DETACH_FILTER: 0x00000020,
  FILTER_RESTART_STACK: 0x00000040,
  MINIPORT_DEVICE_REMOVE: 0x00000080,
} as const;

/** NDIS_DEFAULT_PORT_NUMBER. */
export const NDIS_DEFAULT_PORT_NUMBER = 0;

/** NDIS_MINIPORT_ATTRIBUTES_* (registration attributes AttributeFlags). */
export const NDIS_MINIPORT_ATTRIBUTES = {
  HARDWARE_DEVICE: 0x00000001,
  NDIS_WDM: 0x00000002,
  SURPRISE_REMOVE_OK: 0x00000004,
  NOT_CO_NDIS: 0x00000008,
  DO_NOT_BIND_TO_ALL_CO: 0x00000010,
  NO_HALT_ON_SUSPEND: 0x00000020,
  BUS_MASTER: 0x00000040,
  CONTROLS_DEFAULT_PORT: 0x00000080,
  NO_PAUSE_ON_SUSPEND: 0x00000100,
  NO_OID_INTERCEPT_ON_NONDEFAULT_PORTS: 0x00000200,
  REGISTER_BUGCHECK_CALLBACK: 0x00000400,
} as const;

/** Miniport driver characteristics Flags: NDIS_WDM_DRIVER, NDIS_INTERMEDIATE_DRIVER. */
export const NDIS_MINIPORT_DRIVER_FLAGS = {
  NDIS_WDM_DRIVER: 0x00000001,
  NDIS_INTERMEDIATE_DRIVER: 0x00000004,
} as const;

/** NDIS_STATISTICS_FLAGS_VALID_* (NDIS_STATISTICS_INFO.SupportedStatistics). */
export const NDIS_STATISTICS_FLAGS_VALID = {
  DIRECTED_FRAMES_RCV: 0x00000001,
  MULTICAST_FRAMES_RCV: 0x00000002,
  BROADCAST_FRAMES_RCV: 0x00000004,
  BYTES_RCV: 0x00000008,
  RCV_DISCARDS: 0x00000010,
  RCV_ERROR: 0x00000020,
  DIRECTED_FRAMES_XMIT: 0x00000040,
  MULTICAST_FRAMES_XMIT: 0x00000080,
  BROADCAST_FRAMES_XMIT: 0x00000100,
  BYTES_XMIT: 0x00000200,
  XMIT_ERROR: 0x00000400,
  XMIT_DISCARDS: 0x00008000,
  DIRECTED_BYTES_RCV: 0x00010000,
  MULTICAST_BYTES_RCV: 0x00020000,
  BROADCAST_BYTES_RCV: 0x00040000,
  DIRECTED_BYTES_XMIT: 0x00080000,
  MULTICAST_BYTES_XMIT: 0x00100000,
  BROADCAST_BYTES_XMIT: 0x00200000,
} as const;

/** All 18 NDIS_STATISTICS_FLAGS_VALID_* bits. */
export const NDIS_STATISTICS_ALL_VALID = Object.values(NDIS_STATISTICS_FLAGS_VALID).reduce((a, b) => a | b, 0);

/** FilterType (INF Ndi\FilterType): monitoring or modifying. */
export const FilterType = { Monitoring: 1, Modifying: 2 } as const;
/** FilterRunType (INF Ndi\FilterRunType): mandatory or optional. */
export const FilterRunType = { Mandatory: 1, Optional: 2 } as const;

/**
 * FilterClass values of modifying filters, from the top of the stack to the bottom (the order in
 * which NDIS stacks classes; filters of one class are ordered by their altitude within the class).
 */
export const FILTER_CLASS_ORDER = [
  'scheduler',
  'encryption',
  'compression',
  'vpn',
  'loadbalance',
  'failover',
  'diagnostic',
  'custom',
  'provider_address',
  'ms_switch_capture',
  'ms_switch_filter',
  'ms_switch_forward',
] as const;
/** A FilterClass name. */
export type FilterClass = (typeof FILTER_CLASS_ORDER)[number];

/** NDIS_OBJECT_TYPE_* values used in NDIS_OBJECT_HEADER.Type. */
export const NDIS_OBJECT_TYPE = {
  DEFAULT: 0x80,
  MINIPORT_INIT_PARAMETERS: 0x81,
  SG_DMA_DESCRIPTION: 0x83,
  MINIPORT_INTERRUPT: 0x84,
  DEVICE_OBJECT_ATTRIBUTES: 0x85,
  BIND_PARAMETERS: 0x86,
  OPEN_PARAMETERS: 0x87,
  RSS_CAPABILITIES: 0x88,
  RSS_PARAMETERS: 0x89,
  MINIPORT_DRIVER_CHARACTERISTICS: 0x8a,
  FILTER_DRIVER_CHARACTERISTICS: 0x8b,
  FILTER_PARTIAL_CHARACTERISTICS: 0x8c,
  FILTER_ATTRIBUTES: 0x8d,
  CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS: 0x8e,
  PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS: 0x8f,
  CO_PROTOCOL_CHARACTERISTICS: 0x90,
  CO_MINIPORT_CHARACTERISTICS: 0x91,
  MINIPORT_PNP_CHARACTERISTICS: 0x92,
  CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS: 0x93,
  PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS: 0x94,
  PROTOCOL_DRIVER_CHARACTERISTICS: 0x95,
  REQUEST_EX: 0x96,
  OID_REQUEST: 0x96,
  TIMER_CHARACTERISTICS: 0x97,
  STATUS_INDICATION: 0x98,
  FILTER_ATTACH_PARAMETERS: 0x99,
  FILTER_PAUSE_PARAMETERS: 0x9a,
  FILTER_RESTART_PARAMETERS: 0x9b,
  PORT_CHARACTERISTICS: 0x9c,
  PORT_STATE: 0x9d,
  MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES: 0x9e,
  MINIPORT_ADAPTER_GENERAL_ATTRIBUTES: 0x9f,
  MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES: 0xa0,
  MINIPORT_ADAPTER_NATIVE_802_11_ATTRIBUTES: 0xa1,
  RESTART_GENERAL_ATTRIBUTES: 0xa2,
  PROTOCOL_RESTART_PARAMETERS: 0xa3,
  OFFLOAD: 0xa7,
  OFFLOAD_ENCAPSULATION: 0xa8,
  HD_SPLIT_ATTRIBUTES: 0xab,
} as const;

/** NDIS_RECEIVE_SCALE_PARAMETERS.Flags (NDIS_RSS_PARAM_FLAG_*). */
export const NDIS_RSS_PARAM_FLAG = {
  BASE_CPU_UNCHANGED: 0x0001,
  HASH_INFO_UNCHANGED: 0x0002,
  ITABLE_UNCHANGED: 0x0004,
  HASH_KEY_UNCHANGED: 0x0008,
  DISABLE_RSS: 0x0010,
  DEFAULT_PROCESSOR_UNCHANGED: 0x0020,
} as const;
