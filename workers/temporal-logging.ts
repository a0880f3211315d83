import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * Sets how loud the Temporal SDK's own logs are: workers show activity failures (WARN), one-shot
 * commands only errors, LOG_LEVEL=debug everything. Must run before the first worker or connection.
 */
export function installTemporalLogging(logLevel: string | undefined, longRunning = true): void {
  const level = logLevel === 'debug' || logLevel === 'trace' ? 'DEBUG' : longRunning ? 'WARN' : 'ERROR';
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // a Runtime is already installed in this process
  }
}
