// `npm run temporal` starts the dev server with the settings the local stack and the benchmarks use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SHARD_QUEUE_POLL_LIMITS } from '../../sandbox/dev-server';

test('npm run temporal lifts the shard queue poll limits as the local stack does', () => {
  const script = readFileSync(path.resolve(__dirname, '..', '..', 'scripts', 'temporal-dev.sh'), 'utf8');
  const passed = [...script.matchAll(/--dynamic-config-value\s+(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(passed, SHARD_QUEUE_POLL_LIMITS);
});
