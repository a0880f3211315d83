import type { PoolClient } from '../../db/pool.js';
import { chunksRecordedAggregates } from './stage-chunk.js';
import { attachRunTable, createRunHistoryPartition, historyShape, runStagingTable, type HistoryShape } from './run-tables.js';
import { useBulkWorkMem } from './bulk-work-mem.js';
import { currentColumns, currentShape, MODEL_COLUMNS, overwriteFrom, type CurrentShape } from './current-shape.js';

/** A pipeline's sink tables (current result per key, every result), validated and quoted for SQL. */
export interface SinkTables {
  current: string;
  history: string;
}

export interface PublishCounts {
  published: number;
  scored: number;
  rejected: number;
}

/**
 * Publishes a fully staged run, inside the caller's transaction, into the pipeline's sink tables: history
 * rows, the current score per key (never replacing a score made from a newer version of the lead), the
 * watermark (never past the run's snapshot time), the audit row, and the staging emptied. Analysts see all
 * of it at commit or none of it.
 *
 * A run with a table of its own (created at extract) into a history partitioned by run moves that table
 * into history as it is, so its scores are not written a second time (see run-tables.ts); any other run's
 * staged rows are copied into history. The move comes after the current table is written and after
 * `historyIndexes` settles: the caller's build of history's indexes on that table (indexRunTableForHistory),
 * running meanwhile on another connection, which the move then finds ready.
 */
export async function publishStagedRun(
  client: PoolClient,
  p: { runId: string; pipeline: string; sinks: SinkTables; storeStartedAt: number; historyIndexes?: Promise<unknown> },
): Promise<PublishCounts> {
  const { runId, pipeline, sinks, storeStartedAt } = p;
  const own = await runStagingTable(client, runId);
  const shape = await historyShape(client, sinks.history);
  const current = await currentShape(client, sinks.current);
  const moving = shape.partitioned ? own : null;
  if (!moving) await copyStagedIntoHistory(client, { runId, history: sinks.history, shape });
  const scores = moving ? moving.sql : 'scoring.staged_scores';
  const { rows } = await client.query<{ scored: string; rejected: string }>(
    `select (select coalesce(sum(scored), 0) from scoring.run_chunks where run_id = $1) as scored,
            (select count(*) from scoring.rejected_leads where run_id = $1) as rejected`,
    [runId],
  );
  const published = await writeCurrentScores(client, { runId, current: sinks.current, shape: current, scores, rows: Number(rows[0]!.scored) });
  // A source row dated after the snapshot is scored but moves the watermark no further than the snapshot.
  // Chunks that recorded their newest change time spare a pass over the run's rows.
  const newestScored = (await chunksRecordedAggregates(client, runId))
    ? 'select max(high_water) as updated_at from scoring.run_chunks where run_id = $1'
    : `select max(source_updated_at) as updated_at from ${scores} where run_id = $1`;
  // newest_handled is the same maximum, unclamped: the pipeline's first publish knows it; a new model's is learnt by
  // its next morning (learnNewestHandled), and the same model's only grows.
  await client.query(
    `insert into scoring.watermarks as w (pipeline, source_high_water, model_sha256, run_id, newest_handled)
     select $2, case when max(t.updated_at) is not null then least(max(t.updated_at), coalesce(r.snapshot_at, r.extracted_at)) end,
            r.model_sha256, r.run_id, coalesce(max(t.updated_at), '-infinity')
     from scoring.pipeline_runs r
     left join (${newestScored}
                union all select max(source_updated_at) from scoring.rejected_leads where run_id = $1) t on true
     where r.run_id = $1
     group by r.model_sha256, r.run_id, r.snapshot_at, r.extracted_at
     on conflict (pipeline) do update set
       source_high_water = case when w.model_sha256 = excluded.model_sha256
                                then greatest(w.source_high_water, excluded.source_high_water)
                                else excluded.source_high_water end,
       newest_handled = case when w.model_sha256 = excluded.model_sha256 and w.newest_handled is not null
                             then greatest(w.newest_handled, excluded.newest_handled) end,
       model_sha256 = excluded.model_sha256, run_id = excluded.run_id, updated_at = now()`,
    [runId, pipeline],
  );
  if (moving) {
    await p.historyIndexes;
    await attachRunTable(client, { runId, table: moving, history: sinks.history });
  }
  const counts = { published, scored: Number(rows[0]!.scored), rejected: Number(rows[0]!.rejected) };
  await client.query(
    `update scoring.pipeline_runs set status = 'published', leads_scored = $2, leads_rejected = $3, leads_published = $4,
       store_ms = $5, updated_at = now(), finished_at = now(), error_type = null, error_message = null
     where run_id = $1`,
    [runId, counts.scored, counts.rejected, counts.published, Date.now() - storeStartedAt],
  );
  // Empties what staging still holds of the run (nothing once its table moved into history).
  await client.query('delete from scoring.staged_scores where run_id = $1', [runId]);
  if (own && !moving) await client.query(`drop table ${own.sql}`);
  return counts;
}

/** A run at least this large, and a tenth of the current table or more, writes the current table by a join (see writeCurrentScores). */
const BULK_ROWS = 50_000;

/**
 * Writes the run's scores into the current-score table, never replacing a score made from a newer version
 * of the row; returns the rows written. A table that names the model on each row gets the run's on each
 * (see currentShape); lead scoring's does not (the audit row names it), so its scores need no join. A
 * small run upserts (one index probe per row, whatever the table's statistics say). A large one merges,
 * by one hash join of the run's scores with the table: at 1M rows into an empty table 2.8× faster than
 * the upsert. Into a full table, an update of the held keys then an insert of the others joined the two
 * tables twice; the merge joins them once (backend CPU 6.6 → 4.5 s at 1M, with the hash in memory).
 * Nested loops are ruled out because a table whose statistics say "empty" (the first run, or before
 * autovacuum has analysed it) would otherwise be scanned once per row as it fills.
 */
async function writeCurrentScores(
  client: PoolClient,
  p: { runId: string; current: string; shape: CurrentShape; scores: string; rows: number },
): Promise<number> {
  const columns = currentColumns(p.shape);
  const fromRun = new Set<string>(MODEL_COLUMNS);
  const runScores = `select ${columns.map((c) => (fromRun.has(c) ? `r.${c}` : `s.${c}`)).join(', ')}
     from ${p.scores} s ${p.shape.namesModel ? 'join scoring.pipeline_runs r using (run_id) ' : ''}where s.run_id = $1`;
  const notNewer = (current: string, run: string) =>
    `(${current}.source_updated_at is null or ${run}.source_updated_at is null or ${current}.source_updated_at <= ${run}.source_updated_at)`;
  const { rows: [table] } = await client.query<{ estimate: number }>('select greatest(reltuples, 0)::float8 as estimate from pg_class where oid = $1::regclass', [p.current]);
  if (p.rows < BULK_ROWS || p.rows * 10 < table!.estimate) {
    const upserted = await client.query(
      `insert into ${p.current} as ls (${columns.join(', ')})
       ${runScores}
       on conflict (lead_id) do update set ${overwriteFrom(columns, 'excluded')}
       where ${notNewer('ls', 'excluded')}`,
      [p.runId],
    );
    return upserted.rowCount ?? 0;
  }
  await client.query("select set_config('enable_nestloop', 'off', true)");
  await useBulkWorkMem(client);
  const merged = await client.query(
    `merge into ${p.current} ls using (${runScores}) s on ls.lead_id = s.lead_id
     when matched and ${notNewer('ls', 's')} then update set ${overwriteFrom(columns, 's')}
     when not matched then insert (${columns.join(', ')}) values (${columns.map((c) => `s.${c}`).join(', ')})`,
    [p.runId],
  );
  await client.query('reset enable_nestloop; reset work_mem');
  return merged.rowCount ?? 0;
}

/**
 * Copies a run's staged rows into history (a history partitioned by run gets the run's partition first), with
 * the run's model on each row if the history has model columns.
 */
async function copyStagedIntoHistory(client: PoolClient, p: { runId: string; history: string; shape: HistoryShape }): Promise<void> {
  if (p.shape.partitioned) await createRunHistoryPartition(client, p);
  const model = p.shape.namesModel ? ['model_version', 'model_sha256'] : [];
  await client.query(
    `insert into ${p.history} (run_id, lead_id, score, bucket, ${model.map((c) => `${c}, `).join('')}source_updated_at, scored_at)
     select s.run_id, s.lead_id, s.score, s.bucket, ${model.map((c) => `r.${c}, `).join('')}s.source_updated_at, s.scored_at
     from scoring.staged_scores s join scoring.pipeline_runs r using (run_id)
     where s.run_id = $1
     on conflict do nothing`,
    [p.runId],
  );
}

/** Counts of a run that is already published, for an idempotent second publish. */
export async function publishedCounts(client: PoolClient, runId: string): Promise<PublishCounts> {
  const { rows } = await client.query<{ leads_published: number; leads_scored: number; leads_rejected: number }>(
    'select leads_published, leads_scored, leads_rejected from scoring.pipeline_runs where run_id = $1',
    [runId],
  );
  const r = rows[0]!;
  return { published: r.leads_published, scored: r.leads_scored, rejected: r.leads_rejected };
}
