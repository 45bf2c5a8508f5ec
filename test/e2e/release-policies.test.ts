// The release policies on real droplets, under load: a release command that runs exactly once before any detach,
// a canary approved from the CLI with every event posted to a webhook in order, and `deploy rollback`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stack } from '../../sandbox/stack';
import { startLoad } from '../../sandbox/load';
import { main } from '../../src/client';
import { all, APP_VOLUME, assertFleet, assertNoFailedRequests, e2eStack, FAST, rollout } from '../helpers/e2e';

let stack: Stack;
before(async () => {
  stack = await e2eStack({ name: 'e2e-policies', subnet: 26 });
  await stack.startWorker();
});
after(async () => {
  await stack?.stop();
});


test('a release command runs exactly once, on the first droplet, from the new release, before any detach', async () => {
  const marker = "sh -c 'echo migrated by $$HOSTNAME >> /data/migrations.log'";
  const r = await rollout(stack, 'v9', { releaseCommand: { service: 'app', command: marker } });
  const { result, traffic, status } = await r.finish();
  const firstDetach = Math.min(...status.droplets.map((d) => d.steps.find((st) => st.step === 'detach')?.startedAt ?? Infinity));
  assert.ok((status.releaseCommand?.endedAt ?? Infinity) <= firstDetach, 'it ended before the first droplet left the load balancer');
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  assert.equal(status.releaseCommand?.droplet, 'web-1');
  assert.equal(status.releaseCommand?.exitCode, 0);
  const logs = await Promise.all(stack.fleet.hosts.map((h) => h.engine.docker(['run', '--rm', '-v', `${APP_VOLUME}:/data`, '--entrypoint', 'sh', `${stack.fleet.registry.server}/sample-app:v9`, '-c', 'cat /data/migrations.log 2>/dev/null || true'])));
  assert.equal(logs[0].trim().split('\n').filter(Boolean).length, 1, 'one run on web-1');
  assert.deepEqual(logs.slice(1).map((l) => l.trim()), ['', '', ''], 'none elsewhere');
});

test('a canary approved from the CLI, with every event posted to a webhook in order', async () => {
  const events: string[] = [];
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      events.push((JSON.parse(body) as { event: string }).event);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  await stack.stopWorker();
  await stack.startWorker({ DEPLOY_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` });
  try {
    const r = await rollout(stack, 'v10', { approve: 'after-first-batch', notify: { webhookUrlEnv: 'DEPLOY_WEBHOOK_URL' } });
    const waiting = await r.waitFor((s) => s.phase === 'awaiting-approval');
    assert.deepEqual(waiting.droplets.map((d) => d.state), ['deployed', 'pending', 'pending', 'pending']);
    const out: string[] = [];
    const code = await main(['approve', 'production', '--app', 'sample-app'], (l) => out.push(l), (l) => out.push(l));
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.join('\n'), /approved: sample-app production continues with batch 2 of 4/);
    const { result, traffic } = await r.finish();
    assert.equal(result?.status, 'succeeded', result?.message);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v10'));
    assert.deepEqual(events, ['started', 'awaiting-approval', 'succeeded']);
  } finally {
    hook.close();
    await stack.stopWorker();
    await stack.startWorker();
  }
});

test('deploy rollback: every droplet back to the release it ran before, under load, from the kept directories', async () => {
  // The fleet runs v10 now (deployed over v9 by the canary test): each droplet's `previous` points at v9.
  const config = stack.fleet.writeConfig({ ...FAST });
  const plan: string[] = [];
  assert.equal(await main(['rollback', 'production', '--config', config, '--dry-run'], (l) => plan.push(l), (l) => plan.push(l)), 0, plan.join('\n'));
  assert.match(plan.join('\n'), /web-1 +→ v9 \(.*releases\/v9-\d{14}\)/);
  const load = startLoad(`${stack.fleet.lb.url}/`, { concurrency: 4, intervalMs: 40, maxMs: 5 * 60_000 });
  try {
    const out: string[] = [];
    const code = await main(['rollback', 'production', '--config', config], (l) => out.push(l), (l) => out.push(l));
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.join('\n'), /SUCCEEDED: sample-app production: 4 droplet\(s\) rolled back to the release each ran before its last deploy/);
  } finally {
    await new Promise((r) => setTimeout(r, 1500));
    assertNoFailedRequests(await load.stop());
  }
  await assertFleet(stack, all('v9'));
});
