-- Up Migration
-- Quality gates: before publication a run is compared with its pipeline's last published run. A breach
-- holds the run at 'awaiting-approval' until a person (or the timeout's default) decides; a rejected run
-- publishes nothing. One report per run, with the decision, who made it, why and how.
alter table scoring.pipeline_runs
  drop constraint pipeline_runs_status_check,
  add constraint pipeline_runs_status_check check (status in ('extracting', 'scoring', 'storing', 'published', 'failed', 'cancelled',
                                                              'awaiting-approval', 'rejected'));

create table scoring.run_gate_reports (
  run_id          text primary key references scoring.pipeline_runs on delete cascade,
  pipeline        text not null,
  -- The last published run the run was compared with; null for a pipeline's first run.
  baseline_run_id text,
  verdict         text not null check (verdict in ('pass', 'breach')),
  -- [{ name, value, baseline, threshold, breached, note }], small: aggregates only, never rows.
  checks          jsonb not null,
  note            text,
  evaluated_at    timestamptz not null default now(),
  approval_timeout text,
  on_timeout      text check (on_timeout in ('approve', 'reject')),
  decision        text check (decision in ('approve', 'reject')),
  decided_by      text,
  decision_reason text,
  -- 'signal' or 'update': a person (Web UI, `scoreflow approve|reject`); 'timeout': nobody decided in time.
  decided_via     text check (decided_via in ('signal', 'update', 'timeout')),
  decided_at      timestamptz
);
create index run_gate_reports_pipeline on scoring.run_gate_reports (pipeline, evaluated_at desc);

-- Down Migration
drop table scoring.run_gate_reports;
update scoring.pipeline_runs set status = 'failed', error_type = 'GateRejected', error_message = 'rejected at the quality gate'
  where status = 'rejected';
update scoring.pipeline_runs set status = 'failed', error_type = 'GateAwaitingApproval', error_message = 'was awaiting approval at the quality gate'
  where status = 'awaiting-approval';
alter table scoring.pipeline_runs
  drop constraint pipeline_runs_status_check,
  add constraint pipeline_runs_status_check check (status in ('extracting', 'scoring', 'storing', 'published', 'failed', 'cancelled'));
