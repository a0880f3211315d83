import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ConfigInvalid, PipelineNotDefined } from '../../lib/errors.js';
import { stagePipeline } from '../../activities/pipeline.js';
import type { ModelSource } from '../../models/model-source.js';
import { makePipelineRegistry, type PipelineDefinitionInput } from '../../pipelines/index.js';
import { cronAsCalendars, nextRunTimes } from '../../pipelines/next-runs.js';

const config = loadConfig({});
const partner: PipelineDefinitionInput = {
  id: 'partner-leads',
  source: { table: 'public.partner_leads', key: 'lead_id', change: 'updated_at' },
  modelDir: config.model.dir,
  output: { kind: 'probability-buckets' },
  sinks: { current: 'partner.scores', history: 'partner.score_history' },
  schedule: { timezone: 'Europe/Berlin', calendars: [{ hour: 7, minute: 30, dayOfWeek: 1 }] },
  sizing: { chunkSize: 500, concurrency: 2 },
};

const refusal = (extra: PipelineDefinitionInput[], cfg = config): ConfigInvalid => {
  try {
    makePipelineRegistry(cfg, extra);
  } catch (err) {
    return err as ConfigInvalid;
  }
  throw new Error('expected ConfigInvalid');
};

describe('pipeline registry', () => {
  it('declares lead scoring from the settings it always had', () => {
    const env = { SCOREFLOW_LEADS_TABLE: 'crm.leads', SCOREFLOW_CHUNK_SIZE: '1000', SCOREFLOW_SCORING_CONCURRENCY: '3',
      SCOREFLOW_SCHEDULE_CRON: '15 5 * * 1-5', SCOREFLOW_SCHEDULE_TIMEZONE: 'Europe/Paris' };
    const lead = makePipelineRegistry(loadConfig(env)).get('lead-scoring');
    expect(lead).toMatchObject({
      source: { table: 'crm.leads', key: 'lead_id', change: 'updated_at', email: 'email' },
      output: { kind: 'probability-buckets' },
      sinks: { current: 'scoring.lead_scores_rows', history: 'scoring.lead_score_history_rows' },
      schedule: { timezone: 'Europe/Paris', cron: ['15 5 * * 1-5'], calendars: [] },
      sizing: { chunkSize: 1000, concurrency: 3 },
    });
    expect(makePipelineRegistry(loadConfig({ SCOREFLOW_LEADS_TABLE: 'leads' })).get('lead-scoring').source.table).toBe('public.leads');
  });

  it('accepts extra definitions and lists lead scoring first, then the product recommender', () => {
    const registry = makePipelineRegistry(config, [partner]);
    expect(registry.ids()).toEqual(['lead-scoring', 'product-recs', 'partner-leads']);
    expect(registry.get('partner-leads').crm).toBeUndefined();
  });

  it('names the known pipelines when asked for an unknown one', () => {
    expect(() => makePipelineRegistry(config, [partner]).get('recs')).toThrow('unknown pipeline "recs": the pipelines are lead-scoring, product-recs, partner-leads');
  });

  it.each([
    [{ ...partner, id: 'Partner_Leads' }, 'pipeline "Partner_Leads": id must be lower-case'],
    [{ ...partner, source: { ...partner.source, table: 'partner_leads; drop' } }, 'pipeline "partner-leads": source.table must be a table name'],
    [{ ...partner, schedule: { timezone: 'Mars/Olympus', calendars: [{ hour: 7, minute: 0 }] } }, 'pipeline "partner-leads": schedule.timezone must be an IANA time zone'],
    [{ ...partner, schedule: { timezone: 'UTC' } }, 'pipeline "partner-leads": schedule needs at least one calendar spec'],
    [{ ...partner, schedule: { timezone: 'UTC', calendars: [{ hour: 25, minute: 0 }] } }, 'pipeline "partner-leads": schedule.calendars.0.hour'],
    [{ ...partner, sizing: { chunkSize: 10, concurrency: 2 } }, 'pipeline "partner-leads": sizing.chunkSize'],
    [{ ...partner, output: { kind: 'top-k', k: 5 } }, 'pipeline "partner-leads": source.tables is required with output kind "top-k"'],
    [{ ...partner, output: { kind: 'top-k' } }, 'pipeline "partner-leads": output.k is required with output kind "top-k"'],
    [{ ...partner, crm: { properties: { score: 'lead_score', bucket: 'lead_score_bucket', modelVersion: 'lead_score_model_version', scoredAt: 'lead_score_scored_at' } } },
      'pipeline "partner-leads": source.email is required with a CRM sink'],
    [{ ...partner, id: 'lead-scoring' }, 'pipeline "lead-scoring" is defined twice'],
  ] as Array<[PipelineDefinitionInput, string]>)('refuses a bad definition with a ConfigInvalid naming the pipeline and field (%#)', (def, text) => {
    const err = refusal([def]);
    expect(err).toBeInstanceOf(ConfigInvalid);
    expect(err.type).toBe('ConfigInvalid');
    expect(err.message).toContain(text);
  });

  it('declares the product recommender: top 5, the shop\'s tables, Monday 13:00 and Friday 08:00 in SCOREFLOW_RECS_TIMEZONE', () => {
    const recs = makePipelineRegistry(loadConfig({ SCOREFLOW_RECS_TIMEZONE: 'America/New_York' })).get('product-recs');
    expect(recs).toMatchObject({
      source: { table: 'shop.customers', key: 'customer_id', change: 'updated_at', tables: { products: 'shop.products', purchases: 'shop.purchases' } },
      output: { kind: 'top-k', k: 5 },
      sinks: { current: 'recs.current_recommendations', history: 'recs.customer_recommendations' },
      schedule: { timezone: 'America/New_York', calendars: [{ dayOfWeek: 1, hour: 13, minute: 0 }, { dayOfWeek: 5, hour: 8, minute: 0 }] },
      sizing: { chunkSize: 50000, batchSize: 5000 },
    });
    expect(recs.crm).toBeUndefined();
    // Monday 30 November 13:00 in New York is 18:00 UTC; Friday 4 December 08:00 is 13:00 UTC.
    expect(nextRunTimes(recs, new Date('2026-11-28T00:00:00Z'), 2)?.map((d) => d.toISOString())).toEqual(['2026-11-30T18:00:00.000Z', '2026-12-04T13:00:00.000Z']);
  });

  it('refuses two pipelines writing the same contact property, and accepts two CRM sinks with their own', () => {
    const crm = { properties: { score: 'partner_score', bucket: 'lead_score_bucket', modelVersion: 'partner_model_version', scoredAt: 'partner_scored_at' } };
    const withEmail = { ...partner, source: { ...partner.source, email: 'email' } };
    expect(refusal([{ ...withEmail, crm }]).message)
      .toContain('pipeline "partner-leads": crm.properties names the contact property "lead_score_bucket", which pipeline "lead-scoring" writes');
    const own = { properties: { ...crm.properties, bucket: 'partner_bucket' } };
    expect(makePipelineRegistry(config, [{ ...withEmail, crm: own }]).get('partner-leads').crm).toEqual(own);
  });

  it('adds the recommender\'s CRM sink with SCOREFLOW_RECS_CRM=on: product_rec_1..5 from the customers\' email column', () => {
    const recs = makePipelineRegistry(loadConfig({ SCOREFLOW_RECS_CRM: 'on' })).get('product-recs');
    expect(recs.source.email).toBe('email');
    expect(recs.crm).toEqual({ properties: {
      ranks: ['product_rec_1', 'product_rec_2', 'product_rec_3', 'product_rec_4', 'product_rec_5'],
      modelVersion: 'product_rec_model_version', generatedAt: 'product_rec_generated_at',
    } });
    expect(makePipelineRegistry(loadConfig({ SCOREFLOW_RECS_CRM: 'off' })).get('product-recs').crm).toBeUndefined();
    expect(() => loadConfig({ SCOREFLOW_RECS_CRM: 'yes' })).toThrow('SCOREFLOW_RECS_CRM must be on or off');
  });

  const topK: PipelineDefinitionInput = {
    ...partner,
    id: 'partner-recs',
    source: { table: 'partner.customers', key: 'customer_id', change: 'updated_at', email: 'email', tables: { products: 'partner.products', purchases: 'partner.purchases' } },
    output: { kind: 'top-k', k: 3 },
  };

  it('accepts a top-k definition with a CRM sink naming a property per rank', () => {
    const crm = { properties: { ranks: ['partner_rec_1', 'partner_rec_2', 'partner_rec_3'], generatedAt: 'partner_rec_at' } };
    expect(makePipelineRegistry(config, [{ ...topK, crm }]).get('partner-recs').crm).toEqual(crm);
  });

  it.each([
    [{ ...topK, crm: { properties: { score: 'partner_score', bucket: 'partner_bucket', modelVersion: 'partner_version', scoredAt: 'partner_at' } } },
      'pipeline "partner-recs": crm.properties.score does not fit output kind "top-k": output kind "top-k" writes ranks (and optionally modelVersion, generatedAt)'],
    [{ ...topK, crm: { properties: { modelVersion: 'partner_version' } } }, 'pipeline "partner-recs": crm.properties.ranks is required'],
    [{ ...topK, crm: { properties: { ranks: ['a1', 'a2', 'a3', 'a4'] } } }, 'crm.properties.ranks names 4 properties but the output has 3 items per key'],
    [{ ...topK, crm: { properties: { ranks: ['a1', 'a1'] } } }, 'crm.properties names the property "a1" twice'],
    [{ ...topK, crm: { properties: { ranks: ['a1'], colour: 'x' } } }, 'pipeline "partner-recs": crm.properties Unrecognized key'],
    [{ ...partner, source: { ...partner.source, email: 'email' }, crm: { properties: { ranks: ['partner_rec_1'] } } },
      'pipeline "partner-leads": crm.properties.ranks does not fit output kind "probability-buckets": output kind "probability-buckets" writes score, bucket, modelVersion, scoredAt'],
    [{ ...partner, source: { ...partner.source, email: 'email' }, crm: { properties: { score: 'p_score', bucket: 'p_bucket', modelVersion: 'p_version' } } },
      'pipeline "partner-leads": crm.properties.scoredAt is required'],
  ] as Array<[PipelineDefinitionInput, string]>)('refuses a CRM sink whose properties do not fit the output kind, with a ConfigInvalid saying which fit (%#)', (def, text) => {
    const err = refusal([def]);
    expect(err).toBeInstanceOf(ConfigInvalid);
    expect(err.message).toContain(text);
  });
});

describe('next run times of a definition', () => {
  it('follows calendar specs in the time zone, weekdays included', () => {
    const recs = { schedule: { timezone: 'Europe/Berlin', cron: [], calendars: [{ hour: 13, minute: 0, dayOfWeek: 1 }, { hour: 8, minute: 0, dayOfWeek: 5 }] } };
    // Wednesday 2026-11-25 12:00 UTC: next Friday 08:00 CET (07:00 UTC), then Monday 13:00 CET.
    expect(nextRunTimes(recs, new Date('2026-11-25T12:00:00Z'))?.map((d) => d.toISOString()))
      .toEqual(['2026-11-27T07:00:00.000Z', '2026-11-30T12:00:00.000Z', '2026-12-04T07:00:00.000Z']);
  });

  it('reads simple cron expressions such as lead scoring\'s, and gives up on others', () => {
    const daily = { schedule: { timezone: 'UTC', calendars: [], cron: ['0 6 * * *'] } };
    expect(nextRunTimes(daily, new Date('2026-11-25T06:00:00Z'), 2)?.map((d) => d.toISOString()))
      .toEqual(['2026-11-26T06:00:00.000Z', '2026-11-27T06:00:00.000Z']);
    expect(cronAsCalendars('30 5 * * 1-5')).toHaveLength(5);
    expect(nextRunTimes({ schedule: { timezone: 'UTC', calendars: [], cron: ['*/15 * 1 * *'] } }, new Date())).toBeUndefined();
  });

  it('handles a summer-time change in the zone', () => {
    const def = { schedule: { timezone: 'Europe/Berlin', cron: [], calendars: [{ hour: 6, minute: 0 }] } };
    expect(nextRunTimes(def, new Date('2026-03-28T12:00:00Z'), 2)?.map((d) => d.toISOString()))
      .toEqual(['2026-03-29T04:00:00.000Z', '2026-03-30T04:00:00.000Z']);
  });
});

describe('a stage resolving its run\'s pipeline', () => {
  it('fails with PipelineNotDefined, retried for another worker, when this worker has no such definition', () => {
    const deps = { pipelines: makePipelineRegistry(config), modelSource: (): never => { throw new Error('no model is loaded for an unknown pipeline'); } };
    let err: unknown;
    try {
      stagePipeline(deps, 'partner-leads');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PipelineNotDefined);
    expect(err).toMatchObject({ type: 'PipelineNotDefined', nonRetryable: false });
  });

  it('gives the source with its key, change and email columns and the sink tables quoted for SQL', () => {
    const deps = { pipelines: makePipelineRegistry(config, [partner]), modelSource: () => ({}) as ModelSource };
    expect(stagePipeline(deps, 'partner-leads')).toMatchObject({
      source: { schema: 'public', table: 'partner_leads', sql: '"public"."partner_leads"', columns: { key: 'lead_id', change: 'updated_at', email: undefined } },
      sinks: { current: '"partner"."scores"', history: '"partner"."score_history"' },
    });
  });
});
