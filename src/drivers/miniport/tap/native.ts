/**
 * Loading of the optional TAP addon (native/tap.c, built by scripts/build-native.mjs at install).
 *
 * The addon is loaded lazily, on the first open of a TAP device, so that a machine without it
 * (not Linux, no compiler at install) runs everything else. When TAP cannot work here, the loader
 * throws a {@link TapUnavailableError} that says why and what to do.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Opaque handle of an open TAP fd inside the addon (a Node-API external). */
export type TapHandle = { readonly __tapHandle: unique symbol };

/** What `open` in the addon returns. */
export interface TapOpenResult {
  readonly handle: TapHandle;
  /** Interface name the kernel gave the device (it fills in `%d`). */
  readonly name: string;
  /** MTU of the interface after any change (SIOCGIFMTU). */
  readonly mtu: number;
  /** Interface index in the network namespace the device was opened in (SIOCGIFINDEX). */
  readonly ifindex: number;
}

/**
 * The functions native/tap.c exports. JavaScript lends the addon three arrays at open: the receive
 * slab, the descriptor array (offset, length pairs) and the counters ({@link STAT}).
 */
export interface TapAddon {
  /**
   * Opens /dev/net/tun (O_NONBLOCK, O_CLOEXEC) and attaches it to TAP interface `name` with
   * TUNSETIFF (IFF_TAP | IFF_NO_PI). `mtu` > 0 sets the MTU (SIOCSIFMTU); `up` 1/0 sets/clears
   * IFF_UP (SIOCSIFFLAGS), -1 leaves the flags alone. Throws an Error whose `code` is the errno name.
   */
  open(name: string, slab: Uint8Array, descriptors: Uint32Array, stats: Float64Array, mtu: number, up: number): TapOpenResult;
  /**
   * Watches the fd with a libuv poll handle; each readiness event reads up to `batchLimit` frames
   * into the slab and calls `deliver(count, errno)` once. `errno` != 0 means reading failed and stopped.
   * `batchLimit` 0 reports readiness only (count 0) and leaves the reads to the caller.
   */
  startReading(handle: TapHandle, deliver: (count: number, errno: number) => void, batchLimit: number): void;
  /** Stops the watcher; frames wait in the kernel's queue. */
  stopReading(handle: TapHandle): void;
  /** uv_ref / uv_unref of the watcher: whether an active reader keeps the process alive. */
  setRef(handle: TapHandle, ref: boolean): void;
  /** One write() of `length` bytes; false when the frame was dropped (and counted). */
  write(handle: TapHandle, bytes: Uint8Array, offset: number, length: number): boolean;
  /**
   * One write() per frame for `count` frames; frame i is `bytes[descriptors[2i] .. + descriptors[2i+1])`.
   * Returns the number sent; the others were dropped and counted. Throws RangeError (nothing written)
   * when a range lies outside `bytes` or `count` exceeds the descriptors.
   */
  writeBatch(handle: TapHandle, bytes: Uint8Array, descriptors: Uint32Array, count: number): number;
  /** The fd, or -1 after close. */
  fd(handle: TapHandle): number;
  /** Stops the watcher and closes the fd. Idempotent. */
  close(handle: TapHandle): void;
  /** Number of counters the stats array must hold. */
  readonly STAT_COUNT: number;
  /** Largest frame a TAP device without a virtio-net header can deliver (65535 + 14 + 4). */
  readonly MAX_FRAME: number;
}

/** Slots of the addon's counter array (the order of the STAT_* enum in native/tap.c). */
export const STAT = {
  RX_FRAMES: 0,
  RX_BYTES: 1,
  RX_BATCHES: 2,
  RX_BATCH_LIMIT_HITS: 3,
  RX_ERRORS: 4,
  TX_FRAMES: 5,
  TX_BYTES: 6,
  TX_DROPS_BUSY: 7,
  TX_DROPS_LINK_DOWN: 8,
  TX_DROPS_INVALID: 9,
  TX_ERRORS: 10,
} as const;

/** Number of counters in {@link STAT}. */
export const STAT_COUNT = 11;

/** Stable codes of {@link TapError}. */
export type TapErrorCode =
  | 'ERR_NDIS_TAP_NOT_BUILT'
  | 'ERR_NDIS_TAP_LOAD_FAILED'
  | 'ERR_NDIS_TAP_NOT_LINUX'
  | 'ERR_NDIS_TAP_NO_TUN_DEVICE'
  | 'ERR_NDIS_TAP_PERMISSION'
  | 'ERR_NDIS_TAP_OPEN_FAILED'
  | 'ERR_NDIS_TAP_INVALID_ARGUMENT'
  | 'ERR_NDIS_TAP_CLOSED'
  | 'ERR_NDIS_TAP_IO';

/** An error of the TAP device layer, with a stable `code` and, where the OS said no, its errno. */
export class TapError extends Error {
  override readonly name: string = 'TapError';
  readonly code: TapErrorCode;
  /** errno name (EPERM, ENOENT, ...) when a system call failed. */
  readonly errno: string | undefined;
  /** The system call that failed, e.g. `ioctl(TUNSETIFF)`. */
  readonly syscall: string | undefined;

  constructor(code: TapErrorCode, message: string, errno?: string, syscall?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/**
 * TAP cannot work on this machine or for this process: the addon is not built or does not load, the
 * OS is not Linux, /dev/net/tun is missing, or the process lacks CAP_NET_ADMIN. The message says
 * what to do.
 */
export class TapUnavailableError extends TapError {
  override readonly name: string = 'TapUnavailableError';
}

const ADDON_FILE = 'ndis_tap.node';

/** The package root: the nearest directory above this module holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The reason scripts/build-native.mjs recorded when it could not build the addon, if any. */
function recordedBuildFailure(root: string): string | null {
  try {
    const status = JSON.parse(readFileSync(join(root, 'build', 'ndis-tap-status.json'), 'utf8')) as unknown;
    if (typeof status === 'object' && status !== null && 'reason' in status && typeof status.reason === 'string') {
      return status.reason;
    }
  } catch {
    // no record: the build never ran (e.g. npm ci --ignore-scripts)
  }
  return null;
}

/** Where the loader looks for the addon when no path is given: build/Release, then build/Debug. */
export function defaultAddonPaths(): string[] {
  const root = packageRoot();
  return [join(root, 'build', 'Release', ADDON_FILE), join(root, 'build', 'Debug', ADDON_FILE)];
}

let cached: TapAddon | null = null;

/**
 * Loads the TAP addon (once; later calls return the same module). With `path`, loads that file
 * instead and does not cache it.
 * @throws TapUnavailableError when TAP support is not built, does not load, or this is not Linux.
 */
export function loadTapAddon(path?: string): TapAddon {
  if (path === undefined && cached !== null) return cached;
  if (process.platform !== 'linux') {
    throw new TapUnavailableError(
      'ERR_NDIS_TAP_NOT_LINUX',
      `TAP devices exist only on Linux (this is ${process.platform}); use another wire (in-process hub, VXLAN, pcap) here`,
    );
  }
  const candidates = path === undefined ? defaultAddonPaths() : [path];
  const found = candidates.find((p) => existsSync(p));
  const root = packageRoot();
  if (found === undefined) {
    const recorded = path === undefined ? recordedBuildFailure(root) : null;
    throw new TapUnavailableError(
      'ERR_NDIS_TAP_NOT_BUILT',
      `TAP support is not built (no ${candidates.join(' or ')})` +
        (recorded === null ? '' : `; the install-time build said: ${recorded}`) +
        `; build it with "node scripts/build-native.mjs --verbose" in ${root} (needs a C compiler, make and python3)`,
    );
  }
  let addon: TapAddon;
  try {
    addon = createRequire(import.meta.url)(found) as TapAddon;
  } catch (e) {
    throw new TapUnavailableError(
      'ERR_NDIS_TAP_LOAD_FAILED',
      `the TAP addon ${found} does not load (${e instanceof Error ? e.message : String(e)}); ` +
        `rebuild it with "node scripts/build-native.mjs --verbose" in ${root}`,
      undefined,
      undefined,
      e,
    );
  }
  if (addon.STAT_COUNT !== STAT_COUNT || typeof addon.open !== 'function') {
    throw new TapUnavailableError(
      'ERR_NDIS_TAP_LOAD_FAILED',
      `the TAP addon ${found} is from another version of ndis-ts; rebuild it with "node scripts/build-native.mjs" in ${root}`,
    );
  }
  if (path === undefined) cached = addon;
  return addon;
}

/** The fields of the Error the addon throws when a system call fails. */
interface SystemError {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
}

/**
 * Turns an Error the addon threw from `open` into a {@link TapError}: missing /dev/net/tun and missing
 * privilege become {@link TapUnavailableError} with advice; anything else is ERR_NDIS_TAP_OPEN_FAILED.
 */
export function tapOpenError(error: unknown, name: string): TapError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SystemError;
  const errno = typeof e.code === 'string' ? e.code : undefined;
  const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
  const detail = typeof e.message === 'string' ? e.message : String(error);
  const what = name === '' || name.includes('%d') ? `a TAP device (${name || 'tap%d'})` : `TAP device ${name}`;
  switch (errno) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      if (syscall === 'open') {
        return new TapUnavailableError(
          'ERR_NDIS_TAP_NO_TUN_DEVICE',
          `cannot open ${what}: ${detail}; load the tun module ("modprobe tun") or, in a container, ` +
            'pass the device through (e.g. docker run --device /dev/net/tun --cap-add NET_ADMIN)',
          errno,
          syscall,
          error,
        );
      }
      break;
    case 'EPERM':
    case 'EACCES':
      return new TapUnavailableError(
        'ERR_NDIS_TAP_PERMISSION',
        `cannot open ${what}: ${detail}; run as root or grant CAP_NET_ADMIN ` +
          '(e.g. "sudo setcap cap_net_admin+ep $(command -v node)"), or create a persistent TAP owned by ' +
          'your user with "ip tuntap add dev <name> mode tap user $USER" and open that name',
        errno,
        syscall,
        error,
      );
    default:
      break;
  }
  return new TapError(
    'ERR_NDIS_TAP_OPEN_FAILED',
    `cannot open ${what}: ${detail}` +
      (errno === 'EBUSY' ? ' (another process has it open)' : '') +
      (errno === 'EINVAL' && syscall === 'ioctl(TUNSETIFF)' ? ' (the name is taken by a device that is not a TAP, or is not a valid interface name)' : ''),
    errno,
    syscall,
    error,
  );
}

/**
 * Why TAP cannot be used here, found without opening a device, or null when it can be tried: the
 * addon loads and this process's uid may open /dev/net/tun for reading and writing. Missing
 * CAP_NET_ADMIN shows only when a device is opened.
 */
export function tapUnavailableReason(): TapUnavailableError | null {
  try {
    loadTapAddon();
  } catch (e) {
    if (e instanceof TapUnavailableError) return e;
    throw e;
  }
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const error = tapOpenError({ code: errno === 'ENOENT' ? 'ENOENT' : 'EACCES', syscall: 'open', message: String(e) }, '');
    return error instanceof TapUnavailableError ? error : null;
  }
  return null;
}
