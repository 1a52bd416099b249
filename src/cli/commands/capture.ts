/**
 * `ndis capture`: an adapter on a wire with the capture filter on it, writing pcapng — the
 * one-line use of src/drivers/filter/capture. Like `tcpdump -w`, until a count, a duration or
 * Ctrl-C; `-w -` streams the capture to stdout (`ndis capture ... -w - | tshark -r -`).
 */
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { NDIS_PACKET_TYPE, Ndis, type MiniportBlock } from '../../ndis/index.js';
import { CaptureFilter } from '../../drivers/filter/capture/index.js';
import { NdisProt } from '../../drivers/protocol/ndisprot/index.js';
import { VxlanMiniportDriver, formatEndpoint } from '../../drivers/miniport/vxlan/index.js';
import { TapMiniportDriver } from '../../drivers/miniport/tap/index.js';
import { PcapMiniportDriver } from '../../drivers/miniport/pcap/index.js';
import type { CaptureSink } from '../../pcap/index.js';
import { TopologyError, parseWire } from '../topology.js';

const USAGE = `usage: ndis capture --wire <wire> -w <file.pcapng | -> [options]

Puts an adapter on a wire, in promiscuous mode, with the capture filter on it, and writes what
arrives (and anything sent) to a pcapng file: an interface per adapter, nanosecond timestamps,
direction flags, a comment per packet with the NBL's OOB facts. Stops after --count packets,
--duration seconds, at the end of a pcap wire's file, or on Ctrl-C.

wires:
  --wire vxlan:<remote-ip>[:port]   a VXLAN segment (with --vni, --local, --remote)
  --wire tap:<ifname>               a Linux TAP interface
  --wire pcap:<file>                the frames of a capture file (re-recorded through NDIS)

options:
  -w, --write <file>     pcapng to write; "-" writes to stdout, each packet at once
  --count N              stop after N packets
  --duration S           stop after S seconds
  --snaplen N            bytes kept per packet (default all)
  --vni N                VXLAN network identifier (default 1)
  --local <ip>[:port]    VXLAN: where to listen (default 0.0.0.0:4789)
  --remote <ip>[:port]   VXLAN: another remote (repeatable)
  --mac <mac>            the adapter's MAC address
  --json                 the summary as JSON (on stderr when -w -)
  -h, --help             this help

exit status: 0 done, 1 the capture file could not be written, 2 usage or environment error
`;

/** A sink that writes to standard output at once (the chunk is a view: written before returning). */
class StdoutSink implements CaptureSink {
  write(chunk: Uint8Array): void {
    let done = 0;
    while (done < chunk.length) done += writeSync(1, chunk, done, chunk.length - done);
  }
}

export const captureCommand: Command = {
  name: 'capture',
  summary: 'capture the traffic of a wire to pcapng through the capture filter',
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          help: { type: 'boolean', short: 'h' },
          json: { type: 'boolean' },
          wire: { type: 'string' },
          write: { type: 'string', short: 'w' },
          count: { type: 'string' },
          duration: { type: 'string' },
          snaplen: { type: 'string' },
          vni: { type: 'string' },
          local: { type: 'string' },
          remote: { type: 'string', multiple: true },
          mac: { type: 'string' },
        },
        strict: true,
      }));
    } catch (e) {
      process.stderr.write(`ndis capture: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.wire === undefined || values.write === undefined) {
      process.stderr.write(`ndis capture: --wire and -w are required\n\n${USAGE}`);
      return 2;
    }
    const positive = (v: string | undefined, what: string, allowFraction = false): number | null => {
      if (v === undefined) return null;
      const n = Number(v);
      if (!(n > 0) || (!allowFraction && !Number.isInteger(n))) throw new TopologyError(`--${what} takes a positive ${allowFraction ? 'number' : 'integer'} (got '${v}')`);
      return n;
    };
    let wire;
    let count: number | null;
    let duration: number | null;
    let snaplen: number | null;
    let vni: number | null;
    try {
      wire = parseWire(values.wire, '--wire');
      if (wire.kind === 'hub') throw new TopologyError('--wire hub:... is a wire inside one process; capture a real wire (vxlan, tap, pcap)');
      count = positive(values.count, 'count');
      duration = positive(values.duration, 'duration', true);
      snaplen = positive(values.snaplen, 'snaplen');
      vni = values.vni === undefined ? null : Number(values.vni);
      if (vni !== null && !Number.isInteger(vni)) throw new TopologyError(`--vni takes an integer (got '${values.vni}')`);
    } catch (e) {
      process.stderr.write(`ndis capture: ${(e as Error).message}\n`);
      return 2;
    }
    const toStdout = values.write === '-';
    const say = (text: string): void => {
      process.stderr.write(`${text}\n`);
    };
    const ndis = new Ndis({ mode: 'realtime' });
    let capture: CaptureFilter;
    try {
      capture = new CaptureFilter(ndis, {
        ...(toStdout ? { sink: new StdoutSink(), live: true } : { path: values.write }),
        ...(snaplen !== null ? { snapLength: snaplen } : {}),
        ...(count !== null ? { maxPackets: count } : {}),
      });
    } catch (e) {
      process.stderr.write(`ndis capture: cannot write ${values.write}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return 2;
    }
    let m: MiniportBlock;
    let where: string;
    let finished: Promise<void> | null = null;
    try {
      await capture.register();
      // A listener in promiscuous mode, so that the adapter's packet filter passes every frame.
      await new NdisProt(ndis, { name: 'capture-listener', etherTypes: [0], maxQueue: 1, packetFilter: NDIS_PACKET_TYPE.PROMISCUOUS }).register();
      const mac = values.mac === undefined ? {} : { mac: values.mac };
      if (wire.kind === 'vxlan') {
        const drv = new VxlanMiniportDriver(ndis);
        m = await drv.addAdapter('vxlan0', {
          remotes: [...(wire.arg === '' ? [] : [wire.arg]), ...(values.remote ?? [])],
          ...(vni !== null ? { vni } : {}),
          ...(values.local !== undefined ? { local: values.local } : {}),
          ...mac,
        });
        const v = drv.adapter(m);
        where = `VXLAN VNI ${v.vni} on ${formatEndpoint(v.vtep.local)}`;
      } else if (wire.kind === 'tap') {
        const drv = new TapMiniportDriver(ndis);
        m = await drv.addAdapter('tap0', { ifname: wire.arg === '' ? 'ndis%d' : wire.arg, up: true, ...mac });
        where = `TAP interface ${drv.adapter(m).device.name}`;
      } else {
        const drv = new PcapMiniportDriver(ndis);
        m = await drv.addAdapter('pcap0', { replay: wire.arg, timing: 'fast', ...mac });
        finished = drv.adapter(m).whenFinished();
        where = `capture file ${wire.arg}`;
      }
    } catch (e) {
      process.stderr.write(`ndis capture: ${e instanceof Error ? e.message : String(e)}\n`);
      await ndis.shutdown();
      capture.close();
      return 2;
    }
    const started = performance.now();
    // The stop conditions (signals included) are in place before the start is announced.
    const stop = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('interrupted'));
      process.once('SIGTERM', () => resolve('terminated'));
      if (duration !== null) setTimeout(() => resolve('duration'), duration * 1000).unref();
      if (finished !== null) void finished.then(() => setTimeout(() => resolve('end of file'), 50));
      if (count !== null) {
        const timer = setInterval(() => {
          if (capture.packets >= count) {
            clearInterval(timer);
            resolve('count');
          }
        }, 20);
      }
    });
    say(`capturing on ${m.name} (${where}) to ${toStdout ? 'stdout' : values.write}; Ctrl-C stops`);
    const reason = await stop;
    await ndis.shutdown();
    capture.close();
    const summary = { adapter: m.name, where, file: toStdout ? '-' : values.write, packets: capture.packets, bytes: capture.bytes, seconds: Math.round(performance.now() - started) / 1000, stoppedBy: reason, error: capture.error?.message ?? null };
    if (values.json === true) (toStdout ? process.stderr : process.stdout).write(`${JSON.stringify(summary)}\n`);
    else say(`${summary.packets} packets captured in ${summary.seconds} s (${reason})${summary.error !== null ? `; writing failed: ${summary.error}` : ''}`);
    return capture.error === null ? 0 : 1;
  },
};
