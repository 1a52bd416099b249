/**
 * `ndis up <topology.json>`: several hosts, hubs, wires, filters and captures from a file (see
 * src/cli/topology.ts for the format and examples/ for small ones), running until Ctrl-C. Prints
 * where each host is reachable, then a line per event; commands on standard input start with the
 * host's name (`h1 ping 10.0.0.2`).
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { runNetwork } from '../run-network.js';
import { TopologyError, readTopology } from '../topology.js';

const USAGE = `usage: ndis up <topology.json> [--json] [--check]

Builds the hosts, hubs, wires, filters and captures a topology file describes, in one NDIS runtime,
prints where each host is reachable and runs until Ctrl-C (or "quit" on standard input). Lines on
standard input run commands on a host: "<host> ping <addr>", "<host> fetch <url>", ...

A topology:
  {
    "hosts": [
      { "name": "h1", "serve": ["echo", "http"], "capture": "h1.pcapng",
        "adapters": [ { "wire": "hub:lan0", "ip": ["10.0.0.1/24"], "ip6": ["fd00::1/64"] } ] },
      { "name": "h2",
        "adapters": [ { "wire": "hub:lan0", "ip": ["10.0.0.2/24"] },
                      { "wire": "vxlan:192.0.2.10", "vni": 42, "ip": ["10.1.0.2/24"] } ],
        "forwarding": true }
    ],
    "capture": "all.pcapng", "filters": ["passthrough"], "verify": "cheap"
  }
wires: hub:<name>, vxlan:<remote-ip>[:port], tap:<ifname>, pcap:<file> (with "sent": <file>)
adapter fields: name, wire, mac, mtu, ip, ip6, gw, gw6; vxlan: vni, local, port, remotes,
underlayMtu; pcap: sent, timing (original|fast)
host fields: name, adapters, serve, forwarding, capture, teams (NIC teams of the host's adapters:
name, members, teamingMode, loadBalancingAlgorithm, standby, vlanTagging, macAddress, announce,
interfaces with name, vlanId and the IP fields ip, ip6, gw, gw6)

options:
  --json     events as JSON lines
  --check    only check the file and print what it describes
  -h, --help this help

exit status: 0 stopped cleanly, 1 verifier violations were reported, 2 usage or environment error
`;

export const upCommand: Command = {
  name: 'up',
  summary: 'run the hosts, hubs, wires and filters of a topology file',
  async run(args) {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, check: { type: 'boolean' } }, allowPositionals: true, strict: true }));
    } catch (e) {
      process.stderr.write(`ndis up: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) {
      process.stderr.write(`ndis up: give one topology file\n\n${USAGE}`);
      return 2;
    }
    let spec;
    try {
      spec = readTopology(positionals[0]!);
    } catch (e) {
      if (e instanceof TopologyError) {
        process.stderr.write(`ndis up: ${positionals[0]}: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    if (values.check === true) {
      const summary = spec.hosts.map((h) => ({
        host: h.name,
        adapters: [
          ...h.adapters.map((a) => ({ name: a.name, wire: a.wire, ip: a.ip ?? [], ip6: a.ip6 ?? [] })),
          ...(h.teams ?? []).flatMap((t) => t.interfaces.map((i) => ({ name: i.name, wire: `team:${t.config.name}(${t.config.members.join(',')})`, ip: i.ip ?? [], ip6: i.ip6 ?? [] }))),
        ],
        serve: h.serve ?? [],
      }));
      if (values.json === true) process.stdout.write(`${JSON.stringify({ ok: true, hosts: summary })}\n`);
      else for (const h of summary) process.stdout.write(`${h.host}: ${h.adapters.map((a) => `${a.name} on ${a.wire}${[...a.ip, ...a.ip6].length > 0 ? ` (${[...a.ip, ...a.ip6].join(', ')})` : ''}`).join('; ')}${h.serve.length > 0 ? `; serves ${h.serve.join(', ')}` : ''}\n`);
      return 0;
    }
    return runNetwork(spec, { json: values.json === true, command: 'ndis up' });
  },
};
