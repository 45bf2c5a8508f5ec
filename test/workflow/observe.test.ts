// Drain and settle watched through the load balancer: with loadBalancer.observe the saga asks the LB (through an
// activity) instead of sleeping, records which way each ended, and goes on at the maximum as a timer would.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { callsFor, startRollout, withWorker } from '../helpers/rollout-harness';
import type { EnvironmentPlan } from '../../src/types';

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
