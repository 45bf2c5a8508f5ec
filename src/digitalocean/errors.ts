// The one place that turns DigitalOcean HTTP failures into decisions: retry, wait, or stop with a clear message.

export type DigitalOceanErrorKind = 'unauthorized' | 'forbidden' | 'not-found' | 'unprocessable' | 'busy' | 'rate-limited' | 'server' | 'network' | 'other';

export interface DigitalOceanErrorFacts {
  kind: DigitalOceanErrorKind;
  status?: number;
  /** Default false: only what a later attempt can fix is retried. */
  retryable?: boolean;
  /** How long the API asked us to wait before the next attempt. */
  retryAfterMs?: number;
  requestId?: string;
}

export class DigitalOceanError extends Error {
  override name = 'DigitalOceanError';
  readonly kind: DigitalOceanErrorKind;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly requestId?: string;
  constructor(message: string, facts: DigitalOceanErrorFacts) {
    super(message);
    this.kind = facts.kind;
    this.status = facts.status;
    this.retryable = facts.retryable ?? false;
    this.retryAfterMs = facts.retryAfterMs;
    this.requestId = facts.requestId;
  }
}

interface HttpFailureLike {
  message?: string;
  code?: string;
  response?: { status: number; data?: unknown; headers?: Record<string, unknown> };
}

/** Map an axios-style failure from dots-wrapper; `what` says what we were doing, for the message. */
export function toDigitalOceanError(err: unknown, what: string, now: () => number = Date.now, tokenEnv = 'the token variable'): DigitalOceanError {
  if (err instanceof DigitalOceanError) return err;
  const failure = (err ?? {}) as HttpFailureLike;
  const response = failure.response;
  if (!response) {
    return new DigitalOceanError(`${what}: DigitalOcean API unreachable (${failure.code ?? failure.message ?? 'no response'})`, { kind: 'network', retryable: true });
  }
  const body = (response.data ?? {}) as { id?: string; message?: string; request_id?: string };
  const header = (name: string) => {
    const value = response.headers?.[name];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  };
  const status = response.status;
  // DigitalOcean's support asks for the request ID: it stays in what the operator reads.
  const requestId = body.request_id ?? header('x-request-id');
  const apiSays = `${body.message ? `: ${body.message}` : ''}${requestId ? `; request ${requestId}` : ''}`;
  if (status === 401) {
    return new DigitalOceanError(
      `${what}: DigitalOcean rejected the API token (401 unauthorized${apiSays}). Check ${tokenEnv}: it must be a valid personal access token with read and write scope.`,
      { kind: 'unauthorized', status, requestId });
  }
  if (status === 404) return new DigitalOceanError(`${what}: not found (404${apiSays})`, { kind: 'not-found', status, requestId });
  if (status === 422) return new DigitalOceanError(`${what}: refused (422${apiSays})`, { kind: 'unprocessable', status, requestId });
  if (status === 429) {
    return new DigitalOceanError(`${what}: rate limited (429${apiSays})`, { kind: 'rate-limited', status, retryable: true, retryAfterMs: retryAfter(header('retry-after'), header('ratelimit-reset'), now), requestId });
  }
  if (status === 403 && /previous actions|processes|in progress/i.test(body.message ?? '')) {
    return new DigitalOceanError(`${what}: load balancer busy (403${apiSays})`, { kind: 'busy', status, retryable: true, requestId });
  }
  if (status === 403) {
    return new DigitalOceanError(`${what}: the token in ${tokenEnv} may not do this (403${apiSays}). It needs write scope: load_balancer:update ` +
      'to attach and detach, tag:create and tag:delete for a tag-targeted load balancer, droplet:read and load_balancer:read to plan', { kind: 'forbidden', status, requestId });
  }
  if (status >= 500) return new DigitalOceanError(`${what}: DigitalOcean server error (${status}${apiSays})`, { kind: 'server', status, retryable: true, requestId });
  return new DigitalOceanError(`${what}: failed (${status}${apiSays})`, { kind: 'other', status, requestId });
}

/** retry-after is seconds; ratelimit-reset is an epoch second. The earliest sensible wait wins, at least 1 s. */
export function retryAfter(retryAfterHeader: string | undefined, resetHeader: string | undefined, now: () => number): number | undefined {
  if (retryAfterHeader && /^\d+$/.test(retryAfterHeader)) return Math.max(1000, Number(retryAfterHeader) * 1000);
  if (resetHeader && /^\d+$/.test(resetHeader)) return Math.min(Math.max(1000, Number(resetHeader) * 1000 - now()), 3_600_000);
  return undefined;
}
