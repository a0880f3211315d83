import { z } from 'zod';

/** Misbehaviour a test or benchmark asks of the sandbox; all off by default. */
export interface SandboxFaults {
  /** 0..1 share of HubSpot requests answered 500/502/503 with a HubSpot error body. */
  serverErrorRate: number;
  /** Added to every HubSpot request before it is answered. */
  latencyMs: number;
  /** The next N HubSpot requests get a 429 TEN_SECONDLY_ROLLING. */
  force429: number;
  /** The next N HubSpot requests (after any forced 429s) get a 5xx: a deterministic outage for tests. */
  force5xx: number;
  /** Batch upsert: these emails fail individually (207 with errors[]), the others are written. */
  failEmails: string[];
  /** Batch upsert: a batch containing any of these is refused whole (400 VALIDATION_ERROR). */
  rejectBatchEmails: string[];
  /** Batch upsert: answered as written but not stored, so a read-back catches the loss. */
  dropWriteEmails: string[];
}

/** No faults. */
export function noFaults(): SandboxFaults {
  return { serverErrorRate: 0, latencyMs: 0, force429: 0, force5xx: 0, failEmails: [], rejectBatchEmails: [], dropWriteEmails: [] };
}

const emails = z.array(z.string().min(1)).transform((list) => list.map((e) => e.toLowerCase()));

/** Validates a partial faults object (from POST /_sandbox/faults or setFaults); emails are lower-cased. */
export const partialFaultsSchema = z
  .object({
    serverErrorRate: z.number().min(0).max(1),
    latencyMs: z.number().int().min(0),
    force429: z.number().int().min(0),
    force5xx: z.number().int().min(0),
    failEmails: emails,
    rejectBatchEmails: emails,
    dropWriteEmails: emails,
  })
  .partial()
  .strict();

/** Picks the 5xx status an injected server error answers with. */
export function pickServerError(random: () => number = Math.random): 500 | 502 | 503 {
  const statuses = [500, 502, 503] as const;
  return statuses[Math.floor(random() * statuses.length)] ?? 500;
}
