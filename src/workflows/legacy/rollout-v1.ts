// The rollout as it ran before its history was bounded (every droplet signalled each step to it, and it held
// every droplet's report). Frozen: rollouts started before that change still replay and finish on this code;
// rolloutWorkflow (rollout/workflow.ts) sends only runs without the 'bounded-rollout' marker here. Do not edit
// its behaviour: it imports types, the message definitions and pure helpers only, so nothing else changes it.
//
// When it goes: once no rollout started before 2026-11-30 can be open or replayed (the longest rollout plus the
// namespace's retention, 30 days on the team stack: from 2027-01-15 on), in one change: this file, the
// `!patched(PATCHES.boundedRollout)` branch (first as deprecatePatch, one release earlier), and the histories
// it alone replays (test/histories rollout-*.json and droplet-*.json without "bounded" or "staged" in the name).
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeployActivities } from '../../activities';
import type { DropletDeployInput, DropletReport, DropletTarget, Fleet, PreviousRelease } from '../../types';
import type { PreflightReport, RolloutInput } from '../../rollout-status';
import { dropletWorkflowId, formatMs, makeReleaseId, planBatches, settleDelayMs } from '../../rollout-plan';
import { findDetail, messageOf } from '../../failure-details';
import { renderCurrentDetails } from '../../status-text';
import { DeployApp, deploySearchAttributes } from '../../search-attributes';
import type { deployDropletWorkflow } from '../droplet/workflow';
import {
  abortSignal,
  dropletProgressSignal,
  pauseSignal,
  resumeSignal,
  statusQuery,
  type DropletStatus,
  type RolloutResult,
  type RolloutStatus,
} from '../messages';

const { resolveFleet, preflight } = proxyActivities<DeployActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  // Rate limits and 5xx are retried (429 after the time the API asks for); refusals are not.
  retry: { maximumAttempts: 10, initialInterval: '2s', maximumInterval: '30s' },
});

export async function legacyRollout(input: RolloutInput): Promise<RolloutResult> {
  const { plan, release } = input;
  const rolloutId = workflowInfo().workflowId;
  const status: RolloutStatus = {
    app: plan.app, env: plan.env, release, phase: 'resolving', paused: false, abortRequested: false,
    startedAt: Date.now(), batches: [], currentBatch: -1, settleDelayMs: 0, droplets: [], warnings: [], needsAttention: [],
  };
  let rollbackOnAbort = false;
  let batchScope: CancellationScope | undefined;
  const reports = new Map<string, DropletReport>();

  /** The Web UI's "current details": the progress table an operator looks for first. */
  const publish = () => setCurrentDetails(renderCurrentDetails(status));

  // Descriptions are what the Web UI's "Send a Signal" dialog and Queries tab show next to each name.
  setHandler(statusQuery, () => status, { description: 'Progress of the rollout: phase, batches, each droplet\'s state and steps.' });
  setHandler(pauseSignal, () => {
    status.paused = true;
    publish();
  }, { description: 'Stop before the next batch; the droplets in the current batch finish first. No input.' });
  setHandler(resumeSignal, () => {
    status.paused = false;
    publish();
  }, { description: 'Continue a paused rollout with its next batch. No input.' });
  setHandler(abortSignal, (request) => {
    status.abortRequested = true;
    rollbackOnAbort = Boolean(request?.rollback);
    batchScope?.cancel(); // in-flight children compensate: their droplets are restored and re-attached
    publish();
  }, { description: 'Stop now: droplets in flight are restored and re-attached. Input {"rollback": true} also returns updated droplets to their previous release.' });
  setHandler(dropletProgressSignal, (p) => {
    const d = status.droplets.find((x) => x.name === p.droplet);
    if (!d) return;
    if (p.phase === 'started') {
      // The previous step ended when this one started (children signal a step's start, its failure, and their end).
      for (const open of d.steps) if (open.endedAt === undefined) Object.assign(open, { endedAt: p.at, ok: true });
      d.step = p.step;
      d.stepStartedAt = p.at;
      d.steps.push({ step: p.step, startedAt: p.at });
    } else if (!p.report) {
      const open = [...d.steps].reverse().find((s) => s.step === p.step && s.endedAt === undefined);
      if (open) Object.assign(open, { endedAt: p.at, ok: p.phase === 'finished', error: p.error });
    }
    if (p.report) {
      // The child's last word: its own records close whatever step is still open here.
      for (const open of d.steps.filter((x) => x.endedAt === undefined)) {
        const record = p.report.steps.find((r) => r.step === open.step && r.startedAt === open.startedAt);
        if (record?.endedAt !== undefined) Object.assign(open, { endedAt: record.endedAt, ok: record.ok, error: record.error });
      }
      reports.set(p.droplet, p.report);
      d.error = p.report.compensationError ?? p.report.error;
      d.note = p.report.note ?? d.note;
    }
    publish();
  }, { description: 'Internal: sent by each droplet\'s workflow as it moves through its steps. Not for operators.' });

  const end = (result: RolloutResult): RolloutResult => {
    status.phase = result.status;
    status.message = result.message;
    status.endedAt = Date.now();
    publish();
    if (result.status === 'succeeded') return result;
    const type = { failed: 'RolloutFailed', 'rolled-back': 'RolloutRolledBack', aborted: 'RolloutAborted' }[result.status];
    throw ApplicationFailure.nonRetryable(result.message, type, result);
  };
  const finish = (st: RolloutResult['status'], message: string) =>
    end({ status: st, message, droplets: [...reports.values()], needsAttention: [...status.needsAttention] });

  // 1. Resolve the fleet and refuse early: nothing on the fleet has been touched yet.
  let fleet: Fleet;
  let report: PreflightReport;
  try {
    fleet = await resolveFleet({ plan });
    status.phase = 'preflight';
    report = await preflight({ plan, fleet, batchSize: plan.rollout.batchSize });
  } catch (err) {
    return finish('failed', messageOf(err));
  }
  const lb = fleet.loadBalancer;
  const settleMs = settleDelayMs(plan.rollout, lb);
  const batches = planBatches(fleet.droplets, plan.rollout.batchSize);
  status.settleDelayMs = settleMs;
  status.warnings = report.warnings;
  status.batches = batches.map((b) => b.map((d) => d.name));
  status.droplets = batches.flatMap((batch, i) =>
    batch.map((d): DropletStatus => ({ name: d.name, id: d.id, batch: i, state: 'pending', previousRelease: report.current[d.name]?.release ?? null, steps: [] })));
  publish();
  const releaseId = makeReleaseId(release, workflowInfo().startTime);
  const searchable = workflowInfo().typedSearchAttributes.get(DeployApp) !== undefined;
  const byName = (name: string) => status.droplets.find((d) => d.name === name) as DropletStatus;
  const deployed: { droplet: DropletTarget; previous: PreviousRelease | null }[] = [];

  const childInput = (droplet: DropletTarget, mode: DropletDeployInput['mode'], target: string, restoreTo?: PreviousRelease): DropletDeployInput => ({
    rolloutId, app: plan.app, env: plan.env, mode, droplet, loadBalancer: lb, release: target, releaseId, restoreTo,
    filesDigest: report.filesDigest, apiUrl: plan.apiUrl, secrets: plan.secrets, drainDelayMs: plan.rollout.drainDelayMs,
    settleDelayMs: settleMs, remote: plan.remote, healthCheck: plan.healthCheck, steps: plan.rollout.steps,
  });

  /** Run one droplet's child workflow; its state is kept from the outcome, never thrown past here. */
  async function runChild(droplet: DropletTarget, mode: DropletDeployInput['mode'], target: string, restoreTo?: PreviousRelease): Promise<boolean> {
    const d = byName(droplet.name);
    d.state = mode === 'deploy' ? 'deploying' : 'rolling-back';
    d.release = target;
    try {
      const result = await executeChild<typeof deployDropletWorkflow>('deployDropletWorkflow', {
        workflowId: dropletWorkflowId(rolloutId, droplet.name, mode),
        args: [childInput(droplet, mode, target, restoreTo)],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        // Children carry the rollout's search attributes (with their own release) when the rollout has them.
        typedSearchAttributes: searchable ? deploySearchAttributes(plan.app, plan.env, target) : undefined,
        staticSummary: `${mode} ${target} on ${droplet.name}`,
      });
      reports.set(droplet.name, result);
      d.state = result.outcome;
      d.note = result.note ?? d.note;
      if (mode === 'deploy') deployed.push({ droplet, previous: result.previous });
      return true;
    } catch (err) {
      const childReport = reports.get(droplet.name) ?? findDetail<DropletReport>(err, (v) => 'outcome' in v);
      if (childReport) reports.set(droplet.name, childReport);
      d.error = messageOf(err);
      d.state = childReport?.outcome ?? 'failed';
      if (d.state === 'needs-attention' && !status.needsAttention.includes(droplet.name)) status.needsAttention.push(droplet.name);
      return false;
    } finally {
      d.step = undefined;
      publish();
    }
  }

  /** Return updated droplets to the release recorded for each, newest first. A failed rollback is reported, never rolled back. */
  async function rollBack(): Promise<number> {
    status.phase = 'rolling-back';
    let failures = 0;
    for (const { droplet, previous } of [...deployed].reverse()) {
      if (!previous) {
        byName(droplet.name).error = 'no recorded previous release; left on the new release';
        failures++;
        continue;
      }
      if (!capacityAllows(1)) {
        failures++;
        continue;
      }
      if (!(await runChild(droplet, 'rollback', previous.release ?? 'unknown', previous))) failures++; // as activities named it then
    }
    return failures;
  }

  /** The min-attached guard, re-checked before each batch against droplets left detached. */
  function capacityAllows(batchSize: number): boolean {
    if (!lb) return true;
    const attached = fleet.droplets.length - status.needsAttention.length;
    return attached - batchSize >= plan.rollout.minAttached;
  }

  // 2. Batches.
  let failure: string | undefined;
  const failedThenResumed: string[] = [];
  for (let i = 0; i < batches.length; i++) {
    if (status.paused) {
      status.phase = 'paused';
      publish();
    }
    await condition(() => !status.paused || status.abortRequested);
    if (status.abortRequested) break;
    if (!capacityAllows(batches[i].length)) {
      failure = `stopped before batch ${i + 1}: ${status.needsAttention.join(', ')} left detached, so another batch would drop below minAttached ${plan.rollout.minAttached}`;
      break;
    }
    status.phase = 'deploying';
    status.currentBatch = i;
    publish();
    batchScope = new CancellationScope();
    const scope = batchScope;
    const outcomes = await scope.run(() => Promise.all(batches[i].map((d) => runChild(d, 'deploy', release))));
    batchScope = undefined;
    if (status.abortRequested) break;
    const failed = batches[i].filter((_, j) => !outcomes[j]);
    if (failed.length) {
      const why = failed.map((d) => byName(d.name).error ?? `${d.name} failed`).join('; ');
      if (plan.rollout.onFailure === 'pause' && status.needsAttention.length === 0) {
        status.paused = true;
        status.phase = 'paused';
        status.message = `paused after a failure (${why}); resume to continue with the next batch, or abort`;
        failedThenResumed.push(...failed.map((d) => d.name));
        continue;
      }
      failure = why;
      break;
    }
    if (plan.rollout.bakeMs > 0 && i < batches.length - 1) {
      status.phase = 'baking';
      publish();
      await CancellationScope.cancellable(() =>
        Promise.race([sleep(plan.rollout.bakeMs, { summary: `bake ${formatMs(plan.rollout.bakeMs)}` }), condition(() => status.abortRequested)]));
    }
  }
  for (const d of status.droplets) if (d.state === 'pending') d.state = 'skipped';

  // 3. Outcome.
  const attention = () => (status.needsAttention.length ? ` NEEDS ATTENTION (detached): ${status.needsAttention.join(', ')}.` : '');
  if (status.abortRequested) {
    const failures = rollbackOnAbort ? await rollBack() : 0;
    const rolled = rollbackOnAbort ? ` ${deployed.length - failures} updated droplet(s) rolled back${failures ? `, ${failures} could not be` : ''}.` : '';
    return finish('aborted', `aborted by operator after ${deployed.length} droplet(s) were updated.${rolled}${attention()}`);
  }
  if (failure) {
    if (plan.rollout.onFailure === 'rollback' && deployed.length > 0) {
      const failures = await rollBack();
      if (failures === 0) return finish('rolled-back', `${failure}. Rolled back ${deployed.length} updated droplet(s) to their previous release.${attention()}`);
      return finish('failed', `${failure}. Rollback of ${failures} droplet(s) failed.${attention()}`);
    }
    return finish('failed', `${failure}.${deployed.length ? ` ${deployed.length} droplet(s) stay on ${release}.` : ''}${attention()}`);
  }
  if (failedThenResumed.length) {
    return finish('failed', `${deployed.length} droplet(s) now run ${release}; ${failedThenResumed.join(', ')} failed and kept their previous release`);
  }
  return finish('succeeded', `${plan.app} ${plan.env}: ${deployed.length} droplet(s) now run ${release}`);
}
