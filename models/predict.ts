import ort from 'onnxruntime-node';
import type { FeatureBatch } from './features.js';
import type { LoadedModel } from './load-model.js';

/** Runs the model on a batch; returns one probability per row (the card's output column). */
export async function predict(model: LoadedModel, batch: FeatureBatch): Promise<Float32Array> {
  const n = batch.leadIds.length;
  if (n === 0) return new Float32Array(0);
  const feeds: Record<string, ort.Tensor> = {};
  model.card.inputs.forEach((input, i) => {
    const column = batch.columns[i]!;
    feeds[input.name] = Array.isArray(column) ? new ort.Tensor('string', column, [n, 1]) : new ort.Tensor('float32', column, [n, 1]);
  });
  const output = (await model.session.run(feeds, [model.card.output.name]))[model.card.output.name]!;
  const data = output.data as Float32Array;
  const width = output.dims[1] ?? 1;
  const index = model.card.output.index;
  const scores = new Float32Array(n);
  for (let r = 0; r < n; r++) scores[r] = data[r * width + index]!;
  return scores;
}
