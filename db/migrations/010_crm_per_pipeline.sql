-- Up Migration
-- A CRM sink per pipeline. What a CRM target last accepted is kept per (target, pipeline, key): a
-- customer id of the product recommender and a lead id of lead scoring may be the same number, and
-- neither pipeline's state may suppress the other's sends. A run's outbox, batches and failures are keyed
-- by its run id, which already names its pipeline (`<pipeline>-<date>`).
-- Rows written before this migration are lead scoring's.
alter table scoring.crm_sync_state add column pipeline text not null default 'lead-scoring';
alter table scoring.crm_sync_state alter column pipeline drop default;
alter table scoring.crm_sync_state drop constraint crm_sync_state_pkey, add primary key (target, pipeline, lead_id);

-- A top-k pipeline's contact gets its items' names, one property per rank: the outbox and the sync state
-- hold them in rank order (`items`) instead of a score and bucket. Lead scoring's rows keep their typed
-- columns, so its plan and its writes stay as they were; `lead_id` holds the pipeline's key.
alter table scoring.crm_sync_state alter column score drop not null, alter column bucket drop not null, add column items text[];
alter table scoring.crm_outbox alter column score drop not null, alter column bucket drop not null, add column items text[];

-- Down Migration
delete from scoring.crm_outbox where items is not null;
alter table scoring.crm_outbox drop column items, alter column score set not null, alter column bucket set not null;
delete from scoring.crm_sync_state where pipeline <> 'lead-scoring';
alter table scoring.crm_sync_state drop column items, alter column score set not null, alter column bucket set not null;
alter table scoring.crm_sync_state drop constraint crm_sync_state_pkey, add primary key (target, lead_id);
alter table scoring.crm_sync_state drop column pipeline;
