// The release command: once per rollout, after staging and before the first detach, on one droplet; a failure
// stops the rollout with nothing detached, and its record (exit code, output) is in the status.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan } from '../helpers/fake-activities';
import { callsFor, maybeRecordHistory, startRollout, withWorker } from '../helpers/rollout-harness';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

const migrate = (on?: string) => testPlan({ releaseCommand: { service: 'app', command: 'bin/rails db:migrate', timeoutMs: 60_000, attempts: 1, on } });
const at = (fake: FakeFleet, call: string) => fake.calls.indexOf(call);

test('runs once, on the first droplet, after staging and before the first detach; its record is in the status', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, migrate());
    assert.equal((await run.outcome).result?.status, 'succeeded');
    const status = await run.status();
    assert.equal(status.releaseCommand?.droplet, 'web-1');
    assert.equal(status.releaseCommand?.ok, true);
    assert.deepEqual(status.releaseCommand?.output, ['ran bin/rails db:migrate']);
    await maybeRecordHistory(run.handle, 'staged-release-command');
  });
  assert.equal(fake.calls.filter((c) => c.startsWith('runReleaseCommand')).length, 1, 'exactly once');
  assert.ok(at(fake, 'stageRelease web-3 v2') < at(fake, 'runReleaseCommand web-1 bin/rails db:migrate'), 'after staging');
  assert.ok(at(fake, 'runReleaseCommand web-1 bin/rails db:migrate') < at(fake, 'detachDroplet web-1'), 'before any detach');
});

test('a failing release command stops the rollout with nothing detached', async () => {
  const fake = new FakeFleet(droplets(2));
  fake.injections = [{ activity: 'runReleaseCommand' }];
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, migrate('web-2'));
    const { result } = await run.outcome;
    assert.equal(result?.status, 'failed');
    // No exit code came back (a cut connection, a lost worker): it may have run, and the rollout says so.
    assert.match(result?.message ?? '', /the release command on web-2 did not report an exit code \(injected failure of runReleaseCommand on web-2\): it may have run in part or in full; check before starting another rollout; stopped before any droplet was detached/);
    assert.equal((await run.status()).releaseCommand?.ok, false);
  });
  assert.ok(!fake.calls.some((c) => c.startsWith('detachDroplet')), 'nothing detached');
  assert.deepEqual(callsFor(fake, 'web-1'), ['stageRelease v2']);
});

test('a release command on a droplet the rollout does not have is refused by preflight', async () => {
  const fake = new FakeFleet(droplets(2));
  await withWorker(env, fake, async (tq) => {
    const { result } = await (await startRollout(env, tq, migrate('db-1'))).outcome;
    assert.equal(result?.status, 'failed');
    assert.equal(result?.refused, true);
    assert.match(result?.message ?? '', /rollout.releaseCommand.on: db-1 is not one of the droplets selected \(web-1, web-2\)/);
  });
  assert.deepEqual(fake.calls, []);
});

test('an abort while the release command runs says it may have run, and detaches nothing', async () => {
  const fake = new FakeFleet(droplets(2));
  const gate = fake.gate('runReleaseCommand', 'web-1');
  await withWorker(env, fake, async (tq) => {
    const run = await startRollout(env, tq, migrate());
    await gate.reached;
    await run.handle.signal('abort', {});
    const { result } = await run.outcome;
    assert.equal(result?.status, 'aborted');
    assert.match(result?.message ?? '', /The release command on web-1 was interrupted: it may have run in part or in full; check before starting another rollout/);
  });
  assert.ok(!fake.calls.some((c) => c.startsWith('detachDroplet')), 'nothing detached');
});
