import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { makeLogger } from '../../lib/logger.js';
import { sourceOrBuilt } from '../../lib/paths.js';
import { startEmbeddedPostgres } from '../../services/embedded-postgres.js';
import { resolveTemporalCli } from '../../services/temporal-cli.js';
import { startDevServer } from '../../services/temporal-dev-server.js';
import { freePort, withFreePorts } from './free-port.js';
import { INTEGRATION_DIR, namespaceOfTestFile } from './test-namespace.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The dev server's Web UI, for tests that drive it in a browser. */
    temporalUiUrl: string;
    adminDatabaseUrl: string;
    workflowBundlePath: string;
    temporalCliPath: string;
  }
}

/**
 * One real Temporal dev server and one real PostgreSQL for the whole integration run; every test file
 * gets its own database and task queue on them (test/support/harness.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = makeLogger(process.env['LOG_LEVEL'] ?? 'warn', 'test-services');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-test-'));
  fs.chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its data directory
  const temporalCliPath = await resolveTemporalCli(process.env['TEMPORAL_CLI_PATH'], log);
  // Workflow and schedule ids (lead-scoring-<date>, lead-scoring-daily) are unique per namespace: one per
  // test file, so files running side by side never attach to each other's runs.
  const extraNamespaces = fs.readdirSync(INTEGRATION_DIR).filter((f) => f.endsWith('.test.ts')).map(namespaceOfTestFile);
  const temporal = await withFreePorts(2, ([port, uiPort]) =>
    startDevServer({ cliPath: temporalCliPath, port: port!, uiPort: uiPort!, namespace: 'default', extraNamespaces, logFile: path.join(dir, 'temporal.log'), log }),
  );
  const pgPort = await freePort();
  let postgres: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  let bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  try {
    postgres = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort, database: 'postgres', persistent: false, log });
    bundle = await bundleWorkflowCode({ workflowsPath: sourceOrBuilt('workflows/index.ts'), logger: new DefaultLogger('WARN') });
  } catch (err) {
    await temporal.stop();
    throw err;
  }
  const workflowBundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalUiUrl', temporal.uiUrl);
  project.provide('adminDatabaseUrl', postgres.url);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalCliPath', temporalCliPath);
  return async () => {
    await temporal.stop();
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
