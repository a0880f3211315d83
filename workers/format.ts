import type { FutureDatedLeads, RunReport } from '../db/reports.js';

const n = (v: number | null | undefined) => (v == null ? '-' : v.toLocaleString('en-US'));
const secs = (ms: number | null | undefined) => (ms == null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const rate = (rows: number | null, ms: number | null) =>
  rows == null || !ms ? '-' : `${Math.round((rows * 1000) / ms).toLocaleString('en-US')}/s`;

/** A fixed-width table: one header row, then rows; columns as wide as their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** Rows, time and throughput per stage of one run. */
export function stageTable(r: RunReport): string {
  return table(
    ['stage', 'rows', 'time', 'rows/s'],
    [
      ['extract', n(r.leads_extracted), secs(r.extract_ms), rate(r.leads_extracted, r.extract_ms)],
      ['batch-score', n(r.leads_scored), secs(r.score_ms), rate(r.leads_extracted, r.score_ms)],
      ['store', n(r.leads_published), secs(r.store_ms), rate(r.leads_published, r.store_ms)],
      [r.crm_target ? `crm-sync to ${r.crm_target}` : r.crm_status === 'off' ? 'crm-sync (off)' : 'crm-sync', n(r.crm_sent), secs(r.crm_ms), rate(r.crm_sent, r.crm_ms)],
      ['rejected', n(r.leads_rejected), '', ''],
    ],
  );
}

/** One line per run for `scoreflow runs`; with `gate`, each run's quality-gate outcome in a column. */
export function runsTable(runs: RunReport[], gate?: (runId: string) => string): string {
  return table(
    ['run', 'status', ...(gate ? ['gate'] : []), 'model', 'extracted', 'scored', 'rejected', 'published', 'error'],
    runs.map((r) => [
      r.run_id,
      r.kind === 'rollback' ? `${r.status} (rollback to ${r.rolled_back_from})` : r.status,
      ...(gate ? [gate(r.run_id)] : []),
      r.model_version ?? '-',
      n(r.leads_extracted),
      n(r.leads_scored),
      n(r.leads_rejected),
      n(r.leads_published),
      (r.error_type ? `${r.error_type}: ${r.error_message ?? ''}` : r.cancelled_at ? runOutcome(r) : '').slice(0, 120),
    ]),
  );
}

/** A run's status as people read it: with who cancelled it and why, also when only its CRM stage was cancelled. */
export function runOutcome(r: RunReport): string {
  const who = ` by ${r.cancelled_by ?? 'an unknown user'}${r.cancel_reason ? `: ${r.cancel_reason}` : ''}`;
  if (r.status === 'cancelled') return `cancelled${who}`;
  if (r.crm_status === 'cancelled') return `${r.status}, CRM sync cancelled${who}`;
  if (r.kind === 'rollback') return `${r.status}, rollback to ${r.rolled_back_from}`;
  return r.status;
}

/** The Web UI page of a workflow. */
export function workflowUrl(uiBase: string | undefined, namespace: string, workflowId: string): string | undefined {
  return uiBase ? `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}` : undefined;
}

/** The `status` warning about source rows dated in the future, with what they do and what to fix. */
export function futureDatedWarning(table: string, f: FutureDatedLeads): string {
  return `warning: ${n(f.count)} lead${f.count === 1 ? '' : 's'} in ${table} ${f.count === 1 ? 'has' : 'have'} updated_at in the future (latest ${f.latest}); `
    + 'they are scored, and the watermark stays at each run\'s snapshot time, but fix the writer\'s clock or the value';
}
