import { copyOut } from '../db/copy-out.js';
import { withClient, type Pool } from '../db/pool.js';
import type { LoadedModel } from '../models/load-model.js';
import { scoreCopyLeads } from '../models/score-copy.js';
import { quoteColumn, type LeadsTable } from '../source/leads-table.js';
import { featureSelect } from './sql/read-chunk-leads.js';
import { stagedRowEncoder } from './sql/staged-rows.js';

/** Source rows a warm-up scores: enough for V8 to optimise the parser and the encoder's loops. */
export const WARM_UP_ROWS = 20_000;

/**
 * Reads WARM_UP_ROWS rows of the source (the first it finds) as a chunk's read lays them out, and parses, scores and
 * encodes them as a chunk would, in memory only (nothing is staged), on a connection of its own. A run that
 * examines the whole source starts this while its snapshot is taken, so that its first chunks run on
 * optimised code: the stage alone at 1M leads spent 1.94 s of main-thread CPU on its first pass and
 * 1.21-1.28 s on later ones, and 1.30 s on its first pass after a warm-up. Returns the rows scored.
 */
export async function warmScoringPath(pool: Pool, p: { table: LeadsTable; model: LoadedModel; runId: string }): Promise<number> {
  return withClient(pool, async (client) => {
    const { encodings, features } = await featureSelect(client, p.table, p.model.card.inputs);
    const rows = client.query(copyOut(`copy (
        select l.${quoteColumn(p.table.columns.key)}, true, l.${quoteColumn(p.table.columns.change)}::timestamptz, ${features}
        from ${p.table.sql} l limit ${WARM_UP_ROWS}
      ) to stdout (format binary)`));
    const encoder = stagedRowEncoder({ runId: p.runId, chunk: 0, scoredAt: new Date() }, p.model.card.buckets);
    const scored = await scoreCopyLeads(p.model, rows, (source, slice, scores) => encoder.encode(source, slice, scores).length, encodings);
    return scored.scored;
  });
}
