// The droplet saga's steps: the runner that times and reports each named step, and the actions the saga is made
// of (record, detach, drain, switch, health, attach, settle, verify), each an activity with the step's policy.
import {
  ActivityCancellationType,
  CancellationScope,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ActivityFunction } from '@temporalio/common';
import type { DeployActivities } from '../../activities';
import type { DropletDeployInput, DropletReport, PreviousRelease, StepName, StepPolicy, StepRecord } from '../../types';
import type { DropletProgress, DropletView, MembershipAnswer, Observation } from '../../rollout-status';
import { RETRY, formatMs, releaseLabel } from '../../rollout-plan';
import { messageOf } from '../../failure-details';
import { renderDropletDetails } from '../../status-text';
import { dropletProgressSignal, dropletStatusQuery } from '../messages';
import { PATCHES } from '../patches';

function activityOptions(policy: StepPolicy): ActivityOptions {
  return {
    // Per attempt; attempts × backoff is the step's whole budget (429s and a busy LB are retried).
    startToCloseTimeout: policy.timeoutMs,
    // Every step heartbeats every 2 s (withHeartbeat), the health poll too between probes: a worker lost while
    // the droplet is detached is noticed in 10 s, not at the step timeout (62 s measured for record-previous).
    heartbeatTimeout: '10s',
    retry: RETRY.step(policy.maximumAttempts),
  };
}

/** Behaviour that depends on when the droplet's run started (patches.ts). */
export interface DropletVersions {
  /** Runs before 'progress-on-step-start-only' signalled each step's end too. */
  signalEachStepEnd: boolean;
  /** Runs before 'children-answer-for-themselves' reported every step to the rollout by signal. */
  reportsToParent: boolean;
}

/** Names, times and reports each step: the droplet's own view (query dropletStatus, current details), and for old runs the rollout's. */
export class StepRunner {
  readonly records: StepRecord[] = [];
  readonly view: DropletView;
  private readonly parentId = workflowInfo().parent?.workflowId;

  constructor(private readonly input: DropletDeployInput, private readonly versions: DropletVersions) {
    this.view = { droplet: input.droplet.name, mode: input.mode, release: input.release, steps: this.records };
    setHandler(dropletStatusQuery, () => this.view, { description: 'This droplet\'s steps so far, with timestamps, and how it ended.' });
  }

  /** A step started, ended or failed; with a report, the droplet's last word. */
  async notify(progress: Omit<DropletProgress, 'droplet' | 'mode' | 'at'>, report?: DropletReport): Promise<void> {
    const view = this.view;
    if (!report) {
      // The record is read during the drain: the droplet's step is still the drain, the longer of the two.
      const concurrentRecord = progress.step === 'record-previous' && view.step === 'drain';
      view.step = progress.phase === 'started' && !concurrentRecord ? progress.step : view.step;
    } else {
      Object.assign(view, { step: undefined, outcome: report.outcome, error: report.compensationError ?? report.error, note: report.note, previous: report.previous ? releaseLabel(report.previous) : undefined });
    }
    if (!this.versions.reportsToParent) {
      setCurrentDetails(renderDropletDetails(view));
      return;
    }
    if (!this.parentId) return;
    try {
      await getExternalWorkflowHandle(this.parentId).signal(dropletProgressSignal, { droplet: view.droplet, mode: this.input.mode, at: Date.now(), ...progress, report });
    } catch {
      // the rollout may already be gone (terminated); progress is best effort, the saga is not
    }
  }

  /** Run one named step: timestamps for the status query, progress to the rollout. */
  async step<T>(stepName: StepName, fn: () => Promise<T>): Promise<T> {
    const record: StepRecord = { step: stepName, startedAt: Date.now() };
    this.records.push(record);
    await this.notify({ step: stepName, phase: 'started' });
    try {
      const result = await fn();
      Object.assign(record, { endedAt: Date.now(), ok: true });
      // A drain or settle watched through the LB says which way it ended.
      if (isObservation(result)) Object.assign(record, { how: result.observed ? 'observed' : 'maximum', detail: result.detail, requests: result.requests });
      const answer: unknown = result;
      if (isMembershipAnswer(answer)) Object.assign(record, answer.quota ? { quota: answer.quota } : {}, answer.changedElsewhere ? { changedElsewhere: answer.changedElsewhere } : {});
      if (this.versions.signalEachStepEnd) await CancellationScope.nonCancellable(() => this.notify({ step: stepName, phase: 'finished' }));
      return result;
    } catch (err) {
      const error = messageOf(err);
      Object.assign(record, { endedAt: Date.now(), ok: false, error });
      await CancellationScope.nonCancellable(() => this.notify({ step: stepName, phase: 'failed', error }));
      throw err;
    }
  }
}

const acts = proxyActivities<DeployActivities>({ startToCloseTimeout: '1m' });

/** An LB step's answer; a compensation's "already there" is its own earlier step's doing, not someone else's. Runs before answers existed got none. */
function ownAnswer(answer: MembershipAnswer | undefined | null, compensating: boolean): MembershipAnswer {
  if (!answer || typeof answer !== 'object') return {};
  return compensating ? { ...(answer.quota ? { quota: answer.quota } : {}) } : answer;
}

function isMembershipAnswer(value: unknown): value is MembershipAnswer {
  const v = value as MembershipAnswer | null | undefined;
  return typeof v === 'object' && v !== null && (typeof v.quota?.remaining === 'number' || typeof v.changedElsewhere === 'string');
}

function isObservation(value: unknown): value is Observation {
  return typeof value === 'object' && value !== null && typeof (value as Observation).observed === 'boolean' && typeof (value as Observation).requests === 'number';
}

/** One activity with a step's policy and a summary for the Web UI; a load-balancer call is waited for when cancelled. */
function call<F extends ActivityFunction>(fn: ActivityFunctionWithOptions<F>, policy: StepPolicy, summary: string, args: Parameters<F>, lbCall = false) {
  // A load-balancer call an abort cancels may still reach the API: the compensation waits until it has ended, so its
  // own re-read of the membership comes after it (runs started before this change did not wait).
  const waits = lbCall && patched(PATCHES.lbCallsFinishBeforeCompensation);
  return fn.executeWithOptions({ ...activityOptions(policy), summary, ...(waits ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}) }, args);
}

/** The actions a droplet's saga is made of, bound to its input: each one activity (or timer) with its step's policy. */
export class DropletActions {
  private readonly name: string;
  private readonly remoteInput: Parameters<DeployActivities['recordPreviousRelease']>[0];
  private readonly lbInput?: Parameters<DeployActivities['attachDroplet']>[0];

  constructor(private readonly input: DropletDeployInput, private readonly reportsToParent: boolean) {
    const { droplet, loadBalancer } = input;
    this.name = droplet.name;
    this.remoteInput = { droplet, remote: input.remote, secrets: input.secrets };
    this.lbInput = loadBalancer ? { access: { apiUrl: input.apiUrl, secrets: input.secrets }, loadBalancer, droplet, ...(input.together ? { together: input.together } : {}) } : undefined;
  }

  get hasLoadBalancer(): boolean {
    return this.lbInput !== undefined;
  }

  private get policy() {
    return this.input.steps;
  }

  record(): Promise<PreviousRelease | null> {
    return call(acts.recordPreviousRelease, this.policy.record, `record release of ${this.name}`, [this.remoteInput]);
  }

  /** `compensating`: an earlier step may have moved it already, so finding it there says nothing about anyone else. */
  detach(compensating = false): Promise<MembershipAnswer> {
    const lb = this.lbInput as NonNullable<DropletActions['lbInput']>;
    return call(acts.detachDroplet, this.policy.loadBalancer, `detach ${this.name} from lb ${lb.loadBalancer.name}`, [lb], true).then((a) => ownAnswer(a, compensating));
  }

  attach(again = false): Promise<MembershipAnswer> {
    const lb = this.lbInput as NonNullable<DropletActions['lbInput']>;
    return call(acts.attachDroplet, this.policy.loadBalancer, `${again ? 're-attach' : 'attach'} ${this.name} to lb ${lb.loadBalancer.name}`, [lb], true).then((a) => ownAnswer(a, again));
  }

  // A delay of 0 takes no timer (a timer costs a server round trip, about a second); runs started before this
  // change slept even for 0, and must replay that way.
  private wait(ms: number, summary: string): Promise<void> {
    return ms > 0 || this.reportsToParent ? sleep(ms, { summary }) : Promise.resolve();
  }

  /** Until the LB stops sending it requests: watched when the environment says how, else the drain delay. */
  drain(): Promise<Observation | void> {
    const o = this.input.observe;
    if (!o) return this.wait(this.input.drainDelayMs, `drain ${this.name} ${formatMs(this.input.drainDelayMs)}`);
    return this.observe('drained', undefined, o.maxDrainMs, `drain ${this.name}: until it stops answering through the LB (at most ${formatMs(o.maxDrainMs)})`);
  }

  /** Until the LB routes to it again (answering as `release`): watched when the environment says how, else the settle delay. */
  settle(release?: string | null): Promise<Observation | void> {
    const o = this.input.observe;
    if (!o) return this.wait(this.input.settleDelayMs, `settle ${this.name} ${formatMs(this.input.settleDelayMs)}`);
    return this.observe('settled', release ?? null, o.maxSettleMs,
      `settle ${this.name}: until it answers through the LB${release ? ` as ${release}` : ''} ${o.servings}× (at most ${formatMs(o.maxSettleMs)})`);
  }

  private observe(until: 'drained' | 'settled', release: string | null | undefined, maxMs: number, summary: string): Promise<Observation> {
    const o = this.input.observe as NonNullable<DropletDeployInput['observe']>;
    const { inRotation, ...spec } = o;
    // The activity ends itself at maxMs; its own timeout leaves room for the last request.
    return call(acts.observeLoadBalancer, { timeoutMs: maxMs + 15_000, maximumAttempts: 3 }, summary,
      [{ observe: spec, droplet: { name: this.name, address: this.input.droplet.address }, until, release, inRotation, maxMs }]);
  }

  upload(): Promise<string> {
    const { release, releaseId, filesDigest } = this.input;
    return call(acts.uploadRelease, this.policy.upload, `upload ${release} to ${this.name}`, [{ ...this.remoteInput, release, releaseId: releaseId ?? '', filesDigest }]);
  }

  /** Point `current` at a release directory (unstaged: the start that follows pulls). */
  activate(releaseDir: string, summary: string): Promise<void> {
    return call(acts.activateRelease, this.policy.record, summary, [{ ...this.remoteInput, releaseDir }]);
  }

  /** Start what `current` points at (restore: the previous release, whose images are already there). */
  start(summary: string, restore: boolean): Promise<void> {
    return call(acts.startRelease, this.policy.start, summary, [{ ...this.remoteInput, restore }]);
  }

  /** Point `current` at a release and start it: one round trip when staged, else switch, then start (which pulls). */
  async switchTo(releaseDir: string, release: string, restore: boolean, summary: string): Promise<void> {
    // A deploy's forward switch remembers what ran before (for `deploy rollback`); restores and rollbacks do not.
    if (this.input.staged === true) {
      return call(acts.switchRelease, this.policy.start, `${summary} and start it`, [{ ...this.remoteInput, releaseDir, ...(restore ? {} : { recordPrevious: true }) }]);
    }
    await this.activate(releaseDir, summary);
    await this.start(`${restore ? 'restart' : 'start'} ${release} on ${this.name}`, restore);
  }

  /** The health gate: `successes` good answers in a row, as the release (null: whatever it is, as long as it answers). */
  health(release: string | null): ReturnType<DeployActivities['pollHealth']> {
    const hc = this.input.healthCheck;
    return call(acts.pollHealth, this.policy.health, `health ${this.name} → ${release ?? 'previous release'} ${hc.successes}×`, [{ ...this.remoteInput, healthCheck: hc, release }]);
  }

  /** The droplet still answers as the release after the settle: one good answer, within a short deadline. */
  verify(release: string | null): ReturnType<DeployActivities['pollHealth']> {
    const hc = this.input.healthCheck;
    const deadlineMs = Math.max(2 * hc.requestTimeoutMs, hc.intervalMs * 2);
    return call(acts.pollHealth, this.policy.health, `verify ${this.name} still answers as ${release ?? 'its release'}`,
      [{ ...this.remoteInput, healthCheck: { ...hc, successes: 1, timeoutMs: deadlineMs }, release }]);
  }

  prune(): Promise<void> {
    return call(acts.pruneReleases, this.policy.record, `prune old releases on ${this.name}`, [this.remoteInput]);
  }
}
