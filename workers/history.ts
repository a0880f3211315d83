import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolveTemporalCli } from '../services/temporal-cli.js';
import type { Runtime } from './runtime.js';

const run = promisify(execFile);

/**
 * A workflow's history as proto JSON, written by the Temporal CLI (`temporal workflow show -o json`):
 * the same JSON the Web UI downloads, and what Worker.runReplayHistories reads in test/replay.
 */
export async function exportHistory(rt: Runtime, workflowId: string): Promise<string> {
  const cli = await resolveTemporalCli(rt.config.temporal.cliPath, rt.log);
  const { stdout } = await run(
    cli,
    ['workflow', 'show', '--workflow-id', workflowId, '--address', rt.temporal!.address, '--namespace', rt.temporal!.namespace, '--output', 'json'],
    { maxBuffer: 256 << 20 },
  );
  return stdout;
}
