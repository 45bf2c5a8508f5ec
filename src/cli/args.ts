// Command-line parsing for `npm run start-deploy -- <env>` and `npm run deploy -- <verb> <env>`.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage:
  npm run start-deploy -- <env> [--config <file>] [--release <tag>] [--batch-size N] [--dry-run] [--detach] [--json]
  npm run deploy -- status|watch|pause|resume|abort <env> [--config <file>] [--rollback] [--json]
  npm run deploy -- history <env> [--config <file>] [--limit N] [--json]
  npm run deploy -- report <workflow-id> [--svg <file>]

  --config <file>    deploy configuration (default ./deploy.config.yaml)
  --release <tag>    image tag to deploy (default: the environment's "release" in the config)
  --batch-size N     droplets updated at once (default: rollout.batchSize)
  --dry-run          resolve the fleet and print the plan; change nothing
  --detach           start the rollout and return; follow it later with "deploy status"
  --json             machine-readable output, one JSON object per line
  --rollback         with abort: also return updated droplets to their previous release
  --limit N          with history: how many past rollouts to list (default 10)
  --svg <file>       with report: write the rollout's timeline picture there

exit codes: 0 succeeded, 1 failed (rolled back or not), 2 usage or configuration error, 3 aborted`;

export type Verb = 'start' | 'status' | 'watch' | 'history' | 'report' | 'pause' | 'resume' | 'abort';
const VERBS: Verb[] = ['start', 'status', 'watch', 'history', 'report', 'pause', 'resume', 'abort'];

export interface CliArgs {
  verb: Verb;
  env: string;
  config: string;
  release?: string;
  batchSize?: number;
  dryRun: boolean;
  detach: boolean;
  json: boolean;
  rollback: boolean;
  limit: number;
  svg?: string;
}

export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        release: { type: 'string', short: 'r' },
        'batch-size': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        detach: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        rollback: { type: 'boolean', default: false },
        limit: { type: 'string' },
        svg: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  const [verb, env, ...extra] = positionals;
  if (!verb || !VERBS.includes(verb as Verb)) throw new UsageError(verb ? `unknown command "${verb}"` : 'missing command');
  if (!env) throw new UsageError(verb === 'report' ? 'missing workflow ID (for example: rollout-sample-app-production)' : 'missing environment name (for example: production)');
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  let batchSize: number | undefined;
  if (values['batch-size'] !== undefined) {
    batchSize = Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a whole number ≥ 1, got "${values['batch-size']}"`);
  }
  const limit = values.limit === undefined ? 10 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number ≥ 1, got "${values.limit}"`);
  return {
    verb: verb as Verb,
    limit,
    svg: values.svg,
    env,
    config: values.config ?? 'deploy.config.yaml',
    release: values.release,
    batchSize,
    dryRun: values['dry-run'] ?? false,
    detach: values.detach ?? false,
    json: values.json ?? false,
    rollback: values.rollback ?? false,
  };
}
