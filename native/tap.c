/*
 * ndis_tap: Linux TAP device access for ndis-ts (Node-API, C).
 *
 * A TAP device is the "hardware" of the TAP miniport: Ethernet frames the Linux kernel transmits on
 * the interface are read from /dev/net/tun, and frames written to the fd are received by the kernel
 * as if they had arrived on a wire.
 *
 * The fd is opened non-blocking and watched with a libuv poll handle on the Node event loop; no
 * thread of the libuv pool is ever parked in read(), so closing the device lets the process exit.
 * On each readiness event the addon drains up to `maxFrames` frames into a slab that JavaScript
 * owns, records (offset, length) pairs in a descriptor array, and makes one call into JavaScript
 * for the whole batch. Counters live in a Float64Array that JavaScript owns as well, so reading
 * statistics costs no call.
 *
 * Frames stay in the kernel's queue while JavaScript is not reading (or when a batch is full):
 * this addon never discards a frame it has read. When the kernel's queue overflows, the kernel
 * counts the loss as tx_dropped on the interface.
 *
 * Offloads are off: the device is opened without IFF_VNET_HDR and TUNSETOFFLOAD is never issued,
 * so the kernel computes checksums and segments large sends before a frame reaches the fd, and
 * checks checksums of frames written to it.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest frame a TAP device without a virtio-net header can hand us: MTU ceiling of the tun driver
 * (65535) plus an Ethernet header and one VLAN tag the kernel inserts for tag-offloaded sends. */
#define TAP_MAX_FRAME (65535 + 14 + 4)

/* Counter slots in the statistics Float64Array (kept in step with STAT in native.ts). */
enum {
  STAT_RX_FRAMES = 0,
  STAT_RX_BYTES,
  STAT_RX_BATCHES,
  STAT_RX_BATCH_LIMIT_HITS,
  STAT_RX_ERRORS,
  STAT_TX_FRAMES,
  STAT_TX_BYTES,
  STAT_TX_DROPS_BUSY,
  STAT_TX_DROPS_LINK_DOWN,
  STAT_TX_DROPS_INVALID,
  STAT_TX_ERRORS,
  STAT_COUNT
};

typedef struct tap_device {
  napi_env env;
  int fd;
  uv_poll_t poll;
  int poll_initialised;   /* uv_poll_init done: the handle must be uv_close()d */
  int poll_closed;        /* uv_close callback ran (or never needed) */
  int reading;            /* uv_poll_start active */
  int closed;             /* fd closed, no further I/O */
  int finalised;          /* JS external collected */
  /* Registered async cleanup hook, NULL once removed. It stays registered until the poll handle's
   * close callback has run, so that a worker's environment waits for it before unloading us. */
  napi_async_cleanup_hook_handle cleanup_hook;
  napi_ref slab_ref;
  napi_ref desc_ref;
  napi_ref stats_ref;
  napi_ref deliver_ref;   /* strong while reading */
  napi_async_context async_context;
  uint8_t *slab;
  size_t slab_length;
  uint32_t *desc;         /* 2 * max_frames entries: offset, length */
  uint32_t max_frames;    /* capacity of desc */
  uint32_t batch_limit;   /* frames per readiness event; 0 = notify readiness only */
  double *stats;
} tap_device;

/* ---- errors ------------------------------------------------------------------------------------ */

/* Throws an Error whose code is the errno name (EPERM, ENOENT, ...), with errno and syscall set. */
static void throw_errno(napi_env env, int err, const char *syscall, const char *subject) {
  char message[256];
  snprintf(message, sizeof message, "%s %s: %s", syscall, subject, uv_strerror(-err));
  napi_value code, msg, error, number, sys;
  if (napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_error(env, code, msg, &error) != napi_ok) return;
  if (napi_create_int32(env, err, &number) == napi_ok) napi_set_named_property(env, error, "errno", number);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok)
    napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
}

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      const napi_extended_error_info *info_ = NULL;                    \
      napi_get_last_error_info(env, &info_);                           \
      bool pending_ = false;                                           \
      napi_is_exception_pending(env, &pending_);                       \
      if (!pending_)                                                   \
        napi_throw_error(env, "ERR_NDIS_TAP_ADDON",                    \
                         info_ && info_->error_message ? info_->error_message : #call); \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

#define THROW_TYPE(msg)                                   \
  do {                                                    \
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg); \
    return NULL;                                          \
  } while (0)

/* ---- lifetime ---------------------------------------------------------------------------------- */

/*
 * Lifetime: the struct is freed once the JS external is finalised and the poll handle is closed.
 * The environment's async cleanup hook is removed only when no close callback is pending: a close
 * callback that ran after a worker's environment unloaded this addon would jump into unmapped code.
 */
static void maybe_free(tap_device *d) {
  if (d->finalised && d->poll_closed && d->cleanup_hook == NULL) free(d);
}

static void finish_cleanup(tap_device *d) {
  if (d->cleanup_hook != NULL && d->poll_closed) {
    napi_async_cleanup_hook_handle hook = d->cleanup_hook;
    d->cleanup_hook = NULL;
    napi_remove_async_cleanup_hook(hook);
  }
}

static void on_poll_closed(uv_handle_t *handle) {
  tap_device *d = handle->data;
  d->poll_closed = 1;
  finish_cleanup(d);
  maybe_free(d);
}

/* Stops the watcher, closes the poll handle and the fd. Safe to call twice. Does not touch JS. */
static void release_io(tap_device *d) {
  if (d->poll_initialised && !d->poll_closed && !uv_is_closing((uv_handle_t *)&d->poll)) {
    uv_poll_stop(&d->poll);
    uv_close((uv_handle_t *)&d->poll, on_poll_closed);
  }
  d->reading = 0;
  if (!d->closed) {
    d->closed = 1;
    close(d->fd);
    d->fd = -1;
  }
}

static void delete_ref(napi_env env, napi_ref *ref) {
  if (*ref != NULL) {
    napi_delete_reference(env, *ref);
    *ref = NULL;
  }
}

/* Drops what JavaScript lent us for reading: the deliver callback and its async context. */
static void stop_reading_js(tap_device *d) {
  napi_env env = d->env;
  if (d->reading) {
    uv_poll_stop(&d->poll);
    d->reading = 0;
  }
  delete_ref(env, &d->deliver_ref);
  if (d->async_context != NULL) {
    napi_async_destroy(env, d->async_context);
    d->async_context = NULL;
  }
}

/* The environment is going away (process exit, worker termination): close everything; the hook
 * is removed, telling Node we are done, once the poll handle's close callback has run. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  tap_device *d = arg;
  d->cleanup_hook = hook;
  release_io(d);
  finish_cleanup(d);
}

static void finalise_device(napi_env env, void *data, void *hint) {
  (void)hint;
  tap_device *d = data;
  release_io(d);
  finish_cleanup(d);
  delete_ref(env, &d->slab_ref);
  delete_ref(env, &d->desc_ref);
  delete_ref(env, &d->stats_ref);
  delete_ref(env, &d->deliver_ref);
  d->finalised = 1;
  maybe_free(d);
}

static tap_device *get_device(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a TAP device handle");
    return NULL;
  }
  return data;
}

/* ---- interface control (SIOCSIFMTU, SIOCSIFFLAGS, SIOCGIFINDEX) on a datagram socket ------------ */

static int control_socket(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0 && errno == EAFNOSUPPORT) s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return s;
}

/* Applies MTU (when mtu > 0) and IFF_UP (when up >= 0) to `name`; reads back MTU and ifindex.
 * Returns 0 or -errno with *failed naming the request that failed. */
static int configure_interface(const char *name, int32_t mtu, int up, int32_t *mtu_out, int32_t *ifindex_out,
                               const char **failed) {
  struct ifreq ifr;
  int s = control_socket();
  if (s < 0) {
    *failed = "socket";
    return -errno;
  }
  int rc = 0;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
      *failed = "ioctl(SIOCSIFMTU)";
      rc = -errno;
      goto out;
    }
  }
  if (up >= 0) {
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
      *failed = "ioctl(SIOCGIFFLAGS)";
      rc = -errno;
      goto out;
    }
    if (up)
      ifr.ifr_flags |= IFF_UP;
    else
      ifr.ifr_flags &= ~IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
      *failed = "ioctl(SIOCSIFFLAGS)";
      rc = -errno;
      goto out;
    }
  }
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
    *failed = "ioctl(SIOCGIFMTU)";
    rc = -errno;
    goto out;
  }
  *mtu_out = ifr.ifr_mtu;
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
    *failed = "ioctl(SIOCGIFINDEX)";
    rc = -errno;
    goto out;
  }
  *ifindex_out = ifr.ifr_ifindex;
out:
  close(s);
  return rc;
}

/* ---- open -------------------------------------------------------------------------------------- */

static int get_u8(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  size_t count;
  void *ptr;
  napi_value ab;
  size_t offset;
  bool is_ta = false;
  if (napi_is_typedarray(env, value, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, value, &type, &count, &ptr, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = ptr;
  *length = count;
  return 1;
}

/*
 * open(name: string, slab: Uint8Array, descriptors: Uint32Array, stats: Float64Array, mtu: number,
 *      up: number) -> { handle, name, mtu, ifindex }
 *
 * Opens /dev/net/tun non-blocking and close-on-exec and attaches it to TAP interface `name`
 * (IFF_TAP | IFF_NO_PI). An empty name or one holding %d lets the kernel choose. mtu > 0 sets the
 * MTU; up = 1 / 0 sets / clears IFF_UP; up = -1 leaves the flags alone.
 */
static napi_value tap_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) THROW_TYPE("open(name, slab, descriptors, stats, mtu, up) takes 6 arguments");

  char name[IFNAMSIZ];
  size_t name_length = 0;
  napi_valuetype vt;
  CHECK(napi_typeof(env, argv[0], &vt));
  if (vt != napi_string) THROW_TYPE("name must be a string");
  CHECK(napi_get_value_string_utf8(env, argv[0], NULL, 0, &name_length));
  if (name_length >= IFNAMSIZ) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "interface name is longer than 15 bytes");
    return NULL;
  }
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length));

  uint8_t *slab;
  size_t slab_length;
  if (!get_u8(env, argv[1], &slab, &slab_length)) THROW_TYPE("slab must be a Uint8Array");

  napi_typedarray_type type;
  size_t count, offset;
  void *ptr;
  napi_value ab;
  bool is_ta = false;
  CHECK(napi_is_typedarray(env, argv[2], &is_ta));
  if (!is_ta) THROW_TYPE("descriptors must be a Uint32Array");
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &count, &ptr, &ab, &offset));
  if (type != napi_uint32_array || count < 2) THROW_TYPE("descriptors must be a Uint32Array of 2 or more");
  uint32_t *desc = ptr;
  uint32_t max_frames = (uint32_t)(count / 2);

  CHECK(napi_is_typedarray(env, argv[3], &is_ta));
  if (!is_ta) THROW_TYPE("stats must be a Float64Array");
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &count, &ptr, &ab, &offset));
  if (type != napi_float64_array || count < STAT_COUNT) THROW_TYPE("stats must be a Float64Array of STAT_COUNT");
  double *stats = ptr;

  if (slab_length < TAP_MAX_FRAME) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "slab must hold at least one frame of 65553 bytes");
    return NULL;
  }

  int32_t mtu = 0, up = -1;
  CHECK(napi_get_value_int32(env, argv[4], &mtu));
  CHECK(napi_get_value_int32(env, argv[5], &up));

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, errno, "open", "/dev/net/tun");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, name_length);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "ioctl(TUNSETIFF)", name_length > 0 ? name : "(kernel-chosen name)");
    return NULL;
  }
  char actual[IFNAMSIZ];
  memcpy(actual, ifr.ifr_name, IFNAMSIZ);
  actual[IFNAMSIZ - 1] = '\0';

  int32_t mtu_now = 0, ifindex = 0;
  const char *failed = "";
  int rc = configure_interface(actual, mtu, up, &mtu_now, &ifindex, &failed);
  if (rc < 0) {
    close(fd);
    throw_errno(env, -rc, failed, actual);
    return NULL;
  }

  tap_device *d = calloc(1, sizeof *d);
  if (d == NULL) {
    close(fd);
    throw_errno(env, ENOMEM, "calloc", "device");
    return NULL;
  }
  d->env = env;
  d->fd = fd;
  d->poll_closed = 1; /* nothing to close until uv_poll_init */
  d->slab = slab;
  d->slab_length = slab_length;
  d->desc = desc;
  d->max_frames = max_frames;
  d->stats = stats;

  napi_value handle, result, v;
  if (napi_create_external(env, d, finalise_device, NULL, &handle) != napi_ok) {
    close(fd);
    free(d);
    napi_throw_error(env, "ERR_NDIS_TAP_ADDON", "napi_create_external failed");
    return NULL;
  }
  /* From here the finaliser owns d. */
  CHECK(napi_create_reference(env, argv[1], 1, &d->slab_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &d->desc_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &d->stats_ref));
  if (napi_add_async_cleanup_hook(env, on_env_cleanup, d, &d->cleanup_hook) != napi_ok) d->cleanup_hook = NULL;

  CHECK(napi_create_object(env, &result));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  CHECK(napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, result, "name", v));
  CHECK(napi_create_int32(env, mtu_now, &v));
  CHECK(napi_set_named_property(env, result, "mtu", v));
  CHECK(napi_create_int32(env, ifindex, &v));
  CHECK(napi_set_named_property(env, result, "ifindex", v));
  return result;
}

/* ---- receive ----------------------------------------------------------------------------------- */

static void call_deliver(tap_device *d, uint32_t count, int err) {
  napi_env env = d->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[2], result;
  if (napi_get_reference_value(env, d->deliver_ref, &fn) == napi_ok && fn != NULL &&
      napi_get_global(env, &recv) == napi_ok && napi_create_uint32(env, count, &argv[0]) == napi_ok &&
      napi_create_int32(env, err, &argv[1]) == napi_ok) {
    napi_status status = napi_make_callback(env, d->async_context, recv, fn, 2, argv, &result);
    bool pending = false;
    /* A JS exception from the handler goes to process 'uncaughtException', as for any callback.
     * Without one (the environment is shutting down and cannot run JS) there is nothing to report. */
    if (status != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value exception;
      if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  tap_device *d = handle->data;
  (void)events;
  if (d->closed || !d->reading) return;
  if (status < 0) {
    /* The device went away (deleted interface, namespace removed) or the fd broke: libuv has stopped
     * the watcher. Report it once; JavaScript decides what to do. */
    d->reading = 0;
    d->stats[STAT_RX_ERRORS] += 1;
    call_deliver(d, 0, -status);
    return;
  }
  if (d->batch_limit == 0) {
    /* readiness only: JavaScript reads the fd itself (kept for measuring that approach) */
    call_deliver(d, 0, 0);
    return;
  }
  uint8_t *slab = d->slab;
  uint32_t *desc = d->desc;
  double *stats = d->stats;
  size_t position = 0;
  uint32_t count = 0;
  int err = 0;
  while (count < d->batch_limit && d->slab_length - position >= TAP_MAX_FRAME) {
    ssize_t n = read(d->fd, slab + position, d->slab_length - position);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        err = errno;
        stats[STAT_RX_ERRORS] += 1;
      }
      break;
    }
    if (n == 0) break;
    desc[2 * count] = (uint32_t)position;
    desc[2 * count + 1] = (uint32_t)n;
    count++;
    stats[STAT_RX_FRAMES] += 1;
    stats[STAT_RX_BYTES] += (double)n;
    /* keep every frame 8-byte aligned in the slab */
    position += ((size_t)n + 7u) & ~(size_t)7u;
  }
  if (err == 0 && (count == d->batch_limit || d->slab_length - position < TAP_MAX_FRAME))
    stats[STAT_RX_BATCH_LIMIT_HITS] += 1; /* more may wait in the kernel queue: level-triggered poll comes back */
  if (err != 0) {
    uv_poll_stop(&d->poll);
    d->reading = 0;
  }
  if (count == 0 && err == 0) return;
  stats[STAT_RX_BATCHES] += 1;
  call_deliver(d, count, err);
}

/*
 * startReading(handle, deliver(count, errno), batchLimit): watch the fd; on each readiness event read
 * up to batchLimit frames (at most descriptors.length / 2) and call deliver once for the batch.
 * batchLimit 0 only reports readiness, with count 0, and leaves reading to the caller.
 */
static napi_value tap_start_reading(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) THROW_TYPE("startReading(handle, deliver, batchLimit) takes 3 arguments");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  napi_valuetype vt;
  CHECK(napi_typeof(env, argv[1], &vt));
  if (vt != napi_function) THROW_TYPE("deliver must be a function");
  uint32_t batch_limit = 0;
  CHECK(napi_get_value_uint32(env, argv[2], &batch_limit));
  if (batch_limit > d->max_frames) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "batchLimit exceeds descriptors.length / 2");
    return NULL;
  }
  if (d->closed) {
    throw_errno(env, EBADF, "startReading", "closed device");
    return NULL;
  }
  stop_reading_js(d);
  if (!d->poll_initialised) {
    uv_loop_t *loop = NULL;
    CHECK(napi_get_uv_event_loop(env, &loop));
    int rc = uv_poll_init(loop, &d->poll, d->fd);
    if (rc < 0) {
      throw_errno(env, -rc, "uv_poll_init", "/dev/net/tun");
      return NULL;
    }
    d->poll.data = d;
    d->poll_initialised = 1;
    d->poll_closed = 0;
  }
  napi_value resource_name;
  CHECK(napi_create_string_utf8(env, "NdisTapDevice", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, NULL, resource_name, &d->async_context));
  CHECK(napi_create_reference(env, argv[1], 1, &d->deliver_ref));
  int rc = uv_poll_start(&d->poll, UV_READABLE, on_poll);
  if (rc < 0) {
    stop_reading_js(d);
    throw_errno(env, -rc, "uv_poll_start", "/dev/net/tun");
    return NULL;
  }
  d->batch_limit = batch_limit;
  d->reading = 1;
  return NULL;
}

/* stopReading(handle): frames queue in the kernel until reading starts again. */
static napi_value tap_stop_reading(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) THROW_TYPE("stopReading(handle) takes 1 argument");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  if (!d->closed) stop_reading_js(d);
  return NULL;
}

/* setRef(handle, ref): whether the watcher keeps the event loop alive (uv_ref / uv_unref). */
static napi_value tap_set_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) THROW_TYPE("setRef(handle, ref) takes 2 arguments");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  bool ref = true;
  CHECK(napi_get_value_bool(env, argv[1], &ref));
  if (d->poll_initialised && !d->poll_closed) {
    if (ref)
      uv_ref((uv_handle_t *)&d->poll);
    else
      uv_unref((uv_handle_t *)&d->poll);
  }
  return NULL;
}

/* ---- send -------------------------------------------------------------------------------------- */

/* One write() of a whole frame on the non-blocking fd; 1 when sent, 0 when dropped (counted by reason). */
static int send_frame(tap_device *d, const uint8_t *frame, size_t length) {
  if (d->closed) {
    d->stats[STAT_TX_ERRORS] += 1;
    return 0;
  }
  ssize_t n;
  do {
    n = write(d->fd, frame, length);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    d->stats[STAT_TX_FRAMES] += 1;
    d->stats[STAT_TX_BYTES] += (double)length;
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
    d->stats[STAT_TX_DROPS_BUSY] += 1;
  else if (errno == EIO)
    d->stats[STAT_TX_DROPS_LINK_DOWN] += 1;
  else if (errno == EINVAL)
    d->stats[STAT_TX_DROPS_INVALID] += 1;
  else
    d->stats[STAT_TX_ERRORS] += 1;
  return 0;
}

/*
 * write(handle, bytes: Uint8Array, offset, length) -> 1 sent, 0 dropped (counted).
 * One write() on the non-blocking fd. A TAP write is all or nothing.
 */
static napi_value tap_write(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW_TYPE("write(handle, bytes, offset, length) takes 4 arguments");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  uint8_t *data;
  size_t data_length;
  if (!get_u8(env, argv[1], &data, &data_length)) THROW_TYPE("bytes must be a Uint8Array");
  uint32_t offset = 0, length = 0;
  CHECK(napi_get_value_uint32(env, argv[2], &offset));
  CHECK(napi_get_value_uint32(env, argv[3], &length));
  if ((size_t)offset > data_length || (size_t)length > data_length - offset) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset and length must lie within bytes");
    return NULL;
  }
  napi_value result;
  CHECK(napi_get_boolean(env, send_frame(d, data + offset, length), &result));
  return result;
}

/*
 * writeBatch(handle, bytes: Uint8Array, descriptors: Uint32Array, count) -> frames sent.
 * Frame i is bytes[descriptors[2i] .. + descriptors[2i+1]); one write() each, one call for all.
 * Every range is checked before anything is written.
 */
static napi_value tap_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW_TYPE("writeBatch(handle, bytes, descriptors, count) takes 4 arguments");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  uint8_t *data;
  size_t data_length;
  if (!get_u8(env, argv[1], &data, &data_length)) THROW_TYPE("bytes must be a Uint8Array");
  napi_typedarray_type type;
  size_t desc_count, desc_offset;
  void *ptr;
  napi_value ab;
  bool is_ta = false;
  CHECK(napi_is_typedarray(env, argv[2], &is_ta));
  if (!is_ta) THROW_TYPE("descriptors must be a Uint32Array");
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &desc_count, &ptr, &ab, &desc_offset));
  if (type != napi_uint32_array) THROW_TYPE("descriptors must be a Uint32Array");
  const uint32_t *desc = ptr;
  uint32_t count = 0;
  CHECK(napi_get_value_uint32(env, argv[3], &count));
  if ((size_t)count > desc_count / 2) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count exceeds descriptors.length / 2");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    size_t offset = desc[2 * i], length = desc[2 * i + 1];
    if (offset > data_length || length > data_length - offset) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a descriptor's offset and length do not lie within bytes");
      return NULL;
    }
  }
  uint32_t sent = 0;
  for (uint32_t i = 0; i < count; i++) sent += (uint32_t)send_frame(d, data + desc[2 * i], desc[2 * i + 1]);
  napi_value result;
  CHECK(napi_create_uint32(env, sent, &result));
  return result;
}

/* fd(handle): the file descriptor, or -1 once closed (for diagnostics and measurement). */
static napi_value tap_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) THROW_TYPE("fd(handle) takes 1 argument");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  napi_value result;
  CHECK(napi_create_int32(env, d->closed ? -1 : d->fd, &result));
  return result;
}

/* ---- close ------------------------------------------------------------------------------------- */

/* close(handle): stops the watcher and closes the fd; the interface disappears unless persistent. */
static napi_value tap_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) THROW_TYPE("close(handle) takes 1 argument");
  tap_device *d = get_device(env, argv[0]);
  if (d == NULL) return NULL;
  if (d->closed) return NULL;
  stop_reading_js(d);
  release_io(d);
  finish_cleanup(d);
  return NULL;
}

/* ---- module ------------------------------------------------------------------------------------ */

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  static const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {
      {"open", tap_open},
      {"startReading", tap_start_reading},
      {"stopReading", tap_stop_reading},
      {"setRef", tap_set_ref},
      {"write", tap_write},
      {"writeBatch", tap_write_batch},
      {"fd", tap_fd},
      {"close", tap_close},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok)
      return NULL;
    if (napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok) return NULL;
  }
  napi_value v;
  if (napi_create_uint32(env, STAT_COUNT, &v) == napi_ok) napi_set_named_property(env, exports, "STAT_COUNT", v);
  if (napi_create_uint32(env, TAP_MAX_FRAME, &v) == napi_ok) napi_set_named_property(env, exports, "MAX_FRAME", v);
  return exports;
}
