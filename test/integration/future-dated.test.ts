import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';
import { cliEnv, scoreflow } from '../support/scoreflow-cli.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const SENTINEL = '9999-12-31T00:00:00Z';

describe('a source lead dated in the future', () => {
  it('is scored, and a lead changed the next day is still rescored by that day\'s run', async () => {
    h = await makeHarness();
    await h.seed(600);
    await h.query('update public.leads set updated_at = $1 where lead_id = 5', [SENTINEL]);

    const first = await h.run('2025-01-02', { crm: false });

    expect(first).toMatchObject({ extracted: 600, published: 600 });
    const [future] = await h.query<{ run_id: string; sentinel: boolean }>(
      'select run_id, source_updated_at = $1::timestamptz as sentinel from scoring.lead_scores where lead_id = 5',
      [SENTINEL],
    );
    expect(future).toEqual({ run_id: 'lead-scoring-2025-01-02', sentinel: true });

    await h.query('update public.leads set site_visits_30d = site_visits_30d + 40, demo_requested = true, updated_at = now() where lead_id = 17');
    const next = await h.run('2025-01-03', { crm: false });

    expect(next).toMatchObject({ extracted: 1, published: 1 });
    const rescored = await h.query<{ lead_id: string }>("select lead_id from scoring.lead_scores where run_id = 'lead-scoring-2025-01-03'");
    expect(rescored.map((r) => r.lead_id)).toEqual(['17']);
    const [mark] = await h.query<{ behind_snapshot: boolean }>(
      `select w.source_high_water <= r.snapshot_at as behind_snapshot
       from scoring.watermarks w join scoring.pipeline_runs r on r.run_id = 'lead-scoring-2025-01-03'`,
    );
    expect(mark).toEqual({ behind_snapshot: true });
  });

  it('makes `scoreflow status` warn with the count and the latest date, in text and in --json', async () => {
    h = await makeHarness();
    await h.seed(300);
    await h.query("update public.leads set updated_at = now() + interval '3 days' where lead_id in (8, 9)");
    await h.query('update public.leads set updated_at = $1 where lead_id = 10', [SENTINEL]);
    await h.run('2025-01-02', { crm: false });

    const text = await scoreflow(['status'], cliEnv(h));
    const json = await scoreflow(['status', '--json'], cliEnv(h));

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/lead-scoring-2025-01-02: published/);
    expect(text.stdout).toContain(`warning: 3 leads in public.leads have updated_at in the future (latest ${SENTINEL})`);
    expect(JSON.parse(json.stdout)).toMatchObject({ run_id: 'lead-scoring-2025-01-02', future_dated_leads: { count: 3, latest: SENTINEL } });
  });

  it('leaves `scoreflow status` without a warning when no lead is dated in the future', async () => {
    h = await makeHarness();
    await h.seed(300);
    await h.run('2025-01-02', { crm: false });

    const text = await scoreflow(['status'], cliEnv(h));
    const json = await scoreflow(['status', '--json'], cliEnv(h));

    expect(text.stdout).not.toContain('warning');
    expect(JSON.parse(json.stdout)).toMatchObject({ run_id: 'lead-scoring-2025-01-02', future_dated_leads: null });
  });
});
