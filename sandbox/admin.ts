import type { Pool } from '../db/pool.js';
import type { Reply } from './errors.js';
import { partialFaultsSchema, type SandboxFaults } from './faults.js';
import type { SandboxStats } from './stats.js';

/** The test controls the admin endpoints drive (the same ones `Sandbox` exposes in-process). */
export interface AdminControls {
  setFaults(f: Partial<SandboxFaults>): void;
  resetFaults(): void;
  stats(): SandboxStats;
  resetStats(): void;
}

/**
 * `/_sandbox/*`: not HubSpot, no auth, not rate-limited, not counted. GET health and stats, POST faults
 * (a JSON partial SandboxFaults) and reset (faults and stats), so other processes can drive a sandbox.
 */
export async function handleAdmin(method: string, path: string, raw: string, controls: AdminControls, pool: Pool): Promise<Reply> {
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /_sandbox/health':
      await pool.query('select 1');
      return { status: 200, body: { status: 'ok' } };
    case 'GET /_sandbox/stats':
      return { status: 200, body: controls.stats() };
    case 'POST /_sandbox/faults': {
      let input: unknown;
      try {
        input = raw.trim() ? JSON.parse(raw) : {};
      } catch (err) {
        return { status: 400, body: { error: `faults must be JSON: ${(err as Error).message}` } };
      }
      const parsed = partialFaultsSchema.safeParse(input);
      if (!parsed.success) return { status: 400, body: { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } };
      controls.setFaults(parsed.data);
      return { status: 200, body: { ok: true } };
    }
    case 'POST /_sandbox/reset':
      controls.resetFaults();
      controls.resetStats();
      return { status: 200, body: { ok: true } };
    default:
      return { status: 404, body: { error: `no sandbox admin endpoint ${route}` } };
  }
}
