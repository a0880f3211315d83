import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../db/reports.js';
import { benchFigures, type Measurements } from '../../bench/figures.js';
import type { MeasuredRun } from '../../bench/pipeline-run.js';

const run = (wallMs: number, report: Partial<RunReport>, historyEvents = 0, historyBytes = 0): MeasuredRun =>
  ({ runId: 'r', wallMs, report: report as RunReport, historyEvents, historyBytes });

const measurements = (over: Partial<Measurements> = {}): Measurements => ({
  leads: 1_000_000, small: 100_000, changed: 0.01, crmRatePer10s: 190,
  baselines: { copyOut: { rows: 1_000_000, ms: 1000 }, copyIn: { rows: 1_000_000, ms: 500 }, upsert: { rows: 1_000_000, ms: 2500 } },
  naive: { rows: 10_000, ms: 8000 },
  inference: { rows: 200_000, ms: 500 },
  full: run(10_000, { leads_extracted: 1_000_000, leads_published: 1_000_000, extract_ms: 2000, score_ms: 5000, store_ms: 2500 }, 256, 100 * 1024),
  incremental: run(400, { leads_extracted: 10_000 }),
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
    expect(figure(m, 'share of the full run')).toMatchObject({ value: '4.0%', met: true });
    expect(figure(m, 'contacts/s as share of budget')).toMatchObject({ value: '95.7%', met: true });
    expect(figure(m, '  extrapolated')).toMatchObject({ value: '800.00 s' });
    expect(figure(m, 'onnxruntime')).toMatchObject({ value: '400,000/s' });
  });

  it('mark a target missed on the wrong side of it', () => {
    const m = measurements({ rssFull: 400, rateLimited: 1, full: run(8000, {}, 301, 256 * 1024 + 1), incremental: run(400, {}) });
    const missed = benchFigures(m).filter((f) => f.met === false).map((f) => f.what);
    expect(missed).toEqual(['worker peak RSS, 1,000,000 leads', 'growth', 'events, 1,000,000 leads', 'size (JSON)', 'share of the full run', '429 responses']);
  });
});
