import { z } from 'zod';
import { isTimeZone } from '../lib/time-zone.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const identifier = z.string().regex(IDENTIFIER, 'must be a plain column name (letters, digits, underscores)');
const tableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'must be a table name of the form schema.table');


/** The output kinds the generic stages know: a probability with buckets per key, or the top k items per key. */
export const OUTPUT_KINDS = ['probability-buckets', 'top-k'] as const;

/** One time of day (optionally on one weekday, 0 = Sunday) in the schedule's time zone. */
export const calendarSpecSchema = z.object({
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59),
  dayOfWeek: z.number().int().min(0).max(6).optional(),
});

/** A pipeline definition: everything that differs between two batch models on the same runner. */
export const pipelineDefinitionSchema = z.object({
  /** Lower-case letters, digits and dashes: it starts workflow ids (`<id>-<date>`), run ids and the schedule id. */
  id: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be lower-case letters, digits and single dashes, such as "lead-scoring"').max(40),
  /** What to score: one row per key; a changed `change` column (a timestamp) makes the row due again. */
  source: z.object({
    table: tableName,
    key: identifier,
    change: identifier,
    /** Where a CRM sink finds the contact's email (required with a CRM sink). */
    email: identifier.optional(),
    /**
     * The feature columns, read by name; they must cover the model card's inputs (extract checks it).
     * Absent: exactly the card's inputs, whichever model is current (what lead scoring does).
     */
    features: z.array(identifier).min(1, 'must list at least one feature column (the model card\'s inputs)').optional(),
    /**
     * top-k only: the tables the model's inputs are built from, besides the keyed table above (the customers).
     * products: product_id, name, active; purchases: the key column, product_id, occurred_at.
     */
    tables: z.object({ products: tableName, purchases: tableName }).optional(),
  }),
  /** Directory holding the ONNX file and its model-card.json (flat, or versions/ with a `current` pointer). */
  modelDir: z.string().min(1),
  output: z.object({
    kind: z.enum(OUTPUT_KINDS, { message: `must be one of ${OUTPUT_KINDS.join(', ')}` }),
    /** top-k only: items per key. */
    k: z.number().int().min(1).max(100).optional(),
  }),
  /**
   * Where published results go: the current result per key, and every result ever published. For top-k:
   * `current` is the readers' view of the published run, `history` the table holding every kept run's rows.
   */
  sinks: z.object({ current: tableName, history: tableName }),
  /** Optional: which output goes to which HubSpot contact property. Absent: the run has no CRM stage (crm_status 'off'). */
  crm: z
    .object({
      properties: z.object({ score: identifier, bucket: identifier, modelVersion: identifier, scoredAt: identifier }),
    })
    .optional(),
  schedule: z
    .object({
      timezone: z.string().refine(isTimeZone, { message: 'must be an IANA time zone such as "UTC" or "Europe/Berlin"' }),
      /** Calendar specs in `timezone`; one Temporal Schedule runs them all. */
      calendars: z.array(calendarSpecSchema).default([]),
      /** Five-field cron expressions, for definitions that come from SCOREFLOW_SCHEDULE_CRON. */
      cron: z.array(z.string().min(1)).default([]),
    })
    .refine((s) => s.calendars.length + s.cron.length > 0, { message: 'needs at least one calendar spec or cron expression' }),
  sizing: z.object({
    chunkSize: z.number().int().min(100).max(1_000_000),
    concurrency: z.number().int().min(1).max(64),
    /** top-k only: keys read, scored and staged at a time within a chunk (bounds a chunk's memory; heartbeats between). */
    batchSize: z.number().int().min(1).max(100_000).default(5_000),
  }),
});

export type PipelineDefinition = z.infer<typeof pipelineDefinitionSchema>;
/** What a definition module writes: defaults (empty calendars or cron) may be left out. */
export type PipelineDefinitionInput = z.input<typeof pipelineDefinitionSchema>;
export type CalendarSpec = z.infer<typeof calendarSpecSchema>;

/**
 * Checks a definition and names the first problem as `<field> <what is wrong>`; null when it is valid.
 * Besides the schema: a top-k definition without k or its tables, and a CRM sink without an email column.
 */
export function definitionProblem(def: PipelineDefinitionInput): { field: string; message: string } | null {
  const parsed = pipelineDefinitionSchema.safeParse(def);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { field: issue.path.join('.') || '(definition)', message: issue.message };
  }
  const d = parsed.data;
  if (d.output.kind === 'top-k') {
    if (d.output.k === undefined) return { field: 'output.k', message: 'is required with output kind "top-k": how many items per key' };
    if (!d.source.tables) return { field: 'source.tables', message: 'is required with output kind "top-k": the products and purchases tables the model\'s inputs are built from' };
    if (d.crm) return { field: 'crm', message: 'is not supported with output kind "top-k" yet: the CRM stage writes lead-score properties only' };
  }
  if (d.crm && !d.source.email) return { field: 'source.email', message: 'is required with a CRM sink: it is how a row finds its HubSpot contact' };
  if (d.sinks.current === d.sinks.history) return { field: 'sinks.history', message: 'must be another table than sinks.current' };
  return null;
}
