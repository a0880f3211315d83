import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/**
 * The scoreflow tables that hold a person's rows, in the order `forget` reports them: each row belongs to a
 * run (so to its pipeline), except the CRM sync state, which names its pipeline.
 */
export const PERSON_TABLES = [
  { name: 'crm_outbox', table: 'scoring.crm_outbox', key: 'lead_id' },
  { name: 'crm_sync_state', table: 'scoring.crm_sync_state', key: 'lead_id' },
  { name: 'crm_sync_failures', table: 'scoring.crm_sync_failures', key: 'lead_id' },
  { name: 'lead_scores', table: 'scoring.lead_scores_rows', key: 'lead_id' },
  { name: 'lead_score_history', table: 'scoring.lead_score_history_rows', key: 'lead_id' },
  { name: 'rejected_leads', table: 'scoring.rejected_leads', key: 'lead_id' },
  { name: 'run_leads', table: 'scoring.run_leads', key: 'lead_id' },
  { name: 'staged_scores', table: 'scoring.staged_scores', key: 'lead_id' },
  { name: 'shadow_scores', table: 'scoring.shadow_scores', key: 'lead_id' },
  { name: 'customer_recommendations', table: 'recs.customer_recommendations', key: 'customer_id' },
  { name: 'staged_recommendations', table: 'recs.staged_recommendations', key: 'customer_id' },
  { name: 'short_recommendations', table: 'recs.short_recommendations', key: 'customer_id' },
  { name: 'shadow_recommendations', table: 'recs.shadow_recommendations', key: 'customer_id' },
] as const;

export type PersonTable = (typeof PERSON_TABLES)[number]['name'];

/**
 * Takes the person's keys out of the arrays of the run snapshots that hold them (a chunk's row keeps its
 * other leads, in order); `n` per chunk is how many went.
 */
const SNAPSHOT_REMOVAL = `run_leads_hit as materialized (
       select x.run_id, x.chunk, array_agg(runs.lead_id) as ids
       from scoring.run_leads x join runs on runs.run_id = x.run_id and runs.lead_id = any(x.lead_ids)
       group by x.run_id, x.chunk
     ), run_leads as (
       update scoring.run_leads x
       set lead_ids = array(select u.id from unnest(x.lead_ids) with ordinality as u(id, o) where u.id <> all(h.ids) order by u.o)
       from run_leads_hit h where x.run_id = h.run_id and x.chunk = h.chunk
       returning cardinality(h.ids) as n
     )`;

/** A pipeline's source table where a person's key is found by email (its `key` and `email` columns). */
export interface PersonSource {
  pipeline: string;
  table: LeadsTable;
}

export interface Forgotten {
  /** The first source's keys for the email (lead scoring's lead ids), found in the source table or the CRM tables. */
  leadIds: string[];
  /** Every pipeline's keys for the email (lead ids, customer ids), by pipeline. */
  keys: Record<string, string[]>;
  /** Rows removed per scoreflow table. */
  removed: Record<PersonTable, number>;
  /** Rows of the first source table (the leads) with this email: scoreflow does not own them, and scores them again next run. */
  sourceRows: number;
  /** Rows with this email in each source table that exists with an email column (the leads, the shop's customers). */
  sources: Array<{ pipeline: string; table: string; rows: number }>;
}

/**
 * Removes one person from every scoreflow table in one statement, inside the caller's transaction: their
 * keys are found per pipeline by email (trimmed, lower-case) in each source table and in the CRM tables,
 * then every row of those keys in that pipeline's runs goes (a lead and a customer with the same numeric
 * id are different people). Publication is locked meanwhile, so a run cannot publish them back half-way.
 */
export async function forgetPerson(client: PoolClient, p: { email: string; sources: readonly PersonSource[] }): Promise<Forgotten> {
  for (const pipeline of [...new Set(p.sources.map((s) => s.pipeline))].sort()) {
    await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.publish'), hashtext($1))", [pipeline]);
  }
  const present: Array<PersonSource & { param: number }> = [];
  for (const s of p.sources) {
    const { rows } = await client.query<{ ok: boolean }>(
      'select count(*) > 0 as ok from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = $3',
      [s.table.schema, s.table.table, s.table.columns.email ?? 'email'],
    );
    if (rows[0]?.ok) present.push({ ...s, param: present.length + 2 });
  }
  const email = (s: PersonSource) => quoteColumn(s.table.columns.email ?? 'email');
  const fromSources = present.map((s) =>
    `select $${s.param}::text as pipeline, ${quoteColumn(s.table.columns.key)}::bigint as lead_id from ${s.table.sql} where lower(btrim(${email(s)})) = $1 union `).join('');
  const deletes = PERSON_TABLES.map((t) => t.name === 'crm_sync_state'
    ? `${t.name} as (delete from ${t.table} x using ids where x.pipeline = ids.pipeline and x.lead_id = ids.lead_id returning 1)`
    : t.name === 'run_leads' ? SNAPSHOT_REMOVAL
    : `${t.name} as (delete from ${t.table} x using runs where x.run_id = runs.run_id and x.${t.key} = runs.lead_id returning 1)`);
  const removed = (t: (typeof PERSON_TABLES)[number]) => t.name === 'run_leads' ? '(select coalesce(sum(n), 0)::int from run_leads)' : `(select count(*)::int from ${t.name})`;
  const { rows } = await client.query<{ keys: Array<{ pipeline: string; ids: string[] }> | null; counts: Forgotten['removed'] }>(
    `with ids as materialized (
       ${fromSources}select r.pipeline, o.lead_id from scoring.crm_outbox o join scoring.pipeline_runs r using (run_id) where o.email = $1
       union select pipeline, lead_id from scoring.crm_sync_state where email = $1
     ), runs as materialized (
       select r.run_id, ids.lead_id from scoring.pipeline_runs r join ids using (pipeline)
     ), ${deletes.join(', ')}
     select (select json_agg(json_build_object('pipeline', pipeline, 'ids', ids) order by pipeline)
             from (select pipeline, array_agg(lead_id::text order by lead_id) as ids from ids group by pipeline) k) as keys,
            json_build_object(${PERSON_TABLES.map((t) => `'${t.name}', ${removed(t)}`).join(', ')}) as counts`,
    [p.email, ...present.map((s) => s.pipeline)],
  );
  const keys = Object.fromEntries((rows[0]!.keys ?? []).map((k) => [k.pipeline, k.ids]));
  const sources: Forgotten['sources'] = [];
  for (const s of present) {
    const { rows: n } = await client.query<{ n: number }>(`select count(*)::int as n from ${s.table.sql} where lower(btrim(${email(s)})) = $1`, [p.email]);
    sources.push({ pipeline: s.pipeline, table: `${s.table.schema}.${s.table.table}`, rows: n[0]!.n });
  }
  const first = p.sources[0]?.pipeline ?? '';
  return { leadIds: keys[first] ?? [], keys, removed: rows[0]!.counts, sourceRows: sources.find((s) => s.pipeline === first)?.rows ?? 0, sources };
}

/** The form scoreflow keeps emails in (as planOutbox writes them): trimmed and lower-case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
