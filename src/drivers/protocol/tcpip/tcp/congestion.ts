/**
 * Congestion control: slow start and congestion avoidance of RFC 5681 (byte counting, RFC 3465),
 * the ssthresh rules NewReno fast recovery uses (RFC 5681 section 3.2, RFC 6582), and CUBIC
 * (RFC 9438). One class holds the state of both algorithms so that call sites stay monomorphic;
 * `algorithm` picks the rules. Windows are in bytes; CUBIC computes in segments internally.
 *
 * The loss-recovery machinery (dupacks, partial acks, SACK pipe) lives in the engine; this class
 * only answers "how big is cwnd / ssthresh" as ACKs arrive and congestion is detected.
 */

/** Congestion control algorithms, selectable per connection or per engine. */
export const TcpCongestionAlgorithm = {
  /** RFC 5681 + RFC 6582. */
  NewReno: 0,
  /** RFC 9438. */
  Cubic: 1,
} as const;
/** One of `TcpCongestionAlgorithm`. */
export type TcpCongestionAlgorithm = (typeof TcpCongestionAlgorithm)[keyof typeof TcpCongestionAlgorithm];

/** CUBIC scaling constant C (RFC 9438 section 5.1: 0.4). */
export const CUBIC_C = 0.4;
/** CUBIC multiplicative decrease factor beta_cubic (RFC 9438 section 4.6: 0.7). */
export const CUBIC_BETA = 0.7;
/** CUBIC additive increase factor alpha_cubic of the Reno-friendly estimate (RFC 9438 section 4.3). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** Largest congestion window kept (bytes); beyond this the receive window always binds. */
const CWND_CAP = 0x40000000;

/**
 * K of RFC 9438 equation 2: the time in seconds the cubic function takes to climb from
 * `cwndEpoch` back to `wMax` (both in segments); 0 when `cwndEpoch >= wMax`.
 */
export function cubicK(wMax: number, cwndEpoch: number): number {
  const d = (wMax - cwndEpoch) / CUBIC_C;
  return d > 0 ? Math.cbrt(d) : 0;
}

/** W_cubic(t) of RFC 9438 equation 1, in segments, `t` seconds into the epoch. */
export function cubicWindow(t: number, k: number, wMax: number): number {
  const x = t - k;
  return CUBIC_C * x * x * x + wMax;
}

/** Congestion window state of one connection. */
export class TcpCongestionControl {
  /** `TcpCongestionAlgorithm` in use. */
  algorithm: number;
  /** Congestion window, bytes (may be fractional under CUBIC). */
  cwnd: number;
  /** Slow start threshold, bytes. */
  ssthresh: number;
  /** Sender maximum segment size, bytes. */
  mss: number;
  /** Most bytes credited for one ACK in slow start (RFC 3465 limit L). */
  abcLimit: number;
  /** Bytes acknowledged in congestion avoidance not yet turned into a cwnd increase (NewReno). */
  bytesAcked: number;
  /** CUBIC: window before the last reduction, segments (W_max). */
  wMax: number;
  /** CUBIC: K of the current epoch, seconds. */
  k: number;
  /** CUBIC: time the current congestion avoidance epoch started (ms), or -1 before it starts. */
  epochStart: number;
  /** CUBIC: cwnd at the start of the epoch, segments (cwnd_epoch). */
  cwndEpoch: number;
  /** CUBIC: Reno-friendly window estimate, segments (W_est). */
  wEst: number;
  /** CUBIC: fast convergence on (RFC 9438 section 4.7). */
  fastConvergence: boolean;
  /** Congestion events seen. */
  congestionEvents: number;

  constructor(algorithm: number, mss: number, initialWindow: number) {
    this.algorithm = algorithm;
    this.cwnd = initialWindow;
    this.ssthresh = CWND_CAP;
    this.mss = mss;
    this.abcLimit = 2 * mss;
    this.bytesAcked = 0;
    this.wMax = 0;
    this.k = 0;
    this.epochStart = -1;
    this.cwndEpoch = 0;
    this.wEst = 0;
    this.fastConvergence = true;
    this.congestionEvents = 0;
  }

  /** Whether the connection is in slow start (cwnd < ssthresh). */
  inSlowStart(): boolean {
    return this.cwnd < this.ssthresh;
  }

  /**
   * A cumulative ACK of `acked` new bytes arrived outside loss recovery at time `now` (ms), with
   * smoothed RTT `srtt` (ms). Grows cwnd by slow start or congestion avoidance.
   */
  onAck(acked: number, now: number, srtt: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += acked < this.abcLimit ? acked : this.abcLimit;
      if (this.cwnd > CWND_CAP) this.cwnd = CWND_CAP;
      return;
    }
    if (this.algorithm === TcpCongestionAlgorithm.Cubic) this.cubicAvoidance(acked, now, srtt);
    else this.renoAvoidance(acked);
    if (this.cwnd > CWND_CAP) this.cwnd = CWND_CAP;
  }

  private renoAvoidance(acked: number): void {
    // RFC 5681 section 3.1: one SMSS per cwnd of acknowledged bytes.
    this.bytesAcked += acked;
    while (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  private cubicAvoidance(acked: number, now: number, srtt: number): void {
    const mss = this.mss;
    let cw = this.cwnd / mss;
    if (this.epochStart < 0) {
      // RFC 9438 section 4.2: a new congestion avoidance stage starts here.
      this.epochStart = now;
      this.cwndEpoch = cw;
      if (this.wMax <= cw) {
        this.wMax = cw;
        this.k = 0;
      } else {
        this.k = cubicK(this.wMax, cw);
      }
      this.wEst = cw;
    }
    const segs = acked / mss;
    const t = (now - this.epochStart) / 1000;
    // RFC 9438 section 4.3: Reno-friendly estimate.
    const alpha = this.wEst >= this.wMax ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * segs) / cw;
    if (cubicWindow(t, this.k, this.wMax) < this.wEst) {
      cw = this.wEst;
    } else {
      // RFC 9438 sections 4.4 and 4.5: approach W_cubic(t + RTT), at most 1.5 * cwnd.
      let target = cubicWindow(t + srtt / 1000, this.k, this.wMax);
      if (target < cw) target = cw;
      else if (target > 1.5 * cw) target = 1.5 * cw;
      cw += ((target - cw) / cw) * segs;
    }
    this.cwnd = cw * mss;
  }

  /**
   * Loss detected by duplicate ACKs or SACK (fast retransmit) with `flight` bytes outstanding:
   * sets ssthresh (RFC 5681 equation 4 for NewReno; RFC 9438 section 4.6 for CUBIC, with fast
   * convergence). The caller sets cwnd as its recovery algorithm prescribes.
   */
  onCongestionEvent(_now: number, flight: number): void {
    this.congestionEvents++;
    const mss = this.mss;
    if (this.algorithm === TcpCongestionAlgorithm.Cubic) {
      const cw = this.cwnd / mss;
      this.wMax = this.fastConvergence && cw < this.wMax ? (cw * (1 + CUBIC_BETA)) / 2 : cw;
      const s = this.cwnd * CUBIC_BETA;
      this.ssthresh = s > 2 * mss ? s : 2 * mss;
      this.epochStart = -1;
    } else {
      const half = flight / 2;
      this.ssthresh = half > 2 * mss ? half : 2 * mss;
    }
    this.bytesAcked = 0;
  }

  /**
   * Retransmission timeout with `flight` bytes outstanding (RFC 5681 section 3.1 equation 4, RFC
   * 9438 section 4.8): ssthresh as for a congestion event, cwnd to one segment (the loss window).
   */
  onRetransmitTimeout(now: number, flight: number): void {
    this.onCongestionEvent(now, flight);
    this.cwnd = this.mss;
  }

  /** Loss recovery ended: deflate cwnd to ssthresh (RFC 6582 section 3.2 step 3, full ACK). */
  onRecoveryExit(flight: number): void {
    const alt = flight + this.mss;
    this.cwnd = this.algorithm === TcpCongestionAlgorithm.NewReno && alt < this.ssthresh ? alt : this.ssthresh;
    this.bytesAcked = 0;
  }

  /** The sender MSS changed (path MTU); windows keep their byte values. */
  setMss(mss: number): void {
    this.mss = mss;
    if (this.abcLimit < 2 * mss) this.abcLimit = 2 * mss;
  }
}
