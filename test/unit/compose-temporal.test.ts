// docker-compose.temporal.yml cannot run here (no Docker Engine); keep it honest by reading it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/search-attributes';

const compose = parse(readFileSync(path.resolve(__dirname, '..', '..', 'docker-compose.temporal.yml'), 'utf8'));

test('parses and has the server on PostgreSQL, the Web UI and the admin tools', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui']);
  assert.equal(compose.services.temporal.environment.DB, 'postgres12');
  assert.equal(compose.services.temporal.environment.POSTGRES_SEEDS, 'postgresql');
  assert.deepEqual(compose.services.temporal.ports, ['7233:7233']);
  assert.equal(compose.services['temporal-ui'].environment.TEMPORAL_ADDRESS, 'temporal:7233');
  for (const [name, svc] of Object.entries(compose.services) as [string, { image: string }][]) {
    assert.match(svc.image, /:[0-9]/, `${name} pins an image version`);
  }
});

test('registers every search attribute the code sets, as Keyword', () => {
  const script = compose.services['temporal-admin-tools'].command.join('\n');
  assert.match(script, /--type Keyword/);
  for (const name of SEARCH_ATTRIBUTE_NAMES) assert.match(script, new RegExp(`\\b${name}\\b`), `${name} is created`);
});
