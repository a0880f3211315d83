import type { ModelCard } from './card.js';
import { leadSlice, makeCopyLeadParser, type FieldEncoding, type LeadSlice } from './copy-features.js';
import type { Rejection } from './features.js';
import { inferSlice } from './lead-thread.js';
import type { LoadedModel } from './load-model.js';
import { SLICE_ROWS } from './predict.js';

/** A chunk's COPY bytes and parsed slices, kept between chunks of the same card so that a chunk allocates nothing. */
interface Spare {
  bytes: Buffer[];
  slices: LeadSlice[];
}
const spares = new WeakMap<ModelCard, Spare>();

/** What a scored slice becomes (a staged row per lead, say), while its bytes and ranges are still valid. */
export type OnScored<T> = (source: Buffer, slice: LeadSlice, scores: Float32Array, done: number) => T;

/**
 * Scores a chunk's binary COPY rows (see makeCopyLeadParser; `encodings` as readChunkLeads gives them) as they arrive: each slice of SLICE_ROWS
 * valid rows goes to the model's thread as soon as it is parsed, and the next is parsed meanwhile (at
 * most two in flight). `write` takes the bytes as they come (it waits while two slices are in flight);
 * `results` then yields what `onScored` made of each slice, in order, as the thread finishes them —
 * so the caller can stream them out while the last slices are still being scored.
 */
export function startCopyScoring<T>(model: LoadedModel, onScored: OnScored<T>, encodings: readonly FieldEncoding[] = []) {
  let spare = spares.get(model.card);
  if (!spare) spares.set(model.card, (spare = { bytes: [], slices: [] }));
  const parser = makeCopyLeadParser(model.card, encodings);
  const rejected: Rejection[] = [];
  const inFlight: Array<{ slice: LeadSlice; call: Promise<Float32Array> }> = [];
  const done: T[] = [];
  const free: LeadSlice[] = [];
  let bytes = spare.bytes.pop() ?? Buffer.allocUnsafe(1 << 20);
  let length = 0;
  let filling: LeadSlice | undefined;
  let scored = 0;

  const finish = async () => {
    const { slice, call } = inFlight[0]!;
    const scores = await call;
    inFlight.shift();
    scored += slice.rows;
    done.push(onScored(bytes, slice, scores, scored));
    free.push(slice);
  };
  const send = async (last: boolean) => {
    for (;;) {
      if (!filling) {
        if (inFlight.length >= 2) await finish();
        filling = free.pop() ?? spare.slices.pop() ?? leadSlice(model.card, SLICE_ROWS);
        filling.rows = 0;
      }
      parser.fill(bytes, length, filling, rejected, last);
      if (filling.rows < filling.capacity && !last) return;
      if (filling.rows === 0) {
        free.push(filling);
        filling = undefined;
        return;
      }
      const slice = filling;
      filling = undefined;
      const call = inferSlice(model, slice);
      call.catch(() => {});
      inFlight.push({ slice, call });
      if (last && parser.position() >= length) return;
    }
  };

  return {
    rejected,
    /** Rows scored so far (all of them once `results` has ended). */
    scored: () => scored,
    /** Appends COPY bytes (any split) and sends every full slice to the thread. */
    async write(data: Buffer): Promise<void> {
      if (length + data.length > bytes.length) {
        const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, length + data.length));
        bytes.copy(grown, 0, 0, length);
        bytes = grown;
      }
      data.copy(bytes, length);
      length += data.length;
      await send(false);
    },
    /** After the last write: every slice's result, in order, as it is scored; then the buffers are kept for the next chunk. */
    async *results(): AsyncGenerator<T> {
      await send(true);
      while (done.length || inFlight.length) {
        if (!done.length) await finish();
        yield done.shift()!;
      }
      spare.bytes.push(bytes);
      spare.slices.push(...free);
    },
  };
}

/** Scores a chunk's binary COPY bytes (see startCopyScoring) as they come from `input`: each slice's result, and the rows rejected. */
export async function scoreCopyLeads<T>(
  model: LoadedModel,
  input: AsyncIterable<Buffer> | Iterable<Buffer>,
  onScored: OnScored<T>,
  encodings: readonly FieldEncoding[] = [],
): Promise<{ results: T[]; scored: number; rejected: Rejection[] }> {
  const scoring = startCopyScoring(model, onScored, encodings);
  for await (const data of input) await scoring.write(data);
  const results: T[] = [];
  for await (const r of scoring.results()) results.push(r);
  return { results, scored: scoring.scored(), rejected: scoring.rejected };
}
