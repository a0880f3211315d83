import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Keeps the Temporal SDK's own logs at WARN (DEBUG when asked); must run before the first worker or connection. */
export function installTemporalLogging(level: string | undefined): void {
  try {
    Runtime.install({ logger: new DefaultLogger(level === 'debug' || level === 'trace' ? 'DEBUG' : 'WARN') });
  } catch {
    // a Runtime is already installed in this process
  }
}
