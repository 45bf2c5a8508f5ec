// The seeded soak: rollouts under load on a load balancer that behaves like DigitalOcean's (a profile's health
// checks, a propagation delay and a busy window drawn per change from a seed), with drain and settle observed
// through the LB (the sample config as shipped) and, as the control, the same seed with today's timers.
//
//   npm run soak -- --profile do-min --seeds 20 [--droplets 3] [--propagation 0-10000] [--busy 0-3000] [--no-control]
//
// Per seed and flow it prints the failed requests, each droplet's time out of the load balancer, and how the
// watched drains and settles ended. Exit 1 when an observed rollout failed a request.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runStart } from '../src/cli/start';
import { rolloutView } from '../src/cli/view';
import { rolloutWorkflowId } from '../src/rollout-plan';
import { LB_PROFILES, type LbProfileName } from '../sandbox/fleet';
import { startLoad } from '../sandbox/load';
import { startStack, type Stack } from '../sandbox/stack';
import { describeSpread, type Spread } from '../sandbox/fake-digitalocean';
import { fleetSettled, watchFleet } from './fleet-watch';

const { values } = parseArgs({ options: {
  profile: { type: 'string', default: 'do-min' }, seeds: { type: 'string', default: '3' }, 'first-seed': { type: 'string', default: '1' },
  droplets: { type: 'string', default: '3' }, propagation: { type: 'string', default: '0-10000' }, busy: { type: 'string', default: '0-3000' },
  'no-control': { type: 'boolean', default: false },
} });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = (ms: number) => (ms / 1000).toFixed(1);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function spreadOf(text: string): Spread {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new Error(`"${text}": a range in ms like 0-10000, or one number`);
  return m[2] === undefined ? Number(m[1]) : { min: Number(m[1]), max: Number(m[2]) };
}

export interface SoakRow {
  seed: number;
  flow: 'observed' | 'timers';
  ok: boolean;
  requests: number;
  failed: number;
  wallMs: number;
  detachedMs: number[];
  /** Watched steps: how many ended observed, how many at their maximum. */
  observed: number;
  maximum: number;
  /** Requests the watches sent through the LB, per droplet (drain and settle together). */
  watchRequests: number[];
  propagationMs: number[];
}

/** One rollout of `release` under load, with the fleet's LB drawing its delays from `seed` (the suite runs it too). */
export async function soakRollout(stack: Stack, seed: number, flow: SoakRow['flow'], release: string): Promise<SoakRow> {
  const api = stack.fleet.api;
  api.reseed(seed);
  const before = api.propagations.length;
  const config = stack.fleet.writeConfig(flow === 'timers' ? { observe: false } : {});
  const load = startLoad(`${stack.fleet.lb.url}/`, { concurrency: 4, intervalMs: 50 });
  await sleep(1000);
  const watch = watchFleet(stack, release);
  const started = Date.now();
  const code = await runStart({ verb: 'start', env: 'production', config, release, dryRun: false, detach: true, json: false, rollback: false, limit: 10 }, () => undefined);
  if (code !== 0) throw new Error(`start-deploy exited ${code}`);
  const handle = stack.client.workflow.getHandle(rolloutWorkflowId('sample-app', 'production'));
  const ok = await handle.result().then(() => true, () => false);
  const wallMs = Date.now() - started;
  await sleep(1000);
  const detached = await watch.stop();
  const traffic = await load.stop();
  const view = await rolloutView(stack.client.workflow, handle);
  const watched = view.droplets.flatMap((d) => d.steps.filter((st) => st.how));
  return {
    seed, flow, ok, requests: traffic.requests, failed: traffic.failedRequests, wallMs, detachedMs: Object.values(detached),
    observed: watched.filter((st) => st.how === 'observed').length, maximum: watched.filter((st) => st.how === 'maximum').length,
    watchRequests: view.droplets.map((d) => d.steps.reduce((sum, st) => sum + (st.requests ?? 0), 0)),
    propagationMs: api.propagations.slice(before).map((p) => p.delayMs),
  };
}

export function renderSoak(rows: SoakRow[]): string {
  const lines = ['| seed | flow | failed / requests | wall time | out of the LB per droplet (mean, max) | watched steps observed / at maximum | watch requests per droplet (mean, max) | propagation drawn (ms) |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    lines.push(`| ${r.seed} | ${r.flow}${r.ok ? '' : ' (rollout failed)'} | ${r.failed} / ${r.requests} | ${s(r.wallMs)} s | ${s(mean(r.detachedMs))} s, ${s(Math.max(0, ...r.detachedMs))} s | ` +
      `${r.flow === 'observed' ? `${r.observed} / ${r.maximum} | ${Math.round(mean(r.watchRequests))}, ${Math.max(0, ...r.watchRequests)}` : '– | –'} | ${r.propagationMs.join(', ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const profile = values.profile as LbProfileName;
  if (!(profile in LB_PROFILES)) throw new Error(`--profile: one of ${Object.keys(LB_PROFILES).join(', ')}`);
  const seeds = Number(values.seeds);
  const first = Number(values['first-seed']);
  const propagation = spreadOf(values.propagation ?? '0-10000');
  const busy = spreadOf(values.busy ?? '0-3000');
  const releases = ['v2', 'v1'];
  const stack = await startStack({ name: 'soak', subnet: 16, droplets: Number(values.droplets), profile, log: (l) => console.log(`fleet: ${l}`) });
  const rows: SoakRow[] = [];
  try {
    await stack.startWorker();
    Object.assign(process.env, stack.processEnv);
    Object.assign(stack.fleet.api.faults, { propagationDelayMs: propagation, attachPropagationMs: propagation, detachPropagationMs: propagation, busyWindowMs: busy });
    let next = 0;
    for (let seed = first; seed < first + seeds; seed++) {
      for (const flow of values['no-control'] ? ['observed' as const] : ['observed' as const, 'timers' as const]) {
        // Every droplet attached and UP before the next rollout: after a timed drain that stopped a droplet still in
        // rotation, the LB may first mark it down (fall) and then up again (rise): 90 s on do-default.
        await fleetSettled(stack, 240_000);
        const row = await soakRollout(stack, seed, flow, releases[next++ % 2]);
        rows.push(row);
        console.log(`soak: seed ${seed} ${flow}: ${row.failed} failed of ${row.requests}, ${s(row.wallMs)} s${row.ok ? '' : ' (rollout failed)'}`);
        console.log(`soak-row: ${renderSoak([row]).split('\n')[2]}`); // a run cut short keeps every row it finished
      }
    }
  } finally {
    await stack.stop();
  }
  const hc = LB_PROFILES[profile].healthCheck;
  console.log(`\nMachine: ${os.cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}. Profile ${profile}: checks every ${hc.check_interval_seconds} s, ` +
    `healthy after ${hc.healthy_threshold}; propagation ${describeSpread(propagation)}, busy ${describeSpread(busy)}; ${values.droplets} droplets, batch 1; load 4 clients, one request each per 50 ms.\n`);
  console.log(renderSoak(rows));
  const observedClean = rows.filter((r) => r.flow === 'observed').every((r) => r.ok && r.failed === 0);
  console.log(`\nobserved: 0 failed requests on every seed: ${observedClean ? 'yes' : 'NO'}; timers failed on some seed: ${rows.some((r) => r.flow === 'timers' && r.failed > 0) ? 'yes' : 'no'}`);
  return observedClean ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err);
    process.exit(2);
  });
}
