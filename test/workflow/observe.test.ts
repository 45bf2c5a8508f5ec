// Drain and settle watched through the load balancer: with loadBalancer.observe the saga asks the LB (through an
// activity) instead of sleeping, records which way each ended, and goes on at the maximum as a timer would.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { callsFor, startRollout, withWorker } from '../helpers/rollout-harness';
import type { EnvironmentPlan } from '../../src/types';
import { statusQuery } from '../../src/workflows/messages';
import { renderStatus } from '../../src/cli/render';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

const observed = (): EnvironmentPlan => ({
  ...testPlan(),
  observe: { url: 'http://127.0.0.9:8000/', droplet: 'json:droplet', release: 'json:release', servings: 2, maxDrainMs: 30_000, maxSettleMs: 90_000 },
});

test('with loadBalancer.observe, drain and settle are watched through the LB, and each step says it was observed', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, observed());
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded', result?.message);
    const steps = result?.droplets[0].steps ?? [];
    assert.deepEqual(steps.filter((s) => s.how).map((s) => [s.step, s.how]), [['drain', 'observed'], ['settle', 'observed']]);
    assert.match(steps.find((s) => s.step === 'settle')?.detail ?? '', /settled, observed/);
    assert.deepEqual(steps.filter((s) => s.how).map((s) => s.requests), [3, 3], 'each watched step records what it cost in requests through the LB');
  });
  for (const d of ['web-1', 'web-2', 'web-3']) {
    const calls = callsFor(fake, d);
    // The record is read while the drain is watched: the two run side by side, in either order.
    assert.deepEqual([...calls.slice(0, 2), ...calls.slice(2, 4).sort(), ...calls.slice(4)], ['stageRelease v2', 'detachDroplet', 'observeLoadBalancer drained', 'recordPreviousRelease',
      'switchRelease v2', 'pollHealth v2', 'attachDroplet', 'observeLoadBalancer settled', 'pollHealth v2']);
  }
});

test('an LB that never shows the change: each watch ends at its maximum, says so, and the rollout goes on as with timers', async () => {
  const fake = new FakeFleet(droplets(2));
  fake.lbUnobservable = true;
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, { ...observed(), rollout: { ...observed().rollout, minAttached: 1 } });
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded', result?.message);
    assert.deepEqual(result?.droplets[1].steps.filter((s) => s.how).map((s) => [s.step, s.how]), [['drain', 'maximum'], ['settle', 'maximum']]);
  });
  assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2']);
});

test('without loadBalancer.observe nothing is asked of the LB: the timers run as before', async () => {
  const fake = new FakeFleet(droplets(2));
  await withWorker(env, fake, async (tq) => {
    const { result } = await (await startRollout(env, tq, testPlan({ minAttached: 1 }))).outcome;
    assert.equal(result?.status, 'succeeded');
    assert.ok(result?.droplets.every((d) => d.steps.every((s) => s.how === undefined)));
  });
  assert.ok(!fake.calls.some((c) => c.startsWith('observeLoadBalancer')));
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
