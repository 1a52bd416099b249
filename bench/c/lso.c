/*
 * Baseline for bench/lso.ts: large send segmentation written plainly in C. A 64 KiB TCP/IPv4 send
 * (Ethernet + IPv4 + TCP template, LSOv2 rules) is cut into MSS-sized segments in one output
 * buffer: headers copied, payload copied, IPv4 Total Length, Identification and header checksum,
 * TCP sequence number, flags and checksum (pseudo-header included) written per segment.
 *
 * Usage: lso <payload-bytes> <mss> check   -> prints the sum of every segment's TCP checksum
 *        lso <payload-bytes> <mss> rate    -> prints the best TCP payload bytes/s over timed rounds
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HDR 54 /* Ethernet 14 + IPv4 20 + TCP 20 */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
  while (n > 1) {
    s += (uint32_t)((p[0] << 8) | p[1]);
    p += 2;
    n -= 2;
  }
  if (n > 0) s += (uint32_t)(p[0] << 8);
  return s;
}

static uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)s;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* Segments `payload` bytes after the template; returns the sum of the TCP checksums written. */
static uint32_t segment(const uint8_t *frame, size_t payload, size_t mss, uint8_t *out) {
  uint32_t check = 0;
  uint16_t id0 = (uint16_t)((frame[18] << 8) | frame[19]);
  uint32_t seq0 = ((uint32_t)frame[38] << 24) | ((uint32_t)frame[39] << 16) | ((uint32_t)frame[40] << 8) | frame[41];
  uint8_t flags0 = frame[47];
  size_t count = (payload + mss - 1) / mss;
  for (size_t i = 0; i < count; i++) {
    size_t n = i == count - 1 ? payload - i * mss : mss;
    memcpy(out, frame, HDR);
    memcpy(out + HDR, frame + HDR + i * mss, n);
    uint8_t *ip = out + 14;
    uint8_t *tcp = out + 34;
    put16(ip + 2, (uint16_t)(20 + 20 + n));
    put16(ip + 4, (uint16_t)((id0 + i) & 0x7fff));
    put16(ip + 10, 0);
    put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
    uint32_t seq = seq0 + (uint32_t)(i * mss);
    tcp[4] = (uint8_t)(seq >> 24);
    tcp[5] = (uint8_t)(seq >> 16);
    tcp[6] = (uint8_t)(seq >> 8);
    tcp[7] = (uint8_t)seq;
    uint8_t f = flags0;
    if (i != count - 1) f &= (uint8_t)~0x09; /* FIN, PSH only on the last */
    if (i != 0) f &= (uint8_t)~0x80;        /* CWR only on the first */
    tcp[13] = f;
    put16(tcp + 16, 0);
    uint32_t ps = sum16(ip + 12, 8, 6u + (uint32_t)(20 + n));
    uint16_t c = (uint16_t)~fold(sum16(tcp, 20 + n, ps));
    put16(tcp + 16, c);
    check += c;
  }
  return check;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <payload-bytes> <mss> check|rate\n", argv[0]);
    return 2;
  }
  size_t payload = (size_t)strtoul(argv[1], NULL, 10);
  size_t mss = (size_t)strtoul(argv[2], NULL, 10);
  uint8_t *frame = malloc(HDR + payload);
  uint8_t *out = malloc(HDR + mss + 64);
  if (frame == NULL || out == NULL || mss == 0) return 1;
  /* The same template and payload as bench/lso.ts builds. */
  memset(frame, 0, HDR);
  frame[5] = 0x02;
  frame[6] = 0x02;
  frame[11] = 0x01;
  frame[12] = 0x08;
  frame[14] = 0x45;
  frame[18] = 0x12;
  frame[19] = 0x34;
  frame[20] = 0x40;
  frame[22] = 64;
  frame[23] = 6;
  frame[26] = 192; frame[27] = 0; frame[28] = 2; frame[29] = 1;
  frame[30] = 198; frame[31] = 51; frame[32] = 100; frame[33] = 7;
  frame[34] = 0xc0; frame[35] = 0x00; frame[36] = 0x01; frame[37] = 0xbb;
  frame[38] = 0x00; frame[39] = 0x01; frame[40] = 0x00; frame[41] = 0x00;
  frame[46] = 0x50;
  frame[47] = 0x18;
  frame[48] = 0xff; frame[49] = 0xff;
  for (size_t i = 0; i < payload; i++) frame[HDR + i] = (uint8_t)(i * 131 + 7);
  if (strcmp(argv[3], "check") == 0) {
    printf("%u\n", segment(frame, payload, mss, out));
    return 0;
  }
  volatile uint32_t sink = 0;
  double best = 0;
  double deadline = now() + 1.0;
  do {
    double start = now();
    int rounds = 200;
    for (int r = 0; r < rounds; r++) {
      frame[HDR] = (uint8_t)r; /* the data changes every send */
      sink += segment(frame, payload, mss, out);
    }
    double rate = (double)payload * rounds / (now() - start);
    if (rate > best) best = rate;
  } while (now() < deadline);
  printf("%.0f\n", best);
  return 0;
}
