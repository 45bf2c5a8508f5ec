// What real droplets do that a stand-in could not show: a registry that refuses a wrong password, a tag that
// was never pushed, data in a named volume that must outlive every deploy and rollback, and droplets that
// run Compose v1 next to ones that run v2. Real engines, real registry, steady load through HAProxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../sandbox/stack';
import { all, APP_VOLUME, assertFleet, assertNoFailedRequests, e2eStack, rollout, WORKFLOW_ID } from '../helpers/e2e';

let stack: Stack;
before(async () => {
  stack = await e2eStack({ name: 'e2e-docker', subnet: 23 });
  await stack.startWorker();
});
after(async () => {
  await stack?.stop();
});

/** Load-balancer membership changes the fake API has received so far (detach and attach calls). */
const membershipChanges = () => stack.fleet.api.requests.filter((r) => r.method !== 'GET' && r.path.includes('/load_balancers/')).length;
const valueOn = async (address: string) => ((await (await fetch(`http://${address}:8080/data`)).json()) as { value: string | null }).value;

test('a value in the named volume survives a rollout, a failed rollout and a rollback on every droplet (Compose v1 and v2)', async () => {
  for (const h of stack.fleet.hosts) {
    const res = await fetch(`http://${h.address}:8080/data`, { method: 'PUT', body: `kept by ${h.name}` });
    assert.equal(res.status, 200);
  }
  const ok = await rollout(stack, 'v2');
  const first = await ok.finish();
  assert.equal(first.result?.status, 'succeeded', first.result?.message);
  assertNoFailedRequests(first.traffic);
  await assertFleet(stack, all('v2'));

  const broken = await rollout(stack, 'v3-broken');
  const second = await broken.finish();
  assert.equal(second.result?.status, 'failed');
  assertNoFailedRequests(second.traffic);
  await assertFleet(stack, all('v2'));

  // An abort with rollback: web-1 (updated) goes back to v2 through the rollback path, web-2 (in flight) is restored.
  const aborted = await rollout(stack, 'v4');
  await aborted.waitFor((s) => s.droplets[1].step === 'switch' || s.droplets[1].step === 'health');
  await aborted.handle.signal('abort', { rollback: true });
  const third = await aborted.finish();
  assert.equal(third.result?.status, 'aborted', third.result?.message);
  assertNoFailedRequests(third.traffic);
  await assertFleet(stack, all('v2'));

  for (const h of stack.fleet.hosts) {
    assert.equal(await valueOn(h.address), `kept by ${h.name}`, `${h.name} still has its data`);
    assert.deepEqual((await h.engine.docker(['volume', 'ls', '-q'])).trim().split('\n'), [APP_VOLUME], `${h.name} has the one named volume`);
  }
  // The last droplet has only Compose v1 (container names with "_"), the others v2 ("-").
  const names = await Promise.all(stack.fleet.hosts.map(async (h) => (await h.engine.docker(['ps', '--format', '{{.Names}}'])).trim()));
  assert.deepEqual(names, ['sample-app-app-1', 'sample-app-app-1', 'sample-app-app-1', 'sample-app_app_1']);
});

test('a wrong registry password: the registry\'s own 401, every droplet on its release and attached, the password nowhere', async () => {
  const wrong = `wrong-password-${Date.now()}`;
  await stack.stopWorker();
  await stack.startWorker({ REGISTRY_PASSWORD: wrong });
  try {
    const changes = membershipChanges();
    const r = await rollout(stack, 'v5');
    const { result, traffic } = await r.finish();
    assert.equal(result?.status, 'failed');
    // Refused while staging: before any droplet left the load balancer.
    assert.match(result?.message ?? '', /staging v5 failed on \d droplet\(s\): web-\d: registry login on web-\d failed \(exit 1\): .*401 Unauthorized.*; stopped before any droplet was detached/);
    assert.equal(membershipChanges(), changes, 'no detach or attach was sent');
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v2'));
    const history = JSON.stringify(await stack.client.workflow.getHandle(WORKFLOW_ID).fetchHistory());
    assert.ok(!history.includes(wrong), 'not in the workflow history');
    const logs = await Promise.all(stack.fleet.hosts.map((h) => h.engine.docker(['logs', 'sample-app-app-1']).catch(() => '')));
    assert.ok(!logs.some((l) => l.includes(wrong)), 'not in the containers\' logs');
  } finally {
    await stack.stopWorker();
    await stack.startWorker();
  }
});

test('a tag that was never pushed fails in staging: "manifest unknown" in the message, no droplet detached', async () => {
  const changes = membershipChanges();
  const r = await rollout(stack, 'v6-never-pushed');
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'failed');
  assert.match(result?.message ?? '', /staging v6-never-pushed failed on \d droplet\(s\): web-\d: docker compose pull on web-\d failed \(exit \d+\): .*manifest unknown.*; stopped before any droplet was detached/);
  assert.equal(membershipChanges(), changes, 'no detach or attach was sent');
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2'));
});

test('healthCheck.compose: a release whose container never becomes "healthy" is restored, with the service named', async () => {
  const r = await rollout(stack, 'v7-unready', { healthCheck: { compose: true } });
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'failed');
  assert.match(result?.message ?? '', /web-1: deploy failed: web-1 failed its health check: service app is unhealthy; last health log: .*503.*; restored v2 and re-attached/);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2'));
});

test('healthCheck.compose alone (no URL) gates a good release: every droplet deployed', async () => {
  const r = await rollout(stack, 'v8', { minAttached: 2, healthCheck: { compose: true, url: null } }, 2);
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v8'));
});
