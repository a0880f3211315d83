import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareFeatures, type RawLead } from '../../models/features.js';
import { loadModel, type LoadedModel } from '../../models/load-model.js';
import { predict, SLICE_ROWS } from '../../models/predict.js';
import { encodeCopyField } from '../../db/copy-text.js';
import { PROJECT_ROOT } from '../../lib/paths.js';

const modelDir = path.join(PROJECT_ROOT, 'models', 'lead-scoring');
const golden = JSON.parse(fs.readFileSync(path.join(modelDir, 'golden.json'), 'utf8')) as {
  model_sha256: string;
  tolerance: number;
  rows: Array<{ inputs: Record<string, number | string | boolean>; probability: number }>;
};

/** The golden inputs as the source would hold them, `copies` times over. */
function goldenLeads(card: LoadedModel['card'], copies = 1): RawLead[] {
  const rows = Array.from({ length: copies }, () => golden.rows).flat();
  return rows.map((row, i) => ({
    leadId: String(i + 1),
    updatedAt: '\\N',
    present: true,
    fields: card.inputs.map((input) => {
      const v = row.inputs[input.name]!;
      return encodeCopyField(typeof v === 'boolean' ? (v ? 't' : 'f') : v);
    }),
  }));
}

describe('the bundled lead-scoring model', () => {
  it('reproduces the golden probabilities computed in Python within 1e-6', async () => {
    const model = await loadModel(modelDir);
    expect(model.sha256).toBe(golden.model_sha256);
    const { batch, rejected } = prepareFeatures(model.card, goldenLeads(model.card));
    expect(rejected).toEqual([]);
    const scores = await predict(model, batch);
    expect(scores.length).toBe(golden.rows.length);
    const worst = Math.max(...golden.rows.map((row, i) => Math.abs(scores[i]! - row.probability)));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('gives every row its own probability across onnxruntime slices', async () => {
    const model = await loadModel(modelDir);
    const copies = Math.ceil((SLICE_ROWS * 2 + 1) / golden.rows.length);
    const { batch } = prepareFeatures(model.card, goldenLeads(model.card, copies));
    const slicesSeen: number[] = [];
    const scores = await predict(model, batch, (done) => slicesSeen.push(done));
    expect(slicesSeen.length).toBe(Math.ceil(batch.leadIds.length / SLICE_ROWS));
    scores.forEach((s, i) => expect(Math.abs(s - golden.rows[i % golden.rows.length]!.probability)).toBeLessThanOrEqual(1e-6));
  });
});
