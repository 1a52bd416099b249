/**
 * OID requests: NDIS_OID_REQUEST, NDIS_REQUEST_TYPE and the OID_* codes (ntddndis.h values).
 *
 * InformationBuffer holds the bytes of the OID's structure in the little-endian x64 layout NDIS
 * uses, so buffer lengths, BytesWritten / BytesNeeded and short-buffer behaviour are exactly those of
 * NDIS; src/ndis/structs.ts has codecs for the structures.
 */

/** NDIS_REQUEST_TYPE. */
export const NdisRequestType = {
  QueryInformation: 0,
  SetInformation: 1,
  QueryStatistics: 2,
  Open: 3,
  Close: 4,
  Send: 5,
  TransferData: 6,
  Reset: 7,
  Generic1: 8,
  Generic2: 9,
  Generic3: 10,
  Generic4: 11,
  Method: 12,
} as const;

/** OID_* codes. */
export const OID = {
  // General (required / NDIS 6).
  GEN_SUPPORTED_LIST: 0x00010101,
  GEN_HARDWARE_STATUS: 0x00010102,
  GEN_MEDIA_SUPPORTED: 0x00010103,
  GEN_MEDIA_IN_USE: 0x00010104,
  GEN_MAXIMUM_LOOKAHEAD: 0x00010105,
  GEN_MAXIMUM_FRAME_SIZE: 0x00010106,
  GEN_LINK_SPEED: 0x00010107,
  GEN_TRANSMIT_BUFFER_SPACE: 0x00010108,
  GEN_RECEIVE_BUFFER_SPACE: 0x00010109,
  GEN_TRANSMIT_BLOCK_SIZE: 0x0001010a,
  GEN_RECEIVE_BLOCK_SIZE: 0x0001010b,
  GEN_VENDOR_ID: 0x0001010c,
  GEN_VENDOR_DESCRIPTION: 0x0001010d,
  GEN_CURRENT_PACKET_FILTER: 0x0001010e,
  GEN_CURRENT_LOOKAHEAD: 0x0001010f,
  GEN_DRIVER_VERSION: 0x00010110,
  GEN_MAXIMUM_TOTAL_SIZE: 0x00010111,
  GEN_PROTOCOL_OPTIONS: 0x00010112,
  GEN_MAC_OPTIONS: 0x00010113,
  GEN_MEDIA_CONNECT_STATUS: 0x00010114,
  GEN_MAXIMUM_SEND_PACKETS: 0x00010115,
  GEN_VENDOR_DRIVER_VERSION: 0x00010116,
  GEN_SUPPORTED_GUIDS: 0x00010117,
  GEN_NETWORK_LAYER_ADDRESSES: 0x00010118,
  GEN_TRANSPORT_HEADER_OFFSET: 0x00010119,
  GEN_MEDIA_CAPABILITIES: 0x00010201,
  GEN_PHYSICAL_MEDIUM: 0x00010202,
  GEN_RECEIVE_SCALE_CAPABILITIES: 0x00010203,
  GEN_RECEIVE_SCALE_PARAMETERS: 0x00010204,
  GEN_MAC_ADDRESS: 0x00010205,
  GEN_MAX_LINK_SPEED: 0x00010206,
  GEN_LINK_STATE: 0x00010207,
  GEN_LINK_PARAMETERS: 0x00010208,
  GEN_INTERRUPT_MODERATION: 0x00010209,
  GEN_ENUMERATE_PORTS: 0x0001020d,
  GEN_PORT_STATE: 0x0001020e,
  GEN_PHYSICAL_MEDIUM_EX: 0x00010213,
  GEN_VLAN_ID: 0x0001021c,
  GEN_MINIPORT_RESTART_ATTRIBUTES: 0x0001021d,
  GEN_HD_SPLIT_PARAMETERS: 0x0001021e,
  GEN_RECEIVE_HASH: 0x0001021f,
  GEN_HD_SPLIT_CURRENT_CONFIG: 0x00010220,
  GEN_MEDIA_CONNECT_STATUS_EX: 0x0001028a,
  GEN_LINK_SPEED_EX: 0x0001028b,
  GEN_MEDIA_DUPLEX_STATE: 0x0001028c,
  // Statistics.
  GEN_XMIT_OK: 0x00020101,
  GEN_RCV_OK: 0x00020102,
  GEN_XMIT_ERROR: 0x00020103,
  GEN_RCV_ERROR: 0x00020104,
  GEN_RCV_NO_BUFFER: 0x00020105,
  GEN_STATISTICS: 0x00020106,
  GEN_DIRECTED_BYTES_XMIT: 0x00020201,
  GEN_DIRECTED_FRAMES_XMIT: 0x00020202,
  GEN_MULTICAST_BYTES_XMIT: 0x00020203,
  GEN_MULTICAST_FRAMES_XMIT: 0x00020204,
  GEN_BROADCAST_BYTES_XMIT: 0x00020205,
  GEN_BROADCAST_FRAMES_XMIT: 0x00020206,
  GEN_DIRECTED_BYTES_RCV: 0x00020207,
  GEN_DIRECTED_FRAMES_RCV: 0x00020208,
  GEN_MULTICAST_BYTES_RCV: 0x00020209,
  GEN_MULTICAST_FRAMES_RCV: 0x0002020a,
  GEN_BROADCAST_BYTES_RCV: 0x0002020b,
  GEN_BROADCAST_FRAMES_RCV: 0x0002020c,
  GEN_RCV_CRC_ERROR: 0x0002020d,
  GEN_TRANSMIT_QUEUE_LENGTH: 0x0002020e,
  GEN_BYTES_RCV: 0x00020219,
  GEN_BYTES_XMIT: 0x0002021a,
  GEN_RCV_DISCARDS: 0x0002021b,
  GEN_XMIT_DISCARDS: 0x0002021c,
  // 802.3.
  P802_3_PERMANENT_ADDRESS: 0x01010101,
  P802_3_CURRENT_ADDRESS: 0x01010102,
  P802_3_MULTICAST_LIST: 0x01010103,
  P802_3_MAXIMUM_LIST_SIZE: 0x01010104,
  P802_3_ADD_MULTICAST_ADDRESS: 0x01010208,
  P802_3_DELETE_MULTICAST_ADDRESS: 0x01010209,
  P802_3_RCV_ERROR_ALIGNMENT: 0x01020101,
  P802_3_XMIT_ONE_COLLISION: 0x01020102,
  P802_3_XMIT_MORE_COLLISIONS: 0x01020103,
  // Offload.
  OFFLOAD_ENCAPSULATION: 0x0101010a,
  TCP_OFFLOAD_CURRENT_CONFIG: 0xfc01020b,
  TCP_OFFLOAD_PARAMETERS: 0xfc01020c,
  TCP_OFFLOAD_HARDWARE_CAPABILITIES: 0xfc01020d,
  // PnP / power.
  PNP_CAPABILITIES: 0xfd010100,
  PNP_SET_POWER: 0xfd010101,
  PNP_QUERY_POWER: 0xfd010102,
  PNP_ADD_WAKE_UP_PATTERN: 0xfd010103,
  PNP_REMOVE_WAKE_UP_PATTERN: 0xfd010104,
  PNP_WAKE_UP_PATTERN_LIST: 0xfd010105,
  PNP_ENABLE_WAKE_UP: 0xfd010106,
  PM_REMOVE_WOL_PATTERN: 0xfd01010b,
  PM_REMOVE_PROTOCOL_OFFLOAD: 0xfd01010f,
  // Receive filters (VMQ, NDIS 6.20).
  RECEIVE_FILTER_HARDWARE_CAPABILITIES: 0x00010221,
  RECEIVE_FILTER_GLOBAL_PARAMETERS: 0x00010222,
  RECEIVE_FILTER_ALLOCATE_QUEUE: 0x00010223,
  RECEIVE_FILTER_FREE_QUEUE: 0x00010224,
  RECEIVE_FILTER_ENUM_QUEUES: 0x00010225,
  RECEIVE_FILTER_QUEUE_PARAMETERS: 0x00010226,
  RECEIVE_FILTER_SET_FILTER: 0x00010227,
  RECEIVE_FILTER_CLEAR_FILTER: 0x00010228,
  RECEIVE_FILTER_ENUM_FILTERS: 0x00010229,
  RECEIVE_FILTER_PARAMETERS: 0x0001022a,
  RECEIVE_FILTER_QUEUE_ALLOCATION_COMPLETE: 0x0001022b,
  RECEIVE_FILTER_CURRENT_CAPABILITIES: 0x0001022d,
  NIC_SWITCH_HARDWARE_CAPABILITIES: 0x0001022e,
  NIC_SWITCH_CURRENT_CAPABILITIES: 0x0001022f,
} as const;

let oidNames: Map<number, string> | null = null;

/** `OID_GEN_CURRENT_PACKET_FILTER (0x0001010E)`. */
export function formatOid(oid: number): string {
  if (oidNames === null) {
    oidNames = new Map();
    for (const [k, v] of Object.entries(OID)) if (!oidNames.has(v)) oidNames.set(v, `OID_${k.replace(/^P802_3/, '802_3')}`);
  }
  const hex = `0x${(oid >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  const name = oidNames.get(oid >>> 0);
  return name === undefined ? hex : `${name} (${hex})`;
}

/**
 * Models NDIS_OID_REQUEST. The DATA union is flattened: `oid`, `informationBuffer`,
 * `informationBufferLength` serve QUERY_INFORMATION and SET_INFORMATION; a method request also uses
 * `inputBufferLength`, `outputBufferLength` and `methodId`.
 */
export class NdisOidRequest {
  /** RequestType: NdisRequestType. */
  requestType: number;
  /** PortNumber. */
  portNumber = 0;
  /** Timeout in seconds (0: NDIS default). */
  timeout = 0;
  /** RequestId: chosen by the originator; used to cancel. */
  requestId: unknown = null;
  /** RequestHandle: set by NDIS. */
  requestHandle: object | null = null;
  /** DATA.*.Oid. */
  oid: number;
  /** DATA.*.InformationBuffer. */
  informationBuffer: Uint8Array | null;
  /** DATA.*.InformationBufferLength (query, set) — for method requests the buffer's total size. */
  informationBufferLength: number;
  /** DATA.METHOD_INFORMATION.InputBufferLength. */
  inputBufferLength = 0;
  /** DATA.METHOD_INFORMATION.OutputBufferLength. */
  outputBufferLength = 0;
  /** DATA.METHOD_INFORMATION.MethodId. */
  methodId = 0;
  /** DATA.QUERY_INFORMATION.BytesWritten / METHOD_INFORMATION.BytesWritten. */
  bytesWritten = 0;
  /** DATA.SET_INFORMATION.BytesRead / METHOD_INFORMATION.BytesRead. */
  bytesRead = 0;
  /** DATA.*.BytesNeeded. */
  bytesNeeded = 0;
  /** SourceReserved: for the driver that originated the request (e.g. the original of a clone). */
  readonly sourceReserved: unknown[] = [null, null];
  /** MiniportReserved: for the miniport. */
  readonly miniportReserved: unknown[] = [null, null];
  /** SupportedRevision. */
  supportedRevision = 0;
  // -- state of this model --
  /** Who issued the request to NDIS (a binding, a filter module or NDIS itself); completion goes there. */
  issuer: object | null = null;
  /** Set when the request has been completed (double-completion detection). */
  completed = false;
  /** Set while the request is pending at a miniport or filter. */
  pendingAt: object | null = null;

  constructor(requestType: number, oid: number, informationBuffer: Uint8Array | null = null, informationBufferLength = informationBuffer?.length ?? 0) {
    this.requestType = requestType;
    this.oid = oid >>> 0;
    this.informationBuffer = informationBuffer;
    this.informationBufferLength = informationBufferLength;
  }

  /** A query request with a buffer of `length` bytes. */
  static query(oid: number, length: number): NdisOidRequest {
    return new NdisOidRequest(NdisRequestType.QueryInformation, oid, new Uint8Array(length), length);
  }

  /** A set request carrying `data`. */
  static set(oid: number, data: Uint8Array): NdisOidRequest {
    return new NdisOidRequest(NdisRequestType.SetInformation, oid, data, data.length);
  }

  /** A method request: `input` is copied to the start of a buffer of `bufferLength` bytes. */
  static method(oid: number, input: Uint8Array, bufferLength: number, methodId = 0): NdisOidRequest {
    const buf = new Uint8Array(Math.max(bufferLength, input.length));
    buf.set(input);
    const r = new NdisOidRequest(NdisRequestType.Method, oid, buf, buf.length);
    r.inputBufferLength = input.length;
    r.outputBufferLength = buf.length;
    r.methodId = methodId;
    return r;
  }

  /** The bytes a query (or method) wrote: `informationBuffer[0 .. bytesWritten)`. */
  written(): Uint8Array {
    return (this.informationBuffer ?? new Uint8Array(0)).subarray(0, this.bytesWritten);
  }
}

/**
 * Models NdisAllocateCloneOidRequest: a new request with the same type, OID, buffers and RequestId
 * (filters pass a clone down and complete the original when the clone completes).
 */
export function allocateCloneOidRequest(original: NdisOidRequest): NdisOidRequest {
  const c = new NdisOidRequest(original.requestType, original.oid, original.informationBuffer, original.informationBufferLength);
  c.portNumber = original.portNumber;
  c.timeout = original.timeout;
  c.requestId = original.requestId;
  c.inputBufferLength = original.inputBufferLength;
  c.outputBufferLength = original.outputBufferLength;
  c.methodId = original.methodId;
  c.supportedRevision = original.supportedRevision;
  return c;
}

/** Copies the results of a completed clone back to its original (what a filter does before NdisFOidRequestComplete). */
export function copyOidResults(to: NdisOidRequest, from: NdisOidRequest): void {
  to.bytesWritten = from.bytesWritten;
  to.bytesRead = from.bytesRead;
  to.bytesNeeded = from.bytesNeeded;
}

/** Writes a ULONG answer: handles short buffers the NDIS way (BytesNeeded, NDIS_STATUS_BUFFER_TOO_SHORT). */
export function writeUlong(req: NdisOidRequest, value: number): number {
  const buf = req.informationBuffer;
  if (buf === null || req.informationBufferLength < 4) {
    req.bytesNeeded = 4;
    req.bytesWritten = 0;
    return 0xc0010016 | 0; // NDIS_STATUS_BUFFER_TOO_SHORT
  }
  new DataView(buf.buffer, buf.byteOffset, buf.length).setUint32(0, value >>> 0, true);
  req.bytesWritten = 4;
  req.bytesNeeded = 4;
  return 0;
}

/**
 * Writes a 64-bit statistics answer with the 4-or-8-byte rule of NDIS (HLK 1c_64BitOIDs): a
 * 4-byte buffer gets the low 32 bits (BytesNeeded 8), an 8-byte buffer the whole value, less is
 * NDIS_STATUS_BUFFER_TOO_SHORT with BytesNeeded 8.
 */
export function writeUlong64(req: NdisOidRequest, value: number): number {
  const buf = req.informationBuffer;
  const len = buf === null ? 0 : req.informationBufferLength;
  req.bytesNeeded = 8;
  if (buf === null || len < 4) {
    req.bytesWritten = 0;
    return 0xc0010016 | 0;
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  if (len < 8) {
    dv.setUint32(0, value % 0x100000000, true);
    req.bytesWritten = 4;
    return 0;
  }
  dv.setBigUint64(0, BigInt(Math.floor(value)), true);
  req.bytesWritten = 8;
  return 0;
}

/** Writes raw bytes as an answer (BytesNeeded / BUFFER_TOO_SHORT when the buffer is small). */
export function writeBytes(req: NdisOidRequest, bytes: Uint8Array): number {
  const buf = req.informationBuffer;
  req.bytesNeeded = bytes.length;
  if (buf === null || req.informationBufferLength < bytes.length) {
    req.bytesWritten = 0;
    return 0xc0010016 | 0;
  }
  buf.set(bytes, 0);
  req.bytesWritten = bytes.length;
  return 0;
}

/** Reads a ULONG from a set request's buffer, or null when it is shorter than 4 bytes. */
export function readUlong(req: NdisOidRequest): number | null {
  const buf = req.informationBuffer;
  if (buf === null || req.informationBufferLength < 4) return null;
  return new DataView(buf.buffer, buf.byteOffset, buf.length).getUint32(0, true);
}

/** A 4-byte little-endian ULONG buffer (for set requests). */
export function ulongBuffer(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  return b;
}
