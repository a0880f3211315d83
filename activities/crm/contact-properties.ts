import type { Client } from '@hubspot/api-client';
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
 * when all exist. A 409 (created meanwhile by another worker) is the idempotent case. 
 */
export async function provisionProperties(client: Client, caller: BudgetedCaller): Promise<void> {
  const call = async <T>(fn: () => Promise<{ httpStatusCode: number; data: T }>): Promise<T | undefined> => {
    const outcome = await callWithBudget(caller, fn);
    if (outcome.kind === 'rejected' && outcome.status !== 409) throw new Error(`HubSpot refused a property definition: ${outcome.message}`);
    return outcome.kind === 'ok' ? outcome.body : undefined;
  };
  const existing = await call(() => client.crm.properties.coreApi.getAllWithHttpInfo('contacts'));
  const names = new Set((existing?.results ?? []).map((p) => p.name));
  const missing = CONTACT_PROPERTIES.filter((p) => !names.has(p.name));
  if (missing.length === 0) return;
  await call(() => client.crm.properties.groupsApi.createWithHttpInfo('contacts', { name: PROPERTY_GROUP, label: 'scoreflow lead scoring', displayOrder: -1 }));
  for (const p of missing) {
    await call(() => client.crm.properties.coreApi.createWithHttpInfo('contacts', { ...p, groupName: PROPERTY_GROUP } as never));
  }
}
