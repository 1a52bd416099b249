// NDIS hash function and hash type constants, and the HashInformation macros.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ht from '../../../src/offload/rss/hash-types.js';

void test('constants keep the ntddndis.h names and values', () => {
  const expected: Record<string, number> = {
    NdisHashFunctionToeplitz: 0x1,
    NdisHashFunctionReserved1: 0x2,
    NdisHashFunctionReserved2: 0x4,
    NdisHashFunctionReserved3: 0x8,
    NDIS_HASH_FUNCTION_MASK: 0xff,
    NDIS_HASH_TYPE_MASK: 0xffff00,
    NDIS_HASH_IPV4: 0x100,
    NDIS_HASH_TCP_IPV4: 0x200,
    NDIS_HASH_IPV6: 0x400,
    NDIS_HASH_IPV6_EX: 0x800,
    NDIS_HASH_TCP_IPV6: 0x1000,
    NDIS_HASH_TCP_IPV6_EX: 0x2000,
    NDIS_HASH_UDP_IPV4: 0x4000,
    NDIS_HASH_UDP_IPV6: 0x8000,
    NDIS_HASH_UDP_IPV6_EX: 0x10000,
    NDIS_RSS_HASH_SECRET_KEY_MAX_SIZE_REVISION_1: 40,
  };
  const actual = ht as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(expected)) assert.equal(actual[name], value, name);
});

void test('every hash type lies inside NDIS_HASH_TYPE_MASK and no two overlap', () => {
  const types = [
    ht.NDIS_HASH_IPV4,
    ht.NDIS_HASH_TCP_IPV4,
    ht.NDIS_HASH_IPV6,
    ht.NDIS_HASH_IPV6_EX,
    ht.NDIS_HASH_TCP_IPV6,
    ht.NDIS_HASH_TCP_IPV6_EX,
    ht.NDIS_HASH_UDP_IPV4,
    ht.NDIS_HASH_UDP_IPV6,
    ht.NDIS_HASH_UDP_IPV6_EX,
  ];
  let seen = 0;
  for (const t of types) {
    assert.equal(t & ~ht.NDIS_HASH_TYPE_MASK, 0);
    assert.equal(t & seen, 0);
    seen |= t;
  }
  assert.equal(ht.NdisHashFunctionToeplitz & ~ht.NDIS_HASH_FUNCTION_MASK, 0);
});

void test('HashInformation macros combine and split type and function', () => {
  const info = ht.NDIS_RSS_HASH_INFO_FROM_TYPE_AND_FUNC(
    ht.NDIS_HASH_IPV4 | ht.NDIS_HASH_TCP_IPV4 | ht.NDIS_HASH_UDP_IPV6,
    ht.NdisHashFunctionToeplitz,
  );
  assert.equal(info, 0x8301);
  assert.equal(ht.NDIS_RSS_HASH_FUNC_FROM_HASH_INFO(info), ht.NdisHashFunctionToeplitz);
  assert.equal(ht.NDIS_RSS_HASH_TYPE_FROM_HASH_INFO(info), 0x8300);
  assert.equal(ht.NDIS_RSS_HASH_FUNC_FROM_HASH_INFO(ht.NDIS_HASH_IPV6), 0, 'no function: RSS disabled');
});
