// The rollout's decisions, kept pure (no Temporal import): whether a failure calls for a rollback, whether the
// fleet can spare another batch, which reports are worth carrying, and how the rollout ends and says so. The
// workflow gathers the facts and acts; test/unit/rollout-book.test.ts runs every outcome over tables.
import type { DropletReport, OnFailure } from '../../types';
import type { ReleaseCommandRecord, RolloutResult } from '../../rollout-status';

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
