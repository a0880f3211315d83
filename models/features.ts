import { decodeCopyField } from '../db/copy-text.js';
import type { CardInput, ModelCard } from './card.js';

/** One source row as read for scoring: key, source timestamp (COPY-encoded) and raw feature fields. */
export interface RawLead {
  leadId: string;
  /** Still COPY-encoded so that it is written back to staging byte for byte. */
  updatedAt: string;
  /** false when the lead was deleted from the source after the run's snapshot was taken. */
  present: boolean;
  /** One COPY-encoded field per card input, in card order. */
  fields: string[];
}

export interface Rejection {
  leadId: string;
  updatedAt: string;
  reason: string;
}

/** Column-major model inputs for the valid rows, ready to become ONNX tensors. */
export interface FeatureBatch {
  leadIds: string[];
  updatedAt: string[];
  columns: Array<Float32Array | string[]>;
}

const MAX_ECHO = 40;
const echo = (s: string) => JSON.stringify(s.length > MAX_ECHO ? `${s.slice(0, MAX_ECHO)}…` : s);
const TRUE = new Set(['t', 'true', '1']);
const FALSE = new Set(['f', 'false', '0']);

/** Parses one raw field for one card input: the model value, or a readable reason it is unusable. */
export function parseFeature(input: CardInput, raw: string | null, caseInsensitive: boolean): number | string | { reason: string } {
  if (raw === null) return { reason: `${input.name} is missing (NULL)` };
  switch (input.type) {
    case 'integer': {
      const text = raw.trim();
      const value = Number(text);
      if (text === '' ) return { reason: `${input.name} is empty` };
      if (Number.isNaN(value)) return { reason: `${input.name} is not a number (${echo(text)})` };
      if (!Number.isFinite(value)) return { reason: `${input.name} is infinite` };
      if (!Number.isInteger(value)) return { reason: `${input.name} is ${value}, not a whole number` };
      if (value < input.min || value > input.max) {
        return { reason: `${input.name} is ${value}, outside the card's range ${input.min}..${input.max}` };
      }
      return value;
    }
    case 'boolean': {
      const text = raw.trim().toLowerCase();
      if (TRUE.has(text)) return 1;
      if (FALSE.has(text)) return 0;
      return { reason: `${input.name} is ${echo(raw)}, not a boolean` };
    }
    case 'category': {
      const text = caseInsensitive ? raw.trim().toLowerCase() : raw.trim();
      if (text === '') return { reason: `${input.name} is empty` };
      if (!input.categories.includes(text)) return { reason: `${input.name} ${echo(raw)} is not one of the card's categories` };
      return text;
    }
  }
}

/**
 * Splits decoded rows into model inputs and rejections with reasons. One bad field rejects its row;
 * the first bad field found is the reason given. The worker reads COPY bytes with makeCopyLeadParser
 * instead, which is tested to agree with this function row for row.
 */
export function prepareFeatures(card: ModelCard, rows: readonly RawLead[]): { batch: FeatureBatch; rejected: Rejection[] } {
  const caseInsensitive = card.categories_case === 'insensitive';
  const valid: Array<{ lead: RawLead; values: Array<number | string> }> = [];
  const rejected: Rejection[] = [];
  const seen = new Set<string>();
  for (const lead of rows) {
    if (!lead.present) {
      rejected.push({ leadId: lead.leadId, updatedAt: lead.updatedAt, reason: 'the lead was deleted from the source before it was scored' });
      continue;
    }
    if (seen.has(lead.leadId)) {
      rejected.push({ leadId: lead.leadId, updatedAt: lead.updatedAt, reason: 'lead_id appears more than once in the source table' });
      continue;
    }
    seen.add(lead.leadId);
    const values: Array<number | string> = [];
    let reason: string | undefined;
    for (let i = 0; i < card.inputs.length && !reason; i++) {
      const parsed = parseFeature(card.inputs[i]!, decodeCopyField(lead.fields[i] ?? '\\N'), caseInsensitive);
      if (typeof parsed === 'object') reason = parsed.reason;
      else values.push(parsed);
    }
    if (reason) rejected.push({ leadId: lead.leadId, updatedAt: lead.updatedAt, reason });
    else valid.push({ lead, values });
  }
  const n = valid.length;
  const columns = card.inputs.map((input, i) => {
    if (input.type === 'category') return valid.map((v) => v.values[i] as string);
    const column = new Float32Array(n);
    for (let r = 0; r < n; r++) column[r] = valid[r]!.values[i] as number;
    return column;
  });
  return {
    batch: { leadIds: valid.map((v) => v.lead.leadId), updatedAt: valid.map((v) => v.lead.updatedAt), columns },
    rejected,
  };
}
