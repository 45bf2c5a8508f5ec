// `npm run bench`: how close a rollout comes to the physical floor, against the old script's flow, on the local
// fleet (4 droplets, real Docker, HAProxy, registry) under the same steady load, in one run:
//   1. baseline: the seed script's flow (detach by API, copy files, `down`, `pull`, `up -d`, attach, next droplet)
//   2. this project with the sample config's defaults (batch 1; drain and settle watched through the LB)
//   3. on `demo`: this project with batch 2; on a DigitalOcean-like profile: this project with today's timers
//      (observe: false), the control for the watched drain and settle
// For each: requests, failed requests, wall time, seconds each droplet was out of the load balancer, the time from
// `up` to the new release's first good answer (boot), and wall time over the floor. The floor of one batch is what
// no safe rollout can skip: drain + boot + the LB's rise (healthy_threshold × check_interval + propagation delay).
//   npm run bench -- [--profile demo|do-min|do-default] [--seed N] [--write] [--svg docs/bench-timelines.svg] [--json]
// --write replaces the profile's generated section of BENCHMARKS.md (between its floor-bench markers).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runStart } from '../src/cli/start';
import { rolloutView } from '../src/cli/view';
import { renderTimelineSvg, type TimelineDroplet, type TimelineLoad } from '../src/cli/timeline';
import { createActivities } from '../src/activities';
import { realDependencies } from '../src/activities/deps';
import { run as runRemote } from '../src/activities/remote';
import { loadEnvironment } from '../src/config/loader';
import { dropletAt } from '../src/compact';
import { makeReleaseId, rolloutWorkflowId } from '../src/rollout-plan';
import * as commands from '../src/remote/commands';
import { filesDigest } from '../src/activities/remote';
import { LB_PROFILES, ROOT, type LbProfileName } from '../sandbox/fleet';
import { describeSpread, spreadMean } from '../sandbox/fake-digitalocean';
import { startLoad, type LoadReport } from '../sandbox/load';
import { startStack, type Stack } from '../sandbox/stack';
import { fleetSettled, watchFleet } from './fleet-watch';

const { values } = parseArgs({ options: {
  write: { type: 'boolean', default: false }, svg: { type: 'string' }, json: { type: 'boolean', default: false },
  profile: { type: 'string', default: 'demo' }, seed: { type: 'string', default: '1' },
} });

interface Scenario {
  name: string;
  /** The control (timers on a DigitalOcean-like LB) may fail requests: that is what it shows. */
  control?: boolean;
  batches: number;
  ok: boolean;
  message?: string;
  load: LoadReport;
  wallMs: number;
  /** Before the first detach: preflight and staging. */
  beforeDetachMs: number;
  detachedMs: Record<string, number>;
  bootMs: Record<string, number>;
  /** Each droplet's drain as it ran (watched ones end when the LB lets go); the old flow has none. */
  drainMs: Record<string, number>;
  floorMs: number;
  timeline: TimelineDroplet[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const s = (ms: number) => (ms / 1000).toFixed(1);

/** Floor of one batch from the fleet's own parameters and the measured boot: no drain ends before the detach reaches the LB. */
function batchFloorMs(stack: Stack, drainMs: number, bootMs: number): number {
  const hc = stack.fleet.api.loadBalancers.get('sandbox-lb-0001')?.healthCheck;
  const faults = stack.fleet.api.faults;
  const rise = (hc?.healthy_threshold ?? 2) * (hc?.check_interval_seconds ?? 1) * 1000 + spreadMean(faults.attachPropagationMs ?? faults.propagationDelayMs);
  return Math.max(drainMs, spreadMean(faults.detachPropagationMs ?? faults.propagationDelayMs)) + bootMs + rise;
}

/** The seed script, faithfully: per droplet detach, copy, down, pull, up -d, attach, and on to the next at once. */
async function baseline(stack: Stack, release: string, drainMs: number): Promise<Scenario> {
  const configPath = stack.fleet.writeConfig();
  const { plan } = loadEnvironment(configPath, 'production');
  const acts = createActivities(realDependencies({ ...process.env, ...stack.fleet.workerEnv }));
  const { fleet, loadBalancer } = await acts.planRollout({ plan, batchSize: 1 });
  const access = { apiUrl: plan.apiUrl, secrets: plan.secrets };
  const digest = filesDigest(plan.remote.files);
  const upAt: Record<string, number> = {};
  const timeline: TimelineDroplet[] = [];
  const load = startLoad(`${stack.fleet.lb.url}/`, { concurrency: 4, intervalMs: 50 });
  await sleep(2000);
  const watch = watchFleet(stack, release);
  const started = Date.now();
  for (let i = 0; i < fleet.ids.length; i++) {
    const droplet = dropletAt(fleet, i);
    const remoteInput = { droplet, remote: plan.remote, secrets: plan.secrets };
    const steps: TimelineDroplet['steps'] = [];
    const step = async (name: string, fn: () => Promise<unknown>) => {
      const rec: TimelineDroplet['steps'][number] = { step: name, startedAt: Date.now() };
      steps.push(rec);
      await fn();
      Object.assign(rec, { endedAt: Date.now(), ok: true });
    };
    await step('detach', () => acts.detachDroplet({ access, loadBalancer: loadBalancer as NonNullable<typeof loadBalancer>, droplet }));
    await step('upload', async () => {
      const dir = await acts.uploadRelease({ ...remoteInput, release, releaseId: makeReleaseId(release, new Date()), filesDigest: digest });
      await acts.activateRelease({ ...remoteInput, releaseDir: dir });
    });
    const session = await realDependencies({ ...process.env, ...stack.fleet.workerEnv }).remote(plan.secrets).connect(droplet, plan.remote);
    try {
      await step('down', () => runRemote(session, droplet, 'down', commands.composeIn(plan.remote, 'down --remove-orphans')));
      await step('pull', async () => {
        await runRemote(session, droplet, 'login', commands.registryLogin(plan.remote.registry!), stack.fleet.workerEnv.REGISTRY_PASSWORD);
        await runRemote(session, droplet, 'pull', commands.composeIn(plan.remote, 'pull'));
      });
      upAt[droplet.name] = Date.now();
      await step('start', () => runRemote(session, droplet, 'up', commands.composeIn(plan.remote, 'up -d --remove-orphans')));
    } finally {
      session.close();
    }
    await step('attach', () => acts.attachDroplet({ access, loadBalancer: loadBalancer as NonNullable<typeof loadBalancer>, droplet }));
    timeline.push({ name: droplet.name, steps });
  }
  const wallMs = Date.now() - started;
  await fleetSettled(stack); // the last droplet's rise: requests failed before it count against the flow
  await sleep(1000);
  const detachedMs = await watch.stop();
  const traffic = await load.stop();
  const bootMs = Object.fromEntries(Object.entries(upAt).map(([n, t]) => [n, (watch.firstAnswer[n] ?? NaN) - t]));
  const batches = fleet.ids.length;
  return {
    name: 'old script flow (baseline)', batches, ok: true, load: traffic, wallMs, beforeDetachMs: (watch.firstDetach() ?? started) - started,
    detachedMs, bootMs, drainMs: {}, floorMs: batches * batchFloorMs(stack, drainMs, mean(Object.values(bootMs))), timeline,
  };
}

/** This project: the operator CLI's start, then the rollout's own step records. */
async function project(stack: Stack, name: string, release: string, overrides: Record<string, unknown>, control = false): Promise<Scenario> {
  const configPath = stack.fleet.writeConfig(overrides);
  const { plan } = loadEnvironment(configPath, 'production');
  const load = startLoad(`${stack.fleet.lb.url}/`, { concurrency: 4, intervalMs: 50 });
  await sleep(2000);
  const watch = watchFleet(stack, release);
  const started = Date.now();
  const args = { verb: 'start' as const, env: 'production', config: configPath, release, dryRun: false, detach: true, json: false, rollback: false, limit: 10 };
  const code = await runStart(args, () => undefined);
  if (code !== 0) throw new Error(`start-deploy exited ${code}`);
  const handle = stack.client.workflow.getHandle(rolloutWorkflowId('sample-app', 'production'));
  let ok = true;
  let message: string | undefined;
  try {
    await handle.result();
  } catch (err) {
    ok = false;
    message = (err as Error).message;
  }
  const wallMs = Date.now() - started;
  await sleep(2000);
  const detachedMs = await watch.stop();
  const traffic = await load.stop();
  const view = await rolloutView(stack.client.workflow, handle);
  // Staging is the rollout's (every droplet at once, before the first detach): drawn on each droplet's row.
  const firstDetach = watch.firstDetach() ?? started;
  const timeline = view.droplets.map((d) => ({ name: d.name, steps: [{ step: 'stage', startedAt: started, endedAt: firstDetach, ok: true }, ...d.steps] }));
  const bootMs = Object.fromEntries(view.droplets.map((d) => {
    // Boot starts with `up`: the switch step (staged) or the start step (runs before staging existed).
    const up = d.steps.filter((st) => st.step === 'switch' || st.step === 'start').at(-1)?.startedAt ?? NaN;
    return [d.name, (watch.firstAnswer[d.name] ?? NaN) - up];
  }));
  const drainMs = Object.fromEntries(view.droplets.map((d) => {
    const drain = d.steps.filter((st) => st.step === 'drain').at(-1);
    return [d.name, drain?.endedAt === undefined ? NaN : drain.endedAt - drain.startedAt];
  }));
  const batches = Math.ceil(view.droplets.length / plan.rollout.batchSize);
  return {
    name, control, batches, ok, message, load: traffic, wallMs, beforeDetachMs: (watch.firstDetach() ?? started) - started,
    detachedMs, bootMs, drainMs, floorMs: batches * batchFloorMs(stack, plan.rollout.drainDelayMs, mean(Object.values(bootMs))), timeline,
  };
}

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'sandbox', 'bench', 'examples'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${sha}+uncommitted` : sha;
  } catch {
    return 'unknown';
  }
}

function table(results: Scenario[], drainMs: number): string {
  const rows = results.map((r) => {
    const detached = Object.values(r.detachedMs);
    const boot = mean(Object.values(r.bootMs));
    const perBatch = (r.wallMs - r.beforeDetachMs) / r.batches;
    // The target, per droplet: out of the LB no longer than its drain (as it ran) + its boot + 1 s.
    const names = Object.keys(r.detachedMs);
    const bound = (n: string) => (r.drainMs[n] ?? drainMs) + (r.bootMs[n] ?? NaN) + 1000;
    const within = names.filter((n) => r.detachedMs[n] <= bound(n)).length;
    return `| ${r.name} | ${r.load.requests} | ${r.load.failedRequests} | ${s(r.wallMs)} s | ${s(r.beforeDetachMs)} s | ${s(perBatch)} s | ${s(r.floorMs / r.batches)} s | ` +
      `**${(perBatch / (r.floorMs / r.batches)).toFixed(2)}** | ${(r.wallMs / r.floorMs).toFixed(2)} | ${s(mean(detached))} s (max ${s(Math.max(...detached))}) | ` +
      `${s(mean(names.map(bound)))} s (${within} of ${names.length} within) | ${s(boot)} s |`;
  });
  return [
    '| flow | requests | failed | wall time | before first detach (preflight, staging) | per batch after it | floor per batch | per batch / floor | whole run / floor | detached per droplet | drain as run + boot + 1 s | boot (up → first good answer) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<number> {
  const log = (line: string) => {
    if (!values.json) console.log(line);
  };
  const profile = values.profile as LbProfileName;
  if (!(profile in LB_PROFILES)) throw new Error(`--profile: one of ${Object.keys(LB_PROFILES).join(', ')}`);
  const stack = await startStack({ name: 'bench', subnet: 14, droplets: 4, profile, seed: Number(values.seed), log: (l) => log(`fleet: ${l}`) });
  try {
    await stack.startWorker();
    Object.assign(process.env, stack.processEnv);
    await stack.fleet.publish('v3', 'v4');
    const { plan } = loadEnvironment(stack.fleet.writeConfig(), 'production');
    const drainMs = plan.rollout.drainDelayMs;
    const results: Scenario[] = [];
    const settle = () => fleetSettled(stack);
    log('bench: baseline (old script flow) v1 → v2');
    results.push(await baseline(stack, 'v2', drainMs));
    await settle();
    const defaults = profile === 'demo' ? 'this project, defaults (batch 1)' : 'this project, observed (defaults, batch 1)';
    log(`bench: ${defaults} v2 → v3`);
    results.push(await project(stack, defaults, 'v3', {}));
    await settle();
    if (profile === 'demo') {
      log('bench: this project, batch 2 v3 → v4');
      results.push(await project(stack, 'this project, batch 2', 'v4', { batchSize: 2 }));
    } else {
      log('bench: this project, timers (observe: false, batch 1) v3 → v4');
      results.push(await project(stack, 'this project, timers (batch 1)', 'v4', { observe: false }, true));
    }

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const hc = LB_PROFILES[profile].healthCheck;
    const faults = stack.fleet.api.faults;
    const header = `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}; commit ${commit()}; ` +
      `${new Date().toISOString().slice(0, 10)}. Fleet: 4 droplets, app boot ${process.env.APP_BOOT_MS ?? 3000} ms; LB profile ${profile}: checks every ${hc.check_interval_seconds} s, ` +
      `healthy after ${hc.healthy_threshold}, propagation ${describeSpread(faults.detachPropagationMs ?? faults.propagationDelayMs)} (detach) and ${describeSpread(faults.attachPropagationMs ?? faults.propagationDelayMs)} (attach), ` +
      `busy ${describeSpread(faults.busyWindowMs)}, seed ${values.seed}; drain ${s(drainMs)} s; load 4 clients, one request each per 50 ms.`;
    const md = `${header}\n\n${table(results, drainMs)}`;
    if (values.json) console.log(JSON.stringify({ header, results: results.map(({ timeline: _t, load, ...r }) => ({ ...r, requests: load.requests, failed: load.failedRequests, firstErrors: load.firstErrors })) }));
    else console.log(`\n${md}\n`);
    for (const r of results) {
      if (!r.ok) log(`${r.name}: ${r.message}`);
      // Where each droplet's time went, step by step (ms), to find what is not the floor.
      for (const d of r.timeline) log(`  ${r.name.slice(0, 24).padEnd(24)} ${d.name}: ${d.steps.map((st) => `${st.step} ${(st.endedAt ?? st.startedAt) - st.startedAt}`).join(', ')}`);
    }
    if (values.svg) {
      const span = Math.max(...results.map((r) => r.wallMs)) + 6000;
      const pictures = results.map((r) => renderTimelineSvg(
        `${r.name}: ${s(r.wallMs)} s, ${r.load.failedRequests} failed of ${r.load.requests} requests`, r.timeline,
        r.load.perSecond as TimelineLoad[], { durationMs: span }));
      writeFileSync(values.svg, stackSvgs(pictures));
      log(`timelines written to ${values.svg}`);
    }
    if (values.write) {
      const file = path.join(ROOT, 'BENCHMARKS.md');
      // The demo's markers predate profiles; every other profile has its own section.
      const begin = profile === 'demo' ? '<!-- floor-bench:begin (npm run bench -- --write) -->' : `<!-- floor-bench:begin ${profile} (npm run bench -- --profile ${profile} --write) -->`;
      const end = profile === 'demo' ? '<!-- floor-bench:end -->' : `<!-- floor-bench:end ${profile} -->`;
      const text = readFileSync(file, 'utf8');
      const section = `${begin}\n${md}\n${end}`;
      const at = text.indexOf(begin);
      writeFileSync(file, at >= 0 ? text.slice(0, at) + section + text.slice(text.indexOf(end) + end.length) : `${text.trimEnd()}\n\n${section}\n`);
      log(`BENCHMARKS.md updated`);
    }
    const baselineFailed = results[0].load.failedRequests > 0;
    const projectClean = results.slice(1).filter((r) => !r.control).every((r) => r.ok && r.load.failedRequests === 0);
    const control = results.find((r) => r.control);
    log(`targets: this project 0 failed requests in every run${control ? ' but the control' : ''}: ${projectClean ? 'yes' : 'NO'}; baseline more than 0: ${baselineFailed ? 'yes' : 'no'}` +
      (control ? `; the control (timers): ${control.load.failedRequests} failed` : ''));
    return projectClean ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

/** Pictures one above the other in one SVG. */
function stackSvgs(svgs: string[]): string {
  let y = 0;
  let width = 0;
  const parts: string[] = [];
  for (const svg of svgs) {
    const w = Number(/width="(\d+)"/.exec(svg)?.[1] ?? 0);
    const h = Number(/height="(\d+)"/.exec(svg)?.[1] ?? 0);
    parts.push(svg.replace('<svg xmlns="http://www.w3.org/2000/svg"', `<svg y="${y}"`));
    y += h;
    width = Math.max(width, w);
  }
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}">`, ...parts, '</svg>'].join('\n');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
