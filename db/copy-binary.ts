/**
 * PostgreSQL's binary COPY format: a 19-byte header, then per row an int16 field count and per field an
 * int32 length (-1 for NULL) and that many bytes in the type's binary form (big-endian), then int16 -1.
 * int8 is 8 bytes, timestamptz 8 bytes of microseconds since 2000-01-01 UTC, float8 8 bytes, text its UTF-8 bytes.
 */

/** The header: signature, flags (no OIDs), no extension. */
export const COPY_BINARY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

/** The trailer that ends the rows. */
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** PostgreSQL's epoch, 2000-01-01 UTC, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const INFINITY = 0x7fffffffffffffffn;
const MINUS_INFINITY = -0x8000000000000000n;

/** A field as its binary COPY bytes: length, then the bytes. */
export function binaryField(value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + value.length);
  out.writeInt32BE(value.length, 0);
  value.copy(out, 4);
  return out;
}

/** A text field (UTF-8). */
export const binaryText = (value: string): Buffer => binaryField(Buffer.from(value, 'utf8'));

/** An int4 field. */
export function binaryInt4(value: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeInt32BE(4, 0);
  out.writeInt32BE(value, 4);
  return out;
}

/** A timestamptz field of a Date (whole milliseconds). */
export function binaryTimestamp(at: Date): Buffer {
  const out = Buffer.allocUnsafe(12);
  out.writeInt32BE(8, 0);
  out.writeBigInt64BE(BigInt(at.getTime() - PG_EPOCH_MS) * 1000n, 4);
  return out;
}

/**
 * A timestamptz's 8 bytes at `offset` as PostgreSQL reads it back: ISO 8601 UTC to the microsecond, or
 * infinity / -infinity.
 */
export function timestampText(bytes: Buffer, offset: number): string {
  const micros = bytes.readBigInt64BE(offset);
  if (micros === INFINITY) return 'infinity';
  if (micros === MINUS_INFINITY) return '-infinity';
  let ms = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    rest += 1000n;
    ms -= 1n;
  }
  const iso = new Date(Number(ms) + PG_EPOCH_MS).toISOString();
  return `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

/** Rows of binary COPY (Buffers of whole rows) framed as a whole COPY stream: the header, the rows, the trailer. */
export async function* binaryCopy(rows: Iterable<Buffer> | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield COPY_BINARY_HEADER;
  for await (const r of rows) yield r;
  yield COPY_BINARY_TRAILER;
}
