import type { Pool } from './pool.js';
import { quoteColumn, type LeadsTable } from '../source/leads-table.js';

/** One audit row as `scoreflow runs` and `status` show it. */
export interface RunReport {
  run_id: string;
  as_of: string;
  status: string;
  model_version: string | null;
  model_sha256: string | null;
  leads_extracted: number | null;
  leads_scored: number | null;
  leads_rejected: number | null;
  leads_published: number | null;
  extract_ms: number | null;
  score_ms: number | null;
  store_ms: number | null;
  error_type: string | null;
  error_message: string | null;
  started_at: Date;
  finished_at: Date | null;
  temporal_run_id: string | null;
  crm_status: string | null;
  /** The CRM the run sent to, e.g. `hubspot:<portalId>`. */
  crm_target: string | null;
  crm_sent: number | null;
  crm_unchanged: number | null;
  crm_failed: number | null;
  crm_skipped: number | null;
  crm_deferred: number | null;
  crm_calls: number | null;
  crm_rate_limited: number | null;
  crm_ms: number | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  cancelled_at: Date | null;
  /** 'rollback' for a run made by `scoreflow rollback`, which republished `rolled_back_from`. */
  kind: string;
  rolled_back_from: string | null;
}

const RUN_COLUMNS = `run_id, to_char(as_of, 'YYYY-MM-DD') as as_of, status, model_version, model_sha256, leads_extracted,
  leads_scored, leads_rejected, leads_published, extract_ms, score_ms, store_ms, error_type, error_message, started_at,
  finished_at, temporal_run_id, crm_status, crm_target, crm_sent, crm_unchanged, crm_failed, crm_skipped, crm_deferred, crm_calls,
  crm_rate_limited, crm_ms, cancelled_by, cancel_reason, cancelled_at, kind, rolled_back_from`;

/** The newest runs first, of one pipeline or (without `pipeline`) of all. */
export async function recentRuns(pool: Pool, limit: number, pipeline?: string): Promise<RunReport[]> {
  const { rows } = await pool.query<RunReport>(
    `select ${RUN_COLUMNS} from scoring.pipeline_runs where $2::text is null or pipeline = $2 order by started_at desc limit $1`,
    [limit, pipeline ?? null],
  );
  return rows;
}

export async function runReport(pool: Pool, runId: string): Promise<RunReport | undefined> {
  const { rows } = await pool.query<RunReport>(`select ${RUN_COLUMNS} from scoring.pipeline_runs where run_id = $1`, [runId]);
  return rows[0];
}

/** How many leads sit in each bucket now, in the card's order when given. */
export async function bucketCounts(pool: Pool): Promise<Array<{ bucket: string; leads: number }>> {
  const { rows } = await pool.query<{ bucket: string; leads: number }>(
    'select bucket, count(*)::int as leads from scoring.lead_scores group by bucket order by min(score) desc',
  );
  return rows;
}

/** Source rows dated after now: scored, but a sign of a writer's clock skew or a sentinel date. */
export interface FutureDatedLeads {
  count: number;
  /** The latest such updated_at, ISO 8601 in UTC (or "infinity"). */
  latest: string;
}

/** Source rows whose change column (updated_at for leads) lies in the future, or null when there are none (or no table yet). */
export async function futureDatedLeads(pool: Pool, table: LeadsTable): Promise<FutureDatedLeads | null> {
  const { rows: exists } = await pool.query<{ ok: boolean }>('select to_regclass($1) is not null as ok', [table.sql]);
  if (!exists[0]?.ok) return null;
  const changed = quoteColumn(table.columns.change);
  const { rows } = await pool.query<FutureDatedLeads>(
    `select count(*)::int as count,
            case when isfinite(max(${changed})) then to_char(max(${changed}) at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                 else max(${changed})::text end as latest
     from ${table.sql} where ${changed} > now()`,
  );
  return rows[0]!.count > 0 ? rows[0]! : null;
}
