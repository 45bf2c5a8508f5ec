// Deploy-domain types shared by the CLI, workflows and activities: the plan (config resolved), the fleet, a
// droplet's saga input and report. The rollout's status, carry and wire types are in rollout-status.ts.
// Everything here travels through Temporal history: it must never hold a secret,
// only the *names* of environment variables and paths of files that hold them.

export type DropletSelector = { tag: string } | { names: string[] } | { ids: number[] };
export type LoadBalancerRef = { id: string } | { name: string };

/** Where the worker finds secrets at run time; names and paths only, never values. */
export interface SecretRefs {
  /** Environment variable holding the DigitalOcean API token. */
  tokenEnv: string;
  /** Environment variable holding the SSH private key path (wins over `sshKeyPath`). */
  sshKeyEnv: string;
  sshKeyPath?: string;
  /** Environment variable holding the container registry password. */
  registryPasswordEnv?: string;
}

export interface UploadFile {
  /** Absolute path on the worker's machine. */
  from: string;
  /** Path inside the release directory on the droplet. */
  to: string;
  /** Written with mode 0600 (env files, TLS keys). */
  secret: boolean;
}

export interface RemoteSpec {
  user: string;
  port: number;
  addressType: 'public' | 'private';
  knownHostsPath?: string;
  /** droplet name → pinned host key fingerprint ("SHA256:…"). */
  hostKeys: Record<string, string>;
  connectTimeoutMs: number;
  /** Release layout root on the droplet; relative paths are under the SSH user's home. */
  remoteDir: string;
  keepReleases: number;
  files: UploadFile[];
  composeFiles: string[];
  composeProject: string;
  registry?: { server: string; username: string };
  pruneImages: boolean;
}

export interface HealthCheckSpec {
  /** URL probed from the worker; `{host}` becomes the droplet's address. */
  url?: string;
  /** Command run on the droplet over SSH instead; exit 0 is healthy, stdout is the body. */
  command?: string;
  /** Also (or only) the containers' own healthchecks: every compose service that has one must be "healthy". */
  compose?: boolean;
  expectStatus: number;
  /** The body must name the release being deployed (guards against the old process answering). */
  releaseMarker: boolean;
  intervalMs: number;
  timeoutMs: number;
  requestTimeoutMs: number;
  successes: number;
}

export type StepName =
  | 'record-previous'
  | 'detach'
  | 'drain'
  | 'upload'
  | 'activate'
  | 'switch'
  | 'start'
  | 'health'
  | 'attach'
  | 'settle'
  | 'verify'
  | 'restore'
  | 'restore-health'
  | 'reattach';

export interface StepPolicy {
  timeoutMs: number;
  maximumAttempts: number;
}

export type OnFailure = 'rollback' | 'pause' | 'stop';

export interface RolloutPolicy {
  batchSize: number;
  minAttached: number;
  acceptDowntime: boolean;
  drainDelayMs: number;
  /** 'auto' derives it from the load balancer's health_check. */
  settleDelayMs: number | 'auto';
  settleMarginMs: number;
  bakeMs: number;
  onFailure: OnFailure;
  /** Someone else moved a droplet in or out of the LB during the rollout: pause after its batch (absent: warn and go on). */
  onMembershipChange?: 'pause';
  /** Once per rollout, after staging, before the first detach: `compose run --rm <service> <command>` on one droplet. */
  releaseCommand?: { service: string; command: string; on?: string; timeoutMs: number; attempts: number };
  /** Canary: wait for an operator's approval after the first batch (absent: no wait). */
  approve?: 'after-first-batch';
  /** Without approval by then, roll back (or pause); absent: wait as long as it takes. */
  approveTimeoutMs?: number;
  onApproveTimeout?: 'rollback' | 'pause';
  /** Droplets staged at once before the first detach (upload and pull). */
  stageConcurrency: number;
  steps: Record<'record' | 'loadBalancer' | 'upload' | 'stage' | 'start' | 'health', StepPolicy>;
}

/**
 * How to watch a droplet through the load balancer (drain and settle observed): the LB's public address, and where
 * an answer names the droplet that served it and its release ("json:<field>" or "header:<name>").
 */
export interface ObserveSpec {
  url: string;
  droplet: string;
  release: string;
  /** Answers with the new release through the LB that end a settle. */
  servings: number;
  /** Upper bounds: past them the rollout goes on as the timers did, and says so. */
  maxDrainMs: number;
  maxSettleMs: number;
}

/** One environment of one app, fully resolved from deploy.config.yaml. */
export interface EnvironmentPlan {
  app: string;
  env: string;
  configPath: string;
  apiUrl?: string;
  loadBalancer?: LoadBalancerRef;
  droplets: DropletSelector;
  remote: RemoteSpec;
  healthCheck: HealthCheckSpec;
  rollout: RolloutPolicy;
  secrets: SecretRefs;
  /** Where rollout events are posted: the worker's variable holding the webhook URL. */
  notify?: { webhookUrlEnv: string };
  /** Drain and settle observed through the load balancer; absent: timers. */
  observe?: ObserveSpec;
}

export interface DropletTarget {
  id: number;
  name: string;
  /** Address the worker uses for SSH and health checks. */
  address: string;
}

export interface LoadBalancerHealthCheck {
  protocol: string;
  port: number;
  path?: string;
  checkIntervalSeconds: number;
  responseTimeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface LoadBalancerInfo {
  id: string;
  name: string;
  status: string;
  /** Set when the LB targets droplets by tag: membership is then the tag. */
  tag?: string;
  dropletIds: number[];
  healthCheck: LoadBalancerHealthCheck;
}

export interface Fleet {
  droplets: DropletTarget[];
  loadBalancer?: LoadBalancerInfo;
  /** The token's quota as the API reported it after the fleet was read (absent: it sent no ratelimit headers). */
  quota?: QuotaReading;
}

/** DigitalOcean's ratelimit-* headers, as last answered. */
export interface QuotaReading {
  /** Requests allowed in any hour (ratelimit-limit). */
  limit: number;
  /** Left in the current hour, as last answered, less what this worker sent since. */
  remaining: number;
  /** When the oldest counted request expires (ms since the epoch): one more request is allowed then. */
  resetAt: number;
  readAt: number;
}

/** What a droplet ran before this rollout touched it. */
export interface PreviousRelease {
  /** Absent when the directory has no RELEASE file (set up by hand or by the old script): its name is not known. */
  release?: string;
  releaseDir: string;
}

export interface StepRecord {
  step: StepName;
  startedAt: number;
  endedAt?: number;
  ok?: boolean;
  error?: string;
  /** A drain or settle watched through the load balancer: seen to happen, or ended by its maximum. */
  how?: 'observed' | 'maximum';
  /** What the observation saw (how many answers, from whom). */
  detail?: string;
  /** Requests the watch sent through the load balancer: what observing cost. */
  requests?: number;
  /** An LB change: the token's quota as the API answered it afterwards. */
  quota?: QuotaReading;
  /** An LB change found the droplet already as asked: someone else moved it during the rollout. */
  changedElsewhere?: string;
}

export type DropletMode = 'deploy' | 'rollback';

export interface DropletDeployInput {
  rolloutId: string;
  app: string;
  env: string;
  mode: DropletMode;
  droplet: DropletTarget;
  loadBalancer?: LoadBalancerInfo;
  /** Release to run when done: the new one, or for a rollback the recorded previous one. */
  release: string;
  /** Directory name for a fresh upload (deploy mode). */
  releaseId?: string;
  /** Recorded release to return to (rollback mode). */
  restoreTo?: PreviousRelease;
  /** The release was staged on every droplet before the first detach: no upload or pull while detached. */
  staged?: boolean;
  filesDigest: string;
  apiUrl?: string;
  secrets: SecretRefs;
  drainDelayMs: number;
  settleDelayMs: number;
  remote: RemoteSpec;
  healthCheck: HealthCheckSpec;
  steps: RolloutPolicy['steps'];
  /** Drain and settle observed through the LB (droplets in rotation besides this one size the quiet run). */
  observe?: ObserveSpec & { inRotation: number };
  /** Droplets in its batch: their detaches (and attaches ready together) share one LB change. */
  together?: number;
}

export type DropletOutcome = 'deployed' | 'rolled-back' | 'restored' | 'needs-attention';

export interface DropletReport {
  droplet: string;
  mode: DropletMode;
  outcome: DropletOutcome;
  release: string;
  previous: PreviousRelease | null;
  releaseDir?: string;
  steps: StepRecord[];
  error?: string;
  compensationError?: string;
  /** Why it ended as it did when that is not obvious (an abort that came after it was back in service). */
  note?: string;
}
