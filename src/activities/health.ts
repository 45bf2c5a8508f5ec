// Health gate: N consecutive good answers, from the release we expect, before a droplet takes traffic.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { currentContext, toFailure } from './deps';
import type { RemoteInput } from './remote';
import * as commands from '../remote/commands';
import type { RemoteSession } from '../remote/port';
import type { DropletTarget, HealthCheckSpec } from '../types';

/** Until the first good answer the gate polls at least this often: the wait for a boot is latency, not evidence. */
export const FIRST_ANSWER_POLL_MS = 200;
/** How often the health poll heartbeats, whatever its probe interval (the step's heartbeat timeout is 10 s). */
export const HEARTBEAT_MS = 1_000;

export interface HealthInput extends RemoteInput {
  healthCheck: HealthCheckSpec;
  /** The release the answer must name; null checks liveness only (preflight, unknown previous release). */
  release: string | null;
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
  /** No point in waiting: a container is unhealthy, exited or restarting. */
  fatal?: boolean;
}

interface ContainerState {
  Status: string;
  ExitCode?: number;
  Health?: { Status: string; Log?: { Output?: string }[] };
}

/** Compose's verdict from `composeHealth` output: every service with a healthcheck "healthy", none crashing. */
export function judgeComposeHealth(stdout: string): ProbeResult {
  const waiting: string[] = [];
  for (const line of stdout.split('\n').filter((l) => l.trim())) {
    const m = /^(\S*) (\{.*\}) (\d+)$/.exec(line.trim());
    if (!m) continue;
    const [, service, json, restarts] = m;
    const state = JSON.parse(json) as ContainerState;
    const lastLog = state.Health?.Log?.at(-1)?.Output?.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
    const said = lastLog ? `; last health log: ${lastLog}` : '';
    if (state.Status === 'restarting' || Number(restarts) > 0) return { ok: false, fatal: true, detail: `service ${service} is in a restart loop (restarted ${restarts}×, exit code ${state.ExitCode ?? '?'})${said}` };
    if (state.Status === 'exited' || state.Status === 'dead') return { ok: false, fatal: true, detail: `service ${service} ${state.Status} (exit code ${state.ExitCode ?? '?'})` };
    if (state.Health?.Status === 'unhealthy') return { ok: false, fatal: true, detail: `service ${service} is unhealthy${said}` };
    if (state.Health && state.Health.Status !== 'healthy') waiting.push(`${service} ${state.Health.Status}${said}`);
  }
  return waiting.length ? { ok: false, detail: `waiting for ${waiting.join(', ')}` } : { ok: true, detail: 'every compose service with a healthcheck is healthy' };
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

  async function probeCompose(input: HealthInput, session: RemoteSession): Promise<ProbeResult> {
    const result = await session.exec(commands.composeHealth(input.remote));
    if (result.code !== 0) return { ok: false, detail: `compose health: ${(result.stderr || result.stdout).trim().slice(0, 160)}` };
    return judgeComposeHealth(result.stdout);
  }

  /** One probe: the containers' own healthchecks first (when asked), then the URL or the command. */
  async function probe(input: HealthInput, session: RemoteSession | undefined): Promise<ProbeResult> {
    if (input.healthCheck.compose && session) {
      const containers = await probeCompose(input, session);
      if (!containers.ok || (!input.healthCheck.url && !input.healthCheck.command)) return containers;
    }
    if (input.healthCheck.command && session) return probeCommand(input, session);
    return probeHttp(input);
  }

  const needsSession = (spec: HealthCheckSpec) => Boolean(spec.command || spec.compose);

  async function pollHealth(input: HealthInput): Promise<{ probes: number; elapsedMs: number }> {
    const spec = input.healthCheck;
    const started = Date.now();
    let session: RemoteSession | undefined;
    let consecutive = 0;
    let probes = 0;
    let last: ProbeResult | undefined;
    const ctx = currentContext();
    // Heartbeat on its own clock, not once per probe: a 30 s interval or a slow probe must not look like a lost worker.
    const beat = () => ctx?.heartbeat({ consecutive, probes, last: last?.detail });
    const heartbeats = ctx ? setInterval(beat, HEARTBEAT_MS) : undefined;
    try {
      while (true) {
        ctx?.cancellationSignal.throwIfAborted();
        if (needsSession(spec) && !session) session = await deps.remote(input.secrets).connect(input.droplet, input.remote);
        last = await probe(input, session);
        probes++;
        if (last.fatal) break;
        consecutive = last.ok ? consecutive + 1 : 0;
        beat();
        if (consecutive >= spec.successes) return { probes, elapsedMs: Date.now() - started };
        if (Date.now() - started + spec.intervalMs > spec.timeoutMs) break;
        // The repeated successes are spaced by the configured interval; the first is taken as soon as it comes.
        await sleep(consecutive === 0 ? Math.min(spec.intervalMs, FIRST_ANSWER_POLL_MS) : spec.intervalMs, undefined, { signal: ctx?.cancellationSignal });
      }
    } catch (err) {
      throw toFailure(err);
    } finally {
      clearInterval(heartbeats);
      session?.close();
    }
    if (last?.fatal) {
      throw ApplicationFailure.create({ message: `${input.droplet.name} failed its health check: ${last.detail}`, type: 'HealthCheckFailed', nonRetryable: true });
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
      if (!needsSession(input.healthCheck)) return probeHttp(input);
      const session = await deps.remote(input.secrets).connect(input.droplet, input.remote);
      try {
        return await probe(input, session);
      } finally {
        session.close();
      }
    },
  };
}
