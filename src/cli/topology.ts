/**
 * Networks of emulated hosts for `ndis host` and `ndis up`: a topology (hosts, their adapters and
 * the wires those plug into, filters, captures, IP configuration and services) is checked, then
 * built in one NDIS runtime in real-time mode:
 *
 *   wires     hub:<name>              a virtual hub in this process (the virtual miniport)
 *             vxlan:<remote>[:port]   a VXLAN segment to a remote VTEP (more in `remotes`)
 *             tap:<ifname>            a Linux TAP interface
 *             pcap:<file>             frames of a capture file arrive; sends go to `sent`
 *   filters   capture (one pcapng for the network, or one per host), passthrough
 *   teams     NIC teams of a host's adapters (the teaming intermediate driver), IP on their
 *             interfaces
 *   hosts     one TCP/IP protocol driver instance each, bound to the host's adapters only
 *
 * While it runs, a line per event worth seeing is reported (link up or down, addresses ready,
 * neighbors resolved, connections accepted, verifier violations).
 */
import { readFileSync } from 'node:fs';
import { MediaConnectState, Ndis, type AdapterConfig, type MiniportBlock } from '../ndis/index.js';
import { Verifier } from '../verifier/index.js';
import { VirtualMiniportDriver } from '../drivers/miniport/virtual/index.js';
import { VxlanMiniportDriver, formatEndpoint, parseEndpoint } from '../drivers/miniport/vxlan/index.js';
import { TapMiniportDriver } from '../drivers/miniport/tap/index.js';
import { PcapMiniportDriver } from '../drivers/miniport/pcap/index.js';
import { CaptureFilter } from '../drivers/filter/capture/index.js';
import { PassthroughFilter } from '../drivers/filter/passthrough/index.js';
import { TEAM_MEMBER_UPPER_RANGE, TeamingDriver, parseTeamConfig, type TeamConfig } from '../drivers/im/index.js';
import { formatMac, parseMac } from '../wire/index.js';
import type { IpService, IpStack, IpStackFactory } from './ipstack.js';

/** One adapter of a host and the wire it plugs into. */
export interface AdapterSpec {
  /** Adapter name (default `<host>-<kind><n>`, e.g. `h1-vxlan0`). */
  name?: string;
  /** `hub:<name>`, `vxlan:<remote-ip>[:port]`, `tap:<ifname>` or `pcap:<file>`. */
  wire: string;
  /** MAC address (default: a fixed one per adapter on hubs, random on real wires). */
  mac?: string;
  /** MTU (hub, pcap, TAP: the interface's; VXLAN: the inner MTU). */
  mtu?: number;
  /** VXLAN: VNI (default 1). */
  vni?: number;
  /** VXLAN: local address and port to listen on. */
  local?: string;
  /** VXLAN: UDP port (default 4789). */
  port?: number;
  /** VXLAN: more remote VTEPs. */
  remotes?: string[];
  /** VXLAN: the underlay MTU (default 1500). */
  underlayMtu?: number;
  /** pcap: where sends are written (pcapng). */
  sent?: string;
  /** pcap: "original" (default) or "fast". */
  timing?: 'original' | 'fast';
  /** IPv4 addresses with prefix (`10.0.0.1/24`). */
  ip?: string[];
  /** IPv6 addresses with prefix. */
  ip6?: string[];
  /** IPv4 default gateway. */
  gw?: string;
  /** IPv6 default gateway. */
  gw6?: string;
}

/** An interface of a team and the IP configuration the host's stack gives it. */
export interface TeamInterfaceSpec {
  name: string;
  ip?: string[];
  ip6?: string[];
  gw?: string;
  gw6?: string;
}

/** A NIC team of a host's adapters: the teaming driver's configuration and the IP of its interfaces. */
export interface TeamSpec {
  /** What the teaming driver is given (members are adapter names of the host). */
  config: TeamConfig;
  /** The team's interfaces (one named after the team when the configuration lists none). */
  interfaces: TeamInterfaceSpec[];
}

/** One host: adapters, an IP stack over them, services. */
export interface HostSpec {
  name: string;
  adapters: AdapterSpec[];
  /** NIC teams over some of the adapters (fields as in src/drivers/im/teaming/config.ts). */
  teams?: TeamSpec[];
  /** Services: echo, discard, http. */
  serve?: ('echo' | 'discard' | 'http')[];
  /** Forward IP between the host's interfaces (a router). */
  forwarding?: boolean;
  /** A pcapng file capturing this host's adapters. */
  capture?: string;
}

/** A network. */
export interface TopologySpec {
  /** Hosts, at least one. */
  hosts: HostSpec[];
  /** A pcapng file capturing every adapter. */
  capture?: string;
  /** Filters on every adapter: `passthrough`. */
  filters?: string[];
  /** NDIS verifier level: off, cheap (default) or full. */
  verify?: 'off' | 'cheap' | 'full';
}

/** A topology that does not make sense, with where. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

const WIRE_KINDS = ['hub', 'vxlan', 'tap', 'pcap'] as const;
type WireKind = (typeof WIRE_KINDS)[number];

/** Splits `kind:argument`. */
export function parseWire(wire: string, where = 'wire'): { kind: WireKind; arg: string } {
  const colon = wire.indexOf(':');
  const kind = (colon < 0 ? wire : wire.slice(0, colon)) as WireKind;
  const arg = colon < 0 ? '' : wire.slice(colon + 1);
  if (!WIRE_KINDS.includes(kind)) throw new TopologyError(`${where}: unknown wire '${wire}' (use hub:<name>, vxlan:<remote-ip>[:port], tap:<ifname> or pcap:<file>)`);
  if ((kind === 'hub' || kind === 'pcap') && arg === '') throw new TopologyError(`${where}: '${wire}' needs a ${kind === 'hub' ? 'hub name' : 'file'} after the colon`);
  return { kind, arg };
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new TopologyError(`${where} must be a non-empty string`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new TopologyError(`${where} must be a list of strings`);
  return v.map((x, i) => str(x, `${where}[${i}]`));
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TopologyError(`${where} must be an integer from ${min} to ${max}`);
  return v;
}

function prefix(v: string, where: string, family: 4 | 6): string {
  const m = /^([^/]+)\/(\d+)$/.exec(v);
  const ok = m !== null && (family === 4 ? /^\d+\.\d+\.\d+\.\d+$/.test(m[1]!) && Number(m[2]) <= 32 : m[1]!.includes(':') && Number(m[2]) <= 128);
  if (!ok) throw new TopologyError(`${where}: '${v}' is not an IPv${family} address with a prefix length (e.g. ${family === 4 ? '10.0.0.1/24' : 'fd00::1/64'})`);
  return v;
}

const ADAPTER_KEYS = new Set(['name', 'wire', 'mac', 'mtu', 'vni', 'local', 'port', 'remotes', 'underlayMtu', 'sent', 'timing', 'ip', 'ip6', 'gw', 'gw6']);
const HOST_KEYS = new Set(['name', 'adapters', 'serve', 'forwarding', 'capture', 'teams']);
const TOP_KEYS = new Set(['hosts', 'capture', 'filters', 'verify', 'description']);

function checkKeys(o: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new TopologyError(`${where}: unknown field '${k}' (known: ${[...allowed].join(', ')})`);
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TopologyError(`${where} must be an object`);
  return v as Record<string, unknown>;
}

/** Checks a topology (parsed JSON) and returns it typed. @throws TopologyError naming the bad field. */
export function checkTopology(value: unknown): TopologySpec {
  const top = obj(value, 'topology');
  checkKeys(top, TOP_KEYS, 'topology');
  if (!Array.isArray(top['hosts']) || top['hosts'].length === 0) throw new TopologyError('topology.hosts must be a non-empty list of hosts');
  const names = new Set<string>();
  const adapterNames = new Set<string>();
  const hosts: HostSpec[] = top['hosts'].map((h: unknown, hi: number) => {
    const hw = `hosts[${hi}]`;
    const ho = obj(h, hw);
    checkKeys(ho, HOST_KEYS, hw);
    const name = str(ho['name'], `${hw}.name`);
    if (names.has(name)) throw new TopologyError(`${hw}.name: host '${name}' is defined twice`);
    names.add(name);
    if (!Array.isArray(ho['adapters']) || ho['adapters'].length === 0) throw new TopologyError(`${hw}.adapters must be a non-empty list`);
    const counts: Record<string, number> = {};
    const adapters: AdapterSpec[] = ho['adapters'].map((a: unknown, ai: number) => {
      const aw = `${hw}.adapters[${ai}]`;
      const ao = obj(a, aw);
      checkKeys(ao, ADAPTER_KEYS, aw);
      const wire = str(ao['wire'], `${aw}.wire`);
      const { kind, arg } = parseWire(wire, `${aw}.wire`);
      const n = counts[kind] ?? 0;
      counts[kind] = n + 1;
      const spec: AdapterSpec = { wire, name: ao['name'] === undefined ? `${name}-${kind === 'hub' ? 'eth' : kind}${n}` : str(ao['name'], `${aw}.name`) };
      if (adapterNames.has(spec.name!)) throw new TopologyError(`${aw}.name: adapter '${spec.name}' is defined twice`);
      adapterNames.add(spec.name!);
      if (ao['mac'] !== undefined) {
        spec.mac = str(ao['mac'], `${aw}.mac`);
        if (parseMac(spec.mac) === null) throw new TopologyError(`${aw}.mac: '${spec.mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
      }
      if (ao['mtu'] !== undefined) spec.mtu = int(ao['mtu'], `${aw}.mtu`, 68, 65535);
      if (ao['vni'] !== undefined) spec.vni = int(ao['vni'], `${aw}.vni`, 0, 0xffffff);
      if (ao['port'] !== undefined) spec.port = int(ao['port'], `${aw}.port`, 1, 65535);
      if (ao['underlayMtu'] !== undefined) spec.underlayMtu = int(ao['underlayMtu'], `${aw}.underlayMtu`, 576, 65535);
      if (ao['local'] !== undefined) spec.local = str(ao['local'], `${aw}.local`);
      if (ao['remotes'] !== undefined) spec.remotes = strList(ao['remotes'], `${aw}.remotes`);
      if (ao['sent'] !== undefined) spec.sent = str(ao['sent'], `${aw}.sent`);
      if (ao['timing'] !== undefined) {
        if (ao['timing'] !== 'original' && ao['timing'] !== 'fast') throw new TopologyError(`${aw}.timing must be "original" or "fast"`);
        spec.timing = ao['timing'];
      }
      if (kind === 'vxlan') {
        try {
          for (const r of [...(arg === '' ? [] : [arg]), ...(spec.remotes ?? [])]) parseEndpoint(r, spec.port ?? 4789, 'remote');
          if (spec.local !== undefined) parseEndpoint(spec.local, spec.port ?? 4789, 'local', true);
        } catch (e) {
          throw new TopologyError(`${aw}: ${(e as Error).message}`);
        }
      } else if (spec.vni !== undefined || spec.local !== undefined || spec.remotes !== undefined || spec.underlayMtu !== undefined) {
        throw new TopologyError(`${aw}: vni, local, remotes and underlayMtu apply only to vxlan wires`);
      }
      if (kind !== 'pcap' && (spec.sent !== undefined || spec.timing !== undefined)) throw new TopologyError(`${aw}: sent and timing apply only to pcap wires`);
      if (ao['ip'] !== undefined) spec.ip = strList(ao['ip'], `${aw}.ip`).map((p, i) => prefix(p, `${aw}.ip[${i}]`, 4));
      if (ao['ip6'] !== undefined) spec.ip6 = strList(ao['ip6'], `${aw}.ip6`).map((p, i) => prefix(p, `${aw}.ip6[${i}]`, 6));
      if (ao['gw'] !== undefined) spec.gw = str(ao['gw'], `${aw}.gw`);
      if (ao['gw6'] !== undefined) spec.gw6 = str(ao['gw6'], `${aw}.gw6`);
      return spec;
    });
    const host: HostSpec = { name, adapters };
    if (ho['teams'] !== undefined) {
      if (!Array.isArray(ho['teams'])) throw new TopologyError(`${hw}.teams must be a list of teams`);
      const mine = new Set(adapters.map((a) => a.name!));
      const used = new Set<string>();
      host.teams = ho['teams'].map((t: unknown, ti: number) => {
        const tw = `${hw}.teams[${ti}]`;
        const to = obj(t, tw);
        const interfaces: TeamInterfaceSpec[] = [];
        let raw: Record<string, unknown>[] | undefined;
        if (to['interfaces'] !== undefined) {
          if (!Array.isArray(to['interfaces'])) throw new TopologyError(`${tw}.interfaces must be a list`);
          raw = to['interfaces'].map((i: unknown, ii: number) => {
            const iw = `${tw}.interfaces[${ii}]`;
            const { ip, ip6, gw, gw6, ...rest } = obj(i, iw);
            const spec: TeamInterfaceSpec = { name: str(rest['name'], `${iw}.name`) };
            if (ip !== undefined) spec.ip = strList(ip, `${iw}.ip`).map((p, k) => prefix(p, `${iw}.ip[${k}]`, 4));
            if (ip6 !== undefined) spec.ip6 = strList(ip6, `${iw}.ip6`).map((p, k) => prefix(p, `${iw}.ip6[${k}]`, 6));
            if (gw !== undefined) spec.gw = str(gw, `${iw}.gw`);
            if (gw6 !== undefined) spec.gw6 = str(gw6, `${iw}.gw6`);
            interfaces.push(spec);
            return rest;
          });
        }
        let config: TeamConfig;
        try {
          config = parseTeamConfig({ ...to, ...(raw !== undefined ? { interfaces: raw } : {}) }, tw);
        } catch (e) {
          throw new TopologyError((e as Error).message.replace(/ \[NDIS_STATUS_[A-Z_]+\]$/, ''));
        }
        for (const m of config.members) {
          if (!mine.has(m)) throw new TopologyError(`${tw}.members: '${m}' is not an adapter of host ${name}`);
          if (used.has(m)) throw new TopologyError(`${tw}.members: '${m}' is already in a team`);
          used.add(m);
        }
        if (interfaces.length === 0) interfaces.push({ name: config.name });
        for (const i of interfaces) {
          if (adapterNames.has(i.name)) throw new TopologyError(`${tw}: interface name '${i.name}' is already used`);
          adapterNames.add(i.name);
        }
        return { config, interfaces };
      });
    }
    if (ho['serve'] !== undefined) {
      const s = strList(ho['serve'], `${hw}.serve`);
      for (const x of s) if (x !== 'echo' && x !== 'discard' && x !== 'http') throw new TopologyError(`${hw}.serve: unknown service '${x}' (echo, discard, http)`);
      host.serve = s as HostSpec['serve'] & string[];
    }
    if (ho['forwarding'] !== undefined) {
      if (typeof ho['forwarding'] !== 'boolean') throw new TopologyError(`${hw}.forwarding must be true or false`);
      host.forwarding = ho['forwarding'];
    }
    if (ho['capture'] !== undefined) host.capture = str(ho['capture'], `${hw}.capture`);
    return host;
  });
  const spec: TopologySpec = { hosts };
  if (top['capture'] !== undefined) spec.capture = str(top['capture'], 'topology.capture');
  if (top['filters'] !== undefined) {
    spec.filters = strList(top['filters'], 'topology.filters');
    for (const f of spec.filters) if (f !== 'passthrough') throw new TopologyError(`topology.filters: unknown filter '${f}' (passthrough; captures are set with "capture")`);
  }
  if (top['verify'] !== undefined) {
    if (top['verify'] !== 'off' && top['verify'] !== 'cheap' && top['verify'] !== 'full') throw new TopologyError('topology.verify must be "off", "cheap" or "full"');
    spec.verify = top['verify'];
  }
  return spec;
}

/** Reads and checks a topology file. */
export function readTopology(path: string): TopologySpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TopologyError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TopologyError(`${path} is not JSON: ${(e as Error).message}`);
  }
  return checkTopology(value);
}

/** Whether a host has addresses or services (and so runs the TCP/IP protocol driver). */
export function hostNeedsIp(h: HostSpec): boolean {
  const hasIp = (x: { ip?: string[]; ip6?: string[] }): boolean => (x.ip?.length ?? 0) > 0 || (x.ip6?.length ?? 0) > 0;
  return (h.serve?.length ?? 0) > 0 || h.forwarding === true || h.adapters.some(hasIp) || (h.teams ?? []).some((t) => t.interfaces.some(hasIp));
}

/** Whether any host of the topology runs the TCP/IP protocol driver. */
export function needsIp(spec: TopologySpec): boolean {
  return spec.hosts.some(hostNeedsIp);
}

/** An event of a running network. */
export interface NetworkEvent {
  event: string;
  host?: string;
  adapter?: string;
  [key: string]: unknown;
}

/** One adapter as built. */
export interface RunningAdapter {
  spec: AdapterSpec;
  kind: WireKind;
  handle: MiniportBlock;
  /** Where the adapter is reachable, in words. */
  where: string;
}

/** One host as built. */
export interface RunningHost {
  spec: HostSpec;
  adapters: RunningAdapter[];
  /** Team interfaces (the teaming driver's virtual adapters) the host's stack is bound to. */
  teamInterfaces: { spec: TeamInterfaceSpec; team: string; members: string[]; handle: MiniportBlock }[];
  stack: IpStack | null;
  services: IpService[];
  capture: CaptureFilter | null;
}

let macCounter = 0;

/** A built, running network. */
export class Network {
  readonly ndis: Ndis;
  readonly hosts: RunningHost[] = [];
  readonly captures: CaptureFilter[] = [];
  /** The NDIS verifier: each violation is reported as an event and counted, never thrown. */
  readonly verifier: Verifier;
  private readonly virtual: VirtualMiniportDriver;
  private readonly vxlan: VxlanMiniportDriver;
  private readonly tap: TapMiniportDriver;
  private readonly pcap: PcapMiniportDriver;
  private readonly watch: ReturnType<typeof setInterval>;
  private readonly linkState = new Map<MiniportBlock, number>();
  private readonly neighborsSeen = new Set<string>();
  private stopped = false;

  private constructor(
    readonly spec: TopologySpec,
    readonly report: (e: NetworkEvent) => void,
  ) {
    this.verifier = new Verifier({ level: spec.verify ?? 'cheap', action: 'log', log: (text) => report({ event: 'violation', report: text }) });
    this.ndis = new Ndis({ mode: 'realtime', verifier: this.verifier });
    this.ndis.scheduler.onAsyncError = (err) => report({ event: 'error', message: err instanceof Error ? err.message : String(err) });
    this.virtual = new VirtualMiniportDriver(this.ndis);
    this.vxlan = new VxlanMiniportDriver(this.ndis);
    this.tap = new TapMiniportDriver(this.ndis);
    this.pcap = new PcapMiniportDriver(this.ndis);
    this.watch = setInterval(() => this.poll(), 100);
    this.watch.unref();
  }

  /**
   * Builds `spec`: drivers, filters, one IP stack per host (from `ipFactory`, required when a host
   * has addresses or services), adapters, configuration, services. Reports events as they happen.
   * On failure, what was built is torn down and the error is thrown.
   */
  static async build(spec: TopologySpec, report: (e: NetworkEvent) => void, ipFactory: IpStackFactory | null): Promise<Network> {
    if (needsIp(spec) && ipFactory === null) throw new TopologyError('the topology gives IP addresses or services, but no TCP/IP protocol driver is available');
    const net = new Network(spec, report);
    try {
      await net.start(ipFactory);
    } catch (e) {
      await net.stop();
      throw e;
    }
    return net;
  }

  private async start(ipFactory: IpStackFactory | null): Promise<void> {
    const ndis = this.ndis;
    const spec = this.spec;
    if (spec.capture !== undefined) {
      const c = new CaptureFilter(ndis, { path: spec.capture, name: 'capture' });
      await c.register();
      this.captures.push(c);
    }
    for (const f of spec.filters ?? []) if (f === 'passthrough') await new PassthroughFilter(ndis, { name: 'passthrough' }).register();
    const teaming = spec.hosts.some((h) => (h.teams?.length ?? 0) > 0) ? new TeamingDriver(ndis) : null;
    if (teaming !== null) await teaming.register();
    for (const h of spec.hosts) {
      const adapterNames = h.adapters.map((a) => a.name!);
      const members = new Set((h.teams ?? []).flatMap((t) => t.config.members));
      const bindTo = [...adapterNames.filter((n) => !members.has(n)), ...(h.teams ?? []).flatMap((t) => t.interfaces.map((i) => i.name))];
      let capture: CaptureFilter | null = null;
      if (h.capture !== undefined) {
        capture = new CaptureFilter(ndis, { path: h.capture, name: `capture-${h.name}`, adapters: adapterNames });
        await capture.register();
        this.captures.push(capture);
      }
      let stack: IpStack | null = null;
      if (ipFactory !== null && hostNeedsIp(h)) {
        stack = ipFactory(ndis, { name: `tcpip-${h.name}`, adapters: bindTo, ...(h.forwarding !== undefined ? { forwarding: h.forwarding } : {}) });
        await stack.register();
      }
      this.hosts.push({ spec: h, adapters: [], teamInterfaces: [], stack, services: [], capture });
      for (const t of h.teams ?? []) await teaming!.createTeam(t.config);
    }
    for (const host of this.hosts) {
      const members = new Set((host.spec.teams ?? []).flatMap((t) => t.config.members));
      for (const a of host.spec.adapters) {
        const running = await this.addAdapter(a, members.has(a.name!) ? { upperRange: [TEAM_MEMBER_UPPER_RANGE] } : {});
        host.adapters.push(running);
        this.linkState.set(running.handle, running.handle.mediaConnectState);
        this.report({ event: 'adapter', host: host.spec.name, adapter: running.handle.name, mac: formatMac(running.handle.currentMacAddress), mtu: running.handle.general!.mtuSize, where: running.where });
        if (host.stack !== null && !members.has(a.name!)) {
          host.stack.configure(running.handle.name, {
            ...(a.ip !== undefined ? { ipv4: a.ip } : {}),
            ...(a.ip6 !== undefined ? { ipv6: a.ip6 } : {}),
            ...(a.gw !== undefined ? { gateway4: a.gw } : {}),
            ...(a.gw6 !== undefined ? { gateway6: a.gw6 } : {}),
          });
        }
      }
    }
    if (teaming !== null) {
      await teaming.settled();
      for (const host of this.hosts) {
        for (const t of host.spec.teams ?? []) {
          for (const i of t.interfaces) {
            const handle = ndis.adapter(i.name);
            host.teamInterfaces.push({ spec: i, team: t.config.name, members: t.config.members, handle });
            this.report({ event: 'team-interface', host: host.spec.name, adapter: i.name, team: t.config.name, members: t.config.members, mac: formatMac(handle.currentMacAddress) });
            host.stack?.configure(i.name, {
              ...(i.ip !== undefined ? { ipv4: i.ip } : {}),
              ...(i.ip6 !== undefined ? { ipv6: i.ip6 } : {}),
              ...(i.gw !== undefined ? { gateway4: i.gw } : {}),
              ...(i.gw6 !== undefined ? { gateway6: i.gw6 } : {}),
            });
          }
        }
      }
    }
    for (const host of this.hosts) {
      if (host.stack === null) continue;
      for (const t of host.teamInterfaces) {
        await host.stack.ready(t.spec.name, 15_000);
        const addresses = [...(t.spec.ip ?? []), ...(t.spec.ip6 ?? [])];
        if (addresses.length > 0) this.report({ event: 'addresses-ready', host: host.spec.name, adapter: t.spec.name, addresses });
      }
      for (const a of host.adapters) {
        if (host.teamInterfaces.some((t) => t.members.includes(a.handle.name))) continue;
        await host.stack.ready(a.handle.name, 15_000);
        const addresses = [...(a.spec.ip ?? []), ...(a.spec.ip6 ?? [])];
        if (addresses.length > 0) this.report({ event: 'addresses-ready', host: host.spec.name, adapter: a.handle.name, addresses });
      }
      for (const s of host.spec.serve ?? []) {
        const svc = host.stack.serve(s);
        host.services.push(svc);
        svc.tcp.on('connection', (socket) => {
          this.report({ event: 'connection', host: host.spec.name, service: s, port: svc.port, from: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` });
        });
        this.report({ event: 'serving', host: host.spec.name, service: s, port: svc.port });
      }
    }
  }

  private async addAdapter(a: AdapterSpec, config: AdapterConfig): Promise<RunningAdapter> {
    const { kind, arg } = parseWire(a.wire);
    const name = a.name!;
    switch (kind) {
      case 'hub': {
        const mac = a.mac ?? formatMac(new Uint8Array([2, 0, 0x5e, 0x10, (++macCounter >> 8) & 0xff, macCounter & 0xff]));
        const handle = await this.virtual.addAdapter(name, { Hub: arg, NetworkAddress: mac.replace(/:/g, '-'), ...(a.mtu !== undefined ? { MTU: a.mtu } : {}) }, config);
        return { spec: a, kind, handle, where: `virtual hub ${arg}` };
      }
      case 'vxlan': {
        const remotes = [...(arg === '' ? [] : [arg]), ...(a.remotes ?? [])];
        const handle = await this.vxlan.addAdapter(name, {
          remotes,
          ...(a.vni !== undefined ? { vni: a.vni } : {}),
          ...(a.local !== undefined ? { local: a.local } : {}),
          ...(a.port !== undefined ? { port: a.port } : {}),
          ...(a.mac !== undefined ? { mac: a.mac } : {}),
          ...(a.mtu !== undefined ? { mtu: a.mtu } : {}),
          ...(a.underlayMtu !== undefined ? { underlayMtu: a.underlayMtu } : {}),
        }, config);
        const v = this.vxlan.adapter(handle);
        const to = v.vtep.floodList.map((r) => formatEndpoint(r)).join(', ') || 'no static remote (learning only)';
        return { spec: a, kind, handle, where: `VXLAN VNI ${v.vni}, local ${formatEndpoint(v.vtep.local)}, remote ${to}` };
      }
      case 'tap': {
        const handle = await this.tap.addAdapter(name, { ifname: arg === '' ? 'ndis%d' : arg, up: true, ...(a.mac !== undefined ? { mac: a.mac } : {}), ...(a.mtu !== undefined ? { mtu: a.mtu } : {}) }, config);
        return { spec: a, kind, handle, where: `Linux TAP interface ${this.tap.adapter(handle).device.name}` };
      }
      case 'pcap': {
        const handle = await this.pcap.addAdapter(name, {
          replay: arg,
          ...(a.sent !== undefined ? { output: a.sent } : {}),
          ...(a.timing !== undefined ? { timing: a.timing } : {}),
          ...(a.mac !== undefined ? { mac: a.mac } : {}),
          ...(a.mtu !== undefined ? { mtu: a.mtu } : {}),
        }, config);
        return { spec: a, kind, handle, where: `capture file ${arg}${a.sent !== undefined ? `, sends to ${a.sent}` : ''}` };
      }
    }
  }

  /** The host named `name`. */
  host(name: string): RunningHost {
    const h = this.hosts.find((x) => x.spec.name === name);
    if (h === undefined) throw new TopologyError(`no host named '${name}' (hosts: ${this.hosts.map((x) => x.spec.name).join(', ')})`);
    return h;
  }

  /** Reports link changes and newly resolved neighbors. */
  private poll(): void {
    if (this.stopped) return;
    for (const host of this.hosts) {
      for (const a of host.adapters) {
        const s = a.handle.mediaConnectState;
        if (this.linkState.get(a.handle) !== s) {
          this.linkState.set(a.handle, s);
          this.report({ event: s === MediaConnectState.Connected ? 'link-up' : 'link-down', host: host.spec.name, adapter: a.handle.name });
        }
      }
      if (host.stack === null) continue;
      let list;
      try {
        list = host.stack.neighbors.list();
      } catch {
        continue;
      }
      for (const n of list) {
        if (n.mac === null) continue;
        const key = `${host.spec.name}/${n.interface}/${n.address}/${n.mac}`;
        if (this.neighborsSeen.has(key)) continue;
        this.neighborsSeen.add(key);
        this.report({ event: 'neighbor', host: host.spec.name, adapter: n.interface, address: n.address, mac: n.mac, via: n.address.includes(':') ? 'nd' : 'arp' });
      }
    }
  }

  /** Stops every service, shuts the runtime down (halting every adapter) and closes the captures. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watch);
    for (const h of this.hosts) for (const s of h.services) await s.close().catch(() => undefined);
    await this.ndis.shutdown();
    for (const c of this.captures) c.close();
  }
}

/** The text of an event for people. */
export function describeEvent(e: NetworkEvent): string {
  const who = e.host === undefined ? '' : `${e.host}: `;
  switch (e.event) {
    case 'adapter':
      return `${who}${String(e.adapter)} (${String(e.mac)}, MTU ${String(e.mtu)}) on ${String(e.where)}`;
    case 'team-interface':
      return `${who}${String(e.adapter)} (${String(e.mac)}) is team ${String(e.team)} over ${(e.members as string[]).join(', ')}`;
    case 'link-up':
      return `${who}${String(e.adapter)} link up`;
    case 'link-down':
      return `${who}${String(e.adapter)} link down`;
    case 'addresses-ready':
      return `${who}${String(e.adapter)} has ${(e.addresses as string[]).join(', ')}`;
    case 'serving':
      return `${who}serving ${String(e.service)} on port ${String(e.port)}`;
    case 'neighbor':
      return `${who}${String(e.via) === 'arp' ? 'ARP' : 'ND'} resolved ${String(e.address)} is at ${String(e.mac)} (${String(e.adapter)})`;
    case 'connection':
      return `${who}${String(e.service)} connection from ${String(e.from)}`;
    case 'violation':
      return `${who}verifier: ${String(e['report'])}`;
    default: {
      const { event, host: _h, ...rest } = e;
      const parts = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      return `${who}${event}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}`;
    }
  }
}
