// A droplet's workflow that ends without its report (terminated or reset from the Web UI) is "state unknown,
// may be detached": it needs attention and counts out of the min-attached guard, so the rollback that follows
// does not take the last attached droplet out of the load balancer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { quietRuntime } from '../helpers/workflow-env';
import { findBinary } from '../../sandbox/binaries';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { startRollout, withWorker } from '../helpers/rollout-harness';

let env: TestWorkflowEnvironment;
before(async () => {
  // The dev server: the time-skipping test server never tells a parent that its child was terminated.
  quietRuntime();
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: findBinary('temporal') }, ip: '127.0.0.1', log: { format: 'pretty', level: 'error' } } });
});
after(async () => {
  await env?.teardown();
});

test('web-2\'s workflow terminated mid-deploy: it needs attention, and web-1 is not detached for a rollback', async () => {
  const fake = new FakeFleet(droplets(2));
  const gate = fake.gate('pollHealth', 'web-2');
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, testPlan({ onFailure: 'rollback' }));
    await gate.reached; // web-2 is detached and switched, its health gate running
    await env.client.workflow.getHandle(`${run.handle.workflowId}/web-2`).terminate('terminated from the Web UI');
    const { result } = await run.outcome;
    assert.equal(result?.status, 'failed');
    assert.deepEqual(result?.needsAttention, ['web-2']);
    assert.match(result?.message ?? '', /web-2: its workflow ended without reporting how .*: it may be detached from the load balancer/);
    assert.match(result?.message ?? '', /NEEDS ATTENTION \(detached\): web-2/);
  });
  assert.ok(fake.attachedNames().includes('web-1'), 'web-1 still serves');
  assert.equal(fake.calls.filter((c) => c === 'detachDroplet web-1').length, 1, 'web-1 left the LB only for its own deploy');
});
