import type { Harness } from './harness.js';

/** True while some connection to the test's database sits in pg_sleep: a paused statement has been reached. */
export const SLEEPING = "select count(*) > 0 as ok from pg_stat_activity where wait_event = 'PgSleep' and datname = current_database()";

/**
 * Makes the first statement that fires `event` on `table` sleep `seconds` inside its transaction, once:
 * the sequence that counts is outside any transaction, so a retry does not sleep again. How tests stop a
 * worker's transaction at an exact point (to kill it, cancel it or look at the tables meanwhile).
 */
export async function sleepOnceAfter(h: Harness, p: { event: 'insert' | 'delete'; table: string; seconds: number }): Promise<void> {
  await h.query('create sequence public.pause_once');
  await h.query(`create function public.pause_once() returns trigger language plpgsql as $$
    begin
      if nextval('public.pause_once') = 1 then perform pg_sleep(${Number(p.seconds)}); end if;
      return null;
    end $$`);
  await h.query(`create trigger pause_once after ${p.event} on ${p.table} for each statement execute function public.pause_once()`);
}
