// Loads deploy.config.yaml and resolves one environment into an EnvironmentPlan.
// Every error names the file, the field and what to write instead.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type DeployConfigFile, type EnvironmentConfigFile } from './schema';
import { parseDuration } from './duration';
import type { EnvironmentPlan, ObserveSpec, RolloutPolicy, StepPolicy, UploadFile } from '../types';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Step defaults: timeouts per attempt, retries for transient SSH and API trouble. A load-balancer call is one
 * short API request: 10 s per attempt means a worker lost mid-call costs seconds; 10 attempts ride out 429s. */
const STEP_DEFAULTS: Record<keyof EnvironmentPlan['rollout']['steps'], { timeout: string; attempts: number }> = {
  record: { timeout: '1m', attempts: 5 },
  loadBalancer: { timeout: '10s', attempts: 10 },
  upload: { timeout: '5m', attempts: 5 },
  // Per attempt for a group of droplets: upload and pull, before any detach. Nothing is out of the LB yet, so it
  // can wait: 8 attempts ride out about 2 minutes of registry or network trouble (3 rode out 6 s).
  stage: { timeout: '15m', attempts: 8 },
  start: { timeout: '10m', attempts: 3 },
  health: { timeout: '0s', attempts: 2 }, // 0 → derived from healthCheck.timeout
};

export function readConfigFile(file: string): DeployConfigFile {
  if (!existsSync(file)) {
    throw new ConfigError(
      `${file}: no such file. Copy deploy.config.example.yaml to deploy.config.yaml and edit it, or pass --config <file>.`,
    );
  }
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${file}: not valid YAML: ${doc.errors[0].message}`);
  }
  let data: unknown;
  try {
    data = doc.toJS(); // an alias bomb (billion laughs) stops here: a configuration error, not a crash
  } catch (err) {
    throw new ConfigError(`${file}: not usable YAML: ${(err as Error).message}`);
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error.issues));
  return parsed.data;
}

function formatIssues(file: string, issues: z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, 8).map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return `  - ${field}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against deploy.config.example.yaml`;
    }
    return `  - ${field}: ${issue.message}`;
  });
  return `${file}: invalid configuration:\n${lines.join('\n')}`;
}

export function environmentNames(config: DeployConfigFile): string[] {
  return Object.keys(config.environments);
}

/** Resolve one environment: durations to ms, paths to absolute, defaults filled in. */
/** `checkFiles: false` (the operator's CLI): the files are read where the worker runs, whose preflight names a missing one. */
export function resolveEnvironment(file: string, config: DeployConfigFile, env: string, opts: { checkFiles?: boolean } = {}): EnvironmentPlan {
  const envConfig = config.environments[env];
  if (!envConfig) {
    const known = environmentNames(config).join(', ') || '(none)';
    throw new ConfigError(`${file}: unknown environment "${env}". Known environments: ${known}.`);
  }
  const at = (field: string) => `${file}: environments.${env}.${field}`;
  const duration = (field: string, value: string | number) => {
    try {
      return parseDuration(value);
    } catch (err) {
      throw new ConfigError(`${at(field)}: ${(err as Error).message}`);
    }
  };
  const baseDir = path.dirname(path.resolve(file));
  const files = releaseFiles(envConfig, baseDir, at, opts.checkFiles !== false);
  const healthTimeoutMs = duration('healthCheck.timeout', envConfig.healthCheck.timeout);
  const rollout = envConfig.rollout;
  const steps = stepPolicies(rollout, duration, healthTimeoutMs);
  if (!envConfig.loadBalancer && !rollout.acceptDowntime) {
    throw new ConfigError(
      `${at('loadBalancer')}: "${env}" has no load balancer, so every restart is an outage. ` +
        `Add loadBalancer, or set environments.${env}.rollout.acceptDowntime: true to accept it.`,
    );
  }
  if (envConfig.healthCheck.url && !/^https?:\/\//.test(envConfig.healthCheck.url)) {
    throw new ConfigError(`${at('healthCheck.url')}: "${envConfig.healthCheck.url}" must start with http:// or https://`);
  }
  return {
    app: config.app,
    env,
    configPath: path.resolve(file),
    apiUrl: config.digitalocean.apiUrl,
    loadBalancer: envConfig.loadBalancer ? ('id' in envConfig.loadBalancer ? { id: envConfig.loadBalancer.id } : { name: envConfig.loadBalancer.name }) : undefined,
    droplets: envConfig.droplets,
    remote: {
      user: envConfig.ssh.user,
      port: envConfig.ssh.port,
      addressType: envConfig.ssh.address,
      knownHostsPath: envConfig.ssh.knownHostsPath ? localPath(baseDir, envConfig.ssh.knownHostsPath) : undefined,
      hostKeys: envConfig.ssh.hostKeys,
      connectTimeoutMs: duration('ssh.connectTimeout', envConfig.ssh.connectTimeout),
      remoteDir: envConfig.remoteDir.replace(/\/+$/, ''),
      keepReleases: envConfig.keepReleases,
      files,
      composeFiles: envConfig.compose.files,
      composeProject: envConfig.compose.project,
      registry: envConfig.registry ? { server: envConfig.registry.server, username: envConfig.registry.username } : undefined,
      pruneImages: rollout.pruneImages,
    },
    ...(envConfig.notify ? { notify: { webhookUrlEnv: envConfig.notify.webhookUrlEnv } } : {}),
    ...(envConfig.loadBalancer?.observe ? { observe: observeSpec(envConfig.loadBalancer.observe, duration) } : {}),
    healthCheck: {
      url: envConfig.healthCheck.url,
      command: envConfig.healthCheck.command,
      compose: envConfig.healthCheck.compose,
      expectStatus: envConfig.healthCheck.expectStatus,
      releaseMarker: envConfig.healthCheck.releaseMarker,
      intervalMs: duration('healthCheck.interval', envConfig.healthCheck.interval),
      timeoutMs: healthTimeoutMs,
      requestTimeoutMs: duration('healthCheck.requestTimeout', envConfig.healthCheck.requestTimeout),
      successes: envConfig.healthCheck.successes,
    },
    rollout: rolloutPolicy(rollout, duration, steps),
    secrets: {
      tokenEnv: config.digitalocean.tokenEnv,
      sshKeyEnv: envConfig.ssh.privateKeyEnv,
      sshKeyPath: envConfig.ssh.privateKeyPath ? localPath(baseDir, envConfig.ssh.privateKeyPath) : undefined,
      registryPasswordEnv: envConfig.registry?.passwordEnv,
    },
  };
}

type EnvironmentConfig = EnvironmentConfigFile;
type Duration = (field: string, value: string | number) => number;

/** The files uploaded into each release: found (when checked), kept inside the release directory, secret-looking ones 0600. */
function releaseFiles(envConfig: EnvironmentConfig, baseDir: string, at: (field: string) => string, checkFiles: boolean): UploadFile[] {
  const files = envConfig.files.map((f, i) => {
    const from = path.resolve(baseDir, f.from);
    if (checkFiles && !existsSync(from)) throw new ConfigError(`${at(`files[${i}].from`)}: ${f.from} does not exist (resolved to ${from})`);
    const to = f.to ?? path.basename(f.from);
    if (path.isAbsolute(to) || to.split('/').includes('..')) {
      throw new ConfigError(`${at(`files[${i}].to`)}: "${to}" must be a relative path inside the release directory`);
    }
    return { from, to, secret: f.secret ?? looksSecret(to) };
  });
  const uploaded = new Set(files.map((f) => f.to));
  envConfig.compose.files.forEach((c, i) => {
    if (!uploaded.has(c)) throw new ConfigError(`${at(`compose.files[${i}]`)}: "${c}" is not among the uploaded files[].to; add it to files`);
  });
  return files;
}

/** Each step's timeout and attempts: the config's, else the defaults. */
function stepPolicies(rollout: EnvironmentConfig['rollout'], duration: Duration, healthTimeoutMs: number): RolloutPolicy['steps'] {
  const steps = {} as RolloutPolicy['steps'];
  for (const key of Object.keys(STEP_DEFAULTS) as (keyof typeof STEP_DEFAULTS)[]) {
    const given = rollout.steps[key] ?? {};
    const timeoutMs = duration(`rollout.steps.${key}.timeout`, given.timeout ?? STEP_DEFAULTS[key].timeout);
    const policy: StepPolicy = { timeoutMs, maximumAttempts: given.attempts ?? STEP_DEFAULTS[key].attempts };
    // The health poll has its own deadline; its activity gets that plus room for the last probe.
    if (key === 'health' && timeoutMs === 0) policy.timeoutMs = healthTimeoutMs + 30_000;
    steps[key] = policy;
  }
  return steps;
}

/** The rollout's policy with every duration in milliseconds. */
function rolloutPolicy(rollout: EnvironmentConfig['rollout'], duration: Duration, steps: RolloutPolicy['steps']): RolloutPolicy {
  return {
    batchSize: rollout.batchSize,
    minAttached: rollout.acceptDowntime ? 0 : rollout.minAttached,
    acceptDowntime: rollout.acceptDowntime,
    drainDelayMs: duration('rollout.drainDelay', rollout.drainDelay),
    settleDelayMs: rollout.settleDelay === 'auto' ? 'auto' : duration('rollout.settleDelay', rollout.settleDelay),
    settleMarginMs: duration('rollout.settleMargin', rollout.settleMargin),
    bakeMs: duration('rollout.bake', rollout.bake),
    ...(rollout.releaseCommand ? {
      releaseCommand: {
        service: rollout.releaseCommand.service, command: rollout.releaseCommand.command, on: rollout.releaseCommand.on,
        timeoutMs: duration('rollout.releaseCommand.timeout', rollout.releaseCommand.timeout), attempts: rollout.releaseCommand.attempts,
      },
    } : {}),
    ...(rollout.approve === 'after-first-batch' ? {
      approve: 'after-first-batch' as const,
      approveTimeoutMs: rollout.approveTimeout === undefined ? undefined : duration('rollout.approveTimeout', rollout.approveTimeout),
      onApproveTimeout: rollout.onApproveTimeout,
    } : {}),
    onFailure: rollout.onFailure,
    ...(rollout.onMembershipChange === 'pause' ? { onMembershipChange: 'pause' as const } : {}),
    stageConcurrency: rollout.stageConcurrency,
    steps,
  };
}

/** Drain and settle watched through the load balancer, with their maximums in milliseconds. */
function observeSpec(o: NonNullable<NonNullable<EnvironmentConfig['loadBalancer']>['observe']>, duration: Duration): ObserveSpec {
  return {
    url: o.url, droplet: o.droplet, release: o.release, servings: o.servings,
    maxDrainMs: duration('loadBalancer.observe.maxDrain', o.maxDrain), maxSettleMs: duration('loadBalancer.observe.maxSettle', o.maxSettle),
  };
}

/** Just the app and environment names (what the control verbs need): no files, paths or secrets are looked at. */
export function appAndEnvironment(file: string, env: string): { app: string; env: string } {
  // A control verb needs only the names: without a config, --app is the fix (a copied config would be a second one).
  if (!existsSync(file)) throw new ConfigError(`${file}: no such file. Name the app instead: --app <app> (or pass --config <file>).`);
  const config = readConfigFile(file);
  if (!config.environments[env]) {
    const known = environmentNames(config).join(', ') || '(none)';
    throw new ConfigError(`${file}: unknown environment "${env}". Known environments: ${known}.`);
  }
  return { app: config.app, env };
}

/** The release to deploy: --release wins, else the environment's `release`. */
export function chooseRelease(file: string, envConfig: EnvironmentConfigFile, env: string, flag?: string): string {
  const release = flag ?? envConfig.release;
  if (!release) throw new ConfigError(`no release given for "${env}": pass --release <tag> or set environments.${env}.release in ${file}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(release)) {
    throw new ConfigError(`release "${release}" is not a valid image tag (letters, digits, ".", "_", "-"; at most 128)`);
  }
  return release;
}

export function loadEnvironment(file: string, env: string): { plan: EnvironmentPlan; config: DeployConfigFile } {
  const config = readConfigFile(file);
  return { plan: resolveEnvironment(file, config, env), config };
}

/** Env files and private keys are written 0600 unless a file says otherwise: world-readable by mistake is a leak. */
export function looksSecret(to: string): boolean {
  const base = path.posix.basename(to);
  return /^\.env(\..*)?$|\.env$|\.(key|pem|p12|pfx)$|^id_(rsa|dsa|ecdsa|ed25519)$/.test(base);
}

/** A path on the worker's machine: "~/" is the home directory, relative paths are next to the config file. */
function localPath(baseDir: string, p: string): string {
  return p.startsWith('~/') ? path.join(process.env.HOME ?? '/', p.slice(2)) : path.resolve(baseDir, p);
}
