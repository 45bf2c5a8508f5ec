// End-to-end harness: a real Temporal dev server, a worker with the real activities, the local fleet
// (sshd droplets behind HAProxy, fake DO API), steady load through the LB, and the operator CLI.
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { runStart } from '../../src/cli/start';
import { outcomeOf } from '../../src/cli/follow';
import { rolloutView } from '../../src/cli/view';
import { rolloutWorkflowId } from '../../src/rollout-plan';
import type { RolloutResult, RolloutStatus } from '../../src/workflows/messages';
import { startLoad, type Load, type LoadReport } from '../../sandbox/load';
import { startStack, type Stack, type StackOptions } from '../../sandbox/stack';
import { workflowBundlePath } from './workflow-env';

export const WORKFLOW_ID = rolloutWorkflowId('sample-app', 'production');

/** The sample app's named volume on each droplet's engine (Compose project sample-app, volume app-data). */
export const APP_VOLUME = 'sample-app_app-data';
/** Quick rollout timings for tests (the LB checks every 1 s; healthy after 2 unless a test says otherwise). */
export const FAST = { drainDelay: '1s', settleMargin: '2s' };

/** Loads still running (a test that failed mid-rollout): stopped with the stack so the process can exit. */
const loads = new Set<Load>();

export async function e2eStack(opts: StackOptions): Promise<Stack> {
  const stack = await startStack({ appBootMs: 1000, ...opts, taskQueue: `e2e-${process.pid}`, workflowBundlePath: await workflowBundlePath() });
  Object.assign(process.env, stack.processEnv);
  const stop = stack.stop;
  stack.stop = async () => {
    await Promise.all([...loads].map((l) => l.stop()));
    await stop();
  };
  return stack;
}

export interface Rollout {
  handle: WorkflowHandle;
  load: Load;
  /** Wait for the end; stop the load a moment later; return the outcome and the traffic. */
  finish(): Promise<{ result?: RolloutResult; error?: unknown; traffic: LoadReport; status: RolloutStatus }>;
  status(): Promise<RolloutStatus>;
  waitFor(predicate: (s: RolloutStatus) => boolean, timeoutMs?: number): Promise<RolloutStatus>;
}

/** Start a rollout the way an operator does (the CLI, detached), with steady load through the LB. */
export async function rollout(stack: Stack, release: string, overrides: Record<string, unknown> = {}, batchSize?: number, extraFiles: { from: string; to: string }[] = []): Promise<Rollout> {
  // Every tag gets its image in the fleet's registry, except one that says it was never pushed.
  if (!release.includes('never-pushed')) await stack.fleet.publish(release);
  const config = stack.fleet.writeConfig({ ...FAST, ...overrides }, extraFiles);
  const load = startLoad(`${stack.fleet.lb.url}/`, { concurrency: 4, intervalMs: 40, maxMs: 5 * 60_000 });
  loads.add(load);
  const out: string[] = [];
  const code = await runStart({ verb: 'start', env: 'production', config, release, batchSize, dryRun: false, detach: true, json: false, rollback: false, limit: 10 }, (l) => out.push(l));
  assert.equal(code, 0, out.join('\n'));
  const handle = stack.client.workflow.getHandle(WORKFLOW_ID);
  const status = () => rolloutView(stack.client.workflow, handle);
  return {
    handle, load, status,
    async waitFor(predicate, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let last: RolloutStatus | undefined;
      while (Date.now() < deadline) {
        try {
          last = await status();
          if (predicate(last)) return last;
        } catch {
          // first workflow task not done yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`rollout never reached the expected state; last: ${JSON.stringify(last?.droplets.map((d) => [d.name, d.state, d.step]))}`);
    },
    async finish() {
      let result: RolloutResult | undefined;
      let error: unknown;
      try {
        result = await handle.result();
      } catch (err) {
        error = err;
        result = outcomeOf(err);
      }
      await new Promise((r) => setTimeout(r, 1500));
      const traffic = await load.stop();
      loads.delete(load);
      return { result, error, traffic, status: await status() };
    },
  };
}

export function assertNoFailedRequests(traffic: LoadReport): void {
  assert.ok(traffic.requests > 100, `enough traffic to mean something (${traffic.requests})`);
  assert.equal(traffic.failedRequests, 0, `failed requests: ${traffic.firstErrors.join('; ')}`);
}

export async function assertFleet(stack: Stack, releases: Record<string, string>): Promise<void> {
  assert.deepEqual(await stack.fleet.releases(), releases);
  assert.deepEqual(stack.fleet.attached(), Object.keys(releases), 'every droplet is attached');
  assert.deepEqual(stack.fleet.api.fatal, [], 'the load balancer was never deleted');
  // The data plane agrees: every server is back in HAProxy's rotation.
  const deadline = Date.now() + 15_000;
  let servers = await stack.fleet.lb.servers();
  while (servers.some((s) => !s.status.startsWith('UP')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    servers = await stack.fleet.lb.servers();
  }
  assert.deepEqual(servers.map((s) => [s.name, s.status.split(' ')[0]]), Object.keys(releases).map((n) => [n, 'UP']));
}

export const all = (release: string, n = 4) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`web-${i + 1}`, release]));
