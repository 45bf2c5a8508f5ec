// Canary with approval: after the first batch the rollout waits; `approve` is an update the rollout accepts
// only while it waits (the refusal carries the reason), and an approval that never comes rolls back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { callsFor, maybeRecordHistory, startRollout, waitForStatus, withWorker } from '../helpers/rollout-harness';
import type { EnvironmentPlan } from '../../src/types';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

const canary = (overrides: Partial<EnvironmentPlan['rollout']> = {}): EnvironmentPlan =>
  ({ ...testPlan({ approve: 'after-first-batch', ...overrides }), notify: { webhookUrlEnv: 'DEPLOY_WEBHOOK_URL' } });

test('the first batch deploys, the rest waits for approval; approve is refused while not waiting, accepted while waiting', async () => {
  const fake = new FakeFleet(droplets(3));
  const gate = fake.gate('switchRelease', 'web-1');
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, canary());
    await gate.reached;
    await assert.rejects(run.handle.executeUpdate<string, []>('approve'), (err: unknown) =>
      err instanceof WorkflowUpdateFailedError && /is not waiting for approval \(it is deploying\)/.test((err.cause as Error).message));
    gate.open();
    const waiting = await waitForStatus(run, (s) => s.phase === 'awaiting-approval');
    assert.deepEqual(waiting.droplets.map((d) => d.state), ['deployed', 'pending', 'pending']);
    assert.match(waiting.message ?? '', /approve with "npm run deploy -- approve production"/);
    assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2'], 'nothing beyond staging before the approval');
    assert.match(await run.handle.executeUpdate<string, []>('approve'), /^approved: shop production continues with batch 2 of 3/);
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded');
    await maybeRecordHistory(run.handle, 'staged-approval');
  });
  assert.deepEqual(fake.calls.filter((c) => c.startsWith('notify ')), ['notify started', 'notify awaiting-approval', 'notify succeeded']);
});

test('no approval within approveTimeout: the canary batch is rolled back, and the rollout says why', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    const { result } = await (await startRollout(env, tq, canary({ approveTimeoutMs: 10 * 60_000, onFailure: 'stop' }))).outcome;
    assert.equal(result?.status, 'rolled-back', result?.message);
    assert.match(result?.message ?? '', /batch 1 was not approved within 10m.*Rolled back 1 updated droplet/);
  });
  assert.deepEqual([...fake.current.values()].map((c) => c.release), ['v1', 'v1', 'v1']);
  assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
});

test('no approval within approveTimeout with onApproveTimeout: pause waits for resume, which continues', async () => {
  const fake = new FakeFleet(droplets(2));
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, canary({ approveTimeoutMs: 60_000, onApproveTimeout: 'pause', minAttached: 1 }));
    await waitForStatus(run, (s) => s.phase === 'awaiting-approval');
    await env.sleep(70_000); // the time-skipping server jumps past the approval timeout
    const paused = await waitForStatus(run, (s) => s.phase === 'paused');
    assert.match(paused.message ?? '', /not approved within 1m: paused/);
    await run.handle.signal('resume');
    assert.equal((await run.outcome).result?.status, 'succeeded');
  });
});
