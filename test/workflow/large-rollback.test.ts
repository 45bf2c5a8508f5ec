// A large fleet's rollout keeps full reports only for what an operator must read one by one (failures, notes),
// and at most REPORT_CAP of them: rolled-back droplets are counted, not carried, so a rollback of thousands of
// droplets stays far below Temporal's 2 MB payload limit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { startRollout, withWorker } from '../helpers/rollout-harness';
import { DETAIL_LIMIT } from '../../src/workflows/rollout/book';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

test(`past ${DETAIL_LIMIT} droplets, a failure's rollback carries counts, not a report per rolled-back droplet`, async () => {
  const n = DETAIL_LIMIT + 10;
  const fake = new FakeFleet(droplets(n));
  const last = `web-${n}`;
  fake.injections = [{ activity: 'pollHealth', droplet: last, release: 'v2', times: 1 }];
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, testPlan({ batchSize: 20, minAttached: 1 }), 'v2', 150); // continue as new often
    const { result } = await run.outcome;
    assert.equal(result?.status, 'rolled-back');
    assert.equal(result?.counts?.['rolled-back'], n - 20 + 19, 'every updated droplet was rolled back');
    assert.deepEqual(result?.droplets.map((d) => [d.droplet, d.outcome]), [[last, 'restored']], 'only the failure is reported in full');
    // Every run of the chain: each continued run's input carries what the rollout keeps.
    const carried: temporal.api.history.v1.IWorkflowExecutionContinuedAsNewEventAttributes[] = [];
    for (let runId: string | null | undefined = (run.handle as WorkflowHandleWithFirstExecutionRunId).firstExecutionRunId; runId;) {
      const events: temporal.api.history.v1.IHistoryEvent[] = (await env.client.workflow.getHandle(run.handle.workflowId, runId).fetchHistory()).events ?? [];
      const next: temporal.api.history.v1.IWorkflowExecutionContinuedAsNewEventAttributes | null | undefined = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
      if (next) carried.push(next);
      runId = next?.newExecutionRunId;
    }
    assert.ok(carried.length >= 2, `the rollout continued as new (${carried.length} times)`);
    for (const e of carried) {
      const size = e.input?.payloads?.reduce((sum: number, p) => sum + (p.data?.length ?? 0), 0) ?? 0;
      assert.ok(size < 64 * 1024, `a continued run's input stays small (${size} bytes)`);
    }
  });
});
