// `npm run bench:scale -- --droplets N --batch B`: one rollout of N droplets on a real dev server with the real
// workflows and instant activities (no droplets, no API), drain/settle/bake 0. Prints what grows with N: wall
// time, ms per droplet, parent and child history (events, bytes, the largest event), the status query mid-run
// (latency, size) and the worker's peak RSS. `--json` prints one JSON line instead.
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import { quietRuntime } from '../sandbox/stack';
import { findBinary } from '../sandbox/binaries';
import { DeployApp, DeployEnv, DeployRelease } from '../src/search-attributes';
import { rolloutWorkflowId } from '../src/rollout-plan';
import { FakeFleet, droplets, testPlan } from '../test/helpers/fake-activities';
import { workflowBundlePath } from '../test/helpers/workflow-env';

const { values } = parseArgs({ options: {
  droplets: { type: 'string', default: '200' }, batch: { type: 'string', default: '1' }, json: { type: 'boolean', default: false },
  'timeout-min': { type: 'string', default: '30' },
} });
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
    },
  });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  try {
    const fake = new FakeFleet(droplets(n));
    const taskQueue = `scale-${process.pid}`;
    const worker = await Worker.create({
      connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: await workflowBundlePath() }, activities: fake.activities(),
      maxCachedWorkflows: Number(process.env.BENCH_CACHE ?? 1000),
    });
    const plan = testPlan({ batchSize: batch, minAttached: 0, drainDelayMs: 0, settleDelayMs: 0, settleMarginMs: 0, bakeMs: 0 });
    const workflowId = rolloutWorkflowId(plan.app, plan.env);
    const idleRss = process.memoryUsage().rss;
    const result = await worker.runUntil(async () => {
      const started = Date.now();
      const handle = await env.client.workflow.start('rolloutWorkflow', { taskQueue, workflowId, args: [{ plan, release: 'v2' }] });
      // Mid-run: the first status query after half the droplets were touched.
      let mid: { ms: number; bytes: number } | undefined;
      const deadline = started + Number(values['timeout-min']) * 60_000;
      let outcome: 'succeeded' | string = 'running';
      const done = handle.result().then(() => (outcome = 'succeeded'), (err: Error) => (outcome = `failed: ${err.message}`));
      while (outcome === 'running' && Date.now() < deadline) {
        if (!mid && fake.calls.filter((c) => c.startsWith('attachDroplet')).length >= n / 2) {
          const t = Date.now();
          const status = await handle.query('status');
          mid = { ms: Date.now() - t, bytes: JSON.stringify(status).length };
        }
        await Promise.race([done, new Promise((r) => setTimeout(r, 200))]);
      }
      const wallMs = Date.now() - started;
      if (outcome === 'running') {
        await handle.terminate('benchmark time limit').catch(() => undefined);
        outcome = `did not finish within ${values['timeout-min']} min`;
      }
      // Every run of the parent (continue-as-new makes several), and a few children.
      const runs: RunSize[] = [];
      for await (const w of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(await historyOf(env.client.workflow.getHandle(workflowId, w.runId)));
      const sample = [...new Set([0, Math.floor(n / 2), n - 1])].map((i) => `${workflowId}/web-${i + 1}`);
      const children = await Promise.all(sample.map((id) => historyOf(env.client.workflow.getHandle(id)).catch(() => undefined)));
      return { outcome, wallMs, mid, runs, children: children.filter((c): c is RunSize => Boolean(c)) };
    });
    const parentEvents = result.runs.reduce((a, r) => a + r.events, 0);
    const parentBytes = result.runs.reduce((a, r) => a + r.bytes, 0);
    const row = {
      droplets: n, batch, outcome: result.outcome, wallS: +(result.wallMs / 1000).toFixed(1), msPerDroplet: Math.round(result.wallMs / n),
      parentRuns: result.runs.length, parentEvents, parentMB: +(parentBytes / 1e6).toFixed(2),
      largestRunEvents: Math.max(...result.runs.map((r) => r.events)), largestRunMB: +(Math.max(...result.runs.map((r) => r.bytes)) / 1e6).toFixed(2),
      largestEventKB: +(Math.max(...result.runs.map((r) => r.largestEvent), ...result.children.map((c) => c.largestEvent)) / 1e3).toFixed(1),
      childEvents: Math.max(...result.children.map((c) => c.events)), childKB: +(Math.max(...result.children.map((c) => c.bytes)) / 1e3).toFixed(1),
      statusQueryMs: result.mid?.ms ?? null, statusQueryKB: result.mid ? +(result.mid.bytes / 1e3).toFixed(1) : null,
      peakRssMB: Math.round(peakRss / 1e6), idleRssMB: Math.round(idleRss / 1e6),
    };
    if (values.json) console.log(JSON.stringify(row));
    else for (const [k, v] of Object.entries(row)) console.log(`${k.padEnd(18)} ${v}`);
  } finally {
    clearInterval(sampler);
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
