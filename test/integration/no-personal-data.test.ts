import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every string in a workflow's history, payloads decoded from bytes, one per line: what a leak would show in. */
async function historyText(h: Harness, workflowId: string): Promise<string> {
  const history = await h.rt.temporal!.client.workflow.getHandle(workflowId).fetchHistory();
  const strings: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) strings.push(Buffer.from(value).toString('utf8'));
    else if (typeof value === 'string') strings.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history);
  return strings.join('\n');
}

describe('personal data and secrets', () => {
  it('never reach workflow inputs, results, failures or logs, even when contacts fail', async () => {
    const logs: string[] = [];
    h = await makeHarness({}, { logSink: { write: (line) => logs.push(line) } });
    await h.seed(400, { messyRate: 0.05 });
    const emails = (await h.query<{ email: string }>('select email from public.leads')).map((r) => r.email);
    h.sandbox.setFaults({ failEmails: emails.slice(0, 5), rejectBatchEmails: [emails[10]!] });
    const result = await h.run('2026-09-01');
    expect(result.crm!.failed).toBeGreaterThan(0);

    const texts = [await historyText(h, 'lead-scoring-2026-09-01'), logs.join('\n')];
    expect(texts[0]).toContain('"asOf":"2026-09-01"'); // payloads are decoded, so a leak would show
    expect(logs.length).toBeGreaterThan(3);
    for (const text of texts) {
      const leaked = emails.filter((e) => text.toLowerCase().includes(e.toLowerCase()));
      expect(leaked).toEqual([]);
      expect(text).not.toContain(h.config.crm.token!);
      expect(text).not.toMatch(/company_size|site_visits_30d.*\d/);
    }
    // The reasons, with HubSpot's messages, are kept where operators can read them: PostgreSQL.
    const reasons = await h.query<{ n: number }>("select count(*)::int as n from scoring.crm_sync_failures where kind = 'failed'");
    expect(reasons[0]!.n).toBe(result.crm!.failed);
  });

  it('keep a bad token out of the failure that stops the run', async () => {
    const token = 'pat-na1-11111111-2222-3333-4444-555555555555';
    h = await makeHarness({ HUBSPOT_ACCESS_TOKEN: token });
    await h.seed(50);
    await h.run('2026-09-01').catch(() => undefined);
    const text = await historyText(h, 'lead-scoring-2026-09-01');
    expect(text).toContain('CrmAuthInvalid');
    expect(text).not.toContain(token);
  });
});
