import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { expect, inject } from 'vitest';
import { namespaceOfTestFile } from './test-namespace.js';
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { loadConfig, type Config } from '../../lib/config.js';
import { makeLogger } from '../../lib/logger.js';
import { createDatabaseIfMissing } from '../../services/embedded-postgres.js';
import { readCard } from '../../models/load-model.js';
import { parseLeadsTable } from '../../source/leads-table.js';
import { seedLeads } from '../../source/seed.js';
import { readDistribution } from '../../source/synthetic-leads.js';
import type { LeadScoringResult } from '../../workflows/lead-scoring.js';
import { startRun } from '../../workers/run-pipeline.js';
import { openRuntime, type Runtime } from '../../workers/runtime.js';
import { createScoringWorker } from '../../workers/worker.js';
import { installTemporalLogging } from '../../workers/temporal-logging.js';
import { startSandbox, SANDBOX_TOKEN, type Sandbox, type SandboxOptions } from '../../sandbox/server.js';
import type { CrmEndpoint } from '../../activities/crm/target.js';
import { makePipelineRegistry, type PipelineDefinitionInput } from '../../pipelines/index.js';

installTemporalLogging(process.env['LOG_LEVEL']);
const BUNDLED_MODEL = path.join(PROJECT_ROOT, 'models', 'lead-scoring');

/** A fresh database and task queue on the shared real services, with a real worker polling it. */
export interface Harness {
  rt: Runtime;
  config: Config;
  /** This test's own HubSpot sandbox (its faults, stats and contacts). */
  sandbox: Sandbox;
  /**
   * Starts one more worker on the same task queue (they share the CRM budget through PostgreSQL),
   * optionally with its own model directory; `stop()` shuts that worker down, as a rolling deploy does.
   */
  addWorker(opts?: { modelDir?: string }): Promise<{ stop(): Promise<void> }>;
  /** Stops every worker and starts one with another CRM token, or another CRM: what an operator's fix and redeploy does. */
  replaceWorkers(crm: string | CrmEndpoint): Promise<void>;
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  seed(count: number, opts?: { seed?: number; messyRate?: number }): Promise<void>;
  /** Runs a date through Temporal and waits for the result (throws WorkflowFailedError on failure). */
  run(asOf: string, opts?: { full?: boolean; crm?: boolean; pipeline?: string }): Promise<LeadScoringResult>;
  /** The tables analysts read, in a stable order, for comparisons between runs. */
  publishedTables(): Promise<{ scores: unknown[]; history: unknown[] }>;
  close(): Promise<void>;
}

export async function makeHarness(
  env: Record<string, string> = {},
  opts: {
    sandbox?: Partial<SandboxOptions>;
    logSink?: { write(line: string): void };
    worker?: boolean;
    adminDatabaseUrl?: string;
    /** Pipeline definitions besides lead scoring, registered in this test's runtime and workers only. */
    pipelines?: PipelineDefinitionInput[];
  } = {},
): Promise<Harness> {
  const database = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const adminUrl = opts.adminDatabaseUrl ?? inject('adminDatabaseUrl');
  await createDatabaseIfMissing(adminUrl, database);
  const databaseUrl = adminUrl.replace(/\/[^/]+$/, `/${database}`);
  const sandbox = await startSandbox({ port: 0, databaseUrl, log: makeLogger('warn', 'sandbox'), ...opts.sandbox });
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    HUBSPOT_BASE_URL: sandbox.url,
    HUBSPOT_ACCESS_TOKEN: SANDBOX_TOKEN,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: namespaceOfTestFile(expect.getState().testPath ?? 'default'),
    SCOREFLOW_TASK_QUEUE: `test-${database}`,
    SCOREFLOW_CHUNK_SIZE: '400',
    SCOREFLOW_HOME: `/tmp/scoreflow-test-home-${database}`,
    // Each test's sandbox starts without contacts: tests of update mode (the default) ask for it.
    SCOREFLOW_CRM_SYNC_MODE: 'upsert',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    ...env,
  });
  const log = opts.logSink ? makeLogger('debug', 'test', opts.logSink) : makeLogger(config.logLevel ?? 'warn', 'test');
  const rt = await openRuntime(config, log, { temporal: true, pipelines: opts.pipelines });
  const workers: Array<{ worker: Worker; connection: NativeConnection; running: Promise<void> }> = [];
  const addWorker = async (crm = rt.crm, modelDir?: string) => {
    const workerConfig = modelDir ? { ...config, model: { dir: modelDir } } : config;
    const { worker, connection } = await createScoringWorker({
      config: workerConfig,
      pipelines: makePipelineRegistry(workerConfig, opts.pipelines),
      pool: rt.pool, log, address: rt.temporal!.address, crm, workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const entry = { worker, connection, running: worker.run() };
    workers.push(entry);
    return {
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await entry.running;
        await connection.close();
        workers.splice(workers.indexOf(entry), 1);
      },
    };
  };
  const stopWorkers = async () => {
    for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
    for (const w of workers.splice(0)) {
      await w.running;
      await w.connection.close();
    }
  };
  try {
    if (opts.worker !== false) await addWorker();
  } catch (err) {
    await rt.close();
    await sandbox.stop();
    throw err;
  }
  const query = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => (await rt.pool.query<T>(sql, params)).rows;
  return {
    rt,
    config,
    sandbox,
    addWorker: (o = {}) => addWorker(undefined, o.modelDir),
    async replaceWorkers(crm) {
      await stopWorkers();
      await addWorker(typeof crm === 'string' ? { ...rt.crm!, token: crm } : crm);
    },
    query,
    async seed(count, opts = {}) {
      // Demo leads always follow the bundled model's card, whatever model the test points the worker at.
      await seedLeads(rt.pool, parseLeadsTable(config.source.leadsTable), readCard(BUNDLED_MODEL), readDistribution(BUNDLED_MODEL), {
        count, seed: opts.seed ?? 7, messyRate: opts.messyRate ?? 0, replace: false,
      });
    },
    async run(asOf, opts = {}) {
      const handle = await startRun(rt, { pipeline: opts.pipeline, asOf, full: opts.full ?? false, crm: opts.crm ?? true });
      return handle.result();
    },
    async publishedTables() {
      return {
        scores: await query('select * from scoring.lead_scores order by lead_id'),
        history: await query('select * from scoring.lead_score_history order by run_id, lead_id'),
      };
    },
    async close() {
      await stopWorkers();
      await rt.close();
      await sandbox.stop();
    },
  };
}

/** Polls `sql` (one row with a boolean `ok`) until it is true; the way fault tests wait for a step. */
export async function waitForQuery(h: Harness, sql: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await h.query<{ ok: boolean }>(sql))[0]?.ok) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${sql}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
