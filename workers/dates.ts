import { InvalidArgumentError } from 'commander';
import { businessDate } from '../workflows/scheduled.js';

/** Parses a --as-of/--from/--to value: a real calendar date written YYYY-MM-DD. */
export function parseDate(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!d || d.toISOString().slice(0, 10) !== value) throw new InvalidArgumentError(`"${value}" is not a date; write it as YYYY-MM-DD`);
  return value;
}

/** Today's business date in the schedule's time zone. */
export function today(timezone: string): string {
  return businessDate(new Date(), timezone);
}

/** Every date from `from` to `to`, inclusive, in order. */
export function dateRange(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    dates.push(d.toISOString().slice(0, 10));
  }
  return dates;
}
