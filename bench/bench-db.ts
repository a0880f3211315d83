import { performance } from 'node:perf_hooks';
import { loadConfig } from '../lib/config.js';
import { readCard } from '../models/load-model.js';
import { parseLeadsTable, type LeadsTable } from '../source/leads-table.js';
import { seedLeads } from '../source/seed.js';
import { readDistribution } from '../source/synthetic-leads.js';
import { openRuntime, type Runtime } from '../workers/runtime.js';

/**
 * Replaces the runtime's leads with `count` synthetic ones, streamed through COPY (never held in memory),
 * last touched 1 to 90 days ago as in a CRM in use, so an incremental morning finds only the changed ones;
 * then vacuums, analyzes and checkpoints. Returns the time it took.
 */
export async function seedBenchLeads(rt: Runtime, count: number): Promise<number> {
  const start = performance.now();
  await seedLeads(rt.pool, parseLeadsTable(rt.config.source.leadsTable), readCard(rt.config.model.dir), readDistribution(rt.config.model.dir), {
    count, seed: 1, messyRate: 0, replace: true, ageDays: 90,
  });
  await rt.pool.query('vacuum analyze');
  // The seed's pages written out now, so that no measured run pays for flushing them (at 10M, 1.5 GB of them).
  await rt.pool.query('checkpoint');
  return performance.now() - start;
}

/** Changes the leads `where` selects now (one more site visit each), as a day's writers would; returns how many. */
export async function changeBenchLeads(rt: Runtime, table: LeadsTable, where: string): Promise<number> {
  const changed = await rt.pool.query(`update ${table.sql} set updated_at = now(), site_visits_30d = (site_visits_30d + 1) % 1000 where ${where}`);
  return changed.rowCount ?? 0;
}

/** A runtime on a new database `database` of the same PostgreSQL, sharing Temporal and the sandbox, with its own task queue. */
export async function openSibling(rt: Runtime, env: NodeJS.ProcessEnv, database: string): Promise<Runtime> {
  await rt.pool.query(`drop database if exists ${database}`);
  await rt.pool.query(`create database ${database}`);
  const url = new URL(rt.databaseUrl);
  url.pathname = `/${database}`;
  const config = loadConfig({ ...env, SCOREFLOW_TASK_QUEUE: `bench-${database}`, DATABASE_URL: url.toString(), TEMPORAL_ADDRESS: rt.temporal!.address, HUBSPOT_BASE_URL: rt.crm!.baseUrl, HUBSPOT_ACCESS_TOKEN: rt.crm!.token });
  return openRuntime(config, rt.log, { temporal: true });
}

/** Closes a sibling's runtime and drops its database, giving its disk back. */
export async function dropSibling(rt: Runtime, sibling: Runtime, database: string): Promise<void> {
  await sibling.close();
  await rt.pool.query(`drop database if exists ${database} with (force)`);
}
