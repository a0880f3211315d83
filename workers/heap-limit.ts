import { spawn } from 'node:child_process';

/**
 * V8 grows its heap lazily, up to a limit sized from the machine's memory. A worker streams every
 * chunk through short-lived buffers, so without a cap its heap fills with garbage that V8 has no
 * reason to collect yet: 553 MiB peak at 1,000,000 leads against 336 MiB with a 256 MiB cap (bench/).
 * The cap also sets how far the old generation may grow between full collections: 1.3x at 256 MiB,
 * 1.6x at 1024 (V8's MaxGrowingFactor, seen with --trace-gc-verbose). At 256 a 1M run made 16-18 full
 * collections and scored in 3.66-3.90 s; at 1024, 8 and 3.31-3.50 s (alternated, three runs each), for
 * about 10 MiB more peak RSS (380-387 MiB); uncapped, 398-408 MiB and no faster. Default: lib/config.ts.
 * Node reads the cap only at startup, hence the relaunch.
 */
export function heapFlag(heapMiB: number): string {
  return `--max-old-space-size=${heapMiB}`;
}

/** Whether this process already runs with a heap cap (from its command line or NODE_OPTIONS). */
export function hasHeapLimit(): boolean {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return flags.some((f) => f.startsWith('--max-old-space-size') || f.startsWith('--max_old_space_size'));
}

const RELAUNCHED_BY = 'SCOREFLOW_RELAUNCHED_BY';

/**
 * Runs this same command again with the heap cap, passing signals on; resolves with its exit code.
 * The relaunched process stops if this one dies (see exitWithLauncher), so a SIGKILL still kills the worker.
 */
export function relaunchWithHeapLimit(heapMiB: number): Promise<number> {
  const child = spawn(process.execPath, [heapFlag(heapMiB), ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [RELAUNCHED_BY]: String(process.pid) },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** In a relaunched worker: exit at once when the launcher is gone (its parent pid changes), as a crash would. */
export function exitWithLauncher(): void {
  const launcher = Number(process.env[RELAUNCHED_BY]);
  if (!launcher) return;
  setInterval(() => {
    if (process.ppid !== launcher) process.kill(process.pid, 'SIGKILL');
  }, 500).unref();
}
