import { codeColumn, leadSlice, type LeadSlice } from './copy-features.js';
import { graphThreadPool, startGraphThread, threadPerModel, type GraphThread, type ThreadFeed } from './graph-thread.js';
import type { LoadedModel } from './load-model.js';
import { SLICE_ROWS } from './predict.js';
import { groupRows } from './row-order.js';

/**
 * The model's scoring threads (`model.threads` of them, as one: see graphThreadPool), started on first use (and
 * again if one died), each holding the card's category lists. On 2 cores a second thread scores while the first
 * waits for its core: the batch-score stage alone at 1M leads took 3.58-3.60 s with two against 3.99-4.30 s with one.
 */
export const threadOf: (model: LoadedModel) => GraphThread = threadPerModel((model: LoadedModel) => {
  const vocab = Object.fromEntries(model.card.inputs.flatMap((i) => (i.type === 'category' ? [[i.name, i.categories]] : [])));
  return graphThreadPool(Array.from({ length: model.threads ?? 1 }, () => startGraphThread({ onnx: model.onnx, vocab })));
});

/** Scoring threads that have scored a full slice: see warmScoringThreads. */
const warmed = new WeakSet<GraphThread>();

/**
 * Starts the model's scoring threads now and runs a slice through each, so that the first chunks of a run
 * find onnxruntime loaded and its sessions made (a fresh worker's first three chunks of 50,000 leads:
 * 690-780 ms with this, 890 ms without; later chunks take about 500). The first time, the slice is a full
 * one, so that onnxruntime has sized its buffers for SLICE_ROWS and the grouping and the thread's code are
 * compiled: the first three chunks of a 1M run took 604-973 ms so, against 1,003-1,154 ms after a one-row
 * warm-up (one bench each). Later runs of the same worker warm with one row. Resolves once every thread has answered.
 */
export async function warmScoringThreads(model: LoadedModel): Promise<void> {
  const thread = threadOf(model);
  const rows = warmed.has(thread) ? 1 : SLICE_ROWS;
  const warmUp = () => {
    const slice = leadSlice(model.card, rows);
    slice.rows = rows;
    return inferSlice(model, slice);
  };
  await Promise.all(Array.from({ length: model.threads ?? 1 }, warmUp));
  warmed.add(thread);
}

/**
 * Runs the model on a slice's rows in the model's own thread and returns one probability per row (the
 * card's output column), in the slice's row order. The rows are scored grouped by their inputs (see
 * groupRows), which leaves the slice's input columns reordered. The columns travel to the thread and back
 * (transferred, not copied); categories go as codes into the card's lists.
 */
export async function inferSlice(model: LoadedModel, slice: LeadSlice): Promise<Float32Array> {
  const { card } = model;
  const rows = slice.rows;
  groupRows(card, slice, slice.order);
  const feeds: ThreadFeed[] = card.inputs.map((input, i) => ({
    name: input.name,
    type: input.type === 'category' ? 'codes' : 'float32',
    data: slice.columns[i]!.subarray(0, rows),
    dims: [rows, 1],
  }));
  const columnOf = (i: number, buffer: ArrayBuffer | number) => {
    const input = card.inputs[i]!;
    return input.type === 'category' ? codeColumn(input.categories.length, buffer) : new Float32Array(buffer as number & ArrayBuffer);
  };
  let call;
  try {
    call = await threadOf(model).run(feeds, [card.output.name], slice.columns.map((c) => c.buffer as ArrayBuffer));
  } catch (err) {
    slice.columns = slice.columns.map((_, i) => columnOf(i, slice.capacity));
    throw err;
  }
  slice.columns = call.buffers.map((b, i) => columnOf(i, b));
  const output = call.outputs[card.output.name]!;
  const data = output.data as Float32Array;
  const width = output.dims[1] ?? 1;
  const { index } = card.output;
  const scores = new Float32Array(rows);
  const { order } = slice;
  for (let r = 0; r < rows; r++) scores[order[r]!] = data[r * width + index]!;
  return scores;
}
