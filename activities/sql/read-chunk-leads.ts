import type { Readable } from 'node:stream';
import pg from 'pg';
import { copyOut } from '../../db/copy-out.js';
import type { PoolClient } from '../../db/pool.js';
import { SourceSchemaInvalid } from '../../lib/errors.js';
import type { CardInput } from '../../models/card.js';
import type { FieldEncoding } from '../../models/copy-features.js';
import { changeColumnProblem, quoteColumn, sourceColumns, type LeadsTable } from '../../source/leads-table.js';

/** Integer and boolean column types whose binary form an input of the card's type is read in. */
const BINARY: Record<string, { input: CardInput['type']; encoding: FieldEncoding }> = {
  smallint: { input: 'integer', encoding: 'int2' },
  integer: { input: 'integer', encoding: 'int4' },
  bigint: { input: 'integer', encoding: 'int8' },
  boolean: { input: 'boolean', encoding: 'bool' },
};

/**
 * One chunk of the run's snapshot as a relation `r(lead_id)`, for a FROM clause: its array unnested. The
 * planner cannot see the array's length, so it joins by probing the source's key index once per lead
 * rather than scanning the whole source for each chunk. The run id is quoted here; chunk is an integer.
 */
export function chunkLeadIds(runId: string, chunk: number): string {
  return `unnest((select lead_ids from scoring.run_leads where run_id = ${pg.escapeLiteral(runId)} and chunk = ${Math.trunc(chunk)})) as r(lead_id)`;
}

/**
 * The chunk's first and last lead_id: extract cuts chunks from the leads in lead_id order, so a chunk's leads
 * lie in that range of the source's key, and the join can read just that range of its index instead of the
 * table. `dense` when the chunk holds at least half of the keys in its range, as in a full run.
 */
async function chunkBounds(client: PoolClient, runId: string, chunk: number): Promise<{ lo: string; hi: string; dense: boolean } | null> {
  const { rows } = await client.query<{ lo: string | null; hi: string | null; dense: boolean | null }>(
    `select lead_ids[1]::text as lo, lead_ids[cardinality(lead_ids)]::text as hi,
            cardinality(lead_ids)::numeric * 2 >= lead_ids[cardinality(lead_ids)]::numeric - lead_ids[1] + 1 as dense
     from scoring.run_leads where run_id = $1 and chunk = $2`,
    [runId, chunk],
  );
  const { lo, hi, dense } = rows[0] ?? { lo: null, hi: null, dense: null };
  return lo !== null && hi !== null && /^-?\d+$/.test(lo) && /^-?\d+$/.test(hi) ? { lo, hi, dense: dense === true } : null;
}

/**
 * The card's inputs as the COPY of a chunk selects them from the source row `l` (after its key, presence and
 * change time): each in its binary form where the parser reads one, else as text (see readChunkLeads), and
 * which, per input. A change column that is no timestamp or date is SourceSchemaInvalid.
 */
export async function featureSelect(
  client: PoolClient,
  table: LeadsTable,
  inputs: readonly CardInput[],
): Promise<{ encodings: FieldEncoding[]; features: string }> {
  const changeName = table.columns.change;
  const types = await sourceColumns(client, table);
  const changeType = types.get(changeName)?.type;
  const problem = changeType === undefined ? undefined : changeColumnProblem(table, changeType);
  if (problem) throw new SourceSchemaInvalid(problem);
  const encodings = inputs.map((input): FieldEncoding => {
    const binary = BINARY[types.get(input.name)?.type ?? ''];
    return binary?.input === input.type ? binary.encoding : 'text';
  });
  const features = inputs.map((input, i) => {
    const asIs = encodings[i] !== 'text' || types.get(input.name)?.text;
    return `l.${quoteColumn(input.name)}${asIs ? '' : '::text'}`;
  }).join(', ');
  return { encodings, features };
}

/**
 * Streams one chunk of the run's snapshot with its current feature values, through binary COPY, as its
 * bytes (see makeCopyLeadParser): lead_id (int8), present (bool), updated_at (timestamptz), then each
 * input's column, rows in lead_id order. An integer input from a smallint, integer or bigint column and
 * a boolean input from a boolean column come in their binary form; any other as its text (a string
 * column as it is, any other through ::text: no escapes, the characters COPY text gave). `encodings`
 * says which, per input. A lead deleted from the source since the snapshot comes back with present =
 * false. A change column that is no timestamp or date is SourceSchemaInvalid. The source is read in the
 * key range of the chunk only (see chunkBounds).
 */
export async function readChunkLeads(
  client: PoolClient,
  p: { runId: string; chunk: number; table: LeadsTable; inputs: readonly CardInput[] },
): Promise<{ rows: Readable; encodings: FieldEncoding[] }> {
  const { key: keyName, change: changeName } = p.table.columns;
  const { encodings, features } = await featureSelect(client, p.table, p.inputs);
  const key = quoteColumn(keyName);
  const bounds = await chunkBounds(client, p.runId, p.chunk);
  // Redundant for the result (a joined key equals the chunk's lead_id), it lets the planner scan only the chunk's range.
  const range = bounds ? ` and l.${key} between ${bounds.lo} and ${bounds.hi}` : '';
  // The planner cannot see how many ids the array holds, and probes the key index once per lead. For a dense
  // chunk one merge with a scan of the range is half the work (50,000 leads: 39-55 ms against 100-127 ms).
  // Set for the chunk's transaction, whose other statements join nothing.
  if (bounds?.dense) await client.query('set local enable_nestloop = off');
  // COPY takes no bind parameters: the run id is a validated workflow id and chunk an integer.
  const sql = `copy (
      select r.lead_id, l.${key} is not null, l.${quoteColumn(changeName)}::timestamptz, ${features}
      from ${chunkLeadIds(p.runId, p.chunk)} left join ${p.table.sql} l on l.${key} = r.lead_id${range}
      order by r.lead_id
    ) to stdout (format binary)`;
  return { rows: client.query(copyOut(sql)), encodings };
}
