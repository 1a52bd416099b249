/**
 * What NDIS itself does for the offloads of an NDIS 6 miniport, from what the miniport reported:
 *
 * - answers OID_TCP_OFFLOAD_CURRENT_CONFIG ("NDIS handles this OID for miniport drivers") with the
 *   NDIS_OFFLOAD of the miniport's offload attributes (DefaultOffloadConfiguration), or of its
 *   latest NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG indication;
 * - answers OID_GEN_RECEIVE_SCALE_CAPABILITIES ("miniport drivers do not receive this OID request")
 *   with the RecvScaleCapabilities of the miniport's general attributes;
 * - answers OID_GEN_RECEIVE_HASH queries ("for NDIS miniport drivers, the query is not requested")
 *   with the receive hash settings of the sets the miniport accepted (hashing off until one is);
 * - completes the NDIS_HD_SPLIT_ATTRIBUTES of NdisMSetMiniportAttributes with hardware-assist
 *   attributes ("Initializing a Header-Data Split Provider"): NDIS sets HDSplitFlags, BackfillSize
 *   and MaxHeaderSize before the call returns, and the miniport allocates its receive buffers after.
 *
 * The runtime calls these from its OID routing, when a miniport completes a set successfully, and
 * from mSetMiniportAttributes.
 */
import { NDIS_STATUS, type NdisStatus } from '../base/status.js';
import type { MiniportAdapterHardwareAssistAttributes } from './characteristics.js';
import type { MiniportBlock } from './miniport.js';
import { NdisRequestType, OID, writeBytes, type NdisOidRequest } from './oid.js';
import type { NdisOffload } from './offload-types.js';
import {
  NDIS_RECEIVE_HASH_FLAG,
  decodeReceiveHashParameters,
  encodeOffload,
  encodeReceiveHashParameters,
  encodeReceiveScaleCapabilities,
  isDecodeError,
  type NdisReceiveHashParameters,
  type NdisReceiveScaleCapabilities,
} from './structs-offload.js';

/** The offload queries NDIS answers for NDIS 6 miniports (they never reach MiniportOidRequest). */
export const NDIS_ANSWERED_OFFLOAD_OIDS: readonly number[] = Object.freeze([OID.TCP_OFFLOAD_CURRENT_CONFIG, OID.GEN_RECEIVE_SCALE_CAPABILITIES, OID.GEN_RECEIVE_HASH]);

/** The receive hash settings NDIS has seen each miniport accept (OID_GEN_RECEIVE_HASH sets). */
const receiveHashSettings = new WeakMap<MiniportBlock, NdisReceiveHashParameters>();

/**
 * A set the miniport completed with NDIS_STATUS_SUCCESS: NDIS records what it needs to answer
 * later queries itself (OID_GEN_RECEIVE_HASH: the flags, hash information and key in force, with
 * HASH_INFO_UNCHANGED and HASH_KEY_UNCHANGED keeping the previous ones).
 */
export function ndisOffloadSetSucceeded(m: MiniportBlock, r: NdisOidRequest): void {
  if (r.oid !== OID.GEN_RECEIVE_HASH || r.requestType !== NdisRequestType.SetInformation || r.informationBuffer === null) return;
  const p = decodeReceiveHashParameters(r.informationBuffer, r.informationBufferLength);
  if (isDecodeError(p)) return;
  const before = receiveHashSettings.get(m) ?? { flags: 0, hashInformation: 0, secretKey: new Uint8Array(0) };
  receiveHashSettings.set(m, {
    flags: p.flags & NDIS_RECEIVE_HASH_FLAG.ENABLE_HASH,
    hashInformation: (p.flags & NDIS_RECEIVE_HASH_FLAG.HASH_INFO_UNCHANGED) !== 0 ? before.hashInformation : p.hashInformation >>> 0,
    secretKey: (p.flags & NDIS_RECEIVE_HASH_FLAG.HASH_KEY_UNCHANGED) !== 0 || p.secretKey.length === 0 ? before.secretKey : p.secretKey.slice(),
  });
}

/** NDIS_HD_SPLIT_CAPS_SUPPORTS_HEADER_DATA_SPLIT (NDIS_HD_SPLIT_ATTRIBUTES.CurrentCapabilities). */
const NDIS_HD_SPLIT_CAPS_SUPPORTS_HEADER_DATA_SPLIT = 0x00000001;
/** NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT (NDIS_HD_SPLIT_ATTRIBUTES.HDSplitFlags). */
const NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT = 0x00000001;

/** The MaxHeaderSize NDIS gives a header-data split provider here (header buffers of 256 bytes). */
export const NDIS_HD_SPLIT_DEFAULT_MAX_HEADER_SIZE = 256;
/**
 * The BackfillSize NDIS asks a header-data split provider for: as large as the header buffers, so
 * that an overlying driver can put the whole header portion back in front of the data portion.
 */
export const NDIS_HD_SPLIT_DEFAULT_BACKFILL_SIZE = 256;

/** The fields of NDIS_HD_SPLIT_ATTRIBUTES that NDIS reads and fills. */
export interface HdSplitNegotiable {
  currentCapabilities: number;
  hdSplitFlags: number;
  backfillSize: number;
  maxHeaderSize: number;
}

/**
 * What NDIS does with the NDIS_HD_SPLIT_ATTRIBUTES a miniport passes to NdisMSetMiniportAttributes:
 * sets NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT in HDSplitFlags only when CurrentCapabilities has
 * NDIS_HD_SPLIT_CAPS_SUPPORTS_HEADER_DATA_SPLIT, and fills MaxHeaderSize and BackfillSize (zero
 * when header-data split stays off).
 */
export function ndisNegotiateHdSplit(attributes: HdSplitNegotiable): void {
  const on = (attributes.currentCapabilities & NDIS_HD_SPLIT_CAPS_SUPPORTS_HEADER_DATA_SPLIT) !== 0;
  attributes.hdSplitFlags = on ? NDIS_HD_SPLIT_ENABLE_HEADER_DATA_SPLIT : 0;
  attributes.maxHeaderSize = on ? NDIS_HD_SPLIT_DEFAULT_MAX_HEADER_SIZE : 0;
  attributes.backfillSize = on ? NDIS_HD_SPLIT_DEFAULT_BACKFILL_SIZE : 0;
}

function isHdSplitNegotiable(x: unknown): x is HdSplitNegotiable {
  if (x === null || typeof x !== 'object') return false;
  const a = x as Record<string, unknown>;
  return typeof a['currentCapabilities'] === 'number';
}

/**
 * NdisMSetMiniportAttributes with NDIS_MINIPORT_ADAPTER_HARDWARE_ASSIST_ATTRIBUTES: NDIS completes
 * the header-data split attributes in place (the miniport reads them back when the call returns).
 */
export function ndisSetHardwareAssistAttributes(attributes: MiniportAdapterHardwareAssistAttributes): void {
  const h = attributes.hdSplitAttributes;
  if (isHdSplitNegotiable(h)) ndisNegotiateHdSplit(h);
}

function isReceiveScaleCapabilities(x: unknown): x is NdisReceiveScaleCapabilities {
  if (x === null || typeof x !== 'object') return false;
  const c = x as Record<string, unknown>;
  return (
    typeof c['capabilitiesFlags'] === 'number' &&
    typeof c['numberOfInterruptMessages'] === 'number' &&
    typeof c['numberOfReceiveQueues'] === 'number'
  );
}

/**
 * Answers one of {@link NDIS_ANSWERED_OFFLOAD_OIDS} for miniport `m` from what it reported;
 * NDIS_STATUS_NOT_SUPPORTED when it reported nothing (no offload attributes, no RSS capabilities),
 * NDIS_STATUS_BUFFER_TOO_SHORT with BytesNeeded when the buffer is too small.
 */
export function ndisAnswerOffloadQuery(m: MiniportBlock, r: NdisOidRequest): NdisStatus {
  switch (r.oid) {
    case OID.TCP_OFFLOAD_CURRENT_CONFIG: {
      const o: NdisOffload | null = m.currentOffload;
      if (o === null) return NDIS_STATUS.NOT_SUPPORTED;
      return writeBytes(r, encodeOffload(o));
    }
    case OID.GEN_RECEIVE_SCALE_CAPABILITIES: {
      const c = m.general?.recvScaleCapabilities ?? null;
      if (!isReceiveScaleCapabilities(c)) return NDIS_STATUS.NOT_SUPPORTED;
      return writeBytes(r, encodeReceiveScaleCapabilities(c));
    }
    case OID.GEN_RECEIVE_HASH: {
      if (m.general === null || !m.general.supportedOidList.includes(OID.GEN_RECEIVE_HASH)) return NDIS_STATUS.NOT_SUPPORTED;
      const h = receiveHashSettings.get(m) ?? { flags: 0, hashInformation: 0, secretKey: new Uint8Array(0) };
      return writeBytes(r, encodeReceiveHashParameters(h));
    }
    default:
      return NDIS_STATUS.NOT_SUPPORTED;
  }
}
