// The token's hourly quota as DigitalOcean last reported it (ratelimit-* headers), kept per API and token in this
// worker, so that no request is sent into a quota already spent: the next one waits for the reset instead.
import { createHash } from 'node:crypto';
import type { QuotaReading } from '../types';

type Headers = Record<string, unknown> | undefined;

const numberHeader = (headers: Headers, name: string): number | undefined => {
  const v = headers?.[name];
  return (typeof v === 'string' || typeof v === 'number') && /^\d+$/.test(String(v)) ? Number(v) : undefined;
};

export class QuotaGauge {
  private last?: QuotaReading;
  private blockedUntil = 0;

  get reading(): QuotaReading | undefined {
    return this.last && { ...this.last };
  }

  /** A request is about to go: count it before the answer says so, so requests side by side do not overdraw. */
  sending(): void {
    if (this.last && this.last.remaining > 0) this.last.remaining--;
  }

  /** An answer's headers (any status); a 429's retry-after blocks every request until it has passed. */
  note(headers: Headers, now: number, retryAfterMs?: number): void {
    const limit = numberHeader(headers, 'ratelimit-limit');
    const remaining = numberHeader(headers, 'ratelimit-remaining');
    const reset = numberHeader(headers, 'ratelimit-reset');
    if (limit !== undefined && remaining !== undefined && reset !== undefined) this.last = { limit, remaining, resetAt: reset * 1000, readAt: now };
    if (retryAfterMs) this.blockedUntil = Math.max(this.blockedUntil, now + retryAfterMs);
  }

  /** How long the next request must wait: until the reset when the hour is spent, or a 429's retry-after. */
  waitMs(now: number): number {
    const spent = this.last && this.last.remaining <= 0 && this.last.resetAt > now ? this.last.resetAt - now : 0;
    return Math.max(0, spent, this.blockedUntil - now);
  }
}

const gauges = new Map<string, QuotaGauge>();

/** The gauge of one API and token (the token is kept only as a short hash). */
export function quotaGauge(apiUrl: string, token: string): QuotaGauge {
  const key = `${apiUrl}|${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  let gauge = gauges.get(key);
  if (!gauge) {
    gauge = new QuotaGauge();
    gauges.set(key, gauge);
  }
  return gauge;
}
