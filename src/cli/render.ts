// Human-readable text for plans, progress and status. Pure: strings in, strings out.
import type { PreviousRelease, EnvironmentPlan, Fleet, StepRecord } from '../types';
import type { DropletStatus, RolloutStatus } from '../rollout-status';
import { describeSettle, formatMs, planBatches, releaseLabel, retryWindowMs } from '../rollout-plan';
import { clock, releaseCommandLines, statusHeadline } from '../status-text';
import { budgetLine } from '../api-budget';

export function renderPlan(plan: EnvironmentPlan, fleet: Fleet, release: string, problems: string[], current?: Record<string, PreviousRelease | null>): string {
  const lb = fleet.loadBalancer;
  const r = plan.rollout;
  const lines = [
    `Rollout plan: ${plan.app} → ${plan.env}, release ${release}`,
    lb
      ? `  load balancer  ${lb.name} (${lb.id}), status ${lb.status}, ${lb.tag ? `targets tag "${lb.tag}"` : 'targets droplet IDs'}; health ${lb.healthCheck.protocol}:${lb.healthCheck.port}${lb.healthCheck.path ?? ''} every ${lb.healthCheck.checkIntervalSeconds}s, healthy after ${lb.healthCheck.healthyThreshold}`
      : '  load balancer  none: each droplet is out of service while it restarts (acceptDowntime)',
    `  droplets       ${fleet.droplets.length}, ${r.batchSize} at a time, at least ${r.minAttached} kept attached`,
    `  staging        before any detach: ${plan.remote.files.length} file(s) into a new ${plan.remote.remoteDir}/releases directory and compose pull, ` +
      `${r.stageConcurrency} droplet(s) at a time; retried ${r.steps.stage.maximumAttempts - 1}× over ${formatMs(retryWindowMs(r.steps.stage.maximumAttempts))} (rollout.steps.stage.attempts)`,
    // What happens while a droplet is out of the load balancer: the staged release is only switched to and started.
    `  per droplet    ${lb ? `detach → drain ${drainText(plan)} → ` : ''}switch current + up -d → health ${plan.healthCheck.successes}× → ${lb ? 'attach → ' : ''}settle ${settleText(plan, lb)} → verify`,
    ...(lb ? [observeLine(plan), `  API budget     ${budgetLine(fleet, r.batchSize)}`] : []),
    `  files          ${plan.remote.files.map((f) => `${f.to} ${f.secret ? '0600' : '0644'}`).join(', ')}`,
    `  on failure     ${r.onFailure}${r.bakeMs ? `; bake ${formatMs(r.bakeMs)} between batches` : ''}`,
  ];
  planBatches(fleet.droplets, r.batchSize).forEach((batch, i) => {
    const names = batch.map((d) => {
      const now = current?.[d.name];
      return `${d.name} (${d.address}${now ? `, now ${now.release}` : ''})`;
    });
    lines.push(`  batch ${i + 1}        ${names.join(', ')}`);
  });
  if (fleet.droplets.length === 1 && lb) lines.push('  WARNING: a single droplet behind the load balancer: the rollout is an outage for its duration');
  for (const p of problems) lines.push(`  REFUSED: ${p}`);
  return lines.join('\n');
}

const drainText = (plan: EnvironmentPlan) => (plan.observe ? `until out of rotation (at most ${formatMs(plan.observe.maxDrainMs)})` : formatMs(plan.rollout.drainDelayMs));
const settleText = (plan: EnvironmentPlan, lb: Fleet['loadBalancer']) =>
  (plan.observe ? `until it answers through the LB ${plan.observe.servings}× (at most ${formatMs(plan.observe.maxSettleMs)})` : describeSettle(plan.rollout, lb));

/** Whether drain and settle are watched or guessed, and how to make them watched. */
function observeLine(plan: EnvironmentPlan): string {
  if (plan.observe) return `  observed       through ${plan.observe.url}: who answers (${plan.observe.droplet}) and as what (${plan.observe.release}), on fresh connections`;
  return '  guessed        drain and settle are timers: set loadBalancer.observe (the LB\'s address, where answers name the droplet and release) to watch them instead';
}

/** How a drain or settle watched through the LB ended: "drain observed in 1.8s", "settle at its maximum (1m30s)". */
export function watchedStepText(st: StepRecord): string | undefined {
  if (!st.how || st.endedAt === undefined) return undefined;
  const took = formatMs(st.endedAt - st.startedAt);
  return st.how === 'observed' ? `${st.step} observed in ${took}` : `${st.step} at its maximum (${took})`;
}

function dropletLine(d: DropletStatus, now: number): string {
  const step = d.step ? ` ${d.step} for ${formatMs(Math.max(0, now - (d.stepStartedAt ?? now)))}` : '';
  const rel = d.release ? ` → ${d.release}` : '';
  // The latest drain and settle only: a droplet that was rolled back shows how its way back ended.
  const watched = (['drain', 'settle'] as const).map((name) => [...d.steps].reverse().find((st) => st.step === name && st.how)).flatMap((st) => (st ? [watchedStepText(st)] : []));
  const how = watched.length ? `; ${watched.join(', ')}` : '';
  const err = d.error && d.state !== 'deployed' ? `  (${d.error})` : '';
  const note = d.note ? `  (${d.note})` : '';
  return `  ${d.name.padEnd(14)} ${d.state.padEnd(15)}${rel}${step}${how}${err}${note}`;
}

export function renderStatus(s: RolloutStatus, now: number): string {
  const header = `${statusHeadline(s)}, ${s.endedAt === undefined ? 'running' : 'ran'} ${formatMs((s.endedAt ?? now) - s.startedAt)}`;
  const lines = [header, ...releaseCommandLines(s).map((l) => `  ${l}`), ...s.droplets.map((d) => dropletLine(d, now))];
  if (s.apiQuota) lines.push(`  API quota      ${s.apiQuota.limit - s.apiQuota.remaining} of ${s.apiQuota.limit} requests used this hour, ${s.apiQuota.remaining} left (as of ${clock(s.apiQuota.readAt)})`);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  if (s.needsAttention.length) lines.push(`  NEEDS ATTENTION (left detached): ${s.needsAttention.join(', ')}`);
  if (s.message) lines.push(`  ${s.message}`);
  return lines.join('\n');
}

/** Lines describing what changed between two status snapshots: the non-TTY progress log. */
export function progressLines(prev: RolloutStatus | undefined, next: RolloutStatus): string[] {
  const out: string[] = [];
  const t = clock(Date.now());
  if (!prev || prev.phase !== next.phase) out.push(`${t} rollout ${next.phase}${next.currentBatch >= 0 && next.phase === 'deploying' ? ` batch ${next.currentBatch + 1} of ${next.batchCount ?? next.batches.length}` : ''}`);
  for (const d of next.droplets) {
    const before = prev?.droplets.find((x) => x.name === d.name);
    const seen = before?.steps.length ?? 0;
    for (const st of d.steps.slice(seen)) out.push(`${clock(st.startedAt)} ${d.name} ${st.step}`);
    for (const st of d.steps) {
      const was = before?.steps.find((x) => x.step === st.step && x.startedAt === st.startedAt);
      if (st.endedAt === undefined || was?.endedAt !== undefined) continue;
      if (st.ok === false) out.push(`${clock(st.endedAt)} ${d.name} ${st.step} FAILED: ${st.error ?? ''}`);
      else if (st.how) out.push(`${clock(st.endedAt)} ${d.name} ${watchedStepText(st)}${st.detail ? `: ${st.detail}` : ''}`);
    }
    if (before && before.state !== d.state) out.push(`${t} ${d.name} ${d.state}${d.error && d.state !== 'deployed' ? `: ${d.error}` : ''}${d.note ? ` (${d.note})` : ''}`);
  }
  return out;
}

/** `deploy rollback`'s plan: where each droplet goes, from the releases kept on it. */
export function renderRollbackPlan(plan: EnvironmentPlan, fleet: Fleet, targets: Record<string, PreviousRelease | null>, problems: string[]): string {
  const lines = [`Rollback plan: ${plan.app} → ${plan.env}, ${plan.rollout.batchSize} at a time, each droplet to the release it ran before its last deploy`];
  for (const d of fleet.droplets) {
    const t = targets[d.name];
    lines.push(`  ${d.name.padEnd(12)} ${t === undefined ? '?' : t === null ? 'already there: left alone' : `→ ${releaseLabel(t)} (${t.releaseDir})`}`);
  }
  for (const p of problems) lines.push(`  REFUSED: ${p}`);
  return lines.join('\n');
}
