import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { PROJECT_ROOT } from '../../lib/paths.js';

/** Debian's Chromium (`apt-get install chromium`); playwright-core drives it, never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests leave screenshots for a person to look at (ignored by git). */
export const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts');

/** A headless Chromium with a fresh profile, quiet on the network; `close()` removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
