import type { Client } from '@hubspot/api-client';
import { CrmPropertyConflict, CrmPropertyInvalid } from '../../lib/errors.js';
import { callWithBudget, type BudgetedCaller } from './hubspot.js';

export const PROPERTY_GROUP = 'scoreflow';

/** The contact properties scoreflow owns. HubSpot's own `hubspotscore` is read-only and never written. */
export const CONTACT_PROPERTIES = [
  { name: 'lead_score', label: 'Lead score (scoreflow)', type: 'number', fieldType: 'number', description: 'Probability that the lead converts, 0–100, from the scoreflow model' },
  { name: 'lead_score_bucket', label: 'Lead score bucket (scoreflow)', type: 'string', fieldType: 'text', description: 'hot, warm, cool or cold, from the model card' },
  { name: 'lead_score_model_version', label: 'Lead score model version (scoreflow)', type: 'string', fieldType: 'text', description: 'Version of the model that made the score' },
  { name: 'lead_score_scored_at', label: 'Lead scored at (scoreflow)', type: 'datetime', fieldType: 'date', description: 'When the score was computed' },
] as const;

/** The property values scoreflow writes for one lead; HubSpot stores every value as a string. */
export function contactProperties(c: { email: string; score: number; bucket: string; modelVersion: string; scoredAt: Date }): Record<string, string> {
  return {
    email: c.email,
    lead_score: crmScore(c.score),
    lead_score_bucket: c.bucket,
    lead_score_model_version: c.modelVersion,
    lead_score_scored_at: c.scoredAt.toISOString(),
  };
}

/** The score as account executives see it: the probability as 0–100 with one decimal. */
export function crmScore(probability: number): string {
  return (probability * 100).toFixed(1);
}

/**
 * Creates the `scoreflow` property group and those of its properties that HubSpot lacks: one list call
 * when all exist. A 409 (created meanwhile by another worker) is the idempotent case. A property of the
 * same name with another type, field type or group stops the stage with CrmPropertyConflict before any
 * contact is written into it.
 */
export async function provisionProperties(client: Client, caller: BudgetedCaller): Promise<void> {
  const call = async <T>(name: string, fn: () => Promise<{ httpStatusCode: number; data: T }>): Promise<T | undefined> => {
    const outcome = await callWithBudget(caller, fn);
    if (outcome.kind === 'rejected' && outcome.status !== 409) throw new CrmPropertyInvalid(name, outcome.category ?? `HTTP ${outcome.status}`, outcome.message);
    return outcome.kind === 'ok' ? outcome.body : undefined;
  };
  const existing = await call('(list of contact properties)', () => client.crm.properties.coreApi.getAllWithHttpInfo('contacts'));
  const byName = new Map((existing?.results ?? []).map((p) => [p.name, p]));
  for (const p of CONTACT_PROPERTIES) {
    const found = byName.get(p.name);
    if (found) checkDefinition(p, found);
  }
  const missing = CONTACT_PROPERTIES.filter((p) => !byName.has(p.name));
  if (missing.length === 0) return;
  await call(PROPERTY_GROUP, () => client.crm.properties.groupsApi.createWithHttpInfo('contacts', { name: PROPERTY_GROUP, label: 'scoreflow lead scoring', displayOrder: -1 }));
  for (const p of missing) {
    await call(p.name, () => client.crm.properties.coreApi.createWithHttpInfo('contacts', { ...p, groupName: PROPERTY_GROUP } as never));
  }
}

/** Throws CrmPropertyConflict when an existing property differs from scoreflow's in type, field type or group. */
function checkDefinition(needed: (typeof CONTACT_PROPERTIES)[number], found: { type: string; fieldType: string; groupName: string }): void {
  const describe = (d: { type: string; fieldType: string; groupName: string }) => `type ${d.type} (field type ${d.fieldType}) in group ${d.groupName}`;
  const wanted = { type: needed.type, fieldType: needed.fieldType, groupName: PROPERTY_GROUP };
  if (found.type !== wanted.type || found.fieldType !== wanted.fieldType || found.groupName !== wanted.groupName) {
    throw new CrmPropertyConflict(needed.name, describe(found), describe(wanted));
  }
}
