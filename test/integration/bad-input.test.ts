import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActivityFailure, ApplicationFailure } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { modelCardSchema } from '../../models/card.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A CRM export as real systems hold it: loose types, no primary key, counts kept as text, every kind of bad value. */
const CREATE_CRM_LEADS = `
  create table public.crm_leads (
    lead_id bigint, email text, updated_at timestamptz not null default now(),
    company_size double precision, industry text, lead_source text, seniority text,
    site_visits_30d double precision, email_opens_30d double precision, email_clicks_30d text,
    days_since_last_activity double precision, demo_requested boolean)`;

const GOOD = { company_size: 250, industry: 'software', lead_source: 'web', seniority: 'director', site_visits_30d: 12, email_opens_30d: 5, email_clicks_30d: '2', days_since_last_activity: 3, demo_requested: true };
type Column = keyof typeof GOOD;
type Case = [Partial<Record<Column, unknown>>, string | null];

const card = modelCardSchema.parse(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'models', 'lead-scoring', 'model-card.json'), 'utf8')));
const long = 'x'.repeat(10_000);

/** Every kind of bad value in every feature column, with the reason the card says it gets (null: scored). */
const CATALOGUE: Case[] = card.inputs.flatMap((input): Case[] => {
  const c = input.name as Column;
  const missing: Case = [{ [c]: null }, `${c} is missing (NULL)`];
  switch (input.type) {
    case 'integer': {
      const range = `outside the card's range ${input.min}..${input.max}`;
      return [
        missing,
        [{ [c]: 'NaN' }, `${c} is not a number ("NaN")`],
        [{ [c]: 'Infinity' }, `${c} is infinite`],
        [{ [c]: '-Infinity' }, `${c} is infinite`],
        [{ [c]: input.min - 1 }, `${c} is ${input.min - 1}, ${range}`],
        [{ [c]: 1e12 }, `${c} is 1000000000000, ${range}`],
        [{ [c]: 3.5 }, `${c} is 3.5, not a whole number`],
      ];
    }
    case 'category':
      return [
        missing,
        [{ [c]: '' }, `${c} is empty`],
        [{ [c]: '   ' }, `${c} is empty`],
        [{ [c]: long }, `${c} "${'x'.repeat(40)}…" is not one of the card's categories`],
        [{ [c]: 'aerospace' }, `${c} "aerospace" is not one of the card's categories`],
        [{ [c]: `  ${String(GOOD[c]).toUpperCase()} ` }, null],
      ];
    case 'boolean':
      return [missing];
  }
});
// Counts a spreadsheet import kept as text.
CATALOGUE.push([{ email_clicks_30d: ' 2 ' }, null], [{ email_clicks_30d: 'seven' }, 'email_clicks_30d is not a number ("seven")']);

describe('bad source rows', () => {
  it('are quarantined with a readable reason while the run succeeds and valid rows are scored as the card says', async () => {
    h = await makeHarness({ SCOREFLOW_LEADS_TABLE: 'public.crm_leads' });
    await h.query(CREATE_CRM_LEADS);
    const columns = Object.keys(GOOD) as Column[];
    const insert = `insert into public.crm_leads (lead_id, email, ${columns.join(', ')}) values ($1, $2, ${columns.map((_, i) => `$${i + 3}`).join(', ')})`;
    const goodId = 1;
    await h.query(insert, [goodId, 'Person.1@Example.com', ...Object.values(GOOD)]);
    const cases = CATALOGUE.map(([override, reason], i) => ({ id: 100 + i, row: { ...GOOD, ...override }, reason }));
    for (const { id, row } of cases) await h.query(insert, [id, `Person.${id}@Example.com`, ...columns.map((c) => row[c])]);
    await h.query(insert, [11, 'first@example.com', ...Object.values(GOOD)]);
    await h.query(insert, [14, '  Zoë.Müller@Bücher.example ', ...Object.values(GOOD)]);
    await h.query(insert, [15, 'no-at-sign.example', ...Object.values(GOOD)]);
    await h.query(insert, [11, 'second@example.com', ...Object.values(GOOD)]);

    const result = await h.run('2026-04-01');

    const bad = cases.filter((c) => c.reason);
    const valid = [goodId, 14, 15, ...cases.filter((c) => !c.reason).map((c) => c.id)].sort((a, b) => a - b);
    expect(result).toMatchObject({ scored: valid.length, published: valid.length, rejected: bad.length + 1 });
    const reasons = Object.fromEntries(
      (await h.query<{ lead_id: string; reason: string }>('select lead_id, reason from scoring.rejected_leads')).map((r) => [Number(r.lead_id), r.reason]),
    );
    expect(reasons).toEqual({ ...Object.fromEntries(bad.map((c) => [c.id, c.reason])), 11: 'lead_id appears 2 times in the source table' });
    // Differently-cased, padded categories and counts as text mean the same lead as the clean row: same score.
    const scored = await h.query<{ lead_id: string; score: number }>('select lead_id, score from scoring.lead_scores order by lead_id');
    expect(scored.map((r) => Number(r.lead_id))).toEqual(valid);
    expect(new Set(scored.map((r) => r.score)).size).toBe(1);
    // Emails only matter to the CRM: the unicode one is sent lower-cased and trimmed, the one without @ skipped.
    expect(result.crm).toMatchObject({ sent: valid.length - 1, skipped: 1 });
    expect(await h.query("select lead_id::int, reason from scoring.crm_sync_failures where kind = 'skipped'")).toEqual([{ lead_id: 15, reason: 'the email is not a valid address' }]);
    expect(await h.query('select email from scoring.crm_sync_state where lead_id = 14')).toEqual([{ email: 'zoë.müller@bücher.example' }]);
    const [run] = await h.query('select status, leads_rejected from scoring.pipeline_runs');
    expect(run).toEqual({ status: 'published', leads_rejected: bad.length + 1 });
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
