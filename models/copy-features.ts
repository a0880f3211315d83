import { decodeCopyField } from '../db/copy-text.js';
import type { CardInput, ModelCard } from './card.js';
import { parseFeature, type Rejection } from './features.js';

/** A category column: each row's position in the card's category list. */
export type CodeColumn = Uint8Array | Uint16Array | Uint32Array;

/**
 * Up to `capacity` valid rows parsed from COPY bytes, column-major: a Float32Array per integer or
 * boolean input, category codes per category input (each column its own ArrayBuffer, so it can be
 * transferred to the scoring thread), and each row's lead_id and updated_at as byte ranges of the source.
 */
export interface LeadSlice {
  capacity: number;
  rows: number;
  columns: Array<Float32Array | CodeColumn>;
  idStart: Int32Array;
  idEnd: Int32Array;
  atStart: Int32Array;
  atEnd: Int32Array;
}

/** An empty slice of `capacity` rows shaped for the card's inputs. */
export function leadSlice(card: ModelCard, capacity: number): LeadSlice {
  return {
    capacity,
    rows: 0,
    columns: card.inputs.map((input) => (input.type === 'category' ? codeColumn(input.categories.length, capacity) : new Float32Array(capacity))),
    idStart: new Int32Array(capacity),
    idEnd: new Int32Array(capacity),
    atStart: new Int32Array(capacity),
    atEnd: new Int32Array(capacity),
  };
}

/** The smallest code array that holds `categories` codes. */
export function codeColumn(categories: number, length: number | ArrayBuffer): CodeColumn {
  const n = length as number & ArrayBuffer;
  if (categories <= 0x100) return new Uint8Array(n);
  if (categories <= 0x10000) return new Uint16Array(n);
  return new Uint32Array(n);
}

const TAB = 9;
const NEWLINE = 10;
const DELETED = 'the lead was deleted from the source before it was scored';
const DUPLICATE = 'lead_id appears more than once in the source table';

/** Per input, what the byte fast path needs; categories it cannot compare byte for byte are left to parseFeature. */
interface Plan {
  input: CardInput;
  kind: 0 | 1 | 2;
  min: number;
  max: number;
  words: Array<Buffer | null>;
}

function planOf(input: CardInput, caseInsensitive: boolean): Plan {
  if (input.type === 'integer') return { input, kind: 0, min: input.min, max: input.max, words: [] };
  if (input.type === 'boolean') return { input, kind: 1, min: 0, max: 0, words: [] };
  // Only a category that parseFeature would accept as it stands can be matched without it.
  const words = input.categories.map((c) => {
    const canonical = c === c.trim() && c !== '' && !/[\\\t\n\r]/.test(c) && (!caseInsensitive || c === c.toLowerCase());
    return canonical ? Buffer.from(c, 'utf8') : null;
  });
  return { input, kind: 2, min: 0, max: 0, words };
}

/**
 * Reads the rows of a chunk's COPY text output — lead_id, present, updated_at, then one field per card
 * input, rows in lead_id order (see readChunkLeads) — straight from the bytes into LeadSlices, without a
 * string per field. Well-formed whole numbers, booleans and categories are read from the bytes; anything
 * else goes to parseFeature on the decoded field, so every rejection has parseFeature's reason. A lead
 * deleted from the source and a lead_id repeated in the source are rejected as prepareFeatures does.
 * The bytes may arrive in parts: `fill` reads the whole rows in the first `length` bytes of `source`
 * (a buffer that may be replaced by a larger copy holding the same bytes) and carries on from there.
 */
export function makeCopyLeadParser(card: ModelCard) {
  const caseInsensitive = card.categories_case === 'insensitive';
  const plans = card.inputs.map((input) => planOf(input, caseInsensitive));
  const fields = 3 + plans.length;
  const start = new Int32Array(fields);
  const end = new Int32Array(fields);
  let source: Buffer = Buffer.alloc(0);
  let pos = 0;
  let lastId = -1;
  let lastIdEnd = -1;

  /** The field's value through parseFeature: a number (a category's code) or the reason it is unusable. */
  const slow = (plan: Plan, s: number, e: number, missing: boolean): number | string => {
    const raw = missing ? null : decodeCopyField(source.toString('utf8', s, e));
    const parsed = parseFeature(plan.input, raw, caseInsensitive);
    if (typeof parsed === 'object') return parsed.reason;
    if (typeof parsed === 'number') return parsed;
    return (plan.input as { categories: string[] }).categories.indexOf(parsed);
  };

  /** The field's value from its bytes, or the reason it is unusable. */
  const value = (plan: Plan, s: number, e: number): number | string => {
    if (plan.kind === 0) {
      let i = s;
      const negative = source[i] === 0x2d;
      if (negative) i++;
      if (i === e || e - i > 15) return slow(plan, s, e, false);
      let v = 0;
      for (; i < e; i++) {
        const d = source[i]! - 0x30;
        if (d < 0 || d > 9) return slow(plan, s, e, false);
        v = v * 10 + d;
      }
      if (negative) v = -v;
      return v < plan.min || v > plan.max ? slow(plan, s, e, false) : v;
    }
    if (plan.kind === 1) {
      if (e - s === 1) {
        const b = source[s];
        if (b === 0x74 || b === 0x31) return 1;
        if (b === 0x66 || b === 0x30) return 0;
      }
      return slow(plan, s, e, false);
    }
    const n = e - s;
    next: for (let c = 0; c < plan.words.length; c++) {
      const word = plan.words[c];
      if (!word || word.length !== n) continue;
      for (let j = 0; j < n; j++) {
        let b = source[s + j]!;
        if (caseInsensitive && b >= 0x41 && b <= 0x5a) b += 0x20;
        if (b !== word[j]) continue next;
      }
      return c;
    }
    return slow(plan, s, e, false);
  };

  const text = (i: number) => source.toString('utf8', start[i], end[i]);

  return {
    /** Where the next row starts: the bytes before it are read. */
    position: () => pos,
    /**
     * Appends to `slice` the next valid rows among the whole rows of source[0, length), up to its
     * capacity, and appends the rows rejected on the way to `rejected`. With `last`, a final row without
     * its newline is read too.
     */
    fill(bytes: Buffer, length: number, slice: LeadSlice, rejected: Rejection[], last = false): void {
      source = bytes;
      const limit = last || length === 0 ? length : bytes.lastIndexOf(NEWLINE, length - 1) + 1;
      while (pos < limit && slice.rows < slice.capacity) {
        let found = 0;
        let s = pos;
        let i = pos;
        for (; i < limit; i++) {
          const b = source[i];
          if (b === NEWLINE) break;
          if (b === TAB) {
            if (found < fields) {
              start[found] = s;
              end[found] = i;
            }
            found++;
            s = i + 1;
          }
        }
        if (found < fields) {
          start[found] = s;
          end[found] = i;
        }
        found++;
        for (let k = found; k < fields; k++) start[k] = end[k] = i;
        pos = i + 1;
        const present = found > 1 && end[1]! - start[1]! === 1 && source[start[1]!] === 0x74;
        if (!present) {
          rejected.push({ leadId: text(0), updatedAt: text(2), reason: DELETED });
          continue;
        }
        const idStart = start[0]!;
        const idEnd = end[0]!;
        if (lastId >= 0 && lastIdEnd - lastId === idEnd - idStart && source.compare(source, lastId, lastIdEnd, idStart, idEnd) === 0) {
          rejected.push({ leadId: text(0), updatedAt: text(2), reason: DUPLICATE });
          continue;
        }
        lastId = idStart;
        lastIdEnd = idEnd;
        const r = slice.rows;
        let reason: string | undefined;
        for (let f = 0; f < plans.length; f++) {
          const plan = plans[f]!;
          const v = 3 + f < found ? value(plan, start[3 + f]!, end[3 + f]!) : slow(plan, 0, 0, true);
          if (typeof v === 'string') {
            reason = v;
            break;
          }
          slice.columns[f]![r] = v;
        }
        if (reason !== undefined) {
          rejected.push({ leadId: text(0), updatedAt: text(2), reason });
          continue;
        }
        slice.idStart[r] = idStart;
        slice.idEnd[r] = idEnd;
        slice.atStart[r] = start[2]!;
        slice.atEnd[r] = end[2]!;
        slice.rows = r + 1;
      }
    },
  };
}
