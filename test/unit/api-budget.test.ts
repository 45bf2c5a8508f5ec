// The API budget a plan predicts, and the batch size it suggests when the token's quota left cannot carry it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetProblem, predictApiRequests } from '../../src/api-budget';
import type { Fleet } from '../../src/types';

const fleetOf = (n: number, remaining: number, tag?: string): Fleet => ({
  droplets: Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `web-${i + 1}`, address: '127.0.0.1' })),
  loadBalancer: { id: 'lb', name: 'lb', status: 'active', tag, dropletIds: [], healthCheck: { protocol: 'http', port: 80, checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 5 } },
  quota: { limit: 5000, remaining, resetAt: Date.UTC(2026, 11, 8, 4, 0, 0), readAt: 0 },
});

test('10,000 droplets: 50 pages and the LB to plan, then a read and a change each way per batch', () => {
  assert.deepEqual(predictApiRequests(10_000, 100, {}), { planning: 51, changes: 400, total: 451 });
  assert.deepEqual(predictApiRequests(10_000, 1, {}), { planning: 51, changes: 40_000, total: 40_051 });
  assert.equal(predictApiRequests(10_000, 100, { tag: 'web' }).changes, 200, 'a tag call needs no read first');
  assert.equal(predictApiRequests(3, 1, undefined).total, 1, 'no load balancer: only the listing');
});

test('over the quota left: refused with the smallest batch size that fits; within it: nothing to say', () => {
  assert.match(budgetProblem(fleetOf(10_000, 5000), 1, 9000) ?? '', /needs about 40051 DigitalOcean API requests and the token has 5000 of its 5000 an hour left; a batch size of 9 \(--batch-size 9\) fits/);
  assert.equal(budgetProblem(fleetOf(10_000, 5000), 9, 9000), undefined);
  assert.match(budgetProblem(fleetOf(10, 3), 1, 5) ?? '', /wait: requests free up from 04:00:00 UTC/, 'no batch size fits 3 requests');
  assert.equal(budgetProblem({ ...fleetOf(10_000, 5000), quota: undefined }, 1, 9000), undefined, 'no quota headers: no guess');
});
