import { DefaultLogger, Runtime } from '@temporalio/worker';

/**
 * Sets how loud the Temporal SDK's own logs are: workers show activity failures (WARN), one-shot
 * commands only errors, LOG_LEVEL=debug everything; with `metricsAddress`, the SDK's Prometheus exporter
 * listens there (workers/metrics-server.ts relays it). Must run before the first worker or connection.
 */
export function installTemporalLogging(logLevel: string | undefined, longRunning = true, metricsAddress?: string): void {
  const level = logLevel === 'debug' || logLevel === 'trace' ? 'DEBUG' : longRunning ? 'WARN' : 'ERROR';
  try {
    Runtime.install({
      logger: new DefaultLogger(level),
      ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
    });
  } catch {
    // a Runtime is already installed in this process
  }
}
