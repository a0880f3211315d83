import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bucketFor } from '../../models/card.js';
import { parseFeature, prepareFeatures, type RawLead } from '../../models/features.js';
import { readCard } from '../../models/load-model.js';
import { encodeCopyField } from '../../db/copy-text.js';
import { PROJECT_ROOT } from '../../lib/paths.js';

const card = readCard(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));
const input = (name: string) => card.inputs.find((i) => i.name === name)!;
const good = ['250', 'software', 'web', 'director', '12', '5', '2', '3', 't'];
const lead = (id: number, fields: Array<string | null> = good, present = true): RawLead => ({
  leadId: String(id), updatedAt: '2026-01-01 00:00:00+00', present, fields: fields.map((f) => encodeCopyField(f)),
});

describe('feature validation against the model card', () => {
  it('accepts whole numbers in range, booleans and known categories in any case', () => {
    expect(parseFeature(input('company_size'), '100000', true)).toBe(100000);
    expect(parseFeature(input('demo_requested'), 'true', true)).toBe(1);
    expect(parseFeature(input('demo_requested'), 'f', true)).toBe(0);
    expect(parseFeature(input('industry'), ' FINANCE ', true)).toBe('finance');
  });

  it.each([
    ['company_size', null, 'company_size is missing (NULL)'],
    ['company_size', '0', "company_size is 0, outside the card's range 1..100000"],
    ['company_size', '100001', "company_size is 100001, outside the card's range 1..100000"],
    ['site_visits_30d', 'NaN', 'site_visits_30d is not a number ("NaN")'],
    ['site_visits_30d', '-Infinity', 'site_visits_30d is infinite'],
    ['site_visits_30d', '2.5', 'site_visits_30d is 2.5, not a whole number'],
    ['site_visits_30d', '  ', 'site_visits_30d is empty'],
    ['demo_requested', 'maybe', 'demo_requested is "maybe", not a boolean'],
    ['industry', '', 'industry is empty'],
    ['industry', 'Aerospace', 'industry "Aerospace" is not one of the card\'s categories'],
  ])('rejects %s = %j with a reason', (name, raw, reason) => {
    expect(parseFeature(input(name), raw, true)).toEqual({ reason });
  });

  it('is case-sensitive when the card says so', () => {
    expect(parseFeature(input('industry'), 'Finance', false)).toEqual({ reason: 'industry "Finance" is not one of the card\'s categories' });
  });

  it('splits a chunk into column-major inputs and reasoned rejections', () => {
    const bad = [...good];
    bad[1] = 'crypto';
    const { batch, rejected } = prepareFeatures(card, [lead(1), lead(2, bad), lead(3, good, false), lead(1), lead(4)]);
    expect(batch.leadIds).toEqual(['1', '4']);
    expect(Array.from(batch.columns[0] as Float32Array)).toEqual([250, 250]);
    expect(batch.columns[1]).toEqual(['software', 'software']);
    expect(rejected.map((r) => [r.leadId, r.reason])).toEqual([
      ['2', 'industry "crypto" is not one of the card\'s categories'],
      ['3', 'the lead was deleted from the source before it was scored'],
      ['1', 'lead_id appears more than once in the source table'],
    ]);
  });
});

describe('buckets', () => {
  it('puts a score in the highest bucket whose threshold it reaches', () => {
    const [hot, warm, , cold] = card.buckets;
    expect(bucketFor(card, 1)).toBe(hot!.name);
    expect(bucketFor(card, hot!.min_score)).toBe(hot!.name);
    expect(bucketFor(card, hot!.min_score - 1e-9)).toBe(warm!.name);
    expect(bucketFor(card, 0)).toBe(cold!.name);
  });
});
