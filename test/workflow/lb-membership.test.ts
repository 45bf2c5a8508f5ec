// What the rollout learns from its LB changes: the token's quota after each, and droplets someone else moved in or
// out of the load balancer meanwhile (said in the status; with rollout.onMembershipChange: pause, a pause).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { callsFor, startRollout, waitForStatus, withWorker } from '../helpers/rollout-harness';
import { resumeSignal, statusQuery } from '../../src/workflows/messages';
import { renderStatus } from '../../src/cli/render';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

test('the status says how much of the token\'s hourly quota is used and left, from the plan\'s reads and then each LB change', async () => {
  const fake = new FakeFleet(droplets(3));
  fake.quota = { limit: 5000, remaining: 4000, resetAt: Date.now() + 3_600_000, readAt: Date.now() };
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, testPlan());
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded', result?.message);
    const status = await run.handle.query(statusQuery);
    // Three droplets, a detach and an attach each, two requests a change in the fake.
    assert.deepEqual([status.apiQuota?.limit, status.apiQuota?.remaining], [5000, 3988]);
    assert.match(renderStatus(status, Date.now()), /API quota {6}1012 of 5000 requests used this hour, 3988 left \(as of \d\d:\d\d:\d\d\)/);
  });
});

test('a droplet someone else put back in the LB while it was out is noticed at its attach and said in the status; a compensation\'s own re-attach is not', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    const gate = fake.gate('switchRelease', 'web-2');
    const run = await startRollout(env, tq, testPlan());
    await gate.reached;
    fake.attached.add(1002); // a teammate re-adds web-2 in the control panel while it restarts
    gate.open();
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded', result?.message);
    const status = await run.handle.query(statusQuery);
    assert.deepEqual(status.warnings.filter((w) => /already/.test(w)), ['web-2 was already in load balancer prod-lb']);
  });
  const failing = new FakeFleet(droplets(2));
  failing.injections.push({ activity: 'detachDroplet', droplet: 'web-1' }); // refused: web-1 never left
  await withWorker(env, failing, async (tq) => {
    const run = await startRollout(env, tq, testPlan({ minAttached: 1 }));
    await run.outcome;
    const status = await run.handle.query(statusQuery);
    assert.ok(callsFor(failing, 'web-1').includes('attachDroplet'), 'the saga re-attached web-1 after the failed detach');
    assert.deepEqual(status.warnings.filter((w) => /already/.test(w)), [], 'web-1 was still in the LB because its own detach failed: nobody else moved it');
  });
});

test('rollout.onMembershipChange: pause: the rollout pauses after the batch where it saw the move, and goes on when resumed', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    const gate = fake.gate('switchRelease', 'web-1');
    const run = await startRollout(env, tq, testPlan({ onMembershipChange: 'pause' }));
    await gate.reached;
    fake.attached.add(1001);
    gate.open();
    const paused = await waitForStatus(run, (s) => s.phase === 'paused');
    assert.match(paused.message ?? '', /^paused after batch 1: web-1 was already in load balancer prod-lb; check the load balancer, then resume or abort$/);
    assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2'], 'the next batch did not leave');
    await run.handle.signal(resumeSignal);
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded', result?.message);
  });
});
