// Pure rollout arithmetic shared by the workflows (deterministic) and the CLI (plan printing).
import type { RetryPolicy } from '@temporalio/common';
import type { DropletTarget, LoadBalancerInfo, PreviousRelease, RemoteSpec, RolloutPolicy } from './types';

/** Where a release's files live on a droplet: `<remoteDir>/releases/<releaseId>` (one directory per upload). */
export function releaseDir(remote: Pick<RemoteSpec, 'remoteDir'>, releaseId: string): string {
  return `${remote.remoteDir}/releases/${releaseId}`;
}

/** Droplets in name order, cut into batches of `size`. */
export function planBatches<T extends Pick<DropletTarget, 'name'>>(droplets: T[], size: number): T[][] {
  const sorted = [...droplets].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const batches: T[][] = [];
  for (let i = 0; i < sorted.length; i += Math.max(1, size)) batches.push(sorted.slice(i, i + Math.max(1, size)));
  return batches;
}

/**
 * How long to wait after re-attaching before touching the next droplet. A re-attached droplet starts
 * DOWN at the LB and takes traffic only after healthy_threshold passing checks, check_interval apart.
 */
export function settleDelayMs(policy: Pick<RolloutPolicy, 'settleDelayMs' | 'settleMarginMs'>, lb: LoadBalancerInfo | undefined): number {
  if (policy.settleDelayMs !== 'auto') return policy.settleDelayMs;
  if (!lb) return 0; // nothing routes traffic, nothing to wait for
  const hc = lb.healthCheck;
  return hc.healthyThreshold * hc.checkIntervalSeconds * 1000 + policy.settleMarginMs;
}

export function describeSettle(policy: Pick<RolloutPolicy, 'settleDelayMs' | 'settleMarginMs'>, lb: LoadBalancerInfo | undefined): string {
  const ms = settleDelayMs(policy, lb);
  if (policy.settleDelayMs !== 'auto') return `${ms / 1000}s (configured)`;
  if (!lb) return '0s (no load balancer)';
  const hc = lb.healthCheck;
  return `${ms / 1000}s (${hc.healthyThreshold} × ${hc.checkIntervalSeconds}s LB checks + ${policy.settleMarginMs / 1000}s margin)`;
}

/** A directory name for a release: the tag plus the rollout's start time, so redeploys never collide. */
export function makeReleaseId(release: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '');
  return `${release.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}`;
}

/**
 * The rollout's workflow ID, which is also its deploy lock. App and environment names are lower-case letters,
 * digits and "-", so the "." between them keeps every pair apart (shop-eu + prod ≠ shop + eu-prod).
 */
export function rolloutWorkflowId(app: string, env: string): string {
  return `rollout-${app}.${env}`;
}

/** A droplet's workflow under its rollout: `<rollout>/<droplet>`, and `<rollout>/<droplet>/rollback` for its rollback. */
export function dropletWorkflowId(rolloutId: string, droplet: string, mode: 'deploy' | 'rollback' = 'deploy'): string {
  return `${rolloutId}/${droplet}${mode === 'rollback' ? '/rollback' : ''}`;
}

/** The ID rollouts got before: ambiguous (shop-eu + prod = shop + eu-prod), still found for rollouts started then. */
export function legacyRolloutWorkflowId(app: string, env: string): string {
  return `rollout-${app}-${env}`;
}

/** A release's name when it has one; runs recorded before names could be absent carry the word 'unknown' instead. */
export function releaseName(p: PreviousRelease | null | undefined): string | undefined {
  return p?.release === 'unknown' ? undefined : p?.release;
}

/** How a release is shown: its name, or for one without a RELEASE file its directory's. */
export function releaseLabel(p: PreviousRelease): string {
  return releaseName(p) ?? `unnamed ${p.releaseDir.slice(p.releaseDir.lastIndexOf('/') + 1)}`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
}

/** The retry policy every step runs under (droplet/steps.ts, staging): first retry after 2 s, doubling, at most 30 s. */
export const STEP_RETRY = { initialMs: 2_000, coefficient: 2, maxMs: 30_000 } as const;

/** How long a step keeps retrying after its first failure: the sum of the waits between its attempts. */
export function retryWindowMs(attempts: number): number {
  let total = 0;
  for (let k = 0; k < attempts - 1; k++) total += Math.min(STEP_RETRY.initialMs * STEP_RETRY.coefficient ** k, STEP_RETRY.maxMs);
  return total;
}

/** STEP_RETRY as Temporal's retry options. */
export function stepRetry(maximumAttempts: number): RetryPolicy {
  return { maximumAttempts, initialInterval: STEP_RETRY.initialMs, backoffCoefficient: STEP_RETRY.coefficient, maximumInterval: STEP_RETRY.maxMs };
}

/**
 * Every retry policy the workflows give their activities, in one table. Errors that retrying cannot fix (a refused
 * token, an unknown load balancer, a configuration error) are non-retryable whatever the policy; a 429 waits as long
 * as the API asks (nextRetryDelay).
 */
export const RETRY = {
  /** Resolve and preflight: rate limits and 5xx ride out a busy minute. */
  plan: { maximumAttempts: 10, initialInterval: '2s', maximumInterval: '30s' },
  /** The plan the CLI waits for: a few quick tries, the operator is watching. */
  preview: { maximumAttempts: 4, initialInterval: '1s', maximumInterval: '10s' },
  /** A notification never holds up a rollout: three tries within its 30 s budget. */
  notification: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
  /** Staging and every droplet step: the configured attempts, on STEP_RETRY's backoff. */
  step: stepRetry,
  /** The release command: the configured attempts (default one; a migration is not always idempotent). */
  releaseCommand: (maximumAttempts: number): RetryPolicy => ({ maximumAttempts, initialInterval: '2s' }),
} as const satisfies Record<string, RetryPolicy | ((attempts: number) => RetryPolicy)>;
