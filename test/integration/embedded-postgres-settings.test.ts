import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { startEmbeddedPostgres, type LocalPostgres } from '../../services/embedded-postgres.js';
import { freePort } from '../support/free-port.js';

let postgres: LocalPostgres | undefined;
let home: string | undefined;
afterEach(async () => {
  await postgres?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('the embedded PostgreSQL', () => {
  it('runs with shared buffers and WAL between checkpoints sized for a run of ten million leads, not with the defaults of 128 MB and 1 GB, new WAL files not zero-filled, and WAL buffers and a WAL writer for a morning\'s page images', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-settings-'));
    postgres = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg'), port: await freePort(), database: 'postgres', persistent: false, log: makeLogger('silent') });

    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<Record<string, string>>(
        `select current_setting('shared_buffers') as shared_buffers, current_setting('max_wal_size') as max_wal_size,
                current_setting('wal_init_zero') as wal_init_zero, current_setting('wal_buffers') as wal_buffers,
                current_setting('wal_writer_delay') as wal_writer_delay, current_setting('wal_writer_flush_after') as wal_writer_flush_after`,
      );
      expect(rows[0]).toEqual({
        shared_buffers: '1GB', max_wal_size: '16GB', wal_init_zero: 'off', wal_buffers: '128MB', wal_writer_delay: '1ms', wal_writer_flush_after: '0',
      });
    } finally {
      await client.end();
    }
  });
});
