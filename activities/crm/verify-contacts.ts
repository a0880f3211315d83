import type { Pool } from '../../db/pool.js';
import { comparedValues, type CrmSink } from './contact-properties.js';
import { callWithBudget } from './hubspot.js';
import type { SendContext } from './send-contacts.js';

/**
 * Reads back a sample of the contacts this run wrote (batch read by email) and compares what HubSpot
 * holds with what it accepted. A mismatch is recorded as a `verify` failure and its sync state dropped,
 * so the next run sends it again: a success answer that stored nothing is caught here.
 */
export async function verifySample(pool: Pool, ctx: SendContext, sink: CrmSink, runId: string, target: string, sample: number): Promise<{ checked: number; mismatched: number }> {
  if (sample <= 0) return { checked: 0, mismatched: 0 };
  const { rows } = await pool.query<{ lead_id: string; email: string; score: number | null; bucket: string | null; items: string[] | null }>(
    `select lead_id, email, score, bucket, items from scoring.crm_sync_state where target = $3 and pipeline = $4 and run_id = $1 order by md5(email) limit $2`,
    [runId, sample, target, sink.pipeline],
  );
  const compared = Object.keys(comparedValues(sink, { score: 0, bucket: '', items: [] }));
  const mismatches: Array<{ leadId: string; reason: string }> = [];
  for (let i = 0; i < rows.length; i += 100) {
    const slice = rows.slice(i, i + 100);
    const outcome = await callWithBudget<{ results?: Array<{ properties?: Record<string, string | null> }> }>(ctx, () =>
      ctx.client.crm.contacts.batchApi.readWithHttpInfo({
        idProperty: 'email',
        inputs: slice.map((r) => ({ id: r.email })),
        properties: ['email', ...compared],
        propertiesWithHistory: [],
      }) as never,
    );
    if (outcome.kind !== 'ok') throw new Error(`HubSpot did not answer the read-back (${outcome.kind}); the stage retries`);
    const held = new Map((outcome.body.results ?? []).map((r) => [r.properties?.['email']?.toLowerCase(), r.properties ?? {}]));
    for (const r of slice) {
      const props = held.get(r.email);
      const sent = comparedValues(sink, r);
      if (!props) mismatches.push({ leadId: r.lead_id, reason: 'HubSpot has no contact with this email after accepting it' });
      // HubSpot answers a cleared property as null or ''.
      else if (compared.some((name) => (props[name] ?? '') !== sent[name])) {
        mismatches.push({ leadId: r.lead_id, reason: `HubSpot holds ${compared.map((n) => props[n]).join(' / ')} in ${compared.join(', ')} but was sent ${compared.map((n) => sent[n]).join(' / ')}` });
      }
    }
  }
  if (mismatches.length) {
    await pool.query(
      `with m as (select * from unnest($2::bigint[], $3::text[]) as t(lead_id, reason)),
            dropped as (delete from scoring.crm_sync_state s using m where s.target = $4 and s.pipeline = $5 and s.lead_id = m.lead_id returning s.lead_id)
       insert into scoring.crm_sync_failures (run_id, lead_id, kind, reason) select $1, lead_id, 'verify', reason from m
       on conflict (run_id, lead_id) do update set kind = 'verify', reason = excluded.reason, at = now()`,
      [runId, mismatches.map((m) => m.leadId), mismatches.map((m) => m.reason), target, sink.pipeline],
    );
  }
  return { checked: rows.length, mismatched: mismatches.length };
}
