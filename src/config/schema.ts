// The shape of deploy.config.yaml. Unknown keys are errors: a typo must not silently become a default.
import { z } from 'zod';

const duration = z.union([z.string(), z.number().nonnegative()]);
const name = z.string().min(1);

const stepPolicy = z
  .object({ timeout: duration.optional(), attempts: z.number().int().min(1).max(100).optional() })
  .strict();

const answerField = z.string().regex(/^(json|header):\S+$/, 'where an answer says it: "json:<field>" or "header:<name>"');

// Drain and settle watched through the load balancer instead of timed (src/activities/observe.ts says why).
const observe = z
  .object({
    url: z.string().regex(/^https?:\/\/\S+$/, 'an http:// or https:// URL of the load balancer\'s public address'),
    droplet: answerField.describe('where an answer names the droplet that served it (its name or address)'),
    release: answerField.describe('where an answer names its release'),
    servings: z.number().int().min(1).max(20).default(2).describe('answers with the new release through the LB that end a settle'),
    maxDrain: duration.default('30s'),
    maxSettle: duration.default('90s'),
  })
  .strict();

export const environmentSchema = z
  .object({
    loadBalancer: z
      .union([z.object({ id: name, observe: observe.optional() }).strict(), z.object({ name, observe: observe.optional() }).strict()])
      .optional()
      .describe('load balancer by id or by name'),
    droplets: z.union([
      z.object({ tag: name }).strict(),
      z.object({ names: z.array(name).min(1) }).strict(),
      z.object({ ids: z.array(z.number().int().positive()).min(1) }).strict(),
    ]),
    ssh: z
      .object({
        user: name.default('root'),
        port: z.number().int().min(1).max(65535).default(22),
        address: z.enum(['public', 'private']).default('public'),
        privateKeyPath: name.optional(),
        privateKeyEnv: name.default('DEPLOY_SSH_KEY_PATH'),
        knownHostsPath: name.optional(),
        hostKeys: z.record(z.string(), z.string().regex(/^SHA256:[A-Za-z0-9+/=]+$/, 'a fingerprint like "SHA256:…" (ssh-keygen -lf)')).default({}),
        connectTimeout: duration.default('15s'),
      })
      .strict()
      // prefault, not default: a left-out section is parsed as {} so its fields get their own defaults.
      .prefault({}),
    release: name.optional().describe('default release (image tag) when --release is not given'),
    remoteDir: name,
    keepReleases: z.number().int().min(2).max(50).default(5),
    files: z
      .array(z.object({ from: name, to: name.optional(), secret: z.boolean().optional().describe('mode 0600; default: true for env files and private keys') }).strict())
      .min(1),
    compose: z
      .object({ files: z.array(name).min(1), project: name.regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, "-" and "_"') })
      .strict(),
    registry: z
      .object({ server: name, username: name, passwordEnv: name.regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') })
      .strict()
      .optional(),
    // The webhook URL is a secret (it lets anyone post): only the name of the worker's variable holding it.
    notify: z
      .object({ webhookUrlEnv: name.regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') })
      .strict()
      .optional(),
    healthCheck: z
      .object({
        url: name.optional(),
        command: name.optional(),
        compose: z.boolean().default(false).describe('also require every compose service with a healthcheck to be "healthy"'),
        expectStatus: z.number().int().min(100).max(599).default(200),
        releaseMarker: z.boolean().default(true),
        interval: duration.default('2s'),
        timeout: duration.default('2m'),
        requestTimeout: duration.default('5s'),
        successes: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .refine((h) => !(h.url && h.command), { message: 'set exactly one of url or command' })
      .refine((h) => Boolean(h.url || h.command || h.compose), { message: 'set url, command or compose: true (compose may go with either)' }),
    rollout: z
      .object({
        batchSize: z.number().int().min(1).default(1),
        minAttached: z.number().int().min(0).default(1),
        acceptDowntime: z.boolean().default(false),
        drainDelay: duration.default('10s'),
        settleDelay: z.union([z.literal('auto'), duration]).default('auto'),
        settleMargin: duration.default('5s'),
        bake: duration.default('0s'),
        // Run once per rollout, after staging and before the first detach (database migrations, say).
        releaseCommand: z
          .object({
            service: name,
            command: name,
            timeout: duration.default('10m'),
            on: name.optional(),
            attempts: z.number().int().min(1).max(10).default(1), // a migration is not always idempotent
          })
          .strict()
          .optional(),
        // Canary: after the first batch is deployed and settled, wait for `deploy approve <env>`.
        approve: z.enum(['none', 'after-first-batch']).default('none'),
        approveTimeout: duration.optional(),
        onApproveTimeout: z.enum(['rollback', 'pause']).default('rollback'),
        onFailure: z.enum(['rollback', 'pause', 'stop']).default('rollback'),
        // A droplet found already out of (or in) the LB when the rollout came to move it: someone else changed it.
        onMembershipChange: z.enum(['warn', 'pause']).default('warn'),
        pruneImages: z.boolean().default(false),
        stageConcurrency: z.number().int().min(1).max(100).default(8),
        steps: z
          .object({
            record: stepPolicy.optional(),
            loadBalancer: stepPolicy.optional(),
            upload: stepPolicy.optional(),
            stage: stepPolicy.optional(),
            start: stepPolicy.optional(),
            health: stepPolicy.optional(),
          })
          .strict()
          .default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const configSchema = z
  .object({
    app: name.regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'),
    digitalocean: z
      .object({
        tokenEnv: name.regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').default('DIGITALOCEAN_TOKEN'),
        apiUrl: z.url().optional(),
      })
      .strict()
      .default({ tokenEnv: 'DIGITALOCEAN_TOKEN' }),
    environments: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'), environmentSchema),
  })
  .strict();

export type DeployConfigFile = z.infer<typeof configSchema>;
export type EnvironmentConfigFile = z.infer<typeof environmentSchema>;
