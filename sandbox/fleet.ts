// The local fleet: a fake DigitalOcean API, a container registry, N droplets (real sshd and a real Docker
// Engine each), and an HAProxy load balancer whose membership follows the API. Used by `npm run sandbox`,
// `npm run demo`, e2e tests and benchmarks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { createActivities } from '../src/activities';
import { realDependencies } from '../src/activities/deps';
import { filesDigest } from '../src/activities/remote';
import { loadEnvironment } from '../src/config/loader';
import { makeReleaseId } from '../src/rollout-plan';
import { FakeDigitalOcean, type FakeLoadBalancer, type Spread } from './fake-digitalocean';
import { generateKeyPair, startDropletHost, type DropletHost } from './droplet-host';
import { HaproxyLoadBalancer } from './haproxy';
import { publishReleases, registryStorage } from './images';
import { startRegistry, type Registry } from './registry';

export const ROOT = path.resolve(__dirname, '..');
export const SAMPLE_CONFIG = path.join(ROOT, 'examples', 'sample-app', 'deploy.config.yaml');
export const SANDBOX_TOKEN = 'sandbox-token-not-a-secret';
export const REGISTRY_PASSWORD = 'sandbox-registry-password';

/** How the local load balancer behaves: its health check, and how long a change takes to reach it and keeps it busy. */
export interface LbProfile {
  healthCheck: Pick<FakeLoadBalancer['healthCheck'], 'check_interval_seconds' | 'response_timeout_seconds' | 'healthy_threshold' | 'unhealthy_threshold'>;
  attachPropagationMs: Spread;
  detachPropagationMs: Spread;
  busyWindowMs: Spread;
}

/**
 * The load balancers the fleet can be: `demo` is quicker than DigitalOcean allows (checks every 1 s; its minimum is
 * 3 s), for a demo that ends in a minute; `do-min` is the quickest DigitalOcean accepts; `do-default` is what a load
 * balancer gets when nobody sets its health check (checks every 10 s, 5 s to answer, healthy after 3, down after 5).
 * DigitalOcean publishes no propagation time and no busy window: the DO profiles draw both from ranges wide enough to
 * cover what operators report (a change that reaches traffic in about a second, or in several), seeded per fleet.
 */
export const LB_PROFILES = {
  demo: {
    healthCheck: { check_interval_seconds: 1, response_timeout_seconds: 1, healthy_threshold: 2, unhealthy_threshold: 2 },
    attachPropagationMs: 500, detachPropagationMs: 500, busyWindowMs: 0,
  },
  'do-min': {
    healthCheck: { check_interval_seconds: 3, response_timeout_seconds: 3, healthy_threshold: 2, unhealthy_threshold: 2 },
    attachPropagationMs: { min: 500, max: 5000 }, detachPropagationMs: { min: 500, max: 5000 }, busyWindowMs: { min: 0, max: 3000 },
  },
  'do-default': {
    healthCheck: { check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 5 },
    attachPropagationMs: { min: 500, max: 5000 }, detachPropagationMs: { min: 500, max: 5000 }, busyWindowMs: { min: 0, max: 3000 },
  },
} as const satisfies Record<string, LbProfile>;
export type LbProfileName = keyof typeof LB_PROFILES;

export interface FleetOptions {
  /** The load balancer's behaviour (default `demo`); healthCheck and propagationDelayMs below override parts of it. */
  profile?: LbProfileName;
  /** Seeds the local API's draws (propagation, busy windows): the same seed repeats a run's delays. */
  seed?: number;
  /** Directory name under .sandbox/ (the demo uses "fleet", which the sample config points at). */
  name?: string;
  droplets?: number;
  /** Third octet of the fleet's loopback addresses (127.0.<subnet>.x). */
  subnet?: number;
  /** The LB's health check, over the profile's. */
  healthCheck?: Partial<FakeLoadBalancer['healthCheck']>;
  /** Delay before a membership change reaches HAProxy (attach and detach), over the profile's. */
  propagationDelayMs?: Spread;
  initialRelease?: string;
  /** Releases to have in the registry from the start (besides the initial one); more with fleet.publish(). */
  releases?: string[];
  appBootMs?: number;
  /** Droplets that have only Compose v1 (`docker-compose`); default: the last one (when there are two or more). */
  composeV1Only?: string[];
  log?: (line: string) => void;
}

export interface Fleet {
  dir: string;
  api: FakeDigitalOcean;
  lb: HaproxyLoadBalancer;
  hosts: DropletHost[];
  registry: Registry;
  /** Build and push images for these release tags unless the registry has them. */
  publish(...tags: string[]): Promise<void>;
  configPath: string;
  /** Environment a worker needs for this fleet (token, key path, registry password, API URL). */
  workerEnv: Record<string, string>;
  /** Which release each droplet's app answers with right now (null: not answering). */
  releases(): Promise<Record<string, string | null>>;
  /** Droplets the fake API lists as LB members. */
  attached(): string[];
  /** Write a deploy config for this fleet, starting from the sample app's, with rollout overrides (and `healthCheck`, `notify`, `observe: false` for timers) and extra files. */
  writeConfig(overrides?: Record<string, unknown>, extraFiles?: { from: string; to: string }[]): string;
  stop(): Promise<void>;
}

export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  const name = opts.name ?? 'fleet';
  const n = opts.droplets ?? 4;
  const subnet = opts.subnet ?? 10;
  const log = opts.log ?? (() => undefined);
  const dir = path.join(ROOT, '.sandbox', name);
  const ip = (host: number) => `127.0.${subnet}.${host}`;
  try {
    execFileSync('pkill', ['-f', `${dir}/`], { stdio: 'ignore' }); // sshd and engines a crashed run of this fleet left behind
    await new Promise((r) => setTimeout(r, 500));
  } catch {
    // none
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const keyPath = path.join(dir, 'id_ed25519');
  const client = generateKeyPair(keyPath);
  const profile: LbProfile = LB_PROFILES[opts.profile ?? 'demo'];
  const healthCheck: FakeLoadBalancer['healthCheck'] = { protocol: 'http', port: 8080, path: '/healthcheck', ...profile.healthCheck, ...opts.healthCheck };

  const api = new FakeDigitalOcean(SANDBOX_TOKEN, { seed: opts.seed });
  Object.assign(api.faults, opts.propagationDelayMs !== undefined
    ? { propagationDelayMs: opts.propagationDelayMs }
    : { propagationDelayMs: profile.attachPropagationMs, attachPropagationMs: profile.attachPropagationMs, detachPropagationMs: profile.detachPropagationMs },
  { busyWindowMs: profile.busyWindowMs });
  const hosts: DropletHost[] = [];
  let lb: HaproxyLoadBalancer | undefined;
  let registry: Registry | undefined;
  const stop = async () => {
    await lb?.stop();
    await Promise.all(hosts.map((h) => h.stop()));
    await registry?.stop();
    await api.close();
  };
  try {
    registry = await startRegistry({ address: ip(1), dir: path.join(dir, 'registry'), storage: registryStorage(), password: REGISTRY_PASSWORD });
    const reg = registry;
    const initial = opts.initialRelease ?? 'v1';
    const publish = (...tags: string[]) => publishReleases(reg, REGISTRY_PASSWORD, tags, log);
    await publish(initial, ...(opts.releases ?? ['v2']));
    const v1Only = opts.composeV1Only ?? (n >= 2 ? [`web-${n}`] : []);
    log(`starting ${n} droplets on 127.0.${subnet}.11-${10 + n}, each with its own Docker Engine (Compose v1 only: ${v1Only.join(', ') || 'none'}); registry ${reg.server}`);
    hosts.push(...await Promise.all(Array.from({ length: n }, (_, k) => startDropletHost({
      name: `web-${k + 1}`, address: ip(11 + k), sshPort: 2222, dir: path.join(dir, `web-${k + 1}`), authorizedKey: client.publicKey,
      poolIndex: (subnet * 5 + k + 1) % 240, composeV2: !v1Only.includes(`web-${k + 1}`),
      env: { APP_BOOT_MS: String(opts.appBootMs ?? 3000), REGISTRY_HOST: reg.server },
    }))));
    for (const [k, host] of hosts.entries()) {
      api.addDroplet({ id: 3001 + k, name: host.name, publicIp: host.address, privateIp: ip(101 + k), tags: ['sample-app'] });
    }
    writeFileSync(path.join(dir, 'known_hosts'), `${hosts.map((h) => h.knownHostsLine).join('\n')}\n`);
    const apiUrl = await api.listen(8090, ip(1));
    // The worker's policy names the fleet's registry: the password goes nowhere else.
    const workerEnv = { DIGITALOCEAN_TOKEN: SANDBOX_TOKEN, DIGITALOCEAN_API_URL: apiUrl, DEPLOY_SSH_KEY_PATH: keyPath, REGISTRY_PASSWORD, DEPLOYER_REGISTRIES: reg.server };

    const fleetConfig = (overrides: Record<string, unknown> = {}, file = path.join(dir, 'deploy.config.yaml'), extraFiles: { from: string; to: string }[] = []) => {
      const doc = parse(readFileSync(SAMPLE_CONFIG, 'utf8'));
      doc.digitalocean.apiUrl = apiUrl;
      const prod = doc.environments.production;
      prod.ssh.privateKeyPath = keyPath;
      prod.ssh.knownHostsPath = path.join(dir, 'known_hosts');
      prod.registry.server = reg.server;
      if (prod.loadBalancer?.observe) prod.loadBalancer.observe.url = `http://${ip(10)}:8000/healthcheck`; // this fleet's LB
      for (const f of prod.files) f.from = path.join(path.dirname(SAMPLE_CONFIG), f.from);
      prod.files.push(...extraFiles);
      const { healthCheck: health, notify, observe, ...rollout } = overrides as { healthCheck?: Record<string, unknown>; notify?: Record<string, unknown>; observe?: false };
      if (notify) prod.notify = notify;
      if (observe === false) prod.loadBalancer = { name: prod.loadBalancer.name }; // drain and settle as timers
      prod.rollout = { ...prod.rollout, ...rollout };
      prod.healthCheck = Object.fromEntries(Object.entries({ ...prod.healthCheck, ...health }).filter(([, v]) => v !== null)); // null drops a key
      writeFileSync(file, stringify(doc));
      return file;
    };
    const configPath = fleetConfig();

    // Bootstrap: every droplet runs the initial release, through the deployer's own activities.
    log(`deploying ${initial} to every droplet`);
    const { plan } = loadEnvironment(configPath, 'production');
    const acts = createActivities(realDependencies({ ...process.env, ...workerEnv }));
    const digest = filesDigest(plan.remote.files);
    const targets = hosts.map((h) => ({ id: 3000 + Number(h.name.slice(4)), name: h.name, address: h.address }));
    await Promise.all(targets.map(async (droplet) => {
      const input = { droplet, remote: plan.remote, secrets: plan.secrets };
      const releaseDir = await acts.uploadRelease({ ...input, release: initial, releaseId: makeReleaseId(initial, new Date('2026-01-01T00:00:00Z')), filesDigest: digest });
      await acts.activateRelease({ ...input, releaseDir });
      await acts.startRelease(input);
      await acts.pollHealth({ ...input, healthCheck: plan.healthCheck, release: initial });
    }));

    const lbInfo: FakeLoadBalancer = { id: 'sandbox-lb-0001', name: 'sandbox-lb', ip: ip(10), status: 'active', dropletIds: targets.map((t) => t.id), healthCheck };
    api.addLoadBalancer(lbInfo);
    lb = new HaproxyLoadBalancer({
      dir, bindAddress: ip(10), bindPort: 8000, healthCheck,
      backends: targets.map((t) => ({ dropletId: t.id, name: t.name, address: t.address, port: 8080 })),
      initialMembers: lbInfo.dropletIds,
    });
    await lb.start();
    const haproxy = lb;
    api.onMembershipChange = (_lb, ids) => {
      haproxy.applyMembership(ids).catch((err) => log(`haproxy: ${(err as Error).message}`));
    };
    log(`load balancer sandbox-lb on ${haproxy.url}, API on ${apiUrl}`);

    return {
      dir, api, lb: haproxy, hosts, registry: reg, publish, configPath, workerEnv,
      async releases() {
        const entries = await Promise.all(hosts.map(async (h) => {
          try {
            const res = await fetch(`http://${h.address}:8080/healthcheck`, { signal: AbortSignal.timeout(1000) });
            return [h.name, ((await res.json()) as { release: string }).release] as const;
          } catch {
            return [h.name, null] as const;
          }
        }));
        return Object.fromEntries(entries);
      },
      attached: () => api.members(lbInfo).map((id) => hosts[id - 3001].name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
      writeConfig: (overrides = {}, extraFiles = []) => fleetConfig(overrides, path.join(dir, `deploy.config.${Date.now()}.yaml`), extraFiles),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
