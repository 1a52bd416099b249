/**
 * Team configuration as text (a topology file, a command line): the settings under the names
 * Windows NIC Teaming gives them (`TeamingMode SwitchIndependent`, `LoadBalancingAlgorithm
 * TransportPorts`), read into a TeamConfig with errors that say what is wrong.
 */
import { NdisError } from '../../../base/errors.js';
import { NDIS_STATUS } from '../../../ndis/index.js';
import { LoadBalancingAlgorithm, TeamingMode, VlanTagging } from './constants.js';
import type { TeamInterfaceConfig } from './interface.js';
import type { TeamConfig } from './team.js';

function fail(where: string, message: string): NdisError {
  return new NdisError('ERR_NDIS_INVALID_PARAMETER', `${where}: ${message}`, NDIS_STATUS.INVALID_PARAMETER);
}

function named(table: Record<string, number>, what: string, where: string, v: unknown): number {
  if (typeof v === 'number' && Object.values(table).includes(v)) return v;
  if (typeof v === 'string') {
    const key = Object.keys(table).find((k) => k.toLowerCase() === v.toLowerCase());
    if (key !== undefined) return table[key]!;
  }
  throw fail(where, `${what} must be one of ${Object.keys(table).join(', ')}; got ${JSON.stringify(v)}`);
}

function stringList(where: string, field: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fail(where, `${field} must be a list of strings`);
  return v as string[];
}

/**
 * Reads a team from a plain object (parsed JSON):
 *
 * ```json
 * { "name": "team0", "members": ["m1", "m2"], "standby": "m2",
 *   "teamingMode": "SwitchIndependent", "loadBalancingAlgorithm": "TransportPorts",
 *   "macAddress": "02-00-5e-00-00-01", "vlanTagging": "Auto", "announce": true,
 *   "interfaces": [{ "name": "team0" }, { "name": "team0-v10", "vlanId": 10, "addresses": ["192.0.2.10"] }] }
 * ```
 *
 * Settings take their NIC Teaming names (case does not matter) or their numeric values. Throws
 * an NdisError naming the field for anything else; the team driver checks the rest (names in use,
 * VLAN ids, addresses) when the team is created.
 */
export function parseTeamConfig(value: unknown, where = 'team'): TeamConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(where, 'a team is an object with at least "name" and "members"');
  const o = value as Record<string, unknown>;
  const known = new Set(['name', 'members', 'standby', 'teamingMode', 'loadBalancingAlgorithm', 'macAddress', 'vlanTagging', 'announce', 'interfaces']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw fail(where, `unknown field "${k}" (fields: ${[...known].join(', ')})`);
  if (typeof o['name'] !== 'string' || o['name'] === '') throw fail(where, '"name" must be a non-empty string');
  const at = `${where} '${o['name']}'`;
  const config: TeamConfig = { name: o['name'], members: stringList(at, '"members"', o['members']) };
  if (o['standby'] !== undefined) {
    if (typeof o['standby'] !== 'string') throw fail(at, '"standby" must be an adapter name');
    config.standby = o['standby'];
  }
  if (o['teamingMode'] !== undefined) config.teamingMode = named(TeamingMode, '"teamingMode"', at, o['teamingMode']);
  if (o['loadBalancingAlgorithm'] !== undefined) config.loadBalancingAlgorithm = named(LoadBalancingAlgorithm, '"loadBalancingAlgorithm"', at, o['loadBalancingAlgorithm']);
  if (o['vlanTagging'] !== undefined) config.vlanTagging = named(VlanTagging, '"vlanTagging"', at, o['vlanTagging']);
  if (o['macAddress'] !== undefined) {
    if (typeof o['macAddress'] !== 'string') throw fail(at, '"macAddress" must be a string such as "02-00-5e-00-00-01"');
    config.macAddress = o['macAddress'];
  }
  if (o['announce'] !== undefined) {
    if (typeof o['announce'] !== 'boolean') throw fail(at, '"announce" must be true or false');
    config.announce = o['announce'];
  }
  if (o['interfaces'] !== undefined) {
    if (!Array.isArray(o['interfaces'])) throw fail(at, '"interfaces" must be a list');
    config.interfaces = o['interfaces'].map((x, i) => parseInterface(x, `${at} interface ${i}`));
  }
  return config;
}

function parseInterface(value: unknown, where: string): TeamInterfaceConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(where, 'an interface is an object with a "name"');
  const o = value as Record<string, unknown>;
  const known = new Set(['name', 'vlanId', 'addresses', 'configuration']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw fail(where, `unknown field "${k}" (fields: ${[...known].join(', ')})`);
  if (typeof o['name'] !== 'string' || o['name'] === '') throw fail(where, '"name" must be a non-empty string');
  const ic: TeamInterfaceConfig = { name: o['name'] };
  if (o['vlanId'] !== undefined) {
    if (typeof o['vlanId'] !== 'number') throw fail(where, '"vlanId" must be a number');
    ic.vlanId = o['vlanId'];
  }
  if (o['addresses'] !== undefined) ic.addresses = stringList(where, '"addresses"', o['addresses']);
  if (o['configuration'] !== undefined) {
    const c = o['configuration'];
    if (c === null || typeof c !== 'object' || Array.isArray(c) || !Object.values(c).every((v) => typeof v === 'string' || typeof v === 'number')) {
      throw fail(where, '"configuration" must be an object of keywords with string or number values');
    }
    ic.configuration = c as Record<string, string | number>;
  }
  return ic;
}
