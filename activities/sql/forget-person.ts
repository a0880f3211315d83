import type { PoolClient } from '../../db/pool.js';
import type { LeadsTable } from '../../source/leads-table.js';

/** The scoreflow tables that hold a person's rows, in the order `forget` reports them. */
export const PERSON_TABLES = [
  'crm_outbox', 'crm_sync_state', 'crm_sync_failures', 'lead_scores', 'lead_score_history', 'rejected_leads', 'run_leads', 'staged_scores',
] as const;

export interface Forgotten {
  /** Lead ids found for the email in the source table or the CRM tables. */
  leadIds: string[];
  /** Rows removed per scoreflow table. */
  removed: Record<(typeof PERSON_TABLES)[number], number>;
  /** Rows of the source leads table with this email: scoreflow does not own them, and scores them again next run. */
  sourceRows: number;
}

/**
 * Removes one person from every scoreflow table in one statement, inside the caller's transaction: their
 * lead ids are found by email (trimmed, lower-case) in the source leads table and in the CRM tables, then
 * every row of those leads goes. Publication is locked meanwhile, so a run cannot publish them back half-way.
 */
export async function forgetPerson(client: PoolClient, p: { email: string; table: LeadsTable; pipeline: string }): Promise<Forgotten> {
  await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.publish'), hashtext($1))", [p.pipeline]);
  const { rows: exists } = await client.query<{ ok: boolean }>('select to_regclass($1) is not null as ok', [p.table.sql]);
  const fromSource = exists[0]?.ok ? `select lead_id from ${p.table.sql} where lower(btrim(email)) = $1 union ` : '';
  const deletes = PERSON_TABLES.map((t) => `${t} as (delete from scoring.${t} x using ids where x.lead_id = ids.lead_id returning 1)`);
  const { rows } = await client.query<{ lead_ids: string[]; counts: Forgotten['removed'] }>(
    `with ids as materialized (
       ${fromSource}select lead_id from scoring.crm_outbox where email = $1
       union select lead_id from scoring.crm_sync_state where email = $1
     ), ${deletes.join(', ')}
     select (select coalesce(array_agg(lead_id::text order by lead_id), '{}') from ids) as lead_ids,
            json_build_object(${PERSON_TABLES.map((t) => `'${t}', (select count(*)::int from ${t})`).join(', ')}) as counts`,
    [p.email],
  );
  const source = exists[0]?.ok
    ? await client.query<{ n: number }>(`select count(*)::int as n from ${p.table.sql} where lower(btrim(email)) = $1`, [p.email])
    : { rows: [{ n: 0 }] };
  return { leadIds: rows[0]!.lead_ids, removed: rows[0]!.counts, sourceRows: source.rows[0]!.n };
}

/** The form scoreflow keeps emails in (as planOutbox writes them): trimmed and lower-case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
