// `npx tsx bench/lb-kills.ts [--kills 50] [--seed 1] [--droplets 6] [--batch 2]`: membership as desired state under
// lost workers. Rollouts with the real LB steps against the local API (quota, busy windows), everything else instant;
// the worker (bench/scale-worker.ts, its own process) is killed with SIGKILL at a seeded moment: when the API sees the
// k-th membership change after the worker's start (k drawn 1–3), that is with the answer on its way or lost. A new
// worker takes over at once. After each rollout: every droplet is in the LB, or the rollout names it as needing
// attention. Prints the kills, the rollouts, and every droplet left out unreported (the target: none).
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { quietRuntime } from '../sandbox/stack';
import { findBinary } from '../sandbox/binaries';
import { seededRandom } from '../sandbox/fake-digitalocean';
import { DeployApp, DeployEnv, DeployRelease } from '../src/search-attributes';
import type { rolloutWorkflow } from '../src/workflows';
import { WORKFLOW_TYPES, statusQuery } from '../src/workflows/messages';
import { rolloutWorkflowId } from '../src/rollout-plan';
import { WORKER_HEAP_FLAG } from '../src/deploy-worker';
import { droplets as fleetOf, testPlan } from '../test/helpers/fake-activities';
import { workflowBundlePath } from '../test/helpers/workflow-env';
import { localApi, LOCAL_API_TOKEN } from './local-api';

const { values } = parseArgs({ options: {
  kills: { type: 'string', default: '50' }, seed: { type: 'string', default: '1' }, droplets: { type: 'string', default: '6' },
  batch: { type: 'string', default: '2' }, 'timeout-min': { type: 'string', default: '25' },
} });
const n = Number(values.droplets);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: findBinary('temporal') }, ip: '127.0.0.1', searchAttributes: [DeployApp, DeployEnv, DeployRelease], log: { format: 'pretty', level: 'error' } },
  });
  const { api, url } = await localApi(n, Number(values.seed));
  api.faults.busyWindowMs = { min: 0, max: 1000 };
  const random = seededRandom(Number(values.seed));
  const taskQueue = `lb-kills-${process.pid}`;
  const bundle = await workflowBundlePath();
  const mutations = () => api.requests.filter((r) => r.method === 'POST' || r.method === 'DELETE').length;
  let worker: ChildProcess | undefined;
  let kills = 0;
  const start = async () => {
    const w = fork(path.join(__dirname, 'scale-worker.ts'), [env.address, taskQueue, String(n), bundle, 'coalesced'], {
      execArgv: ['--import', 'tsx', WORKER_HEAP_FLAG], stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, DIGITALOCEAN_TOKEN: LOCAL_API_TOKEN, DIGITALOCEAN_API_URL: url },
    });
    await new Promise<void>((resolve, reject) => {
      w.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
      w.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
    });
    worker = w;
  };
  // Kills the worker at the k-th membership change after each start, until enough kills.
  let stopKiller = false;
  const killer = (async () => {
    while (!stopKiller && kills < Number(values.kills)) {
      const at = mutations() + 1 + Math.floor(random() * 3);
      while (!stopKiller && mutations() < at) await sleep(2);
      if (stopKiller) break;
      worker?.kill('SIGKILL');
      kills++;
      await start();
    }
  })();
  const unreported: string[] = [];
  let rollouts = 0;
  let failedRollouts = 0;
  const until = Date.now() + Number(values['timeout-min']) * 60_000;
  try {
    await start();
    while (kills < Number(values.kills) && Date.now() < until) {
      const plan = testPlan({ batchSize: Number(values.batch), minAttached: 0, drainDelayMs: 0, settleDelayMs: 0, settleMarginMs: 0, bakeMs: 0 });
      plan.rollout.steps.loadBalancer = { timeoutMs: 10_000, maximumAttempts: 10 };
      const handle = await env.client.workflow.start<typeof rolloutWorkflow>(WORKFLOW_TYPES.rollout, {
        taskQueue, workflowId: rolloutWorkflowId(plan.app, plan.env), args: [{ plan, release: `v${rollouts + 2}` }],
      });
      const ok = await handle.result().then(() => true, () => false);
      rollouts++;
      if (!ok) failedRollouts++;
      const status = await handle.query(statusQuery);
      const attached = new Set(api.loadBalancers.get('lb-uuid-1')?.dropletIds ?? []);
      for (const d of fleetOf(n)) {
        if (!attached.has(d.id) && !status.needsAttention.includes(d.name)) unreported.push(`rollout ${rollouts}: ${d.name} out of the LB, not named`);
      }
      // The next rollout starts from a whole LB: a droplet named as needing attention is put back by hand.
      api.loadBalancers.get('lb-uuid-1')!.dropletIds = fleetOf(n).map((d) => d.id);
      console.log(`rollout ${rollouts}: ${ok ? 'succeeded' : 'failed'}; ${kills} kill(s) so far; needs attention: ${status.needsAttention.join(', ') || 'none'}`);
    }
  } finally {
    stopKiller = true;
    await killer.catch(() => undefined);
    worker?.kill('SIGKILL');
    await env.teardown();
    await api.close();
  }
  console.log(`\n${kills} worker kills during LB changes over ${rollouts} rollouts of ${n} droplets (batch ${values.batch}), seed ${values.seed}; ` +
    `${failedRollouts} rollout(s) failed; droplets left out of the LB unreported: ${unreported.length}`);
  for (const u of unreported) console.log(`  ${u}`);
  return unreported.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(2);
});
