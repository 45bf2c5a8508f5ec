// Command-line parsing for `npm run start-deploy -- <env>` and `npm run deploy -- <verb> <env>`.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--help`: prints the usage (of one verb when given) and exits 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
}

export type Verb = 'start' | 'rollback' | 'status' | 'watch' | 'history' | 'report' | 'pause' | 'resume' | 'approve' | 'abort';

type OptionName = 'config' | 'app' | 'release' | 'batch-size' | 'approve-after-first-batch' | 'to' | 'dry-run' | 'detach' | 'json' | 'rollback' | 'limit' | 'svg';

/** Every option once: how it parses, what it takes, what it does. The verbs below say which they accept. */
const OPTIONS: Record<OptionName, { value?: string; short?: string; help: string }> = {
  config: { value: '<file>', short: 'c', help: 'deploy configuration (default ./deploy.config.yaml)' },
  app: { value: '<app>', help: 'the app\'s name instead of a config file (control verbs need only app and environment)' },
  release: { value: '<tag>', short: 'r', help: 'image tag to deploy (default: the environment\'s "release" in the config)' },
  'batch-size': { value: 'N', help: 'droplets updated at once (default: rollout.batchSize)' },
  'approve-after-first-batch': { help: 'a canary: after the first batch, wait for "deploy approve <env>"' },
  to: { value: '<tag>', help: 'the newest kept release with this tag, instead of the one before the last rollout' },
  'dry-run': { help: 'resolve the fleet and print the plan (on the worker); change nothing' },
  detach: { help: 'start the rollout and return; follow it later with "deploy status"' },
  json: { help: 'machine-readable output, one JSON object per line' },
  rollback: { help: 'also return updated droplets to their previous release' },
  limit: { value: 'N', help: 'how many past rollouts to list (default 10)' },
  svg: { value: '<file>', help: 'also write the rollout\'s timeline picture there' },
};

const CONTROL: OptionName[] = ['config', 'app', 'json'];

/** Every verb once, in the order the usage lists them: what it takes, its options, what it does. */
const VERBS: Record<Verb, { target: '<env>' | '<workflow-id>'; options: OptionName[]; what: string }> = {
  start: { target: '<env>', options: ['config', 'release', 'batch-size', 'approve-after-first-batch', 'dry-run', 'detach', 'json'], what: 'Plan the rollout on the worker (fleet, preflight), print it, start it and follow it to the end.' },
  rollback: { target: '<env>', options: ['config', 'to', 'dry-run', 'detach', 'json'], what: 'Return every droplet to the release it ran before the last rollout (or to the newest kept --to <tag>), from the release directories kept on the droplets, through the same zero-downtime saga. --dry-run shows where each droplet would go.' },
  status: { target: '<env>', options: CONTROL, what: 'The newest rollout of the environment: phase, batches, each droplet\'s steps.' },
  watch: { target: '<env>', options: CONTROL, what: 'Follow the running rollout to its end; the exit code is its outcome.' },
  pause: { target: '<env>', options: CONTROL, what: 'Stop before the next batch; the batch in flight finishes.' },
  resume: { target: '<env>', options: CONTROL, what: 'Continue a paused rollout.' },
  approve: { target: '<env>', options: CONTROL, what: 'Let a canary rollout (rollout.approve: after-first-batch) go on after its first batch.' },
  abort: { target: '<env>', options: [...CONTROL, 'rollback'], what: 'Stop now: droplets in flight are restored and re-attached.' },
  history: { target: '<env>', options: [...CONTROL, 'limit'], what: 'Past rollouts of the environment, newest first.' },
  report: { target: '<workflow-id>', options: ['svg'], what: 'A rollout\'s steps per droplet as text, with its status (and as an SVG timeline with --svg).' },
};

const EXIT_CODES = 'exit codes: 0 succeeded, 1 failed (rolled back or not), 2 usage or configuration error (nothing was touched), 3 aborted';

const flag = (o: OptionName) => `--${o}${OPTIONS[o].value ? ` ${OPTIONS[o].value}` : ''}`;

function usageLine(verb: Verb): string {
  const v = VERBS[verb];
  const head = verb === 'start' ? `npm run start-deploy -- ${v.target}` : `npm run deploy -- ${verb} ${v.target}`;
  // --config and --app are either-or: one bracket.
  const alternatives = v.options.includes('config') && v.options.includes('app') ? ['[--config <file> | --app <app>]'] : [];
  const rest = v.options.filter((o) => !(alternatives.length && (o === 'config' || o === 'app'))).map((o) => `[${flag(o)}]`);
  return `${head} ${[...alternatives, ...rest].join(' ')}`;
}

const optionLine = (o: OptionName, note = '') => `  ${`${flag(o)}  `.padEnd(19)}${note}${OPTIONS[o].help}`;

/** The verbs that take an option, for the general usage and the refusal. */
const verbsTaking = (o: OptionName) => (Object.keys(VERBS) as Verb[]).filter((v) => VERBS[v].options.includes(o));

function listed(words: string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** One verb's usage: what it does, its line, its options. */
export function verbUsage(verb: Verb): string {
  const v = VERBS[verb];
  return `usage: ${usageLine(verb)}\n\n${v.what}\n\n${v.options.map((o) => optionLine(o)).join('\n')}\n\n${EXIT_CODES}`;
}

const everyVerb = Object.keys(VERBS) as Verb[];

export const USAGE = `usage:
${everyVerb.map((v) => `  ${usageLine(v)}`).join('\n')}

${(Object.keys(OPTIONS) as OptionName[]).map((o) => {
  const takers = verbsTaking(o);
  // Options most verbs take need no list; the others name theirs.
  return optionLine(o, takers.length <= 3 ? `with ${takers.join('|')}: ` : '');
}).join('\n')}

${EXIT_CODES}`;

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
        ...Object.fromEntries((Object.keys(OPTIONS) as OptionName[]).map((o) => [o, { type: OPTIONS[o].value ? 'string' as const : 'boolean' as const, ...(OPTIONS[o].short ? { short: OPTIONS[o].short } : {}) }])),
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { positionals } = parsed;
  const values = parsed.values as Partial<Record<OptionName | 'help', string | boolean>>;
  const text = (o: OptionName) => (typeof values[o] === 'string' ? values[o] : undefined);
  const set = (o: OptionName) => values[o] === true;
  const [verb, env, ...extra] = positionals;
  const known = (v: string | undefined): v is Verb => v !== undefined && Object.hasOwn(VERBS, v);
  if (values.help && verb && !known(verb)) throw new UsageError(`unknown command "${verb}"`); // not a request for help: exit 2
  if (values.help) throw new HelpRequested(known(verb) ? verbUsage(verb) : USAGE);
  if (!known(verb)) throw new UsageError(verb ? `unknown command "${verb}"` : 'missing command');
  if (!env) throw new UsageError(verb === 'report' ? 'missing workflow ID (for example: rollout-sample-app.production)' : 'missing environment name (for example: production)');
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  for (const o of Object.keys(OPTIONS) as OptionName[]) {
    if ((text(o) === undefined && !set(o)) || VERBS[verb].options.includes(o)) continue;
    const why = o === 'app' && VERBS[verb].options.includes('config') ? `; ${verb} reads the config` : '';
    throw new UsageError(`--${o} is for ${listed(verbsTaking(o))}${why}`);
  }
  const app = text('app');
  if (app !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(app)) throw new UsageError(`--app must be an app name (lower-case letters, digits and "-"), got "${app}"`);
  const whole = (o: OptionName, fallback?: number) => {
    const given = text(o);
    if (given === undefined) return fallback;
    const n = Number(given);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${o} must be a whole number ≥ 1, got "${given}"`);
    return n;
  };
  return {
    verb,
    env,
    config: text('config') ?? 'deploy.config.yaml',
    app,
    release: text('release'),
    batchSize: whole('batch-size'),
    approveAfterFirstBatch: set('approve-after-first-batch'),
    to: text('to'),
    dryRun: set('dry-run'),
    detach: set('detach'),
    json: set('json'),
    rollback: set('rollback'),
    limit: whole('limit', 10) as number,
    svg: text('svg'),
  };
}
