// Notifications: one per rollout event, in order, and a webhook that is down never fails or holds up a rollout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { maybeRecordHistory, startRollout, waitForStatus, withWorker } from '../helpers/rollout-harness';
import type { EnvironmentPlan } from '../../src/types';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

const notified = (fake: FakeFleet) => fake.calls.filter((c) => c.startsWith('notify ') || c === '  ✗ sendNotification webhook').map((c) => c.trim());
const withWebhook = (plan: EnvironmentPlan): EnvironmentPlan => ({ ...plan, notify: { webhookUrlEnv: 'DEPLOY_WEBHOOK_URL' } });

test('started, then the outcome; a rollout without a webhook sends nothing', async () => {
  const fake = new FakeFleet(droplets(2));
  await withWorker(env, fake, async (tq) => {
    assert.equal((await (await startRollout(env, tq, withWebhook(testPlan()))).outcome).result?.status, 'succeeded');
  });
  assert.deepEqual(notified(fake), ['notify started', 'notify succeeded']);

  const quiet = new FakeFleet(droplets(2));
  await withWorker(env, quiet, async (tq) => {
    assert.equal((await (await startRollout(env, tq, testPlan())).outcome).result?.status, 'succeeded');
  });
  assert.deepEqual(notified(quiet), []);
});

test('a pause, a failure with rollback and a droplet left detached are each told', async () => {
  const fake = new FakeFleet(droplets(3));
  const gate = fake.gate('switchRelease', 'web-1');
  fake.injections = [
    { activity: 'pollHealth', droplet: 'web-2', release: 'v2' },
    { activity: 'switchRelease', droplet: 'web-2', release: 'v1' }, // its restore fails: left detached
  ];
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, withWebhook(testPlan({ onFailure: 'rollback' })));
    await gate.reached;
    await run.handle.signal('pause');
    gate.open();
    await waitForStatus(run, (s) => s.phase === 'paused');
    await run.handle.signal('resume');
    const { result } = await run.outcome;
    await maybeRecordHistory(run.handle, 'staged-notifications');
    assert.equal(result?.status, 'rolled-back', fake.calls.join('\n'));
    assert.match(result?.message ?? '', /NEEDS ATTENTION \(detached\): web-2/);
  });
  assert.deepEqual(notified(fake), ['notify started', 'notify paused', 'notify needs-attention', 'notify rolled-back']);
});

test('a webhook that is down: the rollout succeeds all the same, the failed sends are in its history', async () => {
  const fake = new FakeFleet(droplets(2));
  fake.injections = [{ activity: 'sendNotification', retryable: true }];
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, withWebhook(testPlan()));
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded');
    const events = (await run.handle.fetchHistory()).events ?? [];
    assert.ok(events.some((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes), 'visible in the history');
  });
  assert.ok(notified(fake).filter((c) => c.startsWith('✗')).length >= 2, 'each send was retried and failed');
  assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2']);
});
