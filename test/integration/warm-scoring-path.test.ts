import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { warmScoringPath } from '../../activities/warm-scoring-path.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { loadModel } from '../../models/load-model.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('warming the scoring path before a large run', () => {
  it('parses, scores and encodes source rows as a chunk would, and writes nothing', async () => {
    h = await makeHarness({}, { worker: false });
    await h.seed(3000, { seed: 4, messyRate: 0.1 });
    const model = { ...(await loadModel(path.join(PROJECT_ROOT, 'models', 'lead-scoring'))), threads: 2 };

    const scored = await warmScoringPath(h.rt.pool, { table: parseLeadsTable('public.leads'), model, runId: 'warm-up' });

    // Every usable row of the 3,000 (a tenth are messy, and some of those are quarantined).
    expect(scored).toBeGreaterThan(2500);
    expect(scored).toBeLessThan(3000);
    const written = await h.query<{ staged: number; chunks: number; rejected: number }>(`select
      (select count(*)::int from scoring.staged_scores) as staged, (select count(*)::int from scoring.run_chunks) as chunks,
      (select count(*)::int from scoring.rejected_leads) as rejected`);
    expect(written).toEqual([{ staged: 0, chunks: 0, rejected: 0 }]);
  });
});
