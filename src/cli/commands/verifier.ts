/**
 * `ndis verifier rules [--json] [--family F]`: the verifier's catalog. Each rule with its stable id,
 * family, level (cheap or full), severity, title, the Windows check that catches the same mistake,
 * and the Microsoft page that states it.
 */
import { parseArgs } from 'node:util';
import type { Command } from './index.js';
import { RULES, type RuleFamily } from '../../verifier/index.js';

const FAMILIES: readonly RuleFamily[] = ['receive', 'send', 'ownership', 'state', 'oid', 'timing', 'resources'];

export const verifierRulesCommand: Command = {
  name: 'verifier rules',
  summary: 'list the verifier rules (id, family, source)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        family: { type: 'string' },
      },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(
        [
          'usage: ndis verifier rules [--json] [--family F]',
          '',
          'Lists every rule the verifier checks: id, family, level (cheap: constant-time, on by default;',
          'full: walks buffers), title, the Windows bug check or Driver Verifier rule, and its source page.',
          '',
          '  --json       one JSON array of rules',
          `  --family F   only one family (${FAMILIES.join(', ')})`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    const family = values.family;
    if (family !== undefined && !FAMILIES.includes(family as RuleFamily)) {
      process.stderr.write(`ndis verifier rules: unknown family '${family}' (expected one of ${FAMILIES.join(', ')})\n`);
      return 2;
    }
    const rules = RULES.filter((r) => family === undefined || r.family === family);
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(rules, null, 1)}\n`);
      return 0;
    }
    const out: string[] = [];
    let current = '';
    for (const r of rules) {
      if (r.family !== current) {
        current = r.family;
        out.push('', `${current}:`);
      }
      out.push(`  ${r.id.padEnd(10)} ${r.level.padEnd(6)} ${r.severity === 'advisory' ? '(advisory) ' : ''}${r.title}`);
      if (r.windowsCode !== null) out.push(`  ${''.padEnd(17)} windows: ${r.windowsCode}`);
      out.push(`  ${''.padEnd(17)} source:  ${r.source}`);
    }
    out.push('', `${rules.length} rules`, '');
    process.stdout.write(out.join('\n').replace(/^\n/, ''));
    return 0;
  },
};
