import ort from 'onnxruntime-node';
import type { FeatureBatch } from './features.js';
import type { LoadedModel } from './load-model.js';

/** Rows per onnxruntime call, here and in the worker's scoring thread (models/score-copy.ts). */
export const SLICE_ROWS = 5000;

/**
 * Runs the model's in-process session on a batch, a slice at a time, on this thread's event loop, and
 * returns one probability per row (the card's output column): the bench's "onnxruntime alone" and the
 * golden-vector check. The worker scores chunks in the model's own thread instead (startCopyScoring).
 * `onSlice` is called after each slice with the rows done so far.
 */
export async function predict(model: LoadedModel, batch: FeatureBatch, onSlice: (done: number) => void = () => {}): Promise<Float32Array> {
  const n = batch.leadIds.length;
  const scores = new Float32Array(n);
  const { name: outputName, index } = model.card.output;
  for (let start = 0; start < n; start += SLICE_ROWS) {
    const end = Math.min(n, start + SLICE_ROWS);
    const rows = end - start;
    const feeds: Record<string, ort.Tensor> = {};
    model.card.inputs.forEach((input, i) => {
      const column = batch.columns[i]!;
      feeds[input.name] = Array.isArray(column)
        ? new ort.Tensor('string', column.slice(start, end), [rows, 1])
        : new ort.Tensor('float32', column.subarray(start, end), [rows, 1]);
    });
    const output = (await model.session.run(feeds, [outputName]))[outputName]!;
    const data = output.data as Float32Array;
    const width = output.dims[1] ?? 1;
    for (let r = 0; r < rows; r++) scores[start + r] = data[r * width + index]!;
    onSlice(end);
  }
  return scores;
}
