import { Readable } from 'node:stream';
import type { Connection, Submittable } from 'pg';

const COPY_DATA = 0x64;
const ERROR_RESPONSE = 0x45;
/** Messages that may come among a COPY's data (CopyOutResponse, CopyData, ParameterStatus, NoticeResponse, NotificationResponse); any other ends it. */
const AMONG_DATA = new Set([0x48, COPY_DATA, 0x53, 0x4e, 0x41]);

/**
 * `COPY … TO STDOUT` as a Readable of the COPY's bytes, one Buffer per read from the socket.
 * pg-copy-streams' CopyToStream (whose protocol handling this follows) slices a Buffer per CopyData
 * message, that is per row, and concatenates them again: a million rows were a million short-lived
 * Buffers. This strips each message's 5-byte header in place instead, moving the payloads together,
 * and pushes the read's bytes as one Buffer. As there: the socket is read directly until CopyDone; an
 * ErrorResponse (a failed or cancelled statement) is handed back to pg, which fails the query, and the
 * stream emits that error.
 */
export class CopyOutStream extends Readable implements Submittable {
  /** Rows PostgreSQL reported copied, once the stream has ended. */
  rowCount = 0;
  private connection: Connection | undefined;
  private pgDataHandler: ((data: Buffer) => void) | undefined;
  private readonly onReadable = () => this.forward();
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private code = 0;
  private remaining = 0;
  private drained = false;
  private forwarding = false;
  private discarding = false;

  constructor(private readonly text: string) {
    super();
  }

  submit(connection: Connection): void {
    const c = connection;
    this.connection = c;
    const listeners = c.stream.listeners('data');
    if (listeners.length !== 1) throw new Error(`CopyOutStream expects one data listener on the connection, found ${listeners.length}`);
    this.pgDataHandler = listeners[0] as (data: Buffer) => void;
    c.stream.removeListener('data', this.pgDataHandler);
    c.stream.pause();
    this.forward();
    c.stream.on('readable', this.onReadable);
    c.query(this.text);
  }

  override _read(): void {
    this.drained = true;
    this.forward();
  }

  /**
   * A reader that stops early (an error while it handled the rows) leaves the COPY running: the rest is
   * read and dropped, so that the connection reaches ReadyForQuery and runs its next query (the rollback).
   */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.discarding = true;
    this.forward();
    callback(err);
  }

  private forward(): void {
    if (this.forwarding || !(this.drained || this.discarding) || !this.connection) return;
    this.forwarding = true;
    let chunk: Buffer | null;
    while ((this.drained || this.discarding) && this.connection && (chunk = this.connection.stream.read() as Buffer | null) !== null) {
      this.drained = this.parse(chunk);
    }
    this.forwarding = false;
  }

  /** Moves the CopyData payloads of `chunk` to its start and pushes them; returns whether more may be pushed. */
  private parse(chunk: Buffer): boolean {
    const n = chunk.length;
    let i = 0;
    let w = 0;
    let done = false;
    while (i < n) {
      if (this.headerLength < 5) {
        if (this.headerLength === 0) {
          if (chunk[i] === ERROR_RESPONSE) {
            this.detach(chunk.subarray(i));
            return false;
          }
          if (i + 5 <= n) {
            this.code = chunk[i]!;
            this.remaining = chunk.readUInt32BE(i + 1) - 4;
            i += 5;
            this.headerLength = 5;
          }
        }
        if (this.headerLength < 5) {
          this.header[this.headerLength++] = chunk[i++]!;
          if (this.headerLength < 5) continue;
          this.code = this.header[0]!;
          this.remaining = this.header.readUInt32BE(1) - 4;
        }
      }
      const take = Math.min(this.remaining, n - i);
      if (this.code === COPY_DATA && take > 0) {
        if (w !== i) chunk.copyWithin(w, i, i + take);
        w += take;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.headerLength = 0;
        if (!AMONG_DATA.has(this.code)) {
          done = true;
          break;
        }
      }
    }
    const drained = w > 0 && !this.discarding ? this.push(chunk.subarray(0, w)) : true;
    if (done) {
      this.detach(chunk.subarray(i));
      if (!this.discarding) this.push(null);
    }
    return drained;
  }

  /** Gives the connection back to pg with the bytes after the COPY's (CommandComplete, ReadyForQuery, or the error). */
  private detach(unread: Buffer): void {
    const c = this.connection!;
    c.stream.removeListener('readable', this.onReadable);
    c.stream.on('data', this.pgDataHandler!);
    this.pgDataHandler!(unread);
    this.connection = undefined;
    process.nextTick(() => c.stream.resume());
  }

  /** Called by pg with the statement's error; a reader that has stopped already has its own. */
  handleError(err: Error): void {
    if (this.discarding) return;
    this.emit('error', err);
  }

  /** Called by pg with CommandComplete: `COPY n`. */
  handleCommandComplete(msg: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(msg?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {}
}

/** A COPY … TO STDOUT statement to pass to client.query, read as a stream of its bytes (see CopyOutStream). */
export const copyOut = (text: string): CopyOutStream => new CopyOutStream(text);
