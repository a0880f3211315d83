import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COPY_BINARY_HEADER, timestampText } from '../../db/copy-binary.js';
import { encodeCopyField } from '../../db/copy-text.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { ModelCard } from '../../models/card.js';
import { leadSlice, makeCopyLeadParser, type FieldEncoding, type LeadSlice } from '../../models/copy-features.js';
import { prepareFeatures, type RawLead, type Rejection } from '../../models/features.js';
import { readCard } from '../../models/load-model.js';
import { binaryCopyOf, binaryRow as row, micros } from '../support/binary-copy.js';

const card = readCard(path.join(PROJECT_ROOT, 'models', 'lead-scoring'));
const sensitive: ModelCard = { ...card, categories_case: 'sensitive' };
const good = ['250', 'software', 'web', 'director', '12', '5', '2', '3', 't'];
// As timestampText writes it, so that the rows read back compare equal to prepareFeatures' as strings.
const at = '2026-01-01T00:00:00.000001Z';
const atMicros = micros(at);

const copyOf = binaryCopyOf;
const lead = (id: number, fields: Array<string | null> = good, present = true): RawLead => ({
  leadId: String(id), updatedAt: present ? at : '\\N', present, fields: fields.map((f) => encodeCopyField(f)),
});

/** Every slice the parser fills, copied out as plain values, with the rejections; the bytes arrive in `parts`. */
function parseAll(c: ModelCard, source: Buffer, capacity = 5000, parts = 1, encodings: readonly FieldEncoding[] = []) {
  const parser = makeCopyLeadParser(c, encodings);
  const rejected: Rejection[] = [];
  const rows: Array<{ leadId: string; updatedAt: string; values: Array<number | string> }> = [];
  const slice: LeadSlice = leadSlice(c, capacity);
  let slices = 0;
  const flush = () => {
    slices++;
    for (let r = 0; r < slice.rows; r++) {
      rows.push({
        leadId: String(source.readBigInt64BE(slice.idStart[r]! + 4)),
        updatedAt: slice.atEnd[r]! - slice.atStart[r]! === 4 ? '\\N' : timestampText(source, slice.atStart[r]! + 4),
        values: c.inputs.map((input, i) => {
          const v = slice.columns[i]![r]!;
          return input.type === 'category' ? input.categories[v]! : v;
        }),
      });
    }
    slice.rows = 0;
  };
  for (let p = 1; p <= parts; p++) {
    const length = Math.round((source.length * p) / parts);
    const last = p === parts;
    for (;;) {
      parser.fill(source, length, slice, rejected, last);
      if (slice.rows === capacity || (last && slice.rows)) flush();
      else break;
      if (last && parser.position() >= length) break;
    }
  }
  return { rows, rejected, slices };
}

/** What prepareFeatures makes of the same leads, in the same shape. */
function prepared(c: ModelCard, leads: RawLead[]) {
  const { batch, rejected } = prepareFeatures(c, leads);
  const rows = batch.leadIds.map((leadId, r) => ({
    leadId, updatedAt: batch.updatedAt[r]!, values: batch.columns.map((col) => col[r]!),
  }));
  return { rows, rejected };
}

const withField = (name: string, raw: string | null) => {
  const fields: Array<string | null> = [...good];
  fields[card.inputs.findIndex((i) => i.name === name)] = raw;
  return fields;
};

const cases: Array<[string, Array<string | null>]> = [
  ['company_size', [null, '', '  ', '250', '1', '100000', '0', '100001', '-5', '-0', '007', '+5', ' 5', '5 ', '\t5', '2.5', '1e3', '0x10',
    'NaN', 'Infinity', '-Infinity', '-', '--5', '12345678901234567', '1234567890123456', '5\\', 'fünf', '٣']],
  ['site_visits_30d', ['0', '-0', '-1', '1000', '1001', '00000', '3\n', '\r3']],
  ['demo_requested', [null, '', 't', 'f', '1', '0', 'true', 'FALSE', 'True', ' t', 'yes', 'tt', '2', '\\', 'T']],
  ['industry', [null, '', ' ', 'software', 'SOFTWARE', 'Software', ' software ', 'software\t', 'soft\\ware', 'softwar', 'softwares',
    'crypto', 'softwaré', 'SOFTWARÉ', 'İndustry', 'x'.repeat(60)]],
];

describe('reading binary COPY bytes into model inputs', () => {
  it('reads well-formed whole numbers, booleans and categories, and the lead_id and updated_at bytes as written', () => {
    const source = copyOf([lead(7), lead(8, withField('industry', 'FINANCE'))]);
    const { rows, rejected } = parseAll(card, source);
    expect(rejected).toEqual([]);
    expect(rows).toEqual([
      { leadId: '7', updatedAt: at, values: [250, 'software', 'web', 'director', 12, 5, 2, 3, 1] },
      { leadId: '8', updatedAt: at, values: [250, 'finance', 'web', 'director', 12, 5, 2, 3, 1] },
    ]);
  });

  it.each(cases.flatMap(([name, raws]) => raws.map((raw) => [name, raw] as const)))(
    'agrees with prepareFeatures on %s = %j (value, or the same reason)',
    (name, raw) => {
      const leads = [lead(1, withField(name, raw))];
      for (const c of [card, sensitive]) expect(parseAll(c, copyOf(leads))).toMatchObject(prepared(c, leads));
    },
  );

  it('rejects a deleted lead and a repeated lead_id as prepareFeatures does, and keeps the first', () => {
    const bad = withField('industry', 'crypto');
    const leads = [lead(1), lead(2, bad), lead(2), lead(3, good, false), lead(4), lead(4), lead(4, bad), lead(5)];
    const got = parseAll(card, copyOf(leads));
    expect(got).toMatchObject(prepared(card, leads));
    expect(got.rejected.map((r) => [r.leadId, r.reason])).toEqual([
      ['2', 'industry "crypto" is not one of the card\'s categories'],
      ['2', 'lead_id appears more than once in the source table'],
      ['3', 'the lead was deleted from the source before it was scored'],
      ['4', 'lead_id appears more than once in the source table'],
      ['4', 'lead_id appears more than once in the source table'],
    ]);
    expect(got.rejected[2]!.updatedAt).toBe('\\N');
  });

  it('reads a NULL field (length -1) as parseFeature reads NULL, and a NULL updated_at as \\N', () => {
    const leads = card.inputs.map((input, i) => ({ ...lead(i + 1, withField(input.name, null)), updatedAt: '\\N' }));
    const got = parseAll(card, copyOf(leads));
    expect(got).toMatchObject(prepared(card, leads));
    expect(got.rejected.map((r) => [r.updatedAt, r.reason])).toEqual(card.inputs.map((i) => ['\\N', `${i.name} is missing (NULL)`]));
  });

  it('keeps a valid row\'s lead_id and updated_at as their binary fields, a NULL updated_at as its length alone', () => {
    const source = copyOf([lead(7), { ...lead(8), updatedAt: '\\N' }]);
    const slice = leadSlice(card, 4);
    makeCopyLeadParser(card).fill(source, source.length, slice, [], true);
    const bytes = (s: number, e: number) => source.subarray(s, e).toString('hex');
    expect([0, 1].map((r) => [bytes(slice.idStart[r]!, slice.idEnd[r]!), bytes(slice.atStart[r]!, slice.atEnd[r]!)])).toEqual([
      [`00000008${(7).toString(16).padStart(16, '0')}`, `00000008${atMicros.toString(16).padStart(16, '0')}`],
      [`00000008${(8).toString(16).padStart(16, '0')}`, 'ffffffff'],
    ]);
  });

  it('refuses bytes that are no binary COPY of the query\'s columns, or that end inside a row or before the trailer', () => {
    const whole = copyOf([lead(1), lead(2)]);
    const parse = (source: Buffer) => () => makeCopyLeadParser(card).fill(source, source.length, leadSlice(card, 4), [], true);
    expect(parse(Buffer.from(`1\tt\t${at}\n`))).toThrow(/signature/);
    expect(parse(Buffer.concat([COPY_BINARY_HEADER, row([Buffer.alloc(8), Buffer.from([1]), null])]))).toThrow(/3 fields where 12/);
    expect(parse(whole.subarray(0, whole.length - 2))).toThrow(/without its trailer/);
    expect(parse(whole.subarray(0, whole.length - 7))).toThrow(/without its trailer/);
  });

  it('never matches a card category that parseFeature could not accept as written', () => {
    const odd: ModelCard = { ...card, inputs: card.inputs.map((i) => (i.name === 'industry' ? { ...i, categories: ['Software', ' web', 'a\\b'] } : i)) };
    for (const raw of ['Software', 'software', ' web', 'web', 'a\\b']) {
      const leads = [lead(1, withField('industry', raw))];
      for (const c of [odd, { ...odd, categories_case: 'sensitive' as const }]) expect(parseAll(c, copyOf(leads))).toMatchObject(prepared(c, leads));
    }
  });

  it('maps categories that share a length and first byte each to its own code, and rejects an unknown one of that shape with parseFeature\'s reason', () => {
    const long = (n: number) => 'x'.repeat(n);
    const categories = ['outbound', 'overseas', 'oVerseen', 'web', long(63), long(64), long(70), 'ouTbound'];
    const shared: ModelCard = { ...card, inputs: card.inputs.map((i) => (i.name === 'industry' ? { ...i, categories } : i)) };
    const raws = ['outbound', 'overseas', 'OVERSEAS', 'oVerseen', 'overseen', 'ouTbound', 'outboard', 'Outboard', 'o', 'w', 'web', 'wEb',
      long(63), long(64), long(70), long(65), long(62), `${long(63)}y`];
    const leads = raws.map((raw, i) => lead(i + 1, withField('industry', raw)));
    for (const c of [shared, { ...shared, categories_case: 'sensitive' as const }]) {
      const got = parseAll(c, copyOf(leads));
      expect(got).toMatchObject(prepared(c, leads));
      const mapped = Object.fromEntries(got.rows.map((r) => [raws[Number(r.leadId) - 1], r.values[1]]));
      for (const raw of ['outbound', 'overseas', 'web', long(63), long(64), long(70)]) expect(mapped[raw]).toBe(raw);
      expect(got.rejected.find((r) => r.leadId === '7')?.reason).toBe('industry "outboard" is not one of the card\'s categories');
      expect(got.rejected.find((r) => r.leadId === '16')?.reason).toMatch(/^industry "x{40}…" is not one of the card's categories$/);
    }
  });

  it('fills slices up to their capacity and carries on where it stopped', () => {
    const leads = Array.from({ length: 23 }, (_, i) => lead(i + 1, i % 5 === 0 ? withField('company_size', '0') : good));
    const got = parseAll(card, copyOf(leads), 4);
    expect(got.slices).toBe(5);
    expect(got).toMatchObject(prepared(card, leads));
  });

  it('reads bytes that arrive in parts split anywhere, a row included, as the whole', () => {
    const leads = Array.from({ length: 40 }, (_, i) => lead(i + 1, i % 7 === 0 ? withField('industry', 'Aerospace') : i % 3 ? good : withField('industry', 'RETAIL')));
    const source = copyOf(leads);
    for (const parts of [2, 3, 17, 97, source.length]) expect(parseAll(card, source, 6, parts)).toMatchObject(prepared(card, leads));
  });

  it.each([
    ['int2', ['0', '250', '-5', '32767', '-32768']],
    ['int4', ['0', '1', '100000', '100001', '-1', '2147483647', '-2147483648']],
    ['int8', ['1', '100000', '100001', '-9007199254740993', '9007199254740993', '12345678901234567', '9223372036854775807']],
  ] as const)('reads an integer input from a column sent as %s with the text path\'s value or reason', (encoding, raws) => {
    const at = card.inputs.findIndex((i) => i.name === 'company_size');
    const encodings = card.inputs.map((_, i): FieldEncoding => (i === at ? encoding : 'text'));
    const leads = [...raws, null].map((raw, i) => lead(i + 1, withField('company_size', raw)));
    expect(parseAll(card, copyOf(leads, encodings), 5000, 1, encodings)).toMatchObject(prepared(card, leads));
    expect(prepared(card, leads).rejected.length).toBeGreaterThan(1);
  });

  it('reads a boolean input from a column sent as bool, and leaves text to a category input whatever it is told', () => {
    const encodings = card.inputs.map((i): FieldEncoding => (i.type === 'boolean' ? 'bool' : i.type === 'category' ? 'int4' : 'text'));
    const leads = [lead(1, withField('demo_requested', 't')), lead(2, withField('demo_requested', 'f')), lead(3, withField('demo_requested', null))];
    const textEncodings = encodings.map((e) => (e === 'int4' ? 'text' : e));
    expect(parseAll(card, copyOf(leads, textEncodings), 5000, 1, encodings)).toMatchObject(prepared(card, leads));
  });

  it('reads the booleans a boolean column gives through ::text', () => {
    for (const raw of ['true', 'false']) {
      const leads = [lead(1, withField('demo_requested', raw))];
      expect(parseAll(card, copyOf(leads))).toMatchObject(prepared(card, leads));
    }
  });
});
