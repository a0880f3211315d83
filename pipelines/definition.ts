import { z } from 'zod';
import { isTimeZone } from '../lib/time-zone.js';
import { gatesSchema } from './gates.js';

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
   * Where published results go: the current result per key, and the table every published result is written
   * to (never a view). probability-buckets: a history partitioned by `list (run_id)` with staging's columns
   * (lead scoring's scoring.lead_score_history_rows, which analysts read through the view
   * scoring.lead_score_history) takes each run's table as it is, the run's model named in its audit row;
   * any other table gets the rows copied, with the run's model if it has model_version and model_sha256.
   * top-k: `current` is the readers' view of the published run, `history` the table holding every kept run's rows.
   */
  sinks: z.object({ current: tableName, history: tableName }),
  /**
   * Optional: which output goes to which HubSpot contact property. Absent: the run has no CRM stage (crm_status 'off').
   * probability-buckets: score, bucket, modelVersion, scoredAt. top-k: ranks (one property per rank, holding the item's
   * name), and optionally modelVersion and generatedAt.
   */
  crm: z
    .object({
      properties: z
        .object({
          score: identifier.optional(),
          bucket: identifier.optional(),
          modelVersion: identifier.optional(),
          scoredAt: identifier.optional(),
          ranks: z.array(identifier).min(1, 'must name at least one property (rank 1 first)').optional(),
          generatedAt: identifier.optional(),
        })
        .strict(),
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
  /** The quality gate before publication (pipelines/gates.ts); absent: the defaults there. */
  gates: gatesSchema.prefault({}),
});

export type PipelineDefinition = z.infer<typeof pipelineDefinitionSchema>;
/** What a definition module writes: defaults (empty calendars or cron) may be left out. */
export type PipelineDefinitionInput = z.input<typeof pipelineDefinitionSchema>;
export type CalendarSpec = z.infer<typeof calendarSpecSchema>;

/**
 * Checks a definition and names the first problem as `<field> <what is wrong>`; null when it is valid.
 * Besides the schema: a top-k definition without k or its tables, a CRM sink whose properties do not fit the
 * output kind, and a CRM sink without an email column.
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
  }
  if (d.crm) {
    const problem = crmSinkProblem(d);
    if (problem) return problem;
    if (!d.source.email) return { field: 'source.email', message: 'is required with a CRM sink: it is how a row finds its HubSpot contact' };
  }
  if (d.sinks.current === d.sinks.history) return { field: 'sinks.history', message: 'must be another table than sinks.current' };
  return null;
}

/** The CRM properties each output kind writes: the ones it needs, and the ones it may add. */
const CRM_FIELDS = {
  'probability-buckets': { required: ['score', 'bucket', 'modelVersion', 'scoredAt'], optional: [] },
  'top-k': { required: ['ranks'], optional: ['modelVersion', 'generatedAt'] },
} as const satisfies Record<(typeof OUTPUT_KINDS)[number], { required: readonly string[]; optional: readonly string[] }>;

/** A CRM sink whose properties do not fit the output kind, name one property twice, or name more ranks than k. */
function crmSinkProblem(d: PipelineDefinition): { field: string; message: string } | null {
  const props = d.crm!.properties;
  const fits: { required: readonly string[]; optional: readonly string[] } = CRM_FIELDS[d.output.kind];
  const allowed = [...fits.required, ...fits.optional];
  const writes = `output kind "${d.output.kind}" writes ${fits.required.join(', ')}${fits.optional.length ? ` (and optionally ${fits.optional.join(', ')})` : ''}`;
  for (const field of Object.keys(props)) {
    if (!allowed.includes(field)) return { field: `crm.properties.${field}`, message: `does not fit output kind "${d.output.kind}": ${writes}` };
  }
  for (const field of fits.required) {
    if (props[field as keyof typeof props] === undefined) return { field: `crm.properties.${field}`, message: `is required: ${writes}` };
  }
  if (props.ranks && d.output.k !== undefined && props.ranks.length > d.output.k) {
    return { field: 'crm.properties.ranks', message: `names ${props.ranks.length} properties but the output has ${d.output.k} items per key (output.k)` };
  }
  const names = [...Object.values(props).flat()];
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) return { field: 'crm.properties', message: `names the property "${twice}" twice; give each output its own property` };
  if (names.includes('email')) return { field: 'crm.properties', message: 'names "email", which finds the contact and is never written; choose another property' };
  return null;
}
