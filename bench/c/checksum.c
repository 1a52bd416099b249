/*
 * Baseline for bench/checksum.ts: the Internet checksum (RFC 1071) written the plain way, 16-bit
 * words added into a 32-bit accumulator, carries folded at the end. Usage: checksum <size-bytes>
 * [offset]; prints the best bytes/s over several timed rounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint16_t internet_checksum(const uint8_t *p, size_t n) {
  uint32_t sum = 0;
  while (n > 1) {
    uint16_t w;
    memcpy(&w, p, 2); /* host-order load; byte order is fixed once at the end (RFC 1071 2(B)) */
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n > 0) {
    uint16_t w = 0;
    memcpy(&w, p, 1);
    sum += w;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t host = (uint16_t)~sum;
  return (uint16_t)((host >> 8) | (host << 8)); /* little-endian host to network order */
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <size-bytes> [offset]\n", argv[0]);
    return 2;
  }
  size_t n = (size_t)strtoul(argv[1], NULL, 10);
  size_t off = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0;
  uint8_t *buf = malloc(n + off + 64);
  if (buf == NULL) return 1;
  uint8_t *data = buf + off;
  for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 131 + 7);
  volatile uint32_t sink = 0;
  size_t iterations = ((size_t)1 << 26) / (n + 32) + 1;
  double best = 0;
  double deadline = now() + 1.0;
  do {
    double start = now();
    uint32_t acc = 0;
    for (size_t i = 0; i < iterations; i++) {
      data[0] = (uint8_t)i; /* the data changes every call, as packets do */
      acc += internet_checksum(data, n);
    }
    sink += acc;
    double rate = (double)n * (double)iterations / (now() - start);
    if (rate > best) best = rate;
  } while (now() < deadline);
  printf("%.0f\n", best);
  free(buf);
  return 0;
}
