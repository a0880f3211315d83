import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../lib/redact.js';

describe('a database URL shown to a person', () => {
  it.each([
    ['postgres://scoring:s3cret@db.internal:5432/crm', 'postgres://scoring:***@db.internal:5432/crm'],
    ['postgres://scoring:p%40ss%3Aw0rd@db.internal/crm?sslmode=require', 'postgres://scoring:***@db.internal/crm?sslmode=require'],
    ['postgres://scoring@db.internal/crm?password=s3cret&sslmode=require', 'postgres://scoring@db.internal/crm?password=***&sslmode=require'],
    ['postgres://db.internal/crm', 'postgres://db.internal/crm'],
  ])('%s is shown as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('hides the password even of a URL that does not parse', () => {
    const shown = redactUrl('postgres://scoring:s3c@ret@db internal/crm');
    expect(shown).not.toContain('s3c');
    expect(shown).toContain('scoring:***@');
  });
});
