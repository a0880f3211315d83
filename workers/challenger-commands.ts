import path from 'node:path';
import type { Command } from 'commander';
import { recordModelChange } from '../activities/sql/model-changes.js';
import { latestShadowRun } from '../activities/sql/shadow.js';
import { compareRecs, compareScores, type RecsComparison, type ScoreComparison } from '../db/challenger-report.js';
import { ModelNotFound } from '../lib/errors.js';
import { challengerDir, clearChallenger, promoteChallenger, setChallenger } from '../models/challenger.js';
import { readCard } from '../models/model-dir.js';
import { listModelVersions } from '../models/model-deploy.js';
import { LEAD_SCORING, type PipelineDefinition } from '../pipelines/index.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { shopTablesOf } from '../source/shop-tables.js';
import { cliIdentity } from './cancel.js';
import { table } from './format.js';
import type { WithRuntime } from './runtime.js';

/** The model a slot (`current` or `challenger`) of a pipeline's directory holds, for the audit row. */
function slotModel(def: PipelineDefinition, slot: 'current' | 'challenger') {
  return listModelVersions(def.modelDir, def.output.kind).find((v) => (slot === 'current' ? v.current : v.challenger));
}

/** `scoreflow models challenger|promote|compare`: a challenger model scored in shadow beside the champion, compared, and promoted. */
export function registerChallengerCommands(models: Command, withRuntime: WithRuntime): void {
  models
    .command('challenger')
    .description('set the pipeline\'s challenger (checked against its card, copied into <model dir>/versions/, pointed at by <model dir>/challenger): each run scores it into shadow tables only')
    .option('--pipeline <id>', 'the pipeline', LEAD_SCORING)
    .option('--from <dir>', 'directory with the challenger\'s model-card.json and ONNX file')
    .option('--clear', 'remove the challenger: runs score the champion only')
    .option('--json', 'JSON output')
    .action((o: { pipeline: string; from?: string; clear?: boolean; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const def = rt.pipelines.get(o.pipeline);
        const before = slotModel(def, 'challenger');
        if (o.clear) {
          const cleared = clearChallenger(def.modelDir);
          if (cleared) await recordModelChange(rt.pool, { pipeline: def.id, action: 'clear-challenger', previousSha256: before?.sha256, actor: cliIdentity() });
          process.stdout.write(o.json ? `${JSON.stringify({ cleared })}\n` : `${cleared ? 'challenger removed' : 'no challenger to remove'}\n`);
          return;
        }
        if (!o.from) throw new ModelNotFound('give the challenger with --from <dir> (or --clear to remove it)');
        const d = await setChallenger(path.resolve(def.modelDir), path.resolve(o.from), def.output.kind);
        await recordModelChange(rt.pool, { pipeline: def.id, action: 'challenger', modelVersion: d.version, modelSha256: d.sha256, previousSha256: before?.sha256, actor: cliIdentity() });
        process.stdout.write(o.json ? `${JSON.stringify(d, null, 2)}\n` : [
          `challenger ${d.version} (${d.sha256.slice(0, 12)}) set for ${def.id}: ${path.join(def.modelDir, 'challenger')} -> ${path.relative(def.modelDir, d.dir)}`,
          `the next run scores it into shadow tables beside the champion; then \`scoreflow models compare --pipeline ${def.id}\``,
        ].join('\n') + '\n');
      }),
    );

  models
    .command('promote')
    .description('make the challenger the champion: <model dir>/challenger is renamed over current (the atomic switch a deploy makes), which empties the challenger slot')
    .option('--pipeline <id>', 'the pipeline', LEAD_SCORING)
    .option('--json', 'JSON output')
    .action((o: { pipeline: string; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const def = rt.pipelines.get(o.pipeline);
        const champion = slotModel(def, 'current');
        const challenger = slotModel(def, 'challenger');
        const p = promoteChallenger(def.modelDir);
        await recordModelChange(rt.pool, {
          pipeline: def.id, action: 'promote', modelVersion: challenger?.version, modelSha256: challenger?.sha256, previousSha256: champion?.sha256, actor: cliIdentity(),
        });
        process.stdout.write(o.json ? `${JSON.stringify({ ...p, version: challenger?.version, sha256: challenger?.sha256 }, null, 2)}\n` : [
          `promoted ${challenger?.version ?? p.promoted} (${challenger?.sha256?.slice(0, 12) ?? '?'}) to champion of ${def.id}; previous: ${p.previous ?? 'the flat files'}; no challenger now`,
          'the next run extracted by a worker with this directory pins it',
        ].join('\n') + '\n');
      }),
    );

  models
    .command('compare')
    .description('champion against challenger on one run: bucket migration, rank correlation and score shift (scores); overlap@k and coverage (top-k)')
    .option('--pipeline <id>', 'the pipeline', LEAD_SCORING)
    .option('--run <id>', 'the run to compare (default: the latest run the challenger scored)')
    .option('--json', 'JSON output')
    .action((o: { pipeline: string; run?: string; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const def = rt.pipelines.get(o.pipeline);
        const runId = o.run ?? (await latestShadowRun(rt.pool, def.id));
        const none = `${def.id} has no run scored by a challenger${o.run ? ` named ${o.run}` : ''}: set one with \`scoreflow models challenger --pipeline ${def.id} --from <dir>\`${challengerDir(def.modelDir) ? ' (it is set: run the pipeline)' : ''}`;
        if (!runId) throw new ModelNotFound(none);
        const history = parseLeadsTable(def.sinks.history).sql;
        const c = def.output.kind === 'top-k'
          ? await compareRecs(rt.pool, { runId, versioned: history, products: shopTablesOf(def).products.sql, k: def.output.k ?? 5 })
          : await compareScores(rt.pool, { runId, history, buckets: readCard(def.modelDir).buckets.map((b) => b.name) });
        if (!c) throw new ModelNotFound(none);
        process.stdout.write(o.json ? `${JSON.stringify(c, null, 2)}\n` : `${comparisonText(c)}\n`);
      }),
    );
}

const fixed = (v: number | null | undefined, digits = 4) => (v == null ? '-' : v.toFixed(digits));
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
const pct = (v: number | null) => (v == null ? '-' : `${(v * 100).toFixed(1)}%`);

/** The comparison as an operator reads it. */
export function comparisonText(c: ScoreComparison | RecsComparison): string {
  const lines = [
    `run ${c.runId}: champion ${c.champion.version ?? '-'} (${c.champion.sha256?.slice(0, 12) ?? '-'}) vs challenger ${c.challenger.version} (${c.challenger.sha256.slice(0, 12)})`,
    `${c.compared.toLocaleString('en-US')} keys compared; the challenger scored ${c.chunksDone} of ${c.chunks} chunks${c.chunksDone < c.chunks ? ' (incomplete: see the run\'s workflow for its error)' : ''}`,
  ];
  if (c.kind === 'top-k') {
    lines.push(
      `overlap@${c.k}: ${pct(c.overlapAtK)} (mean share of the ${c.k} items both models recommend)`,
      table(['catalogue coverage', 'products', `of ${c.catalogue.toLocaleString('en-US')}`], [
        ['champion', c.coverage.champion.distinct.toLocaleString('en-US'), pct(c.coverage.champion.share)],
        ['challenger', c.coverage.challenger.distinct.toLocaleString('en-US'), pct(c.coverage.challenger.share)],
      ]),
    );
    return lines.join('\n');
  }
  lines.push(
    'bucket migration (rows: champion, columns: challenger):',
    table(['', ...c.migration.buckets], c.migration.buckets.map((b, i) => [b, ...c.migration.counts[i]!.map((n) => n.toLocaleString('en-US'))])),
    `Spearman rank correlation: ${fixed(c.spearman)}`,
    c.shift
      ? `score shift (challenger − champion): mean ${signed(c.shift.mean)}, p5 ${signed(c.shift.p5)}, p25 ${signed(c.shift.p25)}, median ${signed(c.shift.p50)}, p75 ${signed(c.shift.p75)}, p95 ${signed(c.shift.p95)}`
      : 'score shift: no keys to compare',
  );
  return lines.join('\n');
}
