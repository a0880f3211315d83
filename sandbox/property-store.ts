import type { Pool } from '../db/pool.js';
import { quoteSchema } from './schema.js';
import type { PropertyDefinition, PropertyGroupDefinition } from './standard-properties.js';

/** Property and property-group definitions for one sandbox schema, per object type. */
export interface PropertyStore {
  list(objectType: string): Promise<PropertyDefinition[]>;
  get(objectType: string, name: string): Promise<PropertyDefinition | undefined>;
  /** Inserts a definition; false when the name is already taken. */
  insert(objectType: string, definition: PropertyDefinition): Promise<boolean>;
  listGroups(objectType: string): Promise<PropertyGroupDefinition[]>;
  /** Inserts a group; false when the name is already taken. */
  insertGroup(objectType: string, group: PropertyGroupDefinition): Promise<boolean>;
}

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
    async list(objectType) {
      const { rows } = await pool.query<{ definition: PropertyDefinition }>(
        `select definition from ${s}.properties where object_type = $1 order by seq`, [objectType],
      );
      return rows.map((r) => r.definition);
    },
    async get(objectType, name) {
      const { rows } = await pool.query<{ definition: PropertyDefinition }>(
        `select definition from ${s}.properties where object_type = $1 and name = $2`, [objectType, name],
      );
      return rows[0]?.definition;
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
