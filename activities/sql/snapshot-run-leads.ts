import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';
import { scoredByModel } from './current-shape.js';

/** Which leads a run takes: all of them, or only those not yet scored at their current version by this model. */
export type ExtractMode = { kind: 'full' } | { kind: 'unscored'; since?: Date };

type ModelTest = Awaited<ReturnType<typeof scoredByModel>>;

/**
 * Rows already scored (in the pipeline's current-result table, `byModel` as scoredByModel gives it), or already
 * rejected by a published run of the same pipeline, at exactly their current change time by this model: two
 * anti-joins, set-based, for a pass over every row.
 */
const alreadyHandled = (current: string, byModel: ModelTest, key: string, change: string) => ({
  joins: '',
  filter: `
  not exists (select 1 from ${current} s
              where s.lead_id = l.${key} and ${byModel('s', '$3')} and s.source_updated_at = l.${change})
  and not exists (select 1 from scoring.rejected_leads rj join scoring.pipeline_runs pr using (run_id)
                  where rj.lead_id = l.${key} and rj.source_updated_at = l.${change}
                    and pr.status = 'published' and pr.model_sha256 = $3
                    and pr.pipeline = (select pipeline from scoring.pipeline_runs where run_id = $1))`,
});

/**
 * The same test as probes: one index lookup per row into each table (a LATERAL with LIMIT is never turned
 * into a hash join). For the few rows changed since the watermark, instead of hashing the whole current table.
 */
const alreadyHandledByProbes = (current: string, byModel: ModelTest, key: string, change: string) => ({
  joins: `
  left join lateral (select true as hit from ${current} s
                     where s.lead_id = l.${key} and ${byModel('s', '$3')} and s.source_updated_at = l.${change} limit 1) scored on true
  left join lateral (select true as hit from scoring.rejected_leads rj join scoring.pipeline_runs pr using (run_id)
                     where rj.lead_id = l.${key} and rj.source_updated_at = l.${change}
                       and pr.status = 'published' and pr.model_sha256 = $3
                       and pr.pipeline = (select pipeline from scoring.pipeline_runs where run_id = $1) limit 1) rejected on true`,
  filter: 'scored.hit is null and rejected.hit is null',
});

/**
 * The snapshot's rows from `ids`, a query of one column `a`: every candidate key once, in key order, as one
 * array. It is cut into chunks of `$2` keys, one run_leads row each; the statement returns the keys written.
 */
const writeChunks = (ids: string) => `ids as (${ids}), written as (
       insert into scoring.run_leads (run_id, chunk, lead_ids)
       select $1, g, ids.a[g * $2::int + 1 : (g + 1) * $2::int]
       from ids cross join generate_series(0, (cardinality(ids.a) - 1) / $2::int) as g
       returning cardinality(lead_ids) as n
     )
     select coalesce(sum(n), 0)::int as n from written`;

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
  let joins = '';
  const params: unknown[] = [p.runId, p.chunkSize];
  if (p.mode.kind === 'unscored') {
    params.push(p.modelSha256);
    const handled = (p.mode.since ? alreadyHandledByProbes : alreadyHandled)(p.current, await scoredByModel(client, p.current), key, change);
    joins = handled.joins;
    filters.push(handled.filter);
    if (p.mode.since) {
      params.push(p.mode.since);
      filters.push(`l.${change} > $${params.length}`);
    }
  }
  const candidates = `from ${p.table.sql} l ${joins} where ${filters.join(' and ')}`;
  const stamped = 'stamped as (update scoring.pipeline_runs set snapshot_at = statement_timestamp() where run_id = $1)';
  if (await keyIsUnique(client, p.table)) {
    const snapshot = await client.query<{ n: number }>(
      `with ${stamped}, ${writeChunks(`select array_agg(l.${key} order by l.${key}) as a ${candidates}`)}`,
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
     ), ${stamped}, ${writeChunks('select array_agg(lead_id order by lead_id) as a from candidates where copies = 1')}`,
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
 * Whether the table declares its integer key column unique by itself: a valid unique index on that column
 * alone, without predicate, on a table whose rows are all its own (or a partitioned table, whose unique
 * indexes hold across partitions). A view, or a table without such an index, may repeat keys.
 */
export async function keyIsUnique(client: PoolClient, table: LeadsTable): Promise<boolean> {
  const { rows } = await client.query<{ unique: boolean }>(
    `select exists (
       select 1 from pg_index i
       join pg_class c on c.oid = i.indrelid
       join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
       where c.oid = to_regclass($1) and i.indisunique and i.indisvalid and i.indnkeyatts = 1
         and i.indpred is null and i.indexprs is null
         and a.attname = $2 and a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
         and (c.relkind = 'p' or not exists (select 1 from pg_inherits h where h.inhparent = c.oid))
     ) as unique`,
    [table.sql, table.columns.key],
  );
  return rows[0]!.unique;
}
