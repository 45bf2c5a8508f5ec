// The soak's small version (bench/soak.ts is the full one): two droplets behind an LB whose detaches reach the data
// plane 3–4.5 s after the API call, always later than the sample config's 2 s drain. Watched through the LB, the
// rollout waits for the detach to land and serves every request; the same seed with timers stops droplets the LB
// still routes to, which is what the watching is for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../sandbox/stack';
import { soakRollout } from '../../bench/soak';
import { e2eStack } from '../helpers/e2e';

let stack: Stack;
before(async () => {
  stack = await e2eStack({ name: 'e2e-soak', subnet: 27, droplets: 2, profile: 'demo', seed: 7 });
  Object.assign(stack.fleet.api.faults, { detachPropagationMs: { min: 3000, max: 4500 }, attachPropagationMs: { min: 0, max: 2000 }, busyWindowMs: { min: 0, max: 1000 } });
  await stack.startWorker();
});
after(async () => {
  await stack?.stop();
});

test('drain and settle watched through the LB: 0 failed requests where timers fail some, same seed', async (t) => {
  const observed = await soakRollout(stack, 7, 'observed', 'v2');
  assert.ok(observed.ok, 'the watched rollout succeeded');
  assert.equal(observed.failed, 0, `failed requests with drain and settle watched (${observed.requests} sent)`);
  assert.ok(observed.requests > 500, `the load ran (${observed.requests} requests)`);
  assert.deepEqual([observed.observed, observed.maximum], [4, 0], 'both drains and both settles ended observed, none at its maximum');
  assert.ok(observed.propagationMs.filter((_, i) => i % 2 === 0).every((ms) => ms >= 3000), `every detach drawn later than the drain: ${observed.propagationMs}`);
  // A detach later than the drain stops a droplet still in rotation: the control loses requests.
  const timers = await soakRollout(stack, 7, 'timers', 'v1');
  assert.deepEqual(timers.propagationMs, observed.propagationMs, 'the same seed draws the same delays');
  t.diagnostic(`observed: 0 of ${observed.requests} failed in ${observed.wallMs} ms; timers: ${timers.failed} of ${timers.requests} failed in ${timers.wallMs} ms; propagation ${observed.propagationMs}`);
  assert.ok(timers.failed > 0, `the timed control lost no request (${timers.requests} sent): the fake's propagation did not bite`);
});
