// The operator's `start-deploy`: the plan is resolved on the worker (the token lives there, not in the CLI's
// shell), and every refusal exits 2 with its reason before anything on the fleet is touched. A real dev server,
// a worker with the real activities, a local stand-in for the DigitalOcean API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { cli } from '../helpers/cli';
import { createActivities, realDependencies } from '../../src/activities';
import { findBinary } from '../../sandbox/binaries';
import { FakeDigitalOcean } from '../../sandbox/fake-digitalocean';
import { DeployApp, DeployEnv, DeployRelease } from '../../src/search-attributes';
import { quietRuntime, workflowBundlePath } from '../helpers/workflow-env';

const EXAMPLE = path.resolve(__dirname, '..', '..', 'deploy.config.example.yaml');
const HC = { protocol: 'http', port: 8080, path: '/healthcheck', check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 3 };
const QUEUE = 'cli-start-test';
let fake: FakeDigitalOcean;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const saved = { ...process.env };
/** The worker's environment: the token is here and nowhere else. */
const workerEnv: NodeJS.ProcessEnv = {};

before(async () => {
  quietRuntime();
  fake = new FakeDigitalOcean('tok');
  for (let i = 1; i <= 3; i++) fake.addDroplet({ id: 100 + i, name: `web-${i}`, publicIp: `127.0.3.${i}`, tags: ['sample-app-production'] });
  fake.addLoadBalancer({ id: 'lb-1', name: 'sample-app-lb', ip: '127.0.3.100', status: 'active', dropletIds: [101, 102, 103], healthCheck: HC });
  Object.assign(workerEnv, { DIGITALOCEAN_API_URL: await fake.listen(), DIGITALOCEAN_TOKEN: 'tok', DEPLOYER_REGISTRIES: 'registry.digitalocean.com' });
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: findBinary('temporal') }, ip: '127.0.0.1', searchAttributes: [DeployApp, DeployEnv, DeployRelease], log: { format: 'pretty', level: 'error' } },
  });
  // The CLI's shell: the Temporal address and task queue, no token, no API URL.
  delete process.env.DIGITALOCEAN_TOKEN;
  delete process.env.DIGITALOCEAN_API_URL;
  Object.assign(process.env, { TEMPORAL_ADDRESS: env.address, DEPLOY_TASK_QUEUE: QUEUE });
});
after(async () => {
  process.env = saved;
  assert.deepEqual(fake.fatal, []);
  await stopWorker();
  await env?.teardown();
  await fake.close();
});

async function startWorker(): Promise<void> {
  worker = await Worker.create({
    connection: env.nativeConnection, taskQueue: QUEUE, workflowBundle: { codePath: await workflowBundlePath() },
    activities: createActivities(realDependencies(workerEnv)),
  });
  running = worker.run();
}
async function stopWorker(): Promise<void> {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
}

test('no worker polling: says so and how to start one, exit 2', async () => {
  const { code, err } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run');
  assert.equal(code, 2);
  assert.match(err, /no worker is polling task queue "cli-start-test"/);
  assert.match(err, /npm run worker/);
  await startWorker();
});

test('--dry-run: the plan comes from the worker, with no token in the CLI\'s environment, and changes nothing', async () => {
  assert.equal(process.env.DIGITALOCEAN_TOKEN, undefined);
  const before = fake.requests.length;
  const { code, out } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run', '--release', 'v2');
  assert.equal(code, 0);
  assert.match(out, /Rollout plan: sample-app → production, release v2/);
  assert.match(out, /load balancer {2}sample-app-lb \(lb-1\), status active, targets droplet IDs/);
  assert.match(out, /settle 35s \(3 × 10s LB checks \+ 5s margin\)/);
  assert.match(out, /batch 1 {8}web-1 \(127.0.3.1\)\n {2}batch 2 {8}web-2/);
  assert.match(out, /dry run: nothing was changed/);
  // 3 batches of 1: one listing page and the LB read, then a read and a change each way per batch.
  assert.match(out, /API budget {5}≈ 14 DigitalOcean API requests \(2 to plan, 12 for the LB changes: one each way per batch, each after a read\); the token has \d+ of 5000 an hour left/);
  assert.ok(fake.requests.length > before, 'the worker called the API');
  assert.ok(fake.requests.slice(before).every((r) => r.method === 'GET'));
});

test('a plan the guard would refuse exits 2 with the reason', async () => {
  const { code, out, err } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run', '--batch-size', '3');
  assert.equal(code, 2);
  assert.match(out, /REFUSED: batch size 3 would leave 0 of 3 droplet\(s\) attached/);
  assert.match(err, /refusing to start/);
});

test('a rollout that cannot fit in the token\'s quota left is refused with a batch size that fits, exit 2', async () => {
  fake.quotaHourPassed();
  fake.spendQuota(4986); // someone else used the token: 14 left, 2 of them for this plan's reads
  try {
    const { code, out } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run');
    assert.equal(code, 2, out);
    assert.match(out, /REFUSED: the rollout needs about 14 DigitalOcean API requests and the token has 12 of its 5000 an hour left; a batch size of 2 \(--batch-size 2\) fits/);
    const smaller = await cli('start', 'production', '--config', EXAMPLE, '--dry-run', '--batch-size', '2');
    assert.doesNotMatch(smaller.out, /needs about/, 'batch 2 (2 to plan, 8 for the changes) fits what is left');
  } finally {
    fake.quotaHourPassed();
  }
});

test('two droplets with one name are refused with their IDs, exit 2', async () => {
  fake.addDroplet({ id: 104, name: 'web-2', publicIp: '127.0.3.4', tags: ['sample-app-production'] });
  fake.loadBalancers.get('lb-1')!.dropletIds.push(104);
  try {
    const { code, out } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run');
    assert.equal(code, 2);
    assert.match(out, /2 droplets are named web-2 \(IDs 102, 104\); rename all but one/);
  } finally {
    fake.droplets.delete(104);
    fake.loadBalancers.get('lb-1')!.dropletIds.pop();
  }
});

test('no token on the worker: names the variable to set there, exit 2', async () => {
  delete workerEnv.DIGITALOCEAN_TOKEN;
  try {
    const { code, err } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run');
    assert.equal(code, 2);
    assert.match(err, /cannot resolve the fleet: the DigitalOcean API token \(DIGITALOCEAN_TOKEN\) is not set in the worker's environment: export DIGITALOCEAN_TOKEN=/);
  } finally {
    workerEnv.DIGITALOCEAN_TOKEN = 'tok';
  }
});

test('a rejected token and an unknown load balancer are configuration errors, exit 2', async () => {
  workerEnv.DIGITALOCEAN_TOKEN = 'wrong';
  try {
    const { code, err } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run');
    assert.equal(code, 2);
    assert.match(err, /rejected the API token/);
  } finally {
    workerEnv.DIGITALOCEAN_TOKEN = 'tok';
  }
  fake.loadBalancers.get('lb-1')!.name = 'renamed';
  try {
    const { code, err } = await cli('start', 'production', '--config', EXAMPLE, '--dry-run');
    assert.equal(code, 2);
    assert.match(err, /no load balancer is named "sample-app-lb"/);
  } finally {
    fake.loadBalancers.get('lb-1')!.name = 'sample-app-lb';
  }
});

test('a rollout that preflight refuses exits 2 with every reason, and nothing on the fleet is touched', async () => {
  // No SSH key on the worker: preflight refuses before any droplet is looked at.
  const before = fake.requests.length;
  const { code, out } = await cli('start', 'production', '--config', EXAMPLE, '--release', 'v2');
  assert.equal(code, 2, out);
  assert.match(out, /FAILED: preflight refused the rollout of sample-app to production:\n {2}- cannot read the SSH private key .*\n {2}- the registry password variable REGISTRY_PASSWORD is not set in the worker's environment/);
  assert.ok(fake.requests.slice(before).every((r) => r.method === 'GET'), 'no detach, no attach');
});

test('a rollout started under the old, ambiguous workflow ID is found only by the app and environment it belongs to', async () => {
  // Before the "." separator, shop-eu + prod and shop + eu-prod both had the ID rollout-shop-eu-prod.
  const legacy = await env.client.workflow.start('rolloutWorkflow', {
    taskQueue: 'nobody-polls-this', workflowId: 'rollout-shop-eu-prod', args: [{}],
    typedSearchAttributes: [{ key: DeployApp, value: 'shop-eu' }, { key: DeployEnv, value: 'prod' }, { key: DeployRelease, value: 'v1' }],
  });
  try {
    const other = await cli('abort', 'eu-prod', '--app', 'shop');
    assert.equal(other.code, 2);
    assert.match(other.err, /no rollout of shop to eu-prod has run yet \(workflow rollout-shop\.eu-prod\)/);
    const owner = await cli('pause', 'prod', '--app', 'shop-eu');
    assert.equal(owner.code, 0, owner.err);
    assert.match(owner.out, /^rollout-shop-eu-prod: pause requested/);
    const events = (await legacy.fetchHistory()).events ?? [];
    assert.ok(events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'pause'), 'the signal reached the legacy rollout');
    assert.ok(!events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'abort'), 'the other pair\'s abort did not');
  } finally {
    await legacy.terminate('test done');
  }
});
