// A droplet the load balancer can route to is never restarted: an abort during settle keeps it on the new
// release (a rollback returns it through the rollback path, which detaches first), and an attach whose
// request may have reached the API is undone (detach, drain) before the compensation restarts anything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { callsFor, maybeRecordHistory, startRollout, waitForStatus, withWorker } from '../helpers/rollout-harness';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

const HAPPY = ['stageRelease v2', 'detachDroplet', 'recordPreviousRelease', 'switchRelease v2', 'pollHealth v2', 'attachDroplet'];
// A rollback's droplet is verified after its settle; the batch caught by the abort in settle is not (no restart in service).
const ROLLBACK = ['detachDroplet', 'recordPreviousRelease', 'switchRelease v1', 'pollHealth v1', 'attachDroplet', 'pollHealth v1'];
const ALL_STEPS = ['detach', 'drain', 'record-previous', 'switch', 'health', 'attach', 'settle'];
// Long enough (in real time) for the test to catch the batch in settle; the time-skipping server skips it once awaited.
const LONG_SETTLE = 10 * 60_000;

describe('abort while the batch is in settle', () => {
  for (const batchSize of [1, 2]) {
    const batch = ['web-1', 'web-2'].slice(0, batchSize);

    test(`without rollback, batch ${batchSize}: the batch keeps the new release, in service, and nothing restarts`, async () => {
      const fake = new FakeFleet(droplets(4));
      await withWorker(env, fake, async (tq) => {
        const run = await startRollout(env, tq, testPlan({ batchSize, minAttached: 2, settleDelayMs: LONG_SETTLE }));
        await waitForStatus(run, (s) => batch.every((n) => s.droplets.find((d) => d.name === n)?.step === 'settle'));
        await run.handle.signal('abort', {});
        const { result } = await run.outcome;
        assert.equal(result?.status, 'aborted');
        assert.match(result?.message ?? '', new RegExp(`after ${batchSize} droplet\\(s\\) were updated`));
        const status = await run.status();
        assert.deepEqual(status.droplets.map((d) => d.state), [...batch.map(() => 'deployed'), ...Array(4 - batchSize).fill('skipped')]);
        for (const name of batch) {
          const d = status.droplets.find((x) => x.name === name);
          assert.match(d?.note ?? '', /abort came after web-\d was back in the load balancer: kept on v2/);
          assert.deepEqual(d?.steps.map((s) => [s.step, s.ok]), ALL_STEPS.map((s) => [s, true]), 'every step ended well, settle included');
        }
      });
      for (const name of batch) assert.deepEqual(callsFor(fake, name), HAPPY);
      assert.deepEqual(fake.restartsInService, []);
      assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4']);
      assert.deepEqual([...fake.current.values()].map((c) => c.release), [...batch.map(() => 'v2'), ...Array(4 - batchSize).fill('v1')]);
    });

    test(`with rollback, batch ${batchSize}: the batch returns to its previous release through detach and drain`, async () => {
      const fake = new FakeFleet(droplets(4));
      await withWorker(env, fake, async (tq) => {
        const run = await startRollout(env, tq, testPlan({ batchSize, minAttached: 2, settleDelayMs: LONG_SETTLE }));
        await waitForStatus(run, (s) => batch.every((n) => s.droplets.find((d) => d.name === n)?.step === 'settle'));
        await run.handle.signal('abort', { rollback: true });
        const { result } = await run.outcome;
        assert.equal(result?.status, 'aborted');
        assert.match(result?.message ?? '', new RegExp(`${batchSize} updated droplet\\(s\\) rolled back`));
        const status = await run.status();
        assert.deepEqual(status.droplets.map((d) => d.state), [...batch.map(() => 'rolled-back'), ...Array(4 - batchSize).fill('skipped')]);
        if (batchSize === 2) await maybeRecordHistory(run.handle, 'staged-abort-rollback', env, 'web-2');
      });
      for (const name of batch) assert.deepEqual(callsFor(fake, name), [...HAPPY, ...ROLLBACK]);
      assert.deepEqual(fake.restartsInService, []);
      assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4']);
      assert.deepEqual([...fake.current.values()].map((c) => c.release), ['v1', 'v1', 'v1', 'v1']);
    });
  }
});

describe('an attach whose request reached the API but whose answer was lost', () => {
  test('is undone (detach, drain) before the previous release restarts; the failed step is attach', async () => {
    const fake = new FakeFleet(droplets(3));
    fake.injections = [{ activity: 'attachDroplet', droplet: 'web-1', afterEffect: true, times: 1 }];
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan({ onFailure: 'stop' }));
      const { result } = await run.outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /web-1: deploy failed: injected failure of attachDroplet on web-1; restored v1 and re-attached/);
      const web1 = (await run.status()).droplets[0];
      assert.equal(web1.state, 'restored');
      assert.deepEqual(web1.steps.map((s) => [s.step, s.ok]), [
        ['detach', true], ['drain', true], ['record-previous', true], ['switch', true], ['health', true],
        ['attach', false], ['detach', true], ['drain', true], ['restore', true], ['restore-health', true], ['reattach', true], ['settle', true],
      ], 'only the attach failed; the restore steps are reported as they went');
      assert.ok(web1.steps.every((s) => s.endedAt !== undefined));
    });
    assert.deepEqual(callsFor(fake, 'web-1'), [
      ...HAPPY, '✗ attachDroplet', 'detachDroplet', 'switchRelease v1', 'pollHealth v1', 'attachDroplet',
    ]);
    assert.deepEqual(fake.restartsInService, [], 'web-1 was out of the load balancer when v1 restarted');
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
    assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2']);
  });
});
