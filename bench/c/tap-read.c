/*
 * Baseline for bench/tap-read.ts: the plain C way to receive from a TAP device. Opens
 * /dev/net/tun (IFF_TAP | IFF_NO_PI, O_NONBLOCK), brings the interface up, prints its name, then
 * loops poll() + read() until EAGAIN, reading each frame's EtherType as the JavaScript side does.
 * After the first frame it waits <warm> seconds, then counts frames and CPU time for <measure>
 * seconds.
 *
 * usage: tap-read <name-pattern> <warm-seconds> <measure-seconds>
 *   prints the interface name on one line, then frames read per second, CPU microseconds
 *   (user + system) per frame, and the frames the kernel dropped from the device's queue
 *   (tx_dropped) during the count
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static double kernel_drops(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "/sys/class/net/%s/statistics/tx_dropped", name);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  double v = -1;
  if (fscanf(f, "%lf", &v) != 1) v = -1;
  fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: tap-read <name-pattern> <warm-seconds> <measure-seconds>\n");
    return 2;
  }
  double warm = atof(argv[2]), measure = atof(argv[3]);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/net/tun");
    return 1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    perror("TUNSETIFF");
    return 1;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq up = ifr;
  ioctl(s, SIOCGIFFLAGS, &up);
  up.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &up) < 0) {
    perror("SIOCSIFFLAGS");
    return 1;
  }
  printf("%s\n", ifr.ifr_name);
  fflush(stdout);

  static uint8_t buf[65536 + 64];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  uint64_t frames = 0, acc = 0, counted_from = 0;
  double first = 0, begin = 0, deadline = 0, cpu_begin = 0, drops_begin = 0;
  for (;;) {
    if (poll(&p, 1, 5000) <= 0) break;
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) break;
      frames++;
      acc += (uint64_t)buf[12] << 8 | buf[13];
    }
    double t = now();
    if (first == 0) first = t;
    if (begin == 0 && t >= first + warm) {
      begin = t;
      cpu_begin = cpu_seconds();
      drops_begin = kernel_drops(ifr.ifr_name);
      counted_from = frames;
      deadline = begin + measure;
    }
    if (begin != 0 && t >= deadline) {
      uint64_t counted = frames - counted_from;
      printf("%.0f %.3f %.0f\n", (double)counted / (t - begin),
             counted ? (cpu_seconds() - cpu_begin) * 1e6 / (double)counted : 0.0,
             kernel_drops(ifr.ifr_name) - drops_begin);
      fprintf(stderr, "checksum %llu\n", (unsigned long long)acc);
      return 0;
    }
  }
  fprintf(stderr, "no frames arrived\n");
  return 1;
}
