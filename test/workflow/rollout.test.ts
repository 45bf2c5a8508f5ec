// The rollout: step order, batches, guards, the deploy lock, pause/resume, abort, and the rollback policy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
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

// The last health check is the verify after the settle: the droplet still answers as the release.
const DEPLOY = ['stageRelease v2', 'detachDroplet', 'recordPreviousRelease', 'switchRelease v2', 'pollHealth v2', 'attachDroplet', 'pollHealth v2'];
const ROLLBACK = ['detachDroplet', 'recordPreviousRelease', 'switchRelease v1', 'pollHealth v1', 'attachDroplet', 'pollHealth v1'];
const at = (fake: FakeFleet, call: string, nth = 0) => fake.calls.filter((c) => c === call).length > nth
  ? fake.calls.findIndex((c, i) => c === call && fake.calls.slice(0, i).filter((x) => x === call).length === nth)
  : -1;

describe('happy path', () => {
  test('each droplet goes through every step in order, one at a time', async () => {
    const fake = new FakeFleet(droplets(3));
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan());
      const { result } = await run.outcome;
      assert.equal(result?.status, 'succeeded');
      assert.deepEqual(result?.droplets.map((d) => [d.droplet, d.outcome, d.release, d.previous?.release]), [
        ['web-1', 'deployed', 'v2', 'v1'], ['web-2', 'deployed', 'v2', 'v1'], ['web-3', 'deployed', 'v2', 'v1'],
      ]);
      const status = await run.status();
      assert.equal(status.phase, 'succeeded');
      assert.deepEqual(status.batches, [['web-1'], ['web-2'], ['web-3']]);
      const steps = status.droplets[0].steps.map((s) => s.step);
      assert.deepEqual(steps, ['detach', 'drain', 'record-previous', 'switch', 'health', 'attach', 'settle', 'verify']);
      assert.ok(status.droplets[0].steps.every((s) => s.ok && s.endedAt !== undefined && s.endedAt >= s.startedAt), 'every step has timestamps');
      await maybeRecordHistory(run.handle, 'staged-happy-path', env, 'web-1');
    });
    for (const d of ['web-1', 'web-2', 'web-3']) assert.deepEqual(callsFor(fake, d), DEPLOY);
    assert.ok(at(fake, 'stageRelease web-3 v2') < at(fake, 'detachDroplet web-1'), 'every droplet is staged before the first detach');
    assert.ok(at(fake, 'detachDroplet web-2') > at(fake, 'attachDroplet web-1'), 'web-2 leaves the LB only after web-1 is back');
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
  });

  test('batch size 2 updates two droplets at once, and the next batch waits for both', async () => {
    const fake = new FakeFleet(droplets(4));
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan({ batchSize: 2, minAttached: 2 }));
      const { result } = await run.outcome;
      assert.equal(result?.status, 'succeeded');
      assert.deepEqual((await run.status()).batches, [['web-1', 'web-2'], ['web-3', 'web-4']]);
    });
    const secondBatchStarts = Math.min(at(fake, 'detachDroplet web-3'), at(fake, 'detachDroplet web-4'));
    assert.ok(secondBatchStarts > at(fake, 'attachDroplet web-1') && secondBatchStarts > at(fake, 'attachDroplet web-2'));
    assert.ok(at(fake, 'detachDroplet web-2') < at(fake, 'attachDroplet web-1'), 'web-1 and web-2 ran together');
  });
});

test('during a staged droplet\'s drain its step is the drain, though the record is read meanwhile', async () => {
  const fake = new FakeFleet(droplets(2));
  await withWorker(env, fake, async (tq) => {
    // A drain long in real time (the time-skipping server skips it once the result is awaited).
    const run = await startRollout(env, tq, testPlan({ drainDelayMs: 10 * 60_000 }));
    const draining = await waitForStatus(run, (s) => fake.calls.includes('recordPreviousRelease web-1') && s.droplets[0].steps.some((st) => st.step === 'record-previous' && st.endedAt !== undefined));
    assert.equal(draining.droplets[0].step, 'drain');
    assert.equal((await run.outcome).result?.status, 'succeeded');
  });
});

describe('guards', () => {
  test('the min-attached guard refuses a batch that would empty the load balancer, before touching anything', async () => {
    const fake = new FakeFleet(droplets(2));
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, testPlan({ batchSize: 2, minAttached: 1 }))).outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /would leave 0 of 2 droplet\(s\) attached, below rollout.minAttached 1/);
    });
    assert.deepEqual(fake.calls, []);
  });

  test('the deploy lock refuses a second rollout of the same app and environment', async () => {
    const fake = new FakeFleet(droplets(2));
    const gate = fake.gate('switchRelease', 'web-1');
    await withWorker(env, fake, async (tq) => {
      const first = await startRollout(env, tq, testPlan());
      await gate.reached;
      await assert.rejects(startRollout(env, tq, testPlan()), WorkflowExecutionAlreadyStartedError);
      gate.open();
      assert.equal((await first.outcome).result?.status, 'succeeded');
    });
  });
});

describe('operator signals', () => {
  test('pause finishes the in-flight batch and waits; resume continues', async () => {
    const fake = new FakeFleet(droplets(3));
    const gate = fake.gate('switchRelease', 'web-1');
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan());
      await gate.reached;
      await run.handle.signal('pause');
      gate.open();
      const paused = await waitForStatus(run, (s) => s.phase === 'paused');
      assert.equal(paused.droplets[0].state, 'deployed', 'the in-flight droplet finished');
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2'], 'nothing moves while paused (web-2 was only staged)');
      await run.handle.signal('resume');
      assert.equal((await run.outcome).result?.status, 'succeeded');
      await maybeRecordHistory(run.handle, 'staged-pause-resume');
    });
    assert.deepEqual(callsFor(fake, 'web-3'), DEPLOY);
  });

  test('abort mid-batch restores the in-flight droplets and leaves every droplet attached on one release', async () => {
    const fake = new FakeFleet(droplets(4));
    const g1 = fake.gate('switchRelease', 'web-1');
    const g2 = fake.gate('switchRelease', 'web-2');
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan({ batchSize: 2, minAttached: 2 }));
      await Promise.all([g1.reached, g2.reached]);
      await run.handle.signal('abort', {});
      const { result } = await run.outcome;
      assert.equal(result?.status, 'aborted');
      const status = await run.status();
      assert.deepEqual(status.droplets.map((d) => d.state), ['restored', 'restored', 'skipped', 'skipped']);
      await maybeRecordHistory(run.handle, 'staged-abort-mid-batch', env, 'web-1');
    });
    for (const d of ['web-1', 'web-2']) assert.deepEqual(callsFor(fake, d).slice(-3), ['switchRelease v1', 'pollHealth v1', 'attachDroplet']);
    assert.deepEqual(callsFor(fake, 'web-3'), ['stageRelease v2']);
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4']);
    assert.deepEqual([...fake.current.values()].map((c) => c.release), ['v1', 'v1', 'v1', 'v1']);
  });

  test('abort with rollback also returns finished droplets to their previous release, newest first', async () => {
    const fake = new FakeFleet(droplets(4));
    const gate = fake.gate('switchRelease', 'web-3');
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan());
      await gate.reached;
      await run.handle.signal('abort', { rollback: true });
      const { result } = await run.outcome;
      assert.equal(result?.status, 'aborted');
      assert.match(result?.message ?? '', /2 updated droplet\(s\) rolled back/);
    });
    assert.ok(at(fake, 'detachDroplet web-2', 1) < at(fake, 'detachDroplet web-1', 1), 'web-2 is rolled back before web-1');
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3', 'web-4']);
    assert.deepEqual([...fake.current.values()].map((c) => c.release), ['v1', 'v1', 'v1', 'v1']);
  });
});

describe('onFailure: rollback', () => {
  test('reverts the droplets already updated, in reverse order, to the release recorded for each', async () => {
    const fake = new FakeFleet(droplets(3));
    fake.injections = [{ activity: 'pollHealth', droplet: 'web-3', release: 'v2' }];
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan());
      const { result } = await run.outcome;
      assert.equal(result?.status, 'rolled-back');
      assert.match(result?.message ?? '', /Rolled back 2 updated droplet\(s\)/);
      const states = (await run.status()).droplets.map((d) => [d.name, d.state]);
      assert.deepEqual(states, [['web-1', 'rolled-back'], ['web-2', 'rolled-back'], ['web-3', 'restored']]);
      await maybeRecordHistory(run.handle, 'staged-rollback-policy', env, 'web-1/rollback');
    });
    assert.deepEqual(callsFor(fake, 'web-1'), [...DEPLOY, ...ROLLBACK]);
    assert.deepEqual(callsFor(fake, 'web-2'), [...DEPLOY, ...ROLLBACK]);
    assert.ok(at(fake, 'detachDroplet web-2', 1) < at(fake, 'detachDroplet web-1', 1));
    assert.deepEqual([...fake.current.values()].map((c) => c.release), ['v1', 'v1', 'v1']);
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
  });

  test('droplets whose release has no name are rolled back to it, checked for an answer rather than a name', async () => {
    // A `current` without a RELEASE file (set up by hand, say): its release cannot name itself in the health check.
    const fake = new FakeFleet(droplets(3), null);
    fake.injections = [{ activity: 'pollHealth', droplet: 'web-3', release: 'v2' }];
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, testPlan())).outcome;
      assert.equal(result?.status, 'rolled-back', result?.message);
    });
    for (const d of ['web-1', 'web-2']) assert.deepEqual(callsFor(fake, d).slice(DEPLOY.length), ['detachDroplet', 'recordPreviousRelease', 'switchRelease unnamed', 'pollHealth any', 'attachDroplet', 'pollHealth any']);
    assert.deepEqual([...fake.current.values()].map((c) => c.releaseDir), ['/srv/shop/releases/by-hand-old', '/srv/shop/releases/by-hand-old', '/srv/shop/releases/by-hand-old']);
    assert.deepEqual([...fake.current.values()].map((c) => c.release), [undefined, undefined, undefined]);
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
  });

  test('a failed rollback is reported and never rolled back itself', async () => {
    const fake = new FakeFleet(droplets(3));
    fake.injections = [
      { activity: 'pollHealth', droplet: 'web-3', release: 'v2' },
      { activity: 'pollHealth', droplet: 'web-1', release: 'v1', times: 1 },
    ];
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, testPlan())).outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /Rollback of 1 droplet\(s\) failed/);
    });
    // web-1's rollback saga put back what it ran (v2) and re-attached it; no third pass follows.
    assert.deepEqual(callsFor(fake, 'web-1').slice(DEPLOY.length), [
      'detachDroplet', 'recordPreviousRelease', 'switchRelease v1', 'pollHealth v1', '✗ pollHealth',
      'switchRelease v2', 'pollHealth v2', 'attachDroplet',
    ]);
    assert.equal(fake.calls.filter((c) => c === 'recordPreviousRelease web-1').length, 2);
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
  });

  test('onFailure: pause waits after a failed droplet, and resume carries on with the next batch', async () => {
    const fake = new FakeFleet(droplets(3));
    fake.injections = [{ activity: 'switchRelease', droplet: 'web-1', release: 'v2' }];
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan({ onFailure: 'pause' }));
      const paused = await waitForStatus(run, (s) => s.phase === 'paused');
      assert.match(paused.message ?? '', /paused after a failure/);
      assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2']);
      await run.handle.signal('resume');
      const { result } = await run.outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /2 droplet\(s\) now run v2; web-1 failed and kept its previous release|web-1 failed and kept their previous release/);
    });
    assert.equal(fake.current.get('web-1')?.release, 'v1');
    assert.equal(fake.current.get('web-3')?.release, 'v2');
  });
});
