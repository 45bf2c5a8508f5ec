// The rollout's status, result and carried state: plain types shared by the workflows, the CLI and the
// Web UI's text. No Temporal imports, so the CLI and pure modules depend on it without depending on workflows/.
import type { DropletOutcome, DropletReport, EnvironmentPlan, LoadBalancerInfo, ObserveSpec, PreviousRelease, QuotaReading, StepName, StepRecord } from './types';
import type { CompactFleet, ReleaseGroup } from './compact';

/** The rollout workflow's input: what to deploy where, and where a continued run left off. */
export interface RolloutInput {
  plan: EnvironmentPlan;
  release: string;
  /** Set when the rollout continues as new: where the previous run left off (RolloutCarry below). */
  carry?: RolloutCarry;
  /** `deploy rollback`: return droplets to what they ran before the last deploy (or to the newest kept `to`). */
  rollback?: { to?: string };
  /** History events after which a run continues as new, checked between batches (default 4000; tests lower it). */
  historyBudget?: number;
}

export interface AbortRequest {
  /** Also return already-updated droplets to the release they had before. */
  rollback?: boolean;
}

/** Sent by each droplet's child workflow to the rollout as it moves through its steps. */
export interface DropletProgress {
  droplet: string;
  mode: 'deploy' | 'rollback';
  step: StepName;
  at: number;
  phase: 'started' | 'finished' | 'failed';
  error?: string;
  /** Present on the child's last message: how it ended. */
  report?: DropletReport;
}

export type DropletState = 'pending' | 'deploying' | 'rolling-back' | 'skipped' | DropletOutcome | 'failed';

export interface DropletStatus {
  name: string;
  id: number;
  batch: number;
  state: DropletState;
  step?: StepName;
  stepStartedAt?: number;
  previousRelease?: string | null;
  release?: string;
  steps: StepRecord[];
  error?: string;
  /** Why it ended as it did when that is not obvious (see DropletReport.note). */
  note?: string;
}

export type RolloutPhase =
  | 'resolving'
  | 'preflight'
  | 'staging'
  | 'release-command'
  | 'deploying'
  | 'baking'
  | 'paused'
  | 'awaiting-approval'
  | 'rolling-back'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'aborted';

export interface RolloutStatus {
  /** The release command, when the environment has one. */
  releaseCommand?: ReleaseCommandRecord;
  app: string;
  env: string;
  release: string;
  phase: RolloutPhase;
  paused: boolean;
  abortRequested: boolean;
  startedAt: number;
  endedAt?: number;
  /** Droplet names per batch when the fleet is small (DETAIL_LIMIT); empty for a large fleet. */
  batches: string[][];
  batchCount?: number;
  /** Droplets in the rollout, and how many are in each state. */
  total?: number;
  counts?: Partial<Record<DropletState, number>>;
  currentBatch: number;
  settleDelayMs: number;
  droplets: DropletStatus[];
  warnings: string[];
  message?: string;
  needsAttention: string[];
  /** Runs of the rollout so far (it continues as new between batches of a large fleet). */
  runs?: number;
  /** The token's quota as the API last answered the rollout (planning, then each LB change). */
  apiQuota?: QuotaReading;
}

/** What one droplet's workflow answers about itself (query `dropletStatus` on `<rollout id>/<droplet>`). */
export interface DropletView {
  droplet: string;
  mode: 'deploy' | 'rollback';
  release: string;
  previous?: string;
  /** The step in progress; undefined once the droplet's workflow has ended. */
  step?: StepName;
  steps: StepRecord[];
  outcome?: DropletOutcome;
  error?: string;
  note?: string;
}

export interface RolloutResult {
  status: 'succeeded' | 'failed' | 'rolled-back' | 'aborted';
  message: string;
  /** Every droplet's report for a small fleet; for a large one, those that did not simply deploy. */
  droplets: DropletReport[];
  needsAttention: string[];
  counts?: Partial<Record<DropletState, number>>;
  total?: number;
  /** Preflight refused it: nothing on the fleet was touched (the CLI exits 2, as for a configuration error). */
  refused?: boolean;
}

/** What a rollout carries into its next run (continue-as-new): compact, whatever the fleet size. */
export interface RolloutCarry {
  startedAt: number;
  releaseId: string;
  phase: 'deploying' | 'rolling-back';
  fleet: CompactFleet;
  loadBalancer?: LoadBalancerInfo;
  settleDelayMs: number;
  filesDigest: string;
  warnings: string[];
  previous: ReleaseGroup[];
  nextBatch: number;
  paused: boolean;
  abortRequested: boolean;
  rollbackOnAbort: boolean;
  /** Droplets this rollout updated, by the release each ran before. */
  deployed: ReleaseGroup[];
  /** Droplets that did not simply deploy (failed, restored, needs attention), or deployed with a note. */
  ended: { index: number; state: DropletState; error?: string; note?: string }[];
  rolledBack: string;
  rollbackFailures?: number;
  reports: DropletReport[];
  needsAttention: string[];
  failedThenResumed: string[];
  failure?: string;
  /** The failure is a configuration error found while staging: nothing was touched, the CLI exits 2. */
  refused?: boolean;
  /** An abort came during the rollback: it stopped after the droplet in flight. */
  rollbackAborted?: boolean;
  message?: string;
  stopped?: boolean;
  /** `deploy rollback`: each droplet's target (null: it already runs it). */
  targets?: ReleaseGroup[];
  /** The release command's run (once per rollout): where, how it ended, the tail of its output. */
  releaseCommand?: ReleaseCommandRecord;
  /** The canary batch was approved (or needs no approval any more). */
  approved?: boolean;
  /** Roll back updated droplets whatever rollout.onFailure says (an approval that never came). */
  forceRollback?: boolean;
  /** Set once staging ran (true: every droplet has the release, children skip upload and pull). */
  staged?: boolean;
  /** The token's quota as last answered (the plan's reads, then each LB change a droplet reports). */
  apiQuota?: QuotaReading;
  runs: number;
}

export interface ReleaseCommandRecord {
  droplet: string;
  command: string;
  startedAt: number;
  endedAt?: number;
  ok?: boolean;
  exitCode?: number | null;
  /** The last 50 lines of its output (stdout and stderr). */
  output?: string[];
  error?: string;
}

// What travels between the rollout and its activities: the plan, the preflight report, the preview, the release
// command's result and the notification. Wire types, kept with the status types so workflows and the CLI need
// nothing from activities/ but the DeployActivities interface.

/** `deploy rollback`: back to what each droplet ran before the last deploy, or to the newest kept `to`. */
export interface RollbackRequest {
  to?: string;
}

export interface PreflightReport {
  filesDigest: string;
  warnings: string[];
  current: Record<string, PreviousRelease | null>;
  /** droplet name → "v2 2.29.0" or "v1 1.29.2": the Compose each droplet will be driven with. */
  compose?: Record<string, string>;
  /** `deploy rollback`: where each droplet goes (null: it already runs that release). */
  targets?: Record<string, PreviousRelease | null>;
}

/** What the rollout keeps of its plan: O(N) only as compact arrays and ranges (a 10,000-droplet fleet stays small). */
export interface RolloutPlanReport {
  /** Every droplet, in batch order. */
  fleet: CompactFleet;
  /** The load balancer by reference: its id, name, tag and health check; never its member list. */
  loadBalancer?: LoadBalancerInfo;
  filesDigest: string;
  warnings: string[];
  /** What each droplet ran before, as preflight saw it. */
  previous: ReleaseGroup[];
  /** `deploy rollback`: each droplet's target (null: already there). */
  targets?: ReleaseGroup[];
  /** The token's quota after the fleet was read. */
  quota?: QuotaReading;
}

export interface RolloutPreview {
  fleet: CompactFleet;
  loadBalancer?: LoadBalancerInfo;
  problems: string[];
  /** The token's quota after the fleet was read. */
  quota?: QuotaReading;
  /** `deploy rollback`: each droplet's target (null: it already runs it). */
  targets?: Record<string, PreviousRelease | null>;
}

export interface ReleaseCommandResult {
  exitCode: number | null;
  output: string[];
  durationMs: number;
}

export type RolloutEvent = 'started' | 'paused' | 'awaiting-approval' | 'succeeded' | 'failed' | 'rolled-back' | 'aborted' | 'needs-attention';

export interface NotificationInput {
  webhookUrlEnv: string;
  event: RolloutEvent;
  app: string;
  env: string;
  release: string;
  workflowId: string;
  message?: string;
  droplets?: Record<string, number>;
  total?: number;
  needsAttention?: string[];
}

export interface ObserveInput {
  observe: ObserveSpec;
  /** Names the droplet may go by in an answer: its name and its addresses. */
  droplet: { name: string; address: string };
  until: 'drained' | 'settled';
  /** settled: the release it must answer with (null: any, a release without a name). */
  release?: string | null;
  /** Droplets in rotation besides this one (sizes the quiet run). */
  inRotation: number;
  maxMs: number;
}

/** What an LB step answers: the token's quota after it, and what the LB showed that this rollout did not do. */
export interface MembershipAnswer {
  quota?: QuotaReading;
  /** The droplet was already out (detach) or in (attach) when the change came: someone else moved it. */
  changedElsewhere?: string;
}

export interface Observation {
  /** True: seen to happen; false: the maximum time passed first (the timer's guess was all there was). */
  observed: boolean;
  elapsedMs: number;
  requests: number;
  /** Answers that came from this droplet. */
  fromDroplet: number;
  detail: string;
}
