// Resolve which droplets and which load balancer a rollout touches, then check it is safe to start.
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { toFailure, withHeartbeat } from './deps';
import { filesDigest, remoteActivities } from './remote';
import { mapPool } from './pool';
import { healthActivities } from './health';
import { HostKeyError, SshConnectError } from '../remote/port';
import type { EnvironmentPlan, Fleet, LoadBalancerInfo, PreviousRelease } from '../types';
import { compactFleet, groupByRelease, type CompactFleet, type ReleaseGroup } from '../compact';
import { planBatches } from '../rollout-plan';

export interface PreflightReport {
  filesDigest: string;
  warnings: string[];
  current: Record<string, PreviousRelease | null>;
  /** droplet name → "v2 2.29.0" or "v1 1.29.2": the Compose each droplet will be driven with. */
  compose?: Record<string, string>;
}

/** What the rollout keeps of its plan: O(N) only as compact arrays and ranges (a 10,000-droplet fleet stays small). */
export interface RolloutPlanReport {
  /** Every droplet, in batch order. */
  fleet: CompactFleet;
  /** The load balancer by reference: its id, name, tag and health check; never its member list. */
  loadBalancer?: LoadBalancerInfo;
  filesDigest: string;
  warnings: string[];
  /** What each droplet ran before, as preflight saw it. */
  previous: ReleaseGroup[];
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
  };
}

export interface RolloutPreview {
  fleet: CompactFleet;
  loadBalancer?: LoadBalancerInfo;
  problems: string[];
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

export function fleetActivities(deps: ActivityDeps) {
  const remote = remoteActivities(deps);
  const health = healthActivities(deps);
  const resolveFleet = async ({ plan }: { plan: EnvironmentPlan }): Promise<Fleet> =>
    withHeartbeat(async () => {
      const api = deps.digitalOcean(accessOf(plan));
      const droplets = await api.listDroplets(plan.droplets, plan.remote.addressType);
      const loadBalancer = plan.loadBalancer ? await api.getLoadBalancer(plan.loadBalancer) : undefined;
      return { droplets, loadBalancer };
    });
  const acts = {
    resolveFleet,

    /** What the operator's plan shows, resolved where the token is (the worker): the fleet and what refuses it. */
    async previewRollout({ plan, batchSize }: { plan: EnvironmentPlan; batchSize: number }): Promise<RolloutPreview> {
      const fleet = await resolveFleet({ plan });
      return { fleet: compactFleet(fleet.droplets), loadBalancer: fleet.loadBalancer, problems: fleetProblems(plan, fleet, batchSize) };
    },

    /** Everything that can be checked before any droplet is touched; refuses with every reason at once. */
    async preflight({ plan, fleet, batchSize }: { plan: EnvironmentPlan; fleet: Fleet; batchSize: number }): Promise<PreflightReport> {
      const problems = fleetProblems(plan, fleet, batchSize);
      const warnings: string[] = [];
      try {
        deps.remote(plan.secrets); // reads the SSH key: a missing key is a refusal, not a retry loop
      } catch (err) {
        problems.push((err as Error).message);
      }
      if (plan.remote.registry && !deps.secret(plan.secrets.registryPasswordEnv ?? '')) {
        problems.push(`the registry password variable ${plan.secrets.registryPasswordEnv} is not set in the worker's environment`);
      }
      let digest = '';
      try {
        digest = filesDigest(plan.remote.files);
      } catch (err) {
        problems.push(`cannot read the files to upload: ${(err as Error).message}`);
      }
      const current: Record<string, PreviousRelease | null> = {};
      const compose: Record<string, string> = {};
      if (problems.length === 0) {
        // Droplets are looked at concurrently (as many as are staged at once); findings are reported in fleet order.
        const seen = await mapPool(fleet.droplets, plan.rollout.stageConcurrency ?? 8, async (droplet) => {
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
        fleet.droplets.forEach((droplet, i) => {
          const look = seen[i];
          if (!look) return;
          if (!look.ok) {
            problems.push(look.error);
            return;
          }
          current[droplet.name] = look.previous;
          compose[droplet.name] = look.compose;
          if (!look.previous) warnings.push(`${droplet.name} has no ${plan.remote.remoteDir}/current release: a failure there cannot be rolled back`);
          if (!look.probe.ok && look.previous) problems.push(`${droplet.name} is unhealthy before the rollout (${look.probe.detail}); fix it first`);
        });
      }
      if (!fleet.loadBalancer) warnings.push(`${plan.env} has no load balancer: each droplet serves errors while it restarts (acceptDowntime is set)`);
      else if (fleet.droplets.length === 1) warnings.push(`${plan.env} has a single droplet: the rollout takes it out of service (acceptDowntime is set)`);
      if (problems.length) {
        throw toFailure(ApplicationFailure.create({
          message: `preflight refused the rollout of ${plan.app} to ${plan.env}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
          type: 'PreflightRefused',
          nonRetryable: true,
        }));
      }
      return { filesDigest: digest, warnings, current, compose };
    },

    /** Resolve the fleet and preflight it in one step, and hand the rollout only the compact result. */
    async planRollout({ plan, batchSize }: { plan: EnvironmentPlan; batchSize: number }): Promise<RolloutPlanReport> {
      const fleet = await resolveFleet({ plan });
      return compactPlan(fleet, await acts.preflight({ plan, fleet, batchSize }), batchSize);
    },
  };
  return acts;
}
