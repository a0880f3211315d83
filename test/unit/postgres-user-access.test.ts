import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedPostgresUnreachable } from '../../lib/errors.js';
import { makeLogger } from '../../lib/logger.js';
import { firstBlockedDirectory, placeForPostgresUser } from '../../services/postgres-user-access.js';

// A user that owns nothing here, as the postgres user owns nothing in a checkout or a home directory.
const stranger = { uid: 4_242_424, gid: 4_242_424 };
const log = makeLogger('silent');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under os.tmpdir() with `mode`, and a path two levels inside it. */
function directory(mode: number): { dir: string; inside: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-access-'));
  fs.chmodSync(dir, mode);
  dirs.push(dir);
  return { dir, inside: path.join(dir, 'checkout', 'bin') };
}

describe('what PostgreSQL\'s own user can reach when scoreflow runs as root', () => {
  it('finds the mode-700 directory that stops another user, and nothing in a mode-755 one', () => {
    const closed = directory(0o700);
    const open = directory(0o755);
    expect(firstBlockedDirectory(closed.inside, stranger)).toBe(fs.realpathSync(closed.dir));
    expect(firstBlockedDirectory(open.inside, stranger)).toBeUndefined();
    expect(firstBlockedDirectory(closed.inside, { uid: fs.statSync(closed.dir).uid, gid: -1 })).toBeUndefined();
  });

  it('stops with one line naming the directory and what to do when the binaries are out of reach', () => {
    const closed = directory(0o700);
    const open = directory(0o755);
    let err: unknown;
    try {
      placeForPostgresUser({ dataDir: path.join(open.dir, 'pg'), binDir: closed.inside, who: stranger, log });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EmbeddedPostgresUnreachable);
    const failure = err as EmbeddedPostgresUnreachable;
    expect(failure.type).toBe('EmbeddedPostgresUnreachable');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain('\n');
    expect(failure.message).toContain(`${fs.realpathSync(closed.dir)} (mode 700)`);
    expect(failure.message).toContain('DATABASE_URL');
  });

  it('keeps the data where it was meant to be when the postgres user can reach it', () => {
    const open = directory(0o755);
    const dataDir = path.join(open.dir, 'home', 'pg');
    expect(placeForPostgresUser({ dataDir, binDir: open.dir, who: stranger, log })).toBe(dataDir);
  });

  it('moves data meant for a mode-700 directory to one named after its path, the same on every start', () => {
    const closed = directory(0o700);
    const open = directory(0o755);
    const relocatedRoot = path.join(open.dir, 'var-lib-scoreflow');
    const place = (dataDir: string) => placeForPostgresUser({ dataDir, binDir: open.dir, who: stranger, log, relocatedRoot });
    const first = place(path.join(closed.dir, 'home', 'pg'));
    expect(path.dirname(first)).toBe(relocatedRoot);
    expect(path.basename(first)).toMatch(/^pg-[0-9a-f]{16}$/);
    expect(place(path.join(closed.dir, 'home', 'pg'))).toBe(first);
    expect(place(path.join(closed.dir, 'other', 'pg'))).not.toBe(first);
    expect(firstBlockedDirectory(relocatedRoot, stranger)).toBeUndefined();
  });
});
