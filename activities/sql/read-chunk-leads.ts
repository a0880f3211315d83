import { text } from 'node:stream/consumers';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { splitCopyRows } from '../../db/copy-text.js';
import type { PoolClient } from '../../db/pool.js';
import type { RawLead } from '../../models/features.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/**
 * Reads one chunk of the run's snapshot with its current feature values, through COPY. A lead deleted
 * from the source since the snapshot comes back with present = false.
 */
export async function readChunkLeads(
  client: PoolClient,
  p: { runId: string; chunk: number; table: LeadsTable; featureColumns: readonly string[] },
): Promise<RawLead[]> {
  // COPY takes no bind parameters: the run id is a validated workflow id and chunk an integer.
  const features = p.featureColumns.map((c) => `l.${quoteColumn(c)}`).join(', ');
  const key = quoteColumn(p.table.columns.key);
  const sql = `copy (
      select r.lead_id, l.${key} is not null, l.${quoteColumn(p.table.columns.change)}, ${features}
      from scoring.run_leads r left join ${p.table.sql} l on l.${key} = r.lead_id
      where r.run_id = ${pg.escapeLiteral(p.runId)} and r.chunk = ${Math.trunc(p.chunk)}
      order by r.lead_id
    ) to stdout`;
  const body = await text(client.query(copyStreams.to(sql)));
  return splitCopyRows(body).map((f) => ({ leadId: f[0]!, present: f[1] === 't', updatedAt: f[2]!, fields: f.slice(3) }));
}
