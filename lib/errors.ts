import { ApplicationFailure } from '@temporalio/common';

/**
 * Every failure scoreflow raises, in one place. Each is an ApplicationFailure with a stable `type`
 * (what operators search for in the Web UI and the runbook) and a message that ends with the next
 * step. Whether Temporal retries it is decided here, where the error is defined, never by callers.
 */
abstract class ScoreflowError extends ApplicationFailure {
  protected constructor(type: string, message: string, nonRetryable: boolean) {
    super(message, type, nonRetryable);
  }
}

/** A setting is missing or malformed; the process stops before doing any work. */
export class ConfigInvalid extends ScoreflowError {
  constructor(detail: string) {
    super('ConfigInvalid', `Invalid configuration: ${detail}`, true);
  }
}

/** The model directory lacks its ONNX file or model card. */
export class ModelNotFound extends ScoreflowError {
  constructor(detail: string) {
    super('ModelNotFound', `${detail}. Put the .onnx file and model-card.json in the model directory (SCOREFLOW_MODEL_DIR).`, true);
  }
}

/** The model card disagrees with the ONNX file (hash, inputs, outputs); nothing is scored or published. */
export class ModelCardMismatch extends ScoreflowError {
  constructor(detail: string) {
    super(
      'ModelCardMismatch',
      `The model does not match its card: ${detail}. Re-export the model with its card (models/lead-scoring/train.py) or restore the previous model files, then rerun the date.`,
      true,
    );
  }
}

/** A run's pinned model is neither in this worker's model directory nor, intact, in scoring.model_store. */
export class ModelNotInStore extends ScoreflowError {
  constructor(sha256: string, detail: string) {
    super(
      'ModelNotInStore',
      `The run's model ${sha256} ${detail}. Rerun the date with \`scoreflow rerun --as-of <date>\`: extract stores the model in the workers' SCOREFLOW_MODEL_DIR and pins it (the run is scored again with it if it differs).`,
      true,
    );
  }
}

/** The configured leads table or one of the card's feature columns does not exist. */
export class SourceSchemaInvalid extends ScoreflowError {
  constructor(detail: string) {
    super(
      'SourceSchemaInvalid',
      `The leads source does not fit the model: ${detail}. Fix SCOREFLOW_LEADS_TABLE or add the column, then rerun the date.`,
      true,
    );
  }
}

/** PostgreSQL could not be reached; activities retry it with backoff, the CLI stops with this line. */
export class DatabaseUnavailable extends ScoreflowError {
  constructor(detail: string) {
    super('DatabaseUnavailable', `Cannot reach PostgreSQL: ${detail}. Check DATABASE_URL and that the server is running.`, false);
  }
}

/** Run as root, the embedded PostgreSQL runs as the `postgres` user, and that user cannot reach what it needs. */
export class EmbeddedPostgresUnreachable extends ScoreflowError {
  constructor(what: string, nextStep: string) {
    super('EmbeddedPostgresUnreachable', `The embedded PostgreSQL runs as the "postgres" user, which cannot enter ${what}: ${nextStep}.`, true);
  }
}

/** Temporal could not be reached or started. */
export class TemporalUnavailable extends ScoreflowError {
  constructor(detail: string) {
    super('TemporalUnavailable', `Cannot reach Temporal: ${detail}. Check TEMPORAL_ADDRESS, or unset it to use the local dev server.`, false);
  }
}

/** The namespace lacks scoreflow's search attributes and this process may not register them (a cluster whose operator API needs an admin). */
export class SearchAttributesMissing extends ScoreflowError {
  constructor(namespace: string, names: string[], detail: string) {
    super('SearchAttributesMissing', `Temporal namespace "${namespace}" lacks the search attributes ${names.join(', ')} and registering them failed (${detail}). Register them once: ${names.map((n) => `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type Keyword`).join('; ')} (Temporal Cloud: tcld namespace search-attributes add), then start the worker again.`, true);
  }
}

/** A stage was asked to work on a run in a state it cannot come from (for example storing an unscored run). */
export class RunStateInvalid extends ScoreflowError {
  constructor(detail: string) {
    super('RunStateInvalid', `${detail}. Rerun the date with \`scoreflow rerun --as-of <date>\`.`, true);
  }
}

/** HubSpot refused the access token (401); the message names where the token came from, never the token. */
export class CrmAuthInvalid extends ScoreflowError {
  constructor(tokenSource: string) {
    super(
      'CrmAuthInvalid',
      `HubSpot rejected the access token from ${tokenSource} (401 INVALID_AUTHENTICATION). Put a valid private-app token there, check it with \`scoreflow crm check\`, then rerun the date.`,
      true,
    );
  }
}

/** The token lacks a scope the stage needs (403). */
export class CrmScopeMissing extends ScoreflowError {
  constructor(scopes: string[], tokenSource: string) {
    super(
      'CrmScopeMissing',
      `The HubSpot token from ${tokenSource} lacks the scope ${scopes.join(' or ') || '(not named by HubSpot)'} (403 MISSING_SCOPES). Add it to the private app, then rerun the date.`,
      true,
    );
  }
}

/** HubSpot answered 5xx or could not be reached after in-activity retries; Temporal retries the stage. */
export class CrmUnavailable extends ScoreflowError {
  constructor(detail: string) {
    super('CrmUnavailable', `HubSpot is unavailable: ${detail}. The stage retries by itself; check status.hubspot.com if it persists.`, false);
  }
}

/** A contact property named like one of scoreflow's exists in HubSpot with another definition; nothing is written into it. */
export class CrmPropertyConflict extends ScoreflowError {
  constructor(name: string, found: string, needed: string) {
    super(
      'CrmPropertyConflict',
      `The HubSpot contact property ${name} is ${found}, but scoreflow needs ${needed}. Rename or delete that property in HubSpot (Settings → Properties), then rerun the date; scoreflow creates its own.`,
      true,
    );
  }
}

/** HubSpot refused one of scoreflow's own contact properties for every contact (missing, archived, wrong type): configuration, not data. */
export class CrmPropertyInvalid extends ScoreflowError {
  constructor(name: string, code: string, hubspotMessage: string) {
    super(
      'CrmPropertyInvalid',
      `HubSpot refused the contact property ${name} (${code}: ${hubspotMessage}). If it was archived or deleted, restore it in HubSpot (Settings → Properties → Archived) or delete it for good so scoreflow recreates it; if its type changed, delete it; then rerun the date.`,
      true,
    );
  }
}

/** HubSpot answered 404 for an API path: the base URL is wrong, retrying cannot help. */
export class CrmEndpointNotFound extends ScoreflowError {
  constructor(baseUrl: string, detail: string) {
    super(
      'CrmEndpointNotFound',
      `${baseUrl} answered 404 Not Found (${detail}): that is not HubSpot's API. Set HUBSPOT_BASE_URL to https://api.hubapi.com (or unset it), then rerun the date.`,
      true,
    );
  }
}

/** A worker's CRM is not the one the run was planned for (workers pointed at another portal mid-run); retried, so a worker with the run's CRM can take it. */
export class CrmTargetMismatch extends ScoreflowError {
  constructor(runId: string, planned: string, worker: string) {
    super(
      'CrmTargetMismatch',
      `Run ${runId} was planned for the CRM ${planned}, but this worker sends to ${worker}: give every worker the same HUBSPOT_ACCESS_TOKEN and SCOREFLOW_CRM. The stage retries for a worker with ${planned}; if none is left, the next run sends everything ${worker} has not accepted.`,
      false,
    );
  }
}

/**
 * A worker was given an activity of a pipeline its registry does not define (workers deployed with different
 * definitions). Retried, so that a worker that knows the pipeline takes it.
 */
export class PipelineNotDefined extends ScoreflowError {
  constructor(pipeline: string, known: readonly string[]) {
    super(
      'PipelineNotDefined',
      `This worker has no definition of pipeline "${pipeline}" (it knows ${known.join(', ')}): deploy the same pipelines/ to every worker on the task queue. The activity retries for a worker that knows it.`,
      false,
    );
  }
}

/** `scoreflow rollback` named a run that cannot be republished: unknown, of another pipeline, never published, or (top-k) no longer kept. */
export class RollbackTargetInvalid extends ScoreflowError {
  constructor(detail: string) {
    super('RollbackTargetInvalid', `Cannot roll back: ${detail}. Nothing was changed.`, true);
  }
}

/** PostgreSQL refused a statement for a reason a retry cannot fix: a missing table, column or permission. */
export class DatabaseSchemaInvalid extends ScoreflowError {
  constructor(detail: string) {
    super(
      'DatabaseSchemaInvalid',
      `PostgreSQL rejected a statement: ${detail}. Run \`scoreflow migrate\`, check the leads table and the database user's grants, then rerun the date.`,
      true,
    );
  }
}

/**
 * Turns errors that retrying cannot fix into typed non-retryable failures; everything else (lost
 * connections, restarts, deadlocks, timeouts) is left as it is, to be retried with backoff.
 */
export function classifyError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (err instanceof ApplicationFailure || typeof code !== 'string' || code.length !== 5) return err;
  // SQLSTATE class 42: syntax error or access rule violation (undefined table/column, insufficient privilege).
  if (code.startsWith('42')) return new DatabaseSchemaInvalid(`${(err as Error).message} (SQLSTATE ${code})`);
  return err;
}
