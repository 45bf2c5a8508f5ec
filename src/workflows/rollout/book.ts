// The rollout's book, kept pure (no Temporal import): its state (the carried sets, the droplets in flight, the
// status it answers) and its decisions (whether a failure calls for a rollback, whether the fleet can spare another
// batch, which reports are worth carrying, how the rollout ends and says so). The workflow gathers the facts and
// acts; test/unit/rollout-book.test.ts runs every outcome over tables.
import type { DropletMode, DropletReport, OnFailure, PreviousRelease } from '../../types';
import type {
  DropletState,
  DropletStatus,
  ReleaseCommandRecord,
  RolloutCarry,
  RolloutInput,
  RolloutPhase,
  RolloutResult,
  RolloutStatus,
} from '../../rollout-status';
import { decodeIndices, encodeIndices, groupByRelease, ungroup } from '../../compact';
import { releaseLabel } from '../../rollout-plan';

/** Droplets up to which every report is kept and every droplet listed in the status. */
export const DETAIL_LIMIT = 50;
/** Full droplet reports a large fleet's rollout keeps (failures and notes): bounded, whatever fails. */
export const REPORT_CAP = 100;

export interface RollbackFacts {
  /** `deploy rollback`: never rolled back itself. */
  rollbackMode: boolean;
  /** A continued run that was already rolling back. */
  alreadyRollingBack: boolean;
  abortRequested: boolean;
  rollbackOnAbort: boolean;
  failure?: string;
  onFailure: OnFailure;
  /** An approval that timed out rolls back whatever onFailure says. */
  forceRollback?: boolean;
  updated: number;
}

/** Whether the droplets this rollout updated go back to their recorded releases. */
export function wantsRollback(f: RollbackFacts): boolean {
  if (f.rollbackMode) return false;
  if (f.alreadyRollingBack) return true;
  if (f.abortRequested) return f.rollbackOnAbort;
  return Boolean(f.failure) && (f.onFailure === 'rollback' || f.forceRollback === true) && f.updated > 0;
}

/** The min-attached guard: droplets left detached (needing attention) count as out. */
export function capacityAllows(f: { hasLoadBalancer: boolean; fleetSize: number; needsAttention: number; minAttached: number }, leaving: number): boolean {
  return !f.hasLoadBalancer || f.fleetSize - f.needsAttention - leaving >= f.minAttached;
}

/**
 * The reports the rollout carries after this one: all of them for a small fleet; otherwise failures and notes, at
 * most REPORT_CAP (they travel through every continue-as-new and into the result; counts say the rest).
 */
/** Warnings the status carries at most (a whole fleet moved by someone else says so in the first ones). */
const WARNINGS_KEPT = 50;

export function keepReport(reports: DropletReport[], report: DropletReport, fleetSize: number): DropletReport[] {
  const small = fleetSize <= DETAIL_LIMIT;
  if (!small && (report.outcome === 'deployed' || report.outcome === 'rolled-back') && !report.note) return reports;
  const kept = reports.some((r) => r.droplet === report.droplet);
  if (!small && !kept && reports.length >= REPORT_CAP) return reports;
  return [...reports.filter((r) => r.droplet !== report.droplet), report];
}

export interface OutcomeFacts {
  app: string;
  env: string;
  release: string;
  /** `deploy rollback` and where it went (`--to`). */
  rollback?: { to?: string };
  abortRequested: boolean;
  rollbackOnAbort: boolean;
  /** An abort came during the rollback and stopped it. */
  rollbackAborted?: boolean;
  failure?: string;
  /** The failure is a configuration error found on the fleet: nothing was touched (exit 2). */
  refused?: boolean;
  /** Droplets that failed while onFailure was pause, and the operator resumed. */
  failedThenResumed: string[];
  needsAttention: string[];
  releaseCommand?: Pick<ReleaseCommandRecord, 'droplet' | 'ok' | 'exitCode'>;
  /** The rollout rolled back (wantsRollback). */
  rolledBackForFailure: boolean;
  updated: number;
  rolledBack: number;
  rollbackFailures: number;
}

export interface Outcome {
  status: RolloutResult['status'];
  message: string;
  refused?: boolean;
}

/** How the rollout ends, in the words the operator reads (CLI, Web UI, notifications). */
export function outcome(f: OutcomeFacts): Outcome {
  const attention = f.needsAttention.length ? ` NEEDS ATTENTION (detached): ${f.needsAttention.join(', ')}.` : '';
  const end = (status: Outcome['status'], message: string, refused = false): Outcome => ({ status, message, ...(refused ? { refused } : {}) });
  if (f.rollback) {
    // A rollback is never rolled back: on a failure the droplets already returned stay returned.
    const back = f.rolledBack;
    const to = f.rollback.to ? ` to ${f.rollback.to}` : ' to the release each ran before its last deploy';
    if (f.abortRequested) return end('aborted', `rollback aborted by operator after ${back} droplet(s) were rolled back${to}.${attention}`);
    if (f.failure) return end('failed', `${f.failure}. ${back} droplet(s) were rolled back${to} before it stopped; the others keep what they run.${attention}`);
    if (f.failedThenResumed.length) return end('failed', `${back} droplet(s) rolled back${to}; ${f.failedThenResumed.join(', ')} failed and kept their release`);
    return end('succeeded', `${f.app} ${f.env}: ${back} droplet(s) rolled back${to}`);
  }
  const { updated, rollbackFailures: failures } = f;
  // An abort while the release command ran: it may still run on its droplet, or have run in full.
  const rc = f.releaseCommand;
  const rcCut = rc && rc.ok !== true && rc.exitCode === undefined
    ? ` The release command on ${rc.droplet} was interrupted: it may have run in part or in full; check before starting another rollout.` : '';
  if (f.abortRequested && f.rollbackAborted) {
    return end('aborted', `${f.failure ? `${f.failure}. ` : ''}The rollback was aborted by operator after ${f.rolledBack} of ${updated} updated droplet(s) ` +
      `were rolled back; ${updated - f.rolledBack} stay on ${f.release}.${attention}`);
  }
  if (f.abortRequested) {
    const rolled = f.rollbackOnAbort ? ` ${updated - failures} updated droplet(s) rolled back${failures ? `, ${failures} could not be` : ''}.` : '';
    return end('aborted', `aborted by operator after ${updated} droplet(s) were updated.${rolled}${rcCut}${attention}`);
  }
  if (f.failure) {
    if (f.rolledBackForFailure) {
      if (failures === 0) return end('rolled-back', `${f.failure}. Rolled back ${updated} updated droplet(s) to their previous release.${attention}`);
      return end('failed', `${f.failure}. Rollback of ${failures} droplet(s) failed.${attention}`);
    }
    return end('failed', `${f.failure}.${updated ? ` ${updated} droplet(s) stay on ${f.release}.` : ''}${attention}`, f.refused === true);
  }
  if (f.failedThenResumed.length) {
    return end('failed', `${updated} droplet(s) now run ${f.release}; ${f.failedThenResumed.join(', ')} failed and kept their previous release`);
  }
  return end('succeeded', `${f.app} ${f.env}: ${updated} droplet(s) now run ${f.release}`);
}

type Ended = { state: DropletState; error?: string; note?: string };

/**
 * What the rollout knows: the carried state (RolloutCarry, which travels through continue-as-new), its in-memory
 * views (O(N) memory, never O(N) history), this run's droplets in flight, and the status it answers from them.
 */
export class RolloutBook {
  /** What the LB showed that this rollout did not do, since the last batch began (rollout.onMembershipChange). */
  movedElsewhere: string[] = [];
  carry?: RolloutCarry;
  phase: RolloutPhase;
  message?: string;
  endedAt?: number;
  /** Signals that came before the plan existed. */
  readonly pending = { paused: false, abortRequested: false, rollbackOnAbort: false };
  readonly batchSize: number;
  private readonly inFlight = new Map<number, { state: 'deploying' | 'rolling-back'; since: number; release: string }>();
  /** When a droplet reached its state in this run (display only). */
  private readonly changedAt = new Map<number, number>();
  private deployed = new Map<number, PreviousRelease | null>();
  private ended = new Map<number, Ended>();
  private rolledBack = new Set<number>();
  private previousCache?: Map<number, PreviousRelease | null>;
  private targetsCache?: Map<number, PreviousRelease | null>;

  constructor(private readonly input: Pick<RolloutInput, 'plan' | 'release' | 'rollback' | 'carry'>, private readonly startTime: number) {
    this.batchSize = Math.max(1, input.plan.rollout.batchSize);
    this.phase = input.carry?.phase ?? 'resolving';
    if (input.carry) this.open(input.carry);
  }

  /** Take the carried state: from the plan (a first run) or from the previous run. */
  open(carry: RolloutCarry): void {
    this.carry = carry;
    this.deployed = ungroup(carry.deployed);
    this.ended = new Map(carry.ended.map((e) => [e.index, e]));
    this.rolledBack = new Set(decodeIndices(carry.rolledBack));
  }

  /** The carry's pause and abort flags, or the pending ones before the plan exists. */
  get flags(): { paused: boolean; abortRequested: boolean; rollbackOnAbort: boolean } {
    return this.carry ?? this.pending;
  }

  get fleetSize(): number {
    return this.carry?.fleet.ids.length ?? 0;
  }

  get updated(): number {
    return this.deployed.size;
  }

  get rolledBackCount(): number {
    return this.rolledBack.size;
  }

  batchCount(): number {
    return this.carry ? Math.ceil(this.fleetSize / this.batchSize) : 0;
  }

  batchOf(i: number): number {
    return Math.floor(i / this.batchSize);
  }

  /** The fleet indices of batch `b` (0-based). */
  batch(b: number): number[] {
    return Array.from({ length: Math.min(this.batchSize, this.fleetSize - b * this.batchSize) }, (_, k) => b * this.batchSize + k);
  }

  private get closed(): boolean {
    return Boolean(this.carry && (this.carry.stopped || this.endedAt !== undefined));
  }

  stateOf(i: number): DropletState {
    const flying = this.inFlight.get(i);
    if (flying) return flying.state;
    if (this.rolledBack.has(i)) return 'rolled-back';
    const end = this.ended.get(i);
    if (end) return end.state;
    if (this.deployed.has(i)) return 'deployed';
    return this.closed ? 'skipped' : 'pending';
  }

  /** What a droplet ran before this rollout (null: nothing recorded). */
  previousRelease(i: number): string | null {
    const p = (this.previousCache ??= ungroup(this.carry?.previous ?? [])).get(i);
    return p ? releaseLabel(p) : null;
  }

  /** `deploy rollback`: a droplet's target, read once from the plan (null: it already runs it). */
  rollbackTarget(i: number): PreviousRelease | null {
    return (this.targetsCache ??= ungroup(this.carry?.targets ?? [])).get(i) ?? null;
  }

  /** The release an updated droplet ran before this rollout (null: none recorded, nothing to roll back to). */
  deployedFrom(i: number): PreviousRelease | null {
    return this.deployed.get(i) ?? null;
  }

  errorOf(i: number): string | undefined {
    return this.ended.get(i)?.error;
  }

  row(i: number): DropletStatus {
    const fleet = (this.carry as RolloutCarry).fleet;
    const state = this.stateOf(i);
    const flying = this.inFlight.get(i);
    const end = this.ended.get(i);
    // A rolled-back droplet's row shows where it was taken, not the release it ran before.
    const to = this.input.rollback ? this.rollbackTarget(i) : null;
    const rolledBackTo = to ? releaseLabel(to) : undefined;
    const target = flying?.release ??
      (state === 'rolled-back' ? rolledBackTo ?? this.previousRelease(i) ?? undefined : state === 'pending' || state === 'skipped' ? undefined : this.input.release);
    return {
      name: fleet.names[i], id: fleet.ids[i], batch: this.batchOf(i), state, previousRelease: this.previousRelease(i), release: target, steps: [],
      stepStartedAt: flying?.since ?? this.changedAt.get(i), error: end?.error, note: end?.note,
    };
  }

  status(): RolloutStatus {
    const c = this.carry;
    const { plan, release } = this.input;
    const n = this.fleetSize;
    const counts: Partial<Record<DropletState, number>> = {};
    const visible = new Set<number>();
    if (c) {
      if (n <= DETAIL_LIMIT) for (let i = 0; i < n; i++) visible.add(i);
      for (const i of this.inFlight.keys()) visible.add(i);
      for (const i of [...this.ended.keys()].slice(0, DETAIL_LIMIT)) visible.add(i);
      const touched = new Set([...this.deployed.keys(), ...this.ended.keys(), ...this.inFlight.keys()]);
      for (const i of touched) {
        const st = this.stateOf(i);
        counts[st] = (counts[st] ?? 0) + 1;
      }
      if (n > touched.size) counts[this.closed ? 'skipped' : 'pending'] = n - touched.size;
    }
    const f = this.flags;
    const size = this.batchSize;
    return {
      app: plan.app, env: plan.env, release, phase: this.phase, paused: f.paused, abortRequested: f.abortRequested,
      startedAt: c?.startedAt ?? this.startTime, endedAt: this.endedAt,
      batches: c && n <= DETAIL_LIMIT ? Array.from({ length: this.batchCount() }, (_, b) => c.fleet.names.slice(b * size, (b + 1) * size)) : [],
      batchCount: this.batchCount(), total: n, counts,
      currentBatch: c ? (this.inFlight.size ? this.batchOf(Math.min(...this.inFlight.keys())) : c.nextBatch - 1) : -1,
      settleDelayMs: c?.settleDelayMs ?? 0,
      droplets: [...visible].sort((a, b) => a - b).map((i) => this.row(i)),
      warnings: c?.warnings ?? [], message: this.message ?? c?.message, releaseCommand: c?.releaseCommand, needsAttention: c?.needsAttention ?? [], runs: (c?.runs ?? 0) + 1,
      ...(c?.apiQuota ? { apiQuota: c.apiQuota } : {}),
    };
  }

  /** A droplet's child workflow started. */
  started(i: number, mode: DropletMode, release: string, at: number): void {
    this.inFlight.set(i, { state: mode === 'deploy' ? 'deploying' : 'rolling-back', since: at, release });
  }

  /** A droplet's child workflow ended, one way or the other. */
  left(i: number, at: number): void {
    this.inFlight.delete(i);
    this.changedAt.set(i, at);
  }

  /** A child completed: deployed (with the release it ran before) or rolled back. */
  succeeded(i: number, report: DropletReport): void {
    this.keepReport(report);
    if (report.mode === 'deploy') {
      this.deployed.set(i, report.previous);
      if (report.note) this.ended.set(i, { state: 'deployed', note: report.note });
    } else {
      this.rolledBack.add(i);
    }
  }

  /** A droplet ended other than as planned; one needing attention is named until the rollout ends. */
  endedAs(i: number, end: Ended): void {
    this.ended.set(i, end);
    const carry = this.carry as RolloutCarry;
    const name = carry.fleet.names[i];
    if (end.state === 'needs-attention' && !carry.needsAttention.includes(name)) carry.needsAttention.push(name);
  }

  keepReport(report: DropletReport): void {
    const carry = this.carry as RolloutCarry;
    carry.reports = keepReport(carry.reports, report, this.fleetSize);
    for (const st of report.steps) {
      // The newest quota reading any of its LB changes brought back.
      if (st.quota && st.quota.readAt >= (carry.apiQuota?.readAt ?? 0)) carry.apiQuota = st.quota;
      // Membership moved by someone else is said in the status and the outcome, once.
      if (st.changedElsewhere) this.movedElsewhere.push(st.changedElsewhere);
      if (st.changedElsewhere && !carry.warnings.includes(st.changedElsewhere) && carry.warnings.length < WARNINGS_KEPT) carry.warnings.push(st.changedElsewhere);
    }
  }

  /** The min-attached guard, re-checked before each batch against droplets left detached. */
  capacityAllows(leaving: number): boolean {
    const carry = this.carry as RolloutCarry;
    return capacityAllows({
      hasLoadBalancer: Boolean(carry.loadBalancer), fleetSize: this.fleetSize, needsAttention: carry.needsAttention.length,
      minAttached: this.input.plan.rollout.minAttached,
    }, leaving);
  }

  /** Updated droplets still to roll back, newest first; one whose rollback already failed is not tried again. */
  rollbackOrder(): number[] {
    return [...this.deployed.keys()].filter((i) => !this.rolledBack.has(i) && !this.ended.get(i)?.error?.startsWith('rollback:')).sort((a, b) => b - a);
  }

  /** Write the in-memory views back into the carry, before it travels to the next run. */
  save(): void {
    const carry = this.carry as RolloutCarry;
    carry.deployed = groupByRelease(this.deployed);
    carry.ended = [...this.ended].map(([index, e]) => ({ index, ...e }));
    carry.rolledBack = encodeIndices(this.rolledBack);
    carry.phase = this.phase === 'rolling-back' ? 'rolling-back' : 'deploying';
    carry.message = this.message;
  }

  /** What the rollout hands back when it ends: every report for a small fleet, else those that did not simply deploy. */
  result(status: RolloutResult['status'], message: string, refused: boolean): RolloutResult {
    const c = this.carry;
    const n = this.fleetSize;
    const reports = [...(c?.reports ?? [])];
    return {
      status, message, droplets: n <= DETAIL_LIMIT ? reports : reports.filter((r) => r.outcome !== 'deployed'), needsAttention: [...(c?.needsAttention ?? [])],
      counts: this.status().counts, total: n, ...(refused ? { refused } : {}),
    };
  }
}
