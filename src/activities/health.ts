// Health gate: N consecutive good answers, from the release we expect, before a droplet takes traffic.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { currentContext, toFailure } from './deps';
import type { RemoteInput } from './remote';
import * as commands from '../remote/commands';
import type { RemoteSession } from '../remote/ssh';
import type { DropletTarget, HealthCheckSpec } from '../types';

export interface HealthInput extends RemoteInput {
  healthCheck: HealthCheckSpec;
  /** The release the answer must name; null checks liveness only (preflight, unknown previous release). */
  release: string | null;
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export function healthUrl(spec: HealthCheckSpec, droplet: DropletTarget): string {
  return (spec.url ?? '').replaceAll('{host}', droplet.address);
}

/** Does the body name the release? JSON bodies compare their `release`/`version` field exactly. */
export function reportsRelease(body: string, release: string): boolean {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    if (parsed && typeof parsed === 'object') {
      const named = parsed.release ?? parsed.version;
      if (named !== undefined) return String(named) === release;
    }
  } catch {
    // not JSON: fall back to a whole-word search
  }
  return new RegExp(`(^|[^A-Za-z0-9._-])${release.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9._-])`).test(body);
}

export function judge(spec: HealthCheckSpec, release: string | null, status: number, body: string): ProbeResult {
  if (status !== spec.expectStatus) return { ok: false, detail: `status ${status}, expected ${spec.expectStatus}` };
  if (release && spec.releaseMarker && !reportsRelease(body, release)) {
    return { ok: false, detail: `answered, but not as release ${release} (body: ${body.slice(0, 120).trim()})` };
  }
  return { ok: true, detail: `status ${status}` };
}

export function healthActivities(deps: ActivityDeps) {
  async function probeHttp(input: HealthInput): Promise<ProbeResult> {
    const url = healthUrl(input.healthCheck, input.droplet);
    try {
      const res = await deps.fetch(url, { signal: AbortSignal.timeout(input.healthCheck.requestTimeoutMs), redirect: 'manual' });
      return judge(input.healthCheck, input.release, res.status, await res.text());
    } catch (err) {
      return { ok: false, detail: `${url}: ${(err as Error).message}` };
    }
  }

  async function probeCommand(input: HealthInput, session: RemoteSession): Promise<ProbeResult> {
    const result = await session.exec(commands.healthCommand(input.remote, input.healthCheck.command ?? 'true'));
    if (result.code !== 0) return { ok: false, detail: `health command exit ${result.code}: ${result.stderr.trim().slice(0, 120)}` };
    return judge(input.healthCheck, input.release, input.healthCheck.expectStatus, result.stdout);
  }

  async function pollHealth(input: HealthInput): Promise<{ probes: number; elapsedMs: number }> {
    const spec = input.healthCheck;
    const started = Date.now();
    let session: RemoteSession | undefined;
    let consecutive = 0;
    let probes = 0;
    let last: ProbeResult | undefined;
    const ctx = currentContext();
    try {
      while (true) {
        ctx?.cancellationSignal.throwIfAborted();
        if (spec.command && !session) session = await deps.remote(input.secrets).connect(input.droplet, input.remote);
        last = session ? await probeCommand(input, session) : await probeHttp(input);
        probes++;
        consecutive = last.ok ? consecutive + 1 : 0;
        ctx?.heartbeat({ consecutive, probes, last: last.detail });
        if (consecutive >= spec.successes) return { probes, elapsedMs: Date.now() - started };
        if (Date.now() - started + spec.intervalMs > spec.timeoutMs) break;
        await sleep(spec.intervalMs, undefined, { signal: ctx?.cancellationSignal });
      }
    } catch (err) {
      throw toFailure(err);
    } finally {
      session?.close();
    }
    throw ApplicationFailure.create({
      message: `${input.droplet.name} did not pass its health check ${spec.successes}× in a row within ${spec.timeoutMs / 1000}s` +
        `${input.release ? ` as release ${input.release}` : ''}: last probe ${last?.detail ?? "none"}`,
      type: 'HealthCheckFailed',
      nonRetryable: true,
    });
  }

  return {
    pollHealth,
    /** One probe, no waiting: used by preflight to check the running release answers. */
    probeOnce: async (input: HealthInput): Promise<ProbeResult> => {
      if (!input.healthCheck.command) return probeHttp(input);
      const session = await deps.remote(input.secrets).connect(input.droplet, input.remote);
      try {
        return await probeCommand(input, session);
      } finally {
        session.close();
      }
    },
  };
}
