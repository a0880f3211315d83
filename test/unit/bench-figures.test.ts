import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../db/reports.js';
import { benchFigures, scaleFigures, scaleGrowth, type Measurements } from '../../bench/figures.js';
import type { Footprint } from '../../bench/footprint.js';
import type { ScaleMeasurements, ScalePoint } from '../../bench/large.js';
import type { MeasuredRun } from '../../bench/pipeline-run.js';

const run = (wallMs: number, report: Partial<RunReport>, historyEvents = 0, historyBytes = 0): MeasuredRun =>
  ({ runId: 'r', wallMs, report: report as RunReport, historyEvents, historyBytes });

const measurements = (over: Partial<Measurements> = {}): Measurements => ({
  leads: 1_000_000, small: 100_000, changed: 0.01, crmRatePer10s: 190,
  baselines: { copyOut: { rows: 1_000_000, ms: 1000 }, copyIn: { rows: 1_000_000, ms: 500 }, upsert: { rows: 1_000_000, ms: 2500 } },
  naive: { rows: 10_000, ms: 8000 },
  inference: { rows: 200_000, ms: 500 },
  inferenceGrouped: { rows: 200_000, ms: 400 },
  full: run(10_000, { leads_extracted: 1_000_000, leads_published: 1_000_000, extract_ms: 2000, score_ms: 5000, store_ms: 2500 }, 256, 100 * 1024),
  cpu: { wallMs: 10_000, cores: 2, workerMain: 3, workerOthers: 8, postgres: 7, temporal: null },
  incremental: run(400, { leads_extracted: 10_000 }),
  morning: run(450, { leads_extracted: 10_000 }),
  crm: run(60_000, { crm_sent: 100_000, crm_calls: 1000, crm_ms: 55_000 }),
  rssSmall: 300, rssFull: 330, rateLimited: 0,
  ...over,
});

const figure = (m: Measurements, what: string) => benchFigures(m).find((f) => f.what.startsWith(what))!;

describe('bench figures', () => {
  it('put each measured ratio beside its target', () => {
    const m = measurements();
    expect(figure(m, 'whole run')).toMatchObject({ value: '10.00 s  100,000/s', target: '≤ 2× baseline: 2.50×', met: false });
    expect(figure(m, 'growth')).toMatchObject({ value: '10.0%', met: true });
    expect(figure(m, 'share of the full run, after a checkpoint')).toMatchObject({ value: '4.5%', target: '< 5%', met: true });
    expect(figure(m, 'contacts/s as share of budget')).toMatchObject({ value: '95.7%', met: true });
    expect(figure(m, '  extrapolated')).toMatchObject({ value: '800.00 s' });
    expect(figure(m, 'onnxruntime')).toMatchObject({ value: '400,000/s' });
    expect(figure(m, 'batch-score as share')).toMatchObject({ value: '50.0%', target: '≥ 80%', met: false });
    // Beside it, the same against onnxruntime on rows grouped as the worker scores them: no target of its own.
    expect(figure(m, '  onnxruntime alone, rows grouped')).toMatchObject({ value: '500,000/s' });
    expect(figure(m, '  batch-score as share of that')).toEqual({ section: 'pipeline', what: expect.any(String), value: '40.0%' });
    expect(figure(m, 'naive pipeline ÷ whole run')).toMatchObject({ value: '80×', target: '≥ 50×', met: true });
  });

  it('say where the full run\'s CPU went against what its cores offered, and which part was not found', () => {
    const m = measurements();
    expect(figure(m, 'full run: used of 2 cores × 10.00 s')).toMatchObject({ section: 'CPU', value: '18.00 of 20.00 s  90.0%' });
    expect(figure(m, '  worker main thread')).toMatchObject({ value: '3.00 s  15.0%' });
    expect(figure(m, '  worker other threads')).toMatchObject({ value: '8.00 s  40.0%' });
    expect(figure(m, '  PostgreSQL')).toMatchObject({ value: '7.00 s  35.0%' });
    expect(figure(m, '  Temporal dev server')).toMatchObject({ value: 'not found' });
    expect(benchFigures(m).filter((f) => f.section === 'CPU').every((f) => f.met === undefined)).toBe(true);
  });

  it('meet the batch-score and naive targets exactly at 80% and 50×', () => {
    const full = run(16_000, { leads_extracted: 1_000_000, score_ms: 3125 });
    const m = measurements({ full, naive: { rows: 10_000, ms: 8000 } });
    expect(figure(m, 'batch-score as share')).toMatchObject({ value: '80.0%', met: true });
    expect(figure(m, 'naive pipeline ÷ whole run')).toMatchObject({ value: '50×', met: true });
    const slower = measurements({ full: run(16_001, { leads_extracted: 1_000_000, score_ms: 3126 }) });
    expect(figure(slower, 'batch-score as share').met).toBe(false);
    expect(figure(slower, 'naive pipeline ÷ whole run').met).toBe(false);
  });

  it('set the morning\'s target on the one after a checkpoint, as every real morning runs, and show the first one beside it', () => {
    const m = measurements({ incremental: run(300, { leads_extracted: 10_000 }), morning: run(600, { leads_extracted: 10_000 }) });
    expect(figure(m, '10,000 changed leads (1.0%), seconds after the full run')).toEqual({ section: 'incremental', what: expect.any(String), value: '0.30 s  3.0%' });
    expect(figure(m, '10,000 changed leads, after a checkpoint')).toMatchObject({ value: '0.60 s' });
    expect(figure(m, 'share of the full run, after a checkpoint')).toMatchObject({ value: '6.0%', met: false });
  });

  it('mark a target missed on the wrong side of it', () => {
    const m = measurements({ rssFull: 400, rateLimited: 1, full: run(8000, {}, 301, 256 * 1024 + 1), incremental: run(300, {}), morning: run(400, {}) });
    const missed = benchFigures(m).filter((f) => f.met === false).map((f) => f.what);
    expect(missed).toEqual([
      'batch-score as share of onnxruntime alone', 'worker peak RSS, 1,000,000 leads', 'growth', 'events, 1,000,000 leads', 'size (JSON)',
      'share of the full run, after a checkpoint', '429 responses',
    ]);
  });
});

const MiB = 2 ** 20;
const disk = (scoringMiB: number, sourceMiB: number): Footprint => ({ scoringBytes: scoringMiB * MiB, tables: {}, sourceBytes: sourceMiB * MiB });
const point = (leads: number, times: { extract: number; score: number; store: number; whole: number; plan: number }, rss: number, scale: number): ScalePoint => ({
  leads,
  run: run(times.whole, { leads_extracted: leads, leads_published: leads, extract_ms: times.extract, score_ms: times.score, store_ms: times.store }, 16 + 6 * (leads / 25_000), leads / 10),
  rss,
  disk: disk(300 * scale, 150 * scale),
  plan: { plan: { contacts: leads, batches: leads / 100, unchanged: 0, skipped: 0, deferred: 0 }, ms: times.plan },
  outboxBytes: 120 * scale * MiB,
});
const scale = (large: Partial<{ extract: number; score: number; store: number; whole: number; plan: number }>): ScaleMeasurements => ({
  base: point(1_000_000, { extract: 2000, score: 5000, store: 2500, whole: 10_000, plan: 12_000 }, 330, 1),
  large: { ...point(10_000_000, { extract: 20_000, score: 50_000, store: 25_000, whole: 100_000, plan: 120_000, ...large }, 345, 10), seedMs: 90_000, databaseBytes: 11_000 * MiB },
});

describe('bench figures at a larger size (--large)', () => {
  it('give each stage\'s time at both sizes and its time per row as a multiple of the smaller run\'s', () => {
    const m = scale({ extract: 22_000, store: 20_000 });
    expect(scaleGrowth(m).extract).toEqual({ baseMs: 2000, largeMs: 22_000, growth: expect.closeTo(1.1, 10) });
    expect(scaleGrowth(m).store.growth).toBeCloseTo(0.8, 10);
    const figures = scaleFigures(m);
    const line = (what: string) => figures.find((f) => f.what.startsWith(what))!;
    expect(line('extract, 1,000,000 → 10,000,000 leads')).toMatchObject({ value: '2.00 s → 22.00 s', target: 'per row ≤ 1.25× linear: 1.10×', met: true });
    expect(line('CRM planning (planOutbox), 1,000,000 → 10,000,000 outbox rows')).toMatchObject({ value: '12.00 s → 120.00 s', met: true });
    expect(line('worker peak RSS')).toMatchObject({ value: '330 → 345 MiB' });
    expect(line('history events')).toMatchObject({ value: '256 → 2,416' });
    expect(line('disk: scoring schema after the run')).toMatchObject({ value: '300 MiB → 3,000 MiB', target: 'per row: 1.00× linear' });
    expect(line('disk: leads table')).toMatchObject({ value: '150 MiB → 1,500 MiB' });
    expect(line('disk: CRM outbox')).toMatchObject({ value: '120 MiB → 1,200 MiB' });
    expect(line('disk: the 10,000,000-lead database after the plan')).toMatchObject({ value: '11,000 MiB' });
    expect(figures.filter((f) => f.met !== undefined)).toHaveLength(5);
  });

  it('flag a stage whose time per row grows more than 1.25× as faster than linear', () => {
    const figures = scaleFigures(scale({ store: 31_300, plan: 151_000 }));
    const flagged = figures.filter((f) => f.met === false);
    expect(flagged.map((f) => f.what)).toEqual(['store', 'CRM planning (planOutbox), 1,000,000 → 10,000,000 outbox rows']);
    expect(flagged[0]!.target).toBe('per row ≤ 1.25× linear: 1.25×, faster than linear');
    expect(figures.find((f) => f.what === 'batch-score')).toMatchObject({ met: true });
  });
});
