/**
 * `ndis host`: one emulated host — a miniport on a real wire (VXLAN or TAP), optional capture,
 * the TCP/IP protocol driver with its addresses, optional services — running until Ctrl-C, with a
 * line per event worth seeing and commands on standard input (see src/cli/console.ts).
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { runNetwork } from '../run-network.js';
import { TopologyError, checkTopology, type AdapterSpec } from '../topology.js';

const USAGE = `usage: ndis host --wire <wire> [options]

Runs one emulated host on a real wire until Ctrl-C: a miniport, the capture filter when asked,
and the TCP/IP protocol driver with the given addresses and services. Prints a line per event
(link up, addresses ready, ARP/ND resolved, connections). Commands on standard input:
ping <addr> [n], udp <addr> <port> <text>, fetch <url>, send <addr> <port> <bytes>, sink <port>,
neighbors, stats, quit.

wires:
  --wire vxlan:<remote-ip>[:port]   a VXLAN segment to a remote VTEP (e.g. a Linux vxlan device),
                                    or to a multicast group (joined)
  --wire tap:<ifname>               a Linux TAP interface (created if missing; needs CAP_NET_ADMIN)

options:
  --vni N                VXLAN network identifier (default 1)
  --local <ip>[:port]    VXLAN: address and UDP port to listen on (default 0.0.0.0:4789)
  --remote <ip>[:port]   VXLAN: another remote VTEP (repeatable)
  --ip <addr/prefix>     IPv4 address (repeatable)
  --ip6 <addr/prefix>    IPv6 address (repeatable)
  --gw <ip>              IPv4 default gateway
  --gw6 <ip>             IPv6 default gateway
  --mac <mac>            the adapter's MAC address (default random, locally administered)
  --mtu N                MTU (VXLAN: inner MTU; default underlay MTU - 50)
  --serve <list>         services: echo, discard, http (comma-separated)
  --capture <file>       write a pcapng capture of the adapter
  --verify <level>       NDIS verifier: off, cheap (default), full; violations are reported
  --name <name>          host name in events (default host)
  --json                 events as JSON lines
  -h, --help             this help

A Linux peer: ip link add vx0 type vxlan id <N> dstport 4789 remote <this host> dev <underlay>.
Over a veth underlay Linux leaves the inner TCP/UDP checksums to offload, which a VTEP outside the
kernel cannot finish: turn it off on the vxlan device (ethtool -K vx0 tx off).

exit status: 0 stopped cleanly, 1 verifier violations were reported, 2 usage or environment error
`;

export const hostCommand: Command = {
  name: 'host',
  summary: 'run one emulated host on a VXLAN or TAP wire until Ctrl-C',
  async run(args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          help: { type: 'boolean', short: 'h' },
          json: { type: 'boolean' },
          wire: { type: 'string' },
          vni: { type: 'string' },
          local: { type: 'string' },
          remote: { type: 'string', multiple: true },
          ip: { type: 'string', multiple: true },
          ip6: { type: 'string', multiple: true },
          gw: { type: 'string' },
          gw6: { type: 'string' },
          mac: { type: 'string' },
          mtu: { type: 'string' },
          serve: { type: 'string' },
          capture: { type: 'string' },
          verify: { type: 'string' },
          name: { type: 'string' },
        },
        strict: true,
      }));
    } catch (e) {
      process.stderr.write(`ndis host: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.wire === undefined) {
      process.stderr.write(`ndis host: --wire is required\n\n${USAGE}`);
      return 2;
    }
    if (!values.wire.startsWith('vxlan:') && !values.wire.startsWith('tap:')) {
      process.stderr.write(`ndis host: --wire must be vxlan:<remote-ip>[:port] or tap:<ifname> (got '${values.wire}'); use 'ndis up' for hubs and pcap wires\n`);
      return 2;
    }
    const adapter: Record<string, unknown> = { wire: values.wire };
    const num = (v: string | undefined, what: string): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n)) throw new TopologyError(`--${what} takes an integer (got '${v}')`);
      return n;
    };
    try {
      const vni = num(values.vni, 'vni');
      const mtu = num(values.mtu, 'mtu');
      if (vni !== undefined) adapter['vni'] = vni;
      if (mtu !== undefined) adapter['mtu'] = mtu;
      if (values.local !== undefined) adapter['local'] = values.local;
      if (values.remote !== undefined) adapter['remotes'] = values.remote;
      if (values.ip !== undefined) adapter['ip'] = values.ip;
      if (values.ip6 !== undefined) adapter['ip6'] = values.ip6;
      if (values.gw !== undefined) adapter['gw'] = values.gw;
      if (values.gw6 !== undefined) adapter['gw6'] = values.gw6;
      if (values.mac !== undefined) adapter['mac'] = values.mac;
      const host: Record<string, unknown> = { name: values.name ?? 'host', adapters: [adapter] };
      if (values.serve !== undefined) host['serve'] = values.serve.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (values.capture !== undefined) host['capture'] = values.capture;
      const top: Record<string, unknown> = { hosts: [host] };
      if (values.verify !== undefined) top['verify'] = values.verify;
      const spec = checkTopology(top);
      // Name the adapter after its wire kind (vxlan0, tap0), as a single host has only one.
      (spec.hosts[0]!.adapters[0] as AdapterSpec).name = values.wire.startsWith('vxlan:') ? 'vxlan0' : 'tap0';
      return await runNetwork(spec, { json: values.json === true, command: 'ndis host' });
    } catch (e) {
      if (e instanceof TopologyError) {
        process.stderr.write(`ndis host: ${e.message.replace(/^hosts\[0\]\.adapters\[0\]\./, '--').replace(/^hosts\[0\]\./, '--').replace(/^topology\./, '--')}\n`);
        return 2;
      }
      throw e;
    }
  },
};
