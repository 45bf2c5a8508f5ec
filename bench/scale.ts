// `npm run bench:scale -- --droplets N --batch B`: one rollout of N droplets on a real dev server with the real
// workflows and instant activities (no droplets, no API), drain/settle/bake 0. Prints what grows with N: wall
// time, ms per droplet, parent and child history (events, bytes, the largest event), the status query mid-run
// (latency, size) and the peak RSS of the worker (its own process, bench/scale-worker.ts). `--json` prints one
// JSON line instead; `--stock-server` keeps the dev server's per-shard queue limits (see below).
// `--lb coalesced|per-droplet`: the listing and the LB steps go to the local DigitalOcean API with DigitalOcean's
// quota (5,000 an hour, 250 a minute) and the do-default profile's busy window after each change; the run then
// also reports the API requests by kind against the plan's prediction, and the LB's final membership.
import { fork } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import { quietRuntime } from '../sandbox/stack';
import { findBinary } from '../sandbox/binaries';
import { DeployApp, DeployEnv, DeployRelease } from '../src/search-attributes';
import type { rolloutWorkflow } from '../src/workflows';
import { WORKFLOW_TYPES, statusQuery } from '../src/workflows/messages';
import { rolloutWorkflowId } from '../src/rollout-plan';
import { testPlan } from '../test/helpers/fake-activities';
import type { WorkerReport } from './scale-worker';
import { WORKER_HEAP_FLAG } from '../src/deploy-worker';
import { workflowBundlePath } from '../test/helpers/workflow-env';
import { apiFigures, localApi, LOCAL_API_TOKEN } from './local-api';

const { values } = parseArgs({ options: {
  droplets: { type: 'string', default: '200' }, batch: { type: 'string', default: '1' }, json: { type: 'boolean', default: false },
  'timeout-min': { type: 'string', default: '30' }, 'stock-server': { type: 'boolean', default: false },
  lb: { type: 'string', default: 'instant' }, seed: { type: 'string', default: '1' },
} });
const lbMode = values.lb === 'instant' ? undefined : values.lb;
if (lbMode && lbMode !== 'coalesced' && lbMode !== 'per-droplet') throw new Error('--lb: instant, coalesced or per-droplet');
// The dev server has one history shard, and each shard reads its transfer and timer queues at most 20 times a
// second (Temporal's default): every step of a droplet (an activity's completion waking its workflow, a child
// starting or ending) waits for the next read, ~50 ms. A cluster spreads a rollout's workflows over many shards
// (the team stack's server image has 4, production clusters hundreds), so by default the benchmark lifts the
// per-shard limit to see the orchestration's own cost; --stock-server measures the dev server as it comes.
const SHARD_POLL_LIMITS_LIFTED = ['history.transferProcessorMaxPollRPS=1000', 'history.timerProcessorMaxPollRPS=1000']
  .flatMap((setting) => ['--dynamic-config-value', setting]);
const n = Number(values.droplets);
const batch = Number(values.batch);

interface RunSize { events: number; bytes: number; largestEvent: number }

async function historyOf(handle: WorkflowHandle): Promise<RunSize> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  let bytes = 0;
  let largestEvent = 0;
  for (const e of events) {
    const size = temporal.api.history.v1.HistoryEvent.encode(e as temporal.api.history.v1.IHistoryEvent).finish().length;
    bytes += size;
    largestEvent = Math.max(largestEvent, size);
  }
  return { events: events.length, bytes, largestEvent };
}

async function main(): Promise<void> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findBinary('temporal') }, ip: '127.0.0.1',
      searchAttributes: [DeployApp, DeployEnv, DeployRelease], log: { format: 'pretty', level: 'error' },
      extraArgs: values['stock-server'] ? [] : SHARD_POLL_LIMITS_LIFTED,
    },
  });
  const taskQueue = `scale-${process.pid}`;
  const local = lbMode ? await localApi(n, Number(values.seed)) : undefined;
  // The worker runs in its own process (the production worker factory, fake activities): its peak RSS is its own.
  const worker = fork(path.join(__dirname, 'scale-worker.ts'), [env.address, taskQueue, String(n), await workflowBundlePath(), ...(lbMode ? [lbMode] : [])], {
    execArgv: ['--import', 'tsx', WORKER_HEAP_FLAG],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: local ? { ...process.env, DIGITALOCEAN_TOKEN: LOCAL_API_TOKEN, DIGITALOCEAN_API_URL: local.url } : process.env,
  });
  const reports: WorkerReport[] = [];
  const next = (type: WorkerReport['type']) => new Promise<WorkerReport>((resolve, reject) => {
    const seen = reports.find((r) => r.type === type);
    if (seen) return resolve(seen);
    const onMessage = (m: WorkerReport) => m.type === type && (worker.off('message', onMessage), resolve(m));
    worker.on('message', onMessage);
    worker.once('exit', (code) => reject(new Error(`the benchmark worker exited (${code}) before "${type}"`)));
  });
  worker.on('message', (m: WorkerReport) => reports.push(m));
  try {
    const idle = await next('ready');
    // With the real LB steps, a drain and a settle as short as DigitalOcean's LB could allow (3 s: the busy window's
    // longest): instant ones would send every attach into the busy window of its own batch's detach.
    const gapMs = lbMode ? 3_000 : 0;
    const plan = testPlan({ batchSize: batch, minAttached: 0, drainDelayMs: gapMs, settleDelayMs: gapMs, settleMarginMs: 0, bakeMs: 0 });
    // A busy LB refuses for up to 3 s after each change: the LB steps ride that out as the sample config's do.
    plan.rollout.steps.loadBalancer = { timeoutMs: 60_000, maximumAttempts: 10 };
    const workflowId = rolloutWorkflowId(plan.app, plan.env);
    const started = Date.now();
    const handle = await env.client.workflow.start<typeof rolloutWorkflow>(WORKFLOW_TYPES.rollout, { taskQueue, workflowId, args: [{ plan, release: 'v2' }] });
    // Mid-run: one status query once half the droplets are back in the load balancer.
    let mid: { ms: number; bytes: number } | undefined;
    let outcome = 'running';
    const done = handle.result().then(() => (outcome = 'succeeded'), (err: Error) => (outcome = `failed: ${err.message}`));
    void next('half').then(async () => {
      const t = Date.now();
      const status = await handle.query(statusQuery);
      mid = { ms: Date.now() - t, bytes: JSON.stringify(status).length };
    }, () => undefined);
    const limitMin = Number(values['timeout-min']);
    await Promise.race([done, new Promise((r) => setTimeout(r, limitMin * 60_000).unref())]);
    const wallMs = Date.now() - started;
    if (outcome === 'running') {
      await handle.terminate('benchmark time limit').catch(() => undefined);
      outcome = `did not finish within ${limitMin} min`;
    }
    worker.send('stop');
    const peak = await next('done');
    // Every run of the parent (continue-as-new makes several), and a few children.
    const runs: RunSize[] = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(await historyOf(env.client.workflow.getHandle(workflowId, w.runId)));
    const sample = [...new Set([0, Math.floor(n / 2), n - 1])].map((i) => `${workflowId}/web-${i + 1}`);
    const children = (await Promise.all(sample.map((id) => historyOf(env.client.workflow.getHandle(id)).catch(() => undefined)))).filter((c): c is RunSize => Boolean(c));
    const result = { outcome, wallMs, mid, runs, children };
    const parentEvents = result.runs.reduce((a, r) => a + r.events, 0);
    const parentBytes = result.runs.reduce((a, r) => a + r.bytes, 0);
    const row = {
      droplets: n, batch, server: values['stock-server'] ? 'stock' : 'shard poll limits lifted', outcome: result.outcome, wallS: +(result.wallMs / 1000).toFixed(1), msPerDroplet: Math.round(result.wallMs / n),
      parentRuns: result.runs.length, parentEvents, parentMB: +(parentBytes / 1e6).toFixed(2),
      largestRunEvents: Math.max(...result.runs.map((r) => r.events)), largestRunMB: +(Math.max(...result.runs.map((r) => r.bytes)) / 1e6).toFixed(2),
      largestEventKB: +(Math.max(...result.runs.map((r) => r.largestEvent), ...result.children.map((c) => c.largestEvent)) / 1e3).toFixed(1),
      childEvents: Math.max(...result.children.map((c) => c.events)), childKB: +(Math.max(...result.children.map((c) => c.bytes)) / 1e3).toFixed(1),
      statusQueryMs: result.mid?.ms ?? null, statusQueryKB: result.mid ? +(result.mid.bytes / 1e3).toFixed(1) : null,
      workerPeakRssMB: peak.peakRssMB, workerIdleRssMB: idle.idleRssMB,
      ...(local ? { lb: lbMode, ...apiFigures(local.api, n, batch) } : {}),
    };
    if (values.json) console.log(JSON.stringify(row));
    else for (const [k, v] of Object.entries(row)) console.log(`${k.padEnd(18)} ${v}`);
  } finally {
    if (worker.exitCode === null) worker.kill();
    await env.teardown();
    await local?.api.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
