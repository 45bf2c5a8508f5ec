// Temporal wraps failures (activity → child → workflow); our structured reports ride in `details`.
// Pure and deterministic: used by the rollout workflow and by the CLI alike.

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

/** The first ApplicationFailure type along the cause chain. */
export function failureType(err: unknown): string | undefined {
  let e = err as { type?: unknown; cause?: unknown } | undefined;
  while (e) {
    if (typeof e.type === 'string') return e.type;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** A configuration error found on the fleet (staging), not a fault of it: the rollout ends as a refusal, exit 2. */
export const CONFIG_REFUSED = 'ConfigRefused';
