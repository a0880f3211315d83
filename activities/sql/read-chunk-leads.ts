import type { Readable } from 'node:stream';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/**
 * One chunk of the run's snapshot as a relation `r(lead_id)`, for a FROM clause: its array unnested. The
 * planner cannot see the array's length, so it joins by probing the source's key index once per lead
 * rather than scanning the whole source for each chunk. The run id is quoted here; chunk is an integer.
 */
export function chunkLeadIds(runId: string, chunk: number): string {
  return `unnest((select lead_ids from scoring.run_leads where run_id = ${pg.escapeLiteral(runId)} and chunk = ${Math.trunc(chunk)})) as r(lead_id)`;
}

/**
 * Streams one chunk of the run's snapshot with its current feature values, through COPY, as the COPY text
 * bytes (see makeCopyLeadParser): lead_id, present, updated_at, the features in card order, rows in
 * lead_id order. A lead deleted from the source since the snapshot comes back with present = false.
 */
export function readChunkLeads(
  client: PoolClient,
  p: { runId: string; chunk: number; table: LeadsTable; featureColumns: readonly string[] },
): Readable {
  // COPY takes no bind parameters: the run id is a validated workflow id and chunk an integer.
  const features = p.featureColumns.map((c) => `l.${quoteColumn(c)}`).join(', ');
  const key = quoteColumn(p.table.columns.key);
  const sql = `copy (
      select r.lead_id, l.${key} is not null, l.${quoteColumn(p.table.columns.change)}, ${features}
      from ${chunkLeadIds(p.runId, p.chunk)} left join ${p.table.sql} l on l.${key} = r.lead_id
      order by r.lead_id
    ) to stdout`;
  return client.query(copyStreams.to(sql));
}
