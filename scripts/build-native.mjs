#!/usr/bin/env node
// Builds the optional TAP addon (native/tap.c -> build/Release/ndis_tap.node) with node-gyp.
// Run by `npm install` / `npm ci` through the package's install script, or by hand. It never fails:
// when the addon cannot be built (not Linux, no node-gyp, no compiler, a compile error) it prints one
// line saying why, records the reason in build/ndis-tap-status.json for the runtime error message,
// and exits 0, because everything but TAP works without it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const addonPath = join(buildDir, 'Release', 'ndis_tap.node');
const statusPath = join(buildDir, 'ndis-tap-status.json');
const verbose = process.argv.includes('--verbose');

function record(built, reason) {
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(statusPath, `${JSON.stringify({ built, reason, node: process.version, at: new Date().toISOString() })}\n`);
  } catch {
    // the status file only improves an error message later; its absence is harmless
  }
}

function notBuilt(reason) {
  record(false, reason);
  console.log(`ndis-ts: TAP support not built: ${reason}; everything else works`);
  process.exit(0);
}

function runs(command, args) {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/** node-gyp: the copy npm announces to install scripts, npm's own bundled copy, or a local one. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  return candidates.find((c) => typeof c === 'string' && c !== '' && existsSync(c)) ?? null;
}

/** A directory holding include/node/node_api.h for this Node, so node-gyp need not download headers. */
function findNodeDir() {
  if (process.env.npm_config_nodedir) return null; // npm passes it on to node-gyp already
  const candidates = [
    resolve(dirname(process.execPath), '..'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node),
  ];
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h'))) ?? null;
}

/** The most telling line of a failed node-gyp run: a compiler error, else node-gyp's own. */
function failureReason(output) {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const compiler = lines.find((l) => /\berror:/.test(l) && !l.startsWith('gyp'));
  if (compiler) return `compile error: ${compiler}`;
  const stack = lines.find((l) => l.startsWith('gyp ERR! stack Error:'));
  if (stack) return `node-gyp: ${stack.slice('gyp ERR! stack Error:'.length).trim()}`;
  const err = lines.find((l) => l.startsWith('gyp ERR!'));
  if (err) return `node-gyp: ${err.slice('gyp ERR!'.length).trim()}`;
  return `node-gyp failed: ${lines.at(-1) ?? 'no output'}`;
}

function main() {
  if (process.platform !== 'linux') notBuilt(`TAP devices need Linux (this is ${process.platform})`);
  const nodeGyp = findNodeGyp();
  if (nodeGyp === null) notBuilt('node-gyp not found (it ships with npm)');
  const cc = process.env.CC ?? 'cc';
  if (!runs(cc, ['--version'])) notBuilt(`no C compiler (${cc} not found)`);
  if (!runs('make', ['--version'])) notBuilt('make not found');

  const args = [nodeGyp, 'rebuild'];
  const nodeDir = findNodeDir();
  if (nodeDir !== null) args.push(`--nodedir=${nodeDir}`);
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  if (verbose) process.stdout.write(output);
  if (r.error) notBuilt(`node-gyp did not run: ${r.error.message}`);
  if (r.status !== 0) notBuilt(failureReason(output));
  if (!existsSync(addonPath)) notBuilt(`node-gyp reported success but ${addonPath} is missing`);
  try {
    createRequire(import.meta.url)(addonPath);
  } catch (e) {
    notBuilt(`the built addon does not load: ${e instanceof Error ? e.message : String(e)}`);
  }
  record(true, null);
  console.log(`ndis-ts: TAP support built (${addonPath})`);
}

try {
  main();
} catch (e) {
  notBuilt(`unexpected build failure: ${e instanceof Error ? e.message : String(e)}`);
}
