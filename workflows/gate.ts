import { condition, defineQuery, defineSignal, defineUpdate, log, patched, proxyActivities, setCurrentDetails, setHandler, upsertMemo } from '@temporalio/workflow';
import type { GateDecision, GateVerdict, RunRef, ScoringActivities } from '../activities/index.js';

/** The `decide` signal's payload, as typed into the Web UI's "Send a Signal" form or sent by `scoreflow approve|reject`. */
export interface DecideInput {
  decision: 'approve' | 'reject';
  /** Who decides: a login name, recorded on the run's audit row. */
  by: string;
  reason?: string;
}

/** What the `approval` query answers: whether the run waits for a decision, why, until when, and the decision once made. */
export interface ApprovalState {
  awaiting: boolean;
  reasons: string[];
  note: string | null;
  baselineRunId: string | null;
  approvalTimeout: string | null;
  onTimeout: 'approve' | 'reject' | null;
  decision: GateDecision | null;
  /** How to decide, for whoever reads the query in the Web UI. */
  howToDecide: string;
}

/** The gate's result in the workflow's result: its verdict and, after a breach, the decision. */
export interface GateOutcome {
  verdict: 'pass' | 'breach';
  reasons: string[];
  decision: GateDecision | null;
  /** Rows the run scored and rejected, as the gate counted them. */
  scored: number;
  rejected: number;
}

export const decideSignal = defineSignal<[DecideInput]>('decide');
export const approvalQuery = defineQuery<ApprovalState>('approval');
/** The same decision as an Update (the Web UI's "Send an Update"): refused at once when malformed or not awaited, answered once recorded. */
export const decideUpdate = defineUpdate<ApprovalState, [DecideInput]>('decide');

const HOW_TO_DECIDE = 'Send the signal "decide" with {"decision": "approve" | "reject", "by": "<your name>", "reason": "<why>"} '
  + '(Web UI: workflow actions, Send a Signal), or run scoreflow approve|reject --pipeline <id> --as-of <date> --reason "<why>".';

/** The gate reads the run's staged aggregates in the database, retried through restarts like the other database stages. */
const { evaluateGate, recordGateDecision } = proxyActivities<ScoringActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 30 },
});

/**
 * The quality gate before the store stage: a run that passes goes on at once; one that breaches a threshold
 * waits (`onWait` is told) for a `decide` signal, or for its approval timeout, which takes the configured default.
 * `judge` gives the verdict (by default the evaluateGate activity; the store stage's, or extract's for a run of one chunk,
 * when the activity that judged it also publishes a run that passes).
 */
export async function qualityGate(run: RunRef, onWait: () => void, judge: () => Promise<GateVerdict> = () => evaluateGate(run)): Promise<GateOutcome> {
  let signalled: GateDecision | undefined;
  let state: ApprovalState = {
    awaiting: false, reasons: [], note: null, baselineRunId: null, approvalTimeout: null, onTimeout: null, decision: null, howToDecide: HOW_TO_DECIDE,
  };
  setHandler(approvalQuery, () => state, { description: 'Whether this run awaits approval at the quality gate, and why' });
  setHandler(decideSignal, (input) => {
    const decision = decisionOf(input, 'signal');
    if (!decision) log.warn('ignored a decide signal that is not {"decision": "approve"|"reject", "by": "<name>", "reason": "<why>"}');
    // A person may decide as soon as the run shows as awaiting approval, which the judging activity records
    // before this workflow awaits: such a decision is kept for the wait. Runs recorded before dropped it.
    else if (!signalled && (state.awaiting || patched('decide-before-the-gate-awaits'))) signalled = decision;
  }, { description: 'Approve or reject a run that awaits approval: {"decision": "approve"|"reject", "by": "<your name>", "reason": "<why>"}' });
  setHandler(decideUpdate, async (input) => {
    signalled ??= decisionOf(input, 'update')!;
    await condition(() => state.decision !== null);
    return state;
  }, {
    validator: (input) => {
      if (!decisionOf(input, 'update')) throw new Error('expected {"decision": "approve"|"reject", "by": "<your name>", "reason": "<why>"}');
      if (!state.awaiting || signalled) throw new Error('this run is not awaiting approval');
    },
    description: 'Approve or reject a run that awaits approval, answered with the recorded decision: {"decision": "approve"|"reject", "by": "<your name>", "reason": "<why>"}',
  });

  const verdict: GateVerdict = await judge();
  const counts = { scored: verdict.scored, rejected: verdict.rejected };
  if (verdict.alreadyPublished) return { verdict: verdict.verdict, reasons: verdict.reasons, decision: verdict.alreadyPublished.decision, ...counts };
  if (verdict.verdict === 'pass') return { verdict: 'pass', reasons: [], decision: null, ...counts };

  state = { ...state, awaiting: true, reasons: verdict.reasons, note: verdict.note, baselineRunId: verdict.baselineRunId,
    approvalTimeout: verdict.approvalTimeout, onTimeout: verdict.onTimeout };
  onWait();
  upsertMemo({ gate: { status: 'awaiting-approval', reasons: verdict.reasons, onTimeout: verdict.onTimeout, approvalTimeout: verdict.approvalTimeout } });
  setCurrentDetails(awaitingDetails(verdict));

  const decided = await condition(() => signalled !== undefined, verdict.approvalTimeout);
  const decision: GateDecision = decided && signalled ? signalled
    : { decision: verdict.onTimeout, by: 'timeout', reason: `no decision within ${verdict.approvalTimeout}`, via: 'timeout' };
  await recordGateDecision({ ...run, ...decision });

  state = { ...state, awaiting: false, decision };
  const status = decision.decision === 'approve' ? 'approved' : 'rejected';
  upsertMemo({ gate: { status, reasons: verdict.reasons, via: decision.via } });
  setCurrentDetails(`**Quality gate: ${status}** (${decision.via === 'timeout' ? `timeout, default ${decision.decision}` : 'by a person'}).`);
  return { verdict: 'breach', reasons: verdict.reasons, decision, ...counts };
}

function awaitingDetails(v: GateVerdict): string {
  return [
    '**Awaiting approval at the quality gate**',
    '',
    `Compared with the last published run ${v.baselineRunId ?? '-'}:`,
    ...v.reasons.map((r) => `- ${r}`),
    '',
    `No decision within ${v.approvalTimeout}: ${v.onTimeout}.`,
    '',
    'Decide with **Send a Signal** (workflow actions above): signal name `decide`, data',
    '`{"decision": "approve", "by": "your name", "reason": "why"}` (or `"reject"`);',
    'or run `scoreflow approve|reject --pipeline <id> --as-of <date> --reason "why"`.',
  ].join('\n');
}

/** A well-formed decision from the signal's payload, or null. */
function decisionOf(input: unknown, via: 'signal' | 'update'): GateDecision | null {
  const d = input as Partial<DecideInput> | null;
  if (!d || (d.decision !== 'approve' && d.decision !== 'reject')) return null;
  if (typeof d.by !== 'string' || !d.by.trim() || d.by.length > 200) return null;
  const reason = typeof d.reason === 'string' && d.reason.trim() ? d.reason.trim().slice(0, 2000) : null;
  return { decision: d.decision, by: d.by.trim(), reason, via };
}
