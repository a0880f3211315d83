import pg from 'pg';
import { withTransaction, type Pool } from '../db/pool.js';
import { STANDARD_CONTACT_PROPERTIES, STANDARD_GROUPS } from './standard-properties.js';

/** A quoted schema name, checked once so every statement can interpolate it safely. */
export function quoteSchema(schema: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`sandbox schema must be a lower-case SQL name, got "${schema}"`);
  return pg.escapeIdentifier(schema);
}

/**
 * Creates the sandbox schema and tables if missing and seeds HubSpot's standard contact properties and groups.
 * Idempotent and safe when several sandboxes start at once on one database (advisory lock).
 */
export async function ensureSandboxSchema(pool: Pool, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  await withTransaction(pool, async (db) => {
    await db.query('select pg_advisory_xact_lock(hashtext($1))', [`scoreflow-sandbox:${schema}`]);
    await db.query(`create schema if not exists ${s}`);
    await db.query(`
      create table if not exists ${s}.contacts (
        id bigint generated always as identity (start with 1001) primary key,
        email text unique check (email = lower(email)),
        properties jsonb not null default '{}',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        archived boolean not null default false
      )`);
    await db.query(`
      create table if not exists ${s}.property_groups (
        seq bigint generated always as identity,
        object_type text not null,
        name text not null,
        definition jsonb not null,
        primary key (object_type, name)
      )`);
    await db.query(`
      create table if not exists ${s}.properties (
        seq bigint generated always as identity,
        object_type text not null,
        name text not null,
        definition jsonb not null,
        primary key (object_type, name)
      )`);
    await db.query(
      `insert into ${s}.property_groups (object_type, name, definition)
       select 'contacts', n, d from unnest($1::text[], $2::jsonb[]) as t(n, d) on conflict do nothing`,
      [STANDARD_GROUPS.map((g) => g.name), STANDARD_GROUPS.map((g) => JSON.stringify(g))],
    );
    await db.query(
      `insert into ${s}.properties (object_type, name, definition)
       select 'contacts', n, d from unnest($1::text[], $2::jsonb[]) as t(n, d) on conflict do nothing`,
      [STANDARD_CONTACT_PROPERTIES.map((p) => p.name), STANDARD_CONTACT_PROPERTIES.map((p) => JSON.stringify(p))],
    );
  });
}
