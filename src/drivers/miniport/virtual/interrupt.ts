/**
 * The NDIS side of a miniport's receive interrupt DPC, for the virtual adapter's receive queues:
 * what NDIS does around MiniportInterruptDPC / MiniportMessageInterruptDPC once a miniport has
 * registered an interrupt (NdisMRegisterInterruptEx) — it hands the DPC an
 * NDIS_RECEIVE_THROTTLE_PARAMETERS with the MaxNblsToIndicate it chose, and when the DPC returns
 * with MoreNblsPending set it queues the DPC again (NdisMQueueDpcEx) instead of letting the
 * miniport re-enable the interrupt ("Receive Side Throttle in NDIS 6.20").
 *
 * The runtime does not model interrupts yet, so this object stands in for that part of NDIS: it
 * owns a KDPC per queue, asks a {@link ReceiveThrottleSource} for MaxNblsToIndicate before each run,
 * and requeues on MoreNblsPending. A runtime API (NdisMQueueDpcEx with throttle parameters, or
 * `ndis.receiveThrottle(adapter)`) can replace the source without changing the miniport.
 */
import { Dpc, type Ndis } from '../../../ndis/index.js';
import { NdisReceiveThrottleParameters, type ReceiveThrottleSource } from '../../../offload/throttle.js';

/** MiniportMessageInterruptDPC, for one message (queue): (context, message id, throttle parameters). */
export type MessageInterruptDpcHandler = (context: unknown, messageId: number, throttle: NdisReceiveThrottleParameters) => void;

/** One message-signalled interrupt's DPC as NDIS runs it. */
export class InterruptDpc {
  readonly dpc: Dpc;
  readonly messageId: number;
  readonly throttle = new NdisReceiveThrottleParameters();
  /** DPC runs, and runs that ended with MoreNblsPending. */
  runs = 0;
  requeues = 0;
  private readonly ndis: Ndis;
  private readonly source: ReceiveThrottleSource;
  private readonly adapterHandle: object;
  private readonly handler: MessageInterruptDpcHandler;
  private readonly context: unknown;

  constructor(ndis: Ndis, adapterHandle: object, source: ReceiveThrottleSource, handler: MessageInterruptDpcHandler, context: unknown, messageId: number, name: string) {
    this.ndis = ndis;
    this.adapterHandle = adapterHandle;
    this.source = source;
    this.handler = handler;
    this.context = context;
    this.messageId = messageId;
    this.dpc = new Dpc((_d, ctx) => (ctx as InterruptDpc).run(), this, name);
  }

  /** Processor the DPC is targeted to. */
  get processor(): number {
    return this.dpc.processor;
  }

  set processor(p: number) {
    this.dpc.processor = p;
  }

  /** The interrupt fired: NDIS queues the DPC (once; a queued DPC is not queued twice). */
  fire(): void {
    this.ndis.queueDpc(this.dpc);
  }

  private run(): void {
    const t = this.throttle;
    t.maxNblsToIndicate = this.source.receiveThrottle(this.adapterHandle);
    t.moreNblsPending = false;
    this.runs++;
    this.handler(this.context, this.messageId, t);
    if (t.moreNblsPending) {
      this.requeues++;
      this.ndis.queueDpc(this.dpc);
    }
  }

  /** Removes the DPC from its processor's queue (halt). */
  cancel(): void {
    this.ndis.scheduler.removeQueuedDpc(this.dpc);
  }
}
