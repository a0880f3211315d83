import { binaryInt4, binaryText, binaryTimestamp, timestampText } from '../../db/copy-binary.js';
import { bucketIndex, type ModelCard } from '../../models/card.js';
import type { LeadSlice } from '../../models/copy-features.js';
import type { ChunkAggregates } from './stage-chunk.js';

/** What every staged row of a chunk shares. */
export interface StagedChunk {
  runId: string;
  chunk: number;
  scoredAt: Date;
}

/**
 * The columns every row of a chunk has in common, with their binary COPY field: the prebuilt prefix of each
 * row. The model is not among them: the run's audit row names it once (migration 017).
 */
const constantColumns = (c: StagedChunk): Array<[string, Buffer]> => [
  ['run_id', binaryText(c.runId)],
  ['chunk', binaryInt4(c.chunk)],
  ['scored_at', binaryTimestamp(c.scoredAt)],
];

const COLUMNS = [
  ...constantColumns({ runId: '', chunk: 0, scoredAt: new Date(0) }).map(([name]) => name),
  'lead_id', 'source_updated_at', 'bucket', 'score',
];

/**
 * The binary COPY into scoring.staged_scores that rows from stagedRowEncoder feed (framed by binaryCopy):
 * the constant columns, then each lead's own. PostgreSQL parses no text: ids, times and scores arrive
 * as their 8 bytes.
 */
export const STAGED_SCORES_COPY = `copy scoring.staged_scores (${COLUMNS.join(', ')}) from stdin (format binary)`;

/**
 * Encodes a chunk's staged rows as binary COPY rows: the constant prefix, then lead_id (int8) and
 * updated_at (timestamptz or NULL) copied byte for byte from the binary COPY they were read in, the
 * bucket and the score (float8, the float32 the model gave).
 */
export function stagedRowEncoder(c: StagedChunk, buckets: ModelCard['buckets']) {
  const count = Buffer.from([0, COLUMNS.length]);
  const prefix = Buffer.concat([count, ...constantColumns(c).map(([, v]) => v)]);
  const names = buckets.map((b) => binaryText(b.name));
  const longest = Math.max(...names.map((n) => n.length));
  const perBucket = new Array<number>(buckets.length).fill(0);
  // The newest change time so far, as the two int32 halves of its 8 bytes (high signed, low unsigned).
  let newest: { high: number; low: number } | null = null;
  return {
    /** The rows encoded so far, per bucket, and their newest change time. */
    aggregates(): ChunkAggregates {
      const bins = Object.fromEntries(buckets.flatMap((b, i) => (perBucket[i]! > 0 ? [[b.name, perBucket[i]!]] : [])));
      if (!newest) return { bins, highWater: null };
      const bytes = Buffer.allocUnsafe(8);
      bytes.writeInt32BE(newest.high, 0);
      bytes.writeUInt32BE(newest.low, 4);
      return { bins, highWater: timestampText(bytes, 0) };
    },
    /** One slice's rows, one Buffer. */
    encode(source: Buffer, slice: LeadSlice, scores: Float32Array): Buffer {
      const { rows, idStart, atStart, atEnd } = slice;
      // lead_id and updated_at with their lengths: at most 12 bytes each; the score 4 + 8.
      const out = Buffer.allocUnsafe(rows * (prefix.length + 12 + 12 + longest + 12));
      const view = new DataView(out.buffer, out.byteOffset, out.length);
      const from = new DataView(source.buffer, source.byteOffset, source.length);
      let at = 0;
      for (let r = 0; r < rows; r++) {
        out.set(prefix, at);
        at += prefix.length;
        const id = idStart[r]!;
        view.setInt32(at, 8);
        view.setInt32(at + 4, from.getInt32(id + 4));
        view.setInt32(at + 8, from.getInt32(id + 8));
        at += 12;
        const time = atStart[r]!;
        if (atEnd[r]! - time === 12) {
          const high = from.getInt32(time + 4);
          const low = from.getUint32(time + 8);
          view.setInt32(at, 8);
          view.setInt32(at + 4, high);
          view.setUint32(at + 8, low);
          at += 12;
          if (!newest || high > newest.high || (high === newest.high && low > newest.low)) newest = { high, low };
        } else {
          view.setInt32(at, -1);
          at += 4;
        }
        const score = scores[r]!;
        const bucket = bucketIndex(buckets, score);
        perBucket[bucket]!++;
        const name = names[bucket]!;
        for (let i = 0; i < name.length; i++) out[at++] = name[i]!;
        view.setInt32(at, 8);
        view.setFloat64(at + 4, score);
        at += 12;
      }
      return out.subarray(0, at);
    },
  };
}
