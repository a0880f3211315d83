import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { binaryCopy } from '../../db/copy-binary.js';
import { decodeCopyField } from '../../db/copy-text.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import type { Rejection } from '../../models/features.js';
import { STAGED_SCORES_COPY } from './staged-rows.js';

export interface ChunkCounts {
  scored: number;
  rejected: number;
}

/** Counts of a chunk already staged, or null. Call inside the transaction that holds lockChunk. */
export async function stagedChunk(client: PoolClient, runId: string, chunk: number): Promise<ChunkCounts | null> {
  const { rows } = await client.query<ChunkCounts>(
    'select scored, rejected from scoring.run_chunks where run_id = $1 and chunk = $2',
    [runId, chunk],
  );
  return rows[0] ?? null;
}

/** Serialises attempts at the same chunk (a retry racing a slow first attempt) until commit. */
export async function lockChunk(client: PoolClient, runId: string, chunk: number): Promise<void> {
  await client.query('select pg_advisory_xact_lock(hashtext($1), $2)', [runId, chunk]);
}

/**
 * Writes a chunk's scores (binary COPY of the rows from stagedRowEncoder, as they come) and rejections (one
 * array statement) and marks the chunk done, all in the caller's transaction, so a chunk is either
 * entirely staged or not at all. `counts` is read once the rows have ended.
 */
export async function stageChunk(
  client: PoolClient,
  p: {
    runId: string;
    chunk: number;
    rows: Iterable<Buffer> | AsyncIterable<Buffer>;
    counts: () => { scored: number; rejected: Rejection[]; scoreMs: number; aggregates?: ChunkAggregates };
  },
): Promise<ChunkCounts> {
  await pipeline(Readable.from(binaryCopy(p.rows)), client.query(copyStreams.from(STAGED_SCORES_COPY)));
  const { scored, rejected, scoreMs, aggregates } = p.counts();
  if (rejected.length) {
    await client.query(
      `insert into scoring.rejected_leads (run_id, lead_id, chunk, source_updated_at, reason)
       select $1, lead_id, $2, updated_at, reason
       from unnest($3::bigint[], $4::timestamptz[], $5::text[]) as r(lead_id, updated_at, reason)
       on conflict do nothing`,
      [p.runId, p.chunk, rejected.map((r) => r.leadId), rejected.map((r) => decodeCopyField(r.updatedAt)), rejected.map((r) => r.reason)],
    );
  }
  return markChunkStaged(client, { runId: p.runId, chunk: p.chunk, scored, rejected: rejected.length, scoreMs, ...(aggregates ? { aggregates } : {}) });
}

/** What a probability-buckets chunk records of its staged rows, so that the gate and publishing need not scan them. */
export interface ChunkAggregates {
  /** Staged rows per bucket name. */
  bins: Record<string, number>;
  /** The newest source change time among its staged rows, as PostgreSQL reads a timestamptz (null without any). */
  highWater: string | null;
}

/** Marks a chunk done (run_chunks) and updates the run's counts, in the transaction that staged its rows. */
export async function markChunkStaged(
  client: PoolClient,
  p: { runId: string; chunk: number; scored: number; rejected: number; scoreMs: number; aggregates?: ChunkAggregates },
): Promise<ChunkCounts> {
  await client.query(
    'insert into scoring.run_chunks (run_id, chunk, scored, rejected, score_ms, bins, high_water) values ($1, $2, $3, $4, $5, $6, $7)',
    [p.runId, p.chunk, p.scored, p.rejected, p.scoreMs, p.aggregates ? JSON.stringify(p.aggregates.bins) : null, p.aggregates?.highWater ?? null],
  );
  await client.query(
    `update scoring.pipeline_runs set
       leads_scored = (select sum(scored) from scoring.run_chunks where run_id = $1),
       score_ms = (extract(epoch from clock_timestamp() - extracted_at) * 1000)::int,
       updated_at = now()
     where run_id = $1`,
    [p.runId],
  );
  return { scored: p.scored, rejected: p.rejected };
}

/** Whether the run has chunks and every one recorded its aggregates (see ChunkAggregates): then they stand for its staged rows. */
export async function chunksRecordedAggregates(db: Pool | PoolClient, runId: string): Promise<boolean> {
  const { rows } = await db.query<{ recorded: boolean | null }>(
    'select bool_and(bins is not null) as recorded from scoring.run_chunks where run_id = $1',
    [runId],
  );
  return rows[0]?.recorded === true;
}
