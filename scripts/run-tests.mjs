#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node:test.
// Arguments are substrings: `node scripts/run-tests.mjs nbl/pool` runs only the files whose path contains one of them.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(testRoot, []).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(testRoot, f).includes(s)),
);
if (files.length === 0) {
  console.error(`no test files found under ${testRoot}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(2);
}
const concurrency = Math.max(1, availableParallelism());
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
