import { afterEach, describe, expect, it } from 'vitest';
import type { ActivityFailure, ApplicationFailure} from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A CRM export as real systems hold it: loose types, no primary key, and every kind of bad value. */
const CREATE_CRM_LEADS = `
  create table public.crm_leads (
    lead_id bigint, email text, updated_at timestamptz not null default now(),
    company_size double precision, industry text, lead_source text, seniority text,
    site_visits_30d double precision, email_opens_30d double precision, email_clicks_30d integer,
    days_since_last_activity double precision, demo_requested boolean)`;

const GOOD = { company_size: 250, industry: 'software', lead_source: 'web', seniority: 'director', site_visits_30d: 12, email_opens_30d: 5, email_clicks_30d: 2, days_since_last_activity: 3, demo_requested: true };

const ROWS: Array<[number, Partial<Record<keyof typeof GOOD, unknown>>, string | null]> = [
  [1, {}, null],
  [2, { company_size: null }, 'company_size is missing (NULL)'],
  [3, { site_visits_30d: 'NaN' }, 'site_visits_30d is not a number ("NaN")'],
  [4, { days_since_last_activity: 'Infinity' }, 'days_since_last_activity is infinite'],
  [5, { email_opens_30d: -5 }, "email_opens_30d is -5, outside the card's range 0..1000"],
  [6, { company_size: 1e12 }, "company_size is 1000000000000, outside the card's range 1..100000"],
  [7, { industry: 'aerospace' }, 'industry "aerospace" is not one of the card\'s categories'],
  [8, { industry: '  SoftWare ', seniority: 'VP' }, null],
  [9, { industry: '' }, 'industry is empty'],
  [10, { lead_source: 'x'.repeat(10_000) }, `lead_source "${'x'.repeat(40)}…" is not one of the card's categories`],
  [12, { days_since_last_activity: 3.5 }, 'days_since_last_activity is 3.5, not a whole number'],
  [13, { demo_requested: null }, 'demo_requested is missing (NULL)'],
];

describe('bad source rows', () => {
  it('are quarantined with a readable reason while the run succeeds and valid rows are scored', async () => {
    h = await makeHarness({ SCOREFLOW_LEADS_TABLE: 'public.crm_leads' });
    await h.query(CREATE_CRM_LEADS);
    const columns = Object.keys(GOOD);
    const insert = `insert into public.crm_leads (lead_id, email, ${columns.join(', ')}) values ($1, $2, ${columns.map((_, i) => `$${i + 3}`).join(', ')})`;
    for (const [id, override] of ROWS) {
      const row = { ...GOOD, ...override };
      await h.query(insert, [id, `Person.${id}@Example.com`, ...columns.map((c) => row[c as keyof typeof GOOD])]);
    }
    await h.query(insert, [11, 'first@example.com', ...Object.values(GOOD)]);
    await h.query(insert, [14, '  Zoë.Müller@Bücher.example ', ...Object.values(GOOD)]);
    await h.query(insert, [15, 'no-at-sign.example', ...Object.values(GOOD)]);
    await h.query(insert, [11, 'second@example.com', ...Object.values(GOOD)]);

    const result = await h.run('2026-04-01');

    expect(result).toMatchObject({ scored: 4, published: 4, rejected: ROWS.filter((r) => r[2]).length + 1 });
    const scored = await h.query<{ lead_id: string }>('select lead_id from scoring.lead_scores order by lead_id');
    expect(scored.map((r) => Number(r.lead_id))).toEqual([1, 8, 14, 15]);
    // Emails only matter to the CRM: the unicode one is sent lower-cased and trimmed, the one without @ skipped.
    expect(result.crm).toMatchObject({ sent: 3, skipped: 1 });
    expect(await h.query("select lead_id::int, reason from scoring.crm_sync_failures where kind = 'skipped'")).toEqual([{ lead_id: 15, reason: 'the email is not a valid address' }]);
    expect(await h.query('select email from scoring.crm_sync_state where lead_id = 14')).toEqual([{ email: 'zoë.müller@bücher.example' }]);
    const reasons = Object.fromEntries(
      (await h.query<{ lead_id: string; reason: string }>('select lead_id, reason from scoring.rejected_leads')).map((r) => [Number(r.lead_id), r.reason]),
    );
    const expected = Object.fromEntries(ROWS.filter((r) => r[2]).map(([id, , reason]) => [id, reason]));
    expect(reasons).toEqual({ ...expected, 11: 'lead_id appears 2 times in the source table' });
    const [run] = await h.query('select status, leads_rejected from scoring.pipeline_runs');
    expect(run).toEqual({ status: 'published', leads_rejected: 11 });
  });

  it.each([
    ['a missing table', 'public.no_such_leads', '', 'table public.no_such_leads does not exist'],
    ['a missing feature column', 'public.crm_leads', 'alter table public.crm_leads drop column seniority', 'table public.crm_leads has no column seniority'],
    ['an empty table', 'public.crm_leads', 'truncate public.crm_leads', 'table public.crm_leads has no rows'],
  ])('stop the run before any work with SourceSchemaInvalid for %s', async (_what, table, change, message) => {
    h = await makeHarness({ SCOREFLOW_LEADS_TABLE: table });
    await h.query(CREATE_CRM_LEADS);
    await h.query(`insert into public.crm_leads (lead_id, email, ${Object.keys(GOOD).join(', ')}) values (1, 'a@b.example', ${Object.keys(GOOD).map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(GOOD));
    if (change) await h.query(change);
    const err = (await h.run('2026-04-01').catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err.cause as ActivityFailure).cause as ApplicationFailure;
    expect(failure.type).toBe('SourceSchemaInvalid');
    expect(failure.message).toContain(message);
    expect(await h.query('select count(*)::int as n from scoring.run_leads')).toEqual([{ n: 0 }]);
  });

  it('are not extracted again the next day while they stay unchanged', async () => {
    h = await makeHarness();
    await h.seed(300);
    await h.query('update public.leads set industry = null where lead_id in (3, 4)');
    const first = await h.run('2026-04-01');
    expect(first).toMatchObject({ rejected: 2, published: 298 });
    const next = await h.run('2026-04-02');
    expect(next).toMatchObject({ extracted: 0 });
  });
});
