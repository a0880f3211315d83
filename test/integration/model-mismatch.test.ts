import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { makeHarness, type Harness } from '../support/harness.js';
import { PROJECT_ROOT } from '../../lib/paths.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A copy of the bundled model whose card has been edited by `edit`. */
function modelWithCard(edit: (card: Record<string, unknown>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-model-'));
  const source = path.join(PROJECT_ROOT, 'models', 'lead-scoring');
  for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
  const card = JSON.parse(fs.readFileSync(path.join(dir, 'model-card.json'), 'utf8')) as Record<string, unknown>;
  edit(card);
  fs.writeFileSync(path.join(dir, 'model-card.json'), JSON.stringify(card));
  return dir;
}

describe('a model that does not match its card', () => {
  it('fails the run at once with ModelCardMismatch naming the difference, and publishes nothing', async () => {
    const dir = modelWithCard((card) => {
      (card['inputs'] as Array<{ name: string }>)[1]!.name = 'vertical';
    });
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: dir });
    await h.seed(200);

    const err = await h.run('2026-05-01').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (err as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    expect((activityFailure as ActivityFailure).retryState).toBe('NON_RETRYABLE_FAILURE');
    const failure = (activityFailure as ActivityFailure).cause;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('ModelCardMismatch');
    expect((failure as ApplicationFailure).message).toContain('card input "vertical" is not an input of the ONNX graph');
    expect((failure as ApplicationFailure).message).toContain('graph input "industry" is missing from the card');

    const runs = await h.query('select status, error_type from scoring.pipeline_runs');
    expect(runs).toEqual([{ status: 'failed', error_type: 'ModelCardMismatch' }]);
    expect(await h.query('select * from scoring.lead_scores')).toEqual([]);
    expect(await h.query('select * from scoring.lead_score_history')).toEqual([]);
  });

  it('refuses a model file whose hash differs from the card', async () => {
    const dir = modelWithCard((card) => {
      card['sha256'] = '0'.repeat(64);
    });
    h = await makeHarness({ SCOREFLOW_MODEL_DIR: dir });
    await h.seed(50);
    const err = (await h.run('2026-05-01').catch((e: unknown) => e)) as WorkflowFailedError;
    const failure = (err.cause as ActivityFailure).cause as ApplicationFailure;
    expect(failure.type).toBe('ModelCardMismatch');
    expect(failure.message).toMatch(/lead-scoring\.onnx has sha256 [0-9a-f]{64} but the card says 0{64}/);
    expect(await h.query('select count(*)::int as n from scoring.lead_scores')).toEqual([{ n: 0 }]);
  });
});
