import type { Pool, PoolClient } from '../../db/pool.js';
import { RollbackTargetInvalid } from '../../lib/errors.js';
import type { LeadsTable } from '../../source/leads-table.js';
import type { SinkTables } from './publish-run.js';
import { RECS_PUBLISHED_CHANNEL } from './publish-recs.js';
import { currentColumns, currentShape, overwriteFrom } from './current-shape.js';

/** The run a rollback republishes, as its audit row has it. */
export interface RollbackTarget {
  run_id: string;
  model_name: string | null;
  model_version: string | null;
  model_sha256: string | null;
}

/**
 * Finds the published run of `pipeline` named `toRun` (a rollback run stands for the run it republished).
 * Unknown, another pipeline's, never published, or (top-k, `versioned` given) no longer kept: RollbackTargetInvalid
 * naming what to do instead.
 */
export async function findRollbackTarget(db: Pool | PoolClient, p: { pipeline: string; toRun: string; versioned?: LeadsTable }): Promise<RollbackTarget> {
  const runs = `scoreflow runs --pipeline ${p.pipeline}`;
  const { rows } = await db.query<RollbackTarget & { pipeline: string; status: string; kind: string; rolled_back_from: string | null }>(
    `select r.run_id, r.pipeline, r.status, r.kind, r.rolled_back_from, o.model_name, o.model_version, o.model_sha256
     from scoring.pipeline_runs r join scoring.pipeline_runs o on o.run_id = coalesce(r.rolled_back_from, r.run_id)
     where r.run_id = $1`,
    [p.toRun],
  );
  const run = rows[0];
  if (!run) throw new RollbackTargetInvalid(`no run "${p.toRun}" in scoring.pipeline_runs; list the runs you can roll back to with \`${runs}\``);
  if (run.pipeline !== p.pipeline) throw new RollbackTargetInvalid(`run ${p.toRun} belongs to pipeline ${run.pipeline}, not ${p.pipeline}; pass --pipeline ${run.pipeline}`);
  if (run.status !== 'published') {
    throw new RollbackTargetInvalid(`run ${p.toRun} was never published (status ${run.status}), so it has no outputs to republish; pick a published run from \`${runs}\``);
  }
  const target = { ...run, run_id: run.rolled_back_from ?? run.run_id };
  if (p.versioned) {
    const kept = await keptRuns(db, p.pipeline, p.versioned.sql);
    if (!kept.includes(target.run_id)) {
      throw new RollbackTargetInvalid(`the rows of run ${target.run_id} are no longer kept in ${p.versioned.schema}.${p.versioned.table} (SCOREFLOW_RECS_KEEP_RUNS keeps the last published runs: ${kept.join(', ') || 'none'}); roll back to one of those`);
    }
  }
  return target;
}

/** Published runs of a top-k pipeline whose rows are still in its versioned table, newest first. */
async function keptRuns(db: Pool | PoolClient, pipeline: string, versioned: string): Promise<string[]> {
  const { rows } = await db.query<{ run_id: string }>(
    `select r.run_id from scoring.pipeline_runs r
     where r.pipeline = $1 and r.status = 'published' and r.kind = 'run' and exists (select 1 from ${versioned} c where c.run_id = r.run_id)
     order by r.finished_at desc, r.run_id desc`,
    [pipeline],
  );
  return rows.map((r) => r.run_id);
}

/**
 * Puts back the current table as it stood once `target` was published, in the caller's transaction: per key,
 * the history row that publication left current (published runs of the pipeline up to the target, the newest
 * source version first), every column as it was (the model too, where the table names it per row; see
 * currentShape); keys first scored after the target are removed. The watermark forgets its high water, so
 * the next run compares every source row with the restored table.
 */
export async function restoreLeadScores(
  client: PoolClient,
  p: { pipeline: string; target: string; runId: string; sinks: SinkTables },
): Promise<{ restored: number; removed: number }> {
  await client.query(
    `create temporary table rollback_state on commit drop as
     select distinct on (h.lead_id) h.lead_id, h.score, h.bucket, r.model_name, r.model_version, r.model_sha256, h.run_id, h.source_updated_at, h.scored_at
     from ${p.sinks.history} h
     join scoring.pipeline_runs r on r.run_id = h.run_id
     cross join (select finished_at, run_id from scoring.pipeline_runs where run_id = $2) t
     where r.pipeline = $1 and r.kind = 'run' and r.status = 'published' and (r.finished_at, r.run_id) <= (t.finished_at, t.run_id)
     order by h.lead_id, h.source_updated_at desc nulls first, r.finished_at desc, r.run_id desc`,
    [p.pipeline, p.target],
  );
  const columns = currentColumns(await currentShape(client, p.sinks.current));
  const removed = await client.query(`delete from ${p.sinks.current} c where not exists (select 1 from rollback_state s where s.lead_id = c.lead_id)`);
  const restored = await client.query(
    `insert into ${p.sinks.current} as c (${columns.join(', ')})
     select ${columns.map((c) => (c === 'model_name' ? "coalesce(model_name, '')" : c)).join(', ')} from rollback_state
     on conflict (lead_id) do update set ${overwriteFrom(columns, 'excluded')}`,
  );
  await client.query(
    `update scoring.watermarks set source_high_water = null, newest_handled = null, model_sha256 = coalesce((select model_sha256 from scoring.pipeline_runs where run_id = $2), model_sha256),
       run_id = $3, updated_at = now()
     where pipeline = $1`,
    [p.pipeline, p.target, p.runId],
  );
  return { restored: restored.rowCount ?? 0, removed: removed.rowCount ?? 0 };
}

/** Points the top-k pipeline's readers' view back at `target`'s kept rows (the pointer recs.published_run), in the caller's transaction. */
export async function restoreRecsPointer(
  client: PoolClient,
  p: { pipeline: string; target: string; versioned: string },
): Promise<{ restored: number; removed: number }> {
  await client.query(
    `insert into recs.published_run (pipeline, run_id) values ($1, $2)
     on conflict (pipeline) do update set run_id = excluded.run_id, published_at = now()`,
    [p.pipeline, p.target],
  );
  // Services reading the pointer (scoreflow serve) switch back at commit, as after a publication.
  await client.query('select pg_notify($1, $2)', [RECS_PUBLISHED_CHANNEL, JSON.stringify({ pipeline: p.pipeline, runId: p.target })]);
  const { rows } = await client.query<{ n: number }>(`select count(distinct customer_id)::int as n from ${p.versioned} where run_id = $1`, [p.target]);
  return { restored: rows[0]!.n, removed: 0 };
}
