import type { ModelCard } from '../models/card.js';
import { parseFeature, type FeatureBatch } from '../models/features.js';
import type { LoadedModel } from '../models/load-model.js';
import { predict } from '../models/predict.js';
import { syntheticLeads, type FeatureDistribution } from '../source/synthetic-leads.js';
import { timed, type Measured } from './measure.js';

/** `rows` synthetic leads as model inputs, built in memory so that only inference is timed. */
function featureBatch(card: ModelCard, distribution: FeatureDistribution[], rows: number): FeatureBatch {
  const byName = new Map(distribution.map((d) => [d.name, d]));
  const features = card.inputs.map((i) => byName.get(i.name)!);
  const columns: Array<Float32Array | string[]> = card.inputs.map((i) => (i.type === 'category' ? [] : new Float32Array(rows)));
  const leadIds: string[] = [];
  let r = 0;
  for (const lead of syntheticLeads({ features, count: rows, firstId: 1, seed: 1, messyRate: 0 })) {
    card.inputs.forEach((input, i) => {
      const value = parseFeature(input, String(lead.values[i]), true);
      const column = columns[i]!;
      if (Array.isArray(column)) column.push(value as string);
      else column[r] = value as number;
    });
    leadIds.push(String(lead.leadId));
    r++;
  }
  return { leadIds, updatedAt: leadIds.map(() => ''), columns };
}

/** onnxruntime alone: rows per second of `predict` on inputs already in memory (after one warm-up slice). */
export async function inferenceAlone(model: LoadedModel, distribution: FeatureDistribution[], rows: number): Promise<Measured> {
  const batch = featureBatch(model.card, distribution, rows);
  await predict(model, { ...batch, leadIds: batch.leadIds.slice(0, 100) , columns: batch.columns.map((c) => c.slice(0, 100)) });
  return timed(async () => (await predict(model, batch)).length);
}
