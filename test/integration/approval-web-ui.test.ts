import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startRun } from '../../workers/run-pipeline.js';
import { workflowUrl } from '../../workers/format.js';
import type { PipelineResult } from '../../workflows/pipeline.js';
import type { Page } from 'playwright-core';
import { ARTIFACTS, CHROMIUM, launchChromium } from '../support/browser.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';

let h: Harness | undefined;

/** The text of the page and every frame in it. */
async function frameTexts(page: Page): Promise<string> {
  const texts = await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')));
  return texts.join('\n');
}
afterAll(async () => {
  await h?.close();
});

describe('a run held at the quality gate, in the Web UI', () => {
  it('has Debian\'s Chromium to drive (.ci/run installs it: apt-get install chromium)', () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`).toBe(true);
  });

  it('shows why it awaits approval and publishes once a person sends the decide signal from the Web UI', async () => {
    h = await makeHarness();
    await h.seed(2000, { seed: 11 });
    await h.run('2026-10-01', { crm: false });
    await h.query('update public.leads set demo_requested = true, site_visits_30d = 30, days_since_last_activity = 0, updated_at = now()');
    const handle = await startRun(h.rt, { pipeline: 'lead-scoring', asOf: '2026-10-02', full: false, crm: false });
    await waitForQuery(h, "select status = 'awaiting-approval' as ok from scoring.pipeline_runs where run_id = 'lead-scoring-2026-10-02'");

    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(workflowUrl(inject('temporalUiUrl'), h.config.temporal.namespace, handle.workflowId)!);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      // The Web UI renders the workflow's current details (markdown) in a sandboxed frame.
      await expect.poll(() => frameTexts(page), { timeout: 30_000 }).toMatch(/Awaiting approval at the quality gate[\s\S]*psi \d/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'approval-web-ui-awaiting.png'), fullPage: true });

      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
      // The dialog lists the workflow's signals (with their descriptions) from the worker's metadata.
      const dialog = page.locator('form').filter({ has: page.getByTestId('signal-select-button') }).filter({ visible: true });
      await dialog.getByTestId('signal-select-button').click();
      await dialog.getByRole('option').filter({ hasText: /^\s*decide/ }).click();
      await dialog.getByRole('textbox', { name: 'Data' }).click();
      await page.keyboard.insertText(JSON.stringify({ decision: 'approve', by: 'web-ui-operator', reason: 'checked the campaign in the Web UI' }));
      // Leaving the editor reformats the JSON and moves the Submit button: leave it first, then submit.
      await dialog.getByText('Single JSON payload supported.').click();
      await page.screenshot({ path: path.join(ARTIFACTS, 'approval-web-ui-signal.png'), fullPage: true });
      await dialog.getByTestId('confirm-modal-button').click();

      const result = await handle.result() as PipelineResult;
      expect(result).toMatchObject({ published: 2000, gate: { decision: { decision: 'approve', by: 'web-ui-operator', via: 'signal' } } });
      const [row] = await h.query<{ status: string; decided_by: string; decision_reason: string }>(
        "select r.status, g.decided_by, g.decision_reason from scoring.pipeline_runs r join scoring.run_gate_reports g using (run_id) where run_id = 'lead-scoring-2026-10-02'");
      expect(row).toEqual({ status: 'published', decided_by: 'web-ui-operator', decision_reason: 'checked the campaign in the Web UI' });
      await page.reload();
      await expect.poll(() => page.getByText('COMPLETED').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(ARTIFACTS, 'approval-web-ui-published.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
