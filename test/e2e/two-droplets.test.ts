// Two droplets, LB health checks of rise 3 × 1 s: the settle wait must hold capacity, or the second
// droplet leaves before the first is back and the site is down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Stack } from '../../sandbox/stack';
import { all, assertFleet, assertNoFailedRequests, e2eStack, rollout } from '../helpers/e2e';

let stack: Stack;
before(async () => {
  stack = await e2eStack({ name: 'e2e-two', subnet: 23, droplets: 2, healthCheck: { healthy_threshold: 3, check_interval_seconds: 1 } });
  await stack.startWorker();
});
after(async () => {
  await stack?.stop();
});

test('zero failed requests across a two-droplet rollout', async () => {
  const r = await rollout(stack, 'v2');
  const { result, traffic, status } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assert.equal(status.settleDelayMs, 5000, 'auto settle = 3 × 1 s + 2 s margin');
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2', 2));
});
