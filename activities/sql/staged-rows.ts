import { encodeCopyField } from '../../db/copy-text.js';
import { bucketIndex, type ModelCard } from '../../models/card.js';
import type { LeadSlice } from '../../models/copy-features.js';

/** What every staged row of a chunk shares. */
export interface StagedChunk {
  runId: string;
  chunk: number;
  scoredAt: Date;
  /** The model that scored the chunk: history names it on every row. */
  model: { version: string; sha256: string };
}

/** The columns every row of a chunk has in common, with their value: the prebuilt prefix of each COPY row. */
const constantColumns = (c: StagedChunk): Array<[string, string | number]> => [
  ['run_id', c.runId],
  ['chunk', c.chunk],
  ['scored_at', c.scoredAt.toISOString()],
  ['model_version', c.model.version],
  ['model_sha256', c.model.sha256],
];

/** The COPY into scoring.staged_scores that rows from encodeStagedRows feed: the constant columns, then each lead's own. */
export const STAGED_SCORES_COPY = `copy scoring.staged_scores (${[
  ...constantColumns({ runId: '', chunk: 0, scoredAt: new Date(0), model: { version: '', sha256: '' } }).map(([name]) => name),
  'lead_id', 'source_updated_at', 'bucket', 'score',
].join(', ')}) from stdin`;

/**
 * Encodes a chunk's staged rows for STAGED_SCORES_COPY as Buffers: the constant prefix, then lead_id and
 * updated_at copied byte for byte from the COPY text they were read in, the bucket and the score.
 */
export function stagedRowEncoder(c: StagedChunk, buckets: ModelCard['buckets']) {
  const prefix = Buffer.from(constantColumns(c).map(([, v]) => `${encodeCopyField(v)}\t`).join(''), 'utf8');
  const names = buckets.map((b) => Buffer.from(`\t${encodeCopyField(b.name)}\t`, 'utf8'));
  const longest = Math.max(...names.map((n) => n.length));
  return {
    /** One slice's rows, one Buffer. */
    encode(source: Buffer, slice: LeadSlice, scores: Float32Array): Buffer {
      const { rows, idStart, idEnd, atStart, atEnd } = slice;
      let size = 0;
      for (let r = 0; r < rows; r++) size += idEnd[r]! - idStart[r]! + atEnd[r]! - atStart[r]!;
      // A double's shortest form is at most 24 characters.
      const out = Buffer.allocUnsafe(size + rows * (prefix.length + 1 + longest + 24 + 1));
      let at = 0;
      for (let r = 0; r < rows; r++) {
        // Byte loops: these fields are a few bytes long, shorter than a native copy's call costs.
        for (let i = 0; i < prefix.length; i++) out[at++] = prefix[i]!;
        for (let i = idStart[r]!, e = idEnd[r]!; i < e; i++) out[at++] = source[i]!;
        out[at++] = 9;
        for (let i = atStart[r]!, e = atEnd[r]!; i < e; i++) out[at++] = source[i]!;
        const score = scores[r]!;
        const name = names[bucketIndex(buckets, score)]!;
        for (let i = 0; i < name.length; i++) out[at++] = name[i]!;
        at += out.write(String(score), at, 'latin1');
        out[at++] = 10;
      }
      return out.subarray(0, at);
    },
  };
}
