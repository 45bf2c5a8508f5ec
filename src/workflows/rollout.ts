// rolloutWorkflow: one per app+environment (ID rollout-<app>-<env>, the deploy lock).
// plan (resolve + preflight) → batches of deployDropletWorkflow children → bake → failure policy.
// Bounded at any fleet size: the fleet is carried in compact form, droplets answer for their own steps
// (the rollout learns an outcome when a child completes), the status query is a summary plus the batch
// in flight, and the run continues as new between batches before its history grows large.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  executeChild,
  isCancellation,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeployActivities } from '../activities';
import type { DropletDeployInput, DropletReport, PreviousRelease, RolloutInput } from '../types';
import { decodeIndices, dropletAt, encodeIndices, groupByRelease, ungroup } from '../compact';
import { dropletWorkflowId, formatMs, makeReleaseId, releaseDir as releaseDirOf, settleDelayMs, stepRetry } from '../rollout-plan';
import type { ReleaseCommandResult } from '../activities/release';
import type { ReleaseCommandRecord } from '../rollout-status';
import { CONFIG_REFUSED, failureType, findDetail } from '../failure-details';
import { renderCurrentDetails } from '../status-text';
import { DeployApp, deploySearchAttributes } from '../search-attributes';
import { deployDropletWorkflow, messageOf } from './deploy-droplet';
import { legacyRollout } from './rollout-legacy';
import { PATCHES } from './patches';
import { DETAIL_LIMIT, capacityAllows as spareable, keepReport as keptAfter, outcome, wantsRollback } from './rollout/book';
import {
  abortSignal,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  statusQuery,
  type DropletState,
  type DropletStatus,
  type RolloutCarry,
  type RolloutResult,
  type RolloutStatus,
} from './messages';
import type { RolloutEvent } from '../activities/notify';

const { planRollout } = proxyActivities<DeployActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  // Rate limits and 5xx are retried (429 after the time the API asks for); refusals are not.
  retry: { maximumAttempts: 10, initialInterval: '2s', maximumInterval: '30s' },
});

/** Fleets up to this size show every droplet in the status and the result; larger ones a summary. */
export { DETAIL_LIMIT } from './rollout/book';
/** Droplets per staging activity: 10,000 droplets stage in 100 activities, not 10,000. */
const STAGE_GROUP = 100;
const STAGE_DEFAULTS = { timeoutMs: 15 * 60_000, maximumAttempts: 3 };

/** Continue as new once a run's history passes this many events (Temporal warns at 10,240). */
const HISTORY_BUDGET = 4000;
const HISTORY_BYTES_BUDGET = 4 * 1024 * 1024;

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  // Runs started before the rollout was bounded replay on the code they started with.
  if (!patched(PATCHES.boundedRollout)) return legacyRollout(input);
  return boundedRollout(input);
}

async function boundedRollout(input: RolloutInput): Promise<RolloutResult> {
  const { plan, release } = input;
  const rolloutId = workflowInfo().workflowId;
  const searchable = workflowInfo().typedSearchAttributes.get(DeployApp) !== undefined;
  let c: RolloutCarry | undefined = input.carry;
  let phase: RolloutStatus['phase'] = c?.phase ?? 'resolving';
  let message: string | undefined;
  let endedAt: number | undefined;
  let batchScope: CancellationScope | undefined;
  const pending = { paused: false, abortRequested: false, rollbackOnAbort: false }; // signals before the plan exists
  const inFlight = new Map<number, { state: 'deploying' | 'rolling-back'; since: number; release: string }>();
  const changedAt = new Map<number, number>(); // when a droplet reached its state in this run (display only)

  const flags = () => c ?? pending;

  // Notifications (when the environment names a webhook): fire and forget while the rollout goes on; the last
  // one gets a short, bounded wait so it leaves before the rollout closes. A failure is ignored.
  const notifying = plan.notify !== undefined && patched(PATCHES.notifications);
  const { sendNotification } = proxyActivities<DeployActivities>({
    startToCloseTimeout: '10s', scheduleToCloseTimeout: '30s', retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
  });
  const notify = (event: RolloutEvent, text?: string): Promise<void> => {
    if (!notifying || !plan.notify) return Promise.resolve();
    const s = status();
    return sendNotification({
      webhookUrlEnv: plan.notify.webhookUrlEnv, event, app: plan.app, env: plan.env, release, workflowId: rolloutId, message: text,
      droplets: s.counts as Record<string, number>, total: s.total, needsAttention: s.needsAttention,
    }).catch(() => undefined);
  };
  const batchSize = Math.max(1, plan.rollout.batchSize);
  const batchCount = () => (c ? Math.ceil(c.fleet.ids.length / batchSize) : 0);
  const batchOf = (i: number) => Math.floor(i / batchSize);

  // In-memory views of the carried sets (O(N) memory, never O(N) history).
  let deployed = new Map<number, PreviousRelease | null>();
  let ended = new Map<number, { state: DropletState; error?: string; note?: string }>();
  let rolledBack = new Set<number>();
  const load = (carry: RolloutCarry) => {
    deployed = ungroup(carry.deployed);
    ended = new Map(carry.ended.map((e) => [e.index, e]));
    rolledBack = new Set(decodeIndices(carry.rolledBack));
  };
  if (c) load(c);

  const stateOf = (i: number): DropletState => {
    const flying = inFlight.get(i);
    if (flying) return flying.state;
    if (rolledBack.has(i)) return 'rolled-back';
    const end = ended.get(i);
    if (end) return end.state;
    if (deployed.has(i)) return 'deployed';
    return c && (c.stopped || endedAt !== undefined) ? 'skipped' : 'pending';
  };
  const previousRelease = (() => {
    let cache: Map<number, PreviousRelease | null> | undefined;
    return (i: number) => (cache ??= ungroup(c?.previous ?? [])).get(i)?.release ?? null;
  })();

  /** `deploy rollback`: each droplet's target, read once from the plan (null: it already runs it). */
  const rollbackTargets = (() => {
    let cache: Map<number, PreviousRelease | null> | undefined;
    return () => (cache ??= ungroup(c?.targets ?? []));
  })();
  /** Where a rolled-back droplet was taken: its row shows that, not the release it ran before. */
  const rollbackTargetOf = (i: number) => (input.rollback ? rollbackTargets().get(i)?.release : undefined);

  function row(i: number): DropletStatus {
    const fleet = (c as RolloutCarry).fleet;
    const state = stateOf(i);
    const flying = inFlight.get(i);
    const end = ended.get(i);
    const target = flying?.release ?? (state === 'rolled-back' ? rollbackTargetOf(i) ?? previousRelease(i) ?? undefined : state === 'pending' || state === 'skipped' ? undefined : release);
    return {
      name: fleet.names[i], id: fleet.ids[i], batch: batchOf(i), state, previousRelease: previousRelease(i), release: target, steps: [],
      stepStartedAt: flying?.since ?? changedAt.get(i), error: end?.error, note: end?.note,
    };
  }

  function status(): RolloutStatus {
    const n = c?.fleet.ids.length ?? 0;
    const counts: Partial<Record<DropletState, number>> = {};
    const visible = new Set<number>();
    if (c) {
      if (n <= DETAIL_LIMIT) for (let i = 0; i < n; i++) visible.add(i);
      for (const i of inFlight.keys()) visible.add(i);
      for (const i of [...ended.keys()].slice(0, DETAIL_LIMIT)) visible.add(i);
      const touched = new Set([...deployed.keys(), ...ended.keys(), ...inFlight.keys()]);
      for (const i of touched) {
        const st = stateOf(i);
        counts[st] = (counts[st] ?? 0) + 1;
      }
      if (n > touched.size) counts[c.stopped || endedAt !== undefined ? 'skipped' : 'pending'] = n - touched.size;
    }
    const f = flags();
    return {
      app: plan.app, env: plan.env, release, phase, paused: f.paused, abortRequested: f.abortRequested,
      startedAt: c?.startedAt ?? workflowInfo().startTime.getTime(), endedAt,
      batches: c && n <= DETAIL_LIMIT ? Array.from({ length: batchCount() }, (_, b) => c!.fleet.names.slice(b * batchSize, (b + 1) * batchSize)) : [],
      batchCount: batchCount(), total: n, counts,
      currentBatch: c ? (inFlight.size ? batchOf(Math.min(...inFlight.keys())) : c.nextBatch - 1) : -1,
      settleDelayMs: c?.settleDelayMs ?? 0,
      droplets: [...visible].sort((a, b) => a - b).map(row),
      warnings: c?.warnings ?? [], message: message ?? c?.message, releaseCommand: c?.releaseCommand, needsAttention: c?.needsAttention ?? [], runs: (c?.runs ?? 0) + 1,
    };
  }
  /** The Web UI's "current details": the progress table an operator looks for first. */
  const publish = () => setCurrentDetails(renderCurrentDetails(status()));

  setHandler(statusQuery, status, { description: 'Progress of the rollout: phase, counts per state, the batch in flight (every droplet when there are few); each droplet\'s steps are on its own workflow (query dropletStatus).' });
  setHandler(pauseSignal, () => {
    flags().paused = true;
    publish();
  }, { description: 'Stop before the next batch; the droplets in the current batch finish first. No input.' });
  setHandler(resumeSignal, () => {
    flags().paused = false;
    publish();
  }, { description: 'Continue a paused rollout with its next batch. No input.' });
  setHandler(abortSignal, (request) => {
    const f = flags();
    // An abort during a rollback stops it after the droplet in flight (runs before this change went on with it).
    if (phase === 'rolling-back' && c && patched(PATCHES.abortStopsRollback)) c.rollbackAborted = true;
    f.abortRequested = true;
    f.rollbackOnAbort = f.rollbackOnAbort || Boolean(request?.rollback);
    batchScope?.cancel(); // in-flight children compensate: their droplets are restored and re-attached
    publish();
  }, { description: 'Stop now: droplets in flight are restored and re-attached. Input {"rollback": true} also returns updated droplets to their previous release.' });

  setHandler(approveUpdate, () => {
    if (c) c.approved = true;
    publish();
    return `approved: ${plan.app} ${plan.env} continues with batch ${(c?.nextBatch ?? 0) + 1} of ${batchCount()}`;
  }, {
    validator: () => {
      if (phase !== 'awaiting-approval') throw new Error(`the rollout of ${plan.app} to ${plan.env} is not waiting for approval (it is ${phase})`);
    },
    description: 'Let a canary rollout go on after its first batch. Accepted only while it is awaiting approval. No input.',
  });

  const finish = async (st: RolloutResult['status'], text: string, refused = false): Promise<RolloutResult> => {
    phase = st;
    message = text;
    endedAt = Date.now();
    if (c) c.stopped = true;
    publish();
    if (c?.needsAttention.length) await notify('needs-attention', text);
    await notify(st, text);
    const n = c?.fleet.ids.length ?? 0;
    const s = status();
    // Every droplet's report when the fleet is small; otherwise those that did not simply deploy (bounded by failures).
    const reports = [...(c?.reports ?? [])];
    const result: RolloutResult = {
      status: st, message: text, droplets: n <= DETAIL_LIMIT ? reports : reports.filter((r) => r.outcome !== 'deployed'), needsAttention: [...(c?.needsAttention ?? [])],
      counts: s.counts, total: n, ...(refused ? { refused } : {}),
    };
    if (st === 'succeeded') return result;
    const type = { failed: 'RolloutFailed', 'rolled-back': 'RolloutRolledBack', aborted: 'RolloutAborted' }[st];
    throw ApplicationFailure.nonRetryable(text, type, result);
  };

  // 1. Plan: resolve the fleet and refuse early, before anything on the fleet is touched.
  if (!c) {
    try {
      phase = 'preflight';
      const planned = await planRollout({ plan, batchSize, ...(input.rollback ? { rollback: input.rollback } : {}) });
      c = {
        startedAt: workflowInfo().startTime.getTime(), releaseId: makeReleaseId(release, workflowInfo().startTime), phase: 'deploying',
        fleet: planned.fleet, loadBalancer: planned.loadBalancer, settleDelayMs: settleDelayMs(plan.rollout, planned.loadBalancer),
        filesDigest: planned.filesDigest, warnings: planned.warnings, previous: planned.previous,
        nextBatch: 0, ...pending, deployed: [], ended: [], rolledBack: '', reports: [], needsAttention: [], failedThenResumed: [], runs: 0,
        // A rollback returns to kept release directories: nothing to stage, the switch is one round trip.
        ...(input.rollback ? { staged: true, targets: planned.targets ?? [] } : {}),
      };
    } catch (err) {
      return finish('failed', messageOf(err), true);
    }
    phase = 'deploying';
    publish();
    void notify('started', `${c.fleet.ids.length} droplet(s), ${batchSize} at a time`);
  }
  const carry = c;
  const fleet = carry.fleet;
  const lb = carry.loadBalancer;

  // Per droplet only while the table lists every droplet; a large fleet's details change per batch.
  const publishSmall = () => {
    if (fleet.ids.length <= DETAIL_LIMIT) publish();
  };

  const keepReport = (report: DropletReport) => {
    carry.reports = keptAfter(carry.reports, report, fleet.ids.length);
  };

  const childInput = (index: number, mode: DropletDeployInput['mode'], target: string, restoreTo?: PreviousRelease): DropletDeployInput => ({
    rolloutId, app: plan.app, env: plan.env, mode, droplet: dropletAt(fleet, index), loadBalancer: lb, release: target, releaseId: carry.releaseId,
    restoreTo, filesDigest: carry.filesDigest, apiUrl: plan.apiUrl, secrets: plan.secrets, drainDelayMs: plan.rollout.drainDelayMs,
    settleDelayMs: carry.settleDelayMs, remote: plan.remote, healthCheck: plan.healthCheck, steps: plan.rollout.steps,
    ...(carry.staged ? { staged: true } : {}),
  });

  /** Run one droplet's child workflow; its outcome is recorded, never thrown past here. */
  async function runChild(index: number, mode: DropletDeployInput['mode'], target: string, restoreTo?: PreviousRelease): Promise<boolean> {
    const name = fleet.names[index];
    inFlight.set(index, { state: mode === 'deploy' ? 'deploying' : 'rolling-back', since: Date.now(), release: target });
    publishSmall();
    try {
      const result = await executeChild(deployDropletWorkflow, {
        workflowId: dropletWorkflowId(rolloutId, name, mode),
        args: [childInput(index, mode, target, restoreTo)],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        // Children carry the rollout's search attributes (with their own release) when the rollout has them.
        typedSearchAttributes: searchable ? deploySearchAttributes(plan.app, plan.env, target) : undefined,
        staticSummary: `${mode} ${target} on ${name}`,
      });
      keepReport(result);
      if (mode === 'deploy') {
        deployed.set(index, result.previous);
        if (result.note) ended.set(index, { state: 'deployed', note: result.note });
      } else {
        rolledBack.add(index);
      }
      return true;
    } catch (err) {
      const report = findDetail<DropletReport>(err, (v) => 'outcome' in v);
      if (report) keepReport(report);
      // A child that ended without its report (terminated or reset from the Web UI) may have left its droplet
      // detached: unknown is "may be detached", needing attention and counted out of the min-attached guard.
      const unknown = !report && !isCancellation(err) && patched(PATCHES.unknownChildNeedsAttention);
      const state: DropletState = report?.outcome ?? (unknown ? 'needs-attention' : 'failed');
      ended.set(index, {
        state, error: unknown ? `${name}: its workflow ended without reporting how (${messageOf(err)}): it may be detached from the load balancer; check it` : messageOf(err),
      });
      if (state === 'needs-attention' && !carry.needsAttention.includes(name)) carry.needsAttention.push(name);
      return false;
    } finally {
      inFlight.delete(index);
      changedAt.set(index, Date.now());
      publishSmall();
    }
  }

  // `deploy rollback`: each droplet to its own target, through the rollback saga; one already there is left alone.
  const rollBackOne = async (i: number): Promise<boolean> => {
    const target = rollbackTargets().get(i) ?? null;
    if (!target) {
      ended.set(i, { state: 'skipped', note: `${fleet.names[i]} already runs the release to go back to` });
      return true;
    }
    return runChild(i, 'rollback', target.release, target);
  };

  /** The min-attached guard, re-checked before each batch against droplets left detached. */
  const capacityAllows = (size: number) =>
    spareable({ hasLoadBalancer: Boolean(lb), fleetSize: fleet.ids.length, needsAttention: carry.needsAttention.length, minAttached: plan.rollout.minAttached }, size);

  const save = () => {
    carry.deployed = groupByRelease(deployed);
    carry.ended = [...ended].map(([index, e]) => ({ index, ...e }));
    carry.rolledBack = encodeIndices(rolledBack);
    carry.phase = phase === 'rolling-back' ? 'rolling-back' : 'deploying';
    carry.message = message;
  };
  /** Between batches (or rollback steps): start a fresh run before this one's history grows large. */
  const continueIfLarge = async () => {
    const info = workflowInfo();
    if (!info.continueAsNewSuggested && info.historyLength < (input.historyBudget ?? HISTORY_BUDGET) && info.historySize < HISTORY_BYTES_BUDGET) return;
    save();
    carry.runs += 1;
    // The next run keeps the rollout findable by the same search attributes.
    const next = makeContinueAsNewFunc<typeof rolloutWorkflow>(searchable ? { typedSearchAttributes: deploySearchAttributes(plan.app, plan.env, release) } : {});
    await next({ ...input, carry });
  };

  // 2. Stage: every droplet gets the release's files and images before the first one leaves the load balancer, so a
  // release that cannot be staged (unknown tag, registry refusal, full disk, unreachable droplet) detaches nothing.
  // Runs started before this change (and their continued runs) deploy without staging.
  if (carry.staged === undefined && carry.nextBatch === 0 && !carry.abortRequested && patched(PATCHES.stageBeforeDetach)) {
    carry.staged = false;
    phase = 'staging';
    const concurrency = plan.rollout.stageConcurrency ?? 8;
    const stagePolicy = plan.rollout.steps.stage ?? STAGE_DEFAULTS;
    const { stageRelease } = proxyActivities<DeployActivities>({
      startToCloseTimeout: stagePolicy.timeoutMs,
      heartbeatTimeout: '30s',
      retry: stepRetry(stagePolicy.maximumAttempts),
    });
    const n = fleet.ids.length;
    const rcPlan = input.rollback ? undefined : plan.rollout.releaseCommand;
    const rcStaged = rcPlan ? { service: rcPlan.service, on: rcPlan.on && fleet.names.includes(rcPlan.on) ? rcPlan.on : fleet.names[0] } : undefined;
    message = `staging ${release} on ${n} droplet(s), ${Math.min(concurrency, n)} at a time: files and images, nothing detached yet`;
    publish();
    batchScope = new CancellationScope();
    try {
      await batchScope.run(async () => {
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
      batchScope = undefined;
      message = undefined;
    }
    if (!carry.failure && !carry.abortRequested) phase = 'deploying';
    publish();
  }

  // 3. The release command (migrations, say): once, on one droplet, from the staged release, before any detach.
  const rc = plan.rollout.releaseCommand;
  if (rc && !input.rollback && carry.staged && !carry.releaseCommand && !carry.failure && !carry.abortRequested) {
    const on = rc.on ? Math.max(0, fleet.names.indexOf(rc.on)) : 0; // preflight refused an unknown name
    const record: ReleaseCommandRecord = { droplet: fleet.names[on], command: rc.command, startedAt: Date.now() };
    carry.releaseCommand = record; // set before it runs: a later run never starts it a second time
    phase = 'release-command';
    publish();
    const { runReleaseCommand } = proxyActivities<DeployActivities>({
      startToCloseTimeout: rc.timeoutMs, heartbeatTimeout: '30s',
      // One attempt unless configured: a migration is not always idempotent.
      retry: { maximumAttempts: rc.attempts, initialInterval: '2s' },
    });
    batchScope = new CancellationScope();
    try {
      const r = await batchScope.run(() => runReleaseCommand({
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
    } finally {
      batchScope = undefined;
    }
    if (!carry.failure && !carry.abortRequested) phase = 'deploying';
    publish();
  }

  // 4. Batches.
  if (carry.phase === 'deploying' && !carry.failure) {
    for (; carry.nextBatch < batchCount(); ) {
      const b = carry.nextBatch;
      if (carry.paused) {
        phase = 'paused';
        publish();
        void notify('paused', message ?? c?.message);
      }
      await condition(() => !carry.paused || carry.abortRequested);
      if (carry.abortRequested) break;
      const indices = Array.from({ length: Math.min(batchSize, fleet.ids.length - b * batchSize) }, (_, k) => b * batchSize + k);
      if (!capacityAllows(indices.length)) {
        carry.failure = `stopped before batch ${b + 1}: ${carry.needsAttention.join(', ')} left detached, so another batch would drop below minAttached ${plan.rollout.minAttached}`;
        break;
      }
      phase = 'deploying';
      carry.nextBatch = b + 1;
      publish();
      batchScope = new CancellationScope();
      const scope = batchScope;
      const outcomes = await scope.run(() => Promise.all(indices.map((i) => (input.rollback ? rollBackOne(i) : runChild(i, 'deploy', release)))));
      batchScope = undefined;
      publish();
      if (carry.abortRequested) break;
      const failed = indices.filter((_, k) => !outcomes[k]);
      if (failed.length) {
        const why = failed.map((i) => ended.get(i)?.error ?? `${fleet.names[i]} failed`).join('; ');
        if (plan.rollout.onFailure === 'pause' && carry.needsAttention.length === 0) {
          carry.paused = true;
          phase = 'paused';
          message = `paused after a failure (${why}); resume to continue with the next batch, or abort`;
          carry.failedThenResumed.push(...failed.map((i) => fleet.names[i]));
          publish();
          await continueIfLarge();
          continue;
        }
        carry.failure = why;
        break;
      }
      if (plan.rollout.bakeMs > 0 && carry.nextBatch < batchCount()) {
        phase = 'baking';
        publish();
        // The loser of the race is cancelled, so no timer or condition is left pending.
        const bake = new CancellationScope();
        await bake.run(() => Promise.race([sleep(plan.rollout.bakeMs, { summary: `bake ${formatMs(plan.rollout.bakeMs)}` }), condition(() => carry.abortRequested)]));
        bake.cancel();
      }
      if (plan.rollout.approve === 'after-first-batch' && !input.rollback && b === 0 && !carry.approved && carry.nextBatch < batchCount()) {
        // Canary: the first batch serves the new release; an operator decides whether the rest follows.
        phase = 'awaiting-approval';
        message = `batch 1 is deployed and settled: approve with "npm run deploy -- approve ${plan.env}", or back out with "npm run deploy -- abort ${plan.env} --rollback"`;
        publish();
        void notify('awaiting-approval', message);
        const waitFor = () => carry.approved === true || carry.abortRequested;
        const timeout = plan.rollout.approveTimeoutMs;
        const inTime = timeout ? await condition(waitFor, timeout) : (await condition(waitFor), true);
        message = undefined;
        if (carry.abortRequested) break;
        if (!inTime) {
          const why = `batch 1 was not approved within ${formatMs(timeout ?? 0)}`;
          if (plan.rollout.onApproveTimeout === 'pause') {
            carry.paused = true;
            carry.approved = true; // resuming is the approval
            message = `${why}: paused; resume to continue, or abort --rollback to back out`;
          } else {
            carry.failure = why;
            carry.forceRollback = true;
            break;
          }
        }
        phase = 'deploying';
        publish();
      }
      await continueIfLarge();
    }
    carry.stopped = true;
  }

  // 5. Outcome, and the rollback it calls for.
  const wantRollback = wantsRollback({
    rollbackMode: Boolean(input.rollback), alreadyRollingBack: carry.phase === 'rolling-back', abortRequested: carry.abortRequested,
    rollbackOnAbort: carry.rollbackOnAbort, failure: carry.failure, onFailure: plan.rollout.onFailure, forceRollback: carry.forceRollback, updated: deployed.size,
  });
  if (wantRollback) {
    // Return updated droplets to the release recorded for each, newest first; a failed rollback is reported, never rolled back.
    phase = 'rolling-back';
    carry.phase = 'rolling-back';
    carry.rollbackFailures ??= 0;
    publish();
    const order = [...deployed.keys()].filter((i) => !rolledBack.has(i) && !ended.get(i)?.error?.startsWith('rollback:')).sort((a, b) => b - a);
    for (const i of order) {
      if (carry.rollbackAborted) break;
      const previous = deployed.get(i) ?? null;
      if (!previous) {
        ended.set(i, { state: 'deployed', error: 'rollback: no recorded previous release; left on the new release' });
        carry.rollbackFailures++;
      } else if (!capacityAllows(1)) {
        ended.set(i, { state: 'deployed', error: 'rollback: skipped, it would drop below minAttached' });
        carry.rollbackFailures++;
      } else if (!(await runChild(i, 'rollback', previous.release, previous))) {
        const e = ended.get(i);
        ended.set(i, { state: e?.state === 'needs-attention' ? 'needs-attention' : 'failed', error: `rollback: ${e?.error ?? 'failed'}` });
        carry.rollbackFailures++;
      }
      await continueIfLarge();
    }
  }
  const end = outcome({
    app: plan.app, env: plan.env, release, rollback: input.rollback, abortRequested: carry.abortRequested, rollbackOnAbort: carry.rollbackOnAbort,
    rollbackAborted: carry.rollbackAborted, failure: carry.failure, refused: carry.refused, failedThenResumed: carry.failedThenResumed,
    needsAttention: carry.needsAttention, releaseCommand: carry.releaseCommand, rolledBackForFailure: wantRollback,
    updated: deployed.size, rolledBack: rolledBack.size, rollbackFailures: carry.rollbackFailures ?? 0,
  });
  return finish(end.status, end.message, end.refused === true);
}
