// deployDropletWorkflow: the per-droplet saga.
//   staged:   detach → drain (the record read meanwhile) → switch+start → health → attach → settle → verify
//   unstaged: record previous → detach → drain → upload → activate → start → health → attach → settle → verify
// Any failure (or cancellation by an abort) after the droplet was touched is compensated in a non-cancellable
// scope: switch back, restart, health-check the previous release, re-attach, settle. Nothing restarts while the
// load balancer can route to the droplet: once its attach completed it counts as deployed (an abort lets the
// settle finish and keeps the new release; a rollback detaches it first), and an attach that failed may still
// have reached the API, so the compensation detaches and drains first. A compensation that fails is reported
// (needs attention) and the droplet stays detached. The steps themselves are in steps.ts.
import { ApplicationFailure, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { DropletDeployInput, DropletReport, PreviousRelease } from '../../types';
import { releaseLabel, releaseName, releaseDir as stagedDirOf } from '../../rollout-plan';
import { messageOf } from '../../failure-details';
import { PATCHES } from '../patches';
import { DropletActions, StepRunner } from './steps';

/** What the saga has done so far: what the compensation must undo. */
interface Saga {
  previous: PreviousRelease | null;
  /** Set before the call: a detach whose answer was lost still gets re-attached. */
  detachRequested: boolean;
  /** From here the load balancer may route to it, even if the call failed. */
  attachRequested: boolean;
  changedRelease: boolean;
  releaseDir?: string;
  note?: string;
}

export async function deployDropletWorkflow(input: DropletDeployInput): Promise<DropletReport> {
  // A step's end is implied by the next step's start: one progress signal per step, not two, which halves
  // the signal rows in both timelines of the Web UI. Runs started before this change still signal both.
  const signalEachStepEnd = !patched(PATCHES.progressOnStepStartOnly);
  // Runs started before this change restored a droplet in service when an abort arrived during settle.
  const neverRestartInService = patched(PATCHES.neverRestartInService);
  // A droplet answers for itself (query `dropletStatus`, its own current details); runs started before this
  // change also reported every step to the rollout by signal, which grew the rollout's history with the fleet.
  const reportsToParent = !patched(PATCHES.childrenAnswerForThemselves);
  const steps = new StepRunner(input, { signalEachStepEnd, reportsToParent });
  const act = new DropletActions(input, reportsToParent);
  const saga: Saga = { previous: null, detachRequested: false, attachRequested: false, changedRelease: false };
  const name = input.droplet.name;

  try {
    if (input.staged === true) await forwardStaged(input, steps, act, saga);
    else await forwardUnstaged(input, steps, act, saga);
    // A release without a name (a `current` without a RELEASE file) cannot name itself: returning to it checks that
    // it answers, as a restore does. Runs started before staging checked for the name they were given.
    const unnamed = input.mode === 'rollback' && (input.release === 'unknown' || (input.restoreTo !== undefined && releaseName(input.restoreTo) === undefined));
    const gateRelease = input.staged === true && unnamed ? null : input.release;
    await steps.step('health', () => act.health(gateRelease));
    if (act.hasLoadBalancer) await inService(input, steps, act, saga, gateRelease, neverRestartInService);
  } catch (err) {
    const compensationError = await compensate(steps, act, saga, neverRestartInService);
    throw await failed(input, steps, saga, err, compensationError);
  }

  if (input.mode === 'deploy' && !saga.note && input.staged !== true) {
    // Housekeeping never fails a deploy that succeeded (and waits for the next rollout after an abort); a staged
    // rollout pruned while staging, off the critical path.
    try {
      await act.prune();
    } catch {
      // left for the next rollout
    }
  }
  const report: DropletReport = {
    droplet: name, mode: input.mode, outcome: input.mode === 'deploy' ? 'deployed' : 'rolled-back',
    release: input.release, previous: saga.previous, releaseDir: saga.releaseDir, steps: steps.records, note: saga.note,
  };
  // After an abort (settle shielded), the last word must still reach the rollout.
  const last = () => steps.notify({ step: 'settle', phase: 'finished' }, report);
  await (neverRestartInService ? CancellationScope.nonCancellable(last) : last());
  return report;
}

/** Staged: files and images are already there. Only the switch, the restart and the health gate are detached. */
async function forwardStaged(input: DropletDeployInput, steps: StepRunner, act: DropletActions, saga: Saga): Promise<void> {
  const record = () => steps.step('record-previous', () => act.record());
  if (act.hasLoadBalancer) {
    // The record is read during the drain, which is a pure wait: it costs no time. Both end before the saga goes on.
    saga.detachRequested = true;
    await steps.step('detach', () => act.detach());
    const [drained, recorded] = await Promise.allSettled([steps.step('drain', () => act.drain()), record()]);
    if (recorded.status === 'rejected') throw recorded.reason;
    if (drained.status === 'rejected') throw drained.reason;
    saga.previous = recorded.value;
  } else {
    saga.previous = await record();
  }
  steps.view.previous = saga.previous ? releaseLabel(saga.previous) : undefined;
  const dir = input.mode === 'deploy' ? stagedDirOf(input.remote, input.releaseId ?? '') : input.restoreTo?.releaseDir;
  saga.releaseDir = dir;
  if (!dir) throw ApplicationFailure.nonRetryable(`no recorded release to roll ${input.droplet.name} back to`, 'NothingToRollBackTo');
  saga.changedRelease = true;
  await steps.step('switch', () => act.switchTo(dir, input.release, input.mode === 'rollback', `switch ${input.droplet.name} to ${input.release}`));
}

/** Unstaged (runs started before staging): record, detach, drain, then upload (deploy) and the switch, then start (which pulls). */
async function forwardUnstaged(input: DropletDeployInput, steps: StepRunner, act: DropletActions, saga: Saga): Promise<void> {
  const name = input.droplet.name;
  saga.previous = await steps.step('record-previous', () => act.record());
  steps.view.previous = saga.previous ? releaseLabel(saga.previous) : undefined;
  if (act.hasLoadBalancer) {
    saga.detachRequested = true;
    await steps.step('detach', () => act.detach());
    await steps.step('drain', () => act.drain());
  }
  if (input.mode === 'deploy') {
    saga.releaseDir = await steps.step('upload', () => act.upload());
  } else {
    saga.releaseDir = input.restoreTo?.releaseDir;
    if (!saga.releaseDir) throw ApplicationFailure.nonRetryable(`no recorded release to roll ${name} back to`, 'NothingToRollBackTo');
  }
  const dir = saga.releaseDir;
  saga.changedRelease = true;
  await steps.step('activate', () => act.activate(dir, `switch ${name} to ${input.release}`));
  await steps.step('start', () => act.start(`start ${input.release} on ${name}`, input.mode === 'rollback'));
}

/** Back behind the load balancer: attach, settle until it counts the droplet healthy, one more look. */
async function inService(input: DropletDeployInput, steps: StepRunner, act: DropletActions, saga: Saga, gateRelease: string | null, neverRestartInService: boolean): Promise<void> {
  saga.attachRequested = true;
  await steps.step('attach', () => act.attach());
  if (!neverRestartInService) {
    await steps.step('settle', () => act.settle(gateRelease));
    return;
  }
  // In service on the new release: an abort now must not restart it. The settle runs to its end so the
  // load balancer counts it healthy before anything else changes; a rollback returns it via detach.
  await steps.step('settle', () => CancellationScope.nonCancellable(() => act.settle(gateRelease)));
  if (!CancellationScope.current().consideredCancelled && patched(PATCHES.verifyAfterSettle)) {
    // A release that dies after its gate (a container exiting during settle) must not be reported deployed,
    // nor leave the next batch to detach a healthy droplet: one more look, compensated like any failure.
    // Shielded like the settle: an abort that comes meanwhile keeps a droplet that still answers.
    await steps.step('verify', () => CancellationScope.nonCancellable(() => act.verify(gateRelease)));
  }
  if (CancellationScope.current().consideredCancelled) {
    saga.note = `the abort came after ${input.droplet.name} was back in the load balancer: kept on ${input.release} rather than restart it while serving`;
  }
}

/** Undo what the saga did, shielded from the abort that may have caused it. The compensation's own failure, if any. */
async function compensate(steps: StepRunner, act: DropletActions, saga: Saga, neverRestartInService: boolean): Promise<string | undefined> {
  const name = steps.view.droplet;
  let compensationError: string | undefined;
  await CancellationScope.nonCancellable(async () => {
    try {
      if (neverRestartInService && saga.attachRequested && act.hasLoadBalancer) {
        // The attach may have reached the API: out of the load balancer and drained before anything restarts.
        await steps.step('detach', () => act.detach(true));
        await steps.step('drain', () => act.drain());
      }
      if (saga.changedRelease) {
        if (!saga.previous) throw ApplicationFailure.nonRetryable(`${name} had no recorded release before this rollout; nothing to restore`, 'NothingToRestore');
        const back = saga.previous;
        await steps.step('restore', () => act.switchTo(back.releaseDir, releaseLabel(back), true, `switch ${name} back to ${releaseLabel(back)}`));
      }
      if (saga.changedRelease || (saga.detachRequested && act.hasLoadBalancer)) {
        // Never attach a droplet that fails its health check; without an LB, a failed restore must still be loud.
        const expected = releaseName(saga.previous) ?? null;
        await steps.step('restore-health', () => act.health(expected));
      }
      if (saga.detachRequested && act.hasLoadBalancer) {
        await steps.step('reattach', () => act.attach(true));
        await steps.step('settle', () => act.settle(releaseName(saga.previous) ?? null));
      }
    } catch (compErr) {
      compensationError = messageOf(compErr);
    }
  });
  return compensationError;
}

/** The failure the rollout receives, with the droplet's report in its details. */
async function failed(input: DropletDeployInput, steps: StepRunner, saga: Saga, err: unknown, compensationError: string | undefined): Promise<ApplicationFailure> {
  const name = input.droplet.name;
  const error = messageOf(err);
  const records = steps.records;
  const report: DropletReport = {
    droplet: name, mode: input.mode, outcome: compensationError ? 'needs-attention' : 'restored',
    release: input.release, previous: saga.previous, releaseDir: saga.releaseDir, steps: records, error, compensationError,
  };
  await CancellationScope.nonCancellable(() => steps.notify({ step: records[records.length - 1]?.step ?? 'record-previous', phase: 'failed', error }, report));
  const what = isCancellation(err) ? 'aborted' : 'failed';
  if (compensationError) {
    return ApplicationFailure.nonRetryable(
      `${name}: ${input.mode} ${what} (${error}) and restoring it failed (${compensationError}); ${name} is left DETACHED and needs attention`,
      'DropletNeedsAttention', report);
  }
  return ApplicationFailure.nonRetryable(`${name}: ${input.mode} ${what}: ${error}; restored ${saga.previous ? releaseLabel(saga.previous) : 'its previous state'}${input.loadBalancer ? ' and re-attached' : ''}`,
    isCancellation(err) ? 'DropletAborted' : 'DropletDeployFailed', report);
}
