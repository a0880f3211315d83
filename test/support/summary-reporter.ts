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
    if (count.passed === 0 || unhandledErrors.length > 0) process.exitCode = 1;
  }
}
