import path from 'node:path';
import { PROJECT_ROOT } from '../lib/paths.js';

/** Where a bench keeps its own services: a directory under .scoreflow and the ports they listen on. */
export interface BenchPlace {
  dir: string;
  pgPort: number;
  temporalPort: number;
  uiPort: number;
  sandboxPort: number;
  taskQueue: string;
}

/** `npm run bench`'s place: .scoreflow/bench, PostgreSQL on 5489, Temporal on 7243 (UI 8243), the sandbox on 8098. */
export const BENCH_PLACE: BenchPlace = { dir: 'bench', pgPort: 5489, temporalPort: 7243, uiPort: 8243, sandboxPort: 8098, taskQueue: 'bench-full' };

/**
 * The bench's own PostgreSQL, Temporal and sandbox under .scoreflow/<dir> (SCOREFLOW_BENCH_HOME), on
 * ports of their own (SCOREFLOW_BENCH_*_PORT), never the user's DATABASE_URL or HubSpot.
 */
export function benchEnv(place: BenchPlace = BENCH_PLACE): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SCOREFLOW_HOME: process.env['SCOREFLOW_BENCH_HOME'] ?? path.join(PROJECT_ROOT, '.scoreflow', place.dir),
    SCOREFLOW_PG_PORT: process.env['SCOREFLOW_BENCH_PG_PORT'] ?? String(place.pgPort),
    SCOREFLOW_TEMPORAL_PORT: process.env['SCOREFLOW_BENCH_TEMPORAL_PORT'] ?? String(place.temporalPort),
    SCOREFLOW_TEMPORAL_UI_PORT: process.env['SCOREFLOW_BENCH_TEMPORAL_UI_PORT'] ?? String(place.uiPort),
    SCOREFLOW_SANDBOX_PORT: process.env['SCOREFLOW_BENCH_SANDBOX_PORT'] ?? String(place.sandboxPort),
    SCOREFLOW_TASK_QUEUE: place.taskQueue,
    // The bench's sandbox starts with no contacts: upsert creates them, so every contact is measured sending.
    SCOREFLOW_CRM_SYNC_MODE: 'upsert',
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
  };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SCOREFLOW_CRM', 'HUBSPOT_ACCESS_TOKEN', 'HUBSPOT_ACCESS_TOKEN_FILE', 'HUBSPOT_BASE_URL']) delete env[k];
  return env;
}
