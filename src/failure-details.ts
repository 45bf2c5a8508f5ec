// Temporal wraps failures (activity → child → workflow): the one place that unwraps them, for the message, the
// failure type and the structured report that rides in `details`.
// Pure and deterministic: used by the rollout workflow and by the CLI alike.
import { TimeoutFailure } from '@temporalio/common';

/** The first `details[0]` along the cause chain that `matches`. */
export function findDetail<T>(err: unknown, matches: (value: object) => boolean): T | undefined {
  let e = err as { details?: unknown[]; cause?: unknown } | undefined;
  while (e) {
    const first = e.details?.[0];
    if (first && typeof first === 'object' && matches(first)) return first as T;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** A timeout anywhere along the cause chain (an activity's, or the workflow run's own), recognised by its failure type. */
export function isTimeout(err: unknown): boolean {
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e instanceof TimeoutFailure) return true;
  return false;
}

/** The first ApplicationFailure type along the cause chain. */
export function failureType(err: unknown): string | undefined {
  let e = err as { type?: unknown; cause?: unknown } | undefined;
  while (e) {
    if (typeof e.type === 'string') return e.type;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Preflight found problems: nothing was touched; its details carry `{ problems }`. */
export const PREFLIGHT_REFUSED = 'PreflightRefused';

/** A configuration error found on the fleet (staging), not a fault of it: the rollout ends as a refusal, exit 2. */
export const CONFIG_REFUSED = 'ConfigRefused';

const WRAPPER = /^(Activity task failed|Child Workflow execution failed|Workflow execution failed)/;

/** The most useful line of a failure: activity and child failures wrap the real cause. */
export function messageOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && e.cause && WRAPPER.test(e.message ?? '')) e = e.cause as typeof e;
  if (e && typeof e === 'object' && 'message' in e && e.message) return e.message;
  return String(err);
}
