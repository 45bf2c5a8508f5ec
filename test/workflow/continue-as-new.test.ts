// A rollout continues as new between batches once its history passes a budget (4000 events by default;
// lowered here so 6 droplets cross several runs). Pause, a failure with rollback, and abort with rollback
// must work across those boundaries, reaching every droplet the rollout updated in any run.
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

const BUDGET = 40; // events: a run holds about two batches
const releases = (fake: FakeFleet) => [...fake.current.values()].map((c) => c.release);

describe('across continue-as-new', () => {
  test('pause and resume: the pause holds across runs and the rollout finishes every droplet', async () => {
    const fake = new FakeFleet(droplets(6));
    const gate = fake.gate('switchRelease', 'web-4');
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan(), 'v2', BUDGET);
      await gate.reached;
      await run.handle.signal('pause');
      gate.open();
      const paused = await waitForStatus(run, (s) => s.phase === 'paused');
      assert.ok((paused.runs ?? 1) > 1, `the rollout continued as new before the pause (run ${paused.runs})`);
      assert.deepEqual(paused.droplets.map((d) => d.state), ['deployed', 'deployed', 'deployed', 'deployed', 'pending', 'pending']);
      assert.deepEqual(paused.counts, { deployed: 4, pending: 2 });
      await run.handle.signal('resume');
      const { result } = await run.outcome;
      assert.equal(result?.status, 'succeeded');
      assert.match(result?.message ?? '', /6 droplet\(s\) now run v2/);
      assert.equal(result?.droplets.length, 6, 'a small fleet\'s result lists every droplet, from every run');
      const status = await run.status();
      assert.deepEqual(status.droplets[0].steps.map((s) => s.step), ['detach', 'drain', 'record-previous', 'switch', 'health', 'attach', 'settle', 'verify'], 'steps from the droplet\'s own workflow');
      await maybeRecordHistory(run.handle, 'staged-continued-run', env, 'web-6');
    });
    assert.deepEqual(releases(fake), Array(6).fill('v2'));
  });

  test('a failed droplet in a later run rolls back the droplets updated in earlier runs, newest first', async () => {
    const fake = new FakeFleet(droplets(6));
    fake.injections = [{ activity: 'pollHealth', droplet: 'web-5', release: 'v2' }];
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan(), 'v2', BUDGET);
      const { result } = await run.outcome;
      assert.equal(result?.status, 'rolled-back', result?.message);
      assert.match(result?.message ?? '', /web-5: deploy failed: injected failure.*Rolled back 4 updated droplet\(s\)/);
      const status = await run.status();
      assert.deepEqual(status.droplets.map((d) => d.state), ['rolled-back', 'rolled-back', 'rolled-back', 'rolled-back', 'restored', 'skipped']);
      assert.ok((status.runs ?? 1) > 2, `several runs (${status.runs})`);
    });
    assert.deepEqual(releases(fake), Array(6).fill('v1'));
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4', 'web-5', 'web-6']);
    const rollbackStart = (d: string) => fake.calls.findIndex((c, i) => c === `detachDroplet ${d}` && fake.calls.slice(0, i).includes(`attachDroplet ${d}`));
    assert.ok(rollbackStart('web-4') < rollbackStart('web-3') && rollbackStart('web-3') < rollbackStart('web-1'), 'newest first');
  });

  test('abort with rollback in a later run reaches every droplet updated in any run', async () => {
    const fake = new FakeFleet(droplets(6));
    const gate = fake.gate('switchRelease', 'web-5');
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan(), 'v2', BUDGET);
      await gate.reached;
      assert.ok(((await run.status()).runs ?? 1) > 1, 'the abort lands in a continued run');
      await run.handle.signal('abort', { rollback: true });
      const { result } = await run.outcome;
      assert.equal(result?.status, 'aborted');
      assert.match(result?.message ?? '', /after 4 droplet\(s\) were updated\. 4 updated droplet\(s\) rolled back/);
    });
    assert.deepEqual(releases(fake), Array(6).fill('v1'));
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4', 'web-5', 'web-6']);
    assert.deepEqual(callsFor(fake, 'web-6'), ['stageRelease v2'], 'web-6 was staged, never detached');
  });
});
