import path from 'node:path';
import { runner } from 'node-pg-migrate';
import { PROJECT_ROOT } from '../lib/paths.js';
import type { Logger } from '../lib/logger.js';

/**
 * Applies pending migrations from db/migrations. node-pg-migrate holds an advisory lock, and with
 * `wait` a second process blocks until the first is done and then finds nothing to do.
 */
export async function migrate(databaseUrl: string, log: Logger): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: path.join(PROJECT_ROOT, 'db', 'migrations'),
    direction: 'up',
    migrationsTable: 'schema_migrations',
    migrationsSchema: 'scoring',
    createMigrationsSchema: true,
    advisoryLockMode: 'wait',
    checkOrder: true,
    log: () => {},
    logger: { debug: () => {}, info: () => {}, warn: (m: string) => log.warn(m), error: (m: string) => log.error(m) },
  });
  const names = applied.map((m) => m.name);
  if (names.length) log.info({ migrations: names }, 'applied migrations');
  return names;
}
