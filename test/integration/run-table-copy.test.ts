import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageLeadChunk } from '../../activities/stage-lead-chunk.js';
import { attachRunTable, createRunStagingTable, runCopyTarget } from '../../activities/sql/run-tables.js';
import type { PoolClient } from '../../db/pool.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { loadModel, type LoadedModel } from '../../models/load-model.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness;
let model: LoadedModel;
beforeAll(async () => {
  h = await makeHarness({}, { worker: false });
  model = await loadModel(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));
  await h.seed(3_000, { seed: 5, messyRate: 0.1 });
});
afterAll(async () => {
  await h?.close();
});

const source = parseLeadsTable('public.leads');
const noActivity = { heartbeat() {}, throwIfCancelled() {} };

async function withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await h.rt.pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** A run whose one chunk is every lead, extracted with the model. */
async function snapshot(runId: string): Promise<void> {
  await h.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_sha256, chunks, extracted_at)
     values ($1, 'lead-scoring', '2026-11-26', 'scoring', 'test', $2, 1, now())`,
    [runId, model.sha256],
  );
  await h.query('insert into scoring.run_leads (run_id, chunk, lead_ids) select $1, 0, array_agg(lead_id order by lead_id) from public.leads', [runId]);
}

/** Scores and stages chunk 0 of the run, committed. */
const stage = (runId: string) => withClient(async (client) => {
  await client.query('begin');
  const counts = await stageLeadChunk(client, { runId, chunk: 0, model, source, activity: noActivity, started: Date.now() });
  await client.query('commit');
  return counts;
});

/** The run's staged rows as analysts' queries see them, and the runs those rows name. */
async function staged(runId: string, from = 'scoring.staged_scores') {
  const rows = await h.query(`select lead_id::text, source_updated_at::text, bucket, score from ${from} where run_id = $1 order by lead_id`, [runId]);
  const [{ n }] = await h.query<{ n: number }>(`select count(*)::int as n from ${from}`) as [{ n: number }];
  return { rows, all: n };
}

const tableOf = async (runId: string) => `scoring.${pg.escapeIdentifier((await h.query<{ name: string }>('select scoring.run_table_name($1) as name', [runId]))[0]!.name)}`;

describe('a chunk staged into its run\'s own table', () => {
  it('is copied into that table without the run id, which the table supplies, and stages what a run without a table of its own stages', async () => {
    await snapshot('own-table');
    await snapshot('no-table');
    const table = await withClient((client) => createRunStagingTable(client, 'own-table'));
    expect(await withClient((client) => runCopyTarget(client, 'own-table'))).toEqual(table);
    expect(await withClient((client) => runCopyTarget(client, 'no-table'))).toBeNull();

    const own = await stage('own-table');
    const none = await stage('no-table');
    expect(own).toEqual(none);
    expect(own.rejected).toBeGreaterThan(100);
    // Every row of the run's table is the run's, and staging holds the same rows for both runs.
    const ownRows = await staged('own-table', table.sql);
    expect(ownRows.all).toBe(own.scored);
    expect(ownRows.rows).toEqual((await staged('no-table', 'scoring.staged_scores_default')).rows);
    expect(ownRows.rows).toEqual((await staged('own-table')).rows);
    const rejected = (runId: string) => h.query('select lead_id::text, source_updated_at::text, reason from scoring.rejected_leads where run_id = $1 order by lead_id', [runId]);
    expect(await rejected('own-table')).toEqual(await rejected('no-table'));

    // A row written into the table without a run id is the run's.
    await h.query(`insert into ${table.sql} (lead_id, chunk, score, bucket, scored_at) values (-1, 0, 0.5, 'warm', now())`);
    expect(await h.query('select run_id from scoring.staged_scores where lead_id = -1')).toEqual([{ run_id: 'own-table' }]);
    await h.query(`delete from ${table.sql} where lead_id = -1`);

    // Its check on the run id still spares attaching it to history a scan of its rows.
    const notices: string[] = [];
    await withClient(async (client) => {
      const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
      client.on('notice', onNotice);
      try {
        await client.query('begin');
        await client.query('set local client_min_messages = debug1');
        await attachRunTable(client, { runId: 'own-table', table, history: 'scoring.lead_score_history_rows' });
      } finally {
        await client.query('rollback');
        client.off('notice', onNotice);
      }
    });
    expect(notices).toContain(`partition constraint for table "${table.name}" is implied by existing constraints`);
  });

  it('made before tables supplied their run id (by an older worker), or supplying another run\'s, takes the rows with the run id on each', async () => {
    await snapshot('older-table');
    await snapshot('other-default');
    const older = await tableOf('older-table');
    await h.query(`create table ${older} partition of scoring.staged_scores (constraint run_only check (run_id = 'older-table')) for values in ('older-table')`);
    const other = await tableOf('other-default');
    await h.query(`create table ${other} partition of scoring.staged_scores (run_id default 'older-table', constraint run_only check (run_id = 'other-default')) for values in ('other-default')`);
    for (const [runId, table] of [['older-table', older], ['other-default', other]] as const) {
      expect(await withClient((client) => runCopyTarget(client, runId))).toBeNull();
      const counts = await stage(runId);
      expect(counts.scored).toBeGreaterThan(2_000);
      expect((await staged(runId, table)).all).toBe(counts.scored);
      expect((await staged(runId, table)).rows.length).toBe(counts.scored);
    }
  });
});
