import { describe, expect, it } from 'vitest';
import { boundedMap } from '../../workflows/bounded-map.js';
import { businessDate } from '../../workflows/scheduled.js';
import { runIdFor } from '../../workflows/lead-scoring.js';
import { dateRange, parseDate } from '../../workers/dates.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeUniform, syntheticLeads, readDistribution } from '../../source/synthetic-leads.js';
import { PROJECT_ROOT } from '../../lib/paths.js';

describe('boundedMap', () => {
  it('never runs more than the limit at once and visits every item in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const started: number[] = [];
    await boundedMap([0, 1, 2, 3, 4, 5, 6], 3, async (i) => {
      started.push(i);
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5 * (7 - i)));
      inFlight--;
    });
    expect(peak).toBe(3);
    expect([...started].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(started.slice(0, 3)).toEqual([0, 1, 2]);
  });

  /** Stands in for a Temporal CancellationScope: cancel() calls what the items in flight registered. */
  function fakeScope() {
    const onCancel: Array<() => void> = [];
    const scope = {
      cancelled: false,
      onCancel: (fn: () => void) => onCancel.push(fn),
      run: <R>(fn: () => Promise<R>) => fn(),
      cancel() {
        scope.cancelled = true;
        onCancel.forEach((fn) => fn());
      },
    };
    return scope;
  }
  const failure = new Error('chunk 1 failed for good');

  it('starts no new item after a failure, even when the items in flight then finish', async () => {
    const scope = fakeScope();
    const started: number[] = [];
    let firstDone!: () => void;
    const firstFinished = new Promise<void>((resolve) => (firstDone = resolve));
    const map = boundedMap([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      if (i === 1) throw failure;
      if (i === 0) {
        await new Promise((r) => setTimeout(r, 20));
        firstDone();
      }
    }, scope);
    await expect(map).rejects.toBe(failure);
    await firstFinished;
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1]);
    expect(scope.cancelled).toBe(true);
  });

  it('cancels the items in flight and throws the first failure once they have settled', async () => {
    const scope = fakeScope();
    const settled: number[] = [];
    const map = boundedMap([0, 1, 2, 3], 3, async (i) => {
      try {
        if (i === 1) throw failure;
        await new Promise<void>((_, reject) => scope.onCancel(() => reject(new Error(`item ${i} cancelled`))));
      } finally {
        settled.push(i);
      }
    }, scope);
    await expect(map).rejects.toBe(failure);
    expect(settled.sort()).toEqual([0, 1, 2]);
  });
});

describe('dates and run ids', () => {
  it('names a run by pipeline and business date, with -full for a full rescore', () => {
    expect(runIdFor({ pipeline: 'lead-scoring', asOf: '2026-11-25' })).toBe('lead-scoring-2026-11-25');
    expect(runIdFor({ pipeline: 'partner-leads', asOf: '2026-11-25' })).toBe('partner-leads-2026-11-25');
    expect(runIdFor({ pipeline: 'lead-scoring', asOf: '2026-11-25', full: true })).toBe('lead-scoring-2026-11-25-full');
  });

  it('takes the business date in the schedule time zone', () => {
    const at = new Date('2026-11-25T23:30:00Z');
    expect(businessDate(at, 'UTC')).toBe('2026-11-25');
    expect(businessDate(at, 'Europe/Berlin')).toBe('2026-11-26');
    expect(businessDate(at, 'America/Los_Angeles')).toBe('2026-11-25');
  });

  it('accepts only real calendar dates and lists ranges in order', () => {
    expect(parseDate('2024-02-29')).toBe('2024-02-29');
    expect(() => parseDate('2026-02-30')).toThrow('is not a date; write it as YYYY-MM-DD');
    expect(() => parseDate('25/11/2026')).toThrow('is not a date');
    expect(dateRange('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(dateRange('2026-03-02', '2026-03-01')).toEqual([]);
  });
});

describe('leads table names', () => {
  it('quotes schema and table and refuses anything else', () => {
    expect(parseLeadsTable('leads').sql).toBe('"public"."leads"');
    expect(parseLeadsTable('crm.Leads').sql).toBe('"crm"."Leads"');
    expect(() => parseLeadsTable('a.b.c')).toThrow('is not a table name');
    expect(() => parseLeadsTable('leads"; drop')).toThrow('is not a table name');
  });
});

describe('synthetic leads', () => {
  const features = readDistribution(`${PROJECT_ROOT}/models/lead-scoring`);
  const draw = (seed: number, messyRate = 0) => [...syntheticLeads({ features, count: 2000, firstId: 1, seed, messyRate })];

  it('are the same for the same seed and differ for another', () => {
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it('follow the documented distribution: ranges, categories and rates', () => {
    const leads = draw(11);
    const col = (name: string) => leads.map((l) => l.values[features.findIndex((f) => f.name === name)]);
    expect(Math.min(...(col('company_size') as number[]))).toBeGreaterThanOrEqual(1);
    expect(new Set(col('industry'))).toEqual(new Set(['software', 'finance', 'healthcare', 'manufacturing', 'retail', 'education', 'other']));
    const demoRate = col('demo_requested').filter(Boolean).length / leads.length;
    expect(demoRate).toBeGreaterThan(0.05);
    expect(demoRate).toBeLessThan(0.11);
    const meanVisits = (col('site_visits_30d') as number[]).reduce((a, b) => a + b, 0) / leads.length;
    expect(meanVisits).toBeGreaterThan(4.5);
    expect(meanVisits).toBeLessThan(6.5);
  });

  it('make the requested share messy', () => {
    const usable = (v: unknown, i: number) => {
      const f = features[i]!;
      if (v === null || v === '') return false;
      if (f.kind === 'categorical') return Object.keys(f.weights).includes(v as string);
      if (f.kind === 'bernoulli') return typeof v === 'boolean';
      return (v as number) >= f.min && (v as number) <= f.max;
    };
    const messy = draw(3, 0.1).filter((l) => !l.values.every(usable)).length;
    expect(messy).toBeGreaterThan(150);
    expect(messy).toBeLessThan(250);
    expect(draw(3, 0).filter((l) => !l.values.every(usable))).toEqual([]);
  });

  it('draw uniforms in [0, 1)', () => {
    const u = makeUniform(1);
    const xs = Array.from({ length: 10000 }, u);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});
