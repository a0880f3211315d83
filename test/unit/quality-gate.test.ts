import { describe, expect, it } from 'vitest';
import { breachLines, evaluateGate, maxShareChange, psi, type RunMetrics } from '../../activities/gate-checks.js';
import { gatesSchema, resolveGates } from '../../pipelines/gates.js';
import { loadConfig } from '../../lib/config.js';
import { ConfigInvalid } from '../../lib/errors.js';
import { makePipelineRegistry } from '../../pipelines/index.js';

const thresholds = gatesSchema.parse({ minRows: 100 });
const buckets = (hot: number, warm: number, cool: number, cold: number, rejected = 0): RunMetrics =>
  ({ rows: hot + warm + cool + cold, rejected, bins: { hot, warm, cool, cold } });

describe('the population stability index', () => {
  it('is zero for the same distribution at any size', () => {
    expect(psi({ a: 10, b: 30 }, { a: 100, b: 300 })).toBe(0);
  });

  it('sums (actual - expected) * ln(actual / expected) over the bins\' shares', () => {
    expect(psi({ a: 50, b: 50 }, { a: 60, b: 40 })).toBeCloseTo(0.1 * Math.log(1.2) + 0.1 * Math.log(1 / 0.8), 10);
  });

  it('stays finite when a bin is empty on one side', () => {
    const value = psi({ a: 100, b: 0 }, { a: 50, b: 50 });
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(1);
  });

  it('reads the largest bin share change in share points', () => {
    expect(maxShareChange({ a: 50, b: 50 }, { a: 80, b: 20, c: 0 })).toBeCloseTo(0.3, 10);
  });
});

describe('the gate evaluation', () => {
  it('passes a pipeline\'s first run with a note, whatever its figures', () => {
    const e = evaluateGate(buckets(900, 50, 30, 20, 500), null, thresholds);
    expect(e.verdict).toBe('pass');
    expect(e.note).toMatch(/first run/);
    expect(e.checks.every((c) => !c.breached)).toBe(true);
  });

  it('passes a run close to the last published one', () => {
    expect(evaluateGate(buckets(100, 200, 300, 400), buckets(105, 195, 310, 390), thresholds)).toMatchObject({ verdict: 'pass', note: null });
  });

  it('breaches on a drifted score distribution, naming PSI and the bucket share', () => {
    const e = evaluateGate(buckets(700, 200, 50, 50), buckets(100, 200, 300, 400), thresholds);
    expect(e.verdict).toBe('breach');
    expect(e.checks.filter((c) => c.breached).map((c) => c.name).sort()).toEqual(['bucket-share-change', 'psi']);
    expect(breachLines(e.checks)[0]).toMatch(/^psi \d+(\.\d+)? > 0\.25/);
  });

  it('breaches on a reject rate above the limit', () => {
    const e = evaluateGate(buckets(100, 200, 300, 400, 100), buckets(100, 200, 300, 400), thresholds);
    expect(e.checks.find((c) => c.name === 'reject-rate')).toMatchObject({ value: 0.090909, breached: true });
  });

  it('checks the row count change only where the pipeline sets a limit', () => {
    const half = evaluateGate(buckets(50, 100, 150, 200), buckets(100, 200, 300, 400), thresholds);
    expect(half.verdict).toBe('pass');
    const held = evaluateGate(buckets(50, 100, 150, 200), buckets(100, 200, 300, 400), { ...thresholds, maxRowChange: 0.3 });
    expect(held.checks.find((c) => c.name === 'row-change')).toMatchObject({ value: 0.5, breached: true });
  });

  it('passes a run too small to compare with a note', () => {
    const e = evaluateGate(buckets(50, 0, 0, 0), buckets(100, 200, 300, 400), thresholds);
    expect(e).toMatchObject({ verdict: 'pass', note: expect.stringMatching(/fewer than minRows 100/) });
  });

  it('passes with a note when the last published run is too small to compare with (an incremental day of few changes)', () => {
    const e = evaluateGate(buckets(700, 200, 50, 50), buckets(10, 20, 30, 30), thresholds);
    expect(e).toMatchObject({ verdict: 'pass', note: expect.stringMatching(/last published run has 90 rows/) });
  });

  it('holds a top-k run to catalogue coverage and the most recommended product\'s share', () => {
    const t = { ...thresholds, maxBucketShareChange: null, minCoverage: 0.2, maxTopItemShare: 0.3 };
    const base: RunMetrics = { rows: 1000, rejected: 0, bins: { d1: 500, d2: 500 }, coverage: 0.6, topItemShare: 0.1 };
    const narrow: RunMetrics = { ...base, coverage: 0.1, topItemShare: 0.45 };
    const e = evaluateGate(narrow, base, t);
    expect(e.checks.filter((c) => c.breached).map((c) => c.name).sort()).toEqual(['coverage', 'top-item-share']);
    expect(breachLines(e.checks)).toContain('coverage 0.1 < 0.2 (last published: 0.6)');
  });
});

describe('gate thresholds', () => {
  it('come from the definition, with configuration\'s approval timeout and per-pipeline overrides on top', () => {
    const config = loadConfig({ SCOREFLOW_APPROVAL_TIMEOUT: '2s', SCOREFLOW_GATES: '{"product-recs":{"maxTopItemShare":0.01}}' });
    const pipelines = makePipelineRegistry(config);
    const recs = resolveGates('product-recs', pipelines.get('product-recs').gates, config.gates);
    expect(recs).toMatchObject({ maxTopItemShare: 0.01, minCoverage: 0.05, approvalTimeout: '2s', onTimeout: 'reject' });
    expect(resolveGates('lead-scoring', pipelines.get('lead-scoring').gates, config.gates)).toMatchObject({ maxRowChange: null, maxPsi: 0.25, approvalTimeout: '2s' });
  });

  it('reject a bad duration or bad JSON with the variable named', () => {
    expect(() => loadConfig({ SCOREFLOW_APPROVAL_TIMEOUT: 'soon' })).toThrow(ConfigInvalid);
    expect(() => loadConfig({ SCOREFLOW_GATES: '{"lead-scoring":{"maxPsi":"high"}}' })).toThrow(/SCOREFLOW_GATES must be JSON/);
  });
});
