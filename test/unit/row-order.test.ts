import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { ModelCard } from '../../models/card.js';
import { leadSlice, type LeadSlice } from '../../models/copy-features.js';
import { readCard } from '../../models/load-model.js';
import { groupingKey, groupRows } from '../../models/row-order.js';

const card = readCard(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));
const names = (c: ModelCard, indexBits: number) => groupingKey(c, indexBits).map((p) => c.inputs[p.column]!.name);

/** A slice of `rows` leads whose inputs cycle through a few values each, in no grouped order. */
function mixedSlice(rows: number): LeadSlice {
  const slice = leadSlice(card, rows);
  slice.rows = rows;
  card.inputs.forEach((input, i) => {
    const values = input.type === 'category' ? input.categories.length : input.type === 'boolean' ? 2 : 7;
    for (let r = 0; r < rows; r++) slice.columns[i]![r] = ((r * (i + 3)) ^ (r >> 2)) % values;
  });
  return slice;
}

const copyColumns = (slice: LeadSlice) => slice.columns.map((c) => Array.from(c.subarray(0, slice.rows)));

describe('scoring rows grouped by their inputs', () => {
  it('groups by the inputs with the fewest values first, as many as a float64 numbers exactly beside the row index', () => {
    expect(names(card, 13)).toEqual(['demo_requested', 'seniority', 'lead_source', 'industry', 'site_visits_30d', 'email_opens_30d', 'email_clicks_30d']);
    // With a wider row index there is room for fewer of the integer inputs.
    expect(names(card, 30)).toEqual(['demo_requested', 'seniority', 'lead_source', 'industry', 'site_visits_30d']);
  });

  it('leaves out an integer input whose range has fractional ends', () => {
    const fractional: ModelCard = { ...card, inputs: card.inputs.map((i) => (i.name === 'site_visits_30d' ? { ...i, min: 0.5 } : i)) };
    expect(names(fractional, 13)).not.toContain('site_visits_30d');
    expect(names(fractional, 13)).toContain('email_opens_30d');
  });

  it('moves whole rows: each row holds what the row named by its order held, and equal inputs end up side by side', () => {
    const slice = mixedSlice(5000);
    const before = copyColumns(slice);
    groupRows(card, slice, slice.order);
    const order = Array.from(slice.order.subarray(0, slice.rows));
    expect([...order].sort((a, b) => a - b)).toEqual(order.map((_, r) => r));
    slice.columns.forEach((column, i) => {
      for (let r = 0; r < slice.rows; r++) expect(column[r]).toBe(before[i]![order[r]!]);
    });
    // The first part of the key: one run of each value of demo_requested instead of thousands of alternations.
    const demo = slice.columns[card.inputs.findIndex((i) => i.name === 'demo_requested')]!;
    let runs = 1;
    for (let r = 1; r < slice.rows; r++) if (demo[r] !== demo[r - 1]) runs++;
    expect(runs).toBe(2);
  });

  it('keeps a whole permutation when inputs fall outside the card or are not numbers', () => {
    const slice = mixedSlice(300);
    const size = card.inputs.findIndex((i) => i.name === 'site_visits_30d');
    slice.columns[size]![0] = -5;
    slice.columns[size]![1] = 1e12;
    slice.columns[size]![2] = NaN;
    slice.rows = 299;
    const before = copyColumns(slice);
    groupRows(card, slice, slice.order);
    const order = Array.from(slice.order.subarray(0, slice.rows));
    expect(new Set(order).size).toBe(slice.rows);
    expect(Math.max(...order)).toBe(slice.rows - 1);
    slice.columns.forEach((column, i) => {
      for (let r = 0; r < slice.rows; r++) expect(column[r]).toEqual(before[i]![order[r]!]);
    });
  });
});
