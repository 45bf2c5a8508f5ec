// Command-line parsing for `npm run start-deploy -- <env>` and `npm run deploy -- <verb> <env>`.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--help`: prints the usage (of one verb when given) and exits 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
}

const LINES: Record<string, string> = {
  start: 'npm run start-deploy -- <env> [--config <file>] [--release <tag>] [--batch-size N] [--dry-run] [--detach] [--json]',
  control: 'npm run deploy -- status|watch|pause|resume|approve|abort <env> [--config <file> | --app <app>] [--rollback] [--json]',
  rollback: 'npm run deploy -- rollback <env> [--to <tag>] [--config <file>] [--dry-run] [--detach] [--json]',
  history: 'npm run deploy -- history <env> [--config <file> | --app <app>] [--limit N] [--json]',
  report: 'npm run deploy -- report <workflow-id> [--svg <file>]',
};

const OPTIONS: Record<string, string> = {
  config: '  --config <file>    deploy configuration (default ./deploy.config.yaml)',
  app: '  --app <app>        the app\'s name instead of a config file (control verbs need only app and environment)',
  release: '  --release <tag>    image tag to deploy (default: the environment\'s "release" in the config)',
  'batch-size': '  --batch-size N     droplets updated at once (default: rollout.batchSize)',
  to: '  --to <tag>         with rollback: the newest kept release with this tag, instead of the one before the last rollout',
  approve: '  --approve-after-first-batch   a canary: after the first batch, wait for "deploy approve <env>"',
  'dry-run': '  --dry-run          resolve the fleet and print the plan (on the worker); change nothing',
  detach: '  --detach           start the rollout and return; follow it later with "deploy status"',
  json: '  --json             machine-readable output, one JSON object per line',
  rollback: '  --rollback         with abort: also return updated droplets to their previous release',
  limit: '  --limit N          with history: how many past rollouts to list (default 10)',
  svg: '  --svg <file>       with report: write the rollout\'s timeline picture there',
};

const VERB_HELP: Record<string, { line: string; options: string[]; what: string }> = {
  start: { line: LINES.start, options: ['config', 'release', 'batch-size', 'approve', 'dry-run', 'detach', 'json'], what: 'Plan the rollout on the worker (fleet, preflight), print it, start it and follow it to the end.' },
  status: { line: 'npm run deploy -- status <env> [--config <file> | --app <app>] [--json]', options: ['config', 'app', 'json'], what: 'The newest rollout of the environment: phase, batches, each droplet\'s steps.' },
  watch: { line: 'npm run deploy -- watch <env> [--config <file> | --app <app>] [--json]', options: ['config', 'app', 'json'], what: 'Follow the running rollout to its end; the exit code is its outcome.' },
  pause: { line: 'npm run deploy -- pause <env> [--config <file> | --app <app>]', options: ['config', 'app', 'json'], what: 'Stop before the next batch; the batch in flight finishes.' },
  resume: { line: 'npm run deploy -- resume <env> [--config <file> | --app <app>]', options: ['config', 'app', 'json'], what: 'Continue a paused rollout.' },
  abort: { line: 'npm run deploy -- abort <env> [--config <file> | --app <app>] [--rollback]', options: ['config', 'app', 'rollback', 'json'], what: 'Stop now: droplets in flight are restored and re-attached.' },
  rollback: { line: LINES.rollback, options: ['config', 'to', 'dry-run', 'detach', 'json'], what: 'Return every droplet to the release it ran before the last rollout (or to the newest kept --to <tag>), from the release directories kept on the droplets, through the same zero-downtime saga. --dry-run shows where each droplet would go.' },
  approve: { line: 'npm run deploy -- approve <env> [--config <file> | --app <app>]', options: ['config', 'app', 'json'], what: 'Let a canary rollout (rollout.approve: after-first-batch) go on after its first batch.' },
  history: { line: LINES.history, options: ['config', 'app', 'limit', 'json'], what: 'Past rollouts of the environment, newest first.' },
  report: { line: LINES.report, options: ['svg'], what: 'A rollout\'s step timeline, as text (and as SVG with --svg).' },
};

const EXIT_CODES = 'exit codes: 0 succeeded, 1 failed (rolled back or not), 2 usage or configuration error (nothing was touched), 3 aborted';

/** One verb's usage: what it does, its line, its options. */
export function verbUsage(verb: string): string {
  const help = VERB_HELP[verb];
  return `usage: ${help.line}\n\n${help.what}\n\n${help.options.map((o) => OPTIONS[o]).join('\n')}\n\n${EXIT_CODES}`;
}

export const USAGE = `usage:
  ${LINES.start}
  ${LINES.rollback}
  ${LINES.control}
  ${LINES.history}
  ${LINES.report}

  --config <file>    deploy configuration (default ./deploy.config.yaml)
  --app <app>        with status|watch|pause|resume|approve|abort|history: the app's name instead of a config file
  --to <tag>         with rollback: go to the newest kept release with this tag
  --approve-after-first-batch   with start: wait for "deploy approve <env>" after the first batch (a canary)
  --release <tag>    image tag to deploy (default: the environment's "release" in the config)
  --batch-size N     droplets updated at once (default: rollout.batchSize)
  --dry-run          resolve the fleet and print the plan (on the worker); change nothing
  --detach           start the rollout and return; follow it later with "deploy status"
  --json             machine-readable output, one JSON object per line
  --rollback         with abort: also return updated droplets to their previous release
  --limit N          with history: how many past rollouts to list (default 10)
  --svg <file>       with report: write the rollout's timeline picture there

${EXIT_CODES}`;

export type Verb = 'start' | 'rollback' | 'status' | 'watch' | 'history' | 'report' | 'pause' | 'resume' | 'approve' | 'abort';
const VERBS: Verb[] = ['start', 'rollback', 'status', 'watch', 'history', 'report', 'pause', 'resume', 'approve', 'abort'];

export interface CliArgs {
  verb: Verb;
  env: string;
  config: string;
  /** rollback: the newest kept release with this tag instead of the one before the last rollout. */
  to?: string;
  /** start: wait for approval after the first batch, whatever the config says. */
  approveAfterFirstBatch?: boolean;
  /** The app's name given on the command line: control verbs then need no config file. */
  app?: string;
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
        app: { type: 'string' },
        'approve-after-first-batch': { type: 'boolean', default: false },
        to: { type: 'string' },
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
  const [verb, env, ...extra] = positionals;
  if (values.help && verb && !VERB_HELP[verb]) throw new UsageError(`unknown command "${verb}"`); // not a request for help: exit 2
  if (values.help) throw new HelpRequested(verb ? verbUsage(verb) : USAGE);
  if (!verb || !VERBS.includes(verb as Verb)) throw new UsageError(verb ? `unknown command "${verb}"` : 'missing command');
  if (!env) throw new UsageError(verb === 'report' ? 'missing workflow ID (for example: rollout-sample-app.production)' : 'missing environment name (for example: production)');
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  if (values.to !== undefined && verb !== 'rollback') throw new UsageError('--to is for rollback');
  if (values.app !== undefined) {
    if (verb === 'start' || verb === 'rollback' || verb === 'report') throw new UsageError(`--app is for status, watch, pause, resume, approve, abort and history; ${verb} reads the config`);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(values.app)) throw new UsageError(`--app must be an app name (lower-case letters, digits and "-"), got "${values.app}"`);
  }
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
    app: values.app,
    approveAfterFirstBatch: values['approve-after-first-batch'] ?? false,
    to: values.to,
    release: values.release,
    batchSize,
    dryRun: values['dry-run'] ?? false,
    detach: values.detach ?? false,
    json: values.json ?? false,
    rollback: values.rollback ?? false,
  };
}
