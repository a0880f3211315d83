-- Up Migration
-- A run can be cancelled (Web UI or `scoreflow cancel`): its audit row says so, with who asked, why and
-- when, as Temporal recorded them on the cancel request.
alter table scoring.pipeline_runs
  drop constraint pipeline_runs_status_check,
  add constraint pipeline_runs_status_check check (status in ('extracting', 'scoring', 'storing', 'published', 'failed', 'cancelled')),
  add column cancelled_by  text,
  add column cancel_reason text,
  add column cancelled_at  timestamptz;

-- Down Migration
update scoring.pipeline_runs set status = 'failed', error_type = 'Cancelled', error_message = coalesce(cancel_reason, 'cancelled')
  where status = 'cancelled';
alter table scoring.pipeline_runs
  drop column cancelled_by, drop column cancel_reason, drop column cancelled_at,
  drop constraint pipeline_runs_status_check,
  add constraint pipeline_runs_status_check check (status in ('extracting', 'scoring', 'storing', 'published', 'failed'));
