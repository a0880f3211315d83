/** What the sandbox has been asked and answered since the last reset. */
export interface SandboxStats {
  /** HubSpot requests received (admin endpoints are not counted). */
  requests: number;
  /** Requests per operation name (e.g. `contacts.batchUpsert`), counted once routed. */
  byOperation: Record<string, number>;
  /** Requests answered 429, by a budget or by the force429 fault. */
  rateLimited: number;
  /** Requests answered 5xx, injected or not. */
  serverErrors: number;
  /** Contact rows inserted or updated in PostgreSQL. */
  contactsWritten: number;
  /** Batch upsert calls that reached the handler (past auth, limits and injected errors). */
  upsertCalls: number;
  /** Batch update calls that reached the handler. */
  updateCalls: number;
}

/** Zeroed stats. */
export function emptyStats(): SandboxStats {
  return { requests: 0, byOperation: {}, rateLimited: 0, serverErrors: 0, contactsWritten: 0, upsertCalls: 0, updateCalls: 0 };
}
