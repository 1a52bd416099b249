/**
 * C baselines compiled with gcc at bench time. A baseline is a C source file under bench/c/ that
 * prints one number (operations per second) for the arguments it is given. When gcc is missing
 * the caller reports the row without a baseline and says why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, existsSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('../../../bench/', import.meta.url));
const outDir = join(benchDir, '..', 'dist', 'bench-c');

/** Whether gcc can be run here. */
export function haveGcc(): boolean {
  return spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Compiles bench/c/<name>.c with `gcc <flags>` (default -O2) once per run and returns the binary path,
 * or null when gcc is missing.
 */
export function compileBaseline(name: string, flags: readonly string[] = ['-O2']): string | null {
  if (!haveGcc()) return null;
  mkdirSync(outDir, { recursive: true });
  const src = join(benchDir, 'c', `${name}.c`);
  const bin = join(outDir, `${basename(name)}${flags.join('').replace(/[^A-Za-z0-9]/g, '_')}`);
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    execFileSync('gcc', [...flags, '-o', bin, src], { stdio: 'inherit' });
  }
  return bin;
}

/** Runs a compiled baseline and returns the number it prints. */
export function runBaseline(bin: string, args: readonly string[]): number {
  const out = execFileSync(bin, args, { encoding: 'utf8' });
  const n = Number(out.trim().split(/\s+/).pop());
  if (!Number.isFinite(n)) throw new Error(`baseline ${bin} printed no number: ${out}`);
  return n;
}
