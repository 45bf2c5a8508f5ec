// Resolve which droplets and which load balancer a rollout touches, then check it is safe to start.
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { toFailure, withHeartbeat } from './deps';
import { filesDigest, remoteActivities } from './remote';
import type { KeptReleases } from '../remote/commands';
import { mapPool } from './pool';
import { healthActivities } from './health';
import { HostKeyError, SshConnectError } from '../remote/port';
import type { EnvironmentPlan, Fleet, PreviousRelease } from '../types';
import { compactFleet, groupByRelease } from '../compact';
import { planBatches, releaseLabel } from '../rollout-plan';
import { policyProblems } from './policy';
import { PREFLIGHT_REFUSED, failureType, findDetail } from '../failure-details';
import type { PreflightReport, RollbackRequest, RolloutPlanReport, RolloutPreview } from '../rollout-status';
import { webhookUrl } from './notify';
import { budgetProblem } from '../api-budget';

/**
 * Where `deploy rollback` takes one droplet: a kept release directory, null when it already runs it (nothing to
 * do), or undefined after adding the reason it cannot to `problems`.
 */
export function rollbackTarget(name: string, current: PreviousRelease | null, releases: KeptReleases, request: RollbackRequest, problems: string[]): PreviousRelease | null | undefined {
  const kept = releases.kept.map(releaseLabel).filter((r, i, all) => all.indexOf(r) === i).slice(0, 5).join(', ') || 'none';
  const target = request.to
    ? releases.kept.find((k) => k.release === request.to)
    : releases.kept.find((k) => k.releaseDir === releases.before);
  if (!target) {
    problems.push(request.to
      ? `${name} keeps no release ${request.to} (kept: ${kept})`
      : releases.before
        ? `${name} ran ${releases.before} before its last deploy, but that release directory is gone (pruned, or removed by hand); name a kept one with --to <tag> (kept: ${kept})`
        : `${name} has no record of the release it ran before its last deploy (deployed by an older version, or never deployed); name one with --to <tag> (kept: ${kept})`);
    return undefined;
  }
  return current?.releaseDir === target.releaseDir ? null : target;
}

/** The fleet in batch order and what preflight found, in the compact form the rollout keeps. */
export function compactPlan(fleet: Fleet, report: PreflightReport, batchSize: number): RolloutPlanReport {
  const ordered = planBatches(fleet.droplets, batchSize).flat();
  return {
    fleet: compactFleet(ordered),
    loadBalancer: fleet.loadBalancer ? { ...fleet.loadBalancer, dropletIds: [] } : undefined,
    filesDigest: report.filesDigest,
    warnings: report.warnings,
    previous: groupByRelease(ordered.map((d, i) => [i, report.current[d.name] ?? null])),
    ...(report.targets ? { targets: groupByRelease(ordered.map((d, i) => [i, report.targets?.[d.name] ?? null])) } : {}),
    ...(fleet.quota ? { quota: fleet.quota } : {}),
  };
}

const accessOf = (plan: EnvironmentPlan) => ({ apiUrl: plan.apiUrl, secrets: plan.secrets });

/** Pure part of preflight: what the plan and the LB's state allow. */
export function fleetProblems(plan: EnvironmentPlan, fleet: Fleet, batchSize: number): string[] {
  const problems: string[] = [];
  const lb = fleet.loadBalancer;
  if (fleet.droplets.length === 0) problems.push('no droplets selected');
  const releaseOn = plan.rollout.releaseCommand?.on;
  if (releaseOn && !fleet.droplets.some((d) => d.name === releaseOn)) {
    problems.push(`rollout.releaseCommand.on: ${releaseOn} is not one of the droplets selected (${fleet.droplets.map((d) => d.name).slice(0, 5).join(', ')}${fleet.droplets.length > 5 ? ', …' : ''})`);
  }
  // DigitalOcean allows two droplets with one name; a rollout keys its droplets (and their workflows) by name.
  const byName = new Map<string, number[]>();
  for (const d of fleet.droplets) byName.set(d.name, [...(byName.get(d.name) ?? []), d.id]);
  for (const [name, ids] of byName) {
    if (ids.length > 1) problems.push(`${ids.length} droplets are named ${name} (IDs ${ids.join(', ')}); rename all but one in DigitalOcean, or select droplets by ID`);
  }
  if (lb) {
    if (lb.status !== 'active') problems.push(`load balancer ${lb.name} is "${lb.status}", not "active"; wait for it or fix it in the DigitalOcean control panel`);
    const members = new Set(lb.dropletIds);
    for (const d of fleet.droplets) {
      if (!members.has(d.id)) problems.push(`${d.name} (${d.id}) is not attached to ${lb.name}; attach it first or leave it out of droplets`);
    }
    const overBudget = budgetProblem(fleet, batchSize, Math.max(batchSize, fleet.droplets.length - plan.rollout.minAttached));
    if (overBudget) problems.push(overBudget);
    const inService = fleet.droplets.length - batchSize;
    if (inService < plan.rollout.minAttached) {
      problems.push(
        `batch size ${batchSize} would leave ${Math.max(inService, 0)} of ${fleet.droplets.length} droplet(s) attached, below rollout.minAttached ${plan.rollout.minAttached}; ` +
          (fleet.droplets.length <= plan.rollout.minAttached
            ? 'add droplets, lower minAttached, or set rollout.acceptDowntime: true'
            : 'lower the batch size'),
      );
    }
  }
  return problems;
}

/**
 * What the worker itself cannot do with this plan, added to `problems`: the SSH key, the registry password, the
 * webhook, the files to upload (whose digest it returns). Policy refusals are already in `problems`.
 */
function workerProblems(deps: ActivityDeps, plan: EnvironmentPlan, problems: string[]): { problems: string[]; digest: string } {
  const attempt = (check: () => unknown) => {
    try {
      check();
    } catch (err) {
      if (!(err instanceof ApplicationFailure && err.type === 'PolicyRefused')) problems.push((err as Error).message); // listed already
    }
  };
  attempt(() => deps.remote(plan.secrets)); // reads the SSH key: a missing key is a refusal, not a retry loop
  if (plan.remote.registry) {
    attempt(() => {
      if (!deps.secret(plan.secrets.registryPasswordEnv ?? '', 'registry password')) {
        problems.push(`the registry password variable ${plan.secrets.registryPasswordEnv} is not set in the worker's environment`);
      }
    });
  }
  // A webhook that cannot work is a configuration error like any other: said before anything is touched.
  const webhookEnv = plan.notify?.webhookUrlEnv;
  if (webhookEnv) attempt(() => webhookUrl(deps, webhookEnv));
  let digest = '';
  try {
    digest = filesDigest(plan.remote.files);
  } catch (err) {
    problems.push(`cannot read the files to upload: ${(err as Error).message}`);
  }
  return { problems, digest };
}

/** Each droplet looked at (its release, kept releases, Compose, one health probe), as many at once as are staged; in fleet order. */
function inspectFleet(remote: ReturnType<typeof remoteActivities>, health: ReturnType<typeof healthActivities>, plan: EnvironmentPlan, fleet: Fleet) {
  return mapPool(fleet.droplets, plan.rollout.stageConcurrency ?? 8, async (droplet) => {
    const input = { droplet, remote: plan.remote, secrets: plan.secrets };
    try {
      const found = await remote.inspectDroplet(input);
      const probe = await health.probeOnce({ ...input, healthCheck: plan.healthCheck, release: null });
      return { ok: true as const, ...found, probe };
    } catch (err) {
      const cause = err instanceof ApplicationFailure || err instanceof HostKeyError || err instanceof SshConnectError ? err.message : String(err);
      return { ok: false as const, error: `${droplet.name}: ${cause}` };
    }
  });
}

export function fleetActivities(deps: ActivityDeps) {
  const remote = remoteActivities(deps);
  const health = healthActivities(deps);
  const resolveFleet = async ({ plan }: { plan: EnvironmentPlan }): Promise<Fleet> =>
    withHeartbeat(async () => {
      const api = deps.digitalOcean(accessOf(plan));
      const droplets = await api.listDroplets(plan.droplets, plan.remote.addressType);
      const loadBalancer = plan.loadBalancer ? await api.getLoadBalancer(plan.loadBalancer) : undefined;
      const quota = api.quota?.();
      return { droplets, loadBalancer, ...(quota ? { quota } : {}) };
    });
  /** What the worker's policy refuses in this plan, worded as preflight and the preview list it. */
  const policyOf = (plan: EnvironmentPlan) => policyProblems(deps.policy, {
    apiUrl: plan.apiUrl, secrets: plan.secrets, files: plan.remote.files, registry: plan.remote.registry, webhookUrlEnv: plan.notify?.webhookUrlEnv,
  }).map((p) => `the worker's policy refuses this: ${p}`);
  const acts = {
    resolveFleet,

    /** What the operator's plan shows, resolved where the token is (the worker): the fleet and what refuses it. */
    async previewRollout({ plan, batchSize, rollback }: { plan: EnvironmentPlan; batchSize: number; rollback?: RollbackRequest }): Promise<RolloutPreview> {
      const fleet = await resolveFleet({ plan });
      const problems = [...policyOf(plan), ...fleetProblems(plan, fleet, batchSize)];
      const quota = fleet.quota ? { quota: fleet.quota } : {};
      if (!rollback || problems.length) return { fleet: compactFleet(fleet.droplets), loadBalancer: fleet.loadBalancer, problems, ...quota };
      // A rollback's plan names each droplet's target: that needs a look at the droplets (preflight).
      try {
        const report = await acts.preflight({ plan, fleet, batchSize, rollback });
        return { fleet: compactFleet(fleet.droplets), loadBalancer: fleet.loadBalancer, problems: [], targets: report.targets ?? {}, ...quota };
      } catch (err) {
        const refused = failureType(err) === PREFLIGHT_REFUSED ? findDetail<{ problems: string[] }>(err, (v) => 'problems' in v) : undefined;
        if (!refused) throw err;
        return { fleet: compactFleet(fleet.droplets), loadBalancer: fleet.loadBalancer, problems: refused.problems, ...quota };
      }
    },

    /** Everything that can be checked before any droplet is touched; refuses with every reason at once. */
    async preflight({ plan, fleet, batchSize, rollback }: { plan: EnvironmentPlan; fleet: Fleet; batchSize: number; rollback?: RollbackRequest }): Promise<PreflightReport> {
      const { problems, digest } = workerProblems(deps, plan, [...fleetProblems(plan, fleet, batchSize), ...policyOf(plan)]);
      const warnings: string[] = [];
      const current: Record<string, PreviousRelease | null> = {};
      let targets: Record<string, PreviousRelease | null> | undefined;
      const compose: Record<string, string> = {};
      if (problems.length === 0) {
        const seen = await inspectFleet(remote, health, plan, fleet);
        fleet.droplets.forEach((droplet, i) => {
          const look = seen[i];
          if (!look) return;
          if (!look.ok) {
            problems.push(look.error);
            return;
          }
          current[droplet.name] = look.previous;
          if (rollback) {
            const target = rollbackTarget(droplet.name, look.previous, look.releases, rollback, problems);
            if (target !== undefined) (targets ??= {})[droplet.name] = target;
          }
          compose[droplet.name] = look.compose;
          if (!look.previous) warnings.push(`${droplet.name} has no ${plan.remote.remoteDir}/current release: a failure there cannot be rolled back`);
          // A rollback is what an unhealthy droplet may need: said, not refused.
          if (!look.probe.ok && look.previous) (rollback ? warnings : problems).push(`${droplet.name} is unhealthy before the rollout (${look.probe.detail})${rollback ? '' : '; fix it first'}`);
        });
      }
      if (!fleet.loadBalancer) warnings.push(`${plan.env} has no load balancer: each droplet serves errors while it restarts (acceptDowntime is set)`);
      else if (fleet.droplets.length === 1) warnings.push(`${plan.env} has a single droplet: the rollout takes it out of service (acceptDowntime is set)`);
      if (problems.length) {
        throw toFailure(ApplicationFailure.create({
          message: `preflight refused the rollout of ${plan.app} to ${plan.env}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
          type: PREFLIGHT_REFUSED,
          nonRetryable: true,
          // The problems themselves, for the preview's list: a message is for people, not to be parsed back.
          details: [{ problems }],
        }));
      }
      return { filesDigest: digest, warnings, current, compose, ...(targets ? { targets } : {}) };
    },

    /** Resolve the fleet and preflight it in one step, and hand the rollout only the compact result. */
    async planRollout({ plan, batchSize, rollback }: { plan: EnvironmentPlan; batchSize: number; rollback?: RollbackRequest }): Promise<RolloutPlanReport> {
      const fleet = await resolveFleet({ plan });
      return compactPlan(fleet, await acts.preflight({ plan, fleet, batchSize, rollback }), batchSize);
    },
  };
  return acts;
}
