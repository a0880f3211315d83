import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePool, type Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { handleAdmin } from './admin.js';
import { DEFAULT_SANDBOX_PORTAL_ID } from './account-info.js';
import { DEFAULT_TOKENS, type SandboxToken } from './auth.js';
import { makeContactStore } from './contact-store.js';
import { contactOperations } from './contacts.js';
import { noFaults, partialFaultsSchema, type SandboxFaults } from './faults.js';
import { handleHubSpot } from './pipeline.js';
import type { SandboxContext } from './operation.js';
import { propertyOperations } from './properties.js';
import { makePropertyStore } from './property-store.js';
import { DEFAULT_RATE_LIMIT, makeRateLimiter, type RateLimitConfig } from './rate-limit.js';
import { ensureSandboxSchema } from './schema.js';
import { makeSpecRouter } from './spec.js';
import { emptyStats, type SandboxStats } from './stats.js';

export type { SandboxFaults } from './faults.js';
export type { SandboxStats } from './stats.js';
export { SANDBOX_TOKEN, SCOPES, type SandboxToken } from './auth.js';

/** How to start a sandbox; only the database and the logger are required. */
export interface SandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Contacts and property definitions persist here, so a restart loses nothing. */
  databaseUrl: string;
  /** Default `hubspot_sandbox`; created if missing, tables created idempotently. */
  schema?: string;
  /** Default: one token `sandbox-token` with all four contact scopes. */
  tokens?: SandboxToken[];
  /** Default 190 per ten seconds and 650 000 per day (HubSpot Professional). */
  rateLimit?: RateLimitConfig;
  /** The portal id `GET /account-info/v3/details` reports; default 1. Two sandboxes with their own schema and id are two CRM targets. */
  portalId?: number;
  log: Logger;
}

/** A running sandbox: its base URL (use as @hubspot/api-client `basePath`) and its test controls. */
export interface Sandbox {
  url: string;
  setFaults(f: Partial<SandboxFaults>): void;
  resetFaults(): void;
  stats(): SandboxStats;
  resetStats(): void;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body larger than 10 MB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Creates a bare contact (email only) for each of these emails in a sandbox's store, in one statement: the
 * contacts a company's HubSpot already holds before scoreflow's first run. Returns how many were new.
 */
export async function addSandboxContacts(pool: Pool, emails: string[], schema = 'hubspot_sandbox'): Promise<number> {
  await ensureSandboxSchema(pool, schema);
  return makeContactStore(pool, schema).insertMissing(emails);
}

/** Starts a HubSpot-compatible server for the contacts and properties APIs scoreflow uses, backed by PostgreSQL. */
export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const schema = opts.schema ?? 'hubspot_sandbox';
  const log = opts.log.child({ component: 'hubspot-sandbox' });
  const pool = makePool(opts.databaseUrl, log);
  try {
    await ensureSandboxSchema(pool, schema);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const state = { faults: noFaults(), stats: emptyStats() };
  const ctx: SandboxContext = { contacts: makeContactStore(pool, schema), properties: makePropertyStore(pool, schema), state };
  const deps = {
    router: await makeSpecRouter(),
    operations: { ...contactOperations(ctx), ...propertyOperations(ctx) },
    tokens: opts.tokens ?? DEFAULT_TOKENS,
    account: { portalId: opts.portalId ?? DEFAULT_SANDBOX_PORTAL_ID },
    limiter: makeRateLimiter(opts.rateLimit ?? DEFAULT_RATE_LIMIT),
    state,
    log,
  };
  const controls = {
    setFaults(f: Partial<SandboxFaults>) {
      Object.assign(state.faults, partialFaultsSchema.parse(f));
    },
    resetFaults() {
      state.faults = noFaults();
    },
    stats: () => structuredClone(state.stats),
    resetStats() {
      state.stats = emptyStats();
    },
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
      let status = 500;
      let body: unknown;
      let headers: Record<string, string> = {};
      try {
        const raw = await readBody(req);
        const reply = url.pathname.startsWith('/_sandbox/')
          ? await handleAdmin(req.method ?? 'GET', url.pathname, raw, controls, pool)
          : await (async () => {
            state.stats.requests += 1;
            if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
            return handleHubSpot(deps, { method: req.method ?? 'GET', url, headers: req.headers, rawBody: raw });
          })();
        ({ status, body } = reply);
        headers = reply.headers ?? {};
      } catch (err) {
        log.error({ err: (err as Error).message, path: url.pathname }, 'sandbox request failed');
        body = { status: 'error', message: 'internal error', correlationId: randomUUID(), category: 'INTERNAL_ERROR' };
      }
      if (status >= 500 && !url.pathname.startsWith('/_sandbox/')) state.stats.serverErrors += 1;
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { ...headers, ...(text ? { 'Content-Type': 'application/json;charset=utf-8' } : {}) });
      res.end(text);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, schema }, 'HubSpot sandbox listening');

  return {
    url,
    ...controls,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.end();
    },
  };
}
