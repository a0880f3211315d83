import type { ModelCard } from '../models/card.js';
import { leadSlice } from '../models/copy-features.js';
import { parseFeature, type FeatureBatch } from '../models/features.js';
import type { LoadedModel } from '../models/load-model.js';
import { predict, SLICE_ROWS } from '../models/predict.js';
import { groupRows } from '../models/row-order.js';
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

/** The batch with the rows of each slice of SLICE_ROWS in the order the worker scores them (groupRows). */
function groupedBatch(card: ModelCard, batch: FeatureBatch): FeatureBatch {
  const n = batch.leadIds.length;
  const columns = batch.columns.map((c) => c.slice());
  const slice = leadSlice(card, SLICE_ROWS);
  for (let start = 0; start < n; start += SLICE_ROWS) {
    slice.rows = Math.min(SLICE_ROWS, n - start);
    card.inputs.forEach((input, i) => {
      const column = batch.columns[i]!;
      for (let r = 0; r < slice.rows; r++) {
        slice.columns[i]![r] = input.type === 'category' ? input.categories.indexOf((column as string[])[start + r]!) : (column as Float32Array)[start + r]!;
      }
    });
    groupRows(card, slice, slice.order);
    columns.forEach((column, i) => {
      const source = batch.columns[i]!;
      for (let r = 0; r < slice.rows; r++) column[start + r] = source[start + slice.order[r]!]!;
    });
  }
  return { ...batch, columns: columns as FeatureBatch['columns'] };
}

/**
 * onnxruntime alone: rows per second of `predict` on inputs already in memory (after one warm-up slice), on the
 * rows as they come or (`grouped`) with each slice's rows in the order the worker scores them.
 */
export async function inferenceAlone(model: LoadedModel, distribution: FeatureDistribution[], rows: number, grouped = false): Promise<Measured> {
  const plain = featureBatch(model.card, distribution, rows);
  const batch = grouped ? groupedBatch(model.card, plain) : plain;
  await predict(model, { ...batch, leadIds: batch.leadIds.slice(0, 100) , columns: batch.columns.map((c) => c.slice(0, 100)) });
  return timed(async () => (await predict(model, batch)).length);
}
