// Real rollouts on the local fleet with steady traffic through HAProxy: not one request may fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Stack } from '../../sandbox/stack';
import { main } from '../../src/client';
import { all, assertFleet, assertNoFailedRequests, e2eStack, rollout, WORKFLOW_ID } from '../helpers/e2e';

let stack: Stack;
before(async () => {
  stack = await e2eStack({ name: 'e2e-rollout', subnet: 21 });
  await stack.startWorker();
});
after(async () => {
  await stack?.stop();
});

const releasesOn = (droplet: string) => {
  const dir = path.join(stack.fleet.dir, droplet, 'root', 'apps', 'sample-app', 'releases');
  return existsSync(dir) ? readdirSync(dir).map((d) => d.replace(/-\d{14}$/, '')).sort() : [];
};

const currentOn = (droplet: string) => readlinkSync(path.join(stack.fleet.dir, droplet, 'root', 'apps', 'sample-app', 'current'));

describe('rolling deploys', () => {
  test('v1 → v2 across 4 droplets, one at a time', async () => {
    const r = await rollout(stack, 'v2');
    const { result, traffic, status } = await r.finish();
    assert.equal(result?.status, 'succeeded', result?.message);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v2'));
    assert.ok(traffic.byRelease.v1 > 0 && traffic.byRelease.v2 > 0, 'both releases served during the rollout');
    assert.deepEqual(status.droplets.map((d) => d.steps.map((s) => s.step).join(',')), Array(4).fill('detach,drain,record-previous,switch,health,attach,settle,verify'));
    const described = await r.handle.describe();
    assert.equal(described.typedSearchAttributes.getAll().find((p) => p.key.name === 'DeployEnv')?.value, 'production');
    const child = await stack.client.workflow.getHandle(`${WORKFLOW_ID}/web-1`).describe();
    assert.equal(child.typedSearchAttributes.getAll().find((p) => p.key.name === 'DeployRelease')?.value, 'v2');
    // The Web UI's current details show the progress table.
    const meta = await r.handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(meta.currentDetails, /^web-4 +deployed +\d\d:\d\d:\d\d +v1 → v2$/m);
  });

  test('v2 → v3 in batches of 2: each batch leaves the LB in one change', async () => {
    const before = stack.fleet.api.requests.length;
    const r = await rollout(stack, 'v3', { minAttached: 2 }, 2);
    const { result, traffic, status } = await r.finish();
    assert.equal(result?.status, 'succeeded', result?.message);
    assert.deepEqual(status.batches, [['web-1', 'web-2'], ['web-3', 'web-4']]);
    // Both droplets of a batch start their detach together: one change for the two (their attaches may be two).
    const detaches = stack.fleet.api.requests.slice(before).filter((q) => q.method === 'DELETE' && q.status < 300).map((q) => (q.body as { droplet_ids: number[] }).droplet_ids);
    assert.deepEqual(detaches.map((ids) => ids.length), [2, 2], `detach calls: ${JSON.stringify(detaches)}`);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v3'));
  });

  test('a broken release fails its health check on the first droplet, which is restored and re-attached; no other droplet is touched', async () => {
    const r = await rollout(stack, 'v4-broken', { onFailure: 'rollback' });
    const { result, traffic, status } = await r.finish();
    assert.equal(result?.status, 'failed');
    assert.match(result?.message ?? '', /web-1: deploy failed: web-1 did not pass its health check 3× in a row .* as release v4-broken: last probe status 500, expected 200; restored v3 and re-attached/);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v3'));
    assert.equal(traffic.byRelease['v4-broken'], undefined, 'no request through the load balancer reached the release that failed its gate');
    // The others were staged (files and images) while in service, and never switched or detached.
    for (const d of ['web-2', 'web-3', 'web-4']) {
      assert.ok(releasesOn(d).includes('v4-broken'), `${d} was staged before the first detach`);
      assert.match(currentOn(d), /^releases\/v3-/, `${d} still runs v3`);
    }
    assert.deepEqual(status.droplets.map((x) => x.state), ['restored', 'skipped', 'skipped', 'skipped']);
  });
});

describe('operator control', () => {
  test('pause after the first batch, then resume', async () => {
    const r = await rollout(stack, 'v5');
    await r.waitFor((s) => s.droplets[0].state === 'deploying');
    await r.handle.signal('pause');
    const paused = await r.waitFor((s) => s.phase === 'paused');
    assert.deepEqual(paused.droplets.map((d) => d.state), ['deployed', 'pending', 'pending', 'pending']);
    await new Promise((res) => setTimeout(res, 2000));
    assert.deepEqual(await stack.fleet.releases(), { 'web-1': 'v5', 'web-2': 'v3', 'web-3': 'v3', 'web-4': 'v3' }, 'nothing moves while paused');
    await r.handle.signal('resume');
    const { result, traffic } = await r.finish();
    assert.equal(result?.status, 'succeeded', result?.message);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v5'));
  });

  test('abort with rollback mid-rollout: every droplet back on the release it had, attached', async () => {
    const r = await rollout(stack, 'v6');
    await r.waitFor((s) => s.droplets[1].step === 'health' || s.droplets[1].step === 'switch');
    await r.handle.signal('abort', { rollback: true });
    const { result, traffic } = await r.finish();
    assert.equal(result?.status, 'aborted', result?.message);
    assert.match(result?.message ?? '', /1 updated droplet\(s\) rolled back/);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v5'));
  });

  test('abort with rollback while a batch of 2 is in settle: both leave the LB before they restart, no request fails', async () => {
    const r = await rollout(stack, 'v6b', { minAttached: 2 }, 2);
    await r.waitFor((s) => s.droplets[0].step === 'settle' && s.droplets[1].step === 'settle');
    await r.handle.signal('abort', { rollback: true });
    const { result, traffic, status } = await r.finish();
    assert.equal(result?.status, 'aborted', result?.message);
    assert.match(result?.message ?? '', /2 updated droplet\(s\) rolled back/);
    assert.deepEqual(status.droplets.map((d) => d.state), ['rolled-back', 'rolled-back', 'skipped', 'skipped']);
    assert.match(status.droplets[0].note ?? '', /kept on v6b rather than restart it while serving/);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, all('v5'));
  });

  test('abort without rollback: the in-flight droplet is restored, finished ones keep the new release', async () => {
    const r = await rollout(stack, 'v7');
    await r.waitFor((s) => s.droplets[1].step === 'health' || s.droplets[1].step === 'switch');
    await r.handle.signal('abort', {});
    const { result, traffic, status } = await r.finish();
    assert.equal(result?.status, 'aborted');
    assert.deepEqual(status.droplets.map((d) => d.state), ['deployed', 'restored', 'skipped', 'skipped']);
    assertNoFailedRequests(traffic);
    await assertFleet(stack, { 'web-1': 'v7', 'web-2': 'v5', 'web-3': 'v5', 'web-4': 'v5' });
  });
});

describe('history', () => {
  test('lists past rollouts of the environment from visibility, newest first', async () => {
    const out: string[] = [];
    const config = stack.fleet.writeConfig();
    let entries: { release: string; outcome?: string }[] = [];
    for (let i = 0; i < 50 && entries.length < 7; i++) { // visibility is eventually consistent
      out.length = 0;
      assert.equal(await main(['history', 'production', '--config', config, '--limit', '10', '--json'], (l) => out.push(l), (l) => out.push(l)), 0);
      entries = out.join('\n').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.deepEqual(entries.map((e) => [e.release, e.outcome]), [
      ['v7', 'aborted'], ['v6b', 'aborted'], ['v6', 'aborted'], ['v5', 'succeeded'], ['v4-broken', 'failed'], ['v3', 'succeeded'], ['v2', 'succeeded'],
    ]);
  });

  test('report draws the last rollout\'s timeline', async () => {
    const svg = path.join(stack.fleet.dir, 'timeline.svg');
    const out: string[] = [];
    assert.equal(await main(['report', WORKFLOW_ID, '--svg', svg], (l) => out.push(l), (l) => out.push(l)), 0);
    assert.match(out.join('\n'), /sample-app production → v7: aborted/);
    assert.match(out.join('\n'), /^ {2}web-2 +\+ *[\d.]+s {2}\S*detach [\d.]+s → /m, 'the steps as text, a line per droplet');
    const text = readFileSync(svg, 'utf8');
    assert.equal((text.match(/<title>web-2 /g) ?? []).length > 5, true, 'web-2 has its steps drawn');
  });
});
