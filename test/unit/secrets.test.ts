// Secrets reach the worker as environment variables or as files named by NAME_FILE (Docker secrets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { readSecret, readSshKey, realDependencies } from '../../src/activities/deps';
import { policyProblems, workerPolicy } from '../../src/activities/policy';

test('a secret comes from NAME, else from the file NAME_FILE names (trailing newline dropped), else it is unset', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'secret-')), 'registry_password');
  writeFileSync(file, 'from-a-file\n', { mode: 0o600 });
  assert.equal(readSecret({ REGISTRY_PASSWORD: 'direct', REGISTRY_PASSWORD_FILE: file }, 'REGISTRY_PASSWORD'), 'direct');
  assert.equal(readSecret({ REGISTRY_PASSWORD_FILE: file }, 'REGISTRY_PASSWORD'), 'from-a-file');
  assert.equal(readSecret({}, 'REGISTRY_PASSWORD'), undefined);
  assert.equal(realDependencies({ REGISTRY_PASSWORD_FILE: file }).secret('REGISTRY_PASSWORD', 'registry password'), 'from-a-file');
});

test('a NAME_FILE that cannot be read is a clear, non-retryable error naming the variable, never what it holds', () => {
  const err = (() => {
    try {
      readSecret({ DIGITALOCEAN_TOKEN_FILE: '/nonexistent/token' }, 'DIGITALOCEAN_TOKEN');
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.nonRetryable, true);
  assert.equal(err.message, 'cannot read the file DIGITALOCEAN_TOKEN_FILE names: ENOENT');
});

const failure = (fn: () => unknown): ApplicationFailure => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApplicationFailure) return e;
    throw e;
  }
  return assert.fail('expected a failure');
};
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
const refs = { tokenEnv: 'DIGITALOCEAN_TOKEN', sshKeyEnv: 'DEPLOY_SSH_KEY' };

test('an SSH key variable that holds the key itself is refused by name, and the key is in no message', () => {
  const err = failure(() => readSshKey(refs, { DEPLOY_SSH_KEY: KEY }));
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /^DEPLOY_SSH_KEY holds a key, not a path: put the key in a file .* ssh\.privateKeyPath/);
  assert.ok(!err.message.includes('OPENSSH') && !err.message.includes('b3BlbnNza'));
  // A value that is not a file is not echoed either (it may be anything, a token say).
  const missing = failure(() => readSshKey(refs, { DEPLOY_SSH_KEY: 'dop_v1_0123456789abcdef' }));
  assert.equal(missing.message, 'cannot read the SSH private key (the file DEPLOY_SSH_KEY names): ENOENT');
});

test('the worker policy: the API, the variables and the files an input may name', () => {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'files-root-')));
  const outside = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'outside-')));
  writeFileSync(path.join(root, 'compose.yml'), 'services: {}\n');
  writeFileSync(path.join(outside, 'token'), 'secret\n');
  symlinkSync(path.join(outside, 'token'), path.join(root, 'innocent.env'));
  const policy = workerPolicy({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:8090/v2/', DEPLOYER_FILES_ROOT: root, DEPLOYER_REGISTRIES: 'registry.example:5000' });
  const file = (from: string) => ({ from, to: path.basename(from), secret: false });
  assert.deepEqual(policyProblems(policy, {
    apiUrl: 'http://127.0.0.1:8090/v2', secrets: { ...refs, registryPasswordEnv: 'REGISTRY_PASSWORD' }, registry: { server: 'registry.example:5000' },
    webhookUrlEnv: 'DEPLOY_WEBHOOK_URL', files: [file(path.join(root, 'compose.yml'))],
  }), [], 'the defaults allow what the README configures');
  const problems = policyProblems(policy, {
    apiUrl: 'http://attacker.example/v2', secrets: { tokenEnv: 'AWS_SECRET_ACCESS_KEY', sshKeyEnv: 'HOME', registryPasswordEnv: 'DIGITALOCEAN_TOKEN' },
    registry: { server: 'attacker.example' }, webhookUrlEnv: 'DIGITALOCEAN_TOKEN',
    files: [file('/etc/hostname'), file(path.join(root, 'innocent.env'))],
  });
  assert.deepEqual(problems, [
    'digitalocean.apiUrl http://attacker.example/v2 is not this worker\'s DigitalOcean API (http://127.0.0.1:8090/v2); the worker sends its token only there. Remove digitalocean.apiUrl from the config, or set DIGITALOCEAN_API_URL in the worker\'s environment',
    'AWS_SECRET_ACCESS_KEY is not a token variable of this worker (DEPLOYER_TOKEN_VARS allows DIGITALOCEAN_TOKEN)',
    'HOME may not be named as the SSH key (DEPLOYER_SECRET_VARS allows DEPLOY_*, REGISTRY_*)',
    'DIGITALOCEAN_TOKEN holds the DigitalOcean token and cannot serve as the registry password',
    'the registry password is sent only to the registries in DEPLOYER_REGISTRIES (registry.example:5000), not attacker.example; set DEPLOYER_REGISTRIES=attacker.example in the worker\'s environment if that registry is yours',
    'DIGITALOCEAN_TOKEN holds the DigitalOcean token and cannot serve as the webhook URL',
    `/etc/hostname is outside the directories files are uploaded from (DEPLOYER_FILES_ROOT: ${root})`,
    `${path.join(root, 'innocent.env')} is outside the directories files are uploaded from (DEPLOYER_FILES_ROOT: ${root})`,
  ]);
});

test('the real dependencies enforce the policy: a refused input is a non-retryable failure naming what the worker allows', () => {
  const deps = realDependencies({ DIGITALOCEAN_TOKEN: 'dop_v1_secret', DEPLOY_WEBHOOK_URL: 'http://127.0.0.1:9/hook' });
  const err = failure(() => deps.digitalOcean({ apiUrl: 'http://127.0.0.1:9/v2', secrets: refs }));
  assert.equal(err.type, 'PolicyRefused');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /^the worker's policy refuses this input: digitalocean.apiUrl http:\/\/127.0.0.1:9\/v2 is not this worker's DigitalOcean API \(https:\/\/api.digitalocean.com\/v2\)/);
  assert.match(failure(() => deps.secret('DIGITALOCEAN_TOKEN', 'webhook URL')).message, /DIGITALOCEAN_TOKEN holds the DigitalOcean token and cannot serve as the webhook URL/);
  assert.match(failure(() => deps.secret('PATH', 'registry password')).message, /PATH may not be named as the registry password/);
  assert.equal(deps.secret('DEPLOY_WEBHOOK_URL', 'webhook URL'), 'http://127.0.0.1:9/hook');
});
