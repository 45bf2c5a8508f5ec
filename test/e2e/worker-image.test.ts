// The worker as teams run it: the image built by `npm run worker-image` (here from the offline base, on a local
// Docker Engine), running as a container next to the Temporal server, polls the task queue and completes a
// rollout on the fleet under load. Its secrets are files mounted into it, never values in its configuration.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import type { Stack } from '../../sandbox/stack';
import { startEngine, type Engine } from '../../sandbox/docker-engine';
import { importBaseImage } from '../../sandbox/images';
import { ROOT, REGISTRY_PASSWORD, SAMPLE_CONFIG } from '../../sandbox/fleet';
import { all, assertFleet, assertNoFailedRequests, e2eStack, rollout } from '../helpers/e2e';

const run = promisify(execFile);
const IMAGE = 'do-rolling-deployer/worker:e2e';
const WORKER_BASE = 'sandbox/node-worker-base:1';
const CORE_BRIDGE = path.join(ROOT, 'node_modules', '@temporalio', 'core-bridge', 'releases', `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-unknown-linux-gnu`, 'index.node');
let stack: Stack;
let engine: Engine;
let secrets: string;

before(async () => {
  stack = await e2eStack({ name: 'e2e-image', subnet: 24 }); // no worker in this process: the container is the worker
  engine = await startEngine({ id: 'worker-image', dir: path.join(ROOT, '.cache', 'docker-worker-image'), poolIndex: 248 });
  // The offline base plus what the Temporal core bridge links (a Node slim image has these already).
  if (!(await engine.docker(['images', '-q', WORKER_BASE])).trim()) await importBaseImage(engine, { tag: WORKER_BASE, linkedBy: [CORE_BRIDGE] });
  secrets = mkdtempSync(path.join(os.tmpdir(), 'worker-secrets-'));
});
after(async () => {
  await engine?.docker(['rm', '-f', 'deploy-worker']).catch(() => undefined);
  await engine?.stop();
  await stack?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

/** A secret as the container reads it: a file only the worker's user can read. */
function secretFile(name: string, value: string): string {
  const file = path.join(secrets, name);
  writeFileSync(file, value, { mode: 0o400 });
  chownSync(file, 1000, 1000);
  return file;
}

test('the worker image: built from the prepared context, non-root, no dev dependencies, completes a rollout', async () => {
  await run('bash', ['scripts/build-worker-image.sh', IMAGE], {
    cwd: ROOT, env: { ...process.env, DOCKER: `docker -H ${engine.host}`, NODE_IMAGE: WORKER_BASE, WORKER_CONTEXT: '.cache/worker-image-e2e' }, maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal((await engine.docker(['image', 'inspect', '-f', '{{.Config.User}}', IMAGE])).trim(), '1000:1000');
  const modules = (await engine.docker(['run', '--rm', '--entrypoint', 'ls', IMAGE, '/app/node_modules'])).split('\n');
  assert.ok(modules.includes('@temporalio') && modules.includes('node-ssh'), 'runtime dependencies are in');
  for (const dev of ['typescript', 'eslint', 'tsx', 'playwright-core']) assert.ok(!modules.includes(dev), `${dev} (a dev dependency) is not`);

  const token = stack.fleet.workerEnv.DIGITALOCEAN_TOKEN;
  const files = path.dirname(SAMPLE_CONFIG);
  await engine.docker(['run', '-d', '--name', 'deploy-worker', '--network', 'host',
    '-e', `TEMPORAL_ADDRESS=${stack.address}`, '-e', `DEPLOY_TASK_QUEUE=${stack.taskQueue}`,
    '-e', `DIGITALOCEAN_API_URL=${stack.fleet.workerEnv.DIGITALOCEAN_API_URL}`,
    '-e', `DEPLOYER_REGISTRIES=${stack.fleet.workerEnv.DEPLOYER_REGISTRIES}`, '-e', `DEPLOYER_FILES_ROOT=${files}`,
    '-e', 'DIGITALOCEAN_TOKEN_FILE=/run/secrets/digitalocean_token', '-v', `${secretFile('token', token)}:/run/secrets/digitalocean_token:ro`,
    '-e', 'REGISTRY_PASSWORD_FILE=/run/secrets/registry_password', '-v', `${secretFile('registry', REGISTRY_PASSWORD)}:/run/secrets/registry_password:ro`,
    '-e', 'DEPLOY_SSH_KEY_PATH=/run/secrets/deploy_ssh_key',
    '-v', `${secretFile('ssh', readFileSync(stack.fleet.workerEnv.DEPLOY_SSH_KEY_PATH, 'utf8'))}:/run/secrets/deploy_ssh_key:ro`,
    // The config names the files to upload and the fleet's known_hosts by absolute path: the same paths inside.
    '-v', `${files}:${files}:ro`, '-v', `${stack.fleet.dir}:${stack.fleet.dir}:ro`,
    IMAGE]);
  const deadline = Date.now() + 60_000;
  let logs = '';
  while (!/polling task queue/.test(logs)) {
    if (Date.now() > deadline) throw new Error(`the containerised worker never polled: ${logs}`);
    await new Promise((r) => setTimeout(r, 500));
    logs = await engine.docker(['logs', 'deploy-worker']).catch(() => '');
  }
  assert.match(logs, new RegExp(`polling task queue "${stack.taskQueue}"`));

  const r = await rollout(stack, 'v2');
  const { result, traffic } = await r.finish();
  assert.equal(result?.status, 'succeeded', result?.message);
  assertNoFailedRequests(traffic);
  await assertFleet(stack, all('v2'));
  const config = await engine.docker(['inspect', 'deploy-worker']);
  for (const secret of [token, REGISTRY_PASSWORD]) assert.ok(!config.includes(secret), 'no secret value in the container\'s configuration');
});
