/*
 * Baseline for bench/toeplitz.ts: the Toeplitz RSS hash in C with per-byte-position lookup
 * tables (one 256-entry table of 32-bit contributions per input byte), the same technique as
 * src/offload/rss/toeplitz.ts, over the same packet buffer (same generator, same seed).
 *
 * usage: toeplitz <ipv4|ipv4-ports|ipv6|ipv6-ports> [check | rounds]
 *   prints hashes per second (best of `rounds` rounds of at least 200 ms, default 5), or with
 *   `check` the XOR of the hashes of one pass over the packets, so the caller can confirm both
 *   sides did the same work.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PACKETS 4096
#define STRIDE 64

static const uint8_t key[40] = {
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
  0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
  0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static uint32_t table[36][256];
static uint8_t packets[PACKETS * STRIDE];

static void build_tables(void) {
  for (int i = 0; i < 36; i++) {
    uint32_t k = (uint32_t)key[i] << 24 | (uint32_t)key[i + 1] << 16 | (uint32_t)key[i + 2] << 8 | key[i + 3];
    uint32_t win[8];
    for (int j = 0; j < 8; j++) win[j] = j == 0 ? k : (k << j) | (key[i + 4] >> (8 - j));
    for (int v = 0; v < 256; v++) {
      uint32_t h = 0;
      for (int j = 0; j < 8; j++)
        if (v & (0x80 >> j)) h ^= win[j];
      table[i][v] = h;
    }
  }
}

/* xorshift32, seeded as bench/toeplitz.ts seeds it. */
static void fill_packets(void) {
  uint32_t x = 0x9e3779b9u;
  for (size_t i = 0; i < sizeof packets; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    packets[i] = (uint8_t)x;
  }
}

static inline uint32_t hash_at(const uint8_t *p, int pos, int n, uint32_t h) {
  for (int i = 0; i < n; i++) h ^= table[pos + i][p[i]];
  return h;
}

static inline uint32_t ipv4(const uint8_t *b, size_t src, size_t dst) {
  return hash_at(b + src, 0, 4, 0) ^ hash_at(b + dst, 4, 4, 0);
}
static inline uint32_t ipv4_ports(const uint8_t *b, size_t src, size_t dst, size_t ports) {
  return hash_at(b + src, 0, 4, 0) ^ hash_at(b + dst, 4, 4, 0) ^ hash_at(b + ports, 8, 4, 0);
}
static inline uint32_t ipv6(const uint8_t *b, size_t src, size_t dst) {
  return hash_at(b + src, 0, 16, 0) ^ hash_at(b + dst, 16, 16, 0);
}
static inline uint32_t ipv6_ports(const uint8_t *b, size_t src, size_t dst, size_t ports) {
  return hash_at(b + src, 0, 16, 0) ^ hash_at(b + dst, 16, 16, 0) ^ hash_at(b + ports, 32, 4, 0);
}

static uint32_t pass(int kind) {
  uint32_t acc = 0;
  for (size_t p = 0; p < PACKETS; p++) {
    size_t o = p * STRIDE;
    switch (kind) {
      case 0: acc ^= ipv4(packets, o + 12, o + 16); break;
      case 1: acc ^= ipv4_ports(packets, o + 12, o + 16, o + 20); break;
      case 2: acc ^= ipv6(packets, o + 8, o + 24); break;
      default: acc ^= ipv6_ports(packets, o + 8, o + 24, o + 40); break;
    }
  }
  return acc;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

volatile uint32_t sink;

int main(int argc, char **argv) {
  static const char *kinds[] = {"ipv4", "ipv4-ports", "ipv6", "ipv6-ports"};
  int kind = -1;
  for (int k = 0; k < 4 && argc > 1; k++)
    if (strcmp(argv[1], kinds[k]) == 0) kind = k;
  if (kind < 0) {
    fprintf(stderr, "usage: toeplitz <ipv4|ipv4-ports|ipv6|ipv6-ports> [check | rounds]\n");
    return 2;
  }
  build_tables();
  fill_packets();
  if (argc > 2 && strcmp(argv[2], "check") == 0) {
    printf("%u\n", pass(kind));
    return 0;
  }
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (rounds < 1) rounds = 1;
  double best = 0;
  uint32_t acc = 0;
  for (int i = 0; i < 50; i++) acc ^= pass(kind); /* warm-up */
  for (int r = 0; r < rounds; r++) {
    long passes = 0;
    double start = now_ms(), elapsed;
    do {
      acc ^= pass(kind);
      passes++;
      elapsed = now_ms() - start;
    } while (elapsed < 200);
    double rate = (double)passes * PACKETS / (elapsed / 1e3);
    if (rate > best) best = rate;
  }
  sink = acc;
  printf("%.0f\n", best);
  return 0;
}
