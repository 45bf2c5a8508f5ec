// docker-compose.temporal.yml: the images cannot be pulled here, so the file is validated statically with the
// real Compose v2 (`docker compose config`, installed for the local fleet) and its structure is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/search-attributes';

const ROOT = path.resolve(__dirname, '..', '..');
const FILE = path.join(ROOT, 'docker-compose.temporal.yml');
const COMPOSE = path.join(ROOT, '.tools', 'compose-v2', 'docker-compose');

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  secrets?: { source: string }[];
  profiles?: string[];
}

/** `docker compose config` as JSON, with the given variables in an env file; throws with Compose's stderr. */
function config(vars: Record<string, string>): { services: Record<string, Service>; secrets: Record<string, { file: string }> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-'));
  try {
    const envFile = path.join(dir, 'stack.env');
    writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
    const out = execFileSync(COMPOSE, ['--env-file', envFile, '-f', FILE, '--profile', 'worker', 'config', '--format', 'json'], {
      cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' },
    });
    return JSON.parse(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stack = config({ TEMPORAL_DB_PASSWORD: 'only-for-this-test' });
const svc = stack.services;

test('Compose accepts the file: a server on PostgreSQL, one-shot schema and namespace jobs, the Web UI and the worker', () => {
  assert.deepEqual(Object.keys(svc).sort(), ['postgresql', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
  assert.equal(svc.temporal.environment?.DB, 'postgres12');
  assert.equal(svc.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
  assert.equal(svc.temporal.environment?.VISIBILITY_DBNAME, 'temporal_visibility');
});

test('every image is pinned to a version, on supported images only (no auto-setup, no tctl), server and admin-tools alike', () => {
  for (const [name, s] of Object.entries(svc)) {
    assert.match(s.image, /:\d+\.\d+(\.\d+)?$/, `${name} pins an image version`);
    assert.doesNotMatch(s.image, /auto-setup/, `${name} does not use the deprecated auto-setup image`);
    assert.doesNotMatch(JSON.stringify([s.command, s.healthcheck]), /\btctl\b/, `${name} does not use the retired tctl`);
  }
  assert.match(svc.temporal.image, /^temporalio\/server:/);
  const version = (image: string) => image.split(':')[1];
  assert.equal(version(svc['temporal-schema'].image), version(svc.temporal.image));
  assert.equal(version(svc['temporal-namespace'].image), version(svc.temporal.image));
});

test('start order: database healthy → schema done → server healthy (temporal operator cluster health) → namespace done → UI', () => {
  assert.equal(svc['temporal-schema'].depends_on?.postgresql.condition, 'service_healthy');
  assert.equal(svc.temporal.depends_on?.['temporal-schema'].condition, 'service_completed_successfully');
  assert.equal(svc['temporal-namespace'].depends_on?.temporal.condition, 'service_healthy');
  assert.equal(svc['temporal-ui'].depends_on?.['temporal-namespace'].condition, 'service_completed_successfully');
  assert.equal(svc.worker.depends_on?.['temporal-namespace'].condition, 'service_completed_successfully');
  assert.deepEqual(svc.temporal.healthcheck?.test.slice(1, 5), ['temporal', 'operator', 'cluster', 'health']);
});

test('the schema job creates and migrates both the default and the visibility store', () => {
  const script = (svc['temporal-schema'].command ?? []).join('\n');
  for (const db of ['temporal', 'temporal_visibility']) assert.match(script, new RegExp(`--db ${db} setup-schema -v 0\\.0`));
  assert.match(script, /--db temporal update-schema -d \/etc\/temporal\/schema\/postgresql\/v12\/temporal\/versioned/);
  assert.match(script, /--db temporal_visibility update-schema -d \/etc\/temporal\/schema\/postgresql\/v12\/visibility\/versioned/);
  // `config` prints the file back as Compose reads it: "$$" is a literal "$" for the container's shell.
  assert.match(script, /for db in temporal temporal_visibility; do\n\s+sql --db "\$\$db" create/);
});

test('the namespace job sets a retention and registers every search attribute the code sets, as Keyword', () => {
  const script = (svc['temporal-namespace'].command ?? []).join('\n');
  assert.match(script, /temporal operator namespace create -n "\$\$TEMPORAL_NAMESPACE" --retention "\$\$RETENTION"/);
  assert.equal(svc['temporal-namespace'].environment?.RETENTION, '30d');
  assert.match(script, /--type Keyword/);
  for (const name of SEARCH_ATTRIBUTE_NAMES) assert.match(script, new RegExp(`\\b${name}\\b`), `${name} is created`);
});

test('secrets: the database password has no default, and the worker reads its secrets from the environment (Docker secrets)', () => {
  assert.throws(() => config({}), /required variable TEMPORAL_DB_PASSWORD is missing a value: set TEMPORAL_DB_PASSWORD/);
  const env = svc.worker.environment ?? {};
  assert.deepEqual(Object.keys(env).filter((k) => /TOKEN|PASSWORD|KEY/.test(k)).sort(), ['DEPLOY_SSH_KEY_PATH', 'DIGITALOCEAN_TOKEN_FILE', 'REGISTRY_PASSWORD_FILE']);
  for (const k of ['DEPLOY_SSH_KEY_PATH', 'DIGITALOCEAN_TOKEN_FILE', 'REGISTRY_PASSWORD_FILE']) assert.match(env[k], /^\/run\/secrets\//);
  assert.deepEqual((svc.worker.secrets ?? []).map((s) => s.source).sort(), ['deploy_ssh_key', 'digitalocean_token', 'registry_password']);
  for (const s of Object.values(stack.secrets)) assert.ok(s.file, 'each secret comes from a file the user creates');
  assert.deepEqual(svc.worker.profiles, ['worker']);
  assert.ok(!readFileSync(FILE, 'utf8').includes('only-for-this-test'));
});

test('the server and the Web UI listen on loopback unless the operator publishes them (TEMPORAL_BIND, TEMPORAL_UI_BIND)', () => {
  const ports = (s: Service & { ports?: { host_ip?: string; published?: string }[] }) => (s.ports ?? []).map((p) => `${p.host_ip ?? '*'}:${p.published}`);
  assert.deepEqual(ports(svc.temporal), ['127.0.0.1:7233']);
  assert.deepEqual(ports(svc['temporal-ui']), ['127.0.0.1:8080']);
  const wide = config({ TEMPORAL_DB_PASSWORD: 'x', TEMPORAL_BIND: '0.0.0.0' }).services;
  assert.deepEqual(ports(wide.temporal), ['0.0.0.0:7233']);
  // The worker uploads only from its mounted files and logs in only to the registry the operator names.
  assert.equal(svc.worker.environment?.DEPLOYER_FILES_ROOT, '/deploy');
  assert.ok('DEPLOYER_REGISTRIES' in (svc.worker.environment ?? {}));
});
