/**
 * `ndis replay <file>`: the frames of a capture arrive as received frames of a pcap adapter and go
 * up a stack — the capture filter when asked, and a protocol: the TCP/IP driver when addresses are
 * given (it answers what it is asked in the recording), else a listener that counts what the
 * adapter's packet filter passes. What the stack sends is written to a pcapng file. In virtual time
 * by default (the file's pacing, at no wall-clock cost); `--realtime` paces on the wall clock.
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { NDIS_PACKET_TYPE, Ndis } from '../../ndis/index.js';
import { CaptureFilter } from '../../drivers/filter/capture/index.js';
import { NdisProt } from '../../drivers/protocol/ndisprot/index.js';
import { PcapMiniportDriver } from '../../drivers/miniport/pcap/index.js';
import { createIpStack, type IpStack } from '../ipstack.js';
import { Verifier, parseVerifyLevel, type VerifyLevelName } from '../../verifier/index.js';

const USAGE = `usage: ndis replay <file> [options]

Replays the Ethernet frames of a pcap or pcapng file as frames received by a pcap adapter, up an
NDIS stack, and writes what the stack sends to a pcapng file. Prints what happened to the frames.

options:
  --timing <t>          original (the file's pacing, default) or fast (as fast as the stack takes them)
  --speed X             pacing multiplier with original timing (default 1)
  --loops N             passes over the file (default 1)
  --realtime            pace on the wall clock (default: virtual time, no waiting)
  --mac <mac>           the adapter's MAC address (frames to it are directed to this host)
  --promiscuous         the listener takes every frame (without --ip)
  --ip <addr/prefix>    run the TCP/IP protocol driver with this IPv4 address (repeatable)
  --ip6 <addr/prefix>   ... and this IPv6 address (repeatable)
  --gw <ip>             IPv4 default gateway
  --capture <file>      capture the stack (pcapng, inbound and outbound)
  --sent <file>         write what the stack sends (pcapng)
  --verify <level>      NDIS verifier: off, cheap (default), full; violations are counted
  --json                the summary as JSON
  -h, --help            this help

exit status: 0 replayed, 1 the file had damaged parts or the verifier found violations, 2 usage or
environment error
`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a pcap/pcapng file into an NDIS stack through the pcap miniport',
  async run(args) {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({
        args,
        options: {
          help: { type: 'boolean', short: 'h' },
          json: { type: 'boolean' },
          timing: { type: 'string' },
          speed: { type: 'string' },
          loops: { type: 'string' },
          realtime: { type: 'boolean' },
          mac: { type: 'string' },
          promiscuous: { type: 'boolean' },
          ip: { type: 'string', multiple: true },
          ip6: { type: 'string', multiple: true },
          gw: { type: 'string' },
          capture: { type: 'string' },
          sent: { type: 'string' },
          verify: { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      }));
    } catch (e) {
      process.stderr.write(`ndis replay: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) {
      process.stderr.write(`ndis replay: give one capture file\n\n${USAGE}`);
      return 2;
    }
    const file = positionals[0]!;
    if (values.timing !== undefined && values.timing !== 'original' && values.timing !== 'fast') {
      process.stderr.write(`ndis replay: --timing is original or fast (got '${values.timing}')\n`);
      return 2;
    }
    const speed = values.speed === undefined ? 1 : Number(values.speed);
    const loops = values.loops === undefined ? 1 : Number(values.loops);
    if (!(speed > 0) || !Number.isInteger(loops) || loops < 1) {
      process.stderr.write('ndis replay: --speed takes a positive number, --loops a positive integer\n');
      return 2;
    }
    const useIp = values.ip !== undefined || values.ip6 !== undefined;
    let level: VerifyLevelName;
    try {
      level = parseVerifyLevel(values.verify ?? 'cheap');
    } catch (e) {
      process.stderr.write(`ndis replay: --verify: ${(e as Error).message}\n`);
      return 2;
    }
    // Violations are counted and reported in the summary, not thrown.
    const verifier = new Verifier({ level, action: 'count' });
    const ndis = new Ndis(values.realtime === true ? { mode: 'realtime', verifier } : { verifier });
    const capture = values.capture === undefined ? null : new CaptureFilter(ndis, { path: values.capture });
    let listener: NdisProt | null = null;
    let stack: IpStack | null = null;
    const drv = new PcapMiniportDriver(ndis);
    try {
      if (capture !== null) await capture.register();
      if (useIp) {
        stack = createIpStack(ndis, { name: 'tcpip', adapters: ['pcap0'] });
        await stack.register();
      } else {
        listener = new NdisProt(ndis, {
          name: 'replay-listener',
          etherTypes: [],
          maxQueue: 1,
          packetFilter: values.promiscuous === true ? NDIS_PACKET_TYPE.PROMISCUOUS : NDIS_PACKET_TYPE.DIRECTED | NDIS_PACKET_TYPE.BROADCAST | NDIS_PACKET_TYPE.ALL_MULTICAST,
        });
        await listener.register();
      }
      const m = await drv.addAdapter('pcap0', {
        replay: file,
        timing: values.timing === 'fast' ? 'fast' : 'original',
        speed,
        loops,
        autoStart: false,
        ...(values.mac !== undefined ? { mac: values.mac } : {}),
        ...(values.sent !== undefined ? { output: values.sent } : {}),
      });
      const a = drv.adapter(m);
      if (stack !== null) {
        // Configure the interface once bound, and replay once its addresses are usable.
        stack.configure('pcap0', {
          ...(values.ip !== undefined ? { ipv4: values.ip } : {}),
          ...(values.ip6 !== undefined ? { ipv6: values.ip6 } : {}),
          ...(values.gw !== undefined ? { gateway4: values.gw } : {}),
        });
        await stack.ready('pcap0', 30_000);
      }
      a.startReplay();
      const started = performance.now();
      await ndis.until(a.whenFinished(), Number.MAX_SAFE_INTEGER);
      const fileTimeMs = a.replayFinishedAt - a.replayStartedAt;
      const wallTimeMs = performance.now() - started;
      // Let the stack answer the last frames.
      await ndis.sleep(100);
      const src = a.source!;
      const s = a.stats;
      const summary = {
        file,
        framesInFile: src.count,
        otherLinkTypes: src.counters.otherLinkType,
        damagedParts: src.counters.fileErrors,
        firstDamage: src.firstError,
        replayed: s.replayed,
        indicated: s.ifHCInUcastPkts + s.ifHCInMulticastPkts + s.ifHCInBroadcastPkts,
        filtered: s.rcvFiltered,
        runts: s.runts,
        oversize: s.oversize,
        delivered: listener === null ? null : [...listener.bindings.values()].reduce((n, b) => n + b.counters.framesQueued + b.counters.framesIgnored, 0),
        sent: s.ifHCOutUcastPkts + s.ifHCOutMulticastPkts + s.ifHCOutBroadcastPkts,
        written: s.written,
        fileTimeMs: Math.round(fileTimeMs * 1000) / 1000,
        wallTimeMs: Math.round(wallTimeMs),
        captured: capture?.packets ?? null,
        ipDrops: stack === null ? null : stack.totalDrops(),
        violations: verifier.count(),
      };
      await ndis.shutdown();
      capture?.close();
      if (values.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        const lines = [
          `${file}: ${summary.framesInFile} Ethernet frames${summary.otherLinkTypes > 0 ? ` (${summary.otherLinkTypes} of other link types skipped)` : ''}${summary.damagedParts > 0 ? `, ${summary.damagedParts} damaged part(s): ${summary.firstDamage}` : ''}`,
          `replayed ${summary.replayed} frame(s) in ${summary.fileTimeMs} ms of ${values.realtime === true ? 'real' : 'virtual'} time (${summary.wallTimeMs} ms wall clock)`,
          `indicated ${summary.indicated}, filtered by the packet filter ${summary.filtered}, runts ${summary.runts}, oversize ${summary.oversize}`,
          ...(summary.delivered !== null ? [`the listener received ${summary.delivered}`] : [`the TCP/IP driver dropped ${String(summary.ipDrops)}`]),
          `the stack sent ${summary.sent}${values.sent !== undefined ? `, written to ${values.sent}` : ''}`,
          ...(summary.captured !== null ? [`captured ${summary.captured} packet(s) to ${values.capture!}`] : []),
          `verifier (${level}): ${summary.violations} violation(s)`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return summary.damagedParts > 0 || summary.violations > 0 ? 1 : 0;
    } catch (e) {
      await ndis.shutdown().catch(() => undefined);
      capture?.close();
      process.stderr.write(`ndis replay: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  },
};
