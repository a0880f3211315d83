import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { encodeCopyField, inWritesOf64KiB } from '../db/copy-text.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { ModelCard } from '../models/card.js';
import { quoteColumn, type LeadsTable } from './leads-table.js';
import { syntheticLeads, type FeatureDistribution } from './synthetic-leads.js';

const SQL_TYPE = { integer: 'integer', boolean: 'boolean', category: 'text' } as const;

/** Creates the demo leads table (lead_id, email, updated_at and the card's features) if it is missing. */
export async function createLeadsTable(pool: Pool, table: LeadsTable, card: ModelCard): Promise<void> {
  const features = card.inputs.map((i) => `${quoteColumn(i.name)} ${SQL_TYPE[i.type]}`).join(',\n  ');
  await pool.query(`create schema if not exists ${quoteColumn(table.schema)}`);
  await pool.query(`create table if not exists ${table.sql} (
  lead_id bigint primary key,
  email text,
  updated_at timestamptz not null default now(),
  ${features}
)`);
  await pool.query(`create index if not exists ${quoteColumn(`${table.table}_updated_at`)} on ${table.sql} (updated_at)`);
}

/**
 * Appends `count` synthetic leads after the table's highest lead_id, streamed through COPY.
 * With `replace`, the table is emptied first. With `ageDays`, leads were last updated 1 to `ageDays`
 * days ago, as in a CRM that has run for a while (default: now). Returns the number of rows written.
 */
export async function seedLeads(
  pool: Pool,
  table: LeadsTable,
  card: ModelCard,
  distribution: FeatureDistribution[],
  opts: { count: number; seed: number; messyRate: number; replace: boolean; ageDays?: number },
): Promise<{ written: number; firstId: number }> {
  await createLeadsTable(pool, table, card);
  const byName = new Map(distribution.map((d) => [d.name, d]));
  const features = card.inputs.map((i) => {
    const d = byName.get(i.name);
    if (!d) throw new Error(`lead-distribution.json has no feature ${i.name} that the card needs`);
    return d;
  });
  return withTransaction(pool, async (client) => {
    if (opts.replace) await client.query(`truncate ${table.sql}`);
    const { rows } = await client.query<{ next: string }>(`select coalesce(max(lead_id), 0) + 1 as next from ${table.sql}`);
    const firstId = Number(rows[0]!.next);
    const aged = (opts.ageDays ?? 0) > 0;
    const now = Date.now();
    const updatedAt = (leadId: number) => new Date(now - (1 + (leadId % opts.ageDays!)) * 86_400_000).toISOString();
    const columns = ['lead_id', 'email', ...(aged ? ['updated_at'] : []), ...card.inputs.map((i) => i.name)].map(quoteColumn).join(', ');
    const copy = client.query(copyStreams.from(`copy ${table.sql} (${columns}) from stdin`));
    const lines = (function* () {
      for (const lead of syntheticLeads({ features, count: opts.count, firstId, seed: opts.seed, messyRate: opts.messyRate })) {
        const values = lead.values.map((v) => (typeof v === 'boolean' ? (v ? 't' : 'f') : v));
        const key = aged ? [lead.leadId, lead.email, updatedAt(lead.leadId)] : [lead.leadId, lead.email];
        yield [...key, ...values].map((v) => encodeCopyField(v)).join('\t') + '\n';
      }
    })();
    await pipeline(Readable.from(inWritesOf64KiB(lines)), copy);
    return { written: opts.count, firstId };
  });
}
