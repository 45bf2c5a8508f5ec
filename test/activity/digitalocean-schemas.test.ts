// The local API's answers and the adapter's requests against the schemas of DigitalOcean's published OpenAPI
// description (test/schemas/digitalocean.json, derived by scripts/derive-do-schemas.ts from a recorded commit):
// the fake may not drift from the real shapes, and the adapter may not send what the real API would refuse.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { FakeDigitalOcean } from '../../sandbox/fake-digitalocean';
import { createDigitalOcean } from '../../src/digitalocean/dots-adapter';

interface Operation {
  operationId: string;
  method: string;
  path: string;
  request: object | null;
  responses: Record<string, { schema: object | null; headers: string[] }>;
}
const spec: { commit: string; operations: Operation[] } = JSON.parse(readFileSync(path.join(__dirname, '..', 'schemas', 'digitalocean.json'), 'utf8'));
// OpenAPI 3.0 schemas: `nullable` is understood, formats and doc-only keywords are not checked.
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const compiled = new Map<object, ValidateFunction>();
const validator = (schema: object) => compiled.get(schema) ?? compiled.set(schema, ajv.compile(schema)).get(schema) as ValidateFunction;

/** The spec's operation for a request the fake recorded (path parameters matched by position). */
function operationFor(method: string, route: string): Operation | undefined {
  return spec.operations.find((o) => o.method === method && new RegExp(`^${o.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(route));
}

const TOKEN = 'schema-token-not-a-secret';
const fake = new FakeDigitalOcean(TOKEN);
let url: string;

before(async () => {
  for (let i = 1; i <= 3; i++) fake.addDroplet({ id: 100 + i, name: `web-${i}`, publicIp: `127.0.0.${10 + i}`, privateIp: `10.0.0.${i}`, tags: ['web'] });
  fake.addDroplet({ id: 200, name: 'worker-1', publicIp: '127.0.0.20', tags: ['jobs'], status: 'off', locked: true });
  const hc = { protocol: 'http', port: 8080, path: '/healthcheck', check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 5 };
  fake.addLoadBalancer({ id: '4de7ac8b-495b-4884-9a69-1050c6793cd6', name: 'prod-lb', ip: '127.0.0.9', status: 'active', dropletIds: [101, 102, 103], healthCheck: hc });
  fake.addLoadBalancer({ id: '5de7ac8b-495b-4884-9a69-1050c6793cd7', name: 'jobs-lb', ip: '127.0.0.8', status: 'active', tag: 'jobs', dropletIds: [], healthCheck: hc });
  url = await fake.listen(0, '127.0.0.1');
});

after(async () => {
  await fake.close();
});

async function call(method: string, route: string, body?: unknown): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await fetch(`${url}${route.replace(/^\/v2/, '')}`, {
    method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

/** Check one answer against the spec's schema for its status (or `default`) and its declared headers. */
function checkAnswer(op: Operation, status: number, headers: Headers, json: unknown): void {
  const response = op.responses[String(status)] ?? op.responses.default;
  assert.ok(response, `${op.operationId} ${status}: the spec has a response for it`);
  for (const h of response.headers) assert.ok(headers.get(h) !== null, `${op.operationId} ${status}: header ${h}`);
  if (!response.schema) return;
  const validate = validator(response.schema);
  assert.ok(validate(json), `${op.operationId} ${status} answer does not match the spec: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(json).slice(0, 400)}`);
}

test(`the schemas come from a recorded commit of digitalocean/openapi and cover every call the deployer makes`, () => {
  assert.match(spec.commit, /^[0-9a-f]{40}$/);
  assert.deepEqual(spec.operations.map((o) => o.operationId).sort(), [
    'droplets_get', 'droplets_list', 'loadBalancers_add_droplets', 'loadBalancers_get', 'loadBalancers_list', 'loadBalancers_remove_droplets',
    'loadBalancers_update', 'tags_assign_resources', 'tags_unassign_resources']);
});

test('the local API answers every endpoint in the shapes of the published spec, errors included', async () => {
  const lb = '4de7ac8b-495b-4884-9a69-1050c6793cd6';
  const calls: [string, string, unknown?][] = [
    ['GET', '/v2/droplets?per_page=2'], ['GET', '/v2/droplets?tag_name=web'], ['GET', '/v2/droplets/101'], ['GET', '/v2/droplets/999'],
    ['GET', '/v2/load_balancers'], ['GET', `/v2/load_balancers/${lb}`], ['GET', '/v2/load_balancers/nope'],
    ['DELETE', `/v2/load_balancers/${lb}/droplets`, { droplet_ids: [101] }], ['POST', `/v2/load_balancers/${lb}/droplets`, { droplet_ids: [101] }],
    ['POST', `/v2/load_balancers/${lb}/droplets`, { droplet_ids: ['x'] }],
    ['PUT', `/v2/load_balancers/${lb}`, { health_check: { check_interval_seconds: 1 } }],
    ['DELETE', '/v2/tags/jobs/resources', { resources: [{ resource_id: '200', resource_type: 'droplet' }] }],
    ['POST', '/v2/tags/jobs/resources', { resources: [{ resource_id: '200', resource_type: 'droplet' }] }],
  ];
  for (const [method, route, body] of calls) {
    const op = operationFor(method, route.split('?')[0]);
    assert.ok(op, `${method} ${route} is in the spec`);
    const { status, headers, json } = await call(method, route, body);
    checkAnswer(op, status, headers, json);
  }
  const unauthorized = await fetch(`${url}/droplets`, { headers: { authorization: 'Bearer wrong' } });
  checkAnswer(spec.operations[0], unauthorized.status, unauthorized.headers, await unauthorized.json());
});

test('the adapter\'s requests are what the published spec accepts', async () => {
  const api = createDigitalOcean({ token: TOKEN, apiUrl: url });
  const from = fake.requests.length;
  const [lb, jobs] = [await api.getLoadBalancer({ name: 'prod-lb' }), await api.getLoadBalancer({ name: 'jobs-lb' })];
  await api.listDroplets({ tag: 'web' }, 'public');
  await api.detachDroplets(lb, [101]);
  await api.attachDroplets(lb, [101]);
  await api.detachDroplets(jobs, [200]);
  await api.attachDroplets(jobs, [200]);
  const sent = fake.requests.slice(from);
  assert.ok(sent.some((r) => r.path.endsWith('/droplets') && r.method === 'POST') && sent.some((r) => r.path.startsWith('/v2/tags/')), 'both kinds of membership change were made');
  for (const r of sent) {
    const op = operationFor(r.method, r.path);
    assert.ok(op, `${r.method} ${r.path} is in the spec`);
    if (op.request) {
      const validate = validator(op.request);
      assert.ok(validate(r.body), `${op.operationId} request does not match the spec: ${ajv.errorsText(validate.errors)}`);
    } else {
      assert.equal(r.body, undefined, `${op.operationId} sends no body`);
    }
    assert.ok(r.status < 300, `${r.method} ${r.path} answered ${r.status}`);
  }
});
