import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { startEmbeddedPostgres, type LocalPostgres } from '../../services/embedded-postgres.js';
import { freePort } from '../support/free-port.js';

let postgres: LocalPostgres | undefined;
let privateDir: string | undefined;
afterEach(async () => {
  await postgres?.stop();
  if (privateDir) fs.rmSync(privateDir, { recursive: true, force: true });
});

// Only root runs PostgreSQL as another user; anyone else runs it as themselves and reaches their own directories.
describe.runIf(process.getuid?.() === 0)('the embedded PostgreSQL started by root', () => {
  it('starts and answers when its data directory lies inside a mode-700 directory', async () => {
    privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-private-'));
    fs.chmodSync(privateDir, 0o700);
    const dataDir = path.join(privateDir, 'home', 'pg');
    postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres', persistent: false, log: makeLogger('silent') });

    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ data_directory: string }>('select current_setting($1) as data_directory', ['data_directory']);
      expect(rows[0]!.data_directory).not.toBe(dataDir);
      expect(rows[0]!.data_directory).toMatch(/^\/var\/lib\/scoreflow\/pg-[0-9a-f]{16}$/);
    } finally {
      await client.end();
    }
  });
});
