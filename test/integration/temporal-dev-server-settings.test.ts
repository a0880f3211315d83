import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { makeLogger } from '../../lib/logger.js';
import { TemporalUnavailable } from '../../lib/errors.js';
import { startDevServer, type DevServer } from '../../services/temporal-dev-server.js';
import { freePort, withFreePorts } from '../support/free-port.js';

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

  it('says why it could not start, from the last line of its log: here, its port is taken', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-temporal-settings-'));
    const logFile = path.join(dir, 'temporal.log');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const start = startDevServer({ cliPath: inject('temporalCliPath'), port, uiPort: await freePort(), namespace: 'default', logFile, log: makeLogger('silent') });
      await expect(start).rejects.toBeInstanceOf(TemporalUnavailable);
      await expect(start).rejects.toThrow(new RegExp(`exited with 1: .*127\\.0\\.0\\.1:${port}: bind: address already in use \\(see ${logFile}\\)`));
    } finally {
      taken.close();
    }
  });
});
