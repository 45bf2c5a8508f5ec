// The rollout's phases, one function each, in the order the script (workflow.ts) runs them: stage, the release
// command, the batches (each followed by its bake and, for a canary, the approval), the rollback. Each records
// what happened in the book and the carry; none decides how the rollout ends (book.ts outcome does).
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  executeChild,
  isCancellation,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeployActivities } from '../../activities';
import type { DropletDeployInput, DropletMode, DropletReport, PreviousRelease } from '../../types';
import type { ReleaseCommandRecord, ReleaseCommandResult, RolloutCarry, RolloutEvent, RolloutInput, RolloutResult } from '../../rollout-status';
import { dropletAt } from '../../compact';
import { RETRY, dropletWorkflowId, formatMs, releaseDir as releaseDirOf, releaseLabel } from '../../rollout-plan';
import { CONFIG_REFUSED, failureType, findDetail, messageOf } from '../../failure-details';
import { deploySearchAttributes } from '../../search-attributes';
import { deployDropletWorkflow } from '../droplet/workflow';
import { PATCHES } from '../patches';
import { DETAIL_LIMIT, type RolloutBook } from './book';

/** Droplets per staging activity: 10,000 droplets stage in 100 activities, not 10,000. */
const STAGE_GROUP = 100;
const STAGE_DEFAULTS = { timeoutMs: 15 * 60_000, maximumAttempts: 3 };

/** Continue as new once a run's history passes this many events (Temporal warns at 10,240). */
const HISTORY_BUDGET = 4000;
const HISTORY_BYTES_BUDGET = 4 * 1024 * 1024;

/** One run of the rollout, as the phases see it: its input, its book and carry, and how it reports. */
export interface RolloutRun {
  readonly input: RolloutInput;
  readonly book: RolloutBook;
  readonly carry: RolloutCarry;
  readonly rolloutId: string;
  /** The rollout carries search attributes (the namespace has them registered); its children and next run do too. */
  readonly searchable: boolean;
  /** What an abort cancels: staging, the release command or the batch in flight. */
  scope?: CancellationScope;
  publish(): void;
  notify(event: RolloutEvent, text?: string): Promise<void>;
}

/** Run `fn` where an abort can cancel it. */
async function abortable<T>(run: RolloutRun, fn: () => Promise<T>): Promise<T> {
  run.scope = new CancellationScope();
  try {
    return await run.scope.run(fn);
  } finally {
    run.scope = undefined;
  }
}

/** Per droplet only while the table lists every droplet; a large fleet's details change per batch. */
function publishSmall(run: RolloutRun): void {
  if (run.book.fleetSize <= DETAIL_LIMIT) run.publish();
}

function childInput(run: RolloutRun, index: number, mode: DropletMode, target: string, restoreTo: PreviousRelease | undefined, together: number): DropletDeployInput {
  const { input: { plan }, carry } = run;
  return {
    rolloutId: run.rolloutId, app: plan.app, env: plan.env, mode, droplet: dropletAt(carry.fleet, index), loadBalancer: carry.loadBalancer, release: target,
    releaseId: carry.releaseId, restoreTo, filesDigest: carry.filesDigest, apiUrl: plan.apiUrl, secrets: plan.secrets, drainDelayMs: plan.rollout.drainDelayMs,
    settleDelayMs: carry.settleDelayMs, remote: plan.remote, healthCheck: plan.healthCheck, steps: plan.rollout.steps,
    ...(carry.staged ? { staged: true } : {}),
    ...(together > 1 ? { together } : {}),
    // Watched through the LB: the droplets in rotation besides this one are the fleet less its batch and those left detached.
    ...(plan.observe ? { observe: { ...plan.observe, inRotation: Math.max(0, carry.fleet.ids.length - run.book.batchSize - carry.needsAttention.length) } } : {}),
  };
}

/** Run one droplet's child workflow; its outcome goes to the book, never thrown past here. */
async function runChild(run: RolloutRun, index: number, mode: DropletMode, target: string, restoreTo?: PreviousRelease, together = 1): Promise<boolean> {
  const { book, input: { plan } } = run;
  const name = run.carry.fleet.names[index];
  book.started(index, mode, target, Date.now());
  publishSmall(run);
  try {
    const result = await executeChild(deployDropletWorkflow, {
      workflowId: dropletWorkflowId(run.rolloutId, name, mode),
      args: [childInput(run, index, mode, target, restoreTo, together)],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      // Children carry the rollout's search attributes (with their own release) when the rollout has them.
      typedSearchAttributes: run.searchable ? deploySearchAttributes(plan.app, plan.env, target) : undefined,
      staticSummary: `${mode} ${target} on ${name}`,
    });
    book.succeeded(index, result);
    return true;
  } catch (err) {
    const report = findDetail<DropletReport>(err, (v) => 'outcome' in v);
    if (report) book.keepReport(report);
    // A child that ended without its report (terminated or reset from the Web UI) may have left its droplet
    // detached: unknown is "may be detached", needing attention and counted out of the min-attached guard.
    const unknown = !report && !isCancellation(err) && patched(PATCHES.unknownChildNeedsAttention);
    book.endedAs(index, {
      state: report?.outcome ?? (unknown ? 'needs-attention' : 'failed'),
      error: unknown ? `${name}: its workflow ended without reporting how (${messageOf(err)}): it may be detached from the load balancer; check it` : messageOf(err),
    });
    return false;
  } finally {
    book.left(index, Date.now());
    publishSmall(run);
  }
}

/** Between batches (or rollback steps): start a fresh run before this one's history grows large. */
async function continueIfLarge(run: RolloutRun): Promise<void> {
  const { input, carry, book } = run;
  const info = workflowInfo();
  if (!info.continueAsNewSuggested && info.historyLength < (input.historyBudget ?? HISTORY_BUDGET) && info.historySize < HISTORY_BYTES_BUDGET) return;
  book.save();
  carry.runs += 1;
  // The next run keeps the rollout findable by the same search attributes.
  const attributes = run.searchable ? { typedSearchAttributes: deploySearchAttributes(input.plan.app, input.plan.env, input.release) } : {};
  await makeContinueAsNewFunc<(input: RolloutInput) => Promise<RolloutResult>>(attributes)({ ...input, carry });
}

/**
 * Stage: every droplet gets the release's files and images before the first one leaves the load balancer, so a
 * release that cannot be staged (unknown tag, registry refusal, full disk, unreachable droplet) detaches nothing.
 * Runs started before this change (and their continued runs) deploy without staging.
 */
export async function stage(run: RolloutRun): Promise<void> {
  const { input: { plan, release, rollback }, book, carry } = run;
  if (!(carry.staged === undefined && carry.nextBatch === 0 && !carry.abortRequested && patched(PATCHES.stageBeforeDetach))) return;
  carry.staged = false;
  book.phase = 'staging';
  const concurrency = plan.rollout.stageConcurrency ?? 8;
  const stagePolicy = plan.rollout.steps.stage ?? STAGE_DEFAULTS;
  const { stageRelease } = proxyActivities<DeployActivities>({
    startToCloseTimeout: stagePolicy.timeoutMs,
    heartbeatTimeout: '30s',
    retry: RETRY.step(stagePolicy.maximumAttempts),
  });
  const { fleet } = carry;
  const n = fleet.ids.length;
  const rcPlan = rollback ? undefined : plan.rollout.releaseCommand;
  const rcStaged = rcPlan ? { service: rcPlan.service, on: rcPlan.on && fleet.names.includes(rcPlan.on) ? rcPlan.on : fleet.names[0] } : undefined;
  book.message = `staging ${release} on ${n} droplet(s), ${Math.min(concurrency, n)} at a time: files and images, nothing detached yet`;
  run.publish();
  try {
    await abortable(run, async () => {
      for (let from = 0; from < n; from += STAGE_GROUP) {
        const droplets = Array.from({ length: Math.min(STAGE_GROUP, n - from) }, (_, k) => dropletAt(fleet, from + k));
        await stageRelease({
          droplets, remote: plan.remote, secrets: plan.secrets, concurrency, release, releaseId: carry.releaseId, filesDigest: carry.filesDigest,
          ...(rcStaged ? { releaseCommand: rcStaged } : {}),
        });
      }
    });
    carry.staged = true;
  } catch (err) {
    if (!carry.abortRequested) carry.failure = `${messageOf(err)}; stopped before any droplet was detached`;
    if (failureType(err) === CONFIG_REFUSED) carry.refused = true; // a configuration error: exit 2, like preflight's
  } finally {
    book.message = undefined;
  }
  if (!carry.failure && !carry.abortRequested) book.phase = 'deploying';
  run.publish();
}

/** The release command (migrations, say): once, on one droplet, from the staged release, before any detach. */
export async function releaseCommand(run: RolloutRun): Promise<void> {
  const { input: { plan, rollback }, book, carry } = run;
  const rc = plan.rollout.releaseCommand;
  if (!rc || rollback || !carry.staged || carry.releaseCommand || carry.failure || carry.abortRequested) return;
  const { fleet } = carry;
  const on = rc.on ? Math.max(0, fleet.names.indexOf(rc.on)) : 0; // preflight refused an unknown name
  const record: ReleaseCommandRecord = { droplet: fleet.names[on], command: rc.command, startedAt: Date.now() };
  carry.releaseCommand = record; // set before it runs: a later run never starts it a second time
  book.phase = 'release-command';
  run.publish();
  const { runReleaseCommand } = proxyActivities<DeployActivities>({
    startToCloseTimeout: rc.timeoutMs, heartbeatTimeout: '30s',
    retry: RETRY.releaseCommand(rc.attempts),
  });
  try {
    const r = await abortable(run, () => runReleaseCommand({
      droplet: dropletAt(fleet, on), remote: plan.remote, secrets: plan.secrets, releaseDir: releaseDirOf(plan.remote, carry.releaseId), service: rc.service, command: rc.command,
    }));
    Object.assign(record, { endedAt: Date.now(), ok: true, exitCode: r.exitCode, output: r.output });
  } catch (err) {
    const detail = findDetail<ReleaseCommandResult>(err, (v) => 'output' in v);
    // Anything short of a completed exit code (a cut connection, a lost worker, an abort) means "may have run".
    const why = detail || failureType(err) === 'ReleaseCommandRefused' ? messageOf(err)
      : `the release command on ${record.droplet} did not report an exit code (${carry.abortRequested ? 'aborted' : messageOf(err)}): it may have run in part or in full; check before starting another rollout`;
    Object.assign(record, { endedAt: Date.now(), ok: false, exitCode: detail?.exitCode, output: detail?.output, error: why });
    if (!carry.abortRequested) carry.failure = `${why}; stopped before any droplet was detached`;
  }
  if (!carry.failure && !carry.abortRequested) book.phase = 'deploying';
  run.publish();
}

/** Before a batch: wait while paused. False when an abort came instead. */
async function untilResumed(run: RolloutRun): Promise<boolean> {
  const { book, carry } = run;
  if (carry.paused) {
    book.phase = 'paused';
    run.publish();
    void run.notify('paused', book.message ?? carry.message);
  }
  await condition(() => !carry.paused || carry.abortRequested);
  return !carry.abortRequested;
}

/** One batch, its droplets side by side. The indices of those that failed. */
async function batch(run: RolloutRun, indices: number[]): Promise<number[]> {
  const { input: { rollback, release }, book } = run;
  // `deploy rollback`: each droplet to its own target, through the rollback saga; one already there is left alone.
  const rollBackOne = async (i: number): Promise<boolean> => {
    const target = book.rollbackTarget(i);
    if (!target) {
      book.endedAs(i, { state: 'skipped', note: `${run.carry.fleet.names[i]} already runs the release to go back to` });
      return true;
    }
    return runChild(run, i, 'rollback', releaseLabel(target), target, indices.length);
  };
  const outcomes = await abortable(run, () => Promise.all(indices.map((i) => (rollback ? rollBackOne(i) : runChild(run, i, 'deploy', release, undefined, indices.length)))));
  return indices.filter((_, k) => !outcomes[k]);
}

/** After a batch that is not the last: let it serve for the bake time before the next one leaves. */
async function bake(run: RolloutRun): Promise<void> {
  const { input: { plan }, book, carry } = run;
  if (plan.rollout.bakeMs <= 0 || carry.nextBatch >= book.batchCount()) return;
  book.phase = 'baking';
  run.publish();
  // The loser of the race is cancelled, so no timer or condition is left pending.
  const scope = new CancellationScope();
  await scope.run(() => Promise.race([sleep(plan.rollout.bakeMs, { summary: `bake ${formatMs(plan.rollout.bakeMs)}` }), condition(() => carry.abortRequested)]));
  scope.cancel();
}

/** Canary: the first batch serves the new release; an operator decides whether the rest follows. False: stop here. */
async function approval(run: RolloutRun, b: number): Promise<boolean> {
  const { input: { plan, rollback }, book, carry } = run;
  if (plan.rollout.approve !== 'after-first-batch' || rollback || b !== 0 || carry.approved || carry.nextBatch >= book.batchCount()) return true;
  book.phase = 'awaiting-approval';
  book.message = `batch 1 is deployed and settled: approve with "npm run deploy -- approve ${plan.env}", or back out with "npm run deploy -- abort ${plan.env} --rollback"`;
  run.publish();
  void run.notify('awaiting-approval', book.message);
  const waitFor = () => carry.approved === true || carry.abortRequested;
  const timeout = plan.rollout.approveTimeoutMs;
  const inTime = timeout ? await condition(waitFor, timeout) : (await condition(waitFor), true);
  book.message = undefined;
  if (carry.abortRequested) return false;
  if (!inTime) {
    const why = `batch 1 was not approved within ${formatMs(timeout ?? 0)}`;
    if (plan.rollout.onApproveTimeout !== 'pause') {
      carry.failure = why;
      carry.forceRollback = true;
      return false;
    }
    carry.paused = true;
    carry.approved = true; // resuming is the approval
    book.message = `${why}: paused; resume to continue, or abort --rollback to back out`;
  }
  book.phase = 'deploying';
  run.publish();
  return true;
}

/** The batches, in order: pause, min-attached guard, the batch, what its failures call for, bake, approval. */
export async function batches(run: RolloutRun): Promise<void> {
  const { input: { plan }, book, carry } = run;
  if (carry.phase !== 'deploying' || carry.failure) return;
  while (carry.nextBatch < book.batchCount()) {
    const b = carry.nextBatch;
    if (!(await untilResumed(run))) break;
    const indices = book.batch(b);
    if (!book.capacityAllows(indices.length)) {
      carry.failure = `stopped before batch ${b + 1}: ${carry.needsAttention.join(', ')} left detached, so another batch would drop below minAttached ${plan.rollout.minAttached}`;
      break;
    }
    book.phase = 'deploying';
    carry.nextBatch = b + 1;
    run.publish();
    book.movedElsewhere = [];
    const failed = await batch(run, indices);
    run.publish();
    if (carry.abortRequested) break;
    if (plan.rollout.onMembershipChange === 'pause' && book.movedElsewhere.length && !failed.length && carry.nextBatch < book.batchCount()) {
      // Someone else is changing this LB: an operator looks before the next batch leaves it.
      carry.paused = true;
      book.phase = 'paused';
      book.message = `paused after batch ${b + 1}: ${book.movedElsewhere[0]}${book.movedElsewhere.length > 1 ? ` (and ${book.movedElsewhere.length - 1} more)` : ''}; check the load balancer, then resume or abort`;
      run.publish();
    }
    if (failed.length) {
      const why = failed.map((i) => book.errorOf(i) ?? `${carry.fleet.names[i]} failed`).join('; ');
      if (plan.rollout.onFailure !== 'pause' || carry.needsAttention.length > 0) {
        carry.failure = why;
        break;
      }
      carry.paused = true;
      book.phase = 'paused';
      book.message = `paused after a failure (${why}); resume to continue with the next batch, or abort`;
      carry.failedThenResumed.push(...failed.map((i) => carry.fleet.names[i]));
      run.publish();
      await continueIfLarge(run);
      continue;
    }
    await bake(run);
    if (!(await approval(run, b))) break;
    await continueIfLarge(run);
  }
  carry.stopped = true;
}

/** Return updated droplets to the release recorded for each, newest first; a failed rollback is reported, never rolled back. */
export async function rollBack(run: RolloutRun): Promise<void> {
  const { book, carry } = run;
  book.phase = 'rolling-back';
  carry.phase = 'rolling-back';
  carry.rollbackFailures ??= 0;
  run.publish();
  for (const i of book.rollbackOrder()) {
    if (carry.rollbackAborted) break;
    const previous = book.deployedFrom(i);
    if (!previous) {
      book.endedAs(i, { state: 'deployed', error: 'rollback: no recorded previous release; left on the new release' });
      carry.rollbackFailures++;
    } else if (!book.capacityAllows(1)) {
      book.endedAs(i, { state: 'deployed', error: 'rollback: skipped, it would drop below minAttached' });
      carry.rollbackFailures++;
    } else if (!(await runChild(run, i, 'rollback', releaseLabel(previous), previous))) {
      const e = book.errorOf(i);
      book.endedAs(i, { state: book.stateOf(i) === 'needs-attention' ? 'needs-attention' : 'failed', error: `rollback: ${e ?? 'failed'}` });
      carry.rollbackFailures++;
    }
    await continueIfLarge(run);
  }
}
