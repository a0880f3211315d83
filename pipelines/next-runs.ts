import type { CalendarSpec, PipelineDefinition } from './definition.js';

const SIMPLE_CRON_FIELD = /^\d+(,\d+)*$/;

/**
 * A five-field cron expression as calendar specs, when it is a simple one (minutes and hours as numbers,
 * any day of month and month, days of week as numbers or a range); undefined for anything else.
 */
export function cronAsCalendars(cron: string): CalendarSpec[] | undefined {
  const [minute, hour, dom, month, dow] = cron.trim().split(/\s+/);
  if (!minute || !hour || !dow || dom !== '*' || month !== '*' || !SIMPLE_CRON_FIELD.test(minute) || !SIMPLE_CRON_FIELD.test(hour)) return undefined;
  let days: Array<number | undefined>;
  if (dow === '*' || dow === '?') days = [undefined];
  else if (/^\d-\d$/.test(dow)) {
    const [from, to] = dow.split('-').map(Number) as [number, number];
    days = Array.from({ length: to - from + 1 }, (_, i) => (from + i) % 7);
  } else if (SIMPLE_CRON_FIELD.test(dow)) days = dow.split(',').map((d) => Number(d) % 7);
  else return undefined;
  const specs: CalendarSpec[] = [];
  for (const h of hour.split(',').map(Number)) {
    for (const m of minute.split(',').map(Number)) {
      if (h > 23 || m > 59) return undefined;
      for (const d of days) specs.push(d === undefined ? { hour: h, minute: m } : { hour: h, minute: m, dayOfWeek: d });
    }
  }
  return specs;
}

/**
 * The next `count` times a definition's schedule fires after `from`, computed from its calendar specs (and
 * simple cron expressions) in its time zone; undefined when a cron expression is too complex to compute here.
 */
export function nextRunTimes(def: Pick<PipelineDefinition, 'schedule'>, from: Date, count = 3): Date[] | undefined {
  const specs = [...def.schedule.calendars];
  for (const cron of def.schedule.cron) {
    const simple = cronAsCalendars(cron);
    if (!simple) return undefined;
    specs.push(...simple);
  }
  const tz = def.schedule.timezone;
  const times: Date[] = [];
  const today = localDate(from, tz);
  for (let day = 0; day < 15; day++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + day));
    for (const s of specs) {
      if (s.dayOfWeek !== undefined && s.dayOfWeek !== date.getUTCDay()) continue;
      const at = zonedTime(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), s.hour, s.minute, tz);
      if (at > from) times.push(at);
    }
  }
  return [...new Set(times.map((t) => t.getTime()))].sort((a, b) => a - b).slice(0, count).map((t) => new Date(t));
}

function localParts(at: Date, tz: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  }).formatToParts(at);
  return Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

function localDate(at: Date, tz: string): { year: number; month: number; day: number } {
  const p = localParts(at, tz);
  return { year: p['year']!, month: p['month']!, day: p['day']! };
}

/** The instant a wall-clock time in `tz` names (the later offset's reading around a DST change). */
function zonedTime(year: number, month: number, day: number, hour: number, minute: number, tz: string): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const p = localParts(new Date(guess), tz);
    const seen = Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!);
    guess += wall - seen;
  }
  return new Date(guess);
}
