// deploy.config.yaml: validation errors name the file, the field and the fix; the example resolves.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify, parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { ConfigError, chooseRelease, loadEnvironment, readConfigFile } from '../../src/config/loader';
import { parseDuration } from '../../src/config/duration';
import { renderPlan } from '../../src/cli/render';
import { retryWindowMs } from '../../src/rollout-plan';

const EXAMPLE = path.resolve(__dirname, '..', '..', 'deploy.config.example.yaml');
const example = () => parse(readFileSync(EXAMPLE, 'utf8'));

/** Write a variant of the example next to it (so relative file paths still resolve). */
function variant(change: (doc: Record<string, any>) => void): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = example();
  change(doc);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-config-'));
  const file = path.join(dir, 'deploy.config.yaml');
  for (const env of Object.values(doc.environments) as { files: { from: string }[] }[]) {
    for (const f of env.files) f.from = path.resolve(path.dirname(EXAMPLE), f.from);
  }
  writeFileSync(file, stringify(doc));
  return file;
}

describe('the example configuration', () => {
  test('resolves production with defaults filled in and durations in ms', () => {
    const { plan } = loadEnvironment(EXAMPLE, 'production');
    assert.equal(plan.app, 'sample-app');
    assert.deepEqual(plan.loadBalancer, { name: 'sample-app-lb' });
    assert.deepEqual(plan.droplets, { tag: 'sample-app-production' });
    assert.equal(plan.rollout.drainDelayMs, 10_000);
    assert.equal(plan.rollout.settleDelayMs, 'auto');
    assert.equal(plan.healthCheck.timeoutMs, 120_000);
    assert.equal(plan.rollout.steps.health.timeoutMs, 150_000, 'health step = poll deadline + 30 s');
    assert.deepEqual(plan.remote.files.filter((f) => f.secret).map((f) => f.to), ['.env.common', '.env.production'], 'env files are 0600 without being marked');
    assert.ok(plan.remote.files.every((f) => path.isAbsolute(f.from)));
    assert.equal(plan.secrets.registryPasswordEnv, 'REGISTRY_PASSWORD');
    assert.ok(!JSON.stringify(plan).includes('change-me'), 'no file content, let alone a secret, is in the plan');
  });

  test('staging: a single droplet without a load balancer, downtime accepted', () => {
    const { plan } = loadEnvironment(EXAMPLE, 'staging');
    assert.equal(plan.loadBalancer, undefined);
    assert.equal(plan.rollout.acceptDowntime, true);
    assert.equal(plan.rollout.minAttached, 0);
  });
});

describe('errors name the file, the field and the fix', () => {
  const fails = (file: string, env: string, pattern: RegExp) =>
    assert.throws(() => loadEnvironment(file, env), (err: Error) => err instanceof ConfigError && pattern.test(err.message));

  test('unknown environment lists the known ones', () => fails(EXAMPLE, 'prod', /unknown environment "prod". Known environments: production, staging/));
  test('missing file says how to create one', () => fails('/nonexistent/deploy.config.yaml', 'production', /no such file. Copy deploy.config.example.yaml/));
  test('a misspelt key is an error, not a silent default', () =>
    fails(variant((d) => (d.environments.production.rollout.batchsize = 2)), 'production', /environments.production.rollout: unknown key\(s\) "batchsize"/));
  test('a bad duration names the field', () =>
    fails(variant((d) => (d.environments.production.rollout.drainDelay = 'ten seconds')), 'production', /environments.production.rollout.drainDelay: "ten seconds" is not a duration/));
  test('a wrong type names the field', () =>
    fails(variant((d) => (d.environments.production.ssh.port = 'twenty-two')), 'production', /environments.production.ssh.port: Invalid input: expected number/));
  test('no load balancer without acceptDowntime is refused', () =>
    fails(variant((d) => delete d.environments.production.loadBalancer), 'production', /no load balancer, so every restart is an outage.*acceptDowntime: true/));
  test('a compose file that is not uploaded is refused', () =>
    fails(variant((d) => (d.environments.production.compose.files = ['docker-compose.yml', 'docker-compose.prod.yml'])), 'production', /compose.files\[1\]: "docker-compose.prod.yml" is not among the uploaded files/));
  test('a file to upload that does not exist is named', () =>
    fails(variant((d) => (d.environments.production.files[0].from = '/nonexistent/compose.yml')), 'production', /files\[0\].from: \/nonexistent\/compose.yml does not exist/));
  test('an upload target outside the release directory is refused', () =>
    fails(variant((d) => (d.environments.production.files[0].to = '../escape.yml')), 'production', /files\[0\].to: "..\/escape.yml" must be a relative path/));
  test('both health url and command is ambiguous', () =>
    fails(variant((d) => (d.environments.production.healthCheck.command = 'true')), 'production', /healthCheck: set exactly one of url or command/));
  test('a health check with neither url, command nor compose is refused', () =>
    fails(variant((d) => delete d.environments.production.healthCheck.url), 'production', /healthCheck: set url, command or compose: true/));
  test('invalid YAML says so', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'deploy-config-')), 'deploy.config.yaml');
    writeFileSync(file, 'app: [unclosed\n');
    assert.throws(() => readConfigFile(file), /not valid YAML/);
  });
});

describe('release and durations', () => {
  const config = readConfigFile(EXAMPLE);
  test('--release wins over the configured default; a bad tag is refused', () => {
    assert.equal(chooseRelease(EXAMPLE, config.environments.production, 'production', 'v2.1'), 'v2.1');
    assert.equal(chooseRelease(EXAMPLE, config.environments.production, 'production'), 'latest');
    assert.throws(() => chooseRelease(EXAMPLE, config.environments.production, 'production', 'v2;rm -rf /'), /not a valid image tag/);
  });
  test('durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration(1.5), 1500);
    assert.throws(() => parseDuration('10 parsecs'), /not a duration/);
  });
});

describe('optional sections and fields left out get the documented defaults', () => {
  const defaults = loadEnvironment(variant((d) => {
    const p = d.environments.production;
    // The example spells out most defaults; strip it down to what is required, then add each part back.
    for (const key of ['ssh', 'rollout', 'keepReleases', 'release', 'registry']) delete p[key];
    for (const key of Object.keys(p.healthCheck)) if (key !== 'url') delete p.healthCheck[key];
    delete d.digitalocean;
  }), 'production').plan;

  test('a production environment with only the required fields loads, with every default', () => {
    assert.equal(defaults.remote.user, 'root');
    assert.equal(defaults.remote.port, 22);
    assert.equal(defaults.remote.addressType, 'public');
    assert.equal(defaults.remote.connectTimeoutMs, 15_000);
    assert.equal(defaults.remote.keepReleases, 5);
    assert.equal(defaults.secrets.tokenEnv, 'DIGITALOCEAN_TOKEN');
    assert.equal(defaults.secrets.sshKeyEnv, 'DEPLOY_SSH_KEY_PATH');
    assert.deepEqual(
      { ...defaults.rollout, steps: undefined },
      { batchSize: 1, minAttached: 1, acceptDowntime: false, drainDelayMs: 10_000, settleDelayMs: 'auto', settleMarginMs: 5_000, bakeMs: 0, onFailure: 'rollback', stageConcurrency: 8, steps: undefined },
    );
    assert.deepEqual(defaults.rollout.steps.loadBalancer, { timeoutMs: 10_000, maximumAttempts: 10 });
    assert.deepEqual(defaults.rollout.steps.upload, { timeoutMs: 300_000, maximumAttempts: 5 });
    assert.deepEqual(defaults.rollout.steps.stage, { timeoutMs: 900_000, maximumAttempts: 8 });
    assert.equal(defaults.healthCheck.successes, 3);
    assert.equal(defaults.healthCheck.intervalMs, 2_000);
    assert.equal(defaults.healthCheck.compose, false);
  });

  const full = example().environments.production;
  for (const section of ['ssh', 'rollout', 'healthCheck'] as const) {
    for (const field of Object.keys(full[section] ?? {})) {
      if (section === 'healthCheck' && field === 'url') continue; // required: url, command or compose
      test(`${section}.${field} left out`, () => {
        const file = variant((d) => delete d.environments.production[section][field]);
        assert.doesNotThrow(() => loadEnvironment(file, 'production'));
      });
    }
  }
});

test('env files and private keys are uploaded 0600 unless a file says otherwise, and the plan lists each mode', () => {
  const file = variant((doc) => {
    doc.environments.production.files = [
      { from: 'examples/sample-app/.env.production', to: '.env.production' },
      { from: 'examples/sample-app/docker-compose.yml', to: 'tls/site.key' },
      { from: 'examples/sample-app/docker-compose.yml', to: 'app.env' },
      { from: 'examples/sample-app/docker-compose.yml', to: 'docker-compose.yml' },
      { from: 'examples/sample-app/docker-compose.yml', to: 'public.pem', secret: false },
    ];
    doc.environments.production.compose.files = ['docker-compose.yml'];
  });
  const { plan } = loadEnvironment(file, 'production');
  assert.deepEqual(plan.remote.files.map((f) => [f.to, f.secret]), [
    ['.env.production', true], ['tls/site.key', true], ['app.env', true], ['docker-compose.yml', false], ['public.pem', false],
  ]);
  assert.match(renderPlan(plan, { droplets: [] }, 'v2', []), /files {10}\.env\.production 0600, tls\/site\.key 0600, app\.env 0600, docker-compose\.yml 0644, public\.pem 0644/);
});

test('staging waits out about two minutes of registry trouble by default, and the plan says how long', () => {
  const { plan } = loadEnvironment(EXAMPLE, 'production');
  assert.equal(plan.rollout.steps.stage.maximumAttempts, 8);
  assert.ok(retryWindowMs(plan.rollout.steps.stage.maximumAttempts) >= 120_000, 'at least two minutes between the first and the last attempt');
  assert.equal(retryWindowMs(3), 6_000, 'what 3 attempts rode out');
  assert.match(renderPlan(plan, { droplets: [] }, 'v2', []), /staging {8}before any detach: 5 file\(s\) into a new \/srv\/sample-app\/releases directory and compose pull, 8 droplet\(s\) at a time; retried 7× over 2m \(rollout\.steps\.stage\.attempts\)/);
});

test('the plan tells the staged flow: nothing is uploaded or pulled while a droplet is out of the load balancer', () => {
  const { plan } = loadEnvironment(EXAMPLE, 'production');
  const lb = { id: 'lb-1', name: 'lb', status: 'active', dropletIds: [], healthCheck: { protocol: 'http', port: 80, checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 } };
  const text = renderPlan(plan, { droplets: [], loadBalancer: lb }, 'v2', []);
  assert.match(text, /per droplet {4}detach → drain 10s → switch current \+ up -d → health 3× → attach → settle 35s \(3 × 10s LB checks \+ 5s margin\) → verify$/m);
  assert.doesNotMatch(text.split('\n').find((l) => l.includes('per droplet')) ?? '', /upload|pull/);
});

test('loadBalancer.observe: drain and settle watched through the LB, maximums in ms; without it the plan says they are guessed and how to fix that', () => {
  const lb = { id: 'lb-1', name: 'lb', status: 'active', dropletIds: [], healthCheck: { protocol: 'http', port: 80, checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 } };
  const guessed = renderPlan(loadEnvironment(EXAMPLE, 'production').plan, { droplets: [], loadBalancer: lb }, 'v2', []);
  assert.match(guessed, /guessed {8}drain and settle are timers: set loadBalancer\.observe/);
  const file = variant((doc) => {
    doc.environments.production.loadBalancer.observe = { url: 'https://shop.example.com/healthcheck', droplet: 'header:X-Droplet', release: 'json:release', maxDrain: '20s' };
  });
  const { plan } = loadEnvironment(file, 'production');
  assert.deepEqual(plan.loadBalancer, { name: 'sample-app-lb' }, 'the LB reference stays a reference');
  assert.deepEqual(plan.observe, { url: 'https://shop.example.com/healthcheck', droplet: 'header:X-Droplet', release: 'json:release', servings: 2, maxDrainMs: 20_000, maxSettleMs: 90_000 });
  const text = renderPlan(plan, { droplets: [], loadBalancer: lb }, 'v2', []);
  assert.match(text, /detach → drain until out of rotation \(at most 20s\) → .* settle until it answers through the LB 2× \(at most 1m30s\) → verify$/m);
  assert.match(text, /observed {7}through https:\/\/shop\.example\.com\/healthcheck: who answers \(header:X-Droplet\) and as what \(json:release\)/);
  const bad = variant((doc) => {
    doc.environments.production.loadBalancer.observe = { url: 'shop.example.com', droplet: 'X-Droplet', release: 'json:release' };
  });
  assert.throws(() => loadEnvironment(bad, 'production'), (err: Error) => err instanceof ConfigError &&
    /loadBalancer\.observe\.url/.test(err.message) && /json:<field>" or "header:<name>"/.test(err.message));
});
