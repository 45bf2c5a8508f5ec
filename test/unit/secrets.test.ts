// Secrets reach the worker as environment variables or as files named by NAME_FILE (Docker secrets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { readSecret, realDependencies } from '../../src/activities/deps';

test('a secret comes from NAME, else from the file NAME_FILE names (trailing newline dropped), else it is unset', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'secret-')), 'registry_password');
  writeFileSync(file, 'from-a-file\n', { mode: 0o600 });
  assert.equal(readSecret({ REGISTRY_PASSWORD: 'direct', REGISTRY_PASSWORD_FILE: file }, 'REGISTRY_PASSWORD'), 'direct');
  assert.equal(readSecret({ REGISTRY_PASSWORD_FILE: file }, 'REGISTRY_PASSWORD'), 'from-a-file');
  assert.equal(readSecret({}, 'REGISTRY_PASSWORD'), undefined);
  assert.equal(realDependencies({ REGISTRY_PASSWORD_FILE: file }).secret('REGISTRY_PASSWORD'), 'from-a-file');
});

test('a NAME_FILE that cannot be read is a clear, non-retryable error naming the variable and the file', () => {
  const err = (() => {
    try {
      readSecret({ DIGITALOCEAN_TOKEN_FILE: '/nonexistent/token' }, 'DIGITALOCEAN_TOKEN');
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ApplicationFailure);
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /cannot read DIGITALOCEAN_TOKEN_FILE \(\/nonexistent\/token\)/);
});
