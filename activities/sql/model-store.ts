import type { Pool } from '../../db/pool.js';
import { ModelCardMismatch } from '../../lib/errors.js';
import type { ModelStore, StoredModel } from '../../models/model-source.js';

/** scoring.model_store, the models runs have pinned, shared by every worker through PostgreSQL. */
export function makeModelStore(pool: Pool): ModelStore {
  return {
    register: (model) => registerModel(pool, model),
    fetch: (sha256) => fetchStoredModel(pool, sha256),
  };
}

/**
 * Adds a model unless the store already holds it intact (its bytes hash to its key): the bytes travel
 * only the first time. A model is its ONNX file and its card together, so a different card for the same
 * file is refused: two cards for one hash would make the version a score row names ambiguous.
 */
export async function registerModel(pool: Pool, model: Parameters<ModelStore['register']>[0]): Promise<void> {
  const card = JSON.stringify(model.card);
  const { rows } = await pool.query<{ intact: boolean; same_card: boolean; version: string }>(
    `select encode(sha256(onnx), 'hex') = sha256 as intact, card = $2::jsonb as same_card, version
     from scoring.model_store where sha256 = $1`,
    [model.sha256, card],
  );
  const stored = rows[0];
  if (stored && !stored.same_card) {
    throw new ModelCardMismatch(
      `scoring.model_store already holds ${model.sha256} with the card of version ${stored.version}, and a model's card cannot change without its ONNX file (a run names one version per hash). Export the changed model as a new ONNX file`,
    );
  }
  if (stored?.intact) return;
  await pool.query(
    `insert into scoring.model_store as m (sha256, name, version, card, onnx) values ($1, $2, $3, $4::jsonb, $5)
     on conflict (sha256) do update set onnx = excluded.onnx, registered_at = now()
     where encode(sha256(m.onnx), 'hex') <> m.sha256`,
    [model.sha256, model.card.name, model.card.version, card, model.onnx],
  );
}

/** The stored card (unvalidated) and bytes of a model, or undefined when the store lacks it. */
export async function fetchStoredModel(pool: Pool, sha256: string): Promise<StoredModel | undefined> {
  const { rows } = await pool.query<StoredModel>('select card, onnx from scoring.model_store where sha256 = $1', [sha256]);
  return rows[0];
}

/** What `scoreflow models list` shows of the store. */
export interface StoredModelRow {
  sha256: string;
  name: string;
  version: string;
  bytes: number;
  registered_at: Date;
}

export async function listStoredModels(pool: Pool): Promise<StoredModelRow[]> {
  const { rows } = await pool.query<StoredModelRow>(
    'select sha256, name, version, octet_length(onnx)::int as bytes, registered_at from scoring.model_store order by registered_at desc, sha256',
  );
  return rows;
}
