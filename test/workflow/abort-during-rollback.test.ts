// An abort during the rollback a failure started stops it after the droplet in flight, and the outcome says what
// happened: the failure, that a rollback ran and was aborted, and how many droplets it returned.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { startRollout, withWorker } from '../helpers/rollout-harness';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

test('web-4 fails; during the rollback of web-3 the operator aborts: web-3 returns, web-2 and web-1 stay, and the outcome says so', async () => {
  const fake = new FakeFleet(droplets(4));
  fake.injections = [{ activity: 'pollHealth', droplet: 'web-4', release: 'v2', times: 1 }];
  const rollback = fake.gate('switchRelease', 'web-3', { release: 'v1' });
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, testPlan({ onFailure: 'rollback' }));
    await rollback.reached; // the rollback (newest first) is switching web-3 back
    await run.handle.signal('abort', {});
    rollback.open();
    const { result } = await run.outcome;
    assert.equal(result?.status, 'aborted');
    assert.match(result?.message ?? '', /^web-4: deploy failed: injected failure of pollHealth on web-4; restored v1 and re-attached\. The rollback was aborted by operator after 1 of 3 updated droplet\(s\) were rolled back; 2 stay on v2\.$/);
  });
  assert.deepEqual([...fake.current.values()].map((c) => c.release), ['v2', 'v2', 'v1', 'v1']);
  assert.ok(!fake.calls.includes('switchRelease web-2 v1'), 'the rollback stopped after web-3');
  assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4']);
});
