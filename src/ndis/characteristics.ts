/**
 * The contracts between NDIS and drivers: the handler tables a driver registers
 * (NDIS_MINIPORT_DRIVER_CHARACTERISTICS, NDIS_FILTER_DRIVER_CHARACTERISTICS,
 * NDIS_PROTOCOL_DRIVER_CHARACTERISTICS) and the parameter structures NDIS passes to the handlers.
 *
 * A driver declares its table with `satisfies MiniportDriverCharacteristics` (or the filter /
 * protocol one). Handlers receive the context the driver registered (MiniportAdapterContext,
 * FilterModuleContext, ProtocolBindingContext) exactly as in C, and call back into NDIS through the
 * `Ndis` runtime with the handle NDIS gave them.
 */
import type { NetBufferList } from '../nbl/net-buffer-list.js';
import type { NdisStatus } from '../base/status.js';
import type { NdisOidRequest } from './oid.js';
import type { NdisOffload } from './offload-types.js';
import type { MiniportBlock, MiniportDriver } from './miniport.js';
import type { FilterDriver, FilterModule } from './filter.js';
import type { OpenBlock, ProtocolDriver } from './protocol.js';

/** NDIS_HANDLE a miniport gets for an adapter (MiniportAdapterHandle). */
export type MiniportAdapterHandle = MiniportBlock;
/** NDIS_HANDLE a filter gets for a filter module (NdisFilterHandle). */
export type NdisFilterHandle = FilterModule;
/** NDIS_HANDLE a protocol gets for a binding (NdisBindingHandle). */
export type NdisBindingHandle = OpenBlock;
/** NDIS_HANDLE of a registered miniport driver (NdisMiniportDriverHandle). */
export type NdisMiniportDriverHandle = MiniportDriver;
/** NDIS_HANDLE of a registered filter driver (NdisFilterDriverHandle). */
export type NdisFilterDriverHandle = FilterDriver;
/** NDIS_HANDLE of a registered protocol driver (NdisProtocolHandle). */
export type NdisProtocolHandle = ProtocolDriver;

// ---------------------------------------------------------------------------------------------
// Status indications and PnP events
// ---------------------------------------------------------------------------------------------

/** Models NDIS_STATUS_INDICATION. */
export interface NdisStatusIndication {
  /** SourceHandle: the miniport adapter or filter module that indicated. */
  sourceHandle: object | null;
  portNumber: number;
  /** StatusCode: an NDIS_STATUS_* indication code. */
  statusCode: number;
  flags: number;
  destinationHandle: object | null;
  requestId: unknown;
  /** StatusBuffer: the structure of the indication in NDIS's binary layout (e.g. NDIS_LINK_STATE). */
  statusBuffer: Uint8Array | null;
  /** For indications whose buffer is an in-memory structure (e.g. NDIS_OFFLOAD), the structure itself. */
  statusObject?: unknown;
}

/** Models NET_PNP_EVENT_NOTIFICATION (with its NET_PNP_EVENT). */
export interface NetPnPEventNotification {
  portNumber: number;
  /** NetEvent: NET_PNP_EVENT_CODE. */
  netEvent: number;
  /** Buffer: event-specific (pause/restart parameters, power state, ...). */
  buffer: unknown;
}

/** Models NET_DEVICE_PNP_EVENT. */
export interface NetDevicePnPEvent {
  portNumber: number;
  /** DevicePnPEvent: NDIS_DEVICE_PNP_EVENT. */
  devicePnPEvent: number;
  informationBuffer: unknown;
}

// ---------------------------------------------------------------------------------------------
// Restart / pause parameters and attributes
// ---------------------------------------------------------------------------------------------

/** Models NDIS_RESTART_GENERAL_ATTRIBUTES (what a stack restart tells the layers above). */
export interface NdisRestartGeneralAttributes {
  mtuSize: number;
  maxXmitLinkSpeed: number;
  maxRcvLinkSpeed: number;
  lookaheadSize: number;
  macOptions: number;
  supportedPacketFilters: number;
  maxMulticastListSize: number;
  macAddressLength: number;
  currentMacAddress: Uint8Array;
  physicalMediumType: number;
  accessType: number;
  directionType: number;
  connectionType: number;
  ifType: number;
  ifConnectorPresent: boolean;
  supportedStatistics: number;
  supportedPauseFunctions: number;
  dataBackFillSize: number;
  contextBackFillSize: number;
  supportedOidList: number[];
  maxRssProcessors: number;
}

/** Models NDIS_MINIPORT_PAUSE_PARAMETERS / NDIS_FILTER_PAUSE_PARAMETERS / NDIS_PROTOCOL_PAUSE_PARAMETERS. */
export interface NdisPauseParameters {
  flags: number;
  /** PauseReason: NDIS_PAUSE_* bits. */
  pauseReason: number;
}

/** Models NDIS_MINIPORT_RESTART_PARAMETERS. */
export interface MiniportRestartParameters {
  filterModuleNameBuffer: string[];
  restartAttributes: NdisRestartGeneralAttributes | null;
  boundIfIndex: number;
  flags: number;
}

/** Models NDIS_FILTER_RESTART_PARAMETERS: a filter may modify `restartAttributes` for the layers above. */
export interface FilterRestartParameters {
  miniportMediaType: number;
  miniportPhysicalMediaType: number;
  restartAttributes: NdisRestartGeneralAttributes;
  lowerIfIndex: number;
  lowerIfNetLuid: number;
  flags: number;
}

/** Models NDIS_PROTOCOL_RESTART_PARAMETERS (the Buffer of NetEventRestart). */
export interface ProtocolRestartParameters {
  /** FilterModuleNameBuffer: the filter modules of the stack, bottom to top. */
  filterModuleNameBuffer: string[];
  boundIfIndex: number;
  boundIfNetLuid: number;
  restartAttributes: NdisRestartGeneralAttributes;
  flags: number;
}

// ---------------------------------------------------------------------------------------------
// Miniport
// ---------------------------------------------------------------------------------------------

/** Models NDIS_MINIPORT_INIT_PARAMETERS. */
export interface MiniportInitParameters {
  flags: number;
  /** For an intermediate driver's virtual miniport: the DeviceContext passed to NdisIMInitializeDeviceInstanceEx. */
  imDeviceInstanceContext: unknown;
  /** MiniportAddDeviceContext. */
  miniportAddDeviceContext: unknown;
  ifIndex: number;
  netLuid: number;
  /** Name of the adapter instance. */
  adapterName: string;
}

/** Models NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES. */
export interface MiniportAdapterRegistrationAttributes {
  kind: 'registration';
  /** MiniportAdapterContext: passed back to every MiniportXxx handler. */
  miniportAdapterContext: unknown;
  attributeFlags: number;
  checkForHangTimeInSeconds: number;
  interfaceType: number;
}

/** Models NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES. */
export interface MiniportAdapterGeneralAttributes {
  kind: 'general';
  flags: number;
  mediaType: number;
  physicalMediumType: number;
  mtuSize: number;
  /** bits per second */
  maxXmitLinkSpeed: number;
  xmitLinkSpeed: number;
  maxRcvLinkSpeed: number;
  rcvLinkSpeed: number;
  mediaConnectState: number;
  mediaDuplexState: number;
  lookaheadSize: number;
  macOptions: number;
  supportedPacketFilters: number;
  maxMulticastListSize: number;
  macAddressLength: number;
  permanentMacAddress: Uint8Array;
  currentMacAddress: Uint8Array;
  recvScaleCapabilities: unknown;
  accessType: number;
  directionType: number;
  connectionType: number;
  ifType: number;
  ifConnectorPresent: boolean;
  supportedStatistics: number;
  supportedPauseFunctions: number;
  dataBackFillSize: number;
  contextBackFillSize: number;
  supportedOidList: number[];
  autoNegotiationFlags: number;
}

/** Models NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES. */
export interface MiniportAdapterOffloadAttributes {
  kind: 'offload';
  defaultOffloadConfiguration: NdisOffload;
  hardwareOffloadCapabilities: NdisOffload;
}

/** Models NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES (HDS, receive filters / VMQ, ...). */
export interface MiniportAdapterHardwareAssistAttributes {
  kind: 'hardwareAssist';
  /** NDIS_HD_SPLIT_ATTRIBUTES (NDIS fills HDSplitFlags, BackfillSize, MaxHeaderSize). */
  hdSplitAttributes: unknown;
  /** NDIS_RECEIVE_FILTER_CAPABILITIES (hardware and current). */
  hardwareReceiveFilterCapabilities: unknown;
  currentReceiveFilterCapabilities: unknown;
}

/** The attribute structures NdisMSetMiniportAttributes accepts. */
export type MiniportAdapterAttributes =
  | MiniportAdapterRegistrationAttributes
  | MiniportAdapterGeneralAttributes
  | MiniportAdapterOffloadAttributes
  | MiniportAdapterHardwareAssistAttributes;

/**
 * Models NDIS_MINIPORT_DRIVER_CHARACTERISTICS: the handlers of a miniport driver. The first
 * argument of each adapter handler is the MiniportAdapterContext the driver registered.
 */
export interface MiniportDriverCharacteristics<Ctx = unknown> {
  /** Driver name (its service name). */
  name: string;
  majorNdisVersion: number;
  minorNdisVersion: number;
  majorDriverVersion?: number;
  minorDriverVersion?: number;
  /** NDIS_WDM_DRIVER, NDIS_INTERMEDIATE_DRIVER. */
  flags?: number;
  /** MiniportSetOptions. */
  setOptions?(driverHandle: NdisMiniportDriverHandle, driverContext: unknown): NdisStatus;
  /** MiniportInitializeEx: must call NdisMSetMiniportAttributes (registration, then general). */
  initializeEx(adapterHandle: MiniportAdapterHandle, driverContext: unknown, parameters: MiniportInitParameters): NdisStatus;
  /** MiniportHaltEx. */
  haltEx(adapterContext: Ctx, haltAction: number): void;
  /** MiniportDriverUnload. */
  unload?(driver: NdisMiniportDriverHandle): void;
  /** MiniportPause: NDIS_STATUS_SUCCESS, or NDIS_STATUS_PENDING and NdisMPauseComplete later. Pause cannot fail. */
  pause(adapterContext: Ctx, parameters: NdisPauseParameters): NdisStatus;
  /** MiniportRestart: SUCCESS, PENDING (then NdisMRestartComplete), or a failure (the adapter stays Paused). */
  restart(adapterContext: Ctx, parameters: MiniportRestartParameters): NdisStatus;
  /** MiniportOidRequest. */
  oidRequest(adapterContext: Ctx, request: NdisOidRequest): NdisStatus;
  /** MiniportSendNetBufferLists: completes every NBL with NdisMSendNetBufferListsComplete. */
  sendNetBufferLists(adapterContext: Ctx, netBufferLists: NetBufferList, portNumber: number, sendFlags: number): void;
  /** MiniportReturnNetBufferLists: NBLs it indicated come back. */
  returnNetBufferLists(adapterContext: Ctx, netBufferLists: NetBufferList, returnFlags: number): void;
  /** MiniportCancelSend. */
  cancelSend(adapterContext: Ctx, cancelId: unknown): void;
  /** MiniportCheckForHangEx. */
  checkForHangEx?(adapterContext: Ctx): boolean;
  /** MiniportResetEx: sets `out.addressingReset`; SUCCESS or PENDING (then NdisMResetComplete). */
  resetEx?(adapterContext: Ctx, out: { addressingReset: boolean }): NdisStatus;
  /** MiniportDevicePnPEventNotify. */
  devicePnPEventNotify(adapterContext: Ctx, event: NetDevicePnPEvent): void;
  /** MiniportShutdownEx. */
  shutdownEx(adapterContext: Ctx, shutdownAction: number): void;
  /** MiniportCancelOidRequest. */
  cancelOidRequest(adapterContext: Ctx, requestId: unknown): void;
  /** MiniportDirectOidRequest (NDIS 6.1). */
  directOidRequest?(adapterContext: Ctx, request: NdisOidRequest): NdisStatus;
  /** MiniportCancelDirectOidRequest (NDIS 6.1). */
  cancelDirectOidRequest?(adapterContext: Ctx, requestId: unknown): void;
}

// ---------------------------------------------------------------------------------------------
// Filter
// ---------------------------------------------------------------------------------------------

/** Models NDIS_FILTER_ATTACH_PARAMETERS. */
export interface FilterAttachParameters {
  ifIndex: number;
  netLuid: number;
  /** FilterModuleGuidName. */
  filterModuleGuidName: string;
  baseMiniportIfIndex: number;
  baseMiniportInstanceName: string;
  baseMiniportName: string;
  mediaConnectState: number;
  mediaDuplexState: number;
  xmitLinkSpeed: number;
  rcvLinkSpeed: number;
  miniportMediaType: number;
  miniportPhysicalMediaType: number;
  miniportMediaSpecificAttributes: unknown;
  defaultOffloadConfiguration: NdisOffload | null;
  recvScaleCapabilities: unknown;
  lowerIfIndex: number;
  lowerIfNetLuid: number;
  flags: number;
  hdSplitCurrentConfig: unknown;
  receiveFilterCapabilities: unknown;
  miniportPhysicalDeviceObject: unknown;
  nicSwitchCapabilities: unknown;
  baseMiniportIfConnectorPresent: boolean;
  currentMacAddress: Uint8Array;
  macAddressLength: number;
  lookaheadSize: number;
}

/** Models NDIS_FILTER_ATTRIBUTES (NdisFSetAttributes). */
export interface NdisFilterAttributes {
  flags?: number;
}

/**
 * Models NDIS_FILTER_DRIVER_CHARACTERISTICS, with the facts an INF gives NDIS about a filter
 * (FilterClass, FilterType, FilterRunType, FilterMediaTypes). A data-path handler left out makes
 * NDIS bypass the filter on that path.
 */
export interface FilterDriverCharacteristics<Ctx = unknown> {
  friendlyName: string;
  uniqueName: string;
  serviceName: string;
  majorNdisVersion: number;
  minorNdisVersion: number;
  majorDriverVersion?: number;
  minorDriverVersion?: number;
  flags?: number;
  /** INF FilterType: FilterType.Monitoring (1) or FilterType.Modifying (2, default). */
  filterType?: number;
  /** INF FilterRunType: FilterRunType.Mandatory (1) or FilterRunType.Optional (2, default). */
  filterRunType?: number;
  /** INF FilterClass (modifying filters), default 'custom'. */
  filterClass?: string;
  /** Order within the class: higher is closer to the protocols (NDIS assigns this from install order). */
  altitude?: number;
  /** INF FilterMediaTypes: the LowerRange names of the adapters to attach to (default ['ethernet']). */
  filterMediaTypes?: string[];
  setOptions?(driverHandle: NdisFilterDriverHandle, driverContext: unknown): NdisStatus;
  setFilterModuleOptions?(filterModuleContext: Ctx): NdisStatus;
  /** FilterAttach: must call NdisFSetAttributes with its FilterModuleContext. */
  attach(ndisFilterHandle: NdisFilterHandle, filterDriverContext: unknown, attachParameters: FilterAttachParameters): NdisStatus;
  detach(filterModuleContext: Ctx): void;
  restart(filterModuleContext: Ctx, parameters: FilterRestartParameters): NdisStatus;
  pause(filterModuleContext: Ctx, parameters: NdisPauseParameters): NdisStatus;
  sendNetBufferLists?(filterModuleContext: Ctx, netBufferLists: NetBufferList, portNumber: number, sendFlags: number): void;
  sendNetBufferListsComplete?(filterModuleContext: Ctx, netBufferLists: NetBufferList, sendCompleteFlags: number): void;
  cancelSendNetBufferLists?(filterModuleContext: Ctx, cancelId: unknown): void;
  receiveNetBufferLists?(filterModuleContext: Ctx, netBufferLists: NetBufferList, portNumber: number, numberOfNetBufferLists: number, receiveFlags: number): void;
  returnNetBufferLists?(filterModuleContext: Ctx, netBufferLists: NetBufferList, returnFlags: number): void;
  oidRequest?(filterModuleContext: Ctx, request: NdisOidRequest): NdisStatus;
  oidRequestComplete?(filterModuleContext: Ctx, request: NdisOidRequest, status: NdisStatus): void;
  cancelOidRequest?(filterModuleContext: Ctx, requestId: unknown): void;
  directOidRequest?(filterModuleContext: Ctx, request: NdisOidRequest): NdisStatus;
  directOidRequestComplete?(filterModuleContext: Ctx, request: NdisOidRequest, status: NdisStatus): void;
  cancelDirectOidRequest?(filterModuleContext: Ctx, requestId: unknown): void;
  devicePnPEventNotify?(filterModuleContext: Ctx, event: NetDevicePnPEvent): void;
  netPnPEvent?(filterModuleContext: Ctx, notification: NetPnPEventNotification): NdisStatus;
  status?(filterModuleContext: Ctx, indication: NdisStatusIndication): void;
}

/** Models NDIS_FILTER_PARTIAL_CHARACTERISTICS (NdisSetOptionalHandlers from FilterSetModuleOptions). */
export type FilterPartialCharacteristics<Ctx = unknown> = Pick<
  FilterDriverCharacteristics<Ctx>,
  'sendNetBufferLists' | 'sendNetBufferListsComplete' | 'cancelSendNetBufferLists' | 'receiveNetBufferLists' | 'returnNetBufferLists'
>;

// ---------------------------------------------------------------------------------------------
// Protocol
// ---------------------------------------------------------------------------------------------

/** Models NDIS_BIND_PARAMETERS: what NDIS tells a protocol about the adapter it binds to. */
export interface NdisBindParameters {
  protocolSection: string;
  adapterName: string;
  mediaType: number;
  mtuSize: number;
  maxXmitLinkSpeed: number;
  xmitLinkSpeed: number;
  maxRcvLinkSpeed: number;
  rcvLinkSpeed: number;
  mediaConnectState: number;
  mediaDuplexState: number;
  lookaheadSize: number;
  supportedPacketFilters: number;
  maxMulticastListSize: number;
  macAddressLength: number;
  currentMacAddress: Uint8Array;
  physicalMediumType: number;
  rcvScaleCapabilities: unknown;
  accessType: number;
  directionType: number;
  connectionType: number;
  ifType: number;
  ifConnectorPresent: boolean;
  boundIfIndex: number;
  boundIfNetLuid: number;
  defaultOffloadConfiguration: NdisOffload | null;
  hdSplitCurrentConfig: unknown;
  receiveFilterCapabilities: unknown;
  macOptions: number;
  supportedOidList: number[];
}

/** Models NDIS_OPEN_PARAMETERS (NdisOpenAdapterEx). */
export interface NdisOpenParameters {
  adapterName: string;
  /** MediumArray: the media the protocol supports. */
  mediumArray: number[];
  /** FrameTypeArray: EtherTypes the protocol wants (NDIS matches NetBufferListFrameType), or empty for all. */
  frameTypeArray?: number[];
}

/** Models NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, with the binding facts an INF gives NDIS. */
export interface ProtocolDriverCharacteristics<Ctx = unknown> {
  name: string;
  majorNdisVersion: number;
  minorNdisVersion: number;
  majorDriverVersion?: number;
  minorDriverVersion?: number;
  flags?: number;
  /** INF Ndi\Interfaces\LowerRange: bind to adapters whose UpperRange shares a name (default ['ndis5']). */
  lowerRange?: string[];
  setOptions?(driverHandle: NdisProtocolHandle, driverContext: unknown): NdisStatus;
  /** ProtocolBindAdapterEx: open the adapter (NdisOpenAdapterEx); return SUCCESS, a failure, or PENDING and call NdisCompleteBindAdapterEx. */
  bindAdapterEx(protocolDriverContext: unknown, bindContext: object, bindParameters: NdisBindParameters): NdisStatus;
  /** ProtocolUnbindAdapterEx: close the binding (NdisCloseAdapterEx); return SUCCESS or PENDING and call NdisCompleteUnbindAdapterEx. */
  unbindAdapterEx(unbindContext: object, protocolBindingContext: Ctx): NdisStatus;
  openAdapterCompleteEx(protocolBindingContext: Ctx, status: NdisStatus): void;
  closeAdapterCompleteEx(protocolBindingContext: Ctx): void;
  /** ProtocolNetPnPEvent: NetEventPause / NetEventRestart / power / reconfigure ...; SUCCESS or PENDING (then NdisCompleteNetPnPEvent). */
  netPnPEvent(protocolBindingContext: Ctx | null, notification: NetPnPEventNotification): NdisStatus;
  uninstall?(): void;
  oidRequestComplete(protocolBindingContext: Ctx, request: NdisOidRequest, status: NdisStatus): void;
  directOidRequestComplete?(protocolBindingContext: Ctx, request: NdisOidRequest, status: NdisStatus): void;
  statusEx(protocolBindingContext: Ctx, indication: NdisStatusIndication): void;
  receiveNetBufferLists(protocolBindingContext: Ctx, netBufferLists: NetBufferList, portNumber: number, numberOfNetBufferLists: number, receiveFlags: number): void;
  sendNetBufferListsComplete(protocolBindingContext: Ctx, netBufferLists: NetBufferList, sendCompleteFlags: number): void;
}
