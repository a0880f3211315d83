import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** What the run's published rows give: rows per bucket, and the newest change time it scored or rejected. */
async function fromRows(h: Harness, runId: string) {
  const bins = await h.query<{ bucket: string; n: number }>(
    'select bucket, count(*)::int as n from scoring.lead_score_history where run_id = $1 group by bucket order by bucket', [runId]);
  const [newest] = await h.query<{ scored: string; rejected: string | null }>(
    `select (select max(source_updated_at)::text from scoring.lead_score_history where run_id = $1) as scored,
            (select max(source_updated_at)::text from scoring.rejected_leads where run_id = $1) as rejected`, [runId]);
  return { bins: Object.fromEntries(bins.map((b) => [b.bucket, b.n])), newest: newest! };
}

/** The gate's stored figures for the run and the pipeline's watermark, each beside what the rows give. */
async function gateAndWatermark(h: Harness, runId: string) {
  const [report] = await h.query<{ run_metrics: { rows: number; bins: Record<string, number> } }>(
    'select run_metrics from scoring.run_gate_reports where run_id = $1', [runId]);
  const [watermark] = await h.query<{ matches: boolean }>(
    `select w.source_high_water = least(greatest((select max(source_updated_at) from scoring.lead_score_history where run_id = $1),
                                                 (select max(source_updated_at) from scoring.rejected_leads where run_id = $1)),
                                        r.snapshot_at) as matches
     from scoring.watermarks w join scoring.pipeline_runs r on r.run_id = w.run_id where w.run_id = $1`, [runId]);
  return { gate: report!.run_metrics, watermark: watermark!.matches };
}

describe('a run\'s chunk aggregates', () => {
  it('are recorded by each chunk as it is staged, and the gate\'s figures and the watermark drawn from them equal what the rows give', async () => {
    h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '1000' });
    await h.seed(3500, { seed: 5, messyRate: 0.05 });
    // Change times with microseconds, and one lead dated later than the rest of its chunk.
    await h.query(`update public.leads set updated_at = now() - make_interval(secs => lead_id * 0.000137) where lead_id % 3 = 0`);
    const result = await h.run('2026-09-01', { crm: false });

    const chunks = await h.query<{ chunk: number; bins: Record<string, number> | null; high_water: string | null }>(
      'select chunk, bins, high_water::text from scoring.run_chunks where run_id = $1 order by chunk', [result.runId]);
    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.bins !== null && c.high_water !== null)).toBe(true);
    const rows = await fromRows(h, result.runId);
    const summed: Record<string, number> = {};
    for (const c of chunks) for (const [bucket, n] of Object.entries(c.bins!)) summed[bucket] = (summed[bucket] ?? 0) + n;
    expect(Object.fromEntries(Object.entries(summed).filter(([, n]) => n > 0))).toEqual(rows.bins);
    const [newest] = await h.query<{ high_water: string }>('select max(high_water)::text as high_water from scoring.run_chunks where run_id = $1', [result.runId]);
    expect(newest!.high_water).toBe(rows.newest.scored);
    expect(result.rejected).toBeGreaterThan(0);

    expect(await gateAndWatermark(h, result.runId)).toEqual({ gate: { rows: result.published, bins: rows.bins }, watermark: true });
  });

  it('are not needed: a run whose chunks recorded none (staged before they did) is judged and published from its rows', async () => {
    h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '1000' });
    await h.seed(2500, { seed: 6, messyRate: 0.05 });
    await h.query(`create function public.forget_aggregates() returns trigger language plpgsql as $$
                   begin new.bins := null; new.high_water := null; return new; end $$`);
    await h.query('create trigger forget_aggregates before insert on scoring.run_chunks for each row execute function public.forget_aggregates()');
    const result = await h.run('2026-09-02', { crm: false });

    expect(await h.query('select count(*)::int as n from scoring.run_chunks where run_id = $1 and bins is null', [result.runId])).toEqual([{ n: 3 }]);
    const rows = await fromRows(h, result.runId);
    expect(await gateAndWatermark(h, result.runId)).toEqual({ gate: { rows: result.published, bins: rows.bins }, watermark: true });
  });
});
