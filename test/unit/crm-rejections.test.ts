import { describe, expect, it } from 'vitest';
import { configurationCause, sendContacts } from '../../activities/crm/send-contacts.js';
import { CONTACT_PROPERTIES, type CrmSink } from '../../activities/crm/contact-properties.js';

const OWN = new Set(CONTACT_PROPERTIES.map((p) => p.name));
const LEAD_SINK: CrmSink = { pipeline: 'lead-scoring', kind: 'probability-buckets', score: 'lead_score', bucket: 'lead_score_bucket', modelVersion: 'lead_score_model_version', scoredAt: 'lead_score_scored_at' };

const detail = (name: string, error: string, message: string) => ({ isValid: false, message, error, name, localizedErrorMessage: message });
const rejection = (problems: Array<ReturnType<typeof detail>>, withErrors = true) => ({
  category: 'VALIDATION_ERROR',
  message: `Property values were not valid: ${JSON.stringify(problems)}`,
  errors: withErrors ? problems.map((p) => ({ message: p.message, code: p.error, context: { propertyName: [p.name] } })) : [],
});

describe('sorting HubSpot’s 400 VALIDATION_ERROR into configuration and data', () => {
  it('names a property that does not exist, from errors[] or from the JSON list in the message alone', () => {
    const missing = [detail('lead_score_bucket', 'PROPERTY_DOESNT_EXIST', 'Property "lead_score_bucket" does not exist')];
    expect(configurationCause(rejection(missing), OWN)).toEqual({ name: 'lead_score_bucket', code: 'PROPERTY_DOESNT_EXIST', message: 'Property "lead_score_bucket" does not exist' });
    expect(configurationCause(rejection(missing, false), OWN)).toMatchObject({ name: 'lead_score_bucket', code: 'PROPERTY_DOESNT_EXIST' });
  });

  it('treats any refusal of a value of scoreflow’s own properties as configuration, even beside a bad email', () => {
    const problems = [detail('email', 'INVALID_EMAIL', 'Email address x@y is invalid'), detail('lead_score', 'INVALID_INTEGER', '53.2 is not a valid number')];
    expect(configurationCause(rejection(problems), OWN)).toMatchObject({ name: 'lead_score', code: 'INVALID_INTEGER' });
  });

  it('leaves one contact’s bad email, and a message without property details, to be isolated by splitting', () => {
    expect(configurationCause(rejection([detail('email', 'INVALID_EMAIL', 'Email address x@y is invalid')]), OWN)).toBeUndefined();
    expect(configurationCause({ category: 'VALIDATION_ERROR', message: 'Duplicate IDs found in batch input: [a@b.c]', errors: [] }, OWN)).toBeUndefined();
  });
});

describe('a batch/update HubSpot answers 404 OBJECT_NOT_FOUND for', () => {
  it('records the emails it names as not in HubSpot and sends the rest of the batch again', async () => {
    const contact = (n: number) => ({ lead_id: String(n), email: `lead${n}@example.com`, score: 0.5, bucket: 'warm', items: null, model_version: '1.0.0', scored_at: new Date(0) });
    const sent: string[][] = [];
    const updateWithHttpInfo = async ({ inputs }: { inputs: Array<{ id: string; properties: Record<string, string> }> }) => {
      sent.push(inputs.map((i) => i.id));
      if (inputs.some((i) => i.id === 'lead2@example.com')) {
        throw Object.assign(new Error('HTTP 404'), { code: 404, body: { category: 'OBJECT_NOT_FOUND', message: 'not found', context: { ids: ['LEAD2@example.com'] } } });
      }
      return { httpStatusCode: 200, data: { results: inputs.map((i, k) => ({ id: String(k), properties: i.properties })) } };
    };
    const ctx = {
      client: { crm: { contacts: { batchApi: { updateWithHttpInfo } } } } as never,
      conn: { baseUrl: 'http://hubspot.test', token: 't', tokenSource: 'HUBSPOT_ACCESS_TOKEN' },
      takeCall: async () => {},
      counters: { calls: 0, rateLimited: 0 },
      syncMode: 'update' as const,
    };
    const result = await sendContacts(ctx, LEAD_SINK, [contact(1), contact(2), contact(3)]);
    expect(result.notInCrm.map((c) => c.email)).toEqual(['lead2@example.com']);
    expect(result.accepted.map((a) => a.contact.email)).toEqual(['lead1@example.com', 'lead3@example.com']);
    expect(result.failed).toEqual([]);
    expect(sent).toEqual([['lead1@example.com', 'lead2@example.com', 'lead3@example.com'], ['lead1@example.com', 'lead3@example.com']]);
    expect(result.calls).toBe(2);
  });
});
