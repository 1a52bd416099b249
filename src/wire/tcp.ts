/**
 * TCP header (RFC 9293 section 3.1) as a re-pointable, zero-copy view, an allocation-free option
 * walker, and emit helpers that write a header with options into caller memory.
 *
 * Contract (the wire layer's check-once rule): `TcpView.wrap(bytes, offset, length)` checks that
 * `length` bytes at `offset` hold a whole TCP header (fixed part, a data offset of at least 5 words,
 * and the options it announces). It returns 0 when they do, or a `TcpReason` when they do not.
 * After a 0, no accessor reads or writes outside `bytes[offset, offset + length)`. A view is
 * pointed at one segment at a time and is never kept past the call that received the bytes.
 *
 * Options (RFC 9293 section 3.2 and the IANA "TCP Option Kind Numbers" registry) are read with
 * `TcpOptionWalker`, which skips NOP, stops at EOL, skips options it does not know by their length
 * byte and reports malformed lengths as reasons; `parseTcpOptions` folds them into a reusable
 * `TcpOptions` record. Nothing here computes the checksum: the IP layer owns the pseudo-header.
 */

// ---- field offsets (RFC 9293 figure 1) ----
const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ_NUM = 4;
const ACK_NUM = 8;
const DATA_OFF = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;

/** Length of the fixed TCP header without options (RFC 9293 section 3.1). */
export const TCP_HEADER_LEN = 20;
/** Largest TCP header: a data offset of 15 words. */
export const TCP_MAX_HEADER_LEN = 60;
/** Largest options area (60 - 20 bytes). */
export const TCP_MAX_OPTIONS_LEN = 40;

// ---- control bits (RFC 9293 section 3.1; CWR and ECE from RFC 3168 section 6.1) ----
/** FIN: no more data from sender. */
export const TCP_FIN = 0x01;
/** SYN: synchronize sequence numbers. */
export const TCP_SYN = 0x02;
/** RST: reset the connection. */
export const TCP_RST = 0x04;
/** PSH: push function. */
export const TCP_PSH = 0x08;
/** ACK: acknowledgment field is significant. */
export const TCP_ACK = 0x10;
/** URG: urgent pointer field is significant. */
export const TCP_URG = 0x20;
/** ECE: ECN-Echo (RFC 3168). */
export const TCP_ECE = 0x40;
/** CWR: congestion window reduced (RFC 3168). */
export const TCP_CWR = 0x80;

// ---- option kinds (IANA TCP Option Kind Numbers) ----
/** End of option list (RFC 9293). */
export const TCP_OPTION_EOL = 0;
/** No-operation (RFC 9293). */
export const TCP_OPTION_NOP = 1;
/** Maximum segment size (RFC 9293 section 3.7.1). */
export const TCP_OPTION_MSS = 2;
/** Window scale (RFC 7323 section 2). */
export const TCP_OPTION_WINDOW_SCALE = 3;
/** SACK permitted (RFC 2018 section 2). */
export const TCP_OPTION_SACK_PERMITTED = 4;
/** SACK (RFC 2018 section 3). */
export const TCP_OPTION_SACK = 5;
/** Timestamps (RFC 7323 section 3). */
export const TCP_OPTION_TIMESTAMP = 8;

/** Length of the MSS option. */
export const TCP_OPTION_MSS_LEN = 4;
/** Length of the window scale option. */
export const TCP_OPTION_WINDOW_SCALE_LEN = 3;
/** Length of the SACK-permitted option. */
export const TCP_OPTION_SACK_PERMITTED_LEN = 2;
/** Length of the timestamps option. */
export const TCP_OPTION_TIMESTAMP_LEN = 10;
/** Length of one SACK block (left edge, right edge). */
export const TCP_SACK_BLOCK_LEN = 8;
/** Most SACK blocks that fit in 40 option bytes (2 + 4 * 8 = 34). */
export const TCP_MAX_SACK_BLOCKS = 4;
/** Largest shift count a window scale option may carry (RFC 7323 section 2.3). */
export const TCP_MAX_WINDOW_SCALE = 14;

/**
 * Why bytes are not a usable TCP header or option list (0 = usable). Parsers return these; the
 * caller counts them as drops.
 */
export const TcpReason = {
  Ok: 0,
  /** Fewer than 20 bytes, or the window runs past the end of the buffer. */
  Truncated: 1,
  /** Data offset below 5 words. */
  BadDataOffset: 2,
  /** Data offset points past the end of the segment. */
  HeaderTruncated: 3,
  /** An option's kind or length byte lies past the end of the options. */
  OptionTruncated: 4,
  /** An option length below 2 or running past the end of the options. */
  OptionBadLength: 5,
  /** MSS option whose length is not 4. */
  MssBadLength: 6,
  /** Window scale option whose length is not 3. */
  WindowScaleBadLength: 7,
  /** SACK-permitted option whose length is not 2. */
  SackPermittedBadLength: 8,
  /** SACK option whose length is not 2 + 8n with n >= 1. */
  SackBadLength: 9,
  /** Timestamps option whose length is not 10. */
  TimestampBadLength: 10,
  /** Number of reasons (array size for counters). */
  Count: 11,
} as const;
/** One of the `TcpReason` values. */
export type TcpReason = (typeof TcpReason)[keyof typeof TcpReason];

const REASON_TEXT: readonly string[] = [
  'ok',
  'segment shorter than a TCP header',
  'TCP data offset below 5 words',
  'TCP data offset beyond the segment',
  'TCP option truncated',
  'TCP option length invalid',
  'TCP MSS option length is not 4',
  'TCP window scale option length is not 3',
  'TCP SACK-permitted option length is not 2',
  'TCP SACK option length is not 2 + 8n',
  'TCP timestamps option length is not 10',
];

/** Human text for a `TcpReason` (for logs, statistics and the CLI). */
export function describeTcpReason(reason: number): string {
  return REASON_TEXT[reason] ?? `unknown TCP reason ${reason}`;
}

const EMPTY = new Uint8Array(0);

/**
 * View of one TCP header (RFC 9293 section 3.1) in packet memory. Re-point it with `wrap`; read
 * and write fields in place. Sequence and acknowledgment numbers are returned as unsigned 32-bit
 * numbers.
 */
export class TcpView {
  /** Buffer the view points into. */
  bytes: Uint8Array;
  /** Offset of the TCP header in `bytes`. */
  offset: number;
  /** Length of the segment (header + payload) in bytes. */
  length: number;

  constructor() {
    this.bytes = EMPTY;
    this.offset = 0;
    this.length = 0;
  }

  /**
   * Points the view at a segment of `length` bytes at `offset` and checks it. Returns 0 when the
   * header (including its options area) lies within the segment, or a `TcpReason`.
   */
  wrap(bytes: Uint8Array, offset: number, length: number): number {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (offset < 0 || length < TCP_HEADER_LEN || offset + length > bytes.length) {
      this.length = 0;
      return TcpReason.Truncated;
    }
    const words = bytes[offset + DATA_OFF]! >>> 4;
    if (words < 5) return TcpReason.BadDataOffset;
    if (words * 4 > length) return TcpReason.HeaderTruncated;
    return TcpReason.Ok;
  }

  /**
   * Points the view at caller space for emission without checking what is there: stale bytes of
   * a reused buffer are about to be overwritten. Requires `offset + length <= bytes.length` and
   * `length >= TCP_HEADER_LEN`.
   */
  wrapForEmit(bytes: Uint8Array, offset: number, length: number): void {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
  }

  private u16(at: number): number {
    const b = this.bytes;
    const i = this.offset + at;
    return (b[i]! << 8) | b[i + 1]!;
  }

  private setU16(at: number, v: number): void {
    const b = this.bytes;
    const i = this.offset + at;
    b[i] = (v >>> 8) & 0xff;
    b[i + 1] = v & 0xff;
  }

  private u32(at: number): number {
    const b = this.bytes;
    const i = this.offset + at;
    return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  }

  private setU32(at: number, v: number): void {
    const b = this.bytes;
    const i = this.offset + at;
    b[i] = (v >>> 24) & 0xff;
    b[i + 1] = (v >>> 16) & 0xff;
    b[i + 2] = (v >>> 8) & 0xff;
    b[i + 3] = v & 0xff;
  }

  /** Source port. */
  srcPort(): number {
    return this.u16(SRC_PORT);
  }
  /** Sets the source port. */
  setSrcPort(v: number): void {
    this.setU16(SRC_PORT, v);
  }
  /** Destination port. */
  dstPort(): number {
    return this.u16(DST_PORT);
  }
  /** Sets the destination port. */
  setDstPort(v: number): void {
    this.setU16(DST_PORT, v);
  }
  /** Sequence number (SEG.SEQ). */
  seqNumber(): number {
    return this.u32(SEQ_NUM);
  }
  /** Sets the sequence number. */
  setSeqNumber(v: number): void {
    this.setU32(SEQ_NUM, v);
  }
  /** Acknowledgment number (SEG.ACK), meaningful when ACK is set. */
  ackNumber(): number {
    return this.u32(ACK_NUM);
  }
  /** Sets the acknowledgment number. */
  setAckNumber(v: number): void {
    this.setU32(ACK_NUM, v);
  }
  /** Data offset in 32-bit words (5..15). */
  dataOffset(): number {
    return this.bytes[this.offset + DATA_OFF]! >>> 4;
  }
  /** Sets the data offset in 32-bit words, keeping the reserved bits. */
  setDataOffset(words: number): void {
    const i = this.offset + DATA_OFF;
    this.bytes[i] = ((words & 0xf) << 4) | (this.bytes[i]! & 0x0f);
  }
  /** Header length in bytes (data offset * 4). */
  headerLength(): number {
    return (this.bytes[this.offset + DATA_OFF]! >>> 4) << 2;
  }
  /** The four reserved bits after the data offset (bit 0 was the historic NS bit of RFC 3540). */
  reserved(): number {
    return this.bytes[this.offset + DATA_OFF]! & 0x0f;
  }
  /** Sets the reserved bits. */
  setReserved(v: number): void {
    const i = this.offset + DATA_OFF;
    this.bytes[i] = (this.bytes[i]! & 0xf0) | (v & 0x0f);
  }
  /** The eight control bits (CWR ECE URG ACK PSH RST SYN FIN) as `TCP_*` flags. */
  flags(): number {
    return this.bytes[this.offset + FLAGS]!;
  }
  /** Sets the eight control bits. */
  setFlags(v: number): void {
    this.bytes[this.offset + FLAGS] = v & 0xff;
  }
  /** FIN bit. */
  fin(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_FIN) !== 0;
  }
  /** SYN bit. */
  syn(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_SYN) !== 0;
  }
  /** RST bit. */
  rst(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_RST) !== 0;
  }
  /** PSH bit. */
  psh(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_PSH) !== 0;
  }
  /** ACK bit. */
  ack(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_ACK) !== 0;
  }
  /** URG bit. */
  urg(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_URG) !== 0;
  }
  /** ECE bit (RFC 3168). */
  ece(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_ECE) !== 0;
  }
  /** CWR bit (RFC 3168). */
  cwr(): boolean {
    return (this.bytes[this.offset + FLAGS]! & TCP_CWR) !== 0;
  }
  /** Window field (unscaled, SEG.WND as sent). */
  windowSize(): number {
    return this.u16(WINDOW);
  }
  /** Sets the window field. */
  setWindowSize(v: number): void {
    this.setU16(WINDOW, v);
  }
  /** Checksum field. */
  checksum(): number {
    return this.u16(CHECKSUM);
  }
  /** Sets the checksum field. */
  setChecksum(v: number): void {
    this.setU16(CHECKSUM, v);
  }
  /** Urgent pointer field. */
  urgentPointer(): number {
    return this.u16(URGENT);
  }
  /** Sets the urgent pointer field. */
  setUrgentPointer(v: number): void {
    this.setU16(URGENT, v);
  }
  /** Offset in `bytes` of the first option byte. */
  optionsOffset(): number {
    return this.offset + TCP_HEADER_LEN;
  }
  /** Length of the options area in bytes (0..40). */
  optionsLength(): number {
    return this.headerLength() - TCP_HEADER_LEN;
  }
  /** Offset in `bytes` of the first payload byte. */
  payloadOffset(): number {
    return this.offset + this.headerLength();
  }
  /** Payload length in bytes (segment length minus header length). */
  payloadLength(): number {
    return this.length - this.headerLength();
  }
}

/**
 * Walks the options of one TCP header without allocating. `reset` points it at an options area;
 * each `next()` returns the kind of the next option (NOPs are skipped), 0 at the end of the list
 * (EOL or the end of the area), or a negative `TcpReason` when an option is malformed (the walk
 * then stops). After a positive return, `optionOffset` and `optionLength` describe the option
 * (kind and length bytes included) and the typed accessors read its fields. Unknown options are
 * returned with their kind so the caller may skip them.
 */
export class TcpOptionWalker {
  /** Buffer holding the options. */
  bytes: Uint8Array;
  /** Offset of the next option byte to read. */
  position: number;
  /** Offset one past the last option byte. */
  end: number;
  /** Offset of the current option's kind byte. */
  optionOffset: number;
  /** Length of the current option (2.. for options with a length byte). */
  optionLength: number;

  constructor() {
    this.bytes = EMPTY;
    this.position = 0;
    this.end = 0;
    this.optionOffset = 0;
    this.optionLength = 0;
  }

  /** Points the walker at the options of a wrapped (checked) view. */
  reset(view: TcpView): void {
    this.bytes = view.bytes;
    this.position = view.optionsOffset();
    this.end = view.offset + view.headerLength();
    this.optionOffset = 0;
    this.optionLength = 0;
  }

  /** Points the walker at `length` option bytes at `offset` of `bytes` (caller checked bounds). */
  resetRange(bytes: Uint8Array, offset: number, length: number): void {
    this.bytes = bytes;
    this.position = offset;
    this.end = offset + length;
    this.optionOffset = 0;
    this.optionLength = 0;
  }

  /** Advances to the next option: its kind (> 0), 0 at the end, or a negative `TcpReason`. */
  next(): number {
    const b = this.bytes;
    for (;;) {
      const p = this.position;
      if (p >= this.end) return 0;
      const kind = b[p]!;
      if (kind === TCP_OPTION_EOL) {
        this.position = this.end;
        return 0;
      }
      if (kind === TCP_OPTION_NOP) {
        this.position = p + 1;
        continue;
      }
      if (p + 1 >= this.end) {
        this.position = this.end;
        return -TcpReason.OptionTruncated;
      }
      const len = b[p + 1]!;
      if (len < 2 || p + len > this.end) {
        this.position = this.end;
        return -TcpReason.OptionBadLength;
      }
      let bad = 0;
      switch (kind) {
        case TCP_OPTION_MSS:
          if (len !== TCP_OPTION_MSS_LEN) bad = TcpReason.MssBadLength;
          break;
        case TCP_OPTION_WINDOW_SCALE:
          if (len !== TCP_OPTION_WINDOW_SCALE_LEN) bad = TcpReason.WindowScaleBadLength;
          break;
        case TCP_OPTION_SACK_PERMITTED:
          if (len !== TCP_OPTION_SACK_PERMITTED_LEN) bad = TcpReason.SackPermittedBadLength;
          break;
        case TCP_OPTION_SACK:
          if (len < 10 || (len - 2) % TCP_SACK_BLOCK_LEN !== 0) bad = TcpReason.SackBadLength;
          break;
        case TCP_OPTION_TIMESTAMP:
          if (len !== TCP_OPTION_TIMESTAMP_LEN) bad = TcpReason.TimestampBadLength;
          break;
        default:
          break;
      }
      if (bad !== 0) {
        this.position = this.end;
        return -bad;
      }
      this.optionOffset = p;
      this.optionLength = len;
      this.position = p + len;
      return kind;
    }
  }

  private u16(at: number): number {
    const b = this.bytes;
    return (b[at]! << 8) | b[at + 1]!;
  }

  private u32(at: number): number {
    const b = this.bytes;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  /** MSS value of the current MSS option. */
  mss(): number {
    return this.u16(this.optionOffset + 2);
  }
  /** Shift count of the current window scale option (as sent, not clamped). */
  windowScale(): number {
    return this.bytes[this.optionOffset + 2]!;
  }
  /** TSval of the current timestamps option. */
  tsVal(): number {
    return this.u32(this.optionOffset + 2);
  }
  /** TSecr of the current timestamps option. */
  tsEcr(): number {
    return this.u32(this.optionOffset + 6);
  }
  /** Number of blocks in the current SACK option. */
  sackBlockCount(): number {
    return (this.optionLength - 2) >>> 3;
  }
  /** Left edge of SACK block `i` of the current SACK option. */
  sackLeft(i: number): number {
    return this.u32(this.optionOffset + 2 + i * TCP_SACK_BLOCK_LEN);
  }
  /** Right edge of SACK block `i` of the current SACK option. */
  sackRight(i: number): number {
    return this.u32(this.optionOffset + 6 + i * TCP_SACK_BLOCK_LEN);
  }
}

/** `TcpOptions.present` bit: MSS option. */
export const TCP_OPT_HAS_MSS = 0x01;
/** `TcpOptions.present` bit: window scale option. */
export const TCP_OPT_HAS_WINDOW_SCALE = 0x02;
/** `TcpOptions.present` bit: SACK-permitted option. */
export const TCP_OPT_HAS_SACK_PERMITTED = 0x04;
/** `TcpOptions.present` bit: timestamps option. */
export const TCP_OPT_HAS_TIMESTAMP = 0x08;
/** `TcpOptions.present` bit: SACK option (blocks in `sackBlocks`). */
export const TCP_OPT_HAS_SACK = 0x10;

/**
 * The options of one segment in validated form (the representation to the view's raw bytes). A
 * record is reused: `clear()` before filling it. Fields are meaningful only when their bit is set
 * in `present`.
 */
export class TcpOptions {
  /** `TCP_OPT_HAS_*` bits of the options present. */
  present: number;
  /** MSS option value (RFC 9293 section 3.7.1). */
  mss: number;
  /** Window scale shift count as carried (RFC 7323 section 2.2; receivers clamp to 14). */
  windowScale: number;
  /** TSval (RFC 7323 section 3.2). */
  tsVal: number;
  /** TSecr (RFC 7323 section 3.2). */
  tsEcr: number;
  /** Number of SACK blocks (0..4). */
  sackCount: number;
  /** SACK blocks as left, right pairs: `[l0, r0, l1, r1, ...]` (RFC 2018 section 3). */
  readonly sackBlocks: Uint32Array;
  /** Options of unknown kind seen while parsing (skipped by length). */
  unknownCount: number;

  constructor() {
    this.present = 0;
    this.mss = 0;
    this.windowScale = 0;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.sackBlocks = new Uint32Array(TCP_MAX_SACK_BLOCKS * 2);
    this.unknownCount = 0;
  }

  /** Forgets every option. */
  clear(): void {
    this.present = 0;
    this.mss = 0;
    this.windowScale = 0;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.unknownCount = 0;
  }

  /** Sets the MSS option. */
  setMss(mss: number): void {
    this.present |= TCP_OPT_HAS_MSS;
    this.mss = mss & 0xffff;
  }
  /** Sets the window scale option. */
  setWindowScale(shift: number): void {
    this.present |= TCP_OPT_HAS_WINDOW_SCALE;
    this.windowScale = shift & 0xff;
  }
  /** Sets the SACK-permitted option. */
  setSackPermitted(): void {
    this.present |= TCP_OPT_HAS_SACK_PERMITTED;
  }
  /** Sets the timestamps option. */
  setTimestamp(tsVal: number, tsEcr: number): void {
    this.present |= TCP_OPT_HAS_TIMESTAMP;
    this.tsVal = tsVal >>> 0;
    this.tsEcr = tsEcr >>> 0;
  }
  /** Appends a SACK block; ignored beyond four blocks. */
  addSackBlock(left: number, right: number): void {
    if (this.sackCount >= TCP_MAX_SACK_BLOCKS) return;
    this.present |= TCP_OPT_HAS_SACK;
    this.sackBlocks[this.sackCount * 2] = left >>> 0;
    this.sackBlocks[this.sackCount * 2 + 1] = right >>> 0;
    this.sackCount++;
  }
}

/**
 * Parses the options of a wrapped view into `out` (cleared first). Returns 0 or a `TcpReason` for
 * the first malformed option; options before it are kept in `out`. When an option kind appears
 * twice the last one wins. `walker` is scratch state (pass a long-lived one on hot paths).
 */
export function parseTcpOptions(view: TcpView, out: TcpOptions, walker: TcpOptionWalker): number {
  out.clear();
  walker.reset(view);
  for (;;) {
    const kind = walker.next();
    if (kind === 0) return TcpReason.Ok;
    if (kind < 0) return -kind;
    switch (kind) {
      case TCP_OPTION_MSS:
        out.present |= TCP_OPT_HAS_MSS;
        out.mss = walker.mss();
        break;
      case TCP_OPTION_WINDOW_SCALE:
        out.present |= TCP_OPT_HAS_WINDOW_SCALE;
        out.windowScale = walker.windowScale();
        break;
      case TCP_OPTION_SACK_PERMITTED:
        out.present |= TCP_OPT_HAS_SACK_PERMITTED;
        break;
      case TCP_OPTION_TIMESTAMP:
        out.present |= TCP_OPT_HAS_TIMESTAMP;
        out.tsVal = walker.tsVal();
        out.tsEcr = walker.tsEcr();
        break;
      case TCP_OPTION_SACK: {
        const n = walker.sackBlockCount();
        const keep = n < TCP_MAX_SACK_BLOCKS ? n : TCP_MAX_SACK_BLOCKS;
        for (let i = 0; i < keep; i++) {
          out.sackBlocks[i * 2] = walker.sackLeft(i);
          out.sackBlocks[i * 2 + 1] = walker.sackRight(i);
        }
        out.sackCount = keep;
        out.present |= TCP_OPT_HAS_SACK;
        break;
      }
      default:
        out.unknownCount++;
        break;
    }
  }
}

/** Bytes the non-SACK options of `opts` take when emitted (each group padded to 4 bytes). */
function fixedOptionsLength(opts: TcpOptions): number {
  const p = opts.present;
  let n = 0;
  if ((p & TCP_OPT_HAS_MSS) !== 0) n += 4;
  if ((p & TCP_OPT_HAS_TIMESTAMP) !== 0) n += 12;
  else if ((p & TCP_OPT_HAS_SACK_PERMITTED) !== 0) n += 4;
  if ((p & TCP_OPT_HAS_WINDOW_SCALE) !== 0) n += 4;
  return n;
}

/**
 * Number of SACK blocks of `opts` that `emitTcpOptions` writes: as many as fit in the 40 option
 * bytes after the other options (at most 3 next to timestamps, 4 alone).
 */
export function emittedSackBlocks(opts: TcpOptions): number {
  if ((opts.present & TCP_OPT_HAS_SACK) === 0 || opts.sackCount === 0) return 0;
  const room = TCP_MAX_OPTIONS_LEN - fixedOptionsLength(opts) - 4;
  const fit = room < 0 ? 0 : room >>> 3;
  return opts.sackCount < fit ? opts.sackCount : fit;
}

/** Bytes `emitTcpOptions` writes for `opts` (a multiple of 4, at most 40). */
export function tcpOptionsLength(opts: TcpOptions): number {
  const blocks = emittedSackBlocks(opts);
  return fixedOptionsLength(opts) + (blocks > 0 ? 4 + blocks * TCP_SACK_BLOCK_LEN : 0);
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/**
 * Writes the options of `opts` at `bytes[offset]` in the conventional 32-bit aligned layout
 * (MSS; SACK-permitted + timestamps or NOP-padded; NOP + window scale; NOP NOP + SACK blocks) and
 * returns the number of bytes written (`tcpOptionsLength(opts)`). The caller provides the room.
 */
export function emitTcpOptions(bytes: Uint8Array, offset: number, opts: TcpOptions): number {
  const p = opts.present;
  let o = offset;
  if ((p & TCP_OPT_HAS_MSS) !== 0) {
    bytes[o] = TCP_OPTION_MSS;
    bytes[o + 1] = TCP_OPTION_MSS_LEN;
    put16(bytes, o + 2, opts.mss);
    o += 4;
  }
  if ((p & TCP_OPT_HAS_TIMESTAMP) !== 0) {
    if ((p & TCP_OPT_HAS_SACK_PERMITTED) !== 0) {
      bytes[o] = TCP_OPTION_SACK_PERMITTED;
      bytes[o + 1] = TCP_OPTION_SACK_PERMITTED_LEN;
    } else {
      bytes[o] = TCP_OPTION_NOP;
      bytes[o + 1] = TCP_OPTION_NOP;
    }
    bytes[o + 2] = TCP_OPTION_TIMESTAMP;
    bytes[o + 3] = TCP_OPTION_TIMESTAMP_LEN;
    put32(bytes, o + 4, opts.tsVal);
    put32(bytes, o + 8, opts.tsEcr);
    o += 12;
  } else if ((p & TCP_OPT_HAS_SACK_PERMITTED) !== 0) {
    bytes[o] = TCP_OPTION_NOP;
    bytes[o + 1] = TCP_OPTION_NOP;
    bytes[o + 2] = TCP_OPTION_SACK_PERMITTED;
    bytes[o + 3] = TCP_OPTION_SACK_PERMITTED_LEN;
    o += 4;
  }
  if ((p & TCP_OPT_HAS_WINDOW_SCALE) !== 0) {
    bytes[o] = TCP_OPTION_NOP;
    bytes[o + 1] = TCP_OPTION_WINDOW_SCALE;
    bytes[o + 2] = TCP_OPTION_WINDOW_SCALE_LEN;
    bytes[o + 3] = opts.windowScale;
    o += 4;
  }
  const blocks = emittedSackBlocks(opts);
  if (blocks > 0) {
    bytes[o] = TCP_OPTION_NOP;
    bytes[o + 1] = TCP_OPTION_NOP;
    bytes[o + 2] = TCP_OPTION_SACK;
    bytes[o + 3] = 2 + blocks * TCP_SACK_BLOCK_LEN;
    o += 4;
    for (let i = 0; i < blocks; i++) {
      put32(bytes, o, opts.sackBlocks[i * 2]!);
      put32(bytes, o + 4, opts.sackBlocks[i * 2 + 1]!);
      o += TCP_SACK_BLOCK_LEN;
    }
  }
  return o - offset;
}

/**
 * The fixed fields of a TCP header in validated form, with its options; the representation that
 * `emitTcpHeader` writes and `readTcpHeader` fills. Reuse one record per processing context.
 */
export class TcpHeaderRepr {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number. */
  seq: number;
  /** Acknowledgment number. */
  ack: number;
  /** Control bits (`TCP_*`). */
  flags: number;
  /** Window field as carried (already shifted right by the sender's scale). */
  window: number;
  /** Checksum field (0 when the IP layer fills it in). */
  checksum: number;
  /** Urgent pointer. */
  urgent: number;
  /** Options. */
  readonly options: TcpOptions;

  constructor() {
    this.srcPort = 0;
    this.dstPort = 0;
    this.seq = 0;
    this.ack = 0;
    this.flags = 0;
    this.window = 0;
    this.checksum = 0;
    this.urgent = 0;
    this.options = new TcpOptions();
  }

  /** Header length in bytes that `emitTcpHeader` writes for this record. */
  headerLength(): number {
    return TCP_HEADER_LEN + tcpOptionsLength(this.options);
  }
}

/**
 * Writes the header described by `repr` at `bytes[offset]` (fixed part, then options) and returns
 * the header length. The reserved bits are written as zero. The caller provides
 * `repr.headerLength()` bytes of room; the payload, if any, follows at `offset + returned length`.
 */
export function emitTcpHeader(bytes: Uint8Array, offset: number, repr: TcpHeaderRepr): number {
  const optLen = emitTcpOptions(bytes, offset + TCP_HEADER_LEN, repr.options);
  const hl = TCP_HEADER_LEN + optLen;
  put16(bytes, offset + SRC_PORT, repr.srcPort);
  put16(bytes, offset + DST_PORT, repr.dstPort);
  put32(bytes, offset + SEQ_NUM, repr.seq);
  put32(bytes, offset + ACK_NUM, repr.ack);
  bytes[offset + DATA_OFF] = (hl >>> 2) << 4;
  bytes[offset + FLAGS] = repr.flags & 0xff;
  put16(bytes, offset + WINDOW, repr.window);
  put16(bytes, offset + CHECKSUM, repr.checksum);
  put16(bytes, offset + URGENT, repr.urgent);
  return hl;
}

/**
 * Writes a 20-byte header without options at `bytes[offset]` (checksum and urgent pointer 0)
 * and returns 20: the fast path for segments that carry no options.
 */
export function emitTcpBareHeader(
  bytes: Uint8Array,
  offset: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
): number {
  put16(bytes, offset + SRC_PORT, srcPort);
  put16(bytes, offset + DST_PORT, dstPort);
  put32(bytes, offset + SEQ_NUM, seq);
  put32(bytes, offset + ACK_NUM, ack);
  bytes[offset + DATA_OFF] = 5 << 4;
  bytes[offset + FLAGS] = flags & 0xff;
  put16(bytes, offset + WINDOW, window);
  bytes[offset + CHECKSUM] = 0;
  bytes[offset + CHECKSUM + 1] = 0;
  bytes[offset + URGENT] = 0;
  bytes[offset + URGENT + 1] = 0;
  return TCP_HEADER_LEN;
}

/**
 * Writes a 32-byte header whose only option is the timestamps option in the layout RFC 7323
 * appendix A recommends (NOP, NOP, TSopt), checksum and urgent pointer 0, and returns 32: the fast
 * path for data and ACK segments once timestamps are in use.
 */
export function emitTcpTimestampHeader(
  bytes: Uint8Array,
  offset: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  tsVal: number,
  tsEcr: number,
): number {
  emitTcpBareHeader(bytes, offset, srcPort, dstPort, seq, ack, flags, window);
  bytes[offset + DATA_OFF] = 8 << 4;
  const o = offset + TCP_HEADER_LEN;
  bytes[o] = TCP_OPTION_NOP;
  bytes[o + 1] = TCP_OPTION_NOP;
  bytes[o + 2] = TCP_OPTION_TIMESTAMP;
  bytes[o + 3] = TCP_OPTION_TIMESTAMP_LEN;
  put32(bytes, o + 4, tsVal);
  put32(bytes, o + 8, tsEcr);
  return TCP_HEADER_LEN + 12;
}

/**
 * Reads a wrapped (checked) view into `out`: fixed fields and parsed options. Returns 0 or the
 * `TcpReason` of a malformed option.
 */
export function readTcpHeader(view: TcpView, out: TcpHeaderRepr, walker: TcpOptionWalker): number {
  out.srcPort = view.srcPort();
  out.dstPort = view.dstPort();
  out.seq = view.seqNumber();
  out.ack = view.ackNumber();
  out.flags = view.flags();
  out.window = view.windowSize();
  out.checksum = view.checksum();
  out.urgent = view.urgentPointer();
  return parseTcpOptions(view, out.options, walker);
}

const FLAG_LETTERS = 'FSRPAUEC';

/** Flags as tcpdump-like letters (`S`, `SA`, `FA`, `R`, ...), for traces and logs. Allocates. */
export function formatTcpFlags(flags: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) if ((flags & (1 << i)) !== 0) s += FLAG_LETTERS[i]!;
  return s === '' ? '.' : s;
}
