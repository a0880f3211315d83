/** Champion × challenger figures for `scoreflow models compare`: pure functions over one run's rows. */

/** Champion bucket (rows) × challenger bucket (columns): how many keys moved from one to the other. */
export interface BucketMigration {
  buckets: string[];
  counts: number[][];
}

/** Counts keys per (champion bucket, challenger bucket), in the order `buckets` gives (best first); unknown buckets are appended. */
export function bucketMigration(pairs: Array<{ champion: string; challenger: string }>, buckets: string[]): BucketMigration {
  const order = [...buckets];
  for (const p of pairs) for (const b of [p.champion, p.challenger]) if (!order.includes(b)) order.push(b);
  const at = new Map(order.map((b, i) => [b, i]));
  const counts = order.map(() => order.map(() => 0));
  for (const p of pairs) counts[at.get(p.champion)!]![at.get(p.challenger)!]!++;
  return { buckets: order, counts };
}

/** Ranks 1..n, ties given the mean of the ranks they span (as Spearman's coefficient needs). */
export function averageRanks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    const rank = (start + end) / 2 + 1;
    for (let j = start; j <= end; j++) ranks[order[j]![1]] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Pearson's correlation of two equally long series; null when it is undefined (fewer than two values, or one series constant). */
export function pearson(a: number[], b: number[]): number | null {
  if (a.length !== b.length) throw new Error(`series of different lengths (${a.length} and ${b.length})`);
  const n = a.length;
  if (n < 2) return null;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return va === 0 || vb === 0 ? null : cov / Math.sqrt(va * vb);
}

/** Spearman's rank correlation: Pearson's over average ranks, so ties are handled exactly. */
export function spearman(a: number[], b: number[]): number | null {
  return pearson(averageRanks(a), averageRanks(b));
}

/** The q-quantile (0–1) of sorted values, interpolated linearly between neighbours (numpy's default). */
export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Distribution of challenger − champion per key. */
export interface ScoreShift {
  n: number;
  mean: number;
  min: number;
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
  max: number;
}

/** The score shift (challenger − champion, per key): mean, extremes and percentiles; null for no keys. */
export function scoreShift(champion: number[], challenger: number[]): ScoreShift | null {
  if (champion.length !== challenger.length) throw new Error(`series of different lengths (${champion.length} and ${challenger.length})`);
  if (!champion.length) return null;
  const d = challenger.map((c, i) => c - champion[i]!).sort((x, y) => x - y);
  return {
    n: d.length,
    mean: d.reduce((s, v) => s + v, 0) / d.length,
    min: d[0]!,
    p5: quantile(d, 0.05),
    p25: quantile(d, 0.25),
    p50: quantile(d, 0.5),
    p75: quantile(d, 0.75),
    p95: quantile(d, 0.95),
    max: d[d.length - 1]!,
  };
}

/** Mean over keys both recommended for of |champion's ∩ challenger's first k| / k; null when no key has both. */
export function overlapAtK(champion: Map<string, string[]>, challenger: Map<string, string[]>, k: number): { keys: number; overlap: number | null } {
  let keys = 0;
  let sum = 0;
  for (const [key, items] of champion) {
    const other = challenger.get(key);
    if (!other) continue;
    const theirs = new Set(other.slice(0, k));
    sum += new Set(items.slice(0, k).filter((i) => theirs.has(i))).size / k;
    keys++;
  }
  return { keys, overlap: keys ? sum / keys : null };
}

/** Share of the catalogue recommended to at least one key. */
export function coverage(lists: Iterable<string[]>, catalogueSize: number): { distinct: number; share: number | null } {
  const seen = new Set<string>();
  for (const items of lists) for (const i of items) seen.add(i);
  return { distinct: seen.size, share: catalogueSize > 0 ? seen.size / catalogueSize : null };
}
