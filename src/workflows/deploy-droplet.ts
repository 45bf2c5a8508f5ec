// deployDropletWorkflow: the per-droplet saga.
//   record previous → detach → drain → upload → activate → start → health → attach → settle
// Any failure (or cancellation by an abort) after the droplet was touched is compensated in a
// non-cancellable scope: switch back, restart, health-check the previous release, re-attach, settle.
// Nothing restarts while the load balancer can route to the droplet: once its attach completed it counts
// as deployed (an abort lets the settle finish and keeps the new release; a rollback detaches it first),
// and an attach that failed may still have reached the API, so the compensation detaches and drains first.
// A compensation that fails is reported (needs attention) and the droplet stays detached.
// A staged release (files and images already on the droplet, see the rollout) keeps only the switch, the restart
// and the health gate inside the detached window: the record is read during the drain, switch+start is one round trip.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { DeployActivities } from '../activities';
import type { DropletDeployInput, DropletReport, PreviousRelease, StepName, StepPolicy, StepRecord } from '../types';
import { formatMs, releaseDir as stagedDirOf, stepRetry } from '../rollout-plan';
import { dropletProgressSignal, dropletStatusQuery, type DropletProgress, type DropletView } from './messages';
import { renderDropletDetails } from '../status-text';
import { PATCHES } from './patches';


function activityOptions(policy: StepPolicy): ActivityOptions {
  return {
    // Per attempt; attempts × backoff is the step's whole budget (429s and a busy LB are retried).
    startToCloseTimeout: policy.timeoutMs,
    // Every step heartbeats every 2 s (withHeartbeat), the health poll too between probes: a worker lost while
    // the droplet is detached is noticed in 10 s, not at the step timeout (62 s measured for record-previous).
    heartbeatTimeout: '10s',
    retry: stepRetry(policy.maximumAttempts),
  };
}

export async function deployDropletWorkflow(input: DropletDeployInput): Promise<DropletReport> {
  const { droplet, loadBalancer: lb, remote, steps: policy } = input;
  const name = droplet.name;
  const acts = proxyActivities<DeployActivities>({ startToCloseTimeout: '1m' });
  const remoteInput = { droplet, remote, secrets: input.secrets };
  const lbInput = lb ? { access: { apiUrl: input.apiUrl, secrets: input.secrets }, loadBalancer: lb, droplet } : undefined;
  const records: StepRecord[] = [];
  const parentId = workflowInfo().parent?.workflowId;
  // A step's end is implied by the next step's start: one progress signal per step, not two, which halves
  // the signal rows in both timelines of the Web UI. Runs started before this change still signal both.
  const signalEachStepEnd = !patched(PATCHES.progressOnStepStartOnly);
  // Runs started before this change restored a droplet in service when an abort arrived during settle.
  const neverRestartInService = patched(PATCHES.neverRestartInService);
  // A droplet answers for itself (query `dropletStatus`, its own current details); runs started before this
  // change also reported every step to the rollout by signal, which grew the rollout's history with the fleet.
  const reportsToParent = !patched(PATCHES.childrenAnswerForThemselves);
  const view: DropletView = { droplet: name, mode: input.mode, release: input.release, steps: records };
  setHandler(dropletStatusQuery, () => view, { description: 'This droplet\'s steps so far, with timestamps, and how it ended.' });
  const publish = () => setCurrentDetails(renderDropletDetails(view));

  async function notify(progress: Omit<DropletProgress, 'droplet' | 'mode' | 'at'>, report?: DropletReport): Promise<void> {
    if (!report) {
      // The record is read during the drain: the droplet's step is still the drain, the longer of the two.
      const concurrentRecord = progress.step === 'record-previous' && view.step === 'drain';
      view.step = progress.phase === 'started' && !concurrentRecord ? progress.step : view.step;
    } else {
      Object.assign(view, { step: undefined, outcome: report.outcome, error: report.compensationError ?? report.error, note: report.note, previous: report.previous?.release });
    }
    if (!reportsToParent) {
      publish();
      return;
    }
    if (!parentId) return;
    try {
      await getExternalWorkflowHandle(parentId).signal(dropletProgressSignal, { droplet: name, mode: input.mode, at: Date.now(), ...progress, report });
    } catch {
      // the rollout may already be gone (terminated); progress is best effort, the saga is not
    }
  }

  /** Run one named step: timestamps for the status query, progress to the rollout. */
  async function step<T>(stepName: StepName, fn: () => Promise<T>): Promise<T> {
    const record: StepRecord = { step: stepName, startedAt: Date.now() };
    records.push(record);
    await notify({ step: stepName, phase: 'started' });
    try {
      const result = await fn();
      Object.assign(record, { endedAt: Date.now(), ok: true });
      if (signalEachStepEnd) await CancellationScope.nonCancellable(() => notify({ step: stepName, phase: 'finished' }));
      return result;
    } catch (err) {
      const error = messageOf(err);
      Object.assign(record, { endedAt: Date.now(), ok: false, error });
      await CancellationScope.nonCancellable(() => notify({ step: stepName, phase: 'failed', error }));
      throw err;
    }
  }

  // A load-balancer call an abort cancels may still reach the API: the compensation waits until it has ended, so its
  // own re-read of the membership comes after it (runs started before this change did not wait).
  const waitsForLbCalls = (key: keyof DeployActivities) =>
    (key === 'attachDroplet' || key === 'detachDroplet') && patched(PATCHES.lbCallsFinishBeforeCompensation);
  const call = <K extends keyof DeployActivities>(key: K, stepPolicy: StepPolicy, summary: string, ...args: Parameters<DeployActivities[K]>) =>
    (acts[key] as unknown as { executeWithOptions(o: ActivityOptions, a: unknown[]): Promise<Awaited<ReturnType<DeployActivities[K]>>> })
      .executeWithOptions({
        ...activityOptions(stepPolicy), summary,
        ...(waitsForLbCalls(key) ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
      }, args);

  /** The droplet still answers as the release after the settle: one good answer, within a short deadline. */
  const verify = (release: string | null) => {
    const hc = input.healthCheck;
    const deadlineMs = Math.max(2 * hc.requestTimeoutMs, hc.intervalMs * 2);
    return call('pollHealth', policy.health, `verify ${name} still answers as ${release ?? 'its release'}`,
      { ...remoteInput, healthCheck: { ...hc, successes: 1, timeoutMs: deadlineMs }, release });
  };
  const health = (release: string | null) =>
    call('pollHealth', policy.health, `health ${name} → ${release ?? 'previous release'} ${input.healthCheck.successes}×`,
      { ...remoteInput, healthCheck: input.healthCheck, release });
  // A delay of 0 takes no timer (a timer costs a server round trip, about a second); runs started before this
  // change slept even for 0, and must replay that way.
  const wait = (ms: number, summary: string) => (ms > 0 || reportsToParent ? sleep(ms, { summary }) : Promise.resolve());
  const settle = () => wait(input.settleDelayMs, `settle ${name} ${formatMs(input.settleDelayMs)}`);

  const staged = input.staged === true;
  /** Point `current` at a release and start it: one round trip when staged, else switch, then start (which pulls). */
  const switchTo = async (dir: string, release: string, restore: boolean, summary: string) => {
    // A deploy's forward switch remembers what ran before (for `deploy rollback`); restores and rollbacks do not.
    if (staged) return call('switchRelease', policy.start, `${summary} and start it`, { ...remoteInput, releaseDir: dir, ...(restore ? {} : { recordPrevious: true }) });
    await call('activateRelease', policy.record, summary, { ...remoteInput, releaseDir: dir });
    await call('startRelease', policy.start, restore ? `restart ${release} on ${name}` : `start ${release} on ${name}`, { ...remoteInput, restore });
  };
  const detach = () => call('detachDroplet', policy.loadBalancer, `detach ${name} from lb ${lbInput?.loadBalancer.name}`, lbInput as NonNullable<typeof lbInput>);
  const drain = () => wait(input.drainDelayMs, `drain ${name} ${formatMs(input.drainDelayMs)}`);

  let previous: PreviousRelease | null = null;
  let detachRequested = false;
  let attachRequested = false;
  let changedRelease = false;
  let releaseDir: string | undefined;
  let note: string | undefined;
  const record = () => step('record-previous', () => call('recordPreviousRelease', policy.record, `record release of ${name}`, remoteInput));
  try {
    if (staged && lbInput) {
      // The record is read during the drain, which is a pure wait: it costs no time. Both end before the saga goes on.
      detachRequested = true; // set before the call: a detach whose answer was lost still gets re-attached
      await step('detach', detach);
      const [drained, recorded] = await Promise.allSettled([step('drain', drain), record()]);
      if (recorded.status === 'rejected') throw recorded.reason;
      if (drained.status === 'rejected') throw drained.reason;
      previous = recorded.value;
      view.previous = previous?.release;
    } else {
      previous = await record();
      view.previous = previous?.release;
      if (lbInput) {
        detachRequested = true;
        await step('detach', detach);
        await step('drain', drain);
      }
    }
    if (staged) {
      releaseDir = input.mode === 'deploy' ? stagedDirOf(input.remote, input.releaseId ?? '') : input.restoreTo?.releaseDir;
      if (!releaseDir) throw ApplicationFailure.nonRetryable(`no recorded release to roll ${name} back to`, 'NothingToRollBackTo');
      const targetDir = releaseDir;
      changedRelease = true;
      await step('switch', () => switchTo(targetDir, input.release, input.mode === 'rollback', `switch ${name} to ${input.release}`));
    } else if (input.mode === 'deploy') {
      const releaseId = input.releaseId ?? '';
      releaseDir = await step('upload', () =>
        call('uploadRelease', policy.upload, `upload ${input.release} to ${name}`, { ...remoteInput, release: input.release, releaseId, filesDigest: input.filesDigest }));
    } else {
      releaseDir = input.restoreTo?.releaseDir;
      if (!releaseDir) throw ApplicationFailure.nonRetryable(`no recorded release to roll ${name} back to`, 'NothingToRollBackTo');
    }
    if (!staged) {
      const targetDir = releaseDir as string;
      changedRelease = true;
      await step('activate', () => call('activateRelease', policy.record, `switch ${name} to ${input.release}`, { ...remoteInput, releaseDir: targetDir }));
      await step('start', () => call('startRelease', policy.start, `start ${input.release} on ${name}`, { ...remoteInput, restore: input.mode === 'rollback' }));
    }
    // A release recorded as "unknown" (a `current` without a RELEASE file) cannot name itself: returning to it
    // checks that it answers, as a restore does. Runs started before staging checked for the literal name.
    const gateRelease = staged && input.mode === 'rollback' && input.release === 'unknown' ? null : input.release;
    await step('health', () => health(gateRelease));
    if (lbInput) {
      attachRequested = true; // from here the load balancer may route to it, even if the call fails
      await step('attach', () => call('attachDroplet', policy.loadBalancer, `attach ${name} to lb ${lbInput.loadBalancer.name}`, lbInput));
      if (neverRestartInService) {
        // In service on the new release: an abort now must not restart it. The settle runs to its end so the
        // load balancer counts it healthy before anything else changes; a rollback returns it via detach.
        await step('settle', () => CancellationScope.nonCancellable(settle));
        if (!CancellationScope.current().consideredCancelled && patched(PATCHES.verifyAfterSettle)) {
          // A release that dies after its gate (a container exiting during settle) must not be reported deployed,
          // nor leave the next batch to detach a healthy droplet: one more look, compensated like any failure.
          // Shielded like the settle: an abort that comes meanwhile keeps a droplet that still answers.
          await step('verify', () => CancellationScope.nonCancellable(() => verify(gateRelease)));
        }
        if (CancellationScope.current().consideredCancelled) {
          note = `the abort came after ${name} was back in the load balancer: kept on ${input.release} rather than restart it while serving`;
        }
      } else {
        await step('settle', settle);
      }
    }
  } catch (err) {
    const error = messageOf(err);
    let compensationError: string | undefined;
    await CancellationScope.nonCancellable(async () => {
      try {
        if (neverRestartInService && attachRequested && lbInput) {
          // The attach may have reached the API: out of the load balancer and drained before anything restarts.
          await step('detach', detach);
          await step('drain', drain);
        }
        if (changedRelease) {
          if (!previous) throw ApplicationFailure.nonRetryable(`${name} had no recorded release before this rollout; nothing to restore`, 'NothingToRestore');
          const back = previous;
          await step('restore', () => switchTo(back.releaseDir, back.release, true, `switch ${name} back to ${back.release}`));
        }
        if (changedRelease || (detachRequested && lbInput)) {
          // Never attach a droplet that fails its health check; without an LB, a failed restore must still be loud.
          const expected = previous && previous.release !== 'unknown' ? previous.release : null;
          await step('restore-health', () => health(expected));
        }
        if (detachRequested && lbInput) {
          await step('reattach', () => call('attachDroplet', policy.loadBalancer, `re-attach ${name} to lb ${lbInput.loadBalancer.name}`, lbInput));
          await step('settle', settle);
        }
      } catch (compErr) {
        compensationError = messageOf(compErr);
      }
    });
    const report: DropletReport = {
      droplet: name, mode: input.mode, outcome: compensationError ? 'needs-attention' : 'restored',
      release: input.release, previous, releaseDir, steps: records, error, compensationError,
    };
    await CancellationScope.nonCancellable(() => notify({ step: records[records.length - 1]?.step ?? 'record-previous', phase: 'failed', error }, report));
    const cancelled = isCancellation(err);
    const what = cancelled ? 'aborted' : 'failed';
    if (compensationError) {
      throw ApplicationFailure.nonRetryable(
        `${name}: ${input.mode} ${what} (${error}) and restoring it failed (${compensationError}); ${name} is left DETACHED and needs attention`,
        'DropletNeedsAttention', report);
    }
    throw ApplicationFailure.nonRetryable(`${name}: ${input.mode} ${what}: ${error}; restored ${previous?.release ?? 'its previous state'}${lb ? ' and re-attached' : ''}`,
      cancelled ? 'DropletAborted' : 'DropletDeployFailed', report);
  }

  if (input.mode === 'deploy' && !note && !staged) {
    // Housekeeping never fails a deploy that succeeded (and waits for the next rollout after an abort); a staged
    // rollout pruned while staging, off the critical path.
    try {
      await call('pruneReleases', policy.record, `prune old releases on ${name}`, remoteInput);
    } catch {
      // left for the next rollout
    }
  }
  const report: DropletReport = {
    droplet: name, mode: input.mode, outcome: input.mode === 'deploy' ? 'deployed' : 'rolled-back',
    release: input.release, previous, releaseDir, steps: records, note,
  };
  // After an abort (settle shielded), the last word must still reach the rollout.
  await (neverRestartInService ? CancellationScope.nonCancellable(() => notify({ step: 'settle', phase: 'finished' }, report)) : notify({ step: 'settle', phase: 'finished' }, report));
  return report;
}

const WRAPPER = /^(Activity task failed|Child Workflow execution failed|Workflow execution failed)/;

/** The most useful line of a failure: activity and child failures wrap the real cause. */
export function messageOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && e.cause && WRAPPER.test(e.message ?? '')) e = e.cause as typeof e;
  if (e && typeof e === 'object' && 'message' in e && e.message) return e.message;
  return String(err);
}
