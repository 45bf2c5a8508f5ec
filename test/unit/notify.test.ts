// The webhook notification as a receiver sees it: one JSON POST, a Slack-style `text`, the structured fields,
// and neither the URL nor the name of the variable holding it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { notifyActivities } from '../../src/activities/notify';
import type { NotificationInput } from '../../src/rollout-status';
import type { ActivityDeps } from '../../src/activities/deps';
import { workerPolicy } from '../../src/activities/policy';
import { MockActivityEnvironment } from '@temporalio/testing';

const received: { method?: string; type?: string; key?: string; path?: string; body: Record<string, unknown> }[] = [];
let answer = 200;
let location: string | undefined;
let server: http.Server;
let url = '';
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method, type: req.headers['content-type'], key: req.headers['idempotency-key'] as string | undefined, path: req.url, body: JSON.parse(body) });
      res.writeHead(answer, location ? { location } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token`;
});
after(() => server.close());

const deps = (env: Record<string, string>): ActivityDeps => ({
  digitalOcean: () => assert.fail('not used'), remote: () => assert.fail('not used'), secret: (n) => env[n], policy: workerPolicy({}), fetch: globalThis.fetch,
});
const input: NotificationInput = {
  webhookUrlEnv: 'DEPLOY_WEBHOOK_URL', event: 'rolled-back', app: 'shop', env: 'production', release: 'v2', workflowId: 'rollout-shop.production',
  message: 'web-3 failed its health check. Rolled back 2 updated droplet(s)', droplets: { 'rolled-back': 2, restored: 1 }, total: 3, needsAttention: [],
};

test('one JSON POST with a Slack-style text and the structured fields, no secret in it', async () => {
  await notifyActivities(deps({ DEPLOY_WEBHOOK_URL: url })).sendNotification(input);
  const got = received.at(-1);
  assert.equal(got?.method, 'POST');
  assert.equal(got?.type, 'application/json');
  assert.match(String(got?.body.text), /^Rollout of shop v2 to production was rolled back: web-3 failed its health check\. .* <http:\/\/.*rollout-shop\.production\|Web UI>$/);
  const { text: _text, webUi, ...fields } = got?.body ?? {};
  const { webhookUrlEnv: _name, ...expected } = input;
  assert.deepEqual(fields, expected);
  assert.match(String(webUi), /\/workflows\/rollout-shop\.production$/);
  assert.ok(!JSON.stringify(got?.body).includes('secret-token') && !JSON.stringify(got?.body).includes('DEPLOY_WEBHOOK_URL'));
});

test('an unset variable and a refusing webhook are failures that name the cause, never the URL', async () => {
  await assert.rejects(notifyActivities(deps({})).sendNotification(input), (e: Error & { nonRetryable?: boolean }) =>
    /DEPLOY_WEBHOOK_URL is not set in the worker's environment/.test(e.message) && e.nonRetryable === true);
  answer = 500;
  try {
    await assert.rejects(notifyActivities(deps({ DEPLOY_WEBHOOK_URL: url })).sendNotification(input), (e: Error & { nonRetryable?: boolean }) =>
      e.message === 'the webhook answered 500' && e.nonRetryable === false);
  } finally {
    answer = 200;
  }
});

test('a redirect is not followed (the body would go elsewhere), and every attempt carries one idempotency key', async () => {
  const before = received.length;
  answer = 307;
  location = url.replace('/hooks/secret-token', '/elsewhere');
  try {
    await assert.rejects(notifyActivities(deps({ DEPLOY_WEBHOOK_URL: url })).sendNotification(input), (e: Error & { nonRetryable?: boolean }) =>
      /^the webhook answered 307 \(a redirect, not followed\): set DEPLOY_WEBHOOK_URL to the final URL$/.test(e.message) && e.nonRetryable === true);
  } finally {
    answer = 200;
    location = undefined;
  }
  assert.deepEqual(received.slice(before).map((r) => r.path), ['/hooks/secret-token'], 'nothing was posted to the redirect\'s target');
  const activity = new MockActivityEnvironment();
  for (let attempt = 0; attempt < 2; attempt++) await activity.run(notifyActivities(deps({ DEPLOY_WEBHOOK_URL: url })).sendNotification, input);
  const [first, second] = received.slice(-2).map((r) => r.key);
  assert.ok(first && first === second, `a retried POST repeats its key (${first}, ${second})`);
});

test('a URL that does not parse, or a receiver that cannot be reached, is told without the URL', async () => {
  const quoted = `"${url}"`;
  await assert.rejects(notifyActivities(deps({ DEPLOY_WEBHOOK_URL: quoted })).sendNotification(input), (e: Error) =>
    /^DEPLOY_WEBHOOK_URL does not hold an http\(s\) URL \(check it for stray quotes/.test(e.message) && !e.message.includes('secret-token'));
  const gone = http.createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const port = (gone.address() as AddressInfo).port;
  await new Promise((r) => gone.close(r));
  const closed = url.replace(/:\d+\//, `:${port}/`);
  await assert.rejects(notifyActivities(deps({ DEPLOY_WEBHOOK_URL: closed })).sendNotification(input), (e: Error) =>
    /^the webhook in DEPLOY_WEBHOOK_URL could not be reached \(ECONNREFUSED\)$/.test(e.message));
});
