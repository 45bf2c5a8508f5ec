// Membership changes coalesced per load balancer: a batch's asks share one change; asks that arrive while one is
// in flight share the next; a failure reaches exactly the asks of its change; directions never mix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MembershipChanges } from '../../src/activities/membership';
import type { DigitalOceanPort } from '../../src/digitalocean/port';
import type { LoadBalancerInfo } from '../../src/types';

const LB = { id: 'lb-1', name: 'lb', status: 'active', dropletIds: [] } as unknown as LoadBalancerInfo;

function port(opts: { callMs?: number; failOnce?: boolean } = {}) {
  const calls: string[] = [];
  let fail = opts.failOnce ?? false;
  const change = (direction: string) => async (_lb: LoadBalancerInfo, ids: number[]) => {
    calls.push(`${direction} ${ids.join(',')}`);
    await new Promise((r) => setTimeout(r, opts.callMs ?? 5));
    if (fail) {
      fail = false;
      throw new Error('403 busy');
    }
    return { alreadyAsAsked: ids.filter((id) => id === 99) };
  };
  return { calls, port: { detachDroplets: change('detach'), attachDroplets: change('attach') } as unknown as DigitalOceanPort };
}

test('a batch of three detaching together is one change; a droplet on its own does not wait', async () => {
  const { calls, port: p } = port();
  const changes = new MembershipChanges(1_000);
  const started = Date.now();
  await Promise.all([1, 2, 3].map((id, k) => new Promise((r) => setTimeout(r, k * 20)).then(() => changes.change(p, 'k', LB, 'detach', id, 3))));
  assert.deepEqual(calls, ['detach 1,2,3']);
  assert.ok(Date.now() - started < 500, 'the change went as soon as the whole batch had asked, not at the gather maximum');
  const alone = Date.now();
  await changes.change(p, 'k', LB, 'attach', 4);
  assert.ok(Date.now() - alone < 100, `a batch of one waited ${Date.now() - alone} ms`);
  assert.deepEqual(calls, ['detach 1,2,3', 'attach 4']);
});

test('a batch whose asks trickle in over seconds is still one change; one that never completes goes once they stop coming', async () => {
  const { calls, port: p } = port();
  const changes = new MembershipChanges();
  await Promise.all([1, 2, 3, 4].map((id, k) => new Promise((r) => setTimeout(r, k * 400)).then(() => changes.change(p, 'k', LB, 'detach', id, 4))));
  assert.deepEqual(calls, ['detach 1,2,3,4'], 'asks 400 ms apart, 1.2 s in all');
  const started = Date.now();
  await Promise.all([5, 6].map((id) => changes.change(p, 'k', LB, 'attach', id, 3)));
  const waited = Date.now() - started;
  assert.ok(waited >= 700 && waited < 2_000, `the third never asks: the change went ${waited} ms after the last ask, not at the 10 s maximum`);
  assert.deepEqual(calls, ['detach 1,2,3,4', 'attach 5,6']);
});

test('asks that arrive while a change is in flight go together in the next one; directions never mix', async () => {
  const { calls, port: p } = port({ callMs: 200 });
  const changes = new MembershipChanges(0);
  const first = changes.change(p, 'k', LB, 'attach', 1);
  await new Promise((r) => setTimeout(r, 50));
  await Promise.all([first, changes.change(p, 'k', LB, 'attach', 2), changes.change(p, 'k', LB, 'detach', 3), changes.change(p, 'k', LB, 'attach', 4)]);
  assert.deepEqual(calls, ['attach 1', 'attach 2,4', 'detach 3']);
});

test('a failed change rejects every ask it carried and nothing else; the next change is made', async () => {
  const { calls, port: p } = port({ failOnce: true, callMs: 100 });
  const changes = new MembershipChanges(0);
  const a = changes.change(p, 'k', LB, 'detach', 1).then(() => 'ok', (e: Error) => e.message);
  await new Promise((r) => setTimeout(r, 20));
  const b = changes.change(p, 'k', LB, 'detach', 2).then(() => 'ok', (e: Error) => e.message);
  assert.deepEqual(await Promise.all([a, b]), ['403 busy', 'ok']);
  assert.deepEqual(calls, ['detach 1', 'detach 2']);
});

test('each ask learns whether the LB already had its droplet as asked', async () => {
  const { port: p } = port();
  const changes = new MembershipChanges(0);
  assert.deepEqual(await Promise.all([changes.change(p, 'k', LB, 'detach', 98, 2), changes.change(p, 'k', LB, 'detach', 99, 2)]), [false, true]);
});

test('different load balancers do not wait for each other', async () => {
  const { calls, port: p } = port({ callMs: 300 });
  const changes = new MembershipChanges(0);
  const started = Date.now();
  await Promise.all([changes.change(p, 'a', LB, 'detach', 1), changes.change(p, 'b', { ...LB, id: 'lb-2' }, 'detach', 2)]);
  assert.ok(Date.now() - started < 550, 'the two LBs changed side by side');
  assert.deepEqual(calls.sort(), ['detach 1', 'detach 2']);
});
