/**
 * Retransmission timer computation of RFC 6298: SRTT and RTTVAR from RTT samples (section 2),
 * exponential backoff (section 5.5) and the bounds the engine is configured with. The clock
 * granularity G is one millisecond.
 */

/** Clock granularity G in ms (RFC 6298 section 2). */
const G = 1;

/** RTO state of one connection. */
export class TcpRttEstimator {
  /** Smoothed RTT (ms); meaningful once `samples > 0`. */
  srtt: number;
  /** RTT variation (ms). */
  rttvar: number;
  /** Current retransmission timeout (ms), backoff included. */
  rto: number;
  /** RTT samples taken. */
  samples: number;
  /** Consecutive backoffs since the last sample or new ACK. */
  backoffs: number;
  /** Lower bound of the RTO (RFC 6298 (2.4): 1 s; configurable lower for in-process links). */
  readonly minRto: number;
  /** Upper bound of the RTO (RFC 6298 (2.5): at least 60 s). */
  readonly maxRto: number;

  constructor(initialRto: number, minRto: number, maxRto: number) {
    this.srtt = 0;
    this.rttvar = 0;
    this.rto = initialRto;
    this.samples = 0;
    this.backoffs = 0;
    this.minRto = minRto;
    this.maxRto = maxRto;
  }

  /** Folds in an RTT measurement `r` (ms) per RFC 6298 sections 2.2 and 2.3. */
  sample(r: number): void {
    if (r < 0) return;
    if (this.samples === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      const d = this.srtt > r ? this.srtt - r : r - this.srtt;
      this.rttvar = 0.75 * this.rttvar + 0.25 * d;
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.samples++;
    this.backoffs = 0;
    const v = 4 * this.rttvar;
    this.rto = this.clamp(this.srtt + (v > G ? v : G));
  }

  /** Doubles the RTO after a retransmission timeout (RFC 6298 (5.5)), up to the maximum. */
  backoff(): void {
    this.backoffs++;
    this.rto = this.clamp(this.rto * 2);
  }

  private clamp(x: number): number {
    if (x < this.minRto) return this.minRto;
    if (x > this.maxRto) return this.maxRto;
    return x;
  }
}
