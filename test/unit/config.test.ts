import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { loadConfig } from '../../lib/config.js';
import { classifyError, ConfigInvalid } from '../../lib/errors.js';

const failure = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    return err as ConfigInvalid;
  }
  throw new Error('expected ConfigInvalid');
};

describe('configuration', () => {
  it('has working defaults with nothing set', () => {
    const c = loadConfig({});
    expect(c.database.url).toBeUndefined();
    expect(c.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'scoreflow', uiPort: 8233 });
    expect(c.schedule).toEqual({ cron: '0 6 * * *', timezone: 'UTC' });
    expect(c.source.leadsTable).toBe('public.leads');
    expect(c.model.dir).toMatch(/models\/lead-scoring$/);
  });

  it.each([
    [{ SCOREFLOW_SCHEDULE_TIMEZONE: 'Mars/Olympus' }, 'SCOREFLOW_SCHEDULE_TIMEZONE must be an IANA time zone'],
    [{ SCOREFLOW_SCHEDULE_CRON: 'every morning' }, 'SCOREFLOW_SCHEDULE_CRON must be a 5-field cron expression'],
    [{ SCOREFLOW_SCHEDULE_CRON: '0 6 * *' }, 'SCOREFLOW_SCHEDULE_CRON must be a 5-field cron expression'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL must be a postgres:// URL'],
    [{ SCOREFLOW_LEADS_TABLE: 'leads; drop table x' }, 'SCOREFLOW_LEADS_TABLE must be a table name'],
    [{ SCOREFLOW_CHUNK_SIZE: 'ten' }, 'SCOREFLOW_CHUNK_SIZE'],
  ])('refuses %j with a ConfigInvalid naming the variable', (env, text) => {
    const err = failure(env);
    expect(err).toBeInstanceOf(ConfigInvalid);
    expect(err.type).toBe('ConfigInvalid');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(text);
  });
});

describe('error classification', () => {
  it('makes missing tables and columns non-retryable and leaves connection faults retryable', () => {
    const missing = Object.assign(new Error('relation "public.leads" does not exist'), { code: '42P01' });
    const classified = classifyError(missing) as ApplicationFailure;
    expect(classified).toBeInstanceOf(ApplicationFailure);
    expect(classified.type).toBe('DatabaseSchemaInvalid');
    expect(classified.nonRetryable).toBe(true);
    const restart = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    expect(classifyError(restart)).toBe(restart);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(classifyError(reset)).toBe(reset);
  });
});
