import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareFeatures, type RawLead } from '../../models/features.js';
import { loadModel } from '../../models/load-model.js';
import { predict } from '../../models/predict.js';
import { encodeCopyField } from '../../db/copy-text.js';
import { PROJECT_ROOT } from '../../lib/paths.js';

const modelDir = path.join(PROJECT_ROOT, 'models', 'lead-scoring');
const golden = JSON.parse(fs.readFileSync(path.join(modelDir, 'golden.json'), 'utf8')) as {
  model_sha256: string;
  tolerance: number;
  rows: Array<{ inputs: Record<string, number | string | boolean>; probability: number }>;
};

describe('the bundled lead-scoring model', () => {
  it('reproduces the golden probabilities computed in Python within 1e-6', async () => {
    const model = await loadModel(modelDir);
    expect(model.sha256).toBe(golden.model_sha256);
    const rows: RawLead[] = golden.rows.map((row, i) => ({
      leadId: String(i + 1),
      updatedAt: '\\N',
      present: true,
      fields: model.card.inputs.map((input) => {
        const v = row.inputs[input.name]!;
        return encodeCopyField(typeof v === 'boolean' ? (v ? 't' : 'f') : typeof v === 'number' ? v : v);
      }),
    }));
    const { batch, rejected } = prepareFeatures(model.card, rows);
    expect(rejected).toEqual([]);
    const scores = await predict(model, batch);
    expect(scores.length).toBe(golden.rows.length);
    const worst = Math.max(...golden.rows.map((row, i) => Math.abs(scores[i]! - row.probability)));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});
