import type { Readable } from 'node:stream';
import pg from 'pg';
import { copyOut } from '../../db/copy-out.js';
import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';
import { modelTest, type ModelTest } from './current-shape.js';
import { keyIsUnique } from './source-key.js';

/** Which leads a run takes: all of them, or only those not yet scored at their current version by this model. */
export type ExtractMode = { kind: 'full' } | { kind: 'unscored'; since?: Date };

/** How the snapshot's statements name the run id, the chunk size and the model's sha256: bind parameters, or literals in a COPY. */
interface SnapshotRefs {
  run: string;
  size: string;
  sha: string;
}
const PARAMS: SnapshotRefs = { run: '$1', size: '$2::int', sha: '$3' };

/**
 * Rows already scored (in the pipeline's current-result table, `test` as modelTest gives it), or already
 * rejected by a published run of the same pipeline, at exactly their current change time by this model: two
 * anti-joins, set-based, for a pass over every row.
 */
const alreadyHandled = (current: string, test: ModelTest, key: string, change: string, refs = PARAMS) => ({
  joins: '',
  filter: `
  not exists (select 1 from ${current} s
              where s.lead_id = l.${key} and ${test.scoredBy('s', refs.sha)} and s.source_updated_at = l.${change})
  and not exists (select 1 from scoring.rejected_leads rj join scoring.pipeline_runs pr using (run_id)
                  where rj.lead_id = l.${key} and rj.source_updated_at = l.${change}
                    and pr.status = 'published' and pr.model_sha256 = ${refs.sha}
                    and pr.pipeline = (select pipeline from scoring.pipeline_runs where run_id = ${refs.run}))`,
});

/**
 * Whether no row can pass alreadyHandled's tests yet, for a current table whose rows name their run rather than their
 * model: no run of this model was ever published. Only a publication, or a rollback to a published run, writes a
 * current row or publishes a rejection, and a published run stays published. A table naming the model per row may
 * hold rows its owner wrote, so it is always tested. This is every lead's first run, and the first after a model
 * change: its snapshot then reads the source's key index alone (10M leads: 0.76-0.81 s against 2.0-2.4 s with the
 * anti-joins, which fetch every row for its change time).
 */
async function nothingHandledYet(client: PoolClient, test: ModelTest, modelSha256: string): Promise<boolean> {
  if (test.perRow) return false;
  const { rows } = await client.query<{ none: boolean }>(
    "select not exists (select 1 from scoring.pipeline_runs where model_sha256 = $1 and status = 'published') as none",
    [modelSha256],
  );
  return rows[0]!.none;
}

/**
 * Whether the row `l` may have been handled: not when it changed after the newest change a published run of the
 * model scored or rejected (scoring.watermarks.newest_handled, once known). Then its probes are skipped (a filter on
 * `l` alone, tested before each probe's index scan). bench:mornings after a checkpoint, 10,000 leads changed of 1M:
 * extract 48-51 ms against 117-141; the morning's upsert now prunes the pages the probes pruned (store 90-111 ms
 * against 51-59), and the morning takes 215-236 ms against 243-267.
 */
const mayBeHandled = (change: string, refs: SnapshotRefs) => `(l.${change} <= (select w.newest_handled from scoring.watermarks w
                       where w.pipeline = (select pipeline from scoring.pipeline_runs where run_id = ${refs.run}) and w.model_sha256 = ${refs.sha})) is not false`;

/**
 * The same test as probes: one index lookup per row into each table (a LATERAL with LIMIT is never turned
 * into a hash join). For the few rows changed since the watermark, instead of hashing the whole current table.
 * Rows changed after the newest handled change are not probed, unless the current table names the model per row
 * (its owner may have written rows itself).
 */
const alreadyHandledByProbes = (current: string, test: ModelTest, key: string, change: string, refs = PARAMS) => {
  const gate = test.perRow ? '' : `${mayBeHandled(change, refs)} and `;
  return {
    joins: `
  left join lateral (select true as hit from ${current} s
                     where ${gate}s.lead_id = l.${key} and ${test.scoredBy('s', refs.sha)} and s.source_updated_at = l.${change} limit 1) scored on true
  left join lateral (select true as hit from scoring.rejected_leads rj join scoring.pipeline_runs pr using (run_id)
                     where ${gate}rj.lead_id = l.${key} and rj.source_updated_at = l.${change}
                       and pr.status = 'published' and pr.model_sha256 = ${refs.sha}
                       and pr.pipeline = (select pipeline from scoring.pipeline_runs where run_id = ${refs.run}) limit 1) rejected on true`,
    filter: 'scored.hit is null and rejected.hit is null',
  };
};

/**
 * The snapshot's rows from `ids`, a query of one column `a`: every candidate key once, in key order, as one
 * array. It is cut into chunks of the chunk size, one run_leads row each (CTE `written`, a row per chunk).
 */
const writeChunks = (ids: string, refs = PARAMS) => `ids as (${ids}), written as (
       insert into scoring.run_leads (run_id, chunk, lead_ids)
       select ${refs.run}, g, ids.a[g * ${refs.size} + 1 : (g + 1) * ${refs.size}]
       from ids cross join generate_series(0, (cardinality(ids.a) - 1) / ${refs.size}) as g
       returning cardinality(lead_ids) as n
     )`;

/**
 * The rows changed after `since` (an SQL expression), with `columns`, as a FROM item `l`, in key order: the
 * probes into the current table then walk its key index and pages in order (20,000 probes into 1M rows:
 * 95-99 ms against 111-120 ms in the order the change index gave).
 */
const changedSince = (table: LeadsTable, since: string, columns: readonly string[]) => {
  const key = quoteColumn(table.columns.key);
  const change = quoteColumn(table.columns.change);
  return `(select ${[...new Set([key, change, ...columns])].join(', ')} from ${table.sql} where ${change} > ${since} order by ${key} offset 0) l`;
};

/** Records the statement's start as the run's snapshot time (the watermark never passes it). */
const stamped = (refs = PARAMS) => `stamped as (update scoring.pipeline_runs set snapshot_at = statement_timestamp() where run_id = ${refs.run})`;

/** What a snapshot statement ending in writeChunks returns: the keys written. */
const COUNT_WRITTEN = 'select coalesce(sum(n), 0)::int as n from written';

/**
 * Takes the run's snapshot in one statement: candidate rows of the source table (its key and change
 * columns read as lead_id and updated_at), in key order and cut into chunks, go to run_leads as one array
 * of keys per chunk, lead ids found more than once in the source go to rejected_leads, and the statement's
 * start time is recorded as the run's snapshot_at (the watermark never passes it). Returns both counts.
 * A key column the table declares unique cannot repeat, so its rows are not counted per key first.
 */
export async function snapshotRunLeads(
  client: PoolClient,
  p: { runId: string; table: LeadsTable; current: string; chunkSize: number; modelSha256: string; mode: ExtractMode },
): Promise<{ snapshotted: number; duplicates: number }> {
  const key = quoteColumn(p.table.columns.key);
  const change = quoteColumn(p.table.columns.change);
  const filters = [`l.${key} is not null`];
  let source = `${p.table.sql} l`;
  let joins = '';
  const params: unknown[] = [p.runId, p.chunkSize];
  const test = p.mode.kind === 'unscored' ? await modelTest(client, p.current) : undefined;
  if (p.mode.kind === 'unscored' && test && (p.mode.since || !(await nothingHandledYet(client, test, p.modelSha256)))) {
    params.push(p.modelSha256);
    const handled = (p.mode.since ? alreadyHandledByProbes : alreadyHandled)(p.current, test, key, change);
    joins = handled.joins;
    filters.push(handled.filter);
    if (p.mode.since) {
      params.push(p.mode.since);
      source = changedSince(p.table, `$${params.length}`, []);
    }
  }
  const candidates = `from ${source} ${joins} where ${filters.join(' and ')}`;
  if (await keyIsUnique(client, p.table)) {
    const snapshot = await client.query<{ n: number }>(
      `with ${stamped()}, ${writeChunks(`select array_agg(l.${key} order by l.${key}) as a ${candidates}`)} ${COUNT_WRITTEN}`,
      params,
    );
    return { snapshotted: snapshot.rows[0]!.n, duplicates: 0 };
  }
  const snapshot = await client.query<{ n: number }>(
    `with candidates as materialized (
       select l.${key} as lead_id, l.${change} as updated_at, count(*) over (partition by l.${key}) as copies ${candidates}
     ), duplicates as (
       insert into scoring.rejected_leads (run_id, lead_id, source_updated_at, reason)
       select distinct on (lead_id) $1, lead_id, updated_at, 'lead_id appears ' || copies || ' times in the source table'
       from candidates where copies > 1
       order by lead_id, updated_at desc
       on conflict do nothing
     ), ${stamped()}, ${writeChunks('select array_agg(lead_id order by lead_id) as a from candidates where copies = 1')} ${COUNT_WRITTEN}`,
    params,
  );
  // Only duplicate keys are rejected at extract (chunk null), and a run is extracted once: these are this statement's.
  const { rows } = await client.query<{ n: number }>(
    'select count(*)::int as n from scoring.rejected_leads where run_id = $1 and chunk is null',
    [p.runId],
  );
  return { snapshotted: snapshot.rows[0]!.n, duplicates: rows[0]!.n };
}

/**
 * A morning's snapshot (the rows changed since `since`, as snapshotRunLeads takes them, for a table whose key is
 * unique) in one COPY that also streams the candidates' rows as readChunkLeads lays them out (`features` as
 * featureSelect gives them for the source row `l`; every row present), in key order, when they make one chunk.
 * That chunk is then scored from this one pass over the source instead of a second visit to the same rows
 * (10,000 of 1M leads: the chunk's read took 36-43 ms; the snapshot's pass takes 3-5 ms more with them). The
 * snapshot is written either way; more candidates than a chunk (or none) stream no rows.
 */
export async function snapshotOneChunkRows(
  client: PoolClient,
  p: { runId: string; table: LeadsTable; current: string; chunkSize: number; modelSha256: string; since: Date; inputs: readonly string[]; features: string },
): Promise<Readable> {
  const key = quoteColumn(p.table.columns.key);
  const change = quoteColumn(p.table.columns.change);
  // COPY takes no bind parameters: the run id is a validated workflow id, the sha256 hex and the chunk size an integer.
  const refs: SnapshotRefs = { run: pg.escapeLiteral(p.runId), size: `${Math.trunc(p.chunkSize)}`, sha: pg.escapeLiteral(p.modelSha256) };
  const since = `${pg.escapeLiteral(p.since.toISOString())}::timestamptz`;
  const handled = alreadyHandledByProbes(p.current, await modelTest(client, p.current), key, change, refs);
  const fields = p.inputs.map((_, i) => `f${i}`);
  return client.query(copyOut(`copy (
     with ${stamped(refs)}, candidates (lead_id, updated_at, ${fields.join(', ')}) as materialized (
       select l.${key}, l.${change}::timestamptz, ${p.features}
       from ${changedSince(p.table, since, p.inputs.map(quoteColumn))} ${handled.joins}
       where l.${key} is not null and ${handled.filter}
     ), ${writeChunks('select array_agg(lead_id order by lead_id) as a from candidates', refs)}
     select lead_id, true, updated_at, ${fields.join(', ')} from candidates
     where (select count(*) from written) = 1 order by lead_id
   ) to stdout (format binary)`));
}
