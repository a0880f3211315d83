import type { GateThresholds } from '../pipelines/gates.js';

/** What the gate measures of one run: aggregates only (counts per bin, shares), never rows. */
export interface RunMetrics {
  /** Keys with a result (scored leads, customers with recommendations). */
  rows: number;
  rejected: number;
  /** Rows per score bin: the card's buckets, or the baseline's score deciles for top-k. Same bins in run and baseline. */
  bins: Record<string, number>;
  /** top-k: distinct recommended products / active products. */
  coverage?: number;
  /** top-k: share of all recommendations that go to the single most recommended product. */
  topItemShare?: number;
}

/** One comparison: the run's value, the baseline's, the limit, and whether it was crossed. */
export interface GateCheck {
  name: 'row-change' | 'reject-rate' | 'psi' | 'bucket-share-change' | 'coverage' | 'top-item-share';
  value: number | null;
  baseline: number | null;
  threshold: number | null;
  breached: boolean;
  note?: string;
}

export interface GateEvaluation {
  verdict: 'pass' | 'breach';
  checks: GateCheck[];
  /** Why it passed without comparing (first run, too few rows), or null. */
  note: string | null;
}

/** Shares below this count as this, so an empty bin on one side gives a large but finite PSI. */
const MIN_SHARE = 1e-4;

/**
 * Population stability index of `actual` against `expected` (counts per bin): sum of (a - e) * ln(a / e)
 * over the bins' shares. Below 0.1 is stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one.
 */
export function psi(expected: Record<string, number>, actual: Record<string, number>): number {
  const bins = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
  const e = shares(expected, bins);
  const a = shares(actual, bins);
  return bins.reduce((sum, bin) => {
    const ai = Math.max(a[bin]!, MIN_SHARE);
    const ei = Math.max(e[bin]!, MIN_SHARE);
    return sum + (ai - ei) * Math.log(ai / ei);
  }, 0);
}

/** The largest change of one bin's share between `expected` and `actual`, in share points (0..1). */
export function maxShareChange(expected: Record<string, number>, actual: Record<string, number>): number {
  const bins = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
  const e = shares(expected, bins);
  const a = shares(actual, bins);
  return Math.max(0, ...bins.map((b) => Math.abs(a[b]! - e[b]!)));
}

function shares(counts: Record<string, number>, bins: string[]): Record<string, number> {
  const total = bins.reduce((s, b) => s + (counts[b] ?? 0), 0);
  return Object.fromEntries(bins.map((b) => [b, total ? (counts[b] ?? 0) / total : 0]));
}

/**
 * Compares a run with its pipeline's last published run (`baseline`, null for the first run). A pipeline's
 * first run, and a run or baseline with fewer than `minRows` rows, pass with a note: there is nothing, or too little, to compare.
 */
export function evaluateGate(run: RunMetrics, baseline: RunMetrics | null, t: GateThresholds): GateEvaluation {
  const extracted = run.rows + run.rejected;
  const checks: GateCheck[] = [
    check('reject-rate', extracted ? run.rejected / extracted : 0, baseline && rejectRate(baseline), t.maxRejectRate, 'max'),
  ];
  if (baseline) {
    checks.push(check('row-change', baseline.rows ? Math.abs(run.rows - baseline.rows) / baseline.rows : null, null, t.maxRowChange, 'max'));
    checks.push(check('psi', run.rows && baseline.rows ? psi(baseline.bins, run.bins) : null, null, t.maxPsi, 'max'));
    checks.push(check('bucket-share-change', run.rows && baseline.rows ? maxShareChange(baseline.bins, run.bins) : null, null, t.maxBucketShareChange, 'max'));
  }
  if (run.coverage !== undefined) checks.push(check('coverage', run.coverage, baseline?.coverage ?? null, t.minCoverage, 'min'));
  if (run.topItemShare !== undefined) checks.push(check('top-item-share', run.topItemShare, baseline?.topItemShare ?? null, t.maxTopItemShare, 'max'));

  const note = !baseline
    ? 'first run of the pipeline: nothing published to compare with, passed'
    : extracted < t.minRows
      ? `${extracted} rows, fewer than minRows ${t.minRows}: too few to compare, passed`
      : baseline.rows + baseline.rejected < t.minRows
        ? `the last published run has ${baseline.rows + baseline.rejected} rows, fewer than minRows ${t.minRows}: too few to compare with, passed`
        : null;
  if (note) return { verdict: 'pass', checks: checks.map((c) => ({ ...c, breached: false })), note };
  return { verdict: checks.some((c) => c.breached) ? 'breach' : 'pass', checks, note: null };
}

function rejectRate(m: RunMetrics): number | null {
  const extracted = m.rows + m.rejected;
  return extracted ? m.rejected / extracted : null;
}

function check(name: GateCheck['name'], value: number | null, baseline: number | null, threshold: number | null, kind: 'max' | 'min'): GateCheck {
  const breached = value !== null && threshold !== null && (kind === 'max' ? value > threshold : value < threshold);
  return { name, value: round(value), baseline: round(baseline), threshold, breached };
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 1e6) / 1e6);

/** One line per breached check, for the Web UI, the memo and the CLI: "psi 0.41 > 0.25". */
export function breachLines(checks: readonly GateCheck[]): string[] {
  return checks.filter((c) => c.breached).map((c) =>
    `${c.name} ${c.value} ${c.name === 'coverage' ? '<' : '>'} ${c.threshold}${c.baseline !== null ? ` (last published: ${c.baseline})` : ''}`);
}
