import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';

/** One line of the printed table; `target` and `met` only where the issue sets a target. */
export interface Figure {
  section: string;
  what: string;
  value: string;
  target?: string;
  met?: boolean;
}

export const int = (v: number) => Math.round(v).toLocaleString('en-US');
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const rate = (rows: number, ms: number) => `${int((rows * 1000) / ms)}/s`;
export const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

/** Section and measure left-aligned, value right-aligned, then the target and whether it was met. */
export function printFigures(figures: Figure[]): string {
  let section = '';
  const rows = figures.map((f) => {
    const first = f.section === section ? '' : f.section;
    section = f.section;
    return [first, f.what, f.value, f.target ?? '', f.met === undefined ? '' : f.met ? 'met' : 'MISSED'];
  });
  const all = [['', 'measure', 'value', 'target', ''], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const align = [false, false, true, false, false];
  return all
    .map((r) => r.map((c, i) => (align[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** A bench option's count: a positive whole number, underscores allowed (1_000_000). */
export function positiveInt(v: string): number {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** Writes a bench's results as `<prefix>-<date>.json` in `out` and copies them to `<latest>`; says where. */
export function writeResults(out: string, p: { prefix: string; latest: string; date: string; results: unknown; say: (line: string) => void }): void {
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `${p.prefix}-${p.date.slice(0, 19).replace(/:/g, '')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(p.results, null, 2)}\n`);
  fs.copyFileSync(file, path.join(out, p.latest));
  p.say(`figures written to ${path.relative(process.cwd(), file)} and ${p.latest}`);
}
