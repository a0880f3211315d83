import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, inject } from 'vitest';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import path from 'node:path';
import { withTransaction } from '../../db/pool.js';
import { migrate } from '../../db/migrate.js';
import { pruneRetention } from '../../activities/sql/prune-retention.js';
import { makeLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { createDatabaseIfMissing } from '../../services/embedded-postgres.js';
import { startRun } from '../../workers/run-pipeline.js';
import { approvalQuery, decideUpdate } from '../../workflows/gate.js';
import type { PipelineResult } from '../../workflows/pipeline.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';

const harnesses: Harness[] = [];
const holders: pg.Client[] = [];
afterEach(async () => {
  for (const c of holders.splice(0)) await c.end();
  for (const h of harnesses.splice(0)) await h.close();
});


/** The run's own table: its oid, which table it is a partition of, its rows and its indexes. */
async function runTable(h: Harness, runId: string) {
  const [row] = await h.query<{ oid: number; parent: string; rows: number; indexes: number }>(
    `select c.oid::int as oid, i.inhparent::regclass::text as parent,
            (select count(*)::int from pg_index x where x.indrelid = c.oid) as indexes
     from pg_class c join pg_inherits i on i.inhrelid = c.oid
     where c.relnamespace = 'scoring'::regnamespace and c.relname = scoring.run_table_name($1)`,
    [runId],
  );
  if (!row) return undefined;
  const [{ n }] = (await h.query<{ n: number }>(`select count(*)::int as n from scoring.${pg.escapeIdentifier(await tableName(h, runId))}`)) as [{ n: number }];
  return { ...row, rows: n };
}

async function tableName(h: Harness, runId: string): Promise<string> {
  return (await h.query<{ name: string }>('select scoring.run_table_name($1) as name', [runId]))[0]!.name;
}

/**
 * A published first run of 2,000 leads on `first`, then a second the day after whose scores drifted, held
 * at the quality gate. Each test takes its own dates: workflow ids are unique within the file's namespace.
 */
async function secondRunHeldAtGate(first: string, second: string) {
  const h = await makeHarness();
  harnesses.push(h);
  await h.seed(2000, { seed: 11 });
  await h.run(first, { crm: false });
  await h.query('update public.leads set demo_requested = true, site_visits_30d = 30, days_since_last_activity = 0, updated_at = now()');
  const handle = await startRun(h.rt, { asOf: second, full: false, crm: false });
  await waitForQuery(h, `select status = 'awaiting-approval' as ok from scoring.pipeline_runs where run_id = 'lead-scoring-${second}'`);
  // The audit row says so a moment before the workflow takes decisions.
  while (!(await handle.query(approvalQuery)).awaiting) await new Promise((r) => setTimeout(r, 100));
  return { h, handle, firstRun: `lead-scoring-${first}`, run: `lead-scoring-${second}` };
}

describe('each score is written once', () => {
  it('scores a run into a table of its own under staging, and publishing moves that very table into history with its indexes', async () => {
    const { h, handle, run: RUN } = await secondRunHeldAtGate('2026-10-01', '2026-10-02');
    const staged = await runTable(h, RUN);
    expect(staged).toMatchObject({ parent: 'scoring.staged_scores', rows: 2000, indexes: 0 });
    expect(await h.query('select count(*)::int as n from scoring.staged_scores_default')).toEqual([{ n: 0 }]);
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history where run_id = $1', [RUN])).toEqual([{ n: 0 }]);

    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'erin', reason: 'expected drift' }] });
    const result = (await handle.result()) as PipelineResult;
    expect(result.published).toBe(2000);

    expect(await runTable(h, RUN)).toEqual({ oid: staged!.oid, parent: 'scoring.lead_score_history_rows', rows: 2000, indexes: 2 });
    expect(await h.query('select count(*)::int as n from scoring.staged_scores')).toEqual([{ n: 0 }]);
    const [history] = await h.query<{ n: number; chunks: number; models: number }>(
      'select count(*)::int as n, count(distinct chunk)::int as chunks, count(distinct (model_version, model_sha256))::int as models from scoring.lead_score_history where run_id = $1', [RUN]);
    expect(history).toEqual({ n: 2000, chunks: Math.ceil(2000 / h.config.scoring.chunkSize), models: 1 });
    const differ = await h.query(
      `select count(*)::int as n from scoring.lead_scores s join scoring.lead_score_history h using (run_id, lead_id)
       where s.score <> h.score or s.bucket <> h.bucket or s.model_sha256 <> h.model_sha256`);
    expect(differ).toEqual([{ n: 0 }]);
  });

  it('drops the staging table of a run that never published once it is past retention, and keeps published runs\' history', async () => {
    const { h, handle, firstRun, run: RUN } = await secondRunHeldAtGate('2026-10-11', '2026-10-12');
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'reject', by: 'erin', reason: 'not today' }] });
    await handle.result();
    expect(await runTable(h, RUN)).toMatchObject({ parent: 'scoring.staged_scores', rows: 2000 });

    const pruned = await withTransaction(h.rt.pool, (client) => pruneRetention(client, 0));
    expect(pruned).toMatchObject({ stagedScores: 2000, stagingTables: 1 });
    expect(await runTable(h, RUN)).toBeUndefined();
    expect(await runTable(h, firstRun)).toMatchObject({ parent: 'scoring.lead_score_history_rows', rows: 2000 });
  });
});

/** Indexes of the run's table as the catalog has them: name, oid, and whether it is a primary key; catalog reads wait on no lock. */
async function indexesOf(h: Harness, runId: string) {
  return h.query<{ name: string; oid: number; primary: boolean }>(
    `select i.relname as name, i.oid::int as oid, x.indisprimary as primary from pg_index x join pg_class i on i.oid = x.indexrelid
     where x.indrelid = to_regclass('scoring.' || quote_ident(scoring.run_table_name($1))) order by i.relname`,
    [runId],
  );
}

/** The parent of the run's table, from the catalog alone. */
async function parentOf(h: Harness, runId: string): Promise<string | undefined> {
  const rows = await h.query<{ parent: string }>(
    `select i.inhparent::regclass::text as parent from pg_inherits i
     where i.inhrelid = to_regclass('scoring.' || quote_ident(scoring.run_table_name($1)))`,
    [runId],
  );
  return rows[0]?.parent;
}

/**
 * Makes the first statement that inserts into scoring.lead_scores_rows from now on wait, inside its transaction,
 * for an advisory lock a client of the test holds; returns that client's release.
 */
async function holdCurrentTableWriteOnce(h: Harness): Promise<{ release(): Promise<void> }> {
  await h.query('create sequence public.hold_once');
  await h.query(`create function public.hold_once() returns trigger language plpgsql as $$
    begin
      if nextval('public.hold_once') = 1 then perform pg_advisory_xact_lock(7014); end if;
      return null;
    end $$`);
  const holder = new pg.Client({ connectionString: h.config.database.url });
  await holder.connect();
  holders.push(holder);
  await holder.query('select pg_advisory_lock(7014)');
  await h.query('create trigger hold_once after insert on scoring.lead_scores_rows for each statement execute function public.hold_once()');
  return { release: async () => { await holder.query('select pg_advisory_unlock(7014)'); } };
}

const HELD = "select count(*) > 0 as ok from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory' and datname = current_database()";

describe('history\'s indexes on a run\'s table', () => {
  it('are built while the publishing transaction writes the current table, and attaching the table to history builds none', async () => {
    const { h, handle, run: RUN } = await secondRunHeldAtGate('2026-10-15', '2026-10-16');
    expect(await indexesOf(h, RUN)).toEqual([]);
    const hold = await holdCurrentTableWriteOnce(h);
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'erin', reason: 'expected drift' }] });
    await waitForQuery(h, HELD);
    await waitForQuery(h, `select count(*) = 2 as ok from pg_index where indrelid = to_regclass('scoring.' || quote_ident(scoring.run_table_name('${RUN}')))`, 30_000);

    // The publishing transaction has written the current table and not committed: readers see nothing of the run.
    const built = await indexesOf(h, RUN);
    expect(await parentOf(h, RUN)).toBe('scoring.staged_scores');
    expect(await h.query('select count(*)::int as n from scoring.lead_scores where run_id = $1', [RUN])).toEqual([{ n: 0 }]);
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history where run_id = $1', [RUN])).toEqual([{ n: 0 }]);
    await hold.release();

    expect(((await handle.result()) as PipelineResult).published).toBe(2000);
    expect(await parentOf(h, RUN)).toBe('scoring.lead_score_history_rows');
    const attached = await indexesOf(h, RUN);
    expect(attached.map((i) => i.oid)).toEqual(built.map((i) => i.oid));
    expect(attached.filter((i) => i.primary)).toHaveLength(1);
    expect(await h.query('select count(*)::int as n from scoring.lead_score_history where run_id = $1', [RUN])).toEqual([{ n: 2000 }]);
  });

  it('built before a publishing transaction that died are kept by the retry, which publishes the run exactly once', async () => {
    const { h, handle, firstRun, run: RUN } = await secondRunHeldAtGate('2026-10-17', '2026-10-18');
    const hold = await holdCurrentTableWriteOnce(h);
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'erin', reason: 'expected drift' }] });
    await waitForQuery(h, HELD);
    await waitForQuery(h, `select count(*) = 2 as ok from pg_index where indrelid = to_regclass('scoring.' || quote_ident(scoring.run_table_name('${RUN}')))`, 30_000);
    const built = await indexesOf(h, RUN);
    // The publishing transaction's connection dies, as in a restart of PostgreSQL: the activity is retried.
    await h.query(`select pg_terminate_backend(pid) from pg_stat_activity
      where wait_event_type = 'Lock' and wait_event = 'advisory' and datname = current_database() and pid <> pg_backend_pid()`);
    await hold.release();

    expect(((await handle.result()) as PipelineResult).published).toBe(2000);
    expect((await indexesOf(h, RUN)).map((i) => i.oid)).toEqual(built.map((i) => i.oid));
    expect(await h.query('select run_id, count(*)::int as n from scoring.lead_score_history group by 1 order by 1')).toEqual([
      { run_id: firstRun, n: 2000 }, { run_id: RUN, n: 2000 },
    ]);
    expect(await h.query('select run_id, count(*)::int as n from scoring.lead_scores group by 1')).toEqual([{ run_id: RUN, n: 2000 }]);
    expect(await h.query("select status, leads_published from scoring.pipeline_runs where run_id = $1", [RUN])).toEqual([{ status: 'published', leads_published: 2000 }]);
  });
});

describe('the current-score table after a large run', () => {
  it('holds each lead\'s newest score after 60,000 leads into an empty table and a full rescore over it, keeping scores made from newer versions of a lead', async () => {
    const h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '20000' });
    harnesses.push(h);
    await h.seed(60_000, { seed: 5 });
    // Statistics that say "empty", as after a fresh install's vacuum: a plan that trusted them would scan the table once per row.
    await h.query('vacuum analyze scoring.lead_scores_rows');
    await h.run('2026-10-21', { crm: false });
    expect(await h.query('select count(*)::int as n, count(distinct run_id)::int as runs from scoring.lead_scores')).toEqual([{ n: 60_000, runs: 1 }]);

    // Scores of 100 leads made from a version of the lead newer than the one the next run will read.
    await h.query("update scoring.lead_scores_rows set source_updated_at = source_updated_at + interval '1 day', score = -1 where lead_id % 600 = 0");
    const full = await h.run('2026-10-22', { crm: false, full: true });
    expect(full.published).toBe(59_900);
    expect(await h.query(
      `select run_id, (score = -1) as kept, count(*)::int as n from scoring.lead_scores group by 1, 2 order by 1`,
    )).toEqual([
      { run_id: 'lead-scoring-2026-10-21', kept: true, n: 100 },
      { run_id: 'lead-scoring-2026-10-22-full', kept: false, n: 59_900 },
    ]);
    const differ = await h.query(
      `select count(*)::int as n from scoring.lead_scores s join scoring.lead_score_history h using (run_id, lead_id)
       where s.score <> -1 and (s.score <> h.score or s.bucket <> h.bucket or s.source_updated_at is distinct from h.source_updated_at)`);
    expect(differ).toEqual([{ n: 0 }]);
  });
});

describe('migration 013', () => {
  it('moves history and staged scores written before it into the partitioned tables, one history partition per run', async () => {
    const database = `m_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const admin = inject('adminDatabaseUrl');
    await createDatabaseIfMissing(admin, database);
    const url = admin.replace(/\/[^/]+$/, `/${database}`);
    await runner({
      databaseUrl: url, dir: path.join(PROJECT_ROOT, 'db', 'migrations'), direction: 'up', count: 12,
      migrationsTable: 'schema_migrations', migrationsSchema: 'scoring', createMigrationsSchema: true, checkOrder: true, log: () => {},
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const run of ['lead-scoring-2026-01-01', 'lead-scoring-2026-01-02']) {
        await client.query(
          `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_version, model_sha256)
           values ($1, 'lead-scoring', right($1, 10)::date, 'published', 'test', '1.0.0', 'abc')`, [run]);
        await client.query(
          `insert into scoring.lead_score_history (run_id, lead_id, score, bucket, model_version, model_sha256, scored_at)
           select $1, id, 0.5, 'warm', '1.0.0', 'abc', now() from generate_series(1, 50) id`, [run]);
      }
      await client.query(
        `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_version, model_sha256)
         values ('lead-scoring-2026-01-03', 'lead-scoring', '2026-01-03', 'scoring', 'test', '1.0.0', 'abc')`);
      await client.query(
        `insert into scoring.staged_scores (run_id, lead_id, chunk, score, bucket, scored_at)
         select 'lead-scoring-2026-01-03', id, 0, 0.5, 'warm', now() from generate_series(1, 7) id`);

      expect(await migrate(url, makeLogger('silent'))).toContain('013_scores_written_once');

      const { rows: parts } = await client.query(
        `select c.relname, count(h.*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
         join scoring.lead_score_history_rows h on h.tableoid = c.oid
         where i.inhparent = 'scoring.lead_score_history_rows'::regclass group by 1 order by 1`);
      expect(parts).toEqual([
        { relname: (await client.query("select scoring.run_table_name('lead-scoring-2026-01-01') as n")).rows[0].n, n: 50 },
        { relname: (await client.query("select scoring.run_table_name('lead-scoring-2026-01-02') as n")).rows[0].n, n: 50 },
      ]);
      expect((await client.query('select count(*)::int as n from scoring.staged_scores_default')).rows).toEqual([{ n: 7 }]);
      expect((await client.query('select model_version, model_sha256, count(*)::int as n from scoring.lead_score_history group by 1, 2')).rows)
        .toEqual([{ model_version: '1.0.0', model_sha256: 'abc', n: 100 }]);
    } finally {
      await client.end();
    }
  });
});
