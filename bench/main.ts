/**
 * `npm run bench`: runs every benchmark (each bench/*.ts in a process of its own, so that one
 * benchmark's heap and JIT state do not colour the next) and prints, for each figure, ndis-ts and
 * its baseline measured in the same run, the ratio and the target. `npm run bench -- --json`
 * prints one JSON line per figure instead; `npm run bench -- nbl checksum` runs only the
 * benchmarks whose file name contains one of the words.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { header, meetsTarget, report, type Figure } from './lib/report.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const json = process.argv.includes('--json');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'main.js')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const figures: Figure[] = [];
if (!json) header('ndis-ts benchmarks (each figure against its baseline, measured in the same run)');
for (const f of files) {
  if (!json) process.stderr.write(`running ${f.replace(/\.js$/, '')} ...\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  for (const line of (r.stdout ?? '').split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) {
      if (t !== '') process.stderr.write(`  ${t}\n`);
      continue;
    }
    let fig: Figure;
    try {
      fig = JSON.parse(t) as Figure;
    } catch {
      process.stderr.write(`  ${t}\n`);
      continue;
    }
    const full = { ...fig } as Figure & { target?: number | null };
    if (full.target === null) delete full.target;
    figures.push(full);
    report(full);
  }
  if (r.status !== 0) process.stderr.write(`  ${f}: exited with ${r.status ?? r.signal}\n`);
}

const below = figures.filter((f) => !meetsTarget(f));
if (!json) {
  process.stdout.write(below.length === 0 ? '\nall figures meet their targets\n' : `\nbelow target: ${below.map((f) => f.name).join(', ')}\n`);
}
