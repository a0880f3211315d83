import type { ModelCard } from './card.js';
import type { LeadSlice } from './copy-features.js';

/**
 * Why a slice is scored in an order of its own: a tree ensemble walks every tree for one row after another,
 * and rows that take the same branches one after the other let the CPU predict them. onnxruntime alone on
 * 200,000 synthetic leads in slices of 5,000, as they come against grouped by this key: 273,000 against
 * 351,000-368,000 rows/s in-process; in Python, medians of five interleaved, 14% more (24-32% with email clicks,
 * the model's second most frequent first split, ahead of the categories: a card does not say which inputs a
 * model splits on first). The scores are the same in any order; inferSlice puts them back.
 */

/** One input of the grouping key: its column in the slice, its lowest value and how many values it has. */
interface KeyPart {
  column: number;
  min: number;
  values: number;
}

/** A float64 holds integers up to 2^53 exactly: the key's parts times the row index's room must stay below that. */
const EXACT_BITS = 53;

/**
 * The inputs a slice's rows are grouped by, fewest values first (booleans, then categories, then integers by their
 * card's range), as many as fit in one float64 beside a row index of `indexBits` bits.
 */
export function groupingKey(card: ModelCard, indexBits: number): KeyPart[] {
  const parts = card.inputs.map((input, column): KeyPart => {
    if (input.type === 'boolean') return { column, min: 0, values: 2 };
    if (input.type === 'category') return { column, min: 0, values: input.categories.length };
    // A range with fractional ends cannot be numbered exactly: such an input is left out.
    const whole = Number.isInteger(input.min) && Number.isInteger(input.max);
    return { column, min: input.min, values: whole ? input.max - input.min + 1 : Infinity };
  }).sort((a, b) => a.values - b.values);
  const kept: KeyPart[] = [];
  let room = 2 ** (EXACT_BITS - indexBits);
  for (const part of parts) {
    if (!(part.values <= room)) break;
    kept.push(part);
    room = Math.floor(room / part.values);
  }
  return kept;
}

const keysByCard = new WeakMap<ModelCard, { indexBits: number; parts: KeyPart[] }>();
let keys = new Float64Array(0);
let scratch = new Float64Array(0);

/**
 * Reorders the slice's rows in place so that rows with equal grouped inputs (see groupingKey) are neighbours,
 * and writes to `order` where each row came from: row r now holds what row order[r] held. Only the input
 * columns move; the slice's id and time ranges stay where they were, so a caller that puts the scores back
 * by `order` finds every row's lead as before.
 */
export function groupRows(card: ModelCard, slice: LeadSlice, order: Uint32Array): void {
  const rows = slice.rows;
  const indexBits = Math.max(1, Math.ceil(Math.log2(slice.capacity)));
  let key = keysByCard.get(card);
  if (key?.indexBits !== indexBits) keysByCard.set(card, (key = { indexBits, parts: groupingKey(card, indexBits) }));
  if (keys.length < rows) {
    keys = new Float64Array(slice.capacity);
    scratch = new Float64Array(slice.capacity);
  }
  const shift = 2 ** indexBits;
  keys.fill(0, 0, rows);
  // Column by column, so that each loop reads one kind of array. `| 0` makes every part a whole number (NaN
  // becomes 0), and a value outside the card's range (none gets here today) is grouped at its end, never
  // wrapped into another part's bits.
  for (const { column, min, values } of key.parts) {
    const input = slice.columns[column]!;
    for (let r = 0; r < rows; r++) {
      const v = (input[r]! - min) | 0;
      keys[r] = keys[r]! * values + (v <= 0 ? 0 : v < values ? v : values - 1);
    }
  }
  for (let r = 0; r < rows; r++) keys[r] = keys[r]! * shift + r;
  const sorted = keys.subarray(0, rows).sort();
  for (let r = 0; r < rows; r++) order[r] = sorted[r]! % shift;
  for (const column of slice.columns) {
    scratch.set(column.subarray(0, rows));
    for (let r = 0; r < rows; r++) column[r] = scratch[order[r]!]!;
  }
}

