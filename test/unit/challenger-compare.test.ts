import { describe, expect, it } from 'vitest';
import { averageRanks, bucketMigration, coverage, overlapAtK, scoreShift, spearman } from '../../models/challenger-compare.js';
import { comparisonText } from '../../workers/challenger-commands.js';

describe('champion × challenger figures', () => {
  it('the bucket migration matrix counts keys per (champion bucket, challenger bucket) in the card\'s order', () => {
    const m = bucketMigration([
      { champion: 'hot', challenger: 'hot' }, { champion: 'hot', challenger: 'hot' }, { champion: 'hot', challenger: 'warm' },
      { champion: 'cold', challenger: 'warm' }, { champion: 'warm', challenger: 'warm' },
    ], ['hot', 'warm', 'cool', 'cold']);
    expect(m).toEqual({ buckets: ['hot', 'warm', 'cool', 'cold'], counts: [[2, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]] });
  });

  it('Spearman\'s correlation gives tied values their mean rank', () => {
    expect(averageRanks([5, 6, 7, 8, 7])).toEqual([1, 2, 3.5, 5, 3.5]);
    // ranks [1,2,3,4,5] vs [1,2,3.5,5,3.5]: covariance 8, variances 10 and 9.5.
    expect(spearman([0.1, 0.2, 0.3, 0.4, 0.5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    expect(spearman([1, 2, 3, 4], [40, 30, 20, 10])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3], [7, 7, 7])).toBeNull();
    expect(spearman([1], [2])).toBeNull();
  });

  it('the score shift is challenger − champion with percentiles interpolated between neighbours', () => {
    const s = scoreShift([0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.25, 0.2, 0.6, 0.5])!;
    // sorted differences: -0.1, 0, 0, 0.05, 0.2
    expect(s.n).toBe(5);
    expect(s.mean).toBeCloseTo(0.03, 12);
    expect(s.min).toBeCloseTo(-0.1, 12);
    expect(s.p5).toBeCloseTo(-0.08, 12);
    expect(s.p25).toBeCloseTo(0, 12);
    expect(s.p50).toBeCloseTo(0, 12);
    expect(s.p75).toBeCloseTo(0.05, 12);
    expect(s.p95).toBeCloseTo(0.17, 12);
    expect(s.max).toBeCloseTo(0.2, 12);
    expect(scoreShift([], [])).toBeNull();
  });

  it('overlap@5 is the mean share of common items over keys both recommended for; coverage the share of the catalogue used', () => {
    const champion = new Map([['1', ['a', 'b', 'c', 'd', 'e']], ['2', ['a', 'b', 'c', 'd', 'e']], ['3', ['x']]]);
    const challenger = new Map([['1', ['e', 'd', 'c', 'b', 'a']], ['2', ['e', 'f', 'g', 'h', 'a']], ['4', ['a']]]);
    expect(overlapAtK(champion, challenger, 5)).toEqual({ keys: 2, overlap: 0.7 });
    expect(coverage(champion.values(), 10)).toEqual({ distinct: 6, share: 0.6 });
    expect(coverage(challenger.values(), 10)).toEqual({ distinct: 8, share: 0.8 });
    expect(overlapAtK(new Map(), challenger, 5)).toEqual({ keys: 0, overlap: null });
  });
});

describe('models compare, as text', () => {
  it('prints the matrix with champion rows and challenger columns, Spearman and the shift; overlap and coverage for top-k', () => {
    const head = { runId: 'lead-scoring-2026-09-01', champion: { version: '1.0.0', sha256: 'a'.repeat(64) }, challenger: { version: '2.0.0', sha256: 'b'.repeat(64) }, chunks: 3, chunksDone: 2, compared: 5 };
    const scores = comparisonText({
      ...head, kind: 'probability-buckets', migration: { buckets: ['hot', 'cold'], counts: [[2, 1], [0, 2]] }, spearman: 0.82078,
      shift: { n: 5, mean: 0.03, min: -0.1, p5: -0.08, p25: 0, p50: 0, p75: 0.05, p95: 0.17, max: 0.2 },
    });
    expect(scores.split('\n')).toEqual([
      'run lead-scoring-2026-09-01: champion 1.0.0 (aaaaaaaaaaaa) vs challenger 2.0.0 (bbbbbbbbbbbb)',
      '5 keys compared; the challenger scored 2 of 3 chunks (incomplete: see the run\'s workflow for its error)',
      'bucket migration (rows: champion, columns: challenger):',
      '      hot  cold',
      'hot     2     1',
      'cold    0     2',
      'Spearman rank correlation: 0.8208',
      'score shift (challenger − champion): mean +0.0300, p5 -0.0800, p25 +0.0000, median +0.0000, p75 +0.0500, p95 +0.1700',
    ]);
    const recs = comparisonText({
      ...head, chunksDone: 3, kind: 'top-k', k: 5, overlapAtK: 0.7, catalogue: 10,
      coverage: { champion: { distinct: 6, share: 0.6 }, challenger: { distinct: 8, share: 0.8 } },
    });
    expect(recs).toContain('overlap@5: 70.0% (mean share of the 5 items both models recommend)');
    expect(recs).toMatch(/^champion +6 +60\.0%$/m);
    expect(recs).toMatch(/^challenger +8 +80\.0%$/m);
  });
});
