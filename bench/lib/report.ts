/**
 * Benchmark reporting shared by every bench/ script: each figure is measured against a baseline
 * in the same run, printed as a table row (human) or one JSON line (`--json`).
 */

/** One measured figure and the baseline it is compared with. */
export interface Figure {
  /** Stable name, e.g. `nbl.pool.alloc-free`. */
  name: string;
  /** Unit of `value` and `baselineValue`, e.g. `ops/s`, `B/pkt`, `Gbit/s`. */
  unit: string;
  /** What ndis-ts achieved. */
  value: number;
  /** What the baseline is, e.g. `bare-js-loop`, `gcc -O2`, `node net over loopback`. */
  baseline: string;
  /** The baseline's figure in the same unit, or null when the baseline could not run. */
  baselineValue: number | null;
  /**
   * Target for the ratio value/baselineValue (or for the value itself when `targetOn` is `value`).
   * Undefined when the issue sets none.
   */
  target?: number;
  /** What the target applies to: the ratio (default) or the absolute value. */
  targetOn?: 'ratio' | 'value';
  /** When the target is a ceiling (e.g. bytes of heap growth per packet). */
  lowerIsBetter?: boolean;
  /** Why the baseline is missing, when it is. */
  note?: string;
}

const json = process.argv.includes('--json');
const figures: Figure[] = [];

function ratioOf(f: Figure): number | null {
  if (f.baselineValue === null || f.baselineValue === 0) return null;
  return f.value / f.baselineValue;
}

/** True when a figure meets its target (or has none). */
export function meetsTarget(f: Figure): boolean {
  if (f.target === undefined) return true;
  const measured = f.targetOn === 'value' ? f.value : ratioOf(f);
  if (measured === null) return false;
  return f.lowerIsBetter === true ? measured <= f.target : measured >= f.target;
}

function fmt(n: number | null): string {
  if (n === null) return '-';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 100) return n.toFixed(0);
  return n.toFixed(a >= 1 ? 2 : 4);
}

/** Records a figure and prints it at once (a row, or a JSON line with `--json`). */
export function report(f: Figure): void {
  figures.push(f);
  const ratio = ratioOf(f);
  if (json) {
    const line: Record<string, unknown> = {
      name: f.name,
      unit: f.unit,
      value: f.value,
      baseline: f.baseline,
      baselineValue: f.baselineValue,
      ratio,
      target: f.target ?? null,
    };
    if (f.targetOn !== undefined) line['targetOn'] = f.targetOn;
    if (f.lowerIsBetter !== undefined) line['lowerIsBetter'] = f.lowerIsBetter;
    if (f.note !== undefined) line['note'] = f.note;
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const target =
    f.target === undefined
      ? ''
      : `${f.targetOn === 'value' ? 'value' : 'ratio'} ${f.lowerIsBetter === true ? '<=' : '>='} ${f.target}`;
  const verdict = f.target === undefined ? '' : meetsTarget(f) ? 'ok' : 'BELOW TARGET';
  const row = [
    f.name.padEnd(34),
    `${fmt(f.value)} ${f.unit}`.padEnd(18),
    f.baseline.padEnd(26),
    `${fmt(f.baselineValue)} ${f.baselineValue === null ? '' : f.unit}`.padEnd(18),
    (ratio === null ? '-' : ratio.toFixed(2)).padEnd(7),
    target.padEnd(16),
    verdict,
  ];
  process.stdout.write(`${row.join(' ')}${f.note !== undefined ? `  (${f.note})` : ''}\n`);
}

/** Prints the table header once (human mode only). */
export function header(title: string): void {
  if (json) return;
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(
    `${['work'.padEnd(34), 'ndis-ts'.padEnd(18), 'baseline'.padEnd(26), 'baseline figure'.padEnd(18), 'ratio'.padEnd(7), 'target'.padEnd(16), ''].join(' ')}\n`,
  );
}

/** Every figure reported so far in this process. */
export function reported(): readonly Figure[] {
  return figures;
}

/** A value V8 cannot prove unused: benchmarks fold their results into it. */
export const sink = { value: 0 };

/**
 * Runs `body(iterations)` repeatedly until at least `minMs` has passed, after one warm-up round,
 * and returns operations per second (`iterations * rounds / seconds`).
 */
export function opsPerSecond(body: (iterations: number) => void, iterations: number, minMs = 400): number {
  body(iterations); // warm-up: lets the JIT settle before measuring
  let rounds = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    body(iterations);
    rounds++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < minMs);
  return (iterations * rounds) / (elapsed / 1000);
}

/**
 * Measures `a` and `b` in alternating rounds (a, b, a, b, ...) and returns the best rate of each,
 * so that machine noise hits both sides alike.
 */
export function compare(
  a: (iterations: number) => void,
  b: (iterations: number) => void,
  iterations: number,
  rounds = 5,
  minMs = 200,
): { a: number; b: number } {
  let bestA = 0;
  let bestB = 0;
  for (let r = 0; r < rounds; r++) {
    bestA = Math.max(bestA, opsPerSecond(a, iterations, minMs));
    bestB = Math.max(bestB, opsPerSecond(b, iterations, minMs));
  }
  return { a: bestA, b: bestB };
}
