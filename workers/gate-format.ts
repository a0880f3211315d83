import type { GateReport } from '../activities/sql/gate-report.js';

/** The gate's outcome in a few words, for `scoreflow runs`: pass, awaiting approval, approved by …, rejected (timeout). */
export function gateSummary(g: GateReport | undefined): string {
  if (!g) return '-';
  if (g.verdict === 'pass') return g.note ? 'pass (noted)' : 'pass';
  if (!g.decision) return 'breach: awaiting approval';
  const what = g.decision === 'approve' ? 'approved' : 'rejected';
  return g.decided_via === 'timeout' ? `breach: ${what} (timeout)` : `breach: ${what} by ${g.decided_by}`;
}

/** The gate report for `scoreflow status`: every check against its threshold, the decision, and how to decide while it waits. */
export function gateText(g: GateReport, decideHint: string): string {
  const lines = [`quality gate: ${gateSummary(g)}${g.baseline_run_id ? ` (compared with ${g.baseline_run_id})` : ''}`];
  if (g.note) lines.push(`  note: ${g.note}`);
  for (const c of g.checks) {
    const limit = c.threshold === null ? 'not checked' : `${c.name === 'coverage' ? 'min' : 'max'} ${c.threshold}`;
    lines.push(`  ${c.breached ? 'BREACH' : 'ok    '} ${c.name.padEnd(20)} ${String(c.value ?? '-').padStart(10)}  ${limit}${c.baseline !== null ? `  (last published ${c.baseline})` : ''}`);
  }
  if (g.decision) lines.push(`  decision: ${g.decision} by ${g.decided_by} via ${g.decided_via}${g.decision_reason ? `: ${g.decision_reason}` : ''} at ${g.decided_at?.toISOString() ?? '-'}`);
  else if (g.verdict === 'breach') lines.push(`  awaits approval (no decision within ${g.approval_timeout}: ${g.on_timeout}); decide with ${decideHint}, or Send a Signal "decide" in the Web UI`);
  return lines.join('\n');
}
