import { afterEach, describe, expect, it } from 'vitest';
import { warmCurrentRows } from '../../activities/sql/warm-current-rows.js';
import { withClient } from '../../db/pool.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('reading a morning\'s current rows ahead of its publish', () => {
  it('reads the current row of each lead changed since the watermark, and prunes the row versions the last run left there', async () => {
    h = await makeHarness();
    await h.seed(2000);
    await h.run('2026-09-01', { crm: false });
    await h.query('update public.leads set updated_at = now(), site_visits_30d = site_visits_30d + 1 where lead_id % 4 = 1');
    expect(await h.run('2026-09-02', { crm: false })).toMatchObject({ published: 500 });
    const since = (await h.query<{ now: Date }>('select now()'))[0]!.now;
    await h.query('update public.leads set updated_at = now() where lead_id % 4 = 1 and lead_id % 3 = 0');
    const changed = (await h.query<{ n: number }>('select count(*)::int as n from public.leads where updated_at > $1', [since]))[0]!.n;

    await withClient(h.rt.pool, async (client) => {
      const deadVersions = async () => {
        await client.query('select pg_stat_force_next_flush()');
        await client.query('select pg_stat_clear_snapshot()');
        return (await client.query<{ n: string }>("select n_dead_tup as n from pg_stat_user_tables where relid = 'scoring.lead_scores_rows'::regclass")).rows[0]!.n;
      };
      const before = Number(await deadVersions());
      expect(before).toBeGreaterThan(0);
      expect(await warmCurrentRows(client, { current: 'scoring.lead_scores_rows', table: parseLeadsTable('public.leads'), since, limit: 50_000 })).toBe(changed);
      expect(Number(await deadVersions())).toBeLessThan(before);
      expect(await warmCurrentRows(client, { current: 'scoring.lead_scores_rows', table: parseLeadsTable('public.leads'), since, limit: 10 })).toBe(10);
    });
  });
});
