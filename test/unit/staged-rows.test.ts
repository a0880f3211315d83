import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGED_SCORES_COPY, stagedRowEncoder } from '../../activities/sql/staged-rows.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { bucketFor } from '../../models/card.js';
import { leadSlice } from '../../models/copy-features.js';
import { readCard } from '../../models/load-model.js';

const card = readCard(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));

describe('staged score rows', () => {
  it('are the constant columns, then lead_id and updated_at byte for byte, the bucket and the score as JavaScript prints it', () => {
    const source = Buffer.from('42\tt\t2026-01-01 00:00:00+00\t…\n9007199254740993\tt\t\\N\t…\n');
    const slice = leadSlice(card, 4);
    slice.rows = 2;
    const second = source.indexOf('9007');
    slice.idStart.set([0, second]); slice.idEnd.set([2, second + 16]);
    slice.atStart.set([5, second + 19]); slice.atEnd.set([27, second + 21]);
    const scores = Float32Array.of(0.3, 0.07);
    const scoredAt = new Date('2026-11-02T06:00:00.123Z');
    const out = stagedRowEncoder({ runId: 'lead-scoring-2026-11-02', chunk: 3, scoredAt, model: { version: '1.0.0', sha256: 'ab12' } }, card.buckets).encode(source, slice, scores);
    const prefix = 'lead-scoring-2026-11-02\t3\t2026-11-02T06:00:00.123Z\t1.0.0\tab12\t';
    expect(out.toString()).toBe(
      `${prefix}42\t2026-01-01 00:00:00+00\t${bucketFor(card, scores[0]!)}\t${String(scores[0])}\n`
      + `${prefix}9007199254740993\t\\N\t${bucketFor(card, scores[1]!)}\t${String(scores[1])}\n`,
    );
    expect(STAGED_SCORES_COPY).toBe('copy scoring.staged_scores (run_id, chunk, scored_at, model_version, model_sha256, lead_id, source_updated_at, bucket, score) from stdin');
  });

  it('puts every score in the bucket bucketFor gives', () => {
    const n = 1001;
    const slice = leadSlice(card, n);
    slice.rows = n;
    const scores = Float32Array.from({ length: n }, (_, i) => i / (n - 1));
    const lines = stagedRowEncoder({ runId: 'r', chunk: 0, scoredAt: new Date(0), model: { version: 'v', sha256: 's' } }, card.buckets).encode(Buffer.alloc(0), slice, scores).toString().trimEnd().split('\n');
    expect(lines.map((l) => l.split('\t').at(-2))).toEqual(Array.from(scores, (s) => bucketFor(card, s)));
  });
});
