import type { Client } from '@hubspot/api-client';
import { ConfigInvalid, CrmPropertyConflict, CrmPropertyInvalid } from '../../lib/errors.js';
import type { PipelineDefinition } from '../../pipelines/definition.js';
import { LEAD_SCORING } from '../../pipelines/lead-scoring.js';
import type { OutboxContact } from '../sql/crm-outbox.js';
import { callWithBudget, type BudgetedCaller } from './hubspot.js';

export const PROPERTY_GROUP = 'scoreflow';

/** A contact property scoreflow creates in its group: HubSpot's property definition fields. */
export interface PropertySpec {
  name: string;
  label: string;
  type: 'number' | 'string' | 'datetime';
  fieldType: 'number' | 'text' | 'date';
  description: string;
}

/**
 * A pipeline's CRM sink, by output kind: which contact property each output goes to. A probability-buckets
 * sink writes a score, its bucket, the model version and the scoring time; a top-k sink writes one item
 * name per rank and, if named, the model version and the generation time.
 */
export type CrmSink =
  | { pipeline: string; kind: 'probability-buckets'; score: string; bucket: string; modelVersion: string; scoredAt: string }
  | { pipeline: string; kind: 'top-k'; ranks: string[]; modelVersion?: string | undefined; generatedAt?: string | undefined };

/** The CRM sink of a definition (validated by pipelines/definition.ts); a definition without one is ConfigInvalid. */
export function crmSinkOf(def: PipelineDefinition): CrmSink {
  const p = def.crm?.properties;
  if (!p) throw new ConfigInvalid(`pipeline "${def.id}" has no CRM sink (crm in its definition); its runs record crm_status 'off'`);
  if (def.output.kind === 'top-k') return { pipeline: def.id, kind: 'top-k', ranks: p.ranks!, modelVersion: p.modelVersion, generatedAt: p.generatedAt };
  return { pipeline: def.id, kind: 'probability-buckets', score: p.score!, bucket: p.bucket!, modelVersion: p.modelVersion!, scoredAt: p.scoredAt! };
}

/** The contact properties a sink writes, for provisioning: lead scoring's keep the labels they always had. */
export function propertySpecs(sink: CrmSink): PropertySpec[] {
  const of = (label: string) => `${label} (scoreflow${sink.pipeline === LEAD_SCORING ? '' : ` ${sink.pipeline}`})`;
  if (sink.kind === 'probability-buckets') {
    return [
      { name: sink.score, label: of('Lead score'), type: 'number', fieldType: 'number', description: 'Probability that the lead converts, 0–100, from the scoreflow model' },
      { name: sink.bucket, label: of('Lead score bucket'), type: 'string', fieldType: 'text', description: 'hot, warm, cool or cold, from the model card' },
      { name: sink.modelVersion, label: of('Lead score model version'), type: 'string', fieldType: 'text', description: 'Version of the model that made the score' },
      { name: sink.scoredAt, label: of('Lead scored at'), type: 'datetime', fieldType: 'date', description: 'When the score was computed' },
    ];
  }
  return [
    ...sink.ranks.map((name, i): PropertySpec => ({
      name, label: of(`Recommendation ${i + 1}`), type: 'string', fieldType: 'text', description: `Name of the item ranked ${i + 1} for this contact by the scoreflow model`,
    })),
    ...(sink.modelVersion ? [{ name: sink.modelVersion, label: of('Recommendations model version'), type: 'string', fieldType: 'text', description: 'Version of the model that made the recommendations' } as const] : []),
    ...(sink.generatedAt ? [{ name: sink.generatedAt, label: of('Recommendations generated at'), type: 'datetime', fieldType: 'date', description: 'When the recommendations were computed' } as const] : []),
  ];
}

/** The contact properties lead scoring writes (its definition's CRM sink). */
export const CONTACT_PROPERTIES: readonly PropertySpec[] = propertySpecs({
  pipeline: LEAD_SCORING, kind: 'probability-buckets', score: 'lead_score', bucket: 'lead_score_bucket', modelVersion: 'lead_score_model_version', scoredAt: 'lead_score_scored_at',
});

/**
 * The property values a sink writes for one outbox row; HubSpot stores every value as a string. A top-k
 * contact with fewer items than ranks gets '' in the rest, which clears what an earlier run put there.
 */
export function contactValues(sink: CrmSink, c: Pick<OutboxContact, 'email' | 'score' | 'bucket' | 'items' | 'model_version' | 'scored_at'>): Record<string, string> {
  if (sink.kind === 'probability-buckets') {
    return {
      email: c.email,
      [sink.score]: crmScore(c.score ?? 0),
      [sink.bucket]: c.bucket ?? '',
      [sink.modelVersion]: c.model_version,
      [sink.scoredAt]: c.scored_at.toISOString(),
    };
  }
  return {
    email: c.email,
    ...Object.fromEntries(sink.ranks.map((name, i) => [name, c.items?.[i] ?? ''])),
    ...(sink.modelVersion ? { [sink.modelVersion]: c.model_version } : {}),
    ...(sink.generatedAt ? { [sink.generatedAt]: c.scored_at.toISOString() } : {}),
  };
}

/** What a read-back compares: the values that decide whether a contact is sent again (score and bucket, or the items). */
export function comparedValues(sink: CrmSink, s: Pick<OutboxContact, 'score' | 'bucket' | 'items'>): Record<string, string> {
  if (sink.kind === 'probability-buckets') return { [sink.score]: crmScore(s.score ?? 0), [sink.bucket]: s.bucket ?? '' };
  return Object.fromEntries(sink.ranks.map((name, i) => [name, s.items?.[i] ?? '']));
}

/** The score as account executives see it: the probability as 0–100 with one decimal. */
export function crmScore(probability: number): string {
  return (probability * 100).toFixed(1);
}

/**
 * Creates the `scoreflow` property group and those of a sink's properties (`specs`) that HubSpot lacks: one list call
 * when all exist. A 409 (created meanwhile by another worker) is the idempotent case. A property of the
 * same name with another type, field type or group stops the stage with CrmPropertyConflict before any
 * contact is written into it.
 */
export async function provisionProperties(client: Client, caller: BudgetedCaller, specs: readonly PropertySpec[]): Promise<void> {
  const call = async <T>(name: string, fn: () => Promise<{ httpStatusCode: number; data: T }>): Promise<T | undefined> => {
    const outcome = await callWithBudget(caller, fn);
    if (outcome.kind === 'rejected' && outcome.status !== 409) throw new CrmPropertyInvalid(name, outcome.category ?? `HTTP ${outcome.status}`, outcome.message);
    return outcome.kind === 'ok' ? outcome.body : undefined;
  };
  const existing = await call('(list of contact properties)', () => client.crm.properties.coreApi.getAllWithHttpInfo('contacts'));
  const byName = new Map((existing?.results ?? []).map((p) => [p.name, p]));
  for (const p of specs) {
    const found = byName.get(p.name);
    if (found) checkDefinition(p, found);
  }
  const missing = specs.filter((p) => !byName.has(p.name));
  if (missing.length === 0) return;
  await call(PROPERTY_GROUP, () => client.crm.properties.groupsApi.createWithHttpInfo('contacts', { name: PROPERTY_GROUP, label: 'scoreflow lead scoring', displayOrder: -1 }));
  for (const p of missing) {
    await call(p.name, () => client.crm.properties.coreApi.createWithHttpInfo('contacts', { ...p, groupName: PROPERTY_GROUP } as never));
  }
}

/** Throws CrmPropertyConflict when an existing property differs from scoreflow's in type, field type or group. */
function checkDefinition(needed: PropertySpec, found: { type: string; fieldType: string; groupName: string }): void {
  const describe = (d: { type: string; fieldType: string; groupName: string }) => `type ${d.type} (field type ${d.fieldType}) in group ${d.groupName}`;
  const wanted = { type: needed.type, fieldType: needed.fieldType, groupName: PROPERTY_GROUP };
  if (found.type !== wanted.type || found.fieldType !== wanted.fieldType || found.groupName !== wanted.groupName) {
    throw new CrmPropertyConflict(needed.name, describe(found), describe(wanted));
  }
}
