import type { ModelCard } from './card.js';
import { leadSlice, makeCopyLeadParser, type LeadSlice } from './copy-features.js';
import type { Rejection } from './features.js';
import { inferSlice } from './lead-thread.js';
import type { LoadedModel } from './load-model.js';
import { SLICE_ROWS } from './predict.js';

const spare = new WeakMap<ModelCard, LeadSlice[]>();

/**
 * Scores a chunk's COPY text rows (see makeCopyLeadParser): parses a slice of SLICE_ROWS valid rows
 * while the model's thread runs the previous one. `onScored` gets each slice with its scores, in
 * order, before the slice is reused (slices are reused between chunks). Returns the count scored and
 * the rows rejected with their reasons.
 */
export async function scoreCopyLeads(
  model: LoadedModel,
  source: Buffer,
  onScored: (slice: LeadSlice, scores: Float32Array, done: number) => void,
): Promise<{ scored: number; rejected: Rejection[] }> {
  let free = spare.get(model.card);
  if (!free) spare.set(model.card, (free = []));
  const parser = makeCopyLeadParser(model.card, source);
  const rejected: Rejection[] = [];
  const inFlight: Array<{ slice: LeadSlice; call: Promise<Float32Array> }> = [];
  const ready: LeadSlice[] = [];
  const take = () => ready.pop() ?? free.pop() ?? leadSlice(model.card, SLICE_ROWS);
  let scored = 0;
  const finish = async () => {
    const { slice, call } = inFlight.shift()!;
    const scores = await call;
    scored += slice.rows;
    ready.push(slice);
    onScored(slice, scores, scored);
  };
  while (parser.more()) {
    if (inFlight.length >= 2) await finish();
    const slice = take();
    parser.fill(slice, rejected);
    if (!slice.rows) {
      ready.push(slice);
      continue;
    }
    const call = inferSlice(model, slice);
    call.catch(() => {});
    inFlight.push({ slice, call });
  }
  while (inFlight.length) await finish();
  free.push(...ready);
  return { scored, rejected };
}
