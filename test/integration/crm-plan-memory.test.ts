import { afterEach, describe, expect, it } from 'vitest';
import { withTransaction, type PoolClient } from '../../db/pool.js';
import { planOutbox } from '../../activities/sql/crm-outbox.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CONTACTS = 60_000;

/** Runs `work` in a transaction that reports every temporary file PostgreSQL writes (log_temp_files), and returns their sizes. */
async function temporaryFiles(h: Harness, work: (client: PoolClient) => Promise<unknown>): Promise<number[]> {
  const sizes: number[] = [];
  await withTransaction(h.rt.pool, async (client) => {
    const onNotice = (n: { message?: string }) => {
      const size = /^temporary file: .*size (\d+)/.exec(n.message ?? '');
      if (size) sizes.push(Number(size[1]));
    };
    client.on('notice', onNotice);
    try {
      await client.query("set local log_temp_files = 0; set local client_min_messages = 'log'");
      await work(client);
    } finally {
      client.off('notice', onNotice);
    }
  });
  return sizes;
}

describe('planning the CRM outbox', () => {
  it('sorts in memory, where PostgreSQL\'s default work_mem wrote its sorts to disk (and, from about 2M rows, merged them in more than one pass)', async () => {
    h = await makeHarness({}, { worker: false });
    await h.query('create table public.plan_leads (lead_id bigint primary key, email text, updated_at timestamptz not null)');
    await h.query(`insert into public.plan_leads select i, 'lead' || i || '@company' || (i % 500) || '.example', now() from generate_series(1, $1::int) i`, [CONTACTS]);
    await h.query(
      `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
       values ('plan-memory', 'lead-scoring', current_date, 'published', 'test', 'lead-scoring', '1.0.0', repeat('0', 64))`);
    await h.query(
      `insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, source_updated_at, scored_at)
       select i, (i % 997) / 997.0, 'warm', 'plan-memory', now(), now() from generate_series(1, $1::int) i`,
      [CONTACTS],
    );
    await h.query('analyze public.plan_leads, scoring.lead_scores_rows');

    // The check can see a sort that goes to disk: the same rows sorted with 64 kB of work_mem.
    const spilled = await temporaryFiles(h, (client) => client.query("set local work_mem = '64kB'; select email from public.plan_leads order by email desc"));
    expect(spilled.length).toBeGreaterThan(0);

    const planned = await temporaryFiles(h, (client) => planOutbox(client, {
      runId: 'plan-memory', pipeline: 'lead-scoring', table: parseLeadsTable('public.plan_leads'), current: 'scoring.lead_scores_rows',
      target: 'sandbox:plan-memory', epsilon: 0, partitions: 4, capacity: Number.MAX_SAFE_INTEGER,
    }));
    expect(planned).toEqual([]);
    expect(await h.query('select count(*)::int as n from scoring.crm_outbox where run_id = $1', ['plan-memory'])).toEqual([{ n: CONTACTS }]);
  });
});
