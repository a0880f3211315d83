import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { startDevServer, type DevServer } from '../../services/temporal-dev-server.js';
import { withFreePorts } from '../support/free-port.js';

let server: DevServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the Temporal dev server with its state in a file', () => {
  it('keeps its SQLite database in write-ahead-log mode, not with a rollback journal', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-temporal-settings-'));
    const dbFile = path.join(dir, 'temporal.sqlite');
    server = await withFreePorts(2, ([port, uiPort]) => startDevServer({
      cliPath: inject('temporalCliPath'), port: port!, uiPort: uiPort!, namespace: 'default', dbFile, log: makeLogger('silent'),
    }));

    expect(fs.existsSync(`${dbFile}-wal`)).toBe(true);
    expect(fs.existsSync(`${dbFile}-journal`)).toBe(false);
  });
});
