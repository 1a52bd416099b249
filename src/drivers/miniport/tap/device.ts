/**
 * A Linux TAP device as the "hardware" under a TAP miniport: the Ethernet frames the Linux kernel
 * transmits on the interface arrive here in batches, and the frames written here arrive at the
 * kernel as if received from a wire. It plays the part a NIC's receive ring and transmit path play
 * under a miniport's MiniportSendNetBufferLists and its NdisMIndicateReceiveNetBufferLists calls.
 *
 * Receive is batched: the addon drains up to `batchFrames` frames per readiness event of the
 * non-blocking fd into a slab this class owns and calls back once per batch. Frames are views
 * (offset, length) into that slab, valid only during the callback. Nothing is discarded on the
 * receive side: frames that do not fit in a batch wait in the kernel's queue for the next event;
 * when that queue overflows, the kernel counts the loss (tx_dropped of the interface, reported here
 * as `rxKernelQueueDrops`).
 *
 * Offloads are off (no IFF_VNET_HDR): frames read carry complete checksums and are no larger than
 * the MTU plus an Ethernet header and a VLAN tag; frames written must carry valid checksums.
 *
 * Depends on no other module of the project.
 */
import { readFileSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { loadTapAddon, STAT, STAT_COUNT, TapError, tapOpenError } from './native.js';
import type { TapAddon, TapHandle } from './native.js';

/** Options of {@link TapDevice.open}. */
export interface TapOpenOptions {
  /** MTU to set on the interface (SIOCSIFMTU), 68..65535. Unset: keep the interface's MTU. */
  mtu?: number;
  /** true sets IFF_UP, false clears it (SIOCSIFFLAGS); unset leaves the link state alone. */
  up?: boolean;
  /** Most frames delivered by one {@link TapFramesHandler} call, 1..4096 (default 64). */
  batchFrames?: number;
}

/** Counters of a {@link TapDevice}, in the spirit of NDIS_STATISTICS_INFO for the hardware below a miniport. */
export interface TapStatistics {
  /** Frames read from the device (kernel → here). */
  rxFrames: number;
  /** Bytes of those frames. */
  rxBytes: number;
  /** Batches delivered to the frames handler. */
  rxBatches: number;
  /** Batches that ended because the batch was full; the rest waited in the kernel queue (not lost). */
  rxBatchLimitHits: number;
  /** Reads that failed with an error other than EAGAIN (each stops reading and is reported to onError). */
  rxErrors: number;
  /**
   * Frames the kernel dropped because its queue for this device was full while we were not reading
   * fast enough (tx_dropped of the interface), or null when the interface is not visible in this
   * process's network namespace (e.g. after `ip link set <name> netns ...`).
   */
  rxKernelQueueDrops: number | null;
  /** Frames written to the device (here → kernel). */
  txFrames: number;
  /** Bytes of those frames. */
  txBytes: number;
  /** Frames dropped because the device would block (EAGAIN) or lacked buffers. */
  txDropsBusy: number;
  /** Frames dropped because the interface is down (EIO). */
  txDropsLinkDown: number;
  /** Frames the kernel refused as malformed (EINVAL, e.g. shorter than an Ethernet header). */
  txDropsInvalid: number;
  /** Writes that failed for another reason. */
  txErrors: number;
}

/**
 * One batch of received frames. Frame `i` is `buffer[offset(i) .. offset(i) + length(i))`. The
 * object, its buffer and its descriptors are reused: they are valid only during the handler call.
 */
export class TapFrameBatch {
  /** Number of frames in this batch. */
  count: number;
  /** The receive slab; frames sit in it 8-byte aligned. */
  readonly buffer: Uint8Array;
  /** `[offset0, length0, offset1, length1, ...]` for the `count` frames. */
  readonly descriptors: Uint32Array;

  constructor(buffer: Uint8Array, descriptors: Uint32Array) {
    this.count = 0;
    this.buffer = buffer;
    this.descriptors = descriptors;
  }

  /** Offset of frame `i` in {@link buffer}. */
  offset(i: number): number {
    return this.descriptors[2 * i] as number;
  }

  /** Length in bytes of frame `i`. */
  length(i: number): number {
    return this.descriptors[2 * i + 1] as number;
  }
}

/** Receives each batch of frames read from the device; the batch is valid only during the call. */
export type TapFramesHandler = (batch: TapFrameBatch) => void;

/** Hears that reading stopped on an error (the interface was deleted, its namespace removed, ...). */
export type TapErrorHandler = (error: TapError) => void;

const DEFAULT_BATCH_FRAMES = 64;
const MAX_BATCH_FRAMES = 4096;
/** Ethernet header plus one VLAN tag, on top of the MTU. */
const FRAME_OVERHEAD = 18;

function align8(n: number): number {
  return (n + 7) & ~7;
}

function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TapError('ERR_NDIS_TAP_INVALID_ARGUMENT', `${what} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

/**
 * A Linux TAP interface opened through /dev/net/tun (TUNSETIFF, IFF_TAP | IFF_NO_PI), non-blocking,
 * watched on the Node event loop. Open with {@link TapDevice.open}; receive by setting
 * {@link onFrames}; send with {@link write}; release with {@link close}, after which the process can
 * exit.
 */
export class TapDevice {
  /** Interface name (the kernel fills in a `%d` pattern). */
  readonly name: string;
  /** Interface index in the network namespace the device was opened in. */
  readonly ifindex: number;
  /** MTU of the interface when it was opened (after `options.mtu` was applied). */
  readonly mtu: number;
  /** Most frames per delivered batch. */
  readonly batchFrames: number;

  private readonly addon: TapAddon;
  private readonly handle: TapHandle;
  private readonly stats: Float64Array;
  private readonly batch: TapFrameBatch;
  private readonly deliverBound: (count: number, errno: number) => void;
  private framesHandler: TapFramesHandler | null;
  private errorHandler: TapErrorHandler | null;
  private reading: boolean;
  private isClosed: boolean;
  private isRefed: boolean;

  private constructor(
    addon: TapAddon,
    handle: TapHandle,
    name: string,
    ifindex: number,
    mtu: number,
    batchFrames: number,
    slab: Uint8Array,
    descriptors: Uint32Array,
    stats: Float64Array,
  ) {
    this.name = name;
    this.ifindex = ifindex;
    this.mtu = mtu;
    this.batchFrames = batchFrames;
    this.addon = addon;
    this.handle = handle;
    this.stats = stats;
    this.batch = new TapFrameBatch(slab, descriptors);
    this.deliverBound = (count: number, errno: number): void => this.deliver(count, errno);
    this.framesHandler = null;
    this.errorHandler = null;
    this.reading = false;
    this.isClosed = false;
    this.isRefed = true;
  }

  /**
   * Opens (creating it if needed) TAP interface `name` in this process's network namespace. An
   * empty name, or one holding `%d` (e.g. `ndis%d`), lets the kernel choose; read the result from
   * {@link name}. A device created here disappears when it is closed.
   * @throws TapUnavailableError when the addon is missing, /dev/net/tun is absent or privilege lacks.
   * @throws TapError ERR_NDIS_TAP_OPEN_FAILED (e.g. EBUSY) or ERR_NDIS_TAP_INVALID_ARGUMENT.
   */
  static open(name: string, options: TapOpenOptions = {}): TapDevice {
    if (typeof name !== 'string' || Buffer.byteLength(name) > 15 || name.includes('/') || /\s/.test(name)) {
      throw new TapError(
        'ERR_NDIS_TAP_INVALID_ARGUMENT',
        `interface name must be a string of at most 15 bytes without "/" or spaces (got ${JSON.stringify(name)})`,
      );
    }
    const mtuOption = options.mtu === undefined ? 0 : checkInteger(options.mtu, 'mtu', 68, 65535);
    const batchFrames =
      options.batchFrames === undefined ? DEFAULT_BATCH_FRAMES : checkInteger(options.batchFrames, 'batchFrames', 1, MAX_BATCH_FRAMES);
    const addon = loadTapAddon();
    // Room for batchFrames frames of the largest MTU the device will have, plus one largest possible
    // frame: the addon reads only while a whole MAX_FRAME fits, so no frame is ever truncated.
    const slotMtu = Math.max(mtuOption === 0 ? 1500 : mtuOption, 1500);
    const slab = new Uint8Array(batchFrames * align8(slotMtu + FRAME_OVERHEAD) + align8(addon.MAX_FRAME));
    const descriptors = new Uint32Array(2 * batchFrames);
    const stats = new Float64Array(STAT_COUNT);
    let opened;
    try {
      opened = addon.open(name, slab, descriptors, stats, mtuOption, options.up === undefined ? -1 : options.up ? 1 : 0);
    } catch (e) {
      throw tapOpenError(e, name);
    }
    return new TapDevice(addon, opened.handle, opened.name, opened.ifindex, opened.mtu, batchFrames, slab, descriptors, stats);
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sets the receive handler. A handler starts reading; null stops it, and frames then wait in the
   * kernel's queue (which drops, and counts, what overflows). The handler is called once per batch.
   */
  onFrames(handler: TapFramesHandler | null): void {
    this.assertOpen('onFrames');
    this.framesHandler = handler;
    if (handler !== null && !this.reading) {
      this.addon.startReading(this.handle, this.deliverBound, this.batchFrames);
      this.addon.setRef(this.handle, this.isRefed);
      this.reading = true;
    } else if (handler === null && this.reading) {
      this.addon.stopReading(this.handle);
      this.reading = false;
    }
  }

  /**
   * Sets the handler told when reading stops on an error. Without one, the error is emitted as a
   * process warning; either way it is counted in `rxErrors`.
   */
  onError(handler: TapErrorHandler | null): void {
    this.errorHandler = handler;
  }

  /**
   * Writes one Ethernet frame, `bytes[offset .. offset + length)`, to the kernel. Returns false when
   * the frame was dropped (device busy, link down, rejected as malformed) and counted; never blocks.
   * @throws TapError ERR_NDIS_TAP_CLOSED after close, ERR_NDIS_TAP_INVALID_ARGUMENT when the range
   * lies outside `bytes`.
   */
  write(bytes: Uint8Array, offset = 0, length: number = bytes.length - offset): boolean {
    if (this.isClosed) this.throwClosed('write');
    if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length && (offset | 0) === offset && (length | 0) === length)) {
      throw new TapError(
        'ERR_NDIS_TAP_INVALID_ARGUMENT',
        `write range [${offset}, ${offset + length}) does not lie within the ${bytes.length}-byte buffer`,
      );
    }
    return this.addon.write(this.handle, bytes, offset, length);
  }

  /**
   * Writes `count` frames in one call into the addon (one write() each, as {@link write} does):
   * frame i is `bytes[descriptors[2i] .. descriptors[2i] + descriptors[2i + 1])`. Returns how many
   * were sent; the rest were dropped and counted by reason. The batch form of {@link write}, for a
   * chain of frames such as the NET_BUFFER_LISTs of one MiniportSendNetBufferLists call.
   * @throws TapError ERR_NDIS_TAP_CLOSED after close, ERR_NDIS_TAP_INVALID_ARGUMENT (nothing sent)
   * when `count` exceeds the descriptors or a range lies outside `bytes`.
   */
  writeBatch(bytes: Uint8Array, descriptors: Uint32Array, count: number): number {
    if (this.isClosed) this.throwClosed('writeBatch');
    try {
      return this.addon.writeBatch(this.handle, bytes, descriptors, count);
    } catch (e) {
      throw new TapError(
        'ERR_NDIS_TAP_INVALID_ARGUMENT',
        `writeBatch(${count} frames): ${e instanceof Error ? e.message : String(e)}`,
        undefined,
        undefined,
        e,
      );
    }
  }

  /** Lets the process exit while the device is open and reading (like socket.unref()). */
  unref(): this {
    this.isRefed = false;
    if (!this.isClosed) this.addon.setRef(this.handle, false);
    return this;
  }

  /** Undoes {@link unref}: an open, reading device keeps the process alive (the default). */
  ref(): this {
    this.isRefed = true;
    if (!this.isClosed) this.addon.setRef(this.handle, true);
    return this;
  }

  /**
   * Reads the counters into `into` (or a new object). Allocation-free with `into`, except for the
   * sysfs read behind `rxKernelQueueDrops`.
   */
  statistics(into?: TapStatistics): TapStatistics {
    const s = this.stats;
    const out: TapStatistics = into ?? {
      rxFrames: 0,
      rxBytes: 0,
      rxBatches: 0,
      rxBatchLimitHits: 0,
      rxErrors: 0,
      rxKernelQueueDrops: null,
      txFrames: 0,
      txBytes: 0,
      txDropsBusy: 0,
      txDropsLinkDown: 0,
      txDropsInvalid: 0,
      txErrors: 0,
    };
    out.rxFrames = s[STAT.RX_FRAMES] as number;
    out.rxBytes = s[STAT.RX_BYTES] as number;
    out.rxBatches = s[STAT.RX_BATCHES] as number;
    out.rxBatchLimitHits = s[STAT.RX_BATCH_LIMIT_HITS] as number;
    out.rxErrors = s[STAT.RX_ERRORS] as number;
    out.rxKernelQueueDrops = this.isClosed ? null : this.kernelQueueDrops();
    out.txFrames = s[STAT.TX_FRAMES] as number;
    out.txBytes = s[STAT.TX_BYTES] as number;
    out.txDropsBusy = s[STAT.TX_DROPS_BUSY] as number;
    out.txDropsLinkDown = s[STAT.TX_DROPS_LINK_DOWN] as number;
    out.txDropsInvalid = s[STAT.TX_DROPS_INVALID] as number;
    out.txErrors = s[STAT.TX_ERRORS] as number;
    return out;
  }

  /**
   * Stops reading and closes the fd; the interface goes away unless it was made persistent
   * elsewhere. Idempotent; safe inside the frames handler (the rest of that batch is not delivered).
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reading = false;
    this.framesHandler = null;
    this.addon.close(this.handle);
  }

  /** Called by the addon once per batch (count frames) or when reading failed (errno != 0). */
  private deliver(count: number, errno: number): void {
    const handler = this.framesHandler;
    if (count > 0 && handler !== null) {
      this.batch.count = count;
      handler(this.batch);
      this.batch.count = 0;
    }
    if (errno !== 0 && !this.isClosed) this.readFailed(errno);
  }

  private readFailed(errno: number): void {
    this.addon.stopReading(this.handle);
    this.reading = false;
    this.framesHandler = null;
    const name = getSystemErrorName(-errno);
    const error = new TapError(
      'ERR_NDIS_TAP_IO',
      `reading TAP device ${this.name} failed (${name}); reading stopped: the interface was probably ` +
        'deleted or its network namespace removed; close the device',
      name,
      'read',
    );
    if (this.errorHandler !== null) this.errorHandler(error);
    else process.emitWarning(error);
  }

  /** tx_dropped of the interface from sysfs, when the name still refers to our ifindex here. */
  private kernelQueueDrops(): number | null {
    try {
      const base = `/sys/class/net/${this.name}/`;
      if (Number(readFileSync(`${base}ifindex`, 'latin1')) !== this.ifindex) return null;
      return Number(readFileSync(`${base}statistics/tx_dropped`, 'latin1'));
    } catch {
      return null;
    }
  }

  private assertOpen(operation: string): void {
    if (this.isClosed) this.throwClosed(operation);
  }

  private throwClosed(operation: string): never {
    throw new TapError('ERR_NDIS_TAP_CLOSED', `${operation}() on TAP device ${this.name} after close(); open a new TapDevice`);
  }
}
