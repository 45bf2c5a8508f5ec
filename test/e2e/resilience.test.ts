// The rollout survives a killed worker, DigitalOcean API faults and an SSH connection cut mid-upload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Stack } from '../../sandbox/stack';
import { ROOT } from '../../sandbox/fleet';
import { all, assertFleet, assertNoFailedRequests, e2eStack, rollout } from '../helpers/e2e';

let stack: Stack;
let worker: ChildProcess | undefined;
before(async () => {
  stack = await e2eStack({ name: 'e2e-resilience', subnet: 22 });
});
after(async () => {
  worker?.kill('SIGKILL');
  await stack?.stop();
});

/** The worker as its own process (npm run worker), so it can really be killed. */
function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT, env: { ...process.env, ...stack.processEnv }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c;
      if (out.includes('worker: polling')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c) => (out += c));
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${out}`)));
  });
}

test('the worker killed with SIGKILL in the middle of a droplet\'s steps, then restarted: the rollout completes', async () => {
  worker = await startWorkerProcess();
  const r = await rollout(stack, 'v2');
  await r.waitFor((s) => s.droplets[1].step === 'health');
  worker.kill('SIGKILL');
  await new Promise((res) => setTimeout(res, 1000));
  worker = await startWorkerProcess();
  const { result, traffic, status } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2'));
  assert.equal(status.droplets[1].steps.filter((s) => s.step === 'health').length, 1, 'the step resumed, the saga did not restart');
  worker.kill('SIGTERM');
  await new Promise((res) => worker?.once('exit', res));
  worker = undefined;
});

test('the worker killed while attaching a droplet (the API call hangs), restarted 5 s later: the rollout goes on within seconds', async () => {
  worker = await startWorkerProcess();
  const api = stack.fleet.api;
  const r = await rollout(stack, 'v2b');
  await r.waitFor((s) => s.droplets[1].step === 'health');
  api.faults = { ...api.faults, stalledWrites: 1, stallMs: 20_000 }; // the next write is web-2's attach
  await r.waitFor((s) => s.droplets[1].step === 'attach');
  await new Promise((res) => setTimeout(res, 500));
  worker.kill('SIGKILL');
  await new Promise((res) => setTimeout(res, 5000));
  worker = await startWorkerProcess();
  const restartedAt = Date.now();
  const settled = await r.waitFor((s) => s.droplets[1].step === 'settle' || s.droplets[1].state !== 'deploying', 60_000);
  const resumedAfterMs = (settled.droplets[1].steps.find((s) => s.step === 'settle')?.startedAt ?? Date.now()) - restartedAt;
  console.log(`# attach retried and web-2 settling ${(resumedAfterMs / 1000).toFixed(1)} s after the worker restarted`);
  // One attempt of a load-balancer call lasts at most 10 s: the lost one times out and the retry goes through.
  assert.ok(resumedAfterMs < 15_000, `the rollout continued ${resumedAfterMs} ms after the restart`);
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2b'));
  worker.kill('SIGTERM');
  await new Promise((res) => worker?.once('exit', res));
  worker = undefined;
});

test('DigitalOcean faults (429 burst, 5xx, 403-busy, 3 s propagation) and an SSH connection cut mid-upload: the rollout completes', async () => {
  await stack.startWorker();
  const api = stack.fleet.api;
  api.faults = { rateLimitBurst: 2, serverErrors: 0, busyWindowMs: 1500, propagationDelayMs: 3000 };
  const asset = path.join(stack.fleet.dir, 'assets.bin');
  writeFileSync(asset, randomBytes(32 * 1024 * 1024));
  const seen = api.requests.length;
  // Drain and settle cover the 3 s propagation: the LB learns of each change late, as on DigitalOcean.
  const r = await rollout(stack, 'v3', { drainDelay: '4s', settleMargin: '5s', minAttached: 2 }, 2, [{ from: asset, to: 'assets.bin' }]);
  api.faults = { ...api.faults, rateLimitBurst: 3, serverErrors: 2 }; // and more while the rollout runs
  const partialOf = (d: string) => path.join(stack.fleet.dir, d, 'root', 'apps', 'sample-app', 'releases');
  let cut = false;
  const deadline = Date.now() + 120_000;
  while (!cut && Date.now() < deadline && !(await r.status().then((st) => ['failed', 'rolled-back', 'aborted'].includes(st.phase), () => false))) {
    const dir = partialOf('web-1');
    if (existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('.partial-v3'))) {
      stack.fleet.hosts[0].dropConnections();
      cut = true;
    }
    await new Promise((res) => setTimeout(res, 2));
  }
  assert.ok(cut, 'the upload to web-1 was cut');
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v3'));
  const statuses = api.requests.slice(seen).map((q) => q.status);
  for (const code of [429, 500, 403]) assert.ok(statuses.includes(code), `the API answered ${code} at least once`);
});
