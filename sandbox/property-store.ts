import type { Pool } from '../db/pool.js';
import { quoteSchema } from './schema.js';
import type { PropertyDefinition, PropertyGroupDefinition } from './standard-properties.js';

/** Property and property-group definitions for one sandbox schema, per object type. */
export interface PropertyStore {
  /** Live definitions, or with `archived` only the archived ones (HubSpot's `archived=true`). */
  list(objectType: string, archived?: boolean): Promise<PropertyDefinition[]>;
  get(objectType: string, name: string, archived?: boolean): Promise<PropertyDefinition | undefined>;
  /** Archives a live property: its name stays taken, its values can no longer be written; false when none. */
  archive(objectType: string, name: string): Promise<boolean>;
  /** Inserts a definition; false when the name is already taken. */
  insert(objectType: string, definition: PropertyDefinition): Promise<boolean>;
  listGroups(objectType: string): Promise<PropertyGroupDefinition[]>;
  /** Inserts a group; false when the name is already taken. */
  insertGroup(objectType: string, group: PropertyGroupDefinition): Promise<boolean>;
}

const ARCHIVED = "coalesce((definition->>'archived')::boolean, false)";

/** Builds the property store on `pool` for the (already created) `schema`. */
export function makePropertyStore(pool: Pool, schema: string): PropertyStore {
  const s = quoteSchema(schema);
  const insertInto = async (table: string, objectType: string, name: string, definition: object) => {
    const { rowCount } = await pool.query(
      `insert into ${s}.${table} (object_type, name, definition) values ($1, $2, $3::jsonb) on conflict do nothing`,
      [objectType, name, JSON.stringify(definition)],
    );
    return rowCount === 1;
  };
  return {
    async list(objectType, archived = false) {
      const { rows } = await pool.query<{ definition: PropertyDefinition }>(
        `select definition from ${s}.properties where object_type = $1 and ${ARCHIVED} = $2 order by seq`, [objectType, archived],
      );
      return rows.map((r) => r.definition);
    },
    async get(objectType, name, archived = false) {
      const { rows } = await pool.query<{ definition: PropertyDefinition }>(
        `select definition from ${s}.properties where object_type = $1 and name = $2 and ${ARCHIVED} = $3`, [objectType, name, archived],
      );
      return rows[0]?.definition;
    },
    async archive(objectType, name) {
      const { rowCount } = await pool.query(
        `update ${s}.properties set definition = definition || jsonb_build_object('archived', true, 'archivedAt', $3::text)
         where object_type = $1 and name = $2 and ${ARCHIVED} = false`,
        [objectType, name, new Date().toISOString()],
      );
      return rowCount === 1;
    },
    insert: (objectType, definition) => insertInto('properties', objectType, definition.name, definition),
    async listGroups(objectType) {
      const { rows } = await pool.query<{ definition: PropertyGroupDefinition }>(
        `select definition from ${s}.property_groups where object_type = $1 order by seq`, [objectType],
      );
      return rows.map((r) => r.definition);
    },
    insertGroup: (objectType, group) => insertInto('property_groups', objectType, group.name, group),
  };
}
