import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from '../../db/copy-binary.js';
import { decodeCopyField } from '../../db/copy-text.js';
import type { FieldEncoding } from '../../models/copy-features.js';
import type { RawLead } from '../../models/features.js';

/** A binary COPY field: its length (-1 for NULL), then its bytes. */
export function binaryField(bytes: Buffer | null): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes ? bytes.length : -1);
  return bytes ? Buffer.concat([length, bytes]) : length;
}

/** One binary COPY row of these fields. */
export function binaryRow(fields: Array<Buffer | null>): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  return Buffer.concat([count, ...fields.map(binaryField)]);
}

/** Microseconds since 2000-01-01 UTC of a time written as timestampText writes it (2026-01-01T00:00:00.000001Z). */
export function micros(at: string): bigint {
  return BigInt(Date.parse(`${at.slice(0, 23)}Z`) - Date.parse('2000-01-01T00:00:00Z')) * 1000n + BigInt(at.slice(23, 26));
}

/** A feature's text in its column's binary form (an integer or boolean column's), or as its text. */
function encoded(raw: string, encoding: FieldEncoding): Buffer {
  if (encoding === 'text') return Buffer.from(raw, 'utf8');
  if (encoding === 'bool') return Buffer.from([raw === 't' ? 1 : 0]);
  const size = { int2: 2, int4: 4, int8: 8 }[encoding];
  const out = Buffer.alloc(size);
  if (encoding === 'int8') out.writeBigInt64BE(BigInt(raw));
  else if (encoding === 'int4') out.writeInt32BE(Number(raw));
  else out.writeInt16BE(Number(raw));
  return out;
}

/**
 * Leads as RawLead (what prepareFeatures reads: COPY text fields, updated_at as timestampText writes it or \N)
 * as the binary COPY bytes readChunkLeads returns, each feature in its `encodings` (text by default).
 */
export function binaryCopyOf(leads: RawLead[], encodings: readonly FieldEncoding[] = []): Buffer {
  return Buffer.concat([COPY_BINARY_HEADER, ...leads.map((l) => {
    const id = Buffer.alloc(8);
    id.writeBigInt64BE(BigInt(l.leadId));
    let updatedAt: Buffer | null = null;
    if (l.updatedAt !== '\\N') {
      updatedAt = Buffer.alloc(8);
      updatedAt.writeBigInt64BE(micros(l.updatedAt));
    }
    const field = (f: string, i: number) => {
      const raw = decodeCopyField(f);
      return raw === null ? null : encoded(raw, encodings[i] ?? 'text');
    };
    return binaryRow([id, Buffer.from([l.present ? 1 : 0]), updatedAt, ...l.fields.map(field)]);
  }), COPY_BINARY_TRAILER]);
}
