// `deploy rollback`: every droplet back to the release it ran before the last rollout (or to a kept --to tag),
// from the directories kept on the droplets, through the same saga; a failure is never rolled back.
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

const releases = (fake: FakeFleet) => [...fake.current.values()].map((c) => c.release);

test('after v1 → v2 → v3, a rollback returns every droplet to v2; --to v1 goes further back; nothing is uploaded or pulled', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    for (const r of ['v2', 'v3']) assert.equal((await (await startRollout(env, tq, testPlan(), r)).outcome).result?.status, 'succeeded');
    const before = fake.calls.length;
    const run = await startRollout(env, tq, testPlan(), 'previous release', undefined, { rollback: {} });
    const { result } = await run.outcome;
    assert.equal(result?.status, 'succeeded', result?.message);
    assert.match(result?.message ?? '', /3 droplet\(s\) rolled back to the release each ran before its last deploy/);
    assert.deepEqual((await run.status()).droplets.map((d) => [d.state, d.release]), Array(3).fill(['rolled-back', 'v2']), 'each row names where it went');
    await maybeRecordHistory(run.handle, 'staged-rollback-command');
    assert.deepEqual(releases(fake), ['v2', 'v2', 'v2']);
    assert.ok(!fake.calls.slice(before).some((c) => c.startsWith('stageRelease')), 'nothing staged, uploaded or pulled');
    assert.deepEqual(callsFor(fake, 'web-1').slice(-6), ['detachDroplet', 'recordPreviousRelease', 'switchRelease v2', 'pollHealth v2', 'attachDroplet', 'pollHealth v2']);

    const further = await (await startRollout(env, tq, testPlan(), 'v1', undefined, { rollback: { to: 'v1' } })).outcome;
    assert.equal(further.result?.status, 'succeeded', further.result?.message);
    assert.deepEqual(releases(fake), ['v1', 'v1', 'v1']);
  });
  assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
});

test('a rollback with no recorded release, or to a tag no droplet keeps, is refused before anything is touched', async () => {
  const fake = new FakeFleet(droplets(2));
  await withWorker(env, fake, async (tq) => {
    const none = await (await startRollout(env, tq, testPlan(), 'previous release', undefined, { rollback: {} })).outcome;
    assert.equal(none.result?.refused, true);
    assert.match(none.result?.message ?? '', /web-1 has no record of the release it ran before its last deploy .*--to <tag> \(kept: v1\)/);
    const missing = await (await startRollout(env, tq, testPlan(), 'v0', undefined, { rollback: { to: 'v0' } })).outcome;
    assert.match(missing.result?.message ?? '', /web-1 keeps no release v0 \(kept: v1\)/);
  });
  assert.deepEqual(fake.calls, []);
});

test('a droplet whose rollback fails is restored to what it ran and reported; the rollback is not rolled back', async () => {
  const fake = new FakeFleet(droplets(3));
  await withWorker(env, fake, async (tq) => {
    assert.equal((await (await startRollout(env, tq, testPlan(), 'v2')).outcome).result?.status, 'succeeded');
    fake.injections = [{ activity: 'pollHealth', droplet: 'web-2', release: 'v1' }];
    const { result } = await (await startRollout(env, tq, testPlan({ onFailure: 'rollback' }), 'previous release', undefined, { rollback: {} })).outcome;
    assert.equal(result?.status, 'failed');
    assert.match(result?.message ?? '', /web-2: rollback failed: .*1 droplet\(s\) were rolled back to the release each ran before its last deploy before it stopped/);
  });
  assert.deepEqual(releases(fake), ['v1', 'v2', 'v2'], 'web-1 stays back on v1, web-2 restored to v2, web-3 untouched');
  assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2', 'web-3']);
});
