// rolloutWorkflow: one per app+environment (ID rollout-<app>.<env>, the deploy lock). The script:
//   plan (resolve + preflight) → stage → release command → batches of deployDropletWorkflow children → rollback → finish
// Bounded at any fleet size: the fleet is carried in compact form, droplets answer for their own steps (the
// rollout learns an outcome when a child completes), the status query is a summary plus the batch in flight,
// and the run continues as new between batches before its history grows large. The state and the decisions are
// in book.ts, each phase in phases.ts; this file holds the handlers and the order.
import { ApplicationFailure, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DeployActivities } from '../../activities';
import type { RolloutEvent, RolloutInput, RolloutResult } from '../../rollout-status';
import { RETRY, makeReleaseId, settleDelayMs } from '../../rollout-plan';
import { messageOf } from '../../failure-details';
import { renderCurrentDetails } from '../../status-text';
import { DeployApp } from '../../search-attributes';
import { legacyRollout } from '../legacy/rollout-v1';
import { PATCHES } from '../patches';
import { abortSignal, approveUpdate, pauseSignal, resumeSignal, statusQuery } from '../messages';
import { RolloutBook, outcome, wantsRollback } from './book';
import { batches, releaseCommand, rollBack, stage, type RolloutRun } from './phases';

const { planRollout } = proxyActivities<DeployActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: RETRY.plan,
});
const { sendNotification } = proxyActivities<DeployActivities>({
  startToCloseTimeout: '10s', scheduleToCloseTimeout: '30s', retry: RETRY.notification,
});

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  // Runs started before the rollout was bounded replay on the code they started with.
  if (!patched(PATCHES.boundedRollout)) return legacyRollout(input);
  return boundedRollout(input);
}

async function boundedRollout(input: RolloutInput): Promise<RolloutResult> {
  const { plan, release } = input;
  const book = new RolloutBook(input, workflowInfo().startTime.getTime());
  // Notifications (when the environment names a webhook): fire and forget while the rollout goes on; the last
  // one gets a short, bounded wait so it leaves before the rollout closes. A failure is ignored.
  const notifying = plan.notify !== undefined && patched(PATCHES.notifications);
  const run: Omit<RolloutRun, 'carry'> & { carry?: RolloutRun['carry'] } = {
    input, book, carry: input.carry, rolloutId: workflowInfo().workflowId,
    searchable: workflowInfo().typedSearchAttributes.get(DeployApp) !== undefined,
    /** The Web UI's "current details": the progress table an operator looks for first. */
    publish: () => setCurrentDetails(renderCurrentDetails(book.status())),
    notify: (event: RolloutEvent, text?: string): Promise<void> => {
      if (!notifying || !plan.notify) return Promise.resolve();
      const s = book.status();
      return sendNotification({
        webhookUrlEnv: plan.notify.webhookUrlEnv, event, app: plan.app, env: plan.env, release, workflowId: run.rolloutId, message: text,
        droplets: s.counts as Record<string, number>, total: s.total, needsAttention: s.needsAttention,
      }).catch(() => undefined);
    },
  };
  handleMessages(run);

  const finish = async (status: RolloutResult['status'], text: string, refused = false): Promise<RolloutResult> => {
    book.phase = status;
    book.message = text;
    book.endedAt = Date.now();
    if (book.carry) book.carry.stopped = true;
    run.publish();
    if (book.carry?.needsAttention.length) await run.notify('needs-attention', text);
    await run.notify(status, text);
    const result = book.result(status, text, refused);
    if (status === 'succeeded') return result;
    const type = { failed: 'RolloutFailed', 'rolled-back': 'RolloutRolledBack', aborted: 'RolloutAborted' }[status];
    throw ApplicationFailure.nonRetryable(text, type, result);
  };

  // 1. Plan: resolve the fleet and refuse early, before anything on the fleet is touched.
  if (!run.carry) {
    try {
      book.phase = 'preflight';
      const planned = await planRollout({ plan, batchSize: book.batchSize, ...(input.rollback ? { rollback: input.rollback } : {}) });
      const started = workflowInfo().startTime;
      run.carry = {
        startedAt: started.getTime(), releaseId: makeReleaseId(release, started), phase: 'deploying',
        fleet: planned.fleet, loadBalancer: planned.loadBalancer, settleDelayMs: settleDelayMs(plan.rollout, planned.loadBalancer),
        filesDigest: planned.filesDigest, warnings: planned.warnings, previous: planned.previous,
        nextBatch: 0, ...book.pending, deployed: [], ended: [], rolledBack: '', reports: [], needsAttention: [], failedThenResumed: [], runs: 0,
        // A rollback returns to kept release directories: nothing to stage, the switch is one round trip.
        ...(input.rollback ? { staged: true, targets: planned.targets ?? [] } : {}),
        ...(planned.quota ? { apiQuota: planned.quota } : {}),
      };
      book.open(run.carry);
    } catch (err) {
      return finish('failed', messageOf(err), true);
    }
    book.phase = 'deploying';
    run.publish();
    void run.notify('started', `${run.carry.fleet.ids.length} droplet(s), ${book.batchSize} at a time`);
  }
  const planned = run as RolloutRun;
  const carry = planned.carry;

  // 2.–4. Stage, the release command, the batches: each returns at once when an earlier one failed or was aborted.
  await stage(planned);
  await releaseCommand(planned);
  await batches(planned);

  // 5. The outcome, and the rollback it calls for.
  const rolledBackForFailure = wantsRollback({
    rollbackMode: Boolean(input.rollback), alreadyRollingBack: carry.phase === 'rolling-back', abortRequested: carry.abortRequested,
    rollbackOnAbort: carry.rollbackOnAbort, failure: carry.failure, onFailure: plan.rollout.onFailure, forceRollback: carry.forceRollback, updated: book.updated,
  });
  if (rolledBackForFailure) await rollBack(planned);
  const end = outcome({
    app: plan.app, env: plan.env, release, rollback: input.rollback, abortRequested: carry.abortRequested, rollbackOnAbort: carry.rollbackOnAbort,
    rollbackAborted: carry.rollbackAborted, failure: carry.failure, refused: carry.refused, failedThenResumed: carry.failedThenResumed,
    needsAttention: carry.needsAttention, releaseCommand: carry.releaseCommand, rolledBackForFailure,
    updated: book.updated, rolledBack: book.rolledBackCount, rollbackFailures: carry.rollbackFailures ?? 0,
  });
  return finish(end.status, end.message, end.refused === true);
}

/** The operators' controls: status, pause, resume, abort, approve. Each records in the book; an abort also cancels what runs. */
function handleMessages(run: Omit<RolloutRun, 'carry'>): void {
  const { book, input: { plan } } = run;
  setHandler(statusQuery, () => book.status(), {
    description: 'Progress of the rollout: phase, counts per state, the batch in flight (every droplet when there are few); each droplet\'s steps are on its own workflow (query dropletStatus).',
  });
  setHandler(pauseSignal, () => {
    book.flags.paused = true;
    run.publish();
  }, { description: 'Stop before the next batch; the droplets in the current batch finish first. No input.' });
  setHandler(resumeSignal, () => {
    book.flags.paused = false;
    run.publish();
  }, { description: 'Continue a paused rollout with its next batch. No input.' });
  setHandler(abortSignal, (request) => {
    const f = book.flags;
    // An abort during a rollback stops it after the droplet in flight (runs before this change went on with it).
    if (book.phase === 'rolling-back' && book.carry && patched(PATCHES.abortStopsRollback)) book.carry.rollbackAborted = true;
    f.abortRequested = true;
    f.rollbackOnAbort = f.rollbackOnAbort || Boolean(request?.rollback);
    run.scope?.cancel(); // in-flight children compensate: their droplets are restored and re-attached
    run.publish();
  }, { description: 'Stop now: droplets in flight are restored and re-attached. Input {"rollback": true} also returns updated droplets to their previous release.' });
  setHandler(approveUpdate, () => {
    if (book.carry) book.carry.approved = true;
    run.publish();
    return `approved: ${plan.app} ${plan.env} continues with batch ${(book.carry?.nextBatch ?? 0) + 1} of ${book.batchCount()}`;
  }, {
    validator: () => {
      if (book.phase !== 'awaiting-approval') throw new Error(`the rollout of ${plan.app} to ${plan.env} is not waiting for approval (it is ${book.phase})`);
    },
    description: 'Let a canary rollout go on after its first batch. Accepted only while it is awaiting approval. No input.',
  });
}
