import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { migrate } from '../../db/migrate.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { makeLogger } from '../../lib/logger.js';
import { createDatabaseIfMissing } from '../../services/embedded-postgres.js';

describe('migrations', () => {
  it('can run from two processes at once and twice in a row, applying each migration exactly once', async () => {
    const database = `m_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const admin = inject('adminDatabaseUrl');
    await createDatabaseIfMissing(admin, database);
    const url = admin.replace(/\/[^/]+$/, `/${database}`);
    const log = makeLogger('silent');

    const [a, b] = await Promise.all([migrate(url, log), migrate(url, log)]);
    const again = await migrate(url, log);

    expect([...a, ...b].sort()).toEqual(['001_scoring_schema', '002_crm_sync', '003_cheaper_bulk_writes', '004_crm_target', '005_cancelled_runs', '006_model_store', '007_snapshot_time', '008_crm_not_found', '009_recommendations', '010_crm_per_pipeline', '011_quality_gates', '012_challengers_rollback', '013_scores_written_once', '014_cheaper_run_fixed_costs', '015_snapshot_per_chunk', '016_chunk_aggregates', '018_current_scores_fillfactor']);
    expect(again).toEqual([]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("select table_name from information_schema.tables where table_schema = 'scoring' order by 1");
      expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual([
        'crm_batches', 'crm_daily_usage', 'crm_outbox', 'crm_rate_log', 'crm_sync_failures', 'crm_sync_state',
        'lead_score_history', 'lead_scores', 'model_changes', 'model_store', 'pipeline_runs', 'rejected_leads', 'run_chunks', 'run_gate_reports', 'run_leads',
        'schema_migrations', 'shadow_chunks', 'shadow_runs', 'shadow_scores', 'staged_scores', 'staged_scores_default', 'watermarks',
      ]);
      const { rows: applied } = await client.query('select name from scoring.schema_migrations order by id');
      expect(applied).toEqual([{ name: '001_scoring_schema' }, { name: '002_crm_sync' }, { name: '003_cheaper_bulk_writes' }, { name: '004_crm_target' }, { name: '005_cancelled_runs' }, { name: '006_model_store' }, { name: '007_snapshot_time' }, { name: '008_crm_not_found' }, { name: '009_recommendations' }, { name: '010_crm_per_pipeline' }, { name: '011_quality_gates' }, { name: '012_challengers_rollback' }, { name: '013_scores_written_once' }, { name: '014_cheaper_run_fixed_costs' }, { name: '015_snapshot_per_chunk' }, { name: '016_chunk_aggregates' }, { name: '018_current_scores_fillfactor' }]);
    } finally {
      await client.end();
    }
  });

  it('015 keeps the snapshot of a run extracted before it: one row per chunk with its leads in key order, and going down gives the rows back', async () => {
    const database = `m_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const admin = inject('adminDatabaseUrl');
    await createDatabaseIfMissing(admin, database);
    const url = admin.replace(/\/[^/]+$/, `/${database}`);
    const steps = (direction: 'up' | 'down', count: number) => runner({
      databaseUrl: url, dir: path.join(PROJECT_ROOT, 'db', 'migrations'), direction, count,
      migrationsTable: 'schema_migrations', migrationsSchema: 'scoring', createMigrationsSchema: true, checkOrder: true, log: () => {},
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await steps('up', 14);
      const before = [['a', 5, 1], ['a', 1, 0], ['a', 3, 0], ['a', 2, 0], ['a', 4, 1], ['b', 7, 0]];
      await client.query('insert into scoring.run_leads (run_id, lead_id, chunk) select * from unnest($1::text[], $2::bigint[], $3::int[])',
        [before.map((r) => r[0]), before.map((r) => r[1]), before.map((r) => r[2])]);

      await steps('up', 1);
      const { rows: chunks } = await client.query('select run_id, chunk, lead_ids::text as ids from scoring.run_leads order by run_id, chunk');
      expect(chunks).toEqual([{ run_id: 'a', chunk: 0, ids: '{1,2,3}' }, { run_id: 'a', chunk: 1, ids: '{4,5}' }, { run_id: 'b', chunk: 0, ids: '{7}' }]);

      await steps('down', 1);
      const { rows: back } = await client.query('select run_id, lead_id::int as lead_id, chunk from scoring.run_leads order by run_id, lead_id');
      expect(back).toEqual(before.map(([run_id, lead_id, chunk]) => ({ run_id, lead_id, chunk })).sort((x, y) => `${x.run_id}${x.lead_id}`.localeCompare(`${y.run_id}${y.lead_id}`)));
    } finally {
      await client.end();
    }
  });
});
