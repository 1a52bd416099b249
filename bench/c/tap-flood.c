/*
 * Load generator for bench/tap-read.ts: transmits Ethernet frames on interface <ifname> (a TAP
 * device) as fast as it can, through an AF_PACKET socket with PACKET_QDISC_BYPASS and sendmmsg in
 * batches of 64, so the frames go straight to the TAP driver's transmit routine and wait in its
 * queue for whoever reads the TAP fd. Frames are broadcast, EtherType 0x88b5 (IEEE local
 * experimental), <length> bytes, with a sequence number at offset 14. With <rate> > 0 it sends
 * one frame at a time, spaced evenly to <rate> frames per second (spinning between frames).
 *
 * usage: tap-flood <ifname> <seconds> [length] [rate]
 *   prints the frames the kernel accepted per second
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tap-flood <ifname> <seconds> [length] [rate]\n");
    return 2;
  }
  double seconds = atof(argv[2]);
  size_t length = argc > 3 ? (size_t)atoi(argv[3]) : 60;
  if (length < 60 || length > 1514) length = 60;
  double rate = argc > 4 ? atof(argv[4]) : 0;
  unsigned ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) {
    perror("if_nametoindex");
    return 1;
  }
  int s = socket(AF_PACKET, SOCK_RAW, 0);
  if (s < 0) {
    perror("socket(AF_PACKET)");
    return 1;
  }
  int one = 1;
  setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = (int)ifindex;
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);

  static uint8_t frames[BATCH][1514];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    memset(frames[i], 0xff, 6);
    uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
    memcpy(frames[i] + 6, src, 6);
    frames[i][12] = 0x88;
    frames[i][13] = 0xb5;
    iov[i].iov_base = frames[i];
    iov[i].iov_len = length;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint32_t seq = 0;
  uint64_t sent = 0;
  double start = now(), end = start + seconds, t = start;
  if (rate > 0) {
    double interval = 1.0 / rate, next = start;
    while (t < end) {
      while ((t = now()) < next) {
      }
      uint32_t n = htonl(seq++);
      memcpy(frames[0] + 14, &n, 4);
      if (sendmmsg(s, msgs, 1, 0) == 1) sent++;
      next += interval;
      if (t - next > 0.001) next = t; /* fell behind: do not burst to catch up */
    }
    printf("%.0f\n", (double)sent / (t - start));
    close(s);
    return 0;
  }
  while (t < end) {
    for (int i = 0; i < BATCH; i++) {
      uint32_t n = htonl(seq++);
      memcpy(frames[i] + 14, &n, 4);
    }
    int r = sendmmsg(s, msgs, BATCH, 0);
    if (r > 0) sent += (uint64_t)r;
    t = now();
  }
  printf("%.0f\n", (double)sent / (t - start));
  close(s);
  return 0;
}
