import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { migrate } from '../../db/migrate.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { makeLogger } from '../../lib/logger.js';
import { createDatabaseIfMissing } from '../../services/embedded-postgres.js';

/** A new, empty database on the test server; its URL. */
async function freshDatabase(): Promise<string> {
  const database = `m_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = inject('adminDatabaseUrl');
  await createDatabaseIfMissing(admin, database);
  return admin.replace(/\/[^/]+$/, `/${database}`);
}

/** Runs `work` with a client connected to a new, empty database (see freshDatabase), and closes it. */
async function onFreshDatabase(work: (client: pg.Client, url: string) => Promise<void>): Promise<void> {
  const url = await freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client, url);
  } finally {
    await client.end();
  }
}

/** Applies (up) or reverts (down) `count` migrations, one transaction each. */
function migrationSteps(url: string, direction: 'up' | 'down', count: number) {
  return runner({
    databaseUrl: url, dir: path.join(PROJECT_ROOT, 'db', 'migrations'), direction, count,
    migrationsTable: 'schema_migrations', migrationsSchema: 'scoring', createMigrationsSchema: true, checkOrder: true, log: () => {},
  });
}

/** A table's or view's columns, in order. */
async function columnsOf(client: pg.Client, table: string): Promise<string[]> {
  const { rows } = await client.query<{ c: string[] }>(
    'select array_agg(attname::text order by attnum) as c from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped', [table]);
  return rows[0]!.c;
}

describe('migrations', () => {
  it('can run from two processes at once and twice in a row, applying each migration exactly once', async () => {
    const url = await freshDatabase();
    const log = makeLogger('silent');

    const [a, b] = await Promise.all([migrate(url, log), migrate(url, log)]);
    const again = await migrate(url, log);

    expect([...a, ...b].sort()).toEqual(['001_scoring_schema', '002_crm_sync', '003_cheaper_bulk_writes', '004_crm_target', '005_cancelled_runs', '006_model_store', '007_snapshot_time', '008_crm_not_found', '009_recommendations', '010_crm_per_pipeline', '011_quality_gates', '012_challengers_rollback', '013_scores_written_once', '014_cheaper_run_fixed_costs', '015_snapshot_per_chunk', '016_chunk_aggregates', '017_history_names_model_once', '018_current_scores_fillfactor', '019_current_names_model_once', '020_newest_handled_change', '021_crm_outbox_per_run']);
    expect(again).toEqual([]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("select table_name from information_schema.tables where table_schema = 'scoring' order by 1");
      expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual([
        'crm_batches', 'crm_daily_usage', 'crm_outbox', 'crm_rate_log', 'crm_sync_failures', 'crm_sync_state',
        'lead_score_history', 'lead_score_history_rows', 'lead_scores', 'lead_scores_rows', 'model_changes', 'model_store', 'pipeline_runs', 'rejected_leads', 'run_chunks', 'run_gate_reports', 'run_leads',
        'schema_migrations', 'shadow_chunks', 'shadow_runs', 'shadow_scores', 'staged_scores', 'staged_scores_default', 'watermarks',
      ]);
      const { rows: applied } = await client.query('select name from scoring.schema_migrations order by id');
      expect(applied).toEqual([{ name: '001_scoring_schema' }, { name: '002_crm_sync' }, { name: '003_cheaper_bulk_writes' }, { name: '004_crm_target' }, { name: '005_cancelled_runs' }, { name: '006_model_store' }, { name: '007_snapshot_time' }, { name: '008_crm_not_found' }, { name: '009_recommendations' }, { name: '010_crm_per_pipeline' }, { name: '011_quality_gates' }, { name: '012_challengers_rollback' }, { name: '013_scores_written_once' }, { name: '014_cheaper_run_fixed_costs' }, { name: '015_snapshot_per_chunk' }, { name: '016_chunk_aggregates' }, { name: '017_history_names_model_once' }, { name: '018_current_scores_fillfactor' }, { name: '019_current_names_model_once' }, { name: '020_newest_handled_change' }, { name: '021_crm_outbox_per_run' }]);
    } finally {
      await client.end();
    }
  });

  it('015 keeps the snapshot of a run extracted before it: one row per chunk with its leads in key order, and going down gives the rows back', async () => {
    await onFreshDatabase(async (client, url) => {
      await migrationSteps(url, 'up', 14);
      const before = [['a', 5, 1], ['a', 1, 0], ['a', 3, 0], ['a', 2, 0], ['a', 4, 1], ['b', 7, 0]];
      await client.query('insert into scoring.run_leads (run_id, lead_id, chunk) select * from unnest($1::text[], $2::bigint[], $3::int[])',
        [before.map((r) => r[0]), before.map((r) => r[1]), before.map((r) => r[2])]);

      await migrationSteps(url, 'up', 1);
      const { rows: chunks } = await client.query('select run_id, chunk, lead_ids::text as ids from scoring.run_leads order by run_id, chunk');
      expect(chunks).toEqual([{ run_id: 'a', chunk: 0, ids: '{1,2,3}' }, { run_id: 'a', chunk: 1, ids: '{4,5}' }, { run_id: 'b', chunk: 0, ids: '{7}' }]);

      await migrationSteps(url, 'down', 1);
      const { rows: back } = await client.query('select run_id, lead_id::int as lead_id, chunk from scoring.run_leads order by run_id, lead_id');
      expect(back).toEqual(before.map(([run_id, lead_id, chunk]) => ({ run_id, lead_id, chunk })).sort((x, y) => `${x.run_id}${x.lead_id}`.localeCompare(`${y.run_id}${y.lead_id}`)));
    });
  });

  it('017 names each run\'s model once: history and staging keep their rows without model columns, the view shows them as before, and going down gives the columns back', async () => {
    await onFreshDatabase(async (client, url) => {
      await migrationSteps(url, 'up', 16);
      // Two published runs with history (one whose audit row lost its model), and one run still staging into its own table.
      await client.query(
        `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_version, model_sha256)
         values ('r1', 'lead-scoring', '2026-01-01', 'published', 'test', '1.0.0', 'aaa'),
                ('r2', 'lead-scoring', '2026-01-02', 'published', 'test', null, null),
                ('r3', 'lead-scoring', '2026-01-03', 'scoring', 'test', '1.2.0', 'ccc')`);
      for (const [run, version, sha] of [['r1', '1.0.0', 'aaa'], ['r2', '1.1.0', 'bbb']]) {
        await client.query(`create table scoring.${run}_part partition of scoring.lead_score_history for values in ('${run}')`);
        await client.query(
          `insert into scoring.lead_score_history (run_id, lead_id, chunk, score, bucket, model_version, model_sha256, source_updated_at, scored_at)
           select $1, id, id % 2, id / 10.0, 'warm', $2, $3, '2026-01-01T00:00:00Z'::timestamptz + id * interval '1 hour', '2026-01-05T06:00:00Z'
           from generate_series(1, 5) id`, [run, version, sha]);
      }
      await client.query(
        `create table scoring.r3_staging partition of scoring.staged_scores (model_version not null, model_sha256 not null) for values in ('r3')`);
      await client.query(
        `insert into scoring.staged_scores (run_id, lead_id, chunk, score, bucket, model_version, model_sha256, scored_at)
         select 'r3', id, 0, 0.5, 'warm', '1.2.0', 'ccc', '2026-01-05T06:00:00Z' from generate_series(1, 3) id`);
      const history = 'select * from scoring.lead_score_history order by run_id, lead_id';
      const staged = 'select * from scoring.staged_scores order by run_id, lead_id';
      const historyBefore = (await client.query(history)).rows;
      const stagedBefore = (await client.query(staged)).rows;
      const columns = (table: string) => columnsOf(client, table);
      const historyColumns = await columns('scoring.lead_score_history');

      await migrationSteps(url, 'up', 1);
      expect((await client.query(history)).rows).toEqual(historyBefore);
      expect(await columns('scoring.lead_score_history')).toEqual(historyColumns);
      for (const table of ['scoring.lead_score_history_rows', 'scoring.r1_part', 'scoring.staged_scores', 'scoring.r3_staging']) {
        expect(await columns(table)).not.toContain('model_sha256');
        expect(await columns(table)).not.toContain('model_version');
      }
      expect((await client.query("select model_version, model_sha256 from scoring.pipeline_runs where run_id = 'r2'")).rows).toEqual([{ model_version: '1.1.0', model_sha256: 'bbb' }]);
      expect((await client.query("select relkind from pg_class where oid = 'scoring.lead_score_history'::regclass")).rows).toEqual([{ relkind: 'v' }]);

      await migrationSteps(url, 'down', 1);
      expect((await client.query(history)).rows).toEqual(historyBefore);
      expect(await columns('scoring.lead_score_history')).toEqual(historyColumns);
      expect((await client.query("select pg_get_partkeydef('scoring.lead_score_history'::regclass) as key")).rows).toEqual([{ key: 'LIST (run_id)' }]);
      expect((await client.query(staged)).rows).toEqual(stagedBefore);
      await expect(client.query("insert into scoring.staged_scores (run_id, lead_id, chunk, score, bucket, scored_at) values ('r3', 9, 0, 0.5, 'warm', now())"))
        .rejects.toThrow(/model_version/);
    });
  });

  it('017 stops, naming the runs, when a run\'s history rows name another model than its audit row', async () => {
    await onFreshDatabase(async (client, url) => {
      await migrationSteps(url, 'up', 16);
      await client.query(
        `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_version, model_sha256)
         values ('r1', 'lead-scoring', '2026-01-01', 'published', 'test', '1.0.0', 'aaa')`);
      await client.query("create table scoring.r1_part partition of scoring.lead_score_history for values in ('r1')");
      await client.query(
        `insert into scoring.lead_score_history (run_id, lead_id, score, bucket, model_version, model_sha256, scored_at)
         values ('r1', 1, 0.5, 'warm', '1.0.0', 'aaa', now()), ('r1', 2, 0.5, 'warm', '0.9.0', 'zzz', now())`);
      await expect(migrationSteps(url, 'up', 1)).rejects.toThrow(/history rows of runs r1 name another model/);
      expect((await client.query('select count(*)::int as n from scoring.lead_score_history')).rows).toEqual([{ n: 2 }]);
    });
  });
  it('019 names each current score\'s model once: the rows keep no model columns, the view shows them as before, and going down gives the table back', async () => {
    await onFreshDatabase(async (client, url) => {
      await migrationSteps(url, 'up', 18);
      // Two runs with current scores (one whose audit row lost its model; one rolled back to, written with an empty model name).
      await client.query(
        `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
         values ('r1', 'lead-scoring', '2026-01-01', 'published', 'test', 'lead-scoring', '1.0.0', 'aaa'),
                ('r2', 'lead-scoring', '2026-01-02', 'published', 'test', null, null, null)`);
      await client.query(
        `insert into scoring.lead_scores (lead_id, score, bucket, model_name, model_version, model_sha256, run_id, source_updated_at, scored_at)
         select id, id / 10.0, 'warm', case when id <= 3 then 'lead-scoring' else 'recent' end, case when id <= 3 then '1.0.0' else '1.1.0' end,
                case when id <= 3 then 'aaa' else 'bbb' end, case when id <= 3 then 'r1' else 'r2' end,
                '2026-01-01T00:00:00Z'::timestamptz + id * interval '1 hour', '2026-01-05T06:00:00Z'
         from generate_series(1, 5) id`);
      const scores = 'select * from scoring.lead_scores order by lead_id';
      const before = (await client.query(scores)).rows;
      const columns = (table: string) => columnsOf(client, table);
      const viewColumns = await columns('scoring.lead_scores');

      await migrationSteps(url, 'up', 1);
      expect((await client.query(scores)).rows).toEqual(before);
      expect(await columns('scoring.lead_scores')).toEqual(viewColumns);
      expect(await columns('scoring.lead_scores_rows')).toEqual(['lead_id', 'score', 'bucket', 'run_id', 'source_updated_at', 'scored_at']);
      expect((await client.query("select relkind from pg_class where oid = 'scoring.lead_scores'::regclass")).rows).toEqual([{ relkind: 'v' }]);
      expect((await client.query("select reloptions from pg_class where oid = 'scoring.lead_scores_rows'::regclass")).rows).toEqual([{ reloptions: ['fillfactor=90'] }]);
      expect((await client.query("select model_name, model_version, model_sha256 from scoring.pipeline_runs where run_id = 'r2'")).rows)
        .toEqual([{ model_name: 'recent', model_version: '1.1.0', model_sha256: 'bbb' }]);
      await expect(client.query("insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, scored_at) values (1, 0.5, 'warm', 'r1', now())"))
        .rejects.toThrow(/lead_scores_rows_pkey/);

      await migrationSteps(url, 'down', 1);
      expect((await client.query(scores)).rows).toEqual(before);
      expect(await columns('scoring.lead_scores')).toEqual(viewColumns);
      expect((await client.query("select relkind, reloptions from pg_class where oid = 'scoring.lead_scores'::regclass")).rows).toEqual([{ relkind: 'r', reloptions: ['fillfactor=90'] }]);
      expect((await client.query("select to_regclass('scoring.lead_scores_rows') as t")).rows).toEqual([{ t: null }]);
      await expect(client.query("insert into scoring.lead_scores (lead_id, score, bucket, model_name, model_version, model_sha256, run_id, scored_at) values (1, 0.5, 'warm', 'm', 'v', 's', 'r1', now())"))
        .rejects.toThrow(/lead_scores_pkey/);
    });
  });

  it('019 stops, naming the runs, when a run\'s current scores name another model than its audit row', async () => {
    await onFreshDatabase(async (client, url) => {
      await migrationSteps(url, 'up', 18);
      await client.query(
        `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
         values ('r1', 'lead-scoring', '2026-01-01', 'published', 'test', 'lead-scoring', '1.0.0', 'aaa')`);
      await client.query(
        `insert into scoring.lead_scores (lead_id, score, bucket, model_name, model_version, model_sha256, run_id, scored_at)
         values (1, 0.5, 'warm', 'lead-scoring', '1.0.0', 'aaa', 'r1', now()), (2, 0.5, 'warm', 'lead-scoring', '0.9.0', 'zzz', 'r1', now()),
                (3, 0.5, 'warm', 'lead-scoring', '1.0.0', 'aaa', 'r0', now())`);
      await expect(migrationSteps(url, 'up', 1)).rejects.toThrow(/current scores \(scoring.lead_scores\) of runs r0, r1 name another model/);
      expect((await client.query("select relkind from pg_class where oid = 'scoring.lead_scores'::regclass")).rows).toEqual([{ relkind: 'r' }]);
      expect((await client.query('select count(*)::int as n from scoring.lead_scores')).rows).toEqual([{ n: 3 }]);
    });
  });

  it('021 moves each run\'s outbox into a table of its own under scoring.crm_outbox, keyed as before, and going down gives one table back', async () => {
    await onFreshDatabase(async (client, url) => {
      await migrationSteps(url, 'up', 20);
      await client.query(
        `insert into scoring.crm_outbox (run_id, lead_id, email, score, bucket, model_version, scored_at, partition, batch, items)
         select run_id, id, 'lead' || id || '@example.com', id / 10.0, 'warm', '1.0.0', '2026-01-05T06:00:00Z', id % 2, id / 4, null
         from unnest(array['lead-scoring-2026-01-01', 'Recs 2026/01/02']) run_id, generate_series(1, 6) id`);
      const outbox = 'select * from scoring.crm_outbox order by run_id, lead_id';
      const before = (await client.query(outbox)).rows;
      const columns = await columnsOf(client, 'scoring.crm_outbox');
      const key = "select pg_get_constraintdef(oid) as key from pg_constraint where conrelid = 'scoring.crm_outbox'::regclass and contype = 'p'";
      const keyBefore = (await client.query(key)).rows;

      await migrationSteps(url, 'up', 1);
      expect((await client.query(outbox)).rows).toEqual(before);
      expect(await columnsOf(client, 'scoring.crm_outbox')).toEqual(columns);
      expect((await client.query(key)).rows).toEqual(keyBefore);
      const { rows: tables } = await client.query(
        `select tableoid::regclass::text as tab, count(*)::int as n from scoring.crm_outbox group by 1 order by 1`);
      expect(tables).toEqual([{ tab: 'scoring.outbox_lead_scoring_2026_01_01_d5f2a1f1', n: 6 }, { tab: 'scoring.outbox_recs_2026_01_02_543e59b3', n: 6 }]);

      await migrationSteps(url, 'down', 1);
      expect((await client.query(outbox)).rows).toEqual(before);
      expect((await client.query("select relkind from pg_class where oid = 'scoring.crm_outbox'::regclass")).rows).toEqual([{ relkind: 'r' }]);
      expect((await client.query(key)).rows).toEqual(keyBefore);
    });
  });
});
