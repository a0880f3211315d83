import path from 'node:path';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { migrate } from '../db/migrate.js';
import { loadModel } from '../models/load-model.js';
import { loadRecsModelDir } from '../models/recs-model.js';
import { makePool, type Pool } from '../db/pool.js';
import type { Config } from '../lib/config.js';
import { ConfigInvalid, DatabaseUnavailable, TemporalUnavailable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { redactUrl } from '../lib/redact.js';
import { startEmbeddedPostgres } from '../services/embedded-postgres.js';
import { resolveTemporalCli } from '../services/temporal-cli.js';
import { startDevServer } from '../services/temporal-dev-server.js';
import { startSandbox, SANDBOX_TOKEN } from '../sandbox/server.js';
import type { CrmEndpoint } from '../activities/crm/target.js';
import { LEAD_SCORING, makePipelineRegistry, type PipelineDefinitionInput, type PipelineRegistry } from '../pipelines/index.js';

/** The connections a command works with, and how to let go of them (and of services it started). */
export interface Runtime {
  config: Config;
  log: Logger;
  /** The pipelines this process knows, validated before anything started. */
  pipelines: PipelineRegistry;
  databaseUrl: string;
  pool: Pool;
  temporal?: { address: string; namespace: string; uiUrl?: string; connection: Connection; client: Client };
  /** HubSpot, or the local sandbox (started by this process or found running); none with SCOREFLOW_CRM=off. */
  crm?: CrmEndpoint;
  close(): Promise<void>;
}

/**
 * Connects to PostgreSQL (DATABASE_URL, else the embedded server under SCOREFLOW_HOME, started if
 * needed), applies migrations, and with `temporal` connects to TEMPORAL_ADDRESS or the local dev server.
 */
export async function openRuntime(
  config: Config,
  log: Logger,
  opts: { temporal: boolean; model?: boolean; pipeline?: string; pipelines?: readonly PipelineDefinitionInput[] },
): Promise<Runtime> {
  // A bad pipeline definition, or an unknown --pipeline, stops the command here, before anything starts.
  const pipelines = makePipelineRegistry(config, opts.pipelines);
  const pipeline = pipelines.get(opts.pipeline ?? LEAD_SCORING);
  // A missing or mismatched model of the pipeline stops the command here, before anything starts.
  if (opts.model) await (await (pipeline.output.kind === 'top-k' ? loadRecsModelDir(pipeline.modelDir) : loadModel(pipeline.modelDir))).session.release();
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log.warn({ err: err.message }, 'while shutting down'));
  };
  try {
    fs.mkdirSync(config.home, { recursive: true });
    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      const local = await startEmbeddedPostgres({ dataDir: path.join(config.home, 'pg'), port: config.database.embeddedPort, database: 'scoreflow', log });
      closers.push(local.stop);
      databaseUrl = local.url;
    }
    const pool = makePool(databaseUrl, log, config.scoring.concurrency + 6);
    closers.push(() => pool.end());
    try {
      await pool.query('select 1');
    } catch (err) {
      throw new DatabaseUnavailable(`${redactUrl(databaseUrl)}: ${(err as Error).message}`);
    }
    await migrate(databaseUrl, log);
    const crm = await openCrm(config, databaseUrl, log, closers);
    const runtime: Runtime = { config, log, pipelines, databaseUrl, pool, crm, close };
    if (opts.temporal) runtime.temporal = await openTemporal(config, log, closers);
    return runtime;
  } catch (err) {
    await close();
    throw err;
  }
}

/** The configured HubSpot, or the sandbox on SCOREFLOW_SANDBOX_PORT (reused when one already answers there), or none. */
async function openCrm(config: Config, databaseUrl: string, log: Logger, closers: Array<() => Promise<void>>): Promise<CrmEndpoint | undefined> {
  if (config.crm.target === 'off') return undefined;
  if (config.crm.target === 'hubspot') return { kind: 'hubspot', baseUrl: config.crm.baseUrl!, token: config.crm.token!, tokenSource: config.crm.tokenSource };
  const url = `http://127.0.0.1:${config.crm.sandboxPort}`;
  const running = await fetch(`${url}/_sandbox/health`).then((r) => r.ok, () => false);
  if (!running) {
    const sandbox = await startSandbox({ port: config.crm.sandboxPort, databaseUrl, log });
    closers.push(() => sandbox.stop());
    log.info({ url: sandbox.url }, 'HubSpot sandbox started');
  }
  return { kind: 'sandbox', baseUrl: url, token: SANDBOX_TOKEN, tokenSource: config.crm.tokenSource };
}

/** What a command opens: Temporal, the model check at start, log level, and its CRM default (see ConfigDefaults). */
export interface RuntimeNeeds {
  temporal: boolean;
  model?: boolean;
  /** The pipeline the command acts on (`--pipeline`): an unknown id stops it with the list of known ones. */
  pipeline?: string;
  longRunning?: boolean;
  crm?: 'sandbox' | 'off';
  /** Serve /metrics on SCOREFLOW_METRICS_PORT while the command runs (worker, dev). */
  metrics?: boolean;
}

/** Opens a runtime for a command, runs it and always closes it (the CLI's withRuntime). */
export type WithRuntime = <T>(needs: RuntimeNeeds, fn: (rt: Runtime) => Promise<T>) => Promise<T>;

/** The runtime's CRM, for commands that cannot do without one. */
export function requireCrm(rt: Runtime): CrmEndpoint {
  if (!rt.crm) throw new ConfigInvalid('SCOREFLOW_CRM is off, and this command needs a CRM: set SCOREFLOW_CRM=hubspot (with HUBSPOT_ACCESS_TOKEN) or SCOREFLOW_CRM=sandbox');
  return rt.crm;
}

async function openTemporal(config: Config, log: Logger, closers: Array<() => Promise<void>>): Promise<NonNullable<Runtime['temporal']>> {
  let address = config.temporal.address;
  let uiUrl: string | undefined;
  if (!address) {
    const cliPath = await resolveTemporalCli(config.temporal.cliPath, log);
    const server = await startDevServer({
      cliPath,
      port: config.temporal.devPort,
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      dbFile: path.join(config.home, 'temporal.sqlite'),
      logFile: path.join(config.home, 'temporal.log'),
      log,
    });
    closers.push(server.stop);
    address = server.address;
    uiUrl = server.uiUrl;
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 10_000 });
  } catch (err) {
    throw new TemporalUnavailable(`${address}: ${(err as Error).message}`);
  }
  closers.push(() => connection.close());
  const namespace = config.temporal.namespace;
  return { address, namespace, uiUrl, connection, client: new Client({ connection, namespace }) };
}
