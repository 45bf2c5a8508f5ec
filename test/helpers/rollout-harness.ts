// Runs rolloutWorkflow on the time-skipping test server against FakeFleet activities.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { rolloutWorkflowId } from '../../src/rollout-plan';
import type { EnvironmentPlan } from '../../src/types';
import type { RolloutInput } from '../../src/rollout-status';
import type { RolloutResult, RolloutStatus } from '../../src/workflows/messages';
import { outcomeOf } from '../../src/cli/follow';
import { rolloutView } from '../../src/cli/view';
import type { FakeFleet } from './fake-activities';
import { workflowBundlePath } from './workflow-env';

let counter = 0;

export interface Run {
  handle: WorkflowHandle;
  /**
   * Resolves with the result, or the RolloutResult carried by the failure. Lazy: awaiting a result lets the
   * time-skipping server jump ahead, which would race a paused rollout into its execution timeout.
   */
  readonly outcome: Promise<{ result?: RolloutResult; error?: unknown }>;
  status(): Promise<RolloutStatus>;
}

export async function withWorker<T>(env: TestWorkflowEnvironment, fake: FakeFleet, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `test-${process.pid}-${++counter}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: await workflowBundlePath() },
    activities: fake.activities(),
  });
  return worker.runUntil(fn(taskQueue));
}

export function startRollout(env: TestWorkflowEnvironment, taskQueue: string, plan: EnvironmentPlan, release = 'v2', historyBudget?: number, extra: Partial<RolloutInput> = {}): Promise<Run> {
  return env.client.workflow
    .start('rolloutWorkflow', {
      taskQueue,
      workflowId: `${rolloutWorkflowId(plan.app, plan.env)}-${taskQueue}`,
      args: [{ plan, release, historyBudget, ...extra }],
      workflowIdConflictPolicy: 'FAIL',
    })
    .then((handle) => {
      let outcome: Run['outcome'] | undefined;
      return {
        handle,
        get outcome() {
          outcome ??= handle.result().then(
            (result: RolloutResult) => ({ result }),
            (error: unknown) => ({ result: outcomeOf(error), error }),
          );
          return outcome;
        },
        status: () => rolloutView(env.client.workflow, handle),
      };
    });
}

/** Poll the status query until `predicate` holds (real time; fakes are fast). */
export async function waitForStatus(run: Run, predicate: (s: RolloutStatus) => boolean, timeoutMs = 15_000): Promise<RolloutStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RolloutStatus | undefined;
  while (Date.now() < deadline) {
    last = await run.status();
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
}

/** With RECORD_HISTORIES=1, keep this run's history for the replay tests. */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string, env?: TestWorkflowEnvironment, child?: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const dir = path.resolve(__dirname, '..', 'histories');
  const save = async (h: WorkflowHandle, file: string) => {
    // Stack traces name files relative to the checkout: a kept history holds no machine's paths.
    writeFileSync(path.join(dir, `${file}.json`), historyToJSON(await h.fetchHistory()).replaceAll(`${path.resolve(__dirname, '..', '..')}/`, ''));
    // Replay needs the original workflow ID (children's IDs derive from it).
    const index = path.join(dir, 'workflow-ids.json');
    const ids = existsSync(index) ? JSON.parse(readFileSync(index, 'utf8')) : {};
    writeFileSync(index, `${JSON.stringify({ ...ids, [`${file}.json`]: h.workflowId }, Object.keys({ ...ids, [`${file}.json`]: 1 }).sort(), 1)}\n`);
  };
  await save(handle, `rollout-${name}`);
  if (env && child) await save(env.client.workflow.getHandle(`${handle.workflowId}/${child}`), `droplet-${name}`);
}

/** Only the calls that concern one droplet, in order, without the droplet's name. */
export function callsFor(fake: FakeFleet, droplet: string): string[] {
  return fake.calls
    .filter((c) => c.split(' ').includes(droplet))
    .map((c) => c.replace(` ${droplet}`, '').trim());
}
