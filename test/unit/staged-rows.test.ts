import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGED_SCORES_COPY, stagedRowEncoder } from '../../activities/sql/staged-rows.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { bucketFor } from '../../models/card.js';
import { leadSlice } from '../../models/copy-features.js';
import { readCard } from '../../models/load-model.js';

const card = readCard(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));

describe('staged score rows', () => {
  it('are binary COPY rows: the constant columns (no model: the run names it), lead_id and updated_at byte for byte from the source, the bucket and the score as float8', () => {
    const id = (n: bigint) => { const b = Buffer.alloc(12); b.writeInt32BE(8); b.writeBigInt64BE(n, 4); return b; };
    const updatedAt = Buffer.from('0000000800000000000f4241', 'hex');
    const source = Buffer.concat([Buffer.from('xx'), id(42n), updatedAt, id(9007199254740993n), Buffer.from('ffffffff', 'hex')]);
    const slice = leadSlice(card, 4);
    slice.rows = 2;
    slice.idStart.set([2, 26]); slice.idEnd.set([14, 38]);
    slice.atStart.set([14, 38]); slice.atEnd.set([26, 42]);
    const scores = Float32Array.of(0.3, 0.07);
    const scoredAt = new Date('2026-11-02T06:00:00.123Z');
    const out = stagedRowEncoder({ runId: 'lead-scoring-2026-11-02', chunk: 3, scoredAt }, card.buckets).encode(source, slice, scores);
    const text = (s: string) => { const b = Buffer.from(s); const l = Buffer.alloc(4); l.writeInt32BE(b.length); return Buffer.concat([l, b]); };
    const micros = (Date.parse('2026-11-02T06:00:00.123Z') - Date.parse('2000-01-01T00:00:00Z')) * 1000;
    const float8 = (v: number) => { const b = Buffer.alloc(12); b.writeInt32BE(8); b.writeDoubleBE(v, 4); return b; };
    const prefix = Buffer.concat([
      Buffer.from([0, 7]), text('lead-scoring-2026-11-02'), Buffer.from('0000000400000003', 'hex'),
      Buffer.from(`00000008${micros.toString(16).padStart(16, '0')}`, 'hex'),
    ]);
    expect(out.toString('hex')).toBe(Buffer.concat([
      prefix, id(42n), updatedAt, text(bucketFor(card, scores[0]!)), float8(scores[0]!),
      prefix, id(9007199254740993n), Buffer.from('ffffffff', 'hex'), text(bucketFor(card, scores[1]!)), float8(scores[1]!),
    ]).toString('hex'));
    expect(STAGED_SCORES_COPY).toBe('copy scoring.staged_scores (run_id, chunk, scored_at, lead_id, source_updated_at, bucket, score) from stdin (format binary)');
  });

  it('puts every score in the bucket bucketFor gives', () => {
    const n = 1001;
    const slice = leadSlice(card, n);
    slice.rows = n;
    const scores = Float32Array.from({ length: n }, (_, i) => i / (n - 1));
    // Every row the same lead, with a NULL updated_at.
    const source = Buffer.from('000000080000000000000001ffffffff', 'hex');
    slice.idStart.fill(0); slice.idEnd.fill(12); slice.atStart.fill(12); slice.atEnd.fill(16);
    const out = stagedRowEncoder({ runId: 'r', chunk: 0, scoredAt: new Date(0) }, card.buckets).encode(source, slice, scores);
    // Each row: the prefix (count, run_id, chunk, scored_at), lead_id and NULL updated_at, the bucket's length and name, then the score.
    const prefix = 2 + 5 + 8 + 12;
    const buckets: string[] = [];
    for (let at = prefix + 12 + 4; at < out.length;) {
      const n = out.readInt32BE(at);
      buckets.push(out.toString('utf8', at + 4, at + 4 + n));
      at += 4 + n + 12 + prefix + 12 + 4;
    }
    expect(buckets).toEqual(Array.from(scores, (s) => bucketFor(card, s)));
  });

  it('count the rows encoded per bucket and keep their newest change time to the microsecond, before 2000 and NULLs included', () => {
    const time = (micros: bigint | null) => {
      if (micros === null) return Buffer.from('ffffffff', 'hex');
      const b = Buffer.alloc(12); b.writeInt32BE(8); b.writeBigInt64BE(micros, 4); return b;
    };
    const id = Buffer.from('000000080000000000000001', 'hex');
    const encoder = stagedRowEncoder({ runId: 'r', chunk: 0, scoredAt: new Date(0) }, card.buckets);
    expect(encoder.aggregates()).toEqual({ bins: {}, highWater: null });
    const encodeRows = (times: Array<bigint | null>, scores: number[]) => {
      const parts = times.flatMap((t) => [id, time(t)]);
      const slice = leadSlice(card, times.length);
      slice.rows = times.length;
      let at = 0;
      times.forEach((_, r) => {
        slice.idStart[r] = at; slice.idEnd[r] = at + 12; at += 12;
        slice.atStart[r] = at; at += parts[2 * r + 1]!.length; slice.atEnd[r] = at;
      });
      encoder.encode(Buffer.concat(parts), slice, Float32Array.from(scores));
    };
    // 1999-12-31 23:59:59.999999, then 2026-11-02 06:00:00.000001 (its low 32 bits above 2^31), then NULL.
    encodeRows([-1n, 846_914_400_000_001n, null], [0.01, 0.5, 0.99]);
    encodeRows([846_914_399_999_999n, -5n], [0.5, 0.01]);
    const counts: Record<string, number> = {};
    for (const s of [0.01, 0.5, 0.99, 0.5, 0.01]) counts[bucketFor(card, Math.fround(s))] = (counts[bucketFor(card, Math.fround(s))] ?? 0) + 1;
    expect(encoder.aggregates()).toEqual({ bins: counts, highWater: '2026-11-02T06:00:00.000001Z' });
  });
});
