import { describe, expect, it } from 'vitest';
import { configurationCause } from '../../activities/crm/send-contacts.js';

const detail = (name: string, error: string, message: string) => ({ isValid: false, message, error, name, localizedErrorMessage: message });
const rejection = (problems: Array<ReturnType<typeof detail>>, withErrors = true) => ({
  category: 'VALIDATION_ERROR',
  message: `Property values were not valid: ${JSON.stringify(problems)}`,
  errors: withErrors ? problems.map((p) => ({ message: p.message, code: p.error, context: { propertyName: [p.name] } })) : [],
});

describe('sorting HubSpot’s 400 VALIDATION_ERROR into configuration and data', () => {
  it('names a property that does not exist, from errors[] or from the JSON list in the message alone', () => {
    const missing = [detail('lead_score_bucket', 'PROPERTY_DOESNT_EXIST', 'Property "lead_score_bucket" does not exist')];
    expect(configurationCause(rejection(missing))).toEqual({ name: 'lead_score_bucket', code: 'PROPERTY_DOESNT_EXIST', message: 'Property "lead_score_bucket" does not exist' });
    expect(configurationCause(rejection(missing, false))).toMatchObject({ name: 'lead_score_bucket', code: 'PROPERTY_DOESNT_EXIST' });
  });

  it('treats any refusal of a value of scoreflow’s own properties as configuration, even beside a bad email', () => {
    const problems = [detail('email', 'INVALID_EMAIL', 'Email address x@y is invalid'), detail('lead_score', 'INVALID_INTEGER', '53.2 is not a valid number')];
    expect(configurationCause(rejection(problems))).toMatchObject({ name: 'lead_score', code: 'INVALID_INTEGER' });
  });

  it('leaves one contact’s bad email, and a message without property details, to be isolated by splitting', () => {
    expect(configurationCause(rejection([detail('email', 'INVALID_EMAIL', 'Email address x@y is invalid')]))).toBeUndefined();
    expect(configurationCause({ category: 'VALIDATION_ERROR', message: 'Duplicate IDs found in batch input: [a@b.c]', errors: [] })).toBeUndefined();
  });
});
