import { withTransaction, type Pool } from '../../db/pool.js';

/** HubSpot's limits for the account's tier: calls per rolling window and per day. */
export interface CrmBudget {
  perWindow: number;
  windowMs: number;
  perDay: number;
}

export type Reservation = { ok: true } | { ok: false; waitMs: number } | { ok: false; dailyExhausted: true };

/**
 * Takes one call from the budget every worker shares, or says how long to wait. A true rolling window
 * (one row per call, PostgreSQL's clock), because HubSpot's ten-second limit rolls: a fixed-window
 * counter would let two windows' worth of calls through around each boundary and draw 429s.
 */
export async function reserveCall(pool: Pool, budget: CrmBudget): Promise<Reservation> {
  return withTransaction(pool, async (client) => {
    await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.crm-budget'))");
    const { rows } = await client.query<{ in_window: number; oldest_ms: number | null; today: number }>(
      `select count(*)::int as in_window,
              (extract(epoch from min(called_at)) * 1000)::float8 - extract(epoch from clock_timestamp()) * 1000 + $1 as oldest_ms,
              coalesce((select calls from scoring.crm_daily_usage where day = (clock_timestamp() at time zone 'utc')::date), 0) as today
       from scoring.crm_rate_log where called_at > clock_timestamp() - make_interval(secs => $1 / 1000.0)`,
      [budget.windowMs],
    );
    const r = rows[0]!;
    if (r.today >= budget.perDay) return { ok: false, dailyExhausted: true };
    if (r.in_window >= budget.perWindow) return { ok: false, waitMs: Math.max(5, Math.ceil(r.oldest_ms ?? 5)) };
    await client.query('insert into scoring.crm_rate_log (called_at) values (clock_timestamp())');
    await client.query(
      `insert into scoring.crm_daily_usage (day, calls) values ((clock_timestamp() at time zone 'utc')::date, 1)
       on conflict (day) do update set calls = crm_daily_usage.calls + 1`,
    );
    if (Math.random() < 0.01) {
      await client.query("delete from scoring.crm_rate_log where called_at < clock_timestamp() - interval '10 minutes'");
    }
    return { ok: true };
  });
}

/** Calls left today under the daily quota. */
export async function callsLeftToday(pool: Pool, budget: CrmBudget): Promise<number> {
  const { rows } = await pool.query<{ calls: number }>(
    "select coalesce(sum(calls), 0)::int as calls from scoring.crm_daily_usage where day = (clock_timestamp() at time zone 'utc')::date",
  );
  return Math.max(0, budget.perDay - rows[0]!.calls);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the shared budget grants a call; throws DailyQuotaExhausted when today's quota is spent.
 * `wait` sleeps between tries (an activity passes one that its cancellation interrupts).
 */
export async function takeCall(pool: Pool, budget: CrmBudget, onWait: (ms: number) => void = () => {}, wait = sleep): Promise<void> {
  for (;;) {
    const r = await reserveCall(pool, budget);
    if (r.ok) return;
    if ('dailyExhausted' in r) throw new DailyQuotaExhausted();
    onWait(r.waitMs);
    await wait(r.waitMs);
  }
}

/** Thrown inside the stage when today's HubSpot quota is used up; what is left waits for the next run. */
export class DailyQuotaExhausted extends Error {
  constructor() {
    super('the HubSpot daily quota is used up');
  }
}
