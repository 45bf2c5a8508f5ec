// Activity fakes for workflow tests: they keep a small model of the fleet (current release per droplet,
// LB membership), log every call in order, and fail or block on demand.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeployActivities } from '../../src/activities';
import { CONFIG_REFUSED } from '../../src/failure-details';
import { compactPlan, fleetProblems, rollbackTarget } from '../../src/activities/fleet';
import type { Observation, ObserveInput, RollbackRequest } from '../../src/rollout-status';
import { compactFleet } from '../../src/compact';
import type { DropletTarget, EnvironmentPlan, Fleet, LoadBalancerInfo, PreviousRelease } from '../../src/types';

type ActivityName = keyof DeployActivities;

export interface Injection {
  activity: ActivityName;
  droplet?: string;
  /** Only when the call concerns this release (health checks, rollbacks). */
  release?: string;
  /** How many calls fail; default every call. */
  times?: number;
  retryable?: boolean;
  /** The failure's type (default Injected). */
  type?: string;
  /** Matching calls that succeed before the failures start (the second health check of a droplet, say). */
  after?: number;
  /** The call takes effect, then fails (an answer lost after the API applied it). */
  afterEffect?: boolean;
}

export function droplets(n: number): DropletTarget[] {
  return Array.from({ length: n }, (_, i) => ({ id: 1001 + i, name: `web-${i + 1}`, address: `127.0.0.${11 + i}` }));
}

export const LB: LoadBalancerInfo = {
  id: 'lb-uuid-1', name: 'prod-lb', status: 'active', dropletIds: [],
  healthCheck: { protocol: 'http', port: 80, path: '/healthcheck', checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 },
};

export function testPlan(overrides: Partial<EnvironmentPlan['rollout']> = {}): EnvironmentPlan {
  const step = { timeoutMs: 60_000, maximumAttempts: 3 };
  return {
    app: 'shop', env: 'production', configPath: '/nonexistent/deploy.config.yaml',
    loadBalancer: { name: 'prod-lb' }, droplets: { tag: 'web' },
    remote: {
      user: 'root', port: 22, addressType: 'public', hostKeys: {}, connectTimeoutMs: 5000, remoteDir: '/srv/shop', keepReleases: 5,
      files: [], composeFiles: ['docker-compose.yml'], composeProject: 'shop', pruneImages: false,
    },
    healthCheck: { url: 'http://{host}/healthcheck', expectStatus: 200, releaseMarker: true, intervalMs: 100, timeoutMs: 5000, requestTimeoutMs: 1000, successes: 3 },
    rollout: {
      batchSize: 1, minAttached: 1, acceptDowntime: false, drainDelayMs: 50, settleDelayMs: 50, settleMarginMs: 0, bakeMs: 0, onFailure: 'rollback',
      stageConcurrency: 4, steps: { record: step, loadBalancer: step, upload: step, stage: step, start: step, health: step }, ...overrides,
    },
    secrets: { tokenEnv: 'DIGITALOCEAN_TOKEN', sshKeyEnv: 'DEPLOY_SSH_KEY_PATH' },
  };
}

export class FakeFleet {
  readonly calls: string[] = [];
  readonly current = new Map<string, PreviousRelease>();
  readonly attached = new Set<number>();
  /** What each droplet ran before its last deploy (the `previous` link a deploy's switch writes). */
  readonly before = new Map<string, string>();
  /** Every release directory that exists on some droplet, by path. */
  private readonly dirs = new Map<string, PreviousRelease>();
  injections: Injection[] = [];
  /** The LB never shows what the rollout waits for: every watched drain and settle runs to its maximum. */
  lbUnobservable = false;
  /** The token's quota the LB changes answer with (each change spends two requests); none by default. */
  quota?: { limit: number; remaining: number; resetAt: number; readAt: number };
  /** startRelease calls made while the droplet was attached: each is a restart under live traffic. */
  readonly restartsInService: string[] = [];
  private gates = new Map<string, { reached: () => void; reachedP: Promise<void>; release: () => void; releaseP: Promise<void>; landsDespiteCancel?: boolean }>();

  /** `startRelease` null: each droplet runs a release without a name (a `current` without a RELEASE file). */
  constructor(readonly fleet: DropletTarget[], startRelease: string | null = 'v1') {
    for (const d of fleet) {
      const dir: PreviousRelease = { releaseDir: `/srv/shop/releases/${startRelease ?? 'by-hand'}-old`, ...(startRelease ? { release: startRelease } : {}) };
      this.current.set(d.name, dir);
      this.dirs.set(dir.releaseDir, dir);
      this.attached.add(d.id);
    }
  }

  /** Make the call `activity droplet` wait until `open()`; `reached` resolves when it starts waiting. */
  gate(activity: ActivityName, droplet: string, opts: { landsDespiteCancel?: boolean; release?: string } = {}) {
    let reached!: () => void;
    let release!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const releaseP = new Promise<void>((r) => (release = r));
    this.gates.set(opts.release ? `${activity} ${droplet} ${opts.release}` : `${activity} ${droplet}`, { reached, reachedP, release, releaseP, landsDespiteCancel: opts.landsDespiteCancel });
    return { reached: reachedP, open: release };
  }

  attachedNames(): string[] {
    return this.fleet.filter((d) => this.attached.has(d.id)).map((d) => d.name);
  }

  private async enter(activity: ActivityName, droplet: string, release?: string): Promise<void> {
    this.calls.push(release ? `${activity} ${droplet} ${release}` : `${activity} ${droplet}`);
    // A gate for this call's release, else for any call of the activity on the droplet.
    const key = [`${activity} ${droplet} ${release}`, `${activity} ${droplet}`].find((k) => this.gates.has(k)) ?? '';
    const gate = this.gates.get(key);
    if (gate) {
      this.gates.delete(key);
      gate.reached();
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 100);
      try {
        // An API call already sent lands whatever the worker is told: only the gate's opening ends it.
        await (gate.landsDespiteCancel ? gate.releaseP : Promise.race([gate.releaseP, ctx.cancelled]));
      } finally {
        clearInterval(beat);
      }
    }
    this.fail(activity, droplet, release, false);
  }

  private fail(activity: ActivityName, droplet: string, release: string | undefined, afterEffect: boolean): void {
    const hit = this.injections.find((i) => i.activity === activity && Boolean(i.afterEffect) === afterEffect && (!i.droplet || i.droplet === droplet) && (!i.release || i.release === release) && (i.times ?? 1) > 0);
    if (hit && (hit.after ?? 0) > 0) {
      hit.after = (hit.after ?? 0) - 1;
      return;
    }
    if (hit) {
      if (hit.times !== undefined) hit.times--;
      this.calls.push(`  ✗ ${activity} ${droplet}`);
      const message = `injected failure of ${activity} on ${droplet}`;
      throw ApplicationFailure.create({ message, type: hit.type ?? 'Injected', nonRetryable: !hit.retryable });
    }
  }

  /** As the real activity: a first attempt that finds the droplet already as asked says someone else moved it. */
  private movedElsewhere(droplet: DropletTarget, already: boolean, where: string) {
    return already && Context.current().info.attempt === 1 ? { changedElsewhere: `${droplet.name} was already ${where} load balancer prod-lb` } : {};
  }

  private spendQuota() {
    if (!this.quota) return {};
    this.quota = { ...this.quota, remaining: this.quota.remaining - 2, readAt: Date.now() };
    return { quota: this.quota };
  }

  activities(): DeployActivities {
    const fake: Record<ActivityName, (...args: never[]) => Promise<unknown>> = {
      resolveFleet: async ({ plan }: { plan: EnvironmentPlan }): Promise<Fleet> =>
        ({ droplets: this.fleet, loadBalancer: plan.loadBalancer ? { ...LB, dropletIds: [...this.attached] } : undefined, ...(this.quota ? { quota: this.quota } : {}) }),
      preflight: async ({ plan, fleet, batchSize, rollback }: { plan: EnvironmentPlan; fleet: Fleet; batchSize: number; rollback?: RollbackRequest }) => {
        const problems = fleetProblems(plan, fleet, batchSize);
        if (rollback) {
          // What the droplets keep: every release directory the fake has seen, newest first, and what each ran before.
          const kept = [...this.dirs.values()].reverse();
          const targets: Record<string, PreviousRelease | null> = {};
          for (const d of fleet.droplets) {
            const t = rollbackTarget(d.name, this.current.get(d.name) ?? null, { before: this.before.get(d.name), kept }, rollback, problems);
            if (t !== undefined) targets[d.name] = t;
          }
          if (problems.length) throw ApplicationFailure.nonRetryable(`preflight refused:\n${problems.join('\n')}`, 'PreflightRefused');
          return { filesDigest: 'digest', warnings: [], current: Object.fromEntries(this.current), targets };
        }
        if (problems.length) throw ApplicationFailure.nonRetryable(`preflight refused:\n${problems.join('\n')}`, 'PreflightRefused');
        return { filesDigest: 'digest', warnings: [], current: Object.fromEntries(this.current) };
      },
      previewRollout: async ({ plan, batchSize }: { plan: EnvironmentPlan; batchSize: number }) => {
        const fleet = await fake.resolveFleet({ plan } as never) as Fleet;
        return { fleet: compactFleet(fleet.droplets), loadBalancer: fleet.loadBalancer, problems: fleetProblems(plan, fleet, batchSize) };
      },
      planRollout: async ({ plan, batchSize, rollback }: { plan: EnvironmentPlan; batchSize: number; rollback?: RollbackRequest }) => {
        const fleet = await fake.resolveFleet({ plan } as never) as Fleet;
        return compactPlan(fleet, await fake.preflight({ plan, fleet, batchSize, rollback } as never) as never, batchSize);
      },
      inspectDroplet: async ({ droplet }: { droplet: DropletTarget }) => ({ previous: this.current.get(droplet.name) ?? null, compose: 'v2 test' }),
      recordPreviousRelease: async ({ droplet }: { droplet: DropletTarget }) => {
        await this.enter('recordPreviousRelease', droplet.name);
        return this.current.get(droplet.name) ?? null;
      },
      detachDroplet: async ({ droplet }: { droplet: DropletTarget }) => {
        await this.enter('detachDroplet', droplet.name);
        const elsewhere = this.movedElsewhere(droplet, !this.attached.has(droplet.id), 'out of');
        this.attached.delete(droplet.id);
        this.fail('detachDroplet', droplet.name, undefined, true);
        return { ...this.spendQuota(), ...elsewhere };
      },
      // The LB as a client sees it: a detached droplet is drained at once, an attached one serves at once.
      observeLoadBalancer: async ({ droplet, until }: ObserveInput): Promise<Observation> => {
        await this.enter('observeLoadBalancer', droplet.name, until);
        const inRotation = this.fleet.some((d) => d.name === droplet.name && this.attached.has(d.id));
        const observed = !this.lbUnobservable && (until === 'drained' ? !inRotation : inRotation);
        return { observed, elapsedMs: 0, requests: 3, fromDroplet: inRotation ? 3 : 0, detail: observed ? `${until}, observed` : `not ${until} by the maximum` };
      },
      attachDroplet: async ({ droplet }: { droplet: DropletTarget }) => {
        await this.enter('attachDroplet', droplet.name);
        const elsewhere = this.movedElsewhere(droplet, this.attached.has(droplet.id), 'in');
        this.attached.add(droplet.id);
        this.fail('attachDroplet', droplet.name, undefined, true);
        return { ...this.spendQuota(), ...elsewhere };
      },
      uploadRelease: async ({ droplet, release, releaseId }: { droplet: DropletTarget; release: string; releaseId: string }) => {
        await this.enter('uploadRelease', droplet.name, release);
        const releaseDir = `/srv/shop/releases/${releaseId}`;
        this.dirs.set(releaseDir, { release, releaseDir });
        return releaseDir;
      },
      stageRelease: async ({ droplets: group, release, releaseId }: { droplets: DropletTarget[]; release: string; releaseId: string }) => {
        const failures: string[] = [];
        let type = 'StageFailed';
        for (const droplet of group) {
          try {
            await this.enter('stageRelease', droplet.name, release);
            const releaseDir = `/srv/shop/releases/${releaseId}`;
            this.dirs.set(releaseDir, { release, releaseDir });
          } catch (err) {
            failures.push(`${droplet.name}: ${(err as Error).message}`);
            if ((err as ApplicationFailure).type === CONFIG_REFUSED) type = CONFIG_REFUSED;
          }
        }
        if (failures.length) throw ApplicationFailure.nonRetryable(`staging ${release} failed on ${failures.length} droplet(s): ${failures.join('; ')}`, type);
        return { staged: group.length };
      },
      switchRelease: async ({ droplet, releaseDir, recordPrevious }: { droplet: DropletTarget; releaseDir: string; recordPrevious?: boolean }) => {
        const target: PreviousRelease = this.dirs.get(releaseDir) ?? { releaseDir };
        if (this.attached.has(droplet.id)) this.restartsInService.push(`${droplet.name} ${target.release ?? 'unnamed'}`);
        await this.enter('switchRelease', droplet.name, target.release ?? 'unnamed');
        const was = this.current.get(droplet.name);
        if (recordPrevious && was && was.releaseDir !== releaseDir) this.before.set(droplet.name, was.releaseDir);
        this.current.set(droplet.name, target);
      },
      activateRelease: async ({ droplet, releaseDir }: { droplet: DropletTarget; releaseDir: string }) => {
        const target: PreviousRelease = this.dirs.get(releaseDir) ?? { releaseDir };
        await this.enter('activateRelease', droplet.name, target.release ?? 'unnamed');
        this.current.set(droplet.name, target);
      },
      startRelease: async ({ droplet }: { droplet: DropletTarget }) => {
        if (this.attached.has(droplet.id)) this.restartsInService.push(`${droplet.name} ${this.current.get(droplet.name)?.release}`);
        await this.enter('startRelease', droplet.name, this.current.get(droplet.name)?.release);
      },
      pollHealth: async ({ droplet, release }: { droplet: DropletTarget; release: string | null }) => {
        await this.enter('pollHealth', droplet.name, release ?? 'any');
        return { probes: 3, elapsedMs: 10 };
      },
      runReleaseCommand: async ({ droplet, command }: { droplet: DropletTarget; command: string }) => {
        await this.enter('runReleaseCommand', droplet.name, command);
        return { exitCode: 0, output: [`ran ${command}`], durationMs: 5 };
      },
      sendNotification: async ({ event }: { event: string }) => {
        this.calls.push(`notify ${event}`);
        this.fail('sendNotification', 'webhook', undefined, false);
      },
      pruneReleases: async ({ droplet }: { droplet: DropletTarget }) => {
        this.calls.push(`pruneReleases ${droplet.name}`);
      },
    };
    return fake as unknown as DeployActivities;
  }
}
