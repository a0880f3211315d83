import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import { inWritesOf64KiB } from '../db/copy-text.js';
import { withClient, type Pool } from '../db/pool.js';
import type { ModelCard } from '../models/card.js';
import { parseFeature, type FeatureBatch } from '../models/features.js';
import type { LoadedModel } from '../models/load-model.js';
import { predict } from '../models/predict.js';
import { quoteColumn, type LeadsTable } from '../source/leads-table.js';
import { timed, type Measured } from './measure.js';

/**
 * What PostgreSQL alone costs for the work the pipeline must do, on the same leads: read every lead's
 * features (COPY out), write one score per lead (COPY in), and upsert those scores into a keyed table.
 */
export async function postgresBaselines(pool: Pool, table: LeadsTable, card: ModelCard) {
  await pool.query('drop schema if exists bench cascade');
  await pool.query('create schema bench');
  await pool.query('create table bench.scores_copied (lead_id bigint not null, score real not null)');
  await pool.query('create table bench.scores_keyed (lead_id bigint primary key, score real not null, scored_at timestamptz not null)');
  const columns = ['lead_id', 'updated_at', ...card.inputs.map((i) => i.name)].map(quoteColumn).join(', ');

  const copyOut = await timed(() =>
    withClient(pool, async (client) => {
      let rows = 0;
      const count = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
          done();
        },
      });
      await pipeline(client.query(copyStreams.to(`copy (select ${columns} from ${table.sql}) to stdout`)), count);
      return rows;
    }),
  );

  const ids = await pool.query<{ first: string; last: string }>(`select min(lead_id) as first, max(lead_id) as last from ${table.sql}`);
  const first = Number(ids.rows[0]!.first);
  const last = Number(ids.rows[0]!.last);
  const copyIn = await timed(() =>
    withClient(pool, async (client) => {
      const lines = (function* () {
        for (let id = first; id <= last; id++) yield `${id}\t${((id * 7919) % 1000) / 1000}\n`;
      })();
      await pipeline(Readable.from(inWritesOf64KiB(lines)), client.query(copyStreams.from('copy bench.scores_copied (lead_id, score) from stdin')));
      return last - first + 1;
    }),
  );

  const upsert = await timed(async () => {
    const res = await pool.query(
      `insert into bench.scores_keyed (lead_id, score, scored_at) select lead_id, score, now() from bench.scores_copied
       on conflict (lead_id) do update set score = excluded.score, scored_at = excluded.scored_at`,
    );
    return res.rowCount ?? 0;
  });
  return { copyOut, copyIn, upsert };
}

/**
 * The pipeline as a first attempt would write it, on `sample` leads: read one lead, score it alone,
 * write its score, next lead.
 */
export async function naivePipeline(pool: Pool, table: LeadsTable, model: LoadedModel, sample: number): Promise<Measured> {
  await pool.query('create table if not exists bench.scores_naive (lead_id bigint primary key, score real not null, scored_at timestamptz not null)');
  const { rows: ids } = await pool.query<{ lead_id: string }>(`select lead_id from ${table.sql} order by lead_id limit $1`, [sample]);
  const columns = model.card.inputs.map((i) => quoteColumn(i.name)).join(', ');
  const caseInsensitive = model.card.categories_case === 'insensitive';
  return timed(async () => {
    let scored = 0;
    for (const { lead_id } of ids) {
      const { rows } = await pool.query<Record<string, unknown>>(`select ${columns} from ${table.sql} where lead_id = $1`, [lead_id]);
      const values = model.card.inputs.map((input) => {
        const raw = rows[0]![input.name];
        return parseFeature(input, raw == null ? null : String(raw), caseInsensitive);
      });
      if (values.some((v) => typeof v === 'object')) continue;
      const batch: FeatureBatch = {
        leadIds: [lead_id],
        updatedAt: [''],
        columns: values.map((v) => (typeof v === 'string' ? [v] : Float32Array.of(v as number))),
      };
      const [score] = await predict(model, batch);
      await pool.query(
        `insert into bench.scores_naive (lead_id, score, scored_at) values ($1, $2, now())
         on conflict (lead_id) do update set score = excluded.score, scored_at = excluded.scored_at`,
        [lead_id, score],
      );
      scored++;
    }
    return scored;
  });
}

/**
 * Drops what the baselines and the naive pipeline wrote (schema bench) and checkpoints, so that nothing
 * measured after them shares the cores with their clean-up: left behind, their 2M written rows wait for
 * autovacuum's next pass over the database (about 2 s of a core), which may land on any later measurement.
 */
export async function dropBaselineTables(pool: Pool): Promise<void> {
  await pool.query('drop schema if exists bench cascade');
  await pool.query('checkpoint');
}
