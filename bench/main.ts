/**
 * `npm run bench`: runs every benchmark and prints, for each figure, ndis-ts and its baseline
 * measured in the same run, the ratio and the target. `npm run bench -- --json` prints one JSON line
 * per figure instead.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { reported, meetsTarget } from './lib/report.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'main.js')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { run?: () => void | Promise<void> };
  if (typeof mod.run === 'function') await mod.run();
}

const below = reported().filter((f) => !meetsTarget(f));
if (!process.argv.includes('--json')) {
  process.stdout.write(
    below.length === 0
      ? '\nall figures meet their targets\n'
      : `\nbelow target: ${below.map((f) => f.name).join(', ')}\n`,
  );
}
