import type { Command } from 'commander';
import { nextRunTimes } from '../pipelines/next-runs.js';
import type { PipelineDefinition } from '../pipelines/index.js';
import type { Runtime, WithRuntime } from './runtime.js';
import { calendarText, scheduledNextRuns, scheduleIdFor } from './schedule.js';

type Print = (json: boolean | undefined, value: unknown, text: () => string) => void;

/** One pipeline as `scoreflow pipelines` shows it. */
export interface PipelineSummary {
  id: string;
  schedule: { id: string; times: string[]; timezone: string; exists: boolean; paused: boolean };
  /** From the Temporal Schedule when it exists, else computed from the definition (null: a cron too complex to compute). */
  nextRun: string | null;
  nextRunFrom: 'temporal-schedule' | 'definition';
  lastRun: { runId: string; asOf: string; status: string; finishedAt: string | null } | null;
  source: string;
  sinks: PipelineDefinition['sinks'];
  crm: boolean;
}

/** Every pipeline with its schedule, next run and last run (from scoring.pipeline_runs). */
export async function listPipelines(rt: Runtime, now = new Date()): Promise<PipelineSummary[]> {
  const { rows } = await rt.pool.query<{ pipeline: string; run_id: string; as_of: string; status: string; finished_at: Date | null }>(
    `select distinct on (pipeline) pipeline, run_id, to_char(as_of, 'YYYY-MM-DD') as as_of, status, finished_at
     from scoring.pipeline_runs order by pipeline, started_at desc`,
  );
  const last = new Map(rows.map((r) => [r.pipeline, r]));
  const out: PipelineSummary[] = [];
  for (const def of rt.pipelines.all()) {
    const scheduled = await scheduledNextRuns(rt, def.id);
    const next = scheduled ? scheduled.nextRuns[0] : nextRunTimes(def, now, 1)?.[0];
    const run = last.get(def.id);
    out.push({
      id: def.id,
      schedule: {
        id: scheduleIdFor(def.id),
        times: [...def.schedule.cron.map((c) => `cron "${c}"`), ...def.schedule.calendars.map(calendarText)],
        timezone: def.schedule.timezone,
        exists: scheduled !== undefined,
        paused: scheduled?.paused ?? false,
      },
      nextRun: next?.toISOString() ?? null,
      nextRunFrom: scheduled ? 'temporal-schedule' : 'definition',
      lastRun: run ? { runId: run.run_id, asOf: run.as_of, status: run.status, finishedAt: run.finished_at?.toISOString() ?? null } : null,
      source: def.source.table,
      sinks: def.sinks,
      crm: def.crm !== undefined,
    });
  }
  return out;
}

function pipelinesText(list: PipelineSummary[]): string {
  return list.map((p) => {
    const schedule = `${p.schedule.times.join(', ')} ${p.schedule.timezone} (${p.schedule.exists ? `schedule ${p.schedule.id}${p.schedule.paused ? ', PAUSED' : ''}` : `no schedule yet: scoreflow schedule create --pipeline ${p.id}`})`;
    const next = p.nextRun ? `${p.nextRun}${p.nextRunFrom === 'definition' ? ' (if scheduled)' : ''}` : '-';
    const last = p.lastRun ? `${p.lastRun.runId} ${p.lastRun.status}` : 'never run';
    return [`${p.id}`, `  schedule  ${schedule}`, `  next run  ${next}`, `  last run  ${last}`,
      `  tables    ${p.source} → ${p.sinks.current}, ${p.sinks.history}${p.crm ? ' → HubSpot' : ''}`].join('\n');
  }).join('\n');
}

export function registerPipelineCommands(program: Command, withRuntime: WithRuntime, print: Print): void {
  program.command('pipelines').description('the pipelines this scoreflow runs: schedule, next run and last run of each').option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      withRuntime({ temporal: true, crm: 'off' }, async (rt) => {
        const list = await listPipelines(rt);
        print(o.json, list, () => pipelinesText(list));
      }),
    );
}
