import type { Pool, PoolClient } from '../../db/pool.js';
import { DatabaseSchemaInvalid } from '../../lib/errors.js';

/** The columns a current-score row is written with, besides the model's. */
const CURRENT_COLUMNS = ['lead_id', 'score', 'bucket', 'run_id', 'source_updated_at', 'scored_at'];

/** The model columns a current table may carry on each row (all of them, or none). */
export const MODEL_COLUMNS = ['model_name', 'model_version', 'model_sha256'] as const;

/** How a current-score sink takes a run's scores (see currentShape). */
export interface CurrentShape {
  /** Has model_name, model_version and model_sha256 columns, which rows written to it get from the run's audit row. */
  namesModel: boolean;
}

/** The columns a run's scores are written to in a current table of this shape, in the order of scoring.lead_scores. */
export function currentColumns(shape: CurrentShape): string[] {
  return ['lead_id', 'score', 'bucket', ...(shape.namesModel ? MODEL_COLUMNS : []), 'run_id', 'source_updated_at', 'scored_at'];
}

/** An upsert's or a merge's SET list: every one of `columns` but the key, from the row `from` (`excluded`, or the merge's source). */
export function overwriteFrom(columns: readonly string[], from: string): string {
  return columns.filter((c) => c !== 'lead_id').map((c) => `${c} = ${from}.${c}`).join(', ');
}

/** Whether a table with these columns names the model on each row. */
const hasModelColumns = (columns: readonly string[]) => MODEL_COLUMNS.every((c) => columns.includes(c));

interface Catalog {
  kind: string | null;
  columns: string[];
  uniqueKey: boolean;
}

async function catalogOf(db: Pool | PoolClient, table: string): Promise<Catalog> {
  const { rows } = await db.query<Catalog>(
    `select (select relkind::text from pg_class where oid = $1::regclass) as kind,
            coalesce((select array_agg(attname::text order by attnum) from pg_attribute
                      where attrelid = $1::regclass and attnum > 0 and not attisdropped), '{}') as columns,
            exists (select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                    where i.indrelid = $1::regclass and i.indisunique and i.indisvalid and i.indnkeyatts = 1
                      and i.indpred is null and i.indexprs is null and a.attname = 'lead_id') as "uniqueKey"`,
    [table],
  );
  return rows[0]!;
}

/**
 * How a current-score sink takes a run's scores. Lead scoring's scoring.lead_scores_rows names no model (its
 * readers' view, scoring.lead_scores, adds the run's model); a table shaped like that view gets the model on
 * each row. A view, a table without a unique lead_id or one of the score columns, or with only some of the
 * model columns: DatabaseSchemaInvalid, naming what to change.
 */
export async function currentShape(db: Pool | PoolClient, table: string): Promise<CurrentShape> {
  const { kind, columns, uniqueKey } = await catalogOf(db, table);
  if (kind === 'v') {
    throw new DatabaseSchemaInvalid(`the current-score sink ${table} is a view; a pipeline's sinks.current names the table its rows are written to (lead scoring's: scoring.lead_scores_rows)`);
  }
  const missing = CURRENT_COLUMNS.filter((c) => !columns.includes(c));
  const model = MODEL_COLUMNS.filter((c) => columns.includes(c));
  if (missing.length > 0 || !uniqueKey || (model.length > 0 && model.length < MODEL_COLUMNS.length)) {
    throw new DatabaseSchemaInvalid(`the current-score sink ${table} (columns ${columns.join(', ')}) is not shaped like scoring.lead_scores_rows: it needs ${CURRENT_COLUMNS.join(', ')} with a primary key on lead_id, and either all of ${MODEL_COLUMNS.join(', ')} or none of them`);
  }
  return { namesModel: hasModelColumns(columns) };
}

/**
 * The current scores of `table` with the model of each, as SQL for a FROM clause: the table itself if its
 * rows name their model (a wide table, or a view like scoring.lead_scores), else its rows joined with their
 * run's audit row (one hash of scoring.pipeline_runs, a few rows per day).
 */
export async function currentWithModel(db: Pool | PoolClient, table: string): Promise<string> {
  if (hasModelColumns((await catalogOf(db, table)).columns)) return table;
  return `(select c.*, r.model_name, r.model_version, r.model_sha256 from ${table} c left join scoring.pipeline_runs r on r.run_id = c.run_id)`;
}

/** How the rows of a current table name the model that scored them (modelTest). */
export interface ModelTest {
  /** The rows name their model themselves (a wide table, or a view like scoring.lead_scores), not through their run's audit row. */
  perRow: boolean;
  /** SQL that `alias`'s row was scored by the model whose sha256 is `sha` (an SQL parameter). */
  scoredBy: (alias: string, sha: string) => string;
}

/** How the rows of the current table `table` (a table or a view) name their model, from one read of the catalog. */
export async function modelTest(db: Pool | PoolClient, table: string): Promise<ModelTest> {
  if (hasModelColumns((await catalogOf(db, table)).columns)) return { perRow: true, scoredBy: (alias, sha) => `${alias}.model_sha256 = ${sha}` };
  // `is true` keeps the IN from being pulled up into a join: the model's runs are hashed once per statement, not
  // looked up again for each of a morning's 20,000 probes (their snapshot at 1M: 170-180 ms by a join, 100 ms so).
  return { perRow: false, scoredBy: (alias, sha) => `(${alias}.run_id in (select run_id from scoring.pipeline_runs where model_sha256 = ${sha})) is true` };
}
