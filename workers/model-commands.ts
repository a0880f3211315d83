import path from 'node:path';
import type { Command } from 'commander';
import { listStoredModels, type StoredModelRow } from '../activities/sql/model-store.js';
import { loadConfig } from '../lib/config.js';
import { LEAD_SCORING, makePipelineRegistry } from '../pipelines/index.js';
import { deployModel, listModelVersions, type ModelVersion } from '../models/model-deploy.js';
import type { WithRuntime } from './runtime.js';
import { registerChallengerCommands } from './challenger-commands.js';


/** `scoreflow models deploy|list`: versioned model directories with an atomic `current` pointer, and the shared store. */
export function registerModelCommands(program: Command, withRuntime: WithRuntime): void {
  const models = program.command('models').description('deploy a model into a pipeline\'s model directory atomically; list versions and the shared model store');

  models
    .command('deploy')
    .description('check a model against its card, copy it into <model dir>/versions/ and make it current in one atomic step')
    .requiredOption('--from <dir>', 'directory with model-card.json and the ONNX file it names')
    .option('--pipeline <id>', 'the pipeline whose model directory and card format to use', LEAD_SCORING)
    .option('--to <dir>', 'model directory to deploy into (default: the pipeline\'s, SCOREFLOW_MODEL_DIR for lead scoring)')
    .option('--json', 'JSON output')
    .action(async (o: { from: string; pipeline: string; to?: string; json?: boolean }) => {
      const def = makePipelineRegistry(loadConfig()).get(o.pipeline);
      const modelDir = path.resolve(o.to ?? def.modelDir);
      const d = await deployModel(modelDir, path.resolve(o.from), def.output.kind);
      process.stdout.write(o.json ? `${JSON.stringify({ modelDir, ...d }, null, 2)}\n` : [
        `deployed ${d.version} (${d.sha256.slice(0, 12)}) as ${path.join(modelDir, 'current')} -> ${path.relative(modelDir, d.dir)}`,
        `previous: ${d.previous ?? 'none (or the flat files in the directory, which the pointer now overrides)'}`,
        'the next run extracted by a worker with this directory pins it; runs already extracted finish with the model they pinned',
      ].join('\n') + '\n');
    });

  models
    .command('list')
    .description('the versions in the pipeline\'s model directory (which is current) and the models in scoring.model_store')
    .option('--pipeline <id>', 'the pipeline whose model directory to list', LEAD_SCORING)
    .option('--json', 'JSON output')
    .action((o: { pipeline: string; json?: boolean }) =>
      withRuntime({ temporal: false, crm: 'off' }, async (rt) => {
        const def = rt.pipelines.get(o.pipeline);
        const versions = listModelVersions(def.modelDir, def.output.kind);
        const stored = await listStoredModels(rt.pool);
        process.stdout.write(o.json ? `${JSON.stringify({ modelDir: def.modelDir, versions, stored }, null, 2)}\n` : `${modelsTable(def.modelDir, versions, stored)}\n`);
      }),
    );

  registerChallengerCommands(models, withRuntime);
}

function modelsTable(modelDir: string, versions: ModelVersion[], stored: StoredModelRow[]): string {
  const local = versions.map((v) =>
    `${v.current ? '*' : v.challenger ? 'c' : ' '} ${v.dir.padEnd(32)} ${(v.version ?? '-').padEnd(10)} ${v.sha256?.slice(0, 12) ?? '-'.padEnd(12)}${v.problem ? `  ${v.problem}` : ''}`);
  const store = stored.map((m) =>
    `  ${m.sha256.slice(0, 12)} ${m.name} ${m.version.padEnd(10)} ${(m.bytes / 1024).toFixed(0).padStart(8)} KiB  ${m.registered_at.toISOString()}`);
  return [
    `${modelDir} (* = current, c = challenger):`, ...(local.length ? local : ['  no model']),
    'scoring.model_store (models runs have pinned):', ...(store.length ? store : ['  empty: the next run stores its model']),
  ].join('\n');
}
