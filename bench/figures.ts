import type { postgresBaselines } from './baselines.js';
import type { CpuUsed } from './cpu-time.js';
import type { ScaleMeasurements, ScalePoint } from './large.js';
import { perSecond, type Measured } from './measure.js';
import type { MeasuredRun } from './pipeline-run.js';
import type { RecsMeasurements } from './recs.js';
import { int, pct, rate, secs, type Figure } from './report.js';

/** Everything one bench run measured, as the figures below need it. */
export interface Measurements {
  leads: number;
  small: number;
  changed: number;
  crmRatePer10s: number;
  baselines: Awaited<ReturnType<typeof postgresBaselines>>;
  naive: Measured;
  inference: Measured;
  /** The same, each slice's rows in the order the worker scores them (models/row-order.ts). */
  inferenceGrouped: Measured;
  full: MeasuredRun;
  /** Where the CPU went during the full run. */
  cpu: CpuUsed;
  /** The first morning, seconds after the full run. */
  incremental: MeasuredRun;
  /** The next morning, after a checkpoint, as every real morning runs: the one the goal is set for. */
  morning: MeasuredRun;
  crm: MeasuredRun;
  rssSmall: number;
  rssFull: number;
  rateLimited: number;
}

/** What PostgreSQL alone took for the reads and writes a run needs: the full run's yardstick. */
export function baselineMs(pg: Measurements['baselines']): number {
  return pg.copyOut.ms + pg.copyIn.ms + pg.upsert.ms;
}

/** The printed table: each figure, and beside the ones the issue sets a target for, the target and whether it was met. */
export function benchFigures(m: Measurements): Figure[] {
  const { baselines: pg, naive, full, incremental, morning } = m;
  const baseline = baselineMs(pg);
  const stage = (rows: number | null, ms: number | null) => `${secs(ms ?? 0)}  ${rate(rows ?? 0, ms || 1)}`;
  const r = full.report;
  const crm = m.crm.report;
  const crmMs = crm.crm_ms || 1;
  // A batch upsert carries up to 100 contacts, so the budget in contacts is a hundred times its calls.
  const budgetContactsPerSecond = (m.crmRatePer10s / 10) * 100;
  const contactsPerSecond = ((crm.crm_sent ?? 0) * 1000) / crmMs;
  const growth = m.rssFull / m.rssSmall - 1;
  const leads = int(m.leads);
  const scoreRate = perSecond({ rows: r.leads_extracted ?? 0, ms: r.score_ms ?? 0 });
  const scoreShare = scoreRate / (perSecond(m.inference) || 1);
  const naiveMs = (naive.ms * m.leads) / (naive.rows || 1);
  const overNaive = naiveMs / (full.wallMs || 1);
  const shareOfFull = (run: MeasuredRun) => run.wallMs / (full.wallMs || 1);
  const morningShare = shareOfFull(morning);
  return [
    { section: 'PostgreSQL', what: `COPY out features, ${leads} leads`, value: stage(pg.copyOut.rows, pg.copyOut.ms) },
    { section: 'PostgreSQL', what: 'COPY in one score per lead', value: stage(pg.copyIn.rows, pg.copyIn.ms) },
    { section: 'PostgreSQL', what: 'upsert into a keyed table', value: stage(pg.upsert.rows, pg.upsert.ms) },
    { section: 'PostgreSQL', what: 'baseline total', value: secs(baseline) },
    { section: 'naive', what: `one lead at a time, ${int(naive.rows)} leads`, value: stage(naive.rows, naive.ms) },
    { section: 'naive', what: `  extrapolated to ${leads} leads`, value: secs(naiveMs) },
    { section: 'pipeline', what: 'extract', value: stage(r.leads_extracted, r.extract_ms) },
    { section: 'pipeline', what: 'batch-score', value: stage(r.leads_extracted, r.score_ms) },
    { section: 'pipeline', what: 'store', value: stage(r.leads_published, r.store_ms) },
    { section: 'pipeline', what: 'stages together', value: secs((r.extract_ms ?? 0) + (r.score_ms ?? 0) + (r.store_ms ?? 0)) },
    {
      section: 'pipeline', what: `whole run, ${leads} leads (start to result)`, value: stage(m.leads, full.wallMs),
      target: `≤ 2× baseline: ${(full.wallMs / baseline).toFixed(2)}×`, met: full.wallMs <= 2 * baseline,
    },
    { section: 'pipeline', what: 'onnxruntime inference alone', value: `${int(perSecond(m.inference))}/s` },
    { section: 'pipeline', what: 'batch-score as share of onnxruntime alone', value: pct(scoreShare), target: '≥ 80%', met: scoreShare >= 0.8 },
    // The worker scores each slice's rows grouped by their inputs, which onnxruntime runs faster: the share of that too.
    { section: 'pipeline', what: '  onnxruntime alone, rows grouped as the worker scores them', value: `${int(perSecond(m.inferenceGrouped))}/s` },
    { section: 'pipeline', what: '  batch-score as share of that', value: pct(scoreRate / (perSecond(m.inferenceGrouped) || 1)) },
    { section: 'pipeline', what: 'naive pipeline ÷ whole run', value: `${overNaive.toFixed(0)}×`, target: '≥ 50×', met: overNaive >= 50 },
    ...cpuFigures(m.cpu),
    { section: 'memory', what: `worker peak RSS, ${int(m.small)} leads`, value: `${m.rssSmall.toFixed(0)} MiB` },
    { section: 'memory', what: `worker peak RSS, ${leads} leads`, value: `${m.rssFull.toFixed(0)} MiB`, target: '< 400 MiB', met: m.rssFull < 400 },
    { section: 'memory', what: 'growth', value: pct(growth), target: '< 25%', met: growth < 0.25 },
    { section: 'history', what: `events, ${leads} leads`, value: int(full.historyEvents), target: '≤ 300', met: full.historyEvents <= 300 },
    { section: 'history', what: 'size (JSON)', value: `${(full.historyBytes / 1024).toFixed(1)} KiB`, target: '≤ 256 KiB', met: full.historyBytes <= 256 * 1024 },
    { section: 'incremental', what: `${int(incremental.report.leads_extracted ?? 0)} changed leads (${pct(m.changed)}), seconds after the full run`, value: `${secs(incremental.wallMs)}  ${pct(shareOfFull(incremental))}` },
    { section: 'incremental', what: `${int(morning.report.leads_extracted ?? 0)} changed leads, after a checkpoint`, value: secs(morning.wallMs) },
    { section: 'incremental', what: 'share of the full run, after a checkpoint', value: pct(morningShare), target: '< 5%', met: morningShare < 0.05 },
    { section: 'CRM sync', what: `${int(crm.crm_sent ?? 0)} contacts, 2 workers`, value: `${secs(crm.crm_ms ?? 0)}  ${int(contactsPerSecond)}/s` },
    { section: 'CRM sync', what: `HubSpot calls (budget ${m.crmRatePer10s}/10 s)`, value: `${int(crm.crm_calls ?? 0)}  ${(((crm.crm_calls ?? 0) * 1000) / crmMs).toFixed(1)}/s` },
    { section: 'CRM sync', what: 'contacts/s as share of budget', value: pct(contactsPerSecond / budgetContactsPerSecond), target: '≥ 90%', met: contactsPerSecond >= 0.9 * budgetContactsPerSecond },
    { section: 'CRM sync', what: '429 responses', value: int(m.rateLimited), target: '0', met: m.rateLimited === 0 },
  ];
}

/**
 * Where the full run's CPU went, against what the cores offered over its wall time: the evidence for what
 * bounds batch-score (a run that uses nearly all of it is bound by the cores, and the shares say by whose work).
 */
export function cpuFigures(cpu: CpuUsed): Figure[] {
  const offered = (cpu.cores * cpu.wallMs) / 1000;
  const parts: Array<[string, number | null]> = [
    ['  worker main thread (reads COPY rows, Temporal, encodes scores)', cpu.workerMain],
    ['  worker other threads (onnxruntime in the model threads, V8 helpers)', cpu.workerOthers],
    ['  PostgreSQL (all of its processes)', cpu.postgres],
    ['  Temporal dev server', cpu.temporal],
  ];
  const used = parts.reduce((sum, [, s]) => sum + (s ?? 0), 0);
  const line = (s: number | null) => (s === null ? 'not found' : `${s.toFixed(2)} s  ${pct(s / (offered || 1))}`);
  return [
    { section: 'CPU', what: `full run: used of ${cpu.cores} cores × ${secs(cpu.wallMs)}`, value: `${used.toFixed(2)} of ${offered.toFixed(2)} s  ${pct(used / (offered || 1))}` },
    ...parts.map(([what, s]) => ({ section: 'CPU', what, value: line(s) })),
  ];
}

/** The recommender's yardstick: onnxruntime alone on every customer plus COPY in of their result rows. */
export function recsBaselineMs(m: RecsMeasurements): number {
  return m.inference.ms + m.copyIn.ms;
}

/** The recommender section's lines, in the same table: the whole run against inference alone + COPY in, RSS and history. */
export function recsFigures(m: RecsMeasurements): Figure[] {
  const stage = (rows: number, ms: number) => `${secs(ms)}  ${rate(rows, ms || 1)}`;
  const customers = int(m.customers);
  const baseline = recsBaselineMs(m);
  const r = m.run.report;
  const shop = m.products < m.productsRequested
    ? `${customers} × ${int(m.products)} products (model's index; ${int(m.productsRequested)} asked)`
    : `${customers} × ${int(m.products)} products`;
  const model = m.model.source === 'shipped' ? 'shipped (models/product-recs)'
    : `trained on the first ${int(m.model.trainCustomers ?? 0)} customers${m.model.source === 'cached' ? ' (cached)' : ` in ${secs(m.model.trainMs ?? 0)}`}`;
  return [
    { section: 'recommender', what: `shop, ${shop}`, value: `${int(m.purchases)} purchases` },
    { section: 'recommender', what: `model, ${int(m.modelItems)} items`, value: model },
    { section: 'recommender', what: `onnxruntime alone, ${customers} customers`, value: stage(m.inference.rows, m.inference.ms) },
    { section: 'recommender', what: `COPY in ${int(m.copyIn.rows)} result rows`, value: stage(m.copyIn.rows, m.copyIn.ms) },
    { section: 'recommender', what: 'inference + COPY in', value: secs(baseline) },
    { section: 'recommender', what: 'extract', value: stage(r.leads_extracted ?? 0, r.extract_ms ?? 0) },
    { section: 'recommender', what: 'score (read history, graph, stage)', value: stage(r.leads_scored ?? 0, r.score_ms ?? 0) },
    { section: 'recommender', what: 'publish', value: stage(r.leads_published ?? 0, r.store_ms ?? 0) },
    {
      section: 'recommender', what: `whole run, ${customers} customers (start to result)`, value: stage(m.customers, m.run.wallMs),
      target: `≤ 2× inference + COPY in: ${(m.run.wallMs / baseline).toFixed(2)}×`, met: m.run.wallMs <= 2 * baseline,
    },
    { section: 'recommender', what: `worker peak RSS, ${customers} customers`, value: `${m.rss.toFixed(0)} MiB`, target: '< 1 GiB', met: m.rss < 1024 },
    { section: 'recommender', what: `history events, ${customers} customers`, value: int(m.run.historyEvents), target: '≤ 300', met: m.run.historyEvents <= 300 },
  ];
}

/** Per-row time at the large size over per-row time at the base size: 1 is linear, above 1 grows faster. */
export function perRowGrowth(base: { rows: number; ms: number }, large: { rows: number; ms: number }): number {
  return base.ms > 0 && base.rows > 0 && large.rows > 0 ? (large.ms / large.rows) / (base.ms / base.rows) : NaN;
}

/** A stage grows "faster than linear" when its time per row at the large size exceeds the base size's by more than this. */
export const LINEAR_TOLERANCE = 1.25;

/** Each stage's time at both sizes and its growth per row, keyed as in the JSON results. */
export function scaleGrowth(m: ScaleMeasurements): Record<'extract' | 'score' | 'store' | 'wholeRun' | 'crmPlan', { baseMs: number; largeMs: number; growth: number }> {
  const point = (p: ScalePoint) => ({
    extract: p.run.report.extract_ms ?? 0, score: p.run.report.score_ms ?? 0, store: p.run.report.store_ms ?? 0, wholeRun: p.run.wallMs, crmPlan: p.plan.ms,
  });
  const b = point(m.base);
  const l = point(m.large);
  const entry = (k: keyof typeof b) => ({ baseMs: b[k], largeMs: l[k], growth: perRowGrowth({ rows: m.base.leads, ms: b[k] }, { rows: m.large.leads, ms: l[k] }) });
  return { extract: entry('extract'), score: entry('score'), store: entry('store'), wholeRun: entry('wholeRun'), crmPlan: entry('crmPlan') };
}

const mib = (bytes: number) => (bytes < 100 * 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${int(bytes / 2 ** 20)} MiB`);

/** The --large section's lines: each stage at both sizes with its growth per row against the linear tolerance, then RSS, history and disk. */
export function scaleFigures(m: ScaleMeasurements): Figure[] {
  const { base, large } = m;
  const section = `${int(large.leads)} leads`;
  const sizes = `${int(base.leads)} → ${int(large.leads)}`;
  const growth = scaleGrowth(m);
  const stage = (what: string, g: { baseMs: number; largeMs: number; growth: number }): Figure => {
    const known = Number.isFinite(g.growth);
    const met = known ? g.growth <= LINEAR_TOLERANCE : undefined;
    return {
      section, what, value: `${secs(g.baseMs)} → ${secs(g.largeMs)}`,
      target: `per row ≤ ${LINEAR_TOLERANCE}× linear: ${known ? `${g.growth.toFixed(2)}×` : 'n/a'}${met === false ? ', faster than linear' : ''}`,
      ...(met === undefined ? {} : { met }),
    };
  };
  const size = (what: string, b: number, l: number): Figure => ({
    section, what, value: `${mib(b)} → ${mib(l)}`, target: `per row: ${perRowGrowth({ rows: base.leads, ms: b }, { rows: large.leads, ms: l }).toFixed(2)}× linear`,
  });
  const r = large.run.report;
  return [
    { section, what: `seed ${int(large.leads)} leads (COPY, streamed)`, value: secs(large.seedMs) },
    stage(`extract, ${sizes} leads`, growth.extract),
    stage('batch-score', growth.score),
    stage('store', growth.store),
    stage('whole run (start to result)', growth.wholeRun),
    { section, what: `  ${int(large.leads)} leads: extracted / published`, value: `${int(r.leads_extracted ?? 0)} / ${int(r.leads_published ?? 0)}` },
    stage(`CRM planning (planOutbox), ${int(base.plan.plan.contacts)} → ${int(large.plan.plan.contacts)} outbox rows`, growth.crmPlan),
    { section, what: `worker peak RSS, ${sizes} leads`, value: `${base.rss.toFixed(0)} → ${large.rss.toFixed(0)} MiB` },
    { section, what: 'history events', value: `${int(base.run.historyEvents)} → ${int(large.run.historyEvents)}` },
    { section, what: 'history size (JSON)', value: `${(base.run.historyBytes / 1024).toFixed(1)} → ${(large.run.historyBytes / 1024).toFixed(1)} KiB` },
    size('disk: scoring schema after the run', base.disk.scoringBytes, large.disk.scoringBytes),
    size('disk: CRM outbox, planned', base.outboxBytes, large.outboxBytes),
    size('disk: leads table (source)', base.disk.sourceBytes, large.disk.sourceBytes),
    { section, what: `disk: the ${int(large.leads)}-lead database after the plan`, value: mib(large.databaseBytes) },
  ];
}
