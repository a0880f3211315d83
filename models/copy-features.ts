import { timestampText } from '../db/copy-binary.js';
import type { CardInput, ModelCard } from './card.js';
import { parseFeature, type Rejection } from './features.js';

/** A category column: each row's position in the card's category list. */
export type CodeColumn = Uint8Array | Uint16Array | Uint32Array;

/**
 * Up to `capacity` valid rows parsed from COPY bytes, column-major: a Float32Array per integer or
 * boolean input, category codes per category input (each column its own ArrayBuffer, so it can be
 * transferred to the scoring thread), and each row's lead_id and updated_at as byte ranges of the source:
 * each field as binary COPY has it, its 4-byte length first (-1 for a NULL updated_at, with no bytes after it).
 */
export interface LeadSlice {
  capacity: number;
  rows: number;
  columns: Array<Float32Array | CodeColumn>;
  idStart: Int32Array;
  idEnd: Int32Array;
  atStart: Int32Array;
  atEnd: Int32Array;
  /** Where each row's inputs came from once the slice is grouped for scoring (see groupRows). */
  order: Uint32Array;
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
    order: new Uint32Array(capacity),
  };
}

/** The smallest code array that holds `categories` codes. */
export function codeColumn(categories: number, length: number | ArrayBuffer): CodeColumn {
  const n = length as number & ArrayBuffer;
  if (categories <= 0x100) return new Uint8Array(n);
  if (categories <= 0x10000) return new Uint16Array(n);
  return new Uint32Array(n);
}

const DELETED = 'the lead was deleted from the source before it was scored';
const DUPLICATE = 'lead_id appears more than once in the source table';
const HEADER = 19;

/**
 * How a feature arrives in the binary COPY: as its text, or (an integer input read from an integer
 * column, a boolean input from a boolean column) in the column's own binary form.
 */
export type FieldEncoding = 'text' | 'int2' | 'int4' | 'int8' | 'bool';

/** Per input, what the byte fast path needs; categories it cannot compare byte for byte are left to parseFeature. */
interface Plan {
  input: CardInput;
  kind: 0 | 1 | 2;
  encoding: FieldEncoding;
  min: number;
  max: number;
  words: Array<Buffer | null>;
  /** 1 + the first of the words with a length and first byte (see wordKey), 0 for none. */
  heads: Int32Array;
  /** 1 + the next word after each with the same key, 0 at the end. */
  nexts: Int32Array;
}

/** A category word's slot in Plan.heads: its length (the longest share one) and first byte. */
const wordKey = (length: number, first: number) => (Math.min(length, 63) << 8) | first;
const NO_WORDS = new Int32Array(0);

function planOf(input: CardInput, caseInsensitive: boolean, encoding: FieldEncoding): Plan {
  const none = { words: [], heads: NO_WORDS, nexts: NO_WORDS };
  if (input.type === 'integer') return { input, kind: 0, encoding: encoding.startsWith('int') ? encoding : 'text', min: input.min, max: input.max, ...none };
  if (input.type === 'boolean') return { input, kind: 1, encoding: encoding === 'bool' ? encoding : 'text', min: 0, max: 0, ...none };
  // Only a category that parseFeature would accept as it stands can be matched without it.
  const words = input.categories.map((c) => {
    const canonical = c === c.trim() && c !== '' && !/[\\\t\n\r]/.test(c) && (!caseInsensitive || c === c.toLowerCase());
    return canonical ? Buffer.from(c, 'utf8') : null;
  });
  const heads = new Int32Array(64 << 8);
  const nexts = new Int32Array(words.length);
  for (let c = words.length - 1; c >= 0; c--) {
    const word = words[c];
    if (!word) continue;
    const key = wordKey(word.length, word[0]!);
    nexts[c] = heads[key]!;
    heads[key] = c + 1;
  }
  return { input, kind: 2, encoding: 'text', min: 0, max: 0, words, heads, nexts };
}

/**
 * Reads the rows of a chunk's binary COPY output — lead_id (int8), present (bool), updated_at
 * (timestamptz), then one field per card input as `encodings` says (text by default), rows in lead_id
 * order (see readChunkLeads) — straight from the bytes into LeadSlices, without a string per field.
 * Well-formed whole numbers, booleans and categories are read from the bytes; anything else goes to
 * parseFeature on the field's text, so every rejection has parseFeature's reason. A lead deleted from the source and a lead_id
 * repeated in the source are rejected as prepareFeatures does. The bytes may arrive in parts: `fill`
 * reads the whole rows in the first `length` bytes of `source` (a buffer that may be replaced by a
 * larger copy holding the same bytes) and carries on from there.
 */
export function makeCopyLeadParser(card: ModelCard, encodings: readonly FieldEncoding[] = []) {
  const caseInsensitive = card.categories_case === 'insensitive';
  const plans = card.inputs.map((input, i) => planOf(input, caseInsensitive, encodings[i] ?? 'text'));
  const fields = 3 + plans.length;
  const start = new Int32Array(fields);
  const end = new Int32Array(fields);
  let source: Buffer = Buffer.alloc(0);
  let view = new DataView(source.buffer, source.byteOffset, source.length);
  let pos = 0;
  let ended = false;
  let lastId = -1;

  /** The field's value through parseFeature: a number (a category's code) or the reason it is unusable. */
  const slow = (plan: Plan, s: number, e: number): number | string => slowText(plan, e < s ? null : source.toString('utf8', s, e));
  const slowText = (plan: Plan, raw: string | null): number | string => {
    const parsed = parseFeature(plan.input, raw, caseInsensitive);
    if (typeof parsed === 'object') return parsed.reason;
    if (typeof parsed === 'number') return parsed;
    return (plan.input as { categories: string[] }).categories.indexOf(parsed);
  };

  /**
   * A field in its column's binary form: PostgreSQL checked its type, so only the card's range can
   * reject it, through parseFeature on the text the column prints (String of an integer, t/f).
   */
  const binary = (plan: Plan, s: number): number | string => {
    if (plan.encoding === 'bool') return source[s] === 1 ? 1 : 0;
    if (plan.encoding === 'int8') {
      const big = view.getBigInt64(s);
      const v = Number(big);
      return Number.isSafeInteger(v) && v >= plan.min && v <= plan.max ? v : slowText(plan, big.toString());
    }
    const v = plan.encoding === 'int4' ? view.getInt32(s) : view.getInt16(s);
    return v >= plan.min && v <= plan.max ? v : slowText(plan, String(v));
  };

  /** The field's value from its bytes, or the reason it is unusable. */
  const value = (plan: Plan, s: number, e: number): number | string => {
    if (e < s) return slow(plan, s, e);
    if (plan.encoding !== 'text') return binary(plan, s);
    if (plan.kind === 0) {
      let i = s;
      const negative = source[i] === 0x2d;
      if (negative) i++;
      if (i === e || e - i > 15) return slow(plan, s, e);
      let v = 0;
      for (; i < e; i++) {
        const d = source[i]! - 0x30;
        if (d < 0 || d > 9) return slow(plan, s, e);
        v = v * 10 + d;
      }
      if (negative) v = -v;
      return v < plan.min || v > plan.max ? slow(plan, s, e) : v;
    }
    if (plan.kind === 1) {
      const n = e - s;
      const b = source[s];
      // A boolean column arrives as true/false (its ::text), a text column as written.
      if (n === 1) {
        if (b === 0x74 || b === 0x31) return 1;
        if (b === 0x66 || b === 0x30) return 0;
      } else if (n === 4 && b === 0x74 && source[s + 1] === 0x72 && source[s + 2] === 0x75 && source[s + 3] === 0x65) {
        return 1;
      } else if (n === 5 && b === 0x66 && source[s + 1] === 0x61 && source[s + 2] === 0x6c && source[s + 3] === 0x73 && source[s + 4] === 0x65) {
        return 0;
      }
      return slow(plan, s, e);
    }
    const n = e - s;
    if (n === 0) return slow(plan, s, e);
    let first = source[s]!;
    if (caseInsensitive && first >= 0x41 && first <= 0x5a) first += 0x20;
    next: for (let c = plan.heads[wordKey(n, first)]!; c !== 0; c = plan.nexts[c - 1]!) {
      const word = plan.words[c - 1]!;
      if (word.length !== n) continue;
      for (let j = 1; j < n; j++) {
        let b = source[s + j]!;
        if (caseInsensitive && b >= 0x41 && b <= 0x5a) b += 0x20;
        if (b !== word[j]) continue next;
      }
      return c - 1;
    }
    return slow(plan, s, e);
  };

  const int32 = (i: number) => view.getInt32(i);
  /** A rejection: the lead id and updated_at as text (COPY text's \\N for a NULL updated_at), and why. */
  const reject = (rejected: Rejection[], reason: string) => rejected.push({
    leadId: String(source.readBigInt64BE(start[0]!)),
    updatedAt: end[2]! < start[2]! ? '\\N' : timestampText(source, start[2]!),
    reason,
  });

  return {
    /** Where the next row starts: the bytes before it are read. */
    position: () => pos,
    /**
     * Appends to `slice` the next valid rows among the whole rows of source[0, length), up to its
     * capacity, and appends the rows rejected on the way to `rejected`. With `last`, the bytes must end
     * with the COPY's trailer.
     */
    fill(bytes: Buffer, length: number, slice: LeadSlice, rejected: Rejection[], last = false): void {
      if (bytes !== source) {
        source = bytes;
        view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      }
      if (pos === 0) {
        if (length >= 11 && source.toString('latin1', 0, 11) !== 'PGCOPY\n\xff\r\n\0') throw new Error('not a binary COPY: the signature is missing');
        if (length < HEADER || (length < HEADER + int32(HEADER - 4))) {
          if (last) throw new Error(`binary COPY of ${length} bytes ends inside its header`);
          return;
        }
        pos = HEADER + int32(HEADER - 4);
      }
      while (!ended && slice.rows < slice.capacity) {
        if (pos + 2 > length) break;
        const count = (source[pos]! << 8) | source[pos + 1]!;
        if (count === 0xffff) {
          pos += 2;
          ended = true;
          break;
        }
        if (count !== fields) throw new Error(`binary COPY row of ${count} fields where ${fields} were expected`);
        let i = pos + 2;
        let f = 0;
        for (; f < fields; f++) {
          if (i + 4 > length) break;
          const n = int32(i);
          i += 4;
          start[f] = i;
          if (n < 0) {
            end[f] = i - 1;
            continue;
          }
          i += n;
          end[f] = i;
          if (i > length) break;
        }
        if (f < fields) break;
        pos = i;
        if (source[start[1]!] !== 1) {
          reject(rejected, DELETED);
          continue;
        }
        const id = start[0]!;
        if (lastId >= 0 && int32(id) === int32(lastId) && int32(id + 4) === int32(lastId + 4)) {
          reject(rejected, DUPLICATE);
          continue;
        }
        lastId = id;
        const r = slice.rows;
        let reason: string | undefined;
        for (let k = 0; k < plans.length; k++) {
          const v = value(plans[k]!, start[3 + k]!, end[3 + k]!);
          if (typeof v === 'string') {
            reason = v;
            break;
          }
          if (plans[k]!.kind === 2) (slice.columns[k] as CodeColumn)[r] = v;
          else (slice.columns[k] as Float32Array)[r] = v;
        }
        if (reason !== undefined) {
          reject(rejected, reason);
          continue;
        }
        slice.idStart[r] = id - 4;
        slice.idEnd[r] = id + 8;
        slice.atStart[r] = start[2]! - 4;
        slice.atEnd[r] = Math.max(end[2]!, start[2]!);
        slice.rows = r + 1;
      }
      if (last && !ended && slice.rows < slice.capacity) throw new Error('binary COPY ended without its trailer');
    },
  };
}
