import type { Pool } from '../db/pool.js';
import { quoteSchema } from './schema.js';

/** A stored contact. `properties` holds what was written (strings), never the system properties. */
export interface ContactRow {
  id: string;
  email: string | null;
  properties: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
  archived: boolean;
}

/** A contact row from an upsert, with whether the statement created it. */
export interface UpsertedContact extends ContactRow {
  created: boolean;
}

const COLUMNS = 'id::text as id, email, properties, created_at as "createdAt", updated_at as "updatedAt", archived';

/** Contact persistence for one sandbox schema; every batch is one statement over arrays. */
export interface ContactStore {
  upsertByEmail(rows: Array<{ email: string; properties: Record<string, string> }>): Promise<UpsertedContact[]>;
  /** Merges properties into contacts that exist (by email or by record id); unknown ones are left out of the answer. */
  updateExisting(by: 'email' | 'id', rows: Array<{ id: string; properties: Record<string, string> }>): Promise<ContactRow[]>;
  /** Creates a bare contact for each email not stored yet; how many were created. */
  insertMissing(emails: string[]): Promise<number>;
  insert(email: string | null, properties: Record<string, string>): Promise<ContactRow>;
  findByEmails(emails: string[], archived: boolean): Promise<ContactRow[]>;
  findByIds(ids: string[], archived: boolean): Promise<ContactRow[]>;
  page(afterId: string | undefined, limit: number, archived: boolean): Promise<ContactRow[]>;
}

/** Builds the contact store on `pool` for the (already created) `schema`. */
export function makeContactStore(pool: Pool, schema: string): ContactStore {
  const s = quoteSchema(schema);
  return {
    async upsertByEmail(rows) {
      if (rows.length === 0) return [];
      const { rows: out } = await pool.query<UpsertedContact>(
        `insert into ${s}.contacts as c (email, properties)
         select e, p from unnest($1::text[], $2::jsonb[]) as t(e, p)
         on conflict (email) do update set properties = c.properties || excluded.properties, updated_at = now()
         returning ${COLUMNS}, (xmax = 0) as created`,
        [rows.map((r) => r.email), rows.map((r) => JSON.stringify(r.properties))],
      );
      return out;
    },
    async updateExisting(by, rows) {
      const keyed = by === 'id' ? rows.filter((r) => /^\d{1,18}$/.test(r.id)) : rows;
      if (keyed.length === 0) return [];
      const { rows: out } = await pool.query<ContactRow>(
        `update ${s}.contacts as c set properties = c.properties || t.p, updated_at = now()
         from unnest($1::text[], $2::jsonb[]) as t(k, p)
         where ${by === 'id' ? 'c.id = t.k::bigint' : 'c.email = t.k'} and not c.archived
         returning ${COLUMNS}`,
        [keyed.map((r) => r.id), keyed.map((r) => JSON.stringify(r.properties))],
      );
      return out;
    },
    async insertMissing(emails) {
      const { rowCount } = await pool.query(
        `insert into ${s}.contacts (email, properties) select e, jsonb_build_object('email', e) from unnest($1::text[]) as t(e)
         on conflict (email) do nothing`,
        [emails],
      );
      return rowCount ?? 0;
    },
    async insert(email, properties) {
      const { rows } = await pool.query<ContactRow>(
        `insert into ${s}.contacts (email, properties) values ($1, $2::jsonb) returning ${COLUMNS}`,
        [email, JSON.stringify(properties)],
      );
      return rows[0]!;
    },
    async findByEmails(emails, archived) {
      const { rows } = await pool.query<ContactRow>(
        `select ${COLUMNS} from ${s}.contacts where email = any($1::text[]) and archived = $2`, [emails, archived],
      );
      return rows;
    },
    async findByIds(ids, archived) {
      const numeric = ids.filter((id) => /^\d{1,18}$/.test(id));
      if (numeric.length === 0) return [];
      const { rows } = await pool.query<ContactRow>(
        `select ${COLUMNS} from ${s}.contacts where id = any($1::bigint[]) and archived = $2`, [numeric, archived],
      );
      return rows;
    },
    async page(afterId, limit, archived) {
      const { rows } = await pool.query<ContactRow>(
        `select ${COLUMNS} from ${s}.contacts where archived = $1 and id > $2::bigint order by id limit $3`,
        [archived, afterId ?? '0', limit],
      );
      return rows;
    },
  };
}
