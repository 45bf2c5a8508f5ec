// The per-droplet saga: a failure injected at every step is compensated in exactly the right order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingEnv } from '../helpers/workflow-env';
import { FakeFleet, droplets, testPlan, type Injection } from '../helpers/fake-activities';
import { callsFor, maybeRecordHistory, startRollout, withWorker } from '../helpers/rollout-harness';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

// Staging (upload and pull on every droplet) comes before any detach; the record is read during the drain.
const HAPPY = ['stageRelease v2', 'detachDroplet', 'recordPreviousRelease', 'switchRelease v2', 'pollHealth v2', 'attachDroplet'];
const RESTORE_RELEASE = ['switchRelease v1'];
const REATTACH = ['pollHealth v1', 'attachDroplet'];
// Before the record is read, the restore checks only that the untouched droplet answers.
const REATTACH_UNCHANGED = ['pollHealth any', 'attachDroplet'];

// For each failing step: the calls made before it (inclusive) and the compensation that must follow.
const cases: { step: Injection['activity']; upTo: number; compensation: string[] }[] = [
  { step: 'detachDroplet', upTo: 2, compensation: REATTACH_UNCHANGED },
  { step: 'recordPreviousRelease', upTo: 3, compensation: REATTACH_UNCHANGED },
  { step: 'switchRelease', upTo: 4, compensation: [...RESTORE_RELEASE, ...REATTACH] },
  { step: 'pollHealth', upTo: 5, compensation: [...RESTORE_RELEASE, ...REATTACH] },
  // The attach may have reached the API: out again (detach, drain) before anything restarts.
  { step: 'attachDroplet', upTo: 6, compensation: ['detachDroplet', ...RESTORE_RELEASE, ...REATTACH] },
];

describe('failure injected at each step of web-1 (onFailure: stop)', () => {
  test('a release that cannot be staged stops the rollout with nothing detached, naming the droplet and the cause', async () => {
    const fake = new FakeFleet(droplets(2));
    fake.injections = [{ activity: 'stageRelease', droplet: 'web-2' }];
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, testPlan({ onFailure: 'rollback' }))).outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /staging v2 failed on 1 droplet\(s\): web-2: injected failure of stageRelease on web-2; stopped before any droplet was detached/);
    });
    assert.deepEqual(callsFor(fake, 'web-1'), ['stageRelease v2']);
    assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2', '✗ stageRelease']);
    assert.ok(!fake.calls.some((c) => c.startsWith('detachDroplet')), 'nothing was detached');
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2']);
  });

  test('a configuration error found while staging (a release command\'s missing service) is a refusal: exit 2, nothing detached', async () => {
    const fake = new FakeFleet(droplets(2));
    fake.injections = [{ activity: 'stageRelease', droplet: 'web-1', type: 'ConfigRefused' }];
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, testPlan({ onFailure: 'rollback' }))).outcome;
      assert.equal(result?.status, 'failed');
      assert.equal(result?.refused, true, 'the CLI exits 2, as for a preflight refusal');
    });
    assert.ok(!fake.calls.some((c) => c.startsWith('detachDroplet')), 'nothing was detached');
  });

  test('a release that dies after its gate fails the verify at the end of the settle and is compensated like any failure after attach', async () => {
    const fake = new FakeFleet(droplets(2));
    // The gate's poll answers; the second look, after the settle, does not (the container exited meanwhile).
    fake.injections = [{ activity: 'pollHealth', droplet: 'web-1', release: 'v2', after: 1, times: 1 }];
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, testPlan({ onFailure: 'stop' }))).outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /web-1: deploy failed: injected failure of pollHealth/);
      const report = result?.droplets.find((d) => d.droplet === 'web-1');
      assert.equal(report?.outcome, 'restored');
      assert.deepEqual(report?.steps.filter((st) => st.ok === false).map((st) => st.step), ['verify']);
    });
    assert.deepEqual(callsFor(fake, 'web-1'), [...HAPPY, 'pollHealth v2', '✗ pollHealth', 'detachDroplet', ...RESTORE_RELEASE, ...REATTACH]);
    assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2'], 'the next batch never detached a healthy droplet');
    assert.deepEqual(fake.restartsInService, []);
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2']);
  });

  test('an abort during a detach lets the call finish before the compensation re-attaches: no late detach after the re-attach', async () => {
    const fake = new FakeFleet(droplets(2));
    const detach = fake.gate('detachDroplet', 'web-1', { landsDespiteCancel: true });
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan());
      await detach.reached;
      await run.handle.signal('abort', {});
      await new Promise((r) => setTimeout(r, 1500)); // time for a compensation that would not wait
      const meanwhile = fake.calls.slice(fake.calls.indexOf('detachDroplet web-1') + 1).filter((c) => c.endsWith('web-1'));
      detach.open(); // before any assertion: the worker cannot shut down while the call is in the air
      assert.deepEqual(meanwhile, [], 'nothing else on web-1 while its detach is in the air');
      const { result } = await run.outcome;
      assert.equal(result?.status, 'aborted');
    });
    assert.deepEqual(callsFor(fake, 'web-1'), ['stageRelease v2', 'detachDroplet', ...REATTACH_UNCHANGED]);
    assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2'], 'the re-attach came after the detach landed');
  });

  for (const c of cases) {
    test(`${c.step} fails → ${c.compensation.join(', ')}`, async () => {
      const fake = new FakeFleet(droplets(2));
      fake.injections = [{ activity: c.step, droplet: 'web-1', release: c.step === 'pollHealth' ? 'v2' : undefined, times: 1 }];
      await withWorker(env, fake, async (tq) => {
        const run = await startRollout(env, tq, testPlan({ onFailure: 'stop' }));
        const { result } = await run.outcome;
        assert.equal(result?.status, 'failed');
        assert.match(result?.message ?? '', /web-1: deploy failed: injected failure/);
        assert.equal(result?.droplets.find((d) => d.droplet === 'web-1')?.outcome, 'restored');
        if (c.step === 'pollHealth') await maybeRecordHistory(run.handle, 'staged-health-failure', env, 'web-1');
      });
      assert.deepEqual(callsFor(fake, 'web-1'), [...HAPPY.slice(0, c.upTo), `✗ ${c.step}`, ...c.compensation]);
      assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2'], 'the next droplet is staged, never detached or restarted');
      assert.deepEqual(fake.attachedNames(), ['web-1', 'web-2'], 'web-1 is back behind the load balancer');
      assert.equal(fake.current.get('web-1')?.release, 'v1');
      assert.deepEqual(fake.restartsInService, [], 'nothing restarted while the load balancer could route to it');
    });
  }
});

describe('a compensation that fails', () => {
  test('is reported, leaves the droplet detached, and is never swallowed', async () => {
    const fake = new FakeFleet(droplets(3));
    fake.injections = [
      { activity: 'pollHealth', droplet: 'web-1', release: 'v2' },
      { activity: 'switchRelease', droplet: 'web-1', release: 'v1' },
    ];
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, testPlan({ onFailure: 'rollback' }));
      const { result, error } = await run.outcome;
      assert.ok(error, 'the rollout fails');
      assert.equal(result?.status, 'failed');
      assert.deepEqual(result?.needsAttention, ['web-1']);
      assert.match(result?.message ?? '', /NEEDS ATTENTION \(detached\): web-1/);
      const web1 = result?.droplets.find((d) => d.droplet === 'web-1');
      assert.equal(web1?.outcome, 'needs-attention');
      assert.match(web1?.compensationError ?? '', /injected failure of switchRelease/);
      const status = await run.status();
      assert.equal(status.droplets.find((d) => d.name === 'web-1')?.state, 'needs-attention');
      await maybeRecordHistory(run.handle, 'staged-compensation-failed', env, 'web-1');
    });
    assert.deepEqual(callsFor(fake, 'web-1').slice(-2), ['switchRelease v1', '✗ switchRelease']);
    assert.ok(!fake.calls.includes('attachDroplet web-1'), 'an unhealthy droplet is never attached');
    assert.deepEqual(fake.attachedNames(), ['web-2', 'web-3']);
    assert.deepEqual(callsFor(fake, 'web-2'), ['stageRelease v2']);
  });
});

describe('an environment without a load balancer (staging)', () => {
  const staging = () => ({ ...testPlan({ acceptDowntime: true, minAttached: 0 }), env: 'staging', loadBalancer: undefined });

  test('deploys without touching any load balancer', async () => {
    const fake = new FakeFleet(droplets(1));
    await withWorker(env, fake, async (tq) => {
      const run = await startRollout(env, tq, staging());
      const { result } = await run.outcome;
      assert.equal(result?.status, 'succeeded');
      // The last step here is the health check (no attach, no settle): the rollout still sees it end.
      const steps = (await run.status()).droplets[0].steps;
      assert.deepEqual(steps.map((s) => [s.step, s.ok]), [['record-previous', true], ['switch', true], ['health', true]]);
      assert.ok(steps.every((s) => s.endedAt !== undefined && s.endedAt >= s.startedAt));
    });
    assert.deepEqual(callsFor(fake, 'web-1'), ['stageRelease v2', 'recordPreviousRelease', 'switchRelease v2', 'pollHealth v2']);
  });

  test('a failed health check restores the previous release and checks that it answers', async () => {
    const fake = new FakeFleet(droplets(1));
    fake.injections = [{ activity: 'pollHealth', droplet: 'web-1', release: 'v2' }];
    await withWorker(env, fake, async (tq) => {
      const { result } = await (await startRollout(env, tq, staging())).outcome;
      assert.equal(result?.status, 'failed');
      assert.match(result?.message ?? '', /restored v1$|restored v1\./);
    });
    assert.deepEqual(callsFor(fake, 'web-1'), [
      'stageRelease v2', 'recordPreviousRelease', 'switchRelease v2', 'pollHealth v2', '✗ pollHealth',
      'switchRelease v1', 'pollHealth v1',
    ]);
  });
});
