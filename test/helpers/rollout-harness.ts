// Runs rolloutWorkflow on the time-skipping test server against FakeFleet activities.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { rolloutWorkflowId } from '../../src/rollout-plan';
import type { EnvironmentPlan } from '../../src/types';
import type { RolloutResult, RolloutStatus } from '../../src/workflows/messages';
import { outcomeOf } from '../../src/cli/follow';
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

export function startRollout(env: TestWorkflowEnvironment, taskQueue: string, plan: EnvironmentPlan, release = 'v2'): Promise<Run> {
  return env.client.workflow
    .start('rolloutWorkflow', {
      taskQueue,
      workflowId: `${rolloutWorkflowId(plan.app, plan.env)}-${taskQueue}`,
      args: [{ plan, release }],
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
        status: () => handle.query<RolloutStatus>('status'),
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
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await handle.fetchHistory();
  writeFileSync(path.resolve(__dirname, '..', 'histories', `${name}.json`), JSON.stringify(history, null, 1));
}

/** Only the calls that concern one droplet, in order, without the droplet's name. */
export function callsFor(fake: FakeFleet, droplet: string): string[] {
  return fake.calls
    .filter((c) => c.split(' ').includes(droplet))
    .map((c) => c.replace(` ${droplet}`, '').trim());
}
