// No secret in any message: each misconfiguration a user can make with the worker's secrets is run through the
// real CLI, a real dev server and a worker with the real activities, and then every workflow history, the CLI's
// output, the worker's log and every webhook body are searched for each secret value and its base64: 0 hits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { cli } from '../helpers/cli';
import { workflowBundlePath } from '../helpers/workflow-env';
import { createActivities, realDependencies } from '../../src/activities';
import { findBinary } from '../../sandbox/binaries';
import { FakeDigitalOcean } from '../../sandbox/fake-digitalocean';
import { DeployApp, DeployEnv, DeployRelease } from '../../src/search-attributes';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'deploy.config.example.yaml');
const QUEUE = 'secrets-in-messages';
const HC = { protocol: 'http', port: 8080, path: '/healthcheck', check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 3 };

const token = `dop_v1_${randomBytes(24).toString('hex')}`;
const sshKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const registryPassword = `pw-${randomBytes(12).toString('hex')}`;
const hookPath = `/hooks/${randomBytes(12).toString('hex')}`;
let webhook = '';

const workerLog: string[] = [];
const webhookBodies: string[] = [];
const cliOutput: string[] = [];
let fake: FakeDigitalOcean;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let receiver: http.Server;
const saved = { ...process.env };

before(async () => {
  // This file's process keeps every line the worker logs, at every level, to search it afterwards.
  Runtime.install({
    logger: new DefaultLogger('TRACE', (entry) => workerLog.push(`${entry.message} ${JSON.stringify(entry.meta ?? {})}`)),
    telemetryOptions: { logging: { forward: {}, filter: 'INFO' } },
  });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      webhookBodies.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${hookPath}`;
  fake = new FakeDigitalOcean(token);
  for (let i = 1; i <= 3; i++) fake.addDroplet({ id: 100 + i, name: `web-${i}`, publicIp: `127.0.3.${i}`, tags: ['sample-app-production'] });
  fake.addLoadBalancer({ id: 'lb-1', name: 'sample-app-lb', ip: '127.0.3.100', status: 'active', dropletIds: [101, 102, 103], healthCheck: HC });
  const workerEnv: NodeJS.ProcessEnv = {
    DIGITALOCEAN_API_URL: await fake.listen(), DIGITALOCEAN_TOKEN: token,
    DEPLOY_SSH_KEY: sshKey, // the CI convention: the key itself where a path belongs
    REGISTRY_PASSWORD: registryPassword, DEPLOYER_REGISTRIES: 'registry.example.com',
    DEPLOY_WEBHOOK_URL: webhook,
    DEPLOY_QUOTED_WEBHOOK_URL: `"${webhook}"`, // stray quotes from an env file
  };
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: findBinary('temporal') }, ip: '127.0.0.1', searchAttributes: [DeployApp, DeployEnv, DeployRelease], log: { format: 'pretty', level: 'error' } },
  });
  delete process.env.DIGITALOCEAN_TOKEN;
  Object.assign(process.env, { TEMPORAL_ADDRESS: env.address, DEPLOY_TASK_QUEUE: QUEUE });
  worker = await Worker.create({
    connection: env.nativeConnection, taskQueue: QUEUE, workflowBundle: { codePath: await workflowBundlePath() },
    activities: createActivities(realDependencies(workerEnv)),
  });
  running = worker.run();
});

after(async () => {
  process.env = saved;
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
  await fake?.close();
  receiver?.close();
});

/** The example config with one environment changed, its files at their absolute paths. */
function config(change: (production: Record<string, any>) => void): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = parse(readFileSync(EXAMPLE, 'utf8'));
  const production = doc.environments.production;
  for (const f of production.files) f.from = path.resolve(ROOT, f.from);
  production.registry.server = 'registry.example.com';
  change(production);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'secrets-config-')), 'deploy.config.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

async function start(file: string): Promise<{ code: number; text: string }> {
  const { code, out, err } = await cli('start', 'production', '--config', file, '--release', 'v2');
  cliOutput.push(out, err);
  return { code, text: `${out}\n${err}` };
}

test('an SSH key variable holding the key: refused by preflight naming the variable; the webhook hears of it', async () => {
  const r = await start(config((p) => {
    p.ssh = { ...p.ssh, privateKeyEnv: 'DEPLOY_SSH_KEY' };
    delete p.ssh.privateKeyPath;
    p.notify = { webhookUrlEnv: 'DEPLOY_WEBHOOK_URL' };
  }));
  assert.equal(r.code, 2, r.text);
  assert.match(r.text, /DEPLOY_SSH_KEY holds a key, not a path: put the key in a file/);
  assert.ok(webhookBodies.some((b) => /DEPLOY_SSH_KEY holds a key/.test(b)), 'the failure was posted to the webhook');
});

test('a webhook URL with stray quotes: refused naming the variable, before anything is touched', async () => {
  const r = await start(config((p) => {
    p.notify = { webhookUrlEnv: 'DEPLOY_QUOTED_WEBHOOK_URL' };
  }));
  assert.equal(r.code, 2, r.text);
  assert.match(r.text, /DEPLOY_QUOTED_WEBHOOK_URL does not hold an http\(s\) URL/);
});

test('the token variable named as the webhook or the SSH key: refused by the worker\'s policy', async () => {
  const hook = await start(config((p) => {
    p.notify = { webhookUrlEnv: 'DIGITALOCEAN_TOKEN' };
  }));
  assert.equal(hook.code, 2, hook.text);
  assert.match(hook.text, /REFUSED: the worker's policy refuses this: DIGITALOCEAN_TOKEN holds the DigitalOcean token and cannot serve as the webhook URL/);
  const key = await start(config((p) => {
    p.ssh = { ...p.ssh, privateKeyEnv: 'DIGITALOCEAN_TOKEN' };
  }));
  assert.equal(key.code, 2, key.text);
  assert.match(key.text, /DIGITALOCEAN_TOKEN holds the DigitalOcean token and cannot serve as the SSH key/);
});

test('no secret value, nor its base64, in any history, the CLI\'s output, the worker\'s log or a webhook body', async () => {
  const histories: string[] = [];
  for await (const wf of env.client.workflow.list()) {
    const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    // Payloads are bytes: searched as the text they hold.
    histories.push(JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)));
  }
  assert.ok(histories.length >= 5, `every attempt left a history (${histories.length})`);
  const places: Record<string, string> = {
    histories: histories.join('\n'), cli: cliOutput.join('\n'), 'worker log': workerLog.join('\n'), webhook: webhookBodies.join('\n'),
  };
  assert.match(places.histories, /DEPLOY_SSH_KEY holds a key/, 'the refusals are in the histories searched');
  assert.ok(workerLog.length > 0 && webhookBodies.length > 0);
  const keyBody = sshKey.split('\n')[1];
  const secrets = { token, 'SSH key': keyBody, 'registry password': registryPassword, 'webhook URL': hookPath };
  const hits: string[] = [];
  for (const [what, value] of Object.entries(secrets)) {
    for (const form of [value, Buffer.from(value).toString('base64')]) {
      for (const [where, text] of Object.entries(places)) if (text.includes(form)) hits.push(`${what} in ${where}`);
    }
  }
  assert.deepEqual(hits, []);
});
