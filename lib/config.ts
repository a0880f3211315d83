import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigInvalid } from './errors.js';
import { PROJECT_ROOT } from './paths.js';
import { isTimeZone } from './time-zone.js';
import { durationSchema, gatesSchema, type GateOverrides } from '../pipelines/gates.js';


const sqlName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a table name like public.leads (letters, digits, underscores)');


const CRON_FIELD = /^(\*|\?|[0-9A-Za-z,\-*/LW#]+)$/;

const envSchema = z.object({
  SCOREFLOW_HOME: z.string().default('.scoreflow'),
  DATABASE_URL: z.string().url('must be a postgres:// URL').optional(),
  SCOREFLOW_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5488),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_CLI_PATH: z.string().optional(),
  SCOREFLOW_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  SCOREFLOW_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  SCOREFLOW_TASK_QUEUE: z.string().min(1).default('scoreflow'),
  SCOREFLOW_LEADS_TABLE: sqlName.default('public.leads'),
  SCOREFLOW_MODEL_DIR: z.string().default(path.join(PROJECT_ROOT, 'models', 'lead-scoring')),
  SCOREFLOW_CHUNK_SIZE: z.coerce.number().int().min(100).max(1_000_000).default(50_000),
  SCOREFLOW_SCORING_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
  SCOREFLOW_MODEL_THREADS: z.coerce.number().int().min(1).max(16).default(2),
  SCOREFLOW_WORKER_HEAP_MB: z.coerce.number().int().min(0).default(1024),
  SCOREFLOW_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  SCOREFLOW_LOOKBACK_HOURS: z.coerce.number().min(0).max(24 * 365).default(24),
  SCOREFLOW_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  SCOREFLOW_SCHEDULE_CRON: z
    .string()
    .refine((c) => c.trim().split(/\s+/).length === 5 && c.trim().split(/\s+/).every((f) => CRON_FIELD.test(f)), {
      message: 'must be a 5-field cron expression such as "0 6 * * *"',
    })
    .default('0 6 * * *'),
  SCOREFLOW_SCHEDULE_TIMEZONE: z
    .string()
    .refine(isTimeZone, { message: 'must be an IANA time zone such as "UTC" or "Europe/Berlin"' })
    .default('UTC'),
  SCOREFLOW_RECS_TIMEZONE: z
    .string()
    .refine(isTimeZone, { message: 'must be an IANA time zone such as "UTC" or "Europe/Berlin"' })
    .default('UTC'),
  SCOREFLOW_RECS_MODEL_DIR: z.string().default(path.join(PROJECT_ROOT, 'models', 'product-recs')),
  SCOREFLOW_RECS_CHUNK_SIZE: z.coerce.number().int().min(100).max(1_000_000).default(50_000),
  SCOREFLOW_RECS_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5_000),
  SCOREFLOW_RECS_KEEP_RUNS: z.coerce.number().int().min(1).max(100).default(3),
  SCOREFLOW_RECS_CRM: z.enum(['on', 'off'], { message: 'must be on or off' }).default('off'),
  SCOREFLOW_CRM: z.enum(['hubspot', 'sandbox', 'off'], { message: 'must be hubspot, sandbox or off' }).optional(),
  HUBSPOT_ACCESS_TOKEN: z.string().min(1).optional(),
  HUBSPOT_ACCESS_TOKEN_FILE: z.string().min(1).optional(),
  HUBSPOT_BASE_URL: z.string().url('must be a URL such as https://api.hubapi.com').optional(),
  SCOREFLOW_SANDBOX_PORT: z.coerce.number().int().min(1).max(65535).default(8099),
  SCOREFLOW_CRM_RATE_PER_10S: z.coerce.number().int().min(1).default(190),
  SCOREFLOW_CRM_DAILY_LIMIT: z.coerce.number().int().min(1).default(650_000),
  SCOREFLOW_CRM_SCORE_EPSILON: z.coerce.number().min(0).max(1).default(0),
  SCOREFLOW_CRM_VERIFY_SAMPLE: z.coerce.number().int().min(0).default(100),
  SCOREFLOW_CRM_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  SCOREFLOW_CRM_SYNC_MODE: z.enum(['update', 'upsert']).default('update'),
  SCOREFLOW_APPROVAL_TIMEOUT: durationSchema.optional(),
  SCOREFLOW_GATES: z.string().transform((v, ctx) => {
    try {
      const raw = z.record(z.string(), z.record(z.string(), z.unknown())).parse(JSON.parse(v));
      // Validated as thresholds, but only the ones given: the definition's stay where the JSON is silent.
      return Object.fromEntries(Object.entries(raw).map(([id, t]) => {
        const valid = gatesSchema.parse(t);
        return [id, Object.fromEntries(Object.keys(t).map((k) => [k, valid[k as keyof typeof valid]]))];
      }));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON naming thresholds per pipeline, such as {"product-recs":{"maxTopItemShare":0.4}} (see pipelines/gates.ts)' });
      return z.NEVER;
    }
  }).optional(),
  SCOREFLOW_SERVE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  SCOREFLOW_SERVE_HOST: z.string().min(1).default('127.0.0.1'),
  SCOREFLOW_SERVE_API_KEYS: z.string().optional(),
  SCOREFLOW_SERVE_API_KEYS_FILE: z.string().min(1).optional(),
  SCOREFLOW_SERVE_CACHE_ENTRIES: z.coerce.number().int().min(1).default(100_000),
  SCOREFLOW_SERVE_CACHE_MIB: z.coerce.number().positive().optional(),
  SCOREFLOW_SERVE_LIVE_TTL_SECONDS: z.coerce.number().min(0).default(60),
  SCOREFLOW_SERVE_RATE_LIMIT: z.coerce.number().int().min(0).default(1000),
  SCOREFLOW_SERVE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  SCOREFLOW_SERVE_POLL_SECONDS: z.coerce.number().positive().max(3600).default(5),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

/** The one validated configuration object of a scoreflow process. */
export interface Config {
  home: string;
  database: { url?: string; embeddedPort: number };
  temporal: { address?: string; namespace: string; cliPath?: string; devPort: number; uiPort: number; taskQueue: string };
  source: { leadsTable: string };
  model: { dir: string };
  /** `modelThreads`: threads a worker scores a probability model's slices on, each with its own onnxruntime session. */
  scoring: { chunkSize: number; concurrency: number; lookbackHours: number; modelThreads: number };
  /** Days a run's working rows (snapshot, staged scores, CRM outbox with its emails) are kept after the run last moved. */
  retention: { days: number };
  /** V8 old-space cap of `scoreflow worker` in MiB; 0 leaves Node's default (sized from the machine's memory). */
  worker: { heapMiB: number };
  /** Port of a worker's Prometheus /metrics (scoreflow's series and the Temporal SDK's); 0: none. */
  metrics: { port: number };
  schedule: { cron: string; timezone: string };
  /**
   * The product recommender (pipeline product-recs): its model, schedule zone, chunk and batch sizes, published runs
   * kept, and whether its CRM sink puts each customer's product names on their contact (SCOREFLOW_RECS_CRM, off by default).
   */
  recs: { modelDir: string; timezone: string; chunkSize: number; batchSize: number; keepRuns: number; crm: boolean };
  /**
   * Where contacts go (SCOREFLOW_CRM): HubSpot, the local sandbox (started by scoreflow), or off (no CRM
   * stage). The token itself is read from the environment or its file here and nowhere else; it is never logged.
   */
  crm: {
    target: 'hubspot' | 'sandbox' | 'off';
    baseUrl?: string;
    token?: string;
    tokenSource: string;
    sandboxPort: number;
    ratePer10s: number;
    dailyLimit: number;
    epsilon: number;
    verifySample: number;
    concurrency: number;
    /** `update`: only contacts HubSpot already has (by email); `upsert`: also creates a contact per unknown email. */
    syncMode: 'update' | 'upsert';
  };
  /** Quality-gate settings that override the pipeline definitions' (SCOREFLOW_APPROVAL_TIMEOUT, SCOREFLOW_GATES). */
  gates: GateOverrides;
  /** `scoreflow serve`, the recommendations service (see serve/ and README, "The recommendations service"). */
  serve: ServeConfig;
  /** Unset means: info for long-running processes (worker, dev), warn for one-shot commands. */
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

/** The recommendations service's settings; API keys are read here, from the environment or their file, and never logged. */
export interface ServeConfig {
  port: number;
  host: string;
  /** API key → the name access logs and rate limits use for it (`key-<n>` for a bare key). */
  apiKeys: Map<string, string>;
  /** Where the keys came from, for messages (never the keys themselves). */
  apiKeysSource: string;
  cache: { maxEntries: number; maxMiB?: number };
  /** How long a live or popular answer is cached: the customer may buy meanwhile. */
  liveTtlSeconds: number;
  /** Requests per API key per second, per instance; 0 turns the limit off. */
  rateLimitPerSecond: number;
  poolSize: number;
  /** How often the published-run pointer is polled besides LISTEN/NOTIFY. */
  pollSeconds: number;
}

/** What a command assumes where the environment leaves a choice open. */
export interface ConfigDefaults {
  /**
   * The CRM when neither SCOREFLOW_CRM nor a token chooses one: the demo, `dev` and tests use the sandbox;
   * commands that never talk to a CRM (status, runs, seed, schedule, prune, …) need no choice: off.
   */
  crm?: 'sandbox' | 'off';
}

/** Parses and validates the environment once; a bad value throws ConfigInvalid naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaults: ConfigDefaults = {}): Config {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigInvalid(`${name} ${issue.message} (got ${JSON.stringify(env[name])}); fix it in the environment`);
  }
  const e = parsed.data;
  return {
    home: path.resolve(e.SCOREFLOW_HOME),
    database: { url: e.DATABASE_URL, embeddedPort: e.SCOREFLOW_PG_PORT },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI_PATH,
      devPort: e.SCOREFLOW_TEMPORAL_PORT,
      uiPort: e.SCOREFLOW_TEMPORAL_UI_PORT,
      taskQueue: e.SCOREFLOW_TASK_QUEUE,
    },
    source: { leadsTable: e.SCOREFLOW_LEADS_TABLE },
    model: { dir: path.resolve(e.SCOREFLOW_MODEL_DIR) },
    scoring: {
      chunkSize: e.SCOREFLOW_CHUNK_SIZE,
      concurrency: e.SCOREFLOW_SCORING_CONCURRENCY,
      lookbackHours: e.SCOREFLOW_LOOKBACK_HOURS,
      modelThreads: e.SCOREFLOW_MODEL_THREADS,
    },
    retention: { days: e.SCOREFLOW_RETENTION_DAYS },
    worker: { heapMiB: e.SCOREFLOW_WORKER_HEAP_MB },
    metrics: { port: e.SCOREFLOW_METRICS_PORT },
    schedule: { cron: e.SCOREFLOW_SCHEDULE_CRON.trim(), timezone: e.SCOREFLOW_SCHEDULE_TIMEZONE },
    recs: { modelDir: path.resolve(e.SCOREFLOW_RECS_MODEL_DIR), timezone: e.SCOREFLOW_RECS_TIMEZONE,
      chunkSize: e.SCOREFLOW_RECS_CHUNK_SIZE, batchSize: e.SCOREFLOW_RECS_BATCH_SIZE, keepRuns: e.SCOREFLOW_RECS_KEEP_RUNS, crm: e.SCOREFLOW_RECS_CRM === 'on' },
    crm: { ...crmConnection(e, defaults), sandboxPort: e.SCOREFLOW_SANDBOX_PORT, ratePer10s: e.SCOREFLOW_CRM_RATE_PER_10S,
      dailyLimit: e.SCOREFLOW_CRM_DAILY_LIMIT, epsilon: e.SCOREFLOW_CRM_SCORE_EPSILON, verifySample: e.SCOREFLOW_CRM_VERIFY_SAMPLE,
      concurrency: e.SCOREFLOW_CRM_CONCURRENCY, syncMode: e.SCOREFLOW_CRM_SYNC_MODE },
    gates: { approvalTimeout: e.SCOREFLOW_APPROVAL_TIMEOUT, byPipeline: e.SCOREFLOW_GATES ?? {} },
    serve: {
      port: e.SCOREFLOW_SERVE_PORT,
      host: e.SCOREFLOW_SERVE_HOST,
      ...apiKeys(e),
      cache: { maxEntries: e.SCOREFLOW_SERVE_CACHE_ENTRIES, ...(e.SCOREFLOW_SERVE_CACHE_MIB ? { maxMiB: e.SCOREFLOW_SERVE_CACHE_MIB } : {}) },
      liveTtlSeconds: e.SCOREFLOW_SERVE_LIVE_TTL_SECONDS,
      rateLimitPerSecond: e.SCOREFLOW_SERVE_RATE_LIMIT,
      poolSize: e.SCOREFLOW_SERVE_POOL_SIZE,
      pollSeconds: e.SCOREFLOW_SERVE_POLL_SECONDS,
    },
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * The service's API keys: SCOREFLOW_SERVE_API_KEYS (comma-separated) and the lines of SCOREFLOW_SERVE_API_KEYS_FILE
 * (blank lines and # comments skipped), each `name:key` or a bare key (named key-<n>). Fewer than 16 characters is refused.
 */
function apiKeys(e: z.infer<typeof envSchema>): Pick<ServeConfig, 'apiKeys' | 'apiKeysSource'> {
  const entries: Array<{ text: string; origin: string }> = [];
  const sources: string[] = [];
  if (e.SCOREFLOW_SERVE_API_KEYS) {
    sources.push('SCOREFLOW_SERVE_API_KEYS');
    for (const text of e.SCOREFLOW_SERVE_API_KEYS.split(',')) if (text.trim()) entries.push({ text: text.trim(), origin: 'SCOREFLOW_SERVE_API_KEYS' });
  }
  if (e.SCOREFLOW_SERVE_API_KEYS_FILE) {
    const file = e.SCOREFLOW_SERVE_API_KEYS_FILE;
    sources.push(`the file ${file} (SCOREFLOW_SERVE_API_KEYS_FILE)`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigInvalid(`SCOREFLOW_SERVE_API_KEYS_FILE ${file} cannot be read (${(err as NodeJS.ErrnoException).code}); point it at a file with one API key (or name:key) per line`);
    }
    for (const line of text.split(/\r?\n/)) if (line.trim() && !line.trim().startsWith('#')) entries.push({ text: line.trim(), origin: `SCOREFLOW_SERVE_API_KEYS_FILE line` });
  }
  const keys = new Map<string, string>();
  entries.forEach(({ text, origin }, i) => {
    const colon = text.indexOf(':');
    const [name, key] = colon > 0 ? [text.slice(0, colon).trim(), text.slice(colon + 1).trim()] : [`key-${i + 1}`, text];
    if (key.length < 16) throw new ConfigInvalid(`${origin}: API key "${name}" is shorter than 16 characters; use long random keys (e.g. \`openssl rand -hex 24\`)`);
    keys.set(key, name);
  });
  return { apiKeys: keys, apiKeysSource: sources.join(' and ') || 'none' };
}

/**
 * Which CRM and its token: SCOREFLOW_CRM if set; else a token (HUBSPOT_ACCESS_TOKEN, else the file
 * HUBSPOT_ACCESS_TOKEN_FILE) means HubSpot; else the sandbox, but only for a database scoreflow started
 * itself or a command that defaults to it: emails from an outside database never go to a sandbox by accident.
 */
function crmConnection(e: z.infer<typeof envSchema>, defaults: ConfigDefaults): Pick<Config['crm'], 'target' | 'baseUrl' | 'token' | 'tokenSource'> {
  if (e.SCOREFLOW_CRM === 'off') return { target: 'off', tokenSource: 'none (SCOREFLOW_CRM=off)' };
  if (e.SCOREFLOW_CRM === 'sandbox') return { target: 'sandbox', tokenSource: 'the local sandbox' };
  let token = e.HUBSPOT_ACCESS_TOKEN;
  let tokenSource = 'HUBSPOT_ACCESS_TOKEN';
  if (!token && e.HUBSPOT_ACCESS_TOKEN_FILE) {
    tokenSource = `the file ${e.HUBSPOT_ACCESS_TOKEN_FILE} (HUBSPOT_ACCESS_TOKEN_FILE)`;
    try {
      token = fs.readFileSync(e.HUBSPOT_ACCESS_TOKEN_FILE, 'utf8').trim();
    } catch (err) {
      throw new ConfigInvalid(`HUBSPOT_ACCESS_TOKEN_FILE ${e.HUBSPOT_ACCESS_TOKEN_FILE} cannot be read (${(err as NodeJS.ErrnoException).code}); point it at the file holding the private-app token`);
    }
    if (!token) throw new ConfigInvalid(`HUBSPOT_ACCESS_TOKEN_FILE ${e.HUBSPOT_ACCESS_TOKEN_FILE} is empty; put the private-app token in it`);
  }
  if (token) return { target: 'hubspot', baseUrl: e.HUBSPOT_BASE_URL ?? 'https://api.hubapi.com', token, tokenSource };
  if (e.SCOREFLOW_CRM === 'hubspot') throw new ConfigInvalid('SCOREFLOW_CRM=hubspot needs a token: set HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE');
  if (e.HUBSPOT_BASE_URL) throw new ConfigInvalid('HUBSPOT_BASE_URL is set but no token: set HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE');
  if (defaults.crm === 'off') return { target: 'off', tokenSource: 'none (this command uses no CRM)' };
  if (e.DATABASE_URL && defaults.crm !== 'sandbox') {
    throw new ConfigInvalid('no CRM chosen for the database at DATABASE_URL: set HUBSPOT_ACCESS_TOKEN (or HUBSPOT_ACCESS_TOKEN_FILE) for HubSpot, or SCOREFLOW_CRM=sandbox or SCOREFLOW_CRM=off');
  }
  return { target: 'sandbox', tokenSource: 'the local sandbox' };
}
