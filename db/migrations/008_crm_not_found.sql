-- Up Migration
-- Update mode (SCOREFLOW_CRM_SYNC_MODE=update) writes only contacts HubSpot already has; each run counts
-- the emails HubSpot has no contact for apart from the leads skipped for their email.
alter table scoring.pipeline_runs add column crm_not_found integer;

-- Down Migration
alter table scoring.pipeline_runs drop column crm_not_found;
