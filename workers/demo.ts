import { bucketCounts, runReport } from '../db/reports.js';
import { readCard } from '../models/load-model.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { seedLeads } from '../source/seed.js';
import { readDistribution } from '../source/synthetic-leads.js';
import { today } from './dates.js';
import { withLocalWorker } from './local-worker.js';
import { stageTable, table, workflowUrl } from './format.js';
import { startRun, waitWithProgress } from './run-pipeline.js';
import type { Runtime } from './runtime.js';
import type { LeadScoringResult } from '../workflows/lead-scoring.js';
import { calendarText, createOrUpdateSchedule, scheduleIdFor } from './schedule.js';
import { addSandboxContacts } from '../sandbox/server.js';
import { PRODUCT_RECS } from '../pipelines/index.js';
import { RECS_DEMO_SHOP, recsRunSummary, seedRecsShop, showRecommendations } from './recs-commands.js';

async function leadCount(rt: Runtime, tableSql: string): Promise<number> {
  try {
    const { rows } = await rt.pool.query<{ n: number }>(`select count(*)::int as n from ${tableSql}`);
    return rows[0]!.n;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return 0; // table does not exist yet
    throw err;
  }
}

/** `npm start`: everything up, demo data if empty, the daily schedule, today's run, and a summary. */
export async function runDemo(rt: Runtime, o: { once: boolean; leads: number }, waitForSignal: () => Promise<void>): Promise<void> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const began = Date.now();
  const leadsTable = parseLeadsTable(rt.config.source.leadsTable);
  if ((await leadCount(rt, leadsTable.sql)) === 0) {
    say(`Seeding ${o.leads.toLocaleString('en-US')} demo leads into ${rt.config.source.leadsTable}…`);
    await seedLeads(rt.pool, leadsTable, readCard(rt.config.model.dir), readDistribution(rt.config.model.dir), {
      count: o.leads, seed: 42, messyRate: 0.002, replace: false,
    });
  }
  const recs = rt.pipelines.get(PRODUCT_RECS);
  if ((await leadCount(rt, parseLeadsTable(recs.source.table).sql)) === 0) {
    say(`Seeding the demo shop (${RECS_DEMO_SHOP.customers.toLocaleString('en-US')} customers, ${RECS_DEMO_SHOP.products.toLocaleString('en-US')} products) into ${recs.source.table}…`);
    await seedRecsShop(rt, RECS_DEMO_SHOP);
  }
  if (rt.crm?.kind === 'sandbox') await addDemoContacts(rt, leadsTable.sql);
  await createOrUpdateSchedule(rt);
  await createOrUpdateSchedule(rt, PRODUCT_RECS);
  await withLocalWorker(rt, true, async () => {
    const asOf = today(rt.config.schedule.timezone);
    const handle = await startRun(rt, { asOf, full: false });
    const url = workflowUrl(rt.temporal!.uiUrl, rt.temporal!.namespace, handle.workflowId);
    say(`Running ${handle.workflowId}${url ? ` (watch it at ${url})` : ''}`);
    const result = await waitWithProgress(handle, { show: true });
    const report = (await runReport(rt.pool, result.runId))!;
    const buckets = await bucketCounts(rt.pool);
    const leadsSeconds = (Date.now() - began) / 1000;

    const recsBegan = Date.now();
    const recsHandle = await startRun(rt, { pipeline: PRODUCT_RECS, asOf: today(recs.schedule.timezone), full: false });
    const recsUrl = workflowUrl(rt.temporal!.uiUrl, rt.temporal!.namespace, recsHandle.workflowId);
    say(`Running ${recsHandle.workflowId}${recsUrl ? ` (watch it at ${recsUrl})` : ''}`);
    const recsResult = await waitWithProgress(recsHandle, { show: true });
    const recsReport = (await runReport(rt.pool, recsResult.runId))!;
    const recsBlock = await recommenderBlock(rt, recsResult.runId, recsResult.modelVersion, `${recsReport.status} in ${((Date.now() - recsBegan) / 1000).toFixed(1)} s`);
    const psql = rt.config.database.url ? 'psql "$DATABASE_URL"' : `psql "${rt.databaseUrl}"`;
    process.stdout.write(
      [
        '',
        `scoreflow: run ${result.runId} ${report.status} in ${leadsSeconds.toFixed(1)} s`,
        `model ${result.modelVersion}, sha256 ${result.modelSha256}`,
        '',
        stageTable(report),
        '',
        'Leads per bucket (scoring.lead_scores):',
        table(['bucket', 'leads'], buckets.map((b) => [b.bucket, b.leads.toLocaleString('en-US')])),
        '',
        crmLine(result.crm),
        '',
        `Web UI:    ${url ?? '(external Temporal: open your cluster UI)'}`,
        `Contact:   ${contactCommand(rt)}`,
        `Schedule:  lead-scoring-daily, "${rt.config.schedule.cron}" ${rt.config.schedule.timezone} (scoreflow schedule describe)`,
        `Try:       ${psql} -c "select bucket, count(*), round(avg(score)::numeric, 3) from scoring.lead_scores group by 1 order by 3 desc"`,
        `Rejected:  ${psql} -c "select reason, count(*) from scoring.rejected_leads group by 1 order by 2 desc"`,
        '',
        ...recsBlock.lines,
        `Schedule:  ${scheduleIdFor(PRODUCT_RECS)}, ${recs.schedule.calendars.map(calendarText).join(' and ')} ${recs.schedule.timezone} (scoreflow schedule describe --pipeline ${PRODUCT_RECS})`,
        `Try:       ${psql} -c "select rank, product_id, score, source from recs.current_recommendations where customer_id = ${recsBlock.sample ?? 1} order by rank"`,
        `Customer:  scoreflow recs show --customer ${recsBlock.sample ?? 1}`,
        `Total:     ${((Date.now() - began) / 1000).toFixed(1)} s`,
        '',
      ].join('\n'),
    );
    if (!o.once) {
      say('Serving (worker, Temporal dev server, PostgreSQL, HubSpot sandbox) until Ctrl-C.');
      await waitForSignal();
    }
  });
}

/** The recommender's run in a few lines: counts by source and one customer's five products. */
async function recommenderBlock(rt: Runtime, runId: string, modelVersion: string, status: string): Promise<{ lines: string[]; sample?: string }> {
  const summary = await recsRunSummary(rt, runId);
  const lines = [
    `Recommender: run ${runId} ${status}, model ${modelVersion}; ${summary.model.toLocaleString('en-US')} customers scored by the model, ${summary.popular.toLocaleString('en-US')} given the popularity list`,
  ];
  if (summary.sampleCustomer === null) return { lines };
  const shown = await showRecommendations(rt, summary.sampleCustomer);
  lines.push(
    `Customer ${summary.sampleCustomer}'s five products (recs.current_recommendations):`,
    table(['rank', 'product', 'category', 'score', 'source'], shown.map((r) => [String(r.rank), r.name ?? `(product ${r.productId})`, r.category ?? '-', r.score.toFixed(3), r.source])),
    '',
  );
  return { lines, sample: summary.sampleCustomer };
}

function crmLine(crm: LeadScoringResult['crm']): string {
  if (!crm) return 'CRM: not synced';
  return `CRM (HubSpot contacts): ${crm.sent.toLocaleString('en-US')} sent, ${crm.unchanged.toLocaleString('en-US')} unchanged, ${(crm.notInCrm ?? 0).toLocaleString('en-US')} not in HubSpot, ${crm.failed} failed, ${crm.skipped} skipped, ${crm.deferred} deferred; ${crm.calls} calls, ${crm.rateLimited} rate-limited, ${crm.verified} read back`;
}

/**
 * The sandbox plays a HubSpot account that already holds nine in ten demo leads (every lead whose id does
 * not end in 0), so an update-mode run shows both contacts synced and leads "not in HubSpot". One statement.
 */
async function addDemoContacts(rt: Runtime, tableSql: string): Promise<void> {
  const { rows } = await rt.pool.query<{ email: string }>(
    `select distinct lower(btrim(email)) as email from ${tableSql} where lead_id % 10 <> 0 and btrim(coalesce(email, '')) <> ''`,
  );
  await addSandboxContacts(rt.pool, rows.map((r) => r.email));
}

/** A command that shows one contact with its score, as HubSpot holds it. */
function contactCommand(rt: Runtime): string {
  if (!rt.crm) return '(SCOREFLOW_CRM=off: no CRM)';
  const auth = rt.crm.kind === 'sandbox' ? `-H "Authorization: Bearer ${rt.crm.token}" ` : '-H "Authorization: Bearer $HUBSPOT_ACCESS_TOKEN" ';
  return `curl -s ${auth}"${rt.crm.baseUrl}/crm/v3/objects/contacts/lead1@company1.example?idProperty=email&properties=email,lead_score,lead_score_bucket,lead_score_model_version"`;
}
