import type { Readable } from 'node:stream';
import type { PoolClient } from '../db/pool.js';
import type { FieldEncoding } from '../models/copy-features.js';
import type { LoadedModel } from '../models/load-model.js';
import { startCopyScoring } from '../models/score-copy.js';
import type { LeadsTable } from '../source/leads-table.js';
import { readChunkLeads } from './sql/read-chunk-leads.js';
import { stageChunk, type ChunkCounts } from './sql/stage-chunk.js';
import { stagedRowEncoder } from './sql/staged-rows.js';

/** What the chunk needs of its activity: heartbeats and the cancellation check, bound to its context (see boundActivity). */
export interface ChunkActivity {
  heartbeat(details?: unknown): void;
  throwIfCancelled(): void;
}

/** A chunk's rows as binary COPY bytes (see makeCopyLeadParser), and how each input's field is encoded. */
export interface LeadRows {
  rows: Readable;
  encodings: FieldEncoding[];
}

/**
 * Reads, scores and stages one chunk of a probability-buckets run in the caller's transaction: the chunk's
 * leads stream out of PostgreSQL into the model's thread, and its scores stream back into staging as
 * the thread finishes each slice.
 */
export async function stageLeadChunk(
  client: PoolClient,
  p: { runId: string; chunk: number; model: LoadedModel; source: LeadsTable; activity: ChunkActivity; started: number },
): Promise<ChunkCounts> {
  const leads = await readChunkLeads(client, { runId: p.runId, chunk: p.chunk, table: p.source, inputs: p.model.card.inputs });
  const scored = await scoreLeadRows({ ...p, leads });
  return scored.stage(client);
}

/**
 * Scores a chunk's rows as they stream in (the model's thread takes each slice as it is parsed); once they
 * have ended, `stage` streams the scores into staging (as the thread finishes the last slices) and marks
 * the chunk staged, in the transaction of the client that read them.
 */
export async function scoreLeadRows(
  p: { runId: string; chunk: number; model: LoadedModel; leads: LeadRows; activity: ChunkActivity; started: number },
): Promise<{ stage(client: PoolClient): Promise<ChunkCounts> }> {
  const { runId, chunk, model, activity } = p;
  const encoder = stagedRowEncoder({ runId, chunk, scoredAt: new Date() }, model.card.buckets);
  const scoring = startCopyScoring(model, (source, slice, scores, done) => {
    activity.heartbeat({ chunk, scored: done });
    return encoder.encode(source, slice, scores);
  }, p.leads.encodings);
  for await (const data of p.leads.rows) await scoring.write(data as Buffer);
  activity.heartbeat({ chunk, read: true });
  activity.throwIfCancelled();
  return {
    stage(client) {
      // The COPY into staging starts as the read ends and takes each slice's rows as the thread scores them.
      const rows = (async function* () {
        for await (const r of scoring.results()) {
          activity.throwIfCancelled();
          yield r;
        }
      })();
      return stageChunk(client, {
        runId, chunk, rows,
        counts: () => ({ scored: scoring.scored(), rejected: scoring.rejected, scoreMs: Date.now() - p.started, aggregates: encoder.aggregates() }),
      });
    },
  };
}
