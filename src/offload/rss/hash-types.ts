/**
 * RSS hash function and hash type constants, with the names and values of the NDIS headers
 * (ntddndis.h). A `HashInformation` value, as carried by NDIS_RECEIVE_SCALE_PARAMETERS,
 * NDIS_RECEIVE_HASH_PARAMETERS and the NET_BUFFER_LIST hash OOB data, is a hash type (bits 8-23)
 * ORed with a hash function (bits 0-7).
 */

/** NdisHashFunctionToeplitz: the Toeplitz hash, the only function a miniport may use. */
export const NdisHashFunctionToeplitz = 0x00000001;
/** NdisHashFunctionReserved1: reserved to NDIS. */
export const NdisHashFunctionReserved1 = 0x00000002;
/** NdisHashFunctionReserved2: reserved to NDIS. */
export const NdisHashFunctionReserved2 = 0x00000004;
/** NdisHashFunctionReserved3: reserved to NDIS. */
export const NdisHashFunctionReserved3 = 0x00000008;

/** NDIS_HASH_FUNCTION_MASK: the hash-function bits of a HashInformation value. */
export const NDIS_HASH_FUNCTION_MASK = 0x000000ff;
/** NDIS_HASH_TYPE_MASK: the hash-type bits of a HashInformation value. */
export const NDIS_HASH_TYPE_MASK = 0x00ffff00;

/** NDIS_HASH_IPV4: IPv4 source and destination addresses (the 2-tuple). */
export const NDIS_HASH_IPV4 = 0x00000100;
/** NDIS_HASH_TCP_IPV4: IPv4 addresses plus TCP source and destination ports. */
export const NDIS_HASH_TCP_IPV4 = 0x00000200;
/** NDIS_HASH_IPV6: IPv6 source and destination addresses. */
export const NDIS_HASH_IPV6 = 0x00000400;
/** NDIS_HASH_IPV6_EX: IPv6 addresses taken from the Home Address option and type 2 Routing Header when present. */
export const NDIS_HASH_IPV6_EX = 0x00000800;
/** NDIS_HASH_TCP_IPV6: IPv6 addresses plus TCP ports. */
export const NDIS_HASH_TCP_IPV6 = 0x00001000;
/** NDIS_HASH_TCP_IPV6_EX: NDIS_HASH_IPV6_EX addresses plus TCP ports. */
export const NDIS_HASH_TCP_IPV6_EX = 0x00002000;
/** NDIS_HASH_UDP_IPV4: IPv4 addresses plus UDP ports (NDIS 6.80 and later). */
export const NDIS_HASH_UDP_IPV4 = 0x00004000;
/** NDIS_HASH_UDP_IPV6: IPv6 addresses plus UDP ports (NDIS 6.80 and later). */
export const NDIS_HASH_UDP_IPV6 = 0x00008000;
/** NDIS_HASH_UDP_IPV6_EX: NDIS_HASH_IPV6_EX addresses plus UDP ports (NDIS 6.80 and later). */
export const NDIS_HASH_UDP_IPV6_EX = 0x00010000;

/**
 * NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1: the largest secret key, in bytes, that
 * NDIS_RECEIVE_SCALE_PARAMETERS carries (320 bits for the Toeplitz function).
 */
export const NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1 = 40;

/** NDIS_RSS_HASH_FUNC_FROM_HASH_INFO: the hash function of a HashInformation value. */
export function NDIS_RSS_HASH_FUNC_FROM_HASH_INFO(hashInformation: number): number {
  return hashInformation & NDIS_HASH_FUNCTION_MASK;
}

/** NDIS_RSS_HASH_TYPE_FROM_HASH_INFO: the hash type bits of a HashInformation value. */
export function NDIS_RSS_HASH_TYPE_FROM_HASH_INFO(hashInformation: number): number {
  return hashInformation & NDIS_HASH_TYPE_MASK;
}

/** NDIS_RSS_HASH_INFO_FROM_TYPE_AND_FUNC: combines a hash type and a hash function into HashInformation. */
export function NDIS_RSS_HASH_INFO_FROM_TYPE_AND_FUNC(hashType: number, hashFunction: number): number {
  return hashType | hashFunction;
}
