import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

describe('the CRM target', () => {
  const outside = { DATABASE_URL: 'postgres://scoring@db.example:5432/crm' };

  it('is the sandbox with nothing set: scoreflow started the database itself', () => {
    expect(loadConfig({}).crm.target).toBe('sandbox');
  });

  it('is HubSpot when a token is set, from the variable or its file', () => {
    expect(loadConfig({ ...outside, HUBSPOT_ACCESS_TOKEN: 'pat-na1-x' }).crm).toMatchObject({ target: 'hubspot', baseUrl: 'https://api.hubapi.com', token: 'pat-na1-x' });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-token-')), 'token');
    fs.writeFileSync(file, 'pat-na1-y\n');
    expect(loadConfig({ ...outside, HUBSPOT_ACCESS_TOKEN_FILE: file }).crm).toMatchObject({ target: 'hubspot', token: 'pat-na1-y' });
  });

  it('follows SCOREFLOW_CRM over a token: sandbox or off', () => {
    expect(loadConfig({ ...outside, HUBSPOT_ACCESS_TOKEN: 'pat-na1-x', SCOREFLOW_CRM: 'sandbox' }).crm.target).toBe('sandbox');
    expect(loadConfig({ ...outside, HUBSPOT_ACCESS_TOKEN: 'pat-na1-x', SCOREFLOW_CRM: 'off' }).crm.target).toBe('off');
    expect(loadConfig({ ...outside, SCOREFLOW_CRM: 'off' }).crm.target).toBe('off');
    expect(loadConfig({ ...outside, SCOREFLOW_CRM: 'sandbox' }).crm.target).toBe('sandbox');
  });

  it('is the sandbox for a command that defaults to it (demo, dev), even against DATABASE_URL', () => {
    expect(loadConfig(outside, { crm: 'sandbox' }).crm.target).toBe('sandbox');
    expect(loadConfig({ ...outside, HUBSPOT_ACCESS_TOKEN: 'pat-na1-x' }, { crm: 'sandbox' }).crm.target).toBe('hubspot');
  });

  it('needs no choice for a command that never talks to a CRM (status, runs, seed, prune): off, unless one is chosen', () => {
    expect(loadConfig(outside, { crm: 'off' }).crm.target).toBe('off');
    expect(loadConfig({ ...outside, HUBSPOT_ACCESS_TOKEN: 'pat-na1-x' }, { crm: 'off' }).crm.target).toBe('hubspot');
  });

  it.each([
    [outside, 'no CRM chosen for the database at DATABASE_URL: set HUBSPOT_ACCESS_TOKEN (or HUBSPOT_ACCESS_TOKEN_FILE) for HubSpot, or SCOREFLOW_CRM=sandbox or SCOREFLOW_CRM=off'],
    [{ SCOREFLOW_CRM: 'hubspot' }, 'SCOREFLOW_CRM=hubspot needs a token: set HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE'],
    [{ SCOREFLOW_CRM: 'salesforce' }, 'SCOREFLOW_CRM must be hubspot, sandbox or off'],
  ])('refuses %j with one ConfigInvalid saying what to set', (env, text) => {
    const err = failure(env);
    expect(err).toBeInstanceOf(ConfigInvalid);
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
