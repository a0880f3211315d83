import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { sha256Of } from '../../models/load-model.js';
import { deployModel } from '../../models/model-deploy.js';
import { readModelFiles } from '../../models/model-dir.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { BUNDLED_MODEL, emptyModelDir, modelVariant } from '../support/model-variant.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const DEPLOY = path.join(PROJECT_ROOT, 'dist', 'models', 'model-deploy.js');
const run = promisify(execFile);

let h: Harness;
beforeAll(async () => {
  h = await makeHarness({}, { worker: false });
});
afterAll(async () => {
  await h?.close();
});

describe('scoreflow models', () => {
  it('deploy while a reader polls the directory: every read has the card and the ONNX file of one same model', async () => {
    const root = emptyModelDir();
    const next = modelVariant('1.1.0');
    await deployModel(root, BUNDLED_MODEL);
    // Another process deploys the two models in turn, as fast as it can, with the built code.
    const deployer = spawn('node', ['--input-type=module', '-e', `
      const { deployModel } = await import(${JSON.stringify(DEPLOY)});
      for (let i = 0; i < 60; i++) await deployModel(${JSON.stringify(root)}, i % 2 ? ${JSON.stringify(BUNDLED_MODEL)} : ${JSON.stringify(next.dir)});
    `], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => deployer.once('exit', resolve));
    let running = true;
    void exited.then(() => (running = false));

    const seen = new Map<string, number>();
    let mixed = 0;
    while (running) {
      const { card, onnx } = readModelFiles(root);
      if (sha256Of(onnx) !== card.sha256) mixed++;
      seen.set(card.version, (seen.get(card.version) ?? 0) + 1);
      await yieldToEvents();
    }

    expect(await exited).toBe(0);
    expect(mixed).toBe(0);
    expect([...seen.keys()].sort()).toEqual(['1.0.0', '1.1.0']);
  });

  it('deploy --from checks and installs a model; list shows the versions, the current one and the store', async () => {
    const root = emptyModelDir();
    const next = modelVariant('1.1.0');
    const env = {
      PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', DATABASE_URL: h.config.database.url!,
      SCOREFLOW_MODEL_DIR: root, SCOREFLOW_CRM: 'off',
    };
    await run('node', [CLI, 'models', 'deploy', '--from', BUNDLED_MODEL], { env });
    const deployed = await run('node', [CLI, 'models', 'deploy', '--from', next.dir], { env });
    await h.query(`insert into scoring.model_store (sha256, name, version, card, onnx) values ($1, 'lead-scoring', '1.0.0', '{}', $2)`,
      [readModelFiles(BUNDLED_MODEL).card.sha256, readModelFiles(BUNDLED_MODEL).onnx]);
    const listed = JSON.parse((await run('node', [CLI, 'models', 'list', '--json'], { env })).stdout) as {
      versions: Array<{ version: string; sha256: string; current: boolean }>;
      stored: Array<{ version: string }>;
    };

    expect(deployed.stdout).toContain(`deployed 1.1.0 (${next.sha256.slice(0, 12)})`);
    expect(readModelFiles(root).card.sha256).toBe(next.sha256);
    expect(listed.versions.map((v) => [v.version, v.current])).toEqual([['1.0.0', false], ['1.1.0', true]]);
    expect(listed.stored.map((m) => m.version)).toEqual(['1.0.0']);
  });

  it('deploy and list --pipeline product-recs use the recommender\'s model directory and card', async () => {
    const root = emptyModelDir();
    const recs = path.join(PROJECT_ROOT, 'models', 'product-recs');
    const env = {
      PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', DATABASE_URL: h.config.database.url!,
      SCOREFLOW_RECS_MODEL_DIR: root, SCOREFLOW_CRM: 'off',
    };
    const deployed = await run('node', [CLI, 'models', 'deploy', '--pipeline', 'product-recs', '--from', recs], { env });
    const listed = JSON.parse((await run('node', [CLI, 'models', 'list', '--pipeline', 'product-recs', '--json'], { env })).stdout) as {
      modelDir: string;
      versions: Array<{ version: string; current: boolean; problem?: string }>;
    };

    const card = JSON.parse(fs.readFileSync(path.join(recs, 'model-card.json'), 'utf8')) as { version: string; sha256: string };
    expect(deployed.stdout).toContain(`deployed ${card.version} (${card.sha256.slice(0, 12)})`);
    expect(listed.modelDir).toBe(root);
    expect(listed.versions).toEqual([expect.objectContaining({ version: card.version, current: true })]);
    expect(listed.versions[0]!.problem).toBeUndefined();
  });
});
